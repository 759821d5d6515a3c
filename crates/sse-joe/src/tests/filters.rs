//! Filtered subscribers and private updates: what reaches whom, live, and
//! what a private update costs the subscribers it is not for.

use super::{subscribe, text, topic};
use crate::{Joe, Provider};
use futures_util::{FutureExt, StreamExt};
use sse_codec::{Filter, Message, Routing, Subscription};

fn routed(topics: &[&str], private: bool) -> Routing {
    Routing::new(topics.iter().map(|t| topic(t))).private(private)
}

/// The filter of a subscriber granted `granted`: private updates of it.
fn granted(granted: &'static str) -> Filter {
    Filter::new(move |routing: &Routing| {
        !routing.is_private() || routing.topics().iter().any(|t| t.as_str() == granted)
    })
}

#[tokio::test]
async fn a_private_update_reaches_only_the_filters_that_accept_it() {
    let joe = Joe::new();
    let mut plain = subscribe(&joe, &["t"]).await;
    let filtered = |filter| joe.subscribe(Subscription::new([topic("t")]).filter(filter));
    let mut yes = filtered(granted("t")).await.unwrap().stream;
    let mut no = filtered(granted("u")).await.unwrap().stream;
    let mut every = joe
        .subscribe(Subscription::new([]).every_topic().filter(granted("t")))
        .await
        .unwrap()
        .stream;

    joe.publish_routed(Message::new().data("secret"), routed(&["t"], true))
        .await
        .unwrap();
    joe.publish_routed(Message::new().data("news"), routed(&["t"], false))
        .await
        .unwrap();

    for (name, stream, expected) in [
        ("plain", &mut plain, &["news"][..]),
        ("granted", &mut yes, &["secret", "news"]),
        ("not granted", &mut no, &["news"]),
        ("every topic", &mut every, &["secret", "news"]),
    ] {
        for data in expected {
            let frame = stream.next().await.unwrap().unwrap();
            assert_eq!(text(&frame), format!("data: {data}\n\n"), "{name}");
        }
        assert!(
            stream.next().now_or_never().is_none(),
            "{name}: nothing more"
        );
    }
}

#[tokio::test]
async fn a_private_update_is_not_queued_where_no_filter_reads() {
    let joe = Joe::new();
    let mut plain = subscribe(&joe, &["t"]).await;
    joe.publish_routed(Message::new().data("secret"), routed(&["t"], true))
        .await
        .unwrap();
    assert_eq!(joe.stats().queued_frames, 0, "not in the topic's log");
    assert!(plain.next().now_or_never().is_none());
}

#[tokio::test]
async fn every_topic_with_a_filter_gets_what_it_selects_once_in_order() {
    let joe = Joe::new();
    let books = Filter::new(|routing: &Routing| {
        routing
            .topics()
            .iter()
            .any(|t| t.as_str().starts_with("/books/"))
    });
    let mut selected = joe
        .subscribe(Subscription::new([]).every_topic().filter(books))
        .await
        .unwrap()
        .stream;
    let mut exact = subscribe(&joe, &["/books/1", "/authors/1"]).await;
    for (i, topics) in [
        &["/books/1"][..],
        &["/authors/1"],
        &["/books/2", "/books/3"],
        &["/authors/1", "/books/1"],
    ]
    .into_iter()
    .enumerate()
    {
        let message = Message::new().data(i.to_string());
        joe.publish_routed(message, routed(topics, false))
            .await
            .unwrap();
    }
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(text(&selected.next().await.unwrap().unwrap()));
    }
    assert_eq!(got, ["data: 0\n\n", "data: 2\n\n", "data: 3\n\n"]);
    assert!(selected.next().now_or_never().is_none());
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(text(&exact.next().await.unwrap().unwrap()));
    }
    assert_eq!(got, ["data: 0\n\n", "data: 1\n\n", "data: 3\n\n"]);
    assert!(exact.next().now_or_never().is_none());
}

#[tokio::test]
async fn a_subscriber_of_several_topics_skips_a_batch_its_filter_refuses() {
    let joe = Joe::new();
    let only_last = Filter::new(|routing: &Routing| !routing.is_private());
    let mut sub = joe
        .subscribe(Subscription::new([topic("a"), topic("b")]).filter(only_last))
        .await
        .unwrap()
        .stream;
    for i in 0..200 {
        let routing = routed(&[if i % 2 == 0 { "a" } else { "b" }], true);
        joe.publish_routed(Message::new().data("x"), routing)
            .await
            .unwrap();
    }
    joe.publish_routed(Message::new().data("public"), routed(&["b"], false))
        .await
        .unwrap();
    let frame = sub.next().await.unwrap().unwrap();
    assert_eq!(text(&frame), "data: public\n\n");
}
