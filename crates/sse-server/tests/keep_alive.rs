//! Keep-alive comments: only while a stream is idle, one interval after
//! the last thing sent, or none.

mod common;

use common::{Events, publish, serve};
use sse_joe::Joe;
use sse_server::Server;
use std::time::Duration;

#[tokio::test]
async fn keep_alive_is_sent_only_when_idle() {
    // Long enough that a loaded machine does not stall a busy stream for a
    // whole interval.
    let interval = Duration::from_millis(500);
    let server = Server::builder(Joe::new())
        .keep_alive(Some(interval))
        .build();
    let served = serve(server.clone()).await;
    let mut events = Events::get(served.url("/")).await;

    // Busy: every event is published as soon as the previous one arrived,
    // for several intervals. No keep-alive may interleave.
    let busy_until = tokio::time::Instant::now() + interval * 4;
    let mut n = 0;
    while tokio::time::Instant::now() < busy_until {
        n += 1;
        publish(&server, n.to_string()).await;
        assert_eq!(events.data(1).await, [n.to_string()]);
    }
    assert!(n > 10, "only {n} events");
    assert!(
        !events.raw.windows(2).any(|w| w == b"\n:"),
        "keep-alive while busy: {:?}",
        String::from_utf8_lossy(&events.raw)
    );

    // Idle: keep-alive comments arrive, repeatedly.
    let before = events.raw.len();
    events.raw_until(b": keep-alive\n\n").await;
    let first = events.raw.len();
    assert!(first > before);
    events.raw.drain(..first);
    events.raw_until(b": keep-alive\n\n").await;
    // And events still flow after them.
    publish(&server, "after").await;
    assert_eq!(events.data(1).await, ["after"]);
}

#[tokio::test]
async fn keep_alive_can_be_disabled() {
    let server = Server::builder(Joe::new()).keep_alive(None).build();
    let served = serve(server.clone()).await;
    let mut events = Events::get(served.url("/")).await;
    // Nothing but events is on the wire.
    publish(&server, "only").await;
    assert_eq!(events.data(1).await, ["only"]);
    assert_eq!(events.raw, b"data: only\n\n");
}

/// The first keep-alive comes one interval after the response starts, the
/// initial `retry:` notwithstanding, and then one interval after the last
/// event.
#[tokio::test(start_paused = true)]
async fn keep_alive_is_due_one_interval_after_the_last_thing_sent() {
    use http_body_util::BodyExt;
    use tower_service::Service;
    const INTERVAL: Duration = Duration::from_secs(15);
    let mut server = Server::builder(Joe::new())
        .retry(Duration::from_secs(1))
        .keep_alive(Some(INTERVAL))
        .build();
    let start = tokio::time::Instant::now();
    let mut response = server
        .call(http::Request::get("/").body(()).unwrap())
        .await
        .unwrap();
    let mut next = async || {
        let frame = response.body_mut().frame().await.unwrap().unwrap();
        (frame.into_data().unwrap(), start.elapsed())
    };
    assert_eq!(next().await, ("retry: 1000\n\n".into(), Duration::ZERO));
    assert_eq!(next().await, (": keep-alive\n\n".into(), INTERVAL));
    let publisher = server.clone();
    tokio::spawn(async move {
        tokio::time::sleep_until(start + Duration::from_secs(20)).await;
        publish(&publisher, "x").await;
    });
    assert_eq!(
        next().await,
        ("data: x\n\n".into(), Duration::from_secs(20))
    );
    assert_eq!(
        next().await,
        (": keep-alive\n\n".into(), Duration::from_secs(35))
    );
}
