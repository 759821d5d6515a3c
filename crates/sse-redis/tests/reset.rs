//! The stream reset under the readers' feet (flushed, deleted, Redis
//! restarted empty, recreated with IDs below the old ones as a clock that
//! went back makes them) while subscribers read and a publisher publishes:
//! no event is skipped without a signal. Every subscriber reads a gap-free,
//! duplicate-free run of the published numbers until its stream ends with
//! [`Error::Reset`] (or [`Error::Unavailable`] when Redis itself went
//! away); then a resume with its last ID is `Resume::Lost`, and it reads a
//! gap-free run again. Every event it gets is the entry the stream held
//! under that ID, compared with the stream as read directly. A restart of
//! Redis with persistence, or the epoch key deleted alone, is no reset.

mod common;

use common::{admin, provider, subscribe};
use futures_util::StreamExt;
use redis::AsyncCommands;
use sse_codec::{Message, Parser, Provider, Resume, Subscription, Topic};
use sse_redis::{Error, Redis, Retention};
use sse_testkit::{BOUND, RedisServer, bounded};
use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

const KEY: &str = "reset";
const EPOCH_KEY: &str = "reset:epoch";
/// Subscribers, half on each of two providers (two processes).
const SUBSCRIBERS: usize = 4;
/// Each subscriber reads until it gets this number or a later one.
const TOTAL: u64 = 600;
/// A reset before every this many numbers (the first number of each run
/// is published right after a reset).
const EVERY: u64 = 50;
/// Entries a "clock behind" writes below the old last ID.
const BEHIND: u64 = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reset {
    /// `FLUSHALL`.
    Flush,
    /// `DEL` of the stream's key.
    Delete,
    /// redis-server killed and started again, empty.
    Restart,
    /// Flushed and written again at once by another program with a plain
    /// `XADD` and IDs below the old last one, as after a restart on a host
    /// whose clock is behind.
    ClockBehind,
    /// redis-server killed and started again with its data: no reset.
    RestartKeepingData,
}

/// What the stream held under each event ID (`<entry>:<epoch>`), read
/// directly: the ground truth the subscribers' events are checked against.
#[derive(Default)]
struct Truth(HashMap<String, u64>);

type Entries = Vec<(String, Vec<(String, String)>)>;

impl Truth {
    /// Adds entries the stream held, with the epoch they are served under
    /// (their own, or the stream's for a plain entry); returns the last
    /// one's ID.
    fn add(&mut self, epoch: Option<String>, entries: Entries) -> Option<(u64, u64)> {
        let mut last = None;
        for (id, fields) in entries {
            let field = |name: &str| {
                fields
                    .iter()
                    .rev()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            let epoch = field("epoch").or_else(|| epoch.clone()).unwrap_or_default();
            let n = field("data").unwrap().parse().unwrap();
            let (ms, seq) = id.split_once('-').unwrap();
            last = Some((ms.parse().unwrap(), seq.parse().unwrap()));
            self.0.insert(format!("{id}:{epoch}"), n);
        }
        last
    }
}

async fn publish(node: &Redis, n: u64) {
    // Publishes fail while Redis restarts; nothing else fails here.
    bounded("a publish succeeds", async {
        loop {
            let message = Message::new().data(n.to_string());
            match node.publish(message, &[Topic::from("t")]).await {
                Ok(()) => return,
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    })
    .await;
}

/// Resets the stream as `reset` says, reading what it held in the same
/// transaction; returns the next number to publish.
async fn reset(
    reset: Reset,
    server: &mut RedisServer,
    conn: &mut redis::aio::MultiplexedConnection,
    truth: &mut Truth,
    n: u64,
) -> u64 {
    let mut pipe = redis::pipe();
    pipe.atomic().get(EPOCH_KEY).xrange_all(KEY);
    match reset {
        Reset::Flush | Reset::ClockBehind => {
            pipe.cmd("FLUSHALL").ignore();
        }
        Reset::Delete => {
            pipe.del(KEY).ignore();
        }
        Reset::Restart | Reset::RestartKeepingData => {}
    }
    let (epoch, entries): (Option<String>, Entries) = pipe.query_async(conn).await.unwrap();
    let last = truth.add(epoch, entries);
    match reset {
        Reset::Flush | Reset::Delete => n,
        Reset::Restart | Reset::RestartKeepingData => {
            tokio::task::block_in_place(|| server.restart());
            *conn = admin(server).await;
            n
        }
        Reset::ClockBehind => {
            let (ms, _) = last.expect("entries before the reset");
            let mut pipe = redis::pipe();
            for i in 0..BEHIND {
                pipe.cmd("XADD")
                    .arg(KEY)
                    .arg(format!("{}-{}", ms - 1000, i + 1))
                    .arg("topic")
                    .arg("t")
                    .arg("data")
                    .arg((n + i).to_string())
                    .ignore();
            }
            let () = pipe.query_async(conn).await.unwrap();
            n + BEHIND
        }
    }
}

#[derive(Debug)]
enum Item {
    Event { id: String, n: u64 },
    Ended(Error),
    Resumed(Resume),
}

fn event(frame: &sse_codec::Encoded) -> (String, u64) {
    let mut parser = Parser::new();
    parser.feed(frame.as_bytes().clone());
    let event = parser.next_event().unwrap().unwrap();
    (
        event.last_event_id().as_str().to_owned(),
        event.data().parse().unwrap(),
    )
}

/// Reads until `TOTAL`, resuming with its last ID whenever its stream ends
/// with an error; logs what it got.
async fn subscriber(
    node: Redis,
    mut stream: sse_redis::Subscriber,
    done: Arc<AtomicUsize>,
) -> Vec<Item> {
    let mut log = Vec::new();
    let mut last = None;
    loop {
        match bounded("the next event", stream.next()).await {
            Some(Ok(frame)) => {
                let (id, n) = event(&frame);
                last = Some(id.clone());
                log.push(Item::Event { id, n });
                if n >= TOTAL {
                    done.fetch_add(1, Ordering::AcqRel);
                    return log;
                }
            }
            Some(Err(error)) => {
                log.push(Item::Ended(error));
                let id =
                    sse_codec::EventId::try_from(last.clone().expect("an event before the end"))
                        .unwrap();
                // Subscribing fails while this process cannot read Redis.
                let subscribed = bounded("a resume", async {
                    loop {
                        let subscription =
                            Subscription::new([Topic::from("t")]).last_event_id(Some(id.clone()));
                        match node.subscribe(subscription).await {
                            Ok(subscribed) => return subscribed,
                            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                        }
                    }
                })
                .await;
                log.push(Item::Resumed(subscribed.resume));
                stream = subscribed.stream;
            }
            None => panic!("the stream ended without an error: {log:?}"),
        }
    }
}

/// Whether a stream may end with `error` after `reset`.
fn signals(reset: Reset, error: &Error) -> bool {
    match (error, reset) {
        (Error::Reset, Reset::RestartKeepingData) => false,
        (Error::Reset, _) => true,
        // The reader lost Redis (before it could see the new stream).
        (Error::Unavailable(_), Reset::Restart | Reset::RestartKeepingData) => true,
        _ => false,
    }
}

async fn reset_while_publishing(kind: Reset) {
    let mut server = if kind == Reset::RestartKeepingData {
        RedisServer::start_persistent()
    } else {
        RedisServer::start()
    };
    // What a resume after an end must be: with the data kept, the history
    // is all there.
    let resumed = if kind == Reset::RestartKeepingData {
        Resume::Exact
    } else {
        Resume::Lost
    };
    let node = || async {
        Redis::builder(server.url())
            .key(KEY)
            .retention(Retention::All)
            // Lagging is not the subject: subscribers may fall far behind
            // on a busy machine.
            .capacity(100_000)
            .build()
            .await
            .unwrap()
    };
    let nodes = [node().await, node().await];
    let first_epoch = nodes[0].epoch();
    let done = Arc::new(AtomicUsize::new(0));
    let mut subscribers = Vec::new();
    for i in 0..SUBSCRIBERS {
        let node = nodes[i % 2].clone();
        let stream = subscribe(&node, &["t"]).await;
        subscribers.push(tokio::spawn(subscriber(node, stream, Arc::clone(&done))));
    }

    let mut truth = Truth::default();
    let mut conn = admin(&server).await;
    let started = Instant::now();
    let mut n = 0;
    while n <= TOTAL || done.load(Ordering::Acquire) < SUBSCRIBERS {
        assert!(
            started.elapsed() < 3 * BOUND,
            "the subscribers did not finish"
        );
        let node = &nodes[(n % 2) as usize];
        if n > 0 && n < TOTAL && n % EVERY == 0 {
            if let Reset::Flush | Reset::Delete = kind {
                // With the next publish in flight, as a reset at any moment
                // under a steady flow of publishes is: Redis runs it just
                // before or just after, often in the same millisecond.
                let reset = reset(kind, &mut server, &mut conn, &mut truth, n);
                tokio::join!(reset, publish(node, n));
                n += 1;
                continue;
            }
            n = reset(kind, &mut server, &mut conn, &mut truth, n).await;
        }
        publish(&nodes[(n % 2) as usize], n).await;
        n += 1;
        if n > TOTAL {
            // Those that resumed late wait for one more.
            tokio::task::yield_now().await;
        }
    }
    let (epoch, entries): (Option<String>, Entries) = redis::pipe()
        .atomic()
        .get(EPOCH_KEY)
        .xrange_all(KEY)
        .query_async(&mut conn)
        .await
        .unwrap();
    truth.add(epoch, entries);

    for (s, subscriber) in subscribers.into_iter().enumerate() {
        let log = subscriber.await.unwrap();
        let mut previous: Option<u64> = None;
        let mut ended = false;
        for item in &log {
            match item {
                Item::Event { id, n } => {
                    assert!(!ended, "subscriber {s}: an event after the end: {log:?}");
                    if let Some(p) = previous {
                        assert_eq!(
                            *n,
                            p + 1,
                            "subscriber {s}: no gap, no duplicate after {p} ({kind:?}): {log:?}"
                        );
                    }
                    assert_eq!(
                        truth.0.get(id),
                        Some(n),
                        "subscriber {s}: {id} is the entry the stream held ({kind:?})"
                    );
                    previous = Some(*n);
                }
                Item::Ended(error) => {
                    assert!(
                        signals(kind, error),
                        "subscriber {s}: ended with {error:?} ({kind:?})"
                    );
                    ended = true;
                }
                Item::Resumed(resume) => {
                    assert!(ended, "subscriber {s}: resumed without an end");
                    assert_eq!(
                        *resume, resumed,
                        "subscriber {s}: resumed after the end ({kind:?})"
                    );
                    ended = false;
                    if *resume == Resume::Lost {
                        previous = None;
                    }
                }
            }
        }
        let ends = log
            .iter()
            .filter(|item| matches!(item, Item::Ended(_)))
            .count();
        assert!(
            ends >= 1,
            "subscriber {s}: the resets were signalled ({kind:?}): {log:?}"
        );
    }
    for node in &nodes {
        assert_eq!(
            node.epoch() == first_epoch,
            kind == Reset::RestartKeepingData,
            "a new instance has a new epoch ({kind:?})"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flush_is_signalled() {
    reset_while_publishing(Reset::Flush).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_stream_is_signalled() {
    reset_while_publishing(Reset::Delete).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_without_persistence_is_signalled() {
    reset_while_publishing(Reset::Restart).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_recreated_below_the_old_ids_is_signalled() {
    reset_while_publishing(Reset::ClockBehind).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_persistence_keeps_the_history() {
    reset_while_publishing(Reset::RestartKeepingData).await;
}

/// The epoch key deleted alone (the stream kept) names the same instance
/// again, from the stream's last entry: nothing ends, nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_epoch_key_alone_is_no_reset() {
    let server = RedisServer::start();
    let node = provider(&server.url(), KEY).await;
    let epoch = node.epoch();
    let mut stream = subscribe(&node, &["t"]).await;
    let mut conn = admin(&server).await;
    for n in 0..20 {
        if n == 10 {
            let () = redis::cmd("DEL")
                .arg(EPOCH_KEY)
                .query_async(&mut conn)
                .await
                .unwrap();
        }
        node.publish(Message::new().data(n.to_string()), &[Topic::from("t")])
            .await
            .unwrap();
    }
    for n in 0..20 {
        let (id, got) = event(&bounded("an event", stream.next()).await.unwrap().unwrap());
        assert_eq!((got, id.split_once(':').unwrap().1), (n, epoch.as_str()));
    }
    let stored: String = redis::cmd("GET")
        .arg(EPOCH_KEY)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(stored, epoch);
    assert_eq!(node.epoch(), epoch);
}

/// With nothing published after a flush, the reader still notices it at
/// its next read: live streams end, and resumes are lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flush_with_nothing_after_it_is_signalled() {
    let server = RedisServer::start();
    let node = provider(&server.url(), KEY).await;
    let mut stream = subscribe(&node, &["t"]).await;
    node.publish(Message::new().data("0"), &[Topic::from("t")])
        .await
        .unwrap();
    let (id, _) = event(&bounded("the event", stream.next()).await.unwrap().unwrap());
    let mut conn = admin(&server).await;
    let () = redis::cmd("FLUSHALL").query_async(&mut conn).await.unwrap();
    let flushed = Instant::now();
    let end = bounded("the stream ends", stream.next()).await;
    eprintln!("reset noticed after {:?}", flushed.elapsed());
    assert!(matches!(end, Some(Err(Error::Reset))), "{end:?}");
    let (_, old) = id.split_once(':').unwrap();
    assert_ne!(node.epoch(), old, "the new stream has a new epoch");
    let resumed = node
        .subscribe(
            Subscription::new([Topic::from("t")])
                .last_event_id(Some(sse_codec::EventId::try_from(id.clone()).unwrap())),
        )
        .await
        .unwrap();
    assert_eq!(resumed.resume, Resume::Lost);
    // Then live, on the new stream.
    let mut stream = resumed.stream;
    node.publish(Message::new().data("1"), &[Topic::from("t")])
        .await
        .unwrap();
    let (id, n) = event(&bounded("an event", stream.next()).await.unwrap().unwrap());
    assert_eq!(
        (n, id.split_once(':').unwrap().1),
        (1, node.epoch().as_str())
    );
}

/// Entries added after the last one a reader read and trimmed before it
/// could read them (it fell further behind than the retention) are not
/// skipped silently either: live streams end with `Error::Trimmed`, and a
/// resume from before them is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_trimmed_before_they_were_read_are_signalled() {
    let server = RedisServer::start();
    let node = Redis::builder(server.url())
        .key(KEY)
        .retention(Retention::All)
        .build()
        .await
        .unwrap();
    let mut stream = subscribe(&node, &["t"]).await;
    node.publish(Message::new().data("0"), &[Topic::from("t")])
        .await
        .unwrap();
    let (id, _) = event(&bounded("the event", stream.next()).await.unwrap().unwrap());
    let (entry, _) = id.split_once(':').unwrap();
    let ms: u64 = entry.split_once('-').unwrap().0.parse().unwrap();
    // Three entries after it, the first two trimmed at once, in one
    // transaction, so that the reader cannot read them in between: what a
    // reader more than the retention behind meets.
    let mut conn = admin(&server).await;
    let mut pipe = redis::pipe();
    pipe.atomic();
    for n in 1..=3 {
        pipe.cmd("XADD")
            .arg(KEY)
            .arg(format!("{}-{n}", ms + 1))
            .arg("topic")
            .arg("t")
            .arg("data")
            .arg(n.to_string())
            .ignore();
    }
    pipe.cmd("XTRIM")
        .arg(KEY)
        .arg("MINID")
        .arg(format!("{}-3", ms + 1))
        .ignore();
    let () = pipe.query_async(&mut conn).await.unwrap();
    let next = bounded("the stream goes on or ends", stream.next()).await;
    assert!(matches!(next, Some(Err(Error::Trimmed))), "{next:?}");
    let resumed = node
        .subscribe(
            Subscription::new([Topic::from("t")])
                .last_event_id(Some(sse_codec::EventId::try_from(id).unwrap())),
        )
        .await
        .unwrap();
    assert_eq!(resumed.resume, Resume::Lost);
    // Then live.
    let mut stream = resumed.stream;
    node.publish(Message::new().data("4"), &[Topic::from("t")])
        .await
        .unwrap();
    let (_, n) = event(&bounded("an event", stream.next()).await.unwrap().unwrap());
    assert_eq!(n, 4);
}

/// Trimming only what was read, as a retention does, ends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trimming_what_was_read_ends_nothing() {
    let server = RedisServer::start();
    let node = Redis::builder(server.url())
        .key(KEY)
        .retention(Retention::All)
        .build()
        .await
        .unwrap();
    let mut stream = subscribe(&node, &["t"]).await;
    let mut conn = admin(&server).await;
    for round in 0..3u64 {
        for i in 0..5 {
            let n = round * 10 + i;
            node.publish(Message::new().data(n.to_string()), &[Topic::from("t")])
                .await
                .unwrap();
            let next = bounded("an event", stream.next()).await;
            let Some(Ok(frame)) = next else {
                panic!("the stream ended before {n}: {next:?}")
            };
            assert_eq!(event(&frame).1, n);
        }
        // Everything read so far trimmed, as a retention would.
        let _: u64 = conn
            .xtrim(KEY, redis::streams::StreamMaxlen::Equals(0))
            .await
            .unwrap();
    }
}
