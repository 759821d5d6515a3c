//! The client in headless Chromium against a server of the project's own,
//! each test a real round trip through the browser's `fetch`: events
//! arrive, a cut stream resumes with exactly what it missed, the server's
//! `retry` is honoured, a POSTed prompt streams back through `read`, a
//! `401` is final, and closing ends the stream on both sides.
//!
//! The server is the `browser_peer` example (`examples/src/bin/browser_peer.rs`):
//! sse-server over Joe with a replayer, CORS for the test page's origin,
//! knobs in the query, and what it saw of each session at `/stats`. Run
//! them, and the tests of `tests/browser.rs`, with
//!
//! ```text
//! ./scripts/wasm-test.sh
//! ```
//!
//! which builds and starts the server on a free port, and names it to
//! these tests at compile time in `SSE_BROWSER_PEER`.
#![cfg(target_arch = "wasm32")]

use futures_util::{
    StreamExt,
    future::{Either, join, select},
};
use gloo_timers::future::TimeoutFuture;
use serde::Deserialize;
use sse_client::{
    Client, Connection, Open, Update,
    reqwest::header::{AUTHORIZATION, CONTENT_TYPE},
};
use std::{future::Future, pin::pin, time::Duration};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_time::{Instant, SystemTime, UNIX_EPOCH};

// CORS is part of what is tested: a page, not Node.js, must make these
// requests.
wasm_bindgen_test_configure!(run_in_browser);

/// How long any one step may take before the test fails rather than
/// hangs: far more than any step needs (the feed ticks every 25 ms).
const STEP: Duration = Duration::from_secs(10);

/// The server's address, set when these tests were built.
fn peer() -> &'static str {
    match option_env!("SSE_BROWSER_PEER") {
        Some(address) => address,
        None => panic!(
            "SSE_BROWSER_PEER is not set: these tests need the browser_peer server; \
             run them with ./scripts/wasm-test.sh, which starts it and sets it"
        ),
    }
}

/// A session name of this test's own, so that what the server records of
/// it is this test's alone, whatever ran before on the same server.
fn session(test: &str) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format!("{test}-{}", now.as_millis())
}

/// `future`'s output, or a failure naming `what` if it takes more than
/// [`STEP`].
async fn within<F: Future>(what: &str, future: F) -> F::Output {
    let limit = u32::try_from(STEP.as_millis()).unwrap_or(u32::MAX);
    match select(pin!(future), TimeoutFuture::new(limit)).await {
        Either::Left((output, _)) => output,
        Either::Right(((), _)) => panic!("{what}: nothing within {STEP:?}"),
    }
}

/// A client whose own reconnection delay is always `delay`: no jitter,
/// no growth.
fn client_whose_delay_is(delay: Duration) -> Client {
    Client::builder()
        .initial_interval(delay)
        .multiplier(1.0)
        .jitter(0.0)
        .build()
        .unwrap()
}

/// The connection's next update, which must come, and not be an error.
async fn next(connection: &mut Connection) -> Update {
    match within("the next update", connection.next()).await {
        Some(Ok(update)) => update,
        Some(Err(err)) => panic!("the connection failed: {err}"),
        None => panic!("the connection ended"),
    }
}

/// An event's ID, which the server makes the event's number and data.
fn number(event: &sse_client::Event) -> u64 {
    let id = event.last_event_id().as_str();
    assert_eq!(event.data(), id, "the data is the ID");
    id.parse()
        .unwrap_or_else(|_| panic!("the ID {id:?} is a number"))
}

/// What the server saw of a session (`GET /stats`).
#[derive(Debug, Deserialize)]
struct Record {
    requests: u64,
    open: u64,
    last_event_ids: Vec<Option<String>>,
    published_at_connect: Vec<u64>,
    gaps_ms: Vec<Option<u64>>,
    prompts: Vec<PromptSeen>,
}

#[derive(Debug, Deserialize)]
struct PromptSeen {
    authorization: Option<String>,
    content_type: Option<String>,
    prompt: String,
}

async fn stats(session: &str) -> Record {
    let url = format!("{}/stats?session={session}", peer());
    let response = within("the stats", Client::new().http().get(&url).send())
        .await
        .unwrap_or_else(|err| panic!("GET {url}: {err}"));
    assert_eq!(response.status(), 200, "GET {url}");
    response.json().await.unwrap()
}

/// The feed for `session`, with no knobs, once its response is accepted.
async fn open_feed(session: &str) -> (Connection, Open) {
    let mut connection = Client::new().get(format!("{}/events?session={session}", peer()));
    match next(&mut connection).await {
        Update::Open(open) => (connection, open),
        other => panic!("the first update is not Open: {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn events_arrive_with_their_ids() {
    let session = session("arrive");
    let (mut connection, open) = open_feed(&session).await;
    assert_eq!(open.status(), 200);
    // Exposed by the server's CORS: a page sees only the safelisted
    // headers otherwise.
    assert_eq!(open.headers()["sse-resume"], "fresh");
    let mut ids = Vec::new();
    while ids.len() < 5 {
        match next(&mut connection).await {
            Update::Event(event) => {
                assert_eq!(event.event_type(), "message");
                ids.push(number(&event));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
    connection.close();
}

/// Two cuts, each after 8 events; while the client waits the server's
/// 150 ms, the feed goes on (six events or so), and the next stream
/// replays them from Joe's history: one run of IDs with no gap and no
/// repeat, and the server got each `Last-Event-ID`.
#[wasm_bindgen_test]
async fn a_cut_stream_resumes_with_exactly_what_it_missed() {
    const PER_STREAM: usize = 8;
    let session = session("resume");
    let client = client_whose_delay_is(Duration::from_millis(100));
    let mut connection = client.get(format!(
        "{}/events?session={session}&cut_after={PER_STREAM}&retry=150",
        peer()
    ));
    let mut ids = Vec::new();
    let mut resumes = Vec::new();
    let mut retries = 0;
    while ids.len() < 3 * PER_STREAM {
        match next(&mut connection).await {
            Update::Open(open) => resumes.push(open.headers()["sse-resume"].clone()),
            Update::Event(event) => ids.push(number(&event)),
            Update::Retrying(retrying) => {
                // The server ended the stream cleanly, after a whole event.
                assert!(retrying.error().is_none(), "{:?}", retrying.error());
                assert_eq!(retrying.delay(), Duration::from_millis(150));
                retries += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    connection.close();

    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "a gap or a repeat: {ids:?}"
    );
    assert_eq!(retries, 2);
    assert_eq!(resumes, ["fresh", "exact", "exact"]);
    let record = stats(&session).await;
    assert_eq!(record.requests, 3, "{record:?}");
    let last_before_cut = |cut: usize| ids[cut * PER_STREAM - 1];
    let sent = [None, Some(last_before_cut(1)), Some(last_before_cut(2))]
        .map(|id| id.map(|id| id.to_string()));
    assert_eq!(record.last_event_ids, sent, "{record:?}");
    // Events were published while the client was away: the first of each
    // resumed stream came from the history, not live.
    for cut in 1..=2 {
        assert!(
            record.published_at_connect[cut] > last_before_cut(cut),
            "nothing was missed at cut {cut}: {record:?}"
        );
    }
}

/// The server says `retry: 400`; the client's own delay is 20 s. The
/// reconnection comes after the server's time, not the client's.
#[wasm_bindgen_test]
async fn the_servers_retry_is_honoured() {
    let session = session("retry");
    let client = client_whose_delay_is(Duration::from_secs(20));
    let mut connection = client.get(format!(
        "{}/events?session={session}&retry=400&cut_ms=150",
        peer()
    ));
    let ended = loop {
        match next(&mut connection).await {
            Update::Open(_) | Update::Event(_) => {}
            Update::Retrying(retrying) => {
                assert!(retrying.error().is_none(), "{:?}", retrying.error());
                assert_eq!(retrying.delay(), Duration::from_millis(400));
                break Instant::now();
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    let Update::Open(_) = next(&mut connection).await else {
        panic!("no reconnection");
    };
    let waited = ended.elapsed();
    connection.close();
    // Browser timers fire late, not early; a little slack for the clock.
    assert!(waited >= Duration::from_millis(380), "{waited:?}");
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    // As the server measured it, from the end of the first stream.
    let record = stats(&session).await;
    let gap = record.gaps_ms[1].expect("a gap before the second request");
    assert!((350..10_000).contains(&gap), "{record:?}");
}

/// A prompt POSTed with a JSON body and a bearer token (both need a CORS
/// preflight) streams back through the one-shot `read`, whose end is the
/// end of the body: no error, no reconnection.
#[wasm_bindgen_test]
async fn a_posted_prompt_streams_back_through_read() {
    let session = session("prompt");
    let prompt = "why is the sky blue";
    let request = Client::new()
        .http()
        .post(format!("{}/prompt?session={session}", peer()))
        .header(AUTHORIZATION, "Bearer let-me-in")
        .header(CONTENT_TYPE, "application/json")
        .body(format!(r#"{{"prompt":"{prompt}"}}"#));
    let response = within("the prompt's response", request.send())
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut events = sse_client::read(response);
    let mut words = Vec::new();
    while let Some(event) = within("the next token", events.next()).await {
        let event = event.unwrap_or_else(|err| panic!("read failed: {err}"));
        words.push(event.data().to_owned());
    }
    assert_eq!(words.join(" "), prompt);
    assert!(!events.is_truncated());

    let record = stats(&session).await;
    let [seen] = &record.prompts[..] else {
        panic!("one prompt: {record:?}");
    };
    assert_eq!(seen.authorization.as_deref(), Some("Bearer let-me-in"));
    assert_eq!(seen.content_type.as_deref(), Some("application/json"));
    assert_eq!(seen.prompt, prompt);
}

/// A `401` ends the connection with an error and no retry, however short
/// the client's delay: the server gets one request.
#[wasm_bindgen_test]
async fn unauthorized_is_permanent() {
    let session = session("unauthorized");
    let client = client_whose_delay_is(Duration::from_millis(20));
    let request = client
        .http()
        .get(format!("{}/events?session={session}&auth=secret", peer()))
        .header(AUTHORIZATION, "Bearer wrong");
    let mut connection = client.connect(request);
    let err = match within("the refusal", connection.next()).await {
        Some(Err(err)) => err,
        other => panic!("not a refusal: {other:?}"),
    };
    assert!(err.is_status(), "{err}");
    assert!(err.is_permanent(), "{err}");
    assert_eq!(err.status().map(|status| status.as_u16()), Some(401));
    assert_eq!(err.headers().unwrap()["www-authenticate"], "Bearer");
    assert!(connection.next().await.is_none());
    // Ten of the client's delays, for a retry there should not be.
    TimeoutFuture::new(200).await;
    let record = stats(&session).await;
    assert_eq!(record.requests, 1, "{record:?}");
    assert_eq!(record.open, 0, "{record:?}");
}

/// A close from a handle, while the connection waits for events, ends the
/// stream: `Closed`, then nothing; and the browser lets go of the
/// response, so the server's stream closes too.
#[wasm_bindgen_test]
async fn close_stops_the_stream_on_both_sides() {
    let session = session("close");
    let (mut connection, _) = open_feed(&session).await;
    let Update::Event(_) = next(&mut connection).await else {
        panic!("no event");
    };
    assert_eq!(stats(&session).await.open, 1);

    let handle = connection.close_handle();
    let close = async {
        TimeoutFuture::new(100).await;
        handle.close();
    };
    let drain = async {
        let mut after_close = Vec::new();
        while let Some(update) = within("the end of the stream", connection.next()).await {
            match update {
                Ok(Update::Event(_)) => {}
                other => after_close.push(other),
            }
        }
        after_close
    };
    let ((), after_close) = join(close, drain).await;
    assert!(
        matches!(after_close[..], [Ok(Update::Closed)]),
        "{after_close:?}"
    );
    // The connection, still alive, let go of the response when it
    // closed: the browser's fetch is over, and the server sees its
    // connection close when it next writes (an event every 25 ms).
    let started = Instant::now();
    loop {
        let record = stats(&session).await;
        if record.open == 0 {
            break;
        }
        assert!(
            started.elapsed() < STEP,
            "the server's stream is still open: {record:?}"
        );
        TimeoutFuture::new(50).await;
    }
    assert!(connection.next().await.is_none());
}
