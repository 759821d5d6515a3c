//! Slow subscribers: ended when their topic's log passes its bounds, and
//! freed at once.

use super::{drain_ready, publish, resume_from, subscribe, with_history};
use crate::{Error, Joe, Provider};
use futures_util::StreamExt;
use sse_codec::{Message, Topic};

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
    publish(&joe, big.as_str()).await;
    assert_eq!(drain_ready(&mut reader).len(), 1);
    assert_eq!(stalled.queued_bytes(), 508);
    publish(&joe, "y").await;
    assert_eq!(stalled.queued_bytes(), 0);
    assert_eq!(drain_ready(&mut reader).len(), 1);
    assert!(matches!(
        drain_ready(&mut stalled).as_slice(),
        [Err(Error::Lagged { max_bytes: 100, .. })]
    ));
    // Frames of 10 bytes: ten fit in 100 bytes, the eleventh does not.
    for i in 0..40 {
        publish(&joe, format!("{i:02}")).await;
        assert_eq!(drain_ready(&mut reader).len(), 1);
    }
    drop(reader);
    let mut slow = subscribe(&joe, &[""]).await;
    for i in 0..10 {
        publish(&joe, format!("{i:02}")).await;
    }
    assert_eq!((slow.queued(), slow.queued_bytes()), (10, 100));
    publish(&joe, "10").await;
    assert_eq!(slow.queued(), 0);
    assert_eq!(drain_ready(&mut slow).len(), 1, "only the lag error");
    assert_eq!(joe.stats().lagged, 2);
}

/// A resuming subscriber that never reads holds its replay only until it
/// lags: then the replay is freed with the live frames.
#[tokio::test]
async fn a_lagged_subscriber_frees_its_replay() {
    let joe = with_history(2, 50).await;
    let stalled = joe.subscribe(resume_from("1")).await.unwrap().stream;
    assert_eq!(stalled.queued(), 49);
    assert_eq!(joe.stats().queued_frames, 49);
    for _ in 0..3 {
        publish(&joe, "live").await;
    }
    assert_eq!((stalled.queued(), stalled.queued_bytes()), (0, 0));
    let stats = joe.stats();
    assert_eq!(
        (stats.queued_frames, stats.lagged, stats.replays_exact),
        (0, 1, 1)
    );
}
