//! The demo server: a live feed and a chat, in a browser or with `curl -N`.
//!
//! ```text
//! cargo run -p sse-examples --bin demo            # http://127.0.0.1:8080/
//! cargo run -p sse-examples --bin demo -- --port 3000 --tick-ms 250
//! curl -N http://127.0.0.1:8080/events
//! ```
//!
//! Ctrl-C ends every open stream cleanly, then the process.

use sse_examples::demo::Demo;
use std::{net::SocketAddr, time::Duration};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut port = 8080u16;
    let mut tick = Duration::from_secs(1);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or("missing value")?;
        match arg.as_str() {
            "--port" => port = value.parse()?,
            "--tick-ms" => tick = Duration::from_millis(value.parse()?),
            _ => return Err(format!("unknown option {arg} (try --port, --tick-ms)").into()),
        }
    }

    let demo = Demo::new();
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
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
    axum::serve(listener, demo.router())
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            println!("shutting down: closing open streams");
            // Ends every open response, so the graceful shutdown does not
            // wait forever on streams that never end by themselves.
            server.shutdown();
        })
        .await?;
    println!("bye");
    Ok(())
}
