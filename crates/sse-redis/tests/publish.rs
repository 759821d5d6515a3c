//! A publish on a real redis-server: one command however many subscribers
//! and processes, the stream trimmed to the retention, and what a publish
//! that got no answer, or was refused, says it did.

mod common;

use common::{admin, command_calls, next_event, provider, reset_command_calls, subscribe, topics};
use redis::AsyncCommands;
use sse_codec::{Message, Provider};
use sse_redis::{Error, Redis, Retention};
use sse_testkit::RedisServer;
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
