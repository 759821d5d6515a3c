//! The demo page in a real browser: headless Chromium, driven over the
//! WebDriver protocol by chromedriver, receives the feed with its
//! `EventSource`; the server then kills the connection, publishes while the
//! browser is away, and the browser must reconnect with `Last-Event-ID` and
//! receive exactly the events it missed. A reload must resume the same way
//! through the `lastEventId` query parameter.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/test.sh`
//! installs them).

use serde_json::{Value, json};
use sse_examples::demo::Demo;

use sse_testkit::browser::{Browser, eventually};
use std::{
    net::SocketAddr,
    ops::Deref,
    sync::{Arc, Mutex},
};
use tokio::{net::TcpListener, task::AbortHandle};

/// The demo on 127.0.0.1, with a handle on every connection so that the
/// test can cut them.
struct App {
    demo: Demo,
    addr: SocketAddr,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
}

impl App {
    async fn start() -> App {
        let demo = Demo::new();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let router = demo.router();
        let handles = connections.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let service = hyper_util::service::TowerToHyperService::new(router.clone());
                let task = tokio::spawn(async move {
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let _ = hyper_util::server::conn::auto::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .serve_connection(io, service)
                    .await;
                });
                handles.lock().unwrap().push(task.abort_handle());
            }
        });
        App {
            demo,
            addr,
            connections,
        }
    }

    /// The sessions the demo has seen so far.
    fn sessions(&self) -> usize {
        self.demo.stats().resumes.len()
    }

    /// The last event ID the first session after the first `seen` resumed
    /// from (`None` for a fresh one), once it came.
    async fn resumed_from(&self, seen: usize) -> Option<String> {
        eventually("a new session", || async {
            let resumes = self.demo.stats().resumes;
            resumes.get(seen).cloned()
        })
        .await
    }

    /// Cuts every open connection, as a crashed proxy or a network drop
    /// would, and waits until the server has unsubscribed them.
    async fn kill_connections(&self) {
        for handle in self.connections.lock().unwrap().drain(..) {
            handle.abort();
        }
        let demo = self.demo.clone();
        eventually("unsubscribe", || {
            let demo = demo.clone();
            async move { (demo.stats().joe.subscribers == 0).then_some(()) }
        })
        .await;
    }
}

/// The demo page in a headless Chromium: what it received and shows.
struct Page(Browser);

impl Deref for Page {
    type Target = Browser;

    fn deref(&self) -> &Browser {
        &self.0
    }
}

impl Page {
    async fn start() -> Page {
        Page(Browser::start().await)
    }

    /// Every event the page received, as its `window.sseLog` records them.
    async fn log(&self) -> Vec<Value> {
        match self.run("return window.sseLog || [];").await {
            Value::Array(entries) => entries,
            other => panic!("not a log: {other}"),
        }
    }

    /// The ticks the page received: (last event ID, tick number).
    async fn ticks(&self) -> Vec<(String, u64)> {
        self.log()
            .await
            .iter()
            .filter(|entry| entry["kind"] == "tick")
            .map(|entry| {
                let data: Value = serde_json::from_str(entry["data"].as_str().unwrap()).unwrap();
                (
                    entry["id"].as_str().unwrap().to_owned(),
                    data["n"].as_u64().unwrap(),
                )
            })
            .collect()
    }

    /// The tick numbers the page's feed shows (restored ones included).
    async fn feed(&self) -> Vec<u64> {
        let texts = self
            .run(
                "return Array.from(document.querySelectorAll('#feed li .text'))
                    .map((li) => li.textContent);",
            )
            .await;
        texts
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|text| {
                text.as_str()?
                    .strip_prefix("tick ")?
                    .split(' ')
                    .next()?
                    .parse()
                    .ok()
            })
            .collect()
    }

    async fn wait_for_ticks(&self, count: usize) -> Vec<(String, u64)> {
        eventually("the page's ticks", || async {
            let ticks = self.ticks().await;
            (ticks.len() >= count).then_some(ticks)
        })
        .await
    }
}

async fn wait_for_subscribers(demo: &Demo, count: usize) {
    let demo = demo.clone();
    eventually("the page to subscribe", || {
        let demo = demo.clone();
        async move { (demo.stats().joe.subscribers == count).then_some(()) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_resumes_with_last_event_id_after_a_cut_and_a_reload() {
    let app = App::start().await;
    let browser = Page::start().await;
    let page = format!("http://{}/", app.addr);
    browser.open(&page).await;
    wait_for_subscribers(&app.demo, 1).await;

    for _ in 0..5 {
        app.demo.tick().await.unwrap();
    }
    let before = browser.wait_for_ticks(5).await;
    assert_eq!(
        before.iter().map(|t| t.1).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    let last_seen = before[4].0.clone();

    // Cut the connection server-side and publish while the browser is away
    // (the demo tells it to wait 1 s before reconnecting).
    app.kill_connections().await;
    for _ in 0..3 {
        app.demo.tick().await.unwrap();
    }

    let after = browser.wait_for_ticks(8).await;
    let numbers: Vec<u64> = after.iter().map(|t| t.1).collect();
    assert_eq!(
        numbers,
        [1, 2, 3, 4, 5, 6, 7, 8],
        "every tick exactly once, in order"
    );
    let ids: Vec<u64> = after.iter().map(|t| t.0.parse().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "consecutive IDs: {ids:?}"
    );
    let resumes = app.demo.stats().resumes;
    assert_eq!(
        resumes.last().unwrap().as_deref(),
        Some(last_seen.as_str()),
        "the browser reconnected with Last-Event-ID of the last event it saw"
    );

    // A reload opens a new EventSource; the page passes its last ID in the
    // query string and gets only what it has not seen, and shows again
    // what it showed before.
    let last_id = after[7].0.clone();
    let seen = app.sessions();
    browser.open(&page).await;
    assert_eq!(
        app.resumed_from(seen).await.as_deref(),
        Some(last_id.as_str())
    );
    app.demo.tick().await.unwrap();
    let reloaded = browser.wait_for_ticks(1).await;
    assert_eq!(reloaded.iter().map(|t| t.1).collect::<Vec<_>>(), [9]);
    let tick_9 = reloaded[0].0.clone();
    assert_eq!(
        browser.feed().await,
        (1..=9).collect::<Vec<_>>(),
        "the feed kept"
    );

    // A last event ID the server no longer has (history lost, say after a
    // restart): the page is told in-band, with the ID `earliest` (a
    // reconnect at once would get the history again), and then gets what
    // a new tab gets, the retained history; it shows that, once.
    browser
        .run("sessionStorage.setItem('lastEventId', '999999');")
        .await;
    browser.open(&page).await;
    let log = eventually("the history-lost event and the history", || async {
        let log = browser.log().await;
        (log.len() >= 10).then_some(log)
    })
    .await;
    assert_eq!(log[0]["kind"], "history-lost");
    assert_eq!(
        log[0]["id"], "earliest",
        "the signal's ID: the history follows"
    );
    let replayed: Vec<u64> = browser.ticks().await.iter().map(|t| t.1).collect();
    assert_eq!(replayed, (1..=9).collect::<Vec<_>>());
    assert_eq!(browser.feed().await, (1..=9).collect::<Vec<_>>());

    // The next reload resumes exactly, from the newest.
    let seen = app.sessions();
    browser.open(&page).await;
    assert_eq!(
        app.resumed_from(seen).await.as_deref(),
        Some(tick_9.as_str())
    );

    // `?lastEventId=` resumes from the ID it gives, once: a reload resumes
    // from where the page got to.
    let tick_5 = &before[4].0;
    let seen = app.sessions();
    browser.open(&format!("{page}?lastEventId={tick_5}")).await;
    assert_eq!(
        app.resumed_from(seen).await.as_deref(),
        Some(tick_5.as_str())
    );
    let ticks = browser.wait_for_ticks(4).await;
    assert_eq!(ticks.iter().map(|t| t.1).collect::<Vec<_>>(), [6, 7, 8, 9]);
    assert_eq!(browser.run("return location.search;").await, "");
    let seen = app.sessions();
    browser.run("location.reload();").await;
    assert_eq!(
        app.resumed_from(seen).await.as_deref(),
        Some(tick_9.as_str())
    );
    browser.quit().await;
}

/// A new tab gets the chat's history, marked as replayed; the page's cut
/// button ends its stream from the server, and what was published while it
/// was away comes back, marked as replayed too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_shows_history_and_resumes_after_the_cut_button() {
    let app = App::start().await;
    let http = reqwest::Client::new();
    for text in ["one", "two"] {
        let chat = json!({ "name": "earlier", "text": text });
        let response = http
            .post(format!("http://{}/chat", app.addr))
            .json(&chat)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    }
    let browser = Page::start().await;
    browser.open(&format!("http://{}/", app.addr)).await;
    wait_for_subscribers(&app.demo, 1).await;
    let replayed = |list: &str| {
        format!(
            "return Array.from(document.querySelectorAll('#{list} li.replayed'))
                .map((li) => li.querySelector('.text').textContent);"
        )
    };
    let history = eventually("the chat history", || async {
        let rows = browser.run(&replayed("chat")).await;
        (rows.as_array()?.len() == 2).then_some(rows)
    })
    .await;
    assert_eq!(history, json!(["earlier: one", "earlier: two"]));

    browser.run("document.getElementById('cut').click();").await;
    wait_for_subscribers(&app.demo, 0).await;
    app.demo.tick().await.unwrap();
    eventually("the tick, replayed after the cut", || async {
        let rows = browser.run(&replayed("feed")).await;
        let rows = rows.as_array()?;
        (rows.len() == 1 && rows[0].as_str()?.starts_with("tick 1 ")).then_some(())
    })
    .await;
    app.demo.tick().await.unwrap();
    let ticks = browser.wait_for_ticks(2).await;
    assert_eq!(ticks.iter().map(|t| t.1).collect::<Vec<_>>(), [1, 2]);
    browser.quit().await;
}

/// Over HTTP/2 (TLS, with a certificate made here), a page opens ten
/// event streams to one origin and every one gets every event; over
/// HTTP/1.1 a browser opens at most six connections to a site, and the
/// seventh stream would wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_opens_ten_event_sources_on_one_origin_over_http2() {
    use axum::{extract::Request, middleware::Next, response::Html, routing::get};

    const TEN: &str = "<!doctype html><script>
      window.counts = Array(10).fill(0);
      for (let i = 0; i < 10; i++) {
        new EventSource('/events?topics=feed')
          .addEventListener('tick', () => window.counts[i]++);
      }
    </script>";
    let demo = Demo::new();
    let versions: Arc<Mutex<Vec<http::Version>>> = Arc::default();
    let seen = versions.clone();
    let router = demo
        .router()
        .route("/ten", get(|| async { Html(TEN) }))
        .layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                if request.uri().path() == "/events" {
                    seen.lock().unwrap().push(request.version());
                }
                next.run(request)
            },
        ));
    let (cert, key) = sse_testkit::tls::certificate();
    let config = sse_examples::tls::config_from(vec![cert], key).unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let listener = sse_examples::tls::TlsListener::new(
        sse::server::ConnectionLimits::new().listen(tcp),
        config,
    )
    .unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });

    let browser = Page::start().await;
    browser.open(&format!("https://{addr}/ten")).await;
    wait_for_subscribers(&demo, 10).await;
    for _ in 0..5 {
        demo.tick().await.unwrap();
    }
    let counts = eventually("every stream's ticks", || async {
        let counts = browser.run("return window.counts;").await;
        let all = counts.as_array()?.iter().all(|n| n.as_u64() == Some(5));
        all.then_some(counts)
    })
    .await;
    assert_eq!(counts, json!([5, 5, 5, 5, 5, 5, 5, 5, 5, 5]));
    let versions = versions.lock().unwrap().clone();
    assert_eq!(versions.len(), 10);
    assert!(
        versions.iter().all(|v| *v == http::Version::HTTP_2),
        "{versions:?}"
    );
    browser.quit().await;
}
