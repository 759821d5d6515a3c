//! The hub: its routes, its state, and how a refusal is answered.

use crate::{
    HubConfig, LocalPresence, Presence,
    auth::{AuthError, Keys},
    selector::SelectorCache,
};
use axum::{
    Router,
    extract::Request,
    response::{IntoResponse, Response},
    routing::get,
};
use sse_codec::Provider;
use sse_server::{
    History, Server,
    http::{HeaderValue, StatusCode, header},
};
use std::{fmt, sync::Arc};
use tokio_util::task::TaskTracker;
use tower_http::cors::{AllowCredentials, AllowOrigin, CorsLayer};

/// A Mercure hub over a [`Provider`]: Joe in one process, Redis across
/// several. Cheap to clone.
///
/// [`Hub::router`] gives its routes, for `axum::serve` or to merge into an
/// application: at the [path](HubConfig::path), `GET` (and `HEAD`)
/// subscribes, `POST` publishes; `/healthz` answers `ok`.
pub struct Hub<P> {
    pub(crate) inner: Arc<Inner<P>>,
}

pub(crate) struct Inner<P> {
    pub(crate) server: Server<P>,
    pub(crate) keys: Keys,
    pub(crate) config: HubConfig,
    pub(crate) selectors: SelectorCache,
    /// Where the active subscriptions are kept, when the hub tracks them.
    pub(crate) presence: Option<Arc<dyn Presence>>,
    /// The tasks publishing subscription events, which
    /// [`Hub::announced`] waits for.
    pub(crate) announcements: TaskTracker,
}

impl<P> Clone for Hub<P> {
    fn clone(&self) -> Hub<P> {
        Hub {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<P: Provider + fmt::Debug> fmt::Debug for Hub<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("provider", self.inner.server.provider())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Why a hub could not be made from its configuration.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// A CORS origin that is not an origin (`*` among them: credentials
    /// are never allowed to every origin).
    CorsOrigin(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::CorsOrigin(origin) => write!(
                f,
                "CORS origin {origin:?} is not an origin like https://example.com (no '*': \
                 credentials are never allowed to every origin)"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

impl<P: Provider> Hub<P> {
    /// A hub publishing and subscribing through `provider`, verifying
    /// tokens with `keys`; its [active subscriptions](HubConfig::subscriptions)
    /// are those of this process ([`LocalPresence`]).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for a CORS origin that is not one.
    pub fn new(provider: P, keys: Keys, config: HubConfig) -> Result<Hub<P>, ConfigError> {
        Hub::with_presence(provider, keys, config, LocalPresence::new())
    }

    /// A hub as [`Hub::new`] makes it, keeping its
    /// [active subscriptions](HubConfig::subscriptions), when it tracks
    /// them, in `presence`: a [`RedisPresence`](crate::RedisPresence) for
    /// hub processes that share a Redis.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for a CORS origin that is not one.
    pub fn with_presence(
        provider: P,
        keys: Keys,
        config: HubConfig,
        presence: impl Presence,
    ) -> Result<Hub<P>, ConfigError> {
        if let Some(origin) = config
            .cors_origins
            .iter()
            .find(|origin| serialized_origin(origin).is_none())
        {
            return Err(ConfigError::CorsOrigin(origin.clone()));
        }
        let server = Server::builder(provider)
            // Row F2: the cursor in the query, the header winning (F3).
            .last_event_id_query("lastEventID")
            // Rows F5, F6: `earliest` and an unknown ID get all that is
            // retained; a new subscriber gets live updates.
            .history(History::OnRequest)
            .keep_alive(Some(config.keep_alive))
            .write_delay(Some(config.write_delay))
            .build();
        let presence = config
            .subscriptions
            .then(|| Arc::new(presence) as Arc<dyn Presence>);
        let hub = Hub {
            inner: Arc::new(Inner {
                server,
                keys,
                config,
                selectors: SelectorCache::new(),
                presence,
                announcements: TaskTracker::new(),
            }),
        };
        hub.attach_presence();
        Ok(hub)
    }

    /// The hub's routes: the hub at its path, the subscriptions API under
    /// it when the hub tracks them, and `/healthz`.
    pub fn router(&self) -> Router {
        let path = self.inner.config.path.as_str();
        let (subscribe, publish) = (self.clone(), self.clone());
        let hub = get(move |request: Request| {
            let hub = subscribe.clone();
            async move { hub.subscribe(request).await }
        })
        .post(move |request: Request| {
            let hub = publish.clone();
            async move { hub.publish(request).await }
        });
        let mut router = Router::new()
            .route(path, hub)
            .route("/healthz", get(|| async { "ok\n" }));
        if let Some(subscriptions) = self.subscriptions_router() {
            router = router.merge(subscriptions);
        }
        if !self.inner.config.cors_origins.is_empty() {
            router = router.layer(self.cors());
        }
        router
    }

    /// The route `/metrics`, answering what `render` gives (the Prometheus
    /// text of the recorder installed for the `metrics` facade, say), after
    /// setting the hub's gauge of open streams. The hub counts
    /// `sse_hub_updates_total` (by `private`), `sse_hub_subscriptions_total`,
    /// `sse_hub_refused_total` (by `request` and `status`),
    /// `sse_hub_publish_failures_total` (the provider's), the histogram
    /// `sse_hub_publish_seconds` (the provider's part of each publish) and
    /// the gauge `sse_hub_open_streams`; Joe adds its own (`sse_joe_*`, also
    /// the Joe inside the Redis provider). The binary adds, on Redis,
    /// `sse_redis_replays_total` (by `resume`: `exact`, `lost`) and the
    /// gauge `sse_redis_reading` (1 while it reads the stream).
    pub fn metrics_route(
        &self,
        render: impl Fn() -> String + Clone + Send + Sync + 'static,
    ) -> Router {
        let hub = self.clone();
        Router::new().route(
            "/metrics",
            get(move || {
                let (hub, render) = (hub.clone(), render.clone());
                async move {
                    let open = hub.inner.server.open_streams();
                    metrics::gauge!("sse_hub_open_streams").set(open as f64);
                    render()
                }
            }),
        )
    }

    /// CORS for the allowed origins, with credentials (row A7).
    ///
    /// Only an allowed origin is told that credentials are allowed, and the
    /// allowlist is compared as browsers write `Origin`, so that an origin
    /// configured with a trailing `/` or capitals is not silently never
    /// matched.
    fn cors(&self) -> CorsLayer {
        let origins: Arc<[String]> = self
            .inner
            .config
            .cors_origins
            .iter()
            .filter_map(|origin| serialized_origin(origin))
            .collect();
        let allowed = move |origin: &HeaderValue| {
            origins
                .iter()
                .any(|allowed| allowed.as_bytes().eq_ignore_ascii_case(origin.as_bytes()))
        };
        let credentials = allowed.clone();
        CorsLayer::new()
            .allow_origin(AllowOrigin::predicate(move |origin, _| allowed(origin)))
            .allow_credentials(AllowCredentials::predicate(move |origin, _| {
                credentials(origin)
            }))
            .allow_methods([
                sse_server::http::Method::GET,
                sse_server::http::Method::POST,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CACHE_CONTROL,
                header::CONTENT_TYPE,
                header::HeaderName::from_static("last-event-id"),
            ])
            .expose_headers([
                header::LINK,
                header::HeaderName::from_static("last-event-id"),
                // Why a token was refused (row D4), for the page to say.
                header::WWW_AUTHENTICATE,
            ])
    }

    /// The SSE server under the hub, and through it the provider.
    pub fn server(&self) -> &Server<P> {
        &self.inner.server
    }

    /// Ends every open subscription cleanly (a graceful shutdown); later
    /// subscribers get a stream that ends at once, so that they reconnect.
    ///
    /// A stream's end is announced when its connection lets its body go
    /// (with [active subscriptions](HubConfig::subscriptions) on): wait for
    /// the connections to close, then for [`Hub::announced`], so that the
    /// last subscribers' end is published before the process exits.
    pub fn shutdown(&self) {
        self.inner.server.shutdown();
    }

    /// Waits until every subscription event owed so far is published: the
    /// start and end of each stream that has ended (rows G1-G3), with its
    /// removal from the [`Presence`]. At once when the hub does not track
    /// subscriptions. Bound the wait with a deadline: a provider that does
    /// not answer (Redis down) holds it up to its own timeouts.
    pub async fn announced(&self) {
        let tasks = &self.inner.announcements;
        // Closed, it still takes tasks: `wait` returns once none is left.
        tasks.close();
        tasks.wait().await;
    }

    /// How many subscription events are still being published.
    pub fn announcing(&self) -> usize {
        self.inner.announcements.len()
    }
}

/// `origin` as a browser's `Origin` header writes it (RFC 6454 section
/// 6.1: `scheme://host[:port]`, scheme and host in lower case), a trailing
/// `/` forgiven; `None` when it is no such origin (`*` and `null` among
/// them).
fn serialized_origin(origin: &str) -> Option<String> {
    let origin = origin.strip_suffix('/').unwrap_or(origin);
    let (scheme, authority) = origin.split_once("://")?;
    let is_origin = !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        && !authority.is_empty()
        && authority
            .bytes()
            .all(|b| b.is_ascii_graphic() && !b"/?#@".contains(&b));
    is_origin.then(|| origin.to_ascii_lowercase())
}

/// The answer to a refused token or grant: its status, the reason in
/// `WWW-Authenticate` and in the body, and in the log.
pub(crate) fn refused(what: &'static str, error: &AuthError) -> Response {
    tracing::info!(error = %error, status = error.status().as_u16(), "{what} refused");
    count_refusal(what, error.status());
    let mut response = (error.status(), format!("{error}\n")).into_response();
    if error.status() == StatusCode::UNAUTHORIZED || error.code().is_some() {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, error.www_authenticate());
    }
    response
}

/// A `400 Bad Request` (or another status) with the reason in the body and
/// in the log.
pub(crate) fn bad(status: StatusCode, what: &'static str, reason: impl fmt::Display) -> Response {
    tracing::info!(%reason, status = status.as_u16(), "{what} refused");
    count_refusal(what, status);
    (status, format!("{reason}\n")).into_response()
}

/// Counts a refused request by what it asked for and its status.
fn count_refusal(what: &'static str, status: StatusCode) {
    metrics::counter!(
        "sse_hub_refused_total",
        "request" => what,
        "status" => status.as_str().to_owned()
    )
    .increment(1);
}
