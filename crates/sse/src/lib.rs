// The README's examples use every feature; with fewer, a shorter summary.
#![cfg_attr(
    all(feature = "server", feature = "joe", feature = "client"),
    doc = include_str!("../README.md")
)]
#![cfg_attr(
    not(all(feature = "server", feature = "joe", feature = "client")),
    doc = "Server-Sent Events for Rust: the `sse-codec`, `sse-server`, `sse-joe` and \
           `sse-client` crates behind one name, each behind a feature of the same \
           name (`server`, `joe`, `client`; `json` for JSON data). The codec is \
           always here:\n\n```\nlet mut parser = sse::Parser::new();\n\
           parser.feed(&b\"data: hi\\n\\n\"[..]);\n\
           assert_eq!(parser.next_event()?.unwrap().data(), \"hi\");\n\
           # Ok::<(), sse::ParseError>(())\n```\n\nThe full documentation, with \
           examples of each part, is built with the default features."
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The codec at the root: the parser's entry points (push and pull, raw
// fields, over a `Stream`, over a `std::io::Read`, tokio-util's codec),
// their errors, and the encoder.
#[cfg(feature = "tokio-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio-util")))]
pub use sse_codec::EventCodec;
pub use sse_codec::{
    DEFAULT_MAX_EVENT_SIZE, Encoded, Event, EventId, EventReader, EventStream, EventType, Field,
    FieldParser, InvalidEventId, InvalidEventType, Item, Message, ParseError, Parser, ReadError,
};
// The former name of `ReadError`, so that code using it still compiles.
#[allow(deprecated)]
pub use sse_codec::EventStreamError;

// The provider contract: servers and providers name it from here; its
// module in the codec, `codec::provider`, is where it is explained.
pub use sse_codec::{
    Filter, Provider, ProviderError, Resume, Routing, Start, Subscribed, Subscription, Topic,
};

/// The wire format alone: parser, encoder and the provider contract
/// (the `sse-codec` crate).
///
/// Which parser: [`Parser`] when you push the bytes in yourself (sans-IO),
/// [`FieldParser`] for the raw fields (proxies, tools), [`EventStream`]
/// over a `Stream` of byte chunks, [`EventReader`] over a blocking
/// `std::io::Read` (as [`read_blocking`] does), and `EventCodec` (feature
/// `tokio-util`) for tokio-util's `FramedRead`. The provider contract is
/// explained in [`codec::provider`].
pub mod codec {
    pub use sse_codec::*;
}

/// The SSE endpoint over any [`Provider`] (the `sse-server` crate).
#[cfg(feature = "server")]
pub mod server {
    pub use sse_server::*;
}

/// The in-memory provider and its replayers (the `sse-joe` crate).
#[cfg(feature = "joe")]
pub mod joe {
    pub use sse_joe::*;
}

/// The reconnecting client and one-shot reader (the `sse-client` crate).
#[cfg(feature = "client")]
pub mod client {
    pub use sse_client::*;
}

/// The Redis Streams provider, for several server processes sharing one
/// history (the `sse-redis` crate; feature `redis`).
#[cfg(feature = "redis")]
pub mod redis {
    pub use sse_redis::*;
}

/// The SSE endpoint over a [`Provider`]: [`server::Server`], whose
/// provider is [`Joe`] unless you name another.
///
/// One type under two paths: `sse::Server` is `sse::server::Server`, with
/// Joe as the default where a type is written. So `Server` in a struct
/// field or an axum `State<Server>` is a server over Joe, and
/// `Server::new(provider)` and `Server::builder(provider)` take any
/// provider (Joe, `Redis`, your own) and give a server
/// over it. Everything is [`sse_server::Server`]'s: `publish`, `respond`,
/// `shutdown`, `provider`, and the tower `Service` that mounts it.
///
/// `Server::default()` alone cannot tell which provider is meant (Rust
/// does not use a type's default parameter to infer a call's): write
/// `Server::new(Joe::new())`, or name the type,
/// `let server: Server = Server::default();`.
///
/// # Examples
///
/// ```
/// use sse::{Joe, Message, Server, Topic};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = Server::new(Joe::new());
/// let app: axum::Router = axum::Router::new().route_service("/events", server.clone());
/// # drop(app);
/// server.publish(Message::new().data("hello"), &[Topic::DEFAULT]).await?;
/// assert_eq!(server.provider().stats().published, 1);
/// # Ok(())
/// # }
/// ```
#[cfg(all(feature = "server", feature = "joe"))]
pub type Server<P = sse_joe::Joe> = sse_server::Server<P>;

/// Configures a [`Server`]; from `Server::builder(provider)`. Joe is the
/// default provider where the type is written.
#[cfg(all(feature = "server", feature = "joe"))]
pub type ServerBuilder<P = sse_joe::Joe> = sse_server::Builder<P>;

#[cfg(all(feature = "server", not(feature = "joe")))]
pub use sse_server::{Builder as ServerBuilder, Server};

#[cfg(feature = "server")]
pub use sse_server::{ConnectionLimits, StreamResponse};

#[cfg(feature = "joe")]
pub use sse_joe::{FiniteReplayer, Joe, ValidReplayer};

#[cfg(feature = "client")]
pub use sse_client::{Client, ClientBuilder, Connection, Update, read, read_stream};

#[cfg(feature = "redis")]
pub use sse_redis::Redis;

/// Reads the events of an event stream from any [`std::io::Read`], as a
/// blocking [`Iterator`]: [`EventReader::new`](sse_codec::EventReader::new)
/// (the codec's, so no runtime and no HTTP client of ours is involved).
///
/// For a synchronous program: a CLI with a blocking HTTP client, a test
/// reading a recorded stream from a file. The end of input is a clean end
/// ([`EventReader::is_truncated`](sse_codec::EventReader::is_truncated)
/// tells an event cut off by it); a failed read is the last item.
///
/// # Examples
///
/// ```
/// let recorded = "data: Hel\n\ndata: lo\n\n";
/// let mut text = String::new();
/// for event in sse::read_blocking(recorded.as_bytes()) {
///     text.push_str(event?.data());
/// }
/// assert_eq!(text, "Hello");
/// # Ok::<(), sse::ReadError<std::io::Error>>(())
/// ```
pub fn read_blocking<R: std::io::Read>(reader: R) -> sse_codec::EventReader<R> {
    sse_codec::EventReader::new(reader)
}

/// The repository README's examples, compiled and run as doc tests (they
/// use every feature).
#[cfg(all(
    doctest,
    feature = "server",
    feature = "joe",
    feature = "client",
    feature = "axum",
    feature = "redis"
))]
#[doc = include_str!("../../../README.md")]
struct RepositoryReadme;
