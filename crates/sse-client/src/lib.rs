#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

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

/// The `reqwest` this crate builds on: [`read`] takes its `Response`, and
/// [`Client::connect`] its requests, so use this one to be sure the versions
/// match.
pub use reqwest;

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
