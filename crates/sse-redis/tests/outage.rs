//! Redis lost under a process, on a real redis-server: the connection cut
//! and back, the scripts flushed.

mod common;

use common::{admin, next_event, provider, subscribe, topics};
use futures_util::StreamExt;
use redis::AsyncCommands;
use sse_codec::{Message, Provider, Resume, Subscription};
use sse_redis::Error;
use sse_testkit::{Proxy, RedisServer, bounded, wait_until};

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
