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

/// An error from an [`EventStream`](crate::EventStream).
#[derive(Debug)]
#[non_exhaustive]
pub enum EventStreamError<E> {
    /// The inner stream failed.
    Transport(E),
    /// An event was too large; it was skipped and the stream goes on.
    Parse(ParseError),
}

impl<E> EventStreamError<E> {
    /// Whether this is a transport error.
    pub fn is_transport(&self) -> bool {
        matches!(self, EventStreamError::Transport(_))
    }
}

impl<E> fmt::Display for EventStreamError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventStreamError::Transport(_) => f.write_str("error reading the event stream"),
            EventStreamError::Parse(_) => f.write_str("error parsing the event stream"),
        }
    }
}

impl<E: core::error::Error + 'static> core::error::Error for EventStreamError<E> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            EventStreamError::Transport(err) => Some(err),
            EventStreamError::Parse(err) => Some(err),
        }
    }
}
