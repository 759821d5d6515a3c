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

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch};

const USAGE: &str = "\
stalls: what clients that stop reading cost an SSE server (loopback only)

USAGE: stalls --url http://127.0.0.1:PORT/events [options]

  --url URL              the SSE endpoint, on a loopback address
  --stalled N            connections that stop reading          [default 100]
  --mode M               together | staggered                   [default together]
  --every MIN-MAX        staggered: ms between connections      [default 10-600]
  --read-for MIN-MAX     staggered: ms each reads before it stops [default 10-600]
  --resume-fraction F    staggered: share that resumes deep in history [default 0]
  --resume-depth N       events back those resume from        [default 1000]
  --healthy H            readers that read everything          [default 10]
  --duration S           run length once all have stalled      [default 45]
  --warmup S             healthy readers alone before the baseline [default 1]
  --server-pid PID       sample the server's VmRSS
  --json                 one JSON object on stdout
";

/// Connect, send the request and see the response head, or give up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Bytes of a line kept: the contract's `t` and `seq` come first, and the
/// rest (the pad) needs no copy.
const LINE_CAP: usize = 256;
const NEVER: u64 = u64::MAX;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Together,
    Staggered,
}

struct Options {
    url: String,
    addr: SocketAddr,
    authority: String,
    path: String,
    stalled: usize,
    mode: Mode,
    every: (u64, u64),
    read_for: (u64, u64),
    resume_fraction: f64,
    resume_depth: usize,
    healthy: usize,
    duration: Duration,
    warmup: Duration,
    server_pid: Option<u32>,
    json: bool,
}

fn options() -> Result<Options, String> {
    let mut url = None;
    let mut o = Options {
        url: String::new(),
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        authority: String::new(),
        path: String::new(),
        stalled: 100,
        mode: Mode::Together,
        every: (10, 600),
        read_for: (10, 600),
        resume_fraction: 0.0,
        resume_depth: 1000,
        healthy: 10,
        duration: Duration::from_secs(45),
        warmup: Duration::from_secs(1),
        server_pid: None,
        json: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--url" => url = Some(value()?),
            "--stalled" => o.stalled = num("--stalled", value()?)?,
            "--mode" => {
                o.mode = match value()?.as_str() {
                    "together" => Mode::Together,
                    "staggered" => Mode::Staggered,
                    other => {
                        return Err(format!("--mode takes together or staggered, not {other}"));
                    }
                }
            }
            "--every" => o.every = range("--every", &value()?)?,
            "--read-for" => o.read_for = range("--read-for", &value()?)?,
            "--resume-fraction" => o.resume_fraction = num("--resume-fraction", value()?)?,
            "--resume-depth" => o.resume_depth = num("--resume-depth", value()?)?,
            "--healthy" => o.healthy = num("--healthy", value()?)?,
            "--duration" => o.duration = seconds("--duration", value()?)?,
            "--warmup" => o.warmup = seconds("--warmup", value()?)?,
            "--server-pid" => o.server_pid = Some(num("--server-pid", value()?)?),
            "--json" => o.json = true,
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if !(0.0..=1.0).contains(&o.resume_fraction) {
        return Err("--resume-fraction must be in 0..=1".into());
    }
    if o.resume_fraction > 0.0 && o.healthy == 0 {
        return Err("--resume-fraction needs a healthy reader to learn an id from".into());
    }
    if o.stalled + o.healthy > 60_000 {
        return Err("--stalled + --healthy must be at most 60000".into());
    }
    o.url = url.ok_or("--url is required")?;
    let rest = o
        .url
        .strip_prefix("http://")
        .ok_or("--url must start with http://")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    o.path = if path.is_empty() {
        "/".into()
    } else {
        path.into()
    };
    o.authority = authority.into();
    let with_port = if authority.ends_with(']') || !authority.contains(':') {
        format!("{authority}:80")
    } else {
        authority.to_string()
    };
    let with_port = with_port.replace(['[', ']'], "");
    let (host, port) = with_port.rsplit_once(':').ok_or("--url has no host")?;
    let port: u16 = num("port", port.to_string())?;
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .collect();
    // `localhost` may give ::1 first; the servers listen on 127.0.0.1.
    o.addr = *addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .ok_or_else(|| format!("{host} has no address"))?;
    if !o.addr.ip().is_loopback() {
        return Err(format!("{} is not a loopback address", o.addr.ip()));
    }
    Ok(o)
}

fn num<T: std::str::FromStr>(name: &str, v: String) -> Result<T, String> {
    v.parse().map_err(|_| format!("bad {name}: {v}"))
}

fn seconds(name: &str, v: String) -> Result<Duration, String> {
    let secs: f64 = num(name, v)?;
    if !(0.0..=3600.0).contains(&secs) {
        return Err(format!("{name} must be in 0..=3600 seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `MIN-MAX` (or one number) milliseconds.
fn range(name: &str, v: &str) -> Result<(u64, u64), String> {
    let (lo, hi) = v.split_once('-').unwrap_or((v, v));
    match (lo.trim().parse(), hi.trim().parse()) {
        (Ok(lo), Ok(hi)) if lo <= hi => Ok((lo, hi)),
        _ => Err(format!("{name} takes MIN-MAX milliseconds, not {v}")),
    }
}

/// xorshift64*: enough to spread connections in time, no dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn between(&mut self, (lo, hi): (u64, u64)) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

fn unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// What a stalled connection went through, in microseconds since the start
/// of the run (`NEVER` until it happens). Written by its task and by the
/// sampling thread; read once both are done.
struct Slot {
    /// The client's local port, 0 until connected: the server's side of the
    /// connection is found by it in `/proc/net/tcp`.
    port: AtomicU64,
    stalled_at: AtomicU64,
    reset_at: AtomicU64,
    server_closed_at: AtomicU64,
    server_gone_at: AtomicU64,
    server_seen: AtomicBool,
}

struct Shared {
    start: Instant,
    slots: Vec<Slot>,
    /// The ids of the last `--resume-depth` events the healthy readers
    /// saw, with their `seq`, oldest first: the oldest is where a resuming
    /// connection starts.
    recent_ids: Mutex<VecDeque<(String, u64)>>,
    resume_depth: usize,
    latest_seq: AtomicU64,
    /// What the stalled sockets reported as their pending error.
    close_errors: Mutex<BTreeMap<String, usize>>,
}

impl Shared {
    fn micros(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(NEVER - 1)
    }
}

/// Latencies in microseconds, log-linear: 32 sub-buckets per power of two.
struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

impl Histogram {
    const SUB_BITS: u32 = 5;
    const SUB: u64 = 1 << Self::SUB_BITS;
    /// Values are capped at 2^40 us (12 days).
    const CAP: u64 = 1 << 40;

    fn new() -> Histogram {
        Histogram {
            counts: vec![0; Self::index(Self::CAP) + 1],
            total: 0,
            max: 0,
        }
    }

    fn index(v: u64) -> usize {
        if v < 2 * Self::SUB {
            return v as usize;
        }
        let shift = 63 - v.leading_zeros() - Self::SUB_BITS;
        ((u64::from(shift) + 1) * Self::SUB + (v >> shift) - Self::SUB) as usize
    }

    fn upper(i: usize) -> u64 {
        let i = i as u64;
        if i < 2 * Self::SUB {
            return i;
        }
        let shift = i / Self::SUB - 1;
        ((i % Self::SUB + Self::SUB + 1) << shift) - 1
    }

    fn record(&mut self, v: u64) {
        let v = v.min(Self::CAP);
        self.counts[Self::index(v)] += 1;
        self.total += 1;
        self.max = self.max.max(v);
    }

    fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    fn quantile(&self, q: f64) -> Option<u64> {
        let rank = ((q * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(Self::upper(i).min(self.max));
            }
        }
        None
    }
}

/// One event's fields that matter here.
struct Event {
    seq: u64,
    t: Option<u64>,
    id: Option<String>,
}

#[derive(Clone, Copy)]
enum Chunk {
    Size(u64),
    Extension(u64),
    Data(u64),
    DataEnd,
}

#[derive(Clone, Copy)]
enum Body {
    Head,
    Chunked(Chunk),
    Plain,
    Ended,
}

/// Just enough HTTP/1.1 and SSE: the response head, chunked framing, and
/// the `data:` and `id:` lines of each event.
struct Reader {
    body: Body,
    head: Vec<u8>,
    line: Vec<u8>,
    seq: Option<u64>,
    t: Option<u64>,
    id: Option<String>,
}

impl Reader {
    fn new() -> Reader {
        Reader {
            body: Body::Head,
            head: Vec::new(),
            line: Vec::with_capacity(LINE_CAP),
            seq: None,
            t: None,
            id: None,
        }
    }

    fn has_head(&self) -> bool {
        !matches!(self.body, Body::Head)
    }

    fn ended(&self) -> bool {
        matches!(self.body, Body::Ended)
    }

    fn feed(&mut self, bytes: &[u8], on: &mut impl FnMut(Event)) -> Result<(), String> {
        if !matches!(self.body, Body::Head) {
            return self.body(bytes, on);
        }
        self.head.extend_from_slice(bytes);
        let Some(end) = self.head.windows(4).position(|w| w == b"\r\n\r\n") else {
            return if self.head.len() > 16 * 1024 {
                Err("response head over 16 KiB".into())
            } else {
                Ok(())
            };
        };
        let head = std::mem::take(&mut self.head);
        let text = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
        let status = text.lines().next().unwrap_or("");
        if !status.starts_with("http/1.1 200") {
            return Err(format!("response {status}"));
        }
        if !text.contains("text/event-stream") {
            return Err("response is not text/event-stream".into());
        }
        self.body = if text.contains("transfer-encoding: chunked") {
            Body::Chunked(Chunk::Size(0))
        } else {
            Body::Plain
        };
        self.body(&head[end + 4..], on)
    }

    fn body(&mut self, mut bytes: &[u8], on: &mut impl FnMut(Event)) -> Result<(), String> {
        while let [first, rest @ ..] = bytes {
            let chunk = match self.body {
                Body::Head | Body::Ended => return Ok(()),
                Body::Plain => {
                    self.lines(bytes, on);
                    return Ok(());
                }
                Body::Chunked(chunk) => chunk,
            };
            let next = match chunk {
                Chunk::Data(left) => {
                    let n = bytes.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    self.lines(&bytes[..n], on);
                    bytes = &bytes[n..];
                    let left = left - n as u64;
                    self.body = Body::Chunked(if left == 0 {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left)
                    });
                    continue;
                }
                Chunk::DataEnd => match first {
                    b'\n' => Chunk::Size(0),
                    _ => Chunk::DataEnd,
                },
                Chunk::Size(size) | Chunk::Extension(size) if *first == b'\n' => {
                    if size == 0 {
                        // The last chunk: trailers, if any, are not read.
                        self.body = Body::Ended;
                        return Ok(());
                    }
                    Chunk::Data(size)
                }
                Chunk::Extension(size) => Chunk::Extension(size),
                Chunk::Size(size) => match first {
                    b'\r' => Chunk::Size(size),
                    b';' | b' ' | b'\t' => Chunk::Extension(size),
                    c => {
                        let digit = char::from(*c)
                            .to_digit(16)
                            .ok_or_else(|| format!("bad chunk size byte {c:#x}"))?;
                        let size = size
                            .checked_mul(16)
                            .and_then(|s| s.checked_add(u64::from(digit)))
                            .ok_or("chunk size overflows")?;
                        Chunk::Size(size)
                    }
                },
            };
            self.body = Body::Chunked(next);
            bytes = rest;
        }
        Ok(())
    }

    fn lines(&mut self, mut bytes: &[u8], on: &mut impl FnMut(Event)) {
        while let Some(at) = memchr::memchr(b'\n', bytes) {
            self.keep(&bytes[..at]);
            self.line_end(on);
            bytes = &bytes[at + 1..];
        }
        self.keep(bytes);
    }

    fn keep(&mut self, bytes: &[u8]) {
        let room = LINE_CAP - self.line.len();
        self.line.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn line_end(&mut self, on: &mut impl FnMut(Event)) {
        let line = self.line.strip_suffix(b"\r").unwrap_or(&self.line);
        if line.is_empty() {
            if let Some(seq) = self.seq.take() {
                on(Event {
                    seq,
                    t: self.t.take(),
                    id: self.id.take(),
                });
            }
            self.t = None;
            self.id = None;
        } else if let Some(data) = line.strip_prefix(b"data:") {
            if self.seq.is_none() {
                self.seq = number_after(data, b"\"seq\":");
                self.t = number_after(data, b"\"t\":");
            }
        } else if let Some(id) = line.strip_prefix(b"id:") {
            let id = id.strip_prefix(b" ").unwrap_or(id);
            self.id = Some(String::from_utf8_lossy(id).into_owned());
        }
        self.line.clear();
    }
}

fn number_after(haystack: &[u8], key: &[u8]) -> Option<u64> {
    let at = haystack.windows(key.len()).position(|w| w == key)? + key.len();
    let digits = haystack[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    std::str::from_utf8(&haystack[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

/// Connects (with `recv_buffer` set first, if any) and sends the request.
async fn connect(
    o: &Options,
    recv_buffer: Option<u32>,
    last_event_id: Option<&str>,
) -> io::Result<TcpStream> {
    let socket = if o.addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size)?;
    }
    let mut stream = socket.connect(o.addr).await?;
    stream.set_nodelay(true)?;
    let resume = last_event_id.map_or(String::new(), |id| format!("Last-Event-ID: {id}\r\n"));
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n{resume}\r\n",
        o.path, o.authority
    );
    stream.write_all(request.as_bytes()).await?;
    Ok(stream)
}

#[derive(Default)]
struct Healthy {
    events: u64,
    gaps: u64,
    missing: u64,
    reordered: u64,
    failed: Option<String>,
    ended: Option<String>,
}

async fn healthy(
    shared: Arc<Shared>,
    o: Arc<Options>,
    mut stop: watch::Receiver<bool>,
    ready: mpsc::Sender<()>,
) -> (Healthy, Histogram) {
    let mut h = Healthy::default();
    let mut latency = Histogram::new();
    let mut ready = Some(ready);
    let mut stream = match tokio::time::timeout(CONNECT_TIMEOUT, connect(&o, None, None)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            h.failed = Some(e.to_string());
            return (h, latency);
        }
        Err(_) => {
            h.failed = Some("connect timed out".into());
            return (h, latency);
        }
    };
    let mut reader = Reader::new();
    let mut buf = vec![0; 16 * 1024];
    let mut previous: Option<u64> = None;
    loop {
        let read = tokio::select! {
            read = stream.read(&mut buf) => read,
            _ = stop.changed() => break,
        };
        let n = match read {
            Ok(0) => {
                h.ended = Some("the server ended the stream".into());
                break;
            }
            Ok(n) => n,
            Err(e) => {
                h.ended = Some(e.to_string());
                break;
            }
        };
        let now = unix_nanos();
        let fed = reader.feed(&buf[..n], &mut |event| {
            h.events += 1;
            if let Some(t) = event.t {
                latency.record(now.saturating_sub(t) / 1000);
            }
            if let Some(prev) = previous {
                if event.seq > prev + 1 {
                    h.gaps += 1;
                    h.missing += event.seq - prev - 1;
                } else if event.seq <= prev {
                    h.gaps += 1;
                    h.reordered += 1;
                }
            }
            previous = Some(event.seq);
            shared.latest_seq.fetch_max(event.seq, Relaxed);
            if let Some(id) = event.id {
                shared.saw_id(id, event.seq);
            }
        });
        if let Err(e) = fed {
            h.ended = Some(e);
            break;
        }
        if reader.ended() {
            h.ended = Some("the server ended the stream".into());
            break;
        }
        if h.events > 0 {
            if let Some(ready) = ready.take() {
                let _ = ready.try_send(());
            }
        }
    }
    (h, latency)
}

/// How a stalled connection went.
enum Outcome {
    Failed(String),
    EndedBeforeStall(String),
    Stalled {
        /// Resumed: whether the first event was the one after the id.
        replayed: Option<bool>,
        /// What was behind the unread bytes, if no reset came.
        at_end: Option<AtEnd>,
    },
}

/// What a stalled connection that was never reset held at the end, found
/// by reading it out once everything was measured.
enum AtEnd {
    /// Events still arriving: the server never stopped sending.
    Live,
    /// Open, nothing more: the server holds the response without writing.
    Silent,
    /// The response had ended; the connection idles, kept alive.
    ResponseEnded,
    /// The server had closed it (a FIN behind the unread bytes).
    Closed,
    Error(String),
}

impl AtEnd {
    fn label(&self) -> String {
        match self {
            AtEnd::Live => "events still arriving".into(),
            AtEnd::Silent => "open, nothing sent".into(),
            AtEnd::ResponseEnded => "response ended, connection kept".into(),
            AtEnd::Closed => "closed by the server".into(),
            AtEnd::Error(e) => e.clone(),
        }
    }
}

/// Reads out what the stalled connection holds: until the response or the
/// connection ends, 300 ms pass without a byte, or 2 s in all.
async fn read_out(mut stream: TcpStream, mut reader: Reader) -> AtEnd {
    let mut buf = vec![0; 16 * 1024];
    let until = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let quiet = tokio::time::Instant::now() + Duration::from_millis(300);
        let n = match tokio::time::timeout_at(quiet.min(until), stream.read(&mut buf)).await {
            Err(_) if quiet < until => return AtEnd::Silent,
            Err(_) => return AtEnd::Live,
            Ok(Ok(0)) if reader.ended() => return AtEnd::ResponseEnded,
            Ok(Ok(0)) => return AtEnd::Closed,
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return AtEnd::Error(e.to_string()),
        };
        if let Err(e) = reader.feed(&buf[..n], &mut |_| {}) {
            return AtEnd::Error(e);
        }
        if reader.ended() {
            return AtEnd::ResponseEnded;
        }
    }
}

impl Shared {
    /// Records an event id a healthy reader saw (each once, in order).
    fn saw_id(&self, id: String, seq: u64) {
        let mut recent = self.recent_ids.lock().unwrap_or_else(|e| e.into_inner());
        if recent.back().is_some_and(|&(_, last)| last >= seq) {
            return;
        }
        recent.push_back((id, seq));
        if recent.len() > self.resume_depth {
            recent.pop_front();
        }
    }

    /// The event `--resume-depth` events back (or the oldest seen).
    fn resume_point(&self) -> Option<Resume> {
        let recent = self.recent_ids.lock().unwrap_or_else(|e| e.into_inner());
        recent.front().map(|(id, seq)| Resume {
            id: id.clone(),
            seq: *seq,
        })
    }
}

/// Where a resuming connection asks to start: after `id`, the event `seq`.
#[derive(Clone)]
struct Resume {
    id: String,
    seq: u64,
}

async fn stall_together(
    shared: Arc<Shared>,
    o: Arc<Options>,
    i: usize,
    stop: watch::Receiver<bool>,
    stalled: mpsc::Sender<()>,
) -> Outcome {
    let slot = &shared.slots[i];
    let established = tokio::time::timeout(CONNECT_TIMEOUT, async {
        let stream = connect(&o, Some(4096), None).await?;
        slot.port
            .store(u64::from(stream.local_addr()?.port()), Relaxed);
        let sent = shared.micros();
        // A peek leaves the bytes queued, so the receive buffer still fills.
        let mut head = [0; 12];
        let n = stream.peek(&mut head).await?;
        if n == 0 || head[..n] != b"HTTP/1.1 200"[..n] {
            let head = String::from_utf8_lossy(&head[..n]).into_owned();
            return Err(io::Error::other(format!("answered {head:?}")));
        }
        Ok((stream, sent))
    })
    .await;
    let _ = stalled.try_send(());
    match established {
        Err(_) => Outcome::Failed("timed out before the response".into()),
        Ok(Err(e)) => Outcome::Failed(e.to_string()),
        Ok(Ok((stream, sent))) => {
            slot.stalled_at.store(sent, Relaxed);
            let at_end = match watch_for_reset(&shared, i, stream, stop).await {
                Some(stream) => Some(read_out(stream, Reader::new()).await),
                None => None,
            };
            Outcome::Stalled {
                replayed: None,
                at_end,
            }
        }
    }
}

async fn stall_staggered(
    shared: Arc<Shared>,
    o: Arc<Options>,
    i: usize,
    read_for: Duration,
    resume: Option<Resume>,
    stop: watch::Receiver<bool>,
    stalled: mpsc::Sender<()>,
) -> Outcome {
    let slot = &shared.slots[i];
    let until = tokio::time::Instant::now() + read_for;
    let last_id = resume.as_ref().map(|r| r.id.as_str());
    let mut stream = match tokio::time::timeout(CONNECT_TIMEOUT, connect(&o, None, last_id)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            let _ = stalled.try_send(());
            return Outcome::Failed(e.to_string());
        }
        Err(_) => {
            let _ = stalled.try_send(());
            return Outcome::Failed("connect timed out".into());
        }
    };
    if let Ok(local) = stream.local_addr() {
        slot.port.store(u64::from(local.port()), Relaxed);
    }
    let mut reader = Reader::new();
    let mut buf = vec![0; 8 * 1024];
    let mut first_seq = None;
    let ended = loop {
        let n = match tokio::time::timeout_at(until, stream.read(&mut buf)).await {
            Err(_) => break None,
            Ok(Ok(0)) => break Some("the server ended the stream".to_string()),
            Ok(Ok(n)) => n,
            Ok(Err(e)) => break Some(e.to_string()),
        };
        if let Err(e) = reader.feed(&buf[..n], &mut |event| {
            first_seq.get_or_insert(event.seq);
        }) {
            break Some(e);
        }
        if reader.ended() {
            break Some("the server ended the stream".to_string());
        }
    };
    if let Some(ended) = ended {
        let _ = stalled.try_send(());
        return Outcome::EndedBeforeStall(ended);
    }
    drop(buf);
    slot.stalled_at.store(shared.micros(), Relaxed);
    let _ = stalled.try_send(());
    let replayed = match (&resume, reader.has_head()) {
        (Some(resume), true) => Some(first_seq == Some(resume.seq + 1)),
        _ => None,
    };
    let at_end = match watch_for_reset(&shared, i, stream, stop).await {
        Some(stream) => Some(read_out(stream, reader).await),
        None => None,
    };
    Outcome::Stalled { replayed, at_end }
}

/// Polls the socket's pending error until the server resets it or the run
/// ends; a reset socket is dropped at once, freeing the client's side. Gives
/// the socket back if no reset came.
async fn watch_for_reset(
    shared: &Shared,
    i: usize,
    stream: TcpStream,
    mut stop: watch::Receiver<bool>,
) -> Option<TcpStream> {
    let mut rng = Rng::new(unix_nanos() ^ i as u64);
    loop {
        let pause = Duration::from_millis(rng.between((100, 200)));
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = stop.changed() => return Some(stream),
        }
        let error = match stream.take_error() {
            Ok(None) => continue,
            Ok(Some(e)) | Err(e) => e,
        };
        shared.slots[i].reset_at.store(shared.micros(), Relaxed);
        *shared
            .close_errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(error.to_string())
            .or_default() += 1;
        return None;
    }
}

/// One reading of the server's RSS and the system's TCP memory.
#[derive(Clone, Copy, Default)]
struct Probe {
    rss_kib: Option<u64>,
    tcp_mem_kib: Option<u64>,
    orphans: Option<u64>,
}

impl Probe {
    fn now(pid: Option<u32>) -> Probe {
        let rss_kib = pid.and_then(|pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        });
        let sockstat = std::fs::read_to_string("/proc/net/sockstat").unwrap_or_default();
        let tcp: Vec<&str> = sockstat
            .lines()
            .find(|l| l.starts_with("TCP:"))
            .map(|l| l.split_whitespace().collect())
            .unwrap_or_default();
        let field = |name: &str| -> Option<u64> {
            let at = tcp.iter().position(|w| *w == name)?;
            tcp.get(at + 1)?.parse().ok()
        };
        Probe {
            rss_kib,
            tcp_mem_kib: field("mem").map(|pages| pages * 4),
            orphans: field("orphan"),
        }
    }

    fn peak(self, other: Probe) -> Probe {
        let max = |a: Option<u64>, b: Option<u64>| a.max(b);
        Probe {
            rss_kib: max(self.rss_kib, other.rss_kib),
            tcp_mem_kib: max(self.tcp_mem_kib, other.tcp_mem_kib),
            orphans: max(self.orphans, other.orphans),
        }
    }
}

/// What the sampling thread saw over the run.
#[derive(Default)]
struct Samples {
    peak: Probe,
    /// Bytes in the server's send queues of the stalled connections.
    send_queue_peak: Option<u64>,
    send_queue_end: Option<u64>,
}

/// Samples every 250 ms (RSS and sockstat every 500 ms) until `stop`, then
/// once more.
fn sample(shared: &Shared, server: SocketAddr, pid: Option<u32>, stop: &AtomicBool) -> Samples {
    let mut samples = Samples::default();
    for tick in 0u64.. {
        let last = stop.load(Relaxed);
        if let Some(queued) = scan_tcp(shared, server) {
            samples.send_queue_peak = samples.send_queue_peak.max(Some(queued));
            samples.send_queue_end = Some(queued);
        }
        if tick % 2 == 0 || last {
            samples.peak = samples.peak.peak(Probe::now(pid));
        }
        if last {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    samples
}

/// Finds the server's side of each stalled connection in `/proc/net/tcp`,
/// records when it left ESTABLISHED and when it was gone, and gives the
/// bytes in their send queues.
fn scan_tcp(shared: &Shared, server: SocketAddr) -> Option<u64> {
    let table = if server.is_ipv4() {
        "/proc/net/tcp"
    } else {
        "/proc/net/tcp6"
    };
    let text = std::fs::read_to_string(table).ok()?;
    let now = shared.micros();
    let ports: HashMap<u16, usize> = shared
        .slots
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let port = u16::try_from(s.port.load(Relaxed)).ok()?;
            (port != 0 && s.server_gone_at.load(Relaxed) == NEVER).then_some((port, i))
        })
        .collect();
    let port_of = |address: &str| {
        address
            .rsplit_once(':')
            .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
    };
    let mut present = vec![false; shared.slots.len()];
    let mut queued = 0;
    for line in text.lines().skip(1) {
        let mut fields = line.split_ascii_whitespace().skip(1);
        let (Some(local), Some(remote), Some(state), Some(queues)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if port_of(local) != Some(server.port()) {
            continue;
        }
        let Some(&i) = port_of(remote).and_then(|p| ports.get(&p)) else {
            continue;
        };
        let slot = &shared.slots[i];
        present[i] = true;
        slot.server_seen.store(true, Relaxed);
        if let Some((tx, _)) = queues.split_once(':') {
            queued += u64::from_str_radix(tx, 16).unwrap_or(0);
        }
        // The states after the server's own close (FIN_WAIT1, FIN_WAIT2,
        // TIME_WAIT, CLOSE, LAST_ACK, CLOSING); a fresh connection shows
        // SYN_RECV first, which is no close.
        let closed = matches!(state, "04" | "05" | "06" | "07" | "09" | "0B");
        if closed && slot.server_closed_at.load(Relaxed) == NEVER {
            slot.server_closed_at.store(now, Relaxed);
        }
    }
    for &i in ports.values() {
        let slot = &shared.slots[i];
        if slot.server_seen.load(Relaxed) && !present[i] {
            slot.server_gone_at.store(now, Relaxed);
            if slot.server_closed_at.load(Relaxed) == NEVER {
                slot.server_closed_at.store(now, Relaxed);
            }
        }
    }
    Some(queued)
}

struct Report {
    established: usize,
    failures: BTreeMap<String, usize>,
    ended_before_stall: BTreeMap<String, usize>,
    resume_note: Option<String>,
    resumed: usize,
    replayed: usize,
    resume_depth: Option<u64>,
    before: Probe,
    with_healthy: Probe,
    end: Probe,
    samples: Samples,
    resets: Vec<u64>,
    close_errors: BTreeMap<String, usize>,
    server_closes: Vec<u64>,
    server_gone: usize,
    server_open: usize,
    server_unseen: usize,
    at_end: BTreeMap<String, usize>,
    healthy: Vec<Healthy>,
    latency: Histogram,
}

async fn run(o: Arc<Options>) -> Report {
    let slots = (0..o.stalled)
        .map(|_| Slot {
            port: AtomicU64::new(0),
            stalled_at: AtomicU64::new(NEVER),
            reset_at: AtomicU64::new(NEVER),
            server_closed_at: AtomicU64::new(NEVER),
            server_gone_at: AtomicU64::new(NEVER),
            server_seen: AtomicBool::new(false),
        })
        .collect();
    let shared = Arc::new(Shared {
        start: Instant::now(),
        slots,
        recent_ids: Mutex::new(VecDeque::with_capacity(o.resume_depth + 1)),
        resume_depth: o.resume_depth,
        latest_seq: AtomicU64::new(0),
        close_errors: Mutex::new(BTreeMap::new()),
    });
    let before = Probe::now(o.server_pid);
    let stop_sampling = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (shared, stop, pid, server) =
            (shared.clone(), stop_sampling.clone(), o.server_pid, o.addr);
        std::thread::spawn(move || sample(&shared, server, pid, &stop))
    };
    let (stop, stopped) = watch::channel(false);

    let (ready, mut readies) = mpsc::channel(o.healthy.max(1));
    let healthy_readers: Vec<_> = (0..o.healthy)
        .map(|_| {
            tokio::spawn(healthy(
                shared.clone(),
                o.clone(),
                stopped.clone(),
                ready.clone(),
            ))
        })
        .collect();
    drop(ready);
    // Each reader signals its first event, or drops its sender on failure.
    let _ = tokio::time::timeout(CONNECT_TIMEOUT, async {
        while readies.recv().await.is_some() {}
    })
    .await;
    // The server's allocator settles on the steady flow, and a history
    // fills up, before the baseline is taken.
    tokio::time::sleep(o.warmup).await;
    let with_healthy = Probe::now(o.server_pid);

    let mut resume_note = None;
    let resuming = if o.mode == Mode::Staggered && o.resume_fraction > 0.0 {
        if shared.resume_point().is_none() {
            resume_note = Some("the server sends no id: lines: resuming skipped".into());
        }
        resume_note.is_none()
    } else {
        if o.resume_fraction > 0.0 {
            resume_note = Some("--resume-fraction applies to --mode staggered only".into());
        }
        false
    };

    let (stalled_tx, mut stalled_rx) = mpsc::channel(o.stalled.max(1));
    let mut rng = Rng::new(unix_nanos());
    let mut stalls = Vec::with_capacity(o.stalled);
    let mut resume_depth = None;
    for i in 0..o.stalled {
        let (shared, o2, stopped, tx) = (
            shared.clone(),
            o.clone(),
            stopped.clone(),
            stalled_tx.clone(),
        );
        let task = match o.mode {
            Mode::Together => tokio::spawn(stall_together(shared, o2, i, stopped, tx)),
            Mode::Staggered => {
                if i > 0 {
                    tokio::time::sleep(Duration::from_millis(rng.between(o.every))).await;
                }
                // Spread the resuming ones evenly over the connections.
                let resumes = (resuming
                    && ((i + 1) as f64 * o.resume_fraction).floor()
                        > (i as f64 * o.resume_fraction).floor())
                .then(|| shared.resume_point())
                .flatten();
                if let Some(r) = &resumes {
                    let depth = shared.latest_seq.load(Relaxed).saturating_sub(r.seq);
                    resume_depth = resume_depth.max(Some(depth));
                }
                let read_for = Duration::from_millis(rng.between(o.read_for));
                tokio::spawn(stall_staggered(
                    shared, o2, i, read_for, resumes, stopped, tx,
                ))
            }
        };
        stalls.push(task);
    }
    drop(stalled_tx);
    // Every stalled task signals once it stalls or fails.
    for _ in 0..o.stalled {
        let _ = stalled_rx.recv().await;
    }
    tokio::time::sleep(o.duration).await;

    let end = Probe::now(o.server_pid);
    stop_sampling.store(true, Relaxed);
    let samples = tokio::task::spawn_blocking(move || sampler.join())
        .await
        .expect("the sampler's join")
        .expect("the sampler does not panic");
    let _ = stop.send(true);

    let mut report = Report {
        established: 0,
        failures: BTreeMap::new(),
        ended_before_stall: BTreeMap::new(),
        resume_note,
        resumed: 0,
        replayed: 0,
        resume_depth,
        before,
        with_healthy,
        end,
        samples,
        resets: Vec::new(),
        close_errors: std::mem::take(
            &mut *shared
                .close_errors
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        ),
        server_closes: Vec::new(),
        server_gone: 0,
        server_open: 0,
        server_unseen: 0,
        at_end: BTreeMap::new(),
        healthy: Vec::new(),
        latency: Histogram::new(),
    };
    for (i, task) in stalls.into_iter().enumerate() {
        match task.await.expect("a stalled task does not panic") {
            Outcome::Failed(e) => *report.failures.entry(e).or_default() += 1,
            Outcome::EndedBeforeStall(e) => *report.ended_before_stall.entry(e).or_default() += 1,
            Outcome::Stalled { replayed, at_end } => {
                report.established += 1;
                if let Some(at_end) = at_end {
                    *report.at_end.entry(at_end.label()).or_default() += 1;
                }
                if let Some(replayed) = replayed {
                    report.resumed += 1;
                    report.replayed += usize::from(replayed);
                }
                let slot = &shared.slots[i];
                let stalled_at = slot.stalled_at.load(Relaxed);
                let reset_at = slot.reset_at.load(Relaxed);
                if reset_at != NEVER {
                    report.resets.push(reset_at.saturating_sub(stalled_at));
                }
                let closed_at = slot.server_closed_at.load(Relaxed);
                if closed_at != NEVER {
                    report
                        .server_closes
                        .push(closed_at.saturating_sub(stalled_at));
                } else if slot.server_seen.load(Relaxed) {
                    report.server_open += 1;
                } else {
                    report.server_unseen += 1;
                }
                report.server_gone += usize::from(slot.server_gone_at.load(Relaxed) != NEVER);
            }
        }
    }
    report.resets.sort_unstable();
    report.server_closes.sort_unstable();
    for reader in healthy_readers {
        let (h, latency) = reader.await.expect("a healthy reader does not panic");
        report.latency.merge(&latency);
        report.healthy.push(h);
    }
    report
}

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

/// Min, median and max of sorted microseconds, in seconds.
fn spread(sorted: &[u64]) -> Option<(f64, f64, f64)> {
    let s = |us: u64| us as f64 / 1e6;
    Some((
        s(*sorted.first()?),
        s(sorted[(sorted.len() - 1) / 2]),
        s(*sorted.last()?),
    ))
}

/// Kernel or server memory per stalled connection above a baseline.
fn per_stalled(peak: Option<u64>, base: Option<u64>, stalled: usize) -> Option<f64> {
    let (peak, base) = (peak?, base?);
    (stalled > 0).then(|| peak.saturating_sub(base) as f64 / stalled as f64)
}

struct HealthyTotals {
    events: u64,
    gaps: u64,
    missing: u64,
    reordered: u64,
    failed: BTreeMap<String, usize>,
    ended: BTreeMap<String, usize>,
}

fn healthy_totals(healthy: &[Healthy]) -> HealthyTotals {
    let mut t = HealthyTotals {
        events: 0,
        gaps: 0,
        missing: 0,
        reordered: 0,
        failed: BTreeMap::new(),
        ended: BTreeMap::new(),
    };
    for h in healthy {
        t.events += h.events;
        t.gaps += h.gaps;
        t.missing += h.missing;
        t.reordered += h.reordered;
        if let Some(e) = &h.failed {
            *t.failed.entry(e.clone()).or_default() += 1;
        }
        if let Some(e) = &h.ended {
            *t.ended.entry(e.clone()).or_default() += 1;
        }
    }
    t
}

fn ms(us: Option<u64>) -> Option<f64> {
    us.map(|us| us as f64 / 1000.0)
}

fn to_json(o: &Options, r: &Report) -> serde_json::Value {
    let h = healthy_totals(&r.healthy);
    let spread =
        |v: &[u64]| spread(v).map(|(min, p50, max)| json!({"min": min, "p50": p50, "max": max}));
    json!({
        "url": o.url,
        "mode": match o.mode { Mode::Together => "together", Mode::Staggered => "staggered" },
        "duration_s": o.duration.as_secs_f64(),
        "stalled": {
            "requested": o.stalled,
            "established": r.established,
            "failed": r.failures,
            "ended_before_stall": r.ended_before_stall,
        },
        "resume": {
            "note": r.resume_note,
            "resumed": r.resumed,
            "replayed_from_id": r.replayed,
            "max_depth_events": r.resume_depth,
        },
        "server_rss_kib": {
            "before": r.before.rss_kib,
            "healthy": r.with_healthy.rss_kib,
            "peak": r.samples.peak.rss_kib.max(r.end.rss_kib),
            "end": r.end.rss_kib,
            "per_stalled_above_healthy": per_stalled(
                r.samples.peak.rss_kib.max(r.end.rss_kib),
                r.with_healthy.rss_kib,
                r.established,
            ),
        },
        "tcp_mem_kib": {
            "before": r.before.tcp_mem_kib,
            "healthy": r.with_healthy.tcp_mem_kib,
            "peak": r.samples.peak.tcp_mem_kib,
            "end": r.end.tcp_mem_kib,
        },
        "tcp_orphans": {
            "before": r.before.orphans,
            "peak": r.samples.peak.orphans,
            "end": r.end.orphans,
        },
        "server_send_queues_kib": {
            "peak": r.samples.send_queue_peak.map(|b| b / 1024),
            "end": r.samples.send_queue_end.map(|b| b / 1024),
        },
        "closes": {
            "stalled": r.established,
            "server_closed": r.server_closes.len(),
            "server_close_after_stall_s": spread(&r.server_closes),
            "server_socket_gone": r.server_gone,
            "server_open_at_end": r.server_open,
            "server_side_not_found": r.server_unseen,
            "client_saw_error": r.resets.len(),
            "client_error_after_stall_s": spread(&r.resets),
            "client_errors": r.close_errors,
            "not_reset_at_end": r.at_end,
        },
        "healthy": {
            "readers": o.healthy,
            "events": h.events,
            "gaps": h.gaps,
            "missing": h.missing,
            "reordered": h.reordered,
            "latency_ms": {
                "p50": ms(r.latency.quantile(0.5)),
                "p99": ms(r.latency.quantile(0.99)),
                "max": ms((r.latency.total > 0).then_some(r.latency.max)),
            },
            "failed": h.failed,
            "ended_early": h.ended,
        },
    })
}

fn print_summary(o: &Options, r: &Report) {
    let kib =
        |v: Option<u64>| v.map_or("-".to_string(), |v| format!("{:.1} MiB", v as f64 / 1024.0));
    let mode = match o.mode {
        Mode::Together => "together",
        Mode::Staggered => "staggered",
    };
    println!(
        "stalls: {} stalled ({mode}) and {} healthy readers on {}, {:.0} s after the last stall",
        o.stalled,
        o.healthy,
        o.url,
        o.duration.as_secs_f64()
    );
    println!(
        "stalled: {} stopped reading, failed {:?}, ended before stalling {:?}",
        r.established, r.failures, r.ended_before_stall
    );
    if let Some(note) = &r.resume_note {
        println!("resume: {note}");
    } else if r.resumed > 0 {
        println!(
            "resume: {} resumed up to {} events back, {} replayed from the event after their id",
            r.resumed,
            r.resume_depth.unwrap_or(0),
            r.replayed
        );
    }
    let peak_rss = r.samples.peak.rss_kib.max(r.end.rss_kib);
    if o.server_pid.is_some() {
        println!(
            "server RSS: before {}, healthy only {}, peak {}, end {}: {} KiB per stalled connection above the healthy baseline",
            kib(r.before.rss_kib),
            kib(r.with_healthy.rss_kib),
            kib(peak_rss),
            kib(r.end.rss_kib),
            per_stalled(peak_rss, r.with_healthy.rss_kib, r.established)
                .map_or("-".into(), |k| format!("{k:.1}")),
        );
    }
    println!(
        "TCP memory (both ends): before {}, healthy only {}, peak {}, end {}; orphans before {}, peak {}, end {}",
        kib(r.before.tcp_mem_kib),
        kib(r.with_healthy.tcp_mem_kib),
        kib(r.samples.peak.tcp_mem_kib),
        kib(r.end.tcp_mem_kib),
        r.before.orphans.unwrap_or(0),
        r.samples.peak.orphans.unwrap_or(0),
        r.end.orphans.unwrap_or(0),
    );
    println!(
        "server send queues of the stalled connections: peak {}, end {}",
        kib(r.samples.send_queue_peak.map(|b| b / 1024)),
        kib(r.samples.send_queue_end.map(|b| b / 1024)),
    );
    let spread = |v: &[u64]| {
        spread(v).map_or("-".into(), |(min, p50, max)| {
            format!("min {min:.2} s, p50 {p50:.2} s, max {max:.2} s")
        })
    };
    println!(
        "closes: server closed {} of {} ({} after stalling), its socket gone {}, still open {}, not found {}",
        r.server_closes.len(),
        r.established,
        spread(&r.server_closes),
        r.server_gone,
        r.server_open,
        r.server_unseen,
    );
    println!(
        "        client saw a reset or error on {} ({} after stalling) {:?}",
        r.resets.len(),
        spread(&r.resets),
        r.close_errors,
    );
    if !r.at_end.is_empty() {
        println!("        not reset, read out after the run: {:?}", r.at_end);
    }
    let h = healthy_totals(&r.healthy);
    let lat = |q: f64| ms(r.latency.quantile(q)).map_or("-".into(), |v| format!("{v:.1} ms"));
    println!(
        "healthy: {} events, {} gaps ({} missing, {} reordered), latency p50 {}, p99 {}, max {}; failed {:?}, ended early {:?}",
        h.events,
        h.gaps,
        h.missing,
        h.reordered,
        lat(0.5),
        lat(0.99),
        ms((r.latency.total > 0).then_some(r.latency.max))
            .map_or("-".into(), |v| format!("{v:.1} ms")),
        h.failed,
        h.ended,
    );
}
