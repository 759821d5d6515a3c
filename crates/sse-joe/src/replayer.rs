//! The history a [`Joe`](crate::Joe) replays to resuming subscribers.

use crate::Error;
use sse_codec::{Encoded, EventId, Message, Resume, Routing, Start, Subscription};
use std::fmt;

/// Keeps published messages so that a subscriber resuming with a
/// `Last-Event-ID` gets what it missed.
///
/// [`Joe`](crate::Joe) calls a replayer while it holds the lock that orders
/// publishes and subscriptions: that is how a resuming subscriber gets the
/// replay and then the live messages with no gap and no duplicate. So the
/// methods are synchronous and should be quick: no I/O, no waiting. For
/// each publish Joe calls [`prepare`](Replayer::prepare), encodes the
/// message once, then calls [`store`](Replayer::store) with the frame.
///
/// For a resume Joe first asks for a [`cut`](Replayer::cut): a consistent
/// view of the history that it walks after releasing the lock, so that
/// thousands of clients resuming at once (after a deploy) do not hold up
/// publishes for the length of the history each. A replayer without one
/// (the default) is asked to [`replay`](Replayer::replay) under the lock.
///
/// A replayer that panics is caught and disabled: the call that hit the
/// panic fails with [`Error::ReplayerPanicked`], and Joe carries on without
/// history.
///
/// [`FiniteReplayer`](crate::FiniteReplayer) keeps the last N messages,
/// [`ValidReplayer`](crate::ValidReplayer) those younger than a TTL.
///
/// # Examples
///
/// A replayer that remembers only the last message:
///
/// ```
/// use sse_codec::{EventId, Encoded, Message, Resume, Routing, Subscription};
/// use sse_joe::{Error, Joe, Replayer};
///
/// #[derive(Default)]
/// struct LastOne(Option<(EventId, Encoded, Routing)>);
///
/// impl Replayer for LastOne {
///     fn prepare(&mut self, _message: &mut Message) -> Result<(), Error> {
///         Ok(())
///     }
///
///     fn store(&mut self, message: &Message, frame: &Encoded, routing: &Routing) {
///         self.0 = message.get_id().map(|id| (id.clone(), frame.clone(), routing.clone()));
///     }
///
///     fn replay(
///         &mut self,
///         last_event_id: &EventId,
///         _subscription: &Subscription,
///         _out: &mut dyn FnMut(Encoded),
///     ) -> Resume {
///         // Only resuming from the newest message is exact: nothing to send.
///         match &self.0 {
///             Some((id, _, _)) if id == last_event_id => Resume::Exact,
///             _ => Resume::Lost,
///         }
///     }
/// }
///
/// let joe = Joe::builder().replayer(LastOne::default()).build();
/// # drop(joe);
/// ```
pub trait Replayer: Send + 'static {
    /// Checks `message` before it is encoded and stored, and may change it:
    /// a replayer that numbers events sets its ID here.
    ///
    /// # Errors
    ///
    /// An error fails the publish; nothing is delivered. Replayers that
    /// assign IDs return [`Error::ExplicitId`] for a message that already
    /// has one; others may return [`Error::Rejected`].
    fn prepare(&mut self, message: &mut Message) -> Result<(), Error>;

    /// Stores a published message: `message` as prepared, `frame` its
    /// encoding (cheap to clone), `routing` what it is routed by (where it
    /// was published, whether it is private), to keep with it.
    ///
    /// A message without an ID is stored too (it is part of what a
    /// resuming subscriber missed) but cannot be resumed from.
    fn store(&mut self, message: &Message, frame: &Encoded, routing: &Routing);

    /// Hands to `out`, in publish order, every stored frame published after
    /// the message with ID `last_event_id` that `subscription`
    /// [accepts](Subscription::accepts) (its topics, its filter, private
    /// updates only to a filter that takes them). An ID stored more than
    /// once resumes after its earliest use held.
    ///
    /// Returns [`Resume::Exact`] when that ID is held (even when nothing
    /// came after it), and [`Resume::Lost`] when it is unknown or was
    /// evicted, in which case `out` must not be called.
    fn replay(
        &mut self,
        last_event_id: &EventId,
        subscription: &Subscription,
        out: &mut dyn FnMut(Encoded),
    ) -> Resume;

    /// Hands to `out`, in publish order, every stored frame that
    /// `subscription` accepts, for a subscriber that starts at the
    /// [earliest](sse_codec::Start::Earliest) message retained.
    ///
    /// Returns [`Resume::Earliest`]. The default keeps no such history: it
    /// returns [`Resume::Lost`] and does not call `out`.
    fn replay_all(&mut self, subscription: &Subscription, out: &mut dyn FnMut(Encoded)) -> Resume {
        let _ = (subscription, out);
        Resume::Lost
    }

    /// The ID of the newest message stored, if it has one: where a
    /// subscriber that starts now (or whose resume was lost) can later
    /// resume from without a gap, reported as
    /// [`Subscribed::position`](sse_codec::Subscribed::position). `None`
    /// when nothing is stored or the newest message has no ID. The
    /// default is `None`: a replayer that does not say.
    fn newest_id(&mut self) -> Option<EventId> {
        None
    }

    /// What [`replay`](Replayer::replay) (for `Some(last_event_id)`) or
    /// [`replay_all`](Replayer::replay_all) (for `None`) would hand out,
    /// as a [`Cut`]: the resume status now, and the frames to hand out
    /// later, as the history is now, whatever is stored or evicted in the
    /// meantime. Joe takes the cut under its lock and walks it after.
    ///
    /// The default returns `None`, and Joe calls `replay` or `replay_all`
    /// under its lock instead. The built-in replayers share their history,
    /// copied on write in chunks of 64 messages: a cut costs a reference
    /// count, and the first store while one is held copies a pointer per
    /// 64 messages and the last chunk.
    fn cut(&mut self, last_event_id: Option<&EventId>, subscription: &Subscription) -> Option<Cut> {
        let _ = (last_event_id, subscription);
        None
    }
}

/// A replay to hand out after Joe's lock is released, from
/// [`Replayer::cut`]: whether the resume is exact, and the frames.
///
/// # Examples
///
/// ```
/// use sse_codec::{Encoded, Message, Resume};
/// use sse_joe::Cut;
///
/// let frames = vec![Encoded::from(&Message::new().data("missed"))];
/// let cut = Cut::new(Resume::Exact, move |out| frames.into_iter().for_each(out));
/// assert_eq!(cut.resume(), Resume::Exact);
/// let mut got = Vec::new();
/// cut.walk(&mut |frame| got.push(frame));
/// assert_eq!(got[0].as_bytes(), "data: missed\n\n");
/// ```
pub struct Cut {
    resume: Resume,
    walk: Box<Walk>,
}

/// Hands a cut's frames to the function it is given.
type Walk = dyn FnOnce(&mut dyn FnMut(Encoded)) + Send;

impl Cut {
    /// A cut whose `walk` hands out, in publish order, the frames a
    /// resuming subscriber missed; it must not call `out` for
    /// [`Resume::Lost`].
    pub fn new(resume: Resume, walk: impl FnOnce(&mut dyn FnMut(Encoded)) + Send + 'static) -> Cut {
        Cut {
            resume,
            walk: Box::new(walk),
        }
    }

    /// Whether the resume is exact, from the earliest message, or lost.
    pub fn resume(&self) -> Resume {
        self.resume
    }

    /// Hands the frames to `out`.
    pub fn walk(self, out: &mut dyn FnMut(Encoded)) {
        (self.walk)(out);
    }
}

impl fmt::Debug for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cut")
            .field("resume", &self.resume)
            .finish_non_exhaustive()
    }
}

/// Whether two topic lists share a topic.
/// Where a subscriber that starts at `start` begins in `replayer`'s
/// history: how its resume went and its
/// [position](sse_codec::Subscribed::position), with the replay either
/// cut into `cut`, to walk later, or handed to `out` now.
pub(crate) fn begin(
    replayer: &mut dyn Replayer,
    start: &Start,
    subscription: &Subscription,
    cut: &mut Option<Cut>,
    out: &mut dyn FnMut(Encoded),
) -> (Resume, Option<EventId>) {
    let after = match start {
        Start::After(id) => Some(id),
        _ => None,
    };
    let resume = match start {
        Start::Now => Resume::Fresh,
        _ => match replayer.cut(after, subscription) {
            Some(taken) => {
                let resume = taken.resume();
                *cut = Some(taken);
                resume
            }
            None => match after {
                Some(id) => replayer.replay(id, subscription, out),
                None => replayer.replay_all(subscription, out),
            },
        },
    };
    // Where the stream starts, for a client to resume from later: after
    // the ID it resumed from, at the oldest retained, or (starting now, or
    // lost) after the newest retained.
    let position = match resume {
        Resume::Exact => after.cloned(),
        Resume::Earliest => None,
        _ => replayer.newest_id(),
    };
    (resume, position)
}

/// Drives a replayer as Joe does, for the replayers' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::Replayer;
    use crate::Error;
    use sse_codec::{EventId, Message, Resume, Routing, Subscription, Topic};

    static DEFAULT: [Topic; 1] = [Topic::DEFAULT];

    /// The default topic alone, the topics most tests publish to.
    pub(crate) static T: &[Topic] = &DEFAULT;

    /// Prepares and stores `message`, as a publish does; returns it as
    /// prepared (with its ID, if the replayer assigns them).
    pub(crate) fn publish(
        replayer: &mut dyn Replayer,
        mut message: Message,
        topics: &[Topic],
    ) -> Result<Message, Error> {
        replayer.prepare(&mut message)?;
        replayer.store(&message, &message.to_encoded(), &Routing::from(topics));
        Ok(message)
    }

    /// Replays after `id` to `topics`: the resume and the frames as text.
    pub(crate) fn replay(
        replayer: &mut dyn Replayer,
        id: &str,
        topics: &[Topic],
    ) -> (Resume, Vec<String>) {
        let mut out = Vec::new();
        let subscription = Subscription::new(topics.iter().cloned());
        let id = EventId::try_from(id).unwrap();
        let resume = replayer.replay(&id, &subscription, &mut |frame| {
            out.push(String::from_utf8(frame.as_bytes().to_vec()).unwrap());
        });
        (resume, out)
    }
}
