//! Two server processes (two `sse-server`s, each with its own Redis
//! provider, on two ports) share one stream on a real redis-server. A
//! reconnecting client follows node A through a proxy, as through a load
//! balancer; events published on B reach it; A goes down and the proxy
//! sends the client to B, which replays what it missed, once, in order.
#![cfg(all(feature = "server", feature = "client", feature = "redis"))]

use futures_util::StreamExt;
use hyper_util::{rt::TokioIo, server::graceful::GracefulShutdown, service::TowerToHyperService};
use sse::{
    Message, Topic,
    client::{Client, Update},
    redis::Redis,
    server::{ConnectionLimits, Server},
};
use sse_testkit::{Proxy, RedisServer, bounded, wait_until};
use std::{net::SocketAddr, time::Duration};
use tokio::sync::oneshot;

/// A node: a Redis provider and an SSE server on hyper, on its own port.
struct Node {
    server: Server<Redis>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Node {
    async fn start(redis_url: &str) -> Node {
        let redis = Redis::builder(redis_url)
            .key("several")
            .build()
            .await
            .unwrap();
        let server = Server::builder(redis)
            .retry(Duration::from_millis(50))
            .build();
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let listener = ConnectionLimits::new().listen(tcp);
        let (stop, mut stopped) = oneshot::channel();
        let service = server.clone();
        let task = tokio::spawn(async move {
            let graceful = GracefulShutdown::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((io, _)) = accepted else { continue };
                        let conn = hyper::server::conn::http1::Builder::new().serve_connection(
                            TokioIo::new(io),
                            TowerToHyperService::new(service.clone()),
                        );
                        let conn = graceful.watch(conn);
                        tokio::spawn(async move {
                            let _ = conn.await;
                        });
                    }
                    _ = &mut stopped => break,
                }
            }
            let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
        });
        Node {
            server,
            addr,
            stop: Some(stop),
            task,
        }
    }

    async fn publish(&self, data: &str) {
        self.server
            .publish(Message::new().data(data), &[Topic::DEFAULT])
            .await
            .unwrap();
    }

    /// Stops it as a process stops: no more connections, open streams
    /// ended, the provider's reader stopped.
    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.server.shutdown();
        sse::Provider::shutdown(self.server.provider()).await;
        bounded("node A's connections close", &mut self.task)
            .await
            .unwrap();
    }
}

type Received = tokio::sync::mpsc::UnboundedReceiver<(usize, sse::Event)>;

/// The next event the client received, and how many times it had
/// connected by then.
async fn next(received: &mut Received) -> (usize, sse::Event) {
    bounded("the next event", received.recv()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_moves_to_another_node_and_misses_nothing() {
    let redis = RedisServer::start();
    let a = Node::start(&redis.url()).await;
    let b = Node::start(&redis.url()).await;
    let balancer = Proxy::start(a.addr).await;

    let client = Client::builder()
        .initial_interval(Duration::from_millis(50))
        .max_interval(Duration::from_millis(200))
        .build()
        .unwrap();
    let mut connection = client.get(balancer.url("/events"));
    let (tx, mut received) = tokio::sync::mpsc::unbounded_channel();
    let follower = tokio::spawn(async move {
        let mut opens = 0;
        while let Some(update) = connection.next().await {
            match update.unwrap() {
                Update::Open(_) => opens += 1,
                Update::Event(event) => {
                    let _ = tx.send((opens, event));
                }
                _ => {}
            }
        }
    });
    wait_until("the client is subscribed on A", || {
        a.server.provider().subscriber_count() == 1
    })
    .await;

    // Published on B, delivered through A; and the other way.
    b.publish("1 from b").await;
    a.publish("2 from a").await;
    let (_, one) = next(&mut received).await;
    let (_, two) = next(&mut received).await;
    assert_eq!((one.data(), two.data()), ("1 from b", "2 from a"));

    // A goes down; the balancer has nowhere to send the client for now,
    // and B goes on publishing.
    balancer.refuse();
    a.stop().await;
    balancer.cut();
    for i in 3..=5 {
        b.publish(&format!("{i} from b while a is down")).await;
    }
    // The balancer now sends the client to B, which replays 3 to 5.
    balancer.set_target(b.addr);
    let mut rest = Vec::new();
    for _ in 3..=5 {
        let (opens, event) = next(&mut received).await;
        assert!(opens >= 2, "delivered after a reconnect");
        rest.push(event.data().to_owned());
    }
    assert_eq!(
        rest,
        [
            "3 from b while a is down",
            "4 from b while a is down",
            "5 from b while a is down"
        ]
    );
    assert_eq!(b.server.provider().stats().replays_exact, 1);

    // And live on B, with nothing twice.
    b.publish("6 from b").await;
    let (_, six) = next(&mut received).await;
    assert_eq!(six.data(), "6 from b");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), received.recv())
            .await
            .is_err(),
        "nothing more, nothing twice"
    );
    follower.abort();
}
