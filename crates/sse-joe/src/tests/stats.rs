//! What [`Joe::stats`](crate::Joe::stats) counts.

use super::{drain_ready, subscribe, text, topic};
use crate::{FiniteReplayer, Joe, Provider};
use futures_util::StreamExt;
use sse_codec::{EventId, Message, Subscription};

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

/// A subscriber of several topics takes a batch from the logs and yields
/// it one frame at a time. A prepend in between queues its frames (a
/// replay, not counted) before the rest of the batch, whose live frames
/// still count as delivered when they are yielded.
#[tokio::test]
async fn live_frames_count_as_delivered_across_a_prepend() {
    let joe = Joe::new();
    let mut ab = subscribe(&joe, &["a", "b"]).await;
    for data in ["1", "2", "3"] {
        joe.publish(Message::new().data(data), &[topic("a")])
            .await
            .unwrap();
    }
    // One read takes all three and yields the first.
    assert_eq!(text(&ab.next().await.unwrap().unwrap()), "data: 1\n\n");
    assert!(ab.prepend(["r1", "r2"].map(|d| Message::new().data(d).to_encoded())));
    let got: Vec<_> = drain_ready(&mut ab)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let expected = ["r1", "r2", "2", "3"].map(|d| format!("data: {d}\n\n"));
    assert_eq!(
        got, expected,
        "the replay first, then the rest of the batch"
    );
    assert_eq!(joe.stats().delivered, 3, "the live frames, not the replay");
}

/// With the `serde` feature, a snapshot goes out as an object with the
/// fields' names and reads back the same; a field missing from what is
/// read (a snapshot from a version with fewer) takes its default.
#[cfg(feature = "serde")]
#[tokio::test]
async fn stats_serialize_by_field_name_and_read_back() {
    let joe = Joe::new();
    let mut a = subscribe(&joe, &["a"]).await;
    joe.publish(Message::new().data("x"), &[topic("a")])
        .await
        .unwrap();
    assert_eq!(drain_ready(&mut a).len(), 1);
    let stats = joe.stats();
    let json = serde_json::to_value(stats).unwrap();
    // serde_json's objects keep their keys sorted.
    let names: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut fields = [
        "subscribers",
        "receiving",
        "published",
        "delivered",
        "lagged",
        "replays_exact",
        "replays_lost",
        "queued_frames",
        "queued_bytes",
        "deepest_queue",
    ];
    fields.sort_unstable();
    assert_eq!(names, fields);
    assert_eq!(
        (json["published"].as_u64(), json["delivered"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(serde_json::from_value::<crate::Stats>(json).unwrap(), stats);
    let older: crate::Stats = serde_json::from_str(r#"{"published": 7}"#).unwrap();
    assert_eq!((older.published, older.subscribers), (7, 0));
}
