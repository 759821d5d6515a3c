//! Why a call failed or a subscription ended.

use std::fmt;

/// Why a [`Joe`](crate::Joe) call failed, or why a subscriber's stream
/// ended early.
///
/// # Examples
///
/// ```
/// use sse_joe::{Error, Joe, Provider};
/// use sse_codec::{Message, Subscription, Topic};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let joe = Joe::new();
/// joe.shutdown().await;
/// let err = joe.publish(Message::new().data("hi"), &[Topic::DEFAULT]).await.unwrap_err();
/// assert!(matches!(err, Error::Shutdown));
/// assert_eq!(err.to_string(), "joe was shut down");
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// [`shutdown`](sse_codec::Provider::shutdown) was called: no more
    /// publishes or subscriptions.
    Shutdown,
    /// The subscriber fell behind: a topic's log evicted a frame it had
    /// not read, to stay within `capacity` frames or `max_bytes` bytes, so
    /// its stream was ended and its replay dropped. This is the last item
    /// of that stream; its client should reconnect with its
    /// `Last-Event-ID` and catch up from the replayer.
    Lagged {
        /// The most frames a topic's log holds.
        capacity: usize,
        /// The most bytes a topic's log holds.
        max_bytes: usize,
    },
    /// A message published through a replayer that assigns IDs already had
    /// an ID.
    ExplicitId,
    /// The replayer panicked. It has been disabled (Joe keeps serving,
    /// without history); the call that hit the panic failed.
    ReplayerPanicked,
    /// A custom [`Replayer`](crate::Replayer) rejected the message; the
    /// cause is the [`source`](std::error::Error::source).
    Rejected(Box<dyn std::error::Error + Send + Sync>),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shutdown => f.write_str("joe was shut down"),
            Error::Lagged {
                capacity,
                max_bytes,
            } => write!(
                f,
                "subscriber fell behind by more than {capacity} messages or {max_bytes} bytes"
            ),
            Error::ExplicitId => f.write_str("message has an id but the replayer assigns ids"),
            Error::ReplayerPanicked => f.write_str("replayer panicked and was disabled"),
            Error::Rejected(_) => f.write_str("replayer rejected the message"),
        }
    }
}

impl sse_codec::ProviderError for Error {
    fn is_shutdown(&self) -> bool {
        matches!(self, Error::Shutdown)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Rejected(err) => Some(&**err),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn display_is_lowercase_without_period() {
        let all = [
            Error::Shutdown,
            Error::Lagged {
                capacity: 3,
                max_bytes: 9,
            },
            Error::ExplicitId,
            Error::ReplayerPanicked,
            Error::Rejected("nope".into()),
        ];
        for err in all {
            let text = err.to_string();
            assert!(text.chars().next().unwrap().is_lowercase(), "{text}");
            assert!(!text.ends_with('.'), "{text}");
        }
    }

    #[test]
    fn rejected_exposes_its_source() {
        let err = Error::Rejected("nope".into());
        assert_eq!(err.source().unwrap().to_string(), "nope");
        assert!(Error::Shutdown.source().is_none());
    }

    #[test]
    fn is_send_sync() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
    }
}
