//! Tests of Joe as a whole: fan-out, replay races, slow subscribers,
//! panics, shutdown.

mod fanout;
mod filters;
mod lag;
mod panics;
mod replay;
mod shutdown;
mod stats;
mod unsubscribe;
mod wake;

use crate::{Error, FiniteReplayer, Joe, Provider, Subscriber};
use futures_util::StreamExt;
use sse_codec::{Encoded, EventId, Message, MessageData, Subscription, Topic};
use tokio::task::JoinHandle;

fn topic(name: &str) -> Topic {
    Topic::from(name)
}

fn text(frame: &Encoded) -> String {
    String::from_utf8(frame.as_bytes().to_vec()).unwrap()
}

async fn subscribe(joe: &Joe, topics: &[&str]) -> Subscriber {
    joe.subscribe(Subscription::new(topics.iter().map(|t| topic(t))))
        .await
        .unwrap()
        .stream
}

/// Publishes `data` to the default topic.
async fn publish(joe: &Joe, data: impl Into<MessageData>) {
    joe.publish(Message::new().data(data), &[Topic::DEFAULT])
        .await
        .unwrap();
}

/// A Joe of `capacity` with a history of 100 numbered from 1, after
/// `published` messages to the default topic: "0", "1", ...
async fn with_history(capacity: usize, published: usize) -> Joe {
    let joe = Joe::builder()
        .capacity(capacity)
        .replayer(FiniteReplayer::new(100).auto_ids_from(1))
        .build();
    for i in 0..published {
        publish(&joe, i.to_string()).await;
    }
    joe
}

/// A subscription to the default topic, resuming after `id`.
fn resume_from(id: &'static str) -> Subscription {
    Subscription::new([Topic::DEFAULT]).last_event_id(Some(EventId::from_static(id)))
}

/// Polls `sub` once in a task of its own, so that it finds nothing and
/// registers its waker, then waits there for its next item; returns once
/// that first poll is done.
async fn next_after_waiting(mut sub: Subscriber) -> JoinHandle<Option<Result<Encoded, Error>>> {
    let (polled_tx, polled_rx) = tokio::sync::oneshot::channel();
    let waiter = tokio::spawn(async move {
        assert!(futures_util::FutureExt::now_or_never(sub.next()).is_none());
        polled_tx.send(()).unwrap();
        sub.next().await
    });
    polled_rx.await.unwrap();
    waiter
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
