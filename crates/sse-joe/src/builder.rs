//! Joe's configuration: the bounds of each topic's log, and the replayer.

use crate::{Joe, Replayer};
use std::fmt;

/// The default capacity of a topic's log: how many published frames a
/// subscriber may leave unread before it is ended with
/// [`Error::Lagged`](crate::Error::Lagged).
///
/// 256 absorbs bursts while a subscriber's response is written out. What
/// the bound holds in memory, and what a stalled subscriber costs: see
/// [`Joe`'s memory](crate::Joe#memory).
pub const DEFAULT_CAPACITY: usize = 256;

/// The default limit on the bytes of the frames a topic's log holds for
/// its slowest subscriber, 4 MiB: a subscriber is ended with
/// [`Error::Lagged`](crate::Error::Lagged) when a frame it has not read
/// would be evicted to stay under it. The log always takes one frame, however large, so a single
/// event larger than the limit still reaches a subscriber that keeps up.
///
/// With events up to 16 KiB the [capacity](DEFAULT_CAPACITY) binds first
/// (256 events of 16 KiB are 4 MiB); with larger ones this does, so that
/// large events cannot make 256 held frames a large amount of memory. See
/// [`Joe`'s memory](crate::Joe#memory).
pub const DEFAULT_MAX_QUEUED_BYTES: usize = 4 << 20;

/// Configures a [`Joe`]; from [`Joe::builder`].
#[must_use]
pub struct JoeBuilder {
    capacity: usize,
    max_queued_bytes: usize,
    replayer: Option<Box<dyn Replayer>>,
}

impl JoeBuilder {
    pub(crate) fn new() -> JoeBuilder {
        JoeBuilder {
            capacity: DEFAULT_CAPACITY,
            max_queued_bytes: DEFAULT_MAX_QUEUED_BYTES,
            replayer: None,
        }
    }

    /// Sets how many frames a subscriber may leave unread on one of its
    /// topics before it is ended with [`Error::Lagged`](crate::Error::Lagged): the capacity of
    /// each topic's log. [`DEFAULT_CAPACITY`] by default.
    ///
    /// # Panics
    ///
    /// Panics if `capacity` is zero.
    pub fn capacity(mut self, capacity: usize) -> JoeBuilder {
        assert!(capacity > 0, "subscriber queue capacity must be at least 1");
        self.capacity = capacity;
        self
    }

    /// Sets how many bytes of frames a topic's log holds for its slowest
    /// subscriber before that one is ended with [`Error::Lagged`](crate::Error::Lagged);
    /// [`DEFAULT_MAX_QUEUED_BYTES`] by default. A log always takes one
    /// frame, however large.
    ///
    /// # Panics
    ///
    /// Panics if `max_bytes` is zero.
    pub fn max_queued_bytes(mut self, max_bytes: usize) -> JoeBuilder {
        assert!(
            max_bytes > 0,
            "subscriber queue byte limit must be at least 1"
        );
        self.max_queued_bytes = max_bytes;
        self
    }

    /// Sets the replayer that keeps history for resuming subscribers. None
    /// by default.
    pub fn replayer(mut self, replayer: impl Replayer) -> JoeBuilder {
        self.replayer = Some(Box::new(replayer));
        self
    }

    /// Builds the Joe.
    pub fn build(self) -> Joe {
        Joe::from_builder(self.capacity, self.max_queued_bytes, self.replayer)
    }
}

impl fmt::Debug for JoeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoeBuilder")
            .field("capacity", &self.capacity)
            .field("max_queued_bytes", &self.max_queued_bytes)
            .field("replayer", &self.replayer.is_some())
            .finish()
    }
}
