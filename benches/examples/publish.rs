//! Joe's fan-out, one thread and no runtime, for callgrind: `N`
//! subscribers, then `M` publishes of one 256-byte message, each followed
//! by the subscribers it woke reading until they have nothing left, as a
//! server's tasks would. `publish_one` is one publish (the wakes
//! included) and `drain` the reads that follow it, so that
//! `--toggle-collect` on either counts its instructions alone; divide by
//! `M`. A warm-up of 256 publishes, outside both, fills the logs' segments
//! first.
//!
//! ```text
//! cargo build --release -p sse-benches --example publish
//! valgrind --tool=callgrind --toggle-collect='publish::publish_one*' \
//!     target/release/examples/publish exact 1000 256
//! valgrind --tool=callgrind --toggle-collect='publish::drain*' \
//!     target/release/examples/publish exact 1000 256
//! ```
//!
//! Cases (the first argument):
//!
//! - `exact`: subscribers of the published topic.
//! - `exact-replayer`: the same, with a `FiniteReplayer` of 1024 events.
//! - `exact-beside-filtered`: the same as `exact`, and one filtered
//!   subscriber to every topic beside them.
//! - `filtered`: subscribers to every topic, each with a filter that
//!   matches the update's topics against its selector (a prefix compiled
//!   once): the update matches every one.
//! - `filtered-miss`: the same, and the update matches none.

use futures_util::{FutureExt, Stream};
use sse_benches::Selector;
use sse_codec::{Filter, Message, Provider, Routing, Subscription, Topic};
use sse_joe::{FiniteReplayer, Joe, Subscriber};
use std::{
    pin::Pin,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
};

const WARM_UP: usize = 256;

/// A subscriber's task, as a runtime schedules it: woken at most once
/// until it runs, by queueing itself.
struct Task {
    index: usize,
    scheduled: AtomicBool,
    queue: Arc<Mutex<Vec<usize>>>,
}

impl Wake for Task {
    fn wake(self: Arc<Task>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Task>) {
        if !self.scheduled.swap(true, Ordering::AcqRel) {
            self.queue.lock().expect("not poisoned").push(self.index);
        }
    }
}

struct Subscribers {
    streams: Vec<Subscriber>,
    tasks: Vec<Arc<Task>>,
    wakers: Vec<Waker>,
    queue: Arc<Mutex<Vec<usize>>>,
    /// Taken from `queue`, to run.
    running: Vec<usize>,
}

fn subscribe(joe: &Joe, subscriptions: impl Iterator<Item = Subscription>) -> Subscribers {
    let queue = Arc::new(Mutex::new(Vec::new()));
    let mut subscribers = Subscribers {
        streams: Vec::new(),
        tasks: Vec::new(),
        wakers: Vec::new(),
        queue: Arc::clone(&queue),
        running: Vec::new(),
    };
    for (index, subscription) in subscriptions.enumerate() {
        let stream = joe
            .subscribe(subscription)
            .now_or_never()
            .expect("subscribe completes at once")
            .expect("subscribed")
            .stream;
        // Every task runs once, as a server's does when it starts.
        let task = Arc::new(Task {
            index,
            scheduled: AtomicBool::new(true),
            queue: Arc::clone(&queue),
        });
        queue.lock().expect("not poisoned").push(index);
        subscribers.wakers.push(Waker::from(Arc::clone(&task)));
        subscribers.tasks.push(task);
        subscribers.streams.push(stream);
    }
    subscribers
}

fn filtered(prefix: &str) -> Subscription {
    let selector = Selector::new(prefix);
    Subscription::new([])
        .every_topic()
        .filter(Filter::new(move |routing: &Routing| {
            selector.matches(routing)
        }))
}

/// Publishes once; the future completes on its first poll.
#[inline(never)]
fn publish_one(joe: &Joe, message: &Message, topics: &[Topic]) {
    publish_inline(joe, message, topics);
}

#[inline(always)]
fn publish_inline(joe: &Joe, message: &Message, topics: &[Topic]) {
    joe.publish(message.clone(), topics)
        .now_or_never()
        .expect("publish completes at once")
        .expect("published");
}

/// Runs the woken tasks until none is left; returns the frames read.
#[inline(never)]
fn drain(subscribers: &mut Subscribers) -> usize {
    drain_inline(subscribers)
}

#[inline(always)]
fn drain_inline(subscribers: &mut Subscribers) -> usize {
    let mut frames = 0;
    loop {
        std::mem::swap(
            &mut subscribers.running,
            &mut *subscribers.queue.lock().expect("not poisoned"),
        );
        if subscribers.running.is_empty() {
            return frames;
        }
        for index in subscribers.running.drain(..) {
            subscribers.tasks[index]
                .scheduled
                .store(false, Ordering::Release);
            let mut cx = Context::from_waker(&subscribers.wakers[index]);
            let mut stream = Pin::new(&mut subscribers.streams[index]);
            loop {
                match stream.as_mut().poll_next(&mut cx) {
                    Poll::Ready(Some(Ok(_frame))) => frames += 1,
                    Poll::Ready(other) => panic!("subscriber {index} ended: {other:?}"),
                    Poll::Pending => break,
                }
            }
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let case = args.next().unwrap_or_else(|| "exact".into());
    let n: usize = args.next().map_or(1000, |n| n.parse().expect("N"));
    let m: usize = args.next().map_or(256, |m| m.parse().expect("M"));

    let joe = match case.as_str() {
        "exact-replayer" => Joe::builder().replayer(FiniteReplayer::new(1024)).build(),
        _ => Joe::new(),
    };
    let books = Topic::from("/books/1");
    let exact = || Subscription::new([books.clone()]);
    let (mut subscribers, topics, expected) = match case.as_str() {
        "exact" | "exact-replayer" => (subscribe(&joe, (0..n).map(|_| exact())), [books], n),
        "exact-beside-filtered" => {
            let all = (0..n).map(|_| exact()).chain([filtered("/books/")]);
            (subscribe(&joe, all), [books], n + 1)
        }
        "filtered" => {
            let all = (0..n).map(|_| filtered("/books/"));
            (subscribe(&joe, all), [books], n)
        }
        "filtered-miss" => {
            let all = (0..n).map(|_| filtered("/books/"));
            (subscribe(&joe, all), [Topic::from("/authors/1")], 0)
        }
        other => panic!("no case {other}"),
    };
    let message = Message::new().data("x".repeat(256));

    assert_eq!(drain_inline(&mut subscribers), 0, "nothing published yet");
    for _ in 0..WARM_UP {
        publish_inline(&joe, &message, &topics);
        assert_eq!(drain_inline(&mut subscribers), expected, "delivered");
    }
    let mut frames = 0;
    for _ in 0..m {
        publish_one(&joe, &message, &topics);
        frames += drain(&mut subscribers);
    }
    assert_eq!(frames, expected * m, "every subscriber got every update");
    println!("{case} subscribers={n} publishes={m} frames={frames}");
    joe.shutdown()
        .now_or_never()
        .expect("shutdown completes at once");
}
