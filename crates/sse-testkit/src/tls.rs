//! A certificate for TLS tests, made in the test.

use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A self-signed certificate for `127.0.0.1` and `localhost`, new on each
/// call, and its private key: for a TLS server in a test (a client trusts
/// the certificate, a [`Browser`](crate::browser::Browser) any).
///
/// # Panics
///
/// If the certificate cannot be made (it always can).
pub fn certificate() -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let made =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("a self-signed certificate");
    let key = PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
    (made.cert.der().clone(), PrivateKeyDer::Pkcs8(key))
}
