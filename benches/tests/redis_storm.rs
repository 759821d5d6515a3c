//! A reconnect storm on Redis at a size the suite affords: 500 subscribers
//! resume at once over 200 events of a real redis-server's stream while
//! publishing goes on (100 a second), and every one must go live and read
//! a gap-free, duplicate-free sequence. (How long it takes is measured by
//! the `redis_storm` example, not asserted here.)

// The report's timings are for the example to print; the test checks
// sequences only.
#[allow(dead_code)]
#[path = "../shared/redis_storm.rs"]
mod redis_storm;
#[allow(dead_code)]
#[path = "../shared/storm.rs"]
mod storm;

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subscriber_of_a_redis_storm_resumes_without_gap_or_duplicate() {
    let report = redis_storm::storm(
        &storm::Options {
            subscribers: 500,
            history: 200,
            // Replays are read, parsed and encoded one connection at a
            // time: a debug build keeps up with this rate while 500
            // resume at once, not with much more.
            rate: 100,
            // Generous: on a loaded machine the test checks sequences, not
            // whether subscribers keep up.
            capacity: 100_000,
            after: Duration::from_millis(200),
        },
        // Likewise: no resume point is trimmed before its turn comes.
        100_000,
    )
    .await;
    report.assert_clean(500);
}
