//! The session over real sockets: the response's headers and first bytes,
//! the `on_session` hook's topics and refusals, methods, mounting under
//! axum. A hyper 1 server on 127.0.0.1 (or axum), reqwest on the other
//! end, Joe as the provider.

mod common;

use common::{Events, client, publish, serve, serve_axum, wait_until};
use http::StatusCode;
use sse_codec::{Message, Topic};
use sse_joe::Joe;
use sse_server::{Body, Server};
use std::time::Duration;

fn topic(name: &str) -> Topic {
    Topic::from(name)
}

#[tokio::test]
async fn response_has_event_stream_headers_and_delivers_events() {
    let joe = Joe::new();
    let server = Server::new(joe.clone());
    let served = serve(server.clone()).await;

    let response = client().get(served.url("/events")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["x-accel-buffering"], "no");
    assert_eq!(headers[sse_server::RESUME_HEADER], "fresh");

    // The subscription exists once the response head has arrived.
    assert_eq!(joe.subscriber_count(), 1);
    let mut events = Events::new(response);
    publish(&server, "one").await;
    publish(&server, "two\nlines").await;
    assert_eq!(events.data(2).await, ["one", "two\nlines"]);
}

#[tokio::test]
async fn initial_retry_is_sent_first() {
    let server = Server::builder(Joe::new())
        .retry(Duration::from_millis(2500))
        .build();
    let served = serve(server.clone()).await;
    let mut events = Events::get(served.url("/")).await;
    events.raw_until(b"\n\n").await;
    assert!(
        events.raw.starts_with(b"retry: 2500\n\n"),
        "{:?}",
        String::from_utf8_lossy(&events.raw)
    );
    publish(&server, "x").await;
    assert_eq!(events.data(1).await, ["x"]);
}

#[tokio::test]
async fn on_session_refusal_is_sent_and_nothing_is_subscribed() {
    let joe = Joe::new();
    let server = Server::builder(joe.clone())
        .on_session(|parts| async move {
            match parts.headers.get("authorization") {
                Some(token) if token == "Bearer good" => Ok(vec![topic("private")]),
                _ => Err(http::Response::builder()
                    .status(StatusCode::UNAUTHORIZED)
                    .header("www-authenticate", "Bearer")
                    .body(Body::from("log in first"))
                    .unwrap()
                    .into()),
            }
        })
        .build();
    let served = serve(server.clone()).await;

    let refused = client().get(served.url("/")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refused.headers()["www-authenticate"], "Bearer");
    assert!(refused.headers().get("content-type").is_none());
    assert_eq!(refused.text().await.unwrap(), "log in first");
    assert_eq!(joe.subscriber_count(), 0);

    // The same server subscribes an authorized session to its topics.
    let accepted = client()
        .get(served.url("/"))
        .bearer_auth("good")
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::OK);
    assert_eq!(joe.subscriber_count(), 1);
    let mut events = Events::new(accepted);
    publish(&server, "public").await;
    server
        .publish(Message::new().data("secret"), &[topic("private")])
        .await
        .unwrap();
    assert_eq!(events.data(1).await, ["secret"]);
}

/// A hook may refuse with axum's own responses.
#[tokio::test]
async fn on_session_refuses_with_an_axum_response() {
    use axum::response::IntoResponse;
    let server = Server::builder(Joe::new())
        .on_session(|_| async move {
            Err((StatusCode::FORBIDDEN, "not for you")
                .into_response()
                .into())
        })
        .build();
    let addr = serve_axum(axum::Router::new().route_service("/events", server)).await;
    let refused = client()
        .get(format!("http://{addr}/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(refused.text().await.unwrap(), "not for you");
}

#[tokio::test]
async fn head_subscribes_nothing_and_other_methods_are_refused() {
    let joe = Joe::new();
    let served = serve(Server::new(joe.clone())).await;
    let response = client().head(served.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(joe.subscriber_count(), 0);

    for method in [
        http::Method::PUT,
        http::Method::DELETE,
        http::Method::OPTIONS,
    ] {
        let response = client()
            .request(method.clone(), served.url("/"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method}"
        );
        assert_eq!(response.headers()["allow"], "GET, HEAD, POST");
    }
    assert_eq!(joe.subscriber_count(), 0);

    // POST (a client that sends a body) gets the stream.
    let response = client()
        .post(served.url("/"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(joe.subscriber_count(), 1);
}

#[tokio::test]
async fn mounts_under_axum_route_service() {
    let joe = Joe::new();
    let server = Server::builder(joe.clone())
        .on_session(|parts| async move {
            let room = parts.uri.path().trim_start_matches("/rooms/").to_owned();
            Ok(vec![Topic::from(room)])
        })
        .build();
    let app = axum::Router::new()
        .route("/health", axum::routing::get(|| async { "ok" }))
        .route_service("/rooms/{room}", server.clone());
    let addr = serve_axum(app).await;

    let health = client()
        .get(format!("http://{addr}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.text().await.unwrap(), "ok");

    let response = client()
        .get(format!("http://{addr}/rooms/blue"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut events = Events::new(response);
    server
        .publish(Message::new().data("to red"), &[topic("red")])
        .await
        .unwrap();
    server
        .publish(Message::new().data("to blue"), &[topic("blue")])
        .await
        .unwrap();
    assert_eq!(events.data(1).await, ["to blue"]);
    drop(events);
    wait_until("the axum client is unsubscribed", || {
        joe.subscriber_count() == 0
    })
    .await;
}

/// A handler chooses the topics per request with axum's extractors (the
/// path's room, a header checked by the handler) and answers with
/// `Server::respond`: each client gets its room's events, resumes with
/// `Last-Event-ID`, and a `HEAD` gets the headers only.
#[tokio::test]
async fn an_axum_handler_chooses_the_topics_per_request() {
    use axum::extract::{Path, Request, State};
    use axum::response::{IntoResponse, Response};

    async fn room(
        State(server): State<Server<Joe>>,
        Path(room): Path<String>,
        request: Request,
    ) -> Response {
        if request.headers().get("x-member").is_none() {
            return StatusCode::FORBIDDEN.into_response();
        }
        server
            .respond(request, [topic(&format!("room/{room}"))])
            .await
            .into_response()
    }

    let joe = Joe::builder()
        .replayer(sse_joe::FiniteReplayer::new(10).auto_ids_from(1))
        .build();
    let server = Server::new(joe);
    let app = axum::Router::new()
        .route("/rooms/{room}/events", axum::routing::get(room))
        .with_state(server.clone());
    let addr = serve_axum(app).await;
    let url = |room: &str| format!("http://{addr}/rooms/{room}/events");
    let open = |room: &str, last_event_id: Option<&str>| {
        let mut request = client().get(url(room)).header("x-member", "yes");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        request.send()
    };

    let refused = client().get(url("a")).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let head = client()
        .head(url("a"))
        .header("x-member", "yes")
        .send()
        .await
        .unwrap();
    assert_eq!(head.headers()["content-type"], "text/event-stream");

    let mut a = Events::new(open("a", None).await.unwrap());
    let mut b = Events::new(open("b", None).await.unwrap());
    wait_until("both subscribed", || {
        server.provider().subscriber_count() == 2
    })
    .await;
    for (data, room) in [("a1", "room/a"), ("b1", "room/b"), ("a2", "room/a")] {
        server
            .publish(Message::new().data(data), &[topic(room)])
            .await
            .unwrap();
    }
    assert_eq!(a.data(2).await, ["a1", "a2"]);
    assert_eq!(b.data(1).await, ["b1"]);

    let resumed = open("a", Some("1")).await.unwrap();
    assert_eq!(resumed.headers()[sse_server::RESUME_HEADER], "exact");
    assert_eq!(Events::new(resumed).data(1).await, ["a2"]);
}
