//! Tests of Joe as a whole: fan-out, replay races, slow subscribers,
//! panics, shutdown.

use crate::{Error, FiniteReplayer, Joe, Provider, Replayer, Subscriber};
use futures_util::{FutureExt, StreamExt};
use sse_codec::{Encoded, EventId, Message, Resume, Subscription, Topic};
use std::time::Duration;

fn topic(name: &str) -> Topic {
    Topic::from(name)
}

fn text(frame: &Encoded) -> String {
    String::from_utf8(frame.as_bytes().to_vec()).unwrap()
}

async fn subscribe(joe: &Joe, topics: &[&str]) -> Subscriber {
    joe.subscribe(Subscription::new(topics.iter().map(|t| topic(t))))
        .await
        .unwrap()
        .stream
}

/// Reads what is queued now, without waiting.
fn drain_ready(stream: &mut Subscriber) -> Vec<Result<String, Error>> {
    let mut out = Vec::new();
    while let Some(Some(item)) = stream.next().now_or_never_ready() {
        let end = item.is_err();
        out.push(item.map(|f| text(&f)));
        if end {
            break;
        }
    }
    out
}

trait NowOrNever: futures_util::Future + Sized {
    fn now_or_never_ready(self) -> Option<Self::Output> {
        futures_util::FutureExt::now_or_never(self)
    }
}
impl<F: futures_util::Future> NowOrNever for F {}

#[tokio::test]
async fn publish_reaches_subscribers_of_its_topics() {
    let joe = Joe::new();
    let mut a = subscribe(&joe, &["a"]).await;
    let mut b = subscribe(&joe, &["b"]).await;
    joe.publish(Message::new().data("x"), &[topic("a")])
        .await
        .unwrap();
    assert_eq!(text(&a.next().await.unwrap().unwrap()), "data: x\n\n");
    assert!(drain_ready(&mut b).is_empty());
}

#[tokio::test]
async fn shutdown_delivers_queued_then_ends_and_refuses_calls() {
    let joe = Joe::new();
    let mut sub = subscribe(&joe, &[""]).await;
    for i in 0..3 {
        joe.publish(Message::new().data(i.to_string()), &[Topic::DEFAULT])
            .await
            .unwrap();
    }
    joe.shutdown().await;
    joe.shutdown().await; // twice is harmless
    assert!(joe.is_closed());
    let got: Vec<_> = sub.by_ref().map(|f| text(&f.unwrap())).collect().await;
    assert_eq!(got, ["data: 0\n\n", "data: 1\n\n", "data: 2\n\n"]);
    assert!(sub.next().await.is_none());
    let err = joe
        .publish(Message::new().data("late"), &[Topic::DEFAULT])
        .await;
    assert!(matches!(err, Err(Error::Shutdown)));
    let err = joe.subscribe(Subscription::new([Topic::DEFAULT])).await;
    assert!(matches!(err, Err(Error::Shutdown)));
    // An ended stream is open until it is dropped.
    assert_eq!((joe.subscriber_count(), joe.stats().receiving), (1, 0));
    drop(sub);
    assert_eq!(joe.subscriber_count(), 0);
}

#[tokio::test]
async fn dropping_the_stream_unsubscribes() {
    let joe = Joe::new();
    let a = subscribe(&joe, &["a", "b"]).await;
    let b = subscribe(&joe, &["a"]).await;
    assert_eq!(joe.subscriber_count(), 2);
    drop(a);
    assert_eq!(joe.subscriber_count(), 1);
    drop(b);
    assert_eq!(joe.subscriber_count(), 0);
    joe.publish(Message::new().data("x"), &[topic("a")])
        .await
        .unwrap();
}

#[tokio::test]
async fn a_subscriber_of_several_matching_topics_gets_a_message_once() {
    let joe = Joe::new();
    let mut both = subscribe(&joe, &["a", "b", "a"]).await;
    let mut a = subscribe(&joe, &["a"]).await;
    let mut c = subscribe(&joe, &["c"]).await;
    joe.publish(
        Message::new().data("x"),
        &[topic("a"), topic("b"), topic("a")],
    )
    .await
    .unwrap();
    joe.publish(Message::new().data("y"), &[topic("b")])
        .await
        .unwrap();
    let ok = |items: &[&str]| items.iter().map(|s| Ok(s.to_string())).collect::<Vec<_>>();
    assert_eq!(
        drain_ready(&mut both)
            .into_iter()
            .map(|r| r.map_err(|e| e.to_string()))
            .collect::<Vec<_>>(),
        ok(&["data: x\n\n", "data: y\n\n"])
    );
    assert_eq!(
        drain_ready(&mut a)
            .into_iter()
            .map(|r| r.map_err(|e| e.to_string()))
            .collect::<Vec<_>>(),
        ok(&["data: x\n\n"])
    );
    assert!(drain_ready(&mut c).is_empty());
}

#[tokio::test]
async fn reads_come_in_batches_in_publish_order_across_topics() {
    // More than a batch (64 frames) waits, spread over topics in an order
    // that no one log gives: the subscriber of several topics still gets
    // each message once, in publish order, batch after batch.
    let joe = Joe::builder().capacity(1000).build();
    let mut several = subscribe(&joe, &["a", "b", "c"]).await;
    let mut one = subscribe(&joe, &["a"]).await;
    let mut expected = Vec::new();
    let mut expected_a = Vec::new();
    for n in 0..300 {
        let topics: &[Topic] = match n % 4 {
            0 => &[topic("a")],
            1 => &[topic("b"), topic("a")],
            2 => &[topic("c")],
            _ => &[topic("c"), topic("b")],
        };
        joe.publish(Message::new().data(n.to_string()), topics)
            .await
            .unwrap();
        let frame = format!("data: {n}\n\n");
        if n % 4 < 2 {
            expected_a.push(Ok(frame.clone()));
        }
        expected.push(Ok(frame));
    }
    let got = |items: Vec<Result<String, Error>>| {
        items
            .into_iter()
            .map(|r| r.map_err(|e| e.to_string()))
            .collect::<Vec<_>>()
    };
    // One batch in hand, the rest still in the logs: a stalled reader holds
    // at most a batch of its own.
    assert!(several.next().await.is_some());
    assert_eq!(several.queued(), 299);
    assert_eq!(
        joe.stats().deepest_queue,
        299 - 63,
        "the subscriber took one batch of 64 and yielded one"
    );
    let mut rest = got(drain_ready(&mut several));
    rest.insert(0, expected[0].clone());
    assert_eq!(rest, expected);
    assert_eq!(got(drain_ready(&mut one)), expected_a);
}

/// A batch across topics is at most 64 frames, wherever the logs' segment
/// boundaries fall: one message on b after 200 on a does not make the
/// subscriber take all 200 at once.
#[tokio::test]
async fn a_batch_across_topics_is_bounded_when_one_log_runs_ahead() {
    let joe = Joe::builder().capacity(1000).build();
    let mut ab = subscribe(&joe, &["a", "b"]).await;
    for n in 0..200 {
        joe.publish(Message::new().data(n.to_string()), &[topic("a")])
            .await
            .unwrap();
    }
    joe.publish(Message::new().data("b"), &[topic("b")])
        .await
        .unwrap();
    assert_eq!(text(&ab.next().await.unwrap().unwrap()), "data: 0\n\n");
    assert_eq!(ab.queued(), 200);
    assert_eq!(
        joe.stats().deepest_queue,
        200 - 63,
        "one batch of 64 taken, one of them yielded"
    );
    let rest: Vec<_> = drain_ready(&mut ab)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rest.len(), 200);
    assert_eq!(rest.last().unwrap(), "data: b\n\n");
}

#[tokio::test]
async fn every_subscriber_gets_the_same_frame() {
    let joe = Joe::new();
    let mut subs = Vec::new();
    for _ in 0..3 {
        subs.push(subscribe(&joe, &[""]).await);
    }
    joe.publish(Message::new().data("x"), &[Topic::DEFAULT])
        .await
        .unwrap();
    let mut frames = Vec::new();
    for sub in &mut subs {
        frames.push(sub.next().await.unwrap().unwrap().into_bytes());
    }
    // One encoding shared by all: the same buffer, not equal copies.
    assert!(frames.windows(2).all(|w| w[0].as_ptr() == w[1].as_ptr()));
}

#[tokio::test]
async fn removing_subscribers_keeps_the_topic_index_consistent() {
    let joe = Joe::new();
    let mut subs = Vec::new();
    for i in 0..10 {
        let topics: &[&str] = if i % 2 == 0 { &["a", "b"] } else { &["b", "a"] };
        subs.push(Some(subscribe(&joe, topics).await));
    }
    // Drop from the middle, the front and the back, in a mixed order.
    for i in [4, 0, 9, 5, 1] {
        subs[i] = None;
    }
    assert_eq!(joe.subscriber_count(), 5);
    // A new subscriber reuses a freed slot.
    subs.push(Some(subscribe(&joe, &["a"]).await));
    joe.publish(Message::new().data("x"), &[topic("a"), topic("b")])
        .await
        .unwrap();
    for sub in subs.iter_mut().flatten() {
        let got = drain_ready(sub);
        assert_eq!(got.len(), 1, "subscriber {}", sub.id());
    }
    subs.clear();
    assert_eq!(joe.subscriber_count(), 0);
}

#[tokio::test]
async fn empty_topic_list_receives_nothing() {
    let joe = Joe::new();
    let mut sub = subscribe(&joe, &[]).await;
    assert_eq!(joe.subscriber_count(), 1);
    joe.publish(Message::new().data("x"), &[Topic::DEFAULT])
        .await
        .unwrap();
    assert!(drain_ready(&mut sub).is_empty());
}

#[tokio::test]
async fn resume_status_without_with_and_unknown_id() {
    let joe = Joe::builder()
        .replayer(FiniteReplayer::new(10).auto_ids_from(1))
        .build();
    for data in ["a", "b"] {
        joe.publish(Message::new().data(data), &[Topic::DEFAULT])
            .await
            .unwrap();
    }
    let sub = |id: Option<&'static str>| {
        Subscription::new([Topic::DEFAULT]).last_event_id(id.map(EventId::from_static))
    };
    let fresh = joe.subscribe(sub(None)).await.unwrap();
    assert_eq!(fresh.resume, Resume::Fresh);
    assert_eq!(fresh.stream.queued(), 0);
    let mut exact = joe.subscribe(sub(Some("1"))).await.unwrap();
    assert_eq!(exact.resume, Resume::Exact);
    let got: Vec<_> = drain_ready(&mut exact.stream)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got, ["id: 2\ndata: b\n\n"]);
    let newest = joe.subscribe(sub(Some("2"))).await.unwrap();
    assert_eq!(newest.resume, Resume::Exact);
    assert_eq!(newest.stream.queued(), 0);
    let lost = joe.subscribe(sub(Some("99"))).await.unwrap();
    assert_eq!(lost.resume, Resume::Lost);
    assert_eq!(lost.stream.queued(), 0);

    // Without a replayer every resume is lost.
    let joe = Joe::new();
    assert_eq!(
        joe.subscribe(sub(Some("1"))).await.unwrap().resume,
        Resume::Lost
    );
    assert_eq!(
        joe.subscribe(sub(None)).await.unwrap().resume,
        Resume::Fresh
    );
}

#[tokio::test]
async fn replay_larger_than_the_queue_capacity_is_delivered() {
    let joe = Joe::builder()
        .capacity(2)
        .replayer(FiniteReplayer::new(100).auto_ids_from(1))
        .build();
    for i in 0..10 {
        joe.publish(Message::new().data(i.to_string()), &[Topic::DEFAULT])
            .await
            .unwrap();
    }
    let mut sub = joe
        .subscribe(
            Subscription::new([Topic::DEFAULT]).last_event_id(Some(EventId::from_static("1"))),
        )
        .await
        .unwrap()
        .stream;
    // The replay does not count against the live capacity...
    joe.publish(Message::new().data("live"), &[Topic::DEFAULT])
        .await
        .unwrap();
    let got = drain_ready(&mut sub);
    assert_eq!(got.len(), 10);
    assert!(got.iter().all(Result::is_ok));
    assert_eq!(got[9].as_ref().unwrap(), "id: 11\ndata: live\n\n");
}

#[tokio::test]
async fn explicit_id_with_auto_ids_fails_and_delivers_nothing() {
    let joe = Joe::builder()
        .replayer(FiniteReplayer::new(10).auto_ids_from(1))
        .build();
    let mut sub = subscribe(&joe, &[""]).await;
    let err = joe
        .publish(
            Message::new().id(EventId::from_static("7")).data("x"),
            &[Topic::DEFAULT],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ExplicitId));
    assert!(drain_ready(&mut sub).is_empty());
    joe.publish(Message::new().data("y"), &[Topic::DEFAULT])
        .await
        .unwrap();
    assert_eq!(
        drain_ready(&mut sub)[0].as_ref().unwrap(),
        "id: 1\ndata: y\n\n"
    );
}

/// One subscriber never polls. Publishing never waits (each publish
/// completes on its first poll), the others receive everything, and the
/// stalled one is ended: what was queued for it is freed at once, and its
/// next item is the lag error.
#[tokio::test]
async fn a_stalled_subscriber_is_ended_and_holds_nobody_back() {
    const CAPACITY: usize = 8;
    let joe = Joe::builder().capacity(CAPACITY).build();
    let mut stalled = subscribe(&joe, &[""]).await;
    let mut fast: Vec<_> = Vec::new();
    for _ in 0..3 {
        fast.push(subscribe(&joe, &[""]).await);
    }
    let mut received = vec![Vec::new(); fast.len()];
    let topics = [Topic::DEFAULT];
    for i in 0..100 {
        let publish = joe.publish(Message::new().data(i.to_string()), &topics);
        let result = futures_util::FutureExt::now_or_never(publish).expect("publish never waits");
        result.unwrap();
        for (sub, got) in fast.iter_mut().zip(&mut received) {
            got.extend(drain_ready(sub).into_iter().map(Result::unwrap));
        }
        let expected = if i < CAPACITY { 4 } else { 3 };
        assert_eq!(joe.stats().receiving, expected, "after publish {i}");
        assert_eq!(
            joe.subscriber_count(),
            4,
            "the stalled stream is still open"
        );
    }
    let all: Vec<String> = (0..100).map(|i| format!("data: {i}\n\n")).collect();
    for got in &received {
        assert_eq!(got, &all);
    }
    assert_eq!(stalled.queued(), 0, "a lagged subscriber holds no frames");
    let stats = joe.stats();
    assert_eq!(
        (stats.lagged, stats.queued_frames, stats.queued_bytes),
        (1, 0, 0)
    );
    // The stalled one: the reason at once, then the end.
    assert!(matches!(
        stalled.next().await,
        Some(Err(Error::Lagged {
            capacity: CAPACITY,
            ..
        }))
    ));
    assert!(stalled.next().await.is_none());
    drop(stalled);
    assert_eq!(joe.subscriber_count(), 3);
}

/// The byte limit ends a subscriber before the frame count does; an empty
/// queue takes one frame however large, so big events still flow to a
/// subscriber that keeps up.
#[tokio::test]
async fn the_byte_limit_bounds_a_queue_but_one_frame_always_fits() {
    let joe = Joe::builder().capacity(1000).max_queued_bytes(100).build();
    let mut reader = subscribe(&joe, &[""]).await;
    let mut stalled = subscribe(&joe, &[""]).await;
    let big = "x".repeat(500);
    joe.publish(Message::new().data(big.as_str()), &[Topic::DEFAULT])
        .await
        .unwrap();
    assert_eq!(drain_ready(&mut reader).len(), 1);
    assert_eq!(stalled.queued_bytes(), 508);
    joe.publish(Message::new().data("y"), &[Topic::DEFAULT])
        .await
        .unwrap();
    assert_eq!(stalled.queued_bytes(), 0);
    assert_eq!(drain_ready(&mut reader).len(), 1);
    assert!(matches!(
        drain_ready(&mut stalled).as_slice(),
        [Err(Error::Lagged { max_bytes: 100, .. })]
    ));
    // Frames of 10 bytes: ten fit in 100 bytes, the eleventh does not.
    for i in 0..40 {
        joe.publish(Message::new().data(format!("{i:02}")), &[Topic::DEFAULT])
            .await
            .unwrap();
        assert_eq!(drain_ready(&mut reader).len(), 1);
    }
    drop(reader);
    let mut slow = subscribe(&joe, &[""]).await;
    for i in 0..10 {
        joe.publish(Message::new().data(format!("{i:02}")), &[Topic::DEFAULT])
            .await
            .unwrap();
    }
    assert_eq!((slow.queued(), slow.queued_bytes()), (10, 100));
    joe.publish(Message::new().data("10"), &[Topic::DEFAULT])
        .await
        .unwrap();
    assert_eq!(slow.queued(), 0);
    assert_eq!(drain_ready(&mut slow).len(), 1, "only the lag error");
    assert_eq!(joe.stats().lagged, 2);
}

/// A resuming subscriber that never reads holds its replay only until it
/// lags: then the replay is freed with the live frames.
#[tokio::test]
async fn a_lagged_subscriber_frees_its_replay() {
    let joe = Joe::builder()
        .capacity(2)
        .replayer(FiniteReplayer::new(100).auto_ids_from(1))
        .build();
    for i in 0..50 {
        joe.publish(Message::new().data(i.to_string()), &[Topic::DEFAULT])
            .await
            .unwrap();
    }
    let stalled = joe
        .subscribe(
            Subscription::new([Topic::DEFAULT]).last_event_id(Some(EventId::from_static("1"))),
        )
        .await
        .unwrap()
        .stream;
    assert_eq!(stalled.queued(), 49);
    assert_eq!(joe.stats().queued_frames, 49);
    for _ in 0..3 {
        joe.publish(Message::new().data("live"), &[Topic::DEFAULT])
            .await
            .unwrap();
    }
    assert_eq!((stalled.queued(), stalled.queued_bytes()), (0, 0));
    let stats = joe.stats();
    assert_eq!(
        (stats.queued_frames, stats.lagged, stats.replays_exact),
        (0, 1, 1)
    );
}

#[tokio::test]
async fn prepended_frames_come_first_and_go_with_a_lag() {
    let joe = Joe::builder().capacity(2).build();
    let mut sub = subscribe(&joe, &[""]).await;
    joe.publish(Message::new().data("live"), &[Topic::DEFAULT])
        .await
        .unwrap();
    let replay = ["a", "b", "c"].map(|d| Message::new().data(d).to_encoded());
    assert!(sub.prepend(replay.clone()));
    assert_eq!(sub.queued(), 4);
    let got: Vec<_> = drain_ready(&mut sub)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        got,
        [
            "data: a\n\n",
            "data: b\n\n",
            "data: c\n\n",
            "data: live\n\n"
        ]
    );
    assert!(sub.prepend(replay.clone()));
    for _ in 0..3 {
        joe.publish(Message::new().data("x"), &[Topic::DEFAULT])
            .await
            .unwrap();
    }
    assert_eq!(
        sub.queued_bytes(),
        0,
        "a lag drops the prepended frames too"
    );
    assert!(!sub.prepend(replay), "nothing is queued after a lag");
    assert!(matches!(
        drain_ready(&mut sub).as_slice(),
        [Err(Error::Lagged { .. })]
    ));
}

#[tokio::test]
async fn stats_count_publishes_deliveries_and_replays() {
    let joe = Joe::builder()
        .replayer(FiniteReplayer::new(10).auto_ids_from(1))
        .build();
    let a = subscribe(&joe, &["a"]).await;
    let ab = subscribe(&joe, &["a", "b"]).await;
    joe.publish(Message::new().data("x"), &[topic("a"), topic("b")])
        .await
        .unwrap();
    joe.publish(Message::new().data("y"), &[topic("b")])
        .await
        .unwrap();
    let lost = joe
        .subscribe(Subscription::new([topic("a")]).last_event_id(Some(EventId::from_static("9"))))
        .await
        .unwrap();
    let stats = joe.stats();
    assert_eq!(stats.subscribers, 3);
    assert_eq!(stats.receiving, 3);
    assert_eq!(stats.published, 2);
    assert_eq!(stats.delivered, 0, "nothing was read yet");
    assert_eq!((stats.replays_exact, stats.replays_lost), (0, 1));
    // Topic a's log holds x, topic b's log x and y, each frame 15 bytes
    // ("id: 1\ndata: x\n\n"); ab has two messages to read, x once.
    assert_eq!((stats.queued_frames, stats.queued_bytes), (3, 45));
    assert_eq!(stats.deepest_queue, 2);
    assert_eq!((ab.queued(), ab.queued_bytes()), (2, 30));
    let (mut a, mut ab) = (a, ab);
    assert_eq!(drain_ready(&mut a).len(), 1);
    assert_eq!(drain_ready(&mut ab).len(), 2);
    let stats = joe.stats();
    assert_eq!(stats.delivered, 3);
    assert_eq!((stats.queued_frames, stats.queued_bytes), (0, 0));
    drop((a, ab, lost));
    assert_eq!(joe.stats().subscribers, 0);
}

/// Several tasks publish numbered messages while subscribers join, read a
/// while, and resume from the last ID they saw. Every subscriber must see
/// one run of consecutive IDs up to the last publish, each publisher's
/// numbers in order, with no gap and no duplicate across the resume.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn resume_races_publishes_without_gap_or_duplicate() {
    const PUBLISHERS: usize = 4;
    const EACH: usize = 250;
    const TOTAL: usize = PUBLISHERS * EACH;
    const SUBSCRIBERS: usize = 12;
    for round in 0..10 {
        let joe = Joe::builder()
            .capacity(TOTAL + 1)
            .replayer(FiniteReplayer::new(TOTAL).auto_ids_from(1))
            .build();
        let mut subscribers = Vec::new();
        for s in 0..SUBSCRIBERS {
            let joe = joe.clone();
            subscribers.push(tokio::spawn(async move { resuming_reader(joe, s).await }));
        }
        let mut publishers = Vec::new();
        for p in 0..PUBLISHERS {
            let joe = joe.clone();
            publishers.push(tokio::spawn(async move {
                for i in 0..EACH {
                    joe.publish(Message::new().data(format!("{p}:{i}")), &[Topic::DEFAULT])
                        .await
                        .unwrap();
                    if i % 8 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            }));
        }
        for publisher in publishers {
            publisher.await.unwrap();
        }
        joe.shutdown().await;
        for (s, subscriber) in subscribers.into_iter().enumerate() {
            let seen = subscriber.await.unwrap();
            check_run(&seen, TOTAL, EACH)
                .unwrap_or_else(|err| panic!("round {round}, subscriber {s}: {err}"));
        }
    }
}

/// Subscribes fresh, reads a few frames, drops the stream, resumes from
/// the last ID seen, and reads to the end. Returns (id, publisher, number)
/// for every frame.
async fn resuming_reader(joe: Joe, s: usize) -> Vec<(usize, usize, usize)> {
    let mut seen = Vec::new();
    let Ok(first) = joe.subscribe(Subscription::new([Topic::DEFAULT])).await else {
        return seen;
    };
    let mut stream = first.stream;
    for _ in 0..(s * 13 % 40 + 1) {
        match stream.next().await {
            Some(frame) => seen.push(parse(&frame.unwrap())),
            None => return seen,
        }
    }
    drop(stream);
    let last = seen.last().map(|&(id, _, _)| id.to_string());
    let resume = Subscription::new([Topic::DEFAULT])
        .last_event_id(last.map(|id| EventId::try_from(id).unwrap()));
    let Ok(second) = joe.subscribe(resume).await else {
        return seen;
    };
    assert_eq!(second.resume, Resume::Exact);
    let mut stream = second.stream;
    while let Some(frame) = stream.next().await {
        seen.push(parse(&frame.unwrap()));
    }
    seen
}

fn parse(frame: &Encoded) -> (usize, usize, usize) {
    let text = text(frame);
    let (id, data) = text
        .strip_prefix("id: ")
        .and_then(|rest| rest.split_once("\ndata: "))
        .unwrap();
    let (p, i) = data.trim_end().split_once(':').unwrap();
    (id.parse().unwrap(), p.parse().unwrap(), i.parse().unwrap())
}

fn check_run(seen: &[(usize, usize, usize)], total: usize, each: usize) -> Result<(), String> {
    let Some(&(first, _, _)) = seen.first() else {
        return Ok(());
    };
    let mut next_of = std::collections::HashMap::new();
    for (k, &(id, p, i)) in seen.iter().enumerate() {
        if id != first + k {
            return Err(format!("id {id} at position {k}, expected {}", first + k));
        }
        if let Some(&expected) = next_of.get(&p) {
            if i != expected {
                return Err(format!("publisher {p}: got {i}, expected {expected}"));
            }
        }
        next_of.insert(p, i + 1);
    }
    let last = seen.last().unwrap().0;
    if last != total {
        return Err(format!("ended at id {last}, expected {total}"));
    }
    if next_of.values().any(|&next| next != each) {
        return Err(format!("not every publisher finished: {next_of:?}"));
    }
    Ok(())
}

#[path = "../tests/support/exploding.rs"]
mod exploding;
use exploding::Exploding;

fn exploding_joe() -> Joe {
    Joe::builder()
        .replayer(Exploding {
            inner: FiniteReplayer::new(10).auto_ids_from(1),
        })
        .build()
}

fn resume_from(id: &'static str) -> Subscription {
    Subscription::new([Topic::DEFAULT]).last_event_id(Some(EventId::from_static(id)))
}

#[tokio::test]
async fn a_panicking_replay_fails_that_subscribe_only() {
    let joe = exploding_joe();
    let mut live = subscribe(&joe, &[""]).await;
    for data in ["a", "b", "c"] {
        joe.publish(Message::new().data(data), &[Topic::DEFAULT])
            .await
            .unwrap();
    }
    assert_eq!(drain_ready(&mut live).len(), 3);
    let err = joe.subscribe(resume_from("boom")).await.unwrap_err();
    assert!(matches!(err, Error::ReplayerPanicked));
    assert_eq!(joe.subscriber_count(), 1);
    // Joe keeps serving, without history now.
    let after = joe.subscribe(resume_from("1")).await.unwrap();
    assert_eq!(after.resume, Resume::Lost);
    joe.publish(Message::new().data("d"), &[Topic::DEFAULT])
        .await
        .unwrap();
    assert_eq!(drain_ready(&mut live)[0].as_ref().unwrap(), "data: d\n\n");
}

#[tokio::test]
async fn a_panicking_publish_fails_that_publish_only() {
    for boom in ["boom", "store boom"] {
        let joe = exploding_joe();
        let mut live = subscribe(&joe, &[""]).await;
        let err = joe
            .publish(Message::new().data(boom), &[Topic::DEFAULT])
            .await;
        assert!(matches!(err, Err(Error::ReplayerPanicked)), "{boom}");
        assert!(drain_ready(&mut live).is_empty(), "{boom}");
        joe.publish(Message::new().data("next"), &[Topic::DEFAULT])
            .await
            .unwrap();
        assert_eq!(
            drain_ready(&mut live)[0].as_ref().unwrap(),
            "data: next\n\n"
        );
        assert_eq!(joe.subscriber_count(), 1);
    }
}

#[tokio::test]
async fn a_rejecting_replayer_fails_the_publish_and_stays() {
    let joe = exploding_joe();
    let mut live = subscribe(&joe, &[""]).await;
    let err = joe
        .publish(Message::new().data("reject"), &[Topic::DEFAULT])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Rejected(_)));
    joe.publish(Message::new().data("ok"), &[Topic::DEFAULT])
        .await
        .unwrap();
    assert_eq!(
        drain_ready(&mut live)[0].as_ref().unwrap(),
        "id: 1\ndata: ok\n\n"
    );
}

#[tokio::test]
async fn shutdown_wakes_a_waiting_subscriber() {
    let joe = Joe::new();
    let mut sub = subscribe(&joe, &[""]).await;
    let (polled_tx, polled_rx) = tokio::sync::oneshot::channel();
    let waiter = tokio::spawn(async move {
        // Poll once so the stream registers its waker, then report.
        assert!(futures_util::FutureExt::now_or_never(sub.next()).is_none());
        polled_tx.send(()).unwrap();
        sub.next().await.is_none()
    });
    polled_rx.await.unwrap();
    joe.shutdown().await;
    assert!(waiter.await.unwrap());
}

#[tokio::test]
async fn a_publish_wakes_a_waiting_subscriber() {
    let joe = Joe::new();
    let mut sub = subscribe(&joe, &[""]).await;
    let (polled_tx, polled_rx) = tokio::sync::oneshot::channel();
    let waiter = tokio::spawn(async move {
        assert!(futures_util::FutureExt::now_or_never(sub.next()).is_none());
        polled_tx.send(()).unwrap();
        text(&sub.next().await.unwrap().unwrap())
    });
    polled_rx.await.unwrap();
    joe.publish(Message::new().data("x"), &[Topic::DEFAULT])
        .await
        .unwrap();
    assert_eq!(waiter.await.unwrap(), "data: x\n\n");
}

#[tokio::test]
async fn dropping_a_lagged_stream_leaves_the_reused_slot_alone() {
    let joe = Joe::builder().capacity(1).build();
    let lagged = subscribe(&joe, &[""]).await;
    for _ in 0..2 {
        joe.publish(Message::new().data("x"), &[Topic::DEFAULT])
            .await
            .unwrap();
    }
    assert_eq!(joe.stats().receiving, 0);
    let mut fresh = subscribe(&joe, &[""]).await; // takes the freed slot
    assert_eq!(joe.subscriber_count(), 2);
    drop(lagged);
    assert_eq!(joe.subscriber_count(), 1);
    assert_eq!(joe.stats().receiving, 1);
    joe.publish(Message::new().data("y"), &[Topic::DEFAULT])
        .await
        .unwrap();
    assert_eq!(drain_ready(&mut fresh).len(), 1);
}

#[tokio::test]
async fn subscribers_dropped_after_shutdown_are_fine() {
    let joe = Joe::new();
    let subs = vec![subscribe(&joe, &["a"]).await, subscribe(&joe, &["b"]).await];
    joe.shutdown().await;
    drop(subs);
    assert_eq!(joe.subscriber_count(), 0);
}

#[tokio::test]
async fn dropping_the_last_handle_ends_the_streams() {
    let joe = Joe::new();
    let clone = joe.clone();
    let mut sub = subscribe(&joe, &[""]).await;
    joe.publish(Message::new().data("x"), &[Topic::DEFAULT])
        .await
        .unwrap();
    drop(joe);
    assert!(
        drain_ready(&mut sub).len() == 1,
        "a clone is alive: still open"
    );
    assert!(futures_util::FutureExt::now_or_never(sub.next()).is_none());
    drop(clone);
    assert!(sub.next().await.is_none());
    assert!(futures_util::stream::FusedStream::is_terminated(&sub));
}

#[test]
fn joe_and_its_stream_are_send_sync() {
    fn send_sync<T: Send + Sync + 'static>() {}
    fn send<T: Send + 'static>() {}
    send_sync::<Joe>();
    send::<Subscriber>();
}

/// A replayer that, when dropped, calls into the Joe that owns it: that
/// deadlocks if Joe drops it while holding its own lock.
struct Probe {
    joe: std::sync::Arc<std::sync::OnceLock<Joe>>,
    dropped: std::sync::mpsc::Sender<usize>,
    explode: bool,
}

impl Replayer for Probe {
    fn prepare(&mut self, _: &mut Message) -> Result<(), Error> {
        if self.explode {
            panic!("prepare exploded");
        }
        Ok(())
    }

    fn store(&mut self, _: &Message, _: &Encoded, _: &[Topic]) {}

    fn replay(&mut self, _: &EventId, _: &[Topic], _: &mut dyn FnMut(Encoded)) -> Resume {
        Resume::Lost
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        let count = self.joe.get().map_or(0, Joe::subscriber_count);
        let _ = self.dropped.send(count);
    }
}

/// Runs `act` on a Joe whose replayer is a `Probe`, in a thread of its own;
/// fails (instead of hanging) if the probe's drop deadlocks.
fn probe_drop(explode: bool, act: fn(&Joe)) {
    let (dropped, on_drop) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let cell = std::sync::Arc::new(std::sync::OnceLock::new());
        let joe = Joe::builder()
            .replayer(Probe {
                joe: cell.clone(),
                dropped,
                explode,
            })
            .build();
        let _ = cell.set(joe.clone());
        act(&joe);
    });
    let count = on_drop
        .recv_timeout(Duration::from_secs(10))
        .expect("the replayer was dropped without deadlock");
    assert_eq!(count, 0);
}

#[test]
fn a_panicking_replayer_is_dropped_outside_the_lock() {
    probe_drop(true, |joe| {
        let published = joe
            .publish(Message::new().data("x"), &[Topic::DEFAULT])
            .now_or_never()
            .unwrap();
        assert!(matches!(published, Err(Error::ReplayerPanicked)));
    });
}

#[test]
fn shutdown_frees_the_history_outside_the_lock() {
    probe_drop(false, |joe| joe.shutdown().now_or_never().unwrap());
}
