//! A loom model of a log's publish / read / wait / lag / close protocol:
//! a publisher appends (evicting, so that the reader may lag) and closes
//! the log, as Joe's publish and shutdown do, while a subscriber reads,
//! arms its waiter and takes its second look, as its stream does, and
//! sleeps until it is woken. Loom runs every interleaving within the
//! preemption bound, with the older values the memory model lets each load
//! see (as far as loom models it: `fence(SeqCst)` yes, `SeqCst` loads and
//! stores only as acquire and release, which is why the protocol is
//! written with fences), and fails on a subscriber left asleep (a
//! deadlock), an entry read twice or skipped, or a lag it was not told.
//!
//! Run on its own, as `.ci/run` does:
//!
//! ```text
//! LOOM_MAX_PREEMPTIONS=4 RUSTFLAGS="--cfg loom" \
//!     cargo test -p sse-joe --release --lib --target-dir target/loom -- loom
//! ```

use super::{
    Found,
    tests::{Reading, check, close, publish},
};
use crate::{log::Log, sync::Arc};
use loom::{future::block_on, thread};
use std::future::poll_fn;

/// Publishes `count` entries to a log of `capacity` frames and closes it,
/// while one subscriber reads it to its end; checks what it read.
fn publish_while_reading(capacity: usize, count: u64) -> Found<u64> {
    let log = Arc::new(Log::new(capacity));
    let mut reading = Reading::new(&log, (0, 0));
    let subscriber = thread::spawn(move || {
        let waiter = Arc::clone(&reading.waiter);
        let (mut registered, mut read) = (None, Vec::new());
        loop {
            // Sleeps on `Pending` until the waker is woken: a lost wakeup
            // leaves it asleep, which loom reports as a deadlock.
            let found = block_on(poll_fn(|cx| {
                waiter.poll(&mut reading, cx.waker(), &mut registered)
            }));
            match found {
                Found::Item(seq) => read.push(seq),
                end => return (read, end),
            }
        }
    });
    let mut lagged = Vec::new();
    for seq in 1..=count {
        publish(&log, seq, (capacity, usize::MAX), &mut lagged);
    }
    close(&log);
    let (read, end) = subscriber.join().expect("the subscriber does not panic");
    check(count, &read, &end, !lagged.is_empty());
    end
}

/// Publishes and close race a waiting subscriber: it is woken for each,
/// reads both entries once, then ends.
#[test]
fn loom_a_waiting_subscriber_is_woken_by_each_append_and_the_close() {
    loom::model(|| {
        let end = publish_while_reading(8, 2);
        assert_eq!(end, Found::Done, "a log of 8 holds both");
    });
}

/// A log of one frame: a subscriber that has not read the first entry
/// when the second comes is ended, and told so, whatever the
/// interleaving; one that kept up reads both.
#[test]
fn loom_a_subscriber_that_falls_behind_is_told_it_lagged() {
    loom::model(|| {
        publish_while_reading(1, 2);
    });
}
