//! A connection with limits ([`LimitedIo`]) over an in-memory pipe, with
//! paused time, by limit: the write, head and body timeouts, and the idle
//! timeout.

mod idle;
mod timeouts;

use super::{ConnectionLimits, LimitedIo};
use std::{io, time::Duration};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};

const T: Duration = Duration::from_secs(10);

fn wrap(limits: ConnectionLimits) -> (LimitedIo<DuplexStream>, DuplexStream) {
    let (server, client) = duplex(1024);
    (limits.wrap(server), client)
}

/// Writes bytes and has the client take them.
async fn answer(io: &mut LimitedIo<DuplexStream>, client: &mut DuplexStream, bytes: &[u8]) {
    io.write_all(bytes).await.unwrap();
    let mut buf = vec![0; bytes.len()];
    client.read_exact(&mut buf).await.unwrap();
}

/// Reads what is there, or the error; `None` if nothing came in time.
async fn read(io: &mut LimitedIo<DuplexStream>, within: Duration) -> Option<io::Result<usize>> {
    let mut buf = [0; 256];
    tokio::time::timeout(within, io.read(&mut buf)).await.ok()
}

/// Which limit timed the read out.
fn which(result: Option<io::Result<usize>>) -> String {
    match result {
        Some(Err(e)) if e.kind() == io::ErrorKind::TimedOut => e.to_string(),
        other => panic!("not timed out: {other:?}"),
    }
}

/// Reads until a limit times the read out: which one, and how long that
/// took.
async fn timed_out(io: &mut LimitedIo<DuplexStream>, within: Duration) -> (String, Duration) {
    let start = tokio::time::Instant::now();
    let which = which(read(io, within).await);
    (which, start.elapsed())
}

/// Sends bytes and reads them through.
async fn send(io: &mut LimitedIo<DuplexStream>, client: &mut DuplexStream, bytes: &[u8]) {
    client.write_all(bytes).await.unwrap();
    let mut buf = vec![0; bytes.len()];
    io.read_exact(&mut buf).await.unwrap();
}

const POST: &[u8] = b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n";
