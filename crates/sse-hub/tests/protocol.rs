//! The protocol over real sockets, row by row of the requirement list
//! (`../shared/hub/REQUIREMENTS.md`): a hub on Joe, reqwest publishing and
//! subscribing.

mod common;

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use common::{
    Events, PUBLISHER_SECRET, client, open, post, publish, publisher, serve, subscriber,
    subscribers, token,
};
use futures_util::StreamExt;
use serde_json::json;
use sse_hub::HubConfig;
use std::time::Duration;

fn anonymous() -> HubConfig {
    let mut config = HubConfig::default();
    config.anonymous = true;
    config
}

#[tokio::test]
async fn b8_c2_c6_a_published_update_reaches_the_matching_selectors_once() {
    let served = serve(anonymous()).await;
    let selectors = "topic=https://example.com/books/{id}&topic=https://example.com/books/1";
    let mut templated = Events::new(open(&served, selectors, None).await);
    let mut everything = Events::new(open(&served, "topic=*", None).await);
    let mut other = Events::new(open(&served, "topic=https://example.com/authors/1", None).await);
    subscribers(&served, 3).await;

    let id = publish(
        &served,
        &[("topic", "https://example.com/books/1"), ("data", "Dune")],
    )
    .await;
    assert!(id.starts_with("urn:uuid:"), "{id}");
    for events in [&mut templated, &mut everything] {
        let event = events.next().await;
        assert_eq!(
            (event.data(), event.last_event_id().as_str()),
            ("Dune", id.as_str())
        );
        assert!(events.is_quiet().await, "once, though two selectors match");
    }
    assert!(other.is_quiet().await);
}

#[tokio::test]
async fn b2_an_update_with_two_topics_reaches_a_subscriber_of_the_second() {
    let served = serve(anonymous()).await;
    let mut second = Events::new(open(&served, "topic=/authors/7", None).await);
    subscribers(&served, 1).await;
    publish(
        &served,
        &[
            ("topic", "/books/1"),
            ("topic", "/authors/7"),
            ("data", "x"),
        ],
    )
    .await;
    assert_eq!(second.data(1).await, ["x"]);
}

#[tokio::test]
async fn b4_b5_b6_the_publishers_id_type_and_retry_are_kept() {
    let served = serve(anonymous()).await;
    let mut events = Events::new(open(&served, "topic=t", None).await);
    subscribers(&served, 1).await;
    // The same stream as bytes: `retry` is no field of a parsed event.
    let mut text = open(&served, "topic=t", None).await.bytes_stream();
    subscribers(&served, 2).await;
    let id = publish(
        &served,
        &[
            ("topic", "t"),
            ("id", "/books/1/v2"),
            ("type", "update"),
            ("retry", "1500"),
            ("data", "d"),
        ],
    )
    .await;
    assert_eq!(id, "/books/1/v2");
    let event = events.next().await;
    assert_eq!(
        (event.event_type(), event.last_event_id().as_str()),
        ("update", "/books/1/v2")
    );
    let mut written = String::new();
    while !written.contains("\n\n") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), text.next())
            .await
            .expect("bytes within 10 s")
            .unwrap()
            .unwrap();
        written.push_str(&String::from_utf8_lossy(&chunk));
    }
    let lines: Vec<&str> = written.lines().collect();
    assert!(lines.contains(&"retry: 1500"), "{written:?}");
}

#[tokio::test]
async fn b9_d4_a_publisher_not_granted_every_topic_gets_403_and_nothing_is_dispatched() {
    let served = serve(anonymous()).await;
    let mut events = Events::new(open(&served, "topic=*", None).await);
    subscribers(&served, 1).await;
    let only_books = publisher(&["/books/{id}"]);
    let response = post(
        &served,
        &only_books,
        &[
            ("topic", "/books/1"),
            ("topic", "/authors/1"),
            ("data", "x"),
        ],
    )
    .await;
    assert_eq!(response.status(), 403);
    let reason = response.text().await.unwrap();
    assert!(reason.contains("/authors/1"), "{reason}");
    assert!(events.is_quiet().await, "nothing dispatched");
}

#[tokio::test]
async fn d5_refused_tokens_say_why() {
    let served = serve(anonymous()).await;
    let form = [("topic", "t"), ("data", "x")];
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({ "exp": 1_000_000_000, "mercure": { "publish": ["*"] } }),
        &jsonwebtoken::EncodingKey::from_secret(PUBLISHER_SECRET.as_bytes()),
    )
    .unwrap();
    let wrong_key = token(
        "another secret of at least 32 bytes!!",
        json!({ "publish": ["*"] }),
    );
    for (token, says) in [
        (expired.as_str(), "expired"),
        (wrong_key.as_str(), "signature"),
        ("not.a.token", "token"),
    ] {
        let response = post(&served, token, &form).await;
        assert_eq!(response.status(), 401, "{says}");
        let header = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(header.contains("invalid_token"), "{header}");
        assert!(response.text().await.unwrap().contains(says), "{says}");
    }
    let response = client().post(served.url()).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
}

/// POSTs an update with each token of `refused` (and what its `401` must
/// say) while a subscriber of every topic listens, then a granted update:
/// the subscriber's first event is that one, so none of the refused was
/// dispatched.
async fn refused_and_not_dispatched(served: &common::Served, refused: &[(&str, &[&str])]) {
    let mut events = Events::new(open(served, "topic=*", None).await);
    subscribers(served, 1).await;
    for (token, says) in refused {
        let response = post(served, token, &[("topic", "t"), ("data", "refused")]).await;
        assert_eq!(response.status(), 401, "{says:?}");
        let header = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(header.starts_with("Bearer "), "{header}");
        assert!(header.contains("error=\"invalid_token\""), "{header}");
        assert!(header.contains("error_description=\""), "{header}");
        let body = response.text().await.unwrap();
        for said in *says {
            assert!(header.contains(said), "{said} in {header}");
            assert!(body.contains(said), "{said} in {body}");
        }
    }
    publish(served, &[("topic", "t"), ("data", "granted")]).await;
    assert_eq!(events.data(1).await, ["granted"]);
}

#[tokio::test]
async fn d5_an_unsigned_token_alg_none_is_refused_and_not_dispatched() {
    let served = serve(anonymous()).await;
    let part = |json: serde_json::Value| URL_SAFE_NO_PAD.encode(json.to_string());
    let claims = part(json!({ "mercure": { "publish": ["*"] } }));
    let unsigned = format!("{}.{claims}.", part(json!({ "alg": "none", "typ": "JWT" })));
    // The name's case does not make it another algorithm.
    let upper = format!("{}.{claims}.", part(json!({ "alg": "NONE" })));
    refused_and_not_dispatched(
        &served,
        &[(&unsigned, &["alg none"]), (&upper, &["alg none"])],
    )
    .await;
}

#[tokio::test]
async fn d5_a_token_of_another_algorithm_than_the_keys_is_refused_and_not_dispatched() {
    let served = serve(anonymous()).await;
    // The right secret, so that only the algorithm is wrong.
    let hs384 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS384),
        &json!({ "mercure": { "publish": ["*"] } }),
        &jsonwebtoken::EncodingKey::from_secret(PUBLISHER_SECRET.as_bytes()),
    )
    .unwrap();
    refused_and_not_dispatched(&served, &[(&hs384, &["HS384", "HS256"])]).await;
}

#[tokio::test]
async fn b4_b6_an_id_with_a_hash_or_a_retry_not_a_number_gets_400_and_not_dispatched() {
    let served = serve(anonymous()).await;
    let mut events = Events::new(open(&served, "topic=t", None).await);
    subscribers(&served, 1).await;
    let token = publisher(&["t"]);
    for (field, value) in [("id", "#frag"), ("retry", "abc")] {
        let response = post(
            &served,
            &token,
            &[("topic", "t"), (field, value), ("data", "x")],
        )
        .await;
        assert_eq!(response.status(), 400, "{field}={value}");
        let reason = response.text().await.unwrap();
        assert!(reason.contains(value), "{field}={value}: {reason}");
    }
    publish(&served, &[("topic", "t"), ("data", "kept")]).await;
    assert_eq!(events.data(1).await, ["kept"]);
}

#[tokio::test]
async fn healthz_answers_200_ok() {
    let served = serve(HubConfig::default()).await;
    let response = client()
        .get(format!("http://{}/healthz", served.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap().trim_end(), "ok");
}

#[tokio::test]
async fn e1_e2_private_updates_reach_only_granted_subscribers() {
    let served = serve(anonymous()).await;
    let granted = subscriber(&["/users/{id}"]);
    let other = subscriber(&["/users/8"]);
    let mut public = Events::new(open(&served, "topic=/users/7", None).await);
    let mut mine = Events::new(open(&served, "topic=/users/7", Some(&granted)).await);
    let mut theirs = Events::new(open(&served, "topic=*", Some(&other)).await);
    let mut template = Events::new(open(&served, "topic=/users/{id}", Some(&granted)).await);
    subscribers(&served, 4).await;
    publish(
        &served,
        &[("topic", "/users/7"), ("private", "on"), ("data", "secret")],
    )
    .await;
    publish(&served, &[("topic", "/users/7"), ("data", "public")]).await;
    assert_eq!(mine.data(2).await, ["secret", "public"]);
    assert_eq!(template.data(2).await, ["secret", "public"]);
    assert_eq!(public.data(1).await, ["public"]);
    assert_eq!(theirs.data(1).await, ["public"]);
}

#[tokio::test]
async fn d7_without_anonymous_a_subscriber_needs_a_token() {
    let served = serve(HubConfig::default()).await;
    let response = open(&served, "topic=t", None).await;
    assert_eq!(response.status(), 401);
    let response = open(&served, "topic=t", Some(&subscriber(&[]))).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn c1_a_subscription_without_topic_is_refused() {
    let served = serve(anonymous()).await;
    assert_eq!(open(&served, "", None).await.status(), 400);
}

#[tokio::test]
async fn f2_f3_f4_f6_a_resume_gets_what_followed_and_the_header_says_from_where() {
    let served = serve(anonymous()).await;
    let ids: Vec<String> = {
        let mut ids = Vec::new();
        for data in ["a", "b", "c"] {
            ids.push(publish(&served, &[("topic", "t"), ("data", data)]).await);
        }
        ids
    };
    // The query parameter, then the header winning over it.
    let query = format!("topic=t&lastEventID={}", ids[0]);
    let response = open(&served, &query, None).await;
    assert_eq!(response.headers()["last-event-id"], ids[0].as_str());
    assert_eq!(Events::new(response).data(2).await, ["b", "c"]);
    let response = client()
        .get(format!("{}?{query}", served.url()))
        .header("last-event-id", ids[1].as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["last-event-id"], ids[1].as_str());
    assert_eq!(Events::new(response).data(1).await, ["c"]);
}

#[tokio::test]
async fn f5_f6_earliest_and_an_unknown_id_get_everything_retained() {
    let served = serve(anonymous()).await;
    for data in ["a", "b"] {
        publish(&served, &[("topic", "t"), ("data", data)]).await;
    }
    for cursor in ["earliest", "urn:uuid:unknown"] {
        let response = open(&served, &format!("topic=t&lastEventID={cursor}"), None).await;
        assert_eq!(response.headers()["last-event-id"], "earliest", "{cursor}");
        assert_eq!(Events::new(response).data(2).await, ["a", "b"], "{cursor}");
    }
    // A new subscriber gets live updates only, and no header.
    let response = open(&served, "topic=t", None).await;
    assert!(response.headers().get("last-event-id").is_none());
    let mut events = Events::new(response);
    subscribers(&served, 1).await;
    publish(&served, &[("topic", "t"), ("data", "live")]).await;
    assert_eq!(events.data(1).await, ["live"]);
}

#[tokio::test]
async fn a10_the_stream_is_not_stored() {
    let served = serve(anonymous()).await;
    let response = open(&served, "topic=t", None).await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(
        response.headers()["cache-control"],
        "private, no-cache, no-store, must-revalidate, max-age=0"
    );
}

#[tokio::test]
async fn b1_b11_a_body_that_is_no_form_or_too_large_is_refused() {
    let mut config = anonymous();
    config.max_body = 64;
    let served = serve(config).await;
    let token = publisher(&["*"]);
    let json = client()
        .post(served.url())
        .bearer_auth(&token)
        .json(&json!({ "topic": "t" }))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 415);
    let big = "x".repeat(100);
    let response = post(&served, &token, &[("topic", "t"), ("data", &big)]).await;
    assert_eq!(response.status(), 413);
    let response = post(&served, &token, &[("data", "no topic")]).await;
    assert_eq!(response.status(), 400);
}

/// A publish as Symfony's Mercure component sends it: a token from its
/// JWT factory (HS256, a float `exp`, the `mercure` claim's three lists),
/// a body PHP's `urlencode` wrote (`+` for a space, every reserved
/// character escaped), two topics and `private=on`; the answer it reads
/// as the update's ID; a subscriber granted the second topic gets it.
#[tokio::test]
async fn b1_b2_b3_b8_d5_e2_a_publish_as_symfony_sends_it() {
    use jsonwebtoken::{EncodingKey, Header, encode};
    let served = serve(HubConfig::default()).await;
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        + 3600.5;
    let claims = json!({
        "mercure": { "publish": ["*"], "subscribe": [], "payload": [] },
        "exp": exp,
    });
    let token = encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(PUBLISHER_SECRET.as_bytes()),
    )
    .unwrap();
    let granted = subscriber(&["https://example.com/users/{id}/books"]);
    let mut events = Events::new(
        open(
            &served,
            "topic=https%3A%2F%2Fexample.com%2Fusers%2F7%2Fbooks",
            Some(&granted),
        )
        .await,
    );
    subscribers(&served, 1).await;
    let body = "topic=https%3A%2F%2Fexample.com%2Fbooks%2F1\
                &topic=https%3A%2F%2Fexample.com%2Fusers%2F7%2Fbooks\
                &data=%7B%22title%22%3A%22The+Left+Hand+of+Darkness%22%7D&private=on";
    let response = client()
        .post(served.url())
        .bearer_auth(&token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let id = response.text().await.unwrap();
    assert!(id.starts_with("urn:uuid:"), "{id}");
    let event = events.next().await;
    assert_eq!(event.data(), r#"{"title":"The Left Hand of Darkness"}"#);
    assert_eq!(event.last_event_id().as_str(), id);
}
