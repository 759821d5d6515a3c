//! A real browser for tests: headless Chromium, driven over the WebDriver
//! protocol by chromedriver.

use crate::BOUND;
use serde_json::{Value, json};
use std::{
    future::Future,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const CHROMEDRIVER: &str = "chromedriver";

/// The browser's path: `$CHROMIUM`, or `chromium` (Debian's package),
/// looked up on `PATH`, since chromedriver wants a path.
pub fn chromium() -> String {
    let name = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".to_owned());
    if name.contains('/') {
        return name;
    }
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(&name))
                .find(|candidate| candidate.is_file())
        })
        .map(|found| found.to_string_lossy().into_owned())
        .unwrap_or(name)
}

/// Waits, up to [`BOUND`], until `check` gives `Some`, looking again every
/// 25 ms: for what only polling can see, such as a page's state.
///
/// # Panics
///
/// If `check` still gives `None` after [`BOUND`], naming `what`.
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(start.elapsed() < BOUND, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A chromedriver process and one headless Chromium session, with a
/// profile directory of its own. Dropping it kills both (and removes the
/// profile); [`quit`](Browser::quit) first closes the browser the way
/// WebDriver does.
///
/// Chromium accepts any certificate (`--ignore-certificate-errors`), so
/// that a test's self-signed one serves HTTPS and HTTP/2.
///
/// Needs `chromium` (or `$CHROMIUM`) and a `chromedriver` of the same
/// version on `PATH` (Debian's `chromium` and `chromium-driver`;
/// `scripts/test.sh` installs them).
#[derive(Debug)]
pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    session: String,
    base: String,
    profile: PathBuf,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a session.
    ///
    /// # Panics
    ///
    /// If chromedriver cannot be started, or no session opens within
    /// [`BOUND`].
    pub async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!(
                    "cannot start {CHROMEDRIVER} ({err}); run scripts/test.sh, which installs \
                     chromium and chromium-driver"
                )
            });
        let profile =
            std::env::temp_dir().join(format!("sse-browser-test-{}-{port}", std::process::id()));
        let mut browser = Browser {
            driver,
            http: reqwest::Client::new(),
            session: String::new(),
            base: format!("http://127.0.0.1:{port}"),
            profile,
        };
        eventually("chromedriver", || {
            let request = browser.http.get(format!("{}/status", browser.base));
            async move {
                let status: Value =
                    serde_json::from_slice(&request.send().await.ok()?.bytes().await.ok()?).ok()?;
                status["value"]["ready"].as_bool().filter(|ready| *ready)
            }
        })
        .await;
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium(),
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                        "--ignore-certificate-errors",
                        format!("--user-data-dir={}", browser.profile.display()),
                    ],
                },
            }},
        });
        let created = browser
            .post(format!("{}/session", browser.base), &capabilities)
            .await;
        browser.session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {created}"))
            .to_owned();
        browser
    }

    async fn post(&self, url: String, body: &Value) -> Value {
        let answer = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .expect("chromedriver answers")
            .bytes()
            .await
            .expect("chromedriver's answer");
        serde_json::from_slice(&answer).expect("chromedriver answers JSON")
    }

    /// Sends the WebDriver command `path` (relative to the session) with
    /// `body`, and returns the answer's `value`.
    ///
    /// # Panics
    ///
    /// If chromedriver answers with an error.
    pub async fn command(&self, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}/{path}", self.base, self.session);
        let answer = self.post(url, &body).await;
        assert!(
            answer["value"].get("error").is_none(),
            "WebDriver {path}: {answer}"
        );
        answer["value"].clone()
    }

    /// Navigates to `url` and waits until its page has loaded.
    pub async fn open(&self, url: &str) {
        self.command("url", json!({ "url": url })).await;
    }

    /// Runs `script` (a function body) in the page and returns what it
    /// returns.
    pub async fn run(&self, script: &str) -> Value {
        self.command("execute/sync", json!({ "script": script, "args": [] }))
            .await
    }

    /// Runs `script` (a function body) in the page and returns the value
    /// of the promise it returns, once it settles.
    ///
    /// # Panics
    ///
    /// If the promise is rejected.
    pub async fn run_async(&self, script: &str) -> Value {
        let script = format!(
            "const done = arguments[arguments.length - 1];
             (async () => {{ {script} }})().then(done, (e) => done({{ rejected: String(e) }}));"
        );
        let value = self
            .command("execute/async", json!({ "script": script, "args": [] }))
            .await;
        assert!(
            value.get("rejected").is_none(),
            "the script failed: {value}"
        );
        value
    }

    /// Runs `script` in the page until it returns something other than
    /// `null`, `undefined` or `false` (within [`BOUND`]), and returns that.
    ///
    /// # Panics
    ///
    /// If it does not within [`BOUND`], naming `what`.
    pub async fn until(&self, what: &str, script: &str) -> Value {
        eventually(what, || async {
            let value = self.run(script).await;
            (!value.is_null() && value != Value::Bool(false)).then_some(value)
        })
        .await
    }

    /// Ends the WebDriver session, which closes the browser (killing
    /// chromedriver alone, as dropping does, would leave Chromium
    /// running).
    pub async fn quit(&self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = self.http.delete(url).send().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Should the test fail before `quit`: the browser's processes are
        // the ones started with this browser's profile directory.
        let profile = self.profile.to_string_lossy().into_owned();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&profile) {
                let pid = entry.file_name().to_string_lossy().into_owned();
                let _ = Command::new("kill")
                    .args(["-KILL", &pid])
                    .stderr(Stdio::null())
                    .status();
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
