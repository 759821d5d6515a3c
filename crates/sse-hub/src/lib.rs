//! A hub that speaks the Mercure protocol (draft-dunglas-mercure-07) on the
//! `sse` crates: publishers `POST` updates with a JWT, subscribers follow
//! topic selectors (exact, `*`, URI templates) over Server-Sent Events,
//! with private updates, reconciliation from `Last-Event-ID`, and history
//! in memory (Joe) or shared between hub processes (Redis).

pub mod auth;
mod config;
mod hub;
mod publish;
pub mod selector;
mod subscribe;
mod update;

pub use crate::config::{DEFAULT_MAX_SELECTORS, DEFAULT_PATH, HubConfig};
pub use crate::hub::{ConfigError, Hub};
pub use crate::update::{FormError, FormLimits, Update};

/// The largest publish body the hub reads unless configured, 1 MiB (the
/// reference hub's): a larger one is answered `413`.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;
