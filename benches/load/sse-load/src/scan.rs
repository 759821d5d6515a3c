//! The wire: an HTTP/1.1 chunked-body decoder and a small SSE scanner, both
//! fed whatever each read returned.
//!
//! The scanner is the load client's own, not the project's parser: it
//! measures the server, so it does only what that needs. Events end at a
//! blank line; `data:` lines are joined with `\n`, `id:` sets the event's ID
//! (and the stream's last ID), comments and other fields are skipped. Lines
//! end in `\n` or `\r\n` (a lone `\r` is not a line end here).

use memchr::memchr;

/// One event the scanner dispatched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScannedEvent<'a> {
    /// The event's data: its `data:` lines' values joined with `\n`.
    pub data: &'a [u8],
    /// The value of the event's own `id:` line, if it had one.
    pub id: Option<&'a [u8]>,
}

/// Splits a body into events across any number of reads.
#[derive(Debug, Default)]
pub struct Scanner {
    /// A line not ended yet by the last read.
    partial: Vec<u8>,
    data: Vec<u8>,
    has_data: bool,
    id: Option<Vec<u8>>,
    last_id: Option<Vec<u8>>,
}

impl Scanner {
    /// A scanner at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// The last `id:` value the stream carried, to resume with.
    pub fn last_id(&self) -> Option<&[u8]> {
        self.last_id.as_deref()
    }

    /// Scans `input`, calling `on_event` for each event it completes; a
    /// line or event it leaves open continues with the next call.
    pub fn feed(&mut self, mut input: &[u8], mut on_event: impl FnMut(ScannedEvent<'_>)) {
        while let Some(nl) = memchr(b'\n', input) {
            if self.partial.is_empty() {
                self.line(&input[..nl], &mut on_event);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&input[..nl]);
                self.line(&line, &mut on_event);
                line.clear();
                self.partial = line;
            }
            input = &input[nl + 1..];
        }
        self.partial.extend_from_slice(input);
    }

    fn line(&mut self, line: &[u8], on_event: &mut impl FnMut(ScannedEvent<'_>)) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            if self.has_data {
                on_event(ScannedEvent {
                    data: &self.data,
                    id: self.id.as_deref(),
                });
            }
            self.data.clear();
            self.has_data = false;
            self.id = None;
            return;
        }
        let (field, value) = match memchr(b':', line) {
            Some(0) => return, // a comment
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"id" if memchr(0, value).is_none() => {
                self.id = Some(value.to_vec());
                self.last_id = Some(value.to_vec());
            }
            _ => {}
        }
    }
}

/// What a chunked body did with the bytes it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunks {
    /// Everything was taken; the body goes on.
    More,
    /// The last chunk (size 0) came: the body is complete.
    Done,
}

/// A chunk header that is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkError(pub String);

impl std::fmt::Display for ChunkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad chunked body: {}", self.0)
    }
}

impl std::error::Error for ChunkError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// In the size line: the size so far, whether it has digits, and whether
    /// an extension (`;...`) started.
    Size {
        size: u64,
        digits: bool,
        ext: bool,
    },
    Data(u64),
    /// After a chunk's data: its `\r\n` (or `\n`).
    DataEnd,
    Done,
}

/// Decodes `Transfer-Encoding: chunked` incrementally, handing the data out
/// without copying it.
#[derive(Debug, Clone)]
pub struct Dechunker {
    state: ChunkState,
}

impl Default for Dechunker {
    fn default() -> Self {
        Dechunker {
            state: ChunkState::Size {
                size: 0,
                digits: false,
                ext: false,
            },
        }
    }
}

impl Dechunker {
    /// A decoder at the start of a body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes `input`, calling `out` with each run of body bytes in it.
    pub fn feed(
        &mut self,
        mut input: &[u8],
        mut out: impl FnMut(&[u8]),
    ) -> Result<Chunks, ChunkError> {
        while !input.is_empty() {
            match &mut self.state {
                ChunkState::Size { size, digits, ext } => {
                    let b = input[0];
                    input = &input[1..];
                    match b {
                        b'\n' if *digits => {
                            self.state = if *size == 0 {
                                ChunkState::Done
                            } else {
                                ChunkState::Data(*size)
                            };
                        }
                        b'\n' => return Err(ChunkError("a size line without a size".into())),
                        _ if *ext => {}
                        b';' | b' ' | b'\t' | b'\r' => *ext = true,
                        _ => {
                            let digit = (b as char).to_digit(16).ok_or_else(|| {
                                ChunkError(format!("byte {b:#04x} in a chunk size"))
                            })?;
                            *size = size
                                .checked_mul(16)
                                .map(|s| s + u64::from(digit))
                                .ok_or_else(|| ChunkError("a chunk size past 64 bits".into()))?;
                            *digits = true;
                        }
                    }
                }
                ChunkState::Data(left) => {
                    let take = (*left).min(input.len() as u64) as usize;
                    out(&input[..take]);
                    input = &input[take..];
                    *left -= take as u64;
                    if *left == 0 {
                        self.state = ChunkState::DataEnd;
                    }
                }
                ChunkState::DataEnd => {
                    let b = input[0];
                    input = &input[1..];
                    match b {
                        b'\r' => {}
                        b'\n' => {
                            self.state = ChunkState::Size {
                                size: 0,
                                digits: false,
                                ext: false,
                            }
                        }
                        _ => return Err(ChunkError("no line end after a chunk's data".into())),
                    }
                }
                // Trailers after the last chunk are of no interest.
                ChunkState::Done => return Ok(Chunks::Done),
            }
        }
        Ok(if self.state == ChunkState::Done {
            Chunks::Done
        } else {
            Chunks::More
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(scanner: &mut Scanner, input: &[u8], into: &mut Vec<(Vec<u8>, Option<Vec<u8>>)>) {
        scanner.feed(input, |e| {
            into.push((e.data.to_vec(), e.id.map(<[u8]>::to_vec)))
        });
    }

    #[test]
    fn fields_and_comments() {
        let mut s = Scanner::new();
        let mut got = Vec::new();
        events(
            &mut s,
            b": hi\n\nid: 7\ndata: a\ndata:b\nevent: x\nretry: 5\n\nfoo\ndata\n\n",
            &mut got,
        );
        assert_eq!(
            got,
            vec![(b"a\nb".to_vec(), Some(b"7".to_vec())), (Vec::new(), None)]
        );
        assert_eq!(s.last_id(), Some(&b"7"[..]));
    }
}
