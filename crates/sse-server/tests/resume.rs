//! Resuming over real sockets: `Last-Event-ID` from the header or the
//! query, `sse-resume`, the history for new clients, the lost-history
//! message, a slow client dropped by the provider that resumes.

mod common;

use common::{Events, bounded, client, listener, publish, serve, serve_on};
use futures_util::StreamExt as _;
use http::StatusCode;
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use sse_codec::{Message, Topic};
use sse_joe::{FiniteReplayer, Joe};
use sse_server::Server;

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

/// With `history_for_new_clients`, a new client gets the retained history
/// first, as does one that asks with the ID `earliest` (in the header or
/// the query); a resuming client gets what it missed.
#[tokio::test]
async fn new_clients_get_the_history_when_enabled() {
    let generous = Server::builder(replaying_joe())
        .history_for_new_clients(true)
        .last_event_id_query("lastEventId")
        .build();
    for data in ["a", "b", "c"] {
        publish(&generous, data).await;
    }
    let generous = serve(generous).await;
    for request in [
        client().get(generous.url("/")),
        client()
            .get(generous.url("/"))
            .header("last-event-id", "earliest"),
        client().get(generous.url("/?lastEventId=earliest")),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.headers()[sse_server::RESUME_HEADER], "earliest");
        assert_eq!(Events::new(response).data(3).await, ["a", "b", "c"]);
    }
    let resumed = resume(&generous, "2").await;
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

/// Where the server does not give new clients the history, `earliest` is
/// an ID like any other: unknown, so lost, with nothing replayed; and an
/// application whose own IDs include `earliest` resumes from it exactly.
#[tokio::test]
async fn earliest_is_an_ordinary_id_where_history_is_not_enabled() {
    let plain = Server::builder(replaying_joe())
        .last_event_id_query("lastEventId")
        .build();
    for data in ["a", "b", "c"] {
        publish(&plain, data).await;
    }
    let served = serve(plain.clone()).await;
    for request in [
        client()
            .get(served.url("/"))
            .header("last-event-id", "earliest"),
        client().get(served.url("/?lastEventId=earliest")),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.headers()[sse_server::RESUME_HEADER], "lost");
        let mut events = Events::new(response);
        publish(&plain, "live").await;
        assert_eq!(events.data(1).await, ["live"], "no history before it");
    }

    let own_ids = Server::new(Joe::builder().replayer(FiniteReplayer::new(100)).build());
    for id in ["first", "earliest", "last"] {
        let message = Message::new()
            .id(sse_codec::EventId::from_static(id))
            .data(id);
        own_ids.publish(message, &[Topic::DEFAULT]).await.unwrap();
    }
    let served = serve(own_ids).await;
    let response = resume(&served, "earliest").await;
    assert_eq!(response.headers()[sse_server::RESUME_HEADER], "exact");
    assert_eq!(Events::new(response).data(1).await, ["last"]);
}

/// A client whose last event ID is lost gets the signal, whose ID is the
/// newest retained event's: reconnecting with it resumes exactly, instead
/// of being told again that its history was lost.
#[tokio::test]
async fn the_lost_signal_carries_the_newest_retained_id() {
    let server = Server::builder(replaying_joe())
        .lost_history_message(Message::new().event(lost_type()).data(""))
        .build();
    let served = serve(server.clone()).await;
    for data in ["a", "b"] {
        publish(&server, data).await;
    }
    let response = resume(&served, "stale").await;
    assert_eq!(response.headers()[sse_server::RESUME_HEADER], "lost");
    let mut events = Events::new(response);
    let signal = events.next().await.unwrap();
    assert_eq!(signal.event_type(), "lost");
    assert_eq!(signal.last_event_id().as_str(), "2", "after b");
    publish(&server, "c").await;
    assert_eq!(events.data(1).await, ["c"], "then live, no history");
    drop(events);

    let response = resume(&served, "2").await;
    assert_eq!(response.headers()[sse_server::RESUME_HEADER], "exact");
    assert_eq!(Events::new(response).data(1).await, ["c"]);
}

/// With `history_for_new_clients`, a client whose resume is lost gets what
/// a new client gets: after the signal, the retained history, then live.
/// The signal's ID is `earliest`: a reconnect right after it gets that
/// history again (with nothing retained, just what was published since).
#[tokio::test]
async fn a_lost_resume_gets_the_history_a_new_client_gets() {
    let server = Server::builder(replaying_joe())
        .history_for_new_clients(true)
        .lost_history_message(Message::new().event(lost_type()).data(""))
        .build();
    let served = serve(server.clone()).await;

    let response = resume(&served, "stale").await;
    assert_eq!(response.headers()[sse_server::RESUME_HEADER], "lost");
    let mut events = Events::new(response);
    let signal = events.next().await.unwrap();
    assert_eq!(
        (signal.event_type(), signal.last_event_id().as_str()),
        ("lost", "earliest"),
        "nothing retained yet"
    );
    drop(events);

    for data in ["a", "b"] {
        publish(&server, data).await;
    }
    let response = resume(&served, "earliest").await;
    assert_eq!(response.headers()[sse_server::RESUME_HEADER], "earliest");
    assert_eq!(Events::new(response).data(2).await, ["a", "b"]);

    let response = resume(&served, "stale").await;
    assert_eq!(response.headers()[sse_server::RESUME_HEADER], "lost");
    let mut events = Events::new(response);
    publish(&server, "c").await;
    let mut got = Vec::new();
    for _ in 0..4 {
        let event = events.next().await.unwrap();
        got.push(format!(
            "{}:{}:{}",
            event.event_type(),
            event.last_event_id(),
            event.data()
        ));
    }
    assert_eq!(
        got,
        [
            "lost:earliest:",
            "message:1:a",
            "message:2:b",
            "message:3:c"
        ]
    );
}

fn lost_type() -> sse_codec::EventType {
    sse_codec::EventType::from_static("lost")
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
