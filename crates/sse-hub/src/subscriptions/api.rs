//! The subscriptions web API (d07 "Subscription API", row G5).

use super::{ActiveSubscription, CONTEXT, decode};
use crate::{
    Hub,
    auth::{AuthError, can_subscribe, extract_token},
    hub::{bad, refused},
};
use axum::{
    Router,
    extract::Request,
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Serialize;
use sse_codec::{Provider, Subscription};
use sse_server::{
    EARLIEST,
    http::{HeaderValue, StatusCode, header},
};

/// The API's media type (row G5).
const JSON_LD: &str = "application/ld+json";

/// What the API serves: its answers change with every subscriber, and
/// hold the tokens' payloads.
const NO_STORE: &str = "private, no-store";

/// What a request asks for, from its path.
enum Wanted {
    /// Every active subscription.
    All,
    /// Those of one selector.
    Topic(String),
    /// One subscription.
    One { topic: String, subscriber: String },
}

/// A collection of subscriptions (d07 "Subscription API").
#[derive(Serialize)]
struct Collection<'a> {
    #[serde(rename = "@context")]
    context: &'static str,
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "lastEventID")]
    last_event_id: &'a str,
    subscriptions: Vec<super::Document<'a>>,
}

impl<P: Provider> Hub<P> {
    /// The API's routes under the hub's path, if the hub tracks
    /// subscriptions.
    pub(crate) fn subscriptions_router(&self) -> Option<Router> {
        self.inner.presence.as_ref()?;
        let base = format!("{}/subscriptions", self.inner.config.path);
        let handler = {
            let hub = self.clone();
            get(move |request: Request| {
                let hub = hub.clone();
                async move { hub.subscriptions(request).await }
            })
        };
        Some(
            Router::new()
                .route(&base, handler.clone())
                .route(&format!("{base}/{{*rest}}"), handler),
        )
    }

    /// Answers a request to the API, or says why not.
    async fn subscriptions(&self, request: Request) -> Response {
        let inner = &*self.inner;
        let Some(presence) = &inner.presence else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let (parts, _) = request.into_parts();
        // The path as sent: what the token's grants are matched against
        // and the collection's `id`.
        let path = parts.uri.path();
        let base = format!("{}/subscriptions", inner.config.path);
        let wanted = match wanted(path.strip_prefix(&base).unwrap_or_default()) {
            Ok(Some(wanted)) => wanted,
            Ok(None) => return StatusCode::NOT_FOUND.into_response(),
            Err(segment) => {
                return bad(
                    StatusCode::BAD_REQUEST,
                    "subscriptions",
                    format_args!("the path segment {segment:?} is not percent-encoded UTF-8"),
                );
            }
        };
        let claims = match extract_token(&parts, &inner.config.cookie_name) {
            Ok(Some(token)) => match inner.keys.subscriber().verify(token.as_str()) {
                Ok(claims) => claims,
                Err(error) => return refused("subscriptions", &error),
            },
            Ok(None) => return refused("subscriptions", &AuthError::NoToken),
            Err(error) => return refused("subscriptions", &error),
        };
        if let Err(error) = can_subscribe(&claims, path, &inner.selectors) {
            return refused("subscriptions", &error);
        }
        // The newest ID before the list: a client that subscribes from it
        // gets every change the list may have missed.
        let last_event_id = match inner
            .server
            .provider()
            .subscribe(Subscription::new([]))
            .await
        {
            Ok(subscribed) => subscribed
                .position
                .map_or_else(|| EARLIEST.to_owned(), |id| id.as_str().to_owned()),
            Err(error) => return unavailable(&error),
        };
        let mut subscriptions = match presence.list().await {
            Ok(subscriptions) => subscriptions,
            Err(error) => return unavailable(&error),
        };
        subscriptions.retain(|subscription| match &wanted {
            Wanted::All => true,
            Wanted::Topic(topic) => subscription.topic() == topic,
            Wanted::One { topic, subscriber } => {
                subscription.topic() == topic && subscription.subscriber() == subscriber
            }
        });
        subscriptions.sort_unstable_by(|a, b| a.id().cmp(b.id()));
        let body = match wanted {
            Wanted::One { .. } => match subscriptions.first() {
                Some(subscription) => {
                    serde_json::to_string(&subscription.document(true, true, Some(&last_event_id)))
                }
                None => return StatusCode::NOT_FOUND.into_response(),
            },
            Wanted::All | Wanted::Topic(_) => serde_json::to_string(&Collection {
                context: CONTEXT,
                id: path,
                kind: "Subscriptions",
                last_event_id: &last_event_id,
                subscriptions: subscriptions
                    .iter()
                    .map(|subscription: &ActiveSubscription| {
                        subscription.document(true, false, None)
                    })
                    .collect(),
            }),
        };
        let body = body.expect("a document serializes");
        let mut response = (StatusCode::OK, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_LD));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_STORE));
        if let Ok(link) =
            HeaderValue::from_str(&format!("<{}>; rel=\"mercure\"", inner.config.path))
        {
            headers.insert(header::LINK, link);
        }
        response
    }
}

/// What the path after `{path}/subscriptions` asks for: `None` for no
/// route of the API; the segment that does not decode as the error.
fn wanted(rest: &str) -> Result<Option<Wanted>, String> {
    if rest.is_empty() {
        return Ok(Some(Wanted::All));
    }
    let Some(rest) = rest.strip_prefix('/') else {
        return Ok(None);
    };
    let segments: Vec<&str> = rest.split('/').collect();
    if segments.iter().any(|segment| segment.is_empty()) {
        return Ok(None);
    }
    let decoded = |segment: &str| decode(segment).ok_or_else(|| segment.to_owned());
    Ok(match segments[..] {
        [topic] => Some(Wanted::Topic(decoded(topic)?)),
        [topic, subscriber] => Some(Wanted::One {
            topic: decoded(topic)?,
            subscriber: decoded(subscriber)?,
        }),
        _ => None,
    })
}

/// `503`: the provider or the store of subscriptions cannot answer now.
fn unavailable(error: &(dyn std::error::Error + 'static)) -> Response {
    tracing::warn!(error, "the active subscriptions could not be listed");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "the active subscriptions cannot be listed now\n",
    )
        .into_response()
}
