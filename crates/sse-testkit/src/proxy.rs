//! A TCP proxy that a test can cut and redirect.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinHandle,
};

/// A TCP proxy on a free port of 127.0.0.1, forwarding each connection to
/// the current target: a load balancer in front of several servers, or the
/// network between a server and Redis.
///
/// [`cut`](Proxy::cut) closes every open connection at once, as a crashed
/// process or a broken network does; [`set_target`](Proxy::set_target)
/// sends new connections elsewhere; [`refuse`](Proxy::refuse) makes new
/// connections close at once until a target is set again. Stops when
/// dropped.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    target: Arc<Mutex<Option<SocketAddr>>>,
    /// Incremented by `cut`: connections of an older generation close.
    generation: watch::Sender<u64>,
    task: JoinHandle<()>,
}

impl Proxy {
    /// A proxy to `target`.
    ///
    /// # Panics
    ///
    /// If no port can be bound.
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port on 127.0.0.1");
        let addr = listener.local_addr().expect("a bound listener's address");
        let target = Arc::new(Mutex::new(Some(target)));
        let (generation, _) = watch::channel(0);
        let task = tokio::spawn(accept(listener, target.clone(), generation.clone()));
        Proxy {
            addr,
            target,
            generation,
            task,
        }
    }

    /// The address to connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends new connections to `target`.
    pub fn set_target(&self, target: SocketAddr) {
        *self.target.lock().unwrap_or_else(PoisonError::into_inner) = Some(target);
    }

    /// Closes new connections at once, until [`set_target`](Proxy::set_target).
    pub fn refuse(&self) {
        *self.target.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Closes every open connection.
    pub fn cut(&self) {
        self.generation.send_modify(|generation| *generation += 1);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut();
    }
}

async fn accept(
    listener: TcpListener,
    target: Arc<Mutex<Option<SocketAddr>>>,
    generation: watch::Sender<u64>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let target = *target.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(target) = target else {
            drop(client);
            continue;
        };
        let mut cut = generation.subscribe();
        let born = *cut.borrow_and_update();
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(target).await else {
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (mut client, mut server) = (client, server);
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                _ = cut.wait_for(|now| *now != born) => {}
            }
        });
    }
}
