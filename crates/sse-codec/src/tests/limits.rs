//! The maximum event size: exact whichever path a line takes, one error
//! per oversize event, and nothing buffered beyond it.

use super::{Out, ev, msg, parse_chunks_with};
use crate::{ParseError, Parser};
use alloc::{vec, vec::Vec};
use bytes::Bytes;
use core::time::Duration;

/// Parses `input` in one chunk with a maximum event size of `max`.
fn parse_with_max(input: &str, max: usize) -> (Vec<Out>, Parser) {
    parse_chunks_with(Parser::with_max_event_size(max), &[input.as_bytes()])
}

/// What an event over `limit` bytes gives.
fn too_large(limit: usize) -> Out {
    Out::Error(ParseError::EventTooLarge { limit })
}

#[test]
fn size_limits_are_exact_whatever_the_path() {
    // A line may be as long as the limit (32 here), and the data buffer
    // (each value plus its LF) may fill it, but neither may pass it.
    let line_fits = "data: 0123456789abcdefghijklmnop\n\n";
    let line_over = "data: 0123456789abcdefghijklmnopq\n\n";
    let data_fits = "data: 0123456789abcde\ndata: 0123456789abcde\n\n";
    let data_over = "data: 0123456789abcde\ndata: 0123456789abcdef\n\n";
    for (input, expected) in [
        (line_fits, vec![msg("0123456789abcdefghijklmnop")]),
        (line_over, vec![too_large(32)]),
        (data_fits, vec![msg("0123456789abcde\n0123456789abcde")]),
        (data_over, vec![too_large(32)]),
    ] {
        let bytes = input.as_bytes();
        for at in 0..=bytes.len() {
            let parser = Parser::with_max_event_size(32);
            let (outs, _) = parse_chunks_with(parser, &[&bytes[..at], &bytes[at..]]);
            assert_eq!(outs, expected, "{input:?} cut at {at}");
        }
    }
}

#[test]
fn oversize_line_is_an_error_and_the_stream_goes_on() {
    let big = "x".repeat(100);
    let input = alloc::format!("data: a\n\ndata: {big}\ndata: more\n\ndata: b\n\n");
    let (outs, _) = parse_with_max(&input, 64);
    assert_eq!(outs, [msg("a"), too_large(64), msg("b")]);
}

#[test]
fn oversize_data_buffer_is_an_error() {
    let line = "data: 0123456789\n".repeat(10);
    let input = alloc::format!("{line}\ndata: ok\n\n");
    let (outs, _) = parse_with_max(&input, 64);
    assert_eq!(outs, [too_large(64), msg("ok")]);
}

#[test]
fn one_error_per_oversize_event_and_its_id_still_counts() {
    let long = "x".repeat(40);
    let input = alloc::format!(
        "id: 1\ndata: a\n\nid: 2\ndata: {long}\ndata: {long}\nretry: 7\n\ndata: b\n\n"
    );
    let (outs, parser) = parse_with_max(&input, 32);
    assert_eq!(
        outs,
        [
            ev("message", "a", "1"),
            too_large(32),
            ev("message", "b", "2")
        ]
    );
    assert_eq!(parser.retry(), Some(Duration::from_millis(7)));

    // Resuming after a dropped oversize event starts after it.
    let input = alloc::format!("id: 3\ndata: {long}\n\n");
    let (_, parser) = parse_with_max(&input, 32);
    assert_eq!(parser.last_event_id(), "3");
}

#[test]
fn endless_line_is_bounded() {
    let mut parser = Parser::with_max_event_size(1024);
    let chunk = Bytes::from(alloc::vec![b'x'; 4096]);
    let mut errors = 0;
    for _ in 0..1000 {
        parser.feed(chunk.clone());
        while let Err(err) = parser.next_event() {
            assert_eq!(err, ParseError::EventTooLarge { limit: 1024 });
            errors += 1;
        }
    }
    assert_eq!(
        errors, 1,
        "one error per event, then skipped without buffering"
    );
}
