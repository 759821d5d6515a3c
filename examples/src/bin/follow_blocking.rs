//! Reads a live event stream from a synchronous program: a blocking HTTP
//! client (ureq) and `sse::read_blocking`, no async runtime at all.
//!
//! ```text
//! cargo run -p sse-examples --bin demo                 # a live feed, in one terminal
//! cargo run -p sse-examples --bin follow_blocking      # prints its events
//! cargo run -p sse-examples --bin follow_blocking -- http://127.0.0.1:8080/events --max 5
//! ```
//!
//! It reads one response, with no reconnection: when the server ends the
//! stream, it says whether the last event was cut off, and exits.

const USAGE: &str = "\
USAGE: follow_blocking [URL] [--max N]

  URL       the event stream              [default http://127.0.0.1:8080/events]
  --max N   stop after N events           [default: at the end of the stream]
";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut url = "http://127.0.0.1:8080/events".to_owned();
    let mut max = usize::MAX;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            "--max" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => max = n,
                None => {
                    eprintln!("follow_blocking: --max needs a number\n{USAGE}");
                    std::process::exit(2);
                }
            },
            other if other.starts_with('-') => {
                eprintln!("follow_blocking: unknown option {other}\n{USAGE}");
                std::process::exit(2);
            }
            other => url = other.to_owned(),
        }
    }

    let response = ureq::get(&url)
        .header("accept", "text/event-stream")
        .call()?;
    let mut events = sse::read_blocking(response.into_body().into_reader());
    for event in events.by_ref().take(max) {
        println!("{}", sse_examples::event_line(&event?));
    }
    if events.is_truncated() {
        println!("-- the stream ended inside an event");
    }
    Ok(())
}
