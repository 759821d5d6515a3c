//! A self-signed certificate for 127.0.0.1, made in the test, for the TLS
//! tests (HTTP/2 over TLS with reqwest, and in the browser).

use std::sync::Arc;
use tokio_rustls::rustls::{
    ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer},
};

/// The certificate's DER, and a server TLS configuration with it.
pub(crate) fn certificate() -> (Vec<u8>, Arc<ServerConfig>) {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let der = made.cert.der().to_vec();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
    let config =
        sse_examples::tls::config_from(vec![CertificateDer::from(der.clone())], key).unwrap();
    (der, config)
}
