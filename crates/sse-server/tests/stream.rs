//! `StreamResponse` over real sockets, under axum and plain hyper.

mod common;

use common::{Events, bounded, client, serve, serve_axum};
use futures_util::stream;
use sse_codec::{EventId, Message};
use sse_server::StreamResponse;
use std::{convert::Infallible, io, time::Duration};

fn tokens() -> Vec<Message> {
    ["Hel", "lo", ", world"]
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            Message::new()
                .id(EventId::try_from(i.to_string()).unwrap())
                .data(t)
        })
        .collect()
}

#[tokio::test]
async fn stream_of_messages_under_axum() {
    // Returned as it is: with the `axum` feature, an axum response.
    async fn handler() -> StreamResponse<stream::Iter<std::vec::IntoIter<Message>>> {
        StreamResponse::new(stream::iter(tokens()))
    }
    let addr =
        serve_axum(axum::Router::new().route("/complete", axum::routing::post(handler))).await;
    let response = client()
        .post(format!("http://{addr}/complete"))
        .body("prompt")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    assert_eq!(response.headers()["x-accel-buffering"], "no");
    assert!(response.headers().get(sse_server::RESUME_HEADER).is_none());
    let mut events = Events::new(response);
    let got = bounded(events.rest()).await;
    let data: Vec<_> = got.iter().map(|e| e.data()).collect();
    assert_eq!(data, ["Hel", "lo", ", world"]);
    assert_eq!(got[2].last_event_id().as_str(), "2");
    assert_eq!(events.end().await, Ok(()));
}

#[tokio::test]
async fn stream_of_results_under_hyper_aborts_on_error() {
    let service = tower::service_fn(|request: http::Request<hyper::body::Incoming>| async move {
        let response = if request.uri().path() == "/fail" {
            let items = vec![
                Ok(Message::new().data("partial")),
                Err(io::Error::other("upstream went away")),
                Ok(Message::new().data("never sent")),
            ];
            StreamResponse::new(stream::iter(items)).into_response()
        } else {
            let items = tokens().into_iter().map(Ok::<_, io::Error>);
            StreamResponse::new(stream::iter(items))
                .retry(Duration::from_secs(1))
                .into_response()
        };
        Ok::<_, Infallible>(response)
    });
    let served = serve(service).await;

    let mut ok = Events::get(served.url("/ok")).await;
    assert_eq!(ok.data(3).await, ["Hel", "lo", ", world"]);
    assert_eq!(ok.end().await, Ok(()));
    assert!(ok.raw.starts_with(b"retry: 1000\n\n"));

    // The error aborts the response: the client sees a failed body, not a
    // clean end, and nothing after the error.
    let mut failed = Events::get(served.url("/fail")).await;
    assert!(bounded(failed.end()).await.is_err());
    assert!(!String::from_utf8_lossy(&failed.raw).contains("never sent"));
}

#[tokio::test]
async fn idle_stream_gets_keep_alive() {
    let (tx, rx) = tokio::sync::mpsc::channel::<Message>(1);
    let rx = std::sync::Arc::new(std::sync::Mutex::new(Some(rx)));
    let service = tower::service_fn(move |_: http::Request<hyper::body::Incoming>| {
        let rx = rx_once(&rx);
        async move {
            Ok::<_, Infallible>(
                StreamResponse::new(rx)
                    .keep_alive(Some(Duration::from_millis(100)))
                    .into_response(),
            )
        }
    });
    let served = serve(service).await;
    let mut events = Events::get(served.url("/")).await;
    events.raw_until(b": keep-alive\n\n").await;
    tx.send(Message::new().data("late")).await.unwrap();
    assert_eq!(events.data(1).await, ["late"]);
    drop(tx);
    assert_eq!(bounded(events.end()).await, Ok(()));
}

/// The receiver, as a stream, for the first request only.
fn rx_once(
    rx: &std::sync::Arc<std::sync::Mutex<Option<tokio::sync::mpsc::Receiver<Message>>>>,
) -> impl futures_util::Stream<Item = Message> + Send + use<> {
    let rx = rx.lock().unwrap().take().expect("one request");
    stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|m| (m, rx)) })
}
