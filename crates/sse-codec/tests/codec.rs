//! `EventCodec` under tokio-util's `FramedRead` and `FramedWrite`, over real
//! sockets on 127.0.0.1.
#![cfg(feature = "tokio-util")]

use futures_util::{SinkExt, StreamExt};
use sse_codec::{EventCodec, EventId, Message, ParseError, Parser, ReadError};
use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncWriteExt, ReadBuf},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};
use tokio_util::codec::{FramedRead, FramedWrite};

/// A connected pair of sockets on loopback: (the writer's, the reader's).
async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (connected, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
    let writer = connected.unwrap();
    writer.set_nodelay(true).unwrap();
    (writer, accepted.unwrap().0)
}

/// Writes `bytes` in pieces of `size`, each flushed and a moment apart, so
/// that the reader sees them as separate reads; then closes.
async fn trickle(mut socket: TcpStream, bytes: &'static [u8], size: usize) {
    for piece in bytes.chunks(size) {
        socket.write_all(piece).await.unwrap();
        socket.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    socket.shutdown().await.unwrap();
}

/// Reads with `codec` from a socket whose peer trickles `bytes` in pieces
/// of `size`; also returns the writing task.
async fn framed(
    bytes: &'static [u8],
    size: usize,
    codec: EventCodec,
) -> (FramedRead<TcpStream, EventCodec>, JoinHandle<()>) {
    let (writer, reader) = pair().await;
    let writing = tokio::spawn(trickle(writer, bytes, size));
    (FramedRead::new(reader, codec), writing)
}

#[tokio::test]
async fn events_arrive_from_a_socket_written_in_small_pieces() {
    let stream: &'static [u8] =
        b"retry: 1500\nid: 7\r\nevent: add\ndata: one\r\ndata: two\r\n\r\n: note\ndata: \xFF\n\n";
    let (mut events, writing) = framed(stream, 3, EventCodec::new()).await;
    let first = events.next().await.unwrap().unwrap();
    assert_eq!(
        (
            first.event_type(),
            first.data(),
            first.last_event_id().as_str()
        ),
        ("add", "one\ntwo", "7")
    );
    let second = events.next().await.unwrap().unwrap();
    assert_eq!(second.data(), "\u{FFFD}", "invalid UTF-8 is replaced");
    assert!(
        events.next().await.is_none(),
        "the end of input is a clean end"
    );
    assert!(!events.decoder().is_truncated());
    assert_eq!(
        events.decoder().parser().retry(),
        Some(Duration::from_millis(1500))
    );
    writing.await.unwrap();
}

#[tokio::test]
async fn an_oversize_event_is_an_error_and_polling_again_goes_on() {
    let stream: &'static [u8] =
        b"data: a\n\ndata: this line is longer than thirty-two bytes\n\ndata: b\n\n";
    let codec = EventCodec::with_parser(Parser::with_max_event_size(32));
    let (mut events, writing) = framed(stream, 7, codec).await;
    assert_eq!(events.next().await.unwrap().unwrap().data(), "a");
    match events.next().await {
        Some(Err(ReadError::Parse(ParseError::EventTooLarge { limit: 32 }))) => {}
        other => panic!("expected the oversize error, got {other:?}"),
    }
    // tokio-util ends the stream after a decoder error...
    assert!(events.next().await.is_none());
    // ...and goes on when polled again: the parser skipped the event.
    assert_eq!(events.next().await.unwrap().unwrap().data(), "b");
    assert!(events.next().await.is_none());
    writing.await.unwrap();
}

#[tokio::test]
async fn a_stream_cut_off_inside_an_event_ends_cleanly_and_says_so() {
    let (mut events, writing) = framed(b"data: whole\n\ndata: cut", 4, EventCodec::new()).await;
    assert_eq!(events.next().await.unwrap().unwrap().data(), "whole");
    assert!(events.next().await.is_none());
    assert!(events.decoder().is_truncated());
    writing.await.unwrap();

    // With `dispatch_unterminated`, the cut-off event is yielded instead.
    let codec = EventCodec::with_parser(Parser::new().dispatch_unterminated(true));
    let (mut events, writing) = framed(b"data: whole\n\ndata: cut", 4, codec).await;
    assert_eq!(events.next().await.unwrap().unwrap().data(), "whole");
    assert_eq!(events.next().await.unwrap().unwrap().data(), "cut");
    assert!(events.next().await.is_none());
    writing.await.unwrap();
}

/// Yields `data`, then fails: a reader whose failure a socket cannot be
/// made to produce on cue.
struct FailsAfter(&'static [u8]);

impl AsyncRead for FailsAfter {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.0.is_empty() {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset")));
        }
        let n = self.0.len().min(buf.remaining());
        buf.put_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_read_error_is_a_transport_error_after_the_events_before_it() {
    let mut events = FramedRead::new(FailsAfter(b"data: kept\n\ndata: lost"), EventCodec::new());
    assert_eq!(events.next().await.unwrap().unwrap().data(), "kept");
    match events.next().await {
        Some(Err(ReadError::Transport(error))) => {
            assert_eq!(error.kind(), io::ErrorKind::ConnectionReset);
        }
        other => panic!("expected the read error, got {other:?}"),
    }
}

#[tokio::test]
async fn messages_written_with_framed_write_read_back_the_same() {
    let (writer, reader) = pair().await;
    let messages = vec![
        Message::new().id(EventId::from_static("1")).data("first"),
        Message::new().data("multi\nline").comment("note"),
        Message::new().retry(Duration::from_secs(3)).data("last"),
    ];
    let writing = tokio::spawn(async move {
        let mut out = FramedWrite::new(writer, EventCodec::new());
        for message in &messages {
            out.send(message).await.unwrap();
        }
        out.send(Message::new().data("encoded").to_encoded())
            .await
            .unwrap();
        // The codec encodes several item types: name one to close.
        SinkExt::<Message>::close(&mut out).await.unwrap();
    });
    let mut events = FramedRead::new(reader, EventCodec::new());
    let mut data = Vec::new();
    while let Some(event) = events.next().await {
        let event = event.unwrap();
        assert_eq!(event.last_event_id(), "1");
        data.push(event.data().to_owned());
    }
    assert_eq!(data, ["first", "multi\nline", "last", "encoded"]);
    assert_eq!(
        events.decoder().parser().retry(),
        Some(Duration::from_secs(3))
    );
    writing.await.unwrap();
}
