//! Runs one subject over one case once, for a profiler:
//!
//! ```text
//! cargo build --release -p sse-benches --example profile
//! valgrind --tool=callgrind --toggle-collect='sse_benches::sse_codec*' \
//!     target/release/examples/profile llm/4K sse-codec
//! ```
//!
//! Cases and subjects are named as in the `parse` bench.

use sse_benches::{cases, eventsource_stream, from_utf8, memchr2, sse_codec, sse_parse};

fn main() {
    let mut args = std::env::args().skip(1);
    let case_name = args.next().unwrap_or_else(|| "llm/4K".into());
    let subject = args.next().unwrap_or_else(|| "sse-codec".into());
    let case = cases()
        .into_iter()
        .find(|case| case.name == case_name)
        .unwrap_or_else(|| panic!("no case {case_name}"));
    let chunks = &case.chunks[..];
    let result = match subject.as_str() {
        "sse-codec" => format!("{:?}", sse_codec(chunks)),
        "sse-parse" => format!("{:?}", sse_parse(chunks)),
        "eventsource-stream" => format!("{:?}", eventsource_stream(chunks)),
        "memchr2" => format!("{}", memchr2(chunks)),
        "from_utf8" => format!("{}", from_utf8(chunks)),
        other => panic!("no subject {other}"),
    };
    println!("{case_name} {subject}: {result}");
}
