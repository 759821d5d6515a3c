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
mod provider;
mod stream;
mod text;

#[cfg(test)]
mod tests;

#[cfg(feature = "tokio-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio-util")))]
pub use crate::codec::EventCodec;
pub use crate::encoded::Encoded;
// The former name of `ReadError`, so that code using it still compiles.
#[allow(deprecated)]
pub use crate::error::EventStreamError;
pub use crate::error::{ParseError, ReadError};
pub use crate::event::Event;
pub use crate::field::{Field, FieldParser};
pub use crate::id::{EventId, EventType, InvalidEventId, InvalidEventType};
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub use crate::io::{DEFAULT_READ_CHUNK, EventReader, Items};
pub use crate::message::{BufferTooSmall, Message, MessageData};
pub use crate::parser::{Item, Parser};
pub use crate::provider::{
    Provider, ProviderError, Resume, Start, Subscribed, Subscription, Topic,
};
pub use crate::stream::EventStream;

/// The default maximum event size, 1 MiB: the longest line, and the largest
/// data buffer of one event, that a [`Parser`] accepts unless configured
/// otherwise. Large enough for any ordinary event (LLM tokens, JSON
/// documents, notifications) while bounding what a peer can make a client
/// buffer.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 1 << 20;
