//! Encoded events, shared between subscribers.

use crate::Message;
use bytes::{Bytes, BytesMut};

/// One or more complete encoded events, ready to write to a response.
///
/// A publish encodes its [`Message`] once into a `Frame`; cloning it for
/// each subscriber is a reference-count increment, not a copy. A frame
/// always ends at an event boundary, so frames can be concatenated or
/// interleaved with keep-alive comments safely.
///
/// # Examples
///
/// ```
/// use sse_codec::{Frame, Message};
///
/// let frame = Frame::from(&Message::new().data("hi"));
/// let copy = frame.clone(); // no allocation
/// assert_eq!(copy.as_bytes(), "data: hi\n\n".as_bytes());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Frame(Bytes);

impl Frame {
    /// Encodes one message.
    pub fn from_message(message: &Message) -> Frame {
        Frame(message.to_bytes())
    }

    /// Encodes several messages into one frame (for a batch that should be
    /// written in one go).
    pub fn from_messages<'a>(messages: impl IntoIterator<Item = &'a Message>) -> Frame {
        let mut buf = BytesMut::new();
        for message in messages {
            message.encode_into(&mut buf);
        }
        Frame(buf.freeze())
    }

    /// A comment-only frame (`: text`), as used for keep-alive.
    pub fn comment(text: &'static str) -> Frame {
        Frame::from_message(&Message::new().comment(text))
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

    /// Whether the frame holds no bytes (a default frame).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&Message> for Frame {
    fn from(message: &Message) -> Frame {
        Frame::from_message(message)
    }
}

impl From<Message> for Frame {
    fn from(message: Message) -> Frame {
        Frame::from_message(&message)
    }
}

impl From<Frame> for Bytes {
    fn from(frame: Frame) -> Bytes {
        frame.0
    }
}

impl AsRef<[u8]> for Frame {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}
