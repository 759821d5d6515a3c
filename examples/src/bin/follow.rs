//! Follows a live event feed with a reconnecting `sse_client` connection,
//! printing every event and every change in the connection's life.
//!
//! ```text
//! cargo run -p sse-examples --bin demo       # a live feed on :8080, in one terminal
//! cargo run -p sse-examples --bin follow     # follows http://127.0.0.1:8080/events
//! cargo run -p sse-examples --bin follow -- http://127.0.0.1:3000/events
//! ```
//!
//! Stop and restart the server to watch it reconnect (with backoff, and with
//! `Last-Event-ID` once the feed sent IDs). Ctrl-C closes the connection
//! through a `CloseHandle`; a server answering 204 No Content ends it too.

use futures_util::StreamExt;
use sse_client::{Client, Update};
use std::time::Duration;

const USAGE: &str = "\
USAGE: follow [URL]   (default http://127.0.0.1:8080/events)
";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = match (args.next(), args.next()) {
        (Some(arg), _) if arg == "-h" || arg == "--help" => {
            print!("{USAGE}");
            return Ok(());
        }
        (Some(arg), None) if !arg.starts_with('-') => arg,
        (None, None) => "http://127.0.0.1:8080/events".to_owned(),
        _ => {
            eprintln!("follow: one URL, please\n{USAGE}");
            std::process::exit(2);
        }
    };

    let client = Client::builder()
        .idle_timeout(Some(Duration::from_secs(60)))
        .retry_server_errors(true)
        .retry_too_many_requests(true)
        .max_interval(Duration::from_secs(10))
        .comments(true)
        .build()?;
    let mut connection = client.get(&url);

    let handle = connection.close_handle();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            handle.close();
        }
    });

    println!("following {url} (Ctrl-C to stop)");
    while let Some(update) = connection.next().await {
        match update {
            Ok(Update::Open(open)) => {
                println!("-- open ({}, {:?})", open.status(), open.version());
            }
            Ok(Update::Event(event)) => println!("{}", sse_examples::event_line(&event)),
            Ok(Update::Comment(text)) => println!("-- comment: {text}"),
            Ok(Update::Retrying(retrying)) => match retrying.error() {
                Some(err) => println!(
                    "-- {}; reconnecting in {:?} (attempt {})",
                    chain(err),
                    retrying.delay(),
                    retrying.attempt()
                ),
                None => println!(
                    "-- the server ended the stream; reconnecting in {:?}",
                    retrying.delay()
                ),
            },
            Ok(Update::Closed) => println!("-- closed"),
            Ok(Update::Skipped(skipped)) => {
                println!("-- skipped an event over {} bytes", skipped.limit());
            }
            Ok(other) => println!("-- {other:?}"),
            Err(err) => {
                eprintln!("-- failed: {}", chain(&err));
                if let Some(body) = err.body() {
                    eprintln!("   {}", String::from_utf8_lossy(body));
                }
                return Err(err.into());
            }
        }
    }
    Ok(())
}

/// An error and its sources, on one line.
fn chain(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut source = err.source();
    while let Some(err) = source {
        line.push_str(": ");
        line.push_str(&err.to_string());
        source = err.source();
    }
    line
}
