//! The demo server: a live feed and a chat, in a browser or with `curl -N`.
//!
//! ```text
//! cargo run -p sse-examples --bin demo            # http://127.0.0.1:8080/
//! cargo run -p sse-examples --bin demo -- --port 3000 --tick-ms 250
//! curl -N http://127.0.0.1:8080/events
//! ```
//!
//! Connections get `ConnectionLimits` (a reader that takes no byte for 30 s
//! and a request head not sent within 30 s are cut). Ctrl-C ends every
//! open stream cleanly, waits at most five seconds for the connections to
//! close, then exits.

use sse::server::ConnectionLimits;
use sse_examples::{SHUTDOWN_DEADLINE, demo::Demo};
use std::{net::SocketAddr, time::Duration};

const USAGE: &str = "\
USAGE: demo [--port N] [--tick-ms MS]

  --port N       listen on 127.0.0.1:N (0 picks a free port)  [default 8080]
  --tick-ms MS   publish a feed tick every MS milliseconds     [default 1000]
";

/// The port and tick interval, or `None` for `--help`.
fn parse_args() -> Result<Option<(u16, Duration)>, String> {
    let mut port = 8080u16;
    let mut tick = Duration::from_secs(1);
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
            _ => return Err(format!("unknown option {arg}")),
        }
    }
    Ok(Some((port, tick)))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (port, tick) = match parse_args() {
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

    let demo = Demo::new();
    let tcp = match tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await {
        Ok(tcp) => tcp,
        Err(error) => {
            eprintln!("demo: cannot listen on 127.0.0.1:{port}: {error}");
            if error.kind() == std::io::ErrorKind::AddrInUse {
                eprintln!("demo: another program uses that port; pick one with --port N");
            }
            std::process::exit(1);
        }
    };
    let listener = ConnectionLimits::new().listen(tcp);
    println!(
        "sse demo: open http://{}/ in a browser",
        listener.local_addr()?
    );
    println!(
        "          or: curl -N http://{}/events",
        listener.local_addr()?
    );
    tokio::spawn(demo.clone().run_feed(tick));

    let server = demo.server().clone();
    let closed = sse_examples::serve_until_ctrl_c(listener, demo.router(), move || {
        println!("shutting down: closing open streams");
        // Ends every open response, so the graceful shutdown does not wait
        // forever on streams that never end by themselves.
        server.shutdown();
    })
    .await?;
    if closed {
        println!("bye");
    } else {
        println!("bye (connections still open after {SHUTDOWN_DEADLINE:?} were cut)");
    }
    Ok(())
}
