//! What an update is routed by, beside its frame, and the filters that
//! read it.

use super::Topic;
use alloc::{sync::Arc, vec::Vec};
use core::fmt;

/// What a published update is routed by, beside its encoded frame: every
/// topic it was published to (the first canonical, the others alternates,
/// as the Mercure protocol has them) and whether it is private.
///
/// A provider keeps it with the frame, in its queues and in its history,
/// so that a [`Filter`] can be asked about the update live and on replay
/// without the frame being decoded. A private update reaches only the
/// subscribers whose filter accepts it: a subscription without a filter
/// never gets one (see [`Subscription::accepts`]).
///
/// Cheap to clone: the topics are shared.
///
/// [`Subscription::accepts`]: super::Subscription::accepts
///
/// # Examples
///
/// ```
/// use sse_codec::{Routing, Topic};
///
/// let routing = Routing::new([Topic::from("/books/1"), Topic::from("/authors/7")]).private(true);
/// assert_eq!(routing.canonical(), Some(&Topic::from("/books/1")));
/// assert_eq!(routing.topics().len(), 2);
/// assert!(routing.is_private());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Routing {
    topics: Arc<[Topic]>,
    private: bool,
}

impl Routing {
    /// A public update's routing, to `topics` (duplicates are dropped, the
    /// first of each kept in place).
    pub fn new(topics: impl IntoIterator<Item = Topic>) -> Routing {
        let mut unique: Vec<Topic> = Vec::new();
        for topic in topics {
            if !unique.contains(&topic) {
                unique.push(topic);
            }
        }
        Routing {
            topics: unique.into(),
            private: false,
        }
    }

    /// Marks the update private, or public.
    #[must_use]
    pub fn private(mut self, private: bool) -> Routing {
        self.private = private;
        self
    }

    /// Every topic of the update, the canonical one first.
    pub fn topics(&self) -> &[Topic] {
        &self.topics
    }

    /// The canonical topic: the first.
    pub fn canonical(&self) -> Option<&Topic> {
        self.topics.first()
    }

    /// Whether the update is private.
    pub fn is_private(&self) -> bool {
        self.private
    }
}

impl From<&[Topic]> for Routing {
    /// A public update to `topics`.
    fn from(topics: &[Topic]) -> Routing {
        // Topics without duplicates, the usual case, are copied into the
        // shared list at once: one allocation per publish.
        let unique = topics
            .iter()
            .enumerate()
            .all(|(i, topic)| !topics[..i].contains(topic));
        if !unique {
            return Routing::new(topics.iter().cloned());
        }
        Routing {
            topics: Arc::from(topics),
            private: false,
        }
    }
}

impl fmt::Debug for Routing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Routing")
            .field("topics", &&*self.topics)
            .field("private", &self.private)
            .finish()
    }
}

/// A subscriber's predicate over the [`Routing`] of each update: the
/// selector matching and grant check of a hub, say. A provider asks it
/// before it hands a frame to the subscriber, live and on replay, so that
/// a filtered subscriber never receives what it may not see.
///
/// It is called once per update that could reach the subscriber (one of
/// its topics, or any, for a subscription to
/// [every topic](super::Subscription::every_topic)), from the provider's
/// tasks or the subscriber's, so it must be quick and must not block:
/// cache what it computes. Cheap to clone.
///
/// # Examples
///
/// ```
/// use sse_codec::{Filter, Routing, Topic};
///
/// // Everything under /books/, private updates included.
/// let books = Filter::new(|routing: &Routing| {
///     routing.topics().iter().any(|topic| topic.as_str().starts_with("/books/"))
/// });
/// assert!(books.accepts(&Routing::new([Topic::from("/books/1")]).private(true)));
/// assert!(!books.accepts(&Routing::new([Topic::from("/authors/7")])));
/// ```
#[derive(Clone)]
pub struct Filter(Arc<dyn Fn(&Routing) -> bool + Send + Sync>);

impl Filter {
    /// A filter that accepts the updates for which `accepts` is true.
    pub fn new(accepts: impl Fn(&Routing) -> bool + Send + Sync + 'static) -> Filter {
        Filter(Arc::new(accepts))
    }

    /// Whether the update routed by `routing` may reach the subscriber.
    pub fn accepts(&self, routing: &Routing) -> bool {
        (self.0)(routing)
    }
}

/// Two filters are equal when they are clones of one.
impl PartialEq for Filter {
    fn eq(&self, other: &Filter) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Filter {}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Filter")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_topics_keeps_the_order_and_drops_duplicates() {
        let (a, b) = (Topic::from("a"), Topic::from("b"));
        let routing = Routing::from(&[a.clone(), b.clone()][..]);
        assert_eq!(routing.topics(), [a.clone(), b.clone()]);
        let routing = Routing::from(&[b.clone(), a.clone(), b.clone()][..]);
        assert_eq!(routing.topics(), [b, a]);
        assert!(!routing.is_private());
    }
}
