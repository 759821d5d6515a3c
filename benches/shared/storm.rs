//! A reconnect storm against Joe, in process, shared by the `storm`
//! example (which reports it) and the `storm` test (which checks it at a
//! size the suite can afford); [`run`] runs the same storm against any
//! provider (`redis_storm.rs` runs it on Redis).
//!
//! A history of `history` events (numbered from 1), publishes going on at
//! `rate` per second on a thread of their own, and `subscribers`
//! subscribers resuming at once with last event IDs spread over the newest
//! three quarters of the history, as after a deploy. Each publish's latency
//! is taken (for Joe, how long it waited for Joe's lock, plus its own work)
//! from the start of the storm until every subscriber is live, and each
//! subscriber's time until its first live event. Every subscriber must
//! read a gap-free, duplicate-free sequence from its resume point to the
//! last event published; anything else is a problem.

use futures_util::StreamExt;
use sse_codec::{Encoded, EventId, Message, Provider, Resume, Subscription, Topic};
use sse_joe::{FiniteReplayer, Joe};
use std::{
    fmt::Display,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

/// The storm's size.
pub(crate) struct Options {
    /// Subscribers resuming at once.
    pub(crate) subscribers: usize,
    /// Events retained, and published before the storm.
    pub(crate) history: u64,
    /// Events published per second during the storm.
    pub(crate) rate: u64,
    /// Joe's capacity: how far a subscriber may fall behind.
    pub(crate) capacity: usize,
    /// How long publishing goes on once every subscriber is live.
    pub(crate) after: Duration,
}

/// What a storm measured and found.
pub(crate) struct Report {
    /// Each publish's duration from the storm's start until all were live,
    /// sorted.
    pub(crate) latencies: Vec<Duration>,
    /// Each subscriber's time from the storm's start to its first live
    /// event, sorted (missing for a subscriber that never got there).
    pub(crate) lives: Vec<Duration>,
    /// The last event every subscriber had to read.
    pub(crate) end: u64,
    /// What went wrong, one line per subscriber: a lost resume, an error, a
    /// gap or a duplicate.
    pub(crate) problems: Vec<String>,
}

impl Report {
    /// Prints the publish latencies (in `unit`: `"us"` or `"ms"`), the
    /// times until live and the count of problems.
    #[allow(dead_code)] // the tests only check
    pub(crate) fn print(&self, subscribers: usize, unit: &str) {
        let pct = |v: &[Duration], p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)];
        let scale = if unit == "us" { 1e6 } else { 1e3 };
        let (latencies, lives) = (&self.latencies, &self.lives);
        if !latencies.is_empty() {
            println!(
                "publish latency during the storm ({} publishes): p50 {:.2} {unit}, p99 {:.2} {unit}, max {:.2} {unit}",
                latencies.len(),
                pct(latencies, 0.5).as_secs_f64() * scale,
                pct(latencies, 0.99).as_secs_f64() * scale,
                latencies[latencies.len() - 1].as_secs_f64() * scale,
            );
        }
        if !lives.is_empty() {
            println!(
                "time until live: p50 {:.1} ms, p99 {:.1} ms, all {:.1} ms",
                pct(lives, 0.5).as_secs_f64() * 1e3,
                pct(lives, 0.99).as_secs_f64() * 1e3,
                lives[lives.len() - 1].as_secs_f64() * 1e3,
            );
        }
        println!(
            "sequences: {subscribers} subscribers checked up to event {}, {} problems",
            self.end,
            self.problems.len()
        );
    }

    /// Fails the test unless every one of `subscribers` went live and read
    /// its sequence without a problem.
    #[allow(dead_code)] // the examples only report
    pub(crate) fn assert_clean(&self, subscribers: usize) {
        assert!(
            self.problems.is_empty(),
            "{} problems, first: {:?}",
            self.problems.len(),
            self.problems.first()
        );
        assert_eq!(self.lives.len(), subscribers, "every subscriber went live");
    }
}

/// Runs a storm against Joe on the current (multi-threaded) runtime.
pub(crate) async fn storm(o: &Options) -> Report {
    let joe = Joe::builder()
        .capacity(o.capacity)
        .replayer(FiniteReplayer::new(o.history as usize).auto_ids_from(1))
        .build();
    let topics = [Topic::DEFAULT];
    for n in 1..=o.history {
        publish(&joe, n, &topics);
    }
    let ids = |n: u64| EventId::try_from(n.to_string()).expect("a valid ID");
    let publisher = {
        let joe = joe.clone();
        move |n| {
            publish(&joe, n, &[Topic::DEFAULT]);
            Ok(())
        }
    };
    run(joe, ids, publisher, o).await
}

/// Runs a storm against `provider`, whose history holds the events
/// numbered 1 to `o.history` (their data is their number), on the current
/// (multi-threaded) runtime. `id(n)` is event `n`'s ID, and `publish(n)`
/// publishes event `n` (its data the number) to [`Topic::DEFAULT`],
/// returning once it is published: it runs on the publisher's thread, and
/// is what is timed.
pub(crate) async fn run<P>(
    provider: P,
    id: impl Fn(u64) -> EventId,
    mut publish: impl FnMut(u64) -> Result<(), String> + Send + 'static,
    o: &Options,
) -> Report
where
    P: Provider + Clone,
    P::Stream: Unpin,
{
    let mut problems = Vec::new();
    // The number the readers stop at (0 while publishing goes on).
    let last = Arc::new(AtomicU64::new(0));
    let live = Arc::new(AtomicUsize::new(0));

    let storm_start = Instant::now();
    let first_live = o.history + 1;
    let mut readers = Vec::with_capacity(o.subscribers);
    for i in 0..o.subscribers {
        // Spread over the newest three quarters of the history: the oldest
        // quarter is evicted by the publishes of the storm's first quarter
        // second, before the last subscribers get to resume from it.
        let spread = o.history - o.history / 4;
        let from = o.history - spread + 1 + (i as u64 * spread) / o.subscribers as u64;
        let (provider, last, live) = (provider.clone(), Arc::clone(&last), Arc::clone(&live));
        let id = id(from);
        readers.push(tokio::spawn(async move {
            read(provider, from, id, first_live, storm_start, last, live).await
        }));
    }

    // The publisher, on a thread of its own as a server's publishing
    // thread would be (so that the storm's tasks cannot starve it): one
    // event every 1/rate s, timed, until every reader is live and `after`
    // has passed.
    let publisher = {
        let (live, history) = (Arc::clone(&live), o.history);
        let (subscribers, rate, after) = (o.subscribers, o.rate, o.after);
        std::thread::spawn(move || {
            let mut latencies = Vec::new();
            let mut failures = Vec::new();
            let period = Duration::from_secs(1) / rate.max(1) as u32;
            let mut next = Instant::now();
            let mut all_live_at: Option<Instant> = None;
            let mut n = history;
            loop {
                next += period;
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                n += 1;
                let start = Instant::now();
                if let Err(error) = publish(n) {
                    failures.push(format!("publishing {n}: {error}"));
                }
                let took = start.elapsed();
                match all_live_at {
                    None => {
                        latencies.push(took);
                        if live.load(Ordering::Acquire) == subscribers {
                            all_live_at = Some(Instant::now());
                        }
                    }
                    Some(at) if at.elapsed() >= after => return (latencies, failures, n, publish),
                    Some(_) => {}
                }
            }
        })
    };
    let (mut latencies, failures, end, mut publish) =
        tokio::task::spawn_blocking(move || publisher.join())
            .await
            .expect("a blocking task")
            .expect("the publisher");
    problems.extend(failures);
    last.store(end, Ordering::Release);
    // Wake readers that wait for more: one last event past the end.
    tokio::task::spawn_blocking(move || publish(end + 1))
        .await
        .expect("a blocking task")
        .unwrap_or_else(|error| problems.push(format!("publishing {}: {error}", end + 1)));

    let mut lives = Vec::with_capacity(readers.len());
    for reader in readers {
        let (live_after, problem) = reader.await.expect("a reader");
        lives.extend(live_after);
        problems.extend(problem);
    }
    latencies.sort_unstable();
    lives.sort_unstable();
    Report {
        latencies,
        lives,
        end,
        problems,
    }
}

fn publish(joe: &Joe, n: u64, topics: &[Topic]) {
    futures_util::FutureExt::now_or_never(joe.publish(Message::new().data(n.to_string()), topics))
        .expect("Joe's publish never waits")
        .expect("published");
}

/// The number in a frame's `data:` line.
fn number(frame: &Encoded) -> Option<u64> {
    let text = std::str::from_utf8(frame.as_bytes()).ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("data: "))?
        .parse()
        .ok()
}

/// Resumes after `from` (whose ID is `id`) and reads until the last
/// event, checking that every number comes once, in order; returns when it
/// went live and what went wrong.
async fn read<P>(
    provider: P,
    from: u64,
    id: EventId,
    first_live: u64,
    storm_start: Instant,
    last: Arc<AtomicU64>,
    live: Arc<AtomicUsize>,
) -> (Option<Duration>, Option<String>)
where
    P: Provider,
    P::Stream: Unpin,
    P::Error: Display,
{
    let mut live_after = None;
    let mut problem = None;
    match provider
        .subscribe(Subscription::new([Topic::DEFAULT]).last_event_id(Some(id)))
        .await
    {
        Ok(subscribed) if subscribed.resume == Resume::Exact => {
            let mut stream = subscribed.stream;
            let mut expected = from + 1;
            while let Some(frame) = stream.next().await {
                let n = match frame.map(|frame| number(&frame)) {
                    Ok(Some(n)) => n,
                    Ok(None) => {
                        problem = Some(format!("from {from}: a frame without a number"));
                        break;
                    }
                    Err(error) => {
                        problem = Some(format!("from {from}: {error}"));
                        break;
                    }
                };
                if n != expected {
                    problem = Some(format!("from {from}: got {n}, expected {expected}"));
                    break;
                }
                expected += 1;
                if live_after.is_none() && n >= first_live {
                    live_after = Some(storm_start.elapsed());
                    live.fetch_add(1, Ordering::AcqRel);
                }
                let end = last.load(Ordering::Acquire);
                if end != 0 && n >= end {
                    break;
                }
            }
            if problem.is_none() && live_after.is_some() && expected <= last.load(Ordering::Acquire)
            {
                problem = Some(format!("from {from}: ended before the last event"));
            }
        }
        Ok(subscribed) => {
            problem = Some(format!("from {from}: resume {:?}", subscribed.resume));
        }
        Err(error) => problem = Some(format!("from {from}: {error}")),
    }
    if live_after.is_none() {
        // Counted, so that the publisher does not wait for it forever.
        live.fetch_add(1, Ordering::AcqRel);
        problem.get_or_insert_with(|| format!("from {from}: never went live"));
    }
    (live_after, problem)
}
