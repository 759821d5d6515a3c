//! A publish: one script that runs `XADD` on the stream, trimming it to
//! the retention, and indexes the publisher's ID.

use crate::{
    Error,
    entry::{self, EntryId},
    retention::Retention,
    script::Failed,
    shared::Shared,
};
use sse_codec::{Message, Topic};
use std::{
    sync::atomic::Ordering,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

impl Shared {
    /// Publishes `message` to `topics` (the canonical first), private or
    /// not.
    pub(crate) async fn publish(
        &self,
        message: Message,
        topics: &[Topic],
        private: bool,
    ) -> Result<(), Error> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Shutdown);
        }
        let script = &self.scripts.publish;
        let mut cmd = script.call(&self.key, &self.epoch_key);
        cmd.arg(crate::script::new_epoch());
        let minid = |age: Duration| {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            now.saturating_sub(age).as_millis().to_string()
        };
        match self.retention {
            Retention::Last(n) => {
                cmd.arg("MAXLEN").arg(n).arg("");
            }
            Retention::Younger(age) => {
                cmd.arg("MINID").arg(minid(age)).arg("");
            }
            Retention::YoungerAtMost { age, max } => {
                cmd.arg("MINID").arg(minid(age)).arg(max);
            }
            Retention::All => {
                cmd.arg("").arg("").arg("");
            }
        }
        for (name, value) in entry::fields(&message, topics, private) {
            cmd.arg(name).arg(&value[..]);
        }
        let added = match script.run(&cmd, &mut self.publisher.clone()).await {
            Ok(added) => added,
            Err(Failed::NotRun(error)) => return Err(Error::Redis(error)),
            Err(Failed::Call(error)) => return Err(Error::from_publish(error)),
        };
        if EntryId::from_value(&added).is_none() {
            // It answered, so it ran: what it did is unknown.
            return Err(Error::Unconfirmed(redis::RedisError::from((
                redis::ErrorKind::UnexpectedReturnType,
                "the publish script did not answer with an entry ID",
            ))));
        }
        Ok(())
    }
}
