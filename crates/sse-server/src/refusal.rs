//! What a session hook answers instead of a stream.

use crate::Body;
use bytes::Bytes;
use http::{Response, StatusCode};
use std::fmt;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The response a [`Server`](crate::Server) sends instead of an event
/// stream when its [`on_session`](crate::Builder::on_session) hook refuses
/// a request (`401`, `403`, `404`, ...). No subscription is made.
///
/// Made from a status (with an empty body) or from any `http::Response`
/// whose body is an [`http_body::Body`] of [`Bytes`], so a framework's own
/// responses do: with axum, `Err(StatusCode::FORBIDDEN.into_response().into())`
/// or `Err((StatusCode::FORBIDDEN, "no").into_response().into())`.
///
/// # Examples
///
/// ```
/// use http::StatusCode;
/// use sse_server::Refusal;
///
/// let by_status = Refusal::from(StatusCode::UNAUTHORIZED);
/// let with_body = Refusal::from(
///     http::Response::builder()
///         .status(StatusCode::FORBIDDEN)
///         .body(String::from("not for you"))
///         .unwrap(),
/// );
/// assert_eq!(by_status.status(), 401);
/// assert_eq!(with_body.into_response().status(), 403);
/// ```
pub struct Refusal {
    response: Response<Body>,
}

impl Refusal {
    /// The status of the response.
    pub fn status(&self) -> StatusCode {
        self.response.status()
    }

    /// The response.
    pub fn into_response(self) -> Response<Body> {
        self.response
    }
}

impl From<StatusCode> for Refusal {
    fn from(status: StatusCode) -> Refusal {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = status;
        Refusal { response }
    }
}

impl<B> From<Response<B>> for Refusal
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    fn from(response: Response<B>) -> Refusal {
        Refusal {
            response: response.map(Body::new),
        }
    }
}

impl fmt::Debug for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Refusal")
            .field("status", &self.response.status())
            .field("headers", self.response.headers())
            .finish_non_exhaustive()
    }
}
