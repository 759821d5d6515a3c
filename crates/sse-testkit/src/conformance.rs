//! The [`Provider`] contract, clause by clause, for any provider.
//!
//! A provider's tests implement [`Harness`] (how to make a provider with a
//! given queue capacity and history, and how many streams it has open) and
//! call [`run_all`], or the checks one by one. Each check makes providers
//! of its own, so a harness must give a fresh, empty one each time (for
//! Redis, a new stream key).

use crate::{bounded, wait_until};
use futures_util::{StreamExt, future::join_all};
use sse_codec::{
    Encoded, Event, EventId, Message, Parser, Provider, Resume, Start, Subscription, Topic,
};
use std::{collections::HashMap, fmt::Debug, future::Future, pin::Pin, time::Duration};

/// How a provider under test is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Each subscriber's queue holds at most this many frames before the
    /// provider ends it.
    pub capacity: usize,
    /// The history keeps about the last this many messages (at least that
    /// many; a provider may keep more).
    pub history: usize,
}

/// A provider under test.
pub trait Harness: Sync {
    /// The provider.
    type Provider: Provider + Clone;

    /// A new provider, with no history and no subscribers, that assigns
    /// event IDs to what is published.
    fn provider(&self, config: Config) -> impl Future<Output = Self::Provider> + Send;

    /// The subscriber streams `provider` has open in this process.
    fn open_streams(&self, provider: &Self::Provider) -> usize;
}

type Check<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// Runs every check, one after the other, naming each as it starts (the
/// name is in the panic of a check that fails).
pub async fn run_all<H: Harness>(harness: &H) {
    let checks: [(&str, Check<'_>); 9] = [
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
    ];
    for (name, check) in checks {
        eprintln!("conformance: {name}");
        check.await;
    }
}

const PLENTY: Config = Config {
    capacity: 4096,
    history: 4096,
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
    let subscription = Subscription::new(topics.iter().map(|t| Topic::from(*t))).starting(start);
    let subscribed = bounded("subscribe", provider.subscribe(subscription))
        .await
        .unwrap_or_else(|error| panic!("subscribe failed: {error}"));
    (
        Box::pin(subscribed.stream),
        subscribed.resume,
        subscribed.position,
    )
}

async fn publish<P: Provider>(provider: &P, data: impl Into<String>, topics: &[&str]) {
    let topics: Vec<Topic> = topics.iter().map(|t| Topic::from(*t)).collect();
    bounded(
        "publish",
        provider.publish(Message::new().data(data.into()), &topics),
    )
    .await
    .unwrap_or_else(|error| panic!("publish failed: {error}"));
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
