//! Mounting the SSE endpoint in an axum application, next to other routes:
//! the whole endpoint as a service, and a handler that picks the topic of
//! each request from its path.
//!
//! ```text
//! cargo run -p sse-examples --bin mount_axum     # then: curl -N http://127.0.0.1:8081/events
//!                                                # or:   curl -N http://127.0.0.1:8081/rooms/blue/events
//! cargo run -p sse-examples --bin mount_axum -- --port 0
//! ```
//!
//! The server publishes the time every half second to everyone, and to
//! the rooms `red` and `blue` in turn. Connections get `ConnectionLimits`:
//! `axum::serve` takes the `LimitedListener` as it is. Ctrl-C ends open
//! streams, waits at most five seconds for their connections, then exits.

use axum::{
    Router,
    extract::{Path, Request, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use sse::{ConnectionLimits, Joe, Message, Server, Topic};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const USAGE: &str = "USAGE: mount_axum [--port N]   (default 8081; 0 picks a free port)\n";

/// The rooms a client may follow at `/rooms/{room}/events`.
const ROOMS: [&str; 2] = ["red", "blue"];

/// A room's events: the topic comes from the path, checked here like any
/// other input, and `Server::respond` streams it.
async fn room(
    State(server): State<Server>,
    Path(room): Path<String>,
    request: Request,
) -> Response {
    if !ROOMS.contains(&room.as_str()) {
        return (StatusCode::NOT_FOUND, "no such room\n").into_response();
    }
    server
        .respond(request, [Topic::from(format!("room/{room}"))])
        .await
        .into_response()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = sse_examples::port_or_exit("mount_axum", 8081, USAGE);

    let server = Server::new(Joe::new());
    let app = Router::new()
        .route(
            "/",
            get(|| async { "SSE at /events, and per room at /rooms/{red,blue}/events\n" }),
        )
        .route_service("/events", server.clone())
        .route("/rooms/{room}/events", get(room))
        .with_state(server.clone());

    let publisher = server.clone();
    tokio::spawn(async move {
        let mut timer = tokio::time::interval(Duration::from_millis(500));
        for tick in 0usize.. {
            timer.tick().await;
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            let time = format!("unix time {:.1}", now.as_secs_f64());
            let room = ROOMS[tick % ROOMS.len()];
            let everyone = Message::new().data(&time);
            let in_room = Message::new().data(format!("{room}: {time}"));
            let room = Topic::from(format!("room/{room}"));
            if publisher
                .publish(everyone, &[Topic::DEFAULT])
                .await
                .is_err()
                || publisher.publish(in_room, &[room]).await.is_err()
            {
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
