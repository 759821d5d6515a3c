//! The hub across nodes on one real redis-server: `sse-hub` processes
//! sharing a stream, a subscriber behind a proxy resuming on another node
//! when its node is killed, and the reconciliation rows (F1-F8) on Redis.

mod common;

use common::{
    Events,
    nodes::{
        Node, open_at, pooled_client, position, post_to, publish_to, serve_on, stored,
        try_publish_to,
    },
    publisher, subscriber,
};
use futures_util::StreamExt;
use sse_hub::HubConfig;
use sse_redis::Redis;
use sse_testkit::{BOUND, Proxy, RedisServer, bounded, wait_until};
use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

/// A subscriber on node A, behind a proxy as behind a load balancer, while
/// four publishers publish 10,000 updates, each alternating between A and
/// B (every third with its own ID, the others with the hub's, every tenth
/// private to a topic the subscriber is granted). Halfway, the proxy sends
/// new connections to B and A is killed (`SIGKILL`) while publishes to it
/// are in flight and the subscriber's stream is open; the publishers go on
/// with B. The subscriber reconnects with its last event ID, B answers
/// that it resumes exactly after it, and the subscriber has every update
/// the stream holds once, in the stream's order, with the ID its publish
/// answered: all those answered, and those A took but never answered if
/// they were stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f1_f4_f6_a_subscriber_on_a_killed_node_resumes_on_another_exactly_once_in_order() {
    const N: usize = 10_000;
    const PUBLISHERS: usize = 4;
    const END: &str = "end";
    let started = Instant::now();
    let redis = RedisServer::start();
    let mut a = Node::start(&redis.url(), "hub", N, &[]);
    let b = Node::start(&redis.url(), "hub", N, &[]);
    let proxy = Proxy::start(a.addr()).await;
    let through_proxy = proxy.url(common::nodes::PATH);

    let token = subscriber(&["/seq"]);
    let reading = tokio::spawn(async move {
        let mut got: Vec<(String, String)> = Vec::with_capacity(N);
        let mut connections = Vec::new();
        loop {
            // The first connection asks for everything retained, so that
            // no update published before it is subscribed is missed.
            let last = got.last().map(|(_, id)| id.clone());
            let cursor = last.as_deref().unwrap_or("earliest");
            let response = open_at(&through_proxy, "topic=/seq", Some(&token), Some(cursor)).await;
            assert_eq!(response.status(), 200);
            assert_eq!(position(&response), Some(cursor), "an exact resume");
            connections.push(got.len());
            let mut events = Events::new(response);
            while let Some(event) = events.next_or_end().await {
                if event.data() == END {
                    return (got, connections);
                }
                got.push((
                    event.data().to_owned(),
                    event.last_event_id().as_str().to_owned(),
                ));
            }
        }
    });

    let answered = Arc::new(AtomicUsize::new(0));
    let nodes = [a.url(), b.url()];
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|p| {
            let ns: Vec<usize> = (p..N).step_by(PUBLISHERS).collect();
            tokio::spawn(publish(ns, nodes.clone(), Arc::clone(&answered)))
        })
        .collect();
    wait_until("half the updates answered", || {
        answered.load(Ordering::Relaxed) >= N / 2
    })
    .await;
    proxy.set_target(b.addr());
    a.kill();
    let mut ids: HashMap<usize, String> = HashMap::new();
    let mut unanswered = Vec::new();
    for publisher in publishers {
        let (answers, lost) = publisher.await.unwrap();
        ids.extend(answers);
        unanswered.extend(lost);
    }
    publish_to(
        &pooled_client(),
        &b.url(),
        &publisher(&["/seq"]),
        &[("topic", "/seq"), ("data", END)],
    )
    .await;
    let publishing = started.elapsed();

    let (got, connections) = bounded("every update read", reading).await.unwrap();
    assert!(
        connections.len() >= 2,
        "the kill ended the first connection"
    );
    assert!(unanswered.len() <= PUBLISHERS, "{unanswered:?}");
    let stored = stored(&redis.url(), "hub").await;
    let stored = &stored[..stored.len() - 1];
    let mut numbers: Vec<usize> = stored.iter().map(|(_, n)| n.parse().unwrap()).collect();
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(numbers.len(), stored.len(), "each update stored once");
    assert!(
        ids.keys().all(|n| numbers.binary_search(n).is_ok()),
        "every answered update stored"
    );
    assert_eq!(got.len(), stored.len(), "every stored update read");
    for (i, ((data, id), (stored_id, stored_data))) in got.iter().zip(stored).enumerate() {
        assert_eq!(
            (data, id),
            (stored_data, stored_id),
            "update {i} in the stream's order"
        );
        if let Some(answer) = ids.get(&data.parse().unwrap()) {
            assert_eq!(answer, id, "the ID its publish answered");
        }
    }
    eprintln!(
        "{} of {N} updates answered, {unanswered:?} unanswered, {} stored, in {publishing:?}; \
         read from {connections:?} on, in {:?}",
        ids.len(),
        stored.len(),
        started.elapsed()
    );
}

/// Publishes the numbers `ns` to `/seq` in turn, alternating between the
/// hubs at `urls` while the first answers, then to the second only: every
/// third with an ID of its own, every tenth private. Returns the ID each
/// answered publish got, and the numbers whose publish got no answer.
async fn publish(
    ns: Vec<usize>,
    urls: [String; 2],
    answered: Arc<AtomicUsize>,
) -> (Vec<(usize, String)>, Vec<usize>) {
    let client = pooled_client();
    let token = publisher(&["/seq"]);
    let mut ids = Vec::with_capacity(ns.len());
    let mut unanswered = Vec::new();
    for n in ns {
        let data = n.to_string();
        let own = format!("urn:test:{n}");
        let mut form = vec![("topic", "/seq"), ("data", data.as_str())];
        if n % 3 == 0 {
            form.push(("id", own.as_str()));
        }
        if n % 10 == 0 {
            form.push(("private", "on"));
        }
        let first = unanswered.is_empty() && ids.len() % 2 == 0;
        let url = if first { &urls[0] } else { &urls[1] };
        match try_publish_to(&client, url, &token, &form).await {
            Some(id) => {
                if n % 3 == 0 {
                    assert_eq!(id, own);
                }
                ids.push((n, id));
                answered.fetch_add(1, Ordering::Relaxed);
            }
            None if first => unanswered.push(n),
            None => panic!("the publish of {n} to B failed"),
        }
    }
    (ids, unanswered)
}

/// Rows F5, F6 on Redis: a node that keeps about 100 updates, 500
/// published through two nodes. Resuming on either from an ID that was
/// trimmed, from an ID no one published (a URN, or one of the provider's
/// own form from another stream), or from `earliest`, in the header or the
/// query, gets `Last-Event-ID: earliest` and everything the stream retains,
/// once, in order, then live updates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f5_f6_a_trimmed_or_foreign_id_gets_earliest_and_everything_retained() {
    const N: usize = 500;
    let redis = RedisServer::start();
    let a = Node::start(&redis.url(), "trimmed", 100, &[]);
    let b = Node::start(&redis.url(), "trimmed", 100, &[]);
    let client = pooled_client();
    let token = publisher(&["/seq"]);
    let mut ids = Vec::with_capacity(N);
    for n in 0..N {
        let node = if n % 2 == 0 { &a } else { &b };
        let data = n.to_string();
        ids.push(
            publish_to(
                &client,
                &node.url(),
                &token,
                &[("topic", "/seq"), ("data", &data)],
            )
            .await,
        );
    }
    let retained = stored(&redis.url(), "trimmed").await;
    // Redis trims whole nodes of 100 entries: at least 100 are kept.
    assert!((100..N).contains(&retained.len()), "{}", retained.len());
    assert!(
        retained.iter().all(|(id, _)| *id != ids[0]),
        "the first is trimmed"
    );

    let token = subscriber(&[]);
    let mut resumed = Vec::new();
    for (node, cursor, in_header) in [
        (&b, ids[0].as_str(), true),
        (&a, ids[0].as_str(), false),
        (&b, "urn:uuid:0e6b4a3c-never-published", true),
        (&a, "1700000000000-0:0123456789abcdef", false),
        (&b, "earliest", true),
        (&a, "earliest", false),
    ] {
        let response = if in_header {
            open_at(&node.url(), "topic=/seq", Some(&token), Some(cursor)).await
        } else {
            let query = format!("topic=/seq&lastEventID={cursor}");
            open_at(&node.url(), &query, Some(&token), None).await
        };
        assert_eq!(position(&response), Some("earliest"), "{cursor}");
        let mut events = Events::new(response);
        let got = events.data_and_ids(retained.len(), BOUND).await;
        let expected: Vec<(String, String)> = retained
            .iter()
            .map(|(id, data)| (data.clone(), id.clone()))
            .collect();
        assert_eq!(got, expected, "{cursor}");
        resumed.push(events);
    }
    publish_to(
        &client,
        &a.url(),
        &publisher(&["/seq"]),
        &[("topic", "/seq"), ("data", "live")],
    )
    .await;
    for events in &mut resumed {
        assert_eq!(events.data(1).await, ["live"], "then live");
    }
    // B's metrics count its two lost resumes (the trimmed ID and the
    // foreign one), its link to Redis, and the provider's publishes.
    let metrics = client
        .get(format!("http://{}/metrics", b.addr()))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for expected in [
        "sse_redis_replays_total{resume=\"lost\"} 2",
        "sse_redis_reading 1",
        "sse_hub_publish_seconds_count 250",
    ] {
        assert!(metrics.contains(expected), "{expected} in:\n{metrics}");
    }
}

/// Rows F1-F4, F6, F7, F8 and B4-B6 on Redis: updates published through
/// A, resumed on B from the `lastEventID` query parameter, then with a
/// `Last-Event-ID` header that wins over it; the response names the ID
/// resumed after; each update keeps its ID (the publisher's, or a
/// `urn:uuid:` the hub gave it), type and retry; an ID published twice
/// resumes after its first use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f2_f3_f4_f6_f7_f8_a_resume_on_another_node_from_the_query_or_the_header() {
    let redis = RedisServer::start();
    let a = Node::start(&redis.url(), "cursor", 1000, &[]);
    let b = Node::start(&redis.url(), "cursor", 1000, &[]);
    let client = pooled_client();
    let token = publisher(&["/books/{id}"]);
    let mut ids = Vec::new();
    for form in [
        &[("topic", "/books/1"), ("id", "/books/1/v1"), ("data", "a")][..],
        &[("topic", "/books/1"), ("data", "b")],
        &[
            ("topic", "/books/1"),
            ("type", "update"),
            ("retry", "1500"),
            ("data", "c"),
        ],
        &[("topic", "/books/1"), ("id", "/books/1/v1"), ("data", "d")],
    ] {
        ids.push(publish_to(&client, &a.url(), &token, form).await);
    }
    assert_eq!(ids[0], "/books/1/v1");
    assert!(ids[1].starts_with("urn:uuid:"), "{}", ids[1]);
    let subscriber = subscriber(&[]);

    // F2, F4, F6, F7: the query parameter; the ID used twice resumes
    // after its first use.
    let query = format!("topic=/books/{{id}}&lastEventID={}", ids[0]);
    let response = open_at(&b.url(), &query, Some(&subscriber), None).await;
    assert_eq!(position(&response), Some(ids[0].as_str()));
    let mut events = sse_client::read(response);
    let mut got = Vec::new();
    for _ in 0..3 {
        let event = bounded("an event", events.next()).await.unwrap().unwrap();
        got.push((
            event.data().to_owned(),
            event.last_event_id().as_str().to_owned(),
            event.event_type().to_owned(),
        ));
    }
    let expected = [
        ("b", ids[1].as_str(), "message"),
        ("c", ids[2].as_str(), "update"),
        ("d", "/books/1/v1", "message"),
    ]
    .map(|(data, id, kind)| (data.to_owned(), id.to_owned(), kind.to_owned()));
    assert_eq!(got, expected);
    // F8: the retry field travels with its update.
    assert_eq!(events.retry(), Some(Duration::from_millis(1500)));

    // F3: the header wins over the query parameter.
    let response = open_at(&b.url(), &query, Some(&subscriber), Some(&ids[2])).await;
    assert_eq!(position(&response), Some(ids[2].as_str()));
    assert_eq!(Events::new(response).data(1).await, ["d"]);
}

/// Rows E1-E3 on Redis: a private update published through A is replayed
/// on B only to a subscriber whose token grants one of its topics, whether
/// it selects the topic or a template, from an ID or from the earliest;
/// never to one whose token grants nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e1_e2_e3_a_private_update_is_replayed_on_another_node_only_where_granted() {
    let redis = RedisServer::start();
    let a = Node::start(&redis.url(), "private", 1000, &[]);
    let b = Node::start(&redis.url(), "private", 1000, &[]);
    let client = pooled_client();
    let token = publisher(&["*"]);
    let mut ids = Vec::new();
    for form in [
        &[("topic", "/users/7"), ("data", "first")][..],
        &[
            ("topic", "/users/7/private"),
            ("topic", "/users/7"),
            ("private", "on"),
            ("data", "secret"),
        ],
        &[("topic", "/users/7"), ("data", "public")],
    ] {
        ids.push(publish_to(&client, &a.url(), &token, form).await);
    }
    let granted = subscriber(&["/users/7/{part}"]);
    let other = subscriber(&["/users/8/{part}"]);
    let none = subscriber(&[]);
    for (query, token, cursor, expected) in [
        ("topic=/users/7", &none, ids[0].as_str(), &["public"][..]),
        ("topic=/users/7", &none, "earliest", &["first", "public"]),
        (
            "topic=/users/7",
            &granted,
            ids[0].as_str(),
            &["secret", "public"],
        ),
        (
            "topic=/users/{id}",
            &granted,
            ids[0].as_str(),
            &["secret", "public"],
        ),
        (
            "topic=*",
            &granted,
            "earliest",
            &["first", "secret", "public"],
        ),
        ("topic=/users/7", &other, ids[0].as_str(), &["public"]),
        (
            "topic=/users/{id}",
            &other,
            "earliest",
            &["first", "public"],
        ),
    ] {
        let response = open_at(&b.url(), query, Some(token), Some(cursor)).await;
        assert_eq!(position(&response), Some(cursor), "{query} {cursor}");
        let mut events = Events::new(response);
        assert_eq!(
            events.data(expected.len()).await,
            expected,
            "{query} {cursor}"
        );
        assert!(events.is_quiet().await, "{query} {cursor}: nothing else");
    }
}

/// A publish that Redis takes but does not answer in time (writes paused
/// for longer than the hub's response timeout) is answered as a failure
/// that says the update may have been published, never that it was not:
/// once Redis runs it, a subscriber gets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_redis_does_not_answer_in_time_may_have_been_published() {
    let redis = RedisServer::start();
    let provider = Redis::builder(redis.url())
        .key("paused")
        .response_timeout(Duration::from_millis(300))
        .build()
        .await
        .unwrap();
    let mut config = HubConfig::default();
    config.anonymous = true;
    let hub = serve_on(config, provider).await;
    let response = open_at(&hub.url(), "topic=/t", None, Some("earliest")).await;
    let mut events = Events::new(response);
    let mut admin = sse_redis::client::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let () = sse_redis::client::cmd("CLIENT")
        .arg("PAUSE")
        .arg(1000)
        .arg("WRITE")
        .query_async(&mut admin)
        .await
        .unwrap();
    let response = post_to(
        &pooled_client(),
        &hub.url(),
        &publisher(&["/t"]),
        &[("topic", "/t"), ("data", "late")],
    )
    .await
    .unwrap();
    assert_eq!(response.status(), 502);
    let reason = response.text().await.unwrap();
    assert!(reason.contains("may have been published"), "{reason}");
    assert!(!reason.contains("not published"), "{reason}");
    assert_eq!(events.data(1).await, ["late"], "published after all");
}

/// The README's two processes on one Redis, its commands run as written
/// (the built binary for `cargo run -p sse-hub --`, free ports for 3000 and
/// 3001, the test's Redis for `redis://127.0.0.1:6379`): an update
/// published to one reaches a subscriber of the other, and a resume on
/// the first from its ID is exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readmes_two_processes_on_one_redis_share_updates_and_history() {
    use common::nodes::{Running, spawn};
    let redis = RedisServer::start();
    let readme = include_str!("../../../README.md");
    let hub_section = &readme[readme.find("\n## Hub\n").expect("a Hub section")..];
    let redis_block = hub_section
        .split("```sh\n")
        .skip(1)
        .map(|block| &block[..block.find("```").unwrap()])
        .find(|block| block.contains("--redis"))
        .expect("the README's Redis commands");
    let mut nodes: Vec<(Running, String)> = Vec::new();
    for line in redis_block.lines() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let line = line
            .replace("127.0.0.1:3000", &format!("127.0.0.1:{port}"))
            .replace("127.0.0.1:3001", &format!("127.0.0.1:{port}"))
            .replace("redis://127.0.0.1:6379", &redis.url());
        let args = line
            .strip_prefix("cargo run -p sse-hub -- ")
            .unwrap_or_else(|| panic!("not a hub command: {line}"));
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_sse-hub"));
        command
            .args(args.split_whitespace())
            .env("MERCURE_PUBLISHER_JWT_KEY", common::PUBLISHER_SECRET)
            .env("MERCURE_SUBSCRIBER_JWT_KEY", common::SUBSCRIBER_SECRET);
        let (running, lines, _stdout) = spawn(command);
        let url = lines
            .last()
            .and_then(|line| line.strip_prefix("listening on "))
            .unwrap()
            .to_owned();
        assert_eq!(url, format!("http://127.0.0.1:{port}/.well-known/mercure"));
        nodes.push((running, url));
    }
    let [(_a, a), (_b, b)] = <[_; 2]>::try_from(nodes).ok().expect("two commands");
    let client = pooled_client();
    let token = subscriber(&[]);
    let mut on_b = Events::new(open_at(&b, "topic=/books/1", Some(&token), None).await);
    // The response's head came after the subscription was made: nothing
    // published from now on is missed.
    let mut ids = Vec::new();
    for data in ["first", "second"] {
        let id = publish_to(
            &client,
            &a,
            &publisher(&["/books/1"]),
            &[("topic", "/books/1"), ("data", data)],
        )
        .await;
        let event = on_b.next().await;
        assert_eq!(
            (event.data(), event.last_event_id().as_str()),
            (data, id.as_str())
        );
        ids.push(id);
    }
    let query = format!("topic=/books/1&lastEventID={}", ids[0]);
    let response = open_at(&a, &query, Some(&token), None).await;
    assert_eq!(position(&response), Some(ids[0].as_str()));
    assert_eq!(Events::new(response).data(1).await, ["second"]);
}
