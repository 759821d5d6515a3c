//! Replays from the stream, read in pages (`XRANGE`, or `XREVRANGE` from
//! the earliest), each with the epoch of the stream's instance.

use crate::{
    Error,
    entry::{Entry, EntryId},
    shared::Shared,
};
use redis::Value;
use sse_codec::{Encoded, Topic};

/// Entries per replay command (`XRANGE ... COUNT`): a replay of many
/// entries is read in pages, so that no one command holds Redis, or one
/// answer's memory, for long.
const PAGE: usize = 500;

/// Replays read at once; the others wait their turn before they subscribe,
/// so that live frames do not pile up for them meanwhile.
pub(crate) const REPLAYS: usize = 8;

impl Shared {
    /// Up to `count` entries of the stream's instance `epoch`, by `command`
    /// (`XRANGE` or `XREVRANGE`) from `start` to `end`; `None` if the
    /// stream's instance is another one now. The epoch is read in the same
    /// transaction, so that the entries are of the instance it names.
    pub(crate) async fn page(
        &self,
        epoch: &str,
        command: &str,
        start: EntryId,
        end: &str,
        count: usize,
    ) -> Result<Option<Vec<Entry>>, Error> {
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("GET")
            .arg(&self.epoch_key)
            .cmd(command)
            .arg(&self.key)
            .arg(start.to_string())
            .arg(end)
            .arg("COUNT")
            .arg(count);
        let mut conn = self.conn.clone();
        let (current, reply): (Option<Vec<u8>>, Value) = match pipe.query_async(&mut conn).await {
            // A read, so it may be sent again: the connection, dropped
            // (Redis was unreachable), is made anew by then.
            Err(error) if error.is_connection_dropped() => pipe.query_async(&mut conn).await?,
            result => result?,
        };
        if current.as_deref() != Some(epoch.as_bytes()) {
            return Ok(None);
        }
        let Value::Array(entries) = reply else {
            return Ok(Some(Vec::new()));
        };
        Ok(Some(
            entries
                .into_iter()
                .filter_map(|value| Entry::from_value(value, epoch))
                .collect(),
        ))
    }

    /// The frames of the newest retained entries for `topics` up to entry
    /// `upto`, at most `max_replay` entries read; `None` if the stream was
    /// reset meanwhile. Read backwards in pages, each starting at the
    /// oldest entry of the one before: once that entry is trimmed, so is
    /// everything older, and what was read goes on without a gap to
    /// `upto`.
    pub(crate) async fn replay_all(
        &self,
        epoch: &str,
        upto: EntryId,
        topics: &[Topic],
    ) -> Result<Option<Vec<Encoded>>, Error> {
        let mut frames = Vec::new();
        let (mut at, mut read) = (upto, 0);
        let mut first = true;
        while upto != EntryId::ZERO && read < self.max_replay {
            let Some(entries) = self.page(epoch, "XREVRANGE", at, "-", PAGE + 1).await? else {
                return Ok(None);
            };
            let mut entries = entries.into_iter().peekable();
            if !first && entries.next_if(|entry| entry.id == at).is_none() {
                break;
            }
            let wanted = if first { PAGE + 1 } else { PAGE };
            first = false;
            let mut got = 0;
            for entry in entries.take(self.max_replay - read) {
                got += 1;
                at = entry.id;
                if entry.is_for(topics) {
                    frames.push(entry.message.to_encoded());
                }
            }
            read += got;
            if got < wanted {
                break;
            }
        }
        frames.reverse();
        Ok(Some(frames))
    }

    /// The frames published to `topics` after entry `from` up to entry
    /// `upto`, if `from` is still in the stream's instance `epoch`; `None`
    /// if the history after `from` is lost, or longer than `max_replay`
    /// entries.
    ///
    /// Read in pages, each starting at the last entry of the one before
    /// (the first at `from`), which must still be there: Redis trims the
    /// oldest entries first, so while it is, nothing after it was trimmed,
    /// and the pages go on without a gap or a duplicate.
    pub(crate) async fn replay(
        &self,
        from: EntryId,
        epoch: &str,
        upto: EntryId,
        topics: &[Topic],
    ) -> Result<Option<Vec<Encoded>>, Error> {
        if from > upto {
            // The reader never got there (see `catch_up`): what came
            // between is unknown here.
            return Ok(None);
        }
        let mut frames = Vec::new();
        let (mut at, mut read) = (from, 0);
        loop {
            let Some(entries) = self
                .page(epoch, "XRANGE", at, &upto.to_string(), PAGE + 1)
                .await?
            else {
                return Ok(None);
            };
            let mut entries = entries.into_iter();
            match entries.next() {
                Some(first) if first.id == at && first.epoch(epoch) == epoch => {}
                _ => return Ok(None),
            }
            let mut got = 0;
            for entry in entries {
                got += 1;
                at = entry.id;
                if entry.is_for(topics) {
                    frames.push(entry.message.to_encoded());
                }
            }
            read += got;
            if read > self.max_replay {
                return Ok(None);
            }
            if got < PAGE || at >= upto {
                return Ok(Some(frames));
            }
        }
    }
}
