//! Joe's metrics through the `metrics` facade, read back from a recorder
//! installed for this thread while the Joe is built.
#![cfg(feature = "metrics")]

use futures_util::{FutureExt, StreamExt};
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use sse_codec::{EventId, Message, Provider, Subscription, Topic};
use sse_joe::{FiniteReplayer, Joe};
use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

/// Keeps every counter and gauge, by name and labels.
#[derive(Default)]
struct Kept(Mutex<HashMap<String, Arc<AtomicU64>>>);

impl Kept {
    fn handle(&self, key: &Key) -> Arc<AtomicU64> {
        let mut name = key.name().to_owned();
        for label in key.labels() {
            name.push_str(&format!(",{}={}", label.key(), label.value()));
        }
        Arc::clone(self.0.lock().unwrap().entry(name).or_default())
    }

    fn counter(&self, name: &str) -> u64 {
        self.0.lock().unwrap()[name].load(Ordering::Relaxed)
    }

    fn gauge(&self, name: &str) -> f64 {
        f64::from_bits(self.0.lock().unwrap()[name].load(Ordering::Relaxed))
    }
}

impl Recorder for Kept {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.handle(key))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.handle(key))
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

fn now<T>(future: impl std::future::Future<Output = T>) -> T {
    future.now_or_never().expect("Joe never waits")
}

#[test]
fn counters_and_gauges_follow_what_joe_does() {
    let kept = Kept::default();
    let joe = metrics::with_local_recorder(&kept, || {
        Joe::builder()
            .capacity(2)
            .replayer(FiniteReplayer::new(10).auto_ids_from(1))
            .build()
    });
    let topic = [Topic::DEFAULT];
    let subscription = || Subscription::new(topic.clone());
    let mut reader = now(joe.subscribe(subscription())).unwrap().stream;
    let stalled = now(joe.subscribe(subscription())).unwrap().stream;
    let lost = now(joe.subscribe(subscription().last_event_id(Some(EventId::from_static("x")))))
        .unwrap()
        .stream;
    assert_eq!(kept.gauge("sse_joe_subscribers"), 3.0);
    for i in 0..3 {
        now(joe.publish(Message::new().data(i.to_string()), &topic)).unwrap();
        assert!(now(reader.next()).is_some());
    }
    let exact = now(joe.subscribe(subscription().last_event_id(Some(EventId::from_static("1")))))
        .unwrap()
        .stream;

    assert_eq!(kept.counter("sse_joe_published_total"), 3);
    // A subscriber adds what it took once it waits for more.
    assert_eq!(kept.counter("sse_joe_delivered_total"), 0);
    assert!(reader.next().now_or_never().is_none());
    assert_eq!(kept.counter("sse_joe_delivered_total"), 3);
    // `stalled` and `lost` read nothing: three messages left them a whole
    // log (capacity 2) behind.
    assert_eq!(kept.counter("sse_joe_lagged_total"), 2);
    assert_eq!(kept.counter("sse_joe_replays_total,resume=exact"), 1);
    assert_eq!(kept.counter("sse_joe_replays_total,resume=lost"), 1);
    assert_eq!(kept.gauge("sse_joe_subscribers"), 4.0);
    assert_eq!(kept.gauge("sse_joe_receiving"), 2.0);

    drop((stalled, lost, exact));
    // Past 64 frames without a wait, then when it waits; and at the end,
    // whatever is left.
    for i in 0..70 {
        now(joe.publish(Message::new().data(i.to_string()), &topic)).unwrap();
        assert!(now(reader.next()).is_some());
    }
    assert_eq!(kept.counter("sse_joe_delivered_total"), 3 + 64);
    assert!(reader.next().now_or_never().is_none());
    assert_eq!(kept.counter("sse_joe_delivered_total"), 3 + 70);
    let mut late = now(joe.subscribe(subscription())).unwrap().stream;
    now(joe.publish(Message::new().data("late"), &topic)).unwrap();
    assert!(now(late.next()).is_some());
    assert!(now(reader.next()).is_some());
    drop(late);
    assert_eq!(kept.counter("sse_joe_delivered_total"), 3 + 70 + 1);
    assert_eq!(kept.gauge("sse_joe_subscribers"), 1.0);
    assert_eq!(kept.gauge("sse_joe_receiving"), 1.0);
    now(joe.shutdown());
    assert_eq!(kept.gauge("sse_joe_receiving"), 0.0);
    drop(reader);
    assert_eq!(kept.gauge("sse_joe_subscribers"), 0.0);
}
