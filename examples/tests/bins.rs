//! Every example binary, run as a user runs it: started as a process,
//! talked to over 127.0.0.1, stopped with Ctrl-C (SIGINT) where it serves
//! until then.

use futures_util::StreamExt;
use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::mpsc::{Receiver, RecvTimeoutError},
    time::{Duration, Instant},
};

/// How long a binary may take to print an expected line.
const LINE_LIMIT: Duration = Duration::from_secs(30);

struct Running {
    child: Child,
    /// Stdout, line by line, from a reader thread: a binary that hangs
    /// fails the test instead of blocking it.
    lines: Receiver<String>,
}

impl Running {
    fn start(exe: &str, args: &[&str]) -> Running {
        let mut child = Command::new(exe)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Running { child, lines }
    }

    /// Reads stdout lines until one contains `needle`; returns that line.
    fn line_with(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + LINE_LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line.trim().to_owned(),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no line with {needle:?} within {LINE_LIMIT:?}")
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("stdout ended before a line with {needle:?}")
                }
            }
        }
    }

    /// The `http://...` URL in the first line that has one.
    fn url(&mut self) -> String {
        let line = self.line_with("http://");
        let start = line.find("http://").unwrap();
        line[start..].split_whitespace().next().unwrap().to_owned()
    }

    /// Sends Ctrl-C and waits (bounded) for a clean exit; returns the rest
    /// of stdout.
    fn interrupt(mut self) -> String {
        // The shell's own `kill`: no procps needed.
        let status = Command::new("sh")
            .args(["-c", &format!("kill -INT {}", self.child.id())])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "exit status {status}");
                // The reader thread ends with stdout, which has closed.
                let mut rest = String::new();
                while let Ok(line) = self.lines.recv_timeout(LINE_LIMIT) {
                    rest.push_str(&line);
                    rest.push('\n');
                }
                return rest;
            }
            assert!(Instant::now() < deadline, "did not exit after Ctrl-C");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads the first event of a stream at `url`.
async fn first_event(url: &str) -> sse::Event {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut events = sse::read(response);
    tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("an event within 10 s")
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn demo_serves_the_page_and_the_stream_and_stops_on_ctrl_c() {
    let mut demo = Running::start(
        env!("CARGO_BIN_EXE_demo"),
        &["--port", "0", "--tick-ms", "50"],
    );
    let page = demo.url();
    let html = reqwest::get(&page).await.unwrap().text().await.unwrap();
    assert!(html.contains("new EventSource"));
    let event = first_event(&format!("{page}events")).await;
    assert_eq!(event.event_type(), "tick");
    // An open stream must not keep the server from shutting down.
    let open = reqwest::get(format!("{page}events")).await.unwrap();
    let rest = demo.interrupt();
    assert!(rest.contains("bye"), "{rest}");
    let body = open.text().await.unwrap();
    assert!(body.starts_with("retry: 1000\n"), "{body}");
}

/// A reader that never reads cannot take the end of its stream: Ctrl-C
/// must still end the demo within its shutdown deadline (plus a second).
#[tokio::test]
async fn demo_exits_on_ctrl_c_within_its_deadline_despite_a_stalled_reader() {
    use tokio::io::AsyncWriteExt;

    let mut demo = Running::start(env!("CARGO_BIN_EXE_demo"), &["--port", "0"]);
    let page = demo.url();
    let addr: std::net::SocketAddr = page
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(addr).await.unwrap();
    stalled
        .write_all(b"GET /events?topics=chat HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();

    // Chat until the stalled stream's socket and buffers are full and Joe
    // has ended it: its connection is then stuck until the write timeout.
    let client = reqwest::Client::new();
    let text = "x".repeat(sse_examples::demo::MAX_CHAT_LEN);
    let chat = serde_json::json!({ "name": "filler", "text": text });
    let mut posts = 0;
    loop {
        let stats: sse_examples::demo::Stats = client
            .get(format!("{page}stats"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if stats.joe.lagged > 0 {
            assert_eq!(stats.joe.subscribers, 1, "the stalled connection is open");
            break;
        }
        assert!(
            posts < 20_000,
            "the stalled reader never backed up: {stats:?}"
        );
        let batch = (0..50).map(|_| client.post(format!("{page}chat")).json(&chat).send());
        for response in futures_util::future::join_all(batch).await {
            assert_eq!(response.unwrap().status(), 204);
        }
        posts += 50;
    }

    let start = Instant::now();
    let rest = demo.interrupt();
    let took = start.elapsed();
    assert!(
        took <= sse_examples::SHUTDOWN_DEADLINE + Duration::from_secs(1),
        "exit took {took:?}"
    );
    assert!(rest.contains("bye (connections still open"), "{rest}");
    drop(stalled);
}

/// Two demo processes on one Redis share the chat and its history: what is
/// posted to one reaches a stream on the other, and a client resumes on
/// one from an ID it got from the other.
#[tokio::test]
async fn two_demos_on_redis_share_the_chat_and_resume_each_other() {
    let redis = sse_testkit::RedisServer::start();
    let demo = env!("CARGO_BIN_EXE_demo");
    let args = [
        "--port",
        "0",
        "--tick-ms",
        "3600000",
        "--redis",
        &redis.url(),
    ];
    let (mut a, mut b) = (Running::start(demo, &args), Running::start(demo, &args));
    let (a_url, b_url) = (a.url(), b.url());
    let client = reqwest::Client::new();
    let chat = |url: String, text: &'static str| {
        let client = client.clone();
        async move {
            let body = serde_json::json!({ "name": "t", "text": text });
            let response = client.post(format!("{url}chat")).json(&body).send().await;
            assert_eq!(response.unwrap().status(), 204);
        }
    };
    let text = |event: sse::Event| {
        let chat: sse_examples::demo::Chat = serde_json::from_str(event.data()).unwrap();
        chat.text
    };

    let on_b = client
        .get(format!("{b_url}events?topics=chat"))
        .send()
        .await
        .unwrap();
    let mut on_b = sse::read(on_b);
    chat(a_url.clone(), "posted to a").await;
    let first = tokio::time::timeout(Duration::from_secs(10), on_b.next())
        .await
        .expect("the chat reaches b")
        .unwrap()
        .unwrap();
    assert_eq!(text(first.clone()), "posted to a");

    chat(b_url.clone(), "posted to b").await;
    chat(a_url.clone(), "posted to a again").await;
    let resumed = client
        .get(format!("{a_url}events?topics=chat"))
        .header("last-event-id", first.last_event_id().as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.headers()["sse-resume"], "exact");
    let mut resumed = sse::read(resumed);
    for expected in ["posted to b", "posted to a again"] {
        let event = tokio::time::timeout(Duration::from_secs(10), resumed.next())
            .await
            .expect("the replay")
            .unwrap()
            .unwrap();
        assert_eq!(text(event), expected);
    }
    assert!(a.interrupt().contains("bye"));
    assert!(b.interrupt().contains("bye"));
}

#[tokio::test]
async fn mount_axum_streams_and_stops_on_ctrl_c() {
    let mut app = Running::start(env!("CARGO_BIN_EXE_mount_axum"), &["--port", "0"]);
    let url = app.url();
    assert!(first_event(&url).await.data().starts_with("unix time "));
    let blue = url.replace("/events", "/rooms/blue/events");
    assert!(
        first_event(&blue)
            .await
            .data()
            .starts_with("blue: unix time ")
    );
    let nowhere = url.replace("/events", "/rooms/green/events");
    let refused = reqwest::get(&nowhere).await.unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::NOT_FOUND);
    assert!(app.interrupt().contains("bye"));
}

#[tokio::test]
async fn mount_hyper_streams_and_stops_on_ctrl_c() {
    let mut app = Running::start(env!("CARGO_BIN_EXE_mount_hyper"), &["--port", "0"]);
    let url = app.url();
    assert!(first_event(&url).await.data().starts_with("count "));
    assert!(app.interrupt().contains("bye"));
}

#[tokio::test]
async fn follow_prints_the_demo_feed() {
    let mut demo = Running::start(
        env!("CARGO_BIN_EXE_demo"),
        &["--port", "0", "--tick-ms", "50"],
    );
    let events = format!("{}events", demo.url());
    let mut follow = Running::start(env!("CARGO_BIN_EXE_follow"), &[&events]);
    follow.line_with("tick");
    follow.line_with("tick");
    follow.interrupt();
    demo.interrupt();
}

#[tokio::test]
async fn follow_blocking_reads_the_demo_feed_without_a_runtime() {
    let mut demo = Running::start(
        env!("CARGO_BIN_EXE_demo"),
        &["--port", "0", "--tick-ms", "50"],
    );
    let events = format!("{}events?topics=feed", demo.url());
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_follow_blocking"))
            .args([&events, "--max", "3"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines.iter().all(|line| line.starts_with("tick #")),
        "{text}"
    );
    demo.interrupt();
}

#[test]
fn llm_prints_the_streamed_tokens_and_exits() {
    let output = Command::new(env!("CARGO_BIN_EXE_llm"))
        .arg("Why is the sky blue?")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.split_whitespace().count() > 5, "{text}");
}

#[tokio::test]
async fn fanout_follows_the_load_payload_contract() {
    let mut fanout = Running::start(
        env!("CARGO_BIN_EXE_fanout"),
        &[
            "--port",
            "0",
            "--rate",
            "50",
            "--size",
            "16",
            "--max-secs",
            "30",
        ],
    );
    let url = fanout.url();
    let event = first_event(&url).await;
    let payload: serde_json::Value = serde_json::from_str(event.data()).unwrap();
    assert!(payload["t"].as_u64().is_some(), "{payload}");
    assert!(payload["seq"].as_u64().is_some(), "{payload}");
    assert_eq!(payload["pad"].as_str().unwrap().len(), 16);
    fanout.interrupt();
}

#[tokio::test]
async fn fanout_bare_answers_with_an_idle_event_stream() {
    let mut fanout = Running::start(
        env!("CARGO_BIN_EXE_fanout"),
        &["--port", "0", "--bare", "--max-secs", "30"],
    );
    let url = fanout.url();
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream",
        "{response:?}"
    );
    // The body stays open and empty.
    let mut body = response.bytes_stream();
    let next = tokio::time::timeout(Duration::from_millis(300), body.next()).await;
    assert!(next.is_err(), "the bare body sent {next:?}");
    fanout.interrupt();
}

#[test]
fn bad_arguments_get_the_usage_not_a_panic() {
    for exe in [
        env!("CARGO_BIN_EXE_demo"),
        env!("CARGO_BIN_EXE_mount_axum"),
        env!("CARGO_BIN_EXE_mount_hyper"),
        env!("CARGO_BIN_EXE_fanout"),
        env!("CARGO_BIN_EXE_follow"),
        env!("CARGO_BIN_EXE_follow_blocking"),
        env!("CARGO_BIN_EXE_browser_peer"),
    ] {
        let help = Command::new(exe).arg("--help").output().unwrap();
        assert!(help.status.success(), "{exe} --help: {help:?}");
        assert!(
            String::from_utf8_lossy(&help.stdout).contains("USAGE"),
            "{exe}"
        );
        let bad = Command::new(exe).arg("--bogus").output().unwrap();
        assert_eq!(bad.status.code(), Some(2), "{exe} --bogus: {bad:?}");
        assert!(
            String::from_utf8_lossy(&bad.stderr).contains("USAGE"),
            "{exe}"
        );
    }
    let zero = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["--tick-ms", "0"])
        .output()
        .unwrap();
    assert_eq!(zero.status.code(), Some(2), "{zero:?}");
}

#[test]
fn a_taken_port_is_explained_with_a_hint() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    for exe in [
        env!("CARGO_BIN_EXE_demo"),
        env!("CARGO_BIN_EXE_mount_axum"),
        env!("CARGO_BIN_EXE_mount_hyper"),
        env!("CARGO_BIN_EXE_fanout"),
        env!("CARGO_BIN_EXE_browser_peer"),
    ] {
        let out = Command::new(exe).args(["--port", &port]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{exe}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("cannot listen on 127.0.0.1:{port}"))
                && stderr.contains("pick one with --port N"),
            "{exe}: {stderr}"
        );
    }
}
