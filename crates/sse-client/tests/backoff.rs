//! How long a connection waits before it tries again, and when it gives
//! up: the server's `retry` field, `Retry-After`, the backoff policy and
//! the retry limits.
// A local server on a socket: not in the browser.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{
    End, Reply, Server, collect, describe, exact_backoff, expect_retrying, fast, reply, status,
    stream, updates_and_error, within,
};
use futures_util::StreamExt;
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
async fn retry_field_sets_the_delay() {
    let server = Server::replies([
        stream(&["retry: 300\ndata: a\n\n"], End::Close),
        // A failure right after: the delay is at least the server's.
        status(503),
        stream(&["retry: 20\n"], End::Close),
    ])
    .await;
    // A backoff far longer than the server's times: they must win.
    let client = exact_backoff(Duration::from_millis(10), 1.0)
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
    let server = Server::replies([stream(&["retry: 10\ndata: a\n\n"], End::Close)]).await;
    let client = Client::builder()
        .initial_interval(Duration::from_secs(3600))
        .build()
        .unwrap();
    let updates = collect(client.get(&server.url)).await;
    assert_eq!(updates.last().unwrap(), "closed");
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn too_many_requests_waits_retry_after() {
    let server = Server::replies([reply(429, &[("retry-after", "1")], "slow down")]).await;
    let client = fast().retry_too_many_requests(true).build().unwrap();
    let mut connection = client.get(&server.url);
    let retrying = expect_retrying(within(connection.next()).await);
    assert_eq!(retrying.delay(), Duration::from_secs(1));
    assert_eq!(retrying.attempt(), 1);
    assert_eq!(retrying.error().unwrap().body().unwrap(), "slow down");
    assert_eq!(collect(connection).await, ["closed"]);
    let seen = server.seen();
    assert!(seen[1].at - seen[0].at >= Duration::from_secs(1));
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
    let (updates, last) = updates_and_error(&mut connection).await;
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
    let client = exact_backoff(Duration::from_millis(10), 2.0)
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
    let client = exact_backoff(Duration::from_millis(10), 2.0)
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
    let server = Server::replies([
        status(503),
        stream(&["data: a\n\n"], End::Close),
        status(503),
    ])
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
    let client = exact_backoff(Duration::from_millis(20), 1.0)
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
async fn custom_backoff_policy() {
    struct Constant(Duration);
    impl sse_client::Backoff for Constant {
        fn next_delay(&mut self) -> Option<Duration> {
            Some(self.0)
        }
        fn reset(&mut self) {}
    }
    let server = Server::replies([status(503), status(503), status(503)]).await;
    let client = Client::builder()
        .backoff(|| Constant(Duration::from_millis(5)))
        .retry_server_errors(true)
        .build()
        .unwrap();
    let mut connection = client.get(&server.url);
    let delays = retry_delays(&mut connection).await;
    assert_eq!(delays, [Duration::from_millis(5); 3]);
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
    let server = Server::replies([
        reply(503, &[("retry-after", "99999999999")], ""),
        reply(429, &[("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT")], ""),
    ])
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
    let server =
        Server::start(|_, _| reply(429, &[("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT")], ""))
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
