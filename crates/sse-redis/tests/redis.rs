//! What is particular to the Redis provider, on a real redis-server: one
//! command per publish, one reader per process, the ID format, entries
//! from other programs, IDs from elsewhere, and losing Redis.

mod common;

use common::{admin, command_calls, next_event, provider, reset_command_calls, subscribe, topics};
use futures_util::StreamExt;
use redis::AsyncCommands;
use sse_codec::{EventId, Message, Provider, Resume, Subscription};
use sse_redis::{Error, Redis, Retention};
use sse_testkit::{Proxy, RedisServer, bounded, wait_until};
use std::time::Duration;

/// A publish is one command (one script that runs one `XADD`) however many
/// subscribers and processes there are; each process reads with one
/// `XREAD` per batch, not per subscriber.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_command_per_publish_and_one_reader_per_process() {
    const PUBLISHES: u64 = 200;
    let server = RedisServer::start();
    let nodes = [
        provider(&server.url(), "count").await,
        provider(&server.url(), "count").await,
    ];
    let mut subs = Vec::new();
    for node in &nodes {
        for _ in 0..25 {
            subs.push(subscribe(node, &["t"]).await);
        }
    }
    let mut admin = admin(&server).await;
    reset_command_calls(&mut admin).await;
    let publishes = (0..PUBLISHES).map(|i| {
        let node = nodes[(i % 2) as usize].clone();
        async move {
            node.publish(Message::new().data(i.to_string()), &topics(&["t"]))
                .await
                .unwrap();
        }
    });
    futures_util::future::join_all(publishes).await;
    for sub in &mut subs {
        for _ in 0..PUBLISHES {
            next_event(sub).await;
        }
    }
    let calls = command_calls(&mut admin).await;
    let count = |name: &str| calls.get(name).copied().unwrap_or(0);
    assert_eq!(count("xadd"), PUBLISHES, "{calls:?}");
    // Each node's reader reads each entry once, in batches: at most one
    // read per entry per node (plus the reads that waited for nothing),
    // never one per subscriber (50 here). A read waits with `XREAD` and
    // reads with the read script (`EVALSHA`, `XRANGE`); the other calls
    // of the script are the publishes, one each.
    let reads = count("xread");
    assert!(reads <= 2 * PUBLISHES + 4, "{reads} reads: {calls:?}");
    assert!(count("xrange") <= reads, "{calls:?}");
    let scripts = count("evalsha");
    assert!(
        (PUBLISHES..=PUBLISHES + reads).contains(&scripts),
        "{calls:?}"
    );
    // No replay: no transaction, nothing read backwards.
    for unexpected in ["multi", "xrevrange"] {
        assert_eq!(calls.get(unexpected), None, "{calls:?}");
    }
}

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

/// While this process cannot reach Redis, its live streams end with an
/// error (clients reconnect), publishing fails, and subscribing fails;
/// once Redis is back, the reader goes on from its last entry, and a
/// client that resumes gets everything published meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_redis_ends_streams_and_coming_back_loses_nothing() {
    let server = RedisServer::start();
    let network = Proxy::start(server.addr()).await;
    let url = format!("redis://{}/", network.addr());
    let node = provider(&url, "outage").await;
    // Another process, whose network stays up.
    let other = provider(&server.url(), "outage").await;

    let mut live = subscribe(&node, &["t"]).await;
    other
        .publish(Message::new().data("before"), &topics(&["t"]))
        .await
        .unwrap();
    let before = next_event(&mut live).await;
    assert_eq!(before.data(), "before");

    network.refuse();
    network.cut();
    let end = bounded("the live stream ends", live.next()).await;
    assert!(matches!(end, Some(Err(Error::Unavailable(_)))), "{end:?}");
    assert!(bounded("then nothing", live.next()).await.is_none());
    assert!(!node.is_reading());
    // Sent on the connection the cut dropped, it is unconfirmed: redis-rs
    // cannot tell whether it was written before the drop.
    let refused = node
        .publish(Message::new().data("lost"), &topics(&["t"]))
        .await;
    assert!(
        matches!(refused, Err(Error::Redis(_) | Error::Unconfirmed(_))),
        "{refused:?}"
    );
    let refused = node.subscribe(Subscription::new(topics(&["t"]))).await;
    assert!(
        matches!(refused, Err(Error::Unavailable(_) | Error::Redis(_))),
        "{refused:?}"
    );
    for i in 0..5 {
        other
            .publish(
                Message::new().data(format!("meanwhile {i}")),
                &topics(&["t"]),
            )
            .await
            .unwrap();
    }

    network.set_target(server.addr());
    wait_until("the reader reads again", || node.is_reading()).await;
    let resumed = bounded(
        "a resume after the outage",
        node.subscribe(
            Subscription::new(topics(&["t"])).last_event_id(Some(before.last_event_id().clone())),
        ),
    )
    .await
    .unwrap();
    assert_eq!(resumed.resume, Resume::Exact);
    let mut resumed = resumed.stream;
    for i in 0..5 {
        assert_eq!(
            next_event(&mut resumed).await.data(),
            format!("meanwhile {i}")
        );
    }
    node.publish(Message::new().data("after"), &topics(&["t"]))
        .await
        .unwrap();
    assert_eq!(next_event(&mut resumed).await.data(), "after");
}

/// Time-based retention trims entries older than the age at each publish.
#[tokio::test]
async fn time_based_retention_trims_old_entries() {
    let server = RedisServer::start();
    let node = Redis::builder(server.url())
        .key("aged")
        .retention(Retention::Younger(std::time::Duration::from_millis(200)))
        .build()
        .await
        .unwrap();
    for i in 0..300 {
        node.publish(Message::new().data(i.to_string()), &topics(&["t"]))
            .await
            .unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    node.publish(Message::new().data("new"), &topics(&["t"]))
        .await
        .unwrap();
    let mut admin = admin(&server).await;
    let len: u64 = admin.xlen("aged").await.unwrap();
    // Trimming is approximate (whole nodes of 100 entries), but the old
    // ones are gone.
    assert!(len < 150, "{len} entries kept");
}

/// A publish that Redis holds past the response timeout fails as
/// unconfirmed, not as a failure that stored nothing: Redis runs it when it
/// gets to it, and every subscriber receives it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_without_an_answer_is_unconfirmed_and_may_be_stored() {
    let server = RedisServer::start();
    let node = Redis::builder(server.url())
        .key("held")
        .response_timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap();
    let mut sub = subscribe(&node, &["t"]).await;
    let mut admin = admin(&server).await;
    // Write commands (scripts included) wait until the pause ends; reads
    // go on.
    let () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1500)
        .arg("WRITE")
        .query_async(&mut admin)
        .await
        .unwrap();
    let held = node
        .publish(Message::new().data("held"), &topics(&["t"]))
        .await;
    let Err(error) = held else {
        panic!("the publish answered within the pause: {held:?}")
    };
    assert!(error.is_unconfirmed(), "{error:?}");
    assert_eq!(
        error.to_string(),
        "redis did not answer in time; the message may have been published"
    );
    let cause = std::error::Error::source(&error)
        .and_then(|cause| cause.downcast_ref::<redis::RedisError>())
        .expect("the cause");
    assert!(cause.is_timeout(), "{cause:?}");
    // Stored once the pause ends.
    assert_eq!(next_event(&mut sub).await.data(), "held");
    let len: u64 = admin.xlen("held").await.unwrap();
    assert_eq!(len, 1);
}

/// A publish to a Redis that refuses connections certainly stored nothing,
/// and says so; one sent on the connection that the stop dropped is
/// unconfirmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_to_a_stopped_redis_is_refused_and_stores_nothing() {
    let mut server = RedisServer::start_persistent();
    let node = provider(&server.url(), "stopped").await;
    node.publish(Message::new().data("before"), &topics(&["t"]))
        .await
        .unwrap();
    server.stop();
    let mut results = Vec::new();
    loop {
        let result = node
            .publish(Message::new().data("lost"), &topics(&["t"]))
            .await;
        let unconfirmed = matches!(&result, Err(Error::Unconfirmed(_)));
        results.push(result);
        if !unconfirmed || results.len() == 5 {
            break;
        }
    }
    let Some(Err(error @ Error::Redis(refused))) = results.last() else {
        panic!("the publish was not refused: {results:?}")
    };
    assert!(refused.is_connection_refusal(), "{refused:?}");
    assert_eq!(error.to_string(), "could not connect to redis");
    assert!(
        results.len() <= 2,
        "only the dropped connection's: {results:?}"
    );
    // The data survives the restart: only the first publish is there.
    server.restart();
    let mut admin = admin(&server).await;
    let entries: Vec<(String, Vec<(String, String)>)> = admin.xrange_all("stopped").await.unwrap();
    let data: Vec<&str> = entries
        .iter()
        .flat_map(|(_, fields)| fields.iter())
        .filter(|(name, _)| name == "data")
        .map(|(_, value)| value.as_str())
        .collect();
    assert_eq!(data, ["before"]);
}

/// Publishes `n` numbered messages, alternately to topics `a` and `b`, and
/// returns the event IDs, read back by a subscriber of both.
async fn numbered(node: &Redis, n: usize) -> Vec<EventId> {
    let mut sub = subscribe(node, &["a", "b"]).await;
    for i in 0..n {
        let topic = if i % 2 == 0 { "a" } else { "b" };
        node.publish(Message::new().data(i.to_string()), &topics(&[topic]))
            .await
            .unwrap();
    }
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let event = next_event(&mut sub).await;
        assert_eq!(event.data(), i.to_string());
        ids.push(event.last_event_id().clone());
    }
    ids
}

/// The numbers `stream` holds next, `n` of them.
async fn numbers(stream: &mut sse_redis::Subscriber, n: usize) -> Vec<usize> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(next_event(stream).await.data().parse().unwrap());
    }
    out
}

/// A replay longer than a page is read in pages (`XRANGE ... COUNT`), each
/// from the last entry of the one before: every entry once, in order, then
/// live. From the earliest likewise, backwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_replay_is_read_in_pages_without_gap_or_duplicate() {
    const N: usize = 1700;
    let server = RedisServer::start();
    let node = Redis::builder(server.url())
        .key("pages")
        .retention(Retention::All)
        // Room for the publishes, which are read back only after.
        .capacity(4096)
        .build()
        .await
        .unwrap();
    let ids = numbered(&node, N).await;
    let mut admin = admin(&server).await;
    reset_command_calls(&mut admin).await;

    let from = 9;
    let resumed = node
        .subscribe(Subscription::new(topics(&["a"])).last_event_id(Some(ids[from].clone())))
        .await
        .unwrap();
    assert_eq!(resumed.resume, sse_codec::Resume::Exact);
    let mut resumed = resumed.stream;
    let expected: Vec<usize> = (from + 1..N).filter(|i| i % 2 == 0).collect();
    assert_eq!(numbers(&mut resumed, expected.len()).await, expected);

    let earliest = node
        .subscribe(Subscription::new(topics(&["b"])).from_earliest())
        .await
        .unwrap();
    assert_eq!(earliest.resume, sse_codec::Resume::Earliest);
    let mut earliest = earliest.stream;
    let expected: Vec<usize> = (0..N).filter(|i| i % 2 == 1).collect();
    assert_eq!(numbers(&mut earliest, expected.len()).await, expected);

    let calls = command_calls(&mut admin).await;
    // 1,690 entries after the resume ID in pages of 500 (each starting at
    // the one before's last); 1,700 backwards, the first page taking 501.
    assert_eq!(calls.get("xrange"), Some(&4), "{calls:?}");
    assert_eq!(calls.get("xrevrange"), Some(&4), "{calls:?}");

    node.publish(Message::new().data(N.to_string()), &topics(&["a", "b"]))
        .await
        .unwrap();
    assert_eq!(numbers(&mut resumed, 1).await, [N]);
    assert_eq!(numbers(&mut earliest, 1).await, [N]);
}

/// One replay reads at most `max_replay` entries: a resume from further
/// back is lost; from the earliest, the newest that many are replayed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_holds_at_most_max_replay_entries() {
    let server = RedisServer::start();
    let node = Redis::builder(server.url())
        .key("bounded")
        .retention(Retention::All)
        .max_replay(100)
        .build()
        .await
        .unwrap();
    let ids = numbered(&node, 150).await;
    let resume = |from: usize| {
        let node = node.clone();
        let id = ids[from].clone();
        async move {
            node.subscribe(Subscription::new(topics(&["a", "b"])).last_event_id(Some(id)))
                .await
                .unwrap()
        }
    };
    // 100 entries after the 50th: exact.
    let exact = resume(49).await;
    assert_eq!(exact.resume, sse_codec::Resume::Exact);
    let mut exact = exact.stream;
    assert_eq!(
        numbers(&mut exact, 100).await,
        (50..150).collect::<Vec<_>>()
    );
    // 101 after the 49th: lost, nothing replayed.
    let lost = resume(48).await;
    assert_eq!(lost.resume, sse_codec::Resume::Lost);
    assert_eq!(lost.stream.queued(), 0);

    let earliest = node
        .subscribe(Subscription::new(topics(&["a", "b"])).from_earliest())
        .await
        .unwrap();
    assert_eq!(earliest.resume, sse_codec::Resume::Earliest);
    let mut earliest = earliest.stream;
    assert_eq!(
        numbers(&mut earliest, 100).await,
        (50..150).collect::<Vec<_>>()
    );
}

/// The scripts are loaded again when Redis loses them (`SCRIPT FLUSH`, as
/// after a restart): publishing and reading go on, nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_that_redis_lost_are_loaded_again() {
    let server = RedisServer::start();
    let node = provider(&server.url(), "flushed").await;
    let mut sub = subscribe(&node, &["t"]).await;
    let mut admin = admin(&server).await;
    for i in 0..3 {
        let () = redis::cmd("SCRIPT")
            .arg("FLUSH")
            .query_async(&mut admin)
            .await
            .unwrap();
        node.publish(Message::new().data(i.to_string()), &topics(&["t"]))
            .await
            .unwrap();
        assert_eq!(next_event(&mut sub).await.data(), i.to_string());
    }
    let len: u64 = admin.xlen("flushed").await.unwrap();
    assert_eq!(len, 3);
}
