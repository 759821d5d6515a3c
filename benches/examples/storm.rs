//! A reconnect storm against Joe, in process (see `shared/storm.rs`):
//! reports publish latency while `--subscribers` subscribers resume at
//! once over a history of `--history` events with publishes going on at
//! `--rate` per second, the time until every subscriber is live, and checks
//! every subscriber's sequence. Joe's capacity (`--capacity`, 2048 by
//! default: two seconds of publishes) is what a subscriber may fall behind
//! while the storm keeps both cores busy. Exits with 1 on any problem.
//!
//! ```text
//! cargo run --release -p sse-benches --example storm -- --subscribers 5000 --history 1000 --rate 1000
//! ```

#[path = "../shared/storm.rs"]
mod storm;

use std::time::Duration;
use storm::Options;

fn options() -> Options {
    let mut o = Options {
        subscribers: 5000,
        history: 1000,
        rate: 1000,
        capacity: 2048,
        after: Duration::from_millis(500),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || -> u64 {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage(&format!("{arg} needs a number")))
        };
        match arg.as_str() {
            "--subscribers" => o.subscribers = value() as usize,
            "--history" => o.history = value().max(1),
            "--rate" => o.rate = value().max(1),
            "--capacity" => o.capacity = value().max(1) as usize,
            "--after-ms" => o.after = Duration::from_millis(value()),
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    o
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "{problem}\nUSAGE: storm [--subscribers N] [--history N] [--rate PER_SEC] [--capacity N] [--after-ms MS]"
    );
    std::process::exit(if problem.is_empty() { 0 } else { 2 })
}

fn main() {
    let o = options();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("a runtime");
    let report = rt.block_on(storm::storm(&o));
    println!(
        "storm: {} subscribers resuming over {} retained events, publishing {}/s, capacity {}",
        o.subscribers, o.history, o.rate, o.capacity
    );
    report.print(o.subscribers, "us");
    for problem in report.problems.iter().take(10) {
        println!("  {problem}");
    }
    if !report.problems.is_empty() {
        std::process::exit(1);
    }
}
