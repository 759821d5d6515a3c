//! A real `redis-server` for tests.

use std::{
    net::{SocketAddr, TcpListener},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A `redis-server` process on a free port of 127.0.0.1, with persistence
/// off (or on, from [`start_persistent`](RedisServer::start_persistent))
/// and a working directory of its own; stopped (and its directory removed)
/// when dropped.
///
/// Needs `redis-server` on `PATH` (Debian's `redis-server` package;
/// `scripts/test.sh` installs it), or its path in `REDIS_SERVER`.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    addr: SocketAddr,
    dir: PathBuf,
    persistent: bool,
}

impl RedisServer {
    /// Starts a server and waits until it answers.
    ///
    /// # Panics
    ///
    /// If `redis-server` cannot be started or does not answer in time.
    pub fn start() -> RedisServer {
        RedisServer::start_with(false)
    }

    /// Starts a server that keeps its data across [`restart`](RedisServer::restart):
    /// an append-only file in its directory, written through to the disk
    /// before each write is answered (`appendfsync always`), so that
    /// killing it loses nothing it acknowledged.
    ///
    /// # Panics
    ///
    /// If `redis-server` cannot be started or does not answer in time.
    pub fn start_persistent() -> RedisServer {
        RedisServer::start_with(true)
    }

    fn start_with(persistent: bool) -> RedisServer {
        let dir = std::env::temp_dir().join(format!(
            "sse-testkit-redis-{}-{}",
            std::process::id(),
            unique()
        ));
        std::fs::create_dir_all(&dir).expect("a temporary directory for redis-server");
        // A port is free when we look; another process may take it before
        // redis-server binds it, so try a few.
        for _ in 0..5 {
            let addr = free_port();
            let mut server = RedisServer {
                child: None,
                addr,
                dir: dir.clone(),
                persistent,
            };
            if server.spawn() {
                return server;
            }
        }
        panic!("redis-server did not start on any of 5 free ports");
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server at once (`SIGKILL`): its data is lost unless it is
    /// persistent.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port: empty, or with the data it had if
    /// it is persistent.
    ///
    /// # Panics
    ///
    /// If it does not answer in time.
    pub fn restart(&mut self) {
        self.stop();
        assert!(
            self.spawn(),
            "redis-server did not start again on {}",
            self.addr
        );
    }

    /// Starts the process; whether it answered in time.
    fn spawn(&mut self) -> bool {
        let program = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let mut command = Command::new(&program);
        command
            .args(["--bind", "127.0.0.1", "--port"])
            .arg(self.addr.port().to_string())
            .args(["--save", "", "--appendonly"])
            .arg(if self.persistent { "yes" } else { "no" })
            .arg("--dir")
            .arg(&self.dir);
        if self.persistent {
            command.args(["--appendfsync", "always"]);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot run {program} ({error}): install Debian's redis-server \
                     (./scripts/test.sh does), or set REDIS_SERVER to its path"
                )
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if ping(self.addr) {
                return true;
            }
            if let Some(child) = &mut self.child {
                if let Ok(Some(_)) = child.try_wait() {
                    self.child = None;
                    return false;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop();
        false
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port on 127.0.0.1")
}

/// Whether a server at `addr` answers `PING` with `PONG`.
fn ping(addr: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200))
    else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut reply = [0; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}
