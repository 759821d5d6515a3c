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
    net::TcpStream,
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
    fn new(io: T, limits: &ConnectionLimits, reset: Option<fn(&T)>) -> LimitedIo<T> {
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

impl ConnectionLimits {
    /// Applies the timeouts to any connection. A connection the write
    /// timeout ends is closed as the I/O object closes when dropped (see
    /// [`tcp`](ConnectionLimits::tcp) for a reset instead).
    ///
    /// # Panics
    ///
    /// If called outside a Tokio runtime with its time driver enabled.
    pub fn wrap<T: AsyncRead + AsyncWrite>(&self, io: T) -> LimitedIo<T> {
        LimitedIo::new(io, self, None)
    }

    /// Applies the timeouts to a TCP connection, after setting its send
    /// buffer and turning Nagle's algorithm off (`TCP_NODELAY`). When the
    /// write timeout fires, the socket's `SO_LINGER` is set to zero, so
    /// that its close is a reset which frees its unsent data at once. A
    /// socket option the platform refuses is left as it was.
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
        LimitedIo::new(stream, self, Some(reset_on_close))
    }
}

/// Makes the close of a TCP socket a reset, which drops its unsent data:
/// a graceful close keeps the data, and the socket, until the peer takes
/// it or the kernel gives up, which a peer that keeps its window shut
/// delays for as long as it likes.
fn reset_on_close(stream: &TcpStream) {
    // Where the platform refuses, the close stays graceful: still a close.
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
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

    /// A write was polled: counts what it wrote as traffic.
    fn wrote(&mut self, polled: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        let written = ready!(self.polled(polled))?;
        if written > 0 {
            self.on_write();
        }
        Poll::Ready(Ok(written))
    }

    /// A write, flush or shutdown was polled: notes whether it waits on the
    /// connection, and handles its failure.
    fn polled<R>(&mut self, polled: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        *self.writing = polled.is_pending();
        polled.map_err(|e| self.write_failed(e))
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
        this.wrote(polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut this = self.inner.as_mut().project();
        let polled = this.io.as_mut().poll_write_vectored(cx, bufs);
        this.wrote(polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut this = self.inner.as_mut().project();
        let polled = this.io.as_mut().poll_flush(cx);
        this.polled(polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut this = self.inner.as_mut().project();
        let polled = this.io.as_mut().poll_shutdown(cx);
        this.polled(polled)
    }
}
