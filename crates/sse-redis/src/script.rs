//! The server-side scripts that name each instance of the stream with an
//! epoch (a publish, and the reader's look at a stream it cannot see), the
//! publish with its index of publishers' IDs, the look-up in that index,
//! and the reader's read.
//!
//! An instance is one lifetime of the stream's key: from when the key is
//! created to when it is deleted (a `DEL`, a flush, a restart of Redis
//! without persistence). Its epoch, kept in `<key>:epoch`, is chosen when
//! the instance starts, by whichever comes first, a publish or a reader,
//! and written into each entry it publishes. Entry IDs start again from the
//! current millisecond in a new instance, so an ID means something only
//! with the epoch of its instance; a reader that sees another epoch knows
//! that the stream it was reading is gone.
//!
//! The index of the IDs publishers chose is per instance too, in keys
//! named with its epoch (`<key>:ids:<epoch>`, `<key>:id-order:<epoch>`),
//! so that an ID of an instance that ended never finds an entry of the
//! next one; the script that starts an instance deletes the index of the
//! one before.

use crate::entry::{EntryId, is_epoch};
use redis::{Cmd, Value, aio::ConnectionManager};
use sse_codec::EventId;
use std::{
    hash::{BuildHasher, Hasher},
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

/// The part both scripts share: the epoch of the stream's instance at
/// `KEYS[1]`, named in `KEYS[2]`, starting a new one named `ARGV[1]` if the
/// stream does not exist (and creating it, empty, if `create`); `nil` if
/// the epoch key holds something that is not an epoch.
///
/// A stream that exists without an epoch key (one written only by other
/// programs, or whose epoch key alone was deleted) takes the epoch of its
/// last entry if it has one, so that deleting that key alone does not
/// start a new instance, and a new one otherwise. Starting an instance
/// deletes the index of the one before.
const INSTANCE: &str = r"
local function valid(epoch)
  return #epoch >= 1 and #epoch <= 32 and string.find(epoch, '^%w+$') ~= nil
end
local function instance(create)
  local epoch = redis.call('GET', KEYS[2])
  if redis.call('EXISTS', KEYS[1]) == 0 then
    if epoch and valid(epoch) then
      redis.call('DEL', KEYS[1] .. ':ids:' .. epoch, KEYS[1] .. ':id-order:' .. epoch)
    end
    if create then
      redis.call('XGROUP', 'CREATE', KEYS[1], 'sse-redis', '$', 'MKSTREAM')
      redis.call('XGROUP', 'DESTROY', KEYS[1], 'sse-redis')
    end
    redis.call('SET', KEYS[2], ARGV[1])
    return ARGV[1]
  end
  if epoch then
    if valid(epoch) then return epoch end
    return nil
  end
  epoch = ARGV[1]
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
  if last then
    local named
    local fields = last[2]
    for i = 1, #fields - 1, 2 do
      if fields[i] == 'epoch' then named = fields[i + 1] end
    end
    if named and valid(named) then epoch = named end
  end
  redis.call('SET', KEYS[2], epoch)
  return epoch
end
local bad = 'ERR the stream epoch key holds something that is not an epoch'
";

/// The reader's look: the epoch of the stream's instance, starting one (an
/// empty stream) if there is none, so that every reader always knows the
/// instance it reads.
const EPOCH: &str = r"
local epoch = instance(true)
if not epoch then return redis.error_reply(bad) end
return epoch
";

/// An entry ID in the index's form: milliseconds and sequence number, each
/// in 20 digits, so that the members of one ID sort by entry; and whether
/// one such ID comes before another, compared as numbers (Lua compares
/// strings by the locale Redis runs in), anything else in the index's list
/// coming before all, so that it is dropped.
const SORTABLE: &str = r"
local function sortable(entry)
  local ms, seq = string.match(entry, '^(%d+)-(%d+)$')
  return string.rep('0', 20 - #ms) .. ms .. '-' .. string.rep('0', 20 - #seq) .. seq
end
local function before(a, b)
  local a_ms, b_ms = tonumber(string.sub(a, 1, 20)), tonumber(string.sub(b, 1, 20))
  local a_seq, b_seq = tonumber(string.sub(a, 22)), tonumber(string.sub(b, 22))
  if not (a_ms and a_seq) then return true end
  if a_ms ~= b_ms then return a_ms < b_ms end
  return a_seq < b_seq
end
";

/// A publish: `XADD` to the instance with its epoch, trimming as
/// `ARGV[2]` (`MAXLEN`, `MINID` or empty) and `ARGV[3]` say, then to about
/// `ARGV[4]` entries unless it is empty (`XTRIM ... MAXLEN`), with the
/// field-value pairs from `ARGV[5]` on; returns the entry's ID. The `XADD`
/// is the first write to the stream or the index, so that a script that
/// fails stored nothing (starting an instance deletes the index of an
/// instance that ended, harmless either way).
///
/// Then the index: a publisher's ID (the first field, `id`, when set)
/// goes into the sorted set `<key>:ids:<epoch>` as `<id>\0<entry>` (all
/// scores 0, so members sort by ID, then entry) and at the end of the list
/// `<key>:id-order:<epoch>` (in entry order); and the uses of IDs whose
/// entries the stream no longer holds (trimmed by this publish or by
/// anything else) leave both, oldest first, at most 256 per publish, so
/// that no script runs long after another program trimmed the stream by
/// much (trimming as the retention says drops about one node of the
/// stream, 100 entries, at a time). Redis runs a write after the
/// script's first even when out of memory, and these run protected
/// (`pcall`): a publish that stored its entry reports it, even if a key of
/// the index holds something else.
const PUBLISH: &str = r"
local epoch = instance(false)
if not epoch then return redis.error_reply(bad) end
local args = {KEYS[1]}
if ARGV[2] ~= '' then
  args[#args + 1] = ARGV[2]
  args[#args + 1] = '~'
  args[#args + 1] = ARGV[3]
end
args[#args + 1] = '*'
args[#args + 1] = 'epoch'
args[#args + 1] = epoch
for i = 5, #ARGV do args[#args + 1] = ARGV[i] end
local added = redis.call('XADD', unpack(args))
if ARGV[4] ~= '' then redis.pcall('XTRIM', KEYS[1], 'MAXLEN', '~', ARGV[4]) end
local ids = KEYS[1] .. ':ids:' .. epoch
local order = KEYS[1] .. ':id-order:' .. epoch
if ARGV[5] == 'id' then
  local use = ARGV[6] .. '\0' .. sortable(added)
  redis.pcall('ZADD', ids, 0, use)
  redis.pcall('RPUSH', order, use)
end
local oldest = redis.pcall('LINDEX', order, 0)
if type(oldest) == 'string' then
  local first = sortable(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1][1])
  local dropped = 0
  while type(oldest) == 'string' and dropped < 256 and before(string.sub(oldest, -41), first) do
    redis.pcall('LPOP', order)
    redis.pcall('ZREM', ids, oldest)
    dropped = dropped + 1
    oldest = redis.pcall('LINDEX', order, 0)
  end
end
return added
";

/// The look-up of the publisher's ID `ARGV[1]`: the stream's epoch, and
/// the entry of the ID's earliest use that the stream still holds, if any
/// (in the index's form), from the index of that epoch's instance; nothing
/// without an epoch. Uses of entries trimmed before the next publish drops
/// them from the index are passed over. Read-only.
const FIND: &str = r"
local epoch = redis.call('GET', KEYS[2])
if not epoch then return {} end
local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
if not first then return {epoch} end
local ids = KEYS[1] .. ':ids:' .. epoch
local from = '[' .. ARGV[1] .. '\0' .. sortable(first[1])
local use = redis.call('ZRANGEBYLEX', ids, from, '(' .. ARGV[1] .. '\1', 'LIMIT', 0, 1)[1]
if not use then return {epoch} end
return {epoch, string.sub(use, -41)}
";

/// The reader's read, after the entry `ARGV[1]`: at most `ARGV[2]` entries,
/// with the stream's epoch key and whether the stream exists, and
/// `XINFO STREAM`'s count of the entries ever added (-1 before Redis 7),
/// the stream's length and its first entry's ID, all at one instant. So
/// the reader knows how many entries added after the last one it read were
/// deleted (trimmed) before it could read them. Read-only, so that it runs
/// on a replica and while writes are paused.
const READ: &str = r"#!lua flags=no-writes
local epoch = redis.call('GET', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {epoch, 0}
end
local entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local added, length, first = -1, 0, ''
for i = 1, #info - 1, 2 do
  local name = info[i]
  if name == 'entries-added' then
    added = info[i + 1]
  elseif name == 'length' then
    length = info[i + 1]
  elseif name == 'first-entry' and info[i + 1] then
    first = info[i + 1][1]
  end
end
return {epoch, 1, entries, added, length, first}
";

/// A script loaded in Redis, called by its SHA-1 digest (`EVALSHA`), so
/// that a call sends its arguments and not its text.
#[derive(Debug)]
pub(crate) struct Script {
    code: String,
    sha: String,
}

/// The scripts, loaded.
#[derive(Debug)]
pub(crate) struct Scripts {
    pub(crate) epoch: Script,
    pub(crate) publish: Script,
    pub(crate) find: Script,
    pub(crate) read: Script,
}

impl Scripts {
    /// Loads the scripts (`SCRIPT LOAD` answers with the digest).
    pub(crate) async fn load(conn: &mut ConnectionManager) -> redis::RedisResult<Scripts> {
        Ok(Scripts {
            epoch: Script::load(format!("{INSTANCE}{EPOCH}"), conn).await?,
            publish: Script::load(format!("{INSTANCE}{SORTABLE}{PUBLISH}"), conn).await?,
            find: Script::load(format!("#!lua flags=no-writes{SORTABLE}{FIND}"), conn).await?,
            read: Script::load(READ.to_owned(), conn).await?,
        })
    }
}

impl Scripts {
    /// The epoch of the stream instance at `key`, starting one (an empty
    /// stream) if there is none.
    ///
    /// # Errors
    ///
    /// If Redis fails, or `epoch_key` holds something that is not an
    /// epoch.
    pub(crate) async fn instance(
        &self,
        conn: &mut ConnectionManager,
        key: &str,
        epoch_key: &str,
    ) -> redis::RedisResult<Arc<str>> {
        let mut cmd = self.epoch.call(key, epoch_key);
        cmd.arg(new_epoch());
        match self.epoch.run(&cmd, conn).await? {
            Value::BulkString(epoch) if is_epoch(&epoch) => {
                Ok(Arc::from(String::from_utf8_lossy(&epoch).as_ref()))
            }
            _ => Err(redis::RedisError::from((
                redis::ErrorKind::UnexpectedReturnType,
                "the epoch script did not answer with an epoch",
            ))),
        }
    }
}

/// The answer of [`Scripts::find`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Found {
    /// The epoch of the stream's instance, if it has one.
    pub(crate) epoch: Option<Arc<str>>,
    /// The entry of the ID's earliest use that the stream holds.
    pub(crate) entry: Option<EntryId>,
}

impl Scripts {
    /// The entry of the earliest use of the publisher's ID `id` that the
    /// stream at `key` holds, with the epoch of its instance.
    ///
    /// # Errors
    ///
    /// If Redis fails.
    pub(crate) async fn find(
        &self,
        conn: &mut ConnectionManager,
        key: &str,
        epoch_key: &str,
        id: &EventId,
    ) -> redis::RedisResult<Found> {
        let mut cmd = self.find.call(key, epoch_key);
        cmd.arg(id.as_str());
        let mut found = Found {
            epoch: None,
            entry: None,
        };
        let Value::Array(parts) = self.find.run(&cmd, conn).await? else {
            return Ok(found);
        };
        let mut parts = parts.into_iter();
        found.epoch = match parts.next() {
            Some(Value::BulkString(epoch)) if is_epoch(&epoch) => {
                Some(Arc::from(String::from_utf8_lossy(&epoch).as_ref()))
            }
            _ => None,
        };
        found.entry = parts.next().as_ref().and_then(EntryId::from_value);
        Ok(found)
    }
}

/// A new epoch: 16 hex digits from 64 random bits, taken from the
/// standard library's hasher keys, which it seeds from the operating
/// system.
pub(crate) fn new_epoch() -> String {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    hasher.write_u128(nanos);
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}

impl Script {
    async fn load(code: String, conn: &mut ConnectionManager) -> redis::RedisResult<Script> {
        let sha = redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(&code)
            .query_async(conn)
            .await?;
        Ok(Script { code, sha })
    }

    /// An `EVALSHA` of this script on `key`'s stream and epoch keys; the
    /// caller adds the script's arguments.
    pub(crate) fn call(&self, key: &str, epoch_key: &str) -> Cmd {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(&self.sha).arg(2).arg(key).arg(epoch_key);
        cmd
    }

    /// Loads the script again, after Redis lost it (it restarted, or its
    /// scripts were flushed).
    pub(crate) async fn reload(&self, conn: &mut ConnectionManager) -> redis::RedisResult<()> {
        let _: String = redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(&self.code)
            .query_async(conn)
            .await?;
        Ok(())
    }

    /// Runs `cmd`, a [`call`](Script::call) of this script; if Redis no
    /// longer has the script (it restarted, or its scripts were flushed),
    /// loads it again and runs `cmd` once more.
    ///
    /// # Errors
    ///
    /// [`Failed::NotRun`] if the script certainly did not run (loading it
    /// again failed); [`Failed::Call`] with the error of the call
    /// otherwise, which may or may not have run it.
    pub(crate) async fn run(
        &self,
        cmd: &Cmd,
        conn: &mut ConnectionManager,
    ) -> Result<Value, Failed> {
        match cmd.query_async(conn).await {
            Err(error) if is_no_script(&error) => {
                self.reload(conn).await.map_err(Failed::NotRun)?;
                cmd.query_async(conn).await.map_err(Failed::Call)
            }
            result => result.map_err(Failed::Call),
        }
    }
}

/// Whether Redis answered that it does not have the script.
pub(crate) fn is_no_script(error: &redis::RedisError) -> bool {
    error.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)
}

/// How [`Script::run`] failed.
#[derive(Debug)]
pub(crate) enum Failed {
    /// The script did not run.
    NotRun(redis::RedisError),
    /// The call failed; whether the script ran depends on the error.
    Call(redis::RedisError),
}

impl From<Failed> for redis::RedisError {
    fn from(failed: Failed) -> redis::RedisError {
        match failed {
            Failed::NotRun(error) | Failed::Call(error) => error,
        }
    }
}
