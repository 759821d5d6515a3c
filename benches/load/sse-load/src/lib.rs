//! `sse-load`: a load client for SSE fan-out servers, the one behind the
//! README's fan-out figures.
//!
//! It opens N connections on raw tokio `TcpStream`s (one task and an 8 KiB
//! buffer each, no HTTP client: it measures the server, not itself), sends
//! `GET` with `Accept: text/event-stream`, and reads chunked or
//! close-delimited bodies with a scanner of its own ([`scan`]). Every
//! event's data follows the payload contract `{"t":<unix ns>,"seq":<n>,...}`
//! ([`seq`]): latency is the client's clock at receipt minus `t`, and each
//! connection's `seq` must go up by one. The run is bounded: ramp, warmup,
//! the measurement window, then at most `drain` seconds for the connections
//! to receive what was published up to the window's end ([`run::run`]).
//!
//! Only loopback servers are loaded ([`http::Target::parse`]). The same
//! package has `post-updates`, the driver that publishes to a hub over HTTP
//! ([`post`]).

pub mod hist;
pub mod http;
pub mod post;
pub mod procfs;
pub mod run;
pub mod scan;
pub mod seq;

pub use run::{Config, Report, USAGE, run};
