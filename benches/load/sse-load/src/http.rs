//! The HTTP/1.1 the kit speaks: a loopback URL, the request, and the
//! response head.

use std::net::{SocketAddr, ToSocketAddrs};

use memchr::memmem;

/// Where to connect and what to send.
#[derive(Debug, Clone)]
pub struct Target {
    /// The server's address: always a loopback one.
    pub addr: SocketAddr,
    /// The `Host` header's value.
    pub authority: String,
    /// The request target (path and query).
    pub path: String,
}

impl Target {
    /// Parses an `http://` URL; anything but a loopback host (127.0.0.0/8,
    /// `::1`, or a name that resolves to them only) is refused, so that the
    /// kit never loads someone else's server.
    pub fn parse(url: &str) -> Result<Target, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url}: only http:// URLs are supported"))?;
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_string()),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(format!("{url}: bad authority"));
        }
        let has_port = match authority.rfind(']') {
            Some(close) => authority[close..].contains(':'),
            None => authority.contains(':'),
        };
        let with_port = if has_port {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        let addrs: Vec<SocketAddr> = with_port
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {authority}: {e}"))?
            .collect();
        match addrs.first() {
            Some(&addr) if addrs.iter().all(|a| a.ip().is_loopback()) => Ok(Target {
                addr,
                authority: authority.to_string(),
                path,
            }),
            _ => Err(format!(
                "refusing {authority}: sse-load only loads loopback servers (127.0.0.0/8, ::1)"
            )),
        }
    }

    /// The request, resuming after `last_event_id` if given.
    pub fn request(&self, last_event_id: Option<&[u8]>) -> Vec<u8> {
        let mut r = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\nUser-Agent: sse-load/{}\r\n",
            self.path,
            self.authority,
            env!("CARGO_PKG_VERSION")
        )
        .into_bytes();
        if let Some(id) = last_event_id {
            r.extend_from_slice(b"Last-Event-ID: ");
            r.extend_from_slice(id);
            r.extend_from_slice(b"\r\n");
        }
        r.extend_from_slice(b"\r\n");
        r
    }
}

/// How the response's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// The body runs until the server closes the connection.
    Close,
}

/// A response head, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The status code.
    pub status: u16,
    /// The status line, for error messages.
    pub status_line: String,
    /// How the body is delimited.
    pub framing: Framing,
    /// The head's length in bytes, blank line included: the body starts
    /// there.
    pub len: usize,
}

/// Parses the response head at the start of `buf`: `Ok(None)` while it is
/// incomplete.
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, String> {
    let Some(end) = memmem::find(buf, b"\r\n\r\n") else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&buf[..end]);
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_string();
    let mut parts = status_line.split(' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP/1 response: {status_line:?}"));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line: {status_line:?}"))?;
    let mut framing = Framing::Close;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("transfer-encoding")
                && value.to_ascii_lowercase().contains("chunked")
            {
                framing = Framing::Chunked;
            }
        }
    }
    Ok(Some(Head {
        status,
        status_line,
        framing,
        len: end + 4,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only() {
        assert!(Target::parse("http://10.0.0.1:80/").is_err());
        assert!(Target::parse("http://8.8.8.8/events").is_err());
        assert!(Target::parse("https://127.0.0.1/").is_err());
        let t = Target::parse("http://127.0.0.1:8080/events?x=1").unwrap();
        assert_eq!(t.addr.port(), 8080);
        assert_eq!(t.path, "/events?x=1");
        assert!(Target::parse("http://[::1]:8080/").is_ok());
        assert_eq!(Target::parse("http://127.0.0.1").unwrap().addr.port(), 80);
    }

    #[test]
    fn heads() {
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\n").unwrap(), None);
        let head = parse_head(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\nab",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (head.status, head.framing, head.len),
            (200, Framing::Chunked, 80)
        );
        let head = parse_head(b"HTTP/1.0 503 Busy\r\n\r\n").unwrap().unwrap();
        assert_eq!((head.status, head.framing), (503, Framing::Close));
        assert!(parse_head(b"SSH-2.0\r\n\r\n").is_err());
    }
}
