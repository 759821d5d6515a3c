//! Events as a client dispatches them.

use crate::{EventId, EventType, text::Text};
use bytes::Bytes;
use core::fmt;

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
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Event {
    pub(crate) event_type: Text,
    pub(crate) data: Text,
    pub(crate) last_event_id: EventId,
}

impl Event {
    /// The event type: the last `event:` field of the event, `message` when
    /// there was none or it was empty.
    pub fn event_type(&self) -> &str {
        self.event_type.as_str()
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
        &self.last_event_id
    }

    /// The event type as a validated [`EventType`].
    pub fn to_event_type(&self) -> EventType {
        EventType::from_text_unchecked(self.event_type.clone())
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

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("type", &self.event_type)
            .field("data", &self.data)
            .field("last_event_id", &self.last_event_id)
            .finish()
    }
}
