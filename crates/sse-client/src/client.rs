//! The client and its configuration.

use crate::{
    Backoff, Connection, Error,
    backoff::Exponential,
    config::{Config, MakeBackoff, Settings},
    retry::Limits,
};
use std::{fmt, sync::Arc, time::Duration};

/// A Server-Sent Events client: a `reqwest::Client` and the configuration
/// of the connections it makes.
///
/// Cheap to clone (the configuration is behind an [`Arc`]); build one and
/// share it, and set what differs per stream on the
/// [`Connection`](crate::Connection) itself.
///
/// # Examples
///
/// ```no_run
/// use futures_util::StreamExt;
/// use sse_client::Client;
/// use std::time::Duration;
///
/// # async fn run() -> Result<(), sse_client::Error> {
/// let client = Client::builder()
///     .idle_timeout(Some(Duration::from_secs(60)))
///     .max_retries(Some(10))
///     .build()?;
/// let mut messages = client.get("http://127.0.0.1:8080/events").messages();
/// while let Some(event) = messages.next().await {
///     println!("{}", event?.data());
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) config: Arc<Config>,
}

/// Builds a [`Client`]; from [`Client::builder`].
#[must_use]
pub struct ClientBuilder {
    http: Option<reqwest::Client>,
    initial_interval: Duration,
    multiplier: f64,
    jitter: f64,
    backoff: Option<MakeBackoff>,
    limits: Limits,
    settings: Settings,
    retry_server_errors: bool,
    retry_too_many_requests: bool,
    require_event_stream: bool,
}

/// The default initial reconnection delay, 500 ms, used until the server
/// sets its own with a `retry` field.
pub const DEFAULT_INITIAL_INTERVAL: Duration = Duration::from_millis(500);
/// The default growth of the delay on each repeated failure, 1.5.
pub const DEFAULT_MULTIPLIER: f64 = 1.5;
/// The default jitter, 0.5: a delay varies by up to half its value either
/// way, so that clients dropped together do not return together.
pub const DEFAULT_JITTER: f64 = 0.5;
/// The default ceiling of the grown delay, and of a server's `retry` time:
/// one minute.
pub const DEFAULT_MAX_INTERVAL: Duration = Duration::from_secs(60);
/// The default ceiling of the wait a server's `Retry-After` header imposes:
/// five minutes.
///
/// `Retry-After` is honoured over the backoff policy, and unlike a `retry`
/// field it is not capped by [`DEFAULT_MAX_INTERVAL`], so that a server
/// shedding load or enforcing a rate limit gets more room than a
/// reconnection time of a minute gives. Past a few minutes, though, a live
/// feed loses more by waiting than the server saves, and a server that asks
/// for years (by mistake, or as an attack on its clients) must not park a
/// connection for good. A server that is still not ready after the ceiling
/// refuses again, at the cost of one request per ceiling.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(5 * 60);
/// How long nothing may arrive (no response head, no byte of the body)
/// before an attempt is given up, unless configured: one minute. Servers
/// keep a quiet stream alive with comments far more often (every 15 s to
/// 30 s); a server that accepts and then says nothing is not waited on for
/// ever.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a stream must stay up for the retries to start over, unless
/// configured: ten seconds. A server that ends every stream sooner (while
/// telling clients `retry: 0`, say) gets growing delays, not a flood.
pub const DEFAULT_STABLE_AFTER: Duration = Duration::from_secs(10);
/// How long the default `reqwest::Client` waits to connect: ten seconds.
/// Not in the browser (wasm32), where `fetch` has no connect timeout to
/// set: there the [idle timeout](ClientBuilder::idle_timeout) bounds the
/// wait for the response head.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for ClientBuilder {
    fn default() -> ClientBuilder {
        ClientBuilder {
            http: None,
            initial_interval: DEFAULT_INITIAL_INTERVAL,
            multiplier: DEFAULT_MULTIPLIER,
            jitter: DEFAULT_JITTER,
            backoff: None,
            limits: Limits {
                max_retries: None,
                max_elapsed: None,
                stable_after: DEFAULT_STABLE_AFTER,
                max_retry: DEFAULT_MAX_INTERVAL,
                max_retry_after: DEFAULT_MAX_RETRY_AFTER,
            },
            settings: Settings {
                idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
                max_event_size: sse_codec::DEFAULT_MAX_EVENT_SIZE,
                comments: false,
            },
            retry_server_errors: false,
            retry_too_many_requests: false,
            require_event_stream: true,
        }
    }
}

impl ClientBuilder {
    /// The `reqwest::Client` that sends the requests; by default one with
    /// rustls and a connect timeout of [`DEFAULT_CONNECT_TIMEOUT`]. In the
    /// browser (wasm32) reqwest sends with `fetch`, and the browser owns
    /// TLS, redirects, proxies, HTTP/2 and the connect timeout: the
    /// default client there has no settings of its own.
    ///
    /// Do not give it a total request timeout (`reqwest::ClientBuilder::timeout`):
    /// it would cut every long-lived stream. The
    /// [`idle_timeout`](ClientBuilder::idle_timeout) is the one that fits.
    pub fn http_client(mut self, http: reqwest::Client) -> ClientBuilder {
        self.http = Some(http);
        self
    }

    /// The initial reconnection delay, used until the server sets its own
    /// with a `retry` field. Default: [`DEFAULT_INITIAL_INTERVAL`].
    pub fn initial_interval(mut self, interval: Duration) -> ClientBuilder {
        self.initial_interval = interval;
        self
    }

    /// How much the delay grows on each repeated failure; 1 keeps it
    /// constant. Default: [`DEFAULT_MULTIPLIER`]. Values below 1 count as 1.
    pub fn multiplier(mut self, multiplier: f64) -> ClientBuilder {
        self.multiplier = if multiplier >= 1.0 { multiplier } else { 1.0 };
        self
    }

    /// How much a delay varies at random, as a fraction of it: 0.5 picks
    /// from half to one and a half times the delay. Default:
    /// [`DEFAULT_JITTER`]. Clamped to `0.0..=1.0`.
    pub fn jitter(mut self, jitter: f64) -> ClientBuilder {
        self.jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        self
    }

    /// The ceiling of the grown delay, and of the reconnection time a
    /// server asks for with `retry` (a server that asks for years gets
    /// this). Default: [`DEFAULT_MAX_INTERVAL`].
    pub fn max_interval(mut self, interval: Duration) -> ClientBuilder {
        self.limits.max_retry = interval;
        self
    }

    /// The ceiling of the wait that a server's `Retry-After` header
    /// imposes on a retried 5xx or 429, whether it gives seconds or an
    /// HTTP date: a server that asks for longer (`Retry-After: 99999999999`,
    /// or a date in the year 9999) is tried again after this long, and
    /// answers again if it is still not ready. `Duration::MAX` honours any
    /// `Retry-After`. Default: [`DEFAULT_MAX_RETRY_AFTER`].
    ///
    /// The capped wait is still a minimum over the backoff policy's delay,
    /// and the limits still apply to it: an attempt that it would put past
    /// the [`max_elapsed_time`](ClientBuilder::max_elapsed_time) is not
    /// made, and it counts as one of the
    /// [`max_retries`](ClientBuilder::max_retries).
    pub fn max_retry_after(mut self, ceiling: Duration) -> ClientBuilder {
        self.limits.max_retry_after = ceiling;
        self
    }

    /// How long to keep trying to reconnect, counted from the first request
    /// or the end of the last stream that stayed up (see
    /// [`stable_after`](ClientBuilder::stable_after)); `None` for no limit
    /// (the default). When it runs out the stream ends with an error for
    /// which [`Error::is_retries_exhausted`] holds. It bounds the server's
    /// delays too: an attempt that a `retry` field or a `Retry-After`
    /// header would put past it is not made. Applies to any backoff
    /// policy.
    pub fn max_elapsed_time(mut self, time: Option<Duration>) -> ClientBuilder {
        self.limits.max_elapsed = time;
        self
    }

    /// How many reconnection attempts in a row are allowed; `None` for no
    /// limit (the default). `Some(0)` never reconnects. The count starts
    /// over after a stream that stayed up (see
    /// [`stable_after`](ClientBuilder::stable_after)). When they run out
    /// the stream ends with an error for which
    /// [`Error::is_retries_exhausted`] holds. Applies to any backoff
    /// policy.
    pub fn max_retries(mut self, retries: Option<u32>) -> ClientBuilder {
        self.limits.max_retries = retries;
        self
    }

    /// How long a stream must stay up for the retries (the backoff, the
    /// retry count and the elapsed time) to start over. A stream that ends
    /// sooner counts as a failed attempt: its server's `retry` time is
    /// honoured once, then the delays grow. So a server that ends every
    /// stream at once, whether it is broken or hostile, gets a few
    /// reconnections a minute rather than hundreds a second. Default:
    /// [`DEFAULT_STABLE_AFTER`].
    pub fn stable_after(mut self, time: Duration) -> ClientBuilder {
        self.limits.stable_after = time;
        self
    }

    /// Replaces the exponential policy with any [`Backoff`], made by
    /// `make` for each connection. The other delay settings of this
    /// builder ([`initial_interval`](ClientBuilder::initial_interval),
    /// [`multiplier`](ClientBuilder::multiplier),
    /// [`jitter`](ClientBuilder::jitter)) are then ignored; the limits
    /// ([`max_retries`](ClientBuilder::max_retries),
    /// [`max_elapsed_time`](ClientBuilder::max_elapsed_time),
    /// [`stable_after`](ClientBuilder::stable_after), the cap of a
    /// server's `retry` by [`max_interval`](ClientBuilder::max_interval),
    /// and that of `Retry-After` by
    /// [`max_retry_after`](ClientBuilder::max_retry_after))
    /// still apply, and so does a server's `retry` time: the first attempt
    /// after a stream that stayed up waits it, later ones at least it.
    pub fn backoff<B, F>(mut self, make: F) -> ClientBuilder
    where
        F: Fn() -> B + Send + Sync + 'static,
        B: Backoff,
    {
        self.backoff = Some(Arc::new(move || -> Box<dyn Backoff> { Box::new(make()) }));
        self
    }

    /// Ends an attempt when nothing arrives for this long: no response
    /// head, or no bytes of the body (servers keep a quiet stream alive
    /// with comments). The connection then reconnects, with a
    /// [`Retrying`](crate::Retrying) whose error satisfies
    /// [`Error::is_timeout`]. `None` waits for ever. Default:
    /// [`DEFAULT_IDLE_TIMEOUT`]; a connection may set its own.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> ClientBuilder {
        self.settings.idle_timeout = timeout;
        self
    }

    /// The largest event (line, or data of one event) accepted, in bytes.
    /// A larger event is skipped and reported with an
    /// [`Update::Skipped`](crate::Update::Skipped); the stream goes on.
    /// Default: [`sse_codec::DEFAULT_MAX_EVENT_SIZE`]; a connection may set
    /// its own.
    pub fn max_event_size(mut self, bytes: usize) -> ClientBuilder {
        self.settings.max_event_size = bytes;
        self
    }

    /// Whether a 5xx status is retried with backoff, honouring its
    /// `Retry-After`. Off by default: the spec fails the connection on any
    /// status but 200.
    ///
    /// A retried 5xx comes in an [`Update::Retrying`](crate::Update::Retrying)
    /// whose error is not [permanent](Error::is_permanent). Its
    /// `Retry-After` (seconds or an HTTP date) is a minimum wait, up to
    /// [`max_retry_after`](ClientBuilder::max_retry_after): an absurd one,
    /// `Retry-After: 99999999999` or a date in the year 9999, waits that
    /// ceiling, not millennia; and a wait that would pass the
    /// [`max_elapsed_time`](ClientBuilder::max_elapsed_time) ends the
    /// connection with an error for which [`Error::is_retries_exhausted`]
    /// holds.
    pub fn retry_server_errors(mut self, yes: bool) -> ClientBuilder {
        self.retry_server_errors = yes;
        self
    }

    /// Whether 429 Too Many Requests is retried, waiting at least its
    /// `Retry-After`. Off by default: the spec fails the connection on any
    /// status but 200.
    ///
    /// A retried 429 comes in an [`Update::Retrying`](crate::Update::Retrying)
    /// whose error is not [permanent](Error::is_permanent). Its
    /// `Retry-After` is capped as for
    /// [`retry_server_errors`](ClientBuilder::retry_server_errors): an
    /// absurd one waits [`max_retry_after`](ClientBuilder::max_retry_after),
    /// within the [`max_elapsed_time`](ClientBuilder::max_elapsed_time).
    pub fn retry_too_many_requests(mut self, yes: bool) -> ClientBuilder {
        self.retry_too_many_requests = yes;
        self
    }

    /// Whether a 200 response must have the content type
    /// `text/event-stream`, as the spec requires (the default). Turn it
    /// off for servers that send events with another content type.
    pub fn require_event_stream(mut self, yes: bool) -> ClientBuilder {
        self.require_event_stream = yes;
        self
    }

    /// Whether connections yield [`Update::Comment`](crate::Update::Comment)
    /// for comment lines. Off by default; a connection may set its own.
    pub fn comments(mut self, yes: bool) -> ClientBuilder {
        self.settings.comments = yes;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// An error for which [`Error::is_builder`] holds if no `reqwest`
    /// client was given and a default one cannot be built (its TLS backend
    /// failed to start).
    pub fn build(self) -> Result<Client, Error> {
        let http = match self.http {
            Some(http) => http,
            None => default_http_client()?,
        };
        let backoff = match self.backoff {
            Some(make) => make,
            None => {
                let exponential = Exponential::new(
                    self.initial_interval,
                    self.multiplier,
                    self.jitter,
                    self.limits.max_retry,
                );
                Arc::new(move || -> Box<dyn Backoff> { Box::new(exponential.clone()) })
            }
        };
        Ok(Client {
            config: Arc::new(Config {
                http,
                backoff,
                limits: self.limits,
                settings: self.settings,
                retry_server_errors: self.retry_server_errors,
                retry_too_many_requests: self.retry_too_many_requests,
                require_event_stream: self.require_event_stream,
            }),
        })
    }
}

/// The default `reqwest::Client`: rustls, HTTP/2 and the system's proxy
/// settings (reqwest's features), and a connect timeout.
#[cfg(not(target_arch = "wasm32"))]
fn default_http_client() -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .connect_timeout(DEFAULT_CONNECT_TIMEOUT)
        .build()
        .map_err(Error::builder)
}

/// The default `reqwest::Client` in the browser, where `fetch` owns what
/// the native one sets.
#[cfg(target_arch = "wasm32")]
fn default_http_client() -> Result<reqwest::Client, Error> {
    reqwest::Client::builder().build().map_err(Error::builder)
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("custom_backoff", &self.backoff.is_some())
            .field("initial_interval", &self.initial_interval)
            .field("multiplier", &self.multiplier)
            .field("jitter", &self.jitter)
            .field("max_interval", &self.limits.max_retry)
            .field("limits", &self.limits)
            .field("settings", &self.settings)
            .field("retry_server_errors", &self.retry_server_errors)
            .field("retry_too_many_requests", &self.retry_too_many_requests)
            .field("require_event_stream", &self.require_event_stream)
            .finish_non_exhaustive()
    }
}

impl Default for Client {
    fn default() -> Client {
        Client::new()
    }
}

impl Client {
    /// A client with the default configuration.
    ///
    /// # Panics
    ///
    /// Panics if the TLS backend cannot be initialized, as
    /// `reqwest::Client::new` does; use [`Client::builder`] to handle that
    /// as an error.
    pub fn new() -> Client {
        Client::builder()
            .build()
            .expect("sse_client::Client::new: failed to build the reqwest client")
    }

    /// A builder, starting from the default configuration.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The `reqwest::Client` that sends the requests, to build requests
    /// for [`connect`](Client::connect).
    pub fn http(&self) -> &reqwest::Client {
        &self.config.http
    }

    /// A connection to `url` with a GET request.
    ///
    /// Nothing is sent until the connection is polled. An invalid URL is
    /// the connection's first and only item, an error for which
    /// [`Error::is_builder`] holds.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use futures_util::StreamExt;
    ///
    /// # async fn run() -> Result<(), sse_client::Error> {
    /// let client = sse_client::Client::new();
    /// let mut events = client.get("http://127.0.0.1:8080/events").events();
    /// while let Some(event) = events.next().await {
    ///     let event = event?;
    ///     println!("{}: {}", event.event_type(), event.data());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn get<U: reqwest::IntoUrl>(&self, url: U) -> Connection {
        self.connect(self.config.http.get(url))
    }

    /// A connection made with any request: a `reqwest::RequestBuilder` or
    /// a `reqwest::Request`, with any method, headers and body (as LLM
    /// APIs need a POST with a JSON body).
    ///
    /// The request is sent with this client's `reqwest::Client` (a
    /// `RequestBuilder` made by another client is built, and its client
    /// left aside). `Accept: text/event-stream` and
    /// `Cache-Control: no-cache` are added unless present; a
    /// `Last-Event-ID` header is taken as the last event ID to resume from
    /// (as [`Connection::resume_after`] sets it), and after that
    /// the connection sets it on every reconnection. A body
    /// that cannot be cloned (a stream) is sent once: reconnecting then
    /// fails with an error for which [`Error::is_body_not_reusable`] holds.
    ///
    /// Nothing is sent until the connection is polled.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use futures_util::StreamExt;
    /// use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
    ///
    /// # async fn run() -> Result<(), sse_client::Error> {
    /// let client = sse_client::Client::new();
    /// let request = client
    ///     .http()
    ///     .post("http://127.0.0.1:8080/v1/chat")
    ///     .header(AUTHORIZATION, "Bearer token")
    ///     .header(CONTENT_TYPE, "application/json")
    ///     .body(r#"{"prompt":"hello"}"#);
    /// let mut events = client.connect(request).events();
    /// while let Some(event) = events.next().await {
    ///     print!("{}", event?.data());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn connect<R: IntoRequest>(&self, request: R) -> Connection {
        Connection::new(
            self.config.clone(),
            request.into_request().map_err(Error::reqwest),
        )
    }

    /// Reads `response`'s body as an event stream with no reconnection,
    /// with this client's maximum event size and idle timeout: see
    /// [`read`](crate::read).
    pub fn read(&self, response: reqwest::Response) -> crate::Read {
        crate::read(response)
            .max_event_size(self.config.settings.max_event_size)
            .idle_timeout(self.config.settings.idle_timeout)
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("limits", &self.config.limits)
            .field("settings", &self.config.settings)
            .field("retry_server_errors", &self.config.retry_server_errors)
            .field(
                "retry_too_many_requests",
                &self.config.retry_too_many_requests,
            )
            .field("require_event_stream", &self.config.require_event_stream)
            .finish_non_exhaustive()
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for reqwest::Request {}
    impl Sealed for reqwest::RequestBuilder {}
}

/// A request a [`Connection`] can be made from: `reqwest::Request` or
/// `reqwest::RequestBuilder`. Sealed.
pub trait IntoRequest: sealed::Sealed {
    /// Builds the request.
    ///
    /// # Errors
    ///
    /// The builder's error, such as an invalid URL or header.
    fn into_request(self) -> Result<reqwest::Request, reqwest::Error>;
}

impl IntoRequest for reqwest::Request {
    fn into_request(self) -> Result<reqwest::Request, reqwest::Error> {
        Ok(self)
    }
}

impl IntoRequest for reqwest::RequestBuilder {
    fn into_request(self) -> Result<reqwest::Request, reqwest::Error> {
        self.build()
    }
}
