//! A load run: the options, the connections, and the report.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::hist::Histogram;
use crate::http::{Framing, Target, parse_head};
use crate::procfs::{Proc, cpu_pct};
use crate::scan::{Chunks, Dechunker, ScannedEvent, Scanner};
use crate::seq::{SeqChecker, Step, missing_at_end, parse_payload};

/// The options' help text.
pub const USAGE: &str = "\
sse-load: SSE fan-out load client (loopback servers only)

USAGE: sse-load --url http://127.0.0.1:PORT/PATH [options]

  --url URL               the server (http://127.x.x.x, localhost or [::1])
  --conns N               reading connections                    [default 100]
  --duration SECS         measurement window after ramp + warmup [default 10]
  --ramp N                new connections per second             [default 1000]
  --warmup SECS           settling time between ramp and window  [default 1]
  --stall K               extra connections (4 KiB receive buffer) that send
                          the request and never read             [default 0]
  --server-pid PID        sample the server's RSS and CPU (/proc)
  --threads N             the client's runtime worker threads    [default 2]
  --connect-timeout SECS  per connection: connect + response head [default 10]
  --resume                cut each connection at random times (3 per run) and
                          reconnect with Last-Event-ID; check each resume is
                          exact (next seq = last seq + 1, no duplicate)
  --json                  print one JSON object instead of text

Every event's data must be {\"t\":<unix ns>,\"seq\":<n>,...}. The run takes
ramp + warmup + duration, then at most 2 s more for the connections to
receive what was published up to the window's end.
";

const MAX_CONNS: usize = 60_000;
const MAX_SECS: f64 = 3_600.0;

/// What one run does.
#[derive(Debug, Clone)]
pub struct Config {
    /// The server's URL: loopback only.
    pub url: String,
    /// Reading connections.
    pub conns: usize,
    /// The measurement window, in seconds.
    pub duration: f64,
    /// New connections per second.
    pub ramp: f64,
    /// Seconds between the ramp's end and the window.
    pub warmup: f64,
    /// Connections that send the request and never read.
    pub stall: usize,
    /// The server's pid, for its RSS and CPU.
    pub server_pid: Option<u32>,
    /// The client's runtime worker threads (used by the binary).
    pub threads: usize,
    /// Seconds for connect + response head, per connection.
    pub connect_timeout: f64,
    /// One JSON object on stdout instead of text (used by the binary).
    pub json: bool,
    /// Cut connections at random times and resume them.
    pub resume: bool,
    /// Cuts per connection when resuming.
    pub cuts: usize,
    /// At most this many seconds after the window for the connections to
    /// receive what was published up to its end.
    pub drain: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            url: String::new(),
            conns: 100,
            duration: 10.0,
            ramp: 1000.0,
            warmup: 1.0,
            stall: 0,
            server_pid: None,
            threads: 2,
            connect_timeout: 10.0,
            json: false,
            resume: false,
            cuts: 3,
            drain: 2.0,
        }
    }
}

impl Config {
    /// Parses the command line's arguments (without the program's name);
    /// `--name value` or `--name=value`.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Config, String> {
        fn num<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, String> {
            value
                .parse()
                .map_err(|_| format!("bad value for {name}: {value}"))
        }
        let mut c = Config::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            match name.as_str() {
                "--json" => {
                    c.json = true;
                    continue;
                }
                "--resume" => {
                    c.resume = true;
                    continue;
                }
                "-h" | "--help" => return Err(String::new()),
                _ => {}
            }
            let value = inline
                .or_else(|| args.next())
                .ok_or_else(|| format!("{name} needs a value"))?;
            match name.as_str() {
                "--url" => c.url = value,
                "--conns" => c.conns = num(&name, &value)?,
                "--duration" => c.duration = num(&name, &value)?,
                "--ramp" => c.ramp = num(&name, &value)?,
                "--warmup" => c.warmup = num(&name, &value)?,
                "--stall" => c.stall = num(&name, &value)?,
                "--server-pid" => c.server_pid = Some(num(&name, &value)?),
                "--threads" => c.threads = num(&name, &value)?,
                "--connect-timeout" => c.connect_timeout = num(&name, &value)?,
                other => return Err(format!("unknown argument: {other}")),
            }
        }
        c.check()?;
        Ok(c)
    }

    /// Checks that the run is bounded and has something to do.
    pub fn check(&self) -> Result<(), String> {
        if self.url.is_empty() {
            return Err("--url is required".into());
        }
        let total = self.conns + self.stall;
        if total == 0 || total > MAX_CONNS {
            return Err(format!("--conns + --stall must be in 1..={MAX_CONNS}"));
        }
        for (name, v) in [
            ("--duration", self.duration),
            ("--warmup", self.warmup),
            ("--connect-timeout", self.connect_timeout),
            ("drain", self.drain),
        ] {
            if !(0.0..=MAX_SECS).contains(&v) {
                return Err(format!("{name} must be in 0..={MAX_SECS}"));
            }
        }
        if self.ramp.is_nan() || self.ramp <= 0.0 || total as f64 / self.ramp > MAX_SECS {
            return Err("--ramp must be > 0, and the ramp take at most an hour".into());
        }
        if !(1..=64).contains(&self.threads) {
            return Err("--threads must be in 1..=64".into());
        }
        Ok(())
    }
}

fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// How connections ended, by cause.
#[derive(Debug, Default)]
struct Ends {
    server_closed: AtomicU64,
    stream_ended: AtomicU64,
    error: AtomicU64,
    timeout: AtomicU64,
    bad_status: AtomicU64,
    bad_body: AtomicU64,
    caught_up: AtomicU64,
}

/// Why a stream ended.
#[derive(Debug)]
enum End {
    /// The server closed the connection.
    ServerClosed,
    /// The chunked body's last chunk came.
    StreamEnded,
    Error(String),
    Timeout(String),
    BadStatus(String),
    BadBody(String),
    /// Cut by the client, to resume.
    Cut,
    /// After the window, it has what was published until its end.
    CaughtUp,
}

/// What every connection records into.
struct Shared {
    target: Target,
    connect_timeout: Duration,
    deadline: Instant,
    hist: Histogram,
    measuring: AtomicBool,
    events_total: AtomicU64,
    events_window: AtomicU64,
    bytes_window: AtomicU64,
    untimed: AtomicU64,
    replayed: AtomicU64,
    gaps: AtomicU64,
    missing_in_gaps: AtomicU64,
    duplicates: AtomicU64,
    reordered: AtomicU64,
    established: AtomicU64,
    failed: AtomicU64,
    closed_early: AtomicU64,
    stall_established: AtomicU64,
    stall_failed: AtomicU64,
    ends: Ends,
    resumes: AtomicU64,
    resumes_exact: AtomicU64,
    resumes_inexact: AtomicU64,
    resumes_without_id: AtomicU64,
    resume_failed: AtomicU64,
    /// The highest `seq` any connection saw.
    max_seq: AtomicU64,
    /// Per reading connection: 0 until it is established, then its last
    /// `seq` + 1.
    last_seq: Box<[AtomicU64]>,
    first_error: Mutex<Option<String>>,
    /// 0 during the run; the highest `seq` seen by the window's end after.
    stop: watch::Sender<u64>,
}

impl Shared {
    fn note_error(&self, e: &str) {
        let mut first = self.first_error.lock().unwrap_or_else(|e| e.into_inner());
        if first.is_none() {
            *first = Some(e.to_string());
        }
    }

    fn end(&self, end: &End) {
        let ends = &self.ends;
        let (counter, error) = match end {
            End::ServerClosed => (&ends.server_closed, None),
            End::StreamEnded => (&ends.stream_ended, None),
            End::Error(e) => (&ends.error, Some(e)),
            End::Timeout(e) => (&ends.timeout, Some(e)),
            End::BadStatus(e) => (&ends.bad_status, Some(e)),
            End::BadBody(e) => (&ends.bad_body, Some(e)),
            End::CaughtUp => (&ends.caught_up, None),
            End::Cut => return,
        };
        if let Some(error) = error {
            self.note_error(error);
        }
        counter.fetch_add(1, Relaxed);
    }
}

async fn connect(target: &Target, stall: bool, request: &[u8]) -> std::io::Result<TcpStream> {
    let socket = if target.addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if stall {
        // So that the kernel does not take megabytes for a reader that
        // never reads.
        socket.set_recv_buffer_size(4096)?;
    }
    let mut stream = socket.connect(target.addr).await?;
    stream.set_nodelay(true)?;
    stream.write_all(request).await?;
    Ok(stream)
}

/// Connects, sends the request and reads the response head: the stream and
/// the body bytes read with the head.
async fn open(
    sh: &Shared,
    last_event_id: Option<&[u8]>,
) -> Result<(TcpStream, Framing, Vec<u8>), End> {
    let request = sh.target.request(last_event_id);
    let opening = async {
        let mut stream = connect(&sh.target, false, &request)
            .await
            .map_err(|e| End::Error(format!("connect: {e}")))?;
        let mut buf = Vec::with_capacity(4096);
        let mut chunk = [0u8; 4096];
        loop {
            match parse_head(&buf) {
                Err(e) => return Err(End::BadStatus(e)),
                Ok(Some(head)) if head.status != 200 => {
                    return Err(End::BadStatus(format!("response: {}", head.status_line)));
                }
                Ok(Some(head)) => {
                    buf.drain(..head.len);
                    return Ok((stream, head.framing, buf));
                }
                Ok(None) if buf.len() > 16 * 1024 => {
                    return Err(End::BadStatus("response head over 16 KiB".into()));
                }
                Ok(None) => {}
            }
            match stream.read(&mut chunk).await {
                Ok(0) => return Err(End::Error("closed before the response head".into())),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(End::Error(format!("reading the head: {e}"))),
            }
        }
    };
    match tokio::time::timeout(sh.connect_timeout, opening).await {
        Ok(opened) => opened,
        Err(_) => Err(End::Timeout("connect + response head: timeout".into())),
    }
}

/// One connection's state across its streams (it has several if resumed).
struct Conn {
    idx: usize,
    seq: SeqChecker,
    last_id: Option<Vec<u8>>,
    /// Set by a resume: the `seq` before the cut, until the first event
    /// after it shows whether the resume was exact.
    verify: Option<Option<u64>>,
    /// Events published before this time were replayed to a resumed stream.
    replay_before_ns: u64,
}

/// Counts of one read's events, added to the shared ones at once.
#[derive(Default)]
struct Batch {
    events: u64,
    untimed: u64,
    replayed: u64,
    max_seq: u64,
}

impl Conn {
    fn event(
        &mut self,
        sh: &Shared,
        ev: ScannedEvent<'_>,
        now_ns: u64,
        measuring: bool,
        b: &mut Batch,
    ) {
        b.events += 1;
        let Some((t, seq)) = parse_payload(ev.data) else {
            b.untimed += 1;
            return;
        };
        if t < self.replay_before_ns {
            b.replayed += 1;
        } else if measuring {
            sh.hist.record(now_ns.saturating_sub(t) / 1_000);
        }
        b.max_seq = b.max_seq.max(seq);
        let step = self.seq.observe(seq);
        match step {
            Step::InOrder => {}
            Step::Gap { missing } => {
                sh.gaps.fetch_add(1, Relaxed);
                sh.missing_in_gaps.fetch_add(missing, Relaxed);
            }
            Step::Duplicate => {
                sh.duplicates.fetch_add(1, Relaxed);
                sh.reordered.fetch_add(1, Relaxed);
            }
            Step::Reordered => {
                sh.reordered.fetch_add(1, Relaxed);
            }
        }
        // The first event after a resume; one with nothing before its cut
        // cannot be checked.
        if let Some(Some(last)) = self.verify.take() {
            if seq == last + 1 {
                sh.resumes_exact.fetch_add(1, Relaxed);
            } else {
                sh.resumes_inexact.fetch_add(1, Relaxed);
            }
        }
    }

    fn flush(&self, sh: &Shared, b: &Batch, bytes: usize, measuring: bool) {
        if b.events > 0 {
            sh.events_total.fetch_add(b.events, Relaxed);
            if measuring {
                sh.events_window.fetch_add(b.events, Relaxed);
            }
        }
        if measuring && bytes > 0 {
            sh.bytes_window.fetch_add(bytes as u64, Relaxed);
        }
        if b.untimed > 0 {
            sh.untimed.fetch_add(b.untimed, Relaxed);
        }
        if b.replayed > 0 {
            sh.replayed.fetch_add(b.replayed, Relaxed);
        }
        if b.max_seq > sh.max_seq.load(Relaxed) {
            sh.max_seq.fetch_max(b.max_seq, Relaxed);
        }
        if let Some(last) = self.seq.last() {
            sh.last_seq[self.idx].store(last + 1, Relaxed);
        }
    }

    /// Has it what was published up to the window's end?
    fn caught_up(&self, stop: u64) -> bool {
        stop > 0 && self.seq.last().is_some_and(|last| last >= stop)
    }

    /// Reads one stream until it ends, is cut at `cut`, or has caught up
    /// after the window.
    async fn read(
        &mut self,
        sh: &Shared,
        mut stream: TcpStream,
        framing: Framing,
        first: Vec<u8>,
        cut: Option<Instant>,
        stop: &mut watch::Receiver<u64>,
    ) -> End {
        let mut scanner = Scanner::new();
        let mut dechunker = (framing == Framing::Chunked).then(Dechunker::new);
        let mut buf = vec![0u8; 8192];
        let mut pending = first;
        let mut read_len = 0;
        loop {
            let measuring = sh.measuring.load(Relaxed);
            let now_ns = unix_nanos();
            let mut batch = Batch::default();
            let data: &[u8] = if pending.is_empty() {
                &buf[..read_len]
            } else {
                &pending
            };
            let mut on_event =
                |ev: ScannedEvent<'_>| self.event(sh, ev, now_ns, measuring, &mut batch);
            let body_end = match &mut dechunker {
                Some(d) => match d.feed(data, |body| scanner.feed(body, &mut on_event)) {
                    Ok(Chunks::More) => None,
                    Ok(Chunks::Done) => Some(End::StreamEnded),
                    Err(e) => Some(End::BadBody(e.to_string())),
                },
                None => {
                    scanner.feed(data, &mut on_event);
                    None
                }
            };
            self.flush(sh, &batch, read_len, measuring);
            pending = Vec::new();
            read_len = 0;
            if let Some(id) = scanner.last_id() {
                if self.last_id.as_deref() != Some(id) {
                    self.last_id = Some(id.to_vec());
                }
            }
            if let Some(end) = body_end {
                return end;
            }
            if self.caught_up(*stop.borrow()) {
                return End::CaughtUp;
            }
            // A cut waits for the connection's first event: one before it
            // would resume from nothing and check nothing (the cut is then
            // taken as soon as that event has come).
            let cut = cut.filter(|_| self.seq.last().is_some());
            let cut_at = cut.unwrap_or(sh.deadline + Duration::from_secs(86_400));
            tokio::select! {
                read = stream.read(&mut buf) => match read {
                    Ok(0) => return End::ServerClosed,
                    Ok(n) => read_len = n,
                    Err(e) => return End::Error(format!("read: {e}")),
                },
                () = tokio::time::sleep_until(cut_at), if cut.is_some() => return End::Cut,
                changed = stop.changed() => {
                    if changed.is_err() {
                        // The run is over.
                        return End::CaughtUp;
                    }
                }
            }
        }
    }
}

async fn reader(sh: Arc<Shared>, idx: usize, cuts: Vec<Instant>) {
    let mut conn = Conn {
        idx,
        seq: SeqChecker::new(),
        last_id: None,
        verify: None,
        replay_before_ns: 0,
    };
    let mut stop = sh.stop.subscribe();
    let mut cuts = cuts.into_iter();
    let mut resumed = false;
    loop {
        let opened = open(&sh, conn.last_id.as_deref().filter(|_| resumed)).await;
        let (stream, framing, first) = match opened {
            Ok(opened) => opened,
            Err(end) => {
                if resumed {
                    sh.resume_failed.fetch_add(1, Relaxed);
                    conn.verify = None;
                } else {
                    sh.failed.fetch_add(1, Relaxed);
                }
                sh.end(&end);
                return;
            }
        };
        if !resumed {
            sh.established.fetch_add(1, Relaxed);
            sh.last_seq[idx].store(1, Relaxed);
        }
        let end = conn
            .read(&sh, stream, framing, first, cuts.next(), &mut stop)
            .await;
        if let End::Cut = end {
            sh.resumes.fetch_add(1, Relaxed);
            if conn.last_id.is_none() {
                sh.resumes_without_id.fetch_add(1, Relaxed);
            }
            conn.verify = Some(conn.seq.last());
            conn.replay_before_ns = unix_nanos();
            resumed = true;
            continue;
        }
        if !matches!(end, End::CaughtUp) && Instant::now() < sh.deadline {
            sh.closed_early.fetch_add(1, Relaxed);
        }
        sh.end(&end);
        return;
    }
}

/// A connection that sends the request and never reads; held until the
/// task is aborted at the window's end.
async fn staller(sh: Arc<Shared>) {
    let request = sh.target.request(None);
    match tokio::time::timeout(sh.connect_timeout, connect(&sh.target, true, &request)).await {
        Ok(Ok(_stream)) => {
            sh.stall_established.fetch_add(1, Relaxed);
            std::future::pending::<()>().await;
        }
        Ok(Err(e)) => {
            sh.stall_failed.fetch_add(1, Relaxed);
            sh.note_error(&format!("stalled connection: {e}"));
        }
        Err(_) => {
            sh.stall_failed.fetch_add(1, Relaxed);
        }
    }
}

/// A small deterministic generator for the cut times.
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Connection ends, by cause.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndCounts {
    /// The server closed the connection.
    pub server_closed: u64,
    /// The chunked body ended (its last chunk came).
    pub stream_ended: u64,
    /// Connect or read errors.
    pub error: u64,
    /// Connect + response head took longer than `--connect-timeout`.
    pub timeout: u64,
    /// A response other than `200`, or not HTTP/1.
    pub bad_status: u64,
    /// A malformed chunked body.
    pub bad_body: u64,
    /// Ended after the window with every event published up to its end.
    pub caught_up: u64,
    /// Still open when the run ended (they had not caught up).
    pub open_at_end: u64,
}

/// Resumes (`--resume`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resumes {
    /// Cuts followed by a reconnection.
    pub resumes: u64,
    /// Resumes whose first event was the one after the last before the cut.
    pub exact: u64,
    /// Resumes whose first event was not (a gap or a duplicate).
    pub inexact: u64,
    /// Resumes with no `id` to send (the stream had none yet).
    pub without_id: u64,
    /// Reconnections that failed.
    pub failed: u64,
    /// Events replayed to resumed streams (published before the
    /// reconnection; not in the latencies).
    pub replayed: u64,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// The options.
    pub config: Config,
    /// Seconds the ramp took.
    pub ramp_secs: f64,
    /// Seconds the window took.
    pub window_secs: f64,
    /// Reading connections established.
    pub established: u64,
    /// Reading connections that failed to connect or got no `200`.
    pub failed: u64,
    /// Established by the window's start.
    pub established_at_window: u64,
    /// Reading connections that ended before the window's end.
    pub closed_early: u64,
    /// ... of them, before its start.
    pub closed_before_window: u64,
    /// Stalled connections held.
    pub stall_established: u64,
    /// Stalled connections that failed.
    pub stall_failed: u64,
    /// Events over the whole run.
    pub events_total: u64,
    /// Events in the window.
    pub events_window: u64,
    /// Bytes (on the wire, after the heads) in the window.
    pub bytes_window: u64,
    /// Latency percentiles and maximum in the window, µs: p50, p99, p99.9,
    /// max.
    pub latency_us: [Option<u64>; 4],
    /// Events without the `t`/`seq` payload.
    pub untimed: u64,
    /// Per-connection `seq` gaps over the whole run.
    pub gaps: u64,
    /// Events skipped in gaps.
    pub missing_in_gaps: u64,
    /// Events published in the window (as the highest `seq` any connection
    /// saw at its start and end shows) that connections had not received
    /// when they ended or the run did.
    pub missing_at_end: u64,
    /// The `seq` range published in the window.
    pub window_seqs: (u64, u64),
    /// Events whose `seq` repeated the last one.
    pub duplicates: u64,
    /// Events whose `seq` did not go up (duplicates included).
    pub reordered: u64,
    /// Connection ends.
    pub ends: EndCounts,
    /// Resumes.
    pub resumes: Resumes,
    /// Server RSS KiB before connecting, at the window's start, at its end.
    pub server_rss_kib: [Option<u64>; 3],
    /// Server CPU % (of one core) in the window.
    pub server_cpu_pct: Option<f64>,
    /// The client's CPU % (of one core) in the window.
    pub client_cpu_pct: Option<f64>,
    /// The client's RSS KiB at the end.
    pub client_rss_kib: Option<u64>,
    /// The first error any connection met.
    pub first_error: Option<String>,
}

impl Report {
    /// Deliveries per second in the window.
    pub fn events_per_s(&self) -> f64 {
        self.events_window as f64 / self.window_secs.max(1e-9)
    }

    /// Bytes per second in the window.
    pub fn bytes_per_s(&self) -> f64 {
        self.bytes_window as f64 / self.window_secs.max(1e-9)
    }

    /// Events published in the window that some connection missed.
    pub fn missing(&self) -> u64 {
        self.missing_in_gaps + self.missing_at_end
    }

    /// Server RSS per connection in KiB: (end - before) / established.
    pub fn server_rss_per_conn_kib(&self) -> Option<f64> {
        per_conn(
            self.server_rss_kib[0],
            self.server_rss_kib[2],
            self.established,
        )
    }

    /// Server RSS per connection at the window's start, over the
    /// connections established by then.
    pub fn server_rss_per_conn_at_window_kib(&self) -> Option<f64> {
        per_conn(
            self.server_rss_kib[0],
            self.server_rss_kib[1],
            self.established_at_window,
        )
    }

    /// The report as one JSON object; the field names of the earlier kit's
    /// are kept (`benches/load/plot.py` and `sweep.sh` read them).
    pub fn to_json(&self) -> serde_json::Value {
        let ms = |us: Option<u64>| us.map(|us| round3(us as f64 / 1000.0));
        let c = &self.config;
        let e = &self.ends;
        let r = &self.resumes;
        serde_json::json!({
            "url": c.url,
            "conns": c.conns,
            "stall": c.stall,
            "ramp_per_s": c.ramp,
            "threads": c.threads,
            "resume": c.resume,
            "ramp_secs": round3(self.ramp_secs),
            "window_secs": round3(self.window_secs),
            "established": self.established,
            "failed": self.failed,
            "established_at_window": self.established_at_window,
            "closed_early": self.closed_early,
            "closed_before_window": self.closed_before_window,
            "stall_established": self.stall_established,
            "stall_failed": self.stall_failed,
            "events_total": self.events_total,
            "events_window": self.events_window,
            "events_per_s": round3(self.events_per_s()),
            "bytes_per_s": round3(self.bytes_per_s()),
            "latency_ms": {
                "p50": ms(self.latency_us[0]),
                "p99": ms(self.latency_us[1]),
                "p999": ms(self.latency_us[2]),
                "max": ms(self.latency_us[3]),
            },
            "gaps": self.gaps,
            "missing": self.missing(),
            "missing_in_gaps": self.missing_in_gaps,
            "missing_at_end": self.missing_at_end,
            "window_seq": { "first": self.window_seqs.0, "last": self.window_seqs.1 },
            "duplicates": self.duplicates,
            "reordered": self.reordered,
            "untimed": self.untimed,
            "ends": {
                "server_closed": e.server_closed,
                "stream_ended": e.stream_ended,
                "error": e.error,
                "timeout": e.timeout,
                "bad_status": e.bad_status,
                "bad_body": e.bad_body,
                "caught_up": e.caught_up,
                "open_at_end": e.open_at_end,
            },
            "resumes": {
                "resumes": r.resumes,
                "exact": r.exact,
                "inexact": r.inexact,
                "without_id": r.without_id,
                "failed": r.failed,
                "replayed": r.replayed,
            },
            "server_rss_kib": {
                "before": self.server_rss_kib[0],
                "connected": self.server_rss_kib[1],
                "end": self.server_rss_kib[2],
            },
            "server_rss_per_conn_kib": self.server_rss_per_conn_kib().map(round3),
            "server_rss_per_conn_at_window_kib": self.server_rss_per_conn_at_window_kib().map(round3),
            "server_cpu_pct": self.server_cpu_pct.map(round3),
            "client_cpu_pct": self.client_cpu_pct.map(round3),
            "client_rss_kib": self.client_rss_kib,
            "first_error": self.first_error,
        })
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn per_conn(before: Option<u64>, after: Option<u64>, n: u64) -> Option<f64> {
    match (before, after) {
        (Some(b), Some(a)) if n > 0 => Some((a as f64 - b as f64) / n as f64),
        _ => None,
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let num = |v: Option<f64>| v.map_or("n/a".to_string(), |x| format!("{x:.2}"));
        let ms = |v: Option<u64>| num(v.map(|us| us as f64 / 1000.0));
        let kib = |v: Option<u64>| v.map_or("n/a".to_string(), |x| x.to_string());
        let c = &self.config;
        let e = &self.ends;
        writeln!(f, "target            {}", c.url)?;
        writeln!(
            f,
            "connections       {} established, {} failed ({} at window start, {} closed early)",
            self.established, self.failed, self.established_at_window, self.closed_early
        )?;
        writeln!(
            f,
            "ends              server closed {}, stream ended {}, error {}, timeout {}, bad status {}, bad body {}, caught up {}, open at end {}",
            e.server_closed,
            e.stream_ended,
            e.error,
            e.timeout,
            e.bad_status,
            e.bad_body,
            e.caught_up,
            e.open_at_end
        )?;
        if c.stall > 0 {
            writeln!(
                f,
                "stalled           {} held, {} failed",
                self.stall_established, self.stall_failed
            )?;
        }
        writeln!(
            f,
            "window            {:.2} s (ramp {:.2} s), seq {}..={}",
            self.window_secs, self.ramp_secs, self.window_seqs.0, self.window_seqs.1
        )?;
        writeln!(
            f,
            "events            {} in window ({} total), {:.0} ev/s, {:.0} bytes/s",
            self.events_window,
            self.events_total,
            self.events_per_s(),
            self.bytes_per_s()
        )?;
        writeln!(
            f,
            "latency ms        p50 {}  p99 {}  p99.9 {}  max {}",
            ms(self.latency_us[0]),
            ms(self.latency_us[1]),
            ms(self.latency_us[2]),
            ms(self.latency_us[3])
        )?;
        writeln!(
            f,
            "sequence          {} gaps, {} missing ({} in gaps, {} at the end), {} reordered ({} duplicates), {} untimed",
            self.gaps,
            self.missing(),
            self.missing_in_gaps,
            self.missing_at_end,
            self.reordered,
            self.duplicates,
            self.untimed
        )?;
        if c.resume {
            let r = &self.resumes;
            writeln!(
                f,
                "resumes           {} ({} exact, {} inexact, {} without an id, {} failed), {} events replayed",
                r.resumes, r.exact, r.inexact, r.without_id, r.failed, r.replayed
            )?;
        }
        if c.server_pid.is_some() {
            writeln!(
                f,
                "server RSS KiB    before {}  window start {}  end {}  per conn {} (at window start {})",
                kib(self.server_rss_kib[0]),
                kib(self.server_rss_kib[1]),
                kib(self.server_rss_kib[2]),
                num(self.server_rss_per_conn_kib()),
                num(self.server_rss_per_conn_at_window_kib())
            )?;
            writeln!(f, "server CPU        {} %", num(self.server_cpu_pct))?;
        }
        writeln!(
            f,
            "client            CPU {} %, RSS {} KiB",
            num(self.client_cpu_pct),
            kib(self.client_rss_kib)
        )?;
        if let Some(e) = &self.first_error {
            writeln!(f, "first error       {e}")?;
        }
        Ok(())
    }
}

/// Runs the load described by `config` inside the current tokio runtime:
/// ramp, warmup, window, then a bounded drain.
pub async fn run(config: Config) -> Result<Report, String> {
    config.check()?;
    let target = Target::parse(&config.url)?;
    let server = config.server_pid.map(Proc::Pid);
    let total = config.conns + config.stall;
    let rss_before = server.and_then(Proc::rss_kib);

    let start = Instant::now();
    let secs = Duration::from_secs_f64;
    let window_start = start + secs(total as f64 / config.ramp + config.warmup);
    let deadline = window_start + secs(config.duration);
    let drain_end = deadline + secs(config.drain);
    let (stop, _) = watch::channel(0);
    let sh = Arc::new(Shared {
        target,
        connect_timeout: secs(config.connect_timeout),
        deadline,
        hist: Histogram::new(),
        measuring: AtomicBool::new(false),
        events_total: AtomicU64::new(0),
        events_window: AtomicU64::new(0),
        bytes_window: AtomicU64::new(0),
        untimed: AtomicU64::new(0),
        replayed: AtomicU64::new(0),
        gaps: AtomicU64::new(0),
        missing_in_gaps: AtomicU64::new(0),
        duplicates: AtomicU64::new(0),
        reordered: AtomicU64::new(0),
        established: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        closed_early: AtomicU64::new(0),
        stall_established: AtomicU64::new(0),
        stall_failed: AtomicU64::new(0),
        ends: Ends::default(),
        resumes: AtomicU64::new(0),
        resumes_exact: AtomicU64::new(0),
        resumes_inexact: AtomicU64::new(0),
        resumes_without_id: AtomicU64::new(0),
        resume_failed: AtomicU64::new(0),
        max_seq: AtomicU64::new(0),
        last_seq: (0..config.conns).map(|_| AtomicU64::new(0)).collect(),
        first_error: Mutex::new(None),
        stop,
    });

    // The ramp: the stalled connections first, then the readers.
    let mut stalls = JoinSet::new();
    let mut readers = JoinSet::new();
    let mut rng = SplitMix(unix_nanos() ^ u64::from(std::process::id()));
    for i in 0..total {
        let due = start + secs(i as f64 / config.ramp);
        tokio::time::sleep_until(due).await;
        if i < config.stall {
            stalls.spawn(staller(sh.clone()));
            continue;
        }
        let mut cuts = Vec::new();
        if config.resume {
            // Cuts spread over the rest of the run, before the window's end.
            let span = deadline.saturating_duration_since(Instant::now());
            cuts = (0..config.cuts)
                .map(|_| Instant::now() + span.mul_f64(rng.next_f64()))
                .collect();
            cuts.sort();
        }
        readers.spawn(reader(sh.clone(), i - config.stall, cuts));
    }
    let ramp_secs = start.elapsed().as_secs_f64();

    tokio::time::sleep_until(window_start).await;
    let rss_connected = server.and_then(Proc::rss_kib);
    let server_t0 = server.and_then(Proc::cpu_ticks);
    let client_t0 = Proc::Myself.cpu_ticks();
    let established_at_window = sh.established.load(Relaxed);
    let closed_before_window = sh.closed_early.load(Relaxed);
    let first_seq = sh.max_seq.load(Relaxed) + 1;
    let w0 = Instant::now();
    sh.measuring.store(true, Relaxed);

    tokio::time::sleep_until(deadline).await;
    sh.measuring.store(false, Relaxed);
    let window_secs = w0.elapsed().as_secs_f64();
    let rss_end = server.and_then(Proc::rss_kib);
    let server_t1 = server.and_then(Proc::cpu_ticks);
    let client_t1 = Proc::Myself.cpu_ticks();
    let last_seq = sh.max_seq.load(Relaxed);
    stalls.abort_all();

    // The drain: until each reader has what was published up to the
    // window's end, within `drain` seconds.
    let mut open_at_end = 0;
    if last_seq > 0 {
        sh.stop.send_replace(last_seq);
        let _ = tokio::time::timeout_at(drain_end, async {
            while readers.join_next().await.is_some() {}
        })
        .await;
    }
    readers.abort_all();
    while let Some(joined) = readers.join_next().await {
        if joined.is_err_and(|e| e.is_cancelled()) {
            open_at_end += 1;
        }
    }
    while stalls.join_next().await.is_some() {}

    let missing_at_end = if last_seq >= first_seq {
        sh.last_seq
            .iter()
            .map(|s| match s.load(Relaxed) {
                0 => 0, // never established
                1 => missing_at_end(None, first_seq, last_seq),
                s => missing_at_end(Some(s - 1), first_seq, last_seq),
            })
            .sum()
    } else {
        0
    };
    let hist = &sh.hist;
    let ends = &sh.ends;
    let first_error = sh
        .first_error
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Ok(Report {
        ramp_secs,
        window_secs,
        established: sh.established.load(Relaxed),
        failed: sh.failed.load(Relaxed),
        established_at_window,
        closed_early: sh.closed_early.load(Relaxed),
        closed_before_window,
        stall_established: sh.stall_established.load(Relaxed),
        stall_failed: sh.stall_failed.load(Relaxed),
        events_total: sh.events_total.load(Relaxed),
        events_window: sh.events_window.load(Relaxed),
        bytes_window: sh.bytes_window.load(Relaxed),
        latency_us: [
            hist.quantile(0.50),
            hist.quantile(0.99),
            hist.quantile(0.999),
            hist.max(),
        ],
        untimed: sh.untimed.load(Relaxed),
        gaps: sh.gaps.load(Relaxed),
        missing_in_gaps: sh.missing_in_gaps.load(Relaxed),
        missing_at_end,
        window_seqs: (first_seq, last_seq),
        duplicates: sh.duplicates.load(Relaxed),
        reordered: sh.reordered.load(Relaxed),
        ends: EndCounts {
            server_closed: ends.server_closed.load(Relaxed),
            stream_ended: ends.stream_ended.load(Relaxed),
            error: ends.error.load(Relaxed),
            timeout: ends.timeout.load(Relaxed),
            bad_status: ends.bad_status.load(Relaxed),
            bad_body: ends.bad_body.load(Relaxed),
            caught_up: ends.caught_up.load(Relaxed),
            open_at_end,
        },
        resumes: Resumes {
            resumes: sh.resumes.load(Relaxed),
            exact: sh.resumes_exact.load(Relaxed),
            inexact: sh.resumes_inexact.load(Relaxed),
            without_id: sh.resumes_without_id.load(Relaxed),
            failed: sh.resume_failed.load(Relaxed),
            replayed: sh.replayed.load(Relaxed),
        },
        server_rss_kib: [rss_before, rss_connected, rss_end],
        server_cpu_pct: cpu_pct(server_t0, server_t1, window_secs),
        client_cpu_pct: cpu_pct(client_t0, client_t1, window_secs),
        client_rss_kib: Proc::Myself.rss_kib(),
        first_error,
        config,
    })
}
