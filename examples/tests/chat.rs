//! The demo's chat endpoint against clients that send too much, or too
//! slowly: the demo in process, on a real socket.

use sse_examples::demo::{Backend, CHAT_BODY_TIMEOUT, Demo, HISTORY, MAX_CHAT_BODY};
use std::net::SocketAddr;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

async fn serve() -> SocketAddr {
    serve_demo(Demo::new()).await
}

async fn serve_demo(demo: Demo) -> SocketAddr {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let app = demo.router();
    tokio::spawn(async move { axum::serve(tcp, app).await });
    addr
}

/// Sends `head` and `body`, then reads the status line of the answer.
async fn status(addr: SocketAddr, head: &str, body: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = vec![0; 1024];
    let n = stream.read(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]).into_owned();
    answer.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_chat_body_over_the_limit_is_refused() {
    let addr = serve().await;
    let text = "x".repeat(MAX_CHAT_BODY);
    let body = format!(r#"{{"name":"big","text":"{text}"}}"#);
    // Announced too large, and too large without announcing it (chunked).
    let sized = format!(
        "POST /chat HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    assert_eq!(
        status(addr, &sized, body.as_bytes()).await,
        "HTTP/1.1 413 Payload Too Large"
    );
    let chunked = "POST /chat HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
    let mut framed = format!("{:x}\r\n", body.len()).into_bytes();
    framed.extend_from_slice(body.as_bytes());
    framed.extend_from_slice(b"\r\n0\r\n\r\n");
    assert_eq!(
        status(addr, chunked, &framed).await,
        "HTTP/1.1 413 Payload Too Large"
    );
}

#[tokio::test(start_paused = true)]
async fn a_chat_body_that_never_arrives_is_answered_at_the_timeout() {
    let addr = serve().await;
    // Half the announced body, then nothing: the runtime's clock runs on
    // while everything waits, so the answer comes at the timeout at once.
    let head = "POST /chat HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 40\r\n\r\n";
    let start = tokio::time::Instant::now();
    let answer = tokio::time::timeout(
        2 * CHAT_BODY_TIMEOUT,
        status(addr, head, br#"{"name":"slow","#),
    );
    assert_eq!(
        answer.await.expect("no answer"),
        "HTTP/1.1 408 Request Timeout"
    );
    assert!(start.elapsed() >= CHAT_BODY_TIMEOUT);
}

#[tokio::test]
async fn a_chat_redis_did_not_answer_is_reported_as_maybe_sent_not_as_failed() {
    use sse::redis::client as redis;
    let server = sse_testkit::RedisServer::start();
    let demo = Demo::on(Backend::redis(&server.url(), HISTORY).await.unwrap());
    let addr = serve_demo(demo).await;
    let post = |text: &'static str| async move {
        reqwest::Client::new()
            .post(format!("http://{addr}/chat"))
            .json(&serde_json::json!({ "name": "n", "text": text }))
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(post("before").await, 204);
    // Writes wait (longer than the provider's 5 s response timeout), so
    // the publish is on Redis's socket with no answer: it may be stored.
    let client = redis::Client::open(server.url()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(7000)
        .arg("WRITE")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(post("during").await, 504);
    // Stopped: once the lost connection is known (the first publish on it
    // may still not know whether its command went out), nothing can be
    // stored, and the answer says so.
    drop(admin);
    drop(server);
    let mut answers = Vec::new();
    while answers.last() != Some(&503) && answers.len() < 5 {
        answers.push(post("after").await.as_u16());
    }
    assert_eq!(answers.last(), Some(&503), "{answers:?}");
    assert!(
        answers.iter().all(|&status| status == 503 || status == 504),
        "{answers:?}"
    );
}
