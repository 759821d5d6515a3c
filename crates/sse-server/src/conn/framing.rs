//! Following an HTTP/1 request's framing in the bytes read: where its head
//! ends, whether a body follows, and where that ends. Sans-IO and
//! incremental, a few dozen bytes of state whatever the request's size and
//! however its bytes are split, so that it can sit below the HTTP
//! implementation and watch what it reads. It reads the framing as hyper
//! does, and reports what it cannot follow as [`Progress::Unknown`] rather
//! than guess. (A few requests hyper refuses, such as whitespace before a
//! field's colon, are followed anyway: hyper answers `400` and closes the
//! connection, so nothing is lost.)

/// Where a request is, after the bytes fed so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Progress {
    /// Its head is arriving.
    Head,
    /// Its head announced a body, which is arriving.
    Body,
    /// It arrived whole, its body with it if it has one.
    Complete,
    /// Its framing cannot be followed: a `Content-Length` that does not
    /// parse or two that differ, both `Content-Length` and
    /// `Transfer-Encoding`, a last coding other than `chunked`, malformed
    /// chunks. Where it ends is not known.
    Unknown,
}

/// The framing of one request: [`feed`](Framing::feed) it the bytes read,
/// in order, split anywhere.
#[derive(Clone, Debug)]
pub(super) struct Framing {
    state: State,
    /// The `Content-Length` of the head so far.
    length: Option<u64>,
    /// Whether the head had a `Transfer-Encoding`, and if so whether its
    /// last line's last coding was `chunked` (hyper's rule).
    chunked: Option<bool>,
    /// The head had a `Content-Length` that does not parse, or two that
    /// differ.
    bad_length: bool,
}

/// The header fields that frame a request body (RFC 9112, section 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    ContentLength,
    TransferEncoding,
}

impl Field {
    /// The name, in lower case.
    fn name(self) -> &'static [u8] {
        match self {
            Field::ContentLength => b"content-length",
            Field::TransferEncoding => b"transfer-encoding",
        }
    }

    /// The state at the start of the value.
    fn value(self) -> State {
        match self {
            Field::ContentLength => State::Length {
                value: None,
                ended: false,
            },
            Field::TransferEncoding => State::Coding {
                matched: 0,
                ended: false,
            },
        }
    }
}

const CHUNKED: &[u8] = b"chunked";

/// `Coding::matched` once the coding cannot be `chunked`.
const MISMATCH: u8 = u8::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before the request line, where empty lines are skipped (httparse
    /// skips them).
    Start,
    /// After a CR before the request line.
    StartCr,
    /// In a line that does not frame the body: the request line, other
    /// fields.
    Skip,
    /// At the start of a field line, or of the empty line that ends the
    /// head.
    LineStart,
    /// After a CR at the start of a line.
    LineStartCr,
    /// In a field name, `matched` bytes of `field`'s name so far.
    Name {
        field: Field,
        matched: u8,
    },
    /// After `field`'s whole name, before the colon.
    NameEnd {
        field: Field,
    },
    /// In a `Content-Length` value: its digits so far, and whether
    /// whitespace followed them (after which no digit may come).
    Length {
        value: Option<u64>,
        ended: bool,
    },
    /// In a `Transfer-Encoding` value: the current coding (after the last
    /// comma) matches `matched` bytes of `chunked` ([`MISMATCH`] once it
    /// cannot), and whether whitespace followed it.
    Coding {
        matched: u8,
        ended: bool,
    },
    /// In a body of known length.
    Counted {
        remaining: u64,
    },
    /// At the first digit of a chunk size (hyper requires one).
    ChunkStart,
    /// In a chunk size.
    ChunkSize {
        size: u64,
    },
    /// In whitespace after a chunk size.
    ChunkSizeWs {
        size: u64,
    },
    /// In a chunk extension (`;name=value`), ignored up to its CR.
    ChunkExtension {
        size: u64,
    },
    /// After the CR of a chunk-size line.
    ChunkSizeLf {
        size: u64,
    },
    /// In a chunk's data.
    ChunkData {
        remaining: u64,
    },
    /// After a chunk's data, before its CR.
    ChunkDataCr,
    /// After the CR that follows a chunk's data.
    ChunkDataLf,
    /// After the last chunk's size line or a trailer line: a trailer
    /// field, or the empty line that ends the body.
    TrailerStart,
    /// In a trailer field line.
    Trailer,
    /// After the CR of a trailer field line.
    TrailerLf,
    /// After the CR of the empty line that ends the body.
    EndLf,
    Complete,
    Unknown,
}

impl Framing {
    pub(super) fn new() -> Framing {
        Framing {
            state: State::Start,
            length: None,
            chunked: None,
            bad_length: false,
        }
    }

    /// Where the request is.
    pub(super) fn progress(&self) -> Progress {
        match self.state {
            State::Start
            | State::StartCr
            | State::Skip
            | State::LineStart
            | State::LineStartCr
            | State::Name { .. }
            | State::NameEnd { .. }
            | State::Length { .. }
            | State::Coding { .. } => Progress::Head,
            State::Counted { .. }
            | State::ChunkStart
            | State::ChunkSize { .. }
            | State::ChunkSizeWs { .. }
            | State::ChunkExtension { .. }
            | State::ChunkSizeLf { .. }
            | State::ChunkData { .. }
            | State::ChunkDataCr
            | State::ChunkDataLf
            | State::TrailerStart
            | State::Trailer
            | State::TrailerLf
            | State::EndLf => Progress::Body,
            State::Complete => Progress::Complete,
            State::Unknown => Progress::Unknown,
        }
    }

    /// Follows the next bytes of the request; returns where it is after
    /// them. Bytes past its end (the next request's, pipelined) are not
    /// looked at.
    pub(super) fn feed(&mut self, bytes: &[u8]) -> Progress {
        let mut at = 0;
        while let Some(&byte) = bytes.get(at) {
            self.state = match self.state {
                State::Complete | State::Unknown => break,
                // Body data is skipped whole, not byte by byte.
                State::Counted { remaining } => {
                    let (taken, remaining) = take(remaining, bytes.len() - at);
                    at += taken;
                    match remaining {
                        0 => State::Complete,
                        remaining => State::Counted { remaining },
                    }
                }
                State::ChunkData { remaining } => {
                    let (taken, remaining) = take(remaining, bytes.len() - at);
                    at += taken;
                    match remaining {
                        0 => State::ChunkDataCr,
                        remaining => State::ChunkData { remaining },
                    }
                }
                _ => {
                    at += 1;
                    self.step(byte)
                }
            };
        }
        self.progress()
    }

    /// The state after `byte`, in any state but those `feed` handles.
    fn step(&mut self, byte: u8) -> State {
        match self.state {
            State::Start => match byte {
                b'\r' => State::StartCr,
                b'\n' => State::Start,
                _ => State::Skip,
            },
            State::StartCr => match byte {
                b'\n' => State::Start,
                _ => State::Skip,
            },
            State::Skip => skip(byte),
            State::LineStart => match byte.to_ascii_lowercase() {
                b'\r' => State::LineStartCr,
                b'\n' => self.head_end(),
                b'c' => State::Name {
                    field: Field::ContentLength,
                    matched: 1,
                },
                b't' => State::Name {
                    field: Field::TransferEncoding,
                    matched: 1,
                },
                _ => State::Skip,
            },
            State::LineStartCr => match byte {
                b'\n' => self.head_end(),
                // httparse refuses a CR alone; so will hyper.
                _ => State::Skip,
            },
            State::Name { field, matched } => match field.name().get(usize::from(matched)) {
                Some(&expected) if byte.to_ascii_lowercase() == expected => State::Name {
                    field,
                    matched: matched + 1,
                },
                Some(_) => skip(byte),
                None => after_name(field, byte),
            },
            State::NameEnd { field } => after_name(field, byte),
            State::Length { value, ended } => self.length(value, ended, byte),
            State::Coding { matched, ended } => self.coding(matched, ended, byte),
            State::ChunkStart => match hex(byte) {
                Some(digit) => State::ChunkSize {
                    size: u64::from(digit),
                },
                None => State::Unknown,
            },
            State::ChunkSize { size } => match byte {
                b' ' | b'\t' => State::ChunkSizeWs { size },
                b';' => State::ChunkExtension { size },
                b'\r' => State::ChunkSizeLf { size },
                _ => match hex(byte)
                    .and_then(|digit| size.checked_mul(16)?.checked_add(u64::from(digit)))
                {
                    Some(size) => State::ChunkSize { size },
                    None => State::Unknown,
                },
            },
            State::ChunkSizeWs { size } => match byte {
                b' ' | b'\t' => State::ChunkSizeWs { size },
                b';' => State::ChunkExtension { size },
                b'\r' => State::ChunkSizeLf { size },
                _ => State::Unknown,
            },
            State::ChunkExtension { size } => match byte {
                b'\r' => State::ChunkSizeLf { size },
                // hyper refuses an LF alone here.
                b'\n' => State::Unknown,
                _ => State::ChunkExtension { size },
            },
            State::ChunkSizeLf { size } => match (byte, size) {
                (b'\n', 0) => State::TrailerStart,
                (b'\n', remaining) => State::ChunkData { remaining },
                _ => State::Unknown,
            },
            State::ChunkDataCr => match byte {
                b'\r' => State::ChunkDataLf,
                _ => State::Unknown,
            },
            State::ChunkDataLf => match byte {
                b'\n' => State::ChunkStart,
                _ => State::Unknown,
            },
            State::TrailerStart => match byte {
                b'\r' => State::EndLf,
                b'\n' => State::Unknown,
                _ => State::Trailer,
            },
            State::Trailer => match byte {
                b'\r' => State::TrailerLf,
                b'\n' => State::Unknown,
                _ => State::Trailer,
            },
            State::TrailerLf => match byte {
                b'\n' => State::TrailerStart,
                _ => State::Unknown,
            },
            State::EndLf => match byte {
                b'\n' => State::Complete,
                _ => State::Unknown,
            },
            // Taken whole by `feed`, and never past the end.
            state @ (State::Counted { .. }
            | State::ChunkData { .. }
            | State::Complete
            | State::Unknown) => state,
        }
    }

    /// The next byte of a `Content-Length` value: digits, with optional
    /// whitespace around them (httparse trims it), as hyper parses it.
    fn length(&mut self, value: Option<u64>, ended: bool, byte: u8) -> State {
        match byte {
            b'0'..=b'9' if !ended => {
                let digit = u64::from(byte - b'0');
                match value
                    .unwrap_or(0)
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(digit))
                {
                    Some(value) => State::Length {
                        value: Some(value),
                        ended,
                    },
                    None => self.bad_length(),
                }
            }
            b' ' | b'\t' | b'\r' => State::Length {
                value,
                ended: value.is_some(),
            },
            b'\n' => {
                match value {
                    Some(value) if self.length.is_none_or(|length| length == value) => {
                        self.length = Some(value);
                    }
                    _ => self.bad_length = true,
                }
                State::LineStart
            }
            _ => self.bad_length(),
        }
    }

    fn bad_length(&mut self) -> State {
        self.bad_length = true;
        State::Skip
    }

    /// The next byte of a `Transfer-Encoding` value: a list of codings,
    /// of which only whether the last is `chunked` (in any case, trimmed)
    /// matters, as hyper decides.
    fn coding(&mut self, matched: u8, ended: bool, byte: u8) -> State {
        match byte {
            b',' => State::Coding {
                matched: 0,
                ended: false,
            },
            b' ' | b'\t' | b'\r' => State::Coding {
                matched,
                ended: matched != 0,
            },
            b'\n' => {
                self.chunked = Some(usize::from(matched) == CHUNKED.len());
                State::LineStart
            }
            _ => match CHUNKED.get(usize::from(matched)) {
                Some(&expected) if !ended && byte.to_ascii_lowercase() == expected => {
                    State::Coding {
                        matched: matched + 1,
                        ended,
                    }
                }
                _ => State::Coding {
                    matched: MISMATCH,
                    ended,
                },
            },
        }
    }

    /// The head ended: what its fields say follows. Where hyper would
    /// refuse the request, or where its reading and ours could differ
    /// (both fields: hyper takes the chunks), the framing is unknown.
    fn head_end(&self) -> State {
        if self.bad_length {
            return State::Unknown;
        }
        match (self.length, self.chunked) {
            (Some(_), Some(_)) | (None, Some(false)) => State::Unknown,
            (None, Some(true)) => State::ChunkStart,
            (None | Some(0), None) => State::Complete,
            (Some(remaining), None) => State::Counted { remaining },
        }
    }
}

/// After a byte of a line that does not matter.
fn skip(byte: u8) -> State {
    match byte {
        b'\n' => State::LineStart,
        _ => State::Skip,
    }
}

/// After `field`'s whole name: optional whitespace (which hyper refuses
/// unless told otherwise, so nothing is lost taking it), then the colon.
fn after_name(field: Field, byte: u8) -> State {
    match byte {
        b':' => field.value(),
        b' ' | b'\t' => State::NameEnd { field },
        _ => skip(byte),
    }
}

/// Of `available` bytes, how many belong to the `remaining` ones, and how
/// many then remain.
fn take(remaining: u64, available: usize) -> (usize, u64) {
    match usize::try_from(remaining) {
        Ok(remaining) if remaining <= available => (remaining, 0),
        // `available` is less than `remaining`, so it fits in a u64.
        _ => (available, remaining - available as u64),
    }
}

fn hex(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the request's bytes give whole, after checking that every
    /// split in up to three pieces, and byte by byte, gives the same.
    fn split_everywhere(request: &[u8]) -> Progress {
        let whole = Framing::new().feed(request);
        let mut framing = Framing::new();
        for byte in request {
            framing.feed(&[*byte]);
        }
        assert_eq!(framing.progress(), whole, "byte by byte");
        for i in 0..=request.len() {
            for j in i..=request.len() {
                let mut framing = Framing::new();
                for piece in [&request[..i], &request[i..j], &request[j..]] {
                    framing.feed(piece);
                }
                assert_eq!(framing.progress(), whole, "cut at {i} and {j}");
            }
        }
        whole
    }

    /// Checks the progress after every prefix of a well-framed request
    /// whose head is `head` bytes long, fed byte by byte and in two pieces
    /// cut anywhere; the request is then complete, and stays so whatever
    /// follows it.
    fn follows(request: &[u8], head: usize) {
        let expected = |fed: usize| match fed {
            fed if fed < head => Progress::Head,
            fed if fed < request.len() => Progress::Body,
            _ => Progress::Complete,
        };
        let mut framing = Framing::new();
        for (at, byte) in request.iter().enumerate() {
            assert_eq!(framing.feed(&[*byte]), expected(at + 1), "byte {at}");
        }
        for cut in 0..=request.len() {
            let mut framing = Framing::new();
            assert_eq!(framing.feed(&request[..cut]), expected(cut), "cut {cut}");
            assert_eq!(framing.feed(&request[cut..]), Progress::Complete);
            // A pipelined request after it is not looked at.
            assert_eq!(
                framing.feed(b"POST / HTTP/1.1\r\ncontent-length: 9\r\n\r\n"),
                Progress::Complete
            );
        }
        assert_eq!(split_everywhere(request), Progress::Complete);
    }

    #[test]
    fn a_request_without_a_body_ends_with_its_head() {
        let get = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n";
        follows(get, get.len());
        // Lines may end with a bare LF (httparse takes it).
        let get = b"GET / HTTP/1.1\nhost: x\n\n";
        follows(get, get.len());
        // Empty lines before the request line are skipped, as httparse
        // does, rather than taken for the end of a head.
        let get = b"\r\n\nGET / HTTP/1.1\r\n\r\n";
        follows(get, get.len());
        let zero = b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
        follows(zero, zero.len());
    }

    #[test]
    fn a_content_length_body_is_counted() {
        let head = "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n";
        follows(format!("{head}hello world").as_bytes(), head.len());
        // Names in any case, whitespace around the value and before the
        // colon, bare LFs.
        let head = "POST / HTTP/1.1\ncONTENT-lENGTH \t: \t007 \t\n\n";
        follows(format!("{head}1234567").as_bytes(), head.len());
        // The same length twice is one length (hyper takes it).
        let head = "POST / HTTP/1.1\r\ncontent-length: 3\r\ncontent-length: 3\r\n\r\n";
        follows(format!("{head}abc").as_bytes(), head.len());
    }

    #[test]
    fn a_long_body_is_still_arriving() {
        let mut framing = Framing::new();
        let head = format!("PUT / HTTP/1.1\r\ncontent-length: {}\r\n\r\n", u64::MAX);
        assert_eq!(framing.feed(head.as_bytes()), Progress::Body);
        assert_eq!(framing.feed(&[0; 64 * 1024]), Progress::Body);
    }

    #[test]
    fn other_fields_do_not_frame_the_body() {
        for field in [
            "content-length-x: 5",
            "x-content-length: 5",
            "content-lengt: 5",
            "contentlength: 5",
            "transfer-encodings: chunked",
            "te: chunked",
            "content-type: 5",
        ] {
            let request = format!("POST / HTTP/1.1\r\n{field}\r\n\r\n");
            assert_eq!(
                split_everywhere(request.as_bytes()),
                Progress::Complete,
                "{field}"
            );
        }
    }

    /// RFC 9112, section 7.1: `chunked-body = *chunk last-chunk
    /// trailer-section CRLF`, with chunk extensions and trailer fields.
    #[test]
    fn a_chunked_body_ends_after_its_last_chunk_and_trailers() {
        let head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
        let chunks = "5\r\nhello\r\n";
        follows(format!("{head}{chunks}0\r\n\r\n").as_bytes(), head.len());
        // Sizes in either case, whitespace and extensions after them
        // (ignored, quoted strings included), trailers after the last.
        let head = "POST / HTTP/1.1\r\ntransfer-encoding: gzip, Chunked \r\n\r\n";
        let chunks = "5;name=value\r\nhello\r\n0A \t;a;b=\"c;d\"\r\n0123456789\r\n\
                      1\r\n\n\r\n000\r\nExpires: never\r\nx: y\r\n\r\n";
        follows(format!("{head}{chunks}").as_bytes(), head.len());
        // Data that looks like framing is data.
        let head = "POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n";
        follows(
            format!("{head}7\r\n\r\n0\r\n\r\n\r\n0\r\n\r\n").as_bytes(),
            head.len(),
        );
    }

    #[test]
    fn a_transfer_encoding_counts_when_chunked_is_its_last_coding() {
        let chunked = |field: &str| {
            let request = format!("POST / HTTP/1.1\r\n{field}\r\n\r\n1\r\nx\r\n0\r\n\r\n");
            split_everywhere(request.as_bytes())
        };
        assert_eq!(chunked("transfer-encoding:chunked"), Progress::Complete);
        assert_eq!(
            chunked("transfer-encoding: gzip\r\ntransfer-encoding: chunked"),
            Progress::Complete
        );
        // hyper refuses these with 400.
        for field in [
            "transfer-encoding: gzip",
            "transfer-encoding: chunked, gzip",
            "transfer-encoding: chunked\r\ntransfer-encoding: gzip",
            "transfer-encoding: chun ked",
            "transfer-encoding: chunkedx",
            "transfer-encoding: xchunked",
            "transfer-encoding:",
        ] {
            assert_eq!(chunked(field), Progress::Unknown, "{field}");
        }
    }

    #[test]
    fn a_framing_that_cannot_be_followed_is_unknown() {
        for fields in [
            // Both: hyper takes the chunks, a proxy might take the length.
            "content-length: 3\r\ntransfer-encoding: chunked",
            "transfer-encoding: chunked\r\ncontent-length: 3",
            // Lengths hyper refuses.
            "content-length: 3\r\ncontent-length: 4",
            "content-length: 3, 3",
            "content-length: +3",
            "content-length: -3",
            "content-length: 3 3",
            "content-length: 0x3",
            "content-length:",
            "content-length: 18446744073709551616",
        ] {
            let request = format!("POST / HTTP/1.1\r\n{fields}\r\n\r\nabc");
            assert_eq!(
                split_everywhere(request.as_bytes()),
                Progress::Unknown,
                "{fields}"
            );
        }
        for chunks in [
            "x\r\n",
            ";a\r\n",
            "\r\n",
            "5\nhello\r\n",
            "5 5\r\nhello\r\n",
            "5;a\nhello\r\n",
            "5\r\nhelloX",
            "5\r\nhello\rX",
            "5\r\nhello\n",
            "0\r\nx: y\n\r\n",
            "0\r\n\n",
            "0\r\n\rX",
            "0\r\nx: y\rX",
            // A size past 64 bits.
            "10000000000000000\r\n",
        ] {
            let request = format!("POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n{chunks}");
            assert_eq!(
                split_everywhere(request.as_bytes()),
                Progress::Unknown,
                "{chunks:?}"
            );
        }
    }

    /// Any bytes, in any pieces: no panic, and the same progress however
    /// they are split.
    #[test]
    fn any_input_split_anyhow_gives_the_same_progress() {
        // Bytes that matter to the framing, and a few that do not.
        const ALPHABET: &[u8] =
            b"\r\n\r\n :;,\t0159aAfFxX-chunkedCHUNKEDcontent-lengthtransfer-encoding";
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut random = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let heads = [
            "POST / HTTP/1.1\r\ncontent-length: 12\r\n\r\n",
            "POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\n",
        ];
        for round in 0..2000 {
            let mut input = heads[round % heads.len()].as_bytes().to_vec();
            for _ in 0..random() % 64 {
                let index = usize::try_from(random() % ALPHABET.len() as u64).unwrap();
                input.push(ALPHABET[index]);
            }
            let whole = Framing::new().feed(&input);
            let mut framing = Framing::new();
            let mut rest = &input[..];
            while !rest.is_empty() {
                let len = usize::try_from(random() % 8).unwrap().min(rest.len());
                framing.feed(&rest[..len]);
                rest = &rest[len..];
            }
            assert_eq!(
                framing.progress(),
                whole,
                "{:?}",
                String::from_utf8_lossy(&input)
            );
        }
    }
}
