//! One request: its last event ID, the session hook, the subscription, the
//! response.

use crate::{
    Body,
    chunk::{Chunk, Item, Step},
    events::EventBody,
    headers::{self, EARLIEST},
    query,
    server::Inner,
    shutdown::Listener,
};
use futures_core::Stream;
use http::{HeaderValue, Method, Response, StatusCode, request::Parts};
use pin_project_lite::pin_project;
use sse_codec::{
    Encoded, EventId, Message, Provider, ProviderError, Resume, Start, Subscribed, Subscription,
    Topic,
};
use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

impl<P: Provider> Inner<P> {
    /// Answers a request to the service: the session hook chooses the
    /// topics.
    pub(crate) async fn respond(self: Arc<Self>, parts: Parts) -> Response<Body> {
        let head_only = match head_only(&parts) {
            Ok(head_only) => head_only,
            Err(response) => return response,
        };
        if self.shutdown.is_fired() {
            return self.ended();
        }
        let start = self.start(&parts);
        let topics = match &self.on_session {
            Some(hook) => match hook(parts).await {
                Ok(topics) => topics,
                Err(refusal) => return refusal.into_response(),
            },
            None => vec![Topic::DEFAULT],
        };
        if head_only {
            return headers::event_stream(Body::empty());
        }
        self.open(topics, start).await
    }

    /// Answers a request whose topics the caller chose: no hook.
    pub(crate) async fn respond_with(
        self: Arc<Self>,
        parts: Parts,
        topics: Vec<Topic>,
    ) -> Response<Body> {
        match head_only(&parts) {
            Err(response) => response,
            Ok(_) if self.shutdown.is_fired() => self.ended(),
            Ok(true) => headers::event_stream(Body::empty()),
            Ok(false) => {
                let start = self.start(&parts);
                self.open(topics, start).await
            }
        }
    }

    /// Subscribes to `topics` from `start` and streams the subscription.
    async fn open(&self, topics: Vec<Topic>, start: Start) -> Response<Body> {
        // A lost resume gets the history a new client gets, when new
        // clients get it: subscribed again, from the earliest.
        let again = (self.history_for_new_clients && matches!(start, Start::After(_)))
            .then(|| topics.clone());
        let mut subscribed = match self.subscribe(topics, start).await {
            Ok(subscribed) => subscribed,
            Err(response) => return response,
        };
        let resume = subscribed.resume;
        // Where the client resumes from if it reconnects after the lost
        // signal: after the newest event retained when it came, or, with
        // none retained, from the earliest, which then holds just what
        // was published since. Replayed events after the signal carry
        // their own IDs.
        let mut signal_id = subscribed.position.take();
        if let (Resume::Lost, Some(topics)) = (resume, again) {
            drop(subscribed);
            subscribed = match self.subscribe(topics, Start::Earliest).await {
                Ok(subscribed) => subscribed,
                Err(response) => return response,
            };
            if subscribed.resume == Resume::Earliest {
                signal_id = signal_id.or(Some(EventId::from_static(EARLIEST)));
            }
        }
        // The server may have shut down while the hook or the subscription
        // was awaited: answer as any later request is answered.
        if self.shutdown.is_fired() {
            return self.ended();
        }
        let header = match resume {
            Resume::Fresh => Some(headers::FRESH),
            Resume::Exact => Some(headers::EXACT),
            Resume::Lost => Some(headers::LOST),
            Resume::Earliest => Some(EARLIEST),
            _ => None,
        };
        let stream = EndOnError {
            stream: subscribed.stream,
        };
        let listener = Listener::new(self.shutdown.clone());
        let mut body =
            EventBody::new(stream, self.config, Some(listener)).counted(&self.open_streams);
        if let (Resume::Lost, Some(lost)) = (resume, &self.lost_history) {
            let mut lost = lost.clone();
            if signal_id.is_some() {
                lost.set_id(signal_id);
            }
            body = body.lead_with(lost.to_bytes());
        }
        let body = Body::events(body);
        let mut response = headers::event_stream(body);
        if let Some(header) = header {
            response
                .headers_mut()
                .insert(headers::RESUME_HEADER, HeaderValue::from_static(header));
        }
        response
    }

    /// The provider's subscription, or the answer when there is none.
    async fn subscribe(
        &self,
        topics: Vec<Topic>,
        start: Start,
    ) -> Result<Subscribed<P::Stream>, Response<Body>> {
        let subscription = Subscription::new(topics).starting(start);
        match self.provider.subscribe(subscription).await {
            Ok(subscribed) => Ok(subscribed),
            Err(error) if error.is_shutdown() => {
                tracing::debug!("the provider was shut down: ending the stream at once");
                Err(self.ended())
            }
            Err(error) => {
                tracing::warn!(error = &error as &dyn std::error::Error, "cannot subscribe");
                Err(self.ended())
            }
        }
    }

    /// Where the client's stream starts: after its last event ID (from the
    /// header, or the query parameter if configured), at the earliest for
    /// [`EARLIEST`] or a client without an ID when the server gives new
    /// clients the history (otherwise `earliest` is an ID like any other),
    /// or now.
    fn start(&self, parts: &Parts) -> Start {
        match self.last_event_id(parts) {
            Some(id) if id == EARLIEST && self.history_for_new_clients => Start::Earliest,
            Some(id) => Start::After(id),
            None if self.history_for_new_clients => Start::Earliest,
            None => Start::Now,
        }
    }

    fn last_event_id(&self, parts: &Parts) -> Option<EventId> {
        // An empty header is no ID (a client sends none then), so the query
        // parameter may still give one.
        if let Some(value) = parts
            .headers
            .get(headers::LAST_EVENT_ID)
            .filter(|value| !value.is_empty())
        {
            // Browsers send the ID as UTF-8, which `HeaderValue::to_str`
            // (visible ASCII only) would reject. Invalid UTF-8 becomes
            // U+FFFD: an ID no provider knows, so the resume is reported
            // lost rather than silently fresh.
            return usable_id(&String::from_utf8_lossy(value.as_bytes()));
        }
        let name = self.last_event_id_query.as_deref()?;
        let query = parts.uri.query()?;
        query::param(query, name).and_then(|id| usable_id(&id))
    }

    /// The answer when no subscription can be served: a stream that ends at
    /// once, after the `retry:` field if configured, so that clients
    /// reconnect.
    fn ended(&self) -> Response<Body> {
        let body = match self.config.retry {
            Some(retry) => Body::from(Message::new().retry(retry).to_bytes()),
            None => Body::empty(),
        };
        headers::event_stream(body)
    }
}

/// The client's ID as an [`EventId`], `None` if empty. A NUL, CR or LF
/// (possible only in a percent-encoded query) becomes U+FFFD, like invalid
/// UTF-8: the client was resuming, from an ID no provider knows, so it is
/// told its history was lost rather than served as a fresh client.
fn usable_id(id: &str) -> Option<EventId> {
    if id.is_empty() {
        return None;
    }
    if let Ok(id) = EventId::try_from(id) {
        return Some(id);
    }
    let replaced: String = id
        .chars()
        .map(|c| match c {
            '\0' | '\r' | '\n' => char::REPLACEMENT_CHARACTER,
            c => c,
        })
        .collect();
    EventId::try_from(replaced).ok()
}

/// Whether the request asks for the headers only (`HEAD`), or the answer
/// to a method the endpoint does not serve.
fn head_only(parts: &Parts) -> Result<bool, Response<Body>> {
    match parts.method {
        Method::GET | Method::POST => Ok(false),
        Method::HEAD => Ok(true),
        _ => Err(method_not_allowed()),
    }
}

fn method_not_allowed() -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response.headers_mut().insert(
        http::header::ALLOW,
        HeaderValue::from_static("GET, HEAD, POST"),
    );
    response
}

pin_project! {
    /// A provider's subscriber stream, whose error ends the body cleanly:
    /// the client reconnects and resumes, which is the contract's remedy.
    struct EndOnError<S> {
        #[pin]
        stream: S,
    }
}

impl<S, E> Stream for EndOnError<S>
where
    S: Stream<Item = Result<Encoded, E>>,
    E: std::error::Error + 'static,
{
    type Item = ProviderItem<E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ProviderItem<E>>> {
        self.project()
            .stream
            .poll_next(cx)
            .map(|item| item.map(ProviderItem))
    }
}

/// An item of a provider's stream.
struct ProviderItem<E>(Result<Encoded, E>);

impl<E: std::error::Error + 'static> Item for ProviderItem<E> {
    fn add_to(self, chunk: &mut Chunk) -> Step {
        match self.0 {
            Ok(frame) => frame.add_to(chunk),
            Err(error) => {
                tracing::debug!(
                    error = &error as &dyn std::error::Error,
                    "provider ended a subscription"
                );
                Step::End
            }
        }
    }
}
