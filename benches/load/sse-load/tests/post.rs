//! The publishing driver against a real form endpoint on 127.0.0.1: every
//! update comes, in order, stamped with the payload contract, with the
//! token, and each answer is counted.

use axum::{Router, body::Bytes, http::HeaderMap, http::StatusCode, routing::post};
use sse_load::{
    http::Target,
    post::{PostConfig, form_encode, post as post_updates},
    seq::parse_payload,
};
use std::sync::{Arc, Mutex};

/// `value` of a form field, decoded.
fn form_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                out.push(u8::from_str_radix(&value[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

/// Serves a form endpoint that keeps each body and the authorization it
/// came with, answering `status` to the POSTs after the first `ok` ones.
async fn endpoint(ok: usize, status: StatusCode) -> (String, Arc<Mutex<Vec<(String, String)>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let kept = got.clone();
    let app = Router::new().route(
        "/hub",
        post(move |headers: HeaderMap, body: Bytes| {
            let kept = kept.clone();
            async move {
                let auth = headers["authorization"].to_str().unwrap().to_owned();
                let mut kept = kept.lock().unwrap();
                kept.push((auth, String::from_utf8(body.to_vec()).unwrap()));
                if kept.len() <= ok {
                    (StatusCode::OK, "urn:uuid:x")
                } else {
                    (status, "no")
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hub", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got)
}

fn config(url: &str) -> PostConfig {
    PostConfig {
        target: Target::parse(url).unwrap(),
        token: "a.b.c".into(),
        topic: "/load/1".into(),
        rate: 200.0,
        duration: 0.25,
        size: 16,
        timeout: std::time::Duration::from_secs(10),
        json: false,
    }
}

/// A hub that takes the connection and never answers fails the run after
/// the timeout, instead of leaving it waiting for ever.
#[tokio::test]
async fn a_hub_that_never_answers_fails_the_run_after_the_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hub", listener.local_addr().unwrap());
    let _held = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        std::future::pending::<()>().await;
        drop(socket);
    });
    let config = PostConfig {
        timeout: std::time::Duration::from_millis(300),
        ..config(&url)
    };
    let started = std::time::Instant::now();
    let error = post_updates(&config).await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::TimedOut, "{error}");
    assert!(
        error.to_string().contains("no answer to update 1"),
        "{error}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn every_update_comes_in_order_stamped_and_authorized() {
    let (url, got) = endpoint(usize::MAX, StatusCode::OK).await;
    let report = post_updates(&config(&url)).await.unwrap();
    assert_eq!((report.posted, report.failed), (50, 0), "{report}");
    assert!(report.p50_ms <= report.p99_ms && report.p99_ms <= report.max_ms);
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 50);
    let mut last_t = 0;
    for (i, (auth, body)) in got.iter().enumerate() {
        assert_eq!(auth, "Bearer a.b.c");
        let (topic, data) = body.split_once('&').unwrap();
        assert_eq!(topic, format!("topic={}", form_encode("/load/1")));
        let data = form_decode(data.strip_prefix("data=").unwrap());
        let (t, seq) = parse_payload(data.as_bytes()).unwrap();
        assert_eq!(seq, i as u64 + 1, "in order");
        assert!(t >= last_t, "stamped as sent");
        last_t = t;
        assert!(
            data.ends_with(&format!(r#""pad":"{}"}}"#, "x".repeat(16))),
            "{data}"
        );
    }
    let json = report.to_json();
    assert_eq!(json["posted"], 50);
    assert_eq!(json["first_failure"], serde_json::Value::Null);
}

#[tokio::test]
async fn refused_updates_are_counted_with_their_status() {
    let (url, _) = endpoint(10, StatusCode::FORBIDDEN).await;
    let report = post_updates(&config(&url)).await.unwrap();
    assert_eq!((report.posted, report.failed), (10, 40), "{report}");
    assert_eq!(report.first_failure, Some(403));
}

#[test]
fn options_parse_and_refuse() {
    let args = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
    let config = PostConfig::from_args(args(
        "--url http://127.0.0.1:3000/hub --token t --rate 5 --json",
    ))
    .unwrap();
    assert_eq!(
        (config.rate, config.duration, config.size),
        (5.0, 10.0, 256)
    );
    assert_eq!(config.target.path, "/hub");
    assert_eq!(config.timeout, std::time::Duration::from_secs(10));
    assert!(config.json);
    let quick = PostConfig::from_args(args("--url http://127.0.0.1:3000/ --token t --timeout 0.5"));
    assert_eq!(
        quick.unwrap().timeout,
        std::time::Duration::from_millis(500)
    );
    assert!(
        PostConfig::from_args(args("--url http://127.0.0.1:3000/ --token t --timeout 0")).is_err()
    );
    assert!(PostConfig::from_args(args("--url http://10.0.0.1:3000/ --token t")).is_err());
    assert!(PostConfig::from_args(args("--url http://127.0.0.1:3000/")).is_err());
    assert!(
        PostConfig::from_args(args("--url http://127.0.0.1:3000/ --token t --rate 0")).is_err()
    );
}
