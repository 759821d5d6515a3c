//! Encoded events, shared between subscribers.

use crate::Message;
use bytes::{Bytes, BytesMut};

/// One or more complete encoded events, ready to write to a response.
///
/// A publish encodes its [`Message`] once into an `Encoded`; cloning it for
/// each subscriber is a reference-count increment, not a copy. It always
/// ends at an event boundary, so encoded messages can be concatenated or
/// interleaved with keep-alive comments safely.
///
/// # Examples
///
/// ```
/// use sse_codec::{Encoded, Message};
///
/// let encoded = Encoded::from(&Message::new().data("hi"));
/// let copy = encoded.clone(); // no allocation
/// assert_eq!(copy.as_bytes(), "data: hi\n\n".as_bytes());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Encoded(Bytes);

impl Encoded {
    /// Encodes one message.
    pub fn from_message(message: &Message) -> Encoded {
        Encoded(message.to_bytes())
    }

    /// Encodes several messages into one (for a batch that should be
    /// written in one go).
    pub fn from_messages<'a>(messages: impl IntoIterator<Item = &'a Message>) -> Encoded {
        let mut buf = BytesMut::new();
        for message in messages {
            message.encode_into(&mut buf);
        }
        Encoded(buf.freeze())
    }

    /// A comment alone (`: text`), as used for keep-alive.
    pub fn comment(text: &'static str) -> Encoded {
        Encoded::from_message(&Message::new().comment(text))
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The encoded bytes, by value.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The encoded length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it holds no bytes (as the default does).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&Message> for Encoded {
    fn from(message: &Message) -> Encoded {
        Encoded::from_message(message)
    }
}

impl From<Message> for Encoded {
    fn from(message: Message) -> Encoded {
        Encoded::from_message(&message)
    }
}

impl From<Encoded> for Bytes {
    fn from(encoded: Encoded) -> Bytes {
        encoded.0
    }
}

impl AsRef<[u8]> for Encoded {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}
