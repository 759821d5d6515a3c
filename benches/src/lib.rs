//! Shared corpora and subjects for the criterion benchmarks in `benches/`.
//!
//! Every corpus is generated in code from a fixed seed, so the input is
//! byte-identical on every run and on every machine. Each [`Case`] is a
//! corpus pre-split into the `Vec<Bytes>` that every subject is fed, with
//! the `(events, data bytes)` the generator knows it holds; the tests in
//! `tests/agree.rs` check every subject against that before any timing.

use bytes::{Bytes, BytesMut};
use core::convert::Infallible;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};
use futures_core::Stream;

/// The number of events in the "llm" corpus.
pub const LLM_EVENTS: usize = 200_000;
/// The number of events in the "short" corpus.
pub const SHORT_EVENTS: usize = 400_000;
/// The number of events in the "big" corpus.
pub const BIG_EVENTS: usize = 256;
/// The data size of each event in the "big" corpus.
pub const BIG_DATA: usize = 64 << 10;
/// The number of events in the "multiline" corpus.
pub const MULTILINE_EVENTS: usize = 25_000;
/// The data lines in each event of the "multiline" corpus.
pub const MULTILINE_LINES: usize = 10;
/// The size of the one data line of the "line8m" corpus.
pub const LONG_LINE: usize = 8 << 20;
/// How much of "llm" the one-byte case feeds.
pub const ONE_BYTE_PREFIX: usize = 1 << 20;
/// The maximum event size the `sse-codec` parser is given: above every
/// event here, so no subject rejects anything.
pub const MAX_EVENT_SIZE: usize = 16 << 20;

/// A tiny xorshift64 generator: deterministic, no dependency.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> XorShift {
        XorShift(seed | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// What a parser must report for a stream: the events dispatched and the
/// total length of their data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Events dispatched.
    pub events: u64,
    /// The sum of the events' data lengths, in bytes.
    pub data_bytes: u64,
}

impl Tally {
    fn add(&mut self, data_len: usize) {
        self.events += 1;
        self.data_bytes += data_len as u64;
    }
}

/// A generated event stream and what it holds.
#[derive(Clone, Debug)]
pub struct Corpus {
    /// The wire bytes.
    pub bytes: Bytes,
    /// The events in it.
    pub expected: Tally,
    /// Its CR and LF bytes (what the memchr2 limit counts).
    pub line_end_bytes: u64,
}

struct Builder {
    out: Vec<u8>,
    eol: &'static [u8],
    expected: Tally,
    /// Where each event ended, and the tally up to there.
    boundaries: Vec<(usize, Tally)>,
}

impl Builder {
    fn new(eol: &'static [u8]) -> Builder {
        Builder {
            out: Vec::new(),
            eol,
            expected: Tally::default(),
            boundaries: Vec::new(),
        }
    }

    fn line(&mut self, parts: &[&[u8]]) {
        for part in parts {
            self.out.extend_from_slice(part);
        }
        self.out.extend_from_slice(self.eol);
    }

    fn end_event(&mut self, data_len: usize) {
        self.out.extend_from_slice(self.eol);
        self.expected.add(data_len);
        self.boundaries.push((self.out.len(), self.expected));
    }

    fn finish(self) -> Corpus {
        let line_end_bytes = memchr::memchr2_iter(b'\n', b'\r', &self.out).count() as u64;
        Corpus {
            bytes: Bytes::from(self.out),
            expected: self.expected,
            line_end_bytes,
        }
    }

    /// The corpus cut at the last event boundary at or before `max` bytes.
    fn prefix(&self, max: usize) -> Corpus {
        let (end, expected) = self
            .boundaries
            .iter()
            .rev()
            .find(|(end, _)| *end <= max)
            .copied()
            .unwrap_or_default();
        let bytes = Bytes::copy_from_slice(&self.out[..end]);
        let line_end_bytes = memchr::memchr2_iter(b'\n', b'\r', &bytes).count() as u64;
        Corpus {
            bytes,
            expected,
            line_end_bytes,
        }
    }
}

const WORDS: &[&str] = &[
    " the",
    " a",
    " of",
    " to",
    " and",
    " in",
    " is",
    " that",
    " for",
    " it",
    " parser",
    " stream",
    " token",
    " event",
    " server",
    " client",
    " data",
    " line",
    " byte",
    " chunk",
    ".",
    ",",
    "!",
    "?",
    "\\n",
    "\\n\\n",
    " \\\"quoted\\\"",
    " JSON",
    " model",
    " Rust",
    " async",
    " fn",
];

const EVENT_TYPES: &[&str] = &["delta", "content_block_delta", "ping", "usage"];

fn llm_builder(eol: &'static [u8]) -> Builder {
    let mut rng = XorShift::new(0x5EED_11A1);
    let mut b = Builder::new(eol);
    let mut data = Vec::new();
    for n in 0..LLM_EVENTS {
        if n % 10 == 9 {
            let ty = EVENT_TYPES[rng.below(EVENT_TYPES.len())];
            b.line(&[b"event: ", ty.as_bytes()]);
        }
        data.clear();
        data.extend_from_slice(br#"{"id":"chatcmpl-"#);
        data.extend_from_slice(format!("{:x}", rng.next_u64() >> 40).as_bytes());
        data.extend_from_slice(
            br#"","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":""#,
        );
        for _ in 0..1 + rng.below(3) {
            data.extend_from_slice(WORDS[rng.below(WORDS.len())].as_bytes());
        }
        data.extend_from_slice(br#""}}]}"#);
        b.line(&[b"data: ", &data]);
        b.end_event(data.len());
    }
    b
}

/// "llm": 200k small JSON `data:` events like an LLM token stream, one in
/// ten with an `event:` line, LF line ends.
pub fn llm() -> Corpus {
    llm_builder(b"\n").finish()
}

/// "short": 400k `data:` events of about 60 bytes, a token delta each, as
/// LLM APIs that send little besides the text do: the per-event cost
/// against the per-byte one.
pub fn short() -> Corpus {
    let mut rng = XorShift::new(0x5407_7E11);
    let mut b = Builder::new(b"\n");
    let mut data = Vec::new();
    for n in 0..SHORT_EVENTS {
        data.clear();
        data.extend_from_slice(br#"{"type":"delta","index":"#);
        data.extend_from_slice(format!("{}", n % 4).as_bytes());
        data.extend_from_slice(br#","delta":{"text":""#);
        for _ in 0..1 + rng.below(3) {
            data.extend_from_slice(WORDS[rng.below(WORDS.len())].as_bytes());
        }
        data.extend_from_slice(br#""}}"#);
        b.line(&[b"data: ", &data]);
        b.end_event(data.len());
    }
    b.finish()
}

/// "crlf": "llm" with CRLF line ends.
pub fn crlf() -> Corpus {
    llm_builder(b"\r\n").finish()
}

/// The events of "llm" that fit in its first [`ONE_BYTE_PREFIX`] bytes.
pub fn llm_prefix() -> Corpus {
    llm_builder(b"\n").prefix(ONE_BYTE_PREFIX)
}

fn text(rng: &mut XorShift, len: usize, out: &mut Vec<u8>) {
    const ALPHABET: &[u8] =
        b"abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789{}:,\"";
    out.extend((0..len).map(|_| ALPHABET[rng.below(ALPHABET.len())]));
}

/// "big": 256 events, each one data line of 64 KiB.
pub fn big() -> Corpus {
    let mut rng = XorShift::new(0xB16_B16);
    let mut b = Builder::new(b"\n");
    let mut data = Vec::with_capacity(BIG_DATA);
    for _ in 0..BIG_EVENTS {
        data.clear();
        text(&mut rng, BIG_DATA, &mut data);
        b.line(&[b"data: ", &data]);
        b.end_event(data.len());
    }
    b.finish()
}

/// "multiline": events of an `id`, an `event` and ten `data` lines.
pub fn multiline() -> Corpus {
    let mut rng = XorShift::new(0x3017_1111);
    let mut b = Builder::new(b"\n");
    let mut line = Vec::new();
    for n in 0..MULTILINE_EVENTS {
        b.line(&[b"id: ", n.to_string().as_bytes()]);
        let ty = EVENT_TYPES[rng.below(EVENT_TYPES.len())];
        b.line(&[b"event: ", ty.as_bytes()]);
        let mut data_len = 0;
        for i in 0..MULTILINE_LINES {
            line.clear();
            let len = 20 + rng.below(60);
            text(&mut rng, len, &mut line);
            b.line(&[b"data: ", &line]);
            // The lines are joined with LF.
            data_len += line.len() + usize::from(i > 0);
        }
        b.end_event(data_len);
    }
    b.finish()
}

/// "line8m": one event of one 8 MiB data line (eventsource-stream's issue
/// #11: quadratic when fed in small chunks).
pub fn long_line() -> Corpus {
    let mut b = Builder::new(b"\n");
    let data = vec![b'x'; LONG_LINE];
    b.line(&[b"data: ", &data]);
    b.end_event(data.len());
    b.finish()
}

/// Splits `bytes` into chunks of `size` bytes (the last may be shorter),
/// sharing its memory.
pub fn split(bytes: &Bytes, size: usize) -> Vec<Bytes> {
    (0..bytes.len())
        .step_by(size)
        .map(|start| bytes.slice(start..bytes.len().min(start + size)))
        .collect()
}

/// One benchmark input: a corpus in one chunking.
#[derive(Clone, Debug)]
pub struct Case {
    /// `corpus/chunking`, e.g. `llm/4K`.
    pub name: String,
    /// The corpus.
    pub corpus: Corpus,
    /// The corpus, pre-split.
    pub chunks: Vec<Bytes>,
}

impl Case {
    /// The case of `corpus` split into `size`-byte chunks, named
    /// `corpus_name/label`.
    pub fn new(corpus_name: &str, label: &str, corpus: &Corpus, size: usize) -> Case {
        Case {
            name: format!("{corpus_name}/{label}"),
            chunks: split(&corpus.bytes, size),
            corpus: corpus.clone(),
        }
    }

    /// The corpus length in bytes.
    pub fn len(&self) -> usize {
        self.corpus.bytes.len()
    }

    /// Whether the corpus is empty (never, for the generated ones).
    pub fn is_empty(&self) -> bool {
        self.corpus.bytes.is_empty()
    }

    /// Whether eventsource-stream can be run on this case in reasonable
    /// time: not on the long line in small chunks, where it rescans the
    /// whole buffered line on every chunk (quadratic; its issue #11).
    pub fn eventsource_stream_feasible(&self) -> bool {
        !(self.name.starts_with("line8m/") && self.chunks.len() > 1)
    }
}

/// Every benchmark case: "llm", "short", "big", "multiline", "crlf" in 4 KiB
/// and 64 KiB chunks, the first MiB of "llm" one byte at a time, and the 8 MiB
/// line in 1 KiB chunks and whole.
pub fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let llm = llm();
    for (name, corpus) in [
        ("llm", &llm),
        ("short", &short()),
        ("big", &big()),
        ("multiline", &multiline()),
        ("crlf", &crlf()),
    ] {
        cases.push(Case::new(name, "4K", corpus, 4 << 10));
        cases.push(Case::new(name, "64K", corpus, 64 << 10));
    }
    cases.push(Case::new("llm1M", "1B", &llm_prefix(), 1));
    let line = long_line();
    cases.push(Case::new("line8m", "1K", &line, 1 << 10));
    cases.push(Case::new("line8m", "whole", &line, line.bytes.len()));
    cases
}

use std::hint::black_box;

/// A hub's selector as Joe's filtered fan-out benches stand it in, compiled
/// once: a prefix of the topics it selects.
#[derive(Clone, Debug)]
pub struct Selector {
    prefix: Box<str>,
}

impl Selector {
    /// The selector of the topics that start with `prefix`.
    pub fn new(prefix: &str) -> Selector {
        Selector {
            prefix: prefix.into(),
        }
    }

    /// Whether one of the update's topics starts with the prefix.
    pub fn matches(&self, routing: &sse_codec::Routing) -> bool {
        routing
            .topics()
            .iter()
            .any(|topic| topic.as_str().starts_with(&*self.prefix))
    }
}

/// Parses with `sse_codec::Parser`: feeds each chunk (by reference count,
/// no copy), drains `next_event`, then finishes. Reads each event's data as
/// text, through `data()`, as users do.
#[inline(never)]
pub fn sse_codec(chunks: &[Bytes]) -> Tally {
    let mut parser = sse_codec::Parser::with_max_event_size(MAX_EVENT_SIZE);
    let mut tally = Tally::default();
    let mut drain = |parser: &mut sse_codec::Parser| {
        loop {
            match parser.next_event() {
                Ok(Some(event)) => tally.add(black_box(event.data()).len()),
                Ok(None) => break,
                // Never happens on these corpora (checked by the tests).
                Err(_) => tally.events += 1 << 40,
            }
        }
    };
    for chunk in chunks {
        parser.feed(chunk.clone());
        drain(&mut parser);
    }
    parser.finish();
    drain(&mut parser);
    tally
}

/// Parses with `sse_parse::SseParser`: feeds each chunk, drains, finishes.
#[inline(never)]
pub fn sse_parse(chunks: &[Bytes]) -> Tally {
    let mut parser = sse_parse::SseParser::new();
    let mut tally = Tally::default();
    for chunk in chunks {
        parser.feed(chunk);
        while let Some(event) = parser.next_event() {
            tally.add(event.data.len());
        }
    }
    parser.finish();
    while let Some(event) = parser.next_event() {
        tally.add(event.data.len());
    }
    tally
}

/// Parses with eventsource-stream: its `Eventsource` stream over a stream
/// of the chunks, polled with a no-op waker (the input is always ready).
#[inline(never)]
pub fn eventsource_stream(chunks: &[Bytes]) -> Tally {
    use eventsource_stream::Eventsource;
    let input = futures_util::stream::iter(chunks.iter().cloned().map(Ok::<Bytes, Infallible>));
    let mut events = input.eventsource();
    let mut cx = Context::from_waker(Waker::noop());
    let mut tally = Tally::default();
    loop {
        match Pin::new(&mut events).poll_next(&mut cx) {
            Poll::Ready(Some(Ok(event))) => tally.add(event.data.len()),
            // Its parse errors (never on these corpora, checked by the tests).
            Poll::Ready(Some(Err(_))) => tally.events += 1 << 40,
            Poll::Ready(None) => break,
            Poll::Pending => unreachable!("an iterator stream is always ready"),
        }
    }
    tally
}

/// The floor for any parser: finding every CR and LF with
/// `memchr::memchr2_iter`. Returns their count.
#[inline(never)]
pub fn memchr2(chunks: &[Bytes]) -> u64 {
    chunks
        .iter()
        .map(|chunk| memchr::memchr2_iter(b'\n', b'\r', chunk).count() as u64)
        .sum()
}

/// The other floor: UTF-8 validation of every chunk with
/// `core::str::from_utf8`. Returns the bytes validated (the corpora are
/// ASCII, so no chunk ends inside a character).
#[inline(never)]
pub fn from_utf8(chunks: &[Bytes]) -> u64 {
    chunks
        .iter()
        .map(|chunk| core::str::from_utf8(chunk).map_or(0, str::len) as u64)
        .sum()
}

/// The messages the encoding benchmark encodes: a token-stream event with
/// ID and type, and a ten-line event.
pub fn messages() -> Vec<(&'static str, sse_codec::Message)> {
    use sse_codec::{EventId, EventType, Message};
    let token = Message::new()
        .id(EventId::from_static("chatcmpl-4f2a9c/1742"))
        .event(EventType::from_static("delta"))
        .data(r#"{"id":"chatcmpl-4f2a9c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" stream"}}]}"#);
    let mut rng = XorShift::new(7);
    let mut lines = Vec::new();
    for _ in 0..MULTILINE_LINES {
        text(&mut rng, 60, &mut lines);
        lines.push(b'\n');
    }
    lines.pop();
    let multiline = Message::new()
        .id(EventId::from_static("42"))
        .data(String::from_utf8(lines).expect("ASCII"));
    vec![("token", token), ("multiline", multiline)]
}

/// A buffer for encoding, reused across messages.
pub fn encode_buffer() -> BytesMut {
    BytesMut::with_capacity(64 << 10)
}
