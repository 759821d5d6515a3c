//! Closing a connection from another task, whatever it is doing.
// A local server on a socket: not in the browser.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{End, Server, collect, describe, fast, next, status, stream, within};
use futures_util::StreamExt;
use sse_client::Client;
use std::time::Duration;

#[tokio::test]
async fn close_from_another_task() {
    let server = Server::start(|_, _| stream(&["data: a\n\n"], End::Hang)).await;
    let client = fast().build().unwrap();
    let mut connection = client.get(&server.url);
    let handle = connection.close_handle();
    let (opened, wait_open) = tokio::sync::oneshot::channel();
    let closer = tokio::spawn(async move {
        wait_open.await.unwrap();
        handle.close();
        handle
    });
    let mut opened = Some(opened);
    let mut updates = Vec::new();
    within(async {
        while let Some(update) = connection.next().await {
            let line = describe(update);
            if line.starts_with("event") {
                opened.take().unwrap().send(()).unwrap();
            }
            updates.push(line);
        }
    })
    .await;
    assert_eq!(updates, ["open 200", r#"event message "a" id="#, "closed"]);
    assert!(closer.await.unwrap().is_closed());
}

#[tokio::test]
async fn close_while_waiting_to_reconnect() {
    let server = Server::start(|_, _| status(503)).await;
    let client = Client::builder()
        .initial_interval(Duration::from_secs(3600))
        .retry_server_errors(true)
        .build()
        .unwrap();
    let mut connection = client.get(&server.url);
    let first = next(&mut connection).await;
    assert_eq!(first, "retrying after status 503");
    let handle = connection.close_handle();
    tokio::spawn(async move { handle.close() });
    assert_eq!(collect(connection).await, ["closed"]);
}
