#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod backoff;
mod boxed;
mod client;
mod close;
mod config;
mod connection;
mod decode;
mod error;
mod events;
mod idle;
mod read;
mod response;
mod retry;
mod time;
mod update;

pub use crate::backoff::Backoff;
pub use crate::client::{
    Client, ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_IDLE_TIMEOUT, DEFAULT_INITIAL_INTERVAL,
    DEFAULT_JITTER, DEFAULT_MAX_INTERVAL, DEFAULT_MAX_RETRY_AFTER, DEFAULT_MULTIPLIER,
    DEFAULT_STABLE_AFTER, IntoRequest,
};
pub use crate::close::CloseHandle;
pub use crate::connection::Connection;
pub use crate::error::Error;
pub use crate::events::Events;
pub use crate::read::{DEFAULT_READ_IDLE_TIMEOUT, Read, read, read_stream};
pub use crate::response::BODY_EXCERPT_LIMIT;
pub use crate::update::{Open, Retrying, Skipped, Update};
pub use sse_codec::{Event, EventId};

/// The `reqwest` this crate builds on: [`read`] takes its `Response`, and
/// [`Client::connect`] its requests, so use this one to be sure the versions
/// match.
pub use reqwest;

#[cfg(test)]
mod tests {
    // In the browser they cannot be: reqwest's futures and bodies there
    // hold JavaScript values.
    #[cfg(not(target_arch = "wasm32"))]
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
