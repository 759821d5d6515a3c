//! `POST` to the hub: an update, authorized, checked, dispatched (d07
//! "Publication"; rows B1-B11, D1-D8).

use crate::{
    Hub, Update,
    auth::{TokenSource, can_publish, csrf_ok, extract_token},
    hub::{bad, refused},
};
use axum::{
    body::to_bytes,
    extract::Request,
    response::{IntoResponse, Response},
};
use sse_codec::{EventId, Provider, ProviderError};
use sse_server::http::{HeaderValue, StatusCode, header};

const FORM: &str = "application/x-www-form-urlencoded";

impl<P: Provider> Hub<P> {
    /// Publishes the update in `request`: `200` with its ID, or why not.
    pub(crate) async fn publish(&self, request: Request) -> Response {
        let inner = &*self.inner;
        let (parts, body) = request.into_parts();
        let token = match extract_token(&parts, &inner.config.cookie_name) {
            Ok(Some(token)) => token,
            Ok(None) => return refused("publish", &crate::auth::AuthError::NoToken),
            Err(error) => return refused("publish", &error),
        };
        let claims = match inner.keys.publisher().verify(token.as_str()) {
            Ok(claims) => claims,
            Err(error) => return refused("publish", &error),
        };
        // Row D8: a browser sends the cookie wherever the request comes
        // from; a header or query token it sends only when told to.
        if token.source() == TokenSource::Cookie
            && let Err(error) = csrf_ok(&parts, &inner.config.publish_origins)
        {
            return refused("publish", &error);
        }
        let is_form = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|media| media.trim().eq_ignore_ascii_case(FORM));
        if !is_form {
            return bad(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "publish",
                format_args!("an update is sent as {FORM} (row B1)"),
            );
        }
        let body = match to_bytes(body, inner.config.max_body).await {
            Ok(body) => body,
            Err(error) if is_too_long(&error) => {
                return bad(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "publish",
                    format_args!("the body is larger than {} bytes", inner.config.max_body),
                );
            }
            // The client went away or sent a broken body: nothing is
            // published, and what is said and counted is not "too large".
            Err(error) => {
                return bad(
                    StatusCode::BAD_REQUEST,
                    "publish",
                    format_args!("the body could not be read: {error}"),
                );
            }
        };
        let update = match Update::from_form(&body, inner.config.form) {
            Ok(update) => update,
            Err(error) => return bad(StatusCode::BAD_REQUEST, "publish", error),
        };
        // Row B9: every topic granted, or nothing is dispatched.
        if let Err(error) = can_publish(&claims, &update.topics, &inner.selectors) {
            return refused("publish", &error);
        }
        let id = update.id.clone().unwrap_or_else(new_id);
        let message = update.message(id.clone());
        let started = std::time::Instant::now();
        let published = inner
            .server
            .provider()
            .publish_routed(message, update.routing())
            .await;
        // The provider's part of a publish: Joe's lock, or Redis's round
        // trip.
        metrics::histogram!("sse_hub_publish_seconds").record(started.elapsed());
        match published {
            Ok(()) => {
                tracing::debug!(id = id.as_str(), topics = ?update.topics, "published");
                let private = if update.private { "true" } else { "false" };
                metrics::counter!("sse_hub_updates_total", "private" => private).increment(1);
                let mut response = (StatusCode::OK, id.as_str().to_owned()).into_response();
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                response
            }
            Err(error) => {
                let status = if error.is_shutdown() {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::BAD_GATEWAY
                };
                tracing::warn!(error = &error as &dyn std::error::Error, "publish failed");
                metrics::counter!("sse_hub_publish_failures_total").increment(1);
                // The provider's error says whether the update may have
                // been stored (a broker that took it but did not answer in
                // time): the answer claims nothing it does not.
                (status, format!("publishing the update failed: {error}\n")).into_response()
            }
        }
    }
}

/// Whether reading a body failed for its length, rather than for the
/// connection or the body's encoding.
fn is_too_long(error: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = source {
        if error.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = error.source();
    }
    false
}

/// An ID for an update that came without one (row B4): `urn:uuid:` and a
/// random (v4) UUID.
fn new_id() -> EventId {
    let id = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    EventId::try_from(id).expect("a UUID URN is a valid event id")
}
