//! Why a call failed or a subscription ended.

use std::{error::Error as StdError, fmt};

/// Why a [`Redis`](crate::Redis) call failed, or why a subscriber's stream
/// ended early.
///
/// # Examples
///
/// ```
/// use sse_redis::Error;
///
/// let err = Error::Shutdown;
/// assert!(err.is_shutdown());
/// assert_eq!(err.to_string(), "the redis provider was shut down");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// [`shutdown`](sse_codec::Provider::shutdown) was called, or the last
    /// handle was dropped: no more publishes or subscriptions.
    Shutdown,
    /// Redis could not be reached or refused a command; the cause is the
    /// [`source`](StdError::source). A publish that fails so was not
    /// stored.
    Redis(redis::RedisError),
    /// This process lost its connection to Redis: live streams end with it
    /// (their clients should reconnect and resume), and subscribing fails
    /// with it until the connection is back. The cause, if known, is the
    /// [`source`](StdError::source).
    Unavailable(Option<redis::RedisError>),
    /// The stream was reset under this process: flushed, deleted, or lost
    /// with a restart of Redis without persistence, and started again from
    /// nothing. Live streams end with it; their clients should reconnect,
    /// and their resume is [`Resume::Lost`](sse_codec::Resume::Lost), since
    /// the history they would resume from is gone.
    Reset,
    /// The subscriber fell behind: more than `capacity` frames (or
    /// `max_bytes`) waited for it in the process's log, so its stream was
    /// ended and its replay dropped. Its client should reconnect and resume.
    Lagged {
        /// The most frames the process's log holds.
        capacity: usize,
        /// The most bytes the process's log holds.
        max_bytes: usize,
    },
    /// A published message had an ID: IDs are assigned by Redis.
    ExplicitId,
}

impl Error {
    /// Whether the provider was shut down, as opposed to a failure that
    /// passes (Redis unreachable for now, a subscriber that lagged).
    pub fn is_shutdown(&self) -> bool {
        matches!(self, Error::Shutdown)
    }

    /// Whether this is [`Error::Reset`]: the stream was started again from
    /// nothing, and its history is gone.
    pub fn is_reset(&self) -> bool {
        matches!(self, Error::Reset)
    }

    pub(crate) fn from_joe(error: sse_joe::Error) -> Error {
        match error {
            sse_joe::Error::Lagged {
                capacity,
                max_bytes,
            } => Error::Lagged {
                capacity,
                max_bytes,
            },
            // The local fan-out is shut down only with the provider; it has
            // no replayer to fail.
            _ => Error::Shutdown,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shutdown => f.write_str("the redis provider was shut down"),
            Error::Redis(_) => f.write_str("redis command failed"),
            Error::Unavailable(_) => f.write_str("the connection to redis was lost"),
            Error::Reset => f.write_str("the redis stream was reset and its history is gone"),
            Error::Lagged {
                capacity,
                max_bytes,
            } => write!(
                f,
                "subscriber fell behind by more than {capacity} messages or {max_bytes} bytes"
            ),
            Error::ExplicitId => f.write_str("message has an id but redis assigns ids"),
        }
    }
}

impl sse_codec::ProviderError for Error {
    fn is_shutdown(&self) -> bool {
        Error::is_shutdown(self)
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::Redis(err) | Error::Unavailable(Some(err)) => Some(err),
            _ => None,
        }
    }
}

impl From<redis::RedisError> for Error {
    fn from(err: redis::RedisError) -> Error {
        Error::Redis(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_lowercase_without_period_and_does_not_repeat_the_source() {
        let io = redis::RedisError::from(std::io::Error::other("boom"));
        let all = [
            Error::Shutdown,
            Error::Redis(io),
            Error::Unavailable(None),
            Error::Reset,
            Error::Lagged {
                capacity: 3,
                max_bytes: 9,
            },
            Error::ExplicitId,
        ];
        for err in all {
            let text = err.to_string();
            assert!(text.chars().next().unwrap().is_lowercase(), "{text}");
            assert!(!text.ends_with('.'), "{text}");
            assert!(!text.contains("boom"), "{text}");
        }
    }

    #[test]
    fn is_send_sync() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
    }
}
