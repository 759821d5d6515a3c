//! Serving the SSE endpoint with plain hyper 1 (through hyper-util), no
//! framework: `sse::Server` is a tower `Service`, which hyper-util adapts.
//!
//! ```text
//! cargo run -p sse-examples --bin mount_hyper    # then: curl -N http://127.0.0.1:8082/
//! cargo run -p sse-examples --bin mount_hyper -- --port 0
//! ```
//!
//! The server publishes a counter every half second. Ctrl-C ends open
//! streams, then the process.

use hyper::server::conn::http1;
use hyper_util::{rt::TokioIo, service::TowerToHyperService};
use sse::{Message, Server, Topic};
use std::{net::SocketAddr, time::Duration};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = match std::env::args().skip_while(|a| a != "--port").nth(1) {
        Some(port) => port.parse()?,
        None => 8082,
    };

    let server = Server::new();
    let publisher = server.clone();
    tokio::spawn(async move {
        let mut timer = tokio::time::interval(Duration::from_millis(500));
        for n in 1u64.. {
            timer.tick().await;
            let message = Message::new().data(format!("count {n}"));
            if publisher.publish(message, &[Topic::DEFAULT]).await.is_err() {
                return;
            }
        }
    });

    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!("listening on http://{}/", listener.local_addr()?);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = tokio::signal::ctrl_c() => break,
        };
        let service = TowerToHyperService::new(server.clone());
        tokio::spawn(async move {
            // Every path is the event stream here; route before `server`
            // (or use a framework) to serve more.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
    // Ends every open response; their connections then close.
    server.shutdown();
    println!("bye");
    Ok(())
}
