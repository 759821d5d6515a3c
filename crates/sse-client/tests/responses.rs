//! What a response does to a connection: 200 with an event stream opens
//! it, 204 ends it, other statuses and content types fail it (retried when
//! configured), and redirects and compressed bodies are clear errors.
// A local server on a socket: not in the browser.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{
    End, Server, collect, expect_open, expect_retrying, fast, reply, status, stream, within,
};
use futures_util::StreamExt;

/// The first item of `connection`, an error, checked to be its last.
async fn only_error(mut connection: sse_client::Connection) -> sse_client::Error {
    let err = within(connection.next()).await.unwrap().unwrap_err();
    assert!(within(connection.next()).await.is_none());
    err
}

#[tokio::test]
async fn no_content_stops_for_good() {
    let server = Server::start(|_, _| status(204)).await;
    let client = fast().build().unwrap();
    assert_eq!(collect(client.get(&server.url)).await, ["closed"]);
    assert_eq!(server.seen().len(), 1);
}

/// `Open` tells the HTTP version the response came on: HTTP/1.1 by
/// default, HTTP/2 with a client set to prior knowledge (h2c). Over TLS,
/// where ALPN picks HTTP/2, in `tls.rs`.
#[tokio::test]
async fn open_tells_the_http_version() {
    let server = Server::start(|_, _| stream(&["data: a\n\n"], End::Hang)).await;
    let client = fast().build().unwrap();
    let open = expect_open(within(client.get(&server.url).next()).await);
    assert_eq!(open.version(), reqwest::Version::HTTP_11);

    let h2c = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let client = fast().http_client(h2c).build().unwrap();
    let mut connection = client.get(&server.url);
    let open = expect_open(within(connection.next()).await);
    assert_eq!(open.version(), reqwest::Version::HTTP_2);
    assert_eq!(open.status().as_u16(), 200);
    let event = within(connection.next()).await.unwrap().unwrap();
    assert!(matches!(event, sse_client::Update::Event(e) if e.data() == "a"));
}

#[tokio::test]
async fn server_error_fails_without_retry() {
    let server =
        Server::start(|_, _| reply(500, &[("x-request-id", "abc")], "database on fire")).await;
    let client = fast().build().unwrap();
    let err = only_error(client.get(&server.url)).await;
    assert!(err.is_status(), "{err:?}");
    assert_eq!(err.status().unwrap().as_u16(), 500);
    assert_eq!(err.headers().unwrap()["x-request-id"], "abc");
    assert_eq!(err.body().unwrap(), "database on fire");
    assert_eq!(
        err.to_string(),
        "server refused the stream with 500 Internal Server Error"
    );
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn wrong_content_type_fails_without_retry() {
    let server =
        Server::start(|_, _| reply(200, &[("content-type", "text/html")], "<h1>login</h1>")).await;
    let client = fast().retry_server_errors(true).build().unwrap();
    let err = only_error(client.get(&server.url)).await;
    assert!(err.is_content_type(), "{err:?}");
    assert_eq!(err.body().unwrap(), "<h1>login</h1>");
    assert!(err.to_string().contains("text/html"));
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn content_type_check_can_be_turned_off() {
    let server =
        Server::replies([reply(200, &[("content-type", "text/plain")], "data: x\n\n")]).await;
    let client = fast().require_event_stream(false).build().unwrap();
    let updates = collect(client.get(&server.url)).await;
    assert_eq!(
        updates,
        [
            "open 200",
            r#"event message "x" id="#,
            "retrying after end",
            "closed"
        ]
    );
}

#[tokio::test]
async fn server_errors_retried_when_configured() {
    let server = Server::replies([
        status(503),
        status(502),
        stream(&["data: up\n\n"], End::Close),
    ])
    .await;
    let client = fast().retry_server_errors(true).build().unwrap();
    let updates = collect(client.get(&server.url)).await;
    assert_eq!(
        updates,
        [
            "retrying after status 503",
            "retrying after status 502",
            "open 200",
            r#"event message "up" id="#,
            "retrying after end",
            "closed",
        ]
    );
}

#[tokio::test]
async fn too_many_requests_fails_by_default() {
    let server = Server::start(|_, _| status(429)).await;
    let client = fast().retry_server_errors(true).build().unwrap();
    assert_eq!(collect(client.get(&server.url)).await, ["error status 429"]);
}

#[tokio::test]
async fn a_redirect_loop_ends_with_a_permanent_error() {
    let server = Server::start(|_, _| reply(302, &[("location", "/events")], "")).await;
    let client = fast().build().unwrap();
    let last = only_error(client.get(&server.url)).await;
    assert!(last.is_redirect() && last.is_permanent(), "{last:?}");
    assert!(server.seen().len() <= 11, "reqwest follows ten redirects");
}

#[tokio::test]
async fn a_compressed_body_is_a_clear_error() {
    let server = Server::start(|_, _| {
        reply(
            200,
            &[
                ("content-type", "text/event-stream"),
                ("content-encoding", "gzip"),
            ],
            "\u{1f}\u{8b}not really gzip",
        )
    })
    .await;
    let client = fast().build().unwrap();
    let err = only_error(client.get(&server.url)).await;
    assert!(err.is_content_encoding() && err.is_permanent(), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the event stream is gzip-encoded and was not decoded"
    );
}

/// A refusal that the connection retries is not permanent, in its
/// `Retrying` and as the last failure when the retries run out; one it
/// does not retry is.
#[tokio::test]
async fn a_retried_refusal_is_not_permanent() {
    let server = Server::replies([status(503), status(429)]).await;
    let client = fast()
        .retry_server_errors(true)
        .retry_too_many_requests(true)
        .build()
        .unwrap();
    let mut connection = client.get(&server.url);
    for code in [503, 429] {
        let retrying = expect_retrying(within(connection.next()).await);
        let err = retrying.error().unwrap();
        assert_eq!(err.status().unwrap().as_u16(), code);
        assert!(err.is_status() && !err.is_permanent(), "{err:?}");
    }
    assert_eq!(collect(connection).await, ["closed"]);

    let server = Server::start(|_, _| status(503)).await;
    let exhausted = fast()
        .retry_server_errors(true)
        .max_retries(Some(0))
        .build()
        .unwrap();
    let err = within(exhausted.get(&server.url).next())
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.is_retries_exhausted() && !err.is_permanent(), "{err:?}");
    let last = std::error::Error::source(&err)
        .and_then(|source| source.downcast_ref::<sse_client::Error>())
        .unwrap();
    assert!(last.is_status() && !last.is_permanent(), "{last:?}");

    let not_retried = fast().build().unwrap();
    let err = within(not_retried.get(&server.url).next())
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.is_status() && err.is_permanent(), "{err:?}");
}
