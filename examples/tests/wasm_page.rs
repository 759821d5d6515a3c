//! The demo's WebAssembly page (`/wasm/`) in headless Chromium: the feed
//! comes through `sse-client` compiled to wasm, and when the page's button
//! cuts the stream from the server, the client reconnects after the
//! server's `retry` and resumes with `Last-Event-ID`: the IDs it lists run
//! on without a gap or a repeat.
//!
//! It needs the page built, so it is ignored by a plain `cargo test`:
//! `scripts/wasm-example.sh --test` builds the page and runs it.

use serde_json::Value;
use sse_examples::demo::{DEFAULT_WASM_DIR, Demo};
use sse_testkit::{browser::Browser, serve};
use std::time::Duration;
use tokio::net::TcpListener;

/// The IDs the page lists, in order (its notes left out).
const LISTED_IDS: &str = "return [...document.querySelectorAll('#feed li:not(.note)')]
    .map((li) => Number(li.textContent.split(':')[0]));";

fn ids(value: &Value) -> Vec<u64> {
    value
        .as_array()
        .expect("a list")
        .iter()
        .map(|id| id.as_u64().expect("numeric IDs"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the page built: scripts/wasm-example.sh --test builds it and runs this"]
async fn browser_the_wasm_page_follows_the_feed_and_resumes_after_a_cut() {
    let dir = std::env::var("SSE_WASM_EXAMPLE_DIR").unwrap_or_else(|_| DEFAULT_WASM_DIR.into());
    let demo = Demo::new().wasm_dir(dir);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let served = serve(listener, |io| io, demo.router());
    tokio::spawn(demo.clone().run_feed(Duration::from_millis(100)));

    let browser = Browser::start().await;
    browser.open(&served.url("/wasm/")).await;
    browser
        .until(
            "three events listed by the wasm client",
            "return document.querySelectorAll('#feed li:not(.note)').length >= 3;",
        )
        .await;
    let before = ids(&browser.run(LISTED_IDS).await);

    browser.run("document.getElementById('cut').click();").await;
    browser
        .until(
            "the client's note that it reconnects",
            "return [...document.querySelectorAll('#feed li.note')]
                .some((li) => li.textContent.startsWith('reconnecting'));",
        )
        .await;
    // Events published while it was away (a second: the demo's `retry`)
    // are replayed first, then the live ones.
    let at_note = ids(&browser.run(LISTED_IDS).await).len();
    let wanted = format!(
        "return document.querySelectorAll('#feed li:not(.note)').length >= {};",
        at_note + 15
    );
    browser
        .until("events after the reconnection", &wanted)
        .await;
    let listed = ids(&browser.run(LISTED_IDS).await);
    browser.quit().await;

    assert!(listed.starts_with(&before), "{before:?} then {listed:?}");
    for pair in listed.windows(2) {
        assert_eq!(pair[1], pair[0] + 1, "no gap, no repeat: {listed:?}");
    }
}
