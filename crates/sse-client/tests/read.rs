//! `read`: one response body, no reconnection, against a real local server.

mod common;

use common::{End, Server, kind, stream, within};
use futures_util::StreamExt;
use std::time::Duration;

/// The events of a body served with `chunks` then `end`, described.
async fn read_all(read: sse_client::Read) -> (Vec<String>, bool) {
    let mut read = read;
    let out = within(async {
        let mut out = Vec::new();
        while let Some(item) = read.next().await {
            out.push(match item {
                Ok(event) => format!("{} {}", event.event_type(), event.data()),
                Err(err) => format!("error {}", kind(&err)),
            });
        }
        out
    })
    .await;
    (out, read.is_truncated())
}

async fn serve(chunks: &'static [&'static str], end: End) -> reqwest::Response {
    let server = Server::start(move |_, _| stream(chunks, end)).await;
    reqwest::Client::new()
        .post(&server.url)
        .body("{}")
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn end_of_body_is_a_clean_end() {
    let response = serve(
        &["data: Hel\n\n", "data: lo\n", "\n", ": bye\n"],
        End::Close,
    )
    .await;
    let (events, truncated) = read_all(sse_client::read(response)).await;
    assert_eq!(events, ["message Hel", "message lo"]);
    assert!(!truncated);
}

#[tokio::test]
async fn unterminated_final_event_is_not_dispatched() {
    let response = serve(&["data: a\n\nevent: end\ndata: b\n"], End::Close).await;
    let (events, truncated) = read_all(sse_client::read(response)).await;
    // "If the file ends in the middle of an event, before the final empty
    // line, the incomplete event is not dispatched."
    assert_eq!(events, ["message a", "error truncated"]);
    assert!(truncated);
}

#[tokio::test]
async fn cut_inside_a_line_is_truncated_too() {
    let response = serve(&["data: a\n\ndata: b"], End::Close).await;
    let (events, truncated) = read_all(sse_client::read(response)).await;
    assert_eq!(events, ["message a", "error truncated"]);
    assert!(truncated);
}

#[tokio::test]
async fn dropped_connection_is_a_transport_error() {
    let response = serve(&["data: a\n\ndata: b"], End::Abort).await;
    let (events, _) = read_all(sse_client::read(response)).await;
    assert_eq!(events, ["message a", "error transport"]);
}

#[tokio::test]
async fn max_event_size_applies() {
    let big: &'static str = Box::leak(format!("data: {}\n\n", "x".repeat(100)).into_boxed_str());
    let chunks: &'static [&'static str] = Box::leak(vec![big, "data: ok\n\n"].into_boxed_slice());
    let response = serve(chunks, End::Close).await;
    let (events, truncated) = read_all(sse_client::read(response).max_event_size(64)).await;
    assert_eq!(events, ["error too-large", "message ok"]);
    assert!(!truncated);
}

#[tokio::test]
async fn default_max_event_size_applies() {
    let big: &'static str = Box::leak(
        format!(
            "data: {}\n\n",
            "x".repeat(sse_codec::DEFAULT_MAX_EVENT_SIZE + 1)
        )
        .into_boxed_str(),
    );
    let chunks: &'static [&'static str] = Box::leak(vec![big, "data: ok\n\n"].into_boxed_slice());
    let response = serve(chunks, End::Close).await;
    let (events, _) = read_all(sse_client::read(response)).await;
    assert_eq!(events, ["error too-large", "message ok"]);
}

#[tokio::test]
async fn idle_timeout_ends_a_stalled_body() {
    let response = serve(&["data: a\n\n"], End::Hang).await;
    let read = sse_client::read(response).idle_timeout(Duration::from_millis(300));
    let (events, truncated) = read_all(read).await;
    assert_eq!(events, ["message a", "error timeout"]);
    assert!(!truncated);
}

#[tokio::test]
async fn client_read_uses_its_configuration() {
    let response = serve(&["data: 0123456789\n\n", "data: a\n\n"], End::Hang).await;
    let client = sse_client::Client::builder()
        .max_event_size(8)
        .idle_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let (events, _) = read_all(client.read(response)).await;
    assert_eq!(events, ["error too-large", "message a", "error timeout"]);
}

#[tokio::test]
async fn retry_and_last_event_id_are_observable() {
    let response = serve(&["retry: 1500\nid: 9\ndata: a\n\n"], End::Close).await;
    let mut read = sse_client::read(response);
    let event = within(read.next()).await.unwrap().unwrap();
    assert_eq!(event.last_event_id().as_str(), "9");
    assert_eq!(read.retry(), Some(Duration::from_millis(1500)));
    assert_eq!(read.last_event_id().as_str(), "9");
    assert!(within(read.next()).await.is_none());
}
