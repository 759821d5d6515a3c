//! A connection with the limits enforced on its reads and writes.

use super::{
    ConnectionLimits,
    framing::{Framing, Progress},
};
use pin_project_lite::pin_project;
use std::{
    fmt, io,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    time::{Instant, Sleep},
};
use tokio_io_timeout::TimeoutWriter;

/// Where a connection is in its requests, for the head and body timeouts.
#[derive(Clone, Debug)]
enum Phase {
    /// A request is arriving: its head (the head deadline runs, and a
    /// write ends it), then its body (the body deadline runs, and a write
    /// does not end it).
    Request(Framing),
    /// A request whose framing cannot be followed: the body deadline runs
    /// until the server writes.
    Unknown,
    /// The request arrived; it is being handled. Reads do not start a
    /// request until the server has written.
    Handling,
    /// The server wrote: the next byte read starts a new request. The
    /// idle timeout runs.
    Answered,
    /// Not HTTP/1 in the clear: the head deadline runs until the first
    /// write.
    Opaque,
    /// Not followed: no timeout needs the requests, or the server wrote
    /// on an opaque connection (the idle timeout runs then).
    Off,
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
        phase: Phase,
        // No byte was read yet: the first ones tell the protocol.
        fresh: bool,
        head_timeout: Option<Duration>,
        body_timeout: Option<Duration>,
        deadline: Option<Instant>,
        #[pin]
        timer: Sleep,
        idle_timeout: Option<Duration>,
        // When a byte was last read or written. The idle timer is not
        // reset for each (that would put the timer wheel on the per-read
        // and per-write path); when it fires, it is moved to one timeout
        // after this if there was traffic since.
        last_active: Instant,
        // The last write, flush or shutdown waits on the connection: a
        // stall, which the write timeout ends, not idleness.
        writing: bool,
        #[pin]
        idle_timer: Sleep,
        // Makes the connection's close a reset (a TCP socket's, from
        // `ConnectionLimits::tcp`).
        reset: Option<fn(&T)>,
    }
}

impl<T: AsyncWrite> LimitedIo<T> {
    /// `reset`, when the write timeout fires, makes the connection's close
    /// drop what it could not send.
    pub(super) fn new(io: T, limits: &ConnectionLimits, reset: Option<fn(&T)>) -> LimitedIo<T> {
        let mut writer = TimeoutWriter::new(io);
        writer.set_timeout(limits.write_timeout);
        // The framing is followed for any of these timeouts: the body's
        // needs to know where the head ends, the head's where the body
        // does, the idle one whether a request is arriving or handled.
        let phase = if limits.head_timeout.is_some()
            || limits.body_timeout.is_some()
            || limits.idle_timeout.is_some()
        {
            Phase::Request(Framing::new())
        } else {
            Phase::Off
        };
        let now = Instant::now();
        let deadline = limits.head_timeout.map(|timeout| now + timeout);
        LimitedIo {
            inner: Box::pin(Limited {
                io: writer,
                phase,
                fresh: true,
                head_timeout: limits.head_timeout,
                body_timeout: limits.body_timeout,
                deadline,
                timer: tokio::time::sleep_until(deadline.unwrap_or(now)),
                idle_timeout: limits.idle_timeout,
                last_active: now,
                writing: false,
                idle_timer: tokio::time::sleep_until(now + limits.idle_timeout.unwrap_or_default()),
                reset,
            }),
        }
    }

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
            .field("body_timeout", &self.inner.body_timeout)
            .field("idle_timeout", &self.inner.idle_timeout)
            .finish_non_exhaustive()
    }
}

impl<T: AsyncWrite> LimitedProj<'_, T> {
    /// Bytes were read: follows the request they belong to, arming the
    /// head deadline when a request starts and the body deadline when its
    /// head ends.
    fn on_read(&mut self, bytes: &[u8]) {
        if std::mem::take(self.fresh) && !matches!(self.phase, Phase::Off) {
            // A TLS record (handshake) or the HTTP/2 preface: no HTTP/1
            // request to follow.
            if bytes[0] == 0x16 || bytes.starts_with(b"PRI ") {
                *self.phase = Phase::Opaque;
                return;
            }
        }
        if matches!(self.phase, Phase::Answered) {
            *self.phase = Phase::Request(Framing::new());
            self.arm(*self.head_timeout);
        }
        let Phase::Request(framing) = self.phase else {
            return;
        };
        let before = framing.progress();
        let after = framing.feed(bytes);
        let head_ended = before == Progress::Head && after != Progress::Head;
        match after {
            Progress::Head => {}
            Progress::Body => {
                if head_ended {
                    self.arm(*self.body_timeout);
                }
            }
            Progress::Complete => {
                *self.phase = Phase::Handling;
                *self.deadline = None;
            }
            Progress::Unknown => {
                *self.phase = Phase::Unknown;
                // Malformed chunks keep the deadline their body had.
                if head_ended {
                    self.arm(*self.body_timeout);
                }
            }
        }
    }

    /// Bytes were written: the server is answering, which ends the wait
    /// for a head (the next byte read starts a new one) but not for a body
    /// (an early answer, such as `100 Continue`, must not excuse it).
    fn on_write(&mut self) {
        self.active();
        match self.phase {
            Phase::Request(framing) if framing.progress() == Progress::Body => return,
            Phase::Opaque | Phase::Off => *self.phase = Phase::Off,
            Phase::Request(_) | Phase::Unknown | Phase::Handling | Phase::Answered => {
                *self.phase = Phase::Answered;
            }
        }
        *self.deadline = None;
    }

    /// A byte passed: the connection is not idle.
    fn active(&mut self) {
        if self.idle_timeout.is_some() {
            *self.last_active = Instant::now();
        }
    }

    /// Whether the connection was idle for the idle timeout: the server
    /// has answered, no request is arriving or being handled, no write
    /// waits on the connection, and no byte passed either way. If not,
    /// the task is woken when it may be.
    ///
    /// The timer runs in every phase, not only once the server has
    /// answered: a server may not read again after its answer until it
    /// is woken (hyper does not when its last read found nothing), so the
    /// timer must already hold the reader's waker when the answer is
    /// written.
    fn idle(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(timeout) = *self.idle_timeout else {
            return false;
        };
        while self.idle_timer.as_mut().poll(cx).is_ready() {
            let now = Instant::now();
            let due = *self.last_active + timeout;
            if due > now {
                self.idle_timer.as_mut().reset(due);
            } else if *self.writing || !matches!(self.phase, Phase::Answered | Phase::Off) {
                // A socket that takes nothing is the write timeout's, a
                // request that arrives or is handled the head and body
                // timeouts': looked at again once it could be idle.
                self.idle_timer.as_mut().reset(now + timeout);
            } else {
                return true;
            }
        }
        false
    }

    /// Sets the deadline `timeout` from now, or none.
    fn arm(&mut self, timeout: Option<Duration>) {
        *self.deadline = timeout.map(|timeout| Instant::now() + timeout);
        if let Some(deadline) = *self.deadline {
            self.timer.as_mut().reset(deadline);
        }
    }

    /// The error for the deadline that passed.
    fn timed_out(&self) -> io::Error {
        let what = match &*self.phase {
            Phase::Request(framing) if framing.progress() == Progress::Head => {
                "request head timed out"
            }
            Phase::Opaque => "request head timed out",
            _ => "request body timed out",
        };
        io::Error::new(io::ErrorKind::TimedOut, what)
    }

    /// A write failed. After the write timeout the peer has taken no byte
    /// for that long: what is queued for it is abandoned, so the close
    /// should drop it rather than keep sending it.
    fn write_failed(&self, error: io::Error) -> io::Error {
        if error.kind() == io::ErrorKind::TimedOut {
            if let Some(reset) = *self.reset {
                reset(self.io.get_ref());
            }
        }
        error
    }

    /// Whether the deadline passed; if it runs, the task is woken when it
    /// passes.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.is_some() && self.timer.as_mut().poll(cx).is_ready()
    }
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
                    // A client that dribbles bytes is never idle long
                    // enough for the timer to fire: check the deadline on
                    // each read too, before the bytes can end the wait.
                    if this
                        .deadline
                        .is_some_and(|deadline| Instant::now() >= deadline)
                    {
                        return Poll::Ready(Err(this.timed_out()));
                    }
                    this.active();
                    this.on_read(read);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(this.timed_out())),
            Poll::Pending if this.idle(cx) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "idle connection timed out",
            ))),
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
        let polled = this.io.as_mut().poll_write(cx, buf);
        *this.writing = polled.is_pending();
        let written = ready!(polled).map_err(|e| this.write_failed(e))?;
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
        let polled = this.io.as_mut().poll_write_vectored(cx, bufs);
        *this.writing = polled.is_pending();
        let written = ready!(polled).map_err(|e| this.write_failed(e))?;
        if written > 0 {
            this.on_write();
        }
        Poll::Ready(Ok(written))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut this = self.inner.as_mut().project();
        let polled = this.io.as_mut().poll_flush(cx);
        *this.writing = polled.is_pending();
        polled.map_err(|e| this.write_failed(e))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut this = self.inner.as_mut().project();
        let polled = this.io.as_mut().poll_shutdown(cx);
        *this.writing = polled.is_pending();
        polled.map_err(|e| this.write_failed(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};

    const T: Duration = Duration::from_secs(10);

    fn pair() -> (LimitedIo<DuplexStream>, DuplexStream) {
        pair_with(Some(T), Some(T))
    }

    fn pair_with(
        head: Option<Duration>,
        body: Option<Duration>,
    ) -> (LimitedIo<DuplexStream>, DuplexStream) {
        // The idle timeout has tests of its own.
        wrap(
            ConnectionLimits::new()
                .write_timeout(Some(T))
                .head_timeout(head)
                .body_timeout(body)
                .idle_timeout(None),
        )
    }

    fn wrap(limits: ConnectionLimits) -> (LimitedIo<DuplexStream>, DuplexStream) {
        let (server, client) = duplex(1024);
        (limits.wrap(server), client)
    }

    /// Write, head and body timeouts of `T`, and `idle`.
    fn idle_pair(idle: Duration) -> (LimitedIo<DuplexStream>, DuplexStream) {
        wrap(
            ConnectionLimits::new()
                .write_timeout(Some(T))
                .head_timeout(Some(T))
                .body_timeout(Some(T))
                .idle_timeout(Some(idle)),
        )
    }

    /// Writes bytes and has the client take them.
    async fn answer(io: &mut LimitedIo<DuplexStream>, client: &mut DuplexStream, bytes: &[u8]) {
        io.write_all(bytes).await.unwrap();
        let mut buf = vec![0; bytes.len()];
        client.read_exact(&mut buf).await.unwrap();
    }

    /// Reads what is there, or the error; `None` if nothing came in time.
    async fn read(io: &mut LimitedIo<DuplexStream>, within: Duration) -> Option<io::Result<usize>> {
        let mut buf = [0; 256];
        tokio::time::timeout(within, io.read(&mut buf)).await.ok()
    }

    fn is_timed_out(result: Option<io::Result<usize>>) -> bool {
        matches!(result, Some(Err(e)) if e.kind() == io::ErrorKind::TimedOut)
    }

    /// Which limit timed the read out.
    fn which(result: Option<io::Result<usize>>) -> String {
        match result {
            Some(Err(e)) if e.kind() == io::ErrorKind::TimedOut => e.to_string(),
            other => panic!("not timed out: {other:?}"),
        }
    }

    /// Sends bytes and reads them through.
    async fn send(io: &mut LimitedIo<DuplexStream>, client: &mut DuplexStream, bytes: &[u8]) {
        client.write_all(bytes).await.unwrap();
        let mut buf = vec![0; bytes.len()];
        io.read_exact(&mut buf).await.unwrap();
    }

    const POST: &[u8] = b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n";

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
        let error = io.write_all(&[0; 4096]).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(start.elapsed(), T);
    }

    #[tokio::test(start_paused = true)]
    async fn no_limits_pass_everything_through() {
        let (server, mut client) = duplex(64);
        let none = ConnectionLimits::new()
            .write_timeout(None)
            .head_timeout(None)
            .body_timeout(None)
            .idle_timeout(None);
        let mut io = none.wrap(server);
        client.write_all(b"GET").await.unwrap();
        assert!(matches!(read(&mut io, T).await, Some(Ok(3))));
        assert!(read(&mut io, 100 * T).await.is_none());
        io.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
        assert!(read(&mut io, 100 * T).await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_dribbled_body_times_out_at_its_deadline_even_while_bytes_arrive() {
        let (mut io, mut client) = pair();
        send(&mut io, &mut client, POST).await;
        let start = tokio::time::Instant::now();
        let mut result = None;
        for _ in 0..20 {
            client.write_all(b"x").await.unwrap();
            result = read(&mut io, T).await;
            if !matches!(result, Some(Ok(1))) {
                break;
            }
            tokio::time::sleep(T / 5).await;
        }
        assert_eq!(which(result), "request body timed out");
        assert_eq!(start.elapsed(), T);
    }

    #[tokio::test(start_paused = true)]
    async fn a_withheld_body_times_out_from_the_end_of_its_head() {
        let (mut io, mut client) = pair();
        // The head itself took most of the head timeout.
        client.write_all(&POST[..10]).await.unwrap();
        tokio::time::sleep(T * 9 / 10).await;
        client.write_all(&POST[10..]).await.unwrap();
        let start = tokio::time::Instant::now();
        assert!(matches!(read(&mut io, T).await, Some(Ok(_))));
        send(&mut io, &mut client, b"12345").await;
        assert_eq!(which(read(&mut io, 2 * T).await), "request body timed out");
        assert_eq!(start.elapsed(), T);
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_does_not_end_the_body_wait() {
        let (mut io, mut client) = pair();
        send(
            &mut io,
            &mut client,
            b"POST / HTTP/1.1\r\nexpect: 100-continue\r\n",
        )
        .await;
        send(&mut io, &mut client, b"content-length: 10\r\n\r\n").await;
        let start = tokio::time::Instant::now();
        io.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .unwrap();
        // A response streamed while the body is withheld.
        for _ in 0..4 {
            tokio::time::sleep(T / 5).await;
            io.write_all(b"data").await.unwrap();
            let mut buf = [0; 64];
            let _ = client.read(&mut buf).await.unwrap();
        }
        send(&mut io, &mut client, b"12345").await;
        assert_eq!(which(read(&mut io, 2 * T).await), "request body timed out");
        assert_eq!(start.elapsed(), T);
    }

    #[tokio::test(start_paused = true)]
    async fn a_complete_body_ends_the_wait() {
        let (mut io, mut client) = pair();
        send(&mut io, &mut client, POST).await;
        send(&mut io, &mut client, b"12345").await;
        tokio::time::sleep(T / 2).await;
        send(&mut io, &mut client, b"67890").await;
        // A slow handler: nothing to read, long past both timeouts.
        assert!(read(&mut io, 3 * T).await.is_none());
        io.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
        assert!(read(&mut io, 3 * T).await.is_none());
        // The next request is timed from its first byte.
        send(&mut io, &mut client, b"GET").await;
        assert_eq!(which(read(&mut io, 2 * T).await), "request head timed out");
    }

    #[tokio::test(start_paused = true)]
    async fn a_chunked_body_split_anywhere_ends_the_wait() {
        let request: &[u8] = b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n\
                               5;x=y\r\nhello\r\n0\r\ntrailer: z\r\n\r\n";
        for cut in 0..=request.len() {
            let (mut io, mut client) = pair();
            send(&mut io, &mut client, &request[..cut]).await;
            tokio::time::sleep(T / 2).await;
            send(&mut io, &mut client, &request[cut..]).await;
            assert!(read(&mut io, 3 * T).await.is_none(), "cut at {cut}");
        }
        // Without its last chunk, the body never ends.
        let (mut io, mut client) = pair();
        send(&mut io, &mut client, &request[..request.len() - 20]).await;
        assert_eq!(which(read(&mut io, 2 * T).await), "request body timed out");
    }

    #[tokio::test(start_paused = true)]
    async fn a_get_with_a_slow_handler_is_not_timed_out() {
        let (mut io, mut client) = pair();
        send(
            &mut io,
            &mut client,
            b"GET /events HTTP/1.1\r\nhost: x\r\n\r\n",
        )
        .await;
        assert!(read(&mut io, 10 * T).await.is_none());
        io.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_framing_that_cannot_be_followed_is_timed_until_the_first_write() {
        let bad = b"POST / HTTP/1.1\r\ncontent-length: ten\r\n\r\n";
        let (mut io, mut client) = pair();
        send(&mut io, &mut client, bad).await;
        assert_eq!(which(read(&mut io, 2 * T).await), "request body timed out");
        let (mut io, mut client) = pair();
        send(&mut io, &mut client, bad).await;
        io.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            .await
            .unwrap();
        assert!(read(&mut io, 3 * T).await.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn each_timeout_applies_alone() {
        // No body timeout: the body is still followed, so the next head is
        // found and timed.
        let (mut io, mut client) = pair_with(Some(T), None);
        send(&mut io, &mut client, POST).await;
        assert!(read(&mut io, 3 * T).await.is_none());
        io.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
        send(&mut io, &mut client, b"0123456789").await;
        assert!(read(&mut io, 3 * T).await.is_none());
        io.write_all(b"more").await.unwrap();
        send(&mut io, &mut client, b"GET").await;
        assert_eq!(which(read(&mut io, 2 * T).await), "request head timed out");

        // No head timeout: a head takes its time, its body does not.
        let (mut io, mut client) = pair_with(None, Some(T));
        send(&mut io, &mut client, &POST[..10]).await;
        assert!(read(&mut io, 3 * T).await.is_none());
        send(&mut io, &mut client, &POST[10..]).await;
        let start = tokio::time::Instant::now();
        assert_eq!(which(read(&mut io, 2 * T).await), "request body timed out");
        assert_eq!(start.elapsed(), T);
    }

    const GET: &[u8] = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n";
    const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

    #[tokio::test(start_paused = true)]
    async fn an_answered_connection_idle_past_the_timeout_times_out() {
        let (mut io, mut client) = idle_pair(2 * T);
        send(&mut io, &mut client, GET).await;
        answer(&mut io, &mut client, OK).await;
        // Counted from the last byte, not the first write.
        tokio::time::sleep(T).await;
        answer(&mut io, &mut client, b"more").await;
        let start = tokio::time::Instant::now();
        assert_eq!(
            which(read(&mut io, 3 * T).await),
            "idle connection timed out"
        );
        assert_eq!(start.elapsed(), 2 * T);
    }

    #[tokio::test(start_paused = true)]
    async fn tls_and_http2_are_idle_from_the_first_write() {
        for first in [&[0x16, 3, 1][..], b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"] {
            let (mut io, mut client) = idle_pair(2 * T);
            send(&mut io, &mut client, first).await;
            // Before the first write, only the head timeout applies.
            assert!(read(&mut io, T / 2).await.is_none());
            answer(&mut io, &mut client, b"hello").await;
            let start = tokio::time::Instant::now();
            assert_eq!(
                which(read(&mut io, 3 * T).await),
                "idle connection timed out"
            );
            assert_eq!(start.elapsed(), 2 * T);
        }
    }

    /// hyper reads until its read finds nothing, writes its answer, then
    /// reads again only when woken: the idle timer must wake it.
    #[tokio::test(start_paused = true)]
    async fn a_reader_that_waits_since_before_the_answer_is_woken_when_idle() {
        let (mut io, mut client) = idle_pair(T);
        send(&mut io, &mut client, GET).await;
        let (mut reader, mut writer) = tokio::io::split(io);
        let reading = tokio::spawn(async move {
            let mut buf = [0; 64];
            reader.read(&mut buf).await.map_err(|e| e.to_string())
        });
        // The reader finds nothing: it waits, and is polled again only
        // when woken.
        tokio::task::yield_now().await;
        assert!(!reading.is_finished());
        tokio::time::sleep(T / 2).await;
        writer.write_all(OK).await.unwrap();
        let start = tokio::time::Instant::now();
        let read = tokio::time::timeout(2 * T, reading).await;
        assert_eq!(
            read.expect("never woken").unwrap(),
            Err("idle connection timed out".to_owned())
        );
        assert_eq!(start.elapsed(), T);
        drop(client);
    }

    #[tokio::test(start_paused = true)]
    async fn reads_and_writes_keep_a_connection_alive() {
        let (mut io, mut client) = idle_pair(T);
        send(&mut io, &mut client, &[0x16, 3, 1]).await;
        answer(&mut io, &mut client, b"hello").await;
        // Writes only (an event stream's keep-alive comments), then reads
        // only, each more often than the timeout, for many timeouts.
        for _ in 0..8 {
            assert!(read(&mut io, T * 3 / 4).await.is_none());
            answer(&mut io, &mut client, b": keep-alive\n\n").await;
        }
        for _ in 0..8 {
            assert!(read(&mut io, T * 3 / 4).await.is_none());
            send(&mut io, &mut client, b"ping").await;
        }
        let start = tokio::time::Instant::now();
        assert_eq!(
            which(read(&mut io, 2 * T).await),
            "idle connection timed out"
        );
        assert_eq!(start.elapsed(), T);
    }

    #[tokio::test(start_paused = true)]
    async fn before_the_first_write_only_the_head_and_body_timeouts_apply() {
        // Nothing sent at all: the head timeout, not the idle one.
        let (mut io, _client) = idle_pair(T / 4);
        let start = tokio::time::Instant::now();
        assert_eq!(which(read(&mut io, 2 * T).await), "request head timed out");
        assert_eq!(start.elapsed(), T);
        // A body that does not come: the body timeout.
        let (mut io, mut client) = idle_pair(T / 4);
        send(&mut io, &mut client, POST).await;
        let start = tokio::time::Instant::now();
        assert_eq!(which(read(&mut io, 2 * T).await), "request body timed out");
        assert_eq!(start.elapsed(), T);
    }

    #[tokio::test(start_paused = true)]
    async fn a_next_request_arriving_is_timed_by_its_own_timeouts() {
        let (mut io, mut client) = idle_pair(T / 4);
        send(&mut io, &mut client, GET).await;
        answer(&mut io, &mut client, OK).await;
        // A next head that stops halfway: the head timeout.
        send(&mut io, &mut client, b"GET").await;
        let start = tokio::time::Instant::now();
        assert_eq!(which(read(&mut io, 2 * T).await), "request head timed out");
        assert_eq!(start.elapsed(), T);
        // A next body that does not come: the body timeout.
        let (mut io, mut client) = idle_pair(T / 4);
        send(&mut io, &mut client, GET).await;
        answer(&mut io, &mut client, OK).await;
        send(&mut io, &mut client, POST).await;
        let start = tokio::time::Instant::now();
        assert_eq!(which(read(&mut io, 2 * T).await), "request body timed out");
        assert_eq!(start.elapsed(), T);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_handler_is_not_cut_by_the_idle_timeout() {
        let (mut io, mut client) = idle_pair(T);
        // The first request, then a next one on the kept-alive connection,
        // each handled for many idle timeouts before the answer.
        for _ in 0..2 {
            send(&mut io, &mut client, GET).await;
            assert!(read(&mut io, 10 * T).await.is_none());
            answer(&mut io, &mut client, OK).await;
        }
        let start = tokio::time::Instant::now();
        assert_eq!(
            which(read(&mut io, 2 * T).await),
            "idle connection timed out"
        );
        assert_eq!(start.elapsed(), T);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_write_is_left_to_the_write_timeout() {
        let (mut io, mut client) = idle_pair(T * 3 / 10);
        send(&mut io, &mut client, GET).await;
        answer(&mut io, &mut client, OK).await;
        // The client takes nothing more; the server reads meanwhile, as
        // HTTP/1 and HTTP/2 do while they write.
        let (mut reader, mut writer) = tokio::io::split(io);
        let start = tokio::time::Instant::now();
        let write = async {
            let error = writer.write_all(&[0; 4096]).await.unwrap_err();
            (error.kind(), start.elapsed())
        };
        let read = async {
            let mut buf = [0; 64];
            let result = tokio::time::timeout(3 * T, reader.read(&mut buf)).await;
            (result, start.elapsed())
        };
        let ((write_error, write_at), (read_result, read_at)) = tokio::join!(write, read);
        assert_eq!((write_error, write_at), (io::ErrorKind::TimedOut, T));
        // The idle timeout may end the connection after the write timeout
        // did, never before.
        assert!(read_at > write_at, "{read_result:?} after {read_at:?}");
        drop(client);
    }

    #[tokio::test(start_paused = true)]
    async fn no_idle_timeout_keeps_an_idle_connection() {
        let (mut io, mut client) = wrap(ConnectionLimits::new().idle_timeout(None));
        send(&mut io, &mut client, GET).await;
        answer(&mut io, &mut client, OK).await;
        assert!(read(&mut io, 100 * T).await.is_none());
    }
}
