//! Splitting the byte stream into lines.

use crate::{ParseError, scan::LineEnds};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use core::ops::Range;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Chunks up to this size that hold no line end are appended to the partial
/// line as they are fed.
const SMALL_CHUNK: usize = 32;

/// A line recognized by [`Lines::quick`].
pub(crate) enum Quick {
    /// An empty line: the end of an event.
    Blank,
    /// A `data` field whose value is `unread()[start..end]`; the line stays
    /// until [`Lines::consume`] is called with `end`.
    Data { start: usize, end: usize },
    /// An `event` field, likewise.
    Event { start: usize, end: usize },
}

/// Splits input into lines ending in CRLF, LF or CR (HTML "Parsing an event
/// stream": `end-of-line = ( cr lf / cr / lf )`), without copying lines that
/// lie within one chunk and without scanning any byte twice.
#[derive(Debug)]
pub(crate) struct Lines {
    /// Input not yet split, from the chunks fed so far.
    buf: Bytes,
    /// The start of a line that began in an earlier chunk; never longer than
    /// `max_line`.
    partial: BytesMut,
    state: State,
    max_line: usize,
    /// Where [`quick`](Lines::quick) found the end of the line at the start
    /// of `buf` (`Some(None)`: no end in `buf`) when it left the line to
    /// [`next_line`](Lines::next_line), so that no byte is scanned twice.
    scanned: Option<Option<usize>>,
    /// The addresses of the part of `buf` found to be valid UTF-8, once
    /// [`utf8_checked`](Lines::utf8_checked) looked (`None` before).
    utf8: Option<Range<usize>>,
    line_ends: LineEnds,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the start of the stream, where a UTF-8 BOM is stripped.
    Start,
    /// Between or inside lines.
    Line,
    /// The previous line ended with a CR that was the last byte of a chunk:
    /// an LF at the start of the next chunk belongs to it.
    AfterCr,
    /// Dropping the rest of a line that exceeded `max_line`.
    Overlong,
}

impl Lines {
    pub(crate) fn new(max_line: usize) -> Lines {
        Lines {
            buf: Bytes::new(),
            partial: BytesMut::new(),
            state: State::Start,
            max_line,
            scanned: None,
            utf8: None,
            line_ends: LineEnds::new(),
        }
    }

    #[inline]
    pub(crate) fn feed<B: Buf>(&mut self, mut chunk: B) {
        // A small piece of a line (bytes trickling in): it would be copied to
        // `partial` by `next_line` anyway, so copy it now and skip storing
        // the chunk. A scalar scan is cheaper than memchr's setup here.
        if self.state == State::Line && self.buf.is_empty() {
            let bytes = chunk.chunk();
            if bytes.len() == chunk.remaining()
                && bytes.len() <= SMALL_CHUNK
                && self.partial.len() + bytes.len() <= self.max_line
                && !bytes.iter().any(|&b| b == b'\n' || b == b'\r')
            {
                let len = bytes.len();
                match *bytes {
                    // A store, not a call to copy one byte.
                    [byte] => self.partial.put_u8(byte),
                    _ => self.partial.extend_from_slice(bytes),
                }
                // The caller's buffer (say a `&mut BytesMut`) is consumed.
                chunk.advance(len);
                return;
            }
        }
        self.feed_bytes(chunk.copy_to_bytes(chunk.remaining()));
    }

    fn feed_bytes(&mut self, chunk: Bytes) {
        // `buf` may grow: an earlier scan of it no longer holds.
        self.scanned = None;
        if self.buf.is_empty() {
            self.buf = chunk;
        } else if !chunk.is_empty() {
            // The caller fed twice without draining; join the two. Nothing in
            // `buf` has been scanned yet, so this does not rescan.
            let mut joined = BytesMut::with_capacity(self.buf.len() + chunk.len());
            joined.extend_from_slice(&self.buf);
            joined.extend_from_slice(&chunk);
            self.buf = joined.freeze();
        }
        self.utf8 = None;
    }

    /// Whether `unread()[start..end]` is valid UTF-8, from one check of the
    /// rest of the chunk, with SIMD, the first time a value asks, rather
    /// than one check of each value. A value that lies within the chunk is
    /// bounded by line ends or a field's `:` and space, all ASCII, so it
    /// starts and ends on character boundaries of the chunk's text, and is
    /// valid too. (Chunks whose values are all joined from pieces, as
    /// large events in small chunks are, are never checked whole.)
    #[inline]
    pub(crate) fn utf8_checked(&mut self, start: usize, end: usize) -> bool {
        // Addresses in the current `buf`, which `utf8` was found for: every
        // assignment to `buf` resets it.
        let valid = self.utf8.get_or_insert_with(|| valid_utf8(&self.buf));
        let base = self.buf.as_ptr() as usize;
        valid.start <= base + start && base + end <= valid.end
    }

    /// The next complete line, `None` when more input is needed.
    pub(crate) fn next_line(&mut self) -> Option<Result<Bytes, ParseError>> {
        loop {
            match self.state {
                State::Start => {
                    // The BOM may arrive split across chunks: `partial` holds
                    // the part of it seen so far (no line ends, so nothing is
                    // left unscanned if it turns out not to be a BOM).
                    let seen = self.partial.len();
                    let head = &self.buf[..(BOM.len() - seen).min(self.buf.len())];
                    if !BOM[seen..].starts_with(head) {
                        self.state = State::Line;
                    } else if seen + head.len() == BOM.len() {
                        self.buf.advance(head.len());
                        self.partial.clear();
                        self.state = State::Line;
                    } else {
                        self.partial.extend_from_slice(head);
                        self.buf.clear();
                        return None;
                    }
                }
                State::AfterCr => {
                    let first = *self.buf.first()?;
                    if first == b'\n' {
                        self.buf.advance(1);
                    }
                    self.state = State::Line;
                }
                State::Overlong => match self.line_ends.find(&self.buf) {
                    Some(end) => {
                        self.buf.advance(end);
                        self.consume_line_end();
                    }
                    None => {
                        self.buf.clear();
                        return None;
                    }
                },
                State::Line => return self.split_line(),
            }
        }
    }

    /// The commonest lines, blank, `data:` and `event:`, when they lie whole
    /// in the current chunk: found without building a line first (a blank
    /// line is consumed at once, a field by [`consume`](Lines::consume)).
    /// `None` leaves everything to [`next_line`](Lines::next_line).
    #[inline(always)]
    pub(crate) fn quick(&mut self) -> Option<Quick> {
        if self.state != State::Line || !self.partial.is_empty() {
            return None;
        }
        match *self.buf.first()? {
            b'\n' | b'\r' => {
                self.consume_line_end();
                return Some(Quick::Blank);
            }
            b'd' | b'e' => {}
            _ => return None,
        }
        let name = if self.buf.starts_with(b"data:") {
            5
        } else if self.buf.starts_with(b"event:") {
            6
        } else {
            return None;
        };
        let end = match self.scanned.take() {
            // Found by an earlier look at this line.
            Some(known) => known,
            None => self.line_ends.find(&self.buf[name..]).map(|at| name + at),
        };
        let Some(end) = end else {
            self.scanned = Some(None);
            return None;
        };
        if end > self.max_line {
            self.scanned = Some(Some(end));
            return None;
        }
        let start = if end > name && self.buf[name] == b' ' {
            name + 1
        } else {
            name
        };
        Some(if name == 5 {
            Quick::Data { start, end }
        } else {
            Quick::Event { start, end }
        })
    }

    /// Keeps `end`, the end of the `data` line that [`quick`](Lines::quick)
    /// found, for the next look at the line, which then does not scan it
    /// again.
    #[inline]
    pub(crate) fn keep_scanned(&mut self, end: usize) {
        self.scanned = Some(Some(end));
    }

    /// The input not yet split into lines.
    #[inline]
    pub(crate) fn unread(&self) -> &[u8] {
        &self.buf
    }

    /// `unread()[start..end]`, sharing the input's memory.
    #[inline]
    pub(crate) fn buffered(&self, start: usize, end: usize) -> Bytes {
        self.buf.slice(start..end)
    }

    /// Whether the `data` line [`quick`](Lines::quick) found ends at `end`
    /// and a blank line follows in the chunk, both with LF or both with
    /// CRLF: a whole one-line event. Returns the length of the two line
    /// ends. (A line end that is a lone CR is left to the other paths: an
    /// LF after it may be in the next chunk.)
    #[inline]
    pub(crate) fn ends_event(&self, end: usize) -> Option<usize> {
        match self.buf.get(end..end + 2)? {
            b"\n\n" => Some(2),
            b"\r\n" if self.buf.get(end + 2..end + 4)? == b"\r\n" => Some(4),
            _ => None,
        }
    }

    /// Takes the value `unread()[start..end]` of a one-line event that
    /// [`ends_event`](Lines::ends_event) found, and consumes the event up
    /// to the end of its blank line, `ends` bytes after `end`.
    #[inline(always)]
    pub(crate) fn take_event(&mut self, start: usize, end: usize, ends: usize) -> Bytes {
        let value = self.buf.slice(start..end);
        self.buf.advance(end + ends);
        value
    }

    /// Consumes a line that [`quick`](Lines::quick) found, up to its end of
    /// line at `end`.
    #[inline]
    pub(crate) fn consume(&mut self, end: usize) {
        self.buf.advance(end);
        self.consume_line_end();
    }

    fn split_line(&mut self) -> Option<Result<Bytes, ParseError>> {
        if self.buf.is_empty() {
            // `partial` is never longer than `max_line`.
            return None;
        }
        // Every event ends with a blank line: spot it without a SIMD scan,
        // whose setup costs more than the line.
        let end = match (self.scanned.take(), self.buf.first()) {
            (Some(known), _) => known,
            (None, Some(b'\n' | b'\r')) => Some(0),
            (None, _) => self.line_ends.find(&self.buf),
        };
        let Some(end) = end else {
            if self.partial.len() + self.buf.len() > self.max_line {
                self.partial.clear();
                self.buf.clear();
                self.state = State::Overlong;
                return Some(Err(self.too_large()));
            }
            self.partial.extend_from_slice(&self.buf);
            self.buf.clear();
            return None;
        };
        if self.partial.len() + end > self.max_line {
            self.partial.clear();
            self.buf.advance(end);
            self.consume_line_end();
            return Some(Err(self.too_large()));
        }
        let line = if self.partial.is_empty() {
            self.buf.split_to(end)
        } else {
            self.partial.extend_from_slice(&self.buf[..end]);
            self.buf.advance(end);
            self.partial.split().freeze()
        };
        self.consume_line_end();
        Some(Ok(line))
    }

    /// Consumes the CR, LF or CRLF at the start of `buf`.
    fn consume_line_end(&mut self) {
        let first = self.buf[0];
        self.buf.advance(1);
        self.state = State::Line;
        if first == b'\r' {
            match self.buf.first() {
                Some(b'\n') => self.buf.advance(1),
                Some(_) => {}
                None => self.state = State::AfterCr,
            }
        }
    }

    #[cold]
    fn too_large(&self) -> ParseError {
        ParseError::EventTooLarge {
            limit: self.max_line,
        }
    }

    /// At the end of the stream: the last line if it had no line end.
    pub(crate) fn take_unterminated(&mut self) -> Option<Bytes> {
        debug_assert!(self.buf.is_empty(), "call after next_line returned None");
        if self.state == State::Overlong {
            self.state = State::Line;
            return None;
        }
        if self.state == State::Start {
            // Fewer than three bytes, all a prefix of the BOM: decoding strips
            // nothing, and the bytes are an unterminated line.
            self.state = State::Line;
        }
        (!self.partial.is_empty()).then(|| self.partial.split().freeze())
    }

    /// Whether [`next_line`](Lines::next_line) would return `None`: every
    /// state needs input then.
    #[inline]
    pub(crate) fn is_drained(&self) -> bool {
        self.buf.is_empty()
    }

    /// The unterminated line buffered so far.
    pub(crate) fn partial_line(&self) -> &[u8] {
        &self.partial
    }

    pub(crate) fn max_line(&self) -> usize {
        self.max_line
    }
}

/// The addresses of the longest part of `chunk` that is valid UTF-8,
/// from its start or, when the chunk starts inside a character (its first
/// bytes continue one that began in the previous chunk, in a line that is
/// joined and checked on its own), from the first character that starts in
/// it.
fn valid_utf8(chunk: &[u8]) -> Range<usize> {
    let inside = chunk
        .iter()
        .take(3)
        .take_while(|&&byte| byte & 0xC0 == 0x80)
        .count();
    let text = &chunk[inside..];
    let valid = match simdutf8::basic::from_utf8(text) {
        Ok(_) => text.len(),
        Err(_) => core::str::from_utf8(text).map_or_else(|e| e.valid_up_to(), str::len),
    };
    let start = text.as_ptr() as usize;
    start..start + valid
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn lines(chunks: &[&[u8]]) -> Vec<Result<Bytes, ParseError>> {
        let mut l = Lines::new(16);
        let mut out = Vec::new();
        for chunk in chunks {
            l.feed(*chunk);
            while let Some(line) = l.next_line() {
                out.push(line);
            }
        }
        if let Some(last) = l.take_unterminated() {
            out.push(Ok(last));
        }
        out
    }

    fn ok(s: &str) -> Result<Bytes, ParseError> {
        Ok(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn all_three_line_ends() {
        assert_eq!(
            lines(&[b"a\nb\rc\r\nd"]),
            [ok("a"), ok("b"), ok("c"), ok("d")]
        );
    }

    #[test]
    fn crlf_split_across_chunks() {
        assert_eq!(lines(&[b"a\r", b"\nb\n"]), [ok("a"), ok("b")]);
        assert_eq!(lines(&[b"a\r", b"", b"\nb\n"]), [ok("a"), ok("b")]);
        assert_eq!(lines(&[b"a\r", b"\r\n"]), [ok("a"), ok("")]);
    }

    #[test]
    fn bom_split_across_chunks_is_stripped_once() {
        assert_eq!(lines(&[b"\xEF", b"\xBB", b"\xBFa\n"]), [ok("a")]);
        assert_eq!(
            lines(&[b"\xEF\xBB\xBF\xEF\xBB\xBFa\n"]),
            [Ok(Bytes::from_static(b"\xEF\xBB\xBFa"))]
        );
        assert_eq!(lines(&[b"\xEF\xBB"]), [Ok(Bytes::from_static(b"\xEF\xBB"))]);
    }

    #[test]
    fn overlong_line_is_an_error_whatever_the_chunking() {
        let long = [b'x'; 20];
        let whole = lines(&[&long, b"\nok\n"]);
        let split = lines(&[&long[..10], &long[10..], b"\nok\n"]);
        let err = Err(ParseError::EventTooLarge { limit: 16 });
        assert_eq!(whole, [err.clone(), ok("ok")]);
        assert_eq!(split, whole);
    }
}
