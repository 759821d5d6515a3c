//! Deep resumes: 100,000 updates retained, a subscriber resuming 50,000
//! back gets every update after its ID once, in order, then live ones,
//! while publishes race its replay; on Joe and on Redis (resuming on
//! another node than the one published to).

mod common;

use common::{
    Events,
    nodes::{open_at, position, serve_redis, stored},
    serve_history,
};
use futures_util::future::join_all;
use sse_codec::{EventId, Message, Provider, Routing, Topic};
use sse_hub::HubConfig;
use sse_redis::Retention;
use sse_testkit::{RedisServer, bounded};
use std::time::Instant;
use tokio::sync::watch;

/// Updates retained.
const RETAINED: usize = 100_000;
/// How far back the subscriber resumes.
const BACK: usize = 50_000;
/// Updates published while the subscriber's replay is read.
const RACING: usize = 1000;
/// The data of the update that ends a test's publishes.
const END: &str = "end";

fn anonymous() -> HubConfig {
    let mut config = HubConfig::default();
    config.anonymous = true;
    config
}

/// Update `n` to `/deep`, with the ID `urn:n:<n>`.
fn update(n: usize) -> (Message, Routing) {
    let id = EventId::try_from(format!("urn:n:{n}")).unwrap();
    let message = Message::new().id(id).data(n.to_string());
    (message, Routing::new([Topic::from("/deep")]))
}

/// The selectors resumed: the topic, and a URI template matching it (the
/// hub then considers every topic, asking the template).
const SELECTORS: [&str; 2] = ["topic=/deep", "topic=/{name}"];

/// Resumes a subscriber of each of [`SELECTORS`] on the hub at `url`
/// after `id`, checks that the responses say so, and reads both until
/// [`END`] while `provider` publishes updates `first..first + RACING`
/// spread over their replays (the `k`th once both have read
/// `k * BACK / RACING`) and then `END`. The data and ID of what each read.
async fn resume<P: Provider>(
    url: &str,
    id: &str,
    provider: P,
    first: usize,
) -> Vec<Vec<(String, String)>> {
    let mut subscribers = Vec::new();
    for selector in SELECTORS {
        let response = open_at(url, selector, None, Some(id)).await;
        assert_eq!(position(&response), Some(id), "{selector}");
        subscribers.push(Events::new(response));
    }
    let (progress, reads): (Vec<_>, Vec<_>) = SELECTORS.iter().map(|_| watch::channel(0)).unzip();
    let racing = tokio::spawn(async move {
        for k in 0..RACING {
            for read in &reads {
                let _ = read
                    .clone()
                    .wait_for(|&read| read >= k * BACK / RACING)
                    .await;
            }
            let (message, routing) = update(first + k);
            provider.publish_routed(message, routing).await.unwrap();
        }
        provider
            .publish(Message::new().data(END), &[Topic::from("/deep")])
            .await
            .unwrap();
    });
    let got = join_all(
        subscribers
            .iter_mut()
            .zip(progress)
            .map(|(events, progress)| read_to_end(events, progress)),
    )
    .await;
    racing.await.unwrap();
    got
}

/// Reads `events` until [`END`]: data and ID of each, telling `read` how
/// many so far.
async fn read_to_end(events: &mut Events, read: watch::Sender<usize>) -> Vec<(String, String)> {
    let mut got = Vec::with_capacity(BACK + RACING);
    bounded("every update after the ID, then the end", async {
        loop {
            let event = events.next().await;
            if event.data() == END {
                return;
            }
            got.push((
                event.data().to_owned(),
                event.last_event_id().as_str().to_owned(),
            ));
            read.send_replace(got.len());
        }
    })
    .await;
    got
}

/// On Joe keeping the last 100,000: a resume from the 50,000th newest ID
/// (`Last-Event-ID: urn:n:49999`) is exact: the response says so, and the
/// subscriber gets updates 50,000 to 99,999 and then those a publisher
/// races its replay with, each once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f4_f6_a_resume_50_000_back_of_100_000_on_joe_is_exact() {
    let started = Instant::now();
    let served = serve_history(anonymous(), RETAINED).await;
    let joe = served.hub.server().provider().clone();
    for n in 0..RETAINED {
        let (message, routing) = update(n);
        joe.publish_routed(message, routing).await.unwrap();
    }
    let seeded = started.elapsed();

    let resumed_after = format!("urn:n:{}", RETAINED - BACK - 1);
    let replay = Instant::now();
    let read = resume(&served.url(), &resumed_after, joe, RETAINED).await;
    let replay = replay.elapsed();

    for (reading, selector) in read.iter().zip(SELECTORS) {
        assert_eq!(reading.len(), BACK + RACING, "{selector}");
        for (i, (data, id)) in reading.iter().enumerate() {
            let n = RETAINED - BACK + i;
            assert_eq!(
                (data, id),
                (&n.to_string(), &format!("urn:n:{n}")),
                "{selector}"
            );
        }
    }
    eprintln!(
        "Joe: {RETAINED} published in {seeded:?}; {BACK} replayed and {RACING} raced to two subscribers in {replay:?}"
    );
}

/// On Redis keeping the last 100,000, two hubs on one stream: 100,000
/// published through A (some at once, so in an order of Redis's), then a
/// resume on B from the ID of the 50,000th newest entry is exact: the
/// response says so, and the subscriber gets every entry after it, then
/// those a publisher races its replay with through A, each once, in the
/// stream's order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f4_f6_a_resume_50_000_back_of_100_000_on_redis_is_exact() {
    let started = Instant::now();
    let redis = RedisServer::start();
    let retention = Retention::Last(RETAINED as u64);
    let a = serve_redis(anonymous(), &redis.url(), "deep", retention).await;
    let publisher = a.hub.server().provider().clone();
    let ns: Vec<usize> = (0..RETAINED).collect();
    for chunk in ns.chunks(1000) {
        let publishes = chunk.iter().map(|&n| {
            let (message, routing) = update(n);
            publisher.publish_routed(message, routing)
        });
        for published in join_all(publishes).await {
            published.unwrap();
        }
    }
    let history = stored(&redis.url(), "deep").await;
    assert_eq!(history.len(), RETAINED, "every update retained");
    let seeded = started.elapsed();
    // Started now, B's reader starts at the stream's end: the resume reads
    // all it gets from Redis.
    let b = serve_redis(anonymous(), &redis.url(), "deep", retention).await;

    let resumed_after = history[RETAINED - BACK - 1].0.clone();
    let replay = Instant::now();
    let read = resume(&b.url(), &resumed_after, publisher, RETAINED).await;
    let replay = replay.elapsed();

    let history = stored(&redis.url(), "deep").await;
    let after = history
        .iter()
        .position(|(id, _)| *id == resumed_after)
        .expect("the ID resumed from is still retained");
    let expected: Vec<(String, String)> = history[after + 1..history.len() - 1]
        .iter()
        .map(|(id, data)| (data.clone(), id.clone()))
        .collect();
    assert_eq!(expected.len(), BACK + RACING);
    for (reading, selector) in read.iter().zip(SELECTORS) {
        assert_eq!(reading.len(), expected.len(), "{selector}");
        for (i, (got, expected)) in reading.iter().zip(&expected).enumerate() {
            assert_eq!(got, expected, "{selector}: update {i} after the ID");
        }
    }
    eprintln!(
        "Redis: {RETAINED} published in {seeded:?}; {BACK} replayed and {RACING} raced to two subscribers in {replay:?}"
    );
}

/// Rows F5, F6 on Joe keeping the last 100 of 300: a resume from an
/// evicted ID gets `Last-Event-ID: earliest` and the 100 retained, in
/// order, then live updates.
#[tokio::test]
async fn f5_f6_an_evicted_id_on_joe_gets_earliest_and_everything_retained() {
    let served = serve_history(anonymous(), 100).await;
    let joe = served.hub.server().provider().clone();
    for n in 0..300 {
        let (message, routing) = update(n);
        joe.publish_routed(message, routing).await.unwrap();
    }
    let response = open_at(&served.url(), "topic=/deep", None, Some("urn:n:0")).await;
    assert_eq!(position(&response), Some("earliest"));
    let mut events = Events::new(response);
    let expected: Vec<String> = (200..300).map(|n| n.to_string()).collect();
    assert_eq!(events.data(100).await, expected);
    let (message, routing) = update(300);
    joe.publish_routed(message, routing).await.unwrap();
    assert_eq!(events.data(1).await, ["300"]);
}
