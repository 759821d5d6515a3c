//! The idle timeout.

use super::{POST, T, answer, read, send, timed_out, wrap};
use crate::conn::{ConnectionLimits, LimitedIo};
use std::{io, time::Duration};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// Write, head and body timeouts of `T`, and `idle`.
fn idle_pair(idle: Duration) -> (LimitedIo<DuplexStream>, DuplexStream) {
    wrap(
        ConnectionLimits::new()
            .write_timeout(Some(T))
            .head_timeout(Some(T))
            .body_timeout(Some(T))
            .idle_timeout(Some(idle)),
    )
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n";
const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

#[tokio::test(start_paused = true)]
async fn an_answered_connection_idle_past_the_timeout_times_out() {
    let (mut io, mut client) = idle_pair(2 * T);
    send(&mut io, &mut client, GET).await;
    answer(&mut io, &mut client, OK).await;
    // Counted from the last byte, not the first write.
    tokio::time::sleep(T).await;
    answer(&mut io, &mut client, b"more").await;
    assert_eq!(
        timed_out(&mut io, 3 * T).await,
        ("idle connection timed out".to_owned(), 2 * T)
    );
}

#[tokio::test(start_paused = true)]
async fn tls_and_http2_are_idle_from_the_first_write() {
    for first in [&[0x16, 3, 1][..], b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"] {
        let (mut io, mut client) = idle_pair(2 * T);
        send(&mut io, &mut client, first).await;
        // Before the first write, only the head timeout applies.
        assert!(read(&mut io, T / 2).await.is_none());
        answer(&mut io, &mut client, b"hello").await;
        assert_eq!(
            timed_out(&mut io, 3 * T).await,
            ("idle connection timed out".to_owned(), 2 * T)
        );
    }
}

/// hyper reads until its read finds nothing, writes its answer, then
/// reads again only when woken: the idle timer must wake it.
#[tokio::test(start_paused = true)]
async fn a_reader_that_waits_since_before_the_answer_is_woken_when_idle() {
    let (mut io, mut client) = idle_pair(T);
    send(&mut io, &mut client, GET).await;
    let (mut reader, mut writer) = tokio::io::split(io);
    let reading = tokio::spawn(async move {
        let mut buf = [0; 64];
        reader.read(&mut buf).await.map_err(|e| e.to_string())
    });
    // The reader finds nothing: it waits, and is polled again only
    // when woken.
    tokio::task::yield_now().await;
    assert!(!reading.is_finished());
    tokio::time::sleep(T / 2).await;
    writer.write_all(OK).await.unwrap();
    let start = tokio::time::Instant::now();
    let read = tokio::time::timeout(2 * T, reading).await;
    assert_eq!(
        read.expect("never woken").unwrap(),
        Err("idle connection timed out".to_owned())
    );
    assert_eq!(start.elapsed(), T);
    drop(client);
}

#[tokio::test(start_paused = true)]
async fn reads_and_writes_keep_a_connection_alive() {
    let (mut io, mut client) = idle_pair(T);
    send(&mut io, &mut client, &[0x16, 3, 1]).await;
    answer(&mut io, &mut client, b"hello").await;
    // Writes only (an event stream's keep-alive comments), then reads
    // only, each more often than the timeout, for many timeouts.
    for _ in 0..8 {
        assert!(read(&mut io, T * 3 / 4).await.is_none());
        answer(&mut io, &mut client, b": keep-alive\n\n").await;
    }
    for _ in 0..8 {
        assert!(read(&mut io, T * 3 / 4).await.is_none());
        send(&mut io, &mut client, b"ping").await;
    }
    assert_eq!(
        timed_out(&mut io, 2 * T).await,
        ("idle connection timed out".to_owned(), T)
    );
}

#[tokio::test(start_paused = true)]
async fn before_the_first_write_only_the_head_and_body_timeouts_apply() {
    // Nothing sent at all: the head timeout, not the idle one.
    let (mut io, _client) = idle_pair(T / 4);
    assert_eq!(
        timed_out(&mut io, 2 * T).await,
        ("request head timed out".to_owned(), T)
    );
    // A body that does not come: the body timeout.
    let (mut io, mut client) = idle_pair(T / 4);
    send(&mut io, &mut client, POST).await;
    assert_eq!(
        timed_out(&mut io, 2 * T).await,
        ("request body timed out".to_owned(), T)
    );
}

#[tokio::test(start_paused = true)]
async fn a_next_request_arriving_is_timed_by_its_own_timeouts() {
    let (mut io, mut client) = idle_pair(T / 4);
    send(&mut io, &mut client, GET).await;
    answer(&mut io, &mut client, OK).await;
    // A next head that stops halfway: the head timeout.
    send(&mut io, &mut client, b"GET").await;
    assert_eq!(
        timed_out(&mut io, 2 * T).await,
        ("request head timed out".to_owned(), T)
    );
    // A next body that does not come: the body timeout.
    let (mut io, mut client) = idle_pair(T / 4);
    send(&mut io, &mut client, GET).await;
    answer(&mut io, &mut client, OK).await;
    send(&mut io, &mut client, POST).await;
    assert_eq!(
        timed_out(&mut io, 2 * T).await,
        ("request body timed out".to_owned(), T)
    );
}

#[tokio::test(start_paused = true)]
async fn a_slow_handler_is_not_cut_by_the_idle_timeout() {
    let (mut io, mut client) = idle_pair(T);
    // The first request, then a next one on the kept-alive connection,
    // each handled for many idle timeouts before the answer.
    for _ in 0..2 {
        send(&mut io, &mut client, GET).await;
        assert!(read(&mut io, 10 * T).await.is_none());
        answer(&mut io, &mut client, OK).await;
    }
    assert_eq!(
        timed_out(&mut io, 2 * T).await,
        ("idle connection timed out".to_owned(), T)
    );
}

#[tokio::test(start_paused = true)]
async fn a_stalled_write_is_left_to_the_write_timeout() {
    let (mut io, mut client) = idle_pair(T * 3 / 10);
    send(&mut io, &mut client, GET).await;
    answer(&mut io, &mut client, OK).await;
    // The client takes nothing more; the server reads meanwhile, as
    // HTTP/1 and HTTP/2 do while they write.
    let (mut reader, mut writer) = tokio::io::split(io);
    let start = tokio::time::Instant::now();
    let write = async {
        let error = writer.write_all(&[0; 4096]).await.unwrap_err();
        (error.kind(), start.elapsed())
    };
    let read = async {
        let mut buf = [0; 64];
        let result = tokio::time::timeout(3 * T, reader.read(&mut buf)).await;
        (result, start.elapsed())
    };
    let ((write_error, write_at), (read_result, read_at)) = tokio::join!(write, read);
    assert_eq!((write_error, write_at), (io::ErrorKind::TimedOut, T));
    // The idle timeout may end the connection after the write timeout
    // did, never before.
    assert!(read_at > write_at, "{read_result:?} after {read_at:?}");
    drop(client);
}

#[tokio::test(start_paused = true)]
async fn no_idle_timeout_keeps_an_idle_connection() {
    let (mut io, mut client) = wrap(ConnectionLimits::new().idle_timeout(None));
    send(&mut io, &mut client, GET).await;
    answer(&mut io, &mut client, OK).await;
    assert!(read(&mut io, 100 * T).await.is_none());
}
