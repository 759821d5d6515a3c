//! Reconnecting: the last event ID a connection keeps and sends again,
//! and `reconnect` on demand.
// A local server on a socket: not in the browser.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{
    End, Server, collect, exact_backoff, expect_retrying, fast, next, status, stream,
    updates_and_error, within,
};
use futures_util::StreamExt;
use std::time::Duration;

#[tokio::test]
async fn reconnects_after_drop_mid_event_with_last_event_id() {
    let server = Server::replies([
        stream(
            &["id: 1\ndata: one\n\nid: 2\ndata: par", "tial"],
            End::Abort,
        ),
        stream(&["data: two\n\n"], End::Close),
    ])
    .await;
    let client = fast().build().unwrap();
    let updates = collect(client.get(&server.url)).await;
    assert_eq!(
        updates,
        [
            "open 200",
            r#"event message "one" id=1"#,
            "retrying after transport",
            "open 200",
            r#"event message "two" id=1"#,
            "retrying after end",
            "closed",
        ]
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    // The cut-off event's `id: 2` never counted.
    let ids: Vec<_> = seen.iter().map(|s| s.last_event_id()).collect();
    assert_eq!(ids, [None, Some("1"), Some("1")]);
    assert_eq!(seen[0].headers["accept"], "text/event-stream");
}

/// A body that ends cleanly inside an event: the event is not dispatched,
/// its `id` does not count, and the `Retrying` tells it, with the error
/// `read` ends on; the connection goes on.
#[tokio::test]
async fn a_body_that_ends_inside_an_event_is_reported_and_reconnects() {
    let server = Server::replies([
        stream(&["id: 1\ndata: a\n\nid: 2\ndata: x\n"], End::Close),
        stream(&["data: b\n\ndata: y"], End::Close),
        // A CR is a line end, even the last byte: this one ends the event.
        stream(&["data: c\n\r"], End::Close),
    ])
    .await;
    let client = fast().build().unwrap();
    let updates = collect(client.get(&server.url)).await;
    assert_eq!(
        updates,
        [
            "open 200",
            r#"event message "a" id=1"#,
            "retrying after truncated",
            "open 200",
            r#"event message "b" id=1"#,
            "retrying after truncated",
            "open 200",
            r#"event message "c" id=1"#,
            "retrying after end",
            "closed",
        ]
    );
    let ids = server.last_event_ids();
    assert_eq!(
        ids,
        [
            None,
            Some("1".to_owned()),
            Some("1".to_owned()),
            Some("1".to_owned())
        ]
    );
}

#[tokio::test]
async fn empty_id_clears_last_event_id() {
    let server = Server::replies([
        stream(&["id: 5\ndata: a\n\n"], End::Close),
        stream(&["id\ndata: b\n\n"], End::Close),
    ])
    .await;
    let client = fast().build().unwrap();
    let events = within(client.get(&server.url).events().collect::<Vec<_>>()).await;
    assert_eq!(events.len(), 2);
    let ids = server.last_event_ids();
    assert_eq!(ids, [None, Some("5".to_owned()), None]);
}

#[tokio::test]
async fn last_event_id_header_of_the_request_resumes() {
    let server = Server::replies([stream(&["data: a\n\n"], End::Close)]).await;
    let client = fast().build().unwrap();
    let request = client.http().get(&server.url).header("Last-Event-ID", "41");
    collect(client.connect(request)).await;
    let ids = server.last_event_ids();
    assert_eq!(ids, [Some("41".to_owned()), Some("41".to_owned())]);
}

#[tokio::test]
async fn utf8_last_event_id_header_of_the_request_resumes() {
    // IDs are UTF-8; `to_str` would have refused this one and resumed from
    // nothing.
    let server = Server::replies([stream(&["data: a\n\n"], End::Close)]).await;
    let client = fast().build().unwrap();
    let id = http::HeaderValue::from_bytes("caf\u{e9}-41".as_bytes()).unwrap();
    let request = client.http().get(&server.url).header("Last-Event-ID", id);
    collect(client.connect(request)).await;
    let ids = server.last_event_ids();
    let id = Some("caf\u{e9}-41".to_owned());
    assert_eq!(ids, [id.clone(), id]);
}

/// `reconnect` ends the stream under way and connects again after the
/// reconnection time, with the last event ID; the server's `retry` time
/// and the backoff carry on.
#[tokio::test]
async fn reconnect_on_demand_keeps_the_id_the_retry_time_and_the_backoff() {
    let server = Server::replies([
        stream(&["retry: 5\nid: 7\ndata: a\n\n"], End::Hang),
        stream(&["data: b\n\n"], End::Hang),
        stream(&["data: c\n\n"], End::Hang),
    ])
    .await;
    let client = exact_backoff(Duration::from_millis(100), 2.0)
        .stable_after(Duration::from_secs(3600))
        .build()
        .unwrap();
    let mut connection = client.get(&server.url);
    assert_eq!(next(&mut connection).await, "open 200");
    assert_eq!(next(&mut connection).await, r#"event message "a" id=7"#);
    connection.reconnect();
    let retrying = expect_retrying(within(connection.next()).await);
    assert!(retrying.error().is_none());
    assert_eq!(
        retrying.delay(),
        Duration::from_millis(5),
        "the server's retry time"
    );
    assert_eq!(connection.retry(), Some(Duration::from_millis(5)));
    assert_eq!(next(&mut connection).await, "open 200");
    assert_eq!(next(&mut connection).await, r#"event message "b" id=7"#);
    connection.reconnect();
    let retrying = expect_retrying(within(connection.next()).await);
    // The second failure in a row: the backoff went on from its first
    // 100 ms, it did not start over.
    assert_eq!(retrying.delay(), Duration::from_millis(200));
    assert_eq!(next(&mut connection).await, "open 200");
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[1].last_event_id(), Some("7"));
    assert_eq!(seen[2].last_event_id(), Some("7"));
}

/// After the stream ended, `reconnect` starts it over.
#[tokio::test]
async fn reconnect_after_the_end_starts_over() {
    let server = Server::start(|n, _| match n {
        0 => status(204),
        _ => stream(&["data: again\n\n"], End::Hang),
    })
    .await;
    let mut connection = fast().build().unwrap().get(&server.url);
    assert_eq!(next(&mut connection).await, "closed");
    assert!(within(connection.next()).await.is_none());
    connection.reconnect();
    assert_eq!(next(&mut connection).await, "open 200");
    assert_eq!(next(&mut connection).await, r#"event message "again" id="#);
}

#[tokio::test]
async fn a_typed_initial_id_is_sent_and_a_bad_one_is_an_error() {
    let server = Server::start(|_, _| status(204)).await;
    let client = fast().build().unwrap();
    let connection = client
        .get(&server.url)
        .resume_after(sse_client::EventId::from_static("42"));
    assert_eq!(collect(connection).await, ["closed"]);
    assert_eq!(server.seen()[0].last_event_id(), Some("42"));

    let bad = client
        .get(&server.url)
        .resume_after(sse_client::EventId::try_from("4\u{1}2").unwrap());
    assert_eq!(collect(bad).await, ["error last-event-id"]);
    assert_eq!(server.seen().len(), 1, "nothing sent");
}

/// A last event ID from the server that a header cannot carry ends the
/// connection: reconnecting without it would look like a new client, and
/// the events missed in between would go unnoticed.
#[tokio::test]
async fn an_id_a_header_cannot_carry_ends_the_connection() {
    let server = Server::start(|_, _| stream(&["id: a\u{1}b\ndata: x\n\n"], End::Close)).await;
    let client = fast().build().unwrap();
    let mut connection = client.get(&server.url);
    let (updates, last) = updates_and_error(&mut connection).await;
    assert_eq!(
        updates,
        [
            "open 200",
            "event message \"x\" id=a\u{1}b",
            "retrying after end"
        ]
    );
    let err = last.unwrap();
    assert!(err.is_last_event_id() && err.is_permanent());
    assert_eq!(connection.last_event_id().as_str(), "a\u{1}b");
    assert_eq!(server.seen().len(), 1);
}
