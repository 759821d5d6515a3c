//! The one reader per process: `XREAD BLOCK` in a loop, each batch handed
//! to Joe in order, and a look at the stream's instance after each read.

use crate::{
    entry::{Entry, EntryId, is_epoch},
    redis::{Progress, Shared},
};
use redis::{Value, aio::ConnectionManager};
use sse_codec::Provider;
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

/// What one read found.
enum Read {
    /// Entries of the instance the reader reads (none if the read timed
    /// out).
    Entries(Vec<Entry>),
    /// Another instance of the stream, with this epoch.
    Reset(Arc<str>),
}

impl Reader {
    /// Reads the instance `epoch` after `last` for ever (until the task is
    /// aborted at shutdown), and each new instance from its start.
    pub(crate) async fn run(mut self, mut epoch: Arc<str>, mut last: EntryId) {
        let mut delay = MIN_DELAY;
        loop {
            let read = self.read(&epoch, last).await;
            let shared = &self.shared;
            match read {
                Ok(Read::Entries(entries)) => {
                    let _order = shared.order.lock().await;
                    let joe = {
                        let mut state = shared.lock();
                        if state.down.take().is_some() {
                            tracing::info!(key = shared.key, "reading the stream again");
                        }
                        state.joe.clone()
                    };
                    for entry in entries {
                        // Joe fails only once shut down, with this process.
                        let _ = joe.publish(entry.message, &entry.topics).await;
                        last = entry.id;
                    }
                    shared.lock().last = last;
                    shared.progress.send_replace(Progress {
                        last,
                        epoch: Arc::clone(&epoch),
                        up: true,
                    });
                    delay = MIN_DELAY;
                }
                Ok(Read::Reset(new)) => {
                    tracing::warn!(
                        key = shared.key,
                        old = &*epoch,
                        new = &*new,
                        "the stream was reset: ending this process's streams, reading the new one from its start"
                    );
                    {
                        let _order = shared.order.lock().await;
                        shared.reset(Arc::clone(&new)).await;
                    }
                    epoch = new;
                    last = EntryId::ZERO;
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

    /// Reads the entries after `last`, then looks at the stream's epoch
    /// key and whether the stream exists, in one pipeline.
    ///
    /// The look comes after the read, so that it sees any reset that came
    /// before the read's answer: entries of a new instance are then never
    /// taken for entries of `epoch` (a new instance's epoch is new, never
    /// the old one again), and a reset that brings no entry above `last`,
    /// which leaves the read waiting, is seen as soon as the read's wait
    /// ends.
    async fn read(&mut self, epoch: &str, last: EntryId) -> redis::RedisResult<Read> {
        let shared = &self.shared;
        let block = u64::try_from(BLOCK.as_millis()).unwrap_or(u64::MAX);
        let (reply, current, exists): (Value, Option<Vec<u8>>, bool) = redis::pipe()
            .cmd("XREAD")
            .arg("COUNT")
            .arg(BATCH)
            .arg("BLOCK")
            .arg(block)
            .arg("STREAMS")
            .arg(&shared.key)
            .arg(last.to_string())
            .cmd("GET")
            .arg(&shared.epoch_key)
            .cmd("EXISTS")
            .arg(&shared.key)
            .query_async(&mut self.conn)
            .await?;
        let current: Arc<str> = match current {
            Some(current) if exists && is_epoch(&current) => {
                if current == epoch.as_bytes() {
                    return Ok(Read::Entries(entries(reply, epoch)));
                }
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
        if &*current == epoch {
            return Ok(Read::Entries(entries(reply, epoch)));
        }
        Ok(Read::Reset(current))
    }
}

/// The entries of an `XREAD` reply (`[[key, [entry, ...]]]`, or a map of
/// key to entries in RESP3; nil when the read timed out).
fn entries(reply: Value, epoch: &str) -> Vec<Entry> {
    let streams = match reply {
        Value::Array(streams) => streams
            .into_iter()
            .filter_map(|stream| match stream {
                Value::Array(mut parts) if parts.len() == 2 => parts.pop(),
                _ => None,
            })
            .collect(),
        Value::Map(streams) => streams.into_iter().map(|(_, entries)| entries).collect(),
        _ => Vec::new(),
    };
    streams
        .into_iter()
        .flat_map(|entries| match entries {
            Value::Array(entries) => entries,
            _ => Vec::new(),
        })
        .filter_map(|value| Entry::from_value(value, epoch))
        .collect()
}
