//! Mounting the SSE endpoint in an axum application, next to other routes.
//!
//! ```text
//! cargo run -p sse-examples --bin mount_axum     # then: curl -N http://127.0.0.1:8081/events
//! cargo run -p sse-examples --bin mount_axum -- --port 0
//! ```
//!
//! The server publishes the time every half second. Connections get
//! `ConnectionLimits`: `axum::serve` takes the `LimitedListener` as it is.
//! Ctrl-C ends open streams, waits at most five seconds for their
//! connections, then exits.

use axum::{Router, routing::get};
use sse::{Message, Server, Topic, server::ConnectionLimits};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const USAGE: &str = "USAGE: mount_axum [--port N]   (default 8081; 0 picks a free port)\n";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = sse_examples::port_or_exit("mount_axum", 8081, USAGE);

    let server = Server::default();
    let app = Router::new()
        .route("/", get(|| async { "SSE at /events\n" }))
        .route_service("/events", server.clone());

    let publisher = server.clone();
    tokio::spawn(async move {
        let mut timer = tokio::time::interval(Duration::from_millis(500));
        loop {
            timer.tick().await;
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            let message = Message::new().data(format!("unix time {:.1}", now.as_secs_f64()));
            if publisher.publish(message, &[Topic::DEFAULT]).await.is_err() {
                return;
            }
        }
    });

    let tcp = sse_examples::bind_or_exit("mount_axum", port).await;
    println!("listening on http://{}/events", tcp.local_addr()?);
    let listener = ConnectionLimits::new().listen(tcp);
    let closed = sse_examples::serve_until_ctrl_c(listener, app, move || server.shutdown()).await?;
    println!(
        "{}",
        if closed {
            "bye"
        } else {
            "bye (some connections cut)"
        }
    );
    Ok(())
}
