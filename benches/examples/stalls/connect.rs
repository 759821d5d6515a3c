//! Opening a connection and sending the SSE request.

use std::io;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};

use crate::options::Options;

/// Connect, send the request and see the response head, or give up.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects (with `recv_buffer` set first, if any) and sends the request.
pub(crate) async fn connect(
    o: &Options,
    recv_buffer: Option<u32>,
    last_event_id: Option<&str>,
) -> io::Result<TcpStream> {
    let socket = if o.addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size)?;
    }
    let mut stream = socket.connect(o.addr).await?;
    stream.set_nodelay(true)?;
    let resume = last_event_id.map_or(String::new(), |id| format!("Last-Event-ID: {id}\r\n"));
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n{resume}\r\n",
        o.path, o.authority
    );
    stream.write_all(request.as_bytes()).await?;
    Ok(stream)
}
