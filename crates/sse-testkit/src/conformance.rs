//! The [`Provider`] contract, clause by clause, for any provider.
//!
//! A provider's tests implement [`Harness`] (how to make a provider with a
//! given queue capacity and history, and how many streams it has open) and
//! call [`run_all`], or the checks one by one. Each check makes providers
//! of its own, so a harness must give a fresh, empty one each time (for
//! Redis, a new stream key).

use crate::{BOUND, bounded, wait_until};
use futures_util::{FutureExt, StreamExt, future::join_all};
use sse_codec::{
    Encoded, Event, EventId, Filter, Message, Parser, Provider, Resume, Routing, Start,
    Subscription, Topic,
};
use std::{
    collections::HashMap, fmt::Debug, future::Future, panic::AssertUnwindSafe, pin::Pin,
    time::Duration,
};

/// How a provider under test is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Each subscriber's queue holds at most this many frames before the
    /// provider ends it.
    pub capacity: usize,
    /// The history keeps about the last this many messages (at least that
    /// many; a provider may keep more).
    pub history: usize,
    /// The provider keeps the IDs that publishers set on their messages,
    /// instead of assigning IDs itself (the checks that ask for it set an
    /// ID on every message they publish).
    pub publisher_ids: bool,
}

/// A provider under test.
pub trait Harness: Sync {
    /// The provider.
    type Provider: Provider + Clone;

    /// A new provider, with no history and no subscribers, that assigns
    /// event IDs to what is published, or, with
    /// [`publisher_ids`](Config::publisher_ids), keeps those the
    /// publishers set.
    fn provider(&self, config: Config) -> impl Future<Output = Self::Provider> + Send;

    /// The subscriber streams `provider` has open in this process.
    fn open_streams(&self, provider: &Self::Provider) -> usize;
}

type Check<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Runs every check, one after the other, naming each as it starts. A
/// check that fails does not stop the others: the run fails at the end,
/// naming every check that failed (each one's panic is printed as it
/// happens).
pub async fn run_all<H: Harness>(harness: &H) {
    let checks: [(&str, Check<'_>); 14] = [
        (
            "delivers to each matching subscriber once",
            Box::pin(delivers_once(harness)),
        ),
        ("keeps the publish order", Box::pin(keeps_order(harness))),
        (
            "reports fresh, exact and lost resumes",
            Box::pin(resume_status(harness)),
        ),
        (
            "reports where each stream starts",
            Box::pin(reports_position(harness)),
        ),
        (
            "loses history that was evicted",
            Box::pin(evicted_history_is_lost(harness)),
        ),
        (
            "replays then goes live without gap or duplicate",
            Box::pin(resume_races_publishes(harness)),
        ),
        (
            "ends a slow subscriber and waits for nobody",
            Box::pin(slow_subscriber_is_ended(harness)),
        ),
        (
            "ends streams at shutdown and refuses calls",
            Box::pin(shutdown_ends_everything(harness)),
        ),
        (
            "unsubscribes a dropped stream",
            Box::pin(drop_unsubscribes(harness)),
        ),
        (
            "filters the updates of every topic",
            Box::pin(filters_every_topic(harness)),
        ),
        (
            "shows a private update only to the filters that accept it",
            Box::pin(private_updates(harness)),
        ),
        (
            "delivers an update with two topics once",
            Box::pin(two_topics_arrive_once(harness)),
        ),
        (
            "keeps the IDs publishers set and resumes from them",
            Box::pin(keeps_publisher_ids(harness)),
        ),
        (
            "resumes a reused ID from its earliest retained use",
            Box::pin(reused_id_resumes_from_its_earliest_use(harness)),
        ),
    ];
    let mut failed = Vec::new();
    for (name, check) in checks {
        eprintln!("conformance: {name}");
        // A failed check's provider is dropped with it; the next check
        // makes its own, so nothing it left behind is shared.
        if AssertUnwindSafe(check).catch_unwind().await.is_err() {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "conformance checks failed: {failed:?}");
}

const PLENTY: Config = Config {
    capacity: 4096,
    history: 4096,
    publisher_ids: false,
};

/// As [`PLENTY`], with the IDs the publishers set.
const PUBLISHER_IDS: Config = Config {
    publisher_ids: true,
    ..PLENTY
};

/// The events in a frame.
fn events(frame: &Encoded) -> Vec<Event> {
    let mut parser = Parser::new();
    parser.feed(frame.as_bytes().clone());
    let mut out = Vec::new();
    while let Ok(Some(event)) = parser.next_event() {
        out.push(event);
    }
    out
}

/// A subscriber's stream, pinned so that the checks can poll it in place.
type Stream<P> = Pin<Box<<P as Provider>::Stream>>;

async fn subscribe<P: Provider>(provider: &P, topics: &[&str]) -> Stream<P> {
    subscribe_from(provider, topics, None).await.0
}

async fn subscribe_from<P: Provider>(
    provider: &P,
    topics: &[&str],
    last_event_id: Option<EventId>,
) -> (Stream<P>, Resume) {
    let start = last_event_id.map_or(Start::Now, Start::After);
    subscribe_at(provider, topics, start).await
}

async fn subscribe_at<P: Provider>(
    provider: &P,
    topics: &[&str],
    start: Start,
) -> (Stream<P>, Resume) {
    let (stream, resume, _) = subscribe_with_position(provider, topics, start).await;
    (stream, resume)
}

async fn subscribe_with_position<P: Provider>(
    provider: &P,
    topics: &[&str],
    start: Start,
) -> (Stream<P>, Resume, Option<EventId>) {
    subscribe_with(
        provider,
        Subscription::new(to_topics(topics)).starting(start),
    )
    .await
}

async fn subscribe_with<P: Provider>(
    provider: &P,
    subscription: Subscription,
) -> (Stream<P>, Resume, Option<EventId>) {
    let subscribed = bounded("subscribe", provider.subscribe(subscription))
        .await
        .unwrap_or_else(|error| panic!("subscribe failed: {}", report(&error)));
    (
        Box::pin(subscribed.stream),
        subscribed.resume,
        subscribed.position,
    )
}

fn to_topics(topics: &[&str]) -> Vec<Topic> {
    topics.iter().map(|t| Topic::from(*t)).collect()
}

async fn publish<P: Provider>(provider: &P, data: impl Into<String>, topics: &[&str]) {
    publish_message(provider, Message::new().data(data.into()), topics).await;
}

async fn publish_message<P: Provider>(provider: &P, message: Message, topics: &[&str]) {
    bounded("publish", provider.publish(message, &to_topics(topics)))
        .await
        .unwrap_or_else(|error| panic!("publish failed: {}", report(&error)));
}

/// Publishes a message with the ID `id`.
async fn publish_with_id<P: Provider>(provider: &P, id: &str, data: &str, topics: &[&str]) {
    let id = EventId::try_from(id).expect("a valid ID");
    publish_message(provider, Message::new().id(id).data(data), topics).await;
}

async fn publish_routed<P: Provider>(provider: &P, data: &str, routing: Routing) {
    let routed = provider.publish_routed(Message::new().data(data), routing.clone());
    bounded("publish_routed", routed)
        .await
        .unwrap_or_else(|error| panic!("publish_routed {routing:?} failed: {}", report(&error)));
}

/// An error and its sources, as one line.
fn report(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line = format!("{line}: {cause}");
        source = cause.source();
    }
    line
}

/// The next event of a stream, waiting boundedly; `None` at its end.
async fn next_event<S, E>(stream: &mut S) -> Option<Result<Event, E>>
where
    S: futures_util::Stream<Item = Result<Encoded, E>> + Unpin,
{
    match bounded("the next frame", stream.next()).await? {
        Ok(frame) => {
            let mut events = events(&frame);
            assert_eq!(events.len(), 1, "one event per published message");
            Some(Ok(events.remove(0)))
        }
        Err(error) => Some(Err(error)),
    }
}

/// The next `n` events' data, which must all arrive.
async fn data<S, E: Debug>(stream: &mut S, n: usize) -> Vec<String>
where
    S: futures_util::Stream<Item = Result<Encoded, E>> + Unpin,
{
    let mut out = Vec::new();
    for _ in 0..n {
        let event = next_event(stream).await.expect("the stream ended early");
        out.push(event.expect("an event, not an error").data().to_owned());
    }
    out
}

/// The next `n` events, as their ID and data, which must all arrive.
async fn ids_and_data<S, E: Debug>(stream: &mut S, n: usize) -> Vec<(String, String)>
where
    S: futures_util::Stream<Item = Result<Encoded, E>> + Unpin,
{
    let mut out = Vec::new();
    for _ in 0..n {
        let event = next_event(stream).await.expect("the stream ended early");
        let event = event.expect("an event, not an error");
        out.push((
            event.last_event_id().as_str().to_owned(),
            event.data().to_owned(),
        ));
    }
    out
}

/// Checks that `who`'s stream yields events with exactly the data
/// `expected`, in order, and then nothing; a failure says what arrived.
async fn expect_only<S, E: Debug>(stream: &mut S, expected: &[impl AsRef<str>], who: &str)
where
    S: futures_util::Stream<Item = Result<Encoded, E>> + Unpin,
{
    let expected: Vec<&str> = expected.iter().map(AsRef::as_ref).collect();
    let mut got = Vec::new();
    while got.len() < expected.len() {
        match tokio::time::timeout(BOUND, stream.next()).await {
            Ok(Some(Ok(frame))) => got.extend(events(&frame).iter().map(|e| e.data().to_owned())),
            Ok(Some(Err(error))) => {
                panic!("{who}: got {got:?}, then the error {error:?}; expected {expected:?}")
            }
            Ok(None) => panic!("{who}: got {got:?}, then the end; expected {expected:?}"),
            Err(_) => {
                panic!("{who}: got {got:?}, then nothing for {BOUND:?}; expected {expected:?}")
            }
        }
    }
    assert_eq!(got, expected, "{who}: in order, each once");
    if let Ok(Some(extra)) = tokio::time::timeout(Duration::from_millis(200), stream.next()).await {
        let extra = extra.map(|frame| {
            events(&frame)
                .iter()
                .map(|e| e.data().to_owned())
                .collect::<Vec<_>>()
        });
        panic!("{who}: got {got:?} as expected, then {extra:?}");
    }
}

/// Whether the stream has nothing ready now.
async fn is_idle<S: futures_util::Stream + Unpin>(stream: &mut S) -> bool {
    tokio::time::timeout(Duration::from_millis(200), stream.next())
        .await
        .is_err()
}

/// Publishing reaches every subscriber of any of the message's topics,
/// once each even when several of its topics match, and no one else.
pub async fn delivers_once<H: Harness>(harness: &H) {
    let provider = harness.provider(PLENTY).await;
    let mut a = subscribe(&provider, &["a"]).await;
    let mut ab = subscribe(&provider, &["a", "b", "a"]).await;
    let mut c = subscribe(&provider, &["c"]).await;
    let mut none = subscribe(&provider, &[]).await;
    publish(&provider, "x", &["a", "b", "a"]).await;
    publish(&provider, "y", &["b"]).await;
    publish(&provider, "z", &["c"]).await;
    assert_eq!(data(&mut a, 1).await, ["x"]);
    assert_eq!(data(&mut ab, 2).await, ["x", "y"]);
    assert_eq!(
        data(&mut c, 1).await,
        ["z"],
        "c gets only what was published to c"
    );
    assert!(is_idle(&mut a).await && is_idle(&mut ab).await && is_idle(&mut c).await);
    assert!(is_idle(&mut none).await, "no topics, no messages");
    // Publishing to no subscriber is not an error.
    publish(&provider, "nobody", &["d"]).await;
    bounded("shutdown", provider.shutdown()).await;
}

/// Publishes from one task arrive in order; concurrent publishes arrive in
/// the same order at every subscriber.
pub async fn keeps_order<H: Harness>(harness: &H) {
    const TASKS: usize = 4;
    const EACH: usize = 50;
    let provider = harness.provider(PLENTY).await;
    let mut subs = Vec::new();
    for _ in 0..3 {
        subs.push(subscribe(&provider, &["t"]).await);
    }
    join_all((0..TASKS).map(|task| {
        let provider = provider.clone();
        async move {
            for i in 0..EACH {
                publish(&provider, format!("{task} {i}"), &["t"]).await;
            }
        }
    }))
    .await;
    let mut seen = Vec::new();
    for sub in &mut subs {
        seen.push(data(sub, TASKS * EACH).await);
    }
    for got in &seen {
        assert_eq!(got, &seen[0], "every subscriber sees one order");
    }
    let mut next = [0; TASKS];
    for item in &seen[0] {
        let (task, i) = item.split_once(' ').unwrap();
        let (task, i): (usize, usize) = (task.parse().unwrap(), i.parse().unwrap());
        assert_eq!(i, next[task], "task {task}'s publishes in order");
        next[task] += 1;
    }
    bounded("shutdown", provider.shutdown()).await;
}

/// No ID: fresh. A retained ID: exact, replaying what was published to
/// the subscriber's topics after it, then live. From the earliest: all
/// that is retained for its topics. An ID the provider never gave: lost,
/// nothing replayed.
pub async fn resume_status<H: Harness>(harness: &H) {
    let provider = harness.provider(PLENTY).await;
    let mut first = subscribe(&provider, &["a", "b"]).await;
    publish(&provider, "a1", &["a"]).await;
    publish(&provider, "b1", &["b"]).await;
    publish(&provider, "a2", &["a"]).await;
    publish(&provider, "ab", &["a", "b"]).await;
    let mut ids = HashMap::new();
    for _ in 0..4 {
        let event = next_event(&mut first).await.unwrap().unwrap();
        assert!(
            !event.last_event_id().is_empty(),
            "published events get IDs"
        );
        ids.insert(event.data().to_owned(), event.last_event_id().clone());
    }

    let (mut fresh, resume) = subscribe_from(&provider, &["a"], None).await;
    assert_eq!(resume, Resume::Fresh);
    assert!(
        is_idle(&mut fresh).await,
        "a fresh subscriber gets no history"
    );

    let (mut exact, resume) = subscribe_from(&provider, &["a"], Some(ids["a1"].clone())).await;
    assert_eq!(resume, Resume::Exact);
    assert_eq!(
        data(&mut exact, 2).await,
        ["a2", "ab"],
        "only topic a, after a1"
    );
    let (mut newest, resume) = subscribe_from(&provider, &["a"], Some(ids["ab"].clone())).await;
    assert_eq!(resume, Resume::Exact);
    assert!(is_idle(&mut newest).await, "nothing came after the newest");

    let (mut earliest, resume) = subscribe_at(&provider, &["a"], Start::Earliest).await;
    assert_eq!(resume, Resume::Earliest);
    assert_eq!(
        data(&mut earliest, 3).await,
        ["a1", "a2", "ab"],
        "all of topic a"
    );

    for unknown in ["nope", "0", "1-0", "0-0:0000000000000000", "\u{fffd}"] {
        let id = EventId::try_from(unknown).unwrap();
        let (mut lost, resume) = subscribe_from(&provider, &["a"], Some(id)).await;
        assert_eq!(resume, Resume::Lost, "{unknown}");
        assert!(is_idle(&mut lost).await, "nothing replayed from {unknown}");
    }

    // Then live, for all of them.
    publish(&provider, "live", &["a"]).await;
    for sub in [&mut fresh, &mut exact, &mut newest, &mut earliest] {
        assert_eq!(data(sub, 1).await, ["live"]);
    }
    bounded("shutdown", provider.shutdown()).await;
}

/// A subscription's position is the ID of the last message before its
/// first one: the ID resumed after; the newest retained (any topic) for a
/// fresh or lost one; none from the earliest or with nothing retained.
/// Resuming from a fresh or lost subscription's position later is exact
/// and replays just what it would have got live.
pub async fn reports_position<H: Harness>(harness: &H) {
    let provider = harness.provider(PLENTY).await;
    let (_, resume, position) = subscribe_with_position(&provider, &["a"], Start::Now).await;
    assert_eq!(
        (resume, position),
        (Resume::Fresh, None),
        "nothing retained"
    );

    let mut first = subscribe(&provider, &["a", "b"]).await;
    publish(&provider, "a1", &["a"]).await;
    publish(&provider, "b1", &["b"]).await;
    let mut ids = HashMap::new();
    for _ in 0..2 {
        let event = next_event(&mut first).await.unwrap().unwrap();
        ids.insert(event.data().to_owned(), event.last_event_id().clone());
    }

    let (mut fresh, _, position) = subscribe_with_position(&provider, &["a"], Start::Now).await;
    assert_eq!(position.as_ref(), Some(&ids["b1"]), "fresh: the newest");
    let (_, resume, position) =
        subscribe_with_position(&provider, &["a"], Start::After(ids["a1"].clone())).await;
    assert_eq!(
        (resume, position.as_ref()),
        (Resume::Exact, Some(&ids["a1"]))
    );
    let (_, resume, position) = subscribe_with_position(&provider, &["a"], Start::Earliest).await;
    assert_eq!((resume, position), (Resume::Earliest, None));
    let unknown = Start::After(EventId::from_static("nope"));
    let (mut lost, resume, position) = subscribe_with_position(&provider, &["a"], unknown).await;
    assert_eq!(
        (resume, position.as_ref()),
        (Resume::Lost, Some(&ids["b1"]))
    );

    publish(&provider, "a2", &["a"]).await;
    assert_eq!(data(&mut fresh, 1).await, ["a2"]);
    assert_eq!(data(&mut lost, 1).await, ["a2"]);
    // Resuming from the position gives what the stream got, no more.
    let (mut resumed, resume) =
        subscribe_at(&provider, &["a"], Start::After(ids["b1"].clone())).await;
    assert_eq!(resume, Resume::Exact);
    assert_eq!(data(&mut resumed, 1).await, ["a2"]);
    assert!(is_idle(&mut resumed).await, "nothing before the position");
    bounded("shutdown", provider.shutdown()).await;
}

/// An ID that was evicted from the history is lost.
pub async fn evicted_history_is_lost<H: Harness>(harness: &H) {
    let provider = harness
        .provider(Config {
            capacity: 4096,
            history: 10,
            ..PLENTY
        })
        .await;
    let mut sub = subscribe(&provider, &["t"]).await;
    publish(&provider, "first", &["t"]).await;
    let first = next_event(&mut sub).await.unwrap().unwrap();
    // Providers may keep more than asked (Redis trims whole nodes of 100
    // entries): publish well past it.
    for i in 0..500 {
        publish(&provider, i.to_string(), &["t"]).await;
    }
    // Delivered: a distributed provider has read them all by then, so a
    // new subscriber gets none of them live.
    data(&mut sub, 500).await;
    let (mut lost, resume) =
        subscribe_from(&provider, &["t"], Some(first.last_event_id().clone())).await;
    assert_eq!(resume, Resume::Lost);
    assert!(is_idle(&mut lost).await);
    bounded("shutdown", provider.shutdown()).await;
}

/// Several tasks publish numbered messages while subscribers join, read a
/// while, and resume from the last ID they saw. Every subscriber sees one
/// run of the messages with no gap and no duplicate across its resumes.
pub async fn resume_races_publishes<H: Harness>(harness: &H) {
    const PUBLISHERS: usize = 3;
    const EACH: usize = 150;
    const TOTAL: usize = PUBLISHERS * EACH;
    const READERS: usize = 6;
    let provider = harness.provider(PLENTY).await;
    // A marker first, so that every reader has an ID to start from.
    let mut marker_sub = subscribe(&provider, &["t"]).await;
    publish(&provider, "start", &["t"]).await;
    let start = next_event(&mut marker_sub).await.unwrap().unwrap();
    drop(marker_sub);

    let publishers = join_all((0..PUBLISHERS).map(|p| {
        let provider = provider.clone();
        async move {
            for i in 0..EACH {
                publish(&provider, format!("{p} {i}"), &["t"]).await;
                if i % 10 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        }
    }));
    let readers = join_all((0..READERS).map(|r| {
        let provider = provider.clone();
        let start = start.last_event_id().clone();
        async move {
            let mut seen = Vec::new();
            let mut last = start;
            let mut resumes = 0;
            while seen.len() < TOTAL {
                let (mut stream, resume) =
                    subscribe_from(&provider, &["t"], Some(last.clone())).await;
                assert_eq!(resume, Resume::Exact, "reader {r} resuming from {last:?}");
                resumes += 1;
                // Read a different stretch each time, then reconnect.
                let stretch = 20 + 13 * r + 7 * resumes;
                for _ in 0..stretch {
                    if seen.len() == TOTAL {
                        break;
                    }
                    let event = next_event(&mut stream)
                        .await
                        .expect("the stream ended early")
                        .expect("an event");
                    last = event.last_event_id().clone();
                    seen.push(event.data().to_owned());
                }
            }
            seen
        }
    }));
    let (_, seen) = tokio::join!(publishers, readers);
    for (r, seen) in seen.iter().enumerate() {
        let mut next = [0; PUBLISHERS];
        for item in seen {
            let (p, i) = item.split_once(' ').unwrap();
            let (p, i): (usize, usize) = (p.parse().unwrap(), i.parse().unwrap());
            assert_eq!(
                i, next[p],
                "reader {r}: publisher {p}, no gap, no duplicate"
            );
            next[p] += 1;
        }
        assert_eq!(next, [EACH; PUBLISHERS], "reader {r} saw everything");
    }
    bounded("shutdown", provider.shutdown()).await;
}

/// A subscriber that does not read is ended with an error as its last
/// item; publishing never waits for it, and the others get everything.
pub async fn slow_subscriber_is_ended<H: Harness>(harness: &H) {
    let provider = harness
        .provider(Config {
            capacity: 4,
            history: 1000,
            ..PLENTY
        })
        .await;
    let mut stalled = subscribe(&provider, &["t"]).await;
    let mut reader = subscribe(&provider, &["t"]).await;
    for i in 0..50 {
        publish(&provider, i.to_string(), &["t"]).await;
        assert_eq!(data(&mut reader, 1).await, [i.to_string()]);
    }
    let mut items = Vec::new();
    while let Some(item) = next_event(&mut stalled).await {
        items.push(item.map(|event| event.data().to_owned()));
    }
    let (last, delivered) = items
        .split_last()
        .expect("the stalled stream ended with an error");
    assert!(last.is_err(), "its last item is the reason: {items:?}");
    assert!(delivered.len() < 50 && delivered.iter().all(Result::is_ok));
    bounded("shutdown", provider.shutdown()).await;
}

/// Shutdown ends every stream (after what was queued, with no error);
/// later publishes and subscriptions fail; a second shutdown is harmless.
pub async fn shutdown_ends_everything<H: Harness>(harness: &H) {
    let provider = harness.provider(PLENTY).await;
    let mut sub = subscribe(&provider, &["t"]).await;
    publish(&provider, "before", &["t"]).await;
    bounded("shutdown", provider.shutdown()).await;
    bounded("shutdown again", provider.shutdown()).await;
    let mut rest = Vec::new();
    while let Some(item) = next_event(&mut sub).await {
        rest.push(item.expect("no error at shutdown").data().to_owned());
    }
    assert!(rest.is_empty() || rest == ["before"], "{rest:?}");
    assert!(
        bounded(
            "publish",
            provider.publish(Message::new().data("late"), &[Topic::from("t")])
        )
        .await
        .is_err()
    );
    assert!(
        bounded(
            "subscribe",
            provider.subscribe(Subscription::new([Topic::from("t")]))
        )
        .await
        .is_err()
    );
}

/// Dropping a stream unsubscribes it at once.
pub async fn drop_unsubscribes<H: Harness>(harness: &H) {
    let provider = harness.provider(PLENTY).await;
    let a = subscribe(&provider, &["t"]).await;
    let b = subscribe(&provider, &["t", "u"]).await;
    assert_eq!(harness.open_streams(&provider), 2);
    drop(a);
    wait_until("a dropped stream is unsubscribed", || {
        harness.open_streams(&provider) == 1
    })
    .await;
    drop(b);
    wait_until("both are unsubscribed", || {
        harness.open_streams(&provider) == 0
    })
    .await;
    publish(&provider, "after", &["t"]).await;
    bounded("shutdown", provider.shutdown()).await;
}

/// A filter that accepts the updates with a topic under `prefix`.
fn under(prefix: &'static str) -> Filter {
    Filter::new(move |routing: &Routing| {
        routing
            .topics()
            .iter()
            .any(|topic| topic.as_str().starts_with(prefix))
    })
}

/// A hub's grant check: public updates, and the private ones with the
/// topic `granted`.
fn granted(granted: &'static str) -> Filter {
    Filter::new(move |routing: &Routing| {
        !routing.is_private() || routing.topics().iter().any(|t| t.as_str() == granted)
    })
}

/// A subscription to every topic with a filter gets exactly the updates
/// the filter accepts, whatever their topic, in publish order and each
/// once: live, after an ID and from the earliest. Without a filter it gets
/// every public update. An exact-topic subscriber beside them gets the
/// updates of its topic, as without them.
pub async fn filters_every_topic<H: Harness>(harness: &H) {
    const TOPICS: usize = 50;
    let provider = harness.provider(PLENTY).await;
    let books = Subscription::new([]).every_topic().filter(under("/books/"));
    let (mut filtered, ..) = subscribe_with(&provider, books.clone()).await;
    let (mut everything, ..) = subscribe_with(&provider, Subscription::new([]).every_topic()).await;
    let mut exact = subscribe(&provider, &["/books/8"]).await;
    // Two rounds over the topics, books and authors in turn.
    let mut published = Vec::new();
    for round in 0..2 {
        for i in 0..TOPICS {
            let kind = if i % 2 == 0 { "books" } else { "authors" };
            let topic = format!("/{kind}/{i}");
            let data = format!("{topic} {round}");
            publish(&provider, data.clone(), &[&topic]).await;
            published.push(data);
        }
    }
    let accepted: Vec<&String> = published
        .iter()
        .filter(|data| data.starts_with("/books/"))
        .collect();

    let book8 = ids_and_data(&mut exact, 2).await;
    assert_eq!(
        book8
            .iter()
            .map(|(_, data)| data.as_str())
            .collect::<Vec<_>>(),
        ["/books/8 0", "/books/8 1"],
        "the exact-topic subscriber gets its topic's updates"
    );
    assert!(is_idle(&mut exact).await, "and nothing else");
    expect_only(&mut everything, &published, "every topic, no filter").await;
    expect_only(&mut filtered, &accepted, "every topic, filtered").await;

    // On replay the filter is asked again, about each retained update.
    let after = Start::After(EventId::try_from(book8[0].0.as_str()).unwrap());
    let (mut resumed, resume, _) = subscribe_with(&provider, books.clone().starting(after)).await;
    assert_eq!(resume, Resume::Exact, "every topic, filtered, after an ID");
    let skip = accepted.iter().position(|d| *d == "/books/8 0").unwrap() + 1;
    let replayed = &accepted[skip..];
    expect_only(&mut resumed, replayed, "every topic, filtered, after an ID").await;
    let earliest = books.starting(Start::Earliest);
    let (mut earliest, resume, _) = subscribe_with(&provider, earliest).await;
    assert_eq!(resume, Resume::Earliest, "every topic, filtered, earliest");
    expect_only(&mut earliest, &accepted, "every topic, filtered, earliest").await;

    // Then live.
    publish(&provider, "/authors/1 live", &["/authors/1"]).await;
    publish(&provider, "/books/0 live", &["/books/0"]).await;
    for (stream, who) in [
        (&mut filtered, "every topic, filtered, live"),
        (
            &mut resumed,
            "every topic, filtered, after an ID, then live",
        ),
        (&mut earliest, "every topic, filtered, earliest, then live"),
    ] {
        expect_only(stream, &["/books/0 live"], who).await;
    }
    assert!(is_idle(&mut exact).await, "no other topic for /books/8");
    bounded("shutdown", provider.shutdown()).await;
}

/// A private update reaches only the subscribers whose filter accepts it,
/// live and on replay (after an ID before it, and from the earliest): not
/// one without a filter, of its topic or of every topic, nor one whose
/// filter rejects it. Its ID is in the history all the same: resuming
/// after it is exact for any subscriber.
pub async fn private_updates<H: Harness>(harness: &H) {
    const TOPIC: &str = "/users/7";
    let provider = harness.provider(PLENTY).await;
    let public = ["before", "after"];
    let all = ["before", "secret", "after"];
    let subscriptions: [(&str, Subscription, &[&str]); 5] = [
        ("no filter", Subscription::new(to_topics(&[TOPIC])), &public),
        (
            "every topic, no filter",
            Subscription::new([]).every_topic(),
            &public,
        ),
        (
            "a rejecting filter",
            Subscription::new(to_topics(&[TOPIC])).filter(granted("/users/8")),
            &public,
        ),
        (
            "an accepting filter",
            Subscription::new(to_topics(&[TOPIC])).filter(granted(TOPIC)),
            &all,
        ),
        (
            "every topic, an accepting filter",
            Subscription::new([]).every_topic().filter(granted(TOPIC)),
            &all,
        ),
    ];
    let mut live = Vec::new();
    for (_, subscription, _) in &subscriptions {
        live.push(subscribe_with(&provider, subscription.clone()).await.0);
    }
    let mut first = subscribe(&provider, &[TOPIC]).await;
    publish(&provider, "before", &[TOPIC]).await;
    let before = next_event(&mut first).await.unwrap().unwrap();
    let before = before.last_event_id().clone();
    let secret = Routing::new(to_topics(&[TOPIC])).private(true);
    publish_routed(&provider, "secret", secret).await;
    publish(&provider, "after", &[TOPIC]).await;
    expect_only(&mut first, &["after"], "live, no filter, the first").await;

    for ((who, _, expected), stream) in subscriptions.iter().zip(&mut live) {
        expect_only(stream, expected, &format!("live, {who}")).await;
    }
    for (who, subscription, expected) in &subscriptions {
        let after = subscription.clone().starting(Start::After(before.clone()));
        let (mut stream, resume, _) = subscribe_with(&provider, after).await;
        let after_who = format!("after the ID before it, {who}");
        assert_eq!(resume, Resume::Exact, "{after_who}");
        expect_only(&mut stream, &expected[1..], &after_who).await;
        let earliest = subscription.clone().starting(Start::Earliest);
        let (mut stream, resume, _) = subscribe_with(&provider, earliest).await;
        let earliest_who = format!("from the earliest, {who}");
        assert_eq!(resume, Resume::Earliest, "{earliest_who}");
        expect_only(&mut stream, expected, &earliest_who).await;
    }

    // The private update's ID, from a subscriber that saw it.
    let (mut seer, ..) =
        subscribe_with(&provider, subscriptions[3].1.clone().from_earliest()).await;
    let seen = ids_and_data(&mut seer, 2).await;
    assert_eq!(seen[1].1, "secret");
    let secret_id = EventId::try_from(seen[1].0.as_str()).unwrap();
    let (mut resumed, resume) = subscribe_from(&provider, &[TOPIC], Some(secret_id)).await;
    assert_eq!(resume, Resume::Exact, "after the private update's ID");
    expect_only(&mut resumed, &["after"], "after the private update's ID").await;
    bounded("shutdown", provider.shutdown()).await;
}

/// An update with two topics reaches a subscriber of both once, whether
/// it matches by its topics, by its topics and a filter, or by a filter
/// over every topic that accepts both; live and on replay.
pub async fn two_topics_arrive_once<H: Harness>(harness: &H) {
    let provider = harness.provider(PLENTY).await;
    let both = to_topics(&["/books/1", "/authors/7"]);
    let books_or_authors = Filter::new(|routing: &Routing| {
        routing.topics().iter().any(|topic| {
            topic.as_str().starts_with("/books/") || topic.as_str().starts_with("/authors/")
        })
    });
    let subscriptions = [
        ("both topics", Subscription::new(both.clone())),
        (
            "both topics, filtered",
            Subscription::new(both.clone()).filter(books_or_authors.clone()),
        ),
        (
            "every topic, a filter matching both",
            Subscription::new([]).every_topic().filter(books_or_authors),
        ),
    ];
    let mut live = Vec::new();
    for (_, subscription) in &subscriptions {
        live.push(subscribe_with(&provider, subscription.clone()).await.0);
    }
    let mut first = subscribe(&provider, &["/books/1"]).await;
    publish_routed(&provider, "x", Routing::new(both.clone())).await;
    publish(&provider, "y", &["/authors/7"]).await;
    publish(&provider, "z", &["/books/1"]).await;
    let x = ids_and_data(&mut first, 2).await.remove(0).0;
    let x = EventId::try_from(x).unwrap();

    for ((who, _), stream) in subscriptions.iter().zip(&mut live) {
        expect_only(stream, &["x", "y", "z"], &format!("live, {who}")).await;
    }
    for (who, subscription) in &subscriptions {
        let earliest = subscription.clone().from_earliest();
        let (mut stream, resume, _) = subscribe_with(&provider, earliest).await;
        assert_eq!(resume, Resume::Earliest, "{who}");
        expect_only(&mut stream, &["x", "y", "z"], &format!("earliest, {who}")).await;
        let after = subscription.clone().starting(Start::After(x.clone()));
        let (mut stream, resume, _) = subscribe_with(&provider, after).await;
        assert_eq!(resume, Resume::Exact, "{who}");
        expect_only(&mut stream, &["y", "z"], &format!("after x, {who}")).await;
    }
    bounded("shutdown", provider.shutdown()).await;
}

/// A provider that keeps the IDs publishers set sends them on the wire;
/// resuming after one is exact and replays what followed it (on the
/// subscriber's topics, whatever the topic of the ID's message); an ID it
/// never saw is lost. A fresh or lost subscription's position is the
/// newest ID published.
pub async fn keeps_publisher_ids<H: Harness>(harness: &H) {
    let provider = harness.provider(PUBLISHER_IDS).await;
    let mut sub = subscribe(&provider, &["t"]).await;
    for (id, data) in [("p1", "1"), ("p2", "2"), ("p3", "3")] {
        publish_with_id(&provider, id, data, &["t"]).await;
    }
    assert_eq!(
        ids_and_data(&mut sub, 3).await,
        [("p1", "1"), ("p2", "2"), ("p3", "3")].map(|(id, data)| (id.into(), data.into())),
        "the publishers' IDs on the wire"
    );
    let id = |id: &'static str| EventId::from_static(id);

    let (mut fresh, resume, position) =
        subscribe_with_position(&provider, &["t"], Start::Now).await;
    assert_eq!((resume, position), (Resume::Fresh, Some(id("p3"))), "fresh");
    assert!(
        is_idle(&mut fresh).await,
        "a fresh subscriber gets no history"
    );
    let (mut exact, resume, position) =
        subscribe_with_position(&provider, &["t"], Start::After(id("p1"))).await;
    assert_eq!(
        (resume, position),
        (Resume::Exact, Some(id("p1"))),
        "after p1"
    );
    expect_only(&mut exact, &["2", "3"], "after p1").await;
    let (mut newest, resume) = subscribe_from(&provider, &["t"], Some(id("p3"))).await;
    assert_eq!(resume, Resume::Exact, "after p3");
    assert!(is_idle(&mut newest).await, "nothing came after p3");
    let (mut earliest, resume) = subscribe_at(&provider, &["t"], Start::Earliest).await;
    assert_eq!(resume, Resume::Earliest);
    expect_only(&mut earliest, &["1", "2", "3"], "earliest").await;
    for unknown in ["p9", "p", "1-0", "0-0"] {
        let (mut lost, resume, position) =
            subscribe_with_position(&provider, &["t"], Start::After(id(unknown))).await;
        assert_eq!(
            (resume, position),
            (Resume::Lost, Some(id("p3"))),
            "after {unknown}"
        );
        assert!(is_idle(&mut lost).await, "nothing replayed after {unknown}");
    }

    // Then live, with its ID.
    publish_with_id(&provider, "p4", "4", &["t"]).await;
    for (stream, who) in [
        (&mut sub, "first"),
        (&mut fresh, "fresh"),
        (&mut exact, "after p1"),
        (&mut newest, "after p3"),
        (&mut earliest, "earliest"),
    ] {
        let got = ids_and_data(stream, 1).await;
        assert_eq!(got, [("p4".into(), "4".into())], "live, {who}");
    }
    // An ID of another topic marks a place in the history all the same.
    publish_with_id(&provider, "u1", "u", &["u"]).await;
    publish_with_id(&provider, "p5", "5", &["t"]).await;
    assert_eq!(data(&mut sub, 1).await, ["5"]);
    let (_, _, position) = subscribe_with_position(&provider, &["u"], Start::Now).await;
    assert_eq!(
        position,
        Some(id("p5")),
        "fresh on u: the newest of any topic"
    );
    let (mut resumed, resume) = subscribe_from(&provider, &["t"], Some(id("u1"))).await;
    assert_eq!(resume, Resume::Exact, "on t, after u1");
    expect_only(&mut resumed, &["5"], "on t, after u1").await;
    bounded("shutdown", provider.shutdown()).await;
}

/// An ID published more than once resumes after its earliest use that the
/// history still retains: after the first while both are retained, after
/// the second once the first was evicted.
pub async fn reused_id_resumes_from_its_earliest_use<H: Harness>(harness: &H) {
    let provider = harness.provider(PUBLISHER_IDS).await;
    let mut sub = subscribe(&provider, &["t"]).await;
    for (id, data) in [("a", "1"), ("b", "2"), ("a", "3"), ("c", "4")] {
        publish_with_id(&provider, id, data, &["t"]).await;
    }
    assert_eq!(data(&mut sub, 4).await, ["1", "2", "3", "4"]);
    let (mut resumed, resume) =
        subscribe_from(&provider, &["t"], Some(EventId::from_static("a"))).await;
    assert_eq!(resume, Resume::Exact, "after a, both uses retained");
    expect_only(
        &mut resumed,
        &["2", "3", "4"],
        "after a, both uses retained",
    )
    .await;
    bounded("shutdown", provider.shutdown()).await;

    let provider = harness
        .provider(Config {
            history: 10,
            ..PUBLISHER_IDS
        })
        .await;
    let mut sub = subscribe(&provider, &["t"]).await;
    publish_with_id(&provider, "d", "first", &["t"]).await;
    // Providers may keep more than asked (Redis trims whole nodes of 100
    // entries): publish well past it, reusing the ID near the end.
    const LATER: usize = 500;
    for i in 0..LATER {
        let id = if i == LATER - 5 {
            "d".to_owned()
        } else {
            format!("n{i}")
        };
        publish_with_id(&provider, &id, &i.to_string(), &["t"]).await;
    }
    data(&mut sub, 1 + LATER).await;
    let (mut resumed, resume) =
        subscribe_from(&provider, &["t"], Some(EventId::from_static("d"))).await;
    assert_eq!(resume, Resume::Exact, "after d, its first use evicted");
    let rest: Vec<String> = (LATER - 4..LATER).map(|i| i.to_string()).collect();
    expect_only(&mut resumed, &rest, "after d, its first use evicted").await;
    bounded("shutdown", provider.shutdown()).await;
}
