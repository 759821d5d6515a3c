//! A healthy reader: reads everything for the whole run and counts gaps
//! and latency.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, watch};

use crate::clock::unix_nanos;
use crate::connect::{CONNECT_TIMEOUT, connect};
use crate::histogram::Histogram;
use crate::options::Options;
use crate::reader::Reader;
use crate::shared::Shared;

#[derive(Default)]
pub(crate) struct Healthy {
    pub(crate) events: u64,
    pub(crate) gaps: u64,
    pub(crate) missing: u64,
    pub(crate) reordered: u64,
    pub(crate) failed: Option<String>,
    pub(crate) ended: Option<String>,
}

pub(crate) async fn healthy(
    shared: Arc<Shared>,
    o: Arc<Options>,
    mut stop: watch::Receiver<bool>,
    ready: mpsc::Sender<()>,
) -> (Healthy, Histogram) {
    let mut h = Healthy::default();
    let mut latency = Histogram::new();
    let mut ready = Some(ready);
    let mut stream = match tokio::time::timeout(CONNECT_TIMEOUT, connect(&o, None, None)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            h.failed = Some(e.to_string());
            return (h, latency);
        }
        Err(_) => {
            h.failed = Some("connect timed out".into());
            return (h, latency);
        }
    };
    let mut reader = Reader::new();
    let mut buf = vec![0; 16 * 1024];
    let mut previous: Option<u64> = None;
    loop {
        let read = tokio::select! {
            read = stream.read(&mut buf) => read,
            _ = stop.changed() => break,
        };
        let n = match read {
            Ok(0) => {
                h.ended = Some("the server ended the stream".into());
                break;
            }
            Ok(n) => n,
            Err(e) => {
                h.ended = Some(e.to_string());
                break;
            }
        };
        let now = unix_nanos();
        let fed = reader.feed(&buf[..n], &mut |event| {
            h.events += 1;
            if let Some(t) = event.t {
                latency.record(now.saturating_sub(t) / 1000);
            }
            if let Some(prev) = previous {
                if event.seq > prev + 1 {
                    h.gaps += 1;
                    h.missing += event.seq - prev - 1;
                } else if event.seq <= prev {
                    h.gaps += 1;
                    h.reordered += 1;
                }
            }
            previous = Some(event.seq);
            shared.latest_seq.fetch_max(event.seq, Relaxed);
            if let Some(id) = event.id {
                shared.saw_id(id, event.seq);
            }
        });
        if let Err(e) = fed {
            h.ended = Some(e);
            break;
        }
        if reader.ended() {
            h.ended = Some("the server ended the stream".into());
            break;
        }
        if h.events > 0 {
            if let Some(ready) = ready.take() {
                let _ = ready.try_send(());
            }
        }
    }
    (h, latency)
}
