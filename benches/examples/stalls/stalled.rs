//! A stalled connection, in each mode: it stops reading, then watches for
//! the server's reset and, if none came, is read out at the end.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use crate::clock::unix_nanos;
use crate::connect::{CONNECT_TIMEOUT, connect};
use crate::options::Options;
use crate::reader::Reader;
use crate::rng::Rng;
use crate::shared::{Resume, Shared};

/// How a stalled connection went.
pub(crate) enum Outcome {
    Failed(String),
    EndedBeforeStall(String),
    Stalled {
        /// Resumed: whether the first event was the one after the id.
        replayed: Option<bool>,
        /// What was behind the unread bytes, if no reset came.
        at_end: Option<AtEnd>,
    },
}

/// What a stalled connection that was never reset held at the end, found
/// by reading it out once everything was measured.
pub(crate) enum AtEnd {
    /// Events still arriving: the server never stopped sending.
    Live,
    /// Open, nothing more: the server holds the response without writing.
    Silent,
    /// The response had ended; the connection idles, kept alive.
    ResponseEnded,
    /// The server had closed it (a FIN behind the unread bytes).
    Closed,
    Error(String),
}

impl AtEnd {
    pub(crate) fn label(&self) -> String {
        match self {
            AtEnd::Live => "events still arriving".into(),
            AtEnd::Silent => "open, nothing sent".into(),
            AtEnd::ResponseEnded => "response ended, connection kept".into(),
            AtEnd::Closed => "closed by the server".into(),
            AtEnd::Error(e) => e.clone(),
        }
    }
}

/// Reads out what the stalled connection holds: until the response or the
/// connection ends, 300 ms pass without a byte, or 2 s in all.
async fn read_out(mut stream: TcpStream, mut reader: Reader) -> AtEnd {
    let mut buf = vec![0; 16 * 1024];
    let until = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let quiet = tokio::time::Instant::now() + Duration::from_millis(300);
        let n = match tokio::time::timeout_at(quiet.min(until), stream.read(&mut buf)).await {
            Err(_) if quiet < until => return AtEnd::Silent,
            Err(_) => return AtEnd::Live,
            Ok(Ok(0)) if reader.ended() => return AtEnd::ResponseEnded,
            Ok(Ok(0)) => return AtEnd::Closed,
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return AtEnd::Error(e.to_string()),
        };
        if let Err(e) = reader.feed(&buf[..n], &mut |_| {}) {
            return AtEnd::Error(e);
        }
        if reader.ended() {
            return AtEnd::ResponseEnded;
        }
    }
}

pub(crate) async fn stall_together(
    shared: Arc<Shared>,
    o: Arc<Options>,
    i: usize,
    stop: watch::Receiver<bool>,
    stalled: mpsc::Sender<()>,
) -> Outcome {
    let slot = &shared.slots[i];
    let established = tokio::time::timeout(CONNECT_TIMEOUT, async {
        let stream = connect(&o, Some(4096), None).await?;
        slot.port
            .store(u64::from(stream.local_addr()?.port()), Relaxed);
        let sent = shared.micros();
        // A peek leaves the bytes queued, so the receive buffer still fills.
        let mut head = [0; 12];
        let n = stream.peek(&mut head).await?;
        if n == 0 || head[..n] != b"HTTP/1.1 200"[..n] {
            let head = String::from_utf8_lossy(&head[..n]).into_owned();
            return Err(io::Error::other(format!("answered {head:?}")));
        }
        Ok((stream, sent))
    })
    .await;
    let _ = stalled.try_send(());
    match established {
        Err(_) => Outcome::Failed("timed out before the response".into()),
        Ok(Err(e)) => Outcome::Failed(e.to_string()),
        Ok(Ok((stream, sent))) => {
            slot.stalled_at.store(sent, Relaxed);
            let at_end = match watch_for_reset(&shared, i, stream, stop).await {
                Some(stream) => Some(read_out(stream, Reader::new()).await),
                None => None,
            };
            Outcome::Stalled {
                replayed: None,
                at_end,
            }
        }
    }
}

pub(crate) async fn stall_staggered(
    shared: Arc<Shared>,
    o: Arc<Options>,
    i: usize,
    read_for: Duration,
    resume: Option<Resume>,
    stop: watch::Receiver<bool>,
    stalled: mpsc::Sender<()>,
) -> Outcome {
    let slot = &shared.slots[i];
    let until = tokio::time::Instant::now() + read_for;
    let last_id = resume.as_ref().map(|r| r.id.as_str());
    let mut stream = match tokio::time::timeout(CONNECT_TIMEOUT, connect(&o, None, last_id)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            let _ = stalled.try_send(());
            return Outcome::Failed(e.to_string());
        }
        Err(_) => {
            let _ = stalled.try_send(());
            return Outcome::Failed("connect timed out".into());
        }
    };
    if let Ok(local) = stream.local_addr() {
        slot.port.store(u64::from(local.port()), Relaxed);
    }
    let mut reader = Reader::new();
    let mut buf = vec![0; 8 * 1024];
    let mut first_seq = None;
    let ended = loop {
        let n = match tokio::time::timeout_at(until, stream.read(&mut buf)).await {
            Err(_) => break None,
            Ok(Ok(0)) => break Some("the server ended the stream".to_string()),
            Ok(Ok(n)) => n,
            Ok(Err(e)) => break Some(e.to_string()),
        };
        if let Err(e) = reader.feed(&buf[..n], &mut |event| {
            first_seq.get_or_insert(event.seq);
        }) {
            break Some(e);
        }
        if reader.ended() {
            break Some("the server ended the stream".to_string());
        }
    };
    if let Some(ended) = ended {
        let _ = stalled.try_send(());
        return Outcome::EndedBeforeStall(ended);
    }
    drop(buf);
    slot.stalled_at.store(shared.micros(), Relaxed);
    let _ = stalled.try_send(());
    let replayed = match (&resume, reader.has_head()) {
        (Some(resume), true) => Some(first_seq == Some(resume.seq + 1)),
        _ => None,
    };
    let at_end = match watch_for_reset(&shared, i, stream, stop).await {
        Some(stream) => Some(read_out(stream, reader).await),
        None => None,
    };
    Outcome::Stalled { replayed, at_end }
}

/// Polls the socket's pending error until the server resets it or the run
/// ends; a reset socket is dropped at once, freeing the client's side. Gives
/// the socket back if no reset came.
async fn watch_for_reset(
    shared: &Shared,
    i: usize,
    stream: TcpStream,
    mut stop: watch::Receiver<bool>,
) -> Option<TcpStream> {
    let mut rng = Rng::new(unix_nanos() ^ i as u64);
    loop {
        let pause = Duration::from_millis(rng.between((100, 200)));
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            _ = stop.changed() => return Some(stream),
        }
        let error = match stream.take_error() {
            Ok(None) => continue,
            Ok(Some(e)) | Err(e) => e,
        };
        shared.slots[i].reset_at.store(shared.micros(), Relaxed);
        *shared
            .close_errors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(error.to_string())
            .or_default() += 1;
        return None;
    }
}
