//! Serving over TLS with `axum::serve`: HTTP/2 and HTTP/1.1, as ALPN
//! agrees with each client, on connections with [`ConnectionLimits`].
//!
//! [`ConnectionLimits`]: crate::ConnectionLimits

use crate::{LimitedIo, LimitedListener};

use std::{io, net::SocketAddr, path::Path, sync::Arc, time::Duration};
use tokio::{net::TcpStream, sync::mpsc};
/// The rustls of [`ServerConfig`] and the certificate types, so that a
/// caller's match these.
pub use tokio_rustls::rustls;
/// The connections a [`TlsListener`] hands over, over [`LimitedIo`]: its
/// `get_ref().1` is the rustls connection (the protocol ALPN agreed on,
/// say).
pub use tokio_rustls::server::TlsStream;
use tokio_rustls::{
    TlsAcceptor,
    rustls::{
        ServerConfig,
        pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    },
};

/// How long a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A TLS server configuration from a PEM certificate chain and a PEM
/// private key, offering HTTP/2 and HTTP/1.1.
///
/// # Errors
///
/// If a file cannot be read or holds no usable certificate or key.
pub fn config(cert: &Path, key: &Path) -> io::Result<Arc<ServerConfig>> {
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|error| io::Error::other(format!("{}: {error}", cert.display())))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|error| io::Error::other(format!("{}: {error}", key.display())))?;
    config_from(certs, key)
}

/// A TLS server configuration from a certificate chain and a private key,
/// offering HTTP/2 and HTTP/1.1.
///
/// # Errors
///
/// If rustls refuses the certificate or the key.
pub fn config_from(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> io::Result<Arc<ServerConfig>> {
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(io::Error::other)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A listener whose connections are TLS over [`LimitedListener`]
/// connections, for `axum::serve`. Handshakes run in tasks of their own, so
/// a client that never finishes one holds up no other.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<LimitedIo<TcpStream>>, SocketAddr)>,
    addr: SocketAddr,
}

impl TlsListener {
    /// Accepts on `listener` and hands over the connections whose
    /// handshake with `config` succeeds.
    ///
    /// # Errors
    ///
    /// If the listener has no address.
    pub fn new(listener: LimitedListener, config: Arc<ServerConfig>) -> io::Result<TlsListener> {
        let addr = listener.local_addr()?;
        let (done, ready) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        tokio::spawn(async move {
            loop {
                let (io, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        tracing::warn!(%error, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let (acceptor, done) = (acceptor.clone(), done.clone());
                tokio::spawn(async move {
                    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(io));
                    if let Ok(Ok(tls)) = handshake.await {
                        let _ = done.send((tls, peer)).await;
                    }
                });
            }
        });
        Ok(TlsListener { ready, addr })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<LimitedIo<TcpStream>>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, SocketAddr) {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accepting task ended, which it does not: never return.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.addr)
    }
}
