//! `Server` over real sockets: a hyper 1 server on 127.0.0.1, reqwest (or
//! hyper's client) on the other end, Joe as the provider.

mod common;

use common::{Events, bounded, client, listener, publish, serve, serve_axum, serve_on, wait_until};
use futures_util::StreamExt as _;
use http::StatusCode;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use sse_codec::{Message, Topic};
use sse_joe::{FiniteReplayer, Joe, Provider};
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

/// Opens the stream at `/` as a client resuming after `last_event_id`.
async fn resume(
    served: &common::Served,
    last_event_id: impl TryInto<http::HeaderValue, Error: std::fmt::Debug>,
) -> reqwest::Response {
    let value: http::HeaderValue = last_event_id.try_into().unwrap();
    client()
        .get(served.url("/"))
        .header("last-event-id", value)
        .send()
        .await
        .unwrap()
}

fn replaying_joe() -> Joe {
    Joe::builder()
        .replayer(FiniteReplayer::new(100).auto_ids_from(1))
        .build()
}

#[tokio::test]
async fn last_event_id_header_replays_exactly_the_missed_events() {
    let server = Server::new(replaying_joe());
    let served = serve(server.clone()).await;
    for i in 1..=5 {
        publish(&server, format!("m{i}")).await;
    }

    let response = resume(&served, "2").await;
    assert_eq!(response.headers()[sse_server::RESUME_HEADER], "exact");
    let mut events = Events::new(response);
    publish(&server, "m6").await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        let event = events.next().await.unwrap();
        seen.push((
            event.last_event_id().as_str().to_owned(),
            event.data().to_owned(),
        ));
    }
    let expected: Vec<_> = (3..=6).map(|i| (i.to_string(), format!("m{i}"))).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn last_event_id_query_parameter_is_opt_in_and_the_header_wins() {
    let plain = Server::new(replaying_joe());
    let with_query = Server::builder(replaying_joe())
        .last_event_id_query("lastEventId")
        .build();
    for server in [&plain, &with_query] {
        for i in 1..=3 {
            publish(server, format!("m{i}")).await;
        }
    }
    let plain_served = serve(plain.clone()).await;
    let query_served = serve(with_query.clone()).await;

    // Not configured: the parameter is ignored.
    let response = client()
        .get(plain_served.url("/?lastEventId=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[sse_server::RESUME_HEADER], "fresh");

    let response = client()
        .get(query_served.url("/?topic=x&lastEventId=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[sse_server::RESUME_HEADER], "exact");
    assert_eq!(Events::new(response).data(2).await, ["m2", "m3"]);

    let response = client()
        .get(query_served.url("/?lastEventId=1"))
        .header("last-event-id", "2")
        .send()
        .await
        .unwrap();
    assert_eq!(Events::new(response).data(1).await, ["m3"]);

    // An empty header is no ID: the parameter still counts.
    let response = client()
        .get(query_served.url("/?lastEventId=2"))
        .header("last-event-id", "")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[sse_server::RESUME_HEADER], "exact");
    assert_eq!(Events::new(response).data(1).await, ["m3"]);

    // An ID no event stream can carry (a line break): the client was
    // resuming, so it is told its history is lost, not served as fresh.
    let response = client()
        .get(query_served.url("/?lastEventId=1%0A2"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[sse_server::RESUME_HEADER], "lost");
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
async fn unknown_last_event_id_is_reported_lost() {
    let server = Server::new(replaying_joe());
    let served = serve(server.clone()).await;
    publish(&server, "m1").await;

    let response = resume(&served, "999").await;
    assert_eq!(response.headers()[sse_server::RESUME_HEADER], "lost");
    let mut events = Events::new(response);
    // Nothing is replayed; live events follow.
    publish(&server, "m2").await;
    assert_eq!(events.data(1).await, ["m2"]);

    // A provider without history cannot resume anyone.
    let server = Server::new(Joe::new());
    let served = serve(server).await;
    let response = resume(&served, "1").await;
    assert_eq!(response.headers()[sse_server::RESUME_HEADER], "lost");
}

#[tokio::test]
async fn utf8_last_event_id_header_resumes() {
    let server = Server::builder(Joe::builder().replayer(FiniteReplayer::new(10)).build()).build();
    let served = serve(server.clone()).await;
    for id in ["caf\u{e9}-1", "caf\u{e9}-2"] {
        let message = Message::new()
            .id(sse_codec::EventId::try_from(id).unwrap())
            .data(id);
        server.publish(message, &[Topic::DEFAULT]).await.unwrap();
    }
    let value = http::HeaderValue::from_bytes("caf\u{e9}-1".as_bytes()).unwrap();
    let response = resume(&served, value).await;
    assert_eq!(response.headers()[sse_server::RESUME_HEADER], "exact");
    let mut events = Events::new(response);
    assert_eq!(events.data(1).await, ["caf\u{e9}-2"]);
}

#[tokio::test]
async fn lost_history_message_leads_only_a_lost_resume() {
    let lost = Message::new()
        .event(sse_codec::EventType::from_static("lost"))
        .data("refetch");
    let server = Server::builder(replaying_joe())
        .lost_history_message(lost)
        .build();
    let served = serve(server.clone()).await;
    publish(&server, "m1").await;

    // Unknown ID: the message comes first, then live events.
    let response = resume(&served, "999").await;
    let mut events = Events::new(response);
    publish(&server, "m2").await;
    assert_eq!(events.data(2).await, ["refetch", "m2"]);

    // Exact resume: no such message.
    let response = resume(&served, "1").await;
    assert_eq!(response.headers()[sse_server::RESUME_HEADER], "exact");
    let mut events = Events::new(response);
    assert_eq!(events.data(1).await, ["m2"]);
}

#[tokio::test]
async fn keep_alive_is_sent_only_when_idle() {
    // Long enough that a loaded machine does not stall a busy stream for a
    // whole interval.
    let interval = Duration::from_millis(500);
    let server = Server::builder(Joe::new())
        .keep_alive(Some(interval))
        .build();
    let served = serve(server.clone()).await;
    let mut events = Events::get(served.url("/")).await;

    // Busy: every event is published as soon as the previous one arrived,
    // for several intervals. No keep-alive may interleave.
    let busy_until = tokio::time::Instant::now() + interval * 4;
    let mut n = 0;
    while tokio::time::Instant::now() < busy_until {
        n += 1;
        publish(&server, n.to_string()).await;
        assert_eq!(events.data(1).await, [n.to_string()]);
    }
    assert!(n > 10, "only {n} events");
    assert!(
        !events.raw.windows(2).any(|w| w == b"\n:"),
        "keep-alive while busy: {:?}",
        String::from_utf8_lossy(&events.raw)
    );

    // Idle: keep-alive comments arrive, repeatedly.
    let before = events.raw.len();
    events.raw_until(b": keep-alive\n\n").await;
    let first = events.raw.len();
    assert!(first > before);
    events.raw.drain(..first);
    events.raw_until(b": keep-alive\n\n").await;
    // And events still flow after them.
    publish(&server, "after").await;
    assert_eq!(events.data(1).await, ["after"]);
}

#[tokio::test]
async fn keep_alive_can_be_disabled() {
    let server = Server::builder(Joe::new()).keep_alive(None).build();
    let served = serve(server.clone()).await;
    let mut events = Events::get(served.url("/")).await;
    // Nothing but events is on the wire.
    publish(&server, "only").await;
    assert_eq!(events.data(1).await, ["only"]);
    assert_eq!(events.raw, b"data: only\n\n");
}

#[tokio::test]
async fn client_disconnect_unsubscribes() {
    let joe = Joe::new();
    let server = Server::new(joe.clone());
    let served = serve(server.clone()).await;

    let responses: Vec<_> =
        futures_util::future::join_all((0..3).map(|_| client().get(served.url("/")).send())).await;
    assert_eq!(joe.subscriber_count(), 3);
    let mut responses: Vec<_> = responses.into_iter().map(Result::unwrap).collect();
    responses.pop();
    // No event is published: the server notices the closed connection by
    // itself.
    wait_until("one client is unsubscribed", || joe.subscriber_count() == 2).await;
    drop(responses);
    wait_until("every client is unsubscribed", || {
        joe.subscriber_count() == 0
    })
    .await;
}

#[tokio::test]
async fn provider_shutdown_ends_every_response() {
    let joe = Joe::new();
    let server = Server::new(joe.clone());
    let served = serve(server.clone()).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(Events::get(served.url("/")).await);
    }
    publish(&server, "last").await;
    joe.shutdown().await;
    for events in &mut clients {
        // Frames queued before the shutdown still arrive, then the end.
        assert_eq!(events.data(1).await, ["last"]);
        assert_eq!(bounded(events.end()).await, Ok(()));
    }
    // Later sessions cannot subscribe: their stream ends at once, with the
    // event-stream status and headers, so that EventSource reconnects
    // (any other status would make it give up for good).
    let response = client().get(served.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(bounded(response.bytes()).await.unwrap(), "");
    served.graceful_shutdown().await;
}

#[tokio::test]
async fn server_shutdown_ends_responses_so_graceful_shutdown_completes() {
    let joe = Joe::new();
    let server = Server::new(joe.clone());
    let served = serve(server.clone()).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(Events::get(served.url("/")).await);
    }
    assert_eq!(joe.subscriber_count(), 3);

    server.shutdown();
    assert!(server.is_shut_down());
    for events in &mut clients {
        assert_eq!(bounded(events.end()).await, Ok(()));
    }
    wait_until("bodies are unsubscribed", || joe.subscriber_count() == 0).await;
    // New sessions get a stream that ends at once; the provider itself
    // still runs.
    let response = client().get(served.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(bounded(response.bytes()).await.unwrap(), "");
    assert_eq!(joe.subscriber_count(), 0);
    assert!(!joe.is_closed());
    // Waits for every connection: it returns because the streams ended.
    served.graceful_shutdown().await;
}

#[tokio::test]
async fn slow_client_is_dropped_by_the_provider_and_resumes() {
    // A tiny queue, a replayer that holds everything, and small socket
    // buffers on both ends so that a client that stops reading backs up
    // quickly.
    let joe = Joe::builder()
        .capacity(4)
        .replayer(FiniteReplayer::new(4096).auto_ids_from(1))
        .build();
    let server = Server::new(joe.clone());
    let served = serve_on(listener(Some(16 * 1024)).await, server.clone()).await;
    let fast = Events::get(served.url("/")).await;

    // The slow client speaks HTTP/1.1 through hyper's client over a socket
    // with a 4 KiB receive buffer, and does not read its body for now.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(served.addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<
        _,
        http_body_util::Empty<bytes::Bytes>,
    >(TokioIo::new(stream))
    .await
    .unwrap();
    tokio::spawn(conn);
    let slow = sender
        .send_request(http::Request::get("/").body(Default::default()).unwrap())
        .await
        .unwrap();
    assert_eq!(slow.status(), StatusCode::OK);
    assert_eq!(joe.subscriber_count(), 2);

    // Publish 16 KiB events until the provider drops the slow subscriber;
    // the fast one reads along.
    let pad = "x".repeat(16 * 1024);
    let mut fast = fast;
    let mut published = 0;
    while joe.stats().receiving == 2 {
        assert!(published < 3000, "the slow subscriber was never dropped");
        published += 1;
        publish(&server, format!("{published} {pad}")).await;
        let data = fast.next().await.unwrap();
        assert!(data.data().starts_with(&format!("{published} ")));
    }
    assert_eq!(joe.stats().receiving, 1, "the fast client must stay");
    assert_eq!(
        joe.subscriber_count(),
        2,
        "the slow one's connection is open"
    );

    // The slow client now reads: what its socket and hyper's buffer held
    // (Joe dropped its queue when it lagged), then a clean end.
    let mut slow = Events::from_stream(
        slow.into_body()
            .into_data_stream()
            .map(|r| r.map_err(Into::into)),
    );
    let received = bounded(slow.rest()).await;
    assert_eq!(bounded(slow.end()).await, Ok(()));
    assert!(!received.is_empty() && received.len() < published);
    for (i, event) in received.iter().enumerate() {
        assert_eq!(event.last_event_id().as_str(), (i + 1).to_string());
    }
    let last_id = received.last().unwrap().last_event_id().as_str().to_owned();

    // It reconnects with its Last-Event-ID and gets exactly the rest.
    let response = resume(&served, &last_id).await;
    assert_eq!(response.headers()[sse_server::RESUME_HEADER], "exact");
    let mut resumed = Events::new(response);
    let first_missed: usize = last_id.parse::<usize>().unwrap() + 1;
    for id in first_missed..=published {
        let event = resumed.next().await.unwrap();
        assert_eq!(event.last_event_id().as_str(), id.to_string());
        assert!(event.data().starts_with(&format!("{id} ")));
    }
    publish(&server, "live").await;
    assert_eq!(resumed.data(1).await, ["live"]);
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

/// A new client gets the retained history first when it asks with the ID
/// `earliest`, or always with `history_for_new_clients`; a resuming client
/// gets what it missed either way.
#[tokio::test]
async fn new_clients_get_the_history_when_asked() {
    let joe = Joe::builder()
        .replayer(FiniteReplayer::new(100).auto_ids_from(1))
        .build();
    let plain = Server::builder(joe.clone())
        .last_event_id_query("lastEventId")
        .build();
    let generous = Server::builder(joe.clone())
        .history_for_new_clients(true)
        .build();
    for data in ["a", "b", "c"] {
        publish(&plain, data).await;
    }
    let (plain, generous) = (serve(plain).await, serve(generous).await);

    let fresh = client().get(plain.url("/")).send().await.unwrap();
    assert_eq!(fresh.headers()[sse_server::RESUME_HEADER], "fresh");
    for request in [
        client()
            .get(plain.url("/"))
            .header("last-event-id", "earliest"),
        client().get(plain.url("/?lastEventId=earliest")),
        client().get(generous.url("/")),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.headers()[sse_server::RESUME_HEADER], "earliest");
        assert_eq!(Events::new(response).data(3).await, ["a", "b", "c"]);
    }
    let resumed = client()
        .get(generous.url("/"))
        .header("last-event-id", "2")
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.headers()[sse_server::RESUME_HEADER], "exact");
    assert_eq!(Events::new(resumed).data(1).await, ["c"]);

    // Without history, asking for it is answered as lost.
    let bare = serve(
        Server::builder(Joe::new())
            .history_for_new_clients(true)
            .build(),
    )
    .await;
    let response = client().get(bare.url("/")).send().await.unwrap();
    assert_eq!(response.headers()[sse_server::RESUME_HEADER], "lost");
}

/// The first keep-alive comes one interval after the response starts, the
/// initial `retry:` notwithstanding, and then one interval after the last
/// event.
#[tokio::test(start_paused = true)]
async fn keep_alive_is_due_one_interval_after_the_last_thing_sent() {
    use http_body_util::BodyExt;
    use tower_service::Service;
    const INTERVAL: Duration = Duration::from_secs(15);
    let mut server = Server::builder(Joe::new())
        .retry(Duration::from_secs(1))
        .keep_alive(Some(INTERVAL))
        .build();
    let start = tokio::time::Instant::now();
    let mut response = server
        .call(http::Request::get("/").body(()).unwrap())
        .await
        .unwrap();
    let mut next = async || {
        let frame = response.body_mut().frame().await.unwrap().unwrap();
        (frame.into_data().unwrap(), start.elapsed())
    };
    assert_eq!(next().await, ("retry: 1000\n\n".into(), Duration::ZERO));
    assert_eq!(next().await, (": keep-alive\n\n".into(), INTERVAL));
    let publisher = server.clone();
    tokio::spawn(async move {
        tokio::time::sleep_until(start + Duration::from_secs(20)).await;
        publish(&publisher, "x").await;
    });
    assert_eq!(
        next().await,
        ("data: x\n\n".into(), Duration::from_secs(20))
    );
    assert_eq!(
        next().await,
        (": keep-alive\n\n".into(), Duration::from_secs(35))
    );
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

#[tokio::test]
async fn every_subscriber_is_sent_the_same_frame_without_a_copy() {
    // Called directly, as hyper would: a frame over 2 KiB is a chunk of
    // its own, the very bytes the provider encoded once for every
    // subscriber, so a client that stopped reading holds no copy of its
    // own. (Smaller ones ready together are joined, one write a burst.)
    use tower_service::Service;
    let mut server = Server::new(Joe::new());
    let mut responses = Vec::new();
    for _ in 0..2 {
        let response = server
            .call(http::Request::get("/").body(()).unwrap())
            .await
            .unwrap();
        responses.push(response);
    }
    let data = |i: usize| format!("{i:>4}{}", "x".repeat(3000));
    for i in 0..20 {
        publish(&server, data(i)).await;
    }
    // Where each chunk's bytes are; the chunks themselves are dropped as
    // a connection's writes would drop them (a response that sees its
    // chunks kept stops at its unsent limit). Joe's log keeps the frames.
    let mut chunks = Vec::new();
    for response in &mut responses {
        let mut mine = Vec::new();
        for i in 0..20 {
            let frame = bounded(response.body_mut().frame()).await.unwrap().unwrap();
            let chunk = frame.into_data().unwrap();
            assert_eq!(chunk, format!("data: {}\n\n", data(i)));
            mine.push(chunk.as_ptr() as usize);
        }
        chunks.push(mine);
    }
    assert_eq!(chunks[0], chunks[1], "frames were copied");
}

#[tokio::test]
async fn small_frames_ready_together_go_out_as_one_chunk() {
    use tower_service::Service;
    let mut server = Server::new(Joe::new());
    let mut response = server
        .call(http::Request::get("/").body(()).unwrap())
        .await
        .unwrap();
    for i in 0..100 {
        publish(&server, i.to_string()).await;
    }
    let chunk = bounded(response.body_mut().frame())
        .await
        .unwrap()
        .unwrap()
        .into_data()
        .unwrap();
    let expected: String = (0..100).map(|i| format!("data: {i}\n\n")).collect();
    assert_eq!(chunk, expected);
}
