//! Dropping a stream unsubscribes it, and the registry's slots and topics
//! stay consistent.

use super::{drain_ready, publish, subscribe, topic};
use crate::{Joe, Provider};
use sse_codec::Message;

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
async fn dropping_a_lagged_stream_leaves_the_reused_slot_alone() {
    let joe = Joe::builder().capacity(1).build();
    let lagged = subscribe(&joe, &[""]).await;
    for _ in 0..2 {
        publish(&joe, "x").await;
    }
    assert_eq!(joe.stats().receiving, 0);
    let mut fresh = subscribe(&joe, &[""]).await; // takes the freed slot
    assert_eq!(joe.subscriber_count(), 2);
    drop(lagged);
    assert_eq!(joe.subscriber_count(), 1);
    assert_eq!(joe.stats().receiving, 1);
    publish(&joe, "y").await;
    assert_eq!(drain_ready(&mut fresh).len(), 1);
}
