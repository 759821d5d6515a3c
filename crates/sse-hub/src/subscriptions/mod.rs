//! Active subscriptions (d07 "Active Subscriptions", rows G1-G5): the
//! private update the hub publishes when a subscription starts and when it
//! ends, where the hub keeps the subscriptions that are active (a
//! [`Presence`]), and the web API that lists them.
//!
//! # Events
//!
//! A subscriber's connection gets an IRI of its own, `urn:uuid:` and a
//! random UUID (row G4), and each of its selectors (duplicates once) is a
//! subscription. When its stream opens, the hub records the subscriptions
//! in its presence and then publishes, for each, a private update (row E4)
//! on `/.well-known/mercure/subscriptions/{topic}/{subscriber}` (row G2)
//! whose data is the subscription's JSON-LD document (row G3); when the
//! stream ends, for any reason (the client went away, its token expired,
//! the hub shut down), it removes them and publishes the same documents
//! with `"active": false`. The end is published by the body's `Drop`, in a
//! task of its own, after the start. Both go through the provider like any
//! update: on Redis every hub process's subscribers get them, and they
//! are kept in the history, so that a client resuming from the API's
//! `lastEventID` misses none.
//!
//! `{topic}` and `{subscriber}` are expanded as RFC 6570 expands a simple
//! variable: every byte but the unreserved ones (`A-Z a-z 0-9 - . _ ~`)
//! percent-encoded, so that a URI template grant such as
//! `/.well-known/mercure/subscriptions/{topic}/{subscriber}` matches every
//! one. The reference hub writes a space as `+` (Go's `QueryEscape`); here
//! it is `%20`, as RFC 6570 writes it; the two differ in nothing else.
//!
//! # Web API
//!
//! `GET {path}/subscriptions`, `{path}/subscriptions/{topic}` and
//! `{path}/subscriptions/{topic}/{subscriber}` (row G5), each segment
//! percent-encoded. The caller's token must grant subscribing to the
//! requested path (as sent, percent-encoding and all); it gets
//! `application/ld+json`: a collection of the active subscriptions, those
//! of one selector, or one subscription (`404` when it is not active),
//! each with the hub's `lastEventID`, read before the subscriptions, so
//! that a client that subscribes from it gets every change after the list
//! it read.

mod api;
mod presence;
mod redis;

pub use self::presence::{Announcer, LocalPresence, Presence, PresenceError, PresenceFuture};
pub use self::redis::{DEFAULT_PRESENCE_TTL, RedisPresence, RedisPresenceBuilder};

use crate::{Hub, auth::Claims};
use axum::{body::Body as AxumBody, response::Response};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sse_codec::{EventId, Message, Provider, Routing, Topic};
use sse_server::{Body, RESUME_HEADER};
use std::{
    collections::HashSet,
    fmt::Write as _,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};
use tokio::{runtime::Handle, task::JoinHandle};

/// Where the topics of subscription events start (row G2), whatever the
/// hub's path.
const NAMESPACE: &str = "/.well-known/mercure/subscriptions";

/// The JSON-LD context of every document (row G3).
const CONTEXT: &str = "https://mercure.rocks/";

/// One active subscription: a selector of one subscriber, with the payload
/// of its token. Cheap to clone.
///
/// # Examples
///
/// ```
/// use sse_hub::ActiveSubscription;
///
/// let subscription = ActiveSubscription::new(
///     "https://example.com/{selector}",
///     "urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6",
///     Some(serde_json::json!({"foo": "bar"})),
/// );
/// assert_eq!(
///     subscription.id(),
///     "/.well-known/mercure/subscriptions/https%3A%2F%2Fexample.com%2F%7Bselector%7D\
///      /urn%3Auuid%3Abb3de268-05b0-4c65-b44e-8f9acefc29d6"
/// );
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ActiveSubscription {
    inner: Arc<Active>,
}

#[derive(PartialEq, Eq)]
struct Active {
    id: String,
    topic: String,
    subscriber: String,
    payload: Option<Arc<Value>>,
}

impl ActiveSubscription {
    /// The subscription of `subscriber` (its IRI) to the selector `topic`,
    /// with its token's `mercure.payload`.
    pub fn new(
        topic: impl Into<String>,
        subscriber: impl Into<String>,
        payload: Option<Value>,
    ) -> ActiveSubscription {
        ActiveSubscription::shared(topic.into(), subscriber.into(), payload.map(Arc::new))
    }

    fn shared(topic: String, subscriber: String, payload: Option<Arc<Value>>) -> Self {
        let mut id = String::with_capacity(NAMESPACE.len() + 2 + topic.len() + subscriber.len());
        id.push_str(NAMESPACE);
        id.push('/');
        expand(&mut id, &topic);
        id.push('/');
        expand(&mut id, &subscriber);
        ActiveSubscription {
            inner: Arc::new(Active {
                id,
                topic,
                subscriber,
                payload,
            }),
        }
    }

    /// Its IRI, the topic of its events:
    /// `/.well-known/mercure/subscriptions/{topic}/{subscriber}`, expanded
    /// (row G2).
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The selector.
    pub fn topic(&self) -> &str {
        &self.inner.topic
    }

    /// The subscriber's IRI.
    pub fn subscriber(&self) -> &str {
        &self.inner.subscriber
    }

    /// The subscriber's token's `mercure.payload`, if any.
    pub fn payload(&self) -> Option<&Value> {
        self.inner.payload.as_deref()
    }

    /// Its JSON-LD document (row G3), with the `@context` when it stands
    /// alone and the hub's `lastEventID` where the API adds it.
    fn document<'a>(
        &'a self,
        active: bool,
        alone: bool,
        last_event_id: Option<&'a str>,
    ) -> Document<'a> {
        Document {
            context: alone.then_some(CONTEXT),
            id: self.id(),
            kind: "Subscription",
            topic: self.topic(),
            subscriber: self.subscriber(),
            active,
            payload: self.payload(),
            last_event_id,
        }
    }

    /// What a presence store keeps of it: JSON of its selector, subscriber
    /// and payload.
    pub(crate) fn to_stored(&self) -> String {
        let stored = Stored {
            topic: self.topic().into(),
            subscriber: self.subscriber().into(),
            payload: self.payload().cloned(),
        };
        serde_json::to_string(&stored).expect("a string-keyed document serializes")
    }

    /// Reads back what [`to_stored`](ActiveSubscription::to_stored) wrote.
    pub(crate) fn from_stored(stored: &[u8]) -> Result<Self, serde_json::Error> {
        let stored: Stored<'_> = serde_json::from_slice(stored)?;
        Ok(ActiveSubscription::new(
            stored.topic,
            stored.subscriber,
            stored.payload,
        ))
    }
}

impl std::fmt::Debug for ActiveSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveSubscription")
            .field("topic", &self.topic())
            .field("subscriber", &self.subscriber())
            .field("payload", &self.payload())
            .finish()
    }
}

/// A subscription's document (d07 "Subscription Events").
#[derive(Serialize)]
struct Document<'a> {
    #[serde(rename = "@context", skip_serializing_if = "Option::is_none")]
    context: Option<&'static str>,
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    topic: &'a str,
    subscriber: &'a str,
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a Value>,
    #[serde(rename = "lastEventID", skip_serializing_if = "Option::is_none")]
    last_event_id: Option<&'a str>,
}

#[derive(Serialize, Deserialize)]
struct Stored<'a> {
    #[serde(borrow)]
    topic: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    subscriber: std::borrow::Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    payload: Option<Value>,
}

/// Appends `value` expanded as RFC 6570 expands a simple string variable:
/// the unreserved characters as they are, every other byte of its UTF-8
/// percent-encoded.
fn expand(out: &mut String, value: &str) {
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

/// A path segment percent-decoded, `None` if an escape is broken or the
/// bytes are not UTF-8 (a `+` is a plus sign, as in any path).
fn decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = bytes.get(at + 1..at + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// An ID for a subscription event: `urn:uuid:` and a random UUID, as the
/// hub gives an update without one.
fn new_id() -> EventId {
    EventId::try_from(format!("urn:uuid:{}", uuid::Uuid::new_v4()))
        .expect("a UUID URN is a valid event id")
}

impl<P: Provider> Hub<P> {
    /// Tracks the subscriptions of a subscriber's response, if the hub
    /// tracks any and the response opened a stream (not `HEAD`, not a
    /// stream that ends at once): records them, publishes their start, and
    /// wraps the body so that its end removes them and publishes that.
    pub(crate) fn track(
        &self,
        response: Response<Body>,
        selectors: &[String],
        claims: &Claims,
    ) -> Response<AxumBody> {
        let presence = match &self.inner.presence {
            Some(presence) if response.headers().contains_key(RESUME_HEADER) => presence,
            _ => return response.map(AxumBody::new),
        };
        let subscriber = format!("urn:uuid:{}", uuid::Uuid::new_v4());
        let payload = claims.payload().cloned().map(Arc::new);
        let mut seen = HashSet::with_capacity(selectors.len());
        let subscriptions: Arc<[ActiveSubscription]> = selectors
            .iter()
            .filter(|selector| seen.insert(selector.as_str()))
            .map(|selector| {
                ActiveSubscription::shared(selector.clone(), subscriber.clone(), payload.clone())
            })
            .collect();
        let runtime = Handle::current();
        let recorded = presence.insert(&subscriptions);
        let start = {
            let (hub, subscriptions) = (self.clone(), Arc::clone(&subscriptions));
            self.inner.announcements.spawn_on(
                async move {
                    // Recorded first: a client that sees the event finds the
                    // subscription in the API, on any node.
                    recorded.await;
                    hub.announce(&subscriptions, true).await;
                },
                &runtime,
            )
        };
        let tracked = Tracked {
            hub: self.clone(),
            subscriptions,
            start: Some(start),
            runtime,
        };
        response.map(|body| {
            AxumBody::new(TrackedBody {
                body,
                _tracked: tracked,
            })
        })
    }

    /// Publishes the event of each of `subscriptions`, started (`active`)
    /// or ended (rows G1-G3): private, on the subscription's IRI, its
    /// document as data.
    pub(crate) async fn announce(&self, subscriptions: &[ActiveSubscription], active: bool) {
        for subscription in subscriptions {
            let document = subscription.document(active, true, None);
            let data = serde_json::to_string(&document).expect("a document serializes");
            let message = Message::new().id(new_id()).data(data);
            let routing = Routing::new([Topic::from(subscription.id())]).private(true);
            let published = self
                .inner
                .server
                .provider()
                .publish_routed(message, routing)
                .await;
            if let Err(error) = published {
                tracing::warn!(
                    error = &error as &dyn std::error::Error,
                    subscription = subscription.id(),
                    active,
                    "the subscription event was not published"
                );
            }
        }
    }

    /// Hands `presence` the way to announce subscriptions it finds started
    /// or ended elsewhere (a node that died); it holds the hub weakly, so
    /// that the hub and its presence still go when the last handle does.
    pub(crate) fn attach_presence(&self) {
        let Some(presence) = &self.inner.presence else {
            return;
        };
        let hub = Arc::downgrade(&self.inner);
        presence.attach(Announcer::new(move |subscriptions, active| {
            let (Some(inner), Ok(runtime)) = (hub.upgrade(), Handle::try_current()) else {
                return;
            };
            let hub = Hub { inner };
            let tasks = hub.inner.announcements.clone();
            tasks.spawn_on(
                async move { hub.announce(&subscriptions, active).await },
                &runtime,
            );
        }));
    }
}

/// A subscriber's subscriptions while its stream is open; dropped with the
/// stream's body, whatever ended it.
struct Tracked<P: Provider> {
    hub: Hub<P>,
    subscriptions: Arc<[ActiveSubscription]>,
    start: Option<JoinHandle<()>>,
    runtime: Handle,
}

impl<P: Provider> Drop for Tracked<P> {
    fn drop(&mut self) {
        let Some(presence) = &self.hub.inner.presence else {
            return;
        };
        let removed = presence.remove(&self.subscriptions);
        let (hub, subscriptions, start) = (
            self.hub.clone(),
            Arc::clone(&self.subscriptions),
            self.start.take(),
        );
        // Never wait here: hyper drops the body on its connection's task.
        self.hub.inner.announcements.spawn_on(
            async move {
                // The start first, for a stream that ended before it was out.
                if let Some(start) = start {
                    let _ = start.await;
                }
                removed.await;
                hub.announce(&subscriptions, false).await;
            },
            &self.runtime,
        );
    }
}

/// A subscriber's response body, as the server made it, with its
/// subscriptions.
struct TrackedBody<P: Provider> {
    body: Body,
    /// Held for its `Drop`, which ends the subscriptions.
    _tracked: Tracked<P>,
}

impl<P: Provider> http_body::Body for TrackedBody<P> {
    type Data = Bytes;
    type Error = sse_server::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, sse_server::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g2_the_topic_and_the_subscriber_are_expanded_as_rfc_6570_does() {
        let subscription = ActiveSubscription::new(
            "https://example.com/{selector}",
            "urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6",
            None,
        );
        // The draft's example.
        assert_eq!(
            subscription.id(),
            "/.well-known/mercure/subscriptions/https%3A%2F%2Fexample.com%2F%7Bselector%7D/\
             urn%3Auuid%3Abb3de268-05b0-4c65-b44e-8f9acefc29d6"
        );
        let odd = ActiveSubscription::new("a b+c*é~_.-", "s", None);
        assert_eq!(
            odd.id(),
            "/.well-known/mercure/subscriptions/a%20b%2Bc%2A%C3%A9~_.-/s"
        );
        assert_eq!(
            decode("a%20b%2Bc%2A%C3%A9~_.-").as_deref(),
            Some("a b+c*é~_.-")
        );
    }

    #[test]
    fn g5_broken_escapes_and_bytes_that_are_not_utf8_do_not_decode() {
        assert_eq!(decode("a+b").as_deref(), Some("a+b"));
        assert_eq!(decode("%2f%2F").as_deref(), Some("//"));
        for broken in ["%", "%2", "%zz", "a%G0", "%FF"] {
            assert_eq!(decode(broken), None, "{broken}");
        }
    }

    #[test]
    fn g3_the_document_has_the_drafts_properties() {
        let subscription = ActiveSubscription::new(
            "https://example.com/{selector}",
            "urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6",
            Some(serde_json::json!({"foo": "bar"})),
        );
        let document = serde_json::to_value(subscription.document(true, true, None)).unwrap();
        assert_eq!(
            document,
            serde_json::json!({
                "@context": "https://mercure.rocks/",
                "id": subscription.id(),
                "type": "Subscription",
                "topic": "https://example.com/{selector}",
                "subscriber": "urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6",
                "active": true,
                "payload": {"foo": "bar"},
            })
        );
        let bare = ActiveSubscription::new("t", "s", None);
        let document = serde_json::to_value(bare.document(false, false, Some("earliest"))).unwrap();
        assert_eq!(
            document,
            serde_json::json!({
                "id": "/.well-known/mercure/subscriptions/t/s",
                "type": "Subscription",
                "topic": "t",
                "subscriber": "s",
                "active": false,
                "lastEventID": "earliest",
            })
        );
    }

    #[test]
    fn a_stored_subscription_reads_back_the_same() {
        for payload in [None, Some(serde_json::json!({"a": [1, "é"]}))] {
            let subscription = ActiveSubscription::new("/books/{id}", "urn:uuid:1", payload);
            let stored = subscription.to_stored();
            assert_eq!(
                ActiveSubscription::from_stored(stored.as_bytes()).unwrap(),
                subscription
            );
        }
        assert!(ActiveSubscription::from_stored(b"{}").is_err());
    }
}
