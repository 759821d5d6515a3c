//! What a connection sends: a method, headers and a body, sent again on
//! every attempt when the body can be.
// A local server on a socket: not in the browser.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{End, Server, collect, fast, status, stream};
use reqwest::header::CONTENT_TYPE;

#[tokio::test]
async fn post_body_and_headers_resent_on_reconnect() {
    let server = Server::start(|n, seen| {
        assert_eq!(seen.method, "POST");
        match n {
            0 => stream(&["id: 7\ndata: a\n\n"], End::Abort),
            _ => status(204),
        }
    })
    .await;
    let client = fast().build().unwrap();
    let request = client
        .http()
        .post(&server.url)
        .header(CONTENT_TYPE, "application/json")
        .header("authorization", "Bearer xyz")
        .body(r#"{"prompt":"hi"}"#);
    let updates = collect(client.connect(request)).await;
    assert_eq!(updates.last().unwrap(), "closed");
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    for request in &seen {
        assert_eq!(request.body, r#"{"prompt":"hi"}"#);
        assert_eq!(request.headers["content-type"], "application/json");
        assert_eq!(request.headers["authorization"], "Bearer xyz");
    }
    assert_eq!(seen[1].last_event_id(), Some("7"));
}

#[tokio::test]
async fn streaming_body_cannot_be_resent() {
    let server = Server::start(|_, _| stream(&["data: a\n\n"], End::Close)).await;
    let client = fast().build().unwrap();
    let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>("streamed body")]);
    let request = client
        .http()
        .post(&server.url)
        .body(reqwest::Body::wrap_stream(chunks));
    let updates = collect(client.connect(request)).await;
    assert_eq!(
        updates,
        [
            "open 200",
            r#"event message "a" id="#,
            "error body-not-reusable"
        ]
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].body, "streamed body");
}

#[tokio::test]
async fn invalid_url_is_a_builder_error() {
    let client = fast().build().unwrap();
    assert_eq!(collect(client.get("not a url")).await, ["error builder"]);
}
