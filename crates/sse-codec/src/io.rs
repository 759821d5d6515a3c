//! Events from any `std::io::Read`, as a blocking `Iterator`.

use crate::{Event, EventId, Item, Parser, ReadError};
use bytes::BytesMut;
use core::{fmt, time::Duration};
use std::io::{self, Read};

/// How many bytes [`EventReader`] asks its reader for at a time, unless
/// configured.
pub const DEFAULT_READ_CHUNK: usize = 8 * 1024;

/// Reads the events of an event stream from any [`std::io::Read`] (a file,
/// a socket, a blocking HTTP client's response body), as an [`Iterator`]:
/// the blocking counterpart of [`EventStream`](crate::EventStream).
///
/// It reads in chunks of [`DEFAULT_READ_CHUNK`] bytes (or
/// [`with_chunk_size`](EventReader::with_chunk_size)) into one buffer whose
/// bytes the parser then shares, so events are not copied again. The end
/// of input is the end of the iteration, not an error; an event cut off by
/// it is not dispatched (as the spec says), and
/// [`is_truncated`](EventReader::is_truncated) tells that it happened. A
/// read that fails ends the iteration with
/// [`ReadError::Transport`] as its last item (a read interrupted by
/// a signal is retried). An event larger than the maximum event size is
/// skipped, and reported by a
/// [`ReadError::Parse`] item: that one is not the last, the
/// iteration goes on with the next event.
///
/// # Examples
///
/// ```
/// use sse_codec::EventReader;
///
/// let recorded = "retry: 1000\nid: 1\ndata: first\n\nid: 2\ndata: second\n\n";
/// let mut events = EventReader::new(recorded.as_bytes());
/// let data: Vec<String> = events
///     .by_ref()
///     .map(|event| event.map(|event| event.data().to_owned()))
///     .collect::<Result<_, _>>()?;
/// assert_eq!(data, ["first", "second"]);
/// assert_eq!(events.last_event_id().as_str(), "2");
/// assert_eq!(events.retry(), Some(std::time::Duration::from_secs(1)));
/// assert!(!events.is_truncated());
/// # Ok::<(), sse_codec::ReadError<std::io::Error>>(())
/// ```
#[must_use = "iterators do nothing unless iterated"]
pub struct EventReader<R> {
    reader: R,
    parser: Parser,
    buf: BytesMut,
    chunk: usize,
    /// The input ended, or a read failed: nothing more is read, and what
    /// the parser holds still comes out.
    done: bool,
}

impl<R: Read> EventReader<R> {
    /// Reads `reader` with a default [`Parser`].
    pub fn new(reader: R) -> EventReader<R> {
        EventReader::with_parser(reader, Parser::new())
    }

    /// Reads `reader` with a configured `parser` (a maximum event size, a
    /// last event ID to start from, ...).
    pub fn with_parser(reader: R, parser: Parser) -> EventReader<R> {
        EventReader {
            reader,
            parser,
            buf: BytesMut::new(),
            chunk: DEFAULT_READ_CHUNK,
            done: false,
        }
    }

    /// Sets how many bytes to ask the reader for at a time.
    ///
    /// # Panics
    ///
    /// If `bytes` is zero.
    pub fn with_chunk_size(mut self, bytes: usize) -> EventReader<R> {
        assert!(bytes > 0, "the read chunk size must not be zero");
        self.chunk = bytes;
        self
    }

    /// The next event, comment or `retry` field: all the parser reports,
    /// for a proxy or a tool; [`next`](Iterator::next) gives the events
    /// only. `None` at the end of the input.
    pub fn next_item(&mut self) -> Option<Result<Item, ReadError<io::Error>>> {
        loop {
            match self.parser.next_item() {
                Ok(Some(item)) => return Some(Ok(item)),
                Err(err) => return Some(Err(ReadError::Parse(err))),
                Ok(None) => {}
            }
            if self.done {
                return None;
            }
            if let Err(err) = self.fill() {
                self.done = true;
                return Some(Err(ReadError::Transport(err)));
            }
        }
    }

    /// Reads the next chunk into the parser, or ends the input.
    fn fill(&mut self) -> io::Result<()> {
        // What is left after the last read holds nothing: cleared, so that
        // growing back to a chunk copies nothing (and reuses the memory
        // once the parser has let go of the events in it).
        self.buf.clear();
        self.buf.resize(self.chunk, 0);
        let read = loop {
            match self.reader.read(&mut self.buf) {
                Ok(read) => break read,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        };
        if read == 0 {
            self.parser.finish();
            self.done = true;
        } else {
            // The bytes read become the parser's.
            self.parser.feed(self.buf.split_to(read).freeze());
        }
        Ok(())
    }

    /// The items, comments and `retry` fields included, as an iterator.
    pub fn items(self) -> Items<R> {
        Items { reader: self }
    }

    /// The reconnection time the stream set, if any.
    pub fn retry(&self) -> Option<Duration> {
        self.parser.retry()
    }

    /// The last event ID as of the last complete event.
    pub fn last_event_id(&self) -> &EventId {
        self.parser.last_event_id()
    }

    /// Whether the input ended (or failed) inside an event, which was
    /// therefore not dispatched.
    pub fn is_truncated(&self) -> bool {
        self.done && self.parser.is_partial()
    }

    /// The parser, for the rest of its state.
    pub fn parser(&self) -> &Parser {
        &self.parser
    }

    /// The reader and the parser.
    pub fn into_parts(self) -> (R, Parser) {
        (self.reader, self.parser)
    }
}

impl<R: Read> Iterator for EventReader<R> {
    type Item = Result<Event, ReadError<io::Error>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.next_item()? {
                Ok(Item::Event(event)) => return Some(Ok(event)),
                Ok(_) => {}
                Err(err) => return Some(Err(err)),
            }
        }
    }
}

impl<R> fmt::Debug for EventReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventReader")
            .field("parser", &self.parser)
            .field("chunk", &self.chunk)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// Every item of an [`EventReader`]: events, comments and `retry` fields;
/// from [`EventReader::items`].
#[must_use = "iterators do nothing unless iterated"]
pub struct Items<R> {
    reader: EventReader<R>,
}

impl<R: Read> Items<R> {
    /// The reader, for its state ([`EventReader::last_event_id`],
    /// [`EventReader::is_truncated`], ...).
    pub fn reader(&self) -> &EventReader<R> {
        &self.reader
    }
}

impl<R: Read> Iterator for Items<R> {
    type Item = Result<Item, ReadError<io::Error>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.reader.next_item()
    }
}

impl<R> fmt::Debug for Items<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Items").field(&self.reader).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::{string::String, vec::Vec};

    /// A reader that hands out at most `at_most` bytes per read, then an
    /// error at `fail_at` if set.
    struct Trickle<'a> {
        data: &'a [u8],
        at_most: usize,
        fail_at: Option<usize>,
        pos: usize,
        interrupted: bool,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            // Every other read is interrupted, as by a signal: retried.
            self.interrupted = !self.interrupted;
            if self.interrupted {
                return Err(io::ErrorKind::Interrupted.into());
            }
            if self.fail_at.is_some_and(|at| self.pos >= at) {
                return Err(io::Error::other("the disk went away"));
            }
            let end = (self.pos + self.at_most.min(buf.len())).min(self.data.len());
            let end = self.fail_at.map_or(end, |at| end.min(at));
            let read = end - self.pos;
            buf[..read].copy_from_slice(&self.data[self.pos..end]);
            self.pos = end;
            Ok(read)
        }
    }

    fn trickle(data: &[u8], at_most: usize) -> Trickle<'_> {
        Trickle {
            data,
            at_most,
            fail_at: None,
            pos: 0,
            interrupted: false,
        }
    }

    const STREAM: &[u8] = b"\xEF\xBB\xBFretry: 250\r\n: hello\nid: 1\nevent: add\ndata: x\r\rdata: y\ndata\n\nid: 2\ndata: z\n\n";

    fn describe(events: &mut EventReader<impl Read>) -> Vec<String> {
        events
            .map(|event| match event {
                Ok(event) => alloc::format!(
                    "{} {:?} {}",
                    event.event_type(),
                    event.data(),
                    event.last_event_id().as_str()
                ),
                Err(ReadError::Transport(err)) => alloc::format!("failed: {err}"),
                Err(err) => alloc::format!("error {err}"),
            })
            .collect()
    }

    #[test]
    fn one_byte_at_a_time_gives_what_one_read_gives() {
        let whole = describe(&mut EventReader::new(STREAM));
        assert_eq!(
            whole,
            ["add \"x\" 1", "message \"y\\n\" 1", "message \"z\" 2"]
        );
        for at_most in [1, 2, 3, 7] {
            let mut events = EventReader::new(trickle(STREAM, at_most)).with_chunk_size(at_most);
            assert_eq!(describe(&mut events), whole, "{at_most} bytes a read");
            assert_eq!(events.retry(), Some(Duration::from_millis(250)));
            assert_eq!(events.last_event_id().as_str(), "2");
        }
    }

    #[test]
    fn items_include_comments_and_retry() {
        let items: Vec<Item> = EventReader::new(trickle(STREAM, 3))
            .items()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(matches!(items[0], Item::Retry(retry) if retry == Duration::from_millis(250)));
        assert!(matches!(&items[1], Item::Comment(text) if text == "hello"));
        assert_eq!(items.len(), 5);
    }

    #[test]
    fn a_cut_off_final_event_is_not_dispatched_and_says_so() {
        let mut events = EventReader::new(&b"data: a\n\ndata: b"[..]);
        assert_eq!(describe(&mut events), ["message \"a\" "]);
        assert!(events.is_truncated());
        let mut whole = EventReader::new(&b"data: a\n\n"[..]);
        assert_eq!(describe(&mut whole), ["message \"a\" "]);
        assert!(!whole.is_truncated());
    }

    #[test]
    fn a_read_error_is_the_last_item() {
        let mut reader = trickle(b"data: a\n\ndata: b\n\ndata: c\n\n", 4);
        reader.fail_at = Some(13);
        let mut events = EventReader::new(reader);
        assert_eq!(
            describe(&mut events),
            ["message \"a\" ", "failed: the disk went away"]
        );
        assert!(events.is_truncated(), "it failed inside the second event");
        assert!(events.next().is_none());
    }

    #[test]
    fn an_oversize_event_is_reported_and_skipped() {
        let input = b"data: 0123456789abcdef\n\ndata: ok\n\n";
        for at_most in [1, 4, input.len()] {
            let parser = Parser::with_max_event_size(8);
            let mut events = EventReader::with_parser(trickle(input, at_most), parser);
            let items = describe(&mut events);
            assert_eq!(items.len(), 2, "{items:?}");
            assert!(items[0].starts_with("error "), "{items:?}");
            assert_eq!(items[1], "message \"ok\" ");
        }
    }
}
