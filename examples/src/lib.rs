//! Runnable examples of the `sse` crates; see the binaries in `src/bin`.
//!
//! The demo application lives in [`demo`], so that its browser test can
//! start it in-process.

pub mod demo;

/// Serving over TLS: `sse-server`'s, which the demo and its tests use.
pub use sse::server::tls;

use std::{io, time::Duration};

/// How long a server example waits after Ctrl-C for its open connections to
/// close before it exits anyway. A client that never reads cannot take the
/// end of its stream, so without a deadline a graceful shutdown would wait
/// for the write timeout (or for ever, without one).
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// Serves `app` with `axum::serve` on `listener` (a
/// [`LimitedListener`](sse::server::LimitedListener),
/// whose connections have the `ConnectionLimits` it was made with, or a
/// [`tls::TlsListener`] over one) until Ctrl-C; then calls
/// `on_shutdown`, which should end the open event streams (`Server::shutdown`),
/// and waits for the connections to close, at most [`SHUTDOWN_DEADLINE`].
///
/// Returns whether every connection closed in time.
///
/// # Errors
///
/// What `axum::serve` returns.
pub async fn serve_until_ctrl_c<L>(
    listener: L,
    app: axum::Router,
    on_shutdown: impl FnOnce() + Send + 'static,
) -> io::Result<bool>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = tokio::signal::ctrl_c().await;
        on_shutdown();
        let _ = stopping.send(());
    });
    let deadline = async {
        if stopped.await.is_err() {
            // The server ended by itself: never cut it short.
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(SHUTDOWN_DEADLINE).await;
    };
    tokio::select! {
        served = serve => served.map(|()| true),
        () = deadline => Ok(false),
    }
}

/// Parses the command line of the small examples, whose one option is
/// `--port N`: `Ok(Some(port))`, `Ok(None)` for `-h`/`--help`, or what is
/// wrong with the arguments.
///
/// # Errors
///
/// A message for an unknown argument or a `--port` without a number.
pub fn port_arg(
    mut args: impl Iterator<Item = String>,
    default: u16,
) -> Result<Option<u16>, String> {
    let mut port = default;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                port = args
                    .next()
                    .and_then(|value| value.parse().ok())
                    .ok_or("--port needs a number from 0 to 65535")?;
            }
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(Some(port))
}

/// Listens on `127.0.0.1:port` for a binary named `name`, or exits (status
/// 1) saying why, with a hint about `--port` when the port is taken.
pub async fn bind_or_exit(name: &str, port: u16) -> tokio::net::TcpListener {
    match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(tcp) => tcp,
        Err(error) => {
            eprintln!("{name}: cannot listen on 127.0.0.1:{port}: {error}");
            if error.kind() == io::ErrorKind::AddrInUse {
                eprintln!("{name}: another program uses that port; pick one with --port N");
            }
            std::process::exit(1);
        }
    }
}

/// The port from this process's command line, for a binary named `name`
/// whose one option is `--port N`: prints `usage` and exits on `--help`
/// (status 0) or on a bad argument (status 2, with what is wrong).
pub fn port_or_exit(name: &str, default: u16, usage: &str) -> u16 {
    match port_arg(std::env::args().skip(1), default) {
        Ok(Some(port)) => port,
        Ok(None) => {
            print!("{usage}");
            std::process::exit(0);
        }
        Err(problem) => {
            eprintln!("{name}: {problem}\n{usage}");
            std::process::exit(2);
        }
    }
}

/// An event as the `follow` examples print it: its type, its last event
/// ID (when set) and its data, `type #id: data`.
pub fn event_line(event: &sse::Event) -> String {
    let id = event.last_event_id();
    if id.is_empty() {
        format!("{}: {}", event.event_type(), event.data())
    } else {
        format!("{} #{}: {}", event.event_type(), id.as_str(), event.data())
    }
}

#[cfg(test)]
mod tests {
    use super::port_arg;

    fn args(list: &[&str]) -> impl Iterator<Item = String> {
        list.iter()
            .map(|s| (*s).to_owned())
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn port_arg_parses_or_explains() {
        assert_eq!(port_arg(args(&[]), 8081), Ok(Some(8081)));
        assert_eq!(port_arg(args(&["--port", "0"]), 8081), Ok(Some(0)));
        assert_eq!(port_arg(args(&["--help"]), 8081), Ok(None));
        assert!(port_arg(args(&["--port"]), 8081).is_err());
        assert!(port_arg(args(&["--port", "x"]), 8081).is_err());
        assert!(port_arg(args(&["--bogus"]), 8081).is_err());
    }
}
