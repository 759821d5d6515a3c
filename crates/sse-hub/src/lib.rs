#![doc = include_str!("../README.md")]

pub mod auth;
mod config;
mod hub;
mod publish;
pub mod selector;
mod subscribe;
mod subscriptions;
mod update;

pub use crate::config::{
    DEFAULT_MAX_SELECTORS, DEFAULT_MAX_TEMPLATE_BYTES, DEFAULT_PATH, HubConfig,
};
pub use crate::hub::{ConfigError, Hub};
pub use crate::subscriptions::{
    ActiveSubscription, Announcer, DEFAULT_PRESENCE_TTL, LocalPresence, Presence, PresenceError,
    PresenceFuture, RedisPresence, RedisPresenceBuilder,
};
pub use crate::update::{DEFAULT_MAX_FIELD, FormError, FormLimits, Update};

/// The largest publish body the hub reads unless configured, 1 MiB (the
/// reference hub's): a larger one is answered `413`.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;
