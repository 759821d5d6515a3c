//! Parsing throughput of `sse_codec::Parser` against its peers and two
//! limits, over the generated corpora of `sse_benches::cases`.
//!
//! Run with short settings on a small machine:
//!
//! ```text
//! cargo bench -p sse-benches --bench parse -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! Group `parse/<corpus>/<chunking>`, one function per subject. Every
//! subject is checked to report the corpus's `(events, data bytes)` before
//! anything is timed (and by `tests/agree.rs`).

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use criterion::{Criterion, SamplingMode, Throughput, black_box, criterion_group, criterion_main};
use sse_benches::{Case, cases, eventsource_stream, from_utf8, memchr2, sse_codec, sse_parse};

/// Panics unless every subject reads `case` correctly.
fn check(case: &Case) {
    let expected = case.corpus.expected;
    assert_eq!(
        sse_codec(&case.chunks),
        expected,
        "sse-codec on {}",
        case.name
    );
    assert_eq!(
        sse_parse(&case.chunks),
        expected,
        "sse-parse on {}",
        case.name
    );
    if case.eventsource_stream_feasible() {
        assert_eq!(
            eventsource_stream(&case.chunks),
            expected,
            "eventsource-stream on {}",
            case.name
        );
    }
    assert_eq!(
        memchr2(&case.chunks),
        case.corpus.line_end_bytes,
        "memchr2 on {}",
        case.name
    );
    assert_eq!(
        from_utf8(&case.chunks),
        case.len() as u64,
        "from_utf8 on {}",
        case.name
    );
}

fn parse(c: &mut Criterion) {
    let cases = cases();
    for case in &cases {
        check(case);
    }
    for case in &cases {
        let mut group = c.benchmark_group(format!("parse/{}", case.name));
        group
            .throughput(Throughput::Bytes(case.len() as u64))
            .sample_size(20)
            .sampling_mode(SamplingMode::Flat);
        let chunks = &case.chunks[..];
        group.bench_function("sse-codec", |b| b.iter(|| sse_codec(black_box(chunks))));
        if case.eventsource_stream_feasible() {
            group.bench_function("eventsource-stream", |b| {
                b.iter(|| eventsource_stream(black_box(chunks)))
            });
        }
        group.bench_function("sse-parse", |b| b.iter(|| sse_parse(black_box(chunks))));
        group.bench_function("memchr2", |b| b.iter(|| memchr2(black_box(chunks))));
        group.bench_function("from_utf8", |b| b.iter(|| from_utf8(black_box(chunks))));
        group.finish();
    }
}

criterion_group!(benches, parse);
criterion_main!(benches);
