//! Joe's `tracing` events. A test binary of its own, with a process-wide
//! subscriber: `tracing` caches per call site whether anyone listens, and
//! other tests running Joe in parallel without a subscriber could make a
//! thread-local one miss events.

use futures_util::FutureExt;
use sse_codec::{Encoded, EventId, Message, Provider, Resume, Routing, Subscription, Topic};
use sse_joe::{Error, FiniteReplayer, Joe, Replayer};

/// Records the message and fields of every `tracing` event, and calls into
/// `joe` from each, as a layer that forwards logs somewhere might: that
/// deadlocks if Joe logs while holding its lock.
#[derive(Clone, Default)]
struct Recorder(
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    std::sync::Arc<std::sync::OnceLock<Joe>>,
);

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        struct Fields(String);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                use std::fmt::Write;
                let _ = write!(self.0, " {}={value:?}", field.name());
            }
        }
        let mut fields = Fields(format!("{}", event.metadata().level()));
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
        if let Some(joe) = self.1.get() {
            let _ = joe.subscriber_count();
        }
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

#[path = "support/exploding.rs"]
mod exploding;
use exploding::Exploding;

#[test]
fn tracing_reports_subscribe_unsubscribe_lag_and_panics() {
    let recorder = Recorder::default();
    tracing::subscriber::set_global_default(recorder.clone()).unwrap();
    // Fails rather than hangs if an event is logged under Joe's lock.
    let (done, finished) = std::sync::mpsc::channel();
    let probe = recorder.1.clone();
    std::thread::spawn(move || {
        exercise(&probe);
        let _ = done.send(());
    });
    finished
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("no event was logged while Joe's lock was held");
    check(&recorder.0.lock().unwrap());
}

/// Subscribes, unsubscribes, lags one subscriber and makes the replayer
/// panic, with the recorder calling into this Joe on every event.
fn exercise(probe: &std::sync::OnceLock<Joe>) {
    let joe = Joe::builder()
        .capacity(1)
        .replayer(Exploding {
            inner: FiniteReplayer::new(4),
        })
        .build();
    let _ = probe.set(joe.clone());
    let topics = [Topic::DEFAULT];
    async {
        let subscribe = || joe.subscribe(Subscription::new([Topic::DEFAULT]));
        let slow = subscribe().await.unwrap().stream;
        drop(subscribe().await.unwrap().stream);
        for data in ["a", "b"] {
            joe.publish(Message::new().data(data), &topics)
                .await
                .unwrap();
        }
        drop(slow);
        let boom =
            Subscription::new(topics.clone()).last_event_id(Some(EventId::from_static("boom")));
        assert!(joe.subscribe(boom).await.is_err());
    }
    .now_or_never()
    .expect("joe never waits");
}

/// The events `exercise` must have logged.
fn check(events: &[String]) {
    let find = |needle: &str| {
        events
            .iter()
            .find(|e| e.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in {events:#?}"))
            .clone()
    };
    assert!(find("message=subscribed").starts_with("DEBUG"));
    assert!(find("message=unsubscribed").contains("subscriber=1"));
    let lag = find("message=slow subscriber disconnected");
    assert!(lag.starts_with("WARN") && lag.contains("subscriber=0") && lag.contains("capacity=1"));
    let panic = find("message=replayer panicked and was disabled");
    assert!(
        panic.starts_with("ERROR") && panic.contains("replay exploded"),
        "{panic}"
    );
}
