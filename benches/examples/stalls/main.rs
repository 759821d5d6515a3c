//! `stalls`: what clients that stop reading cost an SSE server.
//!
//! Opens `--healthy` readers that read everything, then `--stalled`
//! connections that stop reading, and reports the server's RSS per stalled
//! connection, the system's TCP memory, when the server closed each stalled
//! connection, and whether the healthy readers kept up (gaps, latency).
//!
//! ```text
//! ulimit -n 20000
//! cargo build --release -p sse-examples --bin fanout -p sse-benches --example stalls
//! target/release/fanout --port 8093 --rate 500 --size 16384 --write-timeout 30 \
//!     --history 5000 & P=$!
//! target/release/examples/stalls --url http://127.0.0.1:8093/events --stalled 1000 \
//!     --mode staggered --resume-fraction 0.2 --warmup 11 --duration 45 --server-pid $P
//! kill $P
//! ```
//!
//! The server must follow the payload contract of the perf kit: `GET` on the
//! URL answers `text/event-stream` over HTTP/1.1 (chunked or not), and each
//! event's data is `{"t":<unix nanos at publish>,"seq":<n>,...}` with `seq`
//! increasing by one per published event. `id:` lines are optional; resuming
//! needs them.
//!
//! Options:
//!
//! - `--url URL`: `http://HOST:PORT/PATH` on a loopback address (required).
//! - `--stalled N`: connections that stop reading (default 100).
//! - `--mode together|staggered` (default together). `together`: each sends
//!   its request and never reads, with a 4 KiB receive buffer set before
//!   connecting. `staggered`: one connects every `--every MIN-MAX` ms
//!   (default 10-600), reads and parses events for `--read-for MIN-MAX` ms
//!   (default 10-600), then stops reading for good.
//! - `--resume-fraction F` (staggered only, default 0): that fraction of the
//!   stalled connections send `Last-Event-ID` with the id of the event
//!   `--resume-depth N` events (default 1000) before the newest one the
//!   healthy readers saw when it connects, so that its response starts with
//!   a replay that deep. Skipped, with a note, when the server sends no
//!   `id:` lines. The report says how many replays started right after
//!   their id; the others fell out of the server's history.
//! - `--healthy H` (default 10): readers that read everything for the whole
//!   run.
//! - `--duration S` (default 45): how long the run goes on once every stalled
//!   connection has stopped reading; longer than the server's write timeout,
//!   so that its closes are seen.
//! - `--warmup S` (default 1): how long the healthy readers run alone
//!   before the baseline is taken; at least the time a server's history
//!   takes to fill (its length over the rate), or the history's growth is
//!   counted against the stalled connections.
//! - `--server-pid PID`: sample the server's VmRSS every 500 ms.
//! - `--json`: one JSON object on stdout instead of the summary.
//!
//! What is measured:
//!
//! - Server RSS (`/proc/PID/status`): before any connection, with the
//!   healthy readers only, the peak, the end, and the peak above the healthy
//!   baseline divided by the stalled connections.
//! - System TCP memory (`/proc/net/sockstat`, `TCP: ... mem` in 4 KiB pages)
//!   and orphaned sockets, at the same times. On loopback this counts both
//!   ends, so the client's receive buffers are in it too; the server's send
//!   queues of the stalled connections (`tx_queue` of the server's side in
//!   `/proc/net/tcp`) are reported on their own.
//! - Closes, per stalled connection, from when it stopped reading: when the
//!   server's socket left ESTABLISHED (`/proc/net/tcp`, every 250 ms), when
//!   it was gone from the table (its kernel memory freed), and when the
//!   client saw a reset (`SO_ERROR`, every 100-200 ms; a socket that does not
//!   read never sees a FIN queued behind unread data, but it sees a reset).
//!   A reset socket is dropped at once so that its own memory is freed. The
//!   server's write timeout counts from when its socket stopped taking bytes,
//!   shortly after the client stopped reading. After the last measurement,
//!   each connection that saw no reset is read out to tell why: events still
//!   arriving, the response ended with the connection kept alive, closed, or
//!   open with nothing sent.
//! - Healthy readers: events, gaps (`seq` not previous + 1) and latency
//!   (receive wall clock minus `t`), p50/p99/max from a log-linear histogram
//!   (32 sub-buckets per power of two, so within 3%).
//!
//! Everything runs on two tokio worker threads, one small task per
//! connection, plus a sampling thread; nothing is kept per event.

mod clock;
mod connect;
mod healthy;
mod histogram;
mod options;
mod probe;
mod reader;
mod report;
mod rng;
mod run;
mod shared;
mod stalled;

use std::sync::Arc;

use crate::options::{USAGE, options};
use crate::report::{print_summary, to_json};
use crate::run::run;

fn main() {
    let o = match options() {
        Ok(o) => Arc::new(o),
        Err(e) => {
            eprintln!("stalls: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let report = runtime.block_on(run(o.clone()));
    if o.json {
        println!("{}", to_json(&o, &report));
    } else {
        print_summary(&o, &report);
    }
    let healthy_failed = report.healthy.iter().all(|h| h.failed.is_some());
    if (o.stalled > 0 && report.established == 0) || (o.healthy > 0 && healthy_failed) {
        std::process::exit(1);
    }
}
