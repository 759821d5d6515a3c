//! A publishing driver for a Mercure hub (or any endpoint that takes a
//! form `POST`): POSTs updates at a fixed rate over one keep-alive HTTP/1.1
//! connection, stamping each with the load kit's payload contract
//! (`{"t":<unix ns>,"seq":<n>,"pad":"..."}`, so that `sse-load` measures
//! their delivery), and reports each POST's latency.
//!
//! ```text
//! cargo build --release -p sse-benches --example post_updates
//! target/release/examples/post_updates --url http://127.0.0.1:3000/.well-known/mercure \
//!     --token <publisher JWT> --topic /load --rate 1000 --duration 20 [--size 256] [--json]
//! ```
//!
//! One connection, its POSTs pipelined: each is sent when it is due,
//! without waiting for the answers before it, which come back in order.
//! So updates reach the hub in `seq` order (concurrent connections would
//! be dispatched in any order, which a reader would count as reordered),
//! and a slow answer does not hold back the rate.

use std::{
    io,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::{TcpStream, tcp::OwnedReadHalf},
};

const USAGE: &str = "USAGE: post_updates --url http://127.0.0.1:PORT/PATH --token JWT \
--topic TOPIC --rate N --duration SECS [--size BYTES] [--json]";

struct Options {
    authority: String,
    path: String,
    token: String,
    topic: String,
    rate: f64,
    duration: f64,
    size: usize,
    json: bool,
}

fn options() -> Result<Options, String> {
    let mut url = None;
    let mut options = Options {
        authority: String::new(),
        path: String::new(),
        token: String::new(),
        topic: "/load".into(),
        rate: 100.0,
        duration: 10.0,
        size: 256,
        json: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--url" => url = Some(value()?),
            "--token" => options.token = value()?,
            "--topic" => options.topic = value()?,
            "--rate" => options.rate = value()?.parse().map_err(|e| format!("--rate: {e}"))?,
            "--duration" => {
                options.duration = value()?.parse().map_err(|e| format!("--duration: {e}"))?;
            }
            "--size" => options.size = value()?.parse().map_err(|e| format!("--size: {e}"))?,
            "--json" => options.json = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let url = url.ok_or(USAGE)?;
    let rest = url
        .strip_prefix("http://")
        .ok_or("only http:// URLs (a local hub)")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    options.authority = authority.to_owned();
    options.path = if path.is_empty() {
        "/".into()
    } else {
        path.into()
    };
    if !(options.rate > 0.0 && options.duration > 0.0) {
        return Err("--rate and --duration must be positive".into());
    }
    Ok(options)
}

/// `value` percent-encoded for a form.
fn form_encode(value: &str) -> String {
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
        stream.read_line(&mut line).await?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await?;
    Ok(status)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let at = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[at].as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let stream = TcpStream::connect(&options.authority).await?;
    stream.set_nodelay(true)?;
    let (reader, mut writer) = stream.into_split();
    let pad = "x".repeat(options.size);
    let topic = form_encode(&options.topic);
    let interval = Duration::from_secs_f64(1.0 / options.rate);
    let total = (options.rate * options.duration).round() as u64;
    // When each POST still unanswered was sent, oldest first: answers come
    // in the order of the requests.
    let (sent_tx, mut sent_rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let answers = tokio::spawn(async move {
        let mut reader = BufReader::new(reader);
        let (mut latencies, mut failed) = (Vec::with_capacity(total as usize), 0u64);
        while let Some(sent) = sent_rx.recv().await {
            match answer(&mut reader).await? {
                200 => latencies.push(sent.elapsed()),
                status => {
                    failed += 1;
                    eprintln!("POST answered {status}");
                }
            }
        }
        Ok::<_, io::Error>((latencies, failed))
    });
    let started = Instant::now();
    for seq in 1..=total {
        let due = started + interval.mul_f64((seq - 1) as f64);
        tokio::time::sleep_until(due.into()).await;
        let t = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos();
        let data = format!(r#"{{"t":{t},"seq":{seq},"pad":"{pad}"}}"#);
        let body = format!("topic={topic}&data={}", form_encode(&data));
        let request = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
            options.path,
            options.authority,
            options.token,
            body.len()
        );
        let _ = sent_tx.send(Instant::now());
        writer.write_all(request.as_bytes()).await?;
    }
    drop(sent_tx);
    let (mut latencies, failed) = answers.await??;
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let (p50, p99, max) = (
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0),
    );
    let rate = latencies.len() as f64 / elapsed;
    if options.json {
        println!(
            "{{\"posted\":{},\"failed\":{failed},\"rate\":{rate:.1},\"p50_ms\":{p50:.3},\"p99_ms\":{p99:.3},\"max_ms\":{max:.3}}}",
            latencies.len()
        );
    } else {
        println!(
            "posted {} ({failed} failed) at {rate:.1}/s; POST latency p50 {p50:.3} ms, p99 {p99:.3} ms, max {max:.3} ms",
            latencies.len()
        );
    }
    Ok(())
}
