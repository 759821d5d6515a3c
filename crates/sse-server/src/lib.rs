#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod body;
mod chunk;
mod conn;
mod error;
mod events;
mod headers;
mod history;
mod query;
mod refusal;
mod server;
mod session;
mod shutdown;
mod stream;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;
mod unsent;

pub use crate::body::Body;
pub use crate::chunk::StreamItem;
pub use crate::conn::{
    ConnectionLimits, DEFAULT_BODY_TIMEOUT, DEFAULT_HEAD_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_SEND_BUFFER, DEFAULT_WRITE_TIMEOUT, LimitedIo, LimitedListener,
};
pub use crate::error::Error;
pub use crate::events::DEFAULT_KEEP_ALIVE;
pub use crate::headers::{EARLIEST, RESUME_HEADER};
pub use crate::history::History;
pub use crate::refusal::Refusal;
pub use crate::server::{Builder, DEFAULT_MAX_UNSENT, ResponseFuture, Server, SessionResult};
pub use crate::session::Session;
pub use crate::stream::StreamResponse;
/// The `http` crate of the requests and responses here (the `on_session`
/// hook's request parts, a refusal's `Response`), so that yours match.
pub use http;
