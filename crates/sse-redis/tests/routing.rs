//! Routing through a real redis-server: an update's topics (the canonical
//! first) and whether it is private are stored in its entry, and every
//! process routes it by them, live and on replay: a private update reaches
//! only the subscribers whose filter accepts it.

mod common;

use common::{admin, next_event, provider, topics};
use futures_util::StreamExt;
use redis::AsyncCommands;
use sse_codec::{EventId, Filter, Message, Provider, Routing, Start, Subscription, Topic};
use sse_redis::{Redis, Subscriber};
use sse_testkit::RedisServer;
use std::time::Duration;

/// A hub's grant check: a filter that accepts public updates, and private
/// ones with a topic in `granted`.
fn granted(granted: &'static [&'static str]) -> Filter {
    Filter::new(move |routing: &Routing| {
        !routing.is_private()
            || routing
                .topics()
                .iter()
                .any(|topic| granted.contains(&topic.as_str()))
    })
}

/// The subscriptions of the checks, each with the data it must get of
/// `before`, `secret` (private, to `/users/7` and `/users/all`) and
/// `after` (public, to `/users/7`).
fn subscriptions() -> Vec<(&'static str, Subscription, &'static [&'static str])> {
    const PUBLIC: &[&str] = &["before", "after"];
    const ALL: &[&str] = &["before", "secret", "after"];
    vec![
        (
            "no filter",
            Subscription::new(topics(&["/users/7"])),
            PUBLIC,
        ),
        (
            "every topic, no filter",
            Subscription::new([]).every_topic(),
            PUBLIC,
        ),
        (
            "a rejecting filter",
            Subscription::new(topics(&["/users/7"])).filter(granted(&["/users/8"])),
            PUBLIC,
        ),
        (
            "an accepting filter",
            Subscription::new(topics(&["/users/7"])).filter(granted(&["/users/7"])),
            ALL,
        ),
        (
            "the alternate topic, an accepting filter",
            Subscription::new(topics(&["/users/all", "/users/7"])).filter(granted(&["/users/all"])),
            ALL,
        ),
        (
            "every topic, an accepting filter",
            Subscription::new([])
                .every_topic()
                .filter(granted(&["/users/7"])),
            ALL,
        ),
    ]
}

/// Reads `expected` from `stream`, then checks that nothing more comes.
async fn expect_only(stream: &mut Subscriber, expected: &[&str], who: &str) {
    let mut got = Vec::new();
    for _ in expected {
        got.push(next_event(stream).await.data().to_owned());
    }
    assert_eq!(got, expected, "{who}");
    let more = tokio::time::timeout(Duration::from_millis(200), stream.next()).await;
    assert!(more.is_err(), "{who}: then {more:?}");
}

async fn subscribe_with(node: &Redis, subscription: Subscription) -> Subscriber {
    node.subscribe(subscription).await.unwrap().stream
}

/// Published through one process, a private update reaches, through
/// another, only the subscribers whose filter accepts it, by either of its
/// topics: live, after an ID before it, and from the earliest. Its entry
/// holds both topics in order and the private mark.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_update_reaches_only_accepting_filters_live_and_replayed() {
    let server = RedisServer::start();
    let a = provider(&server.url(), "routed").await;
    let b = provider(&server.url(), "routed").await;
    let mut live = Vec::new();
    for (_, subscription, _) in subscriptions() {
        live.push(subscribe_with(&b, subscription).await);
    }
    a.publish(Message::new().data("before"), &topics(&["/users/7"]))
        .await
        .unwrap();
    let secret = Routing::new(topics(&["/users/7", "/users/all"])).private(true);
    a.publish_routed(Message::new().data("secret"), secret)
        .await
        .unwrap();
    a.publish(Message::new().data("after"), &topics(&["/users/7"]))
        .await
        .unwrap();

    let mut admin = admin(&server).await;
    let entries: Vec<(String, Vec<(String, String)>)> = admin.xrange_all("routed").await.unwrap();
    let fields: Vec<(&str, &str)> = entries[1]
        .1
        .iter()
        .skip(1)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("topic", "/users/7"),
            ("topic", "/users/all"),
            ("private", "1"),
            ("data", "secret"),
        ]
    );

    for ((who, _, expected), stream) in subscriptions().iter().zip(&mut live) {
        expect_only(stream, expected, &format!("live, {who}")).await;
    }
    let before = EventId::try_from(format!("{}:{}", entries[0].0, b.epoch())).unwrap();
    for (who, subscription, expected) in subscriptions() {
        let after = subscription.clone().starting(Start::After(before.clone()));
        let mut stream = subscribe_with(&b, after).await;
        expect_only(&mut stream, &expected[1..], &format!("after before, {who}")).await;
        let mut stream = subscribe_with(&b, subscription.from_earliest()).await;
        expect_only(&mut stream, expected, &format!("earliest, {who}")).await;
    }
}

/// Another program marks an entry private with a `private` field: only
/// an accepting filter gets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_another_program_marks_private_is_routed_as_private() {
    let server = RedisServer::start();
    let node = provider(&server.url(), "foreign").await;
    let [open, granted_one] = [
        Subscription::new([Topic::from("/t")]),
        Subscription::new([Topic::from("/t")]).filter(granted(&["/t"])),
    ]
    .map(|subscription| node.subscribe(subscription));
    let mut open = open.await.unwrap().stream;
    let mut granted_one = granted_one.await.unwrap().stream;
    let mut admin = admin(&server).await;
    for (data, private) in [("secret", "true"), ("public", "0")] {
        let _: String = admin
            .xadd(
                "foreign",
                "*",
                &[("topic", "/t"), ("private", private), ("data", data)],
            )
            .await
            .unwrap();
    }
    expect_only(&mut open, &["public"], "no filter").await;
    expect_only(
        &mut granted_one,
        &["secret", "public"],
        "an accepting filter",
    )
    .await;
}
