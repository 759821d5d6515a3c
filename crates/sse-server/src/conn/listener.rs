//! Accepting connections with the limits applied.

use super::{ConnectionLimits, LimitedIo};
#[cfg(feature = "axum")]
use std::time::Duration;
use std::{io, net::SocketAddr};
use tokio::net::{TcpListener, TcpStream};

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

impl ConnectionLimits {
    /// A listener whose connections get these limits.
    pub fn listen(self, listener: TcpListener) -> LimitedListener {
        LimitedListener {
            listener,
            limits: self,
        }
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
