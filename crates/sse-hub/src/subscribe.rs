//! `GET` on the hub: a subscription to the topics its selectors match,
//! with the private updates its token grants (d07 "Subscription"; rows
//! C1-C7, E1-E3, F1-F6, A8, A10).

use crate::{
    Hub,
    auth::{AuthError, Claims, extract_token},
    hub::{bad, refused},
    selector::{Selector, SelectorCache},
};
use axum::{extract::Request, response::Response};
use sse_codec::{Filter, Provider, Routing, Subscription, Topic};
use sse_server::{
    Session,
    http::{HeaderName, HeaderValue, StatusCode, header},
};
use std::{
    collections::HashSet,
    sync::{Arc, Mutex, PoisonError},
    time::{Instant, SystemTime},
};

/// Row F6: where the stream starts, for a subscriber that sent a cursor.
const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// Row A10: what the reference hub answers, so that no cache keeps a
/// stream.
const NO_STORE: &str = "private, no-cache, no-store, must-revalidate, max-age=0";

impl<P: Provider> Hub<P> {
    /// Subscribes the request's selectors, or says why not.
    pub(crate) async fn subscribe(&self, request: Request) -> Response {
        let inner = &*self.inner;
        let (parts, body) = request.into_parts();
        let claims = match extract_token(&parts, &inner.config.cookie_name) {
            Ok(Some(token)) => match inner.keys.subscriber().verify(token.as_str()) {
                Ok(claims) => claims,
                Err(error) => return refused("subscription", &error),
            },
            Ok(None) if inner.config.anonymous => Claims::default(),
            Ok(None) => return refused("subscription", &AuthError::NoToken),
            Err(error) => return refused("subscription", &error),
        };
        let selectors: Vec<String> = parts
            .uri
            .query()
            .map(|query| {
                form_urlencoded::parse(query.as_bytes())
                    .filter(|(name, _)| name == "topic")
                    .map(|(_, value)| value.into_owned())
                    .collect()
            })
            .unwrap_or_default();
        if selectors.is_empty() {
            return bad(
                StatusCode::BAD_REQUEST,
                "subscription",
                "a subscription needs at least one topic parameter (row C1)",
            );
        }
        if selectors.len() > inner.config.max_selectors {
            return bad(
                StatusCode::BAD_REQUEST,
                "subscription",
                format_args!(
                    "a subscription has at most {} topic parameters",
                    inner.config.max_selectors
                ),
            );
        }
        let compiled = match compile(
            &selectors,
            &inner.selectors,
            inner.config.max_template_bytes,
        ) {
            Ok(compiled) => compiled,
            Err(reason) => return bad(StatusCode::BAD_REQUEST, "subscription", reason),
        };
        let subscription = subscription(&selectors, compiled, &claims, &inner.selectors);
        let mut session = Session::new(subscription).position_header(LAST_EVENT_ID);
        // Row A8: the stream ends when the token does. A token past its
        // `exp` but within the clock leeway is refused here: its stream
        // would end at once, and the client would reconnect in a loop.
        if let Some(at) = claims.expires_at() {
            let now = SystemTime::now();
            let Ok(left) = at.duration_since(now) else {
                return refused("subscription", &AuthError::Expired { at, now });
            };
            session = session.until(Instant::now() + left);
        }
        metrics::counter!("sse_hub_subscriptions_total").increment(1);
        let request = Request::from_parts(parts, body);
        let mut response = inner.server.respond_with(request, session).await;
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
        // Rows G1-G4: its subscriptions' start now, their end with the body.
        self.track(response, &selectors, &claims)
    }
}

/// The selectors, compiled (through `cache`) one after the other until
/// their distinct templates would hold more than `max_bytes`: then why the
/// subscription is refused, with no more compiled.
fn compile(
    selectors: &[String],
    cache: &SelectorCache,
    max_bytes: usize,
) -> Result<Vec<Arc<Selector>>, String> {
    let mut seen = HashSet::new();
    let mut held = 0usize;
    let mut compiled = Vec::with_capacity(selectors.len());
    for raw in selectors {
        let selector = cache.selector(raw);
        if seen.insert(raw.as_str()) {
            held = held.saturating_add(selector.heap_bytes());
            if held > max_bytes {
                return Err(format!(
                    "the subscription's URI templates would hold more than {max_bytes} bytes \
                     compiled: subscribe with fewer or simpler templates"
                ));
            }
        }
        compiled.push(selector);
    }
    Ok(compiled)
}

/// What a subscriber gets (rows C2, C6, C7, E1, E2): the updates whose
/// topics its selectors match, each once, private ones only where its
/// token's `mercure.subscribe` grants match one of the update's topics.
///
/// Exact selectors alone subscribe to their topics (the provider reads
/// their logs only); `*` or a URI template considers every topic, asking
/// the selectors. Without grants, no filter at all: public updates of the
/// topics, as any subscriber gets.
fn subscription(
    selectors: &[String],
    compiled: Vec<Arc<Selector>>,
    claims: &Claims,
    cache: &SelectorCache,
) -> Subscription {
    let exact = compiled.iter().all(|s| !s.is_every() && !s.is_template());
    let grants: Vec<Arc<Selector>> = claims
        .subscribe()
        .iter()
        .map(|grant| cache.selector(grant))
        .collect();
    if exact {
        let topics = selectors.iter().map(|s| Topic::from(s.as_str()));
        let subscription = Subscription::new(topics);
        if grants.is_empty() {
            return subscription;
        }
        let cache = cache.clone();
        return subscription.filter(Filter::new(move |routing: &Routing| {
            !routing.is_private() || cache.matches_any(&grants, routing.topics())
        }));
    }
    let cache = cache.clone();
    // Updates to one topic come in runs: the last topics and whether they
    // matched are kept, so that a run costs one comparison per update
    // rather than a look in the shared cache. Only this subscriber's
    // stream calls its filter, so the lock is never contended.
    let last: Mutex<(Vec<Topic>, bool)> = Mutex::new((Vec::new(), false));
    Subscription::new([])
        .every_topic()
        .filter(Filter::new(move |routing: &Routing| {
            let topics = routing.topics();
            let selected = {
                let mut last = last.lock().unwrap_or_else(PoisonError::into_inner);
                if last.0 != topics {
                    *last = (topics.to_vec(), cache.matches_any(&compiled, topics));
                }
                last.1
            };
            selected && (!routing.is_private() || cache.matches_any(&grants, topics))
        }))
}
