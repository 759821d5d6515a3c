//! What Joe's handles and its subscribers' streams share: the registry of
//! subscribers and the logs of their topics, under Joe's lock, and the
//! sequence number of the last finished publish.

use crate::{
    Replayer,
    log::{Cursor, Log, Owner, Waiter, Waiters, wake_waiting},
    metrics::Metrics,
    shared::Shared,
    sync::{Arc, AtomicU64, Ordering},
};
use sse_codec::{Encoded, Topic};
use std::{
    collections::{HashMap, VecDeque},
    sync::{Mutex, MutexGuard, PoisonError},
};

pub(crate) struct Inner {
    pub(crate) state: Mutex<State>,
    pub(crate) capacity: usize,
    pub(crate) max_queued_bytes: usize,
    /// Whether a replayer was configured. Without one, a message can be
    /// encoded before taking the lock, shortening the critical section.
    pub(crate) has_replayer: bool,
    /// The log of subscribers without topics: never appended to, closed at
    /// shutdown, so that their streams end then.
    pub(crate) idle: Arc<Log>,
    /// The sequence number of the last publish whose entries are in every
    /// log: a subscriber of several topics reads up to it.
    pub(crate) finished: AtomicU64,
    pub(crate) metrics: Metrics,
}

pub(crate) struct State {
    pub(crate) closed: bool,
    pub(crate) replayer: Option<Box<dyn Replayer>>,
    /// Subscribers by slot; `None` slots are listed in `free`.
    pub(crate) slots: Vec<Option<Entry>>,
    pub(crate) free: Vec<usize>,
    /// The log of each topic that has subscribers. A publish appends to
    /// the logs of its topics, once each.
    pub(crate) by_topic: HashMap<Topic, Arc<Log>>,
    /// The log of every update, while subscribers to every topic are
    /// there: a publish appends to it too.
    pub(crate) every: Option<Arc<Log>>,
    /// Subscribers with a filter or to every topic: while there are any,
    /// a publish gives its entries their routing, for them to ask.
    pub(crate) filtered: usize,
    pub(crate) next_id: u64,
    /// Numbers publishes, which orders the entries of different logs for a
    /// subscriber of several topics.
    pub(crate) publish_seq: u64,
    /// Subscriber streams not yet dropped, registered or not.
    pub(crate) streams: usize,
    /// Subscribers registered for live messages.
    pub(crate) receiving: usize,
    /// The counters of [`Stats`].
    pub(crate) published: u64,
    /// Frames read by subscribers that are gone.
    pub(crate) delivered_gone: u64,
    pub(crate) lagged_total: u64,
    pub(crate) replays_exact: u64,
    pub(crate) replays_lost: u64,
}

/// Which log a subscriber reads.
pub(crate) enum Which {
    Idle,
    Topic(Topic),
    Every,
}

pub(crate) struct Entry {
    pub(crate) id: u64,
    pub(crate) shared: Arc<Shared>,
    pub(crate) waiter: Arc<Waiter>,
    /// Each log it reads (its topics', every update's, or for none the
    /// idle log) and this subscriber's reader in it.
    pub(crate) logs: Vec<(Which, Arc<Log>, usize)>,
    /// It has a filter, or reads every topic.
    pub(crate) filtered: bool,
    /// Registered for live messages: not ended for lagging.
    pub(crate) receiving: bool,
}

impl Inner {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // Replayer panics are caught inside the lock, so it is not poisoned
        // by them; recover from anything else rather than fail every call.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Publishes that every entry up to the publish `seq` is in every log.
    pub(crate) fn finish(&self, seq: u64) {
        // Release: pairs with the Acquire load in `finished`, so that a
        // subscriber that reads up to `seq` sees every log's tail past it.
        // The publish's wake pass (`wake_waiting`) fences this store before
        // it loads the waiting flags, against the fence in `Waiter::arm`.
        self.finished.store(seq, Ordering::Release);
    }

    /// The sequence number of the last publish whose entries are in every
    /// log.
    pub(crate) fn finished(&self) -> u64 {
        // Acquire: pairs with the Release store in `finish`. On the second
        // look, after the fence in `Waiter::arm`.
        self.finished.load(Ordering::Acquire)
    }

    /// The bounds of a topic's log: frames and bytes.
    pub(crate) fn bounds(&self) -> (usize, usize) {
        (self.capacity, self.max_queued_bytes)
    }

    pub(crate) fn shutdown(&self) {
        let mut guard = self.lock();
        let state = &mut *guard;
        if state.closed {
            return;
        }
        state.closed = true;
        let ended = state.receiving;
        state.receiving = 0;
        let mut waiters: Vec<Waiters> = Vec::new();
        for entry in state.slots.drain(..).flatten() {
            entry.shared.close();
            state.delivered_gone += entry.waiter.delivered();
        }
        state.free.clear();
        let mut logs: Vec<Arc<Log>> = state.by_topic.drain().map(|(_, log)| log).collect();
        logs.extend(state.every.take());
        for log in logs.iter().chain([&self.idle]) {
            waiters.push(log.close());
        }
        // No publish or replay can follow: free the history now rather
        // than when the last stream is dropped.
        let replayer = state.replayer.take();
        drop(guard);
        drop(replayer);
        drop(logs);
        wake_waiting(&waiters);
        self.metrics.shut_down(ended);
        tracing::debug!(subscribers = ended, "shut down");
    }

    /// Removes a subscriber whose stream was dropped.
    pub(crate) fn unsubscribe(&self, slot: usize, id: u64) {
        let mut state = self.lock();
        state.streams -= 1;
        let mut dispose = Vec::new();
        let mut unread = Vec::new();
        let removed = state.remove(slot, id, &mut dispose, &mut unread);
        drop(state);
        drop(dispose);
        drop(unread);
        // After shutdown the registry is empty: the stream was no longer
        // receiving.
        self.metrics.unsubscribed(removed == Some(true));
        if removed.is_some() {
            tracing::debug!(subscriber = id, "unsubscribed");
        }
    }
}

impl State {
    /// Registers a subscriber: a reader at the end of each topic's log,
    /// of the log of every update for a subscriber to every topic, or of
    /// the idle log for one without topics; `filtered` if it has a filter
    /// or reads every topic. Returns its slot and its logs.
    pub(crate) fn insert(
        &mut self,
        id: u64,
        (shared, waiter): (&Arc<Shared>, &Arc<Waiter>),
        (topics, every, filtered): (&[Topic], bool, bool),
        idle: &Arc<Log>,
        capacity: usize,
    ) -> (usize, Vec<Cursor>) {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        let topics = if every { &[][..] } else { topics };
        let mut logs = Vec::with_capacity(topics.len().max(1));
        let mut cursors = Vec::with_capacity(topics.len().max(1));
        let mut read = |key: Which, log: &Arc<Log>, which: usize| {
            let place = log.lock().add_reader((slot, id), (waiter, filtered), which);
            logs.push((key, Arc::clone(log), place.0));
            cursors.push(Cursor::new(log, place));
        };
        if every {
            let log = self
                .every
                .get_or_insert_with(|| Arc::new(Log::new(capacity)));
            read(Which::Every, log, 0);
        } else if topics.is_empty() {
            read(Which::Idle, idle, 0);
        }
        for (which, topic) in topics.iter().enumerate() {
            let log = self
                .by_topic
                .entry(topic.clone())
                .or_insert_with(|| Arc::new(Log::new(capacity)));
            read(Which::Topic(topic.clone()), log, which);
        }
        self.slots[slot] = Some(Entry {
            id,
            shared: Arc::clone(shared),
            waiter: Arc::clone(waiter),
            logs,
            receiving: true,
            filtered,
        });
        self.receiving += 1;
        self.filtered += usize::from(filtered);
        (slot, cursors)
    }

    /// Removes the subscriber `id` from `slot`, if it is still there: its
    /// readers leave their logs, and a log left without readers goes. What
    /// must be dropped without the lock goes to `dispose` and `unread`.
    /// Returns whether it was there, and then whether it was receiving.
    pub(crate) fn remove(
        &mut self,
        slot: usize,
        id: u64,
        dispose: &mut Vec<Arc<Waiter>>,
        unread: &mut Vec<Arc<Log>>,
    ) -> Option<bool> {
        let here = self.slots.get(slot).and_then(Option::as_ref);
        if here.is_none_or(|entry| entry.id != id) {
            return None;
        }
        let entry = self.slots[slot].take()?;
        self.free.push(slot);
        if entry.receiving {
            self.receiving -= 1;
        }
        self.delivered_gone += entry.waiter.delivered();
        self.filtered -= usize::from(entry.filtered);
        for (which, log, reader) in entry.logs {
            let mut state = log.lock();
            state.remove_reader(reader, dispose);
            let gone = state.is_unread();
            drop(state);
            if !gone {
                continue;
            }
            match which {
                Which::Topic(topic) => {
                    if self
                        .by_topic
                        .get(&topic)
                        .is_some_and(|held| Arc::ptr_eq(held, &log))
                    {
                        unread.extend(self.by_topic.remove(&topic));
                    }
                }
                Which::Every => {
                    if self
                        .every
                        .as_ref()
                        .is_some_and(|held| Arc::ptr_eq(held, &log))
                    {
                        unread.extend(self.every.take());
                    }
                }
                Which::Idle => {}
            }
        }
        Some(entry.receiving)
    }

    /// Ends a subscriber that fell behind in one of its logs: in all of
    /// them, with its replay freed (into `freed`), once.
    pub(crate) fn end_lagged(
        &mut self,
        (slot, id): Owner,
        ended: &mut Vec<Arc<Waiter>>,
        freed: &mut Vec<VecDeque<Encoded>>,
        dropped: &mut Vec<u64>,
    ) {
        let Some(entry) = self.slots.get_mut(slot).and_then(Option::as_mut) else {
            return;
        };
        if entry.id != id || !std::mem::take(&mut entry.receiving) {
            return;
        }
        for (_, log, reader) in &entry.logs {
            log.lock().end(*reader, ended);
        }
        freed.push(entry.shared.end());
        self.receiving -= 1;
        self.lagged_total += 1;
        dropped.push(id);
    }
}
