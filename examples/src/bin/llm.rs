//! An LLM-style token stream: a local server streams a completion for a
//! POSTed prompt as Server-Sent Events, and a client prints the tokens as
//! they arrive with `sse_client::read`. Exits by itself.
//!
//! ```text
//! cargo run -p sse-examples --bin llm
//! cargo run -p sse-examples --bin llm -- "Why is the sky blue?"
//! ```
//!
//! The server answers like the usual chat APIs: one `data:` JSON object per
//! token, then `data: [DONE]`. The client POSTs JSON, checks the status,
//! and reads the body with no reconnection: the end of the body is a clean
//! end, and a body cut off mid-event would show as an error.

use axum::{Json, Router, routing::post};
use futures_util::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use sse::{Message, StreamResponse};
use std::{io::Write, net::SocketAddr, time::Duration};

#[derive(Deserialize)]
struct Prompt {
    prompt: String,
}

#[derive(Serialize, Deserialize)]
struct Token {
    token: String,
}

/// Streams a made-up completion, one word every 60 ms, then `[DONE]`.
async fn complete(Json(request): Json<Prompt>) -> StreamResponse<impl Stream<Item = Message>> {
    let answer = format!(
        "You asked: \"{}\". Here is a streamed answer, one token at a time, \
         as a language model would send it over Server-Sent Events.",
        request.prompt
    );
    let tokens: Vec<String> = answer.split_inclusive(' ').map(str::to_owned).collect();
    let events = futures_util::stream::iter(tokens)
        .then(|token| async move {
            tokio::time::sleep(Duration::from_millis(60)).await;
            let json = serde_json::to_string(&Token { token }).unwrap_or_default();
            Message::new().data(json)
        })
        .chain(futures_util::stream::once(async {
            Message::new().data("[DONE]")
        }));
    StreamResponse::new(events)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prompt = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "Tell me about Server-Sent Events".to_owned());

    // The server, on a free port.
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let url = format!("http://{}/v1/complete", listener.local_addr()?);
    let app = Router::new().route("/v1/complete", post(complete));
    let listener = sse::server::ConnectionLimits::new().listen(listener);
    tokio::spawn(async move { axum::serve(listener, app).await });

    // The client: POST the prompt, then read the events as they come.
    let client = sse_client::Client::builder()
        .idle_timeout(Some(Duration::from_secs(10)))
        .build()?;
    let body = serde_json::json!({ "prompt": prompt }).to_string();
    let response = client
        .http()
        .post(&url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?
        .error_for_status()?;

    let mut events = client.read(response);
    let mut stdout = std::io::stdout();
    while let Some(event) = events.next().await {
        let event = event?;
        if event.data() == "[DONE]" {
            break;
        }
        let token: Token = serde_json::from_str(event.data())?;
        print!("{}", token.token);
        stdout.flush()?;
    }
    println!();
    Ok(())
}
