//! Cross-module tests of the parser. Here, the spec's rules, each run
//! whole, byte by byte and at every cut point, and the helpers that the
//! submodules share: `limits` (the maximum event size) and `properties`
//! (any chunking gives the same events; any message survives
//! `parse(encode(m))`).

use crate::{Event, EventId, Item, ParseError, Parser};
use alloc::{string::String, vec::Vec};
use bytes::Bytes;
use core::time::Duration;

mod limits;
mod properties;

/// What a parse produces, comparable across chunkings.
#[derive(Debug, PartialEq, Eq)]
enum Out {
    Event {
        ty: String,
        data: String,
        id: String,
    },
    Error(ParseError),
}

fn out(event: &Event) -> Out {
    Out::Event {
        ty: event.event_type().into(),
        data: event.data().into(),
        id: event.last_event_id().as_str().into(),
    }
}

fn parse_chunks_with(mut parser: Parser, chunks: &[&[u8]]) -> (Vec<Out>, Parser) {
    let mut outs = Vec::new();
    let mut drain = |parser: &mut Parser| loop {
        match parser.next_event() {
            Ok(Some(event)) => outs.push(out(&event)),
            Ok(None) => break,
            Err(err) => outs.push(Out::Error(err)),
        }
    };
    for chunk in chunks {
        parser.feed(Bytes::copy_from_slice(chunk));
        drain(&mut parser);
    }
    parser.finish();
    drain(&mut parser);
    assert!(parser.is_finished());
    (outs, parser)
}

fn parse(input: &str) -> Vec<Out> {
    let whole = parse_chunks_with(Parser::new(), &[input.as_bytes()]).0;
    // Every rule must hold one byte at a time too.
    let bytes: Vec<&[u8]> = input.as_bytes().chunks(1).collect();
    assert_eq!(
        parse_chunks_with(Parser::new(), &bytes).0,
        whole,
        "bytewise {input:?}"
    );
    whole
}

fn ev(ty: &str, data: &str, id: &str) -> Out {
    Out::Event {
        ty: ty.into(),
        data: data.into(),
        id: id.into(),
    }
}

fn msg(data: &str) -> Out {
    ev("message", data, "")
}

// "The stream must then be parsed by reading everything line by line, with a
// U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF) character pair, a single
// U+000A LINE FEED (LF) character not preceded by a U+000D CARRIAGE RETURN
// (CR) character, and a single U+000D CARRIAGE RETURN (CR) character not
// followed by a U+000A LINE FEED (LF) character being the ways in which a
// line can end."
#[test]
fn lines_end_at_crlf_lf_or_cr() {
    assert_eq!(parse("data: a\n\n"), [msg("a")]);
    assert_eq!(parse("data: a\r\n\r\n"), [msg("a")]);
    assert_eq!(parse("data: a\r\r"), [msg("a")]);
    assert_eq!(parse("data: a\rdata: b\r\ndata: c\n\r\n"), [msg("a\nb\nc")]);
}

/// Parses `input` whole, then cut in two at every position: all must agree.
fn parse_every_cut(input: &str) -> Vec<Out> {
    let whole = parse(input);
    let bytes = input.as_bytes();
    for at in 0..=bytes.len() {
        let (outs, _) = parse_chunks_with(Parser::new(), &[&bytes[..at], &bytes[at..]]);
        assert_eq!(outs, whole, "{input:?} cut at {at}");
    }
    whole
}

#[test]
fn data_and_blank_lines_at_chunk_edges() {
    // Blank and `data` lines that lie whole in a chunk take a shorter path
    // than lines split across chunks; both must give the same events.
    assert_eq!(parse_every_cut("data:\n\n"), [msg("")]);
    assert_eq!(parse_every_cut("data: \n\n"), [msg("")]);
    assert_eq!(parse_every_cut("data:  x\n\n"), [msg(" x")]);
    assert_eq!(parse_every_cut("data:x\r\n\r\n"), [msg("x")]);
    assert_eq!(
        parse_every_cut("data: a\r\rdata: b\r\r"),
        [msg("a"), msg("b")]
    );
    assert_eq!(
        parse_every_cut("data: a\ndata\ndata: c\n\n"),
        [msg("a\n\nc")]
    );
    assert_eq!(
        parse_every_cut("datum: x\ndata: y\n\nd\n\ndata\n\n"),
        [msg("y"), msg("")]
    );
    assert_eq!(
        parse_every_cut("event: e\ndata: 1\r\ndata: 2\r\n\r\ndata: 3\n\n"),
        [ev("e", "1\n2", ""), msg("3")]
    );
}

#[test]
fn a_borrowed_buffer_is_consumed_by_feed() {
    // `&mut BytesMut` is a `Buf`: what is fed is read from it, whatever its
    // size, so the caller can refill it and feed it again.
    let mut parser = Parser::new();
    let mut events = Vec::new();
    let mut buffer = bytes::BytesMut::new();
    for piece in ["data: x", "\n", "\ndata: ", "y".repeat(40).as_str(), "\n\n"] {
        buffer.extend_from_slice(piece.as_bytes());
        parser.feed(&mut buffer);
        assert!(buffer.is_empty(), "{piece:?} left in the buffer");
        while let Some(event) = parser.next_event().unwrap() {
            events.push(out(&event));
        }
    }
    assert_eq!(events, [msg("x"), msg(&"y".repeat(40))]);
}

#[test]
fn crlf_split_across_chunks() {
    let (outs, _) = parse_chunks_with(Parser::new(), &[b"data: a\r", b"\n\r", b"\n"]);
    assert_eq!(outs, [msg("a")]);
}

// "The UTF-8 decode algorithm strips one leading UTF-8 Byte Order Mark
// (BOM), if any."
#[test]
fn leading_bom_stripped_once() {
    assert_eq!(parse("\u{FEFF}data: a\n\n"), [msg("a")]);
    // A second BOM is part of the first line: a field named "\u{FEFF}data".
    assert_eq!(parse("\u{FEFF}\u{FEFF}data: a\n\ndata: b\n\n"), [msg("b")]);
    // Not at the start: ordinary data.
    assert_eq!(parse("data: \u{FEFF}\n\n"), [msg("\u{FEFF}")]);
}

// "Streams must be decoded using the UTF-8 decode algorithm": invalid
// sequences become U+FFFD.
#[test]
fn invalid_utf8_becomes_replacement_character() {
    let (outs, _) = parse_chunks_with(Parser::new(), &[b"data: a\xFFb\xE2\x82\n\n"]);
    assert_eq!(outs, [msg("a\u{FFFD}b\u{FFFD}")]);
    let (outs, _) = parse_chunks_with(Parser::new(), &[b"event: \xC0\ndata: x\n\n"]);
    assert_eq!(outs, [ev("\u{FFFD}", "x", "")]);
}

#[test]
fn utf8_character_split_across_chunks() {
    let euro = "data: \u{20AC}\n\n".as_bytes();
    let (outs, _) = parse_chunks_with(Parser::new(), &[&euro[..7], &euro[7..8], &euro[8..]]);
    assert_eq!(outs, [msg("\u{20AC}")]);
}

// The whole chunk is checked for UTF-8 once, and one-line events within
// it are handed out without a check of their own: around an invalid
// sequence, and in a chunk that starts inside a character, every event is
// as if each were decoded alone.
#[test]
fn events_in_a_chunk_checked_once_decode_as_each_alone() {
    let input = "data: \u{e9}t\u{e9}\n\ndata: a\u{20AC}\n\nevent: \u{1F600}\ndata: b\n\n";
    let (outs, _) = parse_chunks_with(Parser::new(), &[input.as_bytes()]);
    let expected = [
        msg("\u{e9}t\u{e9}"),
        msg("a\u{20AC}"),
        ev("\u{1F600}", "b", ""),
    ];
    assert_eq!(outs, expected);
    // Invalid bytes in the second event: the first and third are exact.
    let (outs, _) = parse_chunks_with(
        Parser::new(),
        &[b"data: \xC3\xA9\n\ndata: a\xFFb\n\ndata: \xE2\x82\xAC\n\n"],
    );
    assert_eq!(outs, [msg("\u{e9}"), msg("a\u{FFFD}b"), msg("\u{20AC}")]);
    // A chunk that starts with the last bytes of a character: the line
    // they end is joined and checked alone, the events after it are
    // checked with the chunk.
    let euro = "data: \u{20AC}\n\ndata: \u{e9}\n\n".as_bytes();
    for cut in 7..9 {
        let (outs, _) = parse_chunks_with(Parser::new(), &[&euro[..cut], &euro[cut..]]);
        assert_eq!(outs, [msg("\u{20AC}"), msg("\u{e9}")], "cut at {cut}");
    }
    // Continuation bytes with no start in the stream are invalid wherever
    // the chunk starts.
    let (outs, _) = parse_chunks_with(Parser::new(), &[b"data: x", b"\x82\xAC\n\ndata: y\n\n"]);
    assert_eq!(outs, [msg("x\u{FFFD}\u{FFFD}"), msg("y")]);
    let (outs, _) = parse_chunks_with(Parser::new(), &[b"data: x\n\n", b"\x82data: y\n\n"]);
    assert_eq!(outs, [msg("x")]);
}

// "If the line is empty (a blank line): Dispatch the event."
#[test]
fn blank_line_dispatches() {
    assert_eq!(parse("data: a\n\ndata: b\n\n"), [msg("a"), msg("b")]);
}

// "If the line starts with a U+003A COLON character (:): Ignore the line."
#[test]
fn comment_lines_ignored() {
    assert_eq!(parse(": hello\ndata: a\n:\n\n"), [msg("a")]);
}

// "If value starts with a U+0020 SPACE character, remove it from value."
#[test]
fn one_leading_space_removed_from_value() {
    assert_eq!(parse("data:a\n\n"), [msg("a")]);
    assert_eq!(parse("data:  a\n\n"), [msg(" a")]);
    assert_eq!(parse("data: a \n\n"), [msg("a ")]);
}

// "Process the field using the whole line as the field name, and the empty
// string as the field value."
#[test]
fn line_without_colon_is_a_field_with_empty_value() {
    assert_eq!(parse("data\n\n"), [msg("")]);
    assert_eq!(parse("data\ndata\n\n"), [msg("\n")]);
}

// "Append the field value to the data buffer, then append a single U+000A
// LINE FEED (LF) character to the data buffer." ... "If the data buffer's
// last character is a U+000A LINE FEED (LF) character, then remove the last
// character from the data buffer."
#[test]
fn data_lines_joined_with_lf_one_trailing_lf_removed() {
    assert_eq!(parse("data: a\ndata: b\n\n"), [msg("a\nb")]);
    assert_eq!(parse("data: a\ndata:\n\n"), [msg("a\n")]);
}

// "If the data buffer is an empty string, set the data buffer and the event
// type buffer to the empty string and return."
#[test]
fn empty_data_buffer_dispatches_nothing() {
    assert_eq!(parse("event: x\n\ndata: a\n\n"), [msg("a")]);
    assert_eq!(parse("\n\n\n"), []);
}

// "Set the last event ID string of the event source to the value of the last
// event ID buffer" happens before the empty-data check.
#[test]
fn last_event_id_updates_without_dispatch() {
    let (outs, parser) = parse_chunks_with(Parser::new(), &[b"id: 7\n\n"]);
    assert!(outs.is_empty());
    assert_eq!(parser.last_event_id(), "7");
}

// "The buffer does not get reset, so the last event ID string of the event
// source remains set to this value until the next time it is set by the
// server."
#[test]
fn last_event_id_persists_across_events() {
    assert_eq!(
        parse("id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n"),
        [
            ev("message", "a", "1"),
            ev("message", "b", "1"),
            ev("message", "c", "")
        ]
    );
}

// "If the field value does not contain U+0000 NULL, then set the last event
// ID buffer to the field value. Otherwise, ignore the field."
#[test]
fn id_containing_nul_ignored() {
    assert_eq!(
        parse("id: 1\ndata: a\n\nid: 2\0\ndata: b\n\n"),
        [ev("message", "a", "1"), ev("message", "b", "1")]
    );
}

#[test]
fn id_of_unfinished_event_is_not_the_last_event_id() {
    let (_, parser) = parse_chunks_with(Parser::new(), &[b"id: 1\ndata: a\n\nid: 2\ndata: b\n"]);
    assert_eq!(parser.last_event_id(), "1");
    assert!(parser.is_partial());
}

// "If the field value consists of only ASCII digits, then interpret the field
// value as an integer in base ten, and set the event stream's reconnection
// time to that integer. Otherwise, ignore the field."
#[test]
fn retry_digits_set_reconnection_time() {
    let (outs, parser) = parse_chunks_with(Parser::new(), &[b"retry: 2500\n"]);
    assert!(outs.is_empty(), "no event needed");
    assert_eq!(parser.retry(), Some(Duration::from_millis(2500)));
}

#[test]
fn retry_non_digit_ignored() {
    for bad in [
        "retry: 1.5\n",
        "retry: -1\n",
        "retry:  10\n",
        "retry: 10s\n",
        "retry\n",
    ] {
        let (_, parser) = parse_chunks_with(Parser::new(), &[bad.as_bytes()]);
        assert_eq!(parser.retry(), None, "{bad:?}");
    }
    let (_, parser) = parse_chunks_with(Parser::new(), &[b"retry: 5\nretry: x\n"]);
    assert_eq!(parser.retry(), Some(Duration::from_millis(5)));
}

#[test]
fn retry_overflow_saturates() {
    let (_, parser) = parse_chunks_with(Parser::new(), &[b"retry: 99999999999999999999999\n"]);
    assert_eq!(parser.retry(), Some(Duration::from_millis(u64::MAX)));
}

// "If the field name is "event": Set the event type buffer to field value."
// ... "If the event type buffer has a value other than the empty string,
// change the type of the newly created event to equal the value of the event
// type buffer." ... "Set the data buffer and the event type buffer to the
// empty string."
#[test]
fn event_type_set_and_reset_after_dispatch() {
    assert_eq!(
        parse("event: a\nevent: b\ndata: 1\n\ndata: 2\n\nevent:\ndata: 3\n\n"),
        [ev("b", "1", ""), msg("2"), msg("3")]
    );
}

// "Otherwise: The field is ignored."
#[test]
fn unknown_fields_ignored() {
    assert_eq!(parse("foo: bar\nData: x\ndata: a\n\n"), [msg("a")]);
}

// "Once the end of the file is reached, any pending data must be discarded.
// (If the file ends in the middle of an event, before the final empty line,
// the incomplete event is not dispatched.)"
#[test]
fn unterminated_event_discarded_at_end_of_stream() {
    assert_eq!(parse("data: a\n\ndata: b\n"), [msg("a")]);
    assert_eq!(parse("data: a\n\ndata: b"), [msg("a")]);
    let (_, parser) = parse_chunks_with(Parser::new(), &[b"data: a\n\ndata: b"]);
    assert!(parser.is_partial());
    let (_, parser) = parse_chunks_with(Parser::new(), &[b"data: a\n\n: keep-alive\n"]);
    assert!(!parser.is_partial());
}

#[test]
fn unterminated_event_dispatched_on_request() {
    let parser = Parser::new().dispatch_unterminated(true);
    let (outs, _) = parse_chunks_with(parser, &[b"data: a\n\ndata: b\ndata: c"]);
    assert_eq!(outs, [msg("a"), msg("b\nc")]);
    let parser = Parser::new().dispatch_unterminated(true);
    let (outs, _) = parse_chunks_with(parser, &[b"data: a\n\n: comment"]);
    assert_eq!(outs, [msg("a")]);
}

#[test]
fn single_line_data_shares_the_input_chunk() {
    let chunk = Bytes::from_static(b"data: zero-copy\n\n");
    let mut parser = Parser::new();
    parser.feed(chunk.clone());
    let event = parser.next_event().unwrap().unwrap();
    let data = event.data_bytes();
    assert_eq!(data.as_ptr(), chunk[6..].as_ptr());
}

#[test]
fn starts_from_a_given_last_event_id() {
    let parser = Parser::new().with_last_event_id(EventId::from_static("9"));
    let (outs, _) = parse_chunks_with(parser, &[b"data: a\n\n"]);
    assert_eq!(outs, [ev("message", "a", "9")]);
}

#[test]
fn feed_twice_then_drain() {
    let mut parser = Parser::new();
    parser.feed(&b"data: a"[..]);
    parser.feed(&b"b\n\ndata: c\n\n"[..]);
    assert_eq!(parser.next_event().unwrap().unwrap().data(), "ab");
    assert_eq!(parser.next_event().unwrap().unwrap().data(), "c");
    assert!(parser.next_event().unwrap().is_none());
}

/// Every item (events, comments, retries, errors) of `chunks`.
fn items(chunks: &[&[u8]], max: usize) -> Vec<Result<Item, ParseError>> {
    let mut parser = Parser::with_max_event_size(max);
    let mut out = Vec::new();
    let mut drain = |parser: &mut Parser| loop {
        match parser.next_item() {
            Ok(Some(item)) => out.push(Ok(item)),
            Ok(None) => break,
            Err(err) => out.push(Err(err)),
        }
    };
    for chunk in chunks {
        parser.feed(*chunk);
        drain(&mut parser);
    }
    parser.finish();
    drain(&mut parser);
    out
}

#[test]
fn items_are_comments_retries_and_events_in_stream_order() {
    let input = b"\xEF\xBB\xBF: hello\r\nretry: 5\nretry: x\ndata: a\n:ping\n\n: bye";
    let expected = [
        Ok(Item::Comment("hello".into())),
        Ok(Item::Retry(Duration::from_millis(5))),
        Ok(Item::Comment("ping".into())),
        Ok(Item::Event(parse_one(b"data: a\n\n"))),
    ];
    assert_eq!(items(&[input], 1 << 20), expected);
    let bytewise: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(items(&bytewise, 1 << 20), expected);
}

fn parse_one(input: &'static [u8]) -> Event {
    let mut parser = Parser::new();
    parser.feed(input);
    parser.next_event().unwrap().unwrap()
}
