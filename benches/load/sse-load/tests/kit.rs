//! The load kit's parts, and a short run against the axum peer served in
//! this process.

use sse_load::procfs::{Proc, cpu_pct};
use sse_load::scan::{Chunks, Dechunker, Scanner};
use sse_load::seq::{SeqChecker, Step, parse_payload};
use sse_load::{Config, Report, run};

type Events = Vec<(Vec<u8>, Option<Vec<u8>>)>;

const STREAM: &[u8] = b": welcome\n\nid: 1\ndata: {\"t\":5,\"seq\":1}\n\n\
retry: 100\r\ndata: two\r\ndata: lines\r\n\r\n\
event: x\nid: 3\ndata:{\"t\":6,\"seq\":3,\"pad\":\"xxxxxxxxxxxxxxxx\"}\n\n\
: keep-alive\n\ndata\n\n";

fn expected() -> Events {
    vec![
        (br#"{"t":5,"seq":1}"#.to_vec(), Some(b"1".to_vec())),
        (b"two\nlines".to_vec(), None),
        (
            br#"{"t":6,"seq":3,"pad":"xxxxxxxxxxxxxxxx"}"#.to_vec(),
            Some(b"3".to_vec()),
        ),
        (Vec::new(), None),
    ]
}

fn scan_pieces(pieces: &[&[u8]]) -> (Events, Option<Vec<u8>>) {
    let mut scanner = Scanner::new();
    let mut got = Vec::new();
    for piece in pieces {
        scanner.feed(piece, |e| {
            got.push((e.data.to_vec(), e.id.map(<[u8]>::to_vec)))
        });
    }
    (got, scanner.last_id().map(<[u8]>::to_vec))
}

#[test]
fn scanner_splits_events_across_reads_at_every_byte() {
    assert_eq!(scan_pieces(&[STREAM]), (expected(), Some(b"3".to_vec())));
    for i in 0..=STREAM.len() {
        let (a, b) = STREAM.split_at(i);
        assert_eq!(scan_pieces(&[a, b]).0, expected(), "split at {i}");
        for j in i..=STREAM.len() {
            let (b, c) = STREAM[i..].split_at(j - i);
            assert_eq!(
                scan_pieces(&[a, b, c]).0,
                expected(),
                "split at {i} and {j}"
            );
        }
    }
    let bytes: Vec<&[u8]> = STREAM.chunks(1).collect();
    assert_eq!(scan_pieces(&bytes).0, expected());
}

/// `body` in chunks of `sizes` (repeated), with an extension on some, and
/// the last chunk.
fn chunked(body: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    for (n, &size) in sizes.iter().cycle().enumerate() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        if n % 3 == 1 {
            out.extend_from_slice(format!("{:X};ext=1\r\n", chunk.len()).as_bytes());
        } else {
            out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        }
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
        rest = tail;
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

fn dechunk_and_scan(pieces: &[&[u8]]) -> (Events, Chunks) {
    let mut dechunker = Dechunker::new();
    let mut scanner = Scanner::new();
    let mut got = Vec::new();
    let mut state = Chunks::More;
    for piece in pieces {
        state = dechunker
            .feed(piece, |body| {
                scanner.feed(body, |e| {
                    got.push((e.data.to_vec(), e.id.map(<[u8]>::to_vec)))
                })
            })
            .unwrap();
    }
    (got, state)
}

#[test]
fn chunked_bodies_decode_at_every_byte_boundary() {
    for sizes in [&[1usize][..], &[7, 3, 40], &[STREAM.len()], &[16, 1, 2]] {
        let wire = chunked(STREAM, sizes);
        assert_eq!(dechunk_and_scan(&[&wire]), (expected(), Chunks::Done));
        for i in 0..=wire.len() {
            let (a, b) = wire.split_at(i);
            assert_eq!(
                dechunk_and_scan(&[a, b]),
                (expected(), Chunks::Done),
                "chunks {sizes:?}, split at {i}"
            );
        }
        let bytes: Vec<&[u8]> = wire.chunks(1).collect();
        assert_eq!(dechunk_and_scan(&bytes), (expected(), Chunks::Done));
        // Without the last chunk the body goes on.
        let open = &wire[..wire.len() - 5];
        assert_eq!(dechunk_and_scan(&[open]), (expected(), Chunks::More));
    }
    assert!(Dechunker::new().feed(b"zz\r\n", |_| {}).is_err());
    assert!(Dechunker::new().feed(b"2\r\nabX", |_| {}).is_err());
}

#[test]
fn payload_contract() {
    assert_eq!(
        parse_payload(br#"{"t":1732470000000000000,"seq":42,"pad":"xx"}"#),
        Some((1_732_470_000_000_000_000, 42))
    );
    assert_eq!(parse_payload(b"hello"), None);
    assert_eq!(parse_payload(br#"{"t":1}"#), None);
    assert_eq!(
        parse_payload(br#"{"t":99999999999999999999999,"seq":1}"#),
        None
    );
}

#[test]
fn sequence_checker_counts_gaps_duplicates_and_missing_at_end() {
    let mut c = SeqChecker::new();
    assert_eq!(c.missing_at_end(1, 10), 10, "nothing received");
    assert_eq!(c.observe(5), Step::InOrder, "the first one sets the start");
    assert_eq!(c.observe(6), Step::InOrder);
    assert_eq!(c.observe(9), Step::Gap { missing: 2 });
    assert_eq!(c.observe(9), Step::Duplicate);
    assert_eq!(c.observe(7), Step::Reordered);
    assert_eq!(c.observe(10), Step::InOrder);
    assert_eq!((c.gaps, c.missing, c.duplicates, c.reordered), (1, 2, 1, 1));
    assert_eq!(c.last(), Some(10));
    // The window published 8..=14: 11 to 14 never came.
    assert_eq!(c.missing_at_end(8, 14), 4);
    // Caught up, or past the window.
    assert_eq!(c.missing_at_end(3, 10), 0);
    assert_eq!(c.missing_at_end(3, 9), 0);
    // Ended before the window started: all of it.
    assert_eq!(c.missing_at_end(20, 24), 5);
    // An empty window.
    assert_eq!(c.missing_at_end(11, 10), 0);
}

#[test]
fn proc_sampler_reads_this_process() {
    let pid = Proc::Pid(std::process::id());
    let rss = pid.rss_kib().expect("VmRSS of this process");
    assert!(rss > 0);
    assert!(Proc::Myself.rss_kib().is_some());
    let before = pid.cpu_ticks().expect("utime + stime of this process");
    // Burn a little CPU so that the ticks can only go up.
    let mut x = 0u64;
    for i in 0..20_000_000u64 {
        x = x.wrapping_mul(31).wrapping_add(i);
    }
    std::hint::black_box(x);
    let after = Proc::Myself.cpu_ticks().unwrap();
    assert!(after >= before);
    assert!(cpu_pct(Some(before), Some(after), 1.0).unwrap() >= 0.0);
    assert_eq!(cpu_pct(None, Some(after), 1.0), None);
    assert_eq!(Proc::Pid(u32::MAX).rss_kib(), None);
}

#[test]
fn options_parse_and_refuse() {
    let args = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    let c = Config::from_args(args(
        "--url http://127.0.0.1:1/events --conns 7 --duration=3 --ramp 50 --warmup 0.5 \
         --stall 2 --server-pid 9 --threads 1 --connect-timeout 4 --json --resume",
    ))
    .unwrap();
    assert_eq!(
        (c.conns, c.stall, c.threads, c.server_pid),
        (7, 2, 1, Some(9))
    );
    assert_eq!(
        (c.duration, c.ramp, c.warmup, c.connect_timeout),
        (3.0, 50.0, 0.5, 4.0)
    );
    assert!(c.json && c.resume);
    assert!(Config::from_args(args("--conns 1")).is_err(), "no URL");
    assert!(Config::from_args(args("--url http://127.0.0.1:1/ --bogus 1")).is_err());
    assert!(Config::from_args(args("--url http://127.0.0.1:1/ --ramp 0")).is_err());
}

/// Serves the peer on an ephemeral loopback port; the URL of its events.
async fn serve_peer(history: usize) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = peer_axum::Config {
        rate: 200.0,
        size: 64,
        capacity: 1024,
        history,
    };
    tokio::spawn(peer_axum::serve(listener, config));
    format!("http://127.0.0.1:{port}/events")
}

fn short_run(url: String) -> Config {
    Config {
        url,
        conns: 5,
        ramp: 100.0,
        warmup: 0.3,
        duration: 2.0,
        stall: 1,
        server_pid: Some(std::process::id()),
        ..Config::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_to_end_against_the_axum_peer() {
    let url = serve_peer(0).await;
    let report = run(short_run(url)).await.unwrap();
    assert_eq!(report.established, 5, "{report}");
    assert_eq!(report.failed, 0, "{report}");
    assert_eq!(report.stall_established, 1, "{report}");
    assert!(report.events_window > 0, "{report}");
    assert_eq!(report.untimed, 0, "{report}");
    assert_eq!(report.gaps, 0, "{report}");
    assert_eq!(report.reordered, 0, "{report}");
    assert_eq!(report.missing(), 0, "{report}");
    assert_eq!(report.closed_early, 0, "{report}");
    assert_eq!(report.ends.caught_up, 5, "{report}");

    let json = report.to_json();
    // The fields plot.py and sweep.sh read, and the earlier kit's others.
    for field in [
        "url",
        "conns",
        "stall",
        "ramp_per_s",
        "ramp_secs",
        "window_secs",
        "established",
        "failed",
        "established_at_window",
        "closed_early",
        "closed_before_window",
        "stall_established",
        "stall_failed",
        "events_total",
        "events_window",
        "events_per_s",
        "bytes_per_s",
        "latency_ms",
        "gaps",
        "missing",
        "reordered",
        "untimed",
        "server_rss_kib",
        "server_rss_per_conn_kib",
        "server_rss_per_conn_at_window_kib",
        "server_cpu_pct",
        "client_cpu_pct",
        "first_error",
        "ends",
        "resumes",
    ] {
        assert!(json.get(field).is_some(), "no {field} in {json}");
    }
    assert_eq!(json["conns"], 5);
    assert_eq!(json["established"], 5);
    assert_eq!(json["gaps"], 0);
    assert!(json["events_per_s"].as_f64().unwrap() > 0.0);
    for q in ["p50", "p99", "p999", "max"] {
        assert!(
            json["latency_ms"][q].as_f64().is_some(),
            "latency_ms.{q} in {json}"
        );
    }
    for at in ["before", "connected", "end"] {
        assert!(
            json["server_rss_kib"][at].as_u64().is_some(),
            "server_rss_kib.{at}"
        );
    }
    assert!(json["server_cpu_pct"].as_f64().is_some());
    assert!(json["client_cpu_pct"].as_f64().is_some());
    // Text as well.
    assert!(report.to_string().contains("latency ms"));
}

/// A short run with `--resume` (three cuts a connection, no stalled ones)
/// against peer-axum keeping `history` events.
async fn resume_run(history: usize) -> Report {
    let config = Config {
        resume: true,
        stall: 0,
        ..short_run(serve_peer(history).await)
    };
    run(config).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_with_last_event_id_are_exact() {
    let report = resume_run(4096).await;
    let r = &report.resumes;
    assert_eq!(report.established, 5, "{report}");
    assert_eq!(r.resumes, 15, "three cuts each: {report}");
    assert_eq!(r.failed, 0, "{report}");
    assert_eq!(r.inexact, 0, "{report}");
    assert!(r.exact > 0, "{report}");
    assert_eq!(r.without_id, 0, "{report}");
    assert_eq!(report.gaps, 0, "{report}");
    assert_eq!(report.duplicates, 0, "{report}");
    assert_eq!(report.missing(), 0, "{report}");
    assert_eq!(report.to_json()["resumes"]["resumes"], 15);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_without_a_history_are_caught() {
    // The peer without a history ignores Last-Event-ID: a resume skips what
    // was published while the connection was away, or, when nothing was,
    // is exact by luck. Either way the kit must count each resume.
    let report = resume_run(0).await;
    let r = &report.resumes;
    assert_eq!(r.resumes, 15, "{report}");
    assert_eq!(r.without_id, 15, "no ids: {report}");
    assert_eq!(report.gaps, r.inexact, "{report}");
}
