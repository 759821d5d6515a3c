//! The stream entry of a message (its fields, its routing), and the event
//! IDs made from entry IDs.

use bytes::Bytes;
use redis::Value;
use sse_codec::{EventId, EventType, Message, Routing, Subscription, Topic};
use std::{fmt, time::Duration};

/// A Redis stream entry ID, `<milliseconds>-<sequence>`, ordered as Redis
/// orders them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct EntryId {
    ms: u64,
    seq: u64,
}

impl EntryId {
    /// Below every entry: reading after it reads the whole stream.
    pub(crate) const ZERO: EntryId = EntryId { ms: 0, seq: 0 };

    pub(crate) fn parse(text: &str) -> Option<EntryId> {
        let (ms, seq) = text.split_once('-')?;
        Some(EntryId {
            ms: parse_decimal(ms)?,
            seq: parse_decimal(seq)?,
        })
    }

    pub(crate) fn from_value(value: &Value) -> Option<EntryId> {
        match value {
            Value::BulkString(bytes) => EntryId::parse(std::str::from_utf8(bytes).ok()?),
            Value::SimpleString(text) => EntryId::parse(text),
            _ => None,
        }
    }

    /// The entry ID and the epoch an event ID names, if it is of the form
    /// [`event_id`] makes.
    pub(crate) fn from_event_id(id: &EventId) -> Option<(EntryId, &str)> {
        let (entry, epoch) = id.as_str().split_once(':')?;
        if !is_epoch(epoch.as_bytes()) {
            return None;
        }
        Some((EntryId::parse(entry)?, epoch))
    }
}

/// Whether `text` can be an epoch: 1 to 32 ASCII letters and digits.
pub(crate) fn is_epoch(text: &[u8]) -> bool {
    (1..=32).contains(&text.len()) && text.iter().all(u8::is_ascii_alphanumeric)
}

/// Digits only, no sign, no leading `+`: the form Redis writes.
fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// The event ID of the entry `entry` of a stream instance with `epoch`:
/// `<entry ID>:<epoch>`, e.g. `1732470000123-0:9f2c31d07a4b1e55`.
pub(crate) fn event_id(entry: EntryId, epoch: &str) -> EventId {
    EventId::try_from(format!("{entry}:{epoch}"))
        .expect("digits, a dash, a colon and hex digits make a valid event id")
}

/// The entry's field names. Documented in the crate docs, so that other
/// programs can publish with a plain `XADD`. (The publish script writes
/// the `epoch` field.)
pub(crate) mod field {
    /// First when present: the publish script finds it there, to index it.
    pub(crate) const ID: &str = "id";
    pub(crate) const TOPIC: &str = "topic";
    pub(crate) const PRIVATE: &str = "private";
    pub(crate) const EVENT: &str = "event";
    pub(crate) const DATA: &str = "data";
    pub(crate) const RETRY: &str = "retry";
    pub(crate) const COMMENT: &str = "comment";
}

/// The field-value pairs of `message` published to `topics` (in their
/// order, the canonical first), private or not, for `XADD`, after the
/// `epoch` field. The publisher's ID, if any, comes first.
pub(crate) fn fields(
    message: &Message,
    topics: &[Topic],
    private: bool,
) -> Vec<(&'static str, Bytes)> {
    let mut out = Vec::with_capacity(4 + topics.len());
    if let Some(id) = message.get_id() {
        out.push((field::ID, id.as_bytes().clone()));
    }
    for topic in topics {
        out.push((
            field::TOPIC,
            Bytes::copy_from_slice(topic.as_str().as_bytes()),
        ));
    }
    if private {
        out.push((field::PRIVATE, Bytes::from_static(b"1")));
    }
    if let Some(event) = message.get_event() {
        out.push((field::EVENT, event.as_bytes().clone()));
    }
    if let Some(data) = message.get_data() {
        out.push((field::DATA, Bytes::copy_from_slice(data.as_bytes())));
    }
    if let Some(retry) = message.get_retry() {
        let millis = u64::try_from(retry.as_millis()).unwrap_or(u64::MAX);
        out.push((field::RETRY, Bytes::from(millis.to_string())));
    }
    for comment in message.get_comments() {
        out.push((field::COMMENT, Bytes::copy_from_slice(comment.as_bytes())));
    }
    out
}

/// A stream entry read back: its routing, and the message with its event
/// ID (the publisher's, or one made from the entry's).
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) id: EntryId,
    pub(crate) epoch: Option<Bytes>,
    pub(crate) routing: Routing,
    pub(crate) message: Message,
}

/// What the fields of an entry say, while they are read.
#[derive(Default)]
struct Fields {
    epoch: Option<Bytes>,
    id: Option<EventId>,
    topics: Vec<Topic>,
    private: bool,
    message: Message,
}

impl Entry {
    /// Reads an entry from its `XRANGE`/`XREAD` reply, `[id, [field,
    /// value, ...]]`. `None` when the reply is not an entry. Fields this
    /// crate does not write are ignored; a value that cannot be used (an
    /// event type or ID with a line break, a retry that is not a number)
    /// is dropped, so that an entry written by another program still makes
    /// an event.
    pub(crate) fn from_value(value: Value, epoch: &str) -> Option<Entry> {
        let Value::Array(mut parts) = value else {
            return None;
        };
        let Some(Value::Array(pairs)) = parts.pop() else {
            return None;
        };
        let id = EntryId::from_value(parts.first()?)?;
        let mut fields = Fields::default();
        let mut pairs = pairs.into_iter();
        while let (Some(name), Some(value)) = (pairs.next(), pairs.next()) {
            let (Some(name), Some(value)) = (bytes(name), bytes(value)) else {
                continue;
            };
            fields.add(&name, value);
        }
        let mut entry = Entry {
            id,
            epoch: fields.epoch,
            routing: Routing::new(fields.topics).private(fields.private),
            message: fields.message,
        };
        // Without the publisher's, the ID names the entry and the epoch it
        // was written with (this stream's for an entry another program
        // wrote without one): a resume then checks the entry against the
        // ID it gives.
        let id = fields
            .id
            .unwrap_or_else(|| event_id(id, entry.epoch(epoch)));
        entry.message.set_id(Some(id));
        Some(entry)
    }

    /// The epoch the entry was written with; `default` (the stream's) if
    /// it has none, or one that this crate would not write (1 to 32 ASCII
    /// letters and digits), as an entry from another program might.
    pub(crate) fn epoch<'a>(&'a self, default: &'a str) -> &'a str {
        self.named_epoch().unwrap_or(default)
    }

    /// The epoch the entry names, if it names a valid one.
    pub(crate) fn named_epoch(&self) -> Option<&str> {
        self.epoch
            .as_deref()
            .filter(|epoch| is_epoch(epoch))
            .and_then(|epoch| std::str::from_utf8(epoch).ok())
    }

    /// Whether the subscription `selection` accepts it.
    pub(crate) fn is_for(&self, selection: &Subscription) -> bool {
        selection.accepts(&self.routing)
    }
}

impl Fields {
    fn add(&mut self, name: &[u8], value: Bytes) {
        let message = std::mem::take(&mut self.message);
        self.message = match name {
            b"epoch" => {
                self.epoch = Some(value);
                message
            }
            b"id" => {
                if let Some(Ok(id)) = std::str::from_utf8(&value).ok().map(EventId::try_from) {
                    self.id = Some(id);
                }
                message
            }
            // Any value but `0` marks it private, so that a value another
            // program spells differently never makes a private update
            // public.
            b"private" => {
                self.private = &value[..] != b"0";
                message
            }
            b"topic" => {
                self.topics
                    .push(Topic::from(String::from_utf8_lossy(&value).into_owned()));
                message
            }
            b"event" => match std::str::from_utf8(&value).ok().map(EventType::try_from) {
                Some(Ok(event)) => message.event(event),
                _ => message,
            },
            b"data" => message.data(value),
            b"retry" => match std::str::from_utf8(&value).ok().and_then(parse_decimal) {
                Some(millis) => message.retry(Duration::from_millis(millis)),
                None => message,
            },
            b"comment" => message.comment(value),
            _ => message,
        };
    }
}

fn bytes(value: Value) -> Option<Bytes> {
    match value {
        Value::BulkString(bytes) => Some(Bytes::from(bytes)),
        Value::SimpleString(text) => Some(Bytes::from(text)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sse_codec::Filter;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    #[test]
    fn entry_ids_parse_and_order_as_redis_orders_them() {
        let a = EntryId::parse("1700000000000-0").unwrap();
        let b = EntryId::parse("1700000000000-10").unwrap();
        let c = EntryId::parse("1700000000001-2").unwrap();
        assert!(EntryId::ZERO < a && a < b && b < c);
        assert_eq!(b.to_string(), "1700000000000-10");
        for bad in [
            "",
            "1",
            "1-",
            "-1",
            "1-x",
            "+1-0",
            "1-0-0",
            "99999999999999999999-0",
        ] {
            assert_eq!(EntryId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn event_ids_carry_the_epoch() {
        let entry = EntryId::parse("17-3").unwrap();
        let id = event_id(entry, "abc");
        assert_eq!(id.as_str(), "17-3:abc");
        assert_eq!(EntryId::from_event_id(&id), Some((entry, "abc")));
        for bad in ["17-3", "17-3:", ":abc", "x:abc", "17-3:abc:abc"] {
            let id = EventId::try_from(bad).unwrap();
            assert_eq!(EntryId::from_event_id(&id), None, "{bad}");
        }
    }

    /// The reply `XRANGE` gives for an entry `id` with the fields a
    /// publish of `message` to `topics` writes, after the `epoch` field.
    fn reply(id: &str, message: &Message, topics: &[Topic], private: bool) -> Value {
        let mut reply = vec![bulk("epoch"), bulk("ep")];
        for (name, value) in fields(message, topics, private) {
            reply.push(bulk(name));
            reply.push(Value::BulkString(value.to_vec()));
        }
        Value::Array(vec![bulk(id), Value::Array(reply)])
    }

    #[test]
    fn a_message_survives_the_entry() {
        let message = Message::new()
            .event(EventType::from_static("chat"))
            .data("a\nb")
            .retry(Duration::from_millis(1500))
            .comment("c1")
            .comment("c2");
        let topics = [Topic::from("x"), Topic::from("y")];
        let entry = Entry::from_value(reply("5-1", &message, &topics, false), "other").unwrap();
        assert_eq!(entry.id, EntryId::parse("5-1").unwrap());
        assert_eq!(entry.routing, Routing::new(topics.clone()));
        assert!(entry.is_for(&Subscription::new([Topic::from("y")])));
        assert!(!entry.is_for(&Subscription::new([Topic::from("z")])));
        let expected = message.id(EventId::from_static("5-1:ep")).to_bytes();
        assert_eq!(entry.message.to_bytes(), expected);
    }

    /// The publisher's ID is the event's; the routing keeps every topic in
    /// order (the canonical first) and whether it is private, which only a
    /// filter that accepts it gets.
    #[test]
    fn the_routing_and_the_publishers_id_survive_the_entry() {
        let message = Message::new().id(EventId::from_static("urn:1")).data("x");
        let topics = [Topic::from("/b/1"), Topic::from("/a/7")];
        let fields: Vec<&str> = fields(&message, &topics, true)
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(fields, ["id", "topic", "topic", "private", "data"]);
        let entry = Entry::from_value(reply("5-1", &message, &topics, true), "ep").unwrap();
        assert_eq!(entry.routing, Routing::new(topics.clone()).private(true));
        assert_eq!(entry.routing.canonical(), Some(&topics[0]));
        assert_eq!(entry.message.to_bytes(), "id: urn:1\ndata: x\n\n");
        assert!(!entry.is_for(&Subscription::new([Topic::from("/a/7")])));
        let granted = Filter::new(|routing: &Routing| routing.canonical().is_some());
        assert!(entry.is_for(&Subscription::new([Topic::from("/a/7")]).filter(granted)));
    }

    /// Another program marks an update private with any value but `0`.
    #[test]
    fn a_private_field_of_another_program_keeps_it_private() {
        for (value, private) in [("1", true), ("true", true), ("", true), ("0", false)] {
            let reply = Value::Array(vec![
                bulk("9-0"),
                Value::Array(vec![bulk("topic"), bulk("t"), bulk("private"), bulk(value)]),
            ]);
            let entry = Entry::from_value(reply, "ep").unwrap();
            assert_eq!(entry.routing.is_private(), private, "{value:?}");
        }
    }

    #[test]
    fn a_foreign_entry_still_makes_an_event() {
        let reply = Value::Array(vec![
            bulk("epoch"),
            bulk("not\nan epoch"),
            bulk("topic"),
            bulk("news"),
            bulk("event"),
            bulk("bad\ntype"),
            bulk("id"),
            bulk("bad\nid"),
            bulk("retry"),
            bulk("soon"),
            bulk("data"),
            bulk("hi"),
            bulk("extra"),
            bulk("ignored"),
            bulk("dangling"),
        ]);
        let value = Value::Array(vec![bulk("9-0"), reply]);
        let entry = Entry::from_value(value, "ep").unwrap();
        assert_eq!(entry.message.to_bytes(), "id: 9-0:ep\ndata: hi\n\n");
        assert!(Entry::from_value(bulk("9-0"), "ep").is_none());
    }
}
