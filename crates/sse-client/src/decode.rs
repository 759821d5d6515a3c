//! Bytes to events, and to comments when they are asked for.

use bytes::Bytes;
use sse_codec::{Event, EventId, Item, ParseError, Parser};
use std::time::Duration;

/// What the decoder found next.
#[derive(Debug)]
pub(crate) enum Decoded {
    Event(Event),
    Comment(String),
}

/// A [`Parser`] that also hands out comments when asked for them.
#[derive(Debug)]
pub(crate) struct Decoder {
    parser: Parser,
    comments: bool,
}

impl Decoder {
    pub(crate) fn new(max_event_size: usize, last_event_id: EventId, comments: bool) -> Decoder {
        Decoder {
            parser: Parser::with_max_event_size(max_event_size).with_last_event_id(last_event_id),
            comments,
        }
    }

    pub(crate) fn feed(&mut self, chunk: Bytes) {
        self.parser.feed(chunk);
    }

    /// The body ended: a last line without its line end is read as a
    /// line, and an event without its blank line is discarded.
    pub(crate) fn finish(&mut self) {
        self.parser.finish();
    }

    /// Whether the body ended and everything in it was handed out.
    pub(crate) fn is_finished(&self) -> bool {
        self.parser.is_finished()
    }

    /// Whether the input stops inside an event; after
    /// [`finish`](Decoder::finish), whether the body ended inside one.
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
        loop {
            match self.parser.next_item()? {
                Some(Item::Event(event)) => return Ok(Some(Decoded::Event(event))),
                Some(Item::Comment(text)) => {
                    if self.comments {
                        return Ok(Some(Decoded::Comment(text)));
                    }
                }
                Some(_) => {}
                None => return Ok(None),
            }
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
                    Ok(Some(Decoded::Comment(c))) => out.push(format!(":{c}")),
                    Ok(None) => break,
                    Err(_) => out.push("too large".to_owned()),
                }
            }
        };
        for piece in input.chunks(chunk) {
            decoder.feed(Bytes::copy_from_slice(piece));
            drain(&mut decoder);
        }
        // The cut-off event at the end is never dispatched.
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
