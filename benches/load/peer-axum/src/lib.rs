//! `peer-axum`: the fan-out server a Rust user writes today, the peer of the
//! README's fan-out figures.
//!
//! axum 0.8's [`Sse`] over a [`tokio::sync::broadcast`] channel. One
//! publisher task sends `{"t":<unix ns>,"seq":<n>,"pad":"..."}` at a fixed
//! rate (the payload `sse-load` measures); every `GET /events` subscribes a
//! receiver, and a receiver that falls more than the channel's capacity
//! behind skips what it lost (`RecvError::Lagged`) and goes on, as the usual
//! `BroadcastStream` code does. The publisher never waits for a subscriber.
//!
//! With a history ([`Config::history`] > 0) every event also carries its
//! sequence number as its `id`, and a request with `Last-Event-ID` first gets
//! the retained events after that ID: the server `sse-load --resume` checks
//! against. Without one (the default, and the README's runs) the events have
//! no `id` line.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use futures_util::stream::{self, StreamExt};
use tokio::sync::broadcast;

/// What the server publishes and keeps.
#[derive(Clone, Debug)]
pub struct Config {
    /// Events published per second.
    pub rate: f64,
    /// Bytes of each event's `pad` field.
    pub size: usize,
    /// The broadcast channel's capacity: how far a receiver may fall behind
    /// before it skips events.
    pub capacity: usize,
    /// Events kept for `Last-Event-ID` (0: none, and events carry no `id`).
    pub history: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rate: 100.0,
            size: 256,
            capacity: 1024,
            history: 0,
        }
    }
}

/// One published event: its sequence number and its data.
#[derive(Clone, Debug)]
struct Published {
    seq: u64,
    data: String,
}

/// The state the handlers and the publisher share.
#[derive(Clone)]
pub struct App {
    tx: broadcast::Sender<Published>,
    /// The retained events, oldest first; publishing holds its lock while it
    /// sends, so that a subscriber that takes it sees each event once.
    history: Arc<Mutex<VecDeque<Published>>>,
    history_len: usize,
    published: Arc<AtomicU64>,
    lagged: Arc<AtomicU64>,
}

impl App {
    /// A server state for `config`; nothing is published until
    /// [`App::publisher`] runs.
    pub fn new(config: &Config) -> Self {
        let (tx, _) = broadcast::channel(config.capacity.max(1));
        App {
            tx,
            history: Arc::new(Mutex::new(VecDeque::with_capacity(config.history))),
            history_len: config.history,
            published: Arc::new(AtomicU64::new(0)),
            lagged: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The router: `GET /events` (SSE) and `GET /stats` (JSON counters).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/events", get(events))
            .route("/stats", get(stats))
            .with_state(self.clone())
    }

    /// The receivers subscribed now.
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }

    /// The events published so far (the last sequence number).
    pub fn published(&self) -> u64 {
        self.published.load(Relaxed)
    }

    /// The events receivers skipped because they fell behind.
    pub fn lagged(&self) -> u64 {
        self.lagged.load(Relaxed)
    }

    /// Publishes event `n` (from 1) at `n / rate` seconds after its start,
    /// in a burst when it wakes late; runs until dropped.
    pub async fn publisher(self, rate: f64, size: usize) {
        let pad = "x".repeat(size);
        let period = Duration::from_secs_f64(1.0 / rate);
        let start = tokio::time::Instant::now();
        let mut seq: u64 = 0;
        loop {
            tokio::time::sleep_until(start + period.mul_f64(seq as f64)).await;
            let now = tokio::time::Instant::now();
            while start + period.mul_f64(seq as f64) <= now {
                seq += 1;
                let data = format!(r#"{{"t":{},"seq":{seq},"pad":"{pad}"}}"#, unix_nanos());
                self.publish(Published { seq, data });
            }
        }
    }

    fn publish(&self, event: Published) {
        let seq = event.seq;
        if self.history_len == 0 {
            // Err only means that no one is subscribed.
            let _ = self.tx.send(event);
        } else {
            let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
            if history.len() == self.history_len {
                history.pop_front();
            }
            history.push_back(event.clone());
            let _ = self.tx.send(event);
        }
        self.published.store(seq, Relaxed);
    }
}

fn unix_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

async fn events(
    State(app): State<App>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let with_ids = app.history_len > 0;
    let (rx, replay) = if with_ids {
        let last = headers
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        // Subscribing under the history's lock: what the receiver gets
        // starts right after what the history holds.
        let history = app.history.lock().unwrap_or_else(|e| e.into_inner());
        let rx = app.tx.subscribe();
        let replay: Vec<Published> = match last {
            Some(last) => history.iter().filter(|e| e.seq > last).cloned().collect(),
            None => Vec::new(),
        };
        (rx, replay)
    } else {
        (app.tx.subscribe(), Vec::new())
    };
    let lagged = app.lagged.clone();
    let live = stream::unfold(rx, move |mut rx| {
        let lagged = lagged.clone();
        async move {
            loop {
                match rx.recv().await {
                    Ok(event) => return Some((event, rx)),
                    // It fell behind by `n` events: they are gone for it.
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        lagged.fetch_add(n, Relaxed);
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }
    });
    let stream = stream::iter(replay).chain(live).map(move |e| {
        let event = Event::default().data(e.data);
        Ok(if with_ids {
            event.id(e.seq.to_string())
        } else {
            event
        })
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn stats(State(app): State<App>) -> String {
    format!(
        "{{\"subscribers\":{},\"published\":{},\"lagged_events\":{}}}\n",
        app.subscribers(),
        app.published(),
        app.lagged()
    )
}

/// Serves `config` on `listener` with its publisher until the listener fails
/// (the caller bounds it, as `peer-axum --max-secs` does).
pub async fn serve(listener: tokio::net::TcpListener, config: Config) -> std::io::Result<()> {
    let app = App::new(&config);
    let publisher = tokio::spawn(app.clone().publisher(config.rate, config.size));
    let served = axum::serve(listener, app.router()).await;
    publisher.abort();
    served
}
