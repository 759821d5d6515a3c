//! The client on wasm32, on the browser's `fetch` and timers: what needs no
//! server of its own (parsing, the idle timer, reconnection delays, giving
//! up, closing).
//!
//! To run them, install the test runner at the version of the
//! `wasm-bindgen` crate in Cargo.lock (the two must match), and make it
//! the runner of the wasm32 target:
//!
//! ```text
//! cargo install wasm-bindgen-cli --version "$(cargo pkgid wasm-bindgen | sed 's/.*@//')" --locked
//! export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
//! cargo test -p sse-client --target wasm32-unknown-unknown --test browser
//! ```
//!
//! That runs them in Node.js (which has `fetch`, `setTimeout` and
//! `performance`). In headless Chromium, with Debian's `chromium` and
//! `chromedriver` on the `PATH` (or `CHROMEDRIVER` naming the driver), set
//! `WASM_BINDGEN_USE_BROWSER=1` for the same `cargo test`.
#![cfg(target_arch = "wasm32")]

use futures_util::{
    StreamExt,
    future::{Either, select},
    stream,
};
use gloo_timers::future::TimeoutFuture;
use sse_client::{Backoff, Client, Update};
use std::time::Duration;
use wasm_bindgen_test::wasm_bindgen_test;
use web_time::Instant;

/// A port nothing listens on (the discard service's): `fetch` fails fast.
const NOWHERE: &str = "http://127.0.0.1:9/events";

#[wasm_bindgen_test]
async fn read_stream_parses_chunks() {
    let chunks = ["data: Hel", "lo\n\nid: 7\ndata: wor", "ld\n\n"]
        .map(|s| Ok::<_, std::io::Error>(s.as_bytes()));
    let mut events = sse_client::read_stream(stream::iter(chunks));
    assert_eq!(events.next().await.unwrap().unwrap().data(), "Hello");
    assert_eq!(events.next().await.unwrap().unwrap().data(), "world");
    assert!(events.next().await.is_none());
    assert_eq!(events.last_event_id().as_str(), "7");
}

#[wasm_bindgen_test]
async fn a_cut_off_body_is_truncated() {
    let chunks = ["data: whole\n\n", "data: cut"].map(|s| Ok::<_, std::io::Error>(s.as_bytes()));
    let mut events = sse_client::read_stream(stream::iter(chunks));
    assert_eq!(events.next().await.unwrap().unwrap().data(), "whole");
    assert!(events.next().await.unwrap().unwrap_err().is_truncated());
}

/// The idle timer runs on `setTimeout`: a silent body times out, neither
/// at once nor never.
#[wasm_bindgen_test]
async fn a_silent_body_times_out_on_the_browser_timer() {
    let silent = stream::pending::<Result<&'static [u8], std::io::Error>>();
    let started = Instant::now();
    let mut events = sse_client::read_stream(silent).idle_timeout(Some(Duration::from_millis(50)));
    let err = events.next().await.unwrap().unwrap_err();
    assert!(err.is_timeout(), "{err}");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(45), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert!(events.next().await.is_none());
}

/// The default client builds without the settings `fetch` owns, and a
/// failed `fetch` is retried after the backoff's delay, then given up.
#[wasm_bindgen_test]
async fn a_failed_fetch_is_retried_then_given_up() {
    let client = Client::builder()
        .initial_interval(Duration::from_millis(20))
        .jitter(0.0)
        .max_retries(Some(2))
        .build()
        .unwrap();
    let started = Instant::now();
    let mut connection = client.get(NOWHERE);
    let mut delays = Vec::new();
    let err = loop {
        match connection.next().await.unwrap() {
            Ok(Update::Retrying(retrying)) => {
                assert!(retrying.error().unwrap().is_transport());
                delays.push(retrying.delay());
            }
            Ok(other) => panic!("unexpected {other:?}"),
            Err(err) => break err,
        }
    };
    assert!(err.is_retries_exhausted(), "{err}");
    assert_eq!(err.attempts(), Some(2));
    assert_eq!(delays.len(), 2);
    assert_eq!(delays[0], Duration::from_millis(20));
    // Both delays were waited, on the browser's timer.
    let waited = started.elapsed();
    assert!(waited >= delays.iter().sum::<Duration>(), "{waited:?}");
    assert!(connection.next().await.is_none());
}

/// The default policy's jitter draws on the browser's randomness
/// (`crypto.getRandomValues`) and its clock, through the `backoff` crate.
#[wasm_bindgen_test]
async fn the_default_policy_jitters_in_the_browser() {
    let client = Client::builder()
        .initial_interval(Duration::from_millis(10))
        .max_retries(Some(1))
        .build()
        .unwrap();
    let mut connection = client.get(NOWHERE);
    match connection.next().await.unwrap() {
        Ok(Update::Retrying(retrying)) => {
            let delay = retrying.delay();
            assert!(delay >= Duration::from_millis(5), "{delay:?}");
            assert!(delay <= Duration::from_millis(15), "{delay:?}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        connection
            .next()
            .await
            .unwrap()
            .unwrap_err()
            .is_retries_exhausted()
    );
}

/// Closing from a handle ends a connection that is waiting to reconnect.
#[wasm_bindgen_test]
async fn a_close_handle_ends_a_waiting_connection() {
    let client = Client::builder()
        .initial_interval(Duration::from_secs(3600))
        .jitter(0.0)
        .build()
        .unwrap();
    let mut connection = client.get(NOWHERE);
    let handle = connection.close_handle();
    match connection.next().await.unwrap() {
        Ok(Update::Retrying(retrying)) => assert_eq!(retrying.delay(), Duration::from_secs(3600)),
        other => panic!("unexpected {other:?}"),
    }
    handle.close();
    assert!(matches!(connection.next().await, Some(Ok(Update::Closed))));
    assert!(connection.next().await.is_none());
}

/// A delay longer than a single `setTimeout` can wait (`i32::MAX` ms,
/// about 24.8 days; browsers fire a longer one at once) is waited out, not
/// cut short.
#[wasm_bindgen_test]
async fn a_delay_past_the_longest_timeout_is_not_cut_short() {
    struct Month;
    impl Backoff for Month {
        fn next_delay(&mut self) -> Option<Duration> {
            Some(Duration::from_secs(30 * 24 * 3600))
        }
        fn reset(&mut self) {}
    }
    let client = Client::builder().backoff(|| Month).build().unwrap();
    let mut connection = client.get(NOWHERE);
    match connection.next().await.unwrap() {
        Ok(Update::Retrying(retrying)) => {
            assert_eq!(retrying.delay(), Duration::from_secs(30 * 24 * 3600));
        }
        other => panic!("unexpected {other:?}"),
    }
    // Had the delay fired at once, the next attempt would have failed (and
    // been reported) well within this.
    match select(connection.next(), TimeoutFuture::new(300)).await {
        Either::Right(((), _)) => {}
        Either::Left((update, _)) => panic!("the delay was cut short: {update:?}"),
    }
    connection.close();
    assert!(matches!(connection.next().await, Some(Ok(Update::Closed))));
}

/// A POST with a body and headers is accepted as it is off the browser
/// (whether it reaches a server is for the tests with one).
#[wasm_bindgen_test]
async fn a_post_with_a_body_and_headers_makes_a_connection() {
    let client = Client::builder().max_retries(Some(0)).build().unwrap();
    let request = client
        .http()
        .post(NOWHERE)
        .header("authorization", "Bearer token")
        .header("content-type", "application/json")
        .body(r#"{"prompt":"hello"}"#);
    let mut connection = client.connect(request);
    let err = connection.next().await.unwrap().unwrap_err();
    assert!(err.is_retries_exhausted(), "{err}");
}
