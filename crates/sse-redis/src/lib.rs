#![doc = include_str!("../README.md")]

mod builder;
mod entry;
mod error;
mod publish;
mod reader;
mod redis;
mod replay;
mod reset;
mod retention;
mod script;
mod shared;
mod subscribe;
mod subscriber;

pub use crate::builder::{DEFAULT_KEY, DEFAULT_RESPONSE_TIMEOUT, RedisBuilder};
pub use crate::error::Error;
pub use crate::redis::Redis;
pub use crate::retention::{DEFAULT_RETENTION, Retention};
pub use crate::subscriber::Subscriber;

/// The `redis` crate this one is built on, for [`Redis::builder`]'s
/// connection settings and [`Error::Redis`]'s cause.
pub use ::redis as client;
/// The contract [`Redis`] implements, re-exported so that its methods are
/// in scope with `use sse_redis::Provider`.
pub use sse_codec::Provider;
