//! The append-only segments a log keeps its entries in.

use crate::sync::Arc;
use sse_codec::{Encoded, Routing};
use std::sync::OnceLock;

/// The most entries a segment holds.
pub(super) const SEGMENT_FRAMES: usize = 64;
/// The most bytes a segment holds past its first entry.
pub(super) const SEGMENT_BYTES: usize = 64 * 1024;
/// The first segment's size in entries; each next one doubles.
pub(super) const FIRST_SEGMENT: usize = 4;

/// Entries `start..` of a log, each written once.
pub(crate) struct Segment {
    pub(super) start: u64,
    pub(super) slots: Box<[OnceLock<Slot>]>,
}

pub(crate) struct Slot {
    /// The publish's sequence number in Joe, which orders entries across
    /// topics.
    pub(crate) seq: u64,
    pub(crate) frame: Encoded,
    /// What the update is routed by, when a reader of the log has a filter
    /// to ask (or it is private): `None` costs the others nothing.
    pub(crate) routing: Option<Routing>,
    /// The bytes of every frame appended to the log before this one.
    pub(super) offset: u64,
}

impl Segment {
    pub(super) fn new(start: u64, size: usize) -> Arc<Segment> {
        Arc::new(Segment {
            start,
            slots: (0..size).map(|_| OnceLock::new()).collect(),
        })
    }

    /// The entry `at`, if it is in this segment and written.
    pub(super) fn get(&self, at: u64) -> Option<&Slot> {
        let i = usize::try_from(at.checked_sub(self.start)?).ok()?;
        self.slots.get(i)?.get()
    }
}
