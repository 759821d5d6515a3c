//! Replays from a real redis-server: read a page at a time as the
//! subscriber reads, so that a resuming subscriber holds at most a page
//! however long the history, and exact however far back it resumes, while
//! publishes race it.

mod common;

use common::{admin, command_calls, next_event, reset_command_calls, subscribe, topics};
use futures_util::{StreamExt, future::join_all};
use redis::AsyncCommands;
use sse_codec::{EventId, Message, Provider, Resume, Subscription};
use sse_redis::{Redis, Retention};
use sse_testkit::{RedisServer, bounded};
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

/// Entries per page of a replay.
const PAGE: usize = 500;

/// Publishes `n` numbered messages, alternately to topics `a` and `b`, and
/// returns the event IDs, read back by a subscriber of both.
async fn numbered(node: &Redis, n: usize) -> Vec<EventId> {
    let mut sub = subscribe(node, &["a", "b"]).await;
    for i in 0..n {
        let topic = if i % 2 == 0 { "a" } else { "b" };
        node.publish(Message::new().data(i.to_string()), &topics(&[topic]))
            .await
            .unwrap();
    }
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let event = next_event(&mut sub).await;
        assert_eq!(event.data(), i.to_string());
        ids.push(event.last_event_id().clone());
    }
    ids
}

/// The numbers `stream` holds next, `n` of them.
async fn numbers(stream: &mut sse_redis::Subscriber, n: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(next_event(stream).await.data().parse().unwrap());
    }
    out
}

/// A replay longer than a page is read in pages (`XRANGE ... COUNT`), each
/// from the last entry of the one before: every entry once, in order, then
/// live. From the earliest likewise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_replay_is_read_in_pages_without_gap_or_duplicate() {
    const N: usize = 1700;
    let server = RedisServer::start();
    let node = Redis::builder(server.url())
        .key("pages")
        .retention(Retention::All)
        // Room for the publishes, which are read back only after.
        .capacity(4096)
        .build()
        .await
        .unwrap();
    let ids = numbered(&node, N).await;
    let mut admin = admin(&server).await;
    reset_command_calls(&mut admin).await;

    let from = 9;
    let resumed = node
        .subscribe(Subscription::new(topics(&["a"])).last_event_id(Some(ids[from].clone())))
        .await
        .unwrap();
    assert_eq!(resumed.resume, Resume::Exact);
    let mut resumed = resumed.stream;
    let expected: Vec<usize> = (from + 1..N).filter(|i| i % 2 == 0).collect();
    assert_eq!(numbers(&mut resumed, expected.len()).await, expected);

    let earliest = node
        .subscribe(Subscription::new(topics(&["b"])).from_earliest())
        .await
        .unwrap();
    assert_eq!(earliest.resume, Resume::Earliest);
    let mut earliest = earliest.stream;
    let expected: Vec<usize> = (0..N).filter(|i| i % 2 == 1).collect();
    assert_eq!(numbers(&mut earliest, expected.len()).await, expected);

    let calls = command_calls(&mut admin).await;
    let count = |name: &str| calls.get(name).copied().unwrap_or(0);
    // 1,690 entries after the resume ID in pages of 500 (each starting at
    // the one before's last): 4; 1,700 from the first: 4. The reader's
    // script reads with `XRANGE` too, and `XINFO STREAM`, once a run.
    assert_eq!(count("xrange") - count("xinfo|stream"), 8, "{calls:?}");
    assert_eq!(count("xrevrange"), 0, "{calls:?}");

    node.publish(Message::new().data(N.to_string()), &topics(&["a", "b"]))
        .await
        .unwrap();
    assert_eq!(numbers(&mut resumed, 1).await, [N]);
    assert_eq!(numbers(&mut earliest, 1).await, [N]);
}

/// A resuming subscriber holds at most a page of its replay, however long
/// the history: the next page is read once it has read the one before; a
/// subscriber that stops reading holds one page, and nothing more piles up
/// for it, even while publishes go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_holds_at_most_a_page() {
    const N: usize = 5000;
    let server = RedisServer::start();
    let node = Redis::builder(server.url())
        .key("held")
        .retention(Retention::All)
        .build()
        .await
        .unwrap();
    let start = marker(&node).await;
    publish_all(&node, 0..N).await;
    let resume =
        || node.subscribe(Subscription::new(topics(&["t"])).last_event_id(Some(start.clone())));
    let stalled = resume().await.unwrap();
    assert_eq!(stalled.resume, Resume::Exact);
    let stalled = stalled.stream;
    assert_eq!(stalled.queued(), PAGE, "the first page");
    publish_all(&node, N..N + 100).await;
    let mut reader = resume().await.unwrap().stream;
    let expected = stored(&server, "held").await;
    let mut most = 0;
    for data in &expected[1..] {
        most = most.max(reader.queued());
        assert_eq!(&next_event(&mut reader).await.data(), data);
    }
    assert!(most <= PAGE, "{most} frames held at once");
    assert_eq!(stalled.queued(), PAGE, "a stalled subscriber holds a page");
}

/// Past its first frame, a page holds at most the bytes a live
/// subscriber's queue may hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_holds_at_most_the_queues_bytes() {
    const MAX_BYTES: usize = 64 * 1024;
    let server = RedisServer::start();
    let node = Redis::builder(server.url())
        .key("bytes")
        .retention(Retention::All)
        .max_queued_bytes(MAX_BYTES)
        .build()
        .await
        .unwrap();
    let start = marker(&node).await;
    let data = "x".repeat(1000);
    for _ in 0..300 {
        node.publish(Message::new().data(data.clone()), &topics(&["t"]))
            .await
            .unwrap();
    }
    let mut resumed = node
        .subscribe(Subscription::new(topics(&["t"])).last_event_id(Some(start)))
        .await
        .unwrap()
        .stream;
    let mut most = 0;
    for _ in 0..300 {
        most = most.max(resumed.queued_bytes());
        assert_eq!(next_event(&mut resumed).await.data(), data);
    }
    // Frames of about 1 KiB (the data and an `id` line): about 60 fit.
    assert!(most <= MAX_BYTES, "{most} bytes held at once");
    assert!(most > MAX_BYTES / 2, "{most} bytes: a page, not a frame");
}

/// A resume from 50,000 events back is exact while another process
/// publishes all along (through the replay, the join of the live fan-out
/// and after): every event after the ID once, in the stream's order, then
/// the racing ones, no gap and no duplicate, holding at most a page of the
/// replay (or what the live fan-out queues) at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_from_50_000_back_is_exact_while_publishes_race_it() {
    const BACK: usize = 50_000;
    /// Racing events read before the racing publisher stops.
    const RACING: usize = 1000;
    let server = RedisServer::start();
    let node = Redis::builder(server.url())
        .key("far")
        .retention(Retention::All)
        .build()
        .await
        .unwrap();
    let other = Redis::builder(server.url())
        .key("far")
        .retention(Retention::All)
        .build()
        .await
        .unwrap();
    let start = marker(&node).await;
    publish_all(&node, 0..BACK).await;
    let history = stored(&server, "far").await;
    assert_eq!(history.len(), 1 + BACK);
    let stop = Arc::new(AtomicBool::new(false));
    // One task, so in this order; until the reader has read enough of them.
    let racing = tokio::spawn({
        let stop = Arc::clone(&stop);
        async move {
            let mut n = BACK;
            while !stop.load(Ordering::Acquire) {
                other
                    .publish(Message::new().data(n.to_string()), &topics(&["t"]))
                    .await
                    .unwrap();
                n += 1;
            }
            n
        }
    });
    let resumed = node
        .subscribe(Subscription::new(topics(&["t"])).last_event_id(Some(start)))
        .await
        .unwrap();
    assert_eq!(resumed.resume, Resume::Exact);
    let mut resumed = resumed.stream;
    let mut most = 0;
    for (i, data) in history[1..].iter().enumerate() {
        most = most.max(resumed.queued());
        assert_eq!(&next_event(&mut resumed).await.data(), data, "event {i}");
    }
    assert!(!racing.is_finished(), "the publishes went on all along");
    let mut next = BACK;
    while next < BACK + RACING {
        most = most.max(resumed.queued());
        assert_eq!(
            numbers(&mut resumed, 1).await,
            [next],
            "no gap, no duplicate"
        );
        next += 1;
    }
    stop.store(true, Ordering::Release);
    let end = bounded("the racing publisher", racing).await.unwrap();
    while next < end {
        most = most.max(resumed.queued());
        assert_eq!(
            numbers(&mut resumed, 1).await,
            [next],
            "no gap, no duplicate"
        );
        next += 1;
    }
    let more = tokio::time::timeout(Duration::from_millis(200), resumed.next()).await;
    assert!(more.is_err(), "nothing after the last: {more:?}");
    // A page, or what the live fan-out queued (at most its capacity, 256
    // by default).
    assert!(most <= PAGE.max(256), "{most} frames held at once");
}

/// Publishes a marker to `t` and returns its ID, read back.
async fn marker(node: &Redis) -> EventId {
    let mut sub = subscribe(node, &["t"]).await;
    node.publish(Message::new().data("start"), &topics(&["t"]))
        .await
        .unwrap();
    next_event(&mut sub).await.last_event_id().clone()
}

/// Publishes the numbers `ns` to `t`, a few hundred at a time in flight
/// (so in an order of Redis's: see [`stored`]).
async fn publish_all(node: &Redis, ns: std::ops::Range<usize>) {
    let ns: Vec<usize> = ns.collect();
    let t = topics(&["t"]);
    for chunk in ns.chunks(250) {
        let publishes = chunk
            .iter()
            .map(|n| node.publish(Message::new().data(n.to_string()), &t));
        for published in join_all(publishes).await {
            published.unwrap();
        }
    }
}

/// The data of every entry of the stream `key`, in its order.
async fn stored(server: &RedisServer, key: &str) -> Vec<String> {
    let mut admin = admin(server).await;
    let mut out = Vec::new();
    let mut after = "-".to_owned();
    loop {
        // Read in parts, each well within the connection's response
        // timeout.
        let entries: Vec<(String, Vec<(String, String)>)> =
            admin.xrange_count(key, &after, "+", 5000).await.unwrap();
        let Some((last, _)) = entries.last() else {
            return out;
        };
        after = format!("({last}");
        out.extend(entries.into_iter().map(|(_, fields)| {
            fields
                .into_iter()
                .find(|(name, _)| name == "data")
                .map(|(_, data)| data)
                .unwrap()
        }));
    }
}
