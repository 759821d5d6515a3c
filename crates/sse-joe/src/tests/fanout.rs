//! A publish reaches each subscriber of its topics once, in publish order,
//! in batches across topics, as one shared frame.

use super::{drain_ready, publish, subscribe, text, topic};
use crate::{Error, Joe, Provider, Subscriber};
use futures_util::StreamExt;
use sse_codec::{Message, Topic};

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
    publish(&joe, "x").await;
    let mut frames = Vec::new();
    for sub in &mut subs {
        frames.push(sub.next().await.unwrap().unwrap().into_bytes());
    }
    // One encoding shared by all: the same buffer, not equal copies.
    assert!(frames.windows(2).all(|w| w[0].as_ptr() == w[1].as_ptr()));
}

#[tokio::test]
async fn empty_topic_list_receives_nothing() {
    let joe = Joe::new();
    let mut sub = subscribe(&joe, &[]).await;
    assert_eq!(joe.subscriber_count(), 1);
    publish(&joe, "x").await;
    assert!(drain_ready(&mut sub).is_empty());
}

#[test]
fn joe_and_its_stream_are_send_sync() {
    fn send_sync<T: Send + Sync + 'static>() {}
    fn send<T: Send + 'static>() {}
    send_sync::<Joe>();
    send::<Subscriber>();
}
