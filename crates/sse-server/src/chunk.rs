//! What a body sends next: the items of its stream gathered into chunks,
//! small frames and messages joined, large frames passed on as they are.

use crate::Error;
use sse_codec::{Encoded, Message};

/// Ready small frames and messages are joined into one body chunk while it
/// holds fewer bytes than this, so such a chunk is at most this plus one
/// of them. Large enough that a burst of small events goes out in one
/// write (hyper writes at most 16 chunks at a time), small enough that the
/// copy a slow client's chunk holds is small.
pub(crate) const MAX_CHUNK: usize = 8 * 1024;

/// The largest frame joined with others into a copy; a larger one is sent
/// as it is, the very bytes the provider shares between subscribers. A
/// copy of a few small frames costs less than the HTTP layer's work per
/// chunk; a large frame is worth a chunk of its own, and not a copy per
/// subscriber.
pub(crate) const MAX_JOINED: usize = 2 * 1024;

/// An item of a stream that a [`StreamResponse`](crate::StreamResponse)
/// sends: a [`Message`] (encoded as it is sent), an already encoded message ([`Encoded`]), or
/// a `Result` of either whose `Err` aborts the response with an [`Error`].
///
/// This trait is sealed: it cannot be implemented outside this crate.
pub trait StreamItem: sealed::Item {}

impl<T: sealed::Item> StreamItem for T {}

pub(crate) mod sealed {
    use super::{Error, MAX_CHUNK, MAX_JOINED};
    use bytes::{Bytes, BytesMut};
    use sse_codec::Message;

    /// What a body sends next. A lone frame is sent as it is, without a
    /// copy (the provider's bytes, shared with every other subscriber); a
    /// frame of at most [`MAX_JOINED`] bytes that is ready with others is
    /// joined with them into one chunk, and so are messages (encoded as
    /// they come). A large frame that comes after others waits for the
    /// next chunk.
    #[derive(Default)]
    pub struct Chunk {
        /// The chunk's one frame, not copied yet.
        one: Option<Bytes>,
        /// The frames and messages joined so far.
        joined: BytesMut,
        /// A frame that could not join the chunk: the next one's start.
        next: Option<Bytes>,
    }

    impl Chunk {
        /// The bytes gathered for the chunk being made.
        pub fn len(&self) -> usize {
            self.one.as_ref().map_or(0, Bytes::len) + self.joined.len()
        }

        /// Whether it takes no more items: a frame waits for the next
        /// chunk, its one frame is too large to join, or it reached
        /// [`MAX_CHUNK`].
        pub fn is_full(&self) -> bool {
            self.next.is_some()
                || self.one.as_ref().is_some_and(|one| one.len() > MAX_JOINED)
                || self.len() >= MAX_CHUNK
        }

        pub fn is_empty(&self) -> bool {
            self.one.is_none() && self.joined.is_empty() && self.next.is_none()
        }

        /// Adds a frame; only while the chunk is not [full](Chunk::is_full).
        pub fn push_frame(&mut self, bytes: Bytes) {
            debug_assert!(!self.is_full(), "pushed into a full chunk");
            if bytes.is_empty() {
                return;
            }
            if self.one.is_none() && self.joined.is_empty() {
                self.one = Some(bytes);
            } else if bytes.len() <= MAX_JOINED {
                self.join(&bytes);
            } else {
                self.next = Some(bytes);
            }
        }

        /// Adds a message; only while the chunk is not
        /// [full](Chunk::is_full).
        pub fn push_message(&mut self, message: &Message) {
            debug_assert!(!self.is_full(), "pushed into a full chunk");
            self.join(&[]);
            message.encode_into(&mut self.joined);
        }

        /// Copies the chunk's one frame, if any, then `bytes`, into the
        /// joined buffer.
        fn join(&mut self, bytes: &[u8]) {
            let one = self.one.take();
            // Growth doubles, so a burst costs a few allocations at most.
            self.joined
                .reserve(one.as_ref().map_or(0, Bytes::len) + bytes.len());
            if let Some(one) = one {
                self.joined.extend_from_slice(&one);
            }
            self.joined.extend_from_slice(bytes);
        }

        /// The chunk to send, if any; a frame that waited becomes the
        /// start of the next one.
        pub fn take(&mut self) -> Option<Bytes> {
            let chunk = match self.one.take() {
                Some(one) => Some(one),
                None if self.joined.is_empty() => None,
                None => Some(self.joined.split().freeze()),
            };
            self.one = self.next.take();
            chunk.or_else(|| self.one.take())
        }
    }

    /// What a stream item adds to a chunk, or how it ends the body.
    pub enum Step {
        Continue,
        /// End the body cleanly.
        End,
        /// Abort the body with this error.
        Fail(Error),
    }

    pub trait Item {
        #[doc(hidden)]
        fn add_to(self, chunk: &mut Chunk) -> Step;
    }
}

pub(crate) use sealed::{Chunk, Item, Step};

impl Item for Message {
    fn add_to(self, chunk: &mut Chunk) -> Step {
        chunk.push_message(&self);
        Step::Continue
    }
}

impl Item for Encoded {
    fn add_to(self, chunk: &mut Chunk) -> Step {
        chunk.push_frame(self.into_bytes());
        Step::Continue
    }
}

impl<T: Item, E> Item for Result<T, E>
where
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn add_to(self, chunk: &mut Chunk) -> Step {
        match self {
            Ok(item) => item.add_to(chunk),
            Err(error) => Step::Fail(Error::new(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn a_lone_frame_is_passed_through_without_copy() {
        for frame in [
            Bytes::from_static(b"data: a\n\n"),
            Bytes::from(format!("data: {}\n\n", "x".repeat(MAX_JOINED))),
        ] {
            let mut chunk = Chunk::default();
            chunk.push_frame(frame.clone());
            let out = chunk.take().unwrap();
            assert_eq!(out.as_ptr(), frame.as_ptr());
            assert!(chunk.take().is_none());
            assert!(chunk.is_empty());
        }
    }

    #[test]
    fn small_frames_and_messages_are_joined_and_a_large_frame_goes_alone() {
        let large = Bytes::from(format!("data: {}\n\n", "x".repeat(MAX_JOINED)));
        let mut chunk = Chunk::default();
        chunk.push_frame(Bytes::from_static(b"data: a\n\n"));
        chunk.push_message(&Message::new().data("b"));
        chunk.push_frame(Bytes::from_static(b"data: c\n\n"));
        assert!(!chunk.is_full());
        chunk.push_frame(large.clone());
        assert!(chunk.is_full(), "the large frame waits");
        assert_eq!(chunk.take().unwrap(), "data: a\n\ndata: b\n\ndata: c\n\n");
        assert!(chunk.is_full(), "nothing joins the large frame");
        assert_eq!(chunk.take().unwrap().as_ptr(), large.as_ptr());
        assert!(chunk.take().is_none());
        assert!(chunk.is_empty());
    }

    #[test]
    fn a_joined_chunk_stops_at_its_limit() {
        let frame = Bytes::from(format!("data: {}\n\n", "x".repeat(1000)));
        let mut chunk = Chunk::default();
        let mut pushed = 0;
        while !chunk.is_full() {
            chunk.push_frame(frame.clone());
            pushed += 1;
        }
        let joined = chunk.take().unwrap();
        assert_eq!(joined.len(), pushed * frame.len());
        assert!((MAX_CHUNK..MAX_CHUNK + frame.len()).contains(&joined.len()));
    }
}
