//! A replayer that keeps the last N messages.

use crate::history::History;
use sse_codec::{Encoded, EventId, Message, Resume, Routing, Subscription};
use std::time::Instant;

/// A [`Replayer`](crate::Replayer) that keeps the last `capacity` published messages.
///
/// With [`auto_ids`](FiniteReplayer::auto_ids) it numbers messages in
/// publish order (from the clock, so that IDs stay unique across restarts,
/// or from a number of your choice with
/// [`auto_ids_from`](FiniteReplayer::auto_ids_from)), and a message that
/// already has an ID is refused with [`Error::ExplicitId`](crate::Error::ExplicitId). Without it, messages keep their own
/// IDs; those without one are kept and replayed but cannot be resumed from.
///
/// Resuming from the newest message is exact with nothing to replay;
/// resuming from an ID that was evicted (or never seen) replays nothing and
/// reports [`Resume::Lost`].
///
/// # Examples
///
/// ```
/// use futures_util::StreamExt;
/// use sse_codec::{EventId, Message, Resume, Subscription, Topic};
/// use sse_joe::{FiniteReplayer, Joe, Provider};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), sse_joe::Error> {
/// let joe = Joe::builder()
///     .replayer(FiniteReplayer::new(2).auto_ids_from(1))
///     .build();
/// for text in ["a", "b", "c"] {
///     joe.publish(Message::new().data(text), &[Topic::DEFAULT]).await?;
/// }
///
/// // "1" was evicted; "2" is held, so "3" is replayed.
/// let sub = Subscription::new([Topic::DEFAULT]);
/// let lost = joe.subscribe(sub.clone().last_event_id(Some(EventId::from_static("1")))).await?;
/// assert_eq!(lost.resume, Resume::Lost);
/// let mut exact = joe.subscribe(sub.last_event_id(Some(EventId::from_static("2")))).await?;
/// assert_eq!(exact.resume, Resume::Exact);
/// let frame = exact.stream.next().await.unwrap()?;
/// assert_eq!(frame.as_bytes(), "id: 3\ndata: c\n\n");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct FiniteReplayer {
    capacity: usize,
    history: History,
}

impl FiniteReplayer {
    /// A replayer keeping the last `capacity` messages, without automatic
    /// IDs. A capacity of zero keeps nothing.
    pub fn new(capacity: usize) -> FiniteReplayer {
        FiniteReplayer {
            capacity,
            history: History::new(false),
        }
    }

    /// The most messages kept.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Nothing expires by age.
    fn expire(&mut self) -> Option<Instant> {
        None
    }

    fn limit(&self) -> usize {
        self.capacity
    }
}

crate::history::history_replayer!(FiniteReplayer);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, Replayer};

    use crate::replayer::testing::{T, publish, replay};
    use sse_codec::Topic;

    #[test]
    fn keeps_the_last_n_and_evicts_the_oldest() {
        let mut r = FiniteReplayer::new(3);
        for i in 1..=5 {
            let id = EventId::try_from(i.to_string()).unwrap();
            publish(&mut r, Message::new().id(id).data(i.to_string()), T).unwrap();
        }
        assert_eq!(r.len(), 3);
        // 1 and 2 are gone.
        assert_eq!(replay(&mut r, "1", T), (Resume::Lost, vec![]));
        assert_eq!(replay(&mut r, "2", T), (Resume::Lost, vec![]));
        let (resume, frames) = replay(&mut r, "3", T);
        assert_eq!(resume, Resume::Exact);
        assert_eq!(frames, ["id: 4\ndata: 4\n\n", "id: 5\ndata: 5\n\n"]);
    }

    #[test]
    fn resuming_from_the_newest_is_exact_and_empty() {
        let mut r = FiniteReplayer::new(2).auto_ids_from(1);
        publish(&mut r, Message::new().data("a"), T).unwrap();
        publish(&mut r, Message::new().data("b"), T).unwrap();
        assert_eq!(replay(&mut r, "2", T), (Resume::Exact, vec![]));
    }

    #[test]
    fn unknown_id_replays_nothing() {
        let mut r = FiniteReplayer::new(8).auto_ids_from(1);
        publish(&mut r, Message::new().data("a"), T).unwrap();
        assert_eq!(replay(&mut r, "nope", T), (Resume::Lost, vec![]));
        assert_eq!(replay(&mut r, "0", T), (Resume::Lost, vec![]));
    }

    #[test]
    fn auto_ids_are_monotonic_and_explicit_ids_refused() {
        let mut r = FiniteReplayer::new(8).auto_ids_from(1);
        let ids: Vec<_> = (0..3)
            .map(|_| {
                let m = publish(&mut r, Message::new().data("x"), T).unwrap();
                m.get_id().unwrap().to_string()
            })
            .collect();
        assert_eq!(ids, ["1", "2", "3"]);
        let err = publish(
            &mut r,
            Message::new().id(EventId::from_static("9")).data("x"),
            T,
        )
        .unwrap_err();
        assert!(matches!(err, Error::ExplicitId));
        // The refused message used no number.
        let m = publish(&mut r, Message::new().data("x"), T).unwrap();
        assert_eq!(m.get_id().unwrap(), "4");
    }

    #[test]
    fn auto_ids_start_from_the_clock_so_a_restart_never_reuses_them() {
        let mut before = FiniteReplayer::new(8).auto_ids(true);
        let mut last = 0;
        for _ in 0..3 {
            let m = publish(&mut before, Message::new().data("x"), T).unwrap();
            last = m.get_id().unwrap().as_str().parse::<u64>().unwrap();
        }
        // Microseconds since 2020: not numbered from 1.
        assert!(last > 1_577_836_800_000_000, "{last}");
        // The "restarted" process numbers above the old run...
        std::thread::sleep(std::time::Duration::from_millis(5));
        let mut after = FiniteReplayer::new(8).auto_ids(true);
        let m = publish(&mut after, Message::new().data("y"), T).unwrap();
        let first = m.get_id().unwrap().as_str().parse::<u64>().unwrap();
        assert!(first > last, "{first} <= {last}");
        // ...so a client holding an old ID is told its history is lost.
        let (resume, frames) = replay(&mut after, &last.to_string(), T);
        assert_eq!((resume, frames.len()), (Resume::Lost, 0));
    }

    #[test]
    fn exhausted_auto_ids_refuse_rather_than_repeat() {
        let mut r = FiniteReplayer::new(8).auto_ids_from(u64::MAX - 1);
        let m = publish(&mut r, Message::new().data("a"), T).unwrap();
        assert_eq!(m.get_id().unwrap(), "18446744073709551614");
        for _ in 0..2 {
            let err = publish(&mut r, Message::new().data("b"), T).unwrap_err();
            assert!(matches!(err, Error::Rejected(_)), "{err}");
        }
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn replay_filters_by_topic() {
        let mut r = FiniteReplayer::new(8).auto_ids_from(1);
        let (a, b) = (Topic::from("a"), Topic::from("b"));
        let (only_a, only_b) = ([a.clone()], [b.clone()]);
        publish(&mut r, Message::new().data("0"), &only_a).unwrap();
        publish(&mut r, Message::new().data("1"), &only_a).unwrap();
        publish(&mut r, Message::new().data("2"), &only_b).unwrap();
        publish(&mut r, Message::new().data("3"), &[a, b]).unwrap();
        let (_, frames) = replay(&mut r, "1", &only_a);
        assert_eq!(frames, ["id: 2\ndata: 1\n\n", "id: 4\ndata: 3\n\n"]);
        let (_, frames) = replay(&mut r, "1", &only_b);
        assert_eq!(frames, ["id: 3\ndata: 2\n\n", "id: 4\ndata: 3\n\n"]);
        let mut all = Vec::new();
        let subscription = Subscription::new(only_b);
        let resume = r.replay_all(&subscription, &mut |frame| all.push(frame));
        assert_eq!((resume, all.len()), (Resume::Earliest, 2));
    }

    #[test]
    fn messages_without_ids_are_replayed_but_not_resume_points() {
        let mut r = FiniteReplayer::new(8);
        publish(
            &mut r,
            Message::new().id(EventId::from_static("x")).data("1"),
            T,
        )
        .unwrap();
        publish(&mut r, Message::new().data("2"), T).unwrap();
        let (resume, frames) = replay(&mut r, "x", T);
        assert_eq!(resume, Resume::Exact);
        assert_eq!(frames, ["data: 2\n\n"]);
    }

    #[test]
    fn a_reused_id_resumes_after_its_earliest_use_and_is_lost_with_it() {
        let mut r = FiniteReplayer::new(3);
        let id = EventId::from_static("same");
        publish(&mut r, Message::new().id(id.clone()).data("1"), T).unwrap();
        publish(&mut r, Message::new().data("2"), T).unwrap();
        publish(&mut r, Message::new().id(id.clone()).data("3"), T).unwrap();
        // A client may have seen either use: it gets what followed the
        // first again rather than miss "2".
        assert_eq!(
            replay(&mut r, "same", T),
            (
                Resume::Exact,
                vec!["data: 2\n\n".into(), "id: same\ndata: 3\n\n".into()]
            )
        );
        // Once the first use is evicted, what followed it may be gone too.
        publish(&mut r, Message::new().data("4"), T).unwrap();
        assert_eq!(replay(&mut r, "same", T), (Resume::Lost, vec![]));
    }

    #[test]
    fn replay_asks_the_subscription_private_updates_only_its_filter() {
        use sse_codec::{Filter, Routing, Subscription};
        let mut r = FiniteReplayer::new(8).auto_ids_from(1);
        let topic = Topic::from("t");
        for (data, private) in [("public", false), ("private", true), ("last", false)] {
            let mut message = Message::new().data(data);
            r.prepare(&mut message).unwrap();
            let routing = Routing::new([topic.clone()]).private(private);
            r.store(&message, &message.to_encoded(), &routing);
        }
        let texts = |subscription: &Subscription, r: &mut FiniteReplayer| {
            let mut out = Vec::new();
            r.replay_all(subscription, &mut |frame| {
                out.push(String::from_utf8(frame.as_bytes().to_vec()).unwrap());
            });
            out
        };
        let plain = Subscription::new([topic.clone()]);
        assert_eq!(
            texts(&plain, &mut r),
            ["id: 1\ndata: public\n\n", "id: 3\ndata: last\n\n"]
        );
        let granted = plain.clone().filter(Filter::new(|_| true));
        assert_eq!(texts(&granted, &mut r).len(), 3);
        let every = Subscription::new([])
            .every_topic()
            .filter(Filter::new(Routing::is_private));
        assert_eq!(texts(&every, &mut r), ["id: 2\ndata: private\n\n"]);
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let mut r = FiniteReplayer::new(0).auto_ids_from(1);
        publish(&mut r, Message::new().data("a"), T).unwrap();
        assert!(r.is_empty());
        assert_eq!(replay(&mut r, "1", T), (Resume::Lost, vec![]));
    }
}
