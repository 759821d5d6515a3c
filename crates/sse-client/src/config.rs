//! What a client hands to each of its connections: the configuration a
//! [`ClientBuilder`](crate::ClientBuilder) built.

use crate::{Backoff, retry::Limits};
use std::{sync::Arc, time::Duration};

/// Makes the backoff policy of each new connection.
pub(crate) type MakeBackoff = Arc<dyn Fn() -> Box<dyn Backoff> + Send + Sync>;

pub(crate) struct Config {
    pub(crate) http: reqwest::Client,
    pub(crate) backoff: MakeBackoff,
    pub(crate) limits: Limits,
    pub(crate) settings: Settings,
    pub(crate) retry_server_errors: bool,
    pub(crate) retry_too_many_requests: bool,
    pub(crate) require_event_stream: bool,
}

/// What a connection may set for itself: the client's are the defaults.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) max_event_size: usize,
    pub(crate) comments: bool,
}
