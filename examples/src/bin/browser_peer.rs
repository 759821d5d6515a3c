//! `browser_peer`: the server that `sse-client`'s tests in the browser
//! (`crates/sse-client/tests/browser_server.rs`) talk to.
//! `scripts/wasm-test.sh` starts it on a free port, hands its address to
//! the tests and stops it when they are done.
//!
//! ```text
//! cargo run -p sse-examples --bin browser_peer -- --port 0
//! ```
//!
//! It prints its address, `http://127.0.0.1:PORT`, on one line of stdout
//! once it listens, and serves until Ctrl-C.
//!
//! The feed is `sse-server` over Joe with a replayer: one event every
//! `TICK` (25 ms), whose ID (from the replayer, starting at 1) and data are its
//! number, so a client that resumes with `Last-Event-ID` gets what it
//! missed through Joe's real replay. Each request says what it wants in
//! its query, and names its session so that the tests can ask what the
//! server saw of it:
//!
//! - `GET /events?session=NAME`: the feed, live from now (or from the
//!   client's `Last-Event-ID`). Knobs: `retry=MS` sends `retry: MS`
//!   first; `cut_after=N` ends the stream cleanly after N events, and
//!   `cut_ms=MS` after MS milliseconds (as a failing proxy would, so the
//!   client reconnects); `auth=TOKEN` answers `401` unless the request
//!   carries `Authorization: Bearer TOKEN`.
//! - `POST /prompt?session=NAME` with `Authorization: Bearer ...` and a
//!   JSON body `{"prompt": "..."}`: each word of the prompt back as an
//!   event, as a language model streams its answer, then the end of the
//!   body. `401` without a bearer token.
//! - `GET /stats?session=NAME`: what the server saw of that session, as
//!   JSON (a `Record`); `404` for a session it never saw.
//!
//! The test page is served by `wasm-bindgen-test-runner` from another
//! origin (`http://127.0.0.1:<its own port>`), so every route answers
//! CORS for loopback origins: preflights for the headers a browser does
//! not send on its own (`Last-Event-ID`, `Authorization`, a JSON
//! `Content-Type`), the page's origin reflected, and the response headers
//! the client reads exposed. Pages on any other origin get no CORS
//! headers, so their browser keeps them out.

use axum::{
    Json, Router,
    extract::{Request, State},
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http_body::Frame;
use serde::{Deserialize, Serialize};
use sse::{
    Message, StreamResponse, Subscription, Topic,
    joe::{FiniteReplayer, Joe},
    server::{ConnectionLimits, RESUME_HEADER, Server, Session},
};
use std::{
    collections::{HashMap, VecDeque},
    net::IpAddr,
    pin::Pin,
    sync::{
        Arc, Mutex, MutexGuard, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll, ready},
    time::{Duration, Instant},
};
use tower_http::cors::{AllowOrigin, CorsLayer};

const USAGE: &str = "\
browser_peer: the server of sse-client's tests in the browser

USAGE: browser_peer [--port 8090]

  --port N   listen on 127.0.0.1:N (0: a free port)   [default 8090]

Prints its address (http://127.0.0.1:PORT) on one line once it listens.
";

/// How often the feed publishes an event.
const TICK: Duration = Duration::from_millis(25);

/// How many events Joe keeps for replay: four minutes of the feed, far
/// more than a test is away.
const HISTORY: usize = 10_000;

/// The most sessions remembered; past it the oldest is forgotten.
const MAX_SESSIONS: usize = 1000;

/// The most entries each list of a `Record` keeps; later ones are not
/// kept (a test looks at its first few requests).
const MAX_KEPT: usize = 100;

/// The longest session name.
const MAX_NAME: usize = 64;

/// The most words of a prompt streamed back.
const MAX_WORDS: usize = 1000;

/// The feed's topic.
const FEED: Topic = Topic::from_static("feed");

/// What the server saw of one session, as `GET /stats` answers it.
#[derive(Debug, Default, Serialize)]
struct Record {
    /// Requests to `/events` (CORS preflights are answered before they
    /// reach it, so they do not count), refused ones included.
    requests: u64,
    /// The session's event streams open now.
    open: u64,
    /// For each request, its `Last-Event-ID` header, `null` when it had
    /// none.
    last_event_ids: Vec<Option<String>>,
    /// For each request, the ID of the newest event published when it
    /// came: the events after its `Last-Event-ID` up to this one were
    /// published while the client was away.
    published_at_connect: Vec<u64>,
    /// For each request, the milliseconds since the session's previous
    /// stream ended; `null` for a request with none before it.
    gaps_ms: Vec<Option<u64>>,
    /// The prompts POSTed, with the headers they came with.
    prompts: Vec<PromptSeen>,
    /// When the session's last stream ended.
    #[serde(skip)]
    closed_at: Option<Instant>,
}

/// A prompt as `/prompt` received it.
#[derive(Debug, Serialize)]
struct PromptSeen {
    /// The `Authorization` header.
    authorization: Option<String>,
    /// The `Content-Type` header.
    content_type: Option<String>,
    /// The prompt.
    prompt: String,
}

/// The records by session, with the order they came in, so that the
/// oldest is the one forgotten.
#[derive(Default)]
struct Records {
    by_session: HashMap<String, Record>,
    order: VecDeque<String>,
}

impl Records {
    fn record(&mut self, session: &str) -> &mut Record {
        if !self.by_session.contains_key(session) {
            if self.order.len() == MAX_SESSIONS
                && let Some(oldest) = self.order.pop_front()
            {
                self.by_session.remove(&oldest);
            }
            self.order.push_back(session.to_owned());
        }
        self.by_session.entry(session.to_owned()).or_default()
    }
}

/// Appends `item` unless `list` already holds `MAX_KEPT` items.
fn keep<T>(list: &mut Vec<T>, item: T) {
    if list.len() < MAX_KEPT {
        list.push(item);
    }
}

/// The server's state, shared by its handlers and the feed.
#[derive(Clone)]
struct Peer {
    server: Server<Joe>,
    /// The ID of the newest event published.
    published: Arc<AtomicU64>,
    records: Arc<Mutex<Records>>,
}

impl Peer {
    fn new() -> Peer {
        let joe = Joe::builder()
            .replayer(FiniteReplayer::new(HISTORY).auto_ids_from(1))
            .build();
        Peer {
            // No `retry:` of its own: the `retry` knob decides per request.
            server: Server::new(joe),
            published: Arc::default(),
            records: Arc::default(),
        }
    }

    fn records(&self) -> MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn router(&self) -> Router {
        Router::new()
            .route("/events", get(events))
            .route("/prompt", post(prompt))
            .route("/stats", get(stats))
            .layer(cors())
            .with_state(self.clone())
    }

    /// Publishes an event every `TICK`, numbered from 1, until the
    /// provider is shut down.
    async fn run_feed(self) {
        let mut timer = tokio::time::interval(TICK);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            timer.tick().await;
            // The replayer numbers the events from 1 as this does: the
            // data is the ID, and `published` the newest ID.
            let n = self.published.load(Ordering::Relaxed) + 1;
            let message = Message::new().data(n.to_string());
            if self.server.publish(message, &[FEED]).await.is_err() {
                return;
            }
            self.published.store(n, Ordering::Relaxed);
        }
    }
}

/// CORS for pages on loopback origins, where `wasm-bindgen-test-runner`
/// serves the tests: the origin reflected, the request headers that make a
/// browser ask first allowed, the response headers the client reads
/// exposed (a browser shows a page only the safelisted ones otherwise).
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(|origin, _| is_loopback(origin)))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            HeaderName::from_static("last-event-id"),
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
        ])
        // `sse-resume` tells how a resume went; `Retry-After` delays a
        // retry; a `Content-Encoding` left on a response is refused; the
        // tests read `WWW-Authenticate` on a 401.
        .expose_headers([
            RESUME_HEADER,
            header::RETRY_AFTER,
            header::CONTENT_ENCODING,
            header::WWW_AUTHENTICATE,
        ])
        .max_age(Duration::from_secs(600))
}

/// Whether `origin` is a page on this machine: `localhost` or a loopback
/// address, on any port, over HTTP or HTTPS.
fn is_loopback(origin: &HeaderValue) -> bool {
    let Some(uri) = origin.to_str().ok().and_then(|o| o.parse::<Uri>().ok()) else {
        return false;
    };
    let web = matches!(uri.scheme_str(), Some("http" | "https"));
    let host = uri.host().unwrap_or_default();
    // An IPv6 host comes in brackets: `[::1]`.
    let ip = host.trim_start_matches('[').trim_end_matches(']');
    web && (host == "localhost" || ip.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()))
}

/// What a request asks for in its query.
#[derive(Debug, Default, PartialEq)]
struct Knobs {
    session: String,
    retry: Option<u64>,
    cut_after: Option<u64>,
    cut_ms: Option<u64>,
    auth: Option<String>,
}

impl Knobs {
    /// The knobs of `query`, or what is wrong with it.
    fn parse(query: Option<&str>) -> Result<Knobs, String> {
        let mut knobs = Knobs::default();
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let number = || {
                value
                    .parse::<u64>()
                    .map_err(|_| format!("{name} takes a whole number, not {value:?}"))
            };
            match &*name {
                "session" => knobs.session = value.clone().into_owned(),
                "retry" => knobs.retry = Some(number()?),
                "cut_after" => knobs.cut_after = Some(number()?),
                "cut_ms" => knobs.cut_ms = Some(number()?),
                "auth" => knobs.auth = Some(value.clone().into_owned()),
                other => return Err(format!("unknown query parameter {other:?}")),
            }
        }
        let plain = |b: u8| b.is_ascii_alphanumeric() || b == b'-';
        if !(1..=MAX_NAME).contains(&knobs.session.len()) || !knobs.session.bytes().all(plain) {
            return Err(format!(
                "session=NAME is required: 1 to {MAX_NAME} letters, digits and dashes"
            ));
        }
        Ok(knobs)
    }
}

/// A header's value as text (bytes that are not UTF-8 replaced).
fn text(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

/// The token of an `Authorization: Bearer TOKEN` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        "a bearer token is required",
    )
        .into_response()
}

/// The feed, with the request's knobs; recorded in its session.
async fn events(State(peer): State<Peer>, request: Request) -> Response {
    let knobs = match Knobs::parse(request.uri().query()) {
        Ok(knobs) => knobs,
        Err(problem) => return (StatusCode::BAD_REQUEST, problem).into_response(),
    };
    let headers = request.headers();
    let authorized = knobs
        .auth
        .as_deref()
        .is_none_or(|token| bearer(headers) == Some(token));
    {
        let published = peer.published.load(Ordering::Relaxed);
        let mut records = peer.records();
        let record = records.record(&knobs.session);
        record.requests += 1;
        keep(&mut record.last_event_ids, text(headers, "last-event-id"));
        keep(&mut record.published_at_connect, published);
        let gap = record.closed_at.map(|at| millis(at.elapsed()));
        keep(&mut record.gaps_ms, gap);
        if authorized {
            record.open += 1;
        }
    }
    if !authorized {
        return unauthorized();
    }
    // Made before the first await, so that a request dropped there is
    // counted closed too.
    let open = Open {
        records: peer.records.clone(),
        session: knobs.session,
    };
    let mut session = Session::new(Subscription::new([FEED]));
    if let Some(ms) = knobs.cut_ms {
        // The server's own deadline: the stream ends cleanly then.
        session = session.until(Instant::now() + Duration::from_millis(ms));
    }
    let response = peer.server.respond_with(request, session).await;
    response.map(|body| {
        axum::body::Body::new(Feed {
            body,
            retry: knobs
                .retry
                .map(|ms| Bytes::from(format!("retry: {ms}\n\n"))),
            left: knobs.cut_after,
            _open: open,
        })
    })
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Counts a stream open in its session's record until it is dropped, and
/// then notes when it ended, for the next request's gap.
struct Open {
    records: Arc<Mutex<Records>>,
    session: String,
}

impl Drop for Open {
    fn drop(&mut self) {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        // Forgotten meanwhile if more sessions came since.
        if let Some(record) = records.by_session.get_mut(&self.session) {
            record.open = record.open.saturating_sub(1);
            record.closed_at = Some(Instant::now());
        }
    }
}

/// An event-stream body with the knobs applied: a `retry:` first, and an
/// end after a number of events.
struct Feed {
    body: sse::server::Body,
    /// `retry: MS`, until it is sent.
    retry: Option<Bytes>,
    /// Events still to send before the stream ends, if it is cut after a
    /// number.
    left: Option<u64>,
    _open: Open,
}

impl http_body::Body for Feed {
    type Data = Bytes;
    type Error = sse::server::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Some(retry) = this.retry.take() {
            return Poll::Ready(Some(Ok(Frame::data(retry))));
        }
        if this.left == Some(0) {
            return Poll::Ready(None);
        }
        let frame = ready!(Pin::new(&mut this.body).poll_frame(cx));
        let Some(left) = this.left.as_mut() else {
            return Poll::Ready(frame);
        };
        Poll::Ready(frame.map(|frame| frame.map(|frame| frame.map_data(|c| take_events(c, left)))))
    }
}

/// The start of `chunk` up to the end of its `left`-th event (all of it if
/// it holds fewer), taking the events it gives off `left`. The server
/// writes whole events, each ending with a blank line (`\n\n`, as the
/// encoder writes them); comments (keep-alives) do not count.
fn take_events(mut chunk: Bytes, left: &mut u64) -> Bytes {
    let mut at = 0;
    while *left > 0 {
        let Some(blank) = chunk[at..].windows(2).position(|pair| pair == b"\n\n") else {
            break;
        };
        if chunk[at] != b':' {
            *left -= 1;
        }
        at += blank + 2;
    }
    if *left == 0 {
        chunk.truncate(at);
    }
    chunk
}

#[derive(Deserialize)]
struct Prompt {
    prompt: String,
}

/// Streams the prompt's words back, one event each, then ends the body;
/// recorded in its session.
async fn prompt(
    State(peer): State<Peer>,
    uri: Uri,
    headers: HeaderMap,
    Json(body): Json<Prompt>,
) -> Response {
    let session = match Knobs::parse(uri.query()) {
        Ok(knobs) => knobs.session,
        Err(problem) => return (StatusCode::BAD_REQUEST, problem).into_response(),
    };
    let words: Vec<String> = body
        .prompt
        .split_whitespace()
        .take(MAX_WORDS)
        .map(str::to_owned)
        .collect();
    let seen = PromptSeen {
        authorization: text(&headers, header::AUTHORIZATION),
        content_type: text(&headers, header::CONTENT_TYPE),
        prompt: body.prompt,
    };
    keep(&mut peer.records().record(&session).prompts, seen);
    if bearer(&headers).is_none() {
        return unauthorized();
    }
    IntoResponse::into_response(StreamResponse::new(tokens(words)))
}

/// The words as events a few milliseconds apart, so that they reach the
/// client in several chunks, as a model's tokens do.
fn tokens(words: Vec<String>) -> impl Stream<Item = Message> {
    futures_util::stream::iter(words).then(|word| async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        Message::new().data(word)
    })
}

async fn stats(State(peer): State<Peer>, uri: Uri) -> Response {
    let session = match Knobs::parse(uri.query()) {
        Ok(knobs) => knobs.session,
        Err(problem) => return (StatusCode::BAD_REQUEST, problem).into_response(),
    };
    match peer.records().by_session.get(&session) {
        Some(record) => Json(record).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = sse_examples::port_or_exit("browser_peer", 8090, USAGE);
    let tcp = sse_examples::bind_or_exit("browser_peer", port).await;
    let address = tcp.local_addr()?;
    let peer = Peer::new();
    tokio::spawn(peer.clone().run_feed());
    let app = peer.router();
    // The line the test script waits for.
    println!("http://{address}");
    let server = peer.server.clone();
    let listener = ConnectionLimits::new().listen(tcp);
    sse_examples::serve_until_ctrl_c(listener, app, move || server.shutdown()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    #[test]
    fn cut_after_counts_events_not_comments() {
        let mut left = 2;
        let chunk =
            Bytes::from_static(b"id: 1\ndata: 1\n\n: keep-alive\n\nid: 2\ndata: 2\n\nid: 3\n");
        assert_eq!(
            take_events(chunk, &mut left),
            "id: 1\ndata: 1\n\n: keep-alive\n\nid: 2\ndata: 2\n\n"
        );
        assert_eq!(left, 0);

        let mut left = 5;
        let chunk = Bytes::from_static(b"data: a\ndata: b\n\n");
        assert_eq!(take_events(chunk.clone(), &mut left), chunk);
        assert_eq!(left, 4);
    }

    #[test]
    fn only_loopback_origins_are_allowed() {
        for origin in [
            "http://127.0.0.1:41234",
            "http://localhost:8000",
            "http://[::1]:9000",
            "https://127.0.0.2",
        ] {
            assert!(is_loopback(&HeaderValue::from_static(origin)), "{origin}");
        }
        for origin in [
            "http://example.com",
            "http://10.0.0.1:80",
            "null",
            "file:///tmp",
            "http://localhost.example.com",
        ] {
            assert!(!is_loopback(&HeaderValue::from_static(origin)), "{origin}");
        }
    }

    #[test]
    fn knobs_are_checked() {
        let knobs = Knobs::parse(Some("session=a-1&retry=400&cut_after=3&auth=x%20y")).unwrap();
        assert_eq!(
            knobs,
            Knobs {
                session: "a-1".into(),
                retry: Some(400),
                cut_after: Some(3),
                cut_ms: None,
                auth: Some("x y".into()),
            }
        );
        assert!(Knobs::parse(None).is_err());
        assert!(Knobs::parse(Some("session=a b")).is_err());
        assert!(Knobs::parse(Some("session=a&retry=soon")).is_err());
        assert!(Knobs::parse(Some("session=a&bogus=1")).is_err());
    }

    /// A preflight from the test page's origin is answered with what a
    /// browser needs to send the request; one from elsewhere is not.
    #[tokio::test]
    async fn preflights_from_loopback_are_answered() {
        let app = Peer::new().router();
        let preflight = |origin: &'static str| {
            axum::http::Request::options("/events?session=a")
                .header(header::ORIGIN, origin)
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
                .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "last-event-id")
                .body(axum::body::Body::empty())
                .unwrap()
        };
        let response = app
            .clone()
            .oneshot(preflight("http://127.0.0.1:41234"))
            .await
            .unwrap();
        let headers = response.headers();
        assert_eq!(
            headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://127.0.0.1:41234"
        );
        let allowed = headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
            .to_str()
            .unwrap();
        assert!(allowed.contains("last-event-id"), "{allowed}");
        assert!(allowed.contains("authorization"), "{allowed}");

        let response = app.oneshot(preflight("http://example.com")).await.unwrap();
        assert!(
            !response
                .headers()
                .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        );
    }

    /// A refused request is recorded, and its answer carries CORS headers
    /// too (without them the page would see a network error, not a 401).
    #[tokio::test]
    async fn a_refusal_is_counted_and_readable_by_the_page() {
        let peer = Peer::new();
        let request = axum::http::Request::get("/events?session=a&auth=secret")
            .header(header::ORIGIN, "http://localhost:8000")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = peer.router().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
            "http://localhost:8000"
        );
        let records = peer.records();
        let record = &records.by_session["a"];
        assert_eq!(record.requests, 1);
        assert_eq!(record.open, 0);
    }
}
