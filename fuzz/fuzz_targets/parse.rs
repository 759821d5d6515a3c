//! Arbitrary bytes, arbitrary chunking: the parser must give exactly the
//! events and errors of the whole input fed at once, and never an event
//! larger than its maximum size.
//!
//! Input layout: byte 0 holds the options (bits 0-2: how many chunk-size
//! bytes follow, bit 3: `dispatch_unterminated`); then the chunk-size bytes
//! (bits 0-6: the size, possibly 0; bit 7: feed the next chunk too before
//! draining); the rest is the stream, cut into chunks by cycling through
//! the sizes. Even-sized chunks go in as `Bytes`, odd ones as `&[u8]`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sse_codec::{Event, ParseError, Parser};
use std::time::Duration;

/// Everything a parser reports.
#[derive(Debug, PartialEq)]
struct Outcome {
    results: Vec<Result<Event, ParseError>>,
    retry: Option<Duration>,
    last_event_id: String,
    partial: bool,
}

fn drain(parser: &mut Parser, results: &mut Vec<Result<Event, ParseError>>) {
    loop {
        match parser.next_event() {
            Ok(Some(event)) => results.push(Ok(event)),
            Ok(None) => break,
            Err(err) => results.push(Err(err)),
        }
    }
}

fn finish(mut parser: Parser, mut results: Vec<Result<Event, ParseError>>) -> Outcome {
    drain(&mut parser, &mut results);
    parser.finish();
    drain(&mut parser, &mut results);
    assert!(parser.is_finished());
    Outcome {
        results,
        retry: parser.retry(),
        last_event_id: parser.last_event_id().as_str().to_owned(),
        partial: parser.is_partial(),
    }
}

fn whole(new: &impl Fn() -> Parser, stream: &[u8]) -> Outcome {
    let mut parser = new();
    parser.feed(bytes::Bytes::copy_from_slice(stream));
    finish(parser, Vec::new())
}

fn chunked(new: &impl Fn() -> Parser, sizes: &[u8], stream: &[u8]) -> Outcome {
    let mut parser = new();
    let mut results = Vec::new();
    let mut pos = 0;
    let mut empty_in_a_row = 0;
    for &size in sizes.iter().cycle() {
        if pos == stream.len() {
            break;
        }
        let mut len = usize::from(size & 0x7F).min(stream.len() - pos);
        if len == 0 {
            empty_in_a_row += 1;
            if empty_in_a_row > sizes.len() {
                len = 1;
            }
        }
        if len > 0 {
            empty_in_a_row = 0;
        }
        let chunk = &stream[pos..pos + len];
        pos += len;
        if len % 2 == 0 {
            parser.feed(bytes::Bytes::copy_from_slice(chunk));
        } else {
            parser.feed(chunk);
        }
        if size & 0x80 == 0 {
            drain(&mut parser, &mut results);
        }
    }
    finish(parser, results)
}

fuzz_target!(|data: &[u8]| {
    let Some((&options, rest)) = data.split_first() else {
        return;
    };
    let n_sizes = usize::from(options & 0b111).min(rest.len());
    let (sizes, stream) = rest.split_at(n_sizes);
    let sizes = if sizes.is_empty() { &[1][..] } else { sizes };
    let unterminated = options & 0b1000 != 0;

    for max in [64, sse_codec::DEFAULT_MAX_EVENT_SIZE] {
        let new = || Parser::with_max_event_size(max).dispatch_unterminated(unterminated);
        let one = whole(&new, stream);
        let many = chunked(&new, sizes, stream);
        assert_eq!(one, many, "chunking changed the outcome (max {max})");
        for event in one.results.iter().flatten() {
            // The text accessors trust that text was validated once, when
            // the event was made: check it here, where input is hostile.
            for text in [event.data_bytes(), event.last_event_id().as_bytes()] {
                assert!(core::str::from_utf8(text).is_ok(), "invalid UTF-8 in {text:?}");
            }
            assert!(core::str::from_utf8(event.to_event_type().as_bytes()).is_ok());
            // The data buffer holds each value plus one LF, and is bounded
            // by the maximum; the event's data drops the last LF. Invalid
            // UTF-8 replaced by U+FFFD may grow it, by at most 3x.
            assert!(
                event.data_bytes().len() <= 3 * max,
                "event data of {} bytes past the maximum {max}",
                event.data_bytes().len()
            );
            if event.data().is_ascii() {
                assert!(event.data_bytes().len() < max, "ASCII data reaches the maximum {max}");
            }
        }
    }
});
