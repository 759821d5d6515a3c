//! What the connection tasks and the sampling thread share: a slot per
//! stalled connection, the clock of the run, and the ids the healthy readers
//! saw.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::Instant;

pub(crate) const NEVER: u64 = u64::MAX;

/// What a stalled connection went through, in microseconds since the start
/// of the run (`NEVER` until it happens). Written by its task and by the
/// sampling thread; read once both are done.
pub(crate) struct Slot {
    /// The client's local port, 0 until connected: the server's side of the
    /// connection is found by it in `/proc/net/tcp`.
    pub(crate) port: AtomicU64,
    pub(crate) stalled_at: AtomicU64,
    pub(crate) reset_at: AtomicU64,
    pub(crate) server_closed_at: AtomicU64,
    pub(crate) server_gone_at: AtomicU64,
    pub(crate) server_seen: AtomicBool,
}

pub(crate) struct Shared {
    pub(crate) start: Instant,
    pub(crate) slots: Vec<Slot>,
    /// The ids of the last `--resume-depth` events the healthy readers
    /// saw, with their `seq`, oldest first: the oldest is where a resuming
    /// connection starts.
    pub(crate) recent_ids: Mutex<VecDeque<(String, u64)>>,
    pub(crate) resume_depth: usize,
    pub(crate) latest_seq: AtomicU64,
    /// What the stalled sockets reported as their pending error.
    pub(crate) close_errors: Mutex<BTreeMap<String, usize>>,
}

impl Shared {
    pub(crate) fn micros(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(NEVER - 1)
    }

    /// Records an event id a healthy reader saw (each once, in order).
    pub(crate) fn saw_id(&self, id: String, seq: u64) {
        let mut recent = self.recent_ids.lock().unwrap_or_else(|e| e.into_inner());
        if recent.back().is_some_and(|&(_, last)| last >= seq) {
            return;
        }
        recent.push_back((id, seq));
        if recent.len() > self.resume_depth {
            recent.pop_front();
        }
    }

    /// The event `--resume-depth` events back (or the oldest seen).
    pub(crate) fn resume_point(&self) -> Option<Resume> {
        let recent = self.recent_ids.lock().unwrap_or_else(|e| e.into_inner());
        recent.front().map(|(id, seq)| Resume {
            id: id.clone(),
            seq: *seq,
        })
    }
}

/// Where a resuming connection asks to start: after `id`, the event `seq`.
#[derive(Clone)]
pub(crate) struct Resume {
    pub(crate) id: String,
    pub(crate) seq: u64,
}
