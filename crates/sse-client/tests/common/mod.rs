//! A real HTTP server on 127.0.0.1, scripted per request to behave or
//! misbehave.

#![allow(dead_code, unreachable_pub)]

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::Response,
};
use futures_util::{StreamExt, stream};
use std::net::SocketAddr;
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio::{
    net::{TcpListener, TcpStream},
    time::Instant,
};
use tokio_rustls::{
    TlsAcceptor,
    rustls::{
        ServerConfig,
        pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
    },
};

/// What the server saw of one request.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: Method,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

impl Seen {
    pub fn last_event_id(&self) -> Option<&str> {
        self.headers
            .get("last-event-id")
            .map(|value| std::str::from_utf8(value.as_bytes()).unwrap())
    }
}

/// How a streamed body ends after its chunks.
#[derive(Clone, Copy, Debug)]
pub enum End {
    /// The body ends cleanly.
    Close,
    /// The connection is cut: the body never ends properly.
    Abort,
    /// The body stays open with nothing more to send.
    Hang,
}

/// One scripted answer.
#[derive(Clone)]
pub enum Reply {
    /// 200 `text/event-stream` with these chunks, then `End`.
    Stream(Vec<String>, End),
    /// Any status, headers and body.
    Status(StatusCode, Vec<(&'static str, &'static str)>, &'static str),
    /// 200 `text/event-stream`, each chunk sent after its pause, then a
    /// clean end.
    Paced(Vec<(Duration, String)>),
    /// Never answer at all.
    NoHeaders,
}

pub fn stream(chunks: &[&str], end: End) -> Reply {
    Reply::Stream(chunks.iter().map(|s| (*s).to_owned()).collect(), end)
}

pub fn status(code: u16) -> Reply {
    reply(code, &[], "")
}

/// Any status, with these headers and body.
pub fn reply(code: u16, headers: &[(&'static str, &'static str)], body: &'static str) -> Reply {
    Reply::Status(StatusCode::from_u16(code).unwrap(), headers.to_vec(), body)
}

type Script = dyn Fn(usize, &Seen) -> Reply + Send + Sync;

#[derive(Clone)]
struct Shared {
    script: Arc<Script>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

pub struct Server {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    /// Starts a server whose answer to the `n`th request (from 0) is
    /// `script(n, request)`.
    pub async fn start(script: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        Server::serve(listener, format!("http://{addr}/events"), script)
    }

    /// [`start`](Server::start) over TLS with `tls`, HTTP/2 or HTTP/1.1
    /// as ALPN decides.
    pub async fn start_tls(
        tls: Arc<ServerConfig>,
        script: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static,
    ) -> Server {
        let listener = TlsListener {
            tcp: TcpListener::bind("127.0.0.1:0").await.unwrap(),
            acceptor: TlsAcceptor::from(tls),
        };
        let addr = listener.tcp.local_addr().unwrap();
        Server::serve(listener, format!("https://{addr}/events"), script)
    }

    fn serve<L>(
        listener: L,
        url: String,
        script: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static,
    ) -> Server
    where
        L: axum::serve::Listener,
        L::Addr: std::fmt::Debug,
    {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            script: Arc::new(script),
            seen: seen.clone(),
        };
        let app = Router::new().fallback(handle).with_state(shared);
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Server { url, seen }
    }

    /// Starts a server that answers the `n`th request (from 0) with
    /// `replies[n]`, and the ones after with 204 No Content, which ends a
    /// connection for good.
    pub async fn replies<const N: usize>(replies: [Reply; N]) -> Server {
        Server::start(move |n, _| replies.get(n).cloned().unwrap_or_else(|| status(204))).await
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The `Last-Event-ID` of each request so far.
    pub fn last_event_ids(&self) -> Vec<Option<String>> {
        self.seen()
            .iter()
            .map(|s| s.last_event_id().map(str::to_owned))
            .collect()
    }
}

/// TLS over TCP for `axum::serve`; a connection whose handshake fails
/// (the client refused the certificate) is dropped.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, SocketAddr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// A self-signed certificate for 127.0.0.1, made now, and a server
/// configuration with it that offers HTTP/2 and HTTP/1.1. With `ca`, the
/// certificate is a CA's (basicConstraints CA:TRUE), as `openssl req
/// -x509` makes by default, which is no server's certificate.
pub fn certificate(ca: bool) -> (reqwest::Certificate, Arc<ServerConfig>) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    if ca {
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    }
    let cert = params.self_signed(&key).unwrap();
    let der = CertificateDer::from(cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .unwrap();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let trusted = reqwest::Certificate::from_der(&der).unwrap();
    (trusted, Arc::new(config))
}

async fn handle(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let seen = Seen {
        method: parts.method,
        headers: parts.headers,
        body,
        at: Instant::now(),
    };
    let n = {
        let mut all = shared.seen.lock().unwrap();
        all.push(seen.clone());
        all.len() - 1
    };
    match (shared.script)(n, &seen) {
        Reply::Stream(chunks, end) => {
            let chunks = stream::iter(
                chunks
                    .into_iter()
                    .map(|c| Ok::<_, std::io::Error>(Bytes::from(c))),
            );
            let body = match end {
                End::Close => Body::from_stream(chunks),
                End::Abort => Body::from_stream(chunks.chain(stream::once(async {
                    // Let the chunks reach the client before the cut.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Err(std::io::Error::other("scripted abort"))
                }))),
                End::Hang => Body::from_stream(chunks.chain(stream::pending())),
            };
            Response::builder()
                .header(header::CONTENT_TYPE, "text/event-stream")
                .body(body)
                .unwrap()
        }
        Reply::Status(status, headers, body) => {
            let mut response = Response::builder().status(status);
            for (name, value) in headers {
                response = response.header(name, HeaderValue::from_static(value));
            }
            response.body(Body::from(body)).unwrap()
        }
        Reply::Paced(chunks) => {
            let chunks = stream::iter(chunks).then(|(pause, chunk)| async move {
                tokio::time::sleep(pause).await;
                Ok::<_, std::io::Error>(Bytes::from(chunk))
            });
            Response::builder()
                .header(header::CONTENT_TYPE, "text/event-stream")
                .body(Body::from_stream(chunks))
                .unwrap()
        }
        Reply::NoHeaders => std::future::pending().await,
    }
}

/// A generous bound on a whole test, so that a bug shows as a failure,
/// not a hang.
pub async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .expect("test took too long")
}

/// One update of a connection, as a short line to compare.
pub fn describe(update: Result<sse_client::Update, sse_client::Error>) -> String {
    use sse_client::Update;
    match update {
        Ok(Update::Open(open)) => format!("open {}", open.status().as_u16()),
        Ok(Update::Event(event)) => format!(
            "event {} {:?} id={}",
            event.event_type(),
            event.data(),
            event.last_event_id().as_str()
        ),
        Ok(Update::Comment(text)) => format!("comment {text:?}"),
        Ok(Update::Retrying(retrying)) => match retrying.error() {
            Some(err) => {
                // What the connection retries cannot be permanent.
                assert!(!err.is_permanent(), "retrying after {err:?}");
                format!("retrying after {}", kind(err))
            }
            None => "retrying after end".to_owned(),
        },
        Ok(Update::Closed) => "closed".to_owned(),
        Ok(Update::Skipped(skipped)) => format!("skipped over {}", skipped.limit()),
        Ok(other) => format!("{other:?}"),
        Err(err) => format!("error {}", kind(&err)),
    }
}

/// The kind of an error, in a word or two.
pub fn kind(err: &sse_client::Error) -> String {
    if err.is_status() {
        format!("status {}", err.status().unwrap().as_u16())
    } else if err.is_content_type() {
        "content-type".to_owned()
    } else if err.is_transport() {
        "transport".to_owned()
    } else if err.is_timeout() {
        "timeout".to_owned()
    } else if err.is_retries_exhausted() {
        let source = std::error::Error::source(err)
            .and_then(|source| source.downcast_ref::<sse_client::Error>());
        match source {
            Some(last) => format!("exhausted ({})", kind(last)),
            None => "exhausted".to_owned(),
        }
    } else if err.is_body_not_reusable() {
        "body-not-reusable".to_owned()
    } else if err.is_redirect() {
        "redirect".to_owned()
    } else if err.is_content_encoding() {
        "content-encoding".to_owned()
    } else if err.is_last_event_id() {
        "last-event-id".to_owned()
    } else if err.is_certificate() {
        "certificate".to_owned()
    } else if err.is_truncated() {
        "truncated".to_owned()
    } else if err.is_builder() {
        "builder".to_owned()
    } else {
        format!("{err:?}")
    }
}

/// The next update of a connection, described.
pub async fn next(connection: &mut sse_client::Connection) -> String {
    describe(within(connection.next()).await.unwrap())
}

/// The reconnection an update announces; panics on any other.
pub fn expect_retrying(
    update: Option<Result<sse_client::Update, sse_client::Error>>,
) -> sse_client::Retrying {
    match update {
        Some(Ok(sse_client::Update::Retrying(retrying))) => retrying,
        other => panic!("expected a retry, got {other:?}"),
    }
}

/// The opening an update announces; panics on any other.
pub fn expect_open(
    update: Option<Result<sse_client::Update, sse_client::Error>>,
) -> sse_client::Open {
    match update {
        Some(Ok(sse_client::Update::Open(open))) => open,
        other => panic!("expected an open, got {other:?}"),
    }
}

/// Every update of a connection to its end, described, but the error that
/// ended it, which comes apart.
pub async fn updates_and_error(
    connection: &mut sse_client::Connection,
) -> (Vec<String>, Option<sse_client::Error>) {
    within(async {
        let mut updates = Vec::new();
        let mut last = None;
        while let Some(update) = connection.next().await {
            match update {
                Err(err) => last = Some(err),
                ok => updates.push(describe(ok)),
            }
        }
        (updates, last)
    })
    .await
}

/// Every update of a stream, described, to its end.
pub async fn collect<S>(mut updates: S) -> Vec<String>
where
    S: futures_util::Stream<Item = Result<sse_client::Update, sse_client::Error>> + Unpin,
{
    within(async {
        let mut out = Vec::new();
        while let Some(update) = updates.next().await {
            out.push(describe(update));
        }
        out
    })
    .await
}

/// A client that reconnects quickly and predictably, and counts any
/// stream that opened as one that stayed up.
pub fn fast() -> sse_client::ClientBuilder {
    sse_client::Client::builder()
        .initial_interval(Duration::from_millis(10))
        .jitter(0.0)
        .stable_after(Duration::ZERO)
}

/// A client whose reconnection delay starts at `initial` and grows by
/// `multiplier` on each failure, without jitter, so that delays can be
/// checked to the millisecond.
pub fn exact_backoff(initial: Duration, multiplier: f64) -> sse_client::ClientBuilder {
    sse_client::Client::builder()
        .initial_interval(initial)
        .multiplier(multiplier)
        .jitter(0.0)
}
