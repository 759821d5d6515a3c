//! Clients that try to hold a server's memory or connections: readers that
//! never read, request heads and bodies that never end. A real hyper server
//! with `ConnectionLimits` on 127.0.0.1, raw sockets as the hostile
//! clients, reqwest as the healthy ones.

mod common;

use bytes::Bytes;
use common::{
    Events, GET_EVENTS, Served, bounded, client, listener, publish, serve_with, stalled, wait_until,
};
use futures_util::future::join_all;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use sse_codec::{Message, Topic};
use sse_joe::Joe;
use sse_server::{ConnectionLimits, Server};
use std::{
    io,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::Instant,
};

/// Limits that end a stalled reader's connection: `timeout` for writes,
/// and a 16 KiB send buffer that it fills quickly.
fn write_limits(timeout: Duration) -> ConnectionLimits {
    ConnectionLimits::new()
        .write_timeout(Some(timeout))
        .send_buffer(Some(16 * 1024))
}

/// Publishes 64 events of 16 KiB: more than a stalled reader's socket, both
/// kernel buffers and what the HTTP layer takes can hold.
async fn fill(server: &Server<Joe>) {
    let pad = "x".repeat(16 * 1024);
    for _ in 0..64 {
        publish(server, pad.as_str()).await;
        tokio::task::yield_now().await;
    }
}

/// Reads until the server closes the connection (end of stream or a reset)
/// and returns how long that took; fails after [`BOUND`].
async fn until_closed(stream: &mut (impl AsyncRead + Unpin)) -> Duration {
    let start = Instant::now();
    let mut buf = vec![0; 64 * 1024];
    loop {
        match bounded(stream.read(&mut buf)).await {
            Ok(0) | Err(_) => return start.elapsed(),
            Ok(_) => {}
        }
    }
}

/// Stalled readers of 16 KiB events are ended by Joe, which frees what it
/// queued for them while their connections are still open; the write
/// timeout then closes the connections; the healthy readers get every
/// event, in order, meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_readers_are_freed_then_closed_and_hold_nobody_back() {
    const STALLED: usize = 20;
    const HEALTHY: usize = 3;
    const EVENTS: usize = 600;
    const WRITE_TIMEOUT: Duration = Duration::from_secs(1);
    let joe = Joe::builder().max_queued_bytes(256 * 1024).build();
    let server = Server::new(joe.clone());
    let limits = write_limits(WRITE_TIMEOUT);
    let served = serve_with(limits, server.clone()).await;

    let mut stalls = Vec::new();
    for _ in 0..STALLED {
        stalls.push(stalled(served.addr, GET_EVENTS).await);
    }
    // Each healthy reader counts what it received; the publisher stays at
    // most a few events ahead of the slowest, so that only the stalled
    // ones fall behind, however busy the machine is.
    let received: Arc<Vec<AtomicUsize>> =
        Arc::new((0..HEALTHY).map(|_| AtomicUsize::new(0)).collect());
    let mut readers = Vec::new();
    for r in 0..HEALTHY {
        let mut events = Events::get(served.url("/events")).await;
        let received = received.clone();
        readers.push(tokio::spawn(async move {
            for i in 0..EVENTS {
                let event = events.next().await.expect("the stream ended early");
                assert!(event.data().starts_with(&format!("{i} ")), "reader {r}");
                received[r].store(i + 1, Ordering::Release);
            }
            events
        }));
    }
    wait_until("every client is subscribed", || {
        joe.subscriber_count() == STALLED + HEALTHY
    })
    .await;

    // When the stalled connections are gone: their bodies, and with them
    // their subscriber streams, are dropped when hyper closes them.
    let closed_at = tokio::spawn({
        let joe = joe.clone();
        async move {
            wait_until("the stalled connections are closed", || {
                joe.subscriber_count() == HEALTHY
            })
            .await;
            Instant::now()
        }
    });
    let pad = "x".repeat(16 * 1024);
    let frame_len = Message::new()
        .data(format!("{EVENTS} {pad}"))
        .to_bytes()
        .len();
    let mut all_lagged_at = None;
    for i in 0..EVENTS {
        let slowest = || {
            received
                .iter()
                .map(|n| n.load(Ordering::Acquire))
                .min()
                .unwrap_or(0)
        };
        wait_until("the healthy readers keep up", || slowest() + 8 >= i).await;
        publish(&server, format!("{i} {pad}")).await;
        let stats = joe.stats();
        if all_lagged_at.is_none() && stats.lagged == STALLED as u64 {
            all_lagged_at = Some(Instant::now());
            // Ended and emptied at once, while their connections are still
            // open: what is queued is the healthy readers' (at most nine
            // events each), not the 256 KiB each stalled one had.
            assert_eq!(stats.subscribers, STALLED + HEALTHY);
            assert_eq!(stats.receiving, HEALTHY);
            assert!(stats.queued_bytes <= HEALTHY * 9 * frame_len, "{stats:?}");
        }
    }
    let all_lagged_at = all_lagged_at.expect("the stalled readers never fell behind");
    let mut healthy = Vec::new();
    for reader in readers {
        healthy.push(bounded(reader).await.unwrap());
    }

    // The healthy readers read everything.
    let stats = joe.stats();
    assert_eq!(stats.lagged, STALLED as u64);
    assert_eq!(stats.receiving, HEALTHY);
    assert_eq!((stats.queued_frames, stats.queued_bytes), (0, 0));

    // Their sockets took no byte since before they lagged: closed within
    // the write timeout, plus a second for a busy machine.
    let closed_after = bounded(closed_at)
        .await
        .unwrap()
        .saturating_duration_since(all_lagged_at);
    assert!(
        closed_after <= WRITE_TIMEOUT + Duration::from_secs(1),
        "closed {closed_after:?} after the last one lagged"
    );
    for stream in &mut stalls {
        until_closed(stream).await;
    }
    drop(healthy);
}

/// A connection the write timeout ends is reset, not closed gracefully, so
/// that the kernel frees the data it could not send at once rather than
/// keep it for as long as the peer keeps its window shut. The peer sees the
/// reset: a graceful close would instead hand it the rest of the data, then
/// the end of the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_the_write_timeout_ends_is_reset() {
    const WRITE_TIMEOUT: Duration = Duration::from_secs(1);
    let joe = Joe::new();
    let server = Server::builder(joe.clone()).keep_alive(None).build();
    let limits = write_limits(WRITE_TIMEOUT);
    let served = serve_with(limits, server.clone()).await;
    let mut stalled = stalled(served.addr, GET_EVENTS).await;
    wait_until("subscribed", || joe.subscriber_count() == 1).await;
    fill(&server).await;
    // The write timeout ended the connection: hyper dropped its body.
    wait_until("the stalled connection is closed", || {
        joe.subscriber_count() == 0
    })
    .await;

    let mut buf = vec![0; 64 * 1024];
    let mut received = 0;
    let error = loop {
        match bounded(stalled.read(&mut buf)).await {
            Ok(0) => panic!("closed gracefully after {received} bytes"),
            Ok(n) => received += n,
            Err(error) => break error,
        }
    };
    assert_eq!(error.kind(), io::ErrorKind::ConnectionReset, "{error}");
}

/// Request heads that never end are dropped after the head timeout, a
/// client that dribbles one byte at a time included; a head that ends in
/// time is served, and neither an idle event stream nor a handler slower
/// than the timeout is cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_heads_are_dropped_after_the_head_timeout() {
    const HEAD_TIMEOUT: Duration = Duration::from_secs(1);
    let joe = Joe::new();
    let server = Server::builder(joe.clone())
        .keep_alive(None)
        .on_session(|parts| async move {
            if parts.uri.path() == "/slow" {
                tokio::time::sleep(Duration::from_millis(1500)).await;
            }
            Ok(vec![Topic::DEFAULT])
        })
        .build();
    let limits = ConnectionLimits::new().head_timeout(Some(HEAD_TIMEOUT));
    let served = serve_with(limits, server.clone()).await;
    let addr = served.addr;

    let mut halves = Vec::new();
    for _ in 0..50 {
        halves.push(stalled(addr, b"GET /events HTTP/1.1\r\nhost: x\r\n").await);
    }
    let dribbler = tokio::spawn(async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let start = Instant::now();
        for byte in b"GET /events HTTP/1.1\r\nx-slow: 12345678901234567890" {
            if stream.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _ = until_closed(&mut stream).await;
        start.elapsed()
    });
    let on_time = tokio::spawn(async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(b"GET /events HTTP/1.1\r\n").await.unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        stream.write_all(b"host: x\r\n\r\n").await.unwrap();
        let mut head = [0; 12];
        stream.read_exact(&mut head).await.unwrap();
        assert_eq!(&head, b"HTTP/1.1 200");
        stream
    });
    let slow_handler = client().get(served.url("/slow")).send();
    let idle = Events::get(served.url("/events")).await;

    let closed = join_all(halves.iter_mut().map(until_closed)).await;
    for took in closed {
        assert!(took <= HEAD_TIMEOUT + Duration::from_secs(1), "{took:?}");
    }
    let took = bounded(dribbler).await.unwrap();
    assert!(took <= HEAD_TIMEOUT + Duration::from_secs(1), "{took:?}");
    let mut on_time = bounded(on_time).await.unwrap();
    let slow_handler = Events::new(bounded(slow_handler).await.unwrap());

    // Past the head timeout, the answered streams are still open.
    tokio::time::sleep(HEAD_TIMEOUT + Duration::from_millis(500)).await;
    assert_eq!(joe.subscriber_count(), 3);
    publish(&server, "still here").await;
    for mut events in [idle, slow_handler] {
        assert_eq!(events.data(1).await, ["still here"]);
    }
    let mut rest = Vec::new();
    while !String::from_utf8_lossy(&rest).contains("still here") {
        let mut buf = [0; 256];
        let n = bounded(on_time.read(&mut buf)).await.unwrap();
        assert!(n > 0, "the stream ended");
        rest.extend_from_slice(&buf[..n]);
    }
}

/// A hyper server whose handler reads the request body whole, then answers
/// with its length (on `/slow` after 1.5 s); its connections get `limits`.
async fn serve_uploads(limits: ConnectionLimits) -> Served {
    let service = tower::service_fn(|request: Request<Incoming>| async move {
        let slow = request.uri().path() == "/slow";
        let body = request.into_body().collect().await?.to_bytes();
        if slow {
            tokio::time::sleep(Duration::from_millis(1500)).await;
        }
        Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from(
            body.len().to_string(),
        ))))
    });
    sse_testkit::serve(listener(None).await, move |tcp| limits.tcp(tcp), service)
}

/// Sends `head`, then `body` one byte every 100 ms (repeated, 5 s at
/// most); returns how long the server took to close the connection, from
/// the head.
async fn dribble(stream: TcpStream, head: &'static [u8], body: &'static [u8]) -> Duration {
    let (mut reader, mut writer) = stream.into_split();
    let start = Instant::now();
    writer.write_all(head).await.unwrap();
    let writing = tokio::spawn(async move {
        for byte in body.iter().cycle().take(50) {
            if writer.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Kept open: a half-closed request would end by itself.
        writer
    });
    let _ = until_closed(&mut reader).await;
    let took = start.elapsed();
    writing.abort();
    took
}

/// A thousand request bodies that dribble in, one byte at a time, counted
/// or chunked, are cut at the body timeout after their heads; a body that
/// arrives in time is read whole and answered by a handler slower than
/// the timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dribbled_request_bodies_are_cut_at_the_body_timeout() {
    const BODY_TIMEOUT: Duration = Duration::from_secs(1);
    const DRIBBLERS: usize = 1000;
    let limits = ConnectionLimits::new().body_timeout(Some(BODY_TIMEOUT));
    let uploads = serve_uploads(limits).await;
    let addr = uploads.addr;

    // Connected one after the other: a burst of connections can overflow
    // the listen queue of a busy machine, which then resets some.
    let mut streams = Vec::new();
    for _ in 0..DRIBBLERS {
        streams.push(TcpStream::connect(addr).await.unwrap());
    }
    let dribblers: Vec<_> = streams
        .into_iter()
        .enumerate()
        .map(|(i, stream)| {
            tokio::spawn(if i % 2 == 0 {
                dribble(
                    stream,
                    b"POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n",
                    b"x",
                )
            } else {
                dribble(
                    stream,
                    b"POST /upload HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n",
                    b"1\r\nx\r\n",
                )
            })
        })
        .collect();
    let on_time = tokio::spawn(async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"POST /slow HTTP/1.1\r\nhost: x\r\nconnection: close\r\n")
            .await
            .unwrap();
        stream
            .write_all(b"content-length: 10\r\n\r\n01234")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        stream.write_all(b"56789").await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        String::from_utf8(response).unwrap()
    });

    for dribbler in join_all(dribblers).await {
        let took = dribbler.unwrap();
        assert!(
            took >= BODY_TIMEOUT && took <= BODY_TIMEOUT + Duration::from_secs(1),
            "closed after {took:?}"
        );
    }
    let response = bounded(on_time).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.ends_with("\r\n\r\n10"), "{response}");
}

/// `Server::shutdown` ends every body, but a reader that never reads
/// cannot take the end: its connection lasts until the write timeout, so
/// a graceful shutdown finishes within it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_with_a_stalled_reader_ends_within_the_write_timeout() {
    const WRITE_TIMEOUT: Duration = Duration::from_secs(1);
    let joe = Joe::new();
    let server = Server::new(joe.clone());
    let limits = write_limits(WRITE_TIMEOUT);
    let served = serve_with(limits, server.clone()).await;
    let _stalled = stalled(served.addr, GET_EVENTS).await;
    wait_until("subscribed", || joe.subscriber_count() == 1).await;
    fill(&server).await;
    let start = Instant::now();
    server.shutdown();
    served.graceful_shutdown().await;
    let took = start.elapsed();
    assert!(
        took <= WRITE_TIMEOUT + Duration::from_secs(1),
        "shutdown took {took:?}"
    );
}

/// Reads until `stream` holds something that ends with `end`.
async fn read_until_end(stream: &mut TcpStream, end: &[u8]) -> Vec<u8> {
    let mut read = Vec::new();
    while !read.ends_with(end) {
        let mut buf = [0; 1024];
        let n = bounded(stream.read(&mut buf)).await.unwrap();
        assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&read));
        read.extend_from_slice(&buf[..n]);
    }
    read
}

/// Reads until the server closes the connection gracefully and returns
/// how long that took; fails on a reset or after [`BOUND`].
async fn until_end_of_stream(stream: &mut TcpStream) -> Duration {
    let start = Instant::now();
    let mut buf = [0; 1024];
    match bounded(stream.read(&mut buf)).await {
        Ok(0) => start.elapsed(),
        Ok(n) => panic!("{:?} on an idle connection", &buf[..n]),
        Err(error) => panic!("{error} instead of the end of the stream"),
    }
}

/// A client that reads its whole response, then neither reads nor sends:
/// hyper keeps the connection for a next request, which never comes, until
/// the idle timeout closes it, gracefully.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answered_connection_that_goes_quiet_is_closed_at_the_idle_timeout() {
    const IDLE_TIMEOUT: Duration = Duration::from_secs(1);
    let limits = ConnectionLimits::new().idle_timeout(Some(IDLE_TIMEOUT));
    let uploads = serve_uploads(limits).await;
    let addr = uploads.addr;

    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let response = read_until_end(&mut stream, b"\r\n\r\n0").await;
    assert!(response.starts_with(b"HTTP/1.1 200 OK\r\n"));
    let took = until_end_of_stream(&mut stream).await;
    // From the client's last read, a little after the server's last write.
    assert!(
        took >= IDLE_TIMEOUT - Duration::from_millis(100)
            && took <= IDLE_TIMEOUT + Duration::from_secs(1),
        "closed after {took:?}"
    );
}

/// An event stream that sends keep-alive comments more often than the idle
/// timeout stays open for many timeouts; one with keep-alive disabled and
/// no events is closed at the idle timeout (its client would reconnect).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_stream_stays_open_past_the_idle_timeout_on_its_keep_alive() {
    const IDLE_TIMEOUT: Duration = Duration::from_secs(1);
    const KEEP_ALIVE: &str = ": keep-alive\n\n";
    let limits = ConnectionLimits::new().idle_timeout(Some(IDLE_TIMEOUT));
    let joe = Joe::new();
    let alive = Server::builder(joe.clone())
        .keep_alive(Some(Duration::from_millis(300)))
        .build();
    let quiet = Server::builder(joe.clone()).keep_alive(None).build();
    let alive_served = serve_with(limits, alive.clone()).await;
    let quiet_served = serve_with(limits, quiet).await;

    let start = Instant::now();
    let mut events = Events::get(alive_served.url("/events")).await;
    let mut silent = TcpStream::connect(quiet_served.addr).await.unwrap();
    silent.write_all(GET_EVENTS).await.unwrap();
    read_until_end(&mut silent, b"\r\n\r\n").await;
    let took = until_end_of_stream(&mut silent).await;
    assert!(
        took >= IDLE_TIMEOUT - Duration::from_millis(100)
            && took <= IDLE_TIMEOUT + Duration::from_secs(1),
        "closed after {took:?}"
    );

    // Ten comments, three seconds: three idle timeouts.
    events.raw_until(KEEP_ALIVE.repeat(10).as_bytes()).await;
    assert!(start.elapsed() >= 3 * IDLE_TIMEOUT);
    publish(&alive, "still here").await;
    assert_eq!(events.data(1).await, ["still here"]);
}
