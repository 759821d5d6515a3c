//! The configuration: which limits, and how long. Applying them is
//! `io.rs`'s ([`ConnectionLimits::wrap`], [`ConnectionLimits::tcp`]) and
//! `listener.rs`'s ([`ConnectionLimits::listen`]).

use std::time::Duration;

/// How long a connection may refuse every byte before it is closed, unless
/// configured: [`ConnectionLimits::write_timeout`].
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a request head may take to arrive, unless configured:
/// [`ConnectionLimits::head_timeout`].
pub const DEFAULT_HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a request body may take to arrive after its head, unless
/// configured: [`ConnectionLimits::body_timeout`].
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a connection the server has written on may carry no byte,
/// either way, before it is closed, unless configured:
/// [`ConnectionLimits::idle_timeout`].
///
/// 75 s: five times the server's default keep-alive interval
/// ([`DEFAULT_KEEP_ALIVE`](crate::DEFAULT_KEEP_ALIVE), 15 s), so that an
/// idle event stream, which writes a comment at that interval, is never
/// taken for an idle connection, even when a comment is late; and above
/// the 60 s idle timeout that AWS's load balancers default to, so that
/// such a balancer closes its idle connections to the server before the
/// server does (AWS asks for that: a connection the server closes just
/// as the balancer sends a request on it answers that request 502). It
/// is also nginx's default `keepalive_timeout`.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(75);

/// The kernel send buffer asked for each connection, unless configured:
/// [`ConnectionLimits::send_buffer`]. 64 KiB; Linux doubles what is asked
/// for its own bookkeeping, so a connection holds at most 128 KiB of kernel
/// memory for unsent data.
pub const DEFAULT_SEND_BUFFER: usize = 64 * 1024;

/// Limits that keep a client from holding a server's memory or connections:
/// a write-stall timeout, request-head and request-body timeouts, an idle
/// timeout, and a capped kernel send buffer.
///
/// An event stream never ends by itself, so a client that stops reading
/// (or never did) would keep its connection, and whatever is queued for
/// it, forever; a client that sends half a request, head or body, would
/// hold a connection without ever being answered; a client that neither
/// reads nor sends once it was answered (its response ended, or its
/// stream sends nothing) would keep its connection open waiting for a
/// next request that never comes. These limits end all three.
/// Wrap each accepted connection with [`wrap`](ConnectionLimits::wrap)
/// (any I/O object) or [`tcp`](ConnectionLimits::tcp) (a TCP stream, which
/// also gets its socket options), or accept through a [`LimitedListener`](super::LimitedListener),
/// which `axum::serve` takes as it is (with this crate's `axum` feature).
///
/// - **Write timeout** ([`DEFAULT_WRITE_TIMEOUT`], 30 s): a connection whose
///   socket has accepted no byte for this long while the server had data
///   to send fails with [`TimedOut`](std::io::ErrorKind::TimedOut), so the
///   server closes it and frees what it held. With [`tcp`] (and so through
///   a [`LimitedListener`](super::LimitedListener)) the close is a reset (`SO_LINGER` set to zero
///   when the timeout fires): a graceful close would leave the unsent data
///   in the kernel, up to the send buffer, for as long as the peer keeps
///   its window shut. An idle stream is not affected: it has nothing to
///   send, or only keep-alive comments the socket takes.
/// - **Head timeout** ([`DEFAULT_HEAD_TIMEOUT`], 30 s): an HTTP/1 request
///   head must arrive whole (up to its blank line) within this time,
///   counted from the connection's accept, and for later requests on the
///   same connection from their first byte. A handler that takes long to
///   answer is not affected: the head ended before it ran.
/// - **Body timeout** ([`DEFAULT_BODY_TIMEOUT`], 30 s): an HTTP/1 request
///   body must arrive whole within this time, counted from the end of its
///   head. A client cannot stretch it by dribbling bytes, nor by having
///   the server answer first (`Expect: 100-continue`, or a response
///   streamed while the body is withheld): only the body's end ends it. A
///   request without a body (no `Content-Length` or a zero one, and no
///   `Transfer-Encoding`) is not timed after its head, so a slow handler
///   is not affected. hyper reads a body as the handler reads it, so the
///   timeout ends a connection whose handler waits for a body that does
///   not come; a body the handler leaves unread is not read, and holds no
///   more than the receive buffers while the response lasts.
/// - **Idle timeout** ([`DEFAULT_IDLE_TIMEOUT`], 75 s): once the server
///   has written on a connection, the connection fails with
///   [`TimedOut`](std::io::ErrorKind::TimedOut), and the server closes
///   it, when no byte was read or written for this long. It ends an
///   HTTP/1 connection kept alive for a next request that does not come
///   (neither hyper nor `axum::serve` times that by default), an event
///   stream that sends nothing, and a TLS or HTTP/2 connection nobody
///   uses. While a request head or body arrives, only their own timeouts
///   apply; a handler that has not answered yet is not affected; nor is a
///   write that waits on a full socket (the write timeout ends that, with
///   its reset). The close is graceful: what the socket took is still
///   delivered. An event stream's keep-alive comments are traffic: with
///   the server's default keep-alive
///   ([`DEFAULT_KEEP_ALIVE`](crate::DEFAULT_KEEP_ALIVE), 15 s) an idle
///   stream writes five of them per idle timeout and stays open. A stream
///   with keep-alive disabled (or an interval longer than the idle
///   timeout) and no event for longer than the idle timeout is closed;
///   its client reconnects and resumes from its `Last-Event-ID`. Keep the
///   keep-alive interval well below the idle timeout. On TLS and HTTP/2,
///   whose requests this layer cannot follow, it counts from the
///   server's first write whatever the requests do: there, a handler
///   slower than the idle timeout to answer, on a connection that carries
///   nothing else, is cut too. Each read and write records its time; the
///   timer is moved only when it fires, never for each read or write.
/// - **Send buffer** ([`DEFAULT_SEND_BUFFER`], 64 KiB, [`tcp`] only): caps
///   the kernel memory a connection's unsent bytes can take (`SO_SNDBUF`;
///   where the platform refuses, the system default stays). The system
///   default grows to several MiB per connection on Linux; with the cap a
///   stalled connection fills its socket sooner and the write timeout
///   starts sooner. It also caps throughput per connection at about the
///   buffer per round trip (64 KiB over a 50 ms round trip is 1.3 MB/s),
///   plenty for events; raise it for bulk streams to distant clients.
///   [`tcp`] also turns Nagle's algorithm off, so that a small event is
///   sent at once rather than after the previous one's acknowledgement.
///
/// The head and body timeouts sit below the HTTP implementation, so they
/// follow each request's framing in the bytes read, as hyper parses it:
/// the blank line that ends a head, a `Content-Length` body counted, a
/// chunked body (`Transfer-Encoding: chunked`) followed through its chunk
/// sizes, extensions and trailers. Once a request has arrived, the next
/// byte read after the server has written starts the next head; a write
/// that comes before a head is whole (an error response) ends the wait
/// for it too. A request whose framing cannot be followed (a
/// `Content-Length` that does not parse or two that differ, both
/// `Content-Length` and `Transfer-Encoding`, a last coding other than
/// `chunked`, malformed chunks; hyper refuses most of them) is timed as a
/// body, but only until the server next writes.
///
/// A connection that does not speak HTTP/1 in the clear (its first bytes
/// are a TLS handshake or the HTTP/2 preface) is opaque here: the head
/// timeout covers only the time until the server first writes, and the
/// body timeout nothing; the write timeout applies as to any connection,
/// and the idle timeout from the server's first write.
/// Bound those requests inside: over TLS, hyper's `header_read_timeout`
/// for HTTP/1 heads (it needs a timer on hyper's builder, which
/// `axum::serve` does not set); for bodies, a deadline around reading the
/// body in the handler (`tokio::time::timeout`), or tower-http's
/// `RequestBodyTimeoutLayer`, which times each read, so that a client that
/// dribbles bytes can stretch it.
///
/// # Memory per connection
///
/// With these limits a connection that never reads costs the server at
/// most: what its provider holds for it alone (for [`sse-joe`]'s Joe, a
/// cursor in each topic's shared, bounded log, and once it lagged a
/// segment of each until its stream is dropped: see its [`Memory`
/// section]), what its response handed the HTTP layer and
/// the socket has not taken (for a [`Server`](crate::Server) response, at
/// most [`max_unsent`](crate::Builder::max_unsent), 32 KiB, plus one frame,
/// whatever the HTTP layer's own buffer: frames shared with the other
/// subscribers, not copies; for a [`StreamResponse`](crate::StreamResponse),
/// what the HTTP layer buffers: hyper's `max_buf_size`, about 400 KiB by
/// default), and the kernel send buffer (128 KiB on Linux with the default
/// here, kernel memory rather than the process's). It holds them for at
/// most the write timeout after its socket
/// filled, then the connection is closed and all of it freed (with
/// [`tcp`], reset, so that the kernel frees its send buffer at once).
///
/// A client that sends its request slowly, or stops halfway, costs what is
/// kept of the request so far: the HTTP implementation's read buffer
/// (hyper's is bounded by the same `max_buf_size`) and what the handler
/// keeps of the body. It holds them for at most the head timeout while its
/// head arrives and the body timeout while its body does (over HTTP/1 in
/// the clear; see above for the others).
///
/// A client that was answered and then neither reads nor sends (its
/// kernel took the whole response, or its stream sends nothing) costs the
/// same buffers, none of them growing, for at most the idle timeout. After
/// the close, only what its socket took and the client has not yet
/// received stays, in the kernel, until the client takes it or the kernel
/// gives up.
///
/// [`tcp`]: ConnectionLimits::tcp
/// [`sse-joe`]: https://docs.rs/sse-joe
/// [`Memory` section]: https://docs.rs/sse-joe/latest/sse_joe/struct.Joe.html#memory
///
/// # Examples
///
/// With hyper, wrapping each accepted connection:
///
/// ```no_run
/// use hyper_util::{rt::TokioIo, service::TowerToHyperService};
/// use sse_joe::Joe;
/// use sse_server::{ConnectionLimits, Server};
///
/// # async fn run() -> std::io::Result<()> {
/// let server = Server::new(Joe::new());
/// let listener = ConnectionLimits::new().listen(tokio::net::TcpListener::bind("127.0.0.1:0").await?);
/// loop {
///     let (io, _) = listener.accept().await?;
///     let service = TowerToHyperService::new(server.clone());
///     tokio::spawn(
///         hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(io), service),
///     );
/// }
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct ConnectionLimits {
    pub(super) write_timeout: Option<Duration>,
    pub(super) head_timeout: Option<Duration>,
    pub(super) body_timeout: Option<Duration>,
    pub(super) idle_timeout: Option<Duration>,
    pub(super) send_buffer: Option<usize>,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits::new()
    }
}

impl ConnectionLimits {
    /// The defaults: [`DEFAULT_WRITE_TIMEOUT`], [`DEFAULT_HEAD_TIMEOUT`],
    /// [`DEFAULT_BODY_TIMEOUT`], [`DEFAULT_IDLE_TIMEOUT`],
    /// [`DEFAULT_SEND_BUFFER`].
    pub const fn new() -> ConnectionLimits {
        ConnectionLimits {
            write_timeout: Some(DEFAULT_WRITE_TIMEOUT),
            head_timeout: Some(DEFAULT_HEAD_TIMEOUT),
            body_timeout: Some(DEFAULT_BODY_TIMEOUT),
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            send_buffer: Some(DEFAULT_SEND_BUFFER),
        }
    }

    /// Sets how long a connection may take no byte while the server has
    /// data for it before it is closed; `None` never closes it.
    ///
    /// # Panics
    ///
    /// If the timeout is zero.
    pub fn write_timeout(mut self, timeout: Option<Duration>) -> ConnectionLimits {
        self.write_timeout = non_zero(timeout, "write");
        self
    }

    /// Sets how long a request head may take to arrive; `None` waits for
    /// ever.
    ///
    /// # Panics
    ///
    /// If the timeout is zero.
    pub fn head_timeout(mut self, timeout: Option<Duration>) -> ConnectionLimits {
        self.head_timeout = non_zero(timeout, "head");
        self
    }

    /// Sets how long a request body may take to arrive, counted from the
    /// end of its head; `None` waits for ever.
    ///
    /// # Panics
    ///
    /// If the timeout is zero.
    pub fn body_timeout(mut self, timeout: Option<Duration>) -> ConnectionLimits {
        self.body_timeout = non_zero(timeout, "body");
        self
    }

    /// Sets how long a connection the server has written on may carry no
    /// byte, either way, before it is closed; `None` keeps it open for
    /// ever. Keep it well above the keep-alive interval of the event
    /// streams served: see the idle timeout in [`ConnectionLimits`].
    ///
    /// # Panics
    ///
    /// If the timeout is zero.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> ConnectionLimits {
        self.idle_timeout = non_zero(timeout, "idle");
        self
    }

    /// Sets the kernel send buffer to ask for on each TCP connection;
    /// `None` keeps the system's default (which Linux grows as needed).
    pub fn send_buffer(mut self, bytes: Option<usize>) -> ConnectionLimits {
        self.send_buffer = bytes;
        self
    }
}

/// `timeout`, checked.
///
/// # Panics
///
/// If it is zero: `what` names the timeout in the message.
#[track_caller]
fn non_zero(timeout: Option<Duration>, what: &str) -> Option<Duration> {
    assert!(
        timeout != Some(Duration::ZERO),
        "{what} timeout must not be zero"
    );
    timeout
}
