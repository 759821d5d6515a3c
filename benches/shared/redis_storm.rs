//! The reconnect storm of `storm.rs` on Redis: a real `redis-server` on a
//! free port (sse-testkit's), one provider (one server process) with its
//! reader on a thread of its own, as by default. The history is the
//! stream's, and each subscriber's resume replays from it with `XRANGE`;
//! publishes go out from a thread of their own, each timed from the call
//! until Redis has stored the entry.

use crate::storm::{self, Options, Report};
use futures_util::StreamExt;
use sse_codec::{EventId, Message, Parser, Provider, Subscription, Topic};
use sse_redis::{Redis, Retention};
use sse_testkit::RedisServer;
use std::time::Duration;

/// How long a command may wait for Redis's answer: thousands of replays
/// at once queue behind each other on the provider's one connection.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs a storm against Redis on the current (multi-threaded) runtime,
/// the stream keeping about the last `retention` entries.
///
/// # Panics
///
/// If redis-server cannot be started, or the history cannot be published.
pub(crate) async fn storm(o: &Options, retention: u64) -> Report {
    let server = RedisServer::start();
    let redis = Redis::builder(server.url())
        .key("storm")
        .retention(Retention::Last(retention))
        .capacity(o.capacity)
        .response_timeout(RESPONSE_TIMEOUT)
        .build()
        .await
        .expect("a provider on the redis-server");
    let ids = history(&redis, o.history).await;
    let publisher = {
        let redis = redis.clone();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the publisher's runtime");
        move |n: u64| {
            let message = Message::new().data(n.to_string());
            runtime
                .block_on(redis.publish(message, &[Topic::DEFAULT]))
                .map_err(|error| error.to_string())
        }
    };
    let report = storm::run(redis.clone(), |n| ids[n as usize - 1].clone(), publisher, o).await;
    redis.shutdown().await;
    report
}

/// Publishes the events numbered 1 to `n` and returns their IDs, as a
/// subscriber of the provider reads them.
async fn history(redis: &Redis, n: u64) -> Vec<EventId> {
    let mut stream = redis
        .subscribe(Subscription::new([Topic::DEFAULT]))
        .await
        .expect("a subscriber")
        .stream;
    let mut ids = Vec::with_capacity(n as usize);
    for i in 1..=n {
        redis
            .publish(Message::new().data(i.to_string()), &[Topic::DEFAULT])
            .await
            .expect("the history published");
        let frame = stream
            .next()
            .await
            .expect("the subscriber's stream")
            .expect("an event");
        let mut parser = Parser::new();
        parser.feed(frame.into_bytes());
        let event = parser.next_event().ok().flatten().expect("an event");
        assert_eq!(event.data(), i.to_string(), "the history in order");
        ids.push(event.last_event_id().clone());
    }
    ids
}
