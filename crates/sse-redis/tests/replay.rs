//! Replays from a real redis-server: read in pages, and bounded by
//! `max_replay`.

mod common;

use common::{admin, command_calls, next_event, reset_command_calls, subscribe, topics};
use sse_codec::{EventId, Message, Provider, Subscription};
use sse_redis::{Redis, Retention};
use sse_testkit::RedisServer;

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
/// live. From the earliest likewise, backwards.
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
    assert_eq!(resumed.resume, sse_codec::Resume::Exact);
    let mut resumed = resumed.stream;
    let expected: Vec<usize> = (from + 1..N).filter(|i| i % 2 == 0).collect();
    assert_eq!(numbers(&mut resumed, expected.len()).await, expected);

    let earliest = node
        .subscribe(Subscription::new(topics(&["b"])).from_earliest())
        .await
        .unwrap();
    assert_eq!(earliest.resume, sse_codec::Resume::Earliest);
    let mut earliest = earliest.stream;
    let expected: Vec<usize> = (0..N).filter(|i| i % 2 == 1).collect();
    assert_eq!(numbers(&mut earliest, expected.len()).await, expected);

    let calls = command_calls(&mut admin).await;
    // 1,690 entries after the resume ID in pages of 500 (each starting at
    // the one before's last); 1,700 backwards, the first page taking 501.
    assert_eq!(calls.get("xrange"), Some(&4), "{calls:?}");
    assert_eq!(calls.get("xrevrange"), Some(&4), "{calls:?}");

    node.publish(Message::new().data(N.to_string()), &topics(&["a", "b"]))
        .await
        .unwrap();
    assert_eq!(numbers(&mut resumed, 1).await, [N]);
    assert_eq!(numbers(&mut earliest, 1).await, [N]);
}

/// One replay reads at most `max_replay` entries: a resume from further
/// back is lost; from the earliest, the newest that many are replayed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_holds_at_most_max_replay_entries() {
    let server = RedisServer::start();
    let node = Redis::builder(server.url())
        .key("bounded")
        .retention(Retention::All)
        .max_replay(100)
        .build()
        .await
        .unwrap();
    let ids = numbered(&node, 150).await;
    let resume = |from: usize| {
        let node = node.clone();
        let id = ids[from].clone();
        async move {
            node.subscribe(Subscription::new(topics(&["a", "b"])).last_event_id(Some(id)))
                .await
                .unwrap()
        }
    };
    // 100 entries after the 50th: exact.
    let exact = resume(49).await;
    assert_eq!(exact.resume, sse_codec::Resume::Exact);
    let mut exact = exact.stream;
    assert_eq!(
        numbers(&mut exact, 100).await,
        (50..150).collect::<Vec<_>>()
    );
    // 101 after the 49th: lost, nothing replayed.
    let lost = resume(48).await;
    assert_eq!(lost.resume, sse_codec::Resume::Lost);
    assert_eq!(lost.stream.queued(), 0);

    let earliest = node
        .subscribe(Subscription::new(topics(&["a", "b"])).from_earliest())
        .await
        .unwrap();
    assert_eq!(earliest.resume, sse_codec::Resume::Earliest);
    let mut earliest = earliest.stream;
    assert_eq!(
        numbers(&mut earliest, 100).await,
        (50..150).collect::<Vec<_>>()
    );
}
