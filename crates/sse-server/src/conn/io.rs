//! A connection with the limits enforced on its reads and writes.

use super::ConnectionLimits;
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
        let (head, deadline) = match limits.head_timeout {
            Some(timeout) => (Head::Reading { matched: 0 }, Some(Instant::now() + timeout)),
            None => (Head::Off, None),
        };
        LimitedIo {
            inner: Box::pin(Limited {
                io: writer,
                head,
                fresh: true,
                head_timeout: limits.head_timeout,
                deadline,
                timer: tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)),
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
            .finish_non_exhaustive()
    }
}

impl<T: AsyncWrite> LimitedProj<'_, T> {
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
        let written =
            ready!(this.io.as_mut().poll_write(cx, buf)).map_err(|e| this.write_failed(e))?;
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
        let written = ready!(this.io.as_mut().poll_write_vectored(cx, bufs))
            .map_err(|e| this.write_failed(e))?;
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
        this.io
            .as_mut()
            .poll_flush(cx)
            .map_err(|e| this.write_failed(e))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut this = self.inner.as_mut().project();
        this.io
            .as_mut()
            .poll_shutdown(cx)
            .map_err(|e| this.write_failed(e))
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
