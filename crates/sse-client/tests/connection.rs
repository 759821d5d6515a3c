//! The reconnecting connection against real local servers that misbehave
//! on purpose.

mod common;

use common::{End, Reply, Server, collect, describe, fast, status, stream, within};
use futures_util::StreamExt;
use reqwest::header::CONTENT_TYPE;
use sse_client::{Client, Update};
use std::time::Duration;

/// Follows `connection` to its end and returns the delay of each retry.
async fn retry_delays(connection: &mut sse_client::Connection) -> Vec<Duration> {
    let mut delays = Vec::new();
    within(async {
        while let Some(update) = connection.next().await {
            if let Ok(Update::Retrying(retrying)) = update {
                delays.push(retrying.delay());
            }
        }
    })
    .await;
    delays
}

#[tokio::test]
async fn reconnects_after_drop_mid_event_with_last_event_id() {
    let server = Server::start(|n, _| match n {
        0 => stream(
            &["id: 1\ndata: one\n\nid: 2\ndata: par", "tial"],
            End::Abort,
        ),
        1 => stream(&["data: two\n\n"], End::Close),
        _ => status(204),
    })
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

#[tokio::test]
async fn empty_id_clears_last_event_id() {
    let server = Server::start(|n, _| match n {
        0 => stream(&["id: 5\ndata: a\n\n"], End::Close),
        1 => stream(&["id\ndata: b\n\n"], End::Close),
        _ => status(204),
    })
    .await;
    let client = fast().build().unwrap();
    let events = within(client.get(&server.url).events().collect::<Vec<_>>()).await;
    assert_eq!(events.len(), 2);
    let ids: Vec<_> = server
        .seen()
        .iter()
        .map(|s| s.last_event_id().map(str::to_owned))
        .collect();
    assert_eq!(ids, [None, Some("5".to_owned()), None]);
}

#[tokio::test]
async fn last_event_id_header_of_the_request_resumes() {
    let server = Server::start(|n, _| match n {
        0 => stream(&["data: a\n\n"], End::Close),
        _ => status(204),
    })
    .await;
    let client = fast().build().unwrap();
    let request = client.http().get(&server.url).header("Last-Event-ID", "41");
    collect(client.connect(request)).await;
    let ids: Vec<_> = server
        .seen()
        .iter()
        .map(|s| s.last_event_id().map(str::to_owned))
        .collect();
    assert_eq!(ids, [Some("41".to_owned()), Some("41".to_owned())]);
}

#[tokio::test]
async fn utf8_last_event_id_header_of_the_request_resumes() {
    // IDs are UTF-8; `to_str` would have refused this one and resumed from
    // nothing.
    let server = Server::start(|n, _| match n {
        0 => stream(&["data: a\n\n"], End::Close),
        _ => status(204),
    })
    .await;
    let client = fast().build().unwrap();
    let id = http::HeaderValue::from_bytes("caf\u{e9}-41".as_bytes()).unwrap();
    let request = client.http().get(&server.url).header("Last-Event-ID", id);
    collect(client.connect(request)).await;
    let ids: Vec<_> = server
        .seen()
        .iter()
        .map(|s| s.last_event_id().map(str::to_owned))
        .collect();
    let id = Some("caf\u{e9}-41".to_owned());
    assert_eq!(ids, [id.clone(), id]);
}

#[tokio::test]
async fn retry_field_sets_the_delay() {
    let server = Server::start(|n, _| match n {
        0 => stream(&["retry: 300\ndata: a\n\n"], End::Close),
        // A failure right after: the delay is at least the server's.
        1 => status(503),
        2 => stream(&["retry: 20\n"], End::Close),
        _ => status(204),
    })
    .await;
    // A backoff far longer than the server's times: they must win.
    let client = Client::builder()
        .initial_interval(Duration::from_millis(10))
        .multiplier(1.0)
        .jitter(0.0)
        .retry_server_errors(true)
        .build()
        .unwrap();
    let mut connection = client.get(&server.url);
    let delays = retry_delays(&mut connection).await;
    assert_eq!(
        delays,
        [
            Duration::from_millis(300),
            Duration::from_millis(300),
            Duration::from_millis(20)
        ]
    );
    let seen = server.seen();
    assert!(seen[1].at - seen[0].at >= Duration::from_millis(300));
    assert!(seen[2].at - seen[1].at >= Duration::from_millis(300));
}

#[tokio::test]
async fn retry_field_shortens_a_long_backoff() {
    let server = Server::start(|n, _| match n {
        0 => stream(&["retry: 10\ndata: a\n\n"], End::Close),
        _ => status(204),
    })
    .await;
    let client = Client::builder()
        .initial_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let updates = collect(client.get(&server.url)).await;
    assert_eq!(updates.last().unwrap(), "closed");
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn no_content_stops_for_good() {
    let server = Server::start(|_, _| status(204)).await;
    let client = fast().build().unwrap();
    assert_eq!(collect(client.get(&server.url)).await, ["closed"]);
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn server_error_fails_without_retry() {
    let server = Server::start(|_, _| {
        Reply::Status(
            reqwest::StatusCode::INTERNAL_SERVER_ERROR,
            vec![("x-request-id", "abc")],
            "database on fire",
        )
    })
    .await;
    let client = fast().build().unwrap();
    let mut connection = client.get(&server.url);
    let err = within(connection.next()).await.unwrap().unwrap_err();
    assert!(err.is_status(), "{err:?}");
    assert_eq!(err.status().unwrap().as_u16(), 500);
    assert_eq!(err.headers().unwrap()["x-request-id"], "abc");
    assert_eq!(err.body().unwrap(), "database on fire");
    assert_eq!(
        err.to_string(),
        "server refused the stream with 500 Internal Server Error"
    );
    assert!(within(connection.next()).await.is_none());
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn wrong_content_type_fails_without_retry() {
    let server = Server::start(|_, _| {
        Reply::Status(
            reqwest::StatusCode::OK,
            vec![("content-type", "text/html")],
            "<h1>login</h1>",
        )
    })
    .await;
    let client = fast().retry_server_errors(true).build().unwrap();
    let mut connection = client.get(&server.url);
    let err = within(connection.next()).await.unwrap().unwrap_err();
    assert!(err.is_content_type(), "{err:?}");
    assert_eq!(err.body().unwrap(), "<h1>login</h1>");
    assert!(err.to_string().contains("text/html"));
    assert!(within(connection.next()).await.is_none());
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn content_type_check_can_be_turned_off() {
    let server = Server::start(|n, _| match n {
        0 => Reply::Status(
            reqwest::StatusCode::OK,
            vec![("content-type", "text/plain")],
            "data: x\n\n",
        ),
        _ => status(204),
    })
    .await;
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
    let server = Server::start(|n, _| match n {
        0 => status(503),
        1 => status(502),
        2 => stream(&["data: up\n\n"], End::Close),
        _ => status(204),
    })
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
async fn too_many_requests_waits_retry_after() {
    let server = Server::start(|n, _| match n {
        0 => Reply::Status(
            reqwest::StatusCode::TOO_MANY_REQUESTS,
            vec![("retry-after", "1")],
            "slow down",
        ),
        _ => status(204),
    })
    .await;
    let client = fast().retry_too_many_requests(true).build().unwrap();
    let mut connection = client.get(&server.url);
    let first = within(connection.next()).await.unwrap().unwrap();
    let Update::Retrying(retrying) = first else {
        panic!("expected a retry, got {first:?}");
    };
    assert_eq!(retrying.delay(), Duration::from_secs(1));
    assert_eq!(retrying.attempt(), 1);
    assert_eq!(retrying.error().unwrap().body().unwrap(), "slow down");
    assert_eq!(collect(connection).await, ["closed"]);
    let seen = server.seen();
    assert!(seen[1].at - seen[0].at >= Duration::from_secs(1));
}

#[tokio::test]
async fn too_many_requests_fails_by_default() {
    let server = Server::start(|_, _| status(429)).await;
    let client = fast().retry_server_errors(true).build().unwrap();
    assert_eq!(collect(client.get(&server.url)).await, ["error status 429"]);
}

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
async fn idle_timeout_reconnects() {
    let server = Server::start(|n, _| match n {
        // No headers at all, then a body that stalls.
        0 => Reply::NoHeaders,
        1 => stream(&["data: a\n\n"], End::Hang),
        _ => status(204),
    })
    .await;
    let client = fast()
        .idle_timeout(Some(Duration::from_millis(400)))
        .build()
        .unwrap();
    let updates = collect(client.get(&server.url)).await;
    assert_eq!(
        updates,
        [
            "retrying after timeout",
            "open 200",
            r#"event message "a" id="#,
            "retrying after timeout",
            "closed",
        ]
    );
}

#[tokio::test]
async fn keep_alive_comments_hold_off_the_idle_timeout() {
    let server = Server::start(|n, _| match n {
        0 => {
            // Ten keep-alives 60 ms apart: 600 ms of no events, longer than
            // the idle timeout, but never 400 ms without a byte.
            let mut chunks = vec![(Duration::ZERO, "data: first\n\n".to_owned())];
            chunks.extend((0..10).map(|_| (Duration::from_millis(60), ":\n".to_owned())));
            chunks.push((Duration::from_millis(60), "data: last\n\n".to_owned()));
            Reply::Paced(chunks)
        }
        _ => status(204),
    })
    .await;
    let client = fast()
        .idle_timeout(Some(Duration::from_millis(400)))
        .build()
        .unwrap();
    assert_eq!(
        collect(client.get(&server.url)).await,
        [
            "open 200",
            r#"event message "first" id="#,
            r#"event message "last" id="#,
            "retrying after end",
            "closed",
        ]
    );
}

#[tokio::test]
async fn comments_when_asked() {
    let server = Server::start(|n, _| match n {
        0 => stream(&[": hello\n", "data: a\n\n"], End::Close),
        _ => status(204),
    })
    .await;
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
async fn close_from_another_task() {
    let server = Server::start(|_, _| stream(&["data: a\n\n"], End::Hang)).await;
    let client = fast().build().unwrap();
    let mut connection = client.get(&server.url);
    let handle = connection.close_handle();
    let (opened, wait_open) = tokio::sync::oneshot::channel();
    let closer = tokio::spawn(async move {
        wait_open.await.unwrap();
        handle.close();
        handle
    });
    let mut opened = Some(opened);
    let mut updates = Vec::new();
    within(async {
        while let Some(update) = connection.next().await {
            let line = describe(update);
            if line.starts_with("event") {
                opened.take().unwrap().send(()).unwrap();
            }
            updates.push(line);
        }
    })
    .await;
    assert_eq!(updates, ["open 200", r#"event message "a" id="#, "closed"]);
    assert!(closer.await.unwrap().is_closed());
}

#[tokio::test]
async fn close_while_waiting_to_reconnect() {
    let server = Server::start(|_, _| status(503)).await;
    let client = Client::builder()
        .initial_interval(Duration::from_secs(3600))
        .retry_server_errors(true)
        .build()
        .unwrap();
    let mut connection = client.get(&server.url);
    let first = describe(within(connection.next()).await.unwrap());
    assert_eq!(first, "retrying after status 503");
    let handle = connection.close_handle();
    tokio::spawn(async move { handle.close() });
    assert_eq!(collect(connection).await, ["closed"]);
}

#[tokio::test]
async fn max_retries_ends_with_an_error() {
    let server = Server::start(|_, _| status(503)).await;
    let client = fast()
        .retry_server_errors(true)
        .max_retries(Some(2))
        .build()
        .unwrap();
    let mut connection = client.get(&server.url);
    let mut updates = Vec::new();
    let mut last = None;
    within(async {
        while let Some(update) = connection.next().await {
            match update {
                Err(err) => last = Some(err),
                ok => updates.push(describe(ok)),
            }
        }
    })
    .await;
    assert_eq!(
        updates,
        ["retrying after status 503", "retrying after status 503"]
    );
    let err = last.unwrap();
    assert!(err.is_retries_exhausted());
    assert_eq!(err.attempts(), Some(2));
    assert_eq!(common::kind(&err), "exhausted (status 503)");
    assert_eq!(server.seen().len(), 3);
}

#[tokio::test]
async fn a_stream_that_ends_at_once_is_a_failed_attempt() {
    // 200 and an end within moments, every time (a server shutting down,
    // one that cannot subscribe, or one that ends each stream after an
    // event with `retry: 5`): the server's time is honoured once, then the
    // backoff grows and the retry limit holds, instead of reconnecting at
    // the server's time for ever.
    let server = Server::start(|_, _| stream(&["retry: 5\ndata: x\n\n"], End::Close)).await;
    let client = Client::builder()
        .initial_interval(Duration::from_millis(10))
        .multiplier(2.0)
        .jitter(0.0)
        .max_retries(Some(4))
        .build()
        .unwrap();
    let mut connection = client.get(&server.url);
    let delays = retry_delays(&mut connection).await;
    // The server's `retry` first, then the policy's 20, 40, 80 (its first
    // 10 ms went with the first wait).
    let ms = |ms| Duration::from_millis(ms);
    assert_eq!(delays, [ms(5), ms(20), ms(40), ms(80)]);
    assert_eq!(server.seen().len(), 5);
}

#[tokio::test]
async fn a_stream_that_stays_up_starts_the_retries_over() {
    let server = Server::start(|n, _| match n {
        0 | 1 => stream(&["retry: 5\n"], End::Close),
        2 => Reply::Paced(vec![(Duration::from_millis(150), "data: x\n\n".to_owned())]),
        3 | 4 => stream(&[], End::Close),
        _ => status(204),
    })
    .await;
    let client = Client::builder()
        .initial_interval(Duration::from_millis(10))
        .multiplier(2.0)
        .jitter(0.0)
        .stable_after(Duration::from_millis(100))
        .build()
        .unwrap();
    let mut connection = client.get(&server.url);
    let delays = retry_delays(&mut connection).await;
    let ms = |ms| Duration::from_millis(ms);
    assert_eq!(delays, [ms(5), ms(20), ms(5), ms(20), ms(40)]);
}

#[tokio::test]
async fn max_retries_counts_from_the_last_open() {
    let server = Server::start(|n, _| match n {
        0 | 2 => status(503),
        1 => stream(&["data: a\n\n"], End::Close),
        _ => status(204),
    })
    .await;
    let client = fast()
        .retry_server_errors(true)
        .max_retries(Some(1))
        .build()
        .unwrap();
    let updates = collect(client.get(&server.url)).await;
    assert_eq!(
        updates,
        [
            "retrying after status 503",
            "open 200",
            r#"event message "a" id="#,
            "retrying after end",
            "error exhausted (status 503)",
        ]
    );
}

#[tokio::test]
async fn max_elapsed_time_ends_with_an_error() {
    let server = Server::start(|_, _| status(503)).await;
    let client = Client::builder()
        .initial_interval(Duration::from_millis(20))
        .multiplier(1.0)
        .jitter(0.0)
        .retry_server_errors(true)
        .max_elapsed_time(Some(Duration::from_millis(500)))
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    let updates = collect(client.get(&server.url)).await;
    // The policy gives up once the next delay would end past the limit.
    assert!(start.elapsed() >= Duration::from_millis(480));
    let (last, retries) = updates.split_last().unwrap();
    assert_eq!(last, "error exhausted (status 503)");
    assert!(
        retries.iter().all(|u| u == "retrying after status 503"),
        "{updates:?}"
    );
}

#[tokio::test]
async fn connection_refused_is_retried_then_exhausted() {
    // A port that was just free: nothing listens on it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/events", listener.local_addr().unwrap());
    drop(listener);
    let client = fast().max_retries(Some(1)).build().unwrap();
    assert_eq!(
        collect(client.get(url)).await,
        ["retrying after transport", "error exhausted (transport)"]
    );
}

#[tokio::test]
async fn invalid_url_is_a_builder_error() {
    let client = fast().build().unwrap();
    assert_eq!(collect(client.get("not a url")).await, ["error builder"]);
}

#[tokio::test]
async fn oversize_event_is_skipped_and_reported() {
    let big = format!("data: {}\n\n", "x".repeat(100));
    let server = Server::start(move |n, _| match n {
        0 => Reply::Stream(vec![big.clone(), "data: small\n\n".to_owned()], End::Close),
        _ => status(204),
    })
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
    let server = Server::start(|n, _| match n {
        0 => stream(
            &["event: price\ndata: 1\n\ndata: hi\n\nevent: price\ndata: 2\n\n"],
            End::Close,
        ),
        _ => status(204),
    })
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

#[tokio::test]
async fn custom_backoff_policy() {
    struct Constant(Duration);
    impl sse_client::Backoff for Constant {
        fn next_delay(&mut self) -> Option<Duration> {
            Some(self.0)
        }
        fn reset(&mut self) {}
    }
    let server = Server::start(|n, _| match n {
        0..=2 => status(503),
        _ => status(204),
    })
    .await;
    let client = Client::builder()
        .backoff(|| Constant(Duration::from_millis(5)))
        .retry_server_errors(true)
        .build()
        .unwrap();
    let mut connection = client.get(&server.url);
    let delays = retry_delays(&mut connection).await;
    assert_eq!(delays, [Duration::from_millis(5); 3]);
}

/// The next update, described.
async fn next(connection: &mut sse_client::Connection) -> String {
    describe(within(connection.next()).await.unwrap())
}

/// `reconnect` ends the stream under way and connects again after the
/// reconnection time, with the last event ID; the server's `retry` time
/// and the backoff carry on.
#[tokio::test]
async fn reconnect_on_demand_keeps_the_id_the_retry_time_and_the_backoff() {
    let server = Server::start(|n, _| match n {
        0 => stream(&["retry: 5\nid: 7\ndata: a\n\n"], End::Hang),
        1 => stream(&["data: b\n\n"], End::Hang),
        2 => stream(&["data: c\n\n"], End::Hang),
        _ => status(204),
    })
    .await;
    let client = Client::builder()
        .initial_interval(Duration::from_millis(100))
        .multiplier(2.0)
        .jitter(0.0)
        .stable_after(Duration::from_secs(3600))
        .build()
        .unwrap();
    let mut connection = client.get(&server.url);
    assert_eq!(next(&mut connection).await, "open 200");
    assert_eq!(next(&mut connection).await, r#"event message "a" id=7"#);
    connection.reconnect();
    let Some(Ok(Update::Retrying(retrying))) = within(connection.next()).await else {
        panic!("a reconnection");
    };
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
    let Some(Ok(Update::Retrying(retrying))) = within(connection.next()).await else {
        panic!("a reconnection");
    };
    // The second failure in a row: the backoff went on from its first
    // 100 ms, it did not start over.
    assert_eq!(retrying.delay(), Duration::from_millis(200));
    assert_eq!(
        describe(within(connection.next()).await.unwrap()),
        "open 200"
    );
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
    assert_eq!(describe(within(connection.next()).await.unwrap()), "closed");
    assert!(within(connection.next()).await.is_none());
    connection.reconnect();
    assert_eq!(
        describe(within(connection.next()).await.unwrap()),
        "open 200"
    );
    assert_eq!(
        describe(within(connection.next()).await.unwrap()),
        r#"event message "again" id="#
    );
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
    let mut updates = Vec::new();
    let mut last = None;
    while let Some(update) = within(connection.next()).await {
        match update {
            Ok(update) => updates.push(describe(Ok(update))),
            Err(err) => last = Some(err),
        }
    }
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

#[tokio::test]
async fn a_redirect_loop_ends_with_a_permanent_error() {
    let server = Server::start(|_, _| {
        Reply::Status(
            reqwest::StatusCode::FOUND,
            vec![("location", "/events")],
            "",
        )
    })
    .await;
    let client = fast().build().unwrap();
    let mut connection = client.get(&server.url);
    let last = within(connection.next()).await.unwrap().unwrap_err();
    assert!(last.is_redirect() && last.is_permanent(), "{last:?}");
    assert!(within(connection.next()).await.is_none());
    assert!(server.seen().len() <= 11, "reqwest follows ten redirects");
}

/// A server that ends every stream at once with `retry: 0` gets a few
/// reconnections, not a flood (hundreds a second before).
#[tokio::test]
async fn a_retry_zero_flood_is_held_back() {
    let server = Server::start(|_, _| stream(&["retry: 0\ndata: x\n\n"], End::Close)).await;
    let mut connection = Client::new().get(&server.url);
    let _ = tokio::time::timeout(Duration::from_millis(1500), async {
        while connection.next().await.is_some() {}
    })
    .await;
    let requests = server.seen().len();
    // Once at once (the server's time), then 0.5 s, 0.75 s, ... with
    // jitter: at most five in 1.5 s.
    assert!((2..=5).contains(&requests), "{requests} requests");
}

/// With nothing configured, a server that accepts and never answers is
/// not waited on for ever.
#[tokio::test(start_paused = true)]
async fn a_silent_server_times_out_by_default() {
    let server = Server::start(|_, _| Reply::NoHeaders).await;
    let mut connection = Client::new().get(&server.url);
    let started = tokio::time::Instant::now();
    let Some(Ok(Update::Retrying(retrying))) = connection.next().await else {
        panic!("a reconnection");
    };
    assert!(retrying.error().unwrap().is_timeout());
    assert_eq!(started.elapsed(), sse_client::DEFAULT_IDLE_TIMEOUT);
}

#[tokio::test]
async fn a_compressed_body_is_a_clear_error() {
    let server = Server::start(|_, _| {
        Reply::Status(
            reqwest::StatusCode::OK,
            vec![
                ("content-type", "text/event-stream"),
                ("content-encoding", "gzip"),
            ],
            "\u{1f}\u{8b}not really gzip",
        )
    })
    .await;
    let client = fast().build().unwrap();
    let mut connection = client.get(&server.url);
    let err = within(connection.next()).await.unwrap().unwrap_err();
    assert!(err.is_content_encoding() && err.is_permanent(), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the event stream is gzip-encoded and was not decoded"
    );
    assert!(within(connection.next()).await.is_none());
}

/// Follows `connection` to its end in paused time, where a timeout of
/// [`within`] would be virtual too, and returns its updates and the delay
/// of each retry.
async fn follow_paused(connection: &mut sse_client::Connection) -> (Vec<String>, Vec<Duration>) {
    let mut updates = Vec::new();
    let mut delays = Vec::new();
    while let Some(update) = connection.next().await {
        if let Ok(Update::Retrying(retrying)) = &update {
            delays.push(retrying.delay());
        }
        updates.push(describe(update));
    }
    (updates, delays)
}

/// A server that asks to wait for millennia, in seconds or with a date in
/// the year 9999, is tried again after the default ceiling.
#[tokio::test(start_paused = true)]
async fn an_absurd_retry_after_waits_the_default_ceiling() {
    let server = Server::start(|n, _| match n {
        0 => Reply::Status(
            reqwest::StatusCode::SERVICE_UNAVAILABLE,
            vec![("retry-after", "99999999999")],
            "",
        ),
        1 => Reply::Status(
            reqwest::StatusCode::TOO_MANY_REQUESTS,
            vec![("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT")],
            "",
        ),
        _ => status(204),
    })
    .await;
    let client = fast()
        .retry_server_errors(true)
        .retry_too_many_requests(true)
        .build()
        .unwrap();
    let (updates, delays) = follow_paused(&mut client.get(&server.url)).await;
    assert_eq!(
        updates,
        [
            "retrying after status 503",
            "retrying after status 429",
            "closed"
        ]
    );
    let ceiling = sse_client::DEFAULT_MAX_RETRY_AFTER;
    assert_eq!(delays, [ceiling, ceiling]);
    let seen = server.seen();
    for pair in seen.windows(2) {
        let waited = pair[1].at - pair[0].at;
        assert!(
            waited >= ceiling && waited < ceiling + Duration::from_secs(1),
            "{waited:?}"
        );
    }
}

/// A configured ceiling caps `Retry-After`, and the maximum elapsed time
/// still ends the retries.
#[tokio::test(start_paused = true)]
async fn a_configured_ceiling_caps_retry_after_within_the_time_budget() {
    let server = Server::start(|_, _| {
        Reply::Status(
            reqwest::StatusCode::TOO_MANY_REQUESTS,
            vec![("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT")],
            "",
        )
    })
    .await;
    let client = fast()
        .retry_too_many_requests(true)
        .max_retry_after(Duration::from_secs(2))
        .max_elapsed_time(Some(Duration::from_secs(5)))
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let (updates, delays) = follow_paused(&mut client.get(&server.url)).await;
    // Two waits of 2 s fit in 5 s; a third would end past it.
    assert_eq!(
        updates,
        [
            "retrying after status 429",
            "retrying after status 429",
            "error exhausted (status 429)"
        ]
    );
    assert_eq!(delays, [Duration::from_secs(2); 2]);
    assert_eq!(server.seen().len(), 3);
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// A refusal that the connection retries is not permanent, in its
/// `Retrying` and as the last failure when the retries run out; one it
/// does not retry is.
#[tokio::test]
async fn a_retried_refusal_is_not_permanent() {
    let server = Server::start(|n, _| match n {
        0 => status(503),
        1 => status(429),
        _ => status(204),
    })
    .await;
    let client = fast()
        .retry_server_errors(true)
        .retry_too_many_requests(true)
        .build()
        .unwrap();
    let mut connection = client.get(&server.url);
    for code in [503, 429] {
        let update = within(connection.next()).await.unwrap().unwrap();
        let Update::Retrying(retrying) = update else {
            panic!("expected a retry, got {update:?}");
        };
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
