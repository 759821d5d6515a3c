//! What a hub is configured with, apart from its provider and its keys.

use crate::{DEFAULT_MAX_BODY, FormLimits, auth::DEFAULT_COOKIE_NAME};
use std::time::Duration;

/// The hub's path, `/.well-known/mercure` (row A1).
pub const DEFAULT_PATH: &str = "/.well-known/mercure";

/// The most topic selectors a subscriber may send (row C1; the reference
/// hub's).
pub const DEFAULT_MAX_SELECTORS: usize = 1000;

/// The most heap bytes a subscriber's URI templates may hold, compiled:
/// 1 MiB, room for 26 templates such as `https://example.com/books/{id}`
/// (each counted at about 38 KiB: its program and a thread's matching state
/// at its bound), or 8 at the compiled-size bound.
pub const DEFAULT_MAX_TEMPLATE_BYTES: usize = 1 << 20;

/// A hub's settings: see each field. `HubConfig::default()` is a hub at
/// [`DEFAULT_PATH`] without anonymous subscribers, CORS or publish
/// origins, and with the reference hub's limits.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HubConfig {
    /// Where the hub answers (row A1).
    pub path: String,
    /// Whether a subscriber without a token is served (public updates
    /// only; row D7). Off by default.
    pub anonymous: bool,
    /// The cookie a browser's token comes in (row D3):
    /// `mercureAuthorization`, as Symfony sets it.
    pub cookie_name: String,
    /// The origins whose pages may subscribe and publish with credentials
    /// (row A7), e.g. `https://example.com`. Empty: no cross-origin
    /// requests. `*` is refused: never with credentials.
    pub cors_origins: Vec<String>,
    /// The origins a cookie-authorized publish may come from besides the
    /// hub's own (row D8).
    pub publish_origins: Vec<String>,
    /// The largest publish body read (row B11), [`DEFAULT_MAX_BODY`].
    pub max_body: usize,
    /// The limits on a publish form's topics and fields (row B11).
    pub form: FormLimits,
    /// The most topic selectors a subscriber may send (row C1).
    pub max_selectors: usize,
    /// The most heap bytes a subscriber's URI templates may hold compiled
    /// (see [`Selector::heap_bytes`](crate::selector::Selector::heap_bytes)),
    /// [`DEFAULT_MAX_TEMPLATE_BYTES`]: a subscription over it is refused
    /// with `400`, so that one request of a few KiB cannot make the hub
    /// hold megabytes of automata.
    pub max_template_bytes: usize,
    /// The keep-alive comment's interval on an idle stream (row A5).
    pub keep_alive: Duration,
    /// How long a subscriber's ready updates wait for more before they are
    /// written, so that a busy stream writes several per system call: see
    /// [`sse_server::Builder::write_delay`]. Zero (none) by default.
    pub write_delay: Duration,
    /// Whether the hub tracks active subscriptions (d07 "Active
    /// Subscriptions", rows G1-G5): a private update on every
    /// subscription's start and end, and the web API at
    /// `{path}/subscriptions`. Off by default, as in the reference hub:
    /// each subscriber then costs a publish per selector when it comes and
    /// when it goes (each kept in the history, where it takes the place of
    /// an update), and the API shows the tokens' `mercure.payload` to
    /// whoever its grants let in. See [`Presence`](crate::Presence) for
    /// where the subscriptions are kept.
    pub subscriptions: bool,
}

impl Default for HubConfig {
    fn default() -> HubConfig {
        HubConfig {
            path: DEFAULT_PATH.to_owned(),
            anonymous: false,
            cookie_name: DEFAULT_COOKIE_NAME.to_owned(),
            cors_origins: Vec::new(),
            publish_origins: Vec::new(),
            max_body: DEFAULT_MAX_BODY,
            form: FormLimits::default(),
            max_selectors: DEFAULT_MAX_SELECTORS,
            max_template_bytes: DEFAULT_MAX_TEMPLATE_BYTES,
            keep_alive: sse_server::DEFAULT_KEEP_ALIVE,
            write_delay: Duration::ZERO,
            subscriptions: false,
        }
    }
}
