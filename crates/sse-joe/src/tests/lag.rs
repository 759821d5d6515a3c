//! Slow subscribers: ended when their topic's log passes its bounds, and
//! freed at once.

use super::{drain_ready, publish, resume_from, subscribe, with_history};
use crate::{Error, Joe, Provider};

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
