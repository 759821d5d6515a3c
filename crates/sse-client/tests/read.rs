//! `read`: one response body, no reconnection, against a real local server.
// A local server on a socket: not in the browser.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{End, Server, kind, stream, within};
use futures_util::StreamExt;
use std::time::Duration;

/// The events of a body served with `chunks` then `end`, described, and
/// whether the stream was truncated.
async fn read_all(read: sse_client::Read) -> (Vec<String>, bool) {
    let (out, read) = read_through(read).await;
    (out, read.is_truncated())
}

/// The events of a stream, described, and the stream, at its end.
async fn read_through(mut read: sse_client::Read) -> (Vec<String>, sse_client::Read) {
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
    (out, read)
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
    let (events, read) = read_through(sse_client::read(response).max_event_size(64)).await;
    assert_eq!(events, ["message ok"]);
    assert_eq!(read.skipped(), 1);
    assert!(!read.is_truncated());
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
    let (events, read) = read_through(sse_client::read(response)).await;
    assert_eq!(events, ["message ok"]);
    assert_eq!(read.skipped(), 1);
}

#[tokio::test]
async fn idle_timeout_ends_a_stalled_body() {
    let response = serve(&["data: a\n\n"], End::Hang).await;
    let read = sse_client::read(response).idle_timeout(Some(Duration::from_millis(300)));
    let (events, truncated) = read_all(read).await;
    assert_eq!(events, ["message a", "error timeout"]);
    assert!(!truncated);
}

#[tokio::test]
async fn client_read_uses_its_configuration() {
    let response = serve(&["data: 0123456789\n\n", "data: a\n\n"], End::Hang).await;
    let client = sse_client::Client::builder()
        .max_event_size(8)
        .idle_timeout(Some(Duration::from_millis(300)))
        .build()
        .unwrap();
    let (events, read) = read_through(client.read(response)).await;
    assert_eq!(events, ["message a", "error timeout"]);
    assert_eq!(read.skipped(), 1);
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

/// `read_stream` reads any stream of byte chunks, another HTTP client's
/// body say, with the same clean end, truncation and errors.
#[tokio::test]
async fn read_stream_takes_any_byte_stream() {
    let whole = futures_util::stream::iter(
        ["data: Hel", "lo\n\n", "data: world\n\n"].map(|s| Ok::<_, std::io::Error>(s.as_bytes())),
    );
    let (events, truncated) = read_all(sse_client::read_stream(whole)).await;
    assert_eq!(events, ["message Hello", "message world"]);
    assert!(!truncated);

    let cut = futures_util::stream::iter(
        [&b"data: a\n\ndata: b"[..]].map(|s| Ok::<_, std::io::Error>(bytes::Bytes::from(s))),
    );
    let (events, truncated) = read_all(sse_client::read_stream(cut)).await;
    assert_eq!(events, ["message a", "error truncated"]);
    assert!(truncated);

    let failing = futures_util::stream::iter([
        Ok(bytes::Bytes::from_static(b"data: a\n\n")),
        Err(std::io::Error::other("upstream went away")),
    ]);
    let (events, _) = read_all(sse_client::read_stream(failing)).await;
    assert_eq!(events, ["message a", "error transport"]);

    // Over hyper's own client, a socket and a real server.
    let server = Server::start(|_, _| stream(&["data: over hyper\n\n"], End::Close)).await;
    let stream = tokio::net::TcpStream::connect(
        server
            .url
            .trim_start_matches("http://")
            .trim_end_matches("/events"),
    )
    .await
    .unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<
        _,
        http_body_util::Empty<bytes::Bytes>,
    >(hyper_util::rt::TokioIo::new(stream))
    .await
    .unwrap();
    tokio::spawn(conn);
    let response = sender
        .send_request(
            http::Request::get("/events")
                .header("host", "x")
                .body(Default::default())
                .unwrap(),
        )
        .await
        .unwrap();
    let body = http_body_util::BodyExt::into_data_stream(response.into_body());
    let (events, _) = read_all(sse_client::read_stream(body)).await;
    assert_eq!(events, ["message over hyper"]);
}

/// A request sent for `read` converts its `reqwest::Error` with `?`,
/// `error_for_status`'s included, into the connection's error.
#[tokio::test]
async fn reqwest_errors_convert_as_a_connection_classifies_them() {
    let server = Server::start(|_, _| common::status(503)).await;
    let client = sse_client::Client::new();
    let send = async {
        let response = client.http().get(&server.url).send().await?;
        Ok::<_, sse_client::Error>(response.error_for_status()?)
    };
    let err = within(send).await.unwrap_err();
    assert!(err.is_status() && err.is_permanent(), "{err:?}");
    assert_eq!(err.status().unwrap().as_u16(), 503);
    assert_eq!(
        err.to_string(),
        "server refused the stream with 503 Service Unavailable"
    );

    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/events", closed.local_addr().unwrap());
    drop(closed);
    let err: sse_client::Error = within(client.http().get(url).send())
        .await
        .unwrap_err()
        .into();
    assert!(err.is_transport() && !err.is_permanent(), "{err:?}");
}
