//! Bytes to events, and to comments when they are asked for.

use bytes::{Bytes, BytesMut};
use sse_codec::{Event, EventId, Field, FieldParser, ParseError, Parser};
use std::time::Duration;

/// What the decoder found next.
#[derive(Debug)]
pub(crate) enum Decoded {
    Event(Event),
    Comment(Bytes),
}

/// A [`Parser`], plus the comments that it ignores when asked for them.
///
/// The codec's `Parser` does not surface comments, and its `Event`s can only
/// be made by a `Parser`. With comments on, the input goes through a
/// [`FieldParser`] first: comments come out in stream order, and every other
/// field is handed on to the `Parser` as one canonical line, which the
/// `Parser` interprets exactly as it would the original line.
#[derive(Debug)]
pub(crate) struct Decoder {
    parser: Parser,
    comments: Option<Comments>,
}

#[derive(Debug)]
struct Comments {
    fields: FieldParser,
    /// Skipping the rest of an event whose line was too long, up to the
    /// next blank line, as the `Parser` does.
    skipping: bool,
    /// The value of the latest `id` field the `Parser` took (one without
    /// NUL): the spec's last event ID buffer, which may be ahead of the
    /// `Parser`'s last event ID string.
    id_buffer: Option<Bytes>,
    line: BytesMut,
}

impl Decoder {
    pub(crate) fn new(max_event_size: usize, last_event_id: EventId, comments: bool) -> Decoder {
        let parser = Parser::with_max_event_size(max_event_size).with_last_event_id(last_event_id);
        let mut decoder = Decoder {
            parser,
            comments: comments.then(|| Comments {
                fields: FieldParser::with_max_line_size(max_event_size),
                skipping: false,
                id_buffer: None,
                line: BytesMut::new(),
            }),
        };
        decoder.prime();
        decoder
    }

    /// With comments on, the `FieldParser` has already removed the stream's
    /// byte order mark. A leading blank line (which dispatches nothing)
    /// stops the `Parser` from removing a second one that starts a field
    /// name.
    fn prime(&mut self) {
        if self.comments.is_some() {
            self.parser.feed(&b"\n"[..]);
            while let Ok(Some(_)) = self.parser.next_event() {}
        }
    }

    pub(crate) fn feed(&mut self, chunk: Bytes) {
        match &mut self.comments {
            Some(comments) => comments.fields.feed(chunk),
            None => self.parser.feed(chunk),
        }
    }

    /// Marks the end of the input: an unterminated event is discarded.
    pub(crate) fn finish(&mut self) {
        if let Some(comments) = &mut self.comments {
            // The last line has no line end, so it ends no event: dropping
            // it is what the spec does.
            comments.fields.finish();
        }
        self.parser.finish();
    }

    /// Whether the input stopped inside an event (after
    /// [`finish`](Decoder::finish), whether it was cut off).
    pub(crate) fn is_partial(&self) -> bool {
        self.parser.is_partial()
    }

    /// The server's latest reconnection time.
    pub(crate) fn retry(&self) -> Option<Duration> {
        self.parser.retry()
    }

    /// The last event ID as of the latest complete event.
    pub(crate) fn last_event_id(&self) -> &EventId {
        self.parser.last_event_id()
    }

    /// The next event or comment in the input fed so far.
    pub(crate) fn next(&mut self) -> Result<Option<Decoded>, ParseError> {
        let Some(comments) = &mut self.comments else {
            return Ok(self.parser.next_event()?.map(Decoded::Event));
        };
        loop {
            if let Some(event) = self.parser.next_event()? {
                return Ok(Some(Decoded::Event(event)));
            }
            let field = match comments.fields.next_field() {
                None => return Ok(None),
                Some(Ok(field)) => field,
                Some(Err(err)) => {
                    // The `Parser` would drop the event under way and skip
                    // to the next blank line. It has no way to be told, so
                    // start a new one that keeps what the stream set.
                    let mut parser = Parser::with_max_event_size(self.parser.max_event_size())
                        .with_last_event_id(self.parser.last_event_id().clone());
                    // The leading blank line as in `prime`, then the state:
                    // an `id` without a blank line after it sets the buffer,
                    // not yet the last event ID string.
                    let mut state = BytesMut::from(&b"\n"[..]);
                    if let Some(id) = &comments.id_buffer {
                        state.extend_from_slice(b"id: ");
                        state.extend_from_slice(id);
                        state.extend_from_slice(b"\n");
                    }
                    if let Some(retry) = self.parser.retry() {
                        state.extend_from_slice(b"retry: ");
                        state.extend_from_slice(retry.as_millis().to_string().as_bytes());
                        state.extend_from_slice(b"\n");
                    }
                    parser.feed(state.freeze());
                    while let Ok(Some(_)) = parser.next_event() {}
                    self.parser = parser;
                    comments.skipping = true;
                    return Err(err);
                }
            };
            if comments.skipping {
                comments.skipping = field != Field::Blank;
                continue;
            }
            let (name, value): (&[u8], &[u8]) = match &field {
                Field::Comment(text) => return Ok(Some(Decoded::Comment(text.clone()))),
                Field::Blank => (b"", b""),
                Field::Data(value) => (b"data", value),
                Field::Event(value) => (b"event", value),
                Field::Id(value) => {
                    if !value.contains(&0) {
                        comments.id_buffer = Some(value.clone());
                    }
                    (b"id", value)
                }
                Field::Retry(value) => (b"retry", value),
                // Other fields are ignored by the spec.
                _ => continue,
            };
            // "name: value\n": the `Parser` removes the one space after the
            // colon, leaving the value exactly as the `FieldParser` saw it.
            let line = &mut comments.line;
            line.clear();
            if !name.is_empty() {
                line.extend_from_slice(name);
                line.extend_from_slice(b": ");
                line.extend_from_slice(value);
            }
            line.extend_from_slice(b"\n");
            self.parser.feed(line.split().freeze());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(input: &[u8], chunk: usize, comments: bool) -> Vec<String> {
        let mut decoder = Decoder::new(64, EventId::default(), comments);
        let mut out = Vec::new();
        let mut drain = |decoder: &mut Decoder| {
            loop {
                match decoder.next() {
                    Ok(Some(Decoded::Event(e))) => out.push(format!(
                        "{}|{}|{}",
                        e.event_type(),
                        e.data(),
                        e.last_event_id().as_str()
                    )),
                    Ok(Some(Decoded::Comment(c))) => {
                        out.push(format!(":{}", String::from_utf8_lossy(&c)))
                    }
                    Ok(None) => break,
                    Err(_) => out.push("too large".to_owned()),
                }
            }
        };
        for piece in input.chunks(chunk) {
            decoder.feed(Bytes::copy_from_slice(piece));
            drain(&mut decoder);
        }
        decoder.finish();
        drain(&mut decoder);
        out
    }

    const STREAM: &[u8] =
        b"\xEF\xBB\xBF: hello\r\nid: 1\nevent: add\ndata:  x\ndata\n\nretry: 5\n:ping\n\
        data: y\r\rid\ndata: z\nfoo: bar\n\n\xEF\xBB\xBFdata: bom\n\ndata: cut";

    #[test]
    fn comments_in_stream_order_and_same_events() {
        for chunk in [1, 2, 3, 7, STREAM.len()] {
            let with = decode(STREAM, chunk, true);
            assert_eq!(
                with,
                [":hello", "add| x\n|1", ":ping", "message|y|1", "message|z|"],
                "chunk size {chunk}"
            );
            let without: Vec<_> = with.into_iter().filter(|l| !l.starts_with(':')).collect();
            assert_eq!(decode(STREAM, chunk, false), without, "chunk size {chunk}");
        }
    }

    #[test]
    fn oversize_event_skipped_in_both_modes() {
        let mut input = b"id: 7\ndata: a\n".to_vec();
        input.extend_from_slice(&[b'x'; 100]);
        input.extend_from_slice(b"\ndata: b\n\n: after\ndata: c\n\n");
        for comments in [false, true] {
            let out = decode(&input, 5, comments);
            let mut expected = vec!["too large"];
            if comments {
                expected.push(":after");
            }
            expected.push("message|c|7");
            assert_eq!(out, expected, "comments {comments}");
        }
    }

    #[test]
    fn retry_survives_an_oversize_event() {
        let mut input = b"retry: 42\n".to_vec();
        input.extend_from_slice(&[b'x'; 100]);
        input.extend_from_slice(b"\n\n");
        let mut decoder = Decoder::new(64, EventId::default(), true);
        decoder.feed(Bytes::from(input));
        assert!(decoder.next().is_err());
        assert!(decoder.next().unwrap().is_none());
        assert_eq!(decoder.retry(), Some(Duration::from_millis(42)));
    }
}
