//! The Server-Sent Events wire format: a spec-exact, incremental parser and
//! an encoder for `text/event-stream`, with no I/O and no runtime.
//!
//! # Example
//!
//! ```
//! use sse_codec::{EventId, Message, Parser};
//!
//! // Encode a message as a server would send it...
//! let bytes = Message::new()
//!     .id(EventId::from_static("1"))
//!     .data("hello\nworld")
//!     .to_bytes();
//!
//! // ...and parse it back, in chunks of any size.
//! let mut parser = Parser::new();
//! let mut events = Vec::new();
//! for chunk in bytes.chunks(3) {
//!     parser.feed(chunk);
//!     while let Some(event) = parser.next_event()? {
//!         events.push(event);
//!     }
//! }
//! assert_eq!(events[0].data(), "hello\nworld");
//! assert_eq!(events[0].event_type(), "message");
//! assert_eq!(events[0].last_event_id(), "1");
//! # Ok::<(), sse_codec::ParseError>(())
//! ```
//!
//! # Overview
//!
//! Parsing, following the WHATWG HTML standard, section "Server-sent
//! events":
//!
//! - [`Parser`]: bytes in, [`Event`]s out, in any chunking; bounded by a
//!   maximum event size; zero-copy for single-line data.
//! - [`FieldParser`]: the raw [`Field`]s, comments included, for proxies and
//!   tools.
//! - [`EventStream`]: a [`Stream`](futures_core::Stream) of events over any
//!   stream of byte chunks, such as an HTTP response body.
//!
//! Encoding:
//!
//! - [`Message`] with validated [`EventId`] and [`EventType`], encoded into
//!   a buffer or a [`Frame`] that any number of subscribers share.
//!
//! The publish/subscribe contract that servers and brokers share:
//! [`Provider`], [`Topic`], [`Subscription`], [`Subscribed`], [`Resume`].
//!
//! # Features
//!
//! - `std` (default): runtime CPU feature detection for the line scan.
//!   Without it the crate is `no_std` and needs only `alloc`.
//! - `json`: [`Message::json`] and [`Event::json`], with serde_json.
#![no_std]
#![warn(clippy::std_instead_of_core, clippy::std_instead_of_alloc)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

mod error;
mod event;
mod field;
mod frame;
mod id;
mod line;
mod message;
mod parser;
mod provider;
mod stream;
mod text;

#[cfg(test)]
mod tests;

pub use crate::error::ParseError;
pub use crate::event::Event;
pub use crate::field::{Field, FieldParser};
pub use crate::frame::Frame;
pub use crate::id::{EventId, EventType, InvalidEventId, InvalidEventType};
pub use crate::message::{BufferTooSmall, Message, MessageData};
pub use crate::parser::Parser;
pub use crate::provider::{Provider, Resume, Subscribed, Subscription, Topic};
pub use crate::stream::{EventStream, EventStreamError};

/// The default maximum event size, 1 MiB: the longest line, and the largest
/// data buffer of one event, that a [`Parser`] accepts unless configured
/// otherwise. Large enough for any ordinary event (LLM tokens, JSON
/// documents, notifications) while bounding what a peer can make a client
/// buffer.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 1 << 20;
