//! Why a call failed or a subscription ended.

use std::{error::Error as StdError, fmt};

/// Why a [`Redis`](crate::Redis) call failed, or why a subscriber's stream
/// ended early.
///
/// A failed publish is either [`Error::Redis`], which stored nothing, or
/// [`Error::Unconfirmed`], which may have stored the message: see each
/// variant for what a caller should do.
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
    /// A command failed and certainly did not run: the connection could not
    /// be made (refused, authentication or settings rejected), or Redis
    /// answered with an error (a key of the wrong type, out of memory, a
    /// read-only replica, ...). A publish that fails so stored nothing, and
    /// may be retried as it is. The cause is the
    /// [`source`](StdError::source), and the message says which kind of
    /// failure it was.
    ///
    /// Also any failure of a command that writes nothing (building the
    /// provider, reading a replay), whatever its kind.
    Redis(redis::RedisError),
    /// A publish was sent, or may have been, and no answer came: Redis did
    /// not answer within the response timeout
    /// ([`RedisBuilder::response_timeout`](crate::RedisBuilder::response_timeout)),
    /// or the connection dropped after the command may have been written.
    /// Redis may have stored the message, or may still store it when it
    /// gets to it; every subscriber then receives it as usual.
    ///
    /// Retrying may publish the message twice. A caller that must not
    /// duplicate it should check first (in its own data, or by reading the
    /// stream, where a message published with an ID of its own has it in
    /// its entry's `id` field) whether it was stored; one that can bear a
    /// duplicate may retry (a client resuming from an ID published twice
    /// resumes after its earliest use). This is also the error of a
    /// failure that redis-rs reports the same way as one after sending,
    /// such as a connection attempt that timed out. The cause is the
    /// [`source`](StdError::source).
    Unconfirmed(redis::RedisError),
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
    /// Entries were trimmed from the stream before this process read them:
    /// its reader fell further behind than the stream's
    /// [`Retention`](crate::Retention) keeps, or another program trimmed the
    /// stream (or deleted an entry with `XDEL` before this process read
    /// it, then trimmed past it). Live streams end with it, since they
    /// would miss those entries; their clients should reconnect, and their
    /// resume is [`Resume::Lost`](sse_codec::Resume::Lost) when the history
    /// they would resume from was trimmed too. Needs Redis 7 (its
    /// `XINFO STREAM` counts the entries ever added); before, such entries
    /// go unnoticed.
    Trimmed,
    /// The subscriber fell behind: more than `capacity` frames (or
    /// `max_bytes`) waited for it in the process's log, so its stream was
    /// ended and its replay dropped. Its client should reconnect and resume.
    Lagged {
        /// The most frames the process's log holds.
        capacity: usize,
        /// The most bytes the process's log holds.
        max_bytes: usize,
    },
}

impl Error {
    /// Whether the provider was shut down, as opposed to a failure that
    /// passes (Redis unreachable for now, a subscriber that lagged).
    pub fn is_shutdown(&self) -> bool {
        matches!(self, Error::Shutdown)
    }

    /// Whether this is [`Error::Unconfirmed`]: a publish whose outcome is
    /// unknown, since it may have been stored.
    pub fn is_unconfirmed(&self) -> bool {
        matches!(self, Error::Unconfirmed(_))
    }

    /// Whether this is [`Error::Reset`]: the stream was started again from
    /// nothing, and its history is gone.
    pub fn is_reset(&self) -> bool {
        matches!(self, Error::Reset)
    }

    /// The error for a failed publish: [`Error::Redis`] if the command
    /// certainly did not run, [`Error::Unconfirmed`] if it may have.
    pub(crate) fn from_publish(error: redis::RedisError) -> Error {
        if did_not_run(&error) {
            Error::Redis(error)
        } else {
            Error::Unconfirmed(error)
        }
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

/// Whether a command that failed so certainly did not run: Redis answered
/// with an error (it runs a command whole or not at all, and the publish
/// script writes its entry last), or the command was never sent because no
/// connection could be made. Anything else, a timeout, a dropped
/// connection, an answer that could not be read, may come after Redis ran
/// it.
fn did_not_run(error: &redis::RedisError) -> bool {
    use redis::ErrorKind;
    match error.kind() {
        ErrorKind::Server(_)
        | ErrorKind::Extension
        | ErrorKind::AuthenticationFailed
        | ErrorKind::InvalidClientConfig => true,
        ErrorKind::Io => error.is_connection_refusal(),
        _ => false,
    }
}

/// What kind of failure a Redis error was, in a few words.
fn kind(error: &redis::RedisError) -> &'static str {
    use redis::ErrorKind;
    match error.kind() {
        _ if error.is_connection_refusal() => "could not connect to redis",
        ErrorKind::AuthenticationFailed => "redis refused the credentials",
        ErrorKind::InvalidClientConfig => "invalid redis connection settings",
        ErrorKind::Server(_) | ErrorKind::Extension => "redis refused the command",
        _ if error.is_timeout() => "redis did not answer in time",
        ErrorKind::Io if error.is_connection_dropped() => "the connection to redis was lost",
        ErrorKind::Io => "i/o error on the connection to redis",
        ErrorKind::Parse | ErrorKind::UnexpectedReturnType => "unexpected answer from redis",
        _ => "redis command failed",
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shutdown => f.write_str("the redis provider was shut down"),
            Error::Redis(error) => f.write_str(kind(error)),
            Error::Unconfirmed(error) if error.is_timeout() => {
                f.write_str("redis did not answer in time; the message may have been published")
            }
            Error::Unconfirmed(error) if error.is_connection_dropped() => f.write_str(
                "the connection to redis was lost before an answer; the message may have been published",
            ),
            Error::Unconfirmed(_) => {
                f.write_str("no answer from redis; the message may have been published")
            }
            Error::Unavailable(_) => f.write_str("this process lost its connection to redis"),
            Error::Reset => f.write_str("the redis stream was reset and its history is gone"),
            Error::Trimmed => {
                f.write_str("entries were trimmed from the redis stream before this process read them")
            }
            Error::Lagged {
                capacity,
                max_bytes,
            } => write!(
                f,
                "subscriber fell behind by more than {capacity} messages or {max_bytes} bytes"
            ),
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
            Error::Redis(err) | Error::Unconfirmed(err) | Error::Unavailable(Some(err)) => {
                Some(err)
            }
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

    fn io(kind: std::io::ErrorKind) -> redis::RedisError {
        redis::RedisError::from(std::io::Error::new(kind, "boom"))
    }

    fn reply(code: &str) -> redis::RedisError {
        let text = format!("-{code} boom\r\n");
        match redis::parse_redis_value(text.as_bytes()) {
            Ok(redis::Value::ServerError(error)) => error.into(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn display_is_lowercase_without_period_and_does_not_repeat_the_source() {
        use std::io::ErrorKind;
        let all = [
            Error::Shutdown,
            Error::Redis(io(ErrorKind::Other)),
            Error::Redis(io(ErrorKind::ConnectionRefused)),
            Error::Redis(io(ErrorKind::TimedOut)),
            Error::Redis(reply("WRONGTYPE")),
            Error::Unconfirmed(io(ErrorKind::TimedOut)),
            Error::Unconfirmed(io(ErrorKind::BrokenPipe)),
            Error::Unconfirmed(io(ErrorKind::Other)),
            Error::Unavailable(None),
            Error::Reset,
            Error::Trimmed,
            Error::Lagged {
                capacity: 3,
                max_bytes: 9,
            },
        ];
        for err in all {
            let text = err.to_string();
            assert!(text.chars().next().unwrap().is_lowercase(), "{text}");
            assert!(!text.ends_with('.'), "{text}");
            assert!(!text.contains("boom"), "{text}");
        }
    }

    #[test]
    fn display_says_what_kind_of_failure() {
        use std::io::ErrorKind;
        let cases = [
            (
                Error::Redis(io(ErrorKind::ConnectionRefused)),
                "could not connect to redis",
            ),
            (
                Error::Redis(io(ErrorKind::TimedOut)),
                "redis did not answer in time",
            ),
            (Error::Redis(reply("OOM")), "redis refused the command"),
            (
                Error::Redis(io(ErrorKind::ConnectionReset)),
                "the connection to redis was lost",
            ),
            (
                Error::Unconfirmed(io(ErrorKind::TimedOut)),
                "redis did not answer in time; the message may have been published",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
            assert!(error.source().is_some(), "{error:?} keeps its cause");
        }
    }

    /// Only a failure that certainly did not run is a plain `Redis` error
    /// for a publish; the rest may have stored the message.
    #[test]
    fn a_publish_failure_is_unconfirmed_unless_it_certainly_did_not_run() {
        use std::io::ErrorKind;
        for certain in [
            io(ErrorKind::ConnectionRefused),
            reply("ERR"),
            reply("NOSCRIPT"),
            reply("READONLY"),
            reply("SOMETHINGNEW"),
            redis::RedisError::from((redis::ErrorKind::AuthenticationFailed, "no")),
        ] {
            let error = Error::from_publish(certain);
            assert!(matches!(error, Error::Redis(_)), "{error:?}");
        }
        for unknown in [
            io(ErrorKind::TimedOut),
            io(ErrorKind::BrokenPipe),
            io(ErrorKind::ConnectionReset),
            io(ErrorKind::UnexpectedEof),
            io(ErrorKind::Other),
            redis::RedisError::from((redis::ErrorKind::Parse, "garbled")),
        ] {
            let error = Error::from_publish(unknown);
            assert!(error.is_unconfirmed(), "{error:?}");
        }
    }

    #[test]
    fn is_send_sync() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
    }
}
