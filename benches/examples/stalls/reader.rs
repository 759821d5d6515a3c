//! The raw client side of the wire: an HTTP/1.1 response head, chunked
//! framing, and the SSE lines the payload contract needs.

/// Bytes of a line kept: the contract's `t` and `seq` come first, and the
/// rest (the pad) needs no copy.
const LINE_CAP: usize = 256;

/// One event's fields that matter here.
pub(crate) struct Event {
    pub(crate) seq: u64,
    pub(crate) t: Option<u64>,
    pub(crate) id: Option<String>,
}

#[derive(Clone, Copy)]
enum Chunk {
    Size(u64),
    Extension(u64),
    Data(u64),
    DataEnd,
}

#[derive(Clone, Copy)]
enum Body {
    Head,
    Chunked(Chunk),
    Plain,
    Ended,
}

/// Just enough HTTP/1.1 and SSE: the response head, chunked framing, and
/// the `data:` and `id:` lines of each event.
pub(crate) struct Reader {
    body: Body,
    head: Vec<u8>,
    line: Vec<u8>,
    seq: Option<u64>,
    t: Option<u64>,
    id: Option<String>,
}

impl Reader {
    pub(crate) fn new() -> Reader {
        Reader {
            body: Body::Head,
            head: Vec::new(),
            line: Vec::with_capacity(LINE_CAP),
            seq: None,
            t: None,
            id: None,
        }
    }

    pub(crate) fn has_head(&self) -> bool {
        !matches!(self.body, Body::Head)
    }

    pub(crate) fn ended(&self) -> bool {
        matches!(self.body, Body::Ended)
    }

    pub(crate) fn feed(&mut self, bytes: &[u8], on: &mut impl FnMut(Event)) -> Result<(), String> {
        if !matches!(self.body, Body::Head) {
            return self.body(bytes, on);
        }
        self.head.extend_from_slice(bytes);
        let Some(end) = self.head.windows(4).position(|w| w == b"\r\n\r\n") else {
            return if self.head.len() > 16 * 1024 {
                Err("response head over 16 KiB".into())
            } else {
                Ok(())
            };
        };
        let head = std::mem::take(&mut self.head);
        let text = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
        let status = text.lines().next().unwrap_or("");
        if !status.starts_with("http/1.1 200") {
            return Err(format!("response {status}"));
        }
        if !text.contains("text/event-stream") {
            return Err("response is not text/event-stream".into());
        }
        self.body = if text.contains("transfer-encoding: chunked") {
            Body::Chunked(Chunk::Size(0))
        } else {
            Body::Plain
        };
        self.body(&head[end + 4..], on)
    }

    fn body(&mut self, mut bytes: &[u8], on: &mut impl FnMut(Event)) -> Result<(), String> {
        while let [first, rest @ ..] = bytes {
            let chunk = match self.body {
                Body::Head | Body::Ended => return Ok(()),
                Body::Plain => {
                    self.lines(bytes, on);
                    return Ok(());
                }
                Body::Chunked(chunk) => chunk,
            };
            let next = match chunk {
                Chunk::Data(left) => {
                    let n = bytes.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    self.lines(&bytes[..n], on);
                    bytes = &bytes[n..];
                    let left = left - n as u64;
                    self.body = Body::Chunked(if left == 0 {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left)
                    });
                    continue;
                }
                Chunk::DataEnd => match first {
                    b'\n' => Chunk::Size(0),
                    _ => Chunk::DataEnd,
                },
                Chunk::Size(size) | Chunk::Extension(size) if *first == b'\n' => {
                    if size == 0 {
                        // The last chunk: trailers, if any, are not read.
                        self.body = Body::Ended;
                        return Ok(());
                    }
                    Chunk::Data(size)
                }
                Chunk::Extension(size) => Chunk::Extension(size),
                Chunk::Size(size) => match first {
                    b'\r' => Chunk::Size(size),
                    b';' | b' ' | b'\t' => Chunk::Extension(size),
                    c => {
                        let digit = char::from(*c)
                            .to_digit(16)
                            .ok_or_else(|| format!("bad chunk size byte {c:#x}"))?;
                        let size = size
                            .checked_mul(16)
                            .and_then(|s| s.checked_add(u64::from(digit)))
                            .ok_or("chunk size overflows")?;
                        Chunk::Size(size)
                    }
                },
            };
            self.body = Body::Chunked(next);
            bytes = rest;
        }
        Ok(())
    }

    fn lines(&mut self, mut bytes: &[u8], on: &mut impl FnMut(Event)) {
        while let Some(at) = memchr::memchr(b'\n', bytes) {
            self.keep(&bytes[..at]);
            self.line_end(on);
            bytes = &bytes[at + 1..];
        }
        self.keep(bytes);
    }

    fn keep(&mut self, bytes: &[u8]) {
        let room = LINE_CAP - self.line.len();
        self.line.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn line_end(&mut self, on: &mut impl FnMut(Event)) {
        let line = self.line.strip_suffix(b"\r").unwrap_or(&self.line);
        if line.is_empty() {
            if let Some(seq) = self.seq.take() {
                on(Event {
                    seq,
                    t: self.t.take(),
                    id: self.id.take(),
                });
            }
            self.t = None;
            self.id = None;
        } else if let Some(data) = line.strip_prefix(b"data:") {
            if self.seq.is_none() {
                self.seq = number_after(data, b"\"seq\":");
                self.t = number_after(data, b"\"t\":");
            }
        } else if let Some(id) = line.strip_prefix(b"id:") {
            let id = id.strip_prefix(b" ").unwrap_or(id);
            self.id = Some(String::from_utf8_lossy(id).into_owned());
        }
        self.line.clear();
    }
}

fn number_after(haystack: &[u8], key: &[u8]) -> Option<u64> {
    let at = haystack.windows(key.len()).position(|w| w == key)? + key.len();
    let digits = haystack[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    std::str::from_utf8(&haystack[at..at + digits])
        .ok()?
        .parse()
        .ok()
}
