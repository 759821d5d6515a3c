//! Spec-rule tests and properties across the parser and the encoder.

use crate::{Event, EventId, EventType, Item, Message, ParseError, Parser};
use alloc::vec;
use alloc::{string::String, vec::Vec};
use bytes::Bytes;
use core::time::Duration;
use proptest::prelude::*;

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
fn size_limits_are_exact_whatever_the_path() {
    // A line may be as long as the limit (32 here), and the data buffer
    // (each value plus its LF) may fill it, but neither may pass it.
    let line_fits = "data: 0123456789abcdefghijklmnop\n\n";
    let line_over = "data: 0123456789abcdefghijklmnopq\n\n";
    let data_fits = "data: 0123456789abcde\ndata: 0123456789abcde\n\n";
    let data_over = "data: 0123456789abcde\ndata: 0123456789abcdef\n\n";
    let err = || Out::Error(ParseError::EventTooLarge { limit: 32 });
    for (input, expected) in [
        (line_fits, vec![msg("0123456789abcdefghijklmnop")]),
        (line_over, vec![err()]),
        (data_fits, vec![msg("0123456789abcde\n0123456789abcde")]),
        (data_over, vec![err()]),
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
fn oversize_line_is_an_error_and_the_stream_goes_on() {
    let big = "x".repeat(100);
    let input = alloc::format!("data: a\n\ndata: {big}\ndata: more\n\ndata: b\n\n");
    let parser = Parser::with_max_event_size(64);
    let (outs, _) = parse_chunks_with(parser, &[input.as_bytes()]);
    let err = Out::Error(ParseError::EventTooLarge { limit: 64 });
    assert_eq!(outs, [msg("a"), err, msg("b")]);
}

#[test]
fn oversize_data_buffer_is_an_error() {
    let line = "data: 0123456789\n".repeat(10);
    let input = alloc::format!("{line}\ndata: ok\n\n");
    let parser = Parser::with_max_event_size(64);
    let (outs, _) = parse_chunks_with(parser, &[input.as_bytes()]);
    let err = Out::Error(ParseError::EventTooLarge { limit: 64 });
    assert_eq!(outs, [err, msg("ok")]);
}

#[test]
fn one_error_per_oversize_event_and_its_id_still_counts() {
    let long = "x".repeat(40);
    let input = alloc::format!(
        "id: 1\ndata: a\n\nid: 2\ndata: {long}\ndata: {long}\nretry: 7\n\ndata: b\n\n"
    );
    let parser = Parser::with_max_event_size(32);
    let (outs, parser) = parse_chunks_with(parser, &[input.as_bytes()]);
    let err = Out::Error(ParseError::EventTooLarge { limit: 32 });
    assert_eq!(
        outs,
        [ev("message", "a", "1"), err, ev("message", "b", "2")]
    );
    assert_eq!(parser.retry(), Some(Duration::from_millis(7)));

    // Resuming after a dropped oversize event starts after it.
    let input = alloc::format!("id: 3\ndata: {long}\n\n");
    let (_, parser) = parse_chunks_with(Parser::with_max_event_size(32), &[input.as_bytes()]);
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

/// Splits `input` at the given cut points.
fn split_at<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for cut in cuts {
        chunks.push(&input[start..cut]);
        start = cut;
    }
    chunks.push(&input[start..]);
    chunks
}

/// Bytes rich in what the parser branches on.
fn sse_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(&b"data"[..]),
        Just(&b"event"[..]),
        Just(&b"id"[..]),
        Just(&b"retry"[..]),
        Just(&b":"[..]),
        Just(&b": "[..]),
        Just(&b"\n"[..]),
        Just(&b"\r"[..]),
        Just(&b"\r\n"[..]),
        Just(&b"\xEF\xBB\xBF"[..]),
        Just(&b"\0"[..]),
        Just(&b"\xFF"[..]),
        Just(&b"\xE2\x82"[..]),
        Just(&b"12"[..]),
        Just(&b"x"[..]),
        Just(&b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"[..]),
    ];
    prop::collection::vec(token, 0..64).prop_map(|tokens| tokens.concat())
}

fn text() -> impl Strategy<Value = String> {
    "[a-z \u{e9}\u{20AC}:\r\n]{0,40}"
}

fn id_text() -> impl Strategy<Value = String> {
    "[a-z0-9 :\u{e9}]{0,12}"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_chunking_gives_the_same_events(
        input in sse_bytes(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        max in prop::sample::select(&[16usize, 48, 1 << 20][..]),
        unterminated in any::<bool>(),
    ) {
        let parser = || Parser::with_max_event_size(max).dispatch_unterminated(unterminated);
        let (whole, a) = parse_chunks_with(parser(), &[&input]);
        let (split, b) = parse_chunks_with(parser(), &split_at(&input, &cuts));
        prop_assert_eq!(&split, &whole);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        let (bytewise, c) = parse_chunks_with(parser(), &bytes);
        prop_assert_eq!(&bytewise, &whole);
        for p in [&b, &c] {
            prop_assert_eq!(p.retry(), a.retry());
            prop_assert_eq!(p.last_event_id(), a.last_event_id());
            prop_assert_eq!(p.is_partial(), a.is_partial());
        }
        for out in &whole {
            if let Out::Event { data, .. } = out {
                prop_assert!(data.len() <= max);
            }
        }
        if !unterminated {
            // Items: the same events, and the same sequence in any chunking.
            let all = items(&[&input], max);
            let events: Vec<Out> = all
                .iter()
                .filter_map(|item| match item {
                    Ok(Item::Event(event)) => Some(out(event)),
                    Err(err) => Some(Out::Error(err.clone())),
                    Ok(_) => None,
                })
                .collect();
            prop_assert_eq!(&events, &whole);
            prop_assert_eq!(items(&split_at(&input, &cuts), max), all);
        }
    }

    #[test]
    fn any_message_round_trips(
        id in prop::option::of(id_text()),
        event in prop::option::of(id_text()),
        retry in prop::option::of(0u64..1 << 40),
        data in text(),
        comments in prop::collection::vec(text(), 0..3),
    ) {
        let mut message = Message::new().data(data.clone());
        if let Some(id) = &id {
            message = message.id(EventId::try_from(id.as_str()).unwrap());
        }
        if let Some(event) = &event {
            message = message.event(EventType::try_from(event.as_str()).unwrap());
        }
        if let Some(retry) = retry {
            message = message.retry(Duration::from_millis(retry));
        }
        for comment in comments {
            message = message.comment(comment);
        }
        let mut parser = Parser::new();
        parser.feed(message.to_encoded().into_bytes());
        let parsed = parser.next_event().unwrap().unwrap();
        prop_assert!(parser.next_event().unwrap().is_none());
        prop_assert!(!parser.is_partial());
        let normalized = data.replace("\r\n", "\n").replace('\r', "\n");
        prop_assert_eq!(parsed.data(), normalized.as_str());
        let expected_type = match event.as_deref() {
            None | Some("") => "message",
            Some(t) => t,
        };
        prop_assert_eq!(parsed.event_type(), expected_type);
        prop_assert_eq!(parsed.last_event_id().as_str(), id.as_deref().unwrap_or(""));
        prop_assert_eq!(parser.retry(), retry.map(Duration::from_millis));
    }
}
