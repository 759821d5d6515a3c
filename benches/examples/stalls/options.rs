//! The command line: the options, their defaults and their parsing.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

pub(crate) const USAGE: &str = "\
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

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Together,
    Staggered,
}

pub(crate) struct Options {
    pub(crate) url: String,
    pub(crate) addr: SocketAddr,
    pub(crate) authority: String,
    pub(crate) path: String,
    pub(crate) stalled: usize,
    pub(crate) mode: Mode,
    pub(crate) every: (u64, u64),
    pub(crate) read_for: (u64, u64),
    pub(crate) resume_fraction: f64,
    pub(crate) resume_depth: usize,
    pub(crate) healthy: usize,
    pub(crate) duration: Duration,
    pub(crate) warmup: Duration,
    pub(crate) server_pid: Option<u32>,
    pub(crate) json: bool,
}

pub(crate) fn options() -> Result<Options, String> {
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
