//! A reconnect storm at a size the suite affords: 500 subscribers resume at
//! once over 200 retained events while publishing goes on, and every one
//! must go live and read a gap-free, duplicate-free sequence. (How long it
//! takes is measured by the `storm` example, not asserted here.)

// The report's timings are for the example to print; the test checks
// sequences only.
#[allow(dead_code)]
#[path = "../shared/storm.rs"]
mod storm;

use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_subscriber_of_a_storm_resumes_without_gap_or_duplicate() {
    let report = storm::storm(&storm::Options {
        subscribers: 500,
        history: 200,
        rate: 500,
        // Generous: on a loaded machine the test checks sequences, not
        // whether subscribers keep up.
        capacity: 100_000,
        after: Duration::from_millis(200),
    })
    .await;
    report.assert_clean(500);
}
