//! The log's bookkeeping of its readers, under its lock: where each is,
//! which segments they keep, what they have not read.

use super::{Held, Log, LogState, Owner, Reader, Segment, Waiter};
use crate::sync::{Arc, Ordering};
use std::mem;

impl LogState {
    /// Adds a reader that starts with the next entry appended, for the
    /// subscriber of `waiter` (`filtered` if it has a filter), publishing
    /// its position in `which`. Returns what its [`Cursor`] needs.
    pub(crate) fn add_reader(
        &mut self,
        owner: Owner,
        (waiter, filtered): (&Arc<Waiter>, bool),
        which: usize,
    ) -> (usize, usize, Arc<Segment>, u64) {
        let index = self.free.pop().unwrap_or_else(|| {
            self.readers.push(None);
            self.readers.len() - 1
        });
        let part = self.parts.back_mut().expect("a log holds a segment");
        let reader = Reader {
            owner,
            waiter: Arc::clone(waiter),
            which,
            part: part.segment.start,
            at: part.readers.len(),
            waiter_at: self.waiter_owners.len(),
            ended: false,
            filtered,
        };
        self.filtered += usize::from(filtered);
        part.readers.push(index);
        let segment = Arc::clone(&part.segment);
        if self.parts.len() == 1 {
            self.scanned = self.scanned.min(self.tail);
        }
        self.waiters.push(Arc::clone(waiter));
        self.waiter_owners.push(index);
        // Release: pairs with the Acquire load in `position`.
        waiter.next(which).store(self.tail, Ordering::Release);
        self.readers[index] = Some(reader);
        self.active += 1;
        (index, which, segment, self.tail)
    }

    /// Removes a reader (its subscriber was dropped). Its waiter goes to
    /// `dispose`, to be dropped once no lock is held.
    pub(crate) fn remove_reader(&mut self, index: usize, dispose: &mut Vec<Arc<Waiter>>) {
        self.end(index, dispose);
        let Some(reader) = self.readers.get_mut(index).and_then(Option::take) else {
            return;
        };
        self.free.push(index);
        self.filtered -= usize::from(reader.filtered);
        let at = reader.waiter_at;
        dispose.push(self.waiters.swap_remove(at));
        debug_assert_eq!(self.waiters.len(), self.waiter_owners.len() - 1);
        self.waiter_owners.swap_remove(at);
        if let Some(&moved) = self.waiter_owners.get(at) {
            if let Some(moved) = self.readers[moved].as_mut() {
                moved.waiter_at = at;
            }
        }
        dispose.push(reader.waiter);
    }

    /// Whether no reader is left, ended or not.
    pub(crate) fn is_unread(&self) -> bool {
        self.free.len() == self.readers.len()
    }

    /// Ends a reader: it reads nothing more and no segment waits for it.
    /// Its waiter is marked lagged and goes to `ended`, to be woken once no
    /// lock is held.
    pub(crate) fn end(&mut self, index: usize, ended: &mut Vec<Arc<Waiter>>) {
        let Some(reader) = self.readers.get_mut(index).and_then(Option::as_mut) else {
            return;
        };
        if mem::replace(&mut reader.ended, true) {
            return;
        }
        let (part, at) = (reader.part, reader.at);
        // Release: pairs with the Acquire load in `Waiter::is_lagged`; the
        // waiter goes to `ended`, to be woken whether it waits or not.
        reader.waiter.lagged.store(true, Ordering::Release);
        ended.push(Arc::clone(&reader.waiter));
        self.active -= 1;
        self.leave(part, at);
        self.trim();
    }

    /// Takes the reader at `at` out of the readers of the part starting at
    /// `start`.
    pub(super) fn leave(&mut self, start: u64, at: usize) {
        let Ok(i) = self
            .parts
            .binary_search_by_key(&start, |part| part.segment.start)
        else {
            return;
        };
        let part = &mut self.parts[i];
        part.readers.swap_remove(at);
        if let Some(&moved) = part.readers.get(at) {
            if let Some(moved) = self.readers[moved].as_mut() {
                moved.at = at;
            }
        }
    }

    /// Joins a reader to the readers of the part at position `i`.
    pub(super) fn join(&mut self, index: usize, i: usize) {
        if i == 0 {
            self.scanned = 0;
        }
        let part = &mut self.parts[i];
        if let Some(reader) = self.readers[index].as_mut() {
            reader.part = part.segment.start;
            reader.at = part.readers.len();
            part.readers.push(index);
        }
    }

    /// Moves a reader to the segment holding entry `at`; `None` if it was
    /// ended or `at` was evicted.
    pub(super) fn step(&mut self, index: usize, at: u64) -> Option<Arc<Segment>> {
        let reader = self.readers.get(index)?.as_ref()?;
        if reader.ended || at < self.first {
            return None;
        }
        let (part, was) = (reader.part, reader.at);
        let i = self.part_of(at)?;
        let segment = Arc::clone(&self.parts[i].segment);
        if segment.start != part {
            self.leave(part, was);
            self.join(index, i);
            self.trim();
        }
        Some(segment)
    }

    /// The segment holding entry `at`, without moving any reader.
    pub(super) fn segment_at(&self, at: u64) -> Option<Arc<Segment>> {
        if at < self.first {
            return None;
        }
        let i = self.part_of(at)?;
        Some(Arc::clone(&self.parts[i].segment))
    }

    /// The position of an active reader.
    pub(super) fn position(&self, index: usize) -> Option<u64> {
        match self.readers.get(index).and_then(Option::as_ref) {
            Some(reader) if !reader.ended => {
                // Acquire: pairs with the Release stores in
                // `Cursor::advance` and `add_reader`.
                Some(reader.waiter.next(reader.which).load(Ordering::Acquire))
            }
            _ => None,
        }
    }

    /// How many entries the reader has not read yet, and their bytes, in
    /// O(log segments).
    pub(crate) fn unread(&self, index: usize) -> Held {
        match self.position(index) {
            Some(next) if next < self.tail => Held {
                frames: (self.tail - next) as usize,
                bytes: self.bytes_from(next),
            },
            _ => Held::default(),
        }
    }

    /// The sequence number and size of the first `max` entries the reader
    /// has not read.
    pub(crate) fn unread_entries(&self, index: usize, max: usize, out: &mut Vec<(u64, usize)>) {
        if let Some(next) = self.position(index) {
            out.extend(
                self.slots_from(next)
                    .take(max)
                    .map(|slot| (slot.seq, slot.frame.len())),
            );
        }
    }

    /// The entries some active reader has not read, and their bytes: a
    /// walk over the readers, for [`Stats`](crate::Stats).
    pub(crate) fn held(&self) -> Held {
        let oldest = (0..self.readers.len())
            .filter_map(|index| self.position(index))
            .min();
        match oldest {
            Some(next) if next < self.tail => Held {
                frames: (self.tail - next) as usize,
                bytes: self.bytes_from(next),
            },
            _ => Held::default(),
        }
    }
}

/// What a subscriber's readers in `logs` have not read: a message in
/// several of them counts once. The logs are read one after the other, not
/// as one cut: a figure for diagnostics.
pub(crate) fn unread<'a>(logs: impl IntoIterator<Item = (&'a Arc<Log>, usize)>) -> Held {
    let mut logs = logs.into_iter();
    let Some((first, reader)) = logs.next() else {
        return Held::default();
    };
    let Some((second, other)) = logs.next() else {
        return first.lock().unread(reader);
    };
    let mut entries = Vec::new();
    for (log, reader) in [(first, reader), (second, other)].into_iter().chain(logs) {
        log.lock().unread_entries(reader, usize::MAX, &mut entries);
    }
    entries.sort_unstable();
    entries.dedup_by_key(|(seq, _)| *seq);
    Held {
        frames: entries.len(),
        bytes: entries.iter().map(|(_, bytes)| bytes).sum(),
    }
}
