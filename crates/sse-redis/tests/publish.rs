//! A publish on a real redis-server: one command however many subscribers
//! and processes, the stream trimmed to the retention, and what a publish
//! that got no answer, or was refused, says it did.

mod common;

use common::{admin, command_calls, next_event, provider, reset_command_calls, subscribe, topics};
use futures_util::StreamExt;
use redis::AsyncCommands;
use sse_codec::{EventId, Message, Provider};
use sse_redis::{Error, Redis, Retention};
use sse_testkit::{RedisServer, bounded};
use std::{collections::HashMap, time::Duration};

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

/// A publish with an ID of its own is one round trip too: the script that
/// adds the entry indexes the ID and drops the uses the stream no longer
/// holds, inside the one `EVALSHA`. `MONITOR` shows what each connection
/// sent: the publishing one, one `EVALSHA` per publish and nothing else;
/// `INFO commandstats` counts every command, those the scripts run too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_round_trip_per_publish_with_an_id() {
    const PUBLISHES: u64 = 300;
    let server = RedisServer::start();
    let node = Redis::builder(server.url())
        .key("trip")
        .retention(Retention::Last(10))
        .build()
        .await
        .unwrap();
    let mut admin = admin(&server).await;
    let mut monitor = redis::Client::open(server.url())
        .unwrap()
        .get_async_monitor()
        .await
        .unwrap()
        .into_on_message::<String>();
    reset_command_calls(&mut admin).await;
    for i in 0..PUBLISHES {
        let id = EventId::try_from(format!("urn:{i}")).unwrap();
        node.publish(Message::new().id(id).data(i.to_string()), &topics(&["t"]))
            .await
            .unwrap();
    }
    let calls = command_calls(&mut admin).await;
    let () = redis::cmd("ECHO")
        .arg("the end")
        .query_async::<String>(&mut admin)
        .await
        .map(drop)
        .unwrap();

    // What each connection sent, in the order Redis ran it, until the
    // test's `ECHO`; the scripts' commands (from `lua`) apart.
    let mut sent: HashMap<String, Vec<String>> = HashMap::new();
    loop {
        let line = bounded("a monitored command", monitor.next())
            .await
            .expect("the monitor connection ended");
        // `<time> [<db> <client>] "<COMMAND>" "<arg>" ...`
        let (client, command) = line
            .split_once(" [")
            .and_then(|(_, rest)| rest.split_once("] "))
            .expect("a monitor line");
        let client = client.split_once(' ').map_or(client, |(_, client)| client);
        let name = command
            .split('"')
            .nth(1)
            .unwrap_or_default()
            .to_ascii_lowercase();
        if command == "\"ECHO\" \"the end\"" {
            break;
        }
        if client != "lua" {
            sent.entry(client.to_owned()).or_default().push(name);
        }
    }
    let publisher: Vec<&Vec<String>> = sent
        .values()
        .filter(|names| !names.iter().any(|name| name == "xread" || name == "info"))
        .filter(|names| names.iter().any(|name| name == "evalsha"))
        .collect();
    assert_eq!(publisher.len(), 1, "one publishing connection: {sent:?}");
    let publisher = publisher[0];
    assert_eq!(publisher.len() as u64, PUBLISHES, "{publisher:?}");
    assert!(
        publisher.iter().all(|name| name == "evalsha"),
        "{publisher:?}"
    );

    // The reader's script (after each `XREAD`, the two in a pipeline)
    // runs `XINFO STREAM` once; every other script run is a publish.
    let count = |name: &str| calls.get(name).copied().unwrap_or(0);
    let reads = count("xinfo|stream");
    assert_eq!(count("evalsha"), PUBLISHES + reads, "{calls:?}");
    for unexpected in ["multi", "exec", "script"] {
        assert_eq!(count(unexpected), 0, "{calls:?}");
    }
    // Inside a publish: `GET` and `EXISTS` (the stream's instance), `XADD`,
    // `ZADD` and `RPUSH` (the index), `LINDEX` and `XRANGE` (the oldest use
    // indexed, the first entry); for each use dropped, `LPOP`, `ZREM` and
    // `LINDEX`. The reader's script runs `GET`, `EXISTS` and `XRANGE`.
    let epoch = node.epoch();
    let indexed: u64 = admin.zcard(format!("trip:ids:{epoch}")).await.unwrap();
    let dropped = PUBLISHES - indexed;
    assert!(dropped > 0, "the retention trimmed uses: {calls:?}");
    let expected = [
        ("xadd", PUBLISHES),
        ("zadd", PUBLISHES),
        ("rpush", PUBLISHES),
        ("get", PUBLISHES + reads),
        ("exists", PUBLISHES + reads),
        ("xrange", PUBLISHES + reads),
        ("lindex", PUBLISHES + dropped),
        ("lpop", dropped),
        ("zrem", dropped),
    ];
    for (name, calls_expected) in expected {
        assert_eq!(count(name), calls_expected, "{name}: {calls:?}");
    }
    eprintln!(
        "{PUBLISHES} publishes with an ID, {dropped} uses dropped: {:?}",
        expected.map(|(name, _)| (name, count(name)))
    );
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

/// Time-based retention with a bound on the count: a burst within the age
/// is trimmed to about the bound.
#[tokio::test]
async fn time_based_retention_with_a_bound_trims_a_burst_to_it() {
    let server = RedisServer::start();
    let node = Redis::builder(server.url())
        .key("capped")
        .retention(Retention::YoungerAtMost {
            age: Duration::from_secs(3600),
            max: 100,
        })
        .build()
        .await
        .unwrap();
    for i in 0..1000 {
        node.publish(
            Message::new()
                .id(EventId::try_from(format!("u{i}")).unwrap())
                .data(i.to_string()),
            &topics(&["t"]),
        )
        .await
        .unwrap();
    }
    let mut admin = admin(&server).await;
    let len: u64 = admin.xlen("capped").await.unwrap();
    // Trimming is approximate (whole nodes of 100 entries): at least the
    // bound, and not the burst.
    assert!((100..300).contains(&len), "{len} entries kept");
    // The index of publishers' IDs is trimmed with the stream, and the
    // newest IDs still resume exactly.
    let epoch = node.epoch();
    let indexed: u64 = admin.zcard(format!("capped:ids:{epoch}")).await.unwrap();
    assert!(indexed <= len, "{indexed} IDs indexed for {len} entries");
    let subscribed = node
        .subscribe(
            sse_codec::Subscription::new(topics(&["t"]))
                .starting(sse_codec::Start::After(EventId::from_static("u998"))),
        )
        .await
        .unwrap();
    assert_eq!(subscribed.resume, sse_codec::Resume::Exact);
    let mut stream = subscribed.stream;
    let event = next_event(&mut stream).await;
    assert_eq!(event.last_event_id().as_str(), "u999");
    assert_eq!(event.data(), "999");
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
