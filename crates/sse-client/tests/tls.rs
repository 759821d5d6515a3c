//! TLS: a server certificate the client refuses ends the connection at
//! once, with an error that says so, and a trusted one streams.
// A local server on a socket: not in the browser.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{
    End, Server, certificate, expect_open, fast, next, stream, updates_and_error, within,
};
use futures_util::StreamExt;

/// A client that would retry quickly, a few times, if it retried at all.
fn retrying_client(http: reqwest::Client) -> sse_client::Client {
    fast()
        .max_retries(Some(3))
        .http_client(http)
        .build()
        .unwrap()
}

/// The error that ended a connection to `server`, which must be the first
/// and only item, and the server must have seen no request.
async fn refusal(server: &Server, http: reqwest::Client) -> sse_client::Error {
    let client = retrying_client(http);
    let (updates, err) = updates_and_error(&mut client.get(&server.url)).await;
    assert_eq!(updates, Vec::<String>::new(), "no retry, no update");
    assert!(server.seen().is_empty());
    err.expect("an error ends the connection")
}

fn assert_says_refused(err: &sse_client::Error) {
    assert_eq!(err.to_string(), "the server's TLS certificate was refused");
    assert!(err.is_certificate(), "{err:?}");
    assert!(!err.is_transport());
    assert!(err.is_permanent());
    // The reason is in the source chain, as the TLS library gives it.
    let mut causes = Vec::new();
    let mut cause = std::error::Error::source(err);
    while let Some(err) = cause {
        causes.push(err.to_string());
        cause = err.source();
    }
    assert!(
        causes.last().unwrap().contains("invalid peer certificate"),
        "{causes:?}"
    );
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused_without_retrying() {
    let (_, tls) = certificate(false);
    let server = Server::start_tls(tls, |_, _| stream(&["data: a\n\n"], End::Close)).await;
    let err = refusal(&server, reqwest::Client::new()).await;
    assert_says_refused(&err);
}

/// `openssl req -x509` makes a CA's certificate (CA:TRUE), which is no
/// server's certificate even when trusted.
#[tokio::test]
async fn a_trusted_ca_certificate_as_the_servers_is_refused() {
    let (trusted, tls) = certificate(true);
    let server = Server::start_tls(tls, |_, _| stream(&["data: a\n\n"], End::Close)).await;
    let http = reqwest::Client::builder()
        .add_root_certificate(trusted)
        .build()
        .unwrap();
    let err = refusal(&server, http).await;
    assert_says_refused(&err);
}

#[tokio::test]
async fn a_trusted_certificate_streams() {
    let (trusted, tls) = certificate(false);
    let server = Server::start_tls(tls, |_, _| stream(&["data: a\n\n"], End::Hang)).await;
    let http = reqwest::Client::builder()
        .add_root_certificate(trusted)
        .build()
        .unwrap();
    let mut connection = retrying_client(http).get(&server.url);
    let open = expect_open(within(connection.next()).await);
    assert_eq!(open.version(), reqwest::Version::HTTP_2, "ALPN chose h2");
    assert_eq!(next(&mut connection).await, r#"event message "a" id="#);
}

/// The one-shot path: a request sent with the client's `reqwest::Client`
/// for `read`, whose error converts into the connection's.
#[tokio::test]
async fn a_one_shot_request_reports_the_refused_certificate_too() {
    let (_, tls) = certificate(false);
    let server = Server::start_tls(tls, |_, _| stream(&["data: a\n\n"], End::Close)).await;
    let client = sse_client::Client::new();
    let read = async {
        let response = client.http().post(&server.url).body("{}").send().await?;
        let mut events = client.read(response);
        events.next().await.transpose()
    };
    let err = within(read).await.unwrap_err();
    assert_says_refused(&err);
    assert!(server.seen().is_empty());
}
