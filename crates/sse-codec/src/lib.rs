// The README links the readers that features enable; without the feature,
// to the list of features instead. The definitions come first, where
// Markdown takes them as definitions, not as the end of the README's text.
#![cfg_attr(feature = "std", doc = "[`EventReader`]: crate::EventReader")]
#![cfg_attr(not(feature = "std"), doc = "[`EventReader`]: ./#features")]
#![cfg_attr(feature = "tokio-util", doc = "[`EventCodec`]: crate::EventCodec")]
#![cfg_attr(not(feature = "tokio-util"), doc = "[`EventCodec`]: ./#features")]
#![doc = include_str!("../README.md")]
#![no_std]
#![warn(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

#[cfg(feature = "tokio-util")]
mod codec;
mod encoded;
mod error;
mod event;
mod field;
mod id;
#[cfg(feature = "std")]
mod io;
mod line;
mod message;
mod parser;
pub mod provider;
mod scan;
mod stream;
mod text;

#[cfg(test)]
mod tests;

// Parsing: the sans-IO parser, the raw fields under it, and the readers
// over a stream of chunks, a `std::io::Read` and tokio-util's codec.
#[cfg(feature = "tokio-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio-util")))]
pub use crate::codec::EventCodec;
pub use crate::error::{ParseError, ReadError};
pub use crate::event::Event;
pub use crate::field::{Field, FieldParser};
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub use crate::io::{DEFAULT_READ_CHUNK, EventReader, Items};
pub use crate::parser::{Item, Parser};
pub use crate::stream::EventStream;
// The former name of `ReadError`, so that code using it still compiles.
#[allow(deprecated)]
pub use crate::error::EventStreamError;

// Encoding.
pub use crate::encoded::Encoded;
pub use crate::id::{EventId, EventType, InvalidEventId, InvalidEventType};
pub use crate::message::{BufferTooSmall, Message, MessageData};

// The provider contract, documented once in its module, and named from the
// root by the crates that implement and consume it.
#[doc(no_inline)]
pub use crate::provider::{
    Filter, Provider, ProviderError, Resume, Routing, Start, Subscribed, Subscription, Topic,
};

/// The default maximum event size, 1 MiB: the longest line, and the largest
/// data buffer of one event, that a [`Parser`] accepts unless configured
/// otherwise. Large enough for any ordinary event (LLM tokens, JSON
/// documents, notifications) while bounding what a peer can make a client
/// buffer.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 1 << 20;
