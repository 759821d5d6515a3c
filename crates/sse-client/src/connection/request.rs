//! The request a connection sends on every attempt: a clone while its body
//! can be cloned, else the request itself, once; with `Last-Event-ID` as
//! the spec says.

use crate::Error;
#[cfg(not(target_arch = "wasm32"))]
use reqwest::header::CACHE_CONTROL;
use reqwest::{
    Request,
    header::{ACCEPT, HeaderName, HeaderValue},
};
use sse_codec::EventId;

static LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// Takes the `Last-Event-ID` header off `request`, if it has one: the ID
/// to resume from, as if set with `resume_after`, or an error for a value
/// that is not one.
pub(super) fn take_last_event_id(request: &mut Request) -> Option<Result<EventId, Error>> {
    let header = request.headers_mut().remove(&LAST_EVENT_ID)?;
    match std::str::from_utf8(header.as_bytes())
        .ok()
        .and_then(|id| EventId::try_from(id).ok())
    {
        Some(id) => Some(Ok(id)),
        None => Some(Err(Error::last_event_id())),
    }
}

/// The request for the next attempt, with `Last-Event-ID` set as the
/// spec says: "If the EventSource object's last event ID string is not
/// the empty string, set `Last-Event-ID`". A request whose body cannot be
/// cloned is taken out of `request`, which is `None` from then on.
pub(super) fn next_request(
    request: &mut Option<Request>,
    last_event_id: &EventId,
) -> Result<Request, Error> {
    let mut request = match request.as_ref().and_then(Request::try_clone) {
        Some(clone) => clone,
        None => request.take().ok_or_else(Error::body_not_reusable)?,
    };
    let headers = request.headers_mut();
    if !headers.contains_key(ACCEPT) {
        headers.insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
    }
    // The spec fetches with cache mode "no-store", for which fetch adds
    // `Cache-Control: no-cache`. In the browser, fetch is told the mode
    // instead (`no_store`): a header of ours would make every cross-origin
    // request need a CORS preflight.
    #[cfg(not(target_arch = "wasm32"))]
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    if !last_event_id.is_empty() {
        // Without it the server would take the client for a new one,
        // and the events missed would go unnoticed: end instead.
        let value = header_value(last_event_id).ok_or_else(Error::last_event_id)?;
        headers.insert(LAST_EVENT_ID.clone(), value);
    }
    Ok(request)
}

/// The request with fetch's cache mode "no-store", as the spec's
/// EventSource fetches: no cached response, and none stored.
#[cfg(target_arch = "wasm32")]
pub(super) fn no_store(http: &reqwest::Client, request: Request) -> Result<Request, Error> {
    reqwest::RequestBuilder::from_parts(http.clone(), request)
        .fetch_cache_no_store()
        .build()
        .map_err(Error::reqwest)
}

/// `id` as a header value, if a header can carry it: an `EventId` has no
/// CR, LF or NUL, and other bytes are allowed (UTF-8 as obs-text), except
/// other control characters.
pub(super) fn header_value(id: &EventId) -> Option<HeaderValue> {
    HeaderValue::from_bytes(id.as_bytes()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Client;

    #[test]
    fn a_last_event_id_header_or_a_typed_id_seeds_the_connection() {
        let client = Client::new();
        let request = client
            .http()
            .get("http://127.0.0.1:9/events")
            .header("Last-Event-ID", "41");
        let mut connection = client.connect(request);
        assert_eq!(connection.last_event_id().as_str(), "41");
        let request = next_request(&mut connection.request, &connection.last_event_id).unwrap();
        assert_eq!(request.headers()["last-event-id"], "41");
        assert_eq!(request.headers()[ACCEPT], "text/event-stream");
        connection.last_event_id = EventId::default();
        let request = next_request(&mut connection.request, &connection.last_event_id).unwrap();
        assert!(request.headers().get("last-event-id").is_none());

        let mut typed = client
            .get("http://127.0.0.1:9/events")
            .resume_after(EventId::from_static("é7"));
        let request = next_request(&mut typed.request, &typed.last_event_id).unwrap();
        assert_eq!(
            request.headers()["last-event-id"].as_bytes(),
            "é7".as_bytes()
        );
    }

    #[test]
    fn an_id_a_header_cannot_carry_is_an_error() {
        let client = Client::new();
        let mut typed = client
            .get("http://127.0.0.1:9/events")
            .resume_after(EventId::try_from("a\u{1}b").unwrap());
        assert!(matches!(typed.pending.take(), Some(Err(err)) if err.is_last_event_id()));
        assert!(
            next_request(&mut typed.request, &typed.last_event_id)
                .unwrap_err()
                .is_last_event_id()
        );
        let raw = client.connect(
            client
                .http()
                .get("http://127.0.0.1:9/events")
                .header("Last-Event-ID", HeaderValue::from_bytes(b"\xff").unwrap()),
        );
        assert!(matches!(raw.pending, Some(Err(ref err)) if err.is_last_event_id()));
    }
}
