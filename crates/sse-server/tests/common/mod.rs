//! Real servers on 127.0.0.1 and a real client, shared by the socket tests.
#![allow(dead_code, unreachable_pub)]

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http::{Request, Response};
use hyper::body::Incoming;
use sse_codec::{Event, Message, Parser, Topic};
use sse_joe::Joe;
use sse_server::{ConnectionLimits, Server};
use std::{convert::Infallible, future::Future, net::SocketAddr, pin::Pin};
use tokio::{
    io::AsyncWriteExt,
    net::{TcpListener, TcpSocket, TcpStream},
};

// Each test binary uses a part of this module: re-exports included.
#[allow(unused_imports)]
pub use sse_testkit::{BOUND, Served, wait_until};

/// What the socket tests serve: a tower service of this crate's responses
/// that never fails, such as a [`Server`](sse_server::Server).
pub trait Endpoint {
    /// Serves on `listener`, whose connections get `limits`.
    fn serve_on(self, listener: TcpListener, limits: ConnectionLimits) -> Served;
}

impl<S> Endpoint for S
where
    S: tower_service::Service<
            Request<Incoming>,
            Response = Response<sse_server::Body>,
            Error = Infallible,
            Future: Send + 'static,
        > + Clone
        + Send
        + 'static,
{
    fn serve_on(self, listener: TcpListener, limits: ConnectionLimits) -> Served {
        sse_testkit::serve(listener, move |tcp| limits.tcp(tcp), self)
    }
}

pub async fn listener(send_buffer: Option<u32>) -> TcpListener {
    let socket = TcpSocket::new_v4().unwrap();
    if let Some(size) = send_buffer {
        // Accepted sockets inherit the listener's send buffer size.
        socket.set_send_buffer_size(size).unwrap();
    }
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    socket.listen(1024).unwrap()
}

/// Serves on a listener of its own with no connection limits.
pub async fn serve(service: impl Endpoint) -> Served {
    serve_on(listener(None).await, service).await
}

/// Serves on `listener` with no connection limits (but through
/// [`LimitedIo`](sse_server::LimitedIo), which then only passes through).
pub async fn serve_on(listener: TcpListener, service: impl Endpoint) -> Served {
    let none = ConnectionLimits::new()
        .write_timeout(None)
        .head_timeout(None)
        .body_timeout(None)
        .idle_timeout(None)
        .send_buffer(None);
    service.serve_on(listener, none)
}

/// Serves on a listener of its own, whose connections get `limits`.
pub async fn serve_with(limits: ConnectionLimits, service: impl Endpoint) -> Served {
    service.serve_on(listener(None).await, limits)
}

/// A whole request for the event stream at `/events`.
pub const GET_EVENTS: &[u8] = b"GET /events HTTP/1.1\r\nhost: x\r\n\r\n";

/// A client that sends `request` and never reads, through a 4 KiB receive
/// buffer so that its socket backs up quickly.
pub async fn stalled(addr: SocketAddr, request: &[u8]) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    stream
}

/// Publishes an event with `data` to [`Topic::DEFAULT`].
pub async fn publish(server: &Server<Joe>, data: impl Into<String>) {
    server
        .publish(Message::new().data(data.into()), &[Topic::DEFAULT])
        .await
        .unwrap();
}

/// An axum app on its own server.
pub async fn serve_axum(router: axum::Router) -> SocketAddr {
    let listener = listener(None).await;
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    addr
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

type ByteStream =
    Pin<Box<dyn Stream<Item = Result<Bytes, Box<dyn std::error::Error + Send + Sync>>> + Send>>;

/// The events of a response body, parsed with `sse_codec::Parser`, plus its
/// raw bytes (for comments, which the parser skips as the spec says).
pub struct Events {
    body: ByteStream,
    parser: Parser,
    pub raw: Vec<u8>,
    ended: Option<Result<(), String>>,
}

impl Events {
    pub fn new(response: reqwest::Response) -> Events {
        Events::from_stream(response.bytes_stream().map(|r| r.map_err(Into::into)))
    }

    /// The events of the response to a `GET` of `url`.
    pub async fn get(url: impl reqwest::IntoUrl) -> Events {
        Events::new(client().get(url).send().await.unwrap())
    }

    pub fn from_stream(
        stream: impl Stream<Item = Result<Bytes, Box<dyn std::error::Error + Send + Sync>>>
        + Send
        + 'static,
    ) -> Events {
        Events {
            body: Box::pin(stream),
            parser: Parser::new(),
            raw: Vec::new(),
            ended: None,
        }
    }

    /// Reads one more chunk; false at the end of the body.
    async fn read(&mut self) -> bool {
        if self.ended.is_some() {
            return false;
        }
        match tokio::time::timeout(BOUND, self.body.next())
            .await
            .expect("no data in time")
        {
            Some(Ok(chunk)) => {
                self.raw.extend_from_slice(&chunk);
                self.parser.feed(chunk);
                true
            }
            Some(Err(error)) => {
                self.ended = Some(Err(format!("{error:?}")));
                self.parser.finish();
                false
            }
            None => {
                self.ended = Some(Ok(()));
                self.parser.finish();
                false
            }
        }
    }

    /// The next event, or `None` at the end of the body.
    pub async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.parser.next_event().unwrap() {
                return Some(event);
            }
            if !self.read().await {
                return self.parser.next_event().unwrap();
            }
        }
    }

    /// The next `n` events' data.
    pub async fn data(&mut self, n: usize) -> Vec<String> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(
                self.next()
                    .await
                    .expect("stream ended early")
                    .data()
                    .to_owned(),
            );
        }
        out
    }

    /// Every remaining event, up to the end of the body.
    pub async fn rest(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        while let Some(event) = self.next().await {
            out.push(event);
        }
        out
    }

    /// How the body ended: `Ok` for a clean end, `Err` for an aborted one.
    /// Reads to the end first.
    pub async fn end(&mut self) -> Result<(), String> {
        while self.read().await {}
        self.ended.clone().unwrap()
    }

    /// Reads until the raw bytes contain `needle`.
    pub async fn raw_until(&mut self, needle: &[u8]) {
        while !self.raw.windows(needle.len()).any(|w| w == needle) {
            assert!(
                self.read().await,
                "body ended before {:?}",
                String::from_utf8_lossy(needle)
            );
        }
    }
}

/// Runs `f` with a bound ([`sse_testkit::bounded`], for waits that need
/// no name).
pub async fn bounded<T>(f: impl Future<Output = T>) -> T {
    sse_testkit::bounded("a bounded wait", f).await
}
