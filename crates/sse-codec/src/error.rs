//! Errors: of the parser, and of the readers built on it.

use core::fmt;

/// An error from the [`Parser`](crate::Parser) or
/// [`FieldParser`](crate::FieldParser).
///
/// The parser recovers from every error: it skips the offending event up to
/// the next blank line and goes on, so the caller loses nothing else and
/// decides whether to stop.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// A line, or an event's data, exceeded the maximum event size. The
    /// event was skipped without being buffered.
    EventTooLarge {
        /// The configured maximum, in bytes.
        limit: usize,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::EventTooLarge { limit } => {
                write!(f, "event exceeds the maximum size of {limit} bytes")
            }
        }
    }
}

impl core::error::Error for ParseError {}

/// An error from reading events off a source of bytes: the error of
/// [`EventStream`](crate::EventStream) (over a `Stream` of chunks),
/// `EventReader` (over a `std::io::Read`) and `EventCodec` (tokio-util's
/// `Decoder`).
///
/// `E` is the source's error: the inner stream's, or `std::io::Error`. A
/// [`Transport`](ReadError::Transport) error is the last: the source
/// failed. A [`Parse`](ReadError::Parse) error is not: the
/// [`Parser`](crate::Parser) skipped the oversize event, and reading can go
/// on with the next one (each reader says how).
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError<E> {
    /// The source of the bytes failed.
    Transport(E),
    /// An event was too large; it was skipped and the stream goes on.
    Parse(ParseError),
}

/// The former name of [`ReadError`], from when only
/// [`EventStream`](crate::EventStream) returned it.
#[deprecated(
    note = "renamed to `ReadError`, the error of every reader (`EventStream`, `EventReader`, `EventCodec`)"
)]
pub type EventStreamError<E> = ReadError<E>;

impl<E> ReadError<E> {
    /// Whether this is a transport error.
    pub fn is_transport(&self) -> bool {
        matches!(self, ReadError::Transport(_))
    }
}

impl<E> fmt::Display for ReadError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Transport(_) => f.write_str("error reading the event stream"),
            ReadError::Parse(_) => f.write_str("error parsing the event stream"),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for ReadError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            ReadError::Transport(err) => Some(err),
            ReadError::Parse(err) => Some(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Code written against the former name still compiles: the type, and
    /// its variants as constructors and in patterns.
    #[test]
    #[allow(deprecated)]
    fn the_former_name_still_names_the_error() {
        let error: crate::EventStreamError<&str> = crate::EventStreamError::Transport("cut");
        assert!(matches!(error, ReadError::Transport("cut")));
        let error = ReadError::<()>::Parse(ParseError::EventTooLarge { limit: 1 });
        assert!(matches!(error, crate::EventStreamError::Parse(_)));
    }
}
