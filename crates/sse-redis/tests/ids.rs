//! Event IDs on a real redis-server: the ID format, the IDs publishers
//! choose (kept on the wire, resumed from exactly on any process, through
//! an index trimmed with the stream), entries written by other programs,
//! and IDs from another stream, another Redis or before a flush.

mod common;

use common::{admin, next_event, provider, subscribe, topics};
use redis::AsyncCommands;
use sse_codec::{EventId, Message, Provider, Resume, Start, Subscription};
use sse_redis::{Redis, Retention};
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
}

/// A message with an ID of its own keeps it on the wire, and its entry
/// holds it (first, after the epoch); a message without one gets the
/// entry's.
#[tokio::test]
async fn a_publishers_id_is_kept_on_the_wire_and_in_the_entry() {
    let server = RedisServer::start();
    let node = provider(&server.url(), "kept").await;
    let mut sub = subscribe(&node, &["a"]).await;
    let id = EventId::from_static("urn:uuid:5f1c");
    node.publish(Message::new().id(id.clone()).data("x"), &topics(&["a"]))
        .await
        .unwrap();
    node.publish(Message::new().data("y"), &topics(&["a"]))
        .await
        .unwrap();
    assert_eq!(next_event(&mut sub).await.last_event_id(), &id);
    let generated = next_event(&mut sub).await;
    let mut admin = admin(&server).await;
    let entries: Vec<(String, Vec<(String, String)>)> = admin.xrange_all("kept").await.unwrap();
    let epoch = node.epoch();
    assert_eq!(
        generated.last_event_id().as_str(),
        format!("{}:{epoch}", entries[1].0)
    );
    let fields: Vec<(&str, &str)> = entries[0]
        .1
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("epoch", epoch.as_str()),
            ("id", "urn:uuid:5f1c"),
            ("topic", "a"),
            ("data", "x"),
        ]
    );
}

/// Numbered messages `from..to`, each with the ID `p<n>`, alternately to
/// topics `a` and `b`.
async fn publish_numbered(node: &Redis, from: usize, to: usize) {
    for n in from..to {
        let topic = if n % 2 == 0 { "a" } else { "b" };
        let id = EventId::try_from(format!("p{n}")).unwrap();
        node.publish(Message::new().id(id).data(n.to_string()), &topics(&[topic]))
            .await
            .unwrap();
    }
}

/// The next `n` events' IDs and data.
async fn events(stream: &mut sse_redis::Subscriber, n: usize) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for _ in 0..n {
        let event = next_event(stream).await;
        out.push((
            event.last_event_id().as_str().to_owned(),
            event.data().to_owned(),
        ));
    }
    out
}

/// `(p<n>, <n>)` for each `n`.
fn numbered(ns: impl IntoIterator<Item = usize>) -> Vec<(String, String)> {
    ns.into_iter()
        .map(|n| (format!("p{n}"), n.to_string()))
        .collect()
}

/// A client that got a publisher's ID through one process resumes from it
/// exactly on another: what followed it on its topics, with their IDs,
/// then live; a fresh subscription there starts at the newest ID, which
/// is the publisher's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publishers_id_resumes_exactly_on_another_process() {
    let server = RedisServer::start();
    let a = provider(&server.url(), "shared").await;
    let b = provider(&server.url(), "shared").await;
    let mut on_a = subscribe(&a, &["a", "b"]).await;
    publish_numbered(&a, 0, 6).await;
    assert_eq!(events(&mut on_a, 6).await, numbered(0..6));

    let resumed = b
        .subscribe(
            Subscription::new(topics(&["a"])).last_event_id(Some(EventId::from_static("p1"))),
        )
        .await
        .unwrap();
    assert_eq!(resumed.resume, Resume::Exact);
    assert_eq!(resumed.position, Some(EventId::from_static("p1")));
    let mut resumed = resumed.stream;
    assert_eq!(events(&mut resumed, 2).await, numbered([2, 4]));

    let fresh = b
        .subscribe(Subscription::new(topics(&["b"])))
        .await
        .unwrap();
    assert_eq!(fresh.resume, Resume::Fresh);
    assert_eq!(fresh.position, Some(EventId::from_static("p5")));
    let mut fresh = fresh.stream;

    publish_numbered(&a, 6, 8).await;
    assert_eq!(events(&mut resumed, 1).await, numbered([6]));
    assert_eq!(events(&mut fresh, 1).await, numbered([7]));
}

/// An ID published twice resumes after its earliest use; once the stream
/// no longer holds that use, after the next one it holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reused_id_resumes_from_its_earliest_use() {
    let server = RedisServer::start();
    let node = Redis::builder(server.url())
        .key("reused")
        .retention(Retention::All)
        .build()
        .await
        .unwrap();
    let mut sub = subscribe(&node, &["t"]).await;
    for (id, data) in [("x", "1"), ("y", "2"), ("x", "3"), ("z", "4")] {
        node.publish(
            Message::new().id(EventId::from_static(id)).data(data),
            &topics(&["t"]),
        )
        .await
        .unwrap();
    }
    let seen = events(&mut sub, 4).await;
    let resume = |node: Redis| async move {
        let subscribed = node
            .subscribe(
                Subscription::new(topics(&["t"])).last_event_id(Some(EventId::from_static("x"))),
            )
            .await
            .unwrap();
        assert_eq!(subscribed.resume, Resume::Exact);
        subscribed.stream
    };
    let mut after_first = resume(node.clone()).await;
    assert_eq!(events(&mut after_first, 3).await, seen[1..]);

    // The first use trimmed, as a retention trims: from the second.
    let first_entry: Vec<(String, Vec<(String, String)>)> = admin(&server)
        .await
        .xrange_count("reused", "-", "+", 1)
        .await
        .unwrap();
    let (first, _) = &first_entry[0];
    let mut conn = admin(&server).await;
    let () = redis::cmd("XDEL")
        .arg("reused")
        .arg(first)
        .query_async::<u64>(&mut conn)
        .await
        .map(drop)
        .unwrap();
    let mut after_second = resume(node.clone()).await;
    assert_eq!(events(&mut after_second, 1).await, seen[3..]);
}

/// An ID no publisher used is lost, as is one of an instance of the
/// stream that ended: the index lives with its instance, and goes with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_ids_and_ids_of_an_ended_instance_are_lost() {
    let server = RedisServer::start();
    let node = provider(&server.url(), "ended").await;
    let mut sub = subscribe(&node, &["t"]).await;
    node.publish(
        Message::new().id(EventId::from_static("old")).data("0"),
        &topics(&["t"]),
    )
    .await
    .unwrap();
    next_event(&mut sub).await;
    let resume = |id: &'static str| {
        let node = node.clone();
        async move {
            node.subscribe(
                Subscription::new(topics(&["t"])).starting(Start::After(EventId::from_static(id))),
            )
            .await
            .unwrap()
            .resume
        }
    };
    assert_eq!(resume("old").await, Resume::Exact);
    assert_eq!(resume("never").await, Resume::Lost);

    let old_epoch = node.epoch();
    let mut admin = admin(&server).await;
    let indexed: u64 = admin.zcard(format!("ended:ids:{old_epoch}")).await.unwrap();
    assert_eq!(indexed, 1);
    // The stream deleted, and written again by the next publish: a new
    // instance, whose start deletes the old one's index.
    let () = redis::cmd("DEL")
        .arg("ended")
        .query_async::<u64>(&mut admin)
        .await
        .map(drop)
        .unwrap();
    node.publish(
        Message::new().id(EventId::from_static("new")).data("1"),
        &topics(&["t"]),
    )
    .await
    .unwrap();
    let new_epoch: String = admin.get("ended:epoch").await.unwrap();
    assert_ne!(new_epoch, old_epoch);
    for key in [
        format!("ended:ids:{old_epoch}"),
        format!("ended:id-order:{old_epoch}"),
    ] {
        let exists: bool = admin.exists(&key).await.unwrap();
        assert!(!exists, "{key} went with its instance");
    }
    sse_testkit::wait_until("the reader reads the new instance", || {
        node.epoch() == new_epoch
    })
    .await;
    assert_eq!(resume("old").await, Resume::Lost);
    assert_eq!(resume("new").await, Resume::Exact);
}

/// The index holds the uses of the entries the stream holds: trimmed with
/// it, by each publish.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_is_trimmed_with_the_stream() {
    let server = RedisServer::start();
    let node = Redis::builder(server.url())
        .key("trimmed")
        .retention(Retention::Last(10))
        .build()
        .await
        .unwrap();
    publish_numbered(&node, 0, 450).await;
    let mut admin = admin(&server).await;
    let epoch = node.epoch();
    let len: usize = admin.xlen("trimmed").await.unwrap();
    assert!(len < 450, "{len} entries kept");
    let ids: usize = admin.zcard(format!("trimmed:ids:{epoch}")).await.unwrap();
    let order: usize = admin
        .llen(format!("trimmed:id-order:{epoch}"))
        .await
        .unwrap();
    assert_eq!((ids, order), (len, len));
    // The oldest use indexed is the stream's first entry's.
    let first: Vec<(String, Vec<(String, String)>)> =
        admin.xrange_count("trimmed", "-", "+", 1).await.unwrap();
    let oldest: Vec<Vec<u8>> = admin
        .lrange(format!("trimmed:id-order:{epoch}"), 0, 0)
        .await
        .unwrap();
    let id = first[0]
        .1
        .iter()
        .find(|(k, _)| k == "id")
        .unwrap()
        .1
        .clone();
    assert!(
        oldest[0].starts_with(format!("{id}\0").as_bytes()),
        "{oldest:?}"
    );
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
