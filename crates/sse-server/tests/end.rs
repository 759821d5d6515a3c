//! How a response ends: its client goes away, the provider shuts down, the
//! server shuts down (so that a graceful shutdown completes).

mod common;

use common::{Events, Served, bounded, client, publish, serve, wait_until};
use http::StatusCode;
use sse_joe::{Joe, Provider};
use sse_server::Server;

/// `n` clients reading the stream `served` serves at `/`.
async fn readers(served: &Served, n: usize) -> Vec<Events> {
    let mut readers = Vec::new();
    for _ in 0..n {
        readers.push(Events::get(served.url("/")).await);
    }
    readers
}

#[tokio::test]
async fn client_disconnect_unsubscribes() {
    let joe = Joe::new();
    let server = Server::new(joe.clone());
    let served = serve(server.clone()).await;

    let responses: Vec<_> =
        futures_util::future::join_all((0..3).map(|_| client().get(served.url("/")).send())).await;
    assert_eq!(joe.subscriber_count(), 3);
    let mut responses: Vec<_> = responses.into_iter().map(Result::unwrap).collect();
    responses.pop();
    // No event is published: the server notices the closed connection by
    // itself.
    wait_until("one client is unsubscribed", || joe.subscriber_count() == 2).await;
    drop(responses);
    wait_until("every client is unsubscribed", || {
        joe.subscriber_count() == 0
    })
    .await;
}

#[tokio::test]
async fn provider_shutdown_ends_every_response() {
    let joe = Joe::new();
    let server = Server::new(joe.clone());
    let served = serve(server.clone()).await;
    let mut clients = readers(&served, 3).await;
    publish(&server, "last").await;
    joe.shutdown().await;
    for events in &mut clients {
        // Frames queued before the shutdown still arrive, then the end.
        assert_eq!(events.data(1).await, ["last"]);
        assert_eq!(bounded(events.end()).await, Ok(()));
    }
    // Later sessions cannot subscribe: their stream ends at once, with the
    // event-stream status and headers, so that EventSource reconnects
    // (any other status would make it give up for good).
    let response = client().get(served.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(bounded(response.bytes()).await.unwrap(), "");
    served.graceful_shutdown().await;
}

#[tokio::test]
async fn server_shutdown_ends_responses_so_graceful_shutdown_completes() {
    let joe = Joe::new();
    // No keep-alive: a comment would wake the bodies anyway, and the test
    // is that the shutdown wakes them.
    let server = Server::builder(joe.clone()).keep_alive(None).build();
    let served = serve(server.clone()).await;
    let mut clients = readers(&served, 3).await;
    assert_eq!(joe.subscriber_count(), 3);

    server.shutdown();
    assert!(server.is_shut_down());
    for events in &mut clients {
        assert_eq!(bounded(events.end()).await, Ok(()));
    }
    wait_until("bodies are unsubscribed", || joe.subscriber_count() == 0).await;
    // New sessions get a stream that ends at once; the provider itself
    // still runs.
    let response = client().get(served.url("/")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(bounded(response.bytes()).await.unwrap(), "");
    assert_eq!(joe.subscriber_count(), 0);
    assert!(!joe.is_closed());
    // Waits for every connection: it returns because the streams ended.
    served.graceful_shutdown().await;
}
