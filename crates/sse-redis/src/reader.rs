//! The one reader per process: `XREAD BLOCK` in a loop, each batch handed
//! to Joe in order.

use crate::{
    entry::{Entry, EntryId},
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
/// How long a read waits for new entries.
pub(crate) const BLOCK: Duration = Duration::from_secs(5);

pub(crate) struct Reader {
    pub(crate) shared: Arc<Shared>,
    pub(crate) conn: ConnectionManager,
}

impl Reader {
    /// Reads after `last` for ever (until the task is aborted at shutdown).
    pub(crate) async fn run(mut self, mut last: EntryId) {
        let block = u64::try_from(BLOCK.as_millis()).unwrap_or(u64::MAX);
        let mut delay = MIN_DELAY;
        loop {
            let reply: redis::RedisResult<Value> = redis::cmd("XREAD")
                .arg("COUNT")
                .arg(BATCH)
                .arg("BLOCK")
                .arg(block)
                .arg("STREAMS")
                .arg(&self.shared.key)
                .arg(last.to_string())
                .query_async(&mut self.conn)
                .await;
            let shared = &self.shared;
            match reply {
                Ok(reply) => {
                    let entries = entries(reply, &shared.epoch);
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
                    shared.progress.send_replace(Progress { last, up: true });
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
