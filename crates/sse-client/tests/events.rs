//! What a connection yields of a stream: comments when asked, oversize
//! events skipped, and the events of one type.
// A local server on a socket: not in the browser.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{End, Reply, Server, collect, fast, stream, within};
use futures_util::StreamExt;

#[tokio::test]
async fn comments_when_asked() {
    let server = Server::replies([stream(&[": hello\n", "data: a\n\n"], End::Close)]).await;
    let client = fast().comments(true).build().unwrap();
    let updates = collect(client.get(&server.url)).await;
    assert_eq!(
        updates,
        [
            "open 200",
            r#"comment "hello""#,
            r#"event message "a" id="#,
            "retrying after end",
            "closed",
        ]
    );
}

#[tokio::test]
async fn oversize_event_is_skipped_and_reported() {
    let big = format!("data: {}\n\n", "x".repeat(100));
    let server = Server::replies([Reply::Stream(
        vec![big, "data: small\n\n".to_owned()],
        End::Close,
    )])
    .await;
    let client = fast().max_event_size(64).build().unwrap();
    assert_eq!(
        collect(client.get(&server.url)).await,
        [
            "open 200",
            "skipped over 64",
            r#"event message "small" id="#,
            "retrying after end",
            "closed"
        ]
    );
}

#[tokio::test]
async fn filters_by_event_type() {
    let server = Server::replies([stream(
        &["event: price\ndata: 1\n\ndata: hi\n\nevent: price\ndata: 2\n\n"],
        End::Close,
    )])
    .await;
    let client = fast().build().unwrap();
    let prices: Vec<_> = within(
        client
            .get(&server.url)
            .events_of_type("price")
            .collect::<Vec<_>>(),
    )
    .await
    .into_iter()
    .map(|event| event.unwrap().data().to_owned())
    .collect();
    assert_eq!(prices, ["1", "2"]);
    let messages: Vec<_> = within(client.get(&server.url).messages().collect::<Vec<_>>()).await;
    assert!(messages.is_empty(), "the second connection got 204");
    let all: Vec<_> = within(client.get(&server.url).events().collect::<Vec<_>>()).await;
    assert!(all.is_empty());
}
