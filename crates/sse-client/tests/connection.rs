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
        .idle_timeout(Duration::from_millis(400))
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
        .idle_timeout(Duration::from_millis(400))
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
async fn a_stream_that_ends_unserved_is_a_failed_attempt() {
    // 200 and an immediate end, every time (a server shutting down, or one
    // that cannot subscribe): the backoff grows and the retry limit holds,
    // instead of reconnecting at the base delay for ever.
    let server = Server::start(|n, _| match n {
        0..=2 => stream(&["retry: 5\n"], End::Close),
        3 => stream(&[": keep-alive\n\n"], End::Close),
        _ => stream(&[], End::Close),
    })
    .await;
    let client = Client::builder()
        .initial_interval(Duration::from_millis(10))
        .multiplier(2.0)
        .jitter(0.0)
        .max_retries(Some(4))
        .build()
        .unwrap();
    let mut connection = client.get(&server.url);
    let delays = retry_delays(&mut connection).await;
    // The first wait is the server's `retry` time, then the policy grows
    // it (10 ms consumed by the first, so 20, 40). The keep-alive of
    // attempt 3 shows the stream was served: everything starts over, and
    // the limit of 4 allows four more.
    let ms = |ms| Duration::from_millis(ms);
    assert_eq!(
        delays,
        [ms(5), ms(20), ms(40), ms(5), ms(20), ms(40), ms(80)]
    );
    assert_eq!(server.seen().len(), 8);
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
            "error too-large",
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
    let server = Server::start(|n, _| match n {
        0..=2 => status(503),
        _ => status(204),
    })
    .await;
    let client = Client::builder()
        .backoff(|| sse_client::backoff::backoff::Constant::new(Duration::from_millis(5)))
        .retry_server_errors(true)
        .build()
        .unwrap();
    let mut connection = client.get(&server.url);
    let delays = retry_delays(&mut connection).await;
    assert_eq!(delays, [Duration::from_millis(5); 3]);
}
