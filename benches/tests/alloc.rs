//! Heap allocations of the parser, counted with a counting global allocator:
//! none per event in steady state on any corpus of the benchmarks, none for
//! the data of a single-line event parsed from a `Bytes` chunk, and none
//! per subscriber when Joe fans a message out.
//!
//! The counts are per thread, so the tests of this file may run in parallel.
//! `cargo test -p sse-benches --test alloc -- --nocapture` prints them.
#![allow(unsafe_code)] // Implementing `GlobalAlloc` takes `unsafe`.

use bytes::Bytes;
use sse_benches::{Corpus, MAX_EVENT_SIZE, big, crlf, llm, multiline, split};
use sse_codec::Parser;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// Counts `alloc`, `alloc_zeroed` and `realloc` calls on the current thread.
struct Counting;

fn count() {
    // `try_with`: the thread's counter may be gone while it exits.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments, so
// `System` upholds the `GlobalAlloc` contract; counting does not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's guarantees for `alloc` are passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: `ptr` came from this allocator, which is `System`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, which is `System`'s.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// Allocations per event over the second half of `corpus` in `size`-byte
/// chunks, after the first half has warmed the parser up. Events are
/// dropped as they come, as a consumer that handles them would.
fn per_event(corpus: &Corpus, size: usize) -> f64 {
    let chunks = split(&corpus.bytes, size);
    let (warm, measured) = chunks.split_at(chunks.len() / 2);
    let mut parser = Parser::with_max_event_size(MAX_EVENT_SIZE);
    let mut events = 0u64;
    let mut run = |chunks: &[Bytes], events: &mut u64| {
        for chunk in chunks {
            parser.feed(chunk.clone());
            while let Some(event) = parser.next_event().expect("no oversize event") {
                drop(event);
                *events += 1;
            }
        }
    };
    run(warm, &mut events);
    events = 0;
    let before = allocations();
    run(measured, &mut events);
    let spent = allocations() - before;
    spent as f64 / events as f64
}

/// Steady-state parsing allocates nothing per event, on every corpus that
/// the README's table reports, in both chunk sizes: the parser's buffers
/// reach their size while warming up and are reused, and an event's data
/// shares them. The bound is one allocation per thousand events, not zero:
/// whether a reused buffer can be reclaimed in place or must grow once
/// depends on what else the process holds.
#[test]
fn steady_state_parsing_allocates_nothing_per_event() {
    let corpora = [
        ("llm", llm()),
        ("crlf", crlf()),
        ("multiline", multiline()),
        ("big", big()),
    ];
    for (name, corpus) in &corpora {
        for size in [4 << 10, 64 << 10] {
            let n = per_event(corpus, size);
            println!("{name}/{}K: {n:.4} allocations per event", size >> 10);
            assert!(
                n < 0.001,
                "{name}/{}K: {n} allocations per event",
                size >> 10
            );
        }
    }
}

#[test]
fn single_line_data_from_a_bytes_chunk_is_not_copied() {
    let wire = b"id: 7\nevent: delta\ndata: {\"content\":\" token\"}\n\n".to_vec();
    // A chunk as an HTTP client hands it out: shared, reference-counted.
    let chunk = Bytes::from(wire);
    let shared = chunk.clone();
    let mut parser = Parser::new();

    let before = allocations();
    parser.feed(chunk);
    let event = parser.next_event().unwrap().expect("an event");
    let spent = allocations() - before;

    println!("single-line event from a Bytes chunk: {spent} allocations");
    assert_eq!(event.data(), r#"{"content":" token"}"#);
    assert_eq!(event.event_type(), "delta");
    assert_eq!(event.last_event_id(), "7");
    let data = event.data_bytes().as_ptr_range();
    let within = shared.as_ptr_range();
    assert!(
        within.start <= data.start && data.end <= within.end,
        "the data is the chunk's memory"
    );
    assert_eq!(spent, 0, "parsing a single-line event allocated");
}

/// Joe's fan-out: a publish costs the same allocations whatever the number
/// of subscribers (the frame is encoded once and shared; queues keep their
/// buffers), so nothing is allocated per subscriber.
#[test]
fn joe_publish_allocates_nothing_per_subscriber() {
    use futures_util::{FutureExt, StreamExt};
    use sse_codec::{Message, Provider, Subscription, Topic};

    fn per_publish(subscribers: usize) -> f64 {
        let joe = sse_joe::Joe::new();
        let mut streams: Vec<_> = (0..subscribers)
            .map(|_| {
                let subscription = Subscription::new([Topic::DEFAULT]);
                joe.subscribe(subscription)
                    .now_or_never()
                    .unwrap()
                    .unwrap()
                    .stream
            })
            .collect();
        let message = Message::new().data("x".repeat(256));
        let mut round = || {
            joe.publish(message.clone(), &[Topic::DEFAULT])
                .now_or_never()
                .unwrap()
                .unwrap();
            for stream in &mut streams {
                stream.next().now_or_never().unwrap().unwrap().unwrap();
            }
        };
        // Warm up: queues and the registry reach their steady size.
        for _ in 0..8 {
            round();
        }
        let before = allocations();
        let rounds = 50;
        for _ in 0..rounds {
            round();
        }
        (allocations() - before) as f64 / f64::from(rounds)
    }

    let one = per_publish(1);
    let many = per_publish(1000);
    println!("joe: {one:.2} allocations per publish to 1 subscriber, {many:.2} to 1000");
    assert!(
        many <= one + 0.5,
        "{many} allocations per publish to 1000 vs {one} to 1"
    );
}
