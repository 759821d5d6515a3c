//! Two server processes (two `sse-server`s, each with its own Redis
//! provider, on two ports) share one stream on a real redis-server. A
//! reconnecting client follows node A through a proxy, as through a load
//! balancer; events published on B reach it; A goes down and the proxy
//! sends the client to B, which replays what it missed, once, in order.
#![cfg(all(feature = "server", feature = "client", feature = "redis"))]

use futures_util::StreamExt;
use sse::{
    Message, Topic,
    client::{Client, Update},
    redis::Redis,
    server::{ConnectionLimits, Server},
};
use sse_testkit::{Proxy, RedisServer, Served, bounded, serve, wait_until};
use std::time::Duration;

/// A node: a Redis provider and an SSE server on hyper, on its own port.
struct Node {
    server: Server<Redis>,
    served: Served,
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
        let limits = ConnectionLimits::new();
        let served = serve(tcp, move |tcp| limits.tcp(tcp), server.clone());
        Node { server, served }
    }

    async fn publish(&self, data: &str) {
        self.server
            .publish(Message::new().data(data), &[Topic::DEFAULT])
            .await
            .unwrap();
    }

    /// Stops it as a process stops: open streams ended, the provider's
    /// reader stopped, no more connections.
    async fn stop(self) {
        self.server.shutdown();
        sse::Provider::shutdown(self.server.provider()).await;
        self.served.graceful_shutdown().await;
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
    let balancer = Proxy::start(a.served.addr).await;

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
    balancer.set_target(b.served.addr);
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
