//! Processing the response (a step of the spec's "reestablish the
//! connection"): 200 with an event stream opens, 204 closes, anything else
//! fails the attempt, retried or not. What a response says is read with
//! the helpers of [`crate::response`].

use super::{Connection, state::State};
use crate::{
    Error, Open, Update,
    decode::Decoder,
    error::Refused,
    response::{BODY_EXCERPT_TIMEOUT, is_encoded, is_event_stream, read_excerpt, response_version},
    retry::parse_retry_after,
};
use bytes::Bytes;
use reqwest::{
    Response, StatusCode,
    header::{HeaderMap, RETRY_AFTER},
};

impl Connection {
    /// The response decides: open, close, retry or fail ("processing the
    /// response" of the spec's "reestablish the connection").
    pub(super) fn on_response(&mut self, response: Response) -> Option<Result<Update, Error>> {
        let status = response.status();
        let config = &self.config;
        if status == StatusCode::OK
            && (!config.require_event_stream || is_event_stream(response.headers()))
        {
            if is_encoded(response.headers()) {
                let refused = Refused {
                    status,
                    headers: response.headers().clone(),
                    body: Bytes::new(),
                    retried: false,
                };
                return self.fail(Some(Error::content_encoding(refused)), false, None);
            }
            // "Announce the connection."
            self.reconnect.opened();
            if let Some(idle) = &mut self.idle {
                idle.touch();
            }
            let open = Open {
                status,
                version: response_version(&response),
                headers: response.headers().clone(),
            };
            let decoder = Decoder::new(
                self.settings.max_event_size,
                self.last_event_id.clone(),
                self.settings.comments,
            );
            self.state = State::Streaming {
                body: Box::pin(response.bytes_stream()),
                decoder: Box::new(decoder),
            };
            return Some(Ok(Update::Open(open)));
        }
        self.idle = None;
        if status == StatusCode::NO_CONTENT {
            // "Clients will reconnect if the connection is closed; a client
            // can be told to stop reconnecting using the HTTP 204 No Content
            // response code."
            self.state = State::Done;
            return Some(Ok(Update::Closed));
        }
        // Anything else fails the connection; read what the server said.
        let headers = response.headers().clone();
        let limit = match self.settings.idle_timeout {
            Some(idle) => idle.min(BODY_EXCERPT_TIMEOUT),
            None => BODY_EXCERPT_TIMEOUT,
        };
        self.state = State::Refusing {
            excerpt: Box::pin(read_excerpt(response, limit)),
            status,
            headers,
        };
        None
    }

    pub(super) fn on_refused(
        &mut self,
        status: StatusCode,
        headers: HeaderMap,
        body: Bytes,
    ) -> Option<Result<Update, Error>> {
        let config = &self.config;
        let retry = (status.is_server_error() && config.retry_server_errors)
            || (status == StatusCode::TOO_MANY_REQUESTS && config.retry_too_many_requests);
        let retry_after = headers
            .get(RETRY_AFTER)
            .and_then(|value| parse_retry_after(value.as_bytes(), crate::time::system_now()));
        let error = Error::refused(Refused {
            status,
            headers,
            body,
            retried: retry,
        });
        self.fail(Some(error), retry, retry_after)
    }
}
