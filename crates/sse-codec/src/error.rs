//! Parse errors.

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
