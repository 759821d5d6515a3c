//! The demo application: a live feed and a small chat over one SSE stream,
//! with replay so that a dropped connection or a page reload resumes with
//! the events it missed.
//!
//! Routes:
//!
//! - `GET /`: the page.
//! - `GET /events`: the event stream. Topics `feed` (a `tick` event every
//!   tick interval) and `chat` (`chat` events); `?topics=feed` narrows
//!   them. Resumes from `Last-Event-ID` or `?lastEventId=`; a new client
//!   gets the retained history first. `?session=NAME` names the stream for
//!   `/cut`.
//! - `POST /chat`: `{"name": "...", "text": "..."}` publishes to `chat`:
//!   `204` once published; `503` when it certainly was not (try again);
//!   `504` when Redis did not answer, so it may have been (see the chat
//!   before sending it again); `413` and `408` for a body too large or too
//!   slow.
//! - `POST /cut?session=NAME`: ends that stream from the server, so that
//!   the page reconnects and resumes.
//! - `GET /wasm/`: the feed followed by `sse-client` compiled to
//!   WebAssembly, once `scripts/wasm-example.sh` has built it
//!   ([`Demo::wasm_dir`]).
//! - `GET /stats`: the provider's snapshot (subscribers, published and
//!   delivered events, lagged subscribers, exact and lost replays, what is
//!   queued), the ticks, and the last event IDs that sessions resumed
//!   from, as JSON.

use axum::{
    Json, Router,
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, StatusCode, Uri},
    response::{Html, IntoResponse, Response},
    routing::{get, post},
};
use http_body_util::LengthLimitError;
use serde::{Deserialize, Serialize};
use sse::{EventType, Message, Server, Topic};
use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tower_service::Service;

mod backend;
mod cut;
mod wasm;

pub use backend::{Backend, BackendError, BackendStream};
pub use wasm::DEFAULT_WASM_DIR;

const PAGE: &str = include_str!("index.html");

/// How many events the demo keeps for replay.
pub const HISTORY: usize = 1000;

/// The longest chat message accepted, in characters.
pub const MAX_CHAT_LEN: usize = 500;

/// The largest chat request body read, in bytes: a message of
/// [`MAX_CHAT_LEN`] characters of up to four bytes each (JSON escapes
/// aside), a name, and the JSON around them. A larger one is refused with
/// `413` as soon as it is known to be larger.
pub const MAX_CHAT_BODY: usize = 4 * MAX_CHAT_LEN + 1024;

/// How long a chat request body may take to arrive whole; past it the
/// request is answered `408`. The connection limits time a body on a plain
/// HTTP/1 connection too (their body timeout); this covers every
/// connection, over TLS and HTTP/2 included.
pub const CHAT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The feed topic.
pub const FEED: Topic = Topic::from_static("feed");
/// The chat topic.
pub const CHAT: Topic = Topic::from_static("chat");

/// The demo's state: the SSE server and what `/stats` reports.
#[derive(Clone)]
pub struct Demo {
    server: Server<Backend>,
    /// The name its ticks carry, when several processes share the feed.
    node: Option<Arc<str>>,
    ticks: Arc<AtomicU64>,
    resumes: Arc<Mutex<VecDeque<Option<String>>>>,
    cuts: cut::Cuts,
    /// Where `/wasm/pkg/` serves the built WebAssembly page from.
    wasm_dir: Arc<std::path::Path>,
}

/// The most sessions whose resume ID `/stats` keeps.
pub const RESUMES_KEPT: usize = 100;

/// The most characters of a resume ID `/stats` keeps; a longer one is cut
/// and ends with `…`. So `/stats` stays small whatever IDs clients send.
pub const RESUME_ID_KEPT: usize = 64;

/// What `GET /stats` answers: the provider's snapshot (Joe's, or this
/// process's on Redis), whose `subscribers` is the server's open streams
/// (`Server::open_streams`, those that fell behind and wait for their
/// connection to close included), and the demo's own counts.
#[derive(Debug, Serialize, Deserialize)]
pub struct Stats {
    /// Subscribers, events published and delivered, lagged streams,
    /// resumes, what is queued.
    #[serde(flatten)]
    pub joe: sse::joe::Stats,
    /// Ticks published so far.
    pub ticks: u64,
    /// For the latest sessions (at most [`RESUMES_KEPT`]), the last event
    /// ID each resumed from (at most [`RESUME_ID_KEPT`] characters), `null`
    /// for a fresh session.
    pub resumes: Vec<Option<String>>,
}

/// A chat message, as posted and as sent to the page.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Chat {
    /// Who says it.
    pub name: String,
    /// What they say.
    pub text: String,
    /// When it was published, in milliseconds since 1970 (set by the
    /// server), so that the page can tell a replayed message.
    #[serde(default)]
    pub at: u64,
}

impl Default for Demo {
    fn default() -> Demo {
        Demo::new()
    }
}

impl Demo {
    /// A demo on Joe, whose history holds the last [`HISTORY`] events,
    /// with IDs assigned by the replayer.
    pub fn new() -> Demo {
        Demo::on(Backend::joe(HISTORY))
    }

    /// A demo on `backend`: [`Backend::redis`] to share the feed, the
    /// chat and their history with other demo processes.
    pub fn on(backend: Backend) -> Demo {
        let resumes: Arc<Mutex<VecDeque<Option<String>>>> = Arc::default();
        let seen = resumes.clone();
        let server = Server::builder(backend)
            .last_event_id_query("lastEventId")
            // A new tab sees the recent feed and chat.
            .history_for_new_clients(true)
            .retry(Duration::from_secs(1))
            // A browser cannot read the `sse-resume` header: tell the page
            // in-band when what it missed could not be replayed.
            .lost_history_message(
                Message::new()
                    .event(EventType::from_static("history-lost"))
                    .data("some events could not be replayed"),
            )
            .on_session(move |parts| {
                // As the server reads it: a non-empty header (UTF-8), else
                // the query parameter.
                let resumed_from = parts
                    .headers
                    .get("last-event-id")
                    .filter(|v| !v.is_empty())
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .or_else(|| query_param(parts.uri.query(), "lastEventId"))
                    .map(|id| shorten(&id));
                let mut log = seen.lock().unwrap_or_else(PoisonError::into_inner);
                if log.len() == RESUMES_KEPT {
                    log.pop_front();
                }
                log.push_back(resumed_from);
                let topics = topics(parts.uri.query());
                async move { Ok(topics) }
            })
            .build();
        Demo {
            server,
            node: None,
            ticks: Arc::default(),
            resumes,
            cuts: cut::Cuts::default(),
            wasm_dir: Arc::from(std::path::Path::new(DEFAULT_WASM_DIR)),
        }
    }

    /// Names this process in its ticks (`"node": name`), for when several
    /// demo processes share one feed through Redis.
    #[must_use]
    pub fn named(mut self, name: &str) -> Demo {
        self.node = Some(Arc::from(name));
        self
    }

    /// Serves the WebAssembly page's module and JavaScript (`/wasm/pkg/`)
    /// from `dir` instead of [`DEFAULT_WASM_DIR`].
    #[must_use]
    pub fn wasm_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Demo {
        self.wasm_dir = Arc::from(dir.into());
        self
    }

    /// The SSE server, to publish or shut down.
    pub fn server(&self) -> &Server<Backend> {
        &self.server
    }

    /// The application's routes.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/", get(|| async { Html(PAGE) }))
            .route("/events", get(events).post(events))
            .route("/chat", post(chat))
            .route("/cut", post(cut))
            .route("/stats", get(stats))
            .route("/wasm/", get(wasm::page))
            .route("/wasm/pkg/{file}", get(wasm::file))
            .with_state(self.clone())
    }

    /// Publishes the next tick to the feed and returns its number.
    ///
    /// # Errors
    ///
    /// When the provider was shut down (`Server::shutdown` alone ends the
    /// responses but keeps it running), or Redis cannot be reached.
    pub async fn tick(&self) -> Result<u64, BackendError> {
        let n = self.ticks.fetch_add(1, Ordering::Relaxed) + 1;
        let at = now_millis();
        let data = match &self.node {
            None => format!(r#"{{"n":{n},"at":{at}}}"#),
            Some(node) => serde_json::json!({ "n": n, "at": at, "node": &**node }).to_string(),
        };
        let message = Message::new()
            .event(EventType::from_static("tick"))
            .data(data);
        self.server.publish(message, &[FEED]).await?;
        Ok(n)
    }

    /// Publishes a tick every `interval` until the provider is shut down,
    /// or for ever; the demo binary exits around it. A tick that cannot be
    /// published (Redis is unreachable) is reported and skipped.
    pub async fn run_feed(self, interval: Duration) {
        let mut timer = tokio::time::interval(interval);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        timer.tick().await;
        loop {
            timer.tick().await;
            match self.tick().await {
                Ok(_) => {}
                Err(BackendError::Joe(_)) => return,
                Err(BackendError::Redis(error)) if error.is_shutdown() => return,
                Err(BackendError::Redis(error)) => eprintln!("demo: tick not published: {error}"),
            }
        }
    }

    /// What `/stats` reports.
    pub fn stats(&self) -> Stats {
        let mut joe = self.server.provider().stats();
        joe.subscribers = self.server.open_streams();
        Stats {
            joe,
            ticks: self.ticks.load(Ordering::Relaxed),
            resumes: self
                .resumes
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .cloned()
                .collect(),
        }
    }
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The event stream, through the SSE server, cuttable if it is named.
async fn events(State(demo): State<Demo>, request: Request) -> Response {
    let session = query_param(request.uri().query(), "session");
    let mut server = demo.server.clone();
    let Ok(response) = server.call(request).await;
    response.map(|body| demo.cuts.watch(session, body))
}

async fn cut(State(demo): State<Demo>, uri: Uri) -> StatusCode {
    match query_param(uri.query(), "session") {
        Some(session) if demo.cuts.cut(&session) => StatusCode::NO_CONTENT,
        _ => StatusCode::NOT_FOUND,
    }
}

async fn chat(State(demo): State<Demo>, headers: HeaderMap, body: Body) -> impl IntoResponse {
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let read = tokio::time::timeout(CHAT_BODY_TIMEOUT, axum::body::to_bytes(body, MAX_CHAT_BODY));
    let body = match read.await {
        Ok(Ok(body)) => body,
        Ok(Err(error)) if is_too_large(&error) => {
            return (StatusCode::PAYLOAD_TOO_LARGE, "the message is too large").into_response();
        }
        // The client went away mid-body: nobody reads this answer.
        Ok(Err(_)) => return StatusCode::BAD_REQUEST.into_response(),
        Err(_) => {
            return (
                StatusCode::REQUEST_TIMEOUT,
                "the message took too long to arrive",
            )
                .into_response();
        }
    };
    let chat: Chat = match serde_json::from_slice(&body) {
        Ok(chat) if is_json => chat,
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                "expected JSON {\"name\", \"text\"}",
            )
                .into_response();
        }
    };
    let name: String = chat.name.trim().chars().take(40).collect();
    if chat.text.trim().is_empty() || chat.text.chars().count() > MAX_CHAT_LEN {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            "text must be 1 to 500 characters",
        )
            .into_response();
    }
    let chat = Chat {
        name: if name.is_empty() {
            "guest".into()
        } else {
            name
        },
        text: chat.text,
        at: now_millis(),
    };
    let message = match Message::new()
        .event(EventType::from_static("chat"))
        .json(&chat)
    {
        Ok(message) => message,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    match demo.server.publish(message, &[CHAT]).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        // Redis did not answer: the message may be stored, and delivered
        // to everyone; sending it again could show it twice.
        Err(BackendError::Redis(error)) if error.is_unconfirmed() => (
            StatusCode::GATEWAY_TIMEOUT,
            "no answer from the event store: the message may have been sent, see the chat before sending it again",
        )
            .into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the message was not sent: try again",
        )
            .into_response(),
    }
}

/// Whether reading a body failed because it is over the limit.
fn is_too_large(error: &axum::Error) -> bool {
    std::error::Error::source(error).is_some_and(|cause| cause.is::<LengthLimitError>())
}

async fn stats(State(demo): State<Demo>) -> Json<Stats> {
    Json(demo.stats())
}

/// `id`, cut to [`RESUME_ID_KEPT`] characters.
fn shorten(id: &str) -> String {
    match id.char_indices().nth(RESUME_ID_KEPT) {
        Some((end, _)) => format!("{}…", &id[..end]),
        None => id.to_owned(),
    }
}

/// The topics a session asks for with `?topics=a,b`; both by default.
fn topics(query: Option<&str>) -> Vec<Topic> {
    match query_param(query, "topics") {
        Some(list) => list
            .split(',')
            .filter_map(|name| match name {
                "feed" => Some(FEED),
                "chat" => Some(CHAT),
                _ => None,
            })
            .collect(),
        None => vec![FEED, CHAT],
    }
}

/// The value of `name` in a query string (no percent-decoding: the demo's
/// values are plain).
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_resume_ids_are_cut() {
        assert_eq!(shorten("42"), "42");
        let long = "é".repeat(RESUME_ID_KEPT + 10);
        let cut = shorten(&long);
        assert_eq!(cut.chars().count(), RESUME_ID_KEPT + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn topics_from_query() {
        assert_eq!(topics(None), [FEED, CHAT]);
        assert_eq!(topics(Some("topics=chat")), [CHAT]);
        assert_eq!(topics(Some("x=1&topics=feed,nope")), [FEED]);
    }
}
