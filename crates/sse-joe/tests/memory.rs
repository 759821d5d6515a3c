//! What subscribers cost Joe in memory, counted by a global allocator: an
//! idle subscriber's stream, waiter, reader in the topic's log and entry in
//! the registry (a server holds one per open event stream, so this is the
//! bound per connection that Joe adds to the HTTP stack's own), and what a
//! stalled subscriber still holds once it was ended for lagging.

// A counting allocator forwards to the system one: that is all the unsafe
// code does.
#![allow(unsafe_code, missing_docs)]

use futures_util::{FutureExt, StreamExt};
use sse_codec::{Encoded, Message, Provider, Subscription, Topic};
use sse_joe::{Error, Joe, Subscriber};
use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
};

struct Counting;

thread_local! {
    /// The bytes this thread allocated less those it freed. Each test runs
    /// Joe on its own thread (a current-thread runtime), so that tests
    /// running side by side do not count each other's allocations.
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn count(bytes: isize) {
    // A thread's last frees may come after its thread-locals are gone.
    let _ = LIVE.try_with(|live| live.set(live.get() + bytes));
}

fn live() -> isize {
    LIVE.with(Cell::get)
}

// SAFETY: every call forwards to `System` with the caller's arguments; the
// counter is only arithmetic on a thread-local without a destructor.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size() as isize);
        // SAFETY: the caller's contract for `alloc`, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(-(layout.size() as isize));
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size as isize - layout.size() as isize);
        // SAFETY: the caller's contract for `realloc`, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Joe's bytes per idle subscriber of one topic, heap and stream together.
const BOUND: usize = 640;

async fn subscribe(joe: &Joe, topics: &[Topic]) -> Subscriber {
    let subscription = Subscription::new(topics.iter().cloned());
    joe.subscribe(subscription).await.unwrap().stream
}

#[tokio::test(flavor = "current_thread")]
async fn an_idle_subscriber_costs_joe_at_most_640_bytes() {
    const N: usize = 10_000;
    let joe = Joe::new();
    let topic = [Topic::DEFAULT];
    let mut streams = Vec::with_capacity(N);
    // The first subscriber creates the topic's log.
    let first = subscribe(&joe, &topic).await;
    let before = live();
    for _ in 0..N {
        streams.push(subscribe(&joe, &topic).await);
    }
    // Idle after one message: read, then waiting with a waker registered.
    joe.publish(Message::new().data("x"), &topic).await.unwrap();
    for stream in &mut streams {
        assert!(stream.next().now_or_never().is_some());
        assert!(stream.next().now_or_never().is_none());
    }
    let heap = (live() - before) as usize / N;
    let each = heap + size_of::<Subscriber>();
    println!(
        "an idle subscriber: {heap} bytes on the heap, {} in its stream",
        size_of::<Subscriber>()
    );
    assert!(each <= BOUND, "{each} bytes per idle subscriber");
    drop((first, streams));
}

/// One subscriber never polls while three others read 100 publishes of
/// 4 KiB. Publishing never waits (each publish completes on its first
/// poll), the others receive everything, and the stalled one is ended:
/// it then holds, besides its own bytes, only the segment of the log its
/// cursor is in, until its stream yields the lag error.
#[tokio::test(flavor = "current_thread")]
async fn a_stalled_subscriber_is_ended_and_holds_nobody_back() {
    const CAPACITY: usize = 8;
    let joe = Joe::builder().capacity(CAPACITY).build();
    let topic = [Topic::DEFAULT];
    let mut stalled = subscribe(&joe, &topic).await;
    let mut fast = Vec::new();
    for _ in 0..3 {
        fast.push(subscribe(&joe, &topic).await);
    }
    let message = |i: usize| Message::new().data(format!("{i:04}{}", "x".repeat(4096)));
    let mut received = vec![Vec::new(); fast.len()];
    for i in 0..100 {
        let publish = joe.publish(message(i), &topic);
        publish
            .now_or_never()
            .expect("publish never waits")
            .unwrap();
        for (sub, got) in fast.iter_mut().zip(&mut received) {
            // Copies: the frames themselves would keep the segments alive.
            while let Some(Some(frame)) = sub.next().now_or_never() {
                got.push(frame.unwrap().as_bytes().to_vec());
            }
        }
        let expected = if i < CAPACITY { 4 } else { 3 };
        assert_eq!(joe.stats().receiving, expected, "after publish {i}");
        assert_eq!(
            joe.subscriber_count(),
            4,
            "the stalled stream is still open"
        );
    }
    let all: Vec<Encoded> = (0..100).map(|i| message(i).to_encoded()).collect();
    for got in &received {
        assert!(got.iter().eq(all.iter().map(Encoded::as_bytes)));
    }
    let stats = joe.stats();
    assert_eq!(
        (stats.lagged, stats.queued_frames, stats.queued_bytes),
        (1, 0, 0)
    );
    // The stalled one's cursor is still in the log's first segment: two
    // entries, as a log of 8 frames has segments of 8 / 4, which only it
    // keeps alive. It goes when the stream yields the reason, at once.
    let segment = 2 * all[0].len() as isize;
    let held = live();
    assert!(matches!(
        stalled.next().await,
        Some(Err(Error::Lagged {
            capacity: CAPACITY,
            ..
        }))
    ));
    let pinned = held - live();
    println!("an ended subscriber kept {pinned} bytes of the log alive");
    assert!(
        (segment..segment + 512).contains(&pinned),
        "{pinned} bytes for a segment of {segment}"
    );
    assert!(stalled.next().await.is_none());
    let held = live();
    drop(stalled);
    let own = held - live();
    assert!(own <= BOUND as isize, "{own} bytes of its own");
    assert_eq!(joe.subscriber_count(), 3);
}
