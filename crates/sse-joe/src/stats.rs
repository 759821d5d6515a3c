//! A snapshot of what Joe is doing.

/// Counters and queue sizes of a [`Joe`](crate::Joe), from
/// [`Joe::stats`](crate::Joe::stats).
///
/// The counters (`published`, `delivered`, `lagged`, `replays_*`) count
/// since the Joe was built; the rest describe the moment of the snapshot.
///
/// With the `serde` feature, `Stats` is `Serialize` and `Deserialize`, an
/// object with the fields' names; a field missing from what is read takes
/// its default, 0, so that a snapshot from a version with fewer fields
/// still reads.
///
/// # Examples
///
/// ```
/// use sse_codec::{Message, Topic};
/// use sse_joe::{Joe, Provider};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), sse_joe::Error> {
/// let joe = Joe::new();
/// joe.publish(Message::new().data("hi"), &[Topic::DEFAULT]).await?;
/// let stats = joe.stats();
/// assert_eq!((stats.published, stats.subscribers), (1, 0));
/// # #[cfg(feature = "serde")]
/// assert_eq!(serde_json::to_value(stats).unwrap()["published"], 1);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
#[non_exhaustive]
pub struct Stats {
    /// Open subscriber streams: subscribed and not yet dropped, ended ones
    /// (lagged, or after shutdown) included. For a server, the open event
    /// streams.
    pub subscribers: usize,
    /// Of those, the ones still registered for live messages.
    pub receiving: usize,
    /// Messages published.
    pub published: u64,
    /// Live frames subscribers have taken (a publish read by `n`
    /// subscribers counts `n`), counted as each is yielded; replays, and
    /// the frames handed to [`Subscriber::prepend`](crate::Subscriber::prepend),
    /// are not. After
    /// [`shutdown`](sse_codec::Provider::shutdown) it stays where it was,
    /// although subscribers may still read what was queued.
    pub delivered: u64,
    /// Subscribers ended because they fell behind.
    pub lagged: u64,
    /// Resumes whose replay was exact.
    pub replays_exact: u64,
    /// Resumes whose history was lost (unknown or evicted ID, or no
    /// replayer).
    pub replays_lost: u64,
    /// Frames held for subscribers: the entries of the topics' logs that
    /// some subscriber has not read (each counted once, however many
    /// subscribers share it), and the replays not yet read. Not counted:
    /// the batch a subscriber of several topics took from the logs and has
    /// not yielded yet, which Joe cannot see, and the entries every
    /// subscriber has read that wait for their segment of the log to go,
    /// with the segments that ended streams not yet dropped still hold
    /// (see [`Joe`'s memory](crate::Joe#memory)).
    pub queued_frames: usize,
    /// The bytes of those frames.
    pub queued_bytes: usize,
    /// The most frames waiting for one subscriber: its replay and what it
    /// has not read of its topics' logs.
    pub deepest_queue: usize,
}
