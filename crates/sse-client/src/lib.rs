//! A Server-Sent Events client on reqwest: a reconnecting `EventSource`,
//! and one-shot parsing of a streamed response.
//!
//! # Example
//!
//! ```
//! use futures_util::StreamExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), sse_client::Error> {
//! // A response as an LLM API streams it (here made up, not fetched).
//! let body = "data: Hel\n\ndata: lo\n\n: done\ndata: [DONE]\n\n";
//! let response = reqwest::Response::from(http::Response::new(body));
//!
//! let mut tokens = String::new();
//! let mut events = sse_client::read(response);
//! while let Some(event) = events.next().await {
//!     let event = event?;
//!     if event.data() == "[DONE]" {
//!         break;
//!     }
//!     tokens.push_str(event.data());
//! }
//! assert_eq!(tokens, "Hello");
//! # Ok(())
//! # }
//! ```
//!
//! Following a live feed, reconnecting as a browser does:
//!
//! ```no_run
//! use futures_util::StreamExt;
//! use sse_client::{Client, Update};
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), sse_client::Error> {
//! let client = Client::builder()
//!     .idle_timeout(Duration::from_secs(90))
//!     .retry_server_errors(true)
//!     .build()?;
//! let mut connection = client.get("http://127.0.0.1:8080/events");
//! while let Some(update) = connection.next().await {
//!     match update? {
//!         Update::Event(event) => println!("{}: {}", event.event_type(), event.data()),
//!         Update::Retrying(retry) => eprintln!("reconnecting in {:?}", retry.delay()),
//!         _ => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Overview
//!
//! - [`Client`]: a `reqwest::Client` (rustls, no system TLS library) and
//!   the configuration of connections: backoff (as go-sse's: initial
//!   interval 500 ms, multiplier 1.5, jitter 0.5, maximum interval,
//!   maximum elapsed time, maximum retries, or any
//!   [`backoff::backoff::Backoff`]), idle timeout, maximum event size,
//!   response validation.
//! - [`Connection`]: a [`Stream`](futures_core::Stream) of [`Update`]s
//!   (events, comments on request, and the lifecycle: open, retrying,
//!   closed) over any request, GET or POST with a body. It follows the
//!   HTML standard's `EventSource` processing model: reconnection after
//!   the server's `retry` time, `Last-Event-ID`, 204 to stop.
//! - [`Events`]: only the events, of all types or of one
//!   ([`Connection::events`], [`Connection::messages`],
//!   [`Connection::events_of_type`]); [`CloseHandle`] closes a connection
//!   from another task.
//! - [`read`]: the events of one response body, no reconnection; the end
//!   of the body is a clean end, a body cut off inside an event is not.
//! - [`Error`]: what went wrong, with `is_*` predicates.
//!
//! The wire format is [`sse_codec`]'s; [`Event`] is its type.
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

mod client;
mod connection;
mod decode;
mod error;
mod events;
mod read;
mod retry;
mod update;

pub use crate::client::{
    Client, ClientBuilder, DEFAULT_INITIAL_INTERVAL, DEFAULT_JITTER, DEFAULT_MAX_INTERVAL,
    DEFAULT_MULTIPLIER, IntoRequest,
};
pub use crate::connection::{BODY_EXCERPT_LIMIT, CloseHandle, Connection};
pub use crate::error::Error;
pub use crate::events::Events;
pub use crate::read::{Read, read};
pub use crate::update::{Open, Retrying, Update};
pub use sse_codec::{Event, EventId};

/// The backoff crate, whose [`Backoff`](backoff::backoff::Backoff) trait
/// [`ClientBuilder::backoff`] takes.
pub use backoff;

#[cfg(test)]
mod tests {
    #[test]
    fn streams_can_move_between_tasks() {
        fn assert_send<T: Send + 'static>() {}
        assert_send::<crate::Connection>();
        assert_send::<crate::Events<crate::Connection>>();
        assert_send::<crate::Read>();
        assert_send::<crate::Update>();
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<crate::Client>();
        assert_send_sync::<crate::CloseHandle>();
    }
}
