//! Providers on a real redis-server, a connection of the test's own to it,
//! and reading events back, shared by the socket tests.
#![allow(dead_code, unreachable_pub)]

use futures_util::StreamExt;
use sse_codec::{Event, Parser, Provider, Subscription, Topic};
use sse_redis::{Redis, Subscriber};
use sse_testkit::{RedisServer, bounded};
use std::collections::HashMap;

/// A provider on the stream `key` at `url`, configured by default.
pub async fn provider(url: &str, key: &str) -> Redis {
    Redis::builder(url).key(key).build().await.unwrap()
}

/// A connection to `server` of the test's own, to look at the stream and
/// do to Redis what the providers must cope with.
pub async fn admin(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

/// Sets the counts [`command_calls`] reads back to zero.
pub async fn reset_command_calls(conn: &mut redis::aio::MultiplexedConnection) {
    let () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(conn)
        .await
        .unwrap();
}

/// Calls of each command since the last `CONFIG RESETSTAT`.
pub async fn command_calls(conn: &mut redis::aio::MultiplexedConnection) -> HashMap<String, u64> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(conn)
        .await
        .unwrap();
    info.lines()
        .filter_map(|line| {
            let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .collect()
}

pub fn topics(names: &[&str]) -> Vec<Topic> {
    names.iter().map(|t| Topic::from(*t)).collect()
}

/// A live subscription of `node` to the topics `names`.
pub async fn subscribe(node: &Redis, names: &[&str]) -> Subscriber {
    node.subscribe(Subscription::new(topics(names)))
        .await
        .unwrap()
        .stream
}

pub async fn next_event(stream: &mut Subscriber) -> Event {
    let frame = bounded("an event", stream.next())
        .await
        .expect("the stream ended")
        .expect("an event, not an error");
    let mut parser = Parser::new();
    parser.feed(frame.into_bytes());
    parser.next_event().unwrap().unwrap()
}
