//! The stream itself (rows A1-A5, C7): where the hub answers, `HEAD`, the
//! event-stream format, keep-alive comments, and selectors that never
//! grant private updates.

mod common;

use common::{Events, client, open, publish, serve, subscriber, subscribers};
use futures_util::StreamExt;
use sse_hub::HubConfig;
use std::time::Duration;

fn anonymous() -> HubConfig {
    let mut config = HubConfig::default();
    config.anonymous = true;
    config
}

#[tokio::test]
async fn a1_a2_the_hub_answers_at_its_path_get_subscribes_head_does_not() {
    let served = serve(anonymous()).await;
    assert!(served.url().ends_with("/.well-known/mercure"));
    let head = client()
        .head(format!("{}?topic=t", served.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-type"], "text/event-stream");
    assert_eq!(served.hub.server().provider().subscriber_count(), 0);
    let elsewhere = client()
        .get(format!("http://{}/mercure?topic=t", served.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(elsewhere.status(), 404);
}

#[tokio::test]
async fn a3_a4_a5_events_are_spec_exact_and_an_idle_stream_gets_keep_alive_comments() {
    let mut config = anonymous();
    config.keep_alive = Duration::from_millis(200);
    let served = serve(config).await;
    let response = open(&served, "topic=t", None).await;
    let mut body = response.bytes_stream();
    subscribers(&served, 1).await;
    publish(
        &served,
        &[
            ("topic", "t"),
            ("id", "1"),
            ("data", "line one\r\nline two"),
        ],
    )
    .await;
    let mut text = String::new();
    while !text.contains(": keep-alive") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), body.next())
            .await
            .expect("bytes within 5 s")
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        text.starts_with("id: 1\ndata: line one\ndata: line two\n\n"),
        "{text:?}"
    );
}

#[tokio::test]
async fn c7_selectors_never_grant_private_updates() {
    let served = serve(anonymous()).await;
    // Selectors matching everything, with a token that grants nothing.
    let token = subscriber(&[]);
    let mut selected = Events::new(open(&served, "topic=*&topic=/private/{x}", Some(&token)).await);
    subscribers(&served, 1).await;
    publish(
        &served,
        &[("topic", "/private/1"), ("private", ""), ("data", "no")],
    )
    .await;
    publish(&served, &[("topic", "/private/1"), ("data", "yes")]).await;
    assert_eq!(selected.data(1).await, ["yes"]);
}
