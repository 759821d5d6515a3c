//! A cheaply clonable UTF-8 string backed by [`Bytes`].

use bytes::Bytes;
use core::{fmt, hash, str};

/// Shared, immutable UTF-8 text.
///
/// Invariant: the bytes are valid UTF-8. Every constructor checks it or takes
/// a `str`, so [`Text::as_str`] never fails; it re-validates rather than
/// using `unsafe`, which costs a fast ASCII scan on access.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Text(Bytes);

impl Text {
    pub(crate) const fn from_static(s: &'static str) -> Text {
        Text(Bytes::from_static(s.as_bytes()))
    }

    /// Wraps bytes, replacing invalid UTF-8 sequences with U+FFFD as the
    /// WHATWG "UTF-8 decode" algorithm does. Valid input is not copied.
    pub(crate) fn from_utf8_lossy(bytes: Bytes) -> Text {
        match str::from_utf8(&bytes) {
            Ok(_) => Text(bytes),
            Err(_) => Text(Bytes::from(
                alloc::string::String::from_utf8_lossy(&bytes).into_owned(),
            )),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        // Cannot fail: the invariant above.
        str::from_utf8(&self.0).unwrap_or_default()
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
