//! The chunks a response hands the HTTP layer: a large frame as the
//! provider encoded it, for every subscriber, small frames ready together
//! joined into one.

mod common;

use common::{bounded, publish};
use http_body_util::BodyExt;
use sse_joe::Joe;
use sse_server::Server;

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
