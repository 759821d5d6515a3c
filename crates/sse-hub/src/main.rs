//! `sse-hub`: a Mercure hub, in memory or on Redis. `sse-hub --help` lists
//! the options, each also read from the environment variable it names.

use clap::Parser;
use jsonwebtoken::{EncodingKey, Header, encode};
use sse_hub::{
    FormLimits, Hub, HubConfig, RedisPresence,
    auth::{self, Keys},
};
use sse_joe::{FiniteReplayer, Joe, ValidReplayer};
use sse_redis::{Redis, Retention};
use sse_server::{ConnectionLimits, LimitedIo, tls};
use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};
use tokio::net::TcpStream;

/// How long a graceful shutdown waits, after Ctrl-C or SIGTERM, for open
/// connections to close and for the end of their subscriptions to be
/// published.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// How many updates of a topic a subscriber may have left unread before it
/// is disconnected, to resume from the history when it reconnects: 1,024
/// (Joe's default is 256), a second or so of a busy topic, so that a
/// subscriber a scheduler kept waiting is not cut for it. A topic's log
/// holds at most this many updates that some subscriber has not read (and
/// at most Joe's 4 MiB), shared by all its subscribers.
const LAG_LIMIT: usize = 1024;

/// A Mercure hub (draft-dunglas-mercure-07): publishers POST updates with a
/// JWT, subscribers follow topic selectors over Server-Sent Events at
/// /.well-known/mercure. In memory by default, keeping the last 10,000
/// updates; with --redis, any number of hub processes share updates and
/// history. Without a key, a development mode makes one and prints tokens.
#[derive(Debug, Parser)]
#[command(name = "sse-hub", version)]
struct Options {
    /// The address to listen on.
    #[arg(long, env = "SSE_HUB_ADDR", default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// The key publishers' tokens are verified with: the secret for HS*,
    /// a PEM public key for RS*, PS*, ES*, EdDSA.
    #[arg(long, env = "MERCURE_PUBLISHER_JWT_KEY", hide_env_values = true)]
    publisher_jwt_key: Option<String>,
    /// The publishers' tokens' algorithm: HS256 (the default), HS384,
    /// HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or
    /// EdDSA.
    #[arg(long, env = "MERCURE_PUBLISHER_JWT_ALG")]
    publisher_jwt_alg: Option<String>,
    /// The key subscribers' tokens are verified with (the publishers' key
    /// if unset).
    #[arg(long, env = "MERCURE_SUBSCRIBER_JWT_KEY", hide_env_values = true)]
    subscriber_jwt_key: Option<String>,
    /// The subscribers' tokens' algorithm, with their key (HS256 unless
    /// set); without a key of their own, the publishers' key and algorithm
    /// verify them.
    #[arg(long, env = "MERCURE_SUBSCRIBER_JWT_ALG")]
    subscriber_jwt_alg: Option<String>,
    /// Serve subscribers without a token (public updates only).
    #[arg(long, env = "SSE_HUB_ANONYMOUS")]
    anonymous: bool,
    /// An origin whose pages may subscribe and publish with credentials
    /// (CORS), e.g. https://example.com; repeat, or separate with commas.
    #[arg(
        long = "cors-origin",
        env = "SSE_HUB_CORS_ORIGINS",
        value_delimiter = ','
    )]
    cors_origins: Vec<String>,
    /// An origin a cookie-authorized publish may come from besides the
    /// hub's own (CSRF); repeat, or separate with commas.
    #[arg(
        long = "publish-origin",
        env = "SSE_HUB_PUBLISH_ORIGINS",
        value_delimiter = ','
    )]
    publish_origins: Vec<String>,
    /// The cookie a browser's token comes in.
    #[arg(long, env = "SSE_HUB_COOKIE_NAME", default_value = auth::DEFAULT_COOKIE_NAME)]
    cookie_name: String,
    /// How many updates the history keeps, for subscribers that resume.
    #[arg(long, env = "SSE_HUB_HISTORY", default_value_t = 10_000)]
    history: usize,
    /// Keep only the updates younger than this many seconds in the history,
    /// and of those at most --history.
    #[arg(long, env = "SSE_HUB_HISTORY_TTL")]
    history_ttl: Option<u64>,
    /// Share updates and history through this Redis (7.0 or later), e.g.
    /// redis://127.0.0.1:6379, with every hub process on the same key.
    #[arg(long, env = "SSE_HUB_REDIS_URL")]
    redis: Option<String>,
    /// The Redis stream's key.
    #[arg(long, env = "SSE_HUB_REDIS_KEY", default_value = "sse-hub")]
    redis_key: String,
    /// A PEM certificate chain: serve HTTPS (HTTP/2 and HTTP/1.1).
    #[arg(long, env = "SSE_HUB_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's PEM private key.
    #[arg(long, env = "SSE_HUB_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The largest publish body, in bytes.
    #[arg(long, env = "SSE_HUB_MAX_BODY", default_value_t = sse_hub::DEFAULT_MAX_BODY)]
    max_body: usize,
    /// The longest field of a publish, in bytes, but `data` (whose bound
    /// is the body's): each topic, `id`, `type`, `retry`.
    #[arg(long, env = "SSE_HUB_MAX_FIELD", default_value_t = sse_hub::DEFAULT_MAX_FIELD)]
    max_field: usize,
    /// The most topics an update may have.
    #[arg(long, env = "SSE_HUB_MAX_TOPICS", default_value_t = 1000)]
    max_topics: usize,
    /// The most topic selectors a subscription may have.
    #[arg(long, env = "SSE_HUB_MAX_SELECTORS", default_value_t = sse_hub::DEFAULT_MAX_SELECTORS)]
    max_selectors: usize,
    /// The most heap bytes a subscription's URI templates may hold compiled
    /// (each its program and a thread's matching state at its bound); a
    /// subscription over it is refused with 400.
    #[arg(long, env = "SSE_HUB_MAX_TEMPLATE_BYTES", default_value_t = sse_hub::DEFAULT_MAX_TEMPLATE_BYTES)]
    max_template_bytes: usize,
    /// Hold a subscriber's ready updates up to this many milliseconds for
    /// more, so that a busy stream writes several per system call (each
    /// update then arrives up to this much later); 0 for none.
    #[arg(long, env = "SSE_HUB_WRITE_DELAY", default_value_t = 0)]
    write_delay: u64,
    /// Track active subscriptions: a private update on
    /// /.well-known/mercure/subscriptions/{topic}/{subscriber} when each
    /// starts and ends, and the API at /.well-known/mercure/subscriptions
    /// (with --redis, of every hub process on the key). Off by default, as
    /// in the reference hub: each subscriber then costs a publish per
    /// selector when it comes and when it goes, each kept in the history
    /// where it takes an update's place (a subscriber of 1,000 selectors
    /// takes 2,000).
    #[arg(long, env = "SSE_HUB_SUBSCRIPTIONS")]
    subscriptions: bool,
    /// With --redis and --subscriptions: how many seconds the subscriptions
    /// of a hub process that stopped stay listed, before another process
    /// announces their end.
    #[arg(long, env = "SSE_HUB_SUBSCRIPTIONS_TTL", default_value_t = sse_hub::DEFAULT_PRESENCE_TTL.as_secs())]
    subscriptions_ttl: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let options = Options::parse();
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sse-hub: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> Result<(), Box<dyn std::error::Error>> {
    // Installed first: Joe takes its counters from it when it is built.
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
    let render = move || metrics.render();
    let tcp = tokio::net::TcpListener::bind(options.addr).await?;
    let scheme = if options.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    let url = format!("{scheme}://{}/.well-known/mercure", tcp.local_addr()?);
    let keys = keys(&options, &url)?;
    let mut config = HubConfig::default();
    config.anonymous = options.anonymous;
    config.cookie_name = options.cookie_name.clone();
    config.cors_origins = options.cors_origins.clone();
    config.publish_origins = options.publish_origins.clone();
    config.max_body = options.max_body;
    config.form = FormLimits {
        max_topics: options.max_topics,
        max_field: options.max_field,
    };
    config.max_selectors = options.max_selectors;
    config.max_template_bytes = options.max_template_bytes;
    config.write_delay = Duration::from_millis(options.write_delay);
    config.subscriptions = options.subscriptions;
    match &options.redis {
        Some(redis_url) => {
            let retention = match options.history_ttl {
                Some(seconds) => Retention::YoungerAtMost {
                    age: Duration::from_secs(seconds),
                    max: options.history as u64,
                },
                None => Retention::Last(options.history as u64),
            };
            let redis = Redis::builder(redis_url.as_str())
                .key(options.redis_key.clone())
                .retention(retention)
                .build()
                .await?;
            tracing::info!(url = %redis_url, key = options.redis_key, "updates and history on Redis");
            // Its fan-out is counted by the Joe inside it (`sse_joe_*`);
            // its resumes and its link to Redis, read at each scrape.
            let render = {
                let redis = redis.clone();
                move || {
                    let stats = redis.stats();
                    metrics::counter!("sse_redis_replays_total", "resume" => "exact")
                        .absolute(stats.replays_exact);
                    metrics::counter!("sse_redis_replays_total", "resume" => "lost")
                        .absolute(stats.replays_lost);
                    metrics::gauge!("sse_redis_reading").set(if redis.is_reading() {
                        1.0
                    } else {
                        0.0
                    });
                    render()
                }
            };
            let hub = if options.subscriptions {
                let presence = RedisPresence::builder(redis_url.as_str())
                    .key(format!("{}:subscriptions", options.redis_key))
                    .ttl(Duration::from_secs(options.subscriptions_ttl.max(1)))
                    .build()
                    .await?;
                Hub::with_presence(redis, keys, config, presence)?
            } else {
                Hub::new(redis, keys, config)?
            };
            serve(hub, tcp, &url, render, &options).await
        }
        None => {
            let joe = match options.history_ttl {
                Some(seconds) => Joe::builder()
                    .capacity(LAG_LIMIT)
                    .replayer(
                        ValidReplayer::new(Duration::from_secs(seconds)).max_len(options.history),
                    )
                    .build(),
                None => Joe::builder()
                    .capacity(LAG_LIMIT)
                    .replayer(FiniteReplayer::new(options.history))
                    .build(),
            };
            tracing::info!(history = options.history, "updates and history in memory");
            serve(Hub::new(joe, keys, config)?, tcp, &url, render, &options).await
        }
    }
}

/// The keys from the options, or a development key, made now and said so.
fn keys(options: &Options, url: &str) -> Result<Keys, Box<dyn std::error::Error>> {
    // An algorithm set without its key is an error there, not the
    // development mode.
    let lookup = |name: &str| match name {
        auth::PUBLISHER_KEY_VAR => options.publisher_jwt_key.clone(),
        auth::PUBLISHER_ALG_VAR => options.publisher_jwt_alg.clone(),
        auth::SUBSCRIBER_KEY_VAR => options.subscriber_jwt_key.clone(),
        auth::SUBSCRIBER_ALG_VAR => options.subscriber_jwt_alg.clone(),
        _ => None,
    };
    if let Some(keys) = Keys::from_lookup(lookup)? {
        return Ok(keys);
    }
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let key = || auth::Key::new(auth::Algorithm::Hs256, &secret);
    let keys = Keys::new(key()?, key()?);
    let token = |claim: serde_json::Value| {
        encode(
            &Header::default(),
            &serde_json::json!({ "mercure": claim }),
            &EncodingKey::from_secret(secret.as_bytes()),
        )
    };
    let publisher = token(serde_json::json!({ "publish": ["*"] }))?;
    let subscriber = token(serde_json::json!({ "subscribe": ["*"] }))?;
    println!(
        "DEVELOPMENT MODE: no key is set ({} and {}), so this run made one,\n\
         which the next run will not know. Tokens for every topic (private updates too):\n\n\
         publisher token:  {publisher}\n\
         subscriber token: {subscriber}\n\n\
         Subscribe: curl -N -H 'Authorization: Bearer {subscriber}' '{url}?topic=*'\n\
         Publish:   curl -H 'Authorization: Bearer {publisher}' -d topic=/hello -d data=world {url}\n",
        auth::PUBLISHER_KEY_VAR,
        auth::SUBSCRIBER_KEY_VAR,
    );
    tracing::warn!(
        "development mode: a key made for this run; set {}",
        auth::PUBLISHER_KEY_VAR
    );
    Ok(keys)
}

/// Serves `hub` until Ctrl-C or SIGTERM, then ends its streams and waits at
/// most [`SHUTDOWN_DEADLINE`] for the connections and the subscription
/// events they owe.
async fn serve<P: sse_codec::Provider>(
    hub: Hub<P>,
    tcp: tokio::net::TcpListener,
    url: &str,
    metrics: impl Fn() -> String + Clone + Send + Sync + 'static,
    options: &Options,
) -> Result<(), Box<dyn std::error::Error>> {
    let listener = ConnectionLimits::new().listen(tcp);
    let app = hub.router().merge(hub.metrics_route(metrics));
    match (&options.tls_cert, &options.tls_key) {
        (Some(cert), Some(key)) => {
            let config = tls::config(cert, key)?;
            println!("listening on {url}");
            let listener = tls::TlsListener::new(listener, config)?;
            until_stopped(listener, app, &hub).await;
        }
        _ => {
            println!("listening on {url}");
            until_stopped(listener, app, &hub).await;
        }
    }
    Ok(())
}

/// How long a shutdown whose connections took the whole deadline still
/// waits for the subscription events of the streams that did end.
const ANNOUNCE_GRACE: Duration = Duration::from_secs(1);

/// The most bytes hyper buffers per HTTP/1 connection (hyper's own default
/// is about 400 KiB): a request head or a chunk of a publish body fits, and
/// an idle subscriber's connection stays small.
const MAX_BUF: usize = 64 * 1024;

/// The most streams an HTTP/2 connection may have open at once (hyper's
/// default is 200): a page's event streams and its publishes share one.
const MAX_STREAMS: u32 = 128;

/// How a connection says which HTTP it speaks: ALPN over TLS; in the
/// clear, the HTTP/2 preface a client that starts with HTTP/2 sends first
/// (h2c, "prior knowledge"). Chosen per connection, so that an HTTP/1.1
/// connection is served by HTTP/1 alone: hyper-util's version-detecting
/// server costs about 8 KiB more per idle connection.
trait Protocol {
    /// Whether the connection speaks HTTP/2.
    fn is_http2(&self) -> impl Future<Output = bool> + Send;
}

/// The start of the HTTP/2 connection preface (RFC 9113, 3.4).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n";

impl Protocol for LimitedIo<TcpStream> {
    async fn is_http2(&self) -> bool {
        // Peeked, not read: the bytes stay for the server that takes the
        // connection. Bounded: a client that sends nothing is HTTP/1's
        // (whose head timeout then closes it).
        let peek = async {
            let mut buf = [0; PREFACE.len()];
            loop {
                match self.get_ref().peek(&mut buf).await {
                    Ok(n) if n >= PREFACE.len() || !PREFACE.starts_with(&buf[..n]) || n == 0 => {
                        return buf[..n] == *PREFACE;
                    }
                    // A part of the preface: peeking again returns at once
                    // (the bytes are there), so wait between looks; a client
                    // that stops halfway costs 20 looks a second until the
                    // bound below.
                    Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    Err(_) => return false,
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(10), peek)
            .await
            .unwrap_or(false)
    }
}

impl Protocol for tls::TlsStream<LimitedIo<TcpStream>> {
    async fn is_http2(&self) -> bool {
        self.get_ref().1.alpn_protocol() == Some(b"h2")
    }
}

/// Resolves at Ctrl-C (SIGINT) or, on Unix, SIGTERM, which container
/// runtimes and service managers send to stop a process.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Serves `app` on `listener` (HTTP/1.1 and HTTP/2, each connection in a
/// task of its own) until Ctrl-C or SIGTERM; then ends the event streams
/// and gives the connections, and after them the subscription events they
/// owe, [`SHUTDOWN_DEADLINE`] in all (the events [`ANNOUNCE_GRACE`] more
/// when the connections took it all).
async fn until_stopped<L, P: sse_codec::Provider>(mut listener: L, app: axum::Router, hub: &Hub<P>)
where
    L: axum::serve::Listener,
    L::Io: Protocol + Sync,
{
    use hyper::server::conn::{http1, http2};
    use hyper_util::{
        rt::{TokioExecutor, TokioIo},
        server::graceful::GracefulShutdown,
        service::TowerToHyperService,
    };
    let mut h1 = http1::Builder::new();
    h1.max_buf_size(MAX_BUF).writev(true);
    let mut h2 = http2::Builder::new(TokioExecutor::new());
    // Each stream may hold a subscription's state: a bound per connection.
    h2.max_concurrent_streams(MAX_STREAMS);
    let graceful = GracefulShutdown::new();
    let mut stopped = std::pin::pin!(stop_signal());
    loop {
        tokio::select! {
            (io, _) = listener.accept() => {
                let service = TowerToHyperService::new(app.clone());
                let (h1, h2, graceful) = (h1.clone(), h2.clone(), graceful.watcher());
                tokio::spawn(async move {
                    // Each connection boxed: the task's future is as large
                    // as its largest state, and an HTTP/2 connection's is
                    // larger than an HTTP/1 one's.
                    let ended = if io.is_http2().await {
                        let conn = h2.serve_connection(TokioIo::new(io), service);
                        Box::pin(graceful.watch(conn)).await
                    } else {
                        let conn = h1.serve_connection(TokioIo::new(io), service);
                        Box::pin(graceful.watch(conn)).await
                    };
                    if let Err(error) = ended {
                        tracing::debug!(error = &error as &dyn std::error::Error, "connection ended");
                    }
                });
            }
            () = &mut stopped => break,
        }
    }
    tracing::info!("stopping: ending the streams");
    hub.shutdown();
    let deadline = tokio::time::Instant::now() + SHUTDOWN_DEADLINE;
    if tokio::time::timeout_at(deadline, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not close in time: cut");
    }
    // What the closed streams owe is published even when other connections
    // had to be cut: for a second past the deadline at most.
    let announce_by = deadline.max(tokio::time::Instant::now() + ANNOUNCE_GRACE);
    if tokio::time::timeout_at(announce_by, hub.announced())
        .await
        .is_err()
    {
        tracing::warn!(
            left = hub.announcing(),
            "the end of some subscriptions was not published in time"
        );
    }
}
