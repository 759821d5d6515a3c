//! A replayer that panics or rejects fails one call, and user code
//! (replayers dropped, loggers) never runs under Joe's lock.

use super::{drain_ready, publish, resume_from, subscribe};
use crate::{Error, FiniteReplayer, Joe, Provider, Replayer};
use futures_util::FutureExt;
use sse_codec::{Encoded, EventId, Message, Resume, Routing, Subscription, Topic};
use std::time::Duration;

#[path = "../../tests/support/exploding.rs"]
mod exploding;
use exploding::Exploding;

fn exploding_joe() -> Joe {
    Joe::builder()
        .replayer(Exploding {
            inner: FiniteReplayer::new(10).auto_ids_from(1),
        })
        .build()
}

#[tokio::test]
async fn a_panicking_replay_fails_that_subscribe_only() {
    let joe = exploding_joe();
    let mut live = subscribe(&joe, &[""]).await;
    for data in ["a", "b", "c"] {
        publish(&joe, data).await;
    }
    assert_eq!(drain_ready(&mut live).len(), 3);
    let err = joe.subscribe(resume_from("boom")).await.unwrap_err();
    assert!(matches!(err, Error::ReplayerPanicked));
    assert_eq!(joe.subscriber_count(), 1);
    // Joe keeps serving, without history now.
    let after = joe.subscribe(resume_from("1")).await.unwrap();
    assert_eq!(after.resume, Resume::Lost);
    publish(&joe, "d").await;
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
        publish(&joe, "next").await;
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
    publish(&joe, "ok").await;
    assert_eq!(
        drain_ready(&mut live)[0].as_ref().unwrap(),
        "id: 1\ndata: ok\n\n"
    );
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

    fn store(&mut self, _: &Message, _: &Encoded, _: &Routing) {}

    fn replay(&mut self, _: &EventId, _: &Subscription, _: &mut dyn FnMut(Encoded)) -> Resume {
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
