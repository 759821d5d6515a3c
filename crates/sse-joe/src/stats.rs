//! A snapshot of what Joe is doing.

/// Counters and queue sizes of a [`Joe`](crate::Joe), from
/// [`Joe::stats`](crate::Joe::stats).
///
/// The counters (`published`, `delivered`, `lagged`, `replays_*`) count
/// since the Joe was built; the rest describe the moment of the snapshot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
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
    /// Frames queued for subscribers by publishes (a publish to `n`
    /// subscribers counts `n`); replays are not counted.
    pub delivered: u64,
    /// Subscribers ended because they fell behind.
    pub lagged: u64,
    /// Resumes whose replay was exact.
    pub replays_exact: u64,
    /// Resumes whose history was lost (unknown or evicted ID, or no
    /// replayer).
    pub replays_lost: u64,
    /// Frames waiting in subscribers' queues, replays included.
    pub queued_frames: usize,
    /// The bytes of those frames. A frame shared by several queues counts
    /// once per queue.
    pub queued_bytes: usize,
    /// The most frames waiting for one subscriber.
    pub deepest_queue: usize,
}
