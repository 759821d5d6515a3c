//! `fanout`: the fan-out load server, `sse-server` over Joe (or over the
//! Redis provider with `--redis`), with the same options and payload as the
//! perf kit's `peer-axum`, so the same `sse-load` commands measure both.
//!
//! One internal publisher emits `{"t":<unix nanos>,"seq":<n>,"pad":"..."}`
//! at a fixed rate to the default topic. Joe encodes each event once and
//! queues the same frame for every subscriber; a subscriber more than
//! `--capacity` events behind is dropped (its client may resume), never
//! waited on.
//!
//! Endpoints: `GET /events` (SSE), `GET /stats` (JSON: Joe's counters).
//! Bounded: exits after `--max-secs`, or on Ctrl-C, ending every stream
//! cleanly first.
//!
//! Connections get `ConnectionLimits`: a connection whose socket takes no
//! byte for `--write-timeout` seconds is reset, and `--send-buffer` caps
//! its kernel send buffer; `--max-unsent` caps what a response hands hyper
//! unwritten, and `--max-buf` what hyper itself buffers per connection
//! (`--axum` serves with `axum::serve` instead, whose hyper keeps its
//! default, about 400 KiB, as an application mounted the README's way
//! does). `--history N` keeps the last N events with IDs, so that clients
//! can resume with `Last-Event-ID`.
//!
//! `--bare` serves no events: every request gets the SSE response head and
//! a body that never sends anything, on the same hyper set-up. The load
//! client's RSS per connection then measures what a connection costs in
//! hyper and tokio alone, the floor under any server built on them.

use hyper_util::{rt::TokioIo, service::TowerToHyperService};
use sse::redis::{Redis, Retention};
use sse_codec::{Message, Provider, ProviderError, Topic};
use sse_joe::{FiniteReplayer, Joe, Stats};
use sse_server::{Body, ConnectionLimits, LimitedListener, Server};
use std::{
    convert::Infallible,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering::Relaxed},
    },
    task::{Context, Poll},
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tower_service::Service;

const USAGE: &str = "\
fanout: SSE fan-out load server (sse-server + sse-joe)

USAGE: fanout [--port 8082] [--rate 100] [--size 256] [--capacity 1024] [--max-secs 900]
              [--writev true|false] [--write-timeout 30] [--send-buffer 65536]
              [--max-buf 65536] [--max-unsent 32768] [--write-delay MS]
              [--history N] [--axum]
              [--redis URL [--no-publish]] [--bare]

  --port N           listen on 127.0.0.1:N                    [default 8082]
  --rate N           events published per second             [default 100]
  --size N           bytes of the \"pad\" field of each event   [default 256]
  --capacity N       per-subscriber queue capacity (Joe)      [default 1024]
  --max-secs N       exit after N seconds (bounded runs)      [default 900]
  --writev B         hyper's vectored writes (false: copy into one buffer)
                                                              [default true]
  --write-timeout S  close a connection that takes no byte for S seconds
                     (0: never)                               [default 30]
  --send-buffer N    kernel send buffer per connection, bytes
                     (0: the system's)                        [default 65536]
  --max-buf N        bytes hyper buffers per connection before it stops
                     taking body chunks (at least 8192)       [default 65536]
  --max-unsent N     bytes a response hands hyper unwritten before it stops
                     taking events (0: no limit of its own)   [default 32768]
  --write-delay MS   hold a response's ready events up to MS milliseconds
                     for more, to write several per system call
                     (0: none)                                [default 0]
  --history N        keep the last N events, with IDs, for clients that
                     resume with Last-Event-ID (Joe only)     [default 0]
  --axum             serve with axum::serve and its hyper defaults (the
                     README's way) instead of hyper's http1 builder with
                     --writev and --max-buf
  --redis URL        use the Redis provider on the stream fanout:events
                     instead of Joe: run several fanouts on one Redis
  --no-publish       publish nothing: serve what other fanouts publish
  --stamp WHEN       the time \"t\" of an event: when it is published (as
                     peer-axum does), or when it was due, so that a late
                     publisher counts in the latency   [default publish]
  --bare             no events: idle SSE responses on plain hyper, to
                     measure hyper's own memory per connection
";

struct Opts {
    port: u16,
    rate: f64,
    size: usize,
    capacity: usize,
    max_secs: u64,
    writev: bool,
    write_timeout: u64,
    send_buffer: usize,
    max_buf: usize,
    max_unsent: usize,
    write_delay: u64,
    history: usize,
    axum: bool,
    redis: Option<String>,
    publish: bool,
    stamp_due: bool,
    bare: bool,
}

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts {
        port: 8082,
        rate: 100.0,
        size: 256,
        // peer-axum's broadcast capacity, so both servers buffer the same
        // number of events per subscriber before giving up on it.
        capacity: 1024,
        max_secs: 900,
        writev: true,
        write_timeout: 30,
        send_buffer: 64 * 1024,
        max_buf: 64 * 1024,
        max_unsent: sse_server::DEFAULT_MAX_UNSENT,
        write_delay: 0,
        history: 0,
        axum: false,
        redis: None,
        publish: true,
        stamp_due: false,
        bare: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--port" => o.port = val()?.parse().map_err(|_| "bad --port")?,
            "--rate" => o.rate = val()?.parse().map_err(|_| "bad --rate")?,
            "--size" => o.size = val()?.parse().map_err(|_| "bad --size")?,
            "--capacity" => o.capacity = val()?.parse().map_err(|_| "bad --capacity")?,
            "--max-secs" => o.max_secs = val()?.parse().map_err(|_| "bad --max-secs")?,
            "--writev" => o.writev = val()?.parse().map_err(|_| "bad --writev")?,
            "--write-timeout" => {
                o.write_timeout = val()?.parse().map_err(|_| "bad --write-timeout")?;
            }
            "--send-buffer" => o.send_buffer = val()?.parse().map_err(|_| "bad --send-buffer")?,
            "--max-buf" => o.max_buf = val()?.parse().map_err(|_| "bad --max-buf")?,
            "--max-unsent" => o.max_unsent = val()?.parse().map_err(|_| "bad --max-unsent")?,
            "--write-delay" => {
                o.write_delay = val()?.parse().map_err(|_| "bad --write-delay")?;
            }
            "--history" => o.history = val()?.parse().map_err(|_| "bad --history")?,
            "--axum" => o.axum = true,
            "--redis" => o.redis = Some(val()?),
            "--no-publish" => o.publish = false,
            "--stamp" => {
                o.stamp_due = match val()?.as_str() {
                    "publish" => false,
                    "due" => true,
                    _ => return Err("--stamp takes publish or due".into()),
                };
            }
            "--bare" => o.bare = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    if !(o.rate > 0.0 && o.rate <= 1_000_000.0) {
        return Err("--rate must be in (0, 1e6]".into());
    }
    if o.capacity == 0 {
        return Err("--capacity must be > 0".into());
    }
    if o.max_buf < 8192 {
        return Err("--max-buf must be at least 8192".into());
    }
    Ok(o)
}

fn unix_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Publishes event `n` at `start + n / rate`; catches up in bursts if late.
async fn publisher<P: Provider>(
    server: Server<P>,
    published: Arc<AtomicU64>,
    rate: f64,
    size: usize,
    stamp_due: bool,
) {
    let pad = "x".repeat(size);
    let start = tokio::time::Instant::now();
    let mut seq: u64 = 0;
    loop {
        let due = start + Duration::from_secs_f64(seq as f64 / rate);
        tokio::time::sleep_until(due).await;
        let now = tokio::time::Instant::now();
        loop {
            let due = start + Duration::from_secs_f64(seq as f64 / rate);
            if due > now {
                break;
            }
            let stamp = if stamp_due {
                // When it was due, however late the publisher runs.
                let late = now.saturating_duration_since(due);
                unix_nanos().saturating_sub(late.as_nanos())
            } else {
                unix_nanos()
            };
            seq += 1;
            let data = format!("{{\"t\":{},\"seq\":{},\"pad\":\"{}\"}}", stamp, seq, pad);
            let began = std::time::Instant::now();
            if let Err(error) = server
                .publish(Message::new().data(data), &[Topic::DEFAULT])
                .await
            {
                if error.is_shutdown() {
                    eprintln!("fanout: the provider was shut down, publisher stops");
                    return;
                }
                // Redis unreachable for a while: the sequence number goes
                // on, so the load client counts the event as missing.
                count_publish_error(&error);
                continue;
            }
            let took = u32::try_from(began.elapsed().as_micros()).unwrap_or(u32::MAX);
            PUBLISH_MICROS
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(took);
            published.store(seq, Relaxed);
        }
    }
}

/// The next connection, with its limits (and Nagle off). On an error (out
/// of file descriptors, typically, with 10,000 connections) it waits a
/// little rather than spin, and gives `None`.
async fn accept(
    listener: &LimitedListener,
) -> Option<sse_server::LimitedIo<tokio::net::TcpStream>> {
    match listener.accept().await {
        Ok((io, _)) => Some(io),
        Err(err) => {
            eprintln!("fanout: accept: {err}");
            tokio::time::sleep(Duration::from_millis(50)).await;
            None
        }
    }
}

/// How long each publish took since the last log line, in microseconds.
static PUBLISH_MICROS: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

/// The median, 99th percentile and maximum of the publish times since the
/// last call, in milliseconds; empties them.
fn publish_times() -> String {
    let mut micros = std::mem::take(&mut *PUBLISH_MICROS.lock().unwrap_or_else(|e| e.into_inner()));
    if micros.is_empty() {
        return "-".into();
    }
    micros.sort_unstable();
    let at = |q: f64| f64::from(micros[((micros.len() - 1) as f64 * q) as usize]) / 1000.0;
    format!(
        "p50 {:.2} p99 {:.2} max {:.2} ms",
        at(0.5),
        at(0.99),
        at(1.0)
    )
}

/// Publishes that failed, by what the provider said, for the periodic log
/// line.
static PUBLISH_ERRORS: std::sync::Mutex<std::collections::BTreeMap<String, u64>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

fn count_publish_error(error: &dyn std::error::Error) {
    let mut errors = PUBLISH_ERRORS.lock().unwrap_or_else(|e| e.into_inner());
    *errors.entry(error.to_string()).or_default() += 1;
}

/// Why connections ended in error, by cause, for the periodic log line: a
/// write timeout shows as "timed out".
static CONN_ERRORS: std::sync::Mutex<std::collections::BTreeMap<String, u64>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

fn count_error(error: &hyper::Error) {
    let mut cause: &dyn std::error::Error = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    let mut errors = CONN_ERRORS.lock().unwrap_or_else(|e| e.into_inner());
    *errors.entry(cause.to_string()).or_default() += 1;
}

/// A response body that never yields a frame.
struct Idle;

impl http_body::Body for Idle {
    type Data = bytes::Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, Infallible>>> {
        Poll::Pending
    }
}

/// `--bare`: idle SSE responses on the same hyper set-up, no provider.
async fn serve_bare(listener: LimitedListener, http: hyper::server::conn::http1::Builder) {
    let idle = hyper::service::service_fn(|_: http::Request<hyper::body::Incoming>| async {
        http::Response::builder()
            .header(http::header::CONTENT_TYPE, "text/event-stream")
            .header(http::header::CACHE_CONTROL, "no-cache")
            .body(Idle)
    });
    loop {
        let Some(io) = accept(&listener).await else {
            continue;
        };
        let conn = http.serve_connection(TokioIo::new(io), idle);
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}

#[tokio::main]
async fn main() {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("fanout: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let tcp = sse_examples::bind_or_exit("fanout", o.port).await;
    let addr = tcp.local_addr().expect("a bound listener has an address");
    let limits = ConnectionLimits::new()
        .write_timeout((o.write_timeout > 0).then(|| Duration::from_secs(o.write_timeout)))
        .send_buffer((o.send_buffer > 0).then_some(o.send_buffer));
    let listener = limits.listen(tcp);
    println!("fanout: listening on http://{addr}/events");
    eprintln!(
        "fanout: rate={} size={} capacity={} bare={} pid={}",
        o.rate,
        o.size,
        o.capacity,
        o.bare,
        std::process::id()
    );
    let mut http = hyper::server::conn::http1::Builder::new();
    http.writev(o.writev).max_buf_size(o.max_buf);
    if o.bare {
        tokio::select! {
            () = serve_bare(listener, http) => {}
            _ = tokio::time::sleep(Duration::from_secs(o.max_secs)) => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        return;
    }

    match o.redis.clone() {
        None => {
            let mut joe = Joe::builder().capacity(o.capacity);
            if o.history > 0 {
                joe = joe.replayer(FiniteReplayer::new(o.history).auto_ids(true));
            }
            let joe = joe.build();
            let stats = {
                let joe = joe.clone();
                move || joe.stats()
            };
            serve(&o, listener, http, sse_server(&o, joe), stats).await;
        }
        Some(url) => {
            let redis = Redis::builder(url.as_str())
                .key("fanout:events")
                .retention(Retention::Last(10_000))
                .capacity(o.capacity)
                .build()
                .await;
            let redis = match redis {
                Ok(redis) => redis,
                Err(err) => {
                    eprintln!("fanout: cannot use Redis at {url}: {err}");
                    std::process::exit(1);
                }
            };
            let stats = {
                let redis = redis.clone();
                move || redis.stats()
            };
            serve(&o, listener, http, sse_server(&o, redis), stats).await;
        }
    }
}

/// `/stats` here, everything else to the SSE server.
fn app<P: Provider, B: Send + 'static>(
    server: &Server<P>,
    stats: &(impl Fn() -> Stats + Clone + Send + Sync + 'static),
    published: &Arc<AtomicU64>,
) -> impl Service<
    http::Request<B>,
    Response = http::Response<Body>,
    Error = Infallible,
    Future: Send + 'static,
> + Clone
+ Send
+ Sync
+ 'static {
    let (server, stats, published) = (server.clone(), stats.clone(), published.clone());
    tower::service_fn(move |request: http::Request<B>| {
        let mut server = server.clone();
        let stats = (request.uri().path() == "/stats").then(|| {
            let stats = stats();
            format!(
                "{{\"subscribers\":{},\"open\":{},\"receiving\":{},\"lagged\":{},\"queued_bytes\":{},\"published\":{}}}\n",
                stats.subscribers,
                server.open_streams(),
                stats.receiving,
                stats.lagged,
                stats.queued_bytes,
                published.load(Relaxed)
            )
        });
        async move {
            match stats {
                Some(stats) => Ok::<_, Infallible>(http::Response::new(Body::from(stats))),
                None => server.call(request).await,
            }
        }
    })
}

/// The SSE server over `provider`, with `--max-unsent` and `--write-delay`.
fn sse_server<P: Provider>(o: &Opts, provider: P) -> Server<P> {
    Server::builder(provider)
        .max_unsent((o.max_unsent > 0).then_some(o.max_unsent))
        .write_delay(Some(Duration::from_millis(o.write_delay)))
        .build()
}

/// Serves `server`, publishing if asked, until `--max-secs` or Ctrl-C.
async fn serve<P: Provider>(
    o: &Opts,
    listener: LimitedListener,
    http: hyper::server::conn::http1::Builder,
    server: Server<P>,
    stats: impl Fn() -> Stats + Clone + Send + Sync + 'static,
) {
    let published = Arc::new(AtomicU64::new(0));
    if o.publish {
        let publisher = publisher(
            server.clone(),
            published.clone(),
            o.rate,
            o.size,
            o.stamp_due,
        );
        if o.redis.is_none() {
            tokio::spawn(publisher);
        } else {
            // An outside producer, as publishers to a shared stream are:
            // on a thread of its own, so that its publishes are not queued
            // behind the responses of this server's subscribers.
            std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for the publisher")
                    .block_on(publisher);
            });
        }
    }
    {
        let (stats, published, server) = (stats.clone(), published.clone(), server.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                let stats = stats();
                let errors = CONN_ERRORS
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                let failed = PUBLISH_ERRORS
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                eprintln!(
                    "fanout: subscribers={} open={} receiving={} lagged={} queued_bytes={} published={} publish=({}) publish errors={failed:?} connection errors={errors:?}",
                    stats.subscribers,
                    server.open_streams(),
                    stats.receiving,
                    stats.lagged,
                    stats.queued_bytes,
                    published.load(Relaxed),
                    publish_times()
                );
            }
        });
    }

    let accept = async {
        if o.axum {
            let app = axum::Router::new().fallback_service(app(&server, &stats, &published));
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("fanout: {error}");
            }
            return;
        }
        let app = app(&server, &stats, &published);
        loop {
            let Some(io) = accept(&listener).await else {
                continue;
            };
            let conn =
                http.serve_connection(TokioIo::new(io), TowerToHyperService::new(app.clone()));
            tokio::spawn(async move {
                if let Err(error) = conn.await {
                    count_error(&error);
                }
            });
        }
    };
    tokio::select! {
        () = accept => {}
        _ = tokio::time::sleep(Duration::from_secs(o.max_secs)) => {
            eprintln!("fanout: --max-secs reached, exiting");
        }
        _ = tokio::signal::ctrl_c() => {}
    }
    // Every open stream ends cleanly before the process exits.
    server.shutdown();
    tokio::time::sleep(Duration::from_millis(100)).await;
}
