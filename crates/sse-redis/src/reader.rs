//! The one reader per process: a blocking `XREAD` to wait for entries, then
//! the read script for them and the stream's state at one instant, each
//! batch handed to Joe in order, each entry with its routing.

use crate::{
    entry::{Entry, EntryId, is_epoch},
    script::is_no_script,
    shared::{Progress, Shared},
};
use redis::{Value, aio::ConnectionManager};
use sse_codec::{EventId, Provider};
use std::{
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

/// The first wait after a failed read; it doubles up to [`MAX_DELAY`].
const MIN_DELAY: Duration = Duration::from_millis(50);
const MAX_DELAY: Duration = Duration::from_secs(2);

/// Entries per read, at most.
const BATCH: usize = 512;
/// How long a read waits for new entries. A reset that brings no entry
/// numbered above the last one read is noticed when the read ends, so this
/// is also how long that may take (plus a round trip).
pub(crate) const BLOCK: Duration = Duration::from_secs(1);

pub(crate) struct Reader {
    pub(crate) shared: Arc<Shared>,
    pub(crate) conn: ConnectionManager,
}

/// Where the reader is in the stream's instance.
#[derive(Clone, Debug)]
pub(crate) struct Position {
    pub(crate) epoch: Arc<str>,
    /// The last entry read.
    pub(crate) last: EntryId,
    /// How many entries had been added to the instance up to `last`, to
    /// tell entries trimmed before they were read; unknown before Redis 7.
    pub(crate) added: Option<u64>,
}

/// What one read found.
enum Read {
    /// The entries after the last one read (none if the wait timed out),
    /// and how many entries had been added up to the newest of them.
    Entries(Vec<Entry>, Option<u64>),
    /// Another instance of the stream, with this epoch.
    Reset(Arc<str>),
    /// Entries added after the last one read were trimmed before they could
    /// be read; the reader goes on after `last`, the newest entry there is,
    /// with the event ID `last_id` (`None` if no entry was read: the
    /// last one read stays the newest).
    Trimmed {
        last: EntryId,
        last_id: Option<EventId>,
        added: u64,
    },
}

/// The read script's answer.
struct Snapshot {
    /// The epoch key's value, if the stream exists.
    epoch: Option<Vec<u8>>,
    entries: Vec<Entry>,
    /// `XINFO STREAM`'s `entries-added` (unknown before Redis 7), `length`
    /// and first entry.
    added: Option<u64>,
    length: u64,
    first: Option<EntryId>,
}

impl Reader {
    /// Reads the instance `at.epoch` after `at.last` for ever (until the
    /// task is aborted at shutdown), and each new instance from its start.
    pub(crate) async fn run(mut self, mut at: Position) {
        let mut delay = MIN_DELAY;
        loop {
            let read = self.read(&at).await;
            let shared = &self.shared;
            match read {
                Ok(Read::Entries(entries, added)) => {
                    let _order = shared.order.lock().await;
                    let joe = {
                        let mut state = shared.lock();
                        if state.down.take().is_some() {
                            tracing::info!(key = shared.key, "reading the stream again");
                        }
                        state.joe.clone()
                    };
                    at.added = added;
                    let mut last_id = None;
                    for entry in entries {
                        at.last = entry.id;
                        last_id = entry.message.get_id().cloned();
                        // Joe fails only once shut down, with this process.
                        let _ = joe.publish_routed(entry.message, entry.routing).await;
                    }
                    {
                        let mut state = shared.lock();
                        state.last = at.last;
                        // Every entry read has an ID.
                        if last_id.is_some() {
                            state.last_id = last_id;
                        }
                    }
                    shared.progress.send_replace(Progress {
                        last: at.last,
                        epoch: Arc::clone(&at.epoch),
                        up: true,
                    });
                    delay = MIN_DELAY;
                }
                Ok(Read::Reset(epoch)) => {
                    tracing::warn!(
                        key = shared.key,
                        old = &*at.epoch,
                        new = &*epoch,
                        "the stream was reset: ending this process's streams, reading the new one from its start"
                    );
                    {
                        let _order = shared.order.lock().await;
                        shared.reset(Arc::clone(&epoch)).await;
                    }
                    at = Position {
                        epoch,
                        last: EntryId::ZERO,
                        added: Some(0),
                    };
                    delay = MIN_DELAY;
                }
                Ok(Read::Trimmed {
                    last,
                    last_id,
                    added,
                }) => {
                    tracing::warn!(
                        key = shared.key,
                        "entries were trimmed before this process read them: ending its streams"
                    );
                    {
                        let _order = shared.order.lock().await;
                        let last_id = last_id.or_else(|| shared.lock().last_id.clone());
                        shared.trimmed(last, last_id).await;
                    }
                    at.last = last;
                    at.added = Some(added);
                    delay = MIN_DELAY;
                }
                Err(error) => {
                    if shared.closed.load(Ordering::Acquire) {
                        return;
                    }
                    tracing::warn!(
                        key = shared.key,
                        error = &error as &dyn std::error::Error,
                        "cannot read the stream: ending this process's streams"
                    );
                    {
                        let _order = shared.order.lock().await;
                        shared.fail(error).await;
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(MAX_DELAY);
                }
            }
        }
    }

    /// Waits for entries after `at.last` (`XREAD BLOCK`), then reads them
    /// with the read script, in one pipeline.
    ///
    /// The script reads the entries, the epoch key and the stream's counts
    /// at one instant, so that the entries are of the instance the epoch
    /// names, and the counts say exactly whether entries after `at.last`
    /// were deleted before they could be read. A reset that brings no
    /// entry above `at.last`, which leaves the `XREAD` waiting, is seen as
    /// soon as its wait ends.
    async fn read(&mut self, at: &Position) -> redis::RedisResult<Read> {
        let shared = &self.shared;
        let block = u64::try_from(BLOCK.as_millis()).unwrap_or(u64::MAX);
        let mut script = shared.scripts.read.call(&shared.key, &shared.epoch_key);
        script.arg(at.last.to_string()).arg(BATCH);
        let mut pipe = redis::pipe();
        pipe.cmd("XREAD")
            .arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(block)
            .arg("STREAMS")
            .arg(&shared.key)
            .arg(at.last.to_string())
            .ignore()
            .add_command(script);
        let reply = match pipe.query_async::<(Value,)>(&mut self.conn).await {
            Err(error) if is_no_script(&error) => {
                shared.scripts.read.reload(&mut self.conn).await?;
                pipe.query_async::<(Value,)>(&mut self.conn).await?
            }
            reply => reply?,
        };
        let snapshot = Snapshot::from_value(reply.0, &at.epoch);
        let current: Arc<str> = match snapshot.epoch {
            Some(current) if is_epoch(&current) => {
                Arc::from(String::from_utf8_lossy(&current).as_ref())
            }
            // No stream, or no epoch for it: the script starts or names
            // the instance, as a publish would.
            _ => {
                shared
                    .scripts
                    .instance(&mut self.conn, &shared.key, &shared.epoch_key)
                    .await?
            }
        };
        if current != at.epoch {
            return Ok(Read::Reset(current));
        }
        if let (Some(before), Some(added)) = (at.added, snapshot.added) {
            // Redis trims the oldest entries first: while an entry up to
            // `at.last` is left, none after it was trimmed. Otherwise every
            // entry up to it is gone, and of the entries added since, those
            // not in the stream were deleted unread.
            let past_last = snapshot.first.is_none_or(|first| first > at.last);
            if past_last && added.saturating_sub(snapshot.length) > before {
                let (last, last_id, added) = match snapshot.entries.last() {
                    Some(newest) => (
                        newest.id,
                        newest.message.get_id().cloned(),
                        (added - snapshot.length) + snapshot.entries.len() as u64,
                    ),
                    None => (at.last, None, added),
                };
                return Ok(Read::Trimmed {
                    last,
                    last_id,
                    added,
                });
            }
        }
        // Counted on from the last read, or, when this one reached the
        // stream's end, taken as it is: so the count heals after an entry
        // was deleted (`XDEL`) before it was read.
        let added = match (at.added, snapshot.added) {
            (_, Some(added)) if snapshot.entries.len() < BATCH => Some(added),
            (before, _) => before.map(|before| before + snapshot.entries.len() as u64),
        };
        Ok(Read::Entries(snapshot.entries, added))
    }
}

impl Snapshot {
    /// Reads the read script's answer: `[epoch, 0]` if the stream does not
    /// exist, `[epoch, 1, entries, added, length, first]` otherwise.
    fn from_value(value: Value, epoch: &str) -> Snapshot {
        let mut snapshot = Snapshot {
            epoch: None,
            entries: Vec::new(),
            added: None,
            length: 0,
            first: None,
        };
        let Value::Array(parts) = value else {
            return snapshot;
        };
        let mut parts = parts.into_iter();
        let epoch_value = parts.next();
        if !matches!(parts.next(), Some(Value::Int(1))) {
            return snapshot;
        }
        snapshot.epoch = match epoch_value {
            Some(Value::BulkString(epoch)) => Some(epoch),
            _ => None,
        };
        if let Some(Value::Array(entries)) = parts.next() {
            snapshot.entries = entries
                .into_iter()
                .filter_map(|value| Entry::from_value(value, epoch))
                .collect();
        }
        snapshot.added = match parts.next() {
            Some(Value::Int(added)) => u64::try_from(added).ok(),
            _ => None,
        };
        if let Some(Value::Int(length)) = parts.next() {
            snapshot.length = u64::try_from(length).unwrap_or(0);
        }
        snapshot.first = parts.next().as_ref().and_then(EntryId::from_value);
        snapshot
    }
}
