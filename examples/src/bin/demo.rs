//! The demo server: a live feed and a chat, in a browser or with `curl -N`.
//!
//! ```text
//! cargo run -p sse-examples --bin demo            # http://127.0.0.1:8080/
//! cargo run -p sse-examples --bin demo -- --port 3000 --tick-ms 250
//! curl -N http://127.0.0.1:8080/events
//! ```
//!
//! With `--redis redis://127.0.0.1:6379`, the feed, the chat and their
//! history live in a Redis stream: several demo processes on several ports
//! share them, and a page resumes on whichever one it reconnects to.
//!
//! It speaks HTTP/1.1 and HTTP/2 (`curl --http2-prior-knowledge`); with
//! `--tls-cert cert.pem --tls-key key.pem` it serves HTTPS, where browsers
//! use HTTP/2 and so open any number of event streams to it (over HTTP/1.1
//! they stop at six per site).
//!
//! Connections get `ConnectionLimits` (a reader that takes no byte for 30 s
//! and a request head not sent within 30 s are cut). Ctrl-C ends every
//! open stream cleanly, waits at most five seconds for the connections to
//! close, then exits.

use sse::server::ConnectionLimits;
use sse_examples::{
    SHUTDOWN_DEADLINE,
    demo::{Backend, Demo, HISTORY},
    tls,
};
use std::{path::PathBuf, time::Duration};

const USAGE: &str = "\
USAGE: demo [--port N] [--tick-ms MS] [--redis URL] [--tls-cert PEM --tls-key PEM]
            [--wasm-dir DIR]

  --port N       listen on 127.0.0.1:N (0 picks a free port)  [default 8080]
  --tick-ms MS   publish a feed tick every MS milliseconds     [default 1000]
  --redis URL    share events and history with other demo processes
                 through Redis (e.g. redis://127.0.0.1:6379)   [default: in
                 this process only]
  --tls-cert PEM serve HTTPS with this certificate chain...
  --tls-key PEM  ...and this private key (both PEM files)
  --wasm-dir DIR serve /wasm/, the feed in WebAssembly, with the module that
                 scripts/wasm-example.sh built in DIR
                 [default: target/wasm-example in the workspace]
";

struct Options {
    port: u16,
    tick: Duration,
    redis: Option<String>,
    tls: Option<(PathBuf, PathBuf)>,
    wasm_dir: Option<PathBuf>,
}

/// The options, or `None` for `--help`.
fn parse_args() -> Result<Option<Options>, String> {
    let mut port = 8080u16;
    let mut tick = Duration::from_secs(1);
    let mut redis = None;
    let (mut cert, mut key) = (None, None);
    let mut wasm_dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(None);
        }
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--port" => port = value.parse().map_err(|_| "--port needs a number")?,
            "--tick-ms" => match value.parse() {
                Ok(ms) if ms > 0 => tick = Duration::from_millis(ms),
                _ => return Err("--tick-ms needs a number above 0".into()),
            },
            "--redis" => redis = Some(value),
            "--tls-cert" => cert = Some(PathBuf::from(value)),
            "--tls-key" => key = Some(PathBuf::from(value)),
            "--wasm-dir" => wasm_dir = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown option {arg}")),
        }
    }
    let tls = match (cert, key) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key go together".into()),
    };
    Ok(Some(Options {
        port,
        tick,
        redis,
        tls,
        wasm_dir,
    }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Options {
        port,
        tick,
        redis,
        tls,
        wasm_dir,
    } = match parse_args() {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{USAGE}");
            return Ok(());
        }
        Err(problem) => {
            eprintln!("demo: {problem}\n\n{USAGE}");
            std::process::exit(2);
        }
    };

    let demo = match redis {
        None => Demo::new(),
        Some(url) => match Backend::redis(&url, HISTORY).await {
            Ok(backend) => {
                println!(
                    "sse demo: events and history in the Redis stream sse-demo:events at {url}"
                );
                Demo::on(backend)
            }
            Err(error) => {
                eprintln!("demo: cannot use Redis at {url}: {error}");
                if let Some(cause) = std::error::Error::source(&error) {
                    eprintln!("demo: {cause}");
                }
                std::process::exit(1);
            }
        },
    };
    let tcp = sse_examples::bind_or_exit("demo", port).await;
    // Processes that share a feed through Redis say whose tick is whose.
    let demo = match demo.server().provider() {
        Backend::Redis(_) => demo.named(&tcp.local_addr()?.to_string()),
        Backend::Joe(_) => demo,
    };
    let demo = match wasm_dir {
        Some(dir) => demo.wasm_dir(dir),
        None => demo,
    };
    let listener = ConnectionLimits::new().listen(tcp);
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("sse demo: open {scheme}://{addr}/ in a browser");
    println!("          or: curl -N {scheme}://{addr}/events");
    println!(
        "          the feed in WebAssembly: {scheme}://{addr}/wasm/ (scripts/wasm-example.sh)"
    );
    tokio::spawn(demo.clone().run_feed(tick));

    let server = demo.server().clone();
    let on_ctrl_c = move || {
        println!("shutting down: closing open streams");
        // Ends every open response, so the graceful shutdown does not wait
        // forever on streams that never end by themselves.
        server.shutdown();
    };
    let closed = match tls {
        None => sse_examples::serve_until_ctrl_c(listener, demo.router(), on_ctrl_c).await?,
        Some((cert, key)) => {
            let config = match tls::config(&cert, &key) {
                Ok(config) => config,
                Err(error) => {
                    eprintln!("demo: cannot use the certificate: {error}");
                    std::process::exit(1);
                }
            };
            let listener = tls::TlsListener::new(listener, config)?;
            sse_examples::serve_until_ctrl_c(listener, demo.router(), on_ctrl_c).await?
        }
    };
    if closed {
        println!("bye");
    } else {
        println!("bye (connections still open after {SHUTDOWN_DEADLINE:?} were cut)");
    }
    Ok(())
}
