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
use http::{HeaderName, HeaderValue, Method, Response, StatusCode, request::Parts};
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

/// How a handler answers one request with
/// [`Server::respond_with`](crate::Server::respond_with): the subscription
/// it chose (topics, a filter, every topic), and options of its own.
///
/// Where the stream starts is the server's to read from the request (its
/// `Last-Event-ID`), as for any request: the subscription's own start is
/// not used.
///
/// # Examples
///
/// ```
/// use sse_codec::{Subscription, Topic};
/// use sse_server::Session;
/// use std::time::{Duration, Instant};
///
/// let session = Session::new(Subscription::new([Topic::from("news")]))
///     // The client's token expires in an hour: so does its stream.
///     .until(Instant::now() + Duration::from_secs(3600))
///     .position_header(sse_server::http::HeaderName::from_static("last-event-id"));
/// # drop(session);
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct Session {
    subscription: Subscription,
    until: Option<std::time::Instant>,
    position_header: Option<HeaderName>,
}

impl Session {
    /// A session subscribed as `subscription` (its start aside).
    pub fn new(subscription: Subscription) -> Session {
        Session {
            subscription,
            until: None,
            position_header: None,
        }
    }

    /// Ends the stream cleanly at `deadline` (a token's expiry, say), after
    /// what was sent before; a client that reconnects is asked again.
    pub fn until(mut self, deadline: std::time::Instant) -> Session {
        self.until = Some(deadline);
        self
    }

    /// Also sends, in the response header `name`, where the stream of a
    /// client that sent a last event ID starts: the ID of the last event
    /// before the first one it sends (the ID it resumed after), or
    /// [`EARLIEST`] when it starts with the oldest event retained (asked
    /// with `earliest`, or after a lost resume, where the server gives the
    /// history then; without that, the newest retained). Absent for a
    /// client that sent no ID (the newest ID may be one of an update it may
    /// not see), and when the place has no ID. A Mercure hub sends it as
    /// `Last-Event-ID`.
    pub fn position_header(mut self, name: HeaderName) -> Session {
        self.position_header = Some(name);
        self
    }
}

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
        self.open(Session::new(Subscription::new(topics)), start)
            .await
    }

    /// Answers a request with the session its handler chose: no hook.
    pub(crate) async fn respond_with(
        self: Arc<Self>,
        parts: Parts,
        session: Session,
    ) -> Response<Body> {
        match head_only(&parts) {
            Err(response) => response,
            Ok(_) if self.shutdown.is_fired() => self.ended(),
            Ok(true) => headers::event_stream(Body::empty()),
            Ok(false) => {
                let start = self.start(&parts);
                self.open(session, start).await
            }
        }
    }

    /// Subscribes as `session` says from `start` and streams the
    /// subscription.
    async fn open(&self, session: Session, start: Start) -> Response<Body> {
        let (selection, _) = session.subscription.split_start();
        // A lost resume gets the history, where the server gives it on
        // request: subscribed again, from the earliest.
        let again = (self.history.honours_earliest() && matches!(start, Start::After(_)))
            .then(|| selection.clone());
        let mut subscribed = match self.subscribe(selection.starting(start)).await {
            Ok(subscribed) => subscribed,
            Err(response) => return response,
        };
        let resume = subscribed.resume;
        // Where the client resumes from if it reconnects after the lost
        // signal: after the newest event retained when it came; or, where
        // the retained history follows the signal, from the earliest,
        // which gives it that history again (each replayed event then
        // moves the client's ID on), and tells it no ID it may not see.
        let mut signal_id = subscribed.position.clone();
        if let (Resume::Lost, Some(selection)) = (resume, again) {
            drop(subscribed);
            subscribed = match self.subscribe(selection.from_earliest()).await {
                Ok(subscribed) => subscribed,
                Err(response) => return response,
            };
            if subscribed.resume == Resume::Earliest {
                signal_id = Some(EventId::from_static(EARLIEST));
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
        let position = match (resume, subscribed.resume) {
            (Resume::Fresh, _) => None,
            (_, Resume::Earliest) => Some(EventId::from_static(EARLIEST)),
            _ => subscribed.position.clone(),
        };
        let stream = EndOnError {
            stream: subscribed.stream,
        };
        let listener = Listener::new(self.shutdown.clone());
        let mut body = EventBody::new(stream, self.config, Some(listener))
            .counted(&self.open_streams)
            .until(session.until.map(tokio::time::Instant::from_std));
        if let (Resume::Lost, Some(lost)) = (resume, &self.lost_history) {
            let mut lost = lost.clone();
            if signal_id.is_some() {
                lost.set_id(signal_id);
            }
            body = body.lead_with(lost.to_bytes());
        }
        let body = Body::events(body);
        let mut response = headers::event_stream(body);
        let response_headers = response.headers_mut();
        if let Some(header) = header {
            response_headers.insert(headers::RESUME_HEADER, HeaderValue::from_static(header));
        }
        if let (Some(name), Some(position)) = (session.position_header, position) {
            // As the ID's UTF-8 bytes (an IRI may hold non-ASCII), as a
            // browser sends `Last-Event-ID`; an event ID holds no CR, LF
            // or NUL, and one with another control character is left out.
            if let Ok(value) = HeaderValue::from_bytes(position.as_str().as_bytes()) {
                response_headers.insert(name, value);
            }
        }
        response
    }

    /// The provider's subscription, or the answer when there is none.
    async fn subscribe(
        &self,
        subscription: Subscription,
    ) -> Result<Subscribed<P::Stream>, Response<Body>> {
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
    /// [`EARLIEST`] where the server gives the history on request, for a
    /// client without an ID where it gives it to new clients (otherwise
    /// `earliest` is an ID like any other), or now.
    fn start(&self, parts: &Parts) -> Start {
        match self.last_event_id(parts) {
            Some(id) if id == EARLIEST && self.history.honours_earliest() => Start::Earliest,
            Some(id) => Start::After(id),
            None if self.history.for_new_clients() => Start::Earliest,
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
