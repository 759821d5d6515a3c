//! The hub in a real browser: headless Chromium (sse-testkit's, over
//! chromedriver) opens a page on another origin than the hub's, which
//! subscribes with `EventSource` and publishes with `fetch`. On Joe and on
//! Redis, over HTTP/1.1 and over HTTPS with HTTP/2 (row A6).
//!
//! Each run checks, as the page sees it:
//! - which updates reach which selectors (rows B2, C2, C6): a plain topic,
//!   an update's second topic, two selectors (once for an update both
//!   match), an IRI, a URI template; and not a near miss of each, nor a
//!   private update when anonymous (E1); each `POST` answered `200`,
//!   `text/plain`, with the ID (B8);
//! - credentials from another origin through the CORS allowlist (A7): the
//!   `mercureAuthorization` cookie, set by the page for its host (cookies
//!   belong to a host, not a port), sent by `EventSource` with
//!   `withCredentials` and by `fetch` (D1, D3), granting private updates by
//!   string, IRI and template (E2); a cookie publish from an allowed
//!   publish origin and not from another (D8); the `authorization` query
//!   parameter, winning over the cookie (D1, D2);
//! - a page on an origin that is not allowed can neither read a stream nor
//!   publish;
//! - the README's `EventSource` snippet, run as written.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/test.sh`
//! installs them) and, for the Redis runs, `redis-server`.

use axum::{Router, extract::Request, middleware::Next, response::Html, routing::get};
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};
use sse_codec::Provider;
use sse_hub::{
    Hub, HubConfig,
    auth::{Algorithm, Key, Keys},
};
use sse_joe::{FiniteReplayer, Joe};
use sse_redis::Redis;
use sse_server::{
    ConnectionLimits,
    http::{Method, Version},
    tls::{TlsListener, config_from},
};
use sse_testkit::{RedisServer, browser::Browser, tls::certificate};
use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
};
use tokio::net::TcpListener;

/// One key for publishers and subscribers, as a Symfony app's
/// `MERCURE_JWT_SECRET` is: the page's one cookie then carries one token
/// for both.
const SECRET: &str = "one secret for publishers and subscribers";
const PATH: &str = "/.well-known/mercure";
const PAGE: &str = include_str!("support/page.html");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transport {
    /// Plain HTTP: a browser speaks HTTP/1.1.
    Http1,
    /// HTTPS, where ALPN picks HTTP/2.
    Https2,
}

impl Transport {
    fn scheme(self) -> &'static str {
        match self {
            Transport::Http1 => "http",
            Transport::Https2 => "https",
        }
    }

    fn version(self) -> Version {
        match self {
            Transport::Http1 => Version::HTTP_11,
            Transport::Https2 => Version::HTTP_2,
        }
    }
}

/// Serves `router` on 127.0.0.1 over `transport`.
async fn listen(transport: Transport, router: Router) -> SocketAddr {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    match transport {
        Transport::Http1 => {
            tokio::spawn(async move { axum::serve(tcp, router).await });
        }
        Transport::Https2 => {
            let (cert, key) = certificate();
            let listener = TlsListener::new(
                ConnectionLimits::new().listen(tcp),
                config_from(vec![cert], key).unwrap(),
            )
            .unwrap();
            tokio::spawn(async move { axum::serve(listener, router).await });
        }
    }
    addr
}

fn token(claim: Value) -> String {
    encode(
        &Header::default(),
        &json!({ "mercure": claim }),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

/// A hub and three origins serving the page: the first may subscribe and
/// publish with credentials, the second only subscribe (CORS, not a
/// publish origin), the third nothing.
struct Site {
    hub: String,
    origins: [String; 3],
    /// The method and HTTP version of every request to the hub.
    requests: Arc<Mutex<Vec<(Method, Version)>>>,
    transport: Transport,
}

impl Site {
    async fn start<P: Provider>(provider: P, transport: Transport) -> Site {
        let page = Router::new().route("/", get(|| async { Html(PAGE) }));
        let mut origins = Vec::new();
        for _ in 0..3 {
            let addr = listen(transport, page.clone()).await;
            origins.push(format!("{}://{addr}", transport.scheme()));
        }
        let origins: [String; 3] = origins.try_into().unwrap();
        let mut config = HubConfig::default();
        config.anonymous = true;
        config.cors_origins = origins[..2].to_vec();
        config.publish_origins = vec![origins[0].clone()];
        let key = Key::new(Algorithm::Hs256, SECRET).unwrap();
        let hub = Hub::new(provider, Keys::new(key.clone(), key), config).unwrap();
        let requests: Arc<Mutex<Vec<(Method, Version)>>> = Arc::default();
        let seen = requests.clone();
        let router = hub.router().layer(axum::middleware::from_fn(
            move |request: Request, next: Next| {
                if request.uri().path() == PATH {
                    let mut seen = seen.lock().unwrap();
                    seen.push((request.method().clone(), request.version()));
                }
                next.run(request)
            },
        ));
        let addr = listen(transport, router).await;
        Site {
            hub: format!("{}://{addr}{PATH}", transport.scheme()),
            origins,
            requests,
            transport,
        }
    }
}

/// How a publish from the page is authorized.
#[derive(Clone, Copy)]
enum Auth<'a> {
    /// `Authorization: Bearer`, which takes a CORS preflight.
    Bearer(&'a str),
    /// The cookie, sent with `credentials: 'include'`.
    Cookie,
}

/// The page open in the browser, and the hub it talks to.
struct Page<'a> {
    browser: &'a Browser,
    hub: &'a str,
}

impl Page<'_> {
    /// Opens the stream `name` on `topics`, with credentials (the cookie)
    /// or not, and a token in the query or not.
    async fn subscribe(&self, name: &str, topics: &[&str], credentials: bool, token: Option<&str>) {
        let script = format!(
            "subscribe({}, {}, {}, {});",
            json!(name),
            json!(self.hub),
            json!(topics),
            json!({ "credentials": credentials, "token": token })
        );
        self.browser.run(&script).await;
    }

    /// Waits until every stream of `names` is open.
    async fn open(&self, names: &[&str]) {
        let script = format!(
            "return {}.every((name) => state(name).ready === EventSource.OPEN);",
            json!(names)
        );
        self.browser
            .until(&format!("{names:?} open"), &script)
            .await;
    }

    async fn close_all(&self) {
        self.browser.run("closeAll();").await;
    }

    /// What `fetch` got for a publish of `form`: its status, content type
    /// and body, or its error.
    async fn post(&self, form: &[(&str, &str)], auth: Auth<'_>) -> Value {
        let options = match auth {
            Auth::Bearer(token) => json!({ "token": token }),
            Auth::Cookie => json!({ "cookie": true }),
        };
        let script = format!(
            "return await publish({}, {}, {});",
            json!(self.hub),
            json!(form),
            options
        );
        self.browser.run_async(&script).await
    }

    /// Publishes `form` and checks the answer (row B8): `200`,
    /// `text/plain`, the update's ID (its own when it has one). Returns
    /// the ID.
    async fn publish(&self, form: &[(&str, &str)], auth: Auth<'_>) -> String {
        let answer = self.post(form, auth).await;
        assert_eq!(answer["status"], 200, "{form:?}: {answer}");
        assert_eq!(answer["type"], "text/plain; charset=utf-8", "{answer}");
        let id = answer["body"].as_str().unwrap().to_owned();
        match form.iter().find(|(name, _)| *name == "id") {
            Some((_, given)) => assert_eq!(&id, given),
            None => assert!(id.starts_with("urn:uuid:"), "{id}"),
        }
        id
    }

    /// The `(data, last event ID)` of the updates the stream `name` got,
    /// once it has `count`.
    async fn events(&self, name: &str, count: usize) -> Vec<(String, String)> {
        let script = format!(
            "const events = state({}).events; return events.length >= {count} && events;",
            json!(name)
        );
        let events = self
            .browser
            .until(&format!("{count} updates on {name}"), &script)
            .await;
        events
            .as_array()
            .unwrap()
            .iter()
            .map(|event| {
                let field = |name: &str| event[name].as_str().unwrap().to_owned();
                (field("data"), field("id"))
            })
            .collect()
    }

    /// Checks that the stream `name` got exactly the updates published with
    /// the data `expected`, with their IDs from `ids`.
    async fn got(&self, name: &str, expected: &[&str], ids: &[(&str, String)]) {
        let events = self.events(name, expected.len()).await;
        let data: Vec<&str> = events.iter().map(|(data, _)| data.as_str()).collect();
        assert_eq!(data, expected, "the updates of {name}");
        for (data, id) in &events {
            let (_, published) = ids.iter().find(|(d, _)| d == data).unwrap();
            assert_eq!(id, published, "{name}: the ID of {data}");
        }
    }
}

/// Rows B2, B3, B8, C2, C6, E1: what anonymous subscribers with each kind
/// of selector get (`private` with an empty value is private too). Updates are published one after another and a stream
/// keeps their order, so an update a stream should not get would show
/// before the last one it should.
async fn selectors(page: &Page<'_>, publisher: &str) {
    let streams: [(&str, &[&str]); 5] = [
        ("plain", &["plain"]),
        ("second", &["second"]),
        ("two", &["plain", "https://example.com/books/{id}"]),
        ("iri", &["https://example.com/books/1"]),
        ("template", &["https://example.com/books/{id}"]),
    ];
    for (name, topics) in streams {
        page.subscribe(name, topics, true, None).await;
    }
    page.open(&streams.map(|(name, _)| name)).await;

    let bearer = Auth::Bearer(publisher);
    // Nobody's: near misses of a string, an IRI and a template, and
    // private updates (string, IRI, template) for anonymous subscribers.
    for form in [
        &[("topic", "plainer"), ("data", "not plain")][..],
        &[
            ("topic", "https://example.com/books/1/reviews"),
            ("data", "not the IRI"),
        ],
        &[
            ("topic", "https://example.com/authors/1"),
            ("data", "not the template"),
        ],
        &[
            ("topic", "plain"),
            ("private", "on"),
            ("data", "private string"),
        ],
        &[
            ("topic", "https://example.com/books/1"),
            ("private", ""),
            ("data", "private IRI"),
        ],
        &[
            ("topic", "https://example.com/books/2"),
            ("private", "on"),
            ("data", "private template"),
        ],
    ] {
        page.publish(form, bearer).await;
    }
    let mut ids = Vec::new();
    for form in [
        &[("topic", "plain"), ("data", "plain")][..],
        &[
            ("topic", "https://example.com/canonical/7"),
            ("topic", "second"),
            ("data", "second"),
        ],
        &[
            ("topic", "https://example.com/books/1"),
            ("id", "urn:test:iri"),
            ("data", "iri"),
        ],
        &[
            ("topic", "https://example.com/books/2"),
            ("data", "template"),
        ],
        &[
            ("topic", "plain"),
            ("topic", "https://example.com/books/3"),
            ("data", "both"),
        ],
    ] {
        let data = form.iter().find(|(name, _)| *name == "data").unwrap().1;
        ids.push((data, page.publish(form, bearer).await));
    }
    page.got("plain", &["plain", "both"], &ids).await;
    page.got("second", &["second"], &ids).await;
    page.got("two", &["plain", "iri", "template", "both"], &ids)
        .await;
    page.got("iri", &["iri"], &ids).await;
    page.got("template", &["iri", "template", "both"], &ids)
        .await;
    page.close_all().await;
}

/// Rows A7, D1, D3, D8, E2: the cookie the page sets for the hub's host,
/// sent by `EventSource` with credentials and by `fetch`.
async fn cookie(page: &Page<'_>) {
    let cookie = token(json!({
        "publish": ["*"],
        "subscribe": ["https://example.com/private/{id}", "private-plain"],
    }));
    page.browser
        .run(&format!("setCookie({}, {});", json!(cookie), json!(PATH)))
        .await;
    page.subscribe("iri", &["https://example.com/private/1", "end"], true, None)
        .await;
    page.subscribe("string", &["private-plain", "end"], true, None)
        .await;
    let everything = ["https://example.com/private/{id}", "private-plain", "end"];
    page.subscribe("without", &everything, false, None).await;
    page.open(&["iri", "string", "without"]).await;

    let mut ids = Vec::new();
    for form in [
        &[
            ("topic", "https://example.com/private/1"),
            ("private", "on"),
            ("data", "private IRI"),
        ][..],
        &[
            ("topic", "private-plain"),
            ("private", "on"),
            ("data", "private string"),
        ],
        &[
            ("topic", "https://example.com/private/2"),
            ("private", "on"),
            ("data", "another"),
        ],
        &[("topic", "end"), ("data", "end")],
    ] {
        let data = form.iter().find(|(name, _)| *name == "data").unwrap().1;
        // The cookie authorizes the publish too: this page's origin is a
        // publish origin.
        ids.push((data, page.publish(form, Auth::Cookie).await));
    }
    page.got("iri", &["private IRI", "end"], &ids).await;
    page.got("string", &["private string", "end"], &ids).await;
    page.got("without", &["end"], &ids).await;
    page.close_all().await;
}

/// Rows D1, D2: a token in the query wins over the cookie.
async fn query_token(page: &Page<'_>, publisher: &str) {
    let query = token(json!({ "subscribe": ["private-query"] }));
    let topics = ["private-plain", "private-query", "end"];
    page.subscribe("query", &topics, true, Some(&query)).await;
    page.open(&["query"]).await;
    let mut ids = Vec::new();
    for topic in topics {
        let private = if topic == "end" { "" } else { "private" };
        let mut form = vec![("topic", topic), ("data", topic)];
        if !private.is_empty() {
            form.push((private, "on"));
        }
        ids.push((topic, page.publish(&form, Auth::Bearer(publisher)).await));
    }
    page.got("query", &["private-query", "end"], &ids).await;
    page.close_all().await;
}

/// Everything above, then the other two origins, in one browser.
async fn run(site: Site) {
    let browser = Browser::start().await;
    let [allowed, subscribe_only, refused] = &site.origins;
    let publisher = token(json!({ "publish": ["*"] }));
    browser.open(&format!("{allowed}/")).await;
    let page = Page {
        browser: &browser,
        hub: &site.hub,
    };
    selectors(&page, &publisher).await;
    cookie(&page).await;
    query_token(&page, &publisher).await;

    // Row D8: allowed to read the hub's answers (CORS), not to publish with
    // the cookie.
    browser.open(&format!("{subscribe_only}/")).await;
    let answer = page
        .post(&[("topic", "end"), ("data", "csrf")], Auth::Cookie)
        .await;
    assert_eq!(answer["status"], 403, "{answer}");
    assert_eq!(
        answer["body"],
        format!("publishing by cookie is not allowed from '{subscribe_only}'\n")
    );
    page.subscribe("end", &["end"], true, None).await;
    page.open(&["end"]).await;
    let id = page
        .publish(
            &[("topic", "end"), ("data", "bearer")],
            Auth::Bearer(&publisher),
        )
        .await;
    assert_eq!(page.events("end", 1).await, [("bearer".to_owned(), id)]);

    // Row A7: an origin off the allowlist reads no stream and cannot
    // publish (its preflight is not answered with the origin), though the
    // page sends the cookie.
    browser.open(&format!("{refused}/")).await;
    page.subscribe("refused", &["end"], true, None).await;
    browser
        .until(
            "the refused stream closed",
            "const s = state('refused'); return s.ready === EventSource.CLOSED && s.errors > 0;",
        )
        .await;
    let answer = page
        .post(&[("topic", "end"), ("data", "x")], Auth::Bearer(&publisher))
        .await;
    assert!(answer["failed"].as_str().is_some(), "{answer}");
    assert_eq!(
        browser.run("return state('refused').events.length;").await,
        0
    );
    browser.quit().await;

    let requests = site.requests.lock().unwrap().clone();
    assert!(
        requests.iter().any(|(method, _)| method == Method::OPTIONS),
        "preflights"
    );
    assert!(
        requests
            .iter()
            .all(|(_, version)| *version == site.transport.version()),
        "{requests:?}"
    );
}

/// The README's `EventSource` snippet, from its Hub section, with the hub's
/// URL in place of the one it names.
fn readme_snippet(hub: &str) -> String {
    let readme = include_str!("../../../README.md");
    let hub_section = &readme[readme.find("\n## Hub\n").expect("a Hub section")..];
    let start = hub_section.find("```js\n").expect("a js snippet") + "```js\n".len();
    let end = start + hub_section[start..].find("```").unwrap();
    let snippet = &hub_section[start..end];
    let named = "http://127.0.0.1:3000/.well-known/mercure";
    assert!(snippet.contains(named), "{snippet}");
    snippet.replace(named, hub)
}

/// The README's snippet in a page on an allowed origin, its `console.log`
/// kept: it logs an update published to a topic its template matches.
async fn readme(site: &Site) {
    let browser = Browser::start().await;
    browser.open(&format!("{}/", site.origins[0])).await;
    let script = format!(
        "window.readmeLogged = [];
         const console = {{ log: (value) => window.readmeLogged.push(value) }};
         {}
         window.readmeStream = updates;",
        readme_snippet(&site.hub)
    );
    browser.run(&script).await;
    browser
        .until(
            "the README's stream open",
            "return window.readmeStream.readyState === EventSource.OPEN;",
        )
        .await;
    let page = Page {
        browser: &browser,
        hub: &site.hub,
    };
    let publisher = token(json!({ "publish": ["*"] }));
    page.publish(
        &[
            ("topic", "https://example.com/books/1"),
            ("data", r#"{"title":"Dune"}"#),
        ],
        Auth::Bearer(&publisher),
    )
    .await;
    let logged = browser
        .until(
            "the update logged",
            "return window.readmeLogged.length > 0 && window.readmeLogged;",
        )
        .await;
    assert_eq!(logged, json!([{ "title": "Dune" }]));
    browser.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_c2_readmes_eventsource_snippet_works_as_written() {
    readme(&Site::start(joe(), Transport::Http1).await).await;
}

fn joe() -> Joe {
    Joe::builder().replayer(FiniteReplayer::new(1000)).build()
}

async fn redis(server: &RedisServer) -> Redis {
    Redis::builder(server.url())
        .key("hub")
        .build()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_a6_a7_b2_b8_c2_c6_d1_d2_d3_d8_e1_e2_on_joe_over_http1() {
    run(Site::start(joe(), Transport::Http1).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_a6_a7_b2_b8_c2_c6_d1_d2_d3_d8_e1_e2_on_joe_over_https_with_http2() {
    run(Site::start(joe(), Transport::Https2).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_a6_a7_b2_b8_c2_c6_d1_d2_d3_d8_e1_e2_on_redis_over_http1() {
    let server = RedisServer::start();
    run(Site::start(redis(&server).await, Transport::Http1).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_a6_a7_b2_b8_c2_c6_d1_d2_d3_d8_e1_e2_on_redis_over_https_with_http2() {
    let server = RedisServer::start();
    run(Site::start(redis(&server).await, Transport::Https2).await).await;
}
