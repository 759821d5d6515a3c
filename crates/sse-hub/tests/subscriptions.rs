//! Active subscriptions over real sockets (rows G1-G5, E4): the events of
//! a subscription's start and end, who gets them, the web API, and the
//! subscriptions of hub processes sharing a Redis, including one that stops
//! writing its presence.

mod common;

use common::{
    Events, PUBLISHER_SECRET, SUBSCRIBER_SECRET, client, open, publish, publisher, serve,
    subscriber, token,
};
use futures_util::StreamExt;
use serde_json::{Value, json};
use sse_codec::{Filter, Parser, Provider, Subscription};
use sse_hub::{
    Hub, HubConfig, RedisPresence,
    auth::{Algorithm, Key, Keys},
};
use sse_redis::Redis;
use sse_testkit::{Proxy, RedisServer, bounded};
use std::{
    net::SocketAddr,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// The selector of every subscription event, and the grant to receive
/// them.
const EVENTS: &str = "/.well-known/mercure/subscriptions/{topic}/{subscriber}";

/// The grant to every route of the API.
const API: &str = "/.well-known/mercure/subscriptions{/topic}{/subscriber}";

const CONTEXT: &str = "https://mercure.rocks/";

fn tracking() -> HubConfig {
    let mut config = HubConfig::default();
    config.subscriptions = true;
    config.anonymous = true;
    config
}

/// The data of an event, as JSON.
fn document(event: &sse_codec::Event) -> Value {
    serde_json::from_str(event.data()).unwrap()
}

/// The next event's document, checked to be a subscription event with an
/// ID of its own.
async fn next_document(events: &mut Events) -> Value {
    let event = events.next().await;
    assert!(
        event.last_event_id().as_str().starts_with("urn:uuid:"),
        "{event:?}"
    );
    document(&event)
}

/// `urn:uuid:…` percent-encoded, as in a subscription's IRI.
fn encoded(subscriber: &str) -> String {
    subscriber.replace(':', "%3A")
}

/// An observer of every subscription event at `url`, and its own start.
async fn observe(url: &str) -> (Events, Value) {
    let mut events =
        Events::new(get_stream(url, &format!("topic={EVENTS}"), &subscriber(&[EVENTS])).await);
    let own = next_document(&mut events).await;
    assert_eq!(
        (own["topic"].as_str(), own["active"].as_bool()),
        (Some(EVENTS), Some(true))
    );
    (events, own)
}

async fn get_stream(hub: &str, query: &str, token: &str) -> reqwest::Response {
    let response = client()
        .get(format!("{hub}?{query}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response
}

/// The API at `hub` + `path` with `token`: the status, the content type,
/// and the body as JSON (`Null` if it is not).
async fn api(hub: &str, path: &str, token: Option<&str>) -> (u16, String, Value) {
    let mut request = client().get(format!("{hub}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.text().await.unwrap();
    (
        status,
        kind,
        serde_json::from_str(&body).unwrap_or(Value::Null),
    )
}

/// The collection of every subscription at `hub`, as a caller granted the
/// API reads it.
async fn listed(hub: &str) -> Value {
    let (status, kind, body) = api(hub, "/subscriptions", Some(&subscriber(&[API]))).await;
    assert_eq!(
        (status, kind.as_str()),
        (200, "application/ld+json"),
        "{body}"
    );
    body
}

/// The subscribers of the subscriptions in a collection.
fn subscribers_of(collection: &Value) -> Vec<(String, String)> {
    collection["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["topic"].as_str().unwrap().to_owned(),
                s["subscriber"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The document of the next frame of a provider's stream.
async fn frame_document<S, E>(stream: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<sse_codec::Encoded, E>> + Unpin,
    E: std::fmt::Debug,
{
    let frame = bounded("a frame", stream.next()).await.unwrap().unwrap();
    let mut parser = Parser::new();
    parser.feed(frame.into_bytes());
    document(&parser.next_event().unwrap().unwrap())
}

/// Waits, boundedly, until `check` holds, looking every 25 ms: for a
/// change only a request shows.
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    bounded(what, async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    })
    .await;
}

/// A token expiring at `exp` (seconds since the epoch), granting nothing.
fn expiring(exp: u64) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({ "mercure": { "subscribe": [] }, "exp": exp }),
        &jsonwebtoken::EncodingKey::from_secret(SUBSCRIBER_SECRET.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn g1_g2_g3_g4_a_subscriptions_start_and_end_once_per_selector_with_its_payload() {
    let served = serve(tracking()).await;
    let (mut observer, own) = observe(&served.url()).await;

    let alice = token(
        SUBSCRIBER_SECRET,
        json!({ "subscribe": ["/books/{id}"], "payload": { "user": "alice" } }),
    );
    let selectors = "topic=/books/{id}&topic=https://example.com/authors/1&topic=/books/{id}";
    let response = open(&served, selectors, Some(&alice)).await;
    assert_eq!(response.status(), 200);
    let first = next_document(&mut observer).await;
    let second = next_document(&mut observer).await;
    assert!(
        observer.is_quiet().await,
        "one event per selector, a repeated one once"
    );

    // Row G4: one IRI for the subscriber's subscriptions, its own.
    let subscriber = first["subscriber"].as_str().unwrap().to_owned();
    assert!(subscriber.starts_with("urn:uuid:"), "{subscriber}");
    assert_eq!(second["subscriber"], subscriber.as_str());
    assert_ne!(own["subscriber"], subscriber.as_str());
    // Rows G2, G3: the draft's document, on the expanded IRI.
    let expected = |topic: &str, encoded_topic: &str, active: bool| {
        json!({
            "@context": CONTEXT,
            "id": format!(
                "/.well-known/mercure/subscriptions/{encoded_topic}/{}",
                encoded(&subscriber)
            ),
            "type": "Subscription",
            "topic": topic,
            "subscriber": subscriber,
            "active": active,
            "payload": { "user": "alice" },
        })
    };
    let books = ("/books/{id}", "%2Fbooks%2F%7Bid%7D");
    let authors = (
        "https://example.com/authors/1",
        "https%3A%2F%2Fexample.com%2Fauthors%2F1",
    );
    assert_eq!(first, expected(books.0, books.1, true));
    assert_eq!(second, expected(authors.0, authors.1, true));

    // Row G1: the end, when the client goes.
    drop(response);
    assert_eq!(
        next_document(&mut observer).await,
        expected(books.0, books.1, false)
    );
    assert_eq!(
        next_document(&mut observer).await,
        expected(authors.0, authors.1, false)
    );
    assert!(observer.is_quiet().await);
}

#[tokio::test]
async fn g1_the_end_is_published_when_the_token_expires_and_when_the_hub_shuts_down() {
    let served = serve(tracking()).await;
    let (mut observer, _) = observe(&served.url()).await;

    // The stream ends at the token's exp (row A8): so does the
    // subscription.
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2;
    let expiring = open(&served, "topic=/books/1", Some(&expiring(exp))).await;
    assert_eq!(next_document(&mut observer).await["active"], true);
    let ended = next_document(&mut observer).await;
    assert_eq!(
        (ended["topic"].as_str(), ended["active"].as_bool()),
        (Some("/books/1"), Some(false))
    );
    assert!(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            >= exp
    );
    drop(expiring);

    // A shutdown ends every stream, the observer's too: the provider's
    // own subscriber sees what it publishes.
    let mut all = Box::pin(
        served
            .hub
            .server()
            .provider()
            .subscribe(
                Subscription::new([])
                    .every_topic()
                    .filter(Filter::new(|_| true)),
            )
            .await
            .unwrap()
            .stream,
    );
    let subscribed = open(&served, "topic=/authors/1", None).await;
    let started = frame_document(&mut all).await;
    assert_eq!(
        (started["topic"].as_str(), started["active"].as_bool()),
        (Some("/authors/1"), Some(true))
    );
    served.hub.shutdown();
    let mut ends = [
        frame_document(&mut all).await,
        frame_document(&mut all).await,
    ];
    ends.sort_by_key(|end| end["topic"].as_str().unwrap().to_owned());
    let mut expected = started.clone();
    expected["active"] = json!(false);
    assert_eq!(
        (ends[0]["topic"].as_str(), ends[0]["active"].as_bool()),
        (Some(EVENTS), Some(false))
    );
    assert_eq!(ends[1], expected);
    drop(subscribed);
}

#[tokio::test]
async fn e4_g1_subscription_events_reach_only_subscribers_granted_their_topic() {
    let served = serve(tracking()).await;
    let mut granted = Events::new(open(&served, "topic=*", Some(&subscriber(&["*"]))).await);
    assert_eq!(next_document(&mut granted).await["topic"], "*");
    let mut other =
        Events::new(open(&served, "topic=*", Some(&subscriber(&["/books/{id}"]))).await);
    let mut anonymous = Events::new(open(&served, "topic=*", None).await);
    for _ in 0..2 {
        assert_eq!(next_document(&mut granted).await["topic"], "*");
    }
    let _books = open(&served, "topic=/books/1", None).await;
    assert_eq!(next_document(&mut granted).await["topic"], "/books/1");

    // The others got none of the four, their own included; their streams
    // are live.
    let id = publish(&served, &[("topic", "/books/1"), ("data", "Dune")]).await;
    for events in [&mut other, &mut anonymous, &mut granted] {
        let event = events.next().await;
        assert_eq!(
            (event.data(), event.last_event_id().as_str()),
            ("Dune", id.as_str())
        );
    }
}

#[tokio::test]
async fn g5_the_api_asks_for_a_token_granting_the_requested_url() {
    let served = serve(tracking()).await;
    let hub = served.url();
    let _books = open(&served, "topic=/books/1", None).await;

    let refused = client()
        .get(format!("{hub}/subscriptions"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["www-authenticate"], "Bearer");
    let publishers = token(PUBLISHER_SECRET, json!({ "subscribe": [API] }));
    assert_eq!(api(&hub, "/subscriptions", Some(&publishers)).await.0, 401);
    let books = subscriber(&["/books/1"]);
    let refused = client()
        .get(format!("{hub}/subscriptions"))
        .bearer_auth(&books)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let challenge = refused.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");

    // The grant matches the path as requested.
    let collection = subscriber(&["/.well-known/mercure/subscriptions"]);
    assert_eq!(api(&hub, "/subscriptions", Some(&collection)).await.0, 200);
    assert_eq!(
        api(&hub, "/subscriptions/%2Fbooks%2F1", Some(&collection))
            .await
            .0,
        403
    );
    let one_topic = subscriber(&["/.well-known/mercure/subscriptions/%2Fbooks%2F1{/subscriber}"]);
    assert_eq!(
        api(&hub, "/subscriptions/%2Fbooks%2F1", Some(&one_topic))
            .await
            .0,
        200
    );
    assert_eq!(
        api(&hub, "/subscriptions/%2Fbooks%2F2", Some(&one_topic))
            .await
            .0,
        403
    );
    assert_eq!(api(&hub, "/subscriptions", Some(&one_topic)).await.0, 403);
    // The token in the query, as for a subscription.
    let response = client()
        .get(format!(
            "{hub}/subscriptions?authorization={}",
            subscriber(&[API])
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn g5_the_collections_one_subscription_and_404() {
    let served = serve(tracking()).await;
    let hub = served.url();
    let reader = subscriber(&[API]);
    let alice = token(
        SUBSCRIBER_SECRET,
        json!({ "subscribe": [], "payload": { "user": "alice" } }),
    );
    let first = open(&served, "topic=/books/{id}&topic=/authors/1", Some(&alice)).await;
    let _second = open(&served, "topic=/authors/1", None).await;

    // The subscriptions are recorded before the stream's head is sent.
    let (status, kind, all) = api(&hub, "/subscriptions", Some(&reader)).await;
    assert_eq!((status, kind.as_str()), (200, "application/ld+json"));
    assert_eq!(all["@context"], CONTEXT);
    assert_eq!(all["id"], "/.well-known/mercure/subscriptions");
    assert_eq!(all["type"], "Subscriptions");
    assert!(all["lastEventID"].is_string(), "{all}");
    let subscriptions = all["subscriptions"].as_array().unwrap();
    assert_eq!(subscriptions.len(), 3, "{all}");
    let alices: Vec<&Value> = subscriptions
        .iter()
        .filter(|s| s["payload"] == json!({ "user": "alice" }))
        .collect();
    assert_eq!(alices.len(), 2, "{all}");
    let alice_iri = alices[0]["subscriber"].as_str().unwrap().to_owned();
    for subscription in subscriptions {
        // Nested documents take the collection's context.
        assert!(subscription.get("@context").is_none(), "{subscription}");
        assert_eq!(
            (
                subscription["type"].as_str(),
                subscription["active"].as_bool()
            ),
            (Some("Subscription"), Some(true))
        );
    }

    let (status, _, by_topic) = api(&hub, "/subscriptions/%2Fauthors%2F1", Some(&reader)).await;
    assert_eq!(status, 200);
    assert_eq!(
        by_topic["id"],
        "/.well-known/mercure/subscriptions/%2Fauthors%2F1"
    );
    assert_eq!(by_topic["type"], "Subscriptions");
    let topics: Vec<(String, String)> = subscribers_of(&by_topic);
    assert_eq!(topics.len(), 2);
    assert!(topics.iter().all(|(topic, _)| topic == "/authors/1"));
    // A selector is matched as it is, not as a template.
    let (status, _, none) = api(&hub, "/subscriptions/%2Fbooks%2F1", Some(&reader)).await;
    assert_eq!((status, none["subscriptions"].clone()), (200, json!([])));

    let one_path = format!("/subscriptions/%2Fbooks%2F%7Bid%7D/{}", encoded(&alice_iri));
    let (status, kind, one) = api(&hub, &one_path, Some(&reader)).await;
    assert_eq!((status, kind.as_str()), (200, "application/ld+json"));
    assert_eq!(
        one,
        json!({
            "@context": CONTEXT,
            "id": format!("/.well-known/mercure/subscriptions{}", &one_path["/subscriptions".len()..]),
            "type": "Subscription",
            "topic": "/books/{id}",
            "subscriber": alice_iri,
            "active": true,
            "payload": { "user": "alice" },
            "lastEventID": all["lastEventID"],
        })
    );

    // Unknown: 404; malformed: 400; no such route: 404.
    let unknown = format!(
        "/subscriptions/%2Fbooks%2F%7Bid%7D/{}",
        encoded("urn:uuid:0")
    );
    assert_eq!(api(&hub, &unknown, Some(&reader)).await.0, 404);
    assert_eq!(api(&hub, "/subscriptions/%zz", Some(&reader)).await.0, 400);
    assert_eq!(
        api(&hub, "/subscriptions/a/b/c", Some(&reader)).await.0,
        404
    );

    // Ended: no longer listed.
    drop(first);
    until("the ended subscription unlisted", || async {
        api(&hub, &one_path, Some(&reader)).await.0 == 404
    })
    .await;
    assert_eq!(subscribers_of(&listed(&hub).await).len(), 1);
}

#[tokio::test]
async fn g5_last_event_id_is_the_hubs_newest_event_or_earliest_and_resumes_after_the_list() {
    let served = serve(tracking()).await;
    let hub = served.url();
    assert_eq!(listed(&hub).await["lastEventID"], "earliest");
    let id = publish(&served, &[("topic", "/books/1"), ("data", "Dune")]).await;
    assert_eq!(listed(&hub).await["lastEventID"], id.as_str());

    let mut observer =
        Events::new(get_stream(&hub, &format!("topic={EVENTS}"), &subscriber(&[EVENTS])).await);
    let own = observer.next().await;
    assert_eq!(
        listed(&hub).await["lastEventID"],
        own.last_event_id().as_str()
    );

    // A client that reads the list, then subscribes from its lastEventID,
    // gets every change after the list.
    let books = open(&served, "topic=/books/1", None).await;
    let started = observer.next().await;
    let list = listed(&hub).await;
    assert_eq!(list["lastEventID"], started.last_event_id().as_str());
    assert_eq!(subscribers_of(&list).len(), 2);
    drop(books);
    let ended = observer.next().await;
    assert_eq!(document(&ended)["active"], false);
    let resumed = client()
        .get(format!("{hub}?topic={EVENTS}"))
        .bearer_auth(subscriber(&[EVENTS]))
        .header("last-event-id", list["lastEventID"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let mut resumed = Events::new(resumed);
    let replayed = resumed.next().await;
    assert_eq!(
        (replayed.last_event_id(), replayed.data()),
        (ended.last_event_id(), ended.data())
    );
    assert_eq!(document(&resumed.next().await)["topic"], EVENTS);
}

#[tokio::test]
async fn active_subscriptions_are_off_by_default() {
    assert!(!HubConfig::default().subscriptions);
    let mut config = HubConfig::default();
    config.anonymous = true;
    let served = serve(config).await;
    let mut all = Events::new(open(&served, "topic=*", Some(&subscriber(&["*"]))).await);
    let _books = open(&served, "topic=/books/1", None).await;
    assert_eq!(
        api(&served.url(), "/subscriptions", Some(&subscriber(&[API])))
            .await
            .0,
        404
    );
    let id = publish(&served, &[("topic", "/books/1"), ("data", "Dune")]).await;
    assert_eq!(all.next().await.last_event_id().as_str(), id);
}

/// The test's keys, as the hubs of `common` have them.
fn keys() -> Keys {
    Keys::new(
        Key::new(Algorithm::Hs256, PUBLISHER_SECRET).unwrap(),
        Key::new(Algorithm::Hs256, SUBSCRIBER_SECRET).unwrap(),
    )
}

/// A hub on the stream `hub` of the Redis at `redis`, its presence on the
/// Redis at `presence` with `ttl`; served on 127.0.0.1 when `serve`.
async fn node(redis: &str, presence: &str, ttl: Duration, serve: bool) -> (Hub<Redis>, String) {
    let provider = Redis::builder(redis).key("hub").build().await.unwrap();
    let presence = RedisPresence::builder(presence)
        .key("hub:subscriptions")
        .ttl(ttl)
        .build()
        .await
        .unwrap();
    let hub = Hub::with_presence(provider, keys(), tracking(), presence).unwrap();
    if !serve {
        return (hub, String::new());
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let app = hub.router();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (hub, format!("http://{addr}/.well-known/mercure"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g1_g5_hubs_on_one_redis_list_each_others_subscriptions_until_one_stops_writing() {
    let redis = RedisServer::start();
    // Node A reaches Redis for its presence through a proxy the test cuts;
    // its updates go straight.
    let proxy = Proxy::start(redis.addr()).await;
    let ttl = Duration::from_secs(1);
    let (_a, a) = node(
        &redis.url(),
        &format!("redis://{}/", proxy.addr()),
        ttl,
        true,
    )
    .await;
    let (_b, b) = node(&redis.url(), &redis.url(), ttl, true).await;
    // A third node, which could take A's subscriptions over as B could.
    let (_c, _) = node(&redis.url(), &redis.url(), ttl, false).await;

    let (mut observer, own) = observe(&b).await;
    let alice = token(SUBSCRIBER_SECRET, json!({ "payload": { "user": "alice" } }));
    let books = get_stream(&a, "topic=/books/1", &alice).await;
    let started = next_document(&mut observer).await;
    assert_eq!(
        (started["topic"].as_str(), started["active"].as_bool()),
        (Some("/books/1"), Some(true))
    );
    let alice_iri = started["subscriber"].as_str().unwrap().to_owned();

    // Recorded in Redis before its event was published: listed on every
    // node as soon as the event is seen.
    let expected = {
        let mut expected = vec![
            ("/books/1".to_owned(), alice_iri.clone()),
            (
                EVENTS.to_owned(),
                own["subscriber"].as_str().unwrap().to_owned(),
            ),
        ];
        expected.sort();
        expected
    };
    for hub in [&a, &b] {
        let mut listed = subscribers_of(&listed(hub).await);
        listed.sort();
        assert_eq!(listed, expected, "on {hub}");
    }

    // A cannot write its presence any more: once its TTL is over it is
    // unlisted, and one node announces its subscription ended, once.
    proxy.refuse();
    proxy.cut();
    let ended = next_document(&mut observer).await;
    let mut expected_end = started.clone();
    expected_end["active"] = json!(false);
    assert_eq!(ended, expected_end);
    assert_eq!(subscribers_of(&listed(&b).await).len(), 1);
    assert!(observer.is_quiet().await, "announced once");
    // A cannot read the other nodes' subscriptions meanwhile.
    assert_eq!(
        api(&a, "/subscriptions", Some(&subscriber(&[API]))).await.0,
        503
    );

    // Its stream was served all along; back on Redis, A writes its
    // subscriptions again and announces them started again.
    let mut books = Events::new(books);
    let id = {
        let response = client()
            .post(&b)
            .bearer_auth(common::publisher(&["/books/1"]))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("topic=/books/1&data=Dune")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    };
    assert_eq!(books.next().await.last_event_id().as_str(), id);
    proxy.set_target(redis.addr());
    let again = next_document(&mut observer).await;
    assert_eq!(again, started);
    let mut listed_again = subscribers_of(&listed(&b).await);
    listed_again.sort();
    assert_eq!(listed_again, expected);

    // Its client goes: A announces the end.
    drop(books);
    assert_eq!(next_document(&mut observer).await, expected_end);
    assert_eq!(subscribers_of(&listed(&b).await).len(), 1);
    assert!(observer.is_quiet().await);
}

/// An `sse-hub` process, killed (`SIGKILL`) and reaped when dropped.
struct Process(std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An `sse-hub` process on the Redis `redis` (key `hub`) tracking
/// subscriptions, whose stopped process's subscriptions stay listed
/// `ttl` seconds, and its URL.
fn hub_process(redis: &RedisServer, ttl: &str) -> (Process, String) {
    use std::io::BufRead;
    let mut process = Process(
        std::process::Command::new(env!("CARGO_BIN_EXE_sse-hub"))
            .args([
                "--addr",
                "127.0.0.1:0",
                "--redis",
                &redis.url(),
                "--redis-key",
                "hub",
            ])
            .args(["--subscriptions", "--subscriptions-ttl", ttl])
            .env("MERCURE_PUBLISHER_JWT_KEY", PUBLISHER_SECRET)
            .env("MERCURE_SUBSCRIBER_JWT_KEY", SUBSCRIBER_SECRET)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut stdout = std::io::BufReader::new(process.0.stdout.take().unwrap());
    loop {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "the hub ended");
        if let Some(url) = line.trim_end().strip_prefix("listening on ") {
            return (process, url.to_owned());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g1_g5_the_subscriptions_of_a_killed_hub_process_are_announced_ended() {
    let redis = RedisServer::start();
    let (process, a) = hub_process(&redis, "1");
    // The binary's key for the presence is the stream's, `:subscriptions`
    // after it.
    let (_b, b) = node(&redis.url(), &redis.url(), Duration::from_secs(1), true).await;

    let (mut observer, _) = observe(&b).await;
    let books = get_stream(&a, "topic=/books/1", &subscriber(&[])).await;
    let started = next_document(&mut observer).await;
    assert_eq!(started["topic"], "/books/1");
    let mut listed_on_b = subscribers_of(&listed(&b).await);
    listed_on_b.sort();
    assert!(listed_on_b.contains(&(
        "/books/1".to_owned(),
        started["subscriber"].as_str().unwrap().to_owned()
    )));

    drop(process);
    let mut expected = started.clone();
    expected["active"] = json!(false);
    assert_eq!(next_document(&mut observer).await, expected);
    assert_eq!(
        subscribers_of(&listed(&b).await).len(),
        1,
        "the observer's own"
    );
    assert!(observer.is_quiet().await);
    drop(books);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g1_a_hub_process_stopped_with_sigterm_announces_its_subscriptions_ended_before_it_exits() {
    let redis = RedisServer::start();
    // Listed for a minute after the process stops: only the process itself
    // can announce the end within this test's time.
    let (mut process, a) = hub_process(&redis, "60");
    let (_b, b) = node(&redis.url(), &redis.url(), Duration::from_secs(60), true).await;
    let (mut observer, _) = observe(&b).await;
    let books = get_stream(&a, "topic=/books/1&topic=/books/2", &subscriber(&[])).await;
    let mut started = [
        next_document(&mut observer).await,
        next_document(&mut observer).await,
    ];
    started.sort_by(|x, y| x["topic"].as_str().cmp(&y["topic"].as_str()));
    assert_eq!(started[0]["topic"], "/books/1");
    assert_eq!(started[1]["topic"], "/books/2");

    let pid = process.0.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = tokio::task::spawn_blocking(move || process.0.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status}");
    let mut ended = [
        next_document(&mut observer).await,
        next_document(&mut observer).await,
    ];
    ended.sort_by(|x, y| x["topic"].as_str().cmp(&y["topic"].as_str()));
    for (ended, mut started) in ended.into_iter().zip(started) {
        started["active"] = json!(false);
        assert_eq!(ended, started);
    }
    assert_eq!(
        subscribers_of(&listed(&b).await).len(),
        1,
        "the observer's own"
    );
    drop(books);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g1_a_subscriber_that_never_reads_is_announced_ended_when_the_hub_stops() {
    use tokio::io::AsyncWriteExt;
    let redis = RedisServer::start();
    // Listed for a minute after the process stops: only the process itself
    // can announce the end within this test's time.
    let (mut process, a) = hub_process(&redis, "60");
    let (_b, b) = node(&redis.url(), &redis.url(), Duration::from_secs(60), true).await;
    let (mut observer, _) = observe(&b).await;

    // A subscriber that never reads a byte of its stream.
    let authority = a
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let mut stalled = tokio::net::TcpStream::connect(&authority).await.unwrap();
    let head = format!(
        "GET /.well-known/mercure?topic=/books/1 HTTP/1.1\r\nhost: {authority}\r\n\
         authorization: Bearer {}\r\n\r\n",
        subscriber(&[])
    );
    stalled.write_all(head.as_bytes()).await.unwrap();
    let started = next_document(&mut observer).await;
    assert_eq!(started["topic"], "/books/1");
    // 4 MB of updates: more than the socket buffers on both sides hold, so
    // that the hub is left writing to it when it stops.
    let body = format!("topic=/books/1&data={}", "x".repeat(100_000));
    let client = client();
    for _ in 0..40 {
        let published = client
            .post(&a)
            .bearer_auth(publisher(&["/books/1"]))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(published.status(), 200);
    }

    assert!(
        observer.is_quiet().await,
        "the stalled subscriber is still on"
    );

    let pid = process.0.id().to_string();
    let stopped = std::time::Instant::now();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = tokio::task::spawn_blocking(move || process.0.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success(), "{status}");
    // Its connection held the stop to the deadline.
    assert!(
        stopped.elapsed() >= Duration::from_secs(4),
        "{:?}",
        stopped.elapsed()
    );
    let mut expected = started.clone();
    expected["active"] = json!(false);
    assert_eq!(next_document(&mut observer).await, expected);
    drop(stalled);
}
