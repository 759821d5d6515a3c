//! Waking and ending: a publish or a shutdown wakes a waiting subscriber,
//! and shutdown ends every stream after what was queued.

use super::{drain_ready, next_after_waiting, publish, subscribe, text};
use crate::{Error, Joe, Provider};
use futures_util::StreamExt;
use sse_codec::{Message, Subscription, Topic};

#[tokio::test]
async fn shutdown_delivers_queued_then_ends_and_refuses_calls() {
    let joe = Joe::new();
    let mut sub = subscribe(&joe, &[""]).await;
    for i in 0..3 {
        publish(&joe, i.to_string()).await;
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
async fn shutdown_wakes_a_waiting_subscriber() {
    let joe = Joe::new();
    let next = next_after_waiting(subscribe(&joe, &[""]).await).await;
    joe.shutdown().await;
    assert!(next.await.unwrap().is_none());
}

#[tokio::test]
async fn a_publish_wakes_a_waiting_subscriber() {
    let joe = Joe::new();
    let next = next_after_waiting(subscribe(&joe, &[""]).await).await;
    publish(&joe, "x").await;
    assert_eq!(text(&next.await.unwrap().unwrap().unwrap()), "data: x\n\n");
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
    publish(&joe, "x").await;
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
