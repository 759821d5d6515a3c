//! Serving the SSE endpoint with plain hyper 1 (through hyper-util), no
//! framework: `sse::Server` is a tower `Service`, which hyper-util adapts.
//!
//! ```text
//! cargo run -p sse-examples --bin mount_hyper    # then: curl -N http://127.0.0.1:8083/
//! cargo run -p sse-examples --bin mount_hyper -- --port 0
//! ```
//!
//! The server publishes a counter every half second. Connections get
//! `ConnectionLimits` (write-stall and request-head timeouts, a capped send
//! buffer). Ctrl-C ends open streams, waits (up to five seconds) for their
//! connections to close, then exits.

use hyper::server::conn::http1;
use hyper_util::{rt::TokioIo, server::graceful::GracefulShutdown, service::TowerToHyperService};
use sse::{ConnectionLimits, Joe, Message, Server, Topic};
use sse_examples::SHUTDOWN_DEADLINE;
use std::time::Duration;

const USAGE: &str = "USAGE: mount_hyper [--port N]   (default 8083; 0 picks a free port)\n";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = sse_examples::port_or_exit("mount_hyper", 8083, USAGE);

    let server = Server::new(Joe::new());
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

    let tcp = sse_examples::bind_or_exit("mount_hyper", port).await;
    println!("listening on http://{}/", tcp.local_addr()?);
    let listener = ConnectionLimits::new().listen(tcp);
    let graceful = GracefulShutdown::new();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        let io = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((io, _)) => io,
                Err(err) => {
                    // Out of file descriptors, say: keep serving the
                    // others, and do not spin.
                    eprintln!("accept: {err}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut ctrl_c => break,
        };
        // Every path is the event stream here; route before `server` (or
        // use a framework) to serve more.
        let service = TowerToHyperService::new(server.clone());
        let connection = http1::Builder::new().serve_connection(TokioIo::new(io), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
    // Ends every open response, so that their connections can finish.
    server.shutdown();
    tokio::select! {
        () = graceful.shutdown() => println!("bye"),
        () = tokio::time::sleep(SHUTDOWN_DEADLINE) => println!("bye (some connections cut)"),
    }
    Ok(())
}
