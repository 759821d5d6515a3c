//! Where a publish's wake pass runs: in the publishing call for a few
//! waiting subscribers (or outside a runtime), in a task of its own for
//! many inside a tokio runtime, and never lost, not even to a runtime that
//! shuts down.

use super::subscribe;
use crate::{Joe, Provider, Subscriber, log::WAKE_IN_CALL};
use futures_core::Stream;
use sse_codec::{Message, Topic};
use std::{
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Wake, Waker},
};

/// A waker that counts its wakes.
#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// `n` subscribers of the default topic, each polled once with `count`'s
/// waker: each found nothing and waits.
async fn waiting(joe: &Joe, n: usize, count: &Arc<Count>) -> Vec<Subscriber> {
    let waker = Waker::from(count.clone());
    let mut subscribers = Vec::new();
    for _ in 0..n {
        let mut subscriber = subscribe(joe, &[Topic::DEFAULT.as_str()]).await;
        let polled = Pin::new(&mut subscriber).poll_next(&mut Context::from_waker(&waker));
        assert!(polled.is_pending());
        subscribers.push(subscriber);
    }
    subscribers
}

fn publish_now(joe: &Joe) {
    let topics = [Topic::DEFAULT];
    futures_util::FutureExt::now_or_never(joe.publish(Message::new().data("x"), &topics))
        .expect("a publish to Joe never waits")
        .unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn a_few_waiting_subscribers_are_woken_within_the_publish() {
    let (joe, count) = (Joe::new(), Arc::new(Count::default()));
    let _subscribers = waiting(&joe, WAKE_IN_CALL, &count).await;
    publish_now(&joe);
    assert_eq!(count.0.load(Ordering::SeqCst), WAKE_IN_CALL);
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "current_thread")]
async fn many_waiting_subscribers_are_woken_by_a_task_once_the_publisher_yields() {
    let (joe, count) = (Joe::new(), Arc::new(Count::default()));
    let n = WAKE_IN_CALL + 1;
    let _subscribers = waiting(&joe, n, &count).await;
    publish_now(&joe);
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        0,
        "the publish returned first"
    );
    tokio::task::yield_now().await;
    assert_eq!(count.0.load(Ordering::SeqCst), n);
}

#[test]
fn outside_a_runtime_the_publish_wakes_them_all_itself() {
    let (joe, count) = (Joe::new(), Arc::new(Count::default()));
    let n = 10 * WAKE_IN_CALL;
    let _subscribers = futures_util::FutureExt::now_or_never(waiting(&joe, n, &count)).unwrap();
    publish_now(&joe);
    assert_eq!(count.0.load(Ordering::SeqCst), n);
}

#[test]
fn a_runtime_shutting_down_still_wakes_them() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let handle = runtime.handle().clone();
    drop(runtime);
    let _inside = handle.enter();
    let (joe, count) = (Joe::new(), Arc::new(Count::default()));
    let n = 10 * WAKE_IN_CALL;
    let _subscribers = futures_util::FutureExt::now_or_never(waiting(&joe, n, &count)).unwrap();
    publish_now(&joe);
    assert_eq!(count.0.load(Ordering::SeqCst), n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subscriber_of_a_large_fan_out_gets_each_publish() {
    use futures_util::StreamExt;
    let joe = Joe::new();
    let mut tasks = Vec::new();
    for _ in 0..1_000 {
        let mut subscriber = subscribe(&joe, &[Topic::DEFAULT.as_str()]).await;
        tasks.push(tokio::spawn(async move {
            let mut got = 0;
            while let Some(frame) = subscriber.next().await {
                assert_eq!(frame.unwrap().as_bytes(), "data: x\n\n");
                got += 1;
                if got == 100 {
                    break;
                }
            }
            got
        }));
    }
    for _ in 0..100 {
        joe.publish(Message::new().data("x"), &[Topic::DEFAULT])
            .await
            .unwrap();
        tokio::task::yield_now().await;
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 100);
    }
}

/// A waker that panics, as a broken executor's might.
struct Panics;

impl Wake for Panics {
    fn wake(self: Arc<Self>) {
        panic!("this waker panics");
    }
}

/// One subscriber's waker panics in the middle of a pass: the others are
/// woken all the same, and the panic reaches the publisher afterwards.
#[test]
fn a_panicking_waker_does_not_keep_the_others_unwoken() {
    let (joe, count) = (Joe::new(), Arc::new(Count::default()));
    use futures_util::FutureExt;
    let mut subscribers = waiting(&joe, 3, &count).now_or_never().unwrap();
    let mut broken = subscribe(&joe, &[Topic::DEFAULT.as_str()])
        .now_or_never()
        .unwrap();
    let panics = Waker::from(Arc::new(Panics));
    assert!(
        Pin::new(&mut broken)
            .poll_next(&mut Context::from_waker(&panics))
            .is_pending()
    );
    subscribers.extend(waiting(&joe, 3, &count).now_or_never().unwrap());
    let published = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| publish_now(&joe)));
    assert!(
        published.is_err(),
        "the waker's panic reaches the publisher"
    );
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        6,
        "every other subscriber woken"
    );
    // Joe goes on: the next publish wakes the others again.
    let waker = Waker::from(count.clone());
    for subscriber in &mut subscribers {
        let mut cx = Context::from_waker(&waker);
        while let std::task::Poll::Ready(Some(_)) = Pin::new(&mut *subscriber).poll_next(&mut cx) {}
    }
    publish_now(&joe);
    assert_eq!(count.0.load(Ordering::SeqCst), 12);
}
