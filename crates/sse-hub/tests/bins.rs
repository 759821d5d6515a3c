//! The `sse-hub` binary as a user runs it: the development mode's printed
//! `curl` commands work as printed, `--help` lists the options with their
//! environment variables, a bad key stops it with a message, Ctrl-C ends
//! it, HTTPS with its certificate files.

mod common;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use common::{
    Events, PUBLISHER_SECRET, SUBSCRIBER_SECRET,
    nodes::{Running, post_to, spawn},
    publisher, subscriber,
};
use reqwest::Version;
use std::{
    fmt::Write as _,
    io::{BufReader, Read},
    path::Path,
    process::{ChildStdout, Command, Stdio},
    sync::mpsc,
    thread,
    time::Duration,
};

/// The hub, started with `args` and no key in its environment, and the
/// lines it printed up to `listening on`.
fn start(args: &[&str]) -> (Running, Vec<String>, BufReader<ChildStdout>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sse-hub"));
    command
        .args(args)
        .env_remove("MERCURE_PUBLISHER_JWT_KEY")
        .env_remove("MERCURE_SUBSCRIBER_JWT_KEY");
    spawn(command)
}

/// The command printed after `label`.
fn command<'a>(lines: &'a [String], label: &str) -> &'a str {
    lines
        .iter()
        .find_map(|line| line.strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label} in {lines:?}"))
        .trim()
}

/// The hub's URL, from its last line, `listening on URL`.
fn listening_url(lines: &[String]) -> String {
    lines
        .last()
        .and_then(|line| line.strip_prefix("listening on "))
        .unwrap_or_else(|| panic!("no listening line in {lines:?}"))
        .to_owned()
}

fn interrupt(Running(child): &mut Running) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    for _ in 0..200 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    panic!("no exit within 10 s of Ctrl-C");
}

#[test]
fn the_development_modes_curl_commands_work_as_printed() {
    let (mut hub, lines, _stdout) = start(&["--addr", "127.0.0.1:0"]);
    assert!(lines[0].starts_with("DEVELOPMENT MODE"), "{lines:?}");
    let subscribe = command(&lines, "Subscribe:");
    let publish = command(&lines, "Publish:");

    let mut curl = Running(
        Command::new("sh")
            .args(["-c", subscribe])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut output = curl.0.stdout.take().unwrap();
    let (got, seen) = mpsc::channel();
    thread::spawn(move || {
        let mut text = Vec::new();
        let mut buffer = [0; 1024];
        while let Ok(n @ 1..) = output.read(&mut buffer) {
            text.extend_from_slice(&buffer[..n]);
            let _ = got.send(String::from_utf8_lossy(&text).into_owned());
        }
    });
    // The subscriber's response head comes first: the stream is open
    // once curl printed the keep-alive or anything; publishing until it
    // shows the update covers the time it takes to connect.
    let mut stream = String::new();
    for _ in 0..50 {
        let published = Command::new("sh").args(["-c", publish]).output().unwrap();
        assert!(published.status.success());
        let id = String::from_utf8(published.stdout).unwrap();
        assert!(id.starts_with("urn:uuid:"), "{id}");
        if let Ok(text) = seen.recv_timeout(Duration::from_millis(200)) {
            stream = text;
            if stream.contains("data: world") {
                break;
            }
        }
    }
    assert!(stream.contains("data: world"), "{stream:?}");
    assert!(stream.contains("id: urn:uuid:"), "{stream:?}");
    drop(curl);
    assert!(interrupt(&mut hub).success());
}

#[test]
fn help_lists_each_option_with_its_environment_variable() {
    let help = Command::new(env!("CARGO_BIN_EXE_sse-hub"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    for expected in [
        "MERCURE_PUBLISHER_JWT_KEY",
        "MERCURE_PUBLISHER_JWT_ALG",
        "MERCURE_SUBSCRIBER_JWT_KEY",
        "MERCURE_SUBSCRIBER_JWT_ALG",
        "SSE_HUB_REDIS_URL",
        "SSE_HUB_CORS_ORIGINS",
        "SSE_HUB_ANONYMOUS",
        "--tls-cert",
        "--history-ttl",
    ] {
        assert!(help.contains(expected), "{expected} in --help");
    }
}

#[test]
fn a_bad_key_stops_it_with_a_message() {
    let output = Command::new(env!("CARGO_BIN_EXE_sse-hub"))
        .args(["--addr", "127.0.0.1:0", "--publisher-jwt-alg", "RS256"])
        .env("MERCURE_PUBLISHER_JWT_KEY", "not a PEM key")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("MERCURE_PUBLISHER_JWT_KEY"), "{stderr}");
}

#[test]
fn an_algorithm_without_its_key_stops_it_rather_than_starting_the_development_mode() {
    for variable in ["MERCURE_PUBLISHER_JWT_ALG", "MERCURE_SUBSCRIBER_JWT_ALG"] {
        let output = Command::new(env!("CARGO_BIN_EXE_sse-hub"))
            .args(["--addr", "127.0.0.1:0"])
            .env_remove("MERCURE_PUBLISHER_JWT_KEY")
            .env_remove("MERCURE_SUBSCRIBER_JWT_KEY")
            .env(variable, "RS256")
            .output()
            .unwrap();
        assert!(!output.status.success(), "{variable}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(!stdout.contains("DEVELOPMENT MODE"), "{stdout}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(
            stderr.contains(&format!("{variable} is set but")),
            "{stderr}"
        );
    }
    // With the publishers' key only, subscribers' tokens are verified with
    // it, in its algorithm.
    let (mut hub, lines, _stdout) = {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sse-hub"));
        command
            .args(["--addr", "127.0.0.1:0"])
            .env(
                "MERCURE_PUBLISHER_JWT_KEY",
                "a secret of at least 32 bytes, for HS384",
            )
            .env("MERCURE_PUBLISHER_JWT_ALG", "HS384")
            .env_remove("MERCURE_SUBSCRIBER_JWT_KEY")
            .env_remove("MERCURE_SUBSCRIBER_JWT_ALG");
        spawn(command)
    };
    assert!(!lines[0].starts_with("DEVELOPMENT MODE"), "{lines:?}");
    assert!(interrupt(&mut hub).success());
}

#[test]
fn metrics_count_updates_refusals_and_joes_messages() {
    let (mut hub, lines, _stdout) = start(&["--addr", "127.0.0.1:0"]);
    let publish = command(&lines, "Publish:");
    let published = Command::new("sh").args(["-c", publish]).output().unwrap();
    assert!(published.status.success());
    let base = listening_url(&lines)
        .trim_end_matches("/.well-known/mercure")
        .to_owned();
    // A publish without a token: refused, and counted.
    let refused = Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-d",
            "topic=t",
        ])
        .arg(format!("{base}/.well-known/mercure"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&refused.stdout), "401");
    let metrics = Command::new("curl")
        .args(["-s", &format!("{base}/metrics")])
        .output()
        .unwrap();
    let metrics = String::from_utf8(metrics.stdout).unwrap();
    for expected in [
        "sse_hub_updates_total{private=\"false\"} 1",
        "sse_hub_refused_total{request=\"publish\",status=\"401\"} 1",
        "sse_hub_open_streams 0",
        "sse_joe_published_total 1",
    ] {
        assert!(metrics.contains(expected), "{expected} in:\n{metrics}");
    }
    assert!(interrupt(&mut hub).success());
}

#[test]
fn a6_http2_in_the_clear_with_prior_knowledge_and_http1_on_one_port() {
    let (mut hub, lines, _stdout) = start(&["--addr", "127.0.0.1:0", "--anonymous"]);
    let url = listening_url(&lines);
    for (flag, version) in [("--http2-prior-knowledge", "2"), ("--http1.1", "1.1")] {
        let head = Command::new("curl")
            .args(["-s", "-I", flag, "-w", "%{http_version}", "-o", "/dev/null"])
            .arg(format!("{url}?topic=t"))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&head.stdout), version, "{flag}");
    }
    assert!(interrupt(&mut hub).success());
}

/// `der` in PEM, as `label` (`CERTIFICATE`, `PRIVATE KEY`).
fn pem(label: &str, der: &[u8]) -> String {
    let base64 = STANDARD.encode(der);
    let mut pem = format!("-----BEGIN {label}-----\n");
    for line in base64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap());
        pem.push('\n');
    }
    writeln!(pem, "-----END {label}-----").unwrap();
    pem
}

#[tokio::test]
async fn a6_d9_https_from_certificate_files_over_http2_and_http1_with_tokens() {
    let (cert, key) = sse_testkit::tls::certificate();
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("sse-hub-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, pem("CERTIFICATE", &cert)).unwrap();
    std::fs::write(&key_file, pem("PRIVATE KEY", key.secret_der())).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_sse-hub"));
    command
        .args(["--addr", "127.0.0.1:0", "--tls-cert"])
        .arg(&cert_file)
        .arg("--tls-key")
        .arg(&key_file)
        .env("MERCURE_PUBLISHER_JWT_KEY", PUBLISHER_SECRET)
        .env("MERCURE_SUBSCRIBER_JWT_KEY", SUBSCRIBER_SECRET);
    let (mut hub, lines, _stdout) = spawn(command);
    let url = listening_url(&lines);
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");

    let trusting = || {
        reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_der(&cert).unwrap())
    };
    // ALPN offers h2 first; the other client offers HTTP/1.1 alone.
    let clients = [
        (trusting().build().unwrap(), Version::HTTP_2),
        (trusting().http1_only().build().unwrap(), Version::HTTP_11),
    ];
    // Private updates, so that a stream gets them only if the hub read
    // the subscriber's token sent over TLS.
    let token = subscriber(&["/books/{id}"]);
    let mut streams = Vec::new();
    for (client, version) in &clients {
        let response = client
            .get(format!("{url}?topic=/books/1"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.version(), *version);
        streams.push(Events::new(response));
    }
    // The stream is subscribed once its response head came: publish now.
    let token = publisher(&["/books/{id}"]);
    let mut ids = Vec::new();
    for (client, version) in &clients {
        let data = format!("{version:?}");
        let form = [("topic", "/books/1"), ("private", "on"), ("data", &data)];
        let response = post_to(client, &url, &token, &form).await.unwrap();
        assert_eq!(
            (response.status().as_u16(), response.version()),
            (200, *version)
        );
        ids.push((data, response.text().await.unwrap()));
    }
    for events in &mut streams {
        let mut got = Vec::new();
        for _ in 0..ids.len() {
            let event = events.next().await;
            got.push((
                event.data().to_owned(),
                event.last_event_id().as_str().to_owned(),
            ));
        }
        assert_eq!(got, ids);
    }
    drop(streams);
    drop(clients);
    // Waited for off the runtime, which closes the clients' connections
    // meanwhile: the hub's stop waits for them.
    let stopped = tokio::task::spawn_blocking(move || interrupt(&mut hub));
    assert!(stopped.await.unwrap().success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_stop_cuts_a_subscriber_that_never_reads_at_its_deadline() {
    use std::io::Write;
    let (mut hub, lines, _stdout) = start(&["--addr", "127.0.0.1:0", "--anonymous"]);
    let url = listening_url(&lines);
    let token = command(&lines, "publisher token:").to_owned();
    let authority = url
        .strip_prefix("http://")
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    // Subscribes, and never reads a byte of the stream.
    let mut stalled = std::net::TcpStream::connect(&authority).unwrap();
    write!(
        stalled,
        "GET /.well-known/mercure?topic=t HTTP/1.1\r\nhost: {authority}\r\n\r\n"
    )
    .unwrap();
    // 4 MB of updates: more than the socket buffers on both sides hold,
    // so that the hub is left writing to it.
    let data = std::env::temp_dir().join(format!("sse-hub-stall-{}", std::process::id()));
    std::fs::write(&data, format!("topic=t&data={}", "x".repeat(100_000))).unwrap();
    for _ in 0..40 {
        let published = Command::new("curl")
            .args(["-s", "-f", "-o", "/dev/null", "-H"])
            .arg(format!("Authorization: Bearer {token}"))
            .arg("--data-binary")
            .arg(format!("@{}", data.display()))
            .arg(&url)
            .status()
            .unwrap();
        assert!(published.success());
    }
    std::fs::remove_file(&data).unwrap();

    let stopped = std::time::Instant::now();
    let status = interrupt(&mut hub);
    let took = stopped.elapsed();
    assert!(status.success(), "{status}");
    // The shutdown's 5 s deadline, and not much more.
    assert!(
        (Duration::from_secs(4)..Duration::from_secs(8)).contains(&took),
        "{took:?}"
    );
    drop(stalled);
}
