//! Connection limits: the protection an event-stream server needs against
//! clients that stop reading or never finish a request.

use pin_project_lite::pin_project;
use std::{
    fmt, io,
    net::SocketAddr,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    time::{Instant, Sleep},
};
use tokio_io_timeout::TimeoutWriter;

/// How long a connection may refuse every byte before it is closed, unless
/// configured: [`ConnectionLimits::write_timeout`].
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a request head may take to arrive, unless configured:
/// [`ConnectionLimits::head_timeout`].
pub const DEFAULT_HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// The kernel send buffer asked for each connection, unless configured:
/// [`ConnectionLimits::send_buffer`]. 64 KiB; Linux doubles what is asked
/// for its own bookkeeping, so a connection holds at most 128 KiB of kernel
/// memory for unsent data.
pub const DEFAULT_SEND_BUFFER: usize = 64 * 1024;

/// Limits that keep a client from holding a server's memory or connections:
/// a write-stall timeout, a request-head timeout, and a capped kernel send
/// buffer.
///
/// An event stream never ends by itself, so a client that stops reading
/// (or never did) would keep its connection, and whatever is queued for
/// it, forever; a client that sends half a request head would hold a
/// connection without ever being answered. These limits end both. Wrap each
/// accepted connection with [`wrap`](ConnectionLimits::wrap) (any I/O
/// object) or [`tcp`](ConnectionLimits::tcp) (a TCP stream, which also gets
/// its socket options), or accept through a [`LimitedListener`], which
/// `axum::serve` takes as it is (with this crate's `axum` feature).
///
/// - **Write timeout** ([`DEFAULT_WRITE_TIMEOUT`], 30 s): a connection whose
///   socket has accepted no byte for this long while the server had data
///   to send fails with [`io::ErrorKind::TimedOut`], so the server closes
///   it and frees what it held. An idle stream is not affected: it has
///   nothing to send, or only keep-alive comments the socket takes.
/// - **Head timeout** ([`DEFAULT_HEAD_TIMEOUT`], 30 s): an HTTP/1 request
///   head must arrive whole (up to its blank line) within this time,
///   counted from the connection's accept, and for later requests on the
///   same connection from their first byte. The head's end is found by
///   scanning what is read for the blank line, since the timeout sits
///   below the HTTP implementation; once the server has written, the next
///   byte read is taken as the start of a new head, and every write ends
///   the wait. So a request body sent after the response began (a `POST`
///   whose body the stream does not read) counts only while the server is
///   silent for this long, which keep-alive comments prevent. For a
///   connection that does not speak HTTP/1 in the clear (its first bytes
///   are a TLS handshake or the HTTP/2 preface) the timeout covers only
///   the time until the server first writes. A handler that takes long to
///   answer is not affected: the head ended before it ran.
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
/// # Memory per connection
///
/// With these limits a connection that never reads costs the server at
/// most: what its provider holds for it alone (for [`sse-joe`]'s Joe, a
/// cursor in each topic's log, which is shared and bounded, 256 frames or 4
/// MiB, with a reader a whole log behind ended; the segment of each log its
/// cursor is in, at most 64 frames and 64 KiB or one larger frame, shared
/// with the topic's other subscribers; with several topics also the batch
/// it last took, as large), the response chunks the HTTP
/// implementation holds (hyper takes chunks while it holds less than its
/// `max_buf_size`, about 400 KiB by default, settable on hyper's builder
/// and not through `axum::serve`; a chunk is at most 64 KiB plus one
/// event), and the kernel send buffer (128 KiB on Linux with the default
/// here). It holds them for at most the write timeout after its socket
/// filled, then the connection is closed and all of it freed.
///
/// [`tcp`]: ConnectionLimits::tcp
/// [`sse-joe`]: https://docs.rs/sse-joe
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
    write_timeout: Option<Duration>,
    head_timeout: Option<Duration>,
    send_buffer: Option<usize>,
}

impl Default for ConnectionLimits {
    fn default() -> ConnectionLimits {
        ConnectionLimits::new()
    }
}

impl ConnectionLimits {
    /// The defaults: [`DEFAULT_WRITE_TIMEOUT`], [`DEFAULT_HEAD_TIMEOUT`],
    /// [`DEFAULT_SEND_BUFFER`].
    pub const fn new() -> ConnectionLimits {
        ConnectionLimits {
            write_timeout: Some(DEFAULT_WRITE_TIMEOUT),
            head_timeout: Some(DEFAULT_HEAD_TIMEOUT),
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
        assert!(
            timeout != Some(Duration::ZERO),
            "write timeout must not be zero"
        );
        self.write_timeout = timeout;
        self
    }

    /// Sets how long a request head may take to arrive; `None` waits for
    /// ever.
    ///
    /// # Panics
    ///
    /// If the timeout is zero.
    pub fn head_timeout(mut self, timeout: Option<Duration>) -> ConnectionLimits {
        assert!(
            timeout != Some(Duration::ZERO),
            "head timeout must not be zero"
        );
        self.head_timeout = timeout;
        self
    }

    /// Sets the kernel send buffer to ask for on each TCP connection;
    /// `None` keeps the system's default (which Linux grows as needed).
    pub fn send_buffer(mut self, bytes: Option<usize>) -> ConnectionLimits {
        self.send_buffer = bytes;
        self
    }

    /// Applies the timeouts to any connection.
    ///
    /// # Panics
    ///
    /// If called outside a Tokio runtime with its time driver enabled.
    pub fn wrap<T: AsyncRead + AsyncWrite>(&self, io: T) -> LimitedIo<T> {
        let mut writer = TimeoutWriter::new(io);
        writer.set_timeout(self.write_timeout);
        let (head, deadline) = match self.head_timeout {
            Some(timeout) => (Head::Reading { matched: 0 }, Some(Instant::now() + timeout)),
            None => (Head::Off, None),
        };
        LimitedIo {
            inner: Box::pin(Limited {
                io: writer,
                head,
                fresh: true,
                head_timeout: self.head_timeout,
                deadline,
                timer: tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)),
            }),
        }
    }

    /// Applies the timeouts to a TCP connection, after setting its send
    /// buffer and turning Nagle's algorithm off (`TCP_NODELAY`). A socket
    /// option the platform refuses is left as it was.
    ///
    /// # Panics
    ///
    /// If called outside a Tokio runtime with its time driver enabled.
    pub fn tcp(&self, stream: TcpStream) -> LimitedIo<TcpStream> {
        // Both options only tune the connection: serving it without them
        // is better than refusing it.
        let _ = stream.set_nodelay(true);
        if let Some(bytes) = self.send_buffer {
            let _ = socket2::SockRef::from(&stream).set_send_buffer_size(bytes);
        }
        self.wrap(stream)
    }

    /// A listener whose connections get these limits.
    pub fn listen(self, listener: TcpListener) -> LimitedListener {
        LimitedListener {
            listener,
            limits: self,
        }
    }
}

/// A TCP listener whose accepted connections get [`ConnectionLimits`];
/// from [`ConnectionLimits::listen`].
///
/// With this crate's `axum` feature it is an `axum::serve::Listener`:
///
/// ```no_run
/// # #[cfg(feature = "axum")]
/// # async fn run() -> std::io::Result<()> {
/// use sse_joe::Joe;
/// use sse_server::{ConnectionLimits, Server};
///
/// let server = Server::new(Joe::new());
/// let app = axum::Router::new().route_service("/events", server);
/// let tcp = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// axum::serve(ConnectionLimits::new().listen(tcp), app).await
/// # }
/// ```
#[derive(Debug)]
pub struct LimitedListener {
    listener: TcpListener,
    limits: ConnectionLimits,
}

impl LimitedListener {
    /// Accepts a connection, with the limits applied.
    ///
    /// # Errors
    ///
    /// The listener's error: for example the process is out of file
    /// descriptors. The listener stays usable; wait a little before
    /// accepting again rather than spin.
    ///
    /// # Cancel safety
    ///
    /// This method is cancel safe, as [`TcpListener::accept`] is.
    pub async fn accept(&self) -> io::Result<(LimitedIo<TcpStream>, SocketAddr)> {
        let (stream, addr) = self.listener.accept().await?;
        Ok((self.limits.tcp(stream), addr))
    }

    /// The address the listener is bound to.
    ///
    /// # Errors
    ///
    /// As [`TcpListener::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The limits the connections get.
    pub fn limits(&self) -> &ConnectionLimits {
        &self.limits
    }

    /// The TCP listener.
    pub fn into_inner(self) -> TcpListener {
        self.listener
    }
}

#[cfg(feature = "axum")]
impl axum::serve::Listener for LimitedListener {
    type Io = LimitedIo<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match LimitedListener::accept(self).await {
                Ok(accepted) => return accepted,
                Err(error) => accept_failed(error).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        LimitedListener::local_addr(self)
    }
}

/// What `axum::serve`'s own TCP listener does on an accept error: a failed
/// connection is skipped, anything else (out of file descriptors) is
/// logged and waited out for a second rather than spun on.
#[cfg(feature = "axum")]
async fn accept_failed(error: io::Error) {
    if matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = &error as &dyn std::error::Error, "accept failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Where a connection is in the request-head timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Head {
    /// A head is arriving: the deadline runs; `matched` bytes of the blank
    /// line that ends it (CR LF CR LF, or LF LF) were seen last.
    Reading { matched: u8 },
    /// The head arrived; the request is being handled. Reads do not start
    /// a head until the server has written.
    Handling,
    /// The server wrote: the next byte read starts a new head.
    Answered,
    /// Not HTTP/1 in the clear: the deadline runs until the first write.
    Opaque,
    /// No head timeout, or no more.
    Off,
}

impl Head {
    /// Scans bytes of a head for the empty line that ends it. A line ends
    /// with LF or CR LF (hyper's parser takes both), so the head ends at an
    /// LF, an optional CR, and an LF. `matched` is 1 after an LF, 2 after
    /// an LF and a CR.
    fn scan(mut matched: u8, bytes: &[u8]) -> Head {
        for &byte in bytes {
            matched = match (byte, matched) {
                (b'\n', 1 | 2) => return Head::Handling,
                (b'\n', _) => 1,
                (b'\r', 1) => 2,
                _ => 0,
            };
        }
        Head::Reading { matched }
    }
}

/// A connection with [`ConnectionLimits`] applied: reads and writes pass
/// through, and fail with [`io::ErrorKind::TimedOut`] when a limit is
/// passed. From [`ConnectionLimits::wrap`] or [`ConnectionLimits::tcp`].
///
/// `Unpin` (its timers live in one allocation), as hyper and axum require
/// of a connection.
pub struct LimitedIo<T> {
    inner: Pin<Box<Limited<T>>>,
}

pin_project! {
    #[project = LimitedProj]
    struct Limited<T> {
        #[pin]
        io: TimeoutWriter<T>,
        head: Head,
        // No byte was read yet: the first ones tell the protocol.
        fresh: bool,
        head_timeout: Option<Duration>,
        deadline: Option<Instant>,
        #[pin]
        timer: Sleep,
    }
}

impl<T: AsyncWrite> LimitedIo<T> {
    /// The connection.
    pub fn get_ref(&self) -> &T {
        self.inner.io.get_ref()
    }

    /// The connection, pinned; reading or writing through it bypasses the
    /// limits.
    pub fn get_pin_mut(&mut self) -> Pin<&mut T> {
        self.inner.as_mut().project().io.get_pin_mut()
    }
}

impl<T: AsyncWrite + fmt::Debug> fmt::Debug for LimitedIo<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LimitedIo")
            .field("io", self.inner.io.get_ref())
            .field("write_timeout", &self.inner.io.timeout())
            .field("head_timeout", &self.inner.head_timeout)
            .finish_non_exhaustive()
    }
}

impl<T> LimitedProj<'_, T> {
    /// Bytes were read: advances the head state, arming the deadline when
    /// a new head starts.
    fn on_read(&mut self, bytes: &[u8]) {
        if std::mem::take(self.fresh) && *self.head != Head::Off {
            // A TLS record (handshake) or the HTTP/2 preface: no HTTP/1
            // head to find.
            if bytes[0] == 0x16 || bytes.starts_with(b"PRI ") {
                *self.head = Head::Opaque;
                return;
            }
        }
        let matched = match *self.head {
            Head::Reading { matched } => matched,
            Head::Answered => {
                let Some(timeout) = *self.head_timeout else {
                    return;
                };
                let deadline = Instant::now() + timeout;
                *self.deadline = Some(deadline);
                self.timer.as_mut().reset(deadline);
                0
            }
            Head::Handling | Head::Opaque | Head::Off => return,
        };
        *self.head = Head::scan(matched, bytes);
        if *self.head == Head::Handling {
            *self.deadline = None;
        }
    }

    /// Bytes were written: the server is answering, so no head is awaited.
    fn on_write(&mut self) {
        *self.head = match *self.head {
            Head::Opaque | Head::Off => Head::Off,
            Head::Reading { .. } | Head::Handling | Head::Answered => Head::Answered,
        };
        *self.deadline = None;
    }

    /// Whether the head deadline passed; if it runs, the task is woken
    /// when it passes.
    fn head_expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.is_some() && self.timer.as_mut().poll(cx).is_ready()
    }
}

fn timed_out(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, what)
}

impl<T: AsyncRead + AsyncWrite> AsyncRead for LimitedIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut this = self.inner.as_mut().project();
        let before = buf.filled().len();
        match this.io.as_mut().poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let read = &buf.filled()[before..];
                if !read.is_empty() {
                    this.on_read(read);
                    // A client that dribbles bytes is never idle long
                    // enough for the timer to fire: check it here too.
                    if this
                        .deadline
                        .is_some_and(|deadline| Instant::now() >= deadline)
                    {
                        return Poll::Ready(Err(timed_out("request head timed out")));
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending if this.head_expired(cx) => {
                Poll::Ready(Err(timed_out("request head timed out")))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + AsyncWrite> AsyncWrite for LimitedIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut this = self.inner.as_mut().project();
        let written = ready!(this.io.as_mut().poll_write(cx, buf))?;
        if written > 0 {
            this.on_write();
        }
        Poll::Ready(Ok(written))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut this = self.inner.as_mut().project();
        let written = ready!(this.io.as_mut().poll_write_vectored(cx, bufs))?;
        if written > 0 {
            this.on_write();
        }
        Poll::Ready(Ok(written))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.as_mut().project().io.poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.inner.as_mut().project().io.poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};

    const T: Duration = Duration::from_secs(10);

    fn pair() -> (LimitedIo<DuplexStream>, DuplexStream) {
        let (server, client) = duplex(64);
        let limits = ConnectionLimits::new()
            .write_timeout(Some(T))
            .head_timeout(Some(T));
        (limits.wrap(server), client)
    }

    /// Reads what is there, or the error; `None` if nothing came in time.
    async fn read(io: &mut LimitedIo<DuplexStream>, within: Duration) -> Option<io::Result<usize>> {
        let mut buf = [0; 256];
        tokio::time::timeout(within, io.read(&mut buf)).await.ok()
    }

    fn is_timed_out(result: Option<io::Result<usize>>) -> bool {
        matches!(result, Some(Err(e)) if e.kind() == io::ErrorKind::TimedOut)
    }

    #[test]
    fn a_head_ends_at_an_empty_line_split_anywhere() {
        let head = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n";
        for cut in 0..head.len() {
            let first = Head::scan(0, &head[..cut]);
            let Head::Reading { matched } = first else {
                panic!("ended early at {cut}");
            };
            assert_eq!(Head::scan(matched, &head[cut..]), Head::Handling, "{cut}");
        }
        assert_eq!(
            Head::scan(0, b"GET / HTTP/1.1\nhost: x\n\n"),
            Head::Handling
        );
        assert_eq!(Head::scan(0, b"a\r\n\nb"), Head::Handling);
        assert_eq!(Head::scan(0, b"a\r\nb\r\r\n"), Head::Reading { matched: 1 });
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_that_never_ends_times_out() {
        let (mut io, mut client) = pair();
        client
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n")
            .await
            .unwrap();
        assert!(matches!(read(&mut io, T / 2).await, Some(Ok(_))));
        assert!(read(&mut io, T / 4).await.is_none(), "still waiting");
        assert!(is_timed_out(read(&mut io, T).await));
    }

    #[tokio::test(start_paused = true)]
    async fn a_dribbled_head_times_out_even_while_bytes_arrive() {
        let (mut io, mut client) = pair();
        let mut result = None;
        for _ in 0..20 {
            client.write_all(b"x").await.unwrap();
            result = read(&mut io, T).await;
            if !matches!(result, Some(Ok(1))) {
                break;
            }
            tokio::time::sleep(T / 5).await;
        }
        assert!(is_timed_out(result));
    }

    #[tokio::test(start_paused = true)]
    async fn a_complete_head_ends_the_wait_until_the_next_request() {
        let (mut io, mut client) = pair();
        client.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        assert!(matches!(read(&mut io, T).await, Some(Ok(_))));
        // A slow handler: nothing to read, long past the timeout.
        assert!(read(&mut io, 3 * T).await.is_none());
        io.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
        // Idle between requests: no head is awaited.
        assert!(read(&mut io, 3 * T).await.is_none());
        // A second request's head runs from its first byte...
        client.write_all(b"GET").await.unwrap();
        assert!(matches!(read(&mut io, T).await, Some(Ok(3))));
        // ...and a write ends the wait again (a body read after the
        // response began).
        io.write_all(b"data").await.unwrap();
        assert!(read(&mut io, 3 * T).await.is_none());
        client.write_all(b"more").await.unwrap();
        assert!(matches!(read(&mut io, T).await, Some(Ok(4))));
        assert!(is_timed_out(read(&mut io, 2 * T).await));
    }

    #[tokio::test(start_paused = true)]
    async fn tls_and_http2_are_timed_only_until_the_first_write() {
        for first in [&[0x16, 3, 1][..], b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"] {
            let (mut io, mut client) = pair();
            client.write_all(first).await.unwrap();
            assert!(matches!(read(&mut io, T).await, Some(Ok(_))));
            io.write_all(b"hello").await.unwrap();
            client.write_all(b"anything").await.unwrap();
            assert!(matches!(read(&mut io, T).await, Some(Ok(8))));
            assert!(read(&mut io, 3 * T).await.is_none());
        }
        let (mut io, mut client) = pair();
        client.write_all(&[0x16]).await.unwrap();
        assert!(matches!(read(&mut io, T).await, Some(Ok(1))));
        assert!(is_timed_out(read(&mut io, 2 * T).await));
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_takes_no_byte_times_the_write_out() {
        let (mut io, _client) = pair();
        let start = tokio::time::Instant::now();
        let error = io.write_all(&[0; 1024]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(start.elapsed(), T);
    }

    #[tokio::test(start_paused = true)]
    async fn no_limits_pass_everything_through() {
        let (server, mut client) = duplex(64);
        let none = ConnectionLimits::new()
            .write_timeout(None)
            .head_timeout(None);
        let mut io = none.wrap(server);
        client.write_all(b"GET").await.unwrap();
        assert!(matches!(read(&mut io, T).await, Some(Ok(3))));
        assert!(read(&mut io, 100 * T).await.is_none());
    }
}
