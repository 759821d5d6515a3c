//! A reconnect storm against Redis (see `shared/redis_storm.rs`): a real
//! `redis-server` on a free port (Debian's package, or `REDIS_SERVER`),
//! one provider, `--subscribers` subscribers resuming at once over a
//! history of `--history` events while publishes go on at `--rate` per
//! second. Reports each publish's latency until every subscriber is live
//! (from the call until Redis has stored the entry), the time until every
//! subscriber is live, and checks every subscriber's sequence. The stream
//! keeps about the last `--retention` entries (the history's length by
//! default, as Joe's storm does): a resume whose ID was trimmed before its
//! turn came is lost, and counted as a problem. Exits with 1 on any
//! problem.
//!
//! ```text
//! cargo run --release -p sse-benches --example redis_storm -- --subscribers 5000 --history 1000 --rate 1000
//! ```

#[path = "../shared/redis_storm.rs"]
mod redis_storm;
// Joe's storm, whose runner this one shares: its Joe parts go unused here.
#[allow(dead_code)]
#[path = "../shared/storm.rs"]
mod storm;

use std::time::Duration;
use storm::Options;

fn options() -> (Options, Option<u64>) {
    let mut retention = None;
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
            "--retention" => retention = Some(value().max(1)),
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    (o, retention)
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "{problem}\nUSAGE: redis_storm [--subscribers N] [--history N] [--rate PER_SEC] [--capacity N] [--after-ms MS] [--retention N]"
    );
    std::process::exit(if problem.is_empty() { 0 } else { 2 })
}

fn main() {
    let (o, retention) = options();
    let retention = retention.unwrap_or(o.history);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let report = rt.block_on(redis_storm::storm(&o, retention));
    println!(
        "redis storm: {} subscribers resuming over {} events, publishing {}/s, capacity {}, retention {}",
        o.subscribers, o.history, o.rate, o.capacity, retention
    );
    report.print(o.subscribers, "ms");
    // Told, not missed: a resume whose ID was trimmed is lost, and a
    // subscriber that fell a whole queue behind is ended (its client would
    // resume); a wrong number is a gap or a duplicate.
    let count = |what: &str| report.problems.iter().filter(|p| p.contains(what)).count();
    let (lost, behind, wrong) = (count("resume Lost"), count("fell behind"), count(": got "));
    if !report.problems.is_empty() {
        println!(
            "  {lost} resumes lost (trimmed before their turn), {behind} subscribers ended for falling behind, \
             {wrong} gaps or duplicates, {} other",
            report.problems.len() - lost - behind - wrong
        );
    }
    for problem in report.problems.iter().take(10) {
        println!("  {problem}");
    }
    if !report.problems.is_empty() {
        std::process::exit(1);
    }
}
