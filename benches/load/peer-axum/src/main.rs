//! `peer-axum`: axum's `Sse` over `tokio::sync::broadcast`, publishing the
//! load kit's payload at a fixed rate (see the library's docs). Takes the
//! options of the `fanout` example, so that `benches/load/sweep.sh` starts
//! either the same way. Listens on 127.0.0.1 only and exits after
//! `--max-secs`.

use std::time::Duration;

use peer_axum::{App, Config};

const USAGE: &str = "\
peer-axum: the fan-out peer (axum Sse over tokio::sync::broadcast)

USAGE: peer-axum [--port 8081] [--rate 100] [--size 256] [--capacity 1024]
                 [--history 0] [--max-secs 900]

  --port N       listen on 127.0.0.1:N                       [default 8081]
  --rate N       events published per second                [default 100]
  --size N       bytes of the \"pad\" field of each event      [default 256]
  --capacity N   broadcast channel capacity                  [default 1024]
  --history N    keep the last N events and give events IDs, for
                 Last-Event-ID (0: no IDs, as in the README's runs) [default 0]
  --max-secs N   exit after N seconds (bounded runs)         [default 900]
";

struct Opts {
    port: u16,
    config: Config,
    max_secs: u64,
}

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts {
        port: 8081,
        config: Config::default(),
        max_secs: 900,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        if name == "-h" || name == "--help" {
            print!("{USAGE}");
            std::process::exit(0);
        }
        let value = inline
            .or_else(|| args.next())
            .ok_or_else(|| format!("{name} needs a value"))?;
        fn num<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, String> {
            value
                .parse()
                .map_err(|_| format!("bad value for {name}: {value}"))
        }
        match name.as_str() {
            "--port" => o.port = num(&name, &value)?,
            "--rate" => o.config.rate = num(&name, &value)?,
            "--size" => o.config.size = num(&name, &value)?,
            "--capacity" => o.config.capacity = num(&name, &value)?,
            "--history" => o.config.history = num(&name, &value)?,
            "--max-secs" => o.max_secs = num(&name, &value)?,
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    if !(o.config.rate > 0.0 && o.config.rate <= 1_000_000.0) {
        return Err("--rate must be in (0, 1000000]".into());
    }
    if o.config.capacity == 0 {
        return Err("--capacity must be at least 1".into());
    }
    Ok(o)
}

#[tokio::main]
async fn main() {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("peer-axum: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let app = App::new(&o.config);
    tokio::spawn(app.clone().publisher(o.config.rate, o.config.size));
    let log = app.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        tick.tick().await;
        loop {
            tick.tick().await;
            eprintln!(
                "peer-axum: subscribers={} published={} lagged_events={}",
                log.subscribers(),
                log.published(),
                log.lagged()
            );
        }
    });
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", o.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("peer-axum: bind 127.0.0.1:{}: {e}", o.port);
            std::process::exit(1);
        }
    };
    eprintln!(
        "peer-axum: listening on 127.0.0.1:{} rate={} size={} capacity={} history={} pid={}",
        o.port,
        o.config.rate,
        o.config.size,
        o.config.capacity,
        o.config.history,
        std::process::id()
    );
    tokio::select! {
        served = axum::serve(listener, app.router()) => {
            if let Err(e) = served {
                eprintln!("peer-axum: serve: {e}");
            }
        }
        _ = tokio::time::sleep(Duration::from_secs(o.max_secs)) => {
            eprintln!("peer-axum: --max-secs reached, exiting");
        }
        _ = tokio::signal::ctrl_c() => {}
    }
}
