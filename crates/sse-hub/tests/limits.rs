//! What one request may make the hub hold or do, over real sockets: a
//! subscription's URI templates within a budget of compiled bytes (rows
//! C1, C3); a publish's fields (rows B4, B11) and a body that does not
//! come whole; a subscriber's token within the clock leeway past its `exp`
//! (row A8).

mod common;

use common::{Events, SUBSCRIBER_SECRET, open, post, publish, publisher, serve, subscribers};
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::json;
use sse_hub::HubConfig;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn anonymous() -> HubConfig {
    let mut config = HubConfig::default();
    config.anonymous = true;
    config
}

/// A query of `topic` parameters, one per selector, percent-encoded.
fn query<S: AsRef<str>>(selectors: impl IntoIterator<Item = S>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for selector in selectors {
        query.append_pair("topic", selector.as_ref());
    }
    query.finish()
}

#[tokio::test]
async fn c1_c3_templates_that_would_hold_more_than_the_budget_are_refused() {
    let served = serve(anonymous()).await;
    // A few hundred bytes each, each near the compiled-size bound: eleven
    // of them would hold more than 1 MiB.
    let heavy: Vec<String> = (0..11)
        .map(|i| format!("/{i}/{}", "{a}".repeat(120)))
        .collect();
    let response = open(&served, &query(&heavy), None).await;
    assert_eq!(response.status(), 400);
    let reason = response.text().await.unwrap();
    assert!(reason.contains("URI templates"), "{reason}");
    assert!(reason.contains("1048576 bytes"), "{reason}");
    // Fewer are served.
    let response = open(&served, &query(&heavy[..3]), None).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn c1_c3_twenty_realistic_templates_are_served_and_a_repeated_one_counts_once() {
    let served = serve(anonymous()).await;
    let templates: Vec<String> = (0..20)
        .map(|i| format!("https://example.com/r{i}/{{id}}"))
        .collect();
    let mut events = Events::new(open(&served, &query(&templates), None).await);
    subscribers(&served, 1).await;
    publish(
        &served,
        &[("topic", "https://example.com/r7/5"), ("data", "seven")],
    )
    .await;
    assert_eq!(events.data(1).await, ["seven"]);

    let mut config = anonymous();
    config.max_template_bytes = 40 << 10;
    let served = serve(config).await;
    let two = ["/a/{id}", "/b/{id}"];
    let response = open(&served, &query(two), None).await;
    assert_eq!(response.status(), 400);
    let same = std::iter::repeat_n("/a/{id}", 500);
    let response = open(&served, &query(same), None).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn b4_f5_an_empty_id_gets_one_made_by_the_hub_and_earliest_or_a_control_character_is_refused()
{
    let served = serve(anonymous()).await;
    let mut events = Events::new(open(&served, "topic=t", None).await);
    subscribers(&served, 1).await;
    let id = publish(&served, &[("topic", "t"), ("id", ""), ("data", "a")]).await;
    assert!(id.starts_with("urn:uuid:"), "{id:?}");
    let event = events.next().await;
    assert_eq!(event.last_event_id().as_str(), id);

    let response = post(
        &served,
        &publisher(&["t"]),
        &[("topic", "t"), ("id", "earliest")],
    )
    .await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("earliest"));
    // A control character no `Last-Event-ID` header could carry back.
    let response = post(
        &served,
        &publisher(&["t"]),
        &[("topic", "t"), ("id", "a\u{1}b")],
    )
    .await;
    assert_eq!(response.status(), 400);
    assert!(events.is_quiet().await);
}

#[tokio::test]
async fn b11_a_topic_over_the_field_limit_is_refused_and_data_is_bounded_by_the_body() {
    let served = serve(anonymous()).await;
    let token = publisher(&["*"]);
    let long = format!("/{}", "t".repeat(sse_hub::DEFAULT_MAX_FIELD));
    let response = post(&served, &token, &[("topic", &long)]).await;
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("topic field"));
    let data = "d".repeat(100_000);
    let response = post(&served, &token, &[("topic", "t"), ("data", &data)]).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_publish_whose_body_stops_short_is_a_bad_request_not_one_too_large() {
    let served = serve(anonymous()).await;
    let mut socket = tokio::net::TcpStream::connect(served.addr).await.unwrap();
    let head = format!(
        "POST /.well-known/mercure HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {}\r\n\
         content-type: application/x-www-form-urlencoded\r\ncontent-length: 1000\r\n\r\n\
         topic=t&data=",
        served.addr,
        publisher(&["t"])
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    // The rest never comes: the client stops sending.
    socket.shutdown().await.unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("could not be read"), "{answer}");
}

#[tokio::test]
async fn a8_a_subscribers_token_past_its_exp_is_refused_within_the_leeway_too() {
    let served = serve(HubConfig::default()).await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = |exp: u64| json!({ "exp": exp, "mercure": { "subscribe": ["*"] } });
    let sign = |exp: u64| {
        encode(
            &Header::default(),
            &claims(exp),
            &EncodingKey::from_secret(SUBSCRIBER_SECRET.as_bytes()),
        )
        .unwrap()
    };
    // Two seconds ago: within the five seconds' leeway a publisher gets.
    let response = open(&served, "topic=t", Some(&sign(now - 2))).await;
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("invalid_token"), "{challenge}");
    assert!(response.text().await.unwrap().contains("expired"));
    let response = open(&served, "topic=t", Some(&sign(now + 60))).await;
    assert_eq!(response.status(), 200);
}
