//! A handler's own sessions over real sockets (axum, reqwest): a filtered
//! subscription to every topic with private updates, a deadline, the
//! position in a header, and history given on request.

mod common;

use axum::extract::{Request, State};
use common::{Events, client, serve_axum, wait_until};
use http::HeaderName;
use sse_codec::{Filter, Message, Provider, Routing, Subscription, Topic};
use sse_joe::{FiniteReplayer, Joe};
use sse_server::{Body, History, Server, Session};
use std::time::{Duration, Instant};

const POSITION: HeaderName = HeaderName::from_static("last-event-id");

/// Serves `session` for every request at `/`, made per request by
/// `make`, on a server over a Joe with a history of 100.
async fn serve_sessions(
    history: History,
    make: fn() -> Session,
) -> (Server<Joe>, std::net::SocketAddr) {
    let joe = Joe::builder()
        .replayer(FiniteReplayer::new(100).auto_ids_from(1))
        .build();
    let server = Server::builder(joe).history(history).build();
    let handler = move |State(server): State<Server<Joe>>, request: Request| async move {
        server.respond_with(request, make()).await
    };
    let app = axum::Router::new()
        .route("/", axum::routing::get(handler))
        .with_state(server.clone());
    (server.clone(), serve_axum(app).await)
}

fn under_books() -> Session {
    let books = Filter::new(|routing: &Routing| {
        routing
            .topics()
            .iter()
            .any(|topic| topic.as_str().starts_with("/books/"))
    });
    Session::new(Subscription::new([]).every_topic().filter(books)).position_header(POSITION)
}

async fn publish(server: &Server<Joe>, data: &str, topic: &str, private: bool) {
    let routing = Routing::new([Topic::from(topic)]).private(private);
    server
        .provider()
        .publish_routed(Message::new().data(data), routing)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_filtered_session_over_every_topic_gets_what_its_filter_takes() {
    let (server, addr) = serve_sessions(History::Resumes, under_books).await;
    let response = client()
        .get(format!("http://{addr}/"))
        .send()
        .await
        .unwrap();
    let mut events = Events::new(response);
    wait_until("subscribed", || server.provider().subscriber_count() == 1).await;
    publish(&server, "book", "/books/1", false).await;
    publish(&server, "author", "/authors/1", false).await;
    publish(&server, "private book", "/books/2", true).await;
    publish(&server, "last", "/books/3", false).await;
    assert_eq!(events.data(3).await, ["book", "private book", "last"]);
}

#[tokio::test]
async fn the_position_header_says_where_the_stream_starts() {
    let (server, addr) = serve_sessions(History::OnRequest, under_books).await;
    let url = format!("http://{addr}/");
    for i in 1..=3 {
        publish(&server, &format!("b{i}"), "/books/1", false).await;
    }
    let open = |id: Option<&'static str>| {
        let mut request = client().get(&url);
        if let Some(id) = id {
            request = request.header("last-event-id", id);
        }
        request.send()
    };
    // Resuming: after the ID; earliest and a lost resume (history on
    // request): from the oldest. None for a client that sent no ID.
    let response = open(None).await.unwrap();
    assert!(response.headers().get(&POSITION).is_none());
    assert_eq!(response.headers()[sse_server::RESUME_HEADER], "fresh");
    for (sent, position, resume, first) in [
        (Some("1"), "1", "exact", Some("b2")),
        (Some("earliest"), "earliest", "earliest", Some("b1")),
        (Some("stale"), "earliest", "lost", Some("b1")),
    ] {
        let response = open(sent).await.unwrap();
        assert_eq!(response.headers()[&POSITION], position, "{sent:?}");
        assert_eq!(
            response.headers()[sse_server::RESUME_HEADER],
            resume,
            "{sent:?}"
        );
        if let Some(first) = first {
            assert_eq!(Events::new(response).data(1).await, [first], "{sent:?}");
        }
    }
    // A new client gets live events only: history is on request.
    let response = open(None).await.unwrap();
    let mut events = Events::new(response);
    publish(&server, "live", "/books/1", false).await;
    assert_eq!(events.data(1).await, ["live"]);
}

#[tokio::test]
async fn a_session_ends_at_its_deadline() {
    fn briefly() -> Session {
        Session::new(Subscription::new([Topic::DEFAULT]))
            .until(Instant::now() + Duration::from_millis(300))
    }
    let (server, addr) = serve_sessions(History::Resumes, briefly).await;
    let response = client()
        .get(format!("http://{addr}/"))
        .send()
        .await
        .unwrap();
    let mut events = Events::new(response);
    server
        .publish(Message::new().data("before"), &[Topic::DEFAULT])
        .await
        .unwrap();
    assert_eq!(events.data(1).await, ["before"]);
    let started = Instant::now();
    events.end().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "ended at the deadline, not at a timeout"
    );
    wait_until("unsubscribed", || server.provider().subscriber_count() == 0).await;
}

#[tokio::test]
async fn the_body_type_is_the_servers() {
    // `respond_with` answers with the server's own body, as `call` does.
    let server = Server::new(Joe::new());
    let request = http::Request::get("/").body(()).unwrap();
    let response: http::Response<Body> = server
        .respond_with(request, Session::new(Subscription::new([Topic::DEFAULT])))
        .await;
    assert_eq!(response.headers()["content-type"], "text/event-stream");
}

#[tokio::test]
async fn the_position_header_carries_a_non_ascii_id_as_utf8() {
    fn exact() -> Session {
        Session::new(Subscription::new([Topic::DEFAULT])).position_header(POSITION)
    }
    let joe = Joe::builder().replayer(FiniteReplayer::new(10)).build();
    let server = Server::new(joe);
    let handler = move |State(server): State<Server<Joe>>, request: Request| async move {
        server.respond_with(request, exact()).await
    };
    let app = axum::Router::new()
        .route("/", axum::routing::get(handler))
        .with_state(server.clone());
    let addr = serve_axum(app).await;
    let id = sse_codec::EventId::from_static("/livres/\u{e9}lan");
    server
        .publish(Message::new().id(id.clone()).data("x"), &[Topic::DEFAULT])
        .await
        .unwrap();
    let response = client()
        .get(format!("http://{addr}/"))
        .header(
            "last-event-id",
            http::HeaderValue::from_bytes(id.as_str().as_bytes()).unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[sse_server::RESUME_HEADER], "exact");
    assert_eq!(
        response.headers()[&POSITION].as_bytes(),
        id.as_str().as_bytes()
    );
}
