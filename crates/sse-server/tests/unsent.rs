//! A client that stops reading is handed a bounded part of its stream,
//! whatever the HTTP layer would buffer: served as the README shows, with
//! `axum::serve`, whose hyper takes up to about 400 KiB per connection.

mod common;

use common::{Events, GET_EVENTS, stalled, wait_until};
use sse_codec::{Message, Topic};
use sse_joe::Joe;
use sse_server::{ConnectionLimits, DEFAULT_MAX_UNSENT, Server};
use std::time::Duration;

/// `value()` once it stopped changing for half a second.
async fn settled(mut value: impl FnMut() -> u64) -> u64 {
    let mut last = value();
    let mut same = 0;
    while same < 10 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = value();
        same = if now == last { same + 1 } else { 0 };
        last = now;
    }
    last
}

/// Publishes `frames` events of `frame` bytes to a stalled client and a
/// reading one, on a server with `write_delay`; returns the bytes the
/// stalled client's response took from Joe, once that settled.
async fn handed_to_a_stalled_client(frame: usize, frames: u64, delay: Option<Duration>) -> usize {
    // A log deep enough that nobody lags: what the stalled client holds
    // is bounded by the server, not ended by Joe.
    let joe = Joe::builder()
        .capacity(4 * frames as usize)
        .max_queued_bytes(64 << 20)
        .build();
    let server = Server::builder(joe.clone()).write_delay(delay).build();
    let app = axum::Router::new().route_service("/events", server.clone());
    let tcp = common::listener(None).await;
    let addr = tcp.local_addr().unwrap();
    // The kernel's part made small, so that what the HTTP layer holds
    // shows.
    let limits = ConnectionLimits::new().send_buffer(Some(4096));
    tokio::spawn(async move { axum::serve(limits.listen(tcp), app).await });

    let _stalled = stalled(addr, GET_EVENTS).await;
    let mut healthy = Events::get(format!("http://{addr}/events")).await;
    wait_until("both subscribed", || joe.subscriber_count() == 2).await;

    let data = "x".repeat(frame);
    let publishing = {
        let server = server.clone();
        tokio::spawn(async move {
            for _ in 0..frames {
                let message = Message::new().data(data.as_str());
                server.publish(message, &[Topic::DEFAULT]).await.unwrap();
            }
        })
    };
    // The reading client gets every event, the stalled one holding it
    // back in nothing.
    assert_eq!(healthy.data(frames as usize).await.len(), frames as usize);
    publishing.await.unwrap();
    let stalled_took = settled(|| joe.stats().delivered).await - frames;
    stalled_took as usize * frame
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_handed_at_most_the_unsent_limit() {
    const FRAME: usize = 16 * 1024;
    let bytes = handed_to_a_stalled_client(FRAME, 200, None).await;
    // Frames the stalled client's response took from Joe: the kernel's
    // buffers on both sides (4 KiB asked each; Linux doubles them), the
    // unsent limit, and one frame. Without the limit hyper alone takes
    // 16 chunks (256 KiB of these frames), and before frames were passed
    // through one per chunk, about 400 KiB.
    let bound = 2 * 8 * 1024 + DEFAULT_MAX_UNSENT + 2 * FRAME;
    assert!(
        bytes <= bound,
        "the stalled client was handed {bytes} bytes; bound {bound}"
    );
}

/// With a write delay, small events are gathered into chunks while the
/// client does not read: the same bound holds (plus the chunk being
/// gathered, 8 KiB at most).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_write_delay_a_client_that_never_reads_is_bounded_the_same() {
    const FRAME: usize = 200;
    let bytes = handed_to_a_stalled_client(FRAME, 5_000, Some(Duration::from_millis(5))).await;
    let bound = 2 * 8 * 1024 + DEFAULT_MAX_UNSENT + 8 * 1024 + 2 * FRAME;
    assert!(
        bytes <= bound,
        "the stalled client was handed {bytes} bytes; bound {bound}"
    );
}
