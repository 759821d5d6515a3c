//! The demo over HTTP/2: in the clear with prior knowledge (h2c), and over
//! TLS where ALPN picks it, with reqwest as the client.

use futures_util::StreamExt;
use sse::server::ConnectionLimits;
use sse_examples::{demo::Demo, tls};
use std::{net::SocketAddr, time::Duration};

async fn tcp() -> (tokio::net::TcpListener, SocketAddr) {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    (tcp, addr)
}

/// Reads the first tick of a stream, publishing ticks until one comes.
async fn first_tick(demo: &Demo, response: reqwest::Response) -> sse::Event {
    let mut events = sse::read(response);
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            demo.tick().await.unwrap();
            let next = tokio::time::timeout(Duration::from_millis(200), events.next()).await;
            if let Ok(Some(event)) = next {
                return event.unwrap();
            }
        }
    })
    .await
    .expect("a tick within 10 s")
}

#[tokio::test]
async fn the_demo_streams_over_h2c() {
    let demo = Demo::new();
    let (tcp, addr) = tcp().await;
    let router = demo.router();
    tokio::spawn(async move { axum::serve(ConnectionLimits::new().listen(tcp), router).await });
    let client = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let response = client
        .get(format!("http://{addr}/events?topics=feed"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(first_tick(&demo, response).await.event_type(), "tick");
}

#[tokio::test]
async fn the_demo_streams_over_tls_with_http2() {
    let demo = Demo::new();
    let (tcp, addr) = tcp().await;
    let (cert, key) = sse_testkit::tls::certificate();
    let config = tls::config_from(vec![cert.clone()], key).unwrap();
    let listener = tls::TlsListener::new(ConnectionLimits::new().listen(tcp), config).unwrap();
    let router = demo.router();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_der(&cert).unwrap())
        .build()
        .unwrap();
    let response = client
        .get(format!("https://{addr}/events?topics=feed"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.version(),
        reqwest::Version::HTTP_2,
        "ALPN chose h2"
    );
    assert_eq!(first_tick(&demo, response).await.event_type(), "tick");
}
