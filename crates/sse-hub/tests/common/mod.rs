//! A hub on Joe served on 127.0.0.1, tokens signed here, and a reader of
//! its streams.

#![allow(dead_code, unreachable_pub)]

pub mod nodes;

use futures_util::StreamExt;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};
use sse_hub::{
    Hub, HubConfig,
    auth::{Algorithm, Key, Keys},
};
use sse_joe::{FiniteReplayer, Joe};
use std::{net::SocketAddr, time::Duration};

pub const PUBLISHER_SECRET: &str = "publisher secret of at least 32 bytes!";
pub const SUBSCRIBER_SECRET: &str = "subscriber secret of at least 32 bytes";

pub struct Served {
    pub hub: Hub<Joe>,
    pub addr: SocketAddr,
}

impl Served {
    pub fn url(&self) -> String {
        format!("http://{}/.well-known/mercure", self.addr)
    }
}

/// A hub on a Joe that keeps the last `history` updates, served with
/// `axum::serve`.
pub async fn serve(config: HubConfig) -> Served {
    serve_history(config, 10_000).await
}

pub async fn serve_history(config: HubConfig, history: usize) -> Served {
    let joe = Joe::builder()
        .replayer(FiniteReplayer::new(history))
        .build();
    let keys = Keys::new(
        Key::new(Algorithm::Hs256, PUBLISHER_SECRET).unwrap(),
        Key::new(Algorithm::Hs256, SUBSCRIBER_SECRET).unwrap(),
    );
    let hub = Hub::new(joe, keys, config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = hub.router();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Served { hub, addr }
}

/// A token signed with `secret` (HS256) whose `mercure` claim is `claim`.
pub fn token(secret: &str, claim: Value) -> String {
    encode(
        &Header::default(),
        &json!({ "mercure": claim }),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// A publisher token granting `topics`.
pub fn publisher(topics: &[&str]) -> String {
    token(PUBLISHER_SECRET, json!({ "publish": topics }))
}

/// A subscriber token granting `topics` (private updates of them).
pub fn subscriber(topics: &[&str]) -> String {
    token(SUBSCRIBER_SECRET, json!({ "subscribe": topics }))
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// POSTs a form with the publisher token `token`: the response.
pub async fn post(served: &Served, token: &str, form: &[(&str, &str)]) -> reqwest::Response {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    client()
        .post(served.url())
        .bearer_auth(token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Publishes and checks the answer: 200, text/plain, the ID. Returns it.
pub async fn publish(served: &Served, form: &[(&str, &str)]) -> String {
    let topics: Vec<&str> = form
        .iter()
        .filter(|(name, _)| *name == "topic")
        .map(|(_, value)| *value)
        .collect();
    let response = post(served, &publisher(&topics), form).await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    response.text().await.unwrap()
}

/// Opens a subscription with the query `query` and optional token.
pub async fn open(served: &Served, query: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = client().get(format!("{}?{query}", served.url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// The events of a subscription's response.
pub struct Events(std::pin::Pin<Box<dyn futures_util::Stream<Item = sse_codec::Event> + Send>>);

impl Events {
    pub fn new(response: reqwest::Response) -> Events {
        assert_eq!(response.status(), 200);
        let events = sse_client::read(response).filter_map(|event| async move { event.ok() });
        Events(Box::pin(events))
    }

    /// The next event, within 10 s.
    pub async fn next(&mut self) -> sse_codec::Event {
        tokio::time::timeout(Duration::from_secs(10), self.0.next())
            .await
            .expect("an event within 10 s")
            .expect("the stream goes on")
    }

    /// Whether no event comes within 300 ms.
    pub async fn is_quiet(&mut self) -> bool {
        tokio::time::timeout(Duration::from_millis(300), self.0.next())
            .await
            .is_err()
    }

    /// The data of the next `n` events.
    pub async fn data(&mut self, n: usize) -> Vec<String> {
        let mut data = Vec::new();
        for _ in 0..n {
            data.push(self.next().await.data().to_owned());
        }
        data
    }
}

/// Waits until the hub's provider has `n` subscribers.
pub async fn subscribers(served: &Served, n: usize) {
    for _ in 0..400 {
        if served.hub.server().provider().subscriber_count() == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("not {n} subscribers");
}
