//! The publishing driver, `post-updates`: POSTs form-encoded updates at a
//! fixed rate to a Mercure hub (or any endpoint that takes a form `POST`),
//! with a bearer token, each stamped with the payload contract
//! (`{"t":<unix ns>,"seq":<n>,"pad":"..."}`, [`crate::seq`]) so that
//! `sse-load` measures their delivery, and records each POST's latency.
//!
//! One keep-alive HTTP/1.1 connection, its POSTs pipelined: each is sent
//! when it is due, without waiting for the answers before it, which come
//! back in order. So updates reach the hub in `seq` order (concurrent
//! connections would be dispatched in any order, which a reader counts as
//! reordered), and a slow answer does not hold back the rate.

use crate::http::Target;
use std::{
    fmt, io,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpStream, tcp::OwnedReadHalf},
    sync::mpsc,
};

/// The options, as `post-updates --help` prints them.
pub const POST_USAGE: &str = "\
post-updates: POSTs form-encoded updates at a fixed rate, stamped for sse-load

USAGE: post-updates --url http://127.0.0.1:PORT/PATH --token JWT [--topic /load]
                    [--rate 100] [--duration 10] [--size 256] [--timeout 10] [--json]

  --url URL        the endpoint (loopback only), e.g. a hub's /.well-known/mercure
  --token JWT      sent as `Authorization: Bearer JWT`
  --topic T        the update's `topic` field                [default /load]
  --rate N         updates per second                        [default 100]
  --duration S     seconds of publishing                     [default 10]
  --size N         bytes of the \"pad\" field                  [default 256]
  --timeout S      seconds for the connection, and for each answer after
                   its POST, before the run fails            [default 10]
  --json           one JSON object on stdout
";

/// What to publish, where, how fast.
#[derive(Clone, Debug)]
pub struct PostConfig {
    /// The endpoint.
    pub target: Target,
    /// The bearer token.
    pub token: String,
    /// The `topic` field of every update.
    pub topic: String,
    /// Updates per second.
    pub rate: f64,
    /// Seconds of publishing.
    pub duration: f64,
    /// Bytes of the payload's `pad`.
    pub size: usize,
    /// How long connecting, each write, and each answer after its POST may
    /// take before the run fails: a hub that stops answering ends it.
    pub timeout: Duration,
    /// JSON output.
    pub json: bool,
}

impl PostConfig {
    /// The options from the command line's arguments (without the
    /// program's name).
    ///
    /// # Errors
    ///
    /// What is wrong with them, or the usage for `--help`.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<PostConfig, String> {
        let (mut url, mut token) = (None, None);
        let (mut topic, mut rate, mut duration, mut size, mut json) =
            ("/load".to_owned(), 100.0, 10.0, 256, false);
        let mut timeout = 10.0;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or(format!("{arg} needs a value"));
            match arg.as_str() {
                "--url" => url = Some(value()?),
                "--token" => token = Some(value()?),
                "--topic" => topic = value()?,
                "--rate" => rate = value()?.parse().map_err(|e| format!("--rate: {e}"))?,
                "--duration" => {
                    duration = value()?.parse().map_err(|e| format!("--duration: {e}"))?;
                }
                "--size" => size = value()?.parse().map_err(|e| format!("--size: {e}"))?,
                "--timeout" => {
                    timeout = value()?.parse().map_err(|e| format!("--timeout: {e}"))?;
                }
                "--json" => json = true,
                "-h" | "--help" => return Err(POST_USAGE.into()),
                other => return Err(format!("unknown argument {other}\n{POST_USAGE}")),
            }
        }
        let target = Target::parse(&url.ok_or("--url is required")?)?;
        let token = token.ok_or("--token is required")?;
        if !(rate > 0.0 && duration > 0.0 && timeout > 0.0) {
            return Err("--rate, --duration and --timeout must be positive".into());
        }
        let timeout =
            Duration::try_from_secs_f64(timeout).map_err(|e| format!("--timeout: {e}"))?;
        Ok(PostConfig {
            target,
            token,
            topic,
            rate,
            duration,
            size,
            timeout,
            json,
        })
    }
}

/// What a run of [`post`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct PostReport {
    /// Updates answered `200`.
    pub posted: u64,
    /// Updates answered otherwise.
    pub failed: u64,
    /// Updates answered `200` per second of the run.
    pub rate: f64,
    /// POST latencies (sent to answered), in milliseconds.
    pub p50_ms: f64,
    /// The 99th percentile.
    pub p99_ms: f64,
    /// The slowest.
    pub max_ms: f64,
    /// The first status other than `200`, if any.
    pub first_failure: Option<u16>,
}

impl PostReport {
    /// The report as one JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "posted": self.posted,
            "failed": self.failed,
            "rate": self.rate,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
            "first_failure": self.first_failure,
        })
    }
}

impl fmt::Display for PostReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "posted {} ({} failed) at {:.1}/s; POST latency p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
            self.posted, self.failed, self.rate, self.p50_ms, self.p99_ms, self.max_ms
        )?;
        match self.first_failure {
            Some(status) => write!(f, "; the first failure was answered {status}"),
            None => Ok(()),
        }
    }
}

/// `value` percent-encoded for a form.
pub fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3 / 2);
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(byte as char);
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Reads one answer: its status (the body is skipped).
async fn answer(stream: &mut BufReader<OwnedReadHalf>) -> io::Result<u16> {
    let mut line = String::new();
    if stream.read_line(&mut line).await? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("no status line: {line:?}")))?;
    let mut length = 0;
    loop {
        line.clear();
        if stream.read_line(&mut line).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await?;
    Ok(status)
}

fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[at].as_secs_f64() * 1000.0
}

/// Publishes `rate × duration` updates, each when it is due, and waits for
/// every answer.
///
/// # Errors
///
/// The connection's: it could not be made, or it failed or closed before
/// every answer came; or [`TimedOut`](io::ErrorKind::TimedOut) when
/// connecting, a write, or an answer after its POST took longer than the
/// config's `timeout`.
pub async fn post(config: &PostConfig) -> io::Result<PostReport> {
    let limit = config.timeout;
    let timed_out = |what: String| io::Error::new(io::ErrorKind::TimedOut, what);
    let stream = tokio::time::timeout(limit, TcpStream::connect(config.target.addr))
        .await
        .map_err(|_| timed_out(format!("no connection within {limit:?}")))??;
    stream.set_nodelay(true)?;
    let (reader, mut writer) = stream.into_split();
    let pad = "x".repeat(config.size);
    let topic = form_encode(&config.topic);
    let interval = Duration::from_secs_f64(1.0 / config.rate);
    let total = (config.rate * config.duration).round() as u64;
    // When each POST still unanswered was sent, oldest first: answers come
    // in the order of the requests.
    let (sent_tx, mut sent_rx) = mpsc::unbounded_channel::<Instant>();
    let answers = tokio::spawn(async move {
        let mut reader = BufReader::new(reader);
        let (mut latencies, mut failed, mut first_failure) = (Vec::new(), 0u64, None);
        let mut seq = 0u64;
        while let Some(sent) = sent_rx.recv().await {
            seq += 1;
            let answered = tokio::time::timeout_at((sent + limit).into(), answer(&mut reader));
            let status = answered.await.map_err(|_| {
                timed_out(format!(
                    "no answer to update {seq} within {limit:?} of its POST \
                     (whether the hub published it, and those sent after it, is unknown)"
                ))
            })??;
            match status {
                200 => latencies.push(sent.elapsed()),
                status => {
                    failed += 1;
                    first_failure.get_or_insert(status);
                }
            }
        }
        Ok::<_, io::Error>((latencies, failed, first_failure))
    });
    let started = Instant::now();
    for seq in 1..=total {
        let due = started + interval.mul_f64((seq - 1) as f64);
        tokio::time::sleep_until(due.into()).await;
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(io::Error::other)?
            .as_nanos();
        let data = format!(r#"{{"t":{t},"seq":{seq},"pad":"{pad}"}}"#);
        let body = format!("topic={topic}&data={}", form_encode(&data));
        let request = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            config.target.path,
            config.target.authority,
            config.token,
            body.len()
        );
        if sent_tx.send(Instant::now()).is_err() {
            // The answers ended (an error, said below): no use posting on.
            break;
        }
        tokio::time::timeout(limit, writer.write_all(request.as_bytes()))
            .await
            .map_err(|_| {
                timed_out(format!(
                    "update {seq} not taken within {limit:?} (the hub stopped reading; \
                     whether it got what was written is unknown)"
                ))
            })??;
    }
    drop(sent_tx);
    let (mut latencies, failed, first_failure) = answers.await.map_err(io::Error::other)??;
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    Ok(PostReport {
        posted: latencies.len() as u64,
        failed,
        rate: latencies.len() as f64 / elapsed,
        p50_ms: percentile_ms(&latencies, 0.50),
        p99_ms: percentile_ms(&latencies, 0.99),
        max_ms: latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        first_failure,
    })
}
