//! Resuming: the replay, then live messages, without gap or duplicate.

use super::{drain_ready, publish, resume_from, subscribe, text, with_history};
use crate::{Error, FiniteReplayer, Joe, Provider};
use futures_util::StreamExt;
use sse_codec::{Encoded, EventId, Message, Resume, Subscription, Topic};
use std::sync::Arc;

#[tokio::test]
async fn resume_status_without_with_and_unknown_id() {
    let joe = Joe::builder()
        .replayer(FiniteReplayer::new(10).auto_ids_from(1))
        .build();
    for data in ["a", "b"] {
        publish(&joe, data).await;
    }
    let sub = |id: Option<&'static str>| {
        Subscription::new([Topic::DEFAULT]).last_event_id(id.map(EventId::from_static))
    };
    let fresh = joe.subscribe(sub(None)).await.unwrap();
    assert_eq!(fresh.resume, Resume::Fresh);
    assert_eq!(fresh.stream.queued(), 0);
    let mut exact = joe.subscribe(sub(Some("1"))).await.unwrap();
    assert_eq!(exact.resume, Resume::Exact);
    let got: Vec<_> = drain_ready(&mut exact.stream)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(got, ["id: 2\ndata: b\n\n"]);
    let newest = joe.subscribe(sub(Some("2"))).await.unwrap();
    assert_eq!(newest.resume, Resume::Exact);
    assert_eq!(newest.stream.queued(), 0);
    let lost = joe.subscribe(sub(Some("99"))).await.unwrap();
    assert_eq!(lost.resume, Resume::Lost);
    assert_eq!(lost.stream.queued(), 0);

    // Without a replayer every resume is lost.
    let joe = Joe::new();
    assert_eq!(
        joe.subscribe(sub(Some("1"))).await.unwrap().resume,
        Resume::Lost
    );
    assert_eq!(
        joe.subscribe(sub(None)).await.unwrap().resume,
        Resume::Fresh
    );
}

#[tokio::test]
async fn replay_larger_than_the_queue_capacity_is_delivered() {
    let joe = with_history(2, 10).await;
    let mut sub = joe.subscribe(resume_from("1")).await.unwrap().stream;
    // The replay does not count against the live capacity...
    publish(&joe, "live").await;
    let got = drain_ready(&mut sub);
    assert_eq!(got.len(), 10);
    assert!(got.iter().all(Result::is_ok));
    assert_eq!(got[9].as_ref().unwrap(), "id: 11\ndata: live\n\n");
}

#[tokio::test]
async fn explicit_id_with_auto_ids_fails_and_delivers_nothing() {
    let joe = Joe::builder()
        .replayer(FiniteReplayer::new(10).auto_ids_from(1))
        .build();
    let mut sub = subscribe(&joe, &[""]).await;
    let err = joe
        .publish(
            Message::new().id(EventId::from_static("7")).data("x"),
            &[Topic::DEFAULT],
        )
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ExplicitId));
    assert!(drain_ready(&mut sub).is_empty());
    publish(&joe, "y").await;
    assert_eq!(
        drain_ready(&mut sub)[0].as_ref().unwrap(),
        "id: 1\ndata: y\n\n"
    );
}

#[tokio::test]
async fn prepended_frames_come_first_and_go_with_a_lag() {
    let joe = Joe::builder().capacity(2).build();
    let mut sub = subscribe(&joe, &[""]).await;
    publish(&joe, "live").await;
    let replay = ["a", "b", "c"].map(|d| Message::new().data(d).to_encoded());
    assert!(sub.prepend(replay.clone()));
    assert_eq!(sub.queued(), 4);
    let got: Vec<_> = drain_ready(&mut sub)
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        got,
        [
            "data: a\n\n",
            "data: b\n\n",
            "data: c\n\n",
            "data: live\n\n"
        ]
    );
    assert!(sub.prepend(replay.clone()));
    for _ in 0..3 {
        publish(&joe, "x").await;
    }
    assert_eq!(
        sub.queued_bytes(),
        0,
        "a lag drops the prepended frames too"
    );
    assert!(!sub.prepend(replay), "nothing is queued after a lag");
    assert!(matches!(
        drain_ready(&mut sub).as_slice(),
        [Err(Error::Lagged { .. })]
    ));
}

/// Several tasks publish numbered messages while subscribers join, read a
/// while, and resume from the last ID they saw. Every subscriber must see
/// one run of consecutive IDs up to the last publish, each publisher's
/// numbers in order, with no gap and no duplicate across the resume.
///
/// The publishes come in two halves: the resumes race the first, and Joe
/// shuts down only after every subscriber resumed, so that a subscriber
/// the scheduler runs late is not refused its resume by the shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn resume_races_publishes_without_gap_or_duplicate() {
    const PUBLISHERS: usize = 4;
    const EACH: usize = 250;
    const TOTAL: usize = PUBLISHERS * EACH;
    const SUBSCRIBERS: usize = 12;
    for round in 0..10 {
        let joe = Joe::builder()
            .capacity(TOTAL + 1)
            .replayer(FiniteReplayer::new(TOTAL).auto_ids_from(1))
            .build();
        let (first_half, _) = tokio::sync::watch::channel(false);
        let resumed = Arc::new(tokio::sync::Semaphore::new(0));
        let mut subscribers = Vec::new();
        for s in 0..SUBSCRIBERS {
            let (joe, first_half, resumed) = (joe.clone(), first_half.subscribe(), resumed.clone());
            subscribers.push(tokio::spawn(async move {
                resuming_reader(joe, s, first_half, &resumed).await
            }));
        }
        let publish_half = |half: usize| {
            let mut publishers = Vec::new();
            for p in 0..PUBLISHERS {
                let joe = joe.clone();
                publishers.push(tokio::spawn(async move {
                    for i in half * EACH / 2..(half + 1) * EACH / 2 {
                        publish(&joe, format!("{p}:{i}")).await;
                        if i % 8 == 0 {
                            tokio::task::yield_now().await;
                        }
                    }
                }));
            }
            publishers
        };
        for publisher in publish_half(0) {
            publisher.await.unwrap();
        }
        first_half.send_replace(true);
        let all = u32::try_from(SUBSCRIBERS).unwrap();
        drop(resumed.acquire_many(all).await.unwrap());
        for publisher in publish_half(1) {
            publisher.await.unwrap();
        }
        joe.shutdown().await;
        for (s, subscriber) in subscribers.into_iter().enumerate() {
            let seen = subscriber.await.unwrap();
            check_run(&seen, TOTAL, EACH)
                .unwrap_or_else(|err| panic!("round {round}, subscriber {s}: {err}"));
        }
    }
}

/// Subscribes fresh, reads a few frames (fewer if the first half of the
/// publishes is out first), drops the stream, resumes from the last ID
/// seen (a permit on `resumed` says so), and reads to the end. Returns
/// (id, publisher, number) for every frame.
async fn resuming_reader(
    joe: Joe,
    s: usize,
    mut first_half: tokio::sync::watch::Receiver<bool>,
    resumed: &tokio::sync::Semaphore,
) -> Vec<(usize, usize, usize)> {
    let mut seen = Vec::new();
    let first = joe.subscribe(Subscription::new([Topic::DEFAULT])).await;
    let mut stream = first.unwrap().stream;
    for _ in 0..(s * 13 % 40 + 1) {
        tokio::select! {
            biased;
            frame = stream.next() => seen.push(parse(&frame.unwrap().unwrap())),
            _ = first_half.wait_for(|&done| done) => break,
        }
    }
    drop(stream);
    let last = seen.last().map(|&(id, _, _)| id.to_string());
    let resume = Subscription::new([Topic::DEFAULT])
        .last_event_id(last.map(|id| EventId::try_from(id).unwrap()));
    let second = joe.subscribe(resume).await.unwrap();
    resumed.add_permits(1);
    if !seen.is_empty() {
        assert_eq!(second.resume, Resume::Exact);
    }
    let mut stream = second.stream;
    while let Some(frame) = stream.next().await {
        seen.push(parse(&frame.unwrap()));
    }
    seen
}

fn parse(frame: &Encoded) -> (usize, usize, usize) {
    let text = text(frame);
    let (id, data) = text
        .strip_prefix("id: ")
        .and_then(|rest| rest.split_once("\ndata: "))
        .unwrap();
    let (p, i) = data.trim_end().split_once(':').unwrap();
    (id.parse().unwrap(), p.parse().unwrap(), i.parse().unwrap())
}

fn check_run(seen: &[(usize, usize, usize)], total: usize, each: usize) -> Result<(), String> {
    let Some(&(first, _, _)) = seen.first() else {
        return Ok(());
    };
    let mut next_of = std::collections::HashMap::new();
    for (k, &(id, p, i)) in seen.iter().enumerate() {
        if id != first + k {
            return Err(format!("id {id} at position {k}, expected {}", first + k));
        }
        if let Some(&expected) = next_of.get(&p) {
            if i != expected {
                return Err(format!("publisher {p}: got {i}, expected {expected}"));
            }
        }
        next_of.insert(p, i + 1);
    }
    let last = seen.last().unwrap().0;
    if last != total {
        return Err(format!("ended at id {last}, expected {total}"));
    }
    if next_of.values().any(|&next| next != each) {
        return Err(format!("not every publisher finished: {next_of:?}"));
    }
    Ok(())
}
