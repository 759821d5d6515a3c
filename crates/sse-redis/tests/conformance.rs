//! The Redis provider against the `Provider` conformance suite that every
//! provider in the tree passes, on a real redis-server.

use sse_redis::{Redis, Retention};
use sse_testkit::{
    RedisServer,
    conformance::{self, Config, Harness},
};
use std::sync::atomic::{AtomicUsize, Ordering};

struct RedisHarness {
    server: RedisServer,
    streams: AtomicUsize,
}

impl Harness for RedisHarness {
    type Provider = Redis;

    async fn provider(&self, config: Config) -> Redis {
        let n = self.streams.fetch_add(1, Ordering::Relaxed);
        Redis::builder(self.server.url())
            .key(format!("conformance:{n}"))
            .retention(Retention::Last(config.history as u64))
            .capacity(config.capacity)
            .build()
            .await
            .unwrap()
    }

    fn open_streams(&self, redis: &Redis) -> usize {
        redis.subscriber_count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_keeps_the_provider_contract() {
    let harness = RedisHarness {
        server: RedisServer::start(),
        streams: AtomicUsize::new(0),
    };
    conformance::run_all(&harness).await;
}
