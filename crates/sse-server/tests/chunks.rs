//! The chunks a response hands the HTTP layer: a large frame as the
//! provider encoded it, for every subscriber, small frames ready together
//! joined into one.

mod common;

use common::{bounded, publish};
use http_body_util::BodyExt;
use sse_joe::Joe;
use sse_server::Server;
use std::time::Duration;

#[tokio::test]
async fn every_subscriber_is_sent_the_same_frame_without_a_copy() {
    // Called directly, as hyper would: a frame over 2 KiB is a chunk of
    // its own, the very bytes the provider encoded once for every
    // subscriber, so a client that stopped reading holds no copy of its
    // own. (Smaller ones ready together are joined, one write a burst.)
    use tower_service::Service;
    let mut server = Server::new(Joe::new());
    let mut responses = Vec::new();
    for _ in 0..2 {
        let response = server
            .call(http::Request::get("/").body(()).unwrap())
            .await
            .unwrap();
        responses.push(response);
    }
    let data = |i: usize| format!("{i:>4}{}", "x".repeat(3000));
    for i in 0..20 {
        publish(&server, data(i)).await;
    }
    // Where each chunk's bytes are; the chunks themselves are dropped as
    // a connection's writes would drop them (a response that sees its
    // chunks kept stops at its unsent limit). Joe's log keeps the frames.
    let mut chunks = Vec::new();
    for response in &mut responses {
        let mut mine = Vec::new();
        for i in 0..20 {
            let frame = bounded(response.body_mut().frame()).await.unwrap().unwrap();
            let chunk = frame.into_data().unwrap();
            assert_eq!(chunk, format!("data: {}\n\n", data(i)));
            mine.push(chunk.as_ptr() as usize);
        }
        chunks.push(mine);
    }
    assert_eq!(chunks[0], chunks[1], "frames were copied");
}

#[tokio::test]
async fn small_frames_ready_together_go_out_as_one_chunk() {
    use tower_service::Service;
    let mut server = Server::new(Joe::new());
    let mut response = server
        .call(http::Request::get("/").body(()).unwrap())
        .await
        .unwrap();
    for i in 0..100 {
        publish(&server, i.to_string()).await;
    }
    let chunk = bounded(response.body_mut().frame())
        .await
        .unwrap()
        .unwrap()
        .into_data()
        .unwrap();
    let expected: String = (0..100).map(|i| format!("data: {i}\n\n")).collect();
    assert_eq!(chunk, expected);
}

#[tokio::test]
async fn with_a_write_delay_events_published_apart_reach_the_client_in_one_write() {
    // Ten events 10 ms apart, well within the delay: the response holds
    // the first until the delay has passed, and the client, over a real
    // socket, reads them all in one chunk. Without the delay each goes
    // out as it comes.
    let server = Server::builder(Joe::new())
        .write_delay(Some(Duration::from_secs(2)))
        .build();
    let served = common::serve(server.clone()).await;
    let mut response = bounded(common::client().get(served.url("/")).send())
        .await
        .unwrap();
    for i in 0..10 {
        publish(&server, i.to_string()).await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let chunk = bounded(response.chunk()).await.unwrap().unwrap();
    let expected: String = (0..10).map(|i| format!("data: {i}\n\n")).collect();
    assert_eq!(String::from_utf8_lossy(&chunk), expected);
    // The next event waits for a delay of its own, and comes.
    publish(&server, "last").await;
    let chunk = bounded(response.chunk()).await.unwrap().unwrap();
    assert_eq!(chunk, "data: last\n\n");
}
