#![doc = include_str!("../README.md")]

mod builder;
mod chunked;
mod error;
mod finite;
mod history;
mod joe;
mod log;
mod metrics;
mod registry;
mod replayer;
mod shared;
mod stats;
mod subscriber;
mod sync;
mod valid;

#[cfg(test)]
mod tests;

pub use crate::builder::{DEFAULT_CAPACITY, DEFAULT_MAX_QUEUED_BYTES, JoeBuilder};
pub use crate::error::Error;
pub use crate::finite::FiniteReplayer;
pub use crate::joe::Joe;
pub use crate::replayer::{Cut, Replayer};
pub use crate::stats::Stats;
pub use crate::subscriber::Subscriber;
pub use crate::valid::ValidReplayer;

/// The contract [`Joe`] implements, re-exported so that its methods are in
/// scope with `use sse_joe::Provider`.
pub use sse_codec::Provider;
