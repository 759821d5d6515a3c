//! A hyper HTTP/1 server for socket tests, running any tower service.

use crate::BOUND;
use hyper::{Request, Response, body::Incoming};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use std::{error::Error, net::SocketAddr};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::{TcpListener, TcpStream},
    sync::oneshot,
    task::JoinHandle,
};

/// A hyper 1 HTTP/1.1 server (hyper-util glue) running a tower service,
/// from [`serve`]. It accepts until it is dropped or
/// [shut down](Served::graceful_shutdown).
#[derive(Debug)]
pub struct Served {
    /// The address it accepts on.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Served {
    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops accepting and waits, boundedly, for every open connection to
    /// finish (hyper-util's graceful shutdown).
    ///
    /// # Panics
    ///
    /// If the connections do not finish within [`BOUND`].
    pub async fn graceful_shutdown(mut self) {
        let _ = self.stop.take().expect("stopped once").send(());
        tokio::time::timeout(BOUND, &mut self.task)
            .await
            .expect("connections did not finish")
            .expect("the server task did not panic");
    }
}

/// Serves `service` on the connections `listener` accepts, each one
/// passed through `wrap` first (for example to apply connection limits),
/// on a task of its own. A failed accept is skipped.
///
/// # Panics
///
/// If `listener` has no local address, or outside a Tokio runtime.
pub fn serve<I, S, B>(
    listener: TcpListener,
    wrap: impl Fn(TcpStream) -> I + Send + 'static,
    service: S,
) -> Served
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn Error + Send + Sync>>,
{
    let addr = listener.local_addr().expect("a bound listener's address");
    let (stop, mut stopped) = oneshot::channel();
    let task = tokio::spawn(async move {
        let graceful = GracefulShutdown::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((io, _)) = accepted else { continue };
                    let conn = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .serve_connection(TokioIo::new(wrap(io)), TowerToHyperService::new(service.clone()));
                    let conn = graceful.watch(conn);
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                }
                _ = &mut stopped => break,
            }
        }
        graceful.shutdown().await;
    });
    Served {
        addr,
        stop: Some(stop),
        task,
    }
}
