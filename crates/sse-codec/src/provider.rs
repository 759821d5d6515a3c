//! The publish/subscribe contract between a server and a message broker.
//!
//! # Examples
//!
//! A server subscribes a client that reconnected with a `Last-Event-ID`,
//! over any provider, and learns whether the client missed events that
//! cannot be replayed:
//!
//! ```
//! use sse_codec::EventId;
//! use sse_codec::provider::{Provider, Resume, Subscription, Topic};
//!
//! async fn resume<P: Provider>(
//!     provider: &P,
//!     last_event_id: &str,
//! ) -> Result<(P::Stream, bool), P::Error> {
//!     let subscription = Subscription::new([Topic::from("news")])
//!         .last_event_id(EventId::try_from(last_event_id).ok());
//!     let subscribed = provider.subscribe(subscription).await?;
//!     Ok((subscribed.stream, subscribed.resume == Resume::Lost))
//! }
//! ```
//!
//! # Overview
//!
//! - What a server asks for: a [`Subscription`] to [`Topic`]s (or to
//!   every topic), optionally with a [`Filter`] over each update's
//!   [`Routing`] (its topics and whether it is private), starting
//!   [`Start::Now`], after a last event ID or at the earliest retained
//!   message.
//! - What it gets: [`Subscribed`], a stream of [`Encoded`] events (the
//!   replay, then live ones) and how the [`Resume`] went.
//! - What a broker implements: [`Provider`] (subscribe, publish,
//!   shutdown), with an error that is a [`ProviderError`]. Its contract
//!   (no gap and no duplicate between replay and live, bounded memory,
//!   what shutdown ends) is written on the trait.
//!
//! Servers depend on this contract alone, and brokers implement it without
//! knowing the server: `sse-server` on one side, `sse-joe` (in memory) and
//! `sse-redis` (Redis Streams) on the other. Every item here is also at the
//! crate root, `sse_codec::Provider` being `sse_codec::provider::Provider`.

mod routing;

pub use self::routing::{Filter, Routing};

use crate::{Encoded, EventId, Message, text::Text};
use alloc::vec::Vec;
use core::{borrow::Borrow, fmt, future::Future};
use futures_core::Stream;

/// A named channel. Subscribers listen on one or more topics; a message is
/// published to one or more topics and reaches every subscriber of any of
/// them, once.
///
/// Cheap to clone. [`Topic::DEFAULT`] (the empty name) is the topic used
/// when an application does not need topics.
///
/// # Examples
///
/// ```
/// use sse_codec::Topic;
///
/// let chat = Topic::from("chat");
/// assert_eq!(chat.as_str(), "chat");
/// assert_eq!(Topic::default(), Topic::DEFAULT);
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Topic(Text);

impl Topic {
    /// The default topic, the empty name.
    pub const DEFAULT: Topic = Topic(Text::from_static(""));

    /// A topic from a string literal.
    pub const fn from_static(name: &'static str) -> Topic {
        Topic(Text::from_static(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl From<&str> for Topic {
    fn from(name: &str) -> Topic {
        Topic(Text::from(name))
    }
}

impl From<alloc::string::String> for Topic {
    fn from(name: alloc::string::String) -> Topic {
        Topic(Text::from(name))
    }
}

impl Borrow<str> for Topic {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Topic {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a new subscriber asks a [`Provider`] for: its topics, and where
/// its stream starts.
///
/// # Examples
///
/// ```
/// use sse_codec::{EventId, Start, Subscription, Topic};
///
/// let sub = Subscription::new([Topic::from("news")])
///     .last_event_id(Some(EventId::from_static("41")));
/// assert_eq!(sub.topics(), [Topic::from("news")]);
/// assert_eq!(sub.start(), &Start::After(EventId::from_static("41")));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Subscription {
    topics: Vec<Topic>,
    start: Start,
    filter: Option<Filter>,
    every_topic: bool,
}

/// Where a subscriber's stream starts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Start {
    /// With the messages published from now on: a new client.
    #[default]
    Now,
    /// After the message with this ID, replaying what the provider retains
    /// after it: a client resuming with its `Last-Event-ID`.
    After(EventId),
    /// With the oldest message the provider retains, replaying all of it:
    /// a new client that wants the history too.
    Earliest,
}

impl Subscription {
    /// A subscription to `topics` (duplicates change nothing; none receives
    /// nothing), starting now.
    pub fn new(topics: impl IntoIterator<Item = Topic>) -> Subscription {
        Subscription {
            topics: topics.into_iter().collect(),
            start: Start::Now,
            filter: None,
            every_topic: false,
        }
    }

    /// Asks `filter` about every update that could reach the subscriber
    /// (one published to any of its topics, or to any topic at all for a
    /// subscription to [every topic](Subscription::every_topic)): it gets
    /// those the filter accepts, private ones included. Without a filter,
    /// a subscriber gets the public updates of its topics.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_codec::{Filter, Routing, Subscription, Topic};
    ///
    /// // The private updates of one user's topic too.
    /// let mine = Subscription::new([Topic::from("/users/7")])
    ///     .filter(Filter::new(|routing: &Routing| {
    ///         routing.topics().iter().any(|topic| topic.as_str() == "/users/7")
    ///     }));
    /// let private = Routing::new([Topic::from("/users/7")]).private(true);
    /// assert!(mine.accepts(&private));
    /// assert!(!Subscription::new([Topic::from("/users/7")]).accepts(&private));
    /// ```
    #[must_use]
    pub fn filter(mut self, filter: Filter) -> Subscription {
        self.filter = Some(filter);
        self
    }

    /// Considers the updates of every topic, not only of its own: for a
    /// subscriber that selects topics by pattern, with a
    /// [filter](Subscription::filter) that matches them. Without a filter
    /// it gets every public update.
    ///
    /// A provider reads every update for such a subscriber, so each costs
    /// it a call of the filter: exact topics are cheaper where they do.
    #[must_use]
    pub fn every_topic(mut self) -> Subscription {
        self.every_topic = true;
        self
    }

    /// The filter, if any.
    pub fn get_filter(&self) -> Option<&Filter> {
        self.filter.as_ref()
    }

    /// Whether the subscription considers the updates of every topic.
    pub fn is_every_topic(&self) -> bool {
        self.every_topic
    }

    /// Whether the update routed by `routing` reaches this subscriber: it
    /// was published to one of its topics (to any, for
    /// [every topic](Subscription::every_topic)), and the
    /// [filter](Subscription::filter) accepts it, or, without one, it is
    /// public. The rule every provider applies, live and on replay.
    pub fn accepts(&self, routing: &Routing) -> bool {
        let considered = self.every_topic
            || routing
                .topics()
                .iter()
                .any(|topic| self.topics.contains(topic));
        considered
            && match &self.filter {
                Some(filter) => filter.accepts(routing),
                None => !routing.is_private(),
            }
    }

    /// Resumes after the message with ID `id` (the client's
    /// `Last-Event-ID`); with `None`, starts now.
    #[must_use]
    pub fn last_event_id(self, id: Option<EventId>) -> Subscription {
        self.starting(id.map_or(Start::Now, Start::After))
    }

    /// Starts with the oldest message the provider retains.
    #[must_use]
    pub fn from_earliest(self) -> Subscription {
        self.starting(Start::Earliest)
    }

    /// Sets where the stream starts.
    #[must_use]
    pub fn starting(mut self, start: Start) -> Subscription {
        self.start = start;
        self
    }

    /// The topics.
    pub fn topics(&self) -> &[Topic] {
        &self.topics
    }

    /// Where the stream starts.
    pub fn start(&self) -> &Start {
        &self.start
    }

    /// The topics and the start, by value (the filter and
    /// [`is_every_topic`](Subscription::is_every_topic) stay: see
    /// [`split_start`](Subscription::split_start)).
    pub fn into_parts(self) -> (Vec<Topic>, Start) {
        (self.topics, self.start)
    }

    /// Takes the start out, leaving a subscription that starts now: what
    /// the subscriber selects, apart from where it starts.
    pub fn split_start(mut self) -> (Subscription, Start) {
        let start = core::mem::take(&mut self.start);
        (self, start)
    }

    /// Sorts the topics and drops duplicates, which changes nothing of
    /// what the subscription gets: for a provider that keeps them so.
    pub fn dedup_topics(&mut self) {
        self.topics.sort_unstable();
        self.topics.dedup();
    }
}

/// How a subscriber's history was handled, so that a server can tell its
/// client whether it missed anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Resume {
    /// The subscriber started now ([`Start::Now`]); nothing was replayed.
    Fresh,
    /// Every message published after the given ID (to the subscriber's
    /// topics) is replayed: the client missed nothing.
    Exact,
    /// The given ID is unknown to the provider or was evicted from its
    /// history, or the provider keeps no history: what the client missed
    /// cannot be replayed. Nothing is replayed; the client should refetch
    /// its state.
    Lost,
    /// Every message the provider retains (for the subscriber's topics) is
    /// replayed, as [`Start::Earliest`] asks.
    Earliest,
}

/// The result of [`Provider::subscribe`]: the subscriber's stream of encoded
/// messages and how its resume went.
#[derive(Debug)]
#[non_exhaustive]
pub struct Subscribed<S> {
    /// The encoded messages for this subscriber: the replay, then live ones.
    pub stream: S,
    /// Whether the replay was exact.
    pub resume: Resume,
    /// Where the stream starts: the ID of the last message before the
    /// first one it yields, when the provider knows one, so that a client
    /// told so resumes exactly from there.
    ///
    /// - [`Resume::Exact`]: the ID the subscription resumed after;
    /// - [`Resume::Fresh`] and [`Resume::Lost`]: the ID of the newest
    ///   message the provider retained (for any topic) when the
    ///   subscription was made, which a later subscription can resume
    ///   after;
    /// - [`Resume::Earliest`]: `None`, the stream starts with the oldest
    ///   message retained.
    ///
    /// `None` too when the provider retains nothing, keeps no history, or
    /// its newest message has no ID (no ID then marks the place).
    pub position: Option<EventId>,
}

impl<S> Subscribed<S> {
    /// Bundles a stream and its resume status, with no
    /// [`position`](Subscribed::position).
    pub fn new(stream: S, resume: Resume) -> Subscribed<S> {
        Subscribed {
            stream,
            resume,
            position: None,
        }
    }

    /// Sets the [`position`](Subscribed::position).
    #[must_use]
    pub fn at(mut self, position: Option<EventId>) -> Subscribed<S> {
        self.position = position;
        self
    }

    /// The same subscription over another stream (an adapter's, say).
    pub fn map<T>(self, f: impl FnOnce(S) -> T) -> Subscribed<T> {
        Subscribed {
            stream: f(self.stream),
            resume: self.resume,
            position: self.position,
        }
    }
}

/// The error of a [`Provider`]: any error that can say whether the
/// provider was shut down, as opposed to a failure that passes (a broker
/// that cannot be reached, a subscriber that fell behind).
///
/// A server answers the two differently: after a shutdown it stops; after
/// a passing failure its clients reconnect and try again.
pub trait ProviderError: core::error::Error + Send + Sync + 'static {
    /// Whether the provider was shut down: every later call fails so too.
    fn is_shutdown(&self) -> bool;
}

/// A publish/subscribe broker for encoded events: the seam between a server
/// (which subscribes one stream per client) and whatever distributes the
/// messages (in memory, Redis, Kafka, ...).
///
/// # Contract
///
/// An implementation must uphold all of the following; servers rely on it.
///
/// **Publish.** [`publish_routed`](Provider::publish_routed) sends
/// `message` to every current subscriber whose subscription
/// [accepts](Subscription::accepts) its [`Routing`], exactly once per
/// subscriber even when several of its topics match; the filter of a
/// filtered subscriber is asked before a frame is queued for it or handed
/// to it, so that a private update never waits for a subscriber it does
/// not belong to. [`publish`](Provider::publish) is the same for a public
/// update to `topics`; a subscriber without a filter pays nothing for the
/// filters of others. The provider encodes the message (at most once per
/// publish, ideally) into an [`Encoded`] that ends at an event boundary,
/// and keeps the routing beside it, in its history too. It may first
/// assign the message an ID (a history that numbers events); an ID the
/// publisher set is kept otherwise (or refused, by a provider that assigns
/// them all). A message without an ID is delivered but cannot be resumed
/// from. Publishing to no subscriber is not an error.
/// Publishes from one task reach each subscriber in the order they were
/// made; the order of concurrent publishes is the same for every subscriber
/// of the same topics. `publish` must not wait for slow subscribers: a
/// subscriber that cannot keep up is ended (see below), never waited on
/// without bound. When it returns `Ok`, the message is in the history, if
/// any, and on its way to every matching subscriber: an in-process
/// provider has queued it for each of them already, a distributed one
/// delivers it as each process reads it.
///
/// **Subscribe.** [`subscribe`](Provider::subscribe) returns a stream that
/// yields, in order: if the subscription starts [after an
/// ID](Start::After) found in the history, every retained message
/// after that ID that the subscription accepts ([`Resume::Exact`]; an ID
/// published more than once resumes after its earliest use still
/// retained); if it starts at the [earliest](Start::Earliest),
/// every retained message it accepts ([`Resume::Earliest`],
/// or [`Resume::Lost`] from a provider that keeps no history); then every
/// message published after the subscription was made that it accepts,
/// live. No message is both replayed and delivered
/// live, and none published after the replay point is missing, even when
/// publishes race the subscription. If the ID is unknown or evicted, nothing
/// is replayed and [`Resume::Lost`] is reported; starting
/// [now](Start::Now), [`Resume::Fresh`]. [`Subscribed::position`] says
/// where the stream starts. A distributed provider, whose processes read a
/// shared log, may also deliver live the messages published just before
/// the subscription that its process had not read yet; never one it
/// replayed. A replay is read a bounded page at a time: a resuming
/// subscriber holds a bounded part of the history, however long.
///
/// **Ending.** The stream ends (`None`) when the provider shuts down, after
/// the messages already queued for it. It yields one `Err` as its last item
/// when the provider ends it for another reason, such as the subscriber
/// falling too far behind; the subscriber's client should then reconnect
/// and resume. Dropping the stream unsubscribes at once; the provider must
/// not keep buffering for it.
///
/// **Shutdown.** [`shutdown`](Provider::shutdown) ends every subscriber's
/// stream; afterwards `publish` and `subscribe` fail with an error whose
/// [`is_shutdown`](ProviderError::is_shutdown) is true. Calling it twice
/// is harmless.
///
/// **Bounds.** Memory is bounded whatever subscribers do: what waits for
/// a subscriber is bounded, and one that falls further behind is ended.
///
/// Implementations are shared between tasks (`&self` methods, `Send + Sync`)
/// and return `Send` futures; writing them as `async fn` is fine.
pub trait Provider: Send + Sync + 'static {
    /// Why a call failed or a subscription ended.
    type Error: ProviderError;

    /// A subscriber's stream of encoded messages.
    type Stream: Stream<Item = Result<Encoded, Self::Error>> + Send + 'static;

    /// Subscribes, replaying history as `subscription` starts.
    ///
    /// # Errors
    ///
    /// Fails if the provider was shut down, or cannot subscribe (for example
    /// a broker connection error).
    fn subscribe(
        &self,
        subscription: Subscription,
    ) -> impl Future<Output = Result<Subscribed<Self::Stream>, Self::Error>> + Send;

    /// Publishes `message` to the subscribers of any of `topics`: a public
    /// update, as [`publish_routed`](Provider::publish_routed) with
    /// `Routing::new(topics)` publishes it.
    ///
    /// # Errors
    ///
    /// Fails if the provider was shut down, if the message is invalid for
    /// it (for example an explicit ID where the provider assigns them), or
    /// the broker cannot be reached.
    fn publish(
        &self,
        message: Message,
        topics: &[Topic],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Publishes `message` routed by `routing`: to the subscribers whose
    /// subscription [accepts](Subscription::accepts) it, live and, from
    /// the history, on replay. The routing travels with the frame.
    ///
    /// # Errors
    ///
    /// As [`publish`](Provider::publish).
    fn publish_routed(
        &self,
        message: Message,
        routing: Routing,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Ends every subscription and refuses later calls.
    fn shutdown(&self) -> impl Future<Output = ()> + Send;
}
