//! Events as a client dispatches them.

use crate::{EventId, EventType, text::Text};
use bytes::Bytes;
use core::{fmt, hash};

/// The type of an event without an `event` field.
const MESSAGE: &str = "message";

/// The ID of events before any `id` field.
static NO_ID: EventId = EventId::from_static("");

/// An event dispatched by the [`Parser`](crate::Parser), as the HTML
/// standard's `MessageEvent`: a type, data and the last event ID.
///
/// # Examples
///
/// ```
/// use sse_codec::Parser;
///
/// let mut parser = Parser::new();
/// parser.feed(&b"id: 1\nevent: add\ndata: 2\ndata: 3\n\n"[..]);
/// let event = parser.next_event().unwrap().unwrap();
/// assert_eq!(event.event_type(), "add");
/// assert_eq!(event.data(), "2\n3");
/// assert_eq!(event.last_event_id(), "1");
/// ```
#[derive(Clone)]
pub struct Event {
    /// `None` for the commonest type, `message`, and the commonest ID, the
    /// empty one: nothing to make for each event, nor to drop.
    pub(crate) event_type: Option<Text>,
    pub(crate) data: Text,
    pub(crate) last_event_id: Option<EventId>,
}

impl Event {
    /// The event type: the last `event:` field of the event, `message` when
    /// there was none or it was empty.
    pub fn event_type(&self) -> &str {
        self.event_type.as_ref().map_or(MESSAGE, Text::as_str)
    }

    /// The data: the `data:` lines joined with LF.
    pub fn data(&self) -> &str {
        self.data.as_str()
    }

    /// The data as shared bytes (always valid UTF-8). A single-line event
    /// parsed from a `Bytes` chunk shares that chunk's memory.
    pub fn data_bytes(&self) -> &Bytes {
        self.data.as_bytes()
    }

    /// The data, by value, without copying.
    pub fn into_data(self) -> Bytes {
        self.data.into_bytes()
    }

    /// The last event ID the stream set, at the time of this event (not
    /// necessarily set by this event: IDs persist until changed).
    pub fn last_event_id(&self) -> &EventId {
        self.last_event_id.as_ref().unwrap_or(&NO_ID)
    }

    /// The event type as a validated [`EventType`].
    pub fn to_event_type(&self) -> EventType {
        match &self.event_type {
            Some(text) => EventType::from_text_unchecked(text.clone()),
            None => EventType::from_static(MESSAGE),
        }
    }

    /// Deserializes the data as JSON.
    ///
    /// # Errors
    ///
    /// Returns the deserializer's error if the data is not valid JSON for
    /// `T`.
    #[cfg(feature = "json")]
    pub fn json<'a, T: serde::Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.data())
    }
}

// Equal as the standard's events are: by type, data and last event ID,
// however each is held.
impl PartialEq for Event {
    fn eq(&self, other: &Event) -> bool {
        self.event_type() == other.event_type()
            && self.data == other.data
            && self.last_event_id() == other.last_event_id()
    }
}

impl Eq for Event {}

impl hash::Hash for Event {
    fn hash<H: hash::Hasher>(&self, state: &mut H) {
        self.event_type().hash(state);
        self.data.hash(state);
        self.last_event_id().hash(state);
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("type", &self.event_type())
            .field("data", &self.data)
            .field("last_event_id", self.last_event_id())
            .finish()
    }
}
