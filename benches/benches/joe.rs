//! Fan-out: one 256-byte message published to N subscribers, each drained
//! by its own task, until every subscriber has received it; Joe against a
//! `tokio::sync::broadcast` channel doing the same work (encode once, send,
//! every receiver receives), and against the floor under both: waking the
//! N tasks, each on a flag of its own, with no message at all.
//!
//! Joe's filtered subscribers, as a hub has them, beside: `joe-filtered`
//! has N subscribers to every topic, each with a filter that matches the
//! update's topics against its selector (a prefix compiled once), and the
//! update matches them all; in `joe-filtered-miss` it matches none, and a
//! publish is done when every filter has turned it down.
//!
//! ```text
//! cargo bench -p sse-benches --bench joe -- --warm-up-time 1 --measurement-time 3
//! ```

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use criterion::{
    BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group, criterion_main,
    measurement::WallTime,
};
use futures_util::{FutureExt, StreamExt};
use sse_benches::Selector;
use sse_codec::{Encoded, Filter, Message, Provider, Routing, Subscription, Topic};
use sse_joe::Joe;
use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    task::{Poll, Waker},
    thread::{self, Thread},
};
use tokio::{runtime::Runtime, sync::broadcast};

const SUBSCRIBERS: [usize; 4] = [1, 100, 1_000, 10_000];

fn message() -> Message {
    Message::new().data("x".repeat(256))
}

/// Counts deliveries down to zero and wakes the bench thread at zero.
struct Countdown {
    remaining: AtomicUsize,
    waiter: Thread,
}

impl Countdown {
    fn new() -> Arc<Countdown> {
        Arc::new(Countdown {
            remaining: AtomicUsize::new(0),
            waiter: thread::current(),
        })
    }

    fn arm(&self, n: usize) {
        self.remaining.store(n, Ordering::Release);
    }

    fn delivered(&self) {
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.waiter.unpark();
        }
    }

    fn wait(&self) {
        while self.remaining.load(Ordering::Acquire) != 0 {
            thread::park();
        }
    }
}

/// A task's flag for the wake-only floor: set, and the task woken.
#[derive(Default)]
struct Flag {
    set: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Flag {
    /// Waits until the flag is set, and clears it.
    async fn wait(&self) {
        std::future::poll_fn(|cx| {
            if self.set.swap(false, Ordering::AcqRel) {
                return Poll::Ready(());
            }
            let mut waker = self.waker.lock().expect("not poisoned");
            if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *waker = Some(cx.waker().clone());
            }
            drop(waker);
            match self.set.swap(false, Ordering::AcqRel) {
                true => Poll::Ready(()),
                false => Poll::Pending,
            }
        })
        .await;
    }

    fn raise(&self) {
        self.set.store(true, Ordering::Release);
        let waker = self.waker.lock().expect("not poisoned").clone();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Where a case counts a publish done: each frame a subscriber's task
/// receives, or each update a subscriber's filter turns down.
#[derive(Clone, Copy)]
enum Done {
    Received,
    Refused,
}

/// Joe's fan-out to `n` subscribers made by `subscription` (given the
/// countdown, for a filter that counts), each drained by its own task,
/// one publish to `topics` per iteration.
fn joe_case(
    group: &mut BenchmarkGroup<'_, WallTime>,
    (name, n): (&str, usize),
    subscription: impl Fn(&Arc<Countdown>) -> Subscription,
    topics: &[Topic],
    done: Done,
) {
    let rt = runtime();
    let joe = Joe::new();
    let countdown = Countdown::new();
    for _ in 0..n {
        let mut stream = rt
            .block_on(joe.subscribe(subscription(&countdown)))
            .expect("subscribed")
            .stream;
        let countdown = Arc::clone(&countdown);
        rt.spawn(async move {
            while let Some(Ok(_frame)) = stream.next().await {
                if let Done::Received = done {
                    countdown.delivered();
                }
            }
        });
    }
    let msg = message();
    group.bench_function(BenchmarkId::new(name, n), |b| {
        b.iter(|| {
            countdown.arm(n);
            // Joe's publish never waits, so it completes on first poll.
            joe.publish(msg.clone(), topics)
                .now_or_never()
                .expect("publish completes at once")
                .expect("published");
            countdown.wait();
        })
    });
    rt.block_on(joe.shutdown());
    drop(rt);
}

/// A subscription to every topic, filtered by a selector of `/books/`;
/// with `refusals`, the filter counts each update it turns down.
fn filtered(refusals: Option<&Arc<Countdown>>) -> Subscription {
    let selector = Selector::new("/books/");
    let refusals = refusals.cloned();
    Subscription::new([])
        .every_topic()
        .filter(Filter::new(move |routing: &Routing| {
            let accepted = selector.matches(routing);
            if let (false, Some(refusals)) = (accepted, &refusals) {
                refusals.delivered();
            }
            accepted
        }))
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a tokio runtime")
}

fn fan_out(c: &mut Criterion) {
    let mut group = c.benchmark_group("fan-out");
    group.sample_size(20);
    for n in SUBSCRIBERS {
        group.throughput(Throughput::Elements(n as u64));

        joe_case(
            &mut group,
            ("joe", n),
            |_| Subscription::new([Topic::DEFAULT]),
            &[Topic::DEFAULT],
            Done::Received,
        );
        joe_case(
            &mut group,
            ("joe-filtered", n),
            |_| filtered(None),
            &[Topic::from("/books/1")],
            Done::Received,
        );
        joe_case(
            &mut group,
            ("joe-filtered-miss", n),
            |refusals| filtered(Some(refusals)),
            &[Topic::from("/authors/1")],
            Done::Refused,
        );

        let msg = message();
        let rt = runtime();
        let (tx, _) = broadcast::channel::<Encoded>(16);
        let countdown = Countdown::new();
        for _ in 0..n {
            let mut rx = tx.subscribe();
            let countdown = Arc::clone(&countdown);
            rt.spawn(async move {
                while let Ok(_frame) = rx.recv().await {
                    countdown.delivered();
                }
            });
        }
        group.bench_function(BenchmarkId::new("broadcast", n), |b| {
            b.iter(|| {
                countdown.arm(n);
                tx.send(msg.to_encoded()).expect("receivers exist");
                countdown.wait();
            })
        });
        drop(tx);
        drop(rt);

        let rt = runtime();
        let countdown = Countdown::new();
        let flags: Vec<Arc<Flag>> = (0..n).map(|_| Arc::default()).collect();
        for flag in &flags {
            let (flag, countdown) = (Arc::clone(flag), Arc::clone(&countdown));
            rt.spawn(async move {
                loop {
                    flag.wait().await;
                    countdown.delivered();
                }
            });
        }
        group.bench_function(BenchmarkId::new("wake-only", n), |b| {
            b.iter(|| {
                countdown.arm(n);
                for flag in &flags {
                    flag.raise();
                }
                countdown.wait();
            })
        });
        drop(rt);
    }
    group.finish();
}

criterion_group!(benches, fan_out);
criterion_main!(benches);
