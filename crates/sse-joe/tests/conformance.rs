//! Joe against the `Provider` conformance suite that every provider in the
//! tree passes.

use sse_joe::{FiniteReplayer, Joe};
use sse_testkit::conformance::{self, Config, Harness};

struct JoeHarness;

impl Harness for JoeHarness {
    type Provider = Joe;

    async fn provider(&self, config: Config) -> Joe {
        let replayer = FiniteReplayer::new(config.history).auto_ids(!config.publisher_ids);
        Joe::builder()
            .capacity(config.capacity)
            .replayer(replayer)
            .build()
    }

    fn open_streams(&self, joe: &Joe) -> usize {
        joe.subscriber_count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joe_keeps_the_provider_contract() {
    conformance::run_all(&JoeHarness).await;
}
