//! `GET /wasm/`: the demo's feed followed by `sse-client` compiled to
//! WebAssembly (the `sse-wasm-example` package, `examples/wasm`), once
//! `scripts/wasm-example.sh` has built it: the page, and the module with
//! its JavaScript from the directory the script writes them to.

use axum::{
    extract::{Path, State},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
};

use super::Demo;

/// The page.
pub(crate) const PAGE: &str = include_str!("../../wasm/index.html");

/// Where `scripts/wasm-example.sh` writes the built module and its
/// JavaScript: `target/wasm-example` in the workspace.
pub const DEFAULT_WASM_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/wasm-example");

pub(crate) async fn page() -> Html<&'static str> {
    Html(PAGE)
}

/// A file of the built page: `.js` or `.wasm`, named with letters, digits,
/// `_`, `-` and `.` only (nothing outside the directory).
pub(crate) async fn file(State(demo): State<Demo>, Path(name): Path<String>) -> Response {
    let plain = !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    let content_type = match name.rsplit_once('.') {
        Some((_, "js")) => "text/javascript",
        // `application/wasm` lets the browser compile it as it downloads.
        Some((_, "wasm")) => "application/wasm",
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    if !plain {
        return StatusCode::NOT_FOUND.into_response();
    }
    match tokio::fs::read(demo.wasm_dir.join(&name)).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, content_type)], bytes).into_response(),
        Err(_) => (
            StatusCode::NOT_FOUND,
            format!(
                "{name} is not built in {}: run scripts/wasm-example.sh",
                demo.wasm_dir.display()
            ),
        )
            .into_response(),
    }
}
