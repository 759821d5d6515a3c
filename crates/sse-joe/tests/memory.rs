//! What an idle subscriber costs Joe in memory, counted by a global
//! allocator: its stream, its waiter, its reader in the topic's log and
//! its entry in the registry. A server holds one per open event stream, so
//! this is the bound per connection that Joe adds to the HTTP stack's own.

// A counting allocator forwards to the system one: that is all the unsafe
// code does.
#![allow(unsafe_code, missing_docs)]

use futures_util::{FutureExt, StreamExt};
use sse_codec::{Message, Provider, Subscription, Topic};
use sse_joe::Joe;
use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::atomic::{AtomicIsize, Ordering},
};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call forwards to `System` with the caller's arguments; the
// counter is only arithmetic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc`, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: the caller's contract for `realloc`, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Joe's bytes per idle subscriber of one topic, heap and stream together.
const BOUND: usize = 640;

#[tokio::test(flavor = "current_thread")]
async fn an_idle_subscriber_costs_joe_at_most_640_bytes() {
    const N: usize = 10_000;
    let joe = Joe::new();
    let topic = [Topic::DEFAULT];
    let mut streams = Vec::with_capacity(N);
    // The first subscriber creates the topic's log.
    let first = joe.subscribe(Subscription::new(topic.clone())).await;
    let before = LIVE.load(Ordering::Relaxed);
    for _ in 0..N {
        let subscribed = joe.subscribe(Subscription::new(topic.clone())).await;
        streams.push(subscribed.unwrap().stream);
    }
    // Idle after one message: read, then waiting with a waker registered.
    joe.publish(Message::new().data("x"), &topic).await.unwrap();
    for stream in &mut streams {
        assert!(stream.next().now_or_never().is_some());
        assert!(stream.next().now_or_never().is_none());
    }
    let heap = (LIVE.load(Ordering::Relaxed) - before) as usize / N;
    let each = heap + size_of::<sse_joe::Subscriber>();
    println!(
        "an idle subscriber: {heap} bytes on the heap, {} in its stream",
        size_of::<sse_joe::Subscriber>()
    );
    assert!(each <= BOUND, "{each} bytes per idle subscriber");
    drop((first, streams));
}
