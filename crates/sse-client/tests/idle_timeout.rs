//! The idle timeout: a connection that receives nothing for a while
//! tries again, and bytes of any kind hold it off.
// A local server on a socket: not in the browser.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{End, Reply, Server, collect, expect_retrying, fast, stream};
use futures_util::StreamExt;
use sse_client::Client;
use std::time::Duration;

#[tokio::test]
async fn idle_timeout_reconnects() {
    let server = Server::replies([
        // No headers at all, then a body that stalls.
        Reply::NoHeaders,
        stream(&["data: a\n\n"], End::Hang),
    ])
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
    // Ten keep-alives 60 ms apart: 600 ms of no events, longer than the
    // idle timeout, but never 400 ms without a byte.
    let mut chunks = vec![(Duration::ZERO, "data: first\n\n".to_owned())];
    chunks.extend((0..10).map(|_| (Duration::from_millis(60), ":\n".to_owned())));
    chunks.push((Duration::from_millis(60), "data: last\n\n".to_owned()));
    let server = Server::replies([Reply::Paced(chunks)]).await;
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

/// With nothing configured, a server that accepts and never answers is
/// not waited on for ever.
#[tokio::test(start_paused = true)]
async fn a_silent_server_times_out_by_default() {
    let server = Server::start(|_, _| Reply::NoHeaders).await;
    let mut connection = Client::new().get(&server.url);
    let started = tokio::time::Instant::now();
    let retrying = expect_retrying(connection.next().await);
    assert!(retrying.error().unwrap().is_timeout());
    assert_eq!(started.elapsed(), sse_client::DEFAULT_IDLE_TIMEOUT);
}
