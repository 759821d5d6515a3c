//! Encoding a `Message` into a new `Encoded`, and into a reused buffer.
//!
//! ```text
//! cargo bench -p sse-benches --bench encode -- --warm-up-time 1 --measurement-time 3
//! ```

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use sse_benches::{encode_buffer, messages};

fn encode(c: &mut Criterion) {
    for (name, message) in messages() {
        let mut group = c.benchmark_group(format!("encode/{name}"));
        group.throughput(Throughput::Bytes(message.encoded_len() as u64));
        group.bench_function("frame", |b| b.iter(|| black_box(&message).to_encoded()));
        let mut buf = encode_buffer();
        group.bench_function("reused-buffer", |b| {
            b.iter(|| {
                buf.clear();
                black_box(&message)
                    .encode(&mut buf)
                    .expect("a BytesMut grows");
                black_box(buf.len())
            })
        });
        group.finish();
    }
}

criterion_group!(benches, encode);
criterion_main!(benches);
