//! The write, head and body timeouts.

use super::{POST, T, read, send, timed_out, which, wrap};
use crate::conn::{ConnectionLimits, LimitedIo};
use std::{io, time::Duration};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};

fn pair() -> (LimitedIo<DuplexStream>, DuplexStream) {
    pair_with(Some(T), Some(T))
}

fn pair_with(
    head: Option<Duration>,
    body: Option<Duration>,
) -> (LimitedIo<DuplexStream>, DuplexStream) {
    // The idle timeout has tests of its own.
    wrap(
        ConnectionLimits::new()
            .write_timeout(Some(T))
            .head_timeout(head)
            .body_timeout(body)
            .idle_timeout(None),
    )
}

/// Sends a byte every `T / 5` and reads it through, until a read gets
/// something else (20 bytes at most): what that read got.
async fn dribble(
    io: &mut LimitedIo<DuplexStream>,
    client: &mut DuplexStream,
) -> Option<io::Result<usize>> {
    let mut result = None;
    for _ in 0..20 {
        client.write_all(b"x").await.unwrap();
        result = read(io, T).await;
        if !matches!(result, Some(Ok(1))) {
            break;
        }
        tokio::time::sleep(T / 5).await;
    }
    result
}

fn is_timed_out(result: Option<io::Result<usize>>) -> bool {
    matches!(result, Some(Err(e)) if e.kind() == io::ErrorKind::TimedOut)
}

#[tokio::test(start_paused = true)]
async fn a_head_that_never_ends_times_out() {
    let (mut io, mut client) = pair();
    client
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    assert!(matches!(read(&mut io, T / 2).await, Some(Ok(_))));
    assert!(read(&mut io, T / 4).await.is_none(), "still waiting");
    assert!(is_timed_out(read(&mut io, T).await));
}

#[tokio::test(start_paused = true)]
async fn a_dribbled_head_times_out_even_while_bytes_arrive() {
    let (mut io, mut client) = pair();
    let result = dribble(&mut io, &mut client).await;
    assert!(is_timed_out(result));
}

#[tokio::test(start_paused = true)]
async fn a_complete_head_ends_the_wait_until_the_next_request() {
    let (mut io, mut client) = pair();
    client.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    assert!(matches!(read(&mut io, T).await, Some(Ok(_))));
    // A slow handler: nothing to read, long past the timeout.
    assert!(read(&mut io, 3 * T).await.is_none());
    io.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
    // Idle between requests: no head is awaited.
    assert!(read(&mut io, 3 * T).await.is_none());
    // A second request's head runs from its first byte...
    client.write_all(b"GET").await.unwrap();
    assert!(matches!(read(&mut io, T).await, Some(Ok(3))));
    // ...and a write ends the wait again (a body read after the
    // response began).
    io.write_all(b"data").await.unwrap();
    assert!(read(&mut io, 3 * T).await.is_none());
    client.write_all(b"more").await.unwrap();
    assert!(matches!(read(&mut io, T).await, Some(Ok(4))));
    assert!(is_timed_out(read(&mut io, 2 * T).await));
}

#[tokio::test(start_paused = true)]
async fn tls_and_http2_are_timed_only_until_the_first_write() {
    for first in [&[0x16, 3, 1][..], b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"] {
        let (mut io, mut client) = pair();
        client.write_all(first).await.unwrap();
        assert!(matches!(read(&mut io, T).await, Some(Ok(_))));
        io.write_all(b"hello").await.unwrap();
        client.write_all(b"anything").await.unwrap();
        assert!(matches!(read(&mut io, T).await, Some(Ok(8))));
        assert!(read(&mut io, 3 * T).await.is_none());
    }
    let (mut io, mut client) = pair();
    client.write_all(&[0x16]).await.unwrap();
    assert!(matches!(read(&mut io, T).await, Some(Ok(1))));
    assert!(is_timed_out(read(&mut io, 2 * T).await));
}

#[tokio::test(start_paused = true)]
async fn a_peer_that_takes_no_byte_times_the_write_out() {
    let (mut io, _client) = pair();
    let start = tokio::time::Instant::now();
    let error = io.write_all(&[0; 4096]).await.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    assert_eq!(start.elapsed(), T);
}

#[tokio::test(start_paused = true)]
async fn no_limits_pass_everything_through() {
    let (server, mut client) = duplex(64);
    let none = ConnectionLimits::new()
        .write_timeout(None)
        .head_timeout(None)
        .body_timeout(None)
        .idle_timeout(None);
    let mut io = none.wrap(server);
    client.write_all(b"GET").await.unwrap();
    assert!(matches!(read(&mut io, T).await, Some(Ok(3))));
    assert!(read(&mut io, 100 * T).await.is_none());
    io.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
    assert!(read(&mut io, 100 * T).await.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_dribbled_body_times_out_at_its_deadline_even_while_bytes_arrive() {
    let (mut io, mut client) = pair();
    send(&mut io, &mut client, POST).await;
    let start = tokio::time::Instant::now();
    let result = dribble(&mut io, &mut client).await;
    assert_eq!(which(result), "request body timed out");
    assert_eq!(start.elapsed(), T);
}

#[tokio::test(start_paused = true)]
async fn a_withheld_body_times_out_from_the_end_of_its_head() {
    let (mut io, mut client) = pair();
    // The head itself took most of the head timeout.
    client.write_all(&POST[..10]).await.unwrap();
    tokio::time::sleep(T * 9 / 10).await;
    client.write_all(&POST[10..]).await.unwrap();
    let start = tokio::time::Instant::now();
    assert!(matches!(read(&mut io, T).await, Some(Ok(_))));
    send(&mut io, &mut client, b"12345").await;
    assert_eq!(which(read(&mut io, 2 * T).await), "request body timed out");
    assert_eq!(start.elapsed(), T);
}

#[tokio::test(start_paused = true)]
async fn a_write_does_not_end_the_body_wait() {
    let (mut io, mut client) = pair();
    send(
        &mut io,
        &mut client,
        b"POST / HTTP/1.1\r\nexpect: 100-continue\r\n",
    )
    .await;
    send(&mut io, &mut client, b"content-length: 10\r\n\r\n").await;
    let start = tokio::time::Instant::now();
    io.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
        .await
        .unwrap();
    // A response streamed while the body is withheld.
    for _ in 0..4 {
        tokio::time::sleep(T / 5).await;
        io.write_all(b"data").await.unwrap();
        let mut buf = [0; 64];
        let _ = client.read(&mut buf).await.unwrap();
    }
    send(&mut io, &mut client, b"12345").await;
    assert_eq!(which(read(&mut io, 2 * T).await), "request body timed out");
    assert_eq!(start.elapsed(), T);
}

#[tokio::test(start_paused = true)]
async fn a_complete_body_ends_the_wait() {
    let (mut io, mut client) = pair();
    send(&mut io, &mut client, POST).await;
    send(&mut io, &mut client, b"12345").await;
    tokio::time::sleep(T / 2).await;
    send(&mut io, &mut client, b"67890").await;
    // A slow handler: nothing to read, long past both timeouts.
    assert!(read(&mut io, 3 * T).await.is_none());
    io.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
    assert!(read(&mut io, 3 * T).await.is_none());
    // The next request is timed from its first byte.
    send(&mut io, &mut client, b"GET").await;
    assert_eq!(which(read(&mut io, 2 * T).await), "request head timed out");
}

#[tokio::test(start_paused = true)]
async fn a_chunked_body_split_anywhere_ends_the_wait() {
    let request: &[u8] = b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n\
                           5;x=y\r\nhello\r\n0\r\ntrailer: z\r\n\r\n";
    for cut in 0..=request.len() {
        let (mut io, mut client) = pair();
        send(&mut io, &mut client, &request[..cut]).await;
        tokio::time::sleep(T / 2).await;
        send(&mut io, &mut client, &request[cut..]).await;
        assert!(read(&mut io, 3 * T).await.is_none(), "cut at {cut}");
    }
    // Without its last chunk, the body never ends.
    let (mut io, mut client) = pair();
    send(&mut io, &mut client, &request[..request.len() - 20]).await;
    assert_eq!(which(read(&mut io, 2 * T).await), "request body timed out");
}

#[tokio::test(start_paused = true)]
async fn a_get_with_a_slow_handler_is_not_timed_out() {
    let (mut io, mut client) = pair();
    send(
        &mut io,
        &mut client,
        b"GET /events HTTP/1.1\r\nhost: x\r\n\r\n",
    )
    .await;
    assert!(read(&mut io, 10 * T).await.is_none());
    io.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_framing_that_cannot_be_followed_is_timed_until_the_first_write() {
    let bad = b"POST / HTTP/1.1\r\ncontent-length: ten\r\n\r\n";
    let (mut io, mut client) = pair();
    send(&mut io, &mut client, bad).await;
    assert_eq!(which(read(&mut io, 2 * T).await), "request body timed out");
    let (mut io, mut client) = pair();
    send(&mut io, &mut client, bad).await;
    io.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        .await
        .unwrap();
    assert!(read(&mut io, 3 * T).await.is_none());
}

#[tokio::test(start_paused = true)]
async fn each_timeout_applies_alone() {
    // No body timeout: the body is still followed, so the next head is
    // found and timed.
    let (mut io, mut client) = pair_with(Some(T), None);
    send(&mut io, &mut client, POST).await;
    assert!(read(&mut io, 3 * T).await.is_none());
    io.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
    send(&mut io, &mut client, b"0123456789").await;
    assert!(read(&mut io, 3 * T).await.is_none());
    io.write_all(b"more").await.unwrap();
    send(&mut io, &mut client, b"GET").await;
    assert_eq!(which(read(&mut io, 2 * T).await), "request head timed out");

    // No head timeout: a head takes its time, its body does not.
    let (mut io, mut client) = pair_with(None, Some(T));
    send(&mut io, &mut client, &POST[..10]).await;
    assert!(read(&mut io, 3 * T).await.is_none());
    send(&mut io, &mut client, &POST[10..]).await;
    assert_eq!(
        timed_out(&mut io, 2 * T).await,
        ("request body timed out".to_owned(), T)
    );
}
