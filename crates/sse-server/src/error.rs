//! The error a response body ends with.

use std::{error::Error as StdError, fmt};

type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Why a response body ended abnormally.
///
/// Only a [`StreamResponse`](crate::StreamResponse) over a stream of
/// `Result`s produces one: the stream yielded an `Err`, which is kept as
/// this error's [`source`](StdError::source). The server (hyper) then aborts
/// the response instead of ending it cleanly, so the client can tell a
/// failed computation from a finished one.
///
/// A [`Server`](crate::Server) body never fails: when its provider ends a
/// subscription with an error (for example a subscriber dropped for being
/// too slow), the body ends cleanly and the client reconnects and resumes.
pub struct Error {
    source: BoxError,
}

impl Error {
    pub(crate) fn new(source: impl Into<BoxError>) -> Error {
        Error {
            source: source.into(),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("sse_server::Error")
            .field(&self.source)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("event stream failed")
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}
