//! tokio-util's codec traits: read events with `FramedRead` from any
//! `AsyncRead`, write messages with `FramedWrite` to any `AsyncWrite`.

use crate::{Encoded, Event, Message, Parser, ReadError};
use bytes::BytesMut;
use std::io;
use tokio_util::codec::{Decoder, Encoder};

/// A [`Decoder`] of events and an [`Encoder`] of messages, for tokio-util's
/// `FramedRead`, `FramedWrite` and `Framed`: the convention of the tokio
/// ecosystem for a byte stream that carries frames.
///
/// Decoding runs a [`Parser`] (so the same limits apply): each read is
/// handed to it without a copy, and an event is yielded as soon as its
/// blank line arrives. The end of input is a clean end, not an error, as
/// the specification has it (a final event without its blank line is
/// dropped, unless the parser was built with
/// [`dispatch_unterminated`](Parser::dispatch_unterminated));
/// [`is_truncated`](EventCodec::is_truncated) tells whether the input was
/// cut off inside an event.
///
/// An event larger than the maximum is skipped by the parser and reported
/// as a [`ReadError::Parse`] error. tokio-util ends a framed stream
/// after a decoder error (it yields the error, then `None`); the parser
/// has already moved past the event, so polling the same `FramedRead` again
/// goes on with the next one. An I/O error of the reader is an
/// [`ReadError::Transport`].
///
/// # Examples
///
/// ```
/// use futures_util::StreamExt;
/// use sse_codec::EventCodec;
/// use tokio_util::codec::FramedRead;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Any `AsyncRead`: a socket, a child process's stdout, a file.
/// let body: &[u8] = b"id: 1\ndata: first\n\ndata: second\n\n";
/// let mut events = FramedRead::new(body, EventCodec::new());
/// while let Some(event) = events.next().await {
///     let event = event?;
///     println!("{} (last ID {})", event.data(), event.last_event_id());
/// }
/// assert!(!events.decoder().is_truncated());
/// # Ok(())
/// # }
/// ```
///
/// Writing, with `futures_util::SinkExt`:
///
/// ```
/// use futures_util::SinkExt;
/// use sse_codec::{EventCodec, Message};
/// use tokio_util::codec::FramedWrite;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let mut out = FramedWrite::new(Vec::new(), EventCodec::new());
/// out.send(Message::new().data("hello")).await?;
/// assert_eq!(out.get_ref(), b"data: hello\n\n");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default)]
pub struct EventCodec {
    parser: Parser,
}

impl EventCodec {
    /// A codec with a default [`Parser`] (events up to
    /// [`DEFAULT_MAX_EVENT_SIZE`](crate::DEFAULT_MAX_EVENT_SIZE)).
    pub fn new() -> EventCodec {
        EventCodec::default()
    }

    /// A codec decoding with `parser`, as configured: its maximum event
    /// size, a last event ID to start from, whether an unterminated final
    /// event is dispatched.
    pub fn with_parser(parser: Parser) -> EventCodec {
        EventCodec { parser }
    }

    /// The parser: the last event ID and the retry time the stream set.
    pub fn parser(&self) -> &Parser {
        &self.parser
    }

    /// The parser, by value.
    pub fn into_parser(self) -> Parser {
        self.parser
    }

    /// Whether the input ended inside an event (after some of its fields,
    /// before its blank line): it was cut off. Meaningful once the framed
    /// stream ended.
    pub fn is_truncated(&self) -> bool {
        self.parser.is_finished() && self.parser.is_partial()
    }

    fn feed(&mut self, src: &mut BytesMut) {
        if !src.is_empty() {
            self.parser.feed(src.split().freeze());
        }
    }
}

impl Decoder for EventCodec {
    type Item = Event;
    type Error = ReadError<io::Error>;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Event>, Self::Error> {
        self.feed(src);
        self.parser.next_event().map_err(ReadError::Parse)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Event>, Self::Error> {
        self.feed(src);
        if let Some(event) = self.parser.next_event().map_err(ReadError::Parse)? {
            return Ok(Some(event));
        }
        self.parser.finish();
        self.parser.next_event().map_err(ReadError::Parse)
    }
}

impl Encoder<Message> for EventCodec {
    type Error = io::Error;

    fn encode(&mut self, message: Message, dst: &mut BytesMut) -> io::Result<()> {
        message.encode_into(dst);
        Ok(())
    }
}

impl Encoder<&Message> for EventCodec {
    type Error = io::Error;

    fn encode(&mut self, message: &Message, dst: &mut BytesMut) -> io::Result<()> {
        message.encode_into(dst);
        Ok(())
    }
}

impl Encoder<Encoded> for EventCodec {
    type Error = io::Error;

    fn encode(&mut self, frame: Encoded, dst: &mut BytesMut) -> io::Result<()> {
        dst.extend_from_slice(frame.as_bytes());
        Ok(())
    }
}

impl From<io::Error> for ReadError<io::Error> {
    fn from(error: io::Error) -> Self {
        ReadError::Transport(error)
    }
}
