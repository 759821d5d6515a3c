//! The client and its configuration.

use crate::{
    Connection, Error,
    retry::{DynBackoff, MakeBackoff},
};
use backoff::{ExponentialBackoff, backoff::Backoff};
use std::{fmt, sync::Arc, time::Duration};

/// A Server-Sent Events client: a `reqwest::Client` and the configuration
/// of the connections it makes.
///
/// Cheap to clone (the configuration is behind an [`Arc`]); build one and
/// share it.
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
///     .idle_timeout(Duration::from_secs(60))
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
    exponential: ExponentialBackoff,
    backoff: Option<MakeBackoff>,
    max_retries: Option<u32>,
    idle_timeout: Option<Duration>,
    max_event_size: usize,
    retry_server_errors: bool,
    retry_too_many_requests: bool,
    require_event_stream: bool,
    comments: bool,
}

pub(crate) struct Config {
    pub(crate) http: reqwest::Client,
    pub(crate) backoff: MakeBackoff,
    pub(crate) max_retries: Option<u32>,
    pub(crate) max_elapsed_time: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) max_event_size: usize,
    pub(crate) retry_server_errors: bool,
    pub(crate) retry_too_many_requests: bool,
    pub(crate) require_event_stream: bool,
    pub(crate) comments: bool,
}

/// The default initial reconnection delay, 500 ms, used until the server
/// sets its own with a `retry` field.
pub const DEFAULT_INITIAL_INTERVAL: Duration = Duration::from_millis(500);
/// The default growth of the delay on each repeated failure, 1.5.
pub const DEFAULT_MULTIPLIER: f64 = 1.5;
/// The default jitter, 0.5: a delay varies by up to half its value either
/// way, so that clients dropped together do not return together.
pub const DEFAULT_JITTER: f64 = 0.5;
/// The default ceiling of the grown delay, one minute.
pub const DEFAULT_MAX_INTERVAL: Duration = Duration::from_secs(60);

impl Default for ClientBuilder {
    fn default() -> ClientBuilder {
        let mut exponential = ExponentialBackoff {
            initial_interval: DEFAULT_INITIAL_INTERVAL,
            current_interval: DEFAULT_INITIAL_INTERVAL,
            randomization_factor: DEFAULT_JITTER,
            multiplier: DEFAULT_MULTIPLIER,
            max_interval: DEFAULT_MAX_INTERVAL,
            max_elapsed_time: None,
            ..ExponentialBackoff::default()
        };
        exponential.reset();
        ClientBuilder {
            http: None,
            exponential,
            backoff: None,
            max_retries: None,
            idle_timeout: None,
            max_event_size: sse_codec::DEFAULT_MAX_EVENT_SIZE,
            retry_server_errors: false,
            retry_too_many_requests: false,
            require_event_stream: true,
            comments: false,
        }
    }
}

impl ClientBuilder {
    /// The `reqwest::Client` that sends the requests; a default one (with
    /// rustls) if not set.
    ///
    /// Do not give it a total request timeout (`reqwest::ClientBuilder::timeout`):
    /// it would cut every long-lived stream. Use
    /// [`idle_timeout`](ClientBuilder::idle_timeout) instead.
    pub fn http_client(mut self, http: reqwest::Client) -> ClientBuilder {
        self.http = Some(http);
        self
    }

    /// The initial reconnection delay, used until the server sets its own
    /// with a `retry` field. Default: [`DEFAULT_INITIAL_INTERVAL`].
    pub fn initial_interval(mut self, interval: Duration) -> ClientBuilder {
        self.exponential.initial_interval = interval;
        self.exponential.current_interval = interval;
        self
    }

    /// How much the delay grows on each repeated failure; 1 keeps it
    /// constant. Default: [`DEFAULT_MULTIPLIER`]. Values below 1 count as 1.
    pub fn multiplier(mut self, multiplier: f64) -> ClientBuilder {
        self.exponential.multiplier = if multiplier >= 1.0 { multiplier } else { 1.0 };
        self
    }

    /// How much a delay varies at random, as a fraction of it: 0.5 picks
    /// from half to one and a half times the delay. Default:
    /// [`DEFAULT_JITTER`]. Clamped to `0.0..=1.0`.
    pub fn jitter(mut self, jitter: f64) -> ClientBuilder {
        self.exponential.randomization_factor = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        self
    }

    /// The ceiling of the grown delay. Default: [`DEFAULT_MAX_INTERVAL`].
    pub fn max_interval(mut self, interval: Duration) -> ClientBuilder {
        self.exponential.max_interval = interval;
        self
    }

    /// How long to keep trying to reconnect, counted from the connection's
    /// start or the last time a stream was served (see
    /// [`max_retries`](ClientBuilder::max_retries)); `None` for no limit (the
    /// default). When it runs out the stream ends with an error for which
    /// [`Error::is_retries_exhausted`] holds. It bounds the server's delays
    /// too: an attempt that a `retry` field or a `Retry-After` header would
    /// put past it is not made. Applies to any backoff policy, including
    /// one set with [`backoff`](ClientBuilder::backoff).
    pub fn max_elapsed_time(mut self, time: Option<Duration>) -> ClientBuilder {
        self.exponential.max_elapsed_time = time;
        self
    }

    /// How many reconnection attempts in a row are allowed; `None` for no
    /// limit (the default). `Some(0)` never reconnects. The count starts
    /// over once a stream is served: an event or a comment (a keep-alive)
    /// arrives. A `200` whose stream ends before either (a server shutting
    /// down, or one that cannot subscribe) is a failed attempt, so the
    /// backoff grows and this limit applies. When they run out the stream ends with an error
    /// for which [`Error::is_retries_exhausted`] holds. Applies to any
    /// backoff policy, including one set with
    /// [`backoff`](ClientBuilder::backoff).
    pub fn max_retries(mut self, retries: Option<u32>) -> ClientBuilder {
        self.max_retries = retries;
        self
    }

    /// Replaces the exponential policy with any [`Backoff`], made by
    /// `make` for each connection: the delay between failed attempts is
    /// its `next_backoff`, and `None` gives up. A served stream resets
    /// it. The other backoff settings of this builder, except
    /// [`max_retries`](ClientBuilder::max_retries) and
    /// [`max_elapsed_time`](ClientBuilder::max_elapsed_time), are then
    /// ignored.
    ///
    /// A server's `retry` time is still honoured: the first attempt after
    /// a served stream waits it, later ones wait at least it (within
    /// [`max_elapsed_time`](ClientBuilder::max_elapsed_time), if set).
    ///
    /// # Examples
    ///
    /// ```
    /// use backoff::{ExponentialBackoffBuilder, backoff::Constant};
    /// use std::time::Duration;
    ///
    /// let constant = sse_client::Client::builder()
    ///     .backoff(|| Constant::new(Duration::from_secs(1)))
    ///     .build()?;
    ///
    /// let policy = ExponentialBackoffBuilder::new()
    ///     .with_initial_interval(Duration::from_millis(100))
    ///     .with_max_elapsed_time(Some(Duration::from_secs(30)))
    ///     .build();
    /// let exponential = sse_client::Client::builder()
    ///     .backoff(move || policy.clone())
    ///     .build()?;
    /// # Ok::<(), sse_client::Error>(())
    /// ```
    pub fn backoff<B, F>(mut self, make: F) -> ClientBuilder
    where
        F: Fn() -> B + Send + Sync + 'static,
        B: Backoff + Send + 'static,
    {
        self.backoff = Some(Arc::new(move || -> DynBackoff { Box::new(make()) }));
        self
    }

    /// Ends an attempt when nothing arrives for this long: no response
    /// headers, or no bytes of the body (servers keep a quiet stream alive
    /// with comments). The connection then reconnects, with a
    /// [`Retrying`](crate::Retrying) whose error satisfies
    /// [`Error::is_timeout`]. Default: none.
    pub fn idle_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.idle_timeout = Some(timeout);
        self
    }

    /// The largest event (line, or data of one event) accepted, in bytes.
    /// A larger event is skipped and reported as an error for which
    /// [`Error::is_event_too_large`] holds; the stream goes on. Default:
    /// [`sse_codec::DEFAULT_MAX_EVENT_SIZE`].
    pub fn max_event_size(mut self, bytes: usize) -> ClientBuilder {
        self.max_event_size = bytes;
        self
    }

    /// Whether a 5xx status is retried with backoff, honouring its
    /// `Retry-After`. Off by default: the spec fails the connection on any
    /// status but 200.
    pub fn retry_server_errors(mut self, yes: bool) -> ClientBuilder {
        self.retry_server_errors = yes;
        self
    }

    /// Whether 429 Too Many Requests is retried, waiting at least its
    /// `Retry-After`. Off by default: the spec fails the connection on any
    /// status but 200.
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
    /// for comment lines. Off by default.
    pub fn comments(mut self, yes: bool) -> ClientBuilder {
        self.comments = yes;
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
            None => reqwest::Client::builder().build().map_err(Error::builder)?,
        };
        let max_elapsed_time = self.exponential.max_elapsed_time;
        let backoff = match self.backoff {
            Some(make) => make,
            None => {
                let exponential = self.exponential;
                Arc::new(move || -> DynBackoff { Box::new(exponential.clone()) })
            }
        };
        Ok(Client {
            config: Arc::new(Config {
                http,
                backoff,
                max_retries: self.max_retries,
                max_elapsed_time,
                idle_timeout: self.idle_timeout,
                max_event_size: self.max_event_size,
                retry_server_errors: self.retry_server_errors,
                retry_too_many_requests: self.retry_too_many_requests,
                require_event_stream: self.require_event_stream,
                comments: self.comments,
            }),
        })
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("custom_backoff", &self.backoff.is_some())
            .field("initial_interval", &self.exponential.initial_interval)
            .field("multiplier", &self.exponential.multiplier)
            .field("jitter", &self.exponential.randomization_factor)
            .field("max_interval", &self.exponential.max_interval)
            .field("max_elapsed_time", &self.exponential.max_elapsed_time)
            .field("max_retries", &self.max_retries)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_event_size", &self.max_event_size)
            .field("retry_server_errors", &self.retry_server_errors)
            .field("retry_too_many_requests", &self.retry_too_many_requests)
            .field("require_event_stream", &self.require_event_stream)
            .field("comments", &self.comments)
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
    /// `Last-Event-ID` header is taken as the last event ID to resume from,
    /// and after that the connection sets it on every reconnection. A body
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
        Connection::new(self.clone(), request.into_request().map_err(Error::reqwest))
    }

    /// Reads `response`'s body as an event stream with no reconnection,
    /// with this client's maximum event size and idle timeout: see
    /// [`read`](crate::read).
    pub fn read(&self, response: reqwest::Response) -> crate::Read {
        let read = crate::read(response).max_event_size(self.config.max_event_size);
        match self.config.idle_timeout {
            Some(timeout) => read.idle_timeout(timeout),
            None => read,
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("max_retries", &self.config.max_retries)
            .field("idle_timeout", &self.config.idle_timeout)
            .field("max_event_size", &self.config.max_event_size)
            .field("retry_server_errors", &self.config.retry_server_errors)
            .field(
                "retry_too_many_requests",
                &self.config.retry_too_many_requests,
            )
            .field("require_event_stream", &self.config.require_event_stream)
            .field("comments", &self.config.comments)
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
