//! Event IDs on a real redis-server: the ID format, entries written by
//! other programs, and IDs from another stream, another Redis or before a
//! flush.

mod common;

use common::{admin, next_event, provider, subscribe, topics};
use redis::AsyncCommands;
use sse_codec::{EventId, Message, Provider, Resume, Subscription};
use sse_redis::Error;
use sse_testkit::RedisServer;

/// The event ID is the entry ID, a colon and the stream's epoch; the
/// entry holds the message's fields as documented.
#[tokio::test]
async fn the_event_id_names_the_entry_and_the_epoch() {
    let server = RedisServer::start();
    let node = provider(&server.url(), "ids").await;
    let mut sub = subscribe(&node, &["a", "b"]).await;
    node.publish(
        Message::new()
            .event(sse_codec::EventType::from_static("chat"))
            .data("x\ny")
            .comment("c"),
        &topics(&["a", "b"]),
    )
    .await
    .unwrap();
    let event = next_event(&mut sub).await;
    let mut admin = admin(&server).await;
    let entries: Vec<(String, Vec<(String, String)>)> = admin.xrange_all("ids").await.unwrap();
    let (entry, fields) = &entries[0];
    let epoch = node.epoch();
    assert_eq!(event.last_event_id().as_str(), format!("{entry}:{epoch}"));
    assert_eq!(epoch.len(), 16);
    let stored: String = admin.get("ids:epoch").await.unwrap();
    assert_eq!(stored, epoch);
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("epoch", epoch.as_str()),
            ("topic", "a"),
            ("topic", "b"),
            ("event", "chat"),
            ("data", "x\ny"),
            ("comment", "c"),
        ]
    );
    assert_eq!((event.event_type(), event.data()), ("chat", "x\ny"));
    // A message with an ID of its own is refused: Redis assigns them.
    let refused = node
        .publish(
            Message::new().id(EventId::from_static("7")).data("x"),
            &topics(&["a"]),
        )
        .await;
    assert!(matches!(refused, Err(Error::ExplicitId)));
}

/// Another program can publish with a plain `XADD`; its entries are
/// served, and resumed from, like the provider's own.
#[tokio::test]
async fn entries_written_by_another_program_are_served() {
    let server = RedisServer::start();
    let node = provider(&server.url(), "foreign").await;
    let mut sub = subscribe(&node, &["news"]).await;
    let mut admin = admin(&server).await;
    let first: String = admin
        .xadd(
            "foreign",
            "*",
            &[("topic", "news"), ("data", "from python")],
        )
        .await
        .unwrap();
    let _: String = admin
        .xadd(
            "foreign",
            "*",
            &[("topic", "news"), ("event", "x"), ("data", "again")],
        )
        .await
        .unwrap();
    let event = next_event(&mut sub).await;
    assert_eq!(event.data(), "from python");
    assert_eq!(
        event.last_event_id().as_str(),
        format!("{first}:{}", node.epoch())
    );
    let resumed = node
        .subscribe(
            Subscription::new(topics(&["news"])).last_event_id(Some(event.last_event_id().clone())),
        )
        .await
        .unwrap();
    assert_eq!(resumed.resume, Resume::Exact);
    let mut resumed = resumed.stream;
    assert_eq!(next_event(&mut resumed).await.data(), "again");
}

/// An ID is exact only for the stream that gave it: an entry of another
/// stream, or of another Redis, with the same number is not taken for it;
/// nor is one from before the data was flushed.
#[tokio::test]
async fn ids_from_elsewhere_or_before_a_flush_are_lost() {
    let server = RedisServer::start();
    let other = RedisServer::start();
    let here = provider(&server.url(), "s").await;
    let there = provider(&other.url(), "s").await;
    let mut sub = subscribe(&there, &["t"]).await;
    there
        .publish(Message::new().data("elsewhere"), &topics(&["t"]))
        .await
        .unwrap();
    let foreign = next_event(&mut sub).await;
    let (entry, _) = foreign.last_event_id().as_str().split_once(':').unwrap();
    // The same entry number in this stream, written by this stream's
    // epoch.
    let mut admin = admin(&server).await;
    let epoch = here.epoch().to_owned();
    let _: String = admin
        .xadd(
            "s",
            entry,
            &[("epoch", epoch.as_str()), ("topic", "t"), ("data", "here")],
        )
        .await
        .unwrap();
    let resume = |id: EventId| {
        let here = here.clone();
        async move {
            here.subscribe(Subscription::new(topics(&["t"])).last_event_id(Some(id)))
                .await
                .unwrap()
                .resume
        }
    };
    assert_eq!(resume(foreign.last_event_id().clone()).await, Resume::Lost);
    let own = EventId::try_from(format!("{entry}:{epoch}")).unwrap();
    assert_eq!(resume(own.clone()).await, Resume::Exact);

    // Flushed: the entry is gone, and the stream starts again.
    let () = redis::cmd("FLUSHALL")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(resume(own).await, Resume::Lost);
}
