//! The demo's live feed in the browser, followed by `sse-client` compiled
//! to WebAssembly: the page (`index.html`) names the stream's URL in the
//! list's `data-url`, and this lists each event as it comes, and each
//! reconnection.
//!
//! Built and served by `scripts/wasm-example.sh` (then open
//! <http://127.0.0.1:8080/wasm/>); the README's "In the browser" has the
//! steps. Everything is for `wasm32-unknown-unknown`; elsewhere the crate
//! is empty.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::prelude::*;
use web_sys::{Document, Element};

/// Starts following the feed when the module is loaded.
#[wasm_bindgen(start)]
pub fn start() -> Result<(), JsValue> {
    let document = web_sys::window()
        .and_then(|window| window.document())
        .ok_or("no document")?;
    let list = document.get_element_by_id("feed").ok_or("no #feed")?;
    let url = list.get_attribute("data-url").ok_or("no data-url")?;
    wasm_bindgen_futures::spawn_local(follow(url, document, list));
    Ok(())
}

/// Lists each event of the stream at `url`, and each reconnection.
#[cfg(not(any(feature = "bare", feature = "reqwest-only")))]
async fn follow(url: String, document: Document, list: Element) {
    use futures_util::StreamExt;
    use sse_client::{Client, Update};

    let mut feed = Client::new().get(url);
    while let Some(update) = feed.next().await {
        match update {
            Ok(Update::Event(event)) => {
                let id = event.last_event_id();
                show(&document, &list, &format!("{id}: {}", event.data()), "");
            }
            Ok(Update::Retrying(retrying)) => {
                let note = format!("reconnecting in {:?}", retrying.delay());
                show(&document, &list, &note, "note");
            }
            Ok(_) => {}
            Err(error) => show(&document, &list, &format!("stopped: {error}"), "note"),
        }
    }
}

/// For the size report: the page's own code, without the feed.
#[cfg(feature = "bare")]
async fn follow(url: String, document: Document, list: Element) {
    show(&document, &list, &url, "note");
}

/// For the size report: the stream read with reqwest alone, its chunks
/// counted, not parsed.
#[cfg(all(feature = "reqwest-only", not(feature = "bare")))]
async fn follow(url: String, document: Document, list: Element) {
    let response = match sse_client::reqwest::get(url).await {
        Ok(response) => response,
        Err(error) => return show(&document, &list, &error.to_string(), "note"),
    };
    use futures_util::StreamExt;

    let mut body = response.bytes_stream();
    let mut chunks = 0u64;
    while let Some(Ok(_chunk)) = body.next().await {
        chunks += 1;
        show(&document, &list, &format!("chunk {chunks}"), "");
    }
}

/// Appends a line to the list.
fn show(document: &Document, list: &Element, text: &str, class: &str) {
    if let Ok(item) = document.create_element("li") {
        item.set_text_content(Some(text));
        item.set_class_name(class);
        let _ = list.append_child(&item);
    }
}
