//! Validated event IDs and event types.

use crate::text::Text;
use bytes::Bytes;
use core::{fmt, str::FromStr};

/// An event ID: text with no CR, LF or NUL.
///
/// Sent as the `id:` field; a client echoes the last one it saw in the
/// `Last-Event-ID` header when it reconnects. An empty ID resets the client's
/// last event ID.
///
/// Cloning is cheap (a reference count), so one ID can be stored in a
/// replayer and sent to many subscribers.
///
/// # Examples
///
/// ```
/// use sse_codec::EventId;
///
/// let id = EventId::from_static("42");
/// assert_eq!(id.as_str(), "42");
/// assert!(EventId::try_from("4\n2").is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId(Text);

/// An event type: text with no CR or LF.
///
/// Sent as the `event:` field; a browser dispatches the event to listeners
/// of this type (`addEventListener(type, ..)`). Unset, it is `message`.
///
/// # Examples
///
/// ```
/// use sse_codec::EventType;
///
/// let ty = EventType::from_static("update");
/// assert_eq!(ty, "update");
/// assert!(EventType::try_from("a\rb").is_err());
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventType(Text);

/// The error returned when a string is not a valid [`EventId`]: it contains
/// CR, LF or NUL.
#[derive(Clone, PartialEq, Eq)]
pub struct InvalidEventId {
    _priv: (),
}

/// The error returned when a string is not a valid [`EventType`]: it contains
/// CR or LF.
#[derive(Clone, PartialEq, Eq)]
pub struct InvalidEventType {
    _priv: (),
}

const fn valid(bytes: &[u8], nul_allowed: bool) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\r' | b'\n' => return false,
            0 if !nul_allowed => return false,
            _ => {}
        }
        i += 1;
    }
    true
}

macro_rules! validated {
    ($name:ident, $err:ident, $nul:expr, $what:literal) => {
        impl $name {
            #[doc = concat!("Creates ", $what, " from a string literal, checked at compile time when used in a `const`.")]
            ///
            /// # Panics
            ///
            #[doc = concat!("Panics if `s` is not a valid ", $what, "; use `try_from` for input that is not a literal.")]
            #[must_use]
            pub const fn from_static(s: &'static str) -> Self {
                if !valid(s.as_bytes(), $nul) {
                    panic!(concat!("invalid ", $what));
                }
                $name(Text::from_static(s))
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                self.0.as_str()
            }

            /// The text as shared bytes, without copying.
            pub fn as_bytes(&self) -> &Bytes {
                self.0.as_bytes()
            }

            /// The length in bytes.
            pub fn len(&self) -> usize {
                self.0.len()
            }

            /// Whether this is the empty string.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }

            /// Wraps text already known to be valid: used for values the
            /// parser produced, which cannot contain line ends.
            pub(crate) fn from_text_unchecked(text: Text) -> Self {
                debug_assert!(valid(text.as_str().as_bytes(), $nul));
                $name(text)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = $err;

            fn try_from(s: &str) -> Result<Self, $err> {
                if valid(s.as_bytes(), $nul) {
                    Ok($name(Text::from(s)))
                } else {
                    Err($err { _priv: () })
                }
            }
        }

        impl TryFrom<alloc::string::String> for $name {
            type Error = $err;

            fn try_from(s: alloc::string::String) -> Result<Self, $err> {
                if valid(s.as_bytes(), $nul) {
                    Ok($name(Text::from(s)))
                } else {
                    Err($err { _priv: () })
                }
            }
        }

        impl FromStr for $name {
            type Err = $err;

            fn from_str(s: &str) -> Result<Self, $err> {
                Self::try_from(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.as_str(), f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl fmt::Debug for $err {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($err)).finish()
            }
        }

        impl fmt::Display for $err {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!("invalid ", $what))
            }
        }

        impl core::error::Error for $err {}
    };
}

validated!(EventId, InvalidEventId, false, "event ID");
validated!(EventType, InvalidEventType, true, "event type");

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn id_rejects_line_ends_and_nul() {
        for bad in ["a\nb", "a\rb", "\r\n", "a\0b"] {
            assert!(EventId::try_from(bad).is_err(), "{bad:?}");
        }
        assert_eq!(EventId::try_from("").unwrap(), "");
        assert_eq!(EventId::try_from("ok id ✓").unwrap(), "ok id ✓");
    }

    #[test]
    fn type_rejects_line_ends_only() {
        assert!(EventType::try_from("a\nb").is_err());
        assert!(EventType::try_from("a\rb").is_err());
        assert!(EventType::try_from("a\0b").is_ok());
    }

    #[test]
    #[should_panic(expected = "invalid event ID")]
    fn from_static_panics_on_invalid() {
        let _ = EventId::from_static("a\nb");
    }

    #[test]
    fn const_construction() {
        const ID: EventId = EventId::from_static("7");
        assert_eq!(ID.as_str(), "7");
        assert_eq!(InvalidEventId { _priv: () }.to_string(), "invalid event ID");
    }
}
