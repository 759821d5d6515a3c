//! A cheaply clonable UTF-8 string backed by [`Bytes`].

use bytes::Bytes;
use core::{fmt, hash, str};

/// Shared, immutable UTF-8 text.
///
/// Invariant: the bytes are valid UTF-8. The field is private to this
/// module, and every constructor here either validates (`from_utf8_lossy`)
/// or takes a `str`, so text is validated once, when it is made, and
/// [`Text::as_str`] is free.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Text(Bytes);

impl Text {
    pub(crate) const fn from_static(s: &'static str) -> Text {
        Text(Bytes::from_static(s.as_bytes()))
    }

    /// Wraps bytes, replacing invalid UTF-8 sequences with U+FFFD as the
    /// WHATWG "UTF-8 decode" algorithm does. Valid input is not copied.
    #[inline]
    pub(crate) fn from_utf8_lossy(bytes: Bytes) -> Text {
        // Most event data is ASCII (JSON): checking that first is several
        // times faster than UTF-8 validation.
        if is_ascii(&bytes) {
            return Text(bytes);
        }
        Text::from_non_ascii(bytes)
    }

    /// Wraps bytes that the line splitter found to be valid UTF-8
    /// ([`Lines::utf8_checked`](crate::line::Lines::utf8_checked)).
    #[inline]
    pub(crate) fn from_checked_utf8(bytes: Bytes) -> Text {
        debug_assert!(str::from_utf8(&bytes).is_ok(), "{bytes:?}");
        Text(bytes)
    }

    fn from_non_ascii(bytes: Bytes) -> Text {
        match str::from_utf8(&bytes) {
            Ok(_) => Text(bytes),
            Err(_) => Text(Bytes::from(
                alloc::string::String::from_utf8_lossy(&bytes).into_owned(),
            )),
        }
    }

    #[inline]
    #[allow(unsafe_code)]
    pub(crate) fn as_str(&self) -> &str {
        // SAFETY: `Text`'s bytes are valid UTF-8 (the invariant above): the
        // field is private to this module, every constructor validates or
        // copies a `str`, and `Bytes` is immutable. Validating again here
        // cost every `Event::data()` call a pass over the data (half again
        // the parse on 64 KiB events; `cargo bench -p sse-benches --bench
        // parse` reads through `data()`).
        unsafe { str::from_utf8_unchecked(&self.0) }
    }

    pub(crate) fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    pub(crate) fn into_bytes(self) -> Bytes {
        self.0
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Whether `bytes` is all ASCII: an OR of all bytes, a word at a time
/// (four words per step), that the compiler vectorizes (no early exit, so
/// no branch per byte).
fn is_ascii(bytes: &[u8]) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let word = |w: &[u8]| {
        let mut buf = [0u8; 8];
        buf.copy_from_slice(w);
        u64::from_le_bytes(buf)
    };
    if bytes.len() < 8 {
        return bytes.iter().fold(0u8, |acc, &b| acc | b) < 0x80;
    }
    // Four words per step, then the rest a word at a time, and the last
    // word, which may overlap bytes already seen, for the tail.
    let mut blocks = bytes.chunks_exact(32);
    let mut acc = 0u64;
    for block in &mut blocks {
        acc |= word(&block[..8]) | word(&block[8..16]) | word(&block[16..24]) | word(&block[24..]);
    }
    let mut words = blocks.remainder().chunks_exact(8);
    for w in &mut words {
        acc |= word(w);
    }
    acc |= word(&bytes[bytes.len() - 8..]);
    acc & HIGH == 0
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<alloc::string::String> for Text {
    fn from(s: alloc::string::String) -> Text {
        Text(Bytes::from(s))
    }
}

impl hash::Hash for Text {
    fn hash<H: hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_check_sees_every_byte() {
        // Lengths that end in the 32-byte blocks, the words and the tail.
        for len in 0..100 {
            let mut bytes = alloc::vec![b'a'; len];
            assert!(is_ascii(&bytes), "length {len}");
            for i in 0..len {
                bytes[i] = 0xC3;
                assert!(!is_ascii(&bytes), "length {len}, byte {i}");
                bytes[i] = b'a';
            }
        }
    }

    #[test]
    fn lossy_keeps_valid_utf8_and_replaces_invalid() {
        let valid = Bytes::from_static("h\u{e9}llo".as_bytes());
        assert_eq!(
            Text::from_utf8_lossy(valid.clone()).as_bytes().as_ptr(),
            valid.as_ptr()
        );
        let invalid = Bytes::from_static(b"a\xFFb");
        assert_eq!(Text::from_utf8_lossy(invalid).as_str(), "a\u{FFFD}b");
    }

    #[test]
    fn every_constructor_keeps_the_utf8_invariant() {
        // Truncated, overlong, surrogate and out-of-range sequences, alone
        // and between ASCII: each comes out as valid UTF-8.
        let cases: [&[u8]; 8] = [
            b"\xC3",
            b"a\xE2\x82",
            b"\xC0\xAF",
            b"\xED\xA0\x80",
            b"\xF4\x90\x80\x80",
            b"\xFFxyz\xFE",
            b"h\xC3\xA9llo",
            b"",
        ];
        for bytes in cases {
            let text = Text::from_utf8_lossy(Bytes::from_static(bytes));
            assert!(str::from_utf8(text.as_bytes()).is_ok(), "{bytes:?}");
            assert_eq!(text.as_str(), alloc::string::String::from_utf8_lossy(bytes));
        }
        assert_eq!(Text::from("x\u{1F600}").as_str(), "x\u{1F600}");
        assert_eq!(Text::from_static("\u{e9}").as_str(), "\u{e9}");
    }
}
