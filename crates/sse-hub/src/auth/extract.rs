use std::fmt;

use sse_server::http::header::{AUTHORIZATION, COOKIE, HOST, ORIGIN, REFERER};
use sse_server::http::request::Parts;
use sse_server::http::{HeaderValue, Uri};

use super::error::{AuthError, InvalidRequest};

/// The cookie a token is read from unless configured otherwise, the name
/// Symfony sets.
pub const DEFAULT_COOKIE_NAME: &str = "mercureAuthorization";

/// The query parameter a token is read from.
pub const QUERY_PARAMETER: &str = "authorization";

/// Where a request carried its token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenSource {
    /// An `Authorization: Bearer` header.
    Header,
    /// The `authorization` query parameter.
    Query,
    /// The authorization cookie: a publish authorized this way must pass
    /// [`csrf_ok`].
    Cookie,
}

/// A token found in a request, and where.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    value: String,
    source: TokenSource,
}

impl Token {
    /// A token found in `source`.
    pub fn new(value: impl Into<String>, source: TokenSource) -> Self {
        Self {
            value: value.into(),
            source,
        }
    }

    /// The token, for [`Verifier::verify`](super::Verifier::verify).
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// Where the request carried it.
    pub fn source(&self) -> TokenSource {
        self.source
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A token is a credential: it stays out of logs.
        f.debug_struct("Token")
            .field("source", &self.source)
            .field("len", &self.value.len())
            .finish_non_exhaustive()
    }
}

/// Finds the request's token in the precedence of draft 07: an
/// `Authorization: Bearer` header, else the `authorization` query
/// parameter, else the cookie `cookie_name`
/// ([`DEFAULT_COOKIE_NAME`] unless configured); `Ok(None)` when there is
/// none.
///
/// An `Authorization` header of another scheme (`Basic`, which a browser
/// sends by itself to a site behind a password) is not a token and does
/// not hide the query parameter or the cookie. Of several cookies of that
/// name the first non-empty one counts, as browsers send the one of the
/// longest path first. The token is not checked here: an empty one is
/// found, and [`Verifier::verify`](super::Verifier::verify) refuses it.
///
/// # Errors
///
/// [`AuthError::InvalidRequest`] when the request has two bearer headers
/// or two `authorization` query parameters: which one is meant is unclear.
///
/// # Examples
///
/// ```
/// use sse_hub::auth::{DEFAULT_COOKIE_NAME, TokenSource, extract_token};
/// use sse_server::http::Request;
///
/// let (parts, ()) = Request::get("/.well-known/mercure?topic=a&authorization=from.the.query")
///     .header("cookie", "mercureAuthorization=from.the.cookie")
///     .body(())?
///     .into_parts();
/// let token = extract_token(&parts, DEFAULT_COOKIE_NAME)?.expect("a token");
/// assert_eq!(token.source(), TokenSource::Query);
/// assert_eq!(token.as_str(), "from.the.query");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn extract_token(parts: &Parts, cookie_name: &str) -> Result<Option<Token>, AuthError> {
    if let Some(token) = from_header(parts)? {
        return Ok(Some(Token::new(token, TokenSource::Header)));
    }
    if let Some(token) = from_query(parts)? {
        return Ok(Some(Token::new(token, TokenSource::Query)));
    }
    Ok(from_cookie(parts, cookie_name).map(|token| Token::new(token, TokenSource::Cookie)))
}

fn from_header(parts: &Parts) -> Result<Option<String>, AuthError> {
    let mut found = None;
    for value in parts.headers.get_all(AUTHORIZATION) {
        let Some(token) = bearer(value) else {
            continue;
        };
        if found.is_some() {
            return Err(AuthError::InvalidRequest(
                InvalidRequest::SeveralBearerHeaders,
            ));
        }
        found = Some(token);
    }
    Ok(found)
}

/// The token of `Bearer <token>` (RFC 6750 2.1; the scheme's case aside,
/// RFC 9110 11.1), `None` for another scheme.
fn bearer(value: &HeaderValue) -> Option<String> {
    let value = value.as_bytes();
    let scheme_end = value
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(value.len());
    if !value[..scheme_end].eq_ignore_ascii_case(b"bearer") {
        return None;
    }
    let token = value[scheme_end..].trim_ascii();
    // A JWS is ASCII; anything else is kept as text so that verifying it
    // says it is not a JWS.
    Some(String::from_utf8_lossy(token).into_owned())
}

fn from_query(parts: &Parts) -> Result<Option<String>, AuthError> {
    let Some(query) = parts.uri.query() else {
        return Ok(None);
    };
    let mut found = None;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name != QUERY_PARAMETER {
            continue;
        }
        if found.is_some() {
            return Err(AuthError::InvalidRequest(
                InvalidRequest::SeveralQueryTokens,
            ));
        }
        found = Some(value.into_owned());
    }
    Ok(found)
}

fn from_cookie(parts: &Parts, cookie_name: &str) -> Option<String> {
    // HTTP/2 may split the cookies into several headers (RFC 9113 8.2.3).
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|header| header.as_bytes().split(|&b| b == b';'))
        .filter_map(|pair| {
            let pair = pair.trim_ascii();
            let equals = pair.iter().position(|&b| b == b'=')?;
            let (name, value) = (pair[..equals].trim_ascii(), pair[equals + 1..].trim_ascii());
            if name != cookie_name.as_bytes() {
                return None;
            }
            // RFC 6265 4.1.1: a cookie-value may be in double quotes.
            let value = value
                .strip_prefix(b"\"")
                .and_then(|v| v.strip_suffix(b"\""))
                .unwrap_or(value);
            (!value.is_empty()).then(|| String::from_utf8_lossy(value).into_owned())
        })
        .next()
}

/// Checks that a publish authorized by cookie comes from an allowed
/// origin (draft 07 section "Security considerations", row D8): its
/// `Origin` header, or else the origin of its `Referer`, must be one of
/// `allowed_origins` (`*` allows any; a trailing `/` and ASCII case do not
/// count) or the origin of the hub itself (the request's `Host`, or its
/// URI's authority in HTTP/2, default ports aside).
///
/// Browsers attach a cookie to requests that other sites make them send;
/// only these headers tell who made the page.
///
/// # Errors
///
/// [`AuthError::NoOrigin`] when the request has neither header;
/// [`AuthError::OriginRefused`] when its origin is not allowed (an
/// `Origin: null` is refused unless `null` or `*` is allowed).
///
/// # Examples
///
/// ```
/// use sse_hub::auth::{AuthError, csrf_ok};
/// use sse_server::http::Request;
///
/// let publish = |origin: &str| {
///     Request::post("https://hub.example.com/.well-known/mercure")
///         .header("origin", origin)
///         .body(())
///         .unwrap()
///         .into_parts()
///         .0
/// };
/// let allowed = ["https://app.example.com"];
/// assert_eq!(csrf_ok(&publish("https://app.example.com"), &allowed), Ok(()));
/// assert_eq!(csrf_ok(&publish("https://hub.example.com"), &allowed), Ok(()));
/// assert!(matches!(
///     csrf_ok(&publish("https://evil.example"), &allowed),
///     Err(AuthError::OriginRefused { .. })
/// ));
/// ```
pub fn csrf_ok<S: AsRef<str>>(parts: &Parts, allowed_origins: &[S]) -> Result<(), AuthError> {
    let origin = match parts.headers.get(ORIGIN).filter(|o| !o.is_empty()) {
        Some(origin) => String::from_utf8_lossy(origin.as_bytes()).into_owned(),
        None => match parts.headers.get(REFERER).filter(|r| !r.is_empty()) {
            Some(referer) => origin_of(referer)?,
            None => return Err(AuthError::NoOrigin),
        },
    };
    let wanted = origin.trim_end_matches('/');
    let listed = allowed_origins.iter().any(|allowed| {
        let allowed = allowed.as_ref().trim_end_matches('/');
        allowed == "*" || allowed.eq_ignore_ascii_case(wanted)
    });
    if listed || is_own_origin(parts, wanted) {
        return Ok(());
    }
    Err(AuthError::OriginRefused {
        origin: origin.chars().take(200).collect(),
    })
}

/// `scheme://authority` of a `Referer`.
fn origin_of(referer: &HeaderValue) -> Result<String, AuthError> {
    let refused = || AuthError::OriginRefused {
        origin: String::from_utf8_lossy(referer.as_bytes())
            .chars()
            .take(200)
            .collect(),
    };
    let uri = Uri::try_from(referer.as_bytes()).map_err(|_| refused())?;
    match (uri.scheme_str(), uri.host()) {
        (Some(scheme), Some(host)) => Ok(match uri.port_u16() {
            Some(port) => format!("{scheme}://{host}:{port}"),
            None => format!("{scheme}://{host}"),
        }),
        _ => Err(refused()),
    }
}

/// Whether `origin` (`scheme://host[:port]`) is the one the request was
/// sent to.
fn is_own_origin(parts: &Parts, origin: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false;
    };
    let host = parts
        .headers
        .get(HOST)
        .and_then(|host| host.to_str().ok())
        .or_else(|| parts.uri.authority().map(|authority| authority.as_str()));
    let Some(host) = host else {
        return false;
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => "",
    };
    let normalize = |authority: &str| {
        let authority = authority.to_ascii_lowercase();
        match authority.strip_suffix(default_port) {
            Some(bare) if !default_port.is_empty() => bare.to_owned(),
            _ => authority,
        }
    };
    normalize(authority) == normalize(host)
}
