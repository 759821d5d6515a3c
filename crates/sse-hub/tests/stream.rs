//! The stream itself (rows A1-A5, A8, C7): where the hub answers, `HEAD`,
//! the event-stream format, keep-alive comments, the end at the token's
//! `exp`, and selectors that never grant private updates.

mod common;

use common::{Events, SUBSCRIBER_SECRET, client, open, publish, serve, subscriber, subscribers};
use futures_util::StreamExt;
use serde_json::json;
use sse_hub::HubConfig;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

#[tokio::test]
async fn a8_the_stream_ends_at_the_tokens_exp() {
    // Without active subscriptions: the stream's own deadline, not the
    // end of a tracked subscription.
    let served = serve(HubConfig::default()).await;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let exp = now.as_secs() + 2;
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({ "mercure": { "subscribe": [] }, "exp": exp }),
        &jsonwebtoken::EncodingKey::from_secret(SUBSCRIBER_SECRET.as_bytes()),
    )
    .unwrap();
    let mut events = Events::new(open(&served, "topic=t", Some(&token)).await);
    subscribers(&served, 1).await;
    publish(&served, &[("topic", "t"), ("data", "before exp")]).await;
    assert_eq!(events.data(1).await, ["before exp"]);
    let after = events.next_or_end().await;
    assert!(after.is_none(), "only the end after the update: {after:?}");
    let ended = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let exp = Duration::from_secs(exp);
    assert!(
        ended >= exp - Duration::from_secs(1),
        "ended {:?} before exp",
        exp - ended
    );
    assert!(
        ended <= exp + Duration::from_secs(3),
        "ended {:?} after exp",
        ended - exp
    );
    subscribers(&served, 0).await;
}
