//! What one request may make the hub hold or keep, over real sockets: a
//! subscription's URI templates within a budget of compiled bytes (rows
//! C1, C3).

mod common;

use common::{Events, open, publish, serve, subscribers};
use sse_hub::HubConfig;

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
