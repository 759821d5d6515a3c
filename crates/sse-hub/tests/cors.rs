//! What a browser's requests meet, sent with reqwest: CORS with an explicit
//! allowlist and credentials (row A7), the CSRF check of cookie-authorized
//! publishes (D8), and which of a request's tokens counts (D1, D2, D3).

mod common;

use common::{
    Events, PUBLISHER_SECRET, SUBSCRIBER_SECRET, client, publish, publisher, serve, subscriber,
    subscribers,
};
use serde_json::json;
use sse_hub::{
    ConfigError, Hub, HubConfig,
    auth::{Algorithm, Key, Keys},
};
use sse_joe::Joe;

const APP: &str = "https://app.example.com";
const EVIL: &str = "https://evil.example";

fn cors(origins: &[&str]) -> HubConfig {
    let mut config = HubConfig::default();
    config.anonymous = true;
    config.cors_origins = origins.iter().map(|&o| o.to_owned()).collect();
    config
}

fn keys() -> Keys {
    Keys::new(
        Key::new(Algorithm::Hs256, PUBLISHER_SECRET).unwrap(),
        Key::new(Algorithm::Hs256, SUBSCRIBER_SECRET).unwrap(),
    )
}

/// The comma-separated values of `name`, lowercased.
fn list(response: &reqwest::Response, name: &str) -> Vec<String> {
    response
        .headers()
        .get_all(name)
        .iter()
        .flat_map(|value| value.to_str().unwrap().split(','))
        .map(|item| item.trim().to_ascii_lowercase())
        .filter(|item| !item.is_empty())
        .collect()
}

async fn preflight(url: &str, origin: &str, method: &str, headers: &str) -> reqwest::Response {
    client()
        .request(reqwest::Method::OPTIONS, url)
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", headers)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a7_a_preflight_from_an_allowed_origin_is_answered_with_credentials() {
    let served = serve(cors(&[APP, "http://localhost:8000"])).await;
    // A page's fetch that publishes with a bearer token, and an
    // EventSource polyfill that sends Last-Event-ID itself.
    for (method, headers) in [
        ("POST", "authorization,content-type"),
        ("GET", "authorization,cache-control,last-event-id"),
    ] {
        for origin in [APP, "http://localhost:8000"] {
            let response = preflight(&served.url(), origin, method, headers).await;
            assert!(response.status().is_success(), "{}", response.status());
            let h = response.headers();
            assert_eq!(
                h["access-control-allow-origin"], origin,
                "never * nor another"
            );
            assert_eq!(h["access-control-allow-credentials"], "true");
            let allowed = list(&response, "access-control-allow-headers");
            for header in ["authorization", "cache-control", "last-event-id"] {
                assert!(allowed.iter().any(|a| a == header), "{header}: {allowed:?}");
            }
            assert!(
                list(&response, "access-control-allow-methods")
                    .iter()
                    .any(|m| m == &method.to_ascii_lowercase()),
                "{method}"
            );
            assert!(list(&response, "vary").iter().any(|v| v == "origin"));
        }
    }
}

#[tokio::test]
async fn a7_an_allowed_origins_stream_and_publish_carry_credentials_and_expose_last_event_id() {
    let served = serve(cors(&[APP])).await;
    let response = client()
        .get(format!("{}?topic=t", served.url()))
        .header("origin", APP)
        .header("last-event-id", "earliest")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["access-control-allow-origin"], APP);
    assert_eq!(
        response.headers()["access-control-allow-credentials"],
        "true"
    );
    assert!(
        list(&response, "access-control-expose-headers")
            .iter()
            .any(|h| h == "last-event-id"),
        "a page reads where its stream resumed (row F6)"
    );
    assert_eq!(response.headers()["last-event-id"], "earliest");

    let publish = client()
        .post(served.url())
        .header("origin", APP)
        .bearer_auth(publisher(&["t"]))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("topic=t&data=x")
        .send()
        .await
        .unwrap();
    assert_eq!(publish.status(), 200);
    assert_eq!(publish.headers()["access-control-allow-origin"], APP);
    assert_eq!(
        publish.headers()["access-control-allow-credentials"],
        "true"
    );
}

#[tokio::test]
async fn a7_d4_a_page_can_read_why_its_token_was_refused() {
    let served = serve(cors(&[APP])).await;
    let refused = client()
        .post(served.url())
        .header("origin", APP)
        .bearer_auth(publisher(&["other"]))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("topic=t&data=x")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.headers()["access-control-allow-origin"], APP);
    assert!(
        list(&refused, "access-control-expose-headers")
            .iter()
            .any(|h| h == "www-authenticate"),
        "fetch shows a page only the headers it is allowed to read"
    );
    let challenge = refused.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
}

#[tokio::test]
async fn a7_a_disallowed_origin_gets_no_cors_headers() {
    let served = serve(cors(&[APP])).await;
    // Near misses of the allowed origin are other origins.
    for origin in [
        EVIL,
        "http://app.example.com",
        "https://app.example.com:8443",
        "https://app.example.com.evil.example",
        "null",
    ] {
        let response = preflight(&served.url(), origin, "POST", "authorization").await;
        for name in [
            "access-control-allow-origin",
            "access-control-allow-credentials",
        ] {
            assert!(
                response.headers().get(name).is_none(),
                "{origin}: {name} {:?}",
                response.headers().get(name)
            );
        }
        let stream = client()
            .get(format!("{}?topic=t", served.url()))
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert!(
            stream
                .headers()
                .get("access-control-allow-origin")
                .is_none(),
            "{origin}"
        );
    }

    // Without an allowlist, no origin is allowed.
    let closed = serve(cors(&[])).await;
    let response = preflight(&closed.url(), APP, "GET", "last-event-id").await;
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn a7_an_origin_is_configured_as_browsers_write_it_or_with_a_slash_or_capitals() {
    let served = serve(cors(&["https://App.Example.com/", "HTTP://localhost:8000"])).await;
    for origin in [APP, "http://localhost:8000"] {
        let response = preflight(&served.url(), origin, "GET", "last-event-id").await;
        assert_eq!(response.headers()["access-control-allow-origin"], origin);
        assert_eq!(
            response.headers()["access-control-allow-credentials"],
            "true"
        );
    }
}

#[test]
fn a7_a_wildcard_or_what_is_not_an_origin_is_refused_by_hub_new() {
    for origin in [
        "*",
        "app.example.com",
        "null",
        "https://app.example.com\n",
        "https://app.example.com/books",
        "https://",
    ] {
        match Hub::new(Joe::new(), keys(), cors(&[APP, origin])) {
            Err(ConfigError::CorsOrigin(refused)) => {
                assert_eq!(refused, origin);
                let message = ConfigError::CorsOrigin(refused).to_string();
                assert!(message.contains("not an origin"), "{message}");
            }
            other => panic!("{origin:?}: {other:?}"),
        }
    }
    assert!(Hub::new(Joe::new(), keys(), cors(&[APP])).is_ok());
}

/// A cookie-authorized POST, as a browser sends it: the cookie whatever
/// page made it, `Origin` and `Referer` as given.
async fn cookie_publish(
    url: &str,
    origin: Option<&str>,
    referer: Option<&str>,
    topic: &str,
) -> reqwest::Response {
    let mut request = client()
        .post(url)
        .header(
            "cookie",
            format!("mercureAuthorization={}", publisher(&["*"])),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("topic={topic}&data={topic}"));
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    if let Some(referer) = referer {
        request = request.header("referer", referer);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn d8_a_cookie_publish_from_a_disallowed_origin_is_refused_with_the_reason() {
    let mut config = cors(&[APP, EVIL]);
    config.publish_origins = vec![APP.to_owned()];
    let served = serve(config).await;
    let mut events = Events::new(common::open(&served, "topic=*", None).await);
    subscribers(&served, 1).await;

    // Allowed to read the hub's answers (CORS) is not allowed to publish.
    let refused = cookie_publish(&served.url(), Some(EVIL), None, "evil").await;
    assert_eq!(refused.status(), 403);
    let challenge = refused.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("invalid_request"), "{challenge}");
    assert!(challenge.contains(EVIL), "{challenge}");
    let body = refused.text().await.unwrap();
    assert_eq!(
        body,
        "publishing by cookie is not allowed from 'https://evil.example'\n"
    );

    let referer = cookie_publish(
        &served.url(),
        None,
        Some("https://evil.example/page?x=1"),
        "evil-referer",
    )
    .await;
    assert_eq!(referer.status(), 403);
    assert!(referer.text().await.unwrap().contains(EVIL));

    let anonymous = cookie_publish(&served.url(), None, None, "no-origin").await;
    assert_eq!(anonymous.status(), 403);
    assert_eq!(
        anonymous.text().await.unwrap(),
        "a publish authorized by cookie must have an origin or a referer header\n"
    );

    // Nothing of the refused publishes reached the subscriber.
    publish(&served, &[("topic", "end"), ("data", "end")]).await;
    assert_eq!(events.data(1).await, ["end"]);
}

#[tokio::test]
async fn d8_a_cookie_publish_from_a_publish_origin_or_the_hubs_own_is_dispatched() {
    let mut config = cors(&[APP]);
    config.publish_origins = vec![APP.to_owned()];
    let served = serve(config).await;
    let mut events = Events::new(common::open(&served, "topic=*", None).await);
    subscribers(&served, 1).await;

    let own = format!("http://{}", served.addr);
    let allowed = [
        (Some(APP), None),
        (None, Some(format!("{APP}/books/1"))),
        (Some(own.as_str()), None),
        (None, Some(format!("{own}/admin"))),
    ];
    for (n, (origin, referer)) in allowed.iter().enumerate() {
        let topic = format!("allowed-{n}");
        let response = cookie_publish(&served.url(), *origin, referer.as_deref(), &topic).await;
        assert_eq!(response.status(), 200, "{origin:?} {referer:?}");
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; charset=utf-8"
        );
        let id = response.text().await.unwrap();
        let event = events.next().await;
        assert_eq!(
            (event.data(), event.last_event_id().as_str()),
            (topic.as_str(), id.as_str())
        );
    }
}

#[tokio::test]
async fn d8_a_header_or_query_token_is_no_csrf_risk_and_wins_over_the_cookie() {
    let served = serve(cors(&[APP])).await;
    let form = "topic=t&data=x";
    let by_header = client()
        .post(served.url())
        .header("origin", EVIL)
        .header(
            "cookie",
            format!("mercureAuthorization={}", publisher(&["*"])),
        )
        .bearer_auth(publisher(&["t"]))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(by_header.status(), 200);
    let by_query = client()
        .post(format!(
            "{}?authorization={}",
            served.url(),
            publisher(&["t"])
        ))
        .header("origin", EVIL)
        .header(
            "cookie",
            format!("mercureAuthorization={}", publisher(&["*"])),
        )
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status(), 200);
}

/// The private update a subscription to every topic gets, with tokens
/// granting `header`, `query` and `cookie` in those places.
async fn which_token(header: bool, query: bool, cookie: bool) -> String {
    let served = serve(cors(&[])).await;
    let mut url = format!("{}?topic=*", served.url());
    if query {
        url.push_str(&format!("&authorization={}", subscriber(&["query"])));
    }
    let mut request = client().get(url);
    if header {
        request = request.bearer_auth(subscriber(&["header"]));
    }
    if cookie {
        request = request.header(
            "cookie",
            format!(
                "theme=dark; mercureAuthorization={}",
                subscriber(&["cookie"])
            ),
        );
    }
    let mut events = Events::new(request.send().await.unwrap());
    subscribers(&served, 1).await;
    for topic in ["header", "query", "cookie"] {
        publish(
            &served,
            &[("topic", topic), ("data", topic), ("private", "on")],
        )
        .await;
    }
    publish(&served, &[("topic", "end"), ("data", "end")]).await;
    let seen = events.data(2).await;
    assert_eq!(seen[1], "end", "one private update: {seen:?}");
    seen[0].clone()
}

#[tokio::test]
async fn d1_d2_the_header_wins_over_the_query_which_wins_over_the_cookie() {
    assert_eq!(which_token(true, true, true).await, "header");
    assert_eq!(which_token(true, false, true).await, "header");
    assert_eq!(which_token(false, true, true).await, "query");
    assert_eq!(which_token(false, false, true).await, "cookie");
}

#[tokio::test]
async fn d2_a_bad_token_is_not_passed_over_for_one_lower_down() {
    let good = subscriber(&["*"]);
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({ "mercure": { "subscribe": ["*"] }, "exp": 1_000_000_000 }),
        &jsonwebtoken::EncodingKey::from_secret(SUBSCRIBER_SECRET.as_bytes()),
    )
    .unwrap();
    let mut config = cors(&[]);
    config.anonymous = false;
    let served = serve(config).await;
    let url = |query: &str| format!("{}?topic=t{query}", served.url());
    let cookie = format!("mercureAuthorization={good}");

    let header_bad = client()
        .get(url(""))
        .bearer_auth(&expired)
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(header_bad.status(), 401);
    let challenge = header_bad.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("invalid_token"), "{challenge}");
    let query_bad = client()
        .get(url(&format!("&authorization={expired}")))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(query_bad.status(), 401);

    // Basic credentials a browser sends by itself are no bearer token: the
    // cookie counts.
    let basic = client()
        .get(url(""))
        .basic_auth("user", Some("password"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 200);
}

#[tokio::test]
async fn d3_the_cookie_name_is_configurable() {
    let mut config = cors(&[]);
    config.anonymous = false;
    config.cookie_name = "hubToken".to_owned();
    let served = serve(config).await;
    let get = |cookie: String| {
        client()
            .get(format!("{}?topic=t", served.url()))
            .header("cookie", cookie)
            .send()
    };
    let token = subscriber(&["t"]);
    assert_eq!(
        get(format!("hubToken={token}")).await.unwrap().status(),
        200
    );
    let default_name = get(format!("mercureAuthorization={token}")).await.unwrap();
    assert_eq!(default_name.status(), 401, "not the configured cookie");
    assert_eq!(default_name.headers()["www-authenticate"], "Bearer");
}
