use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use sse_server::http::{HeaderValue, StatusCode};

use super::keys::Algorithm;
use super::verify::Role;

/// Why a request was refused: no token, a token that does not verify, a
/// token that does not grant what was asked, or a cross-site publish.
///
/// Every variant says why, in its [`Display`](fmt::Display) text (for the
/// log) and in the `WWW-Authenticate` header of the answer
/// ([`www_authenticate`](Self::www_authenticate)); [`status`](Self::status)
/// is the answer's status.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// The request carries no token: no `Authorization: Bearer` header, no
    /// `authorization` query parameter, no authorization cookie.
    NoToken,
    /// The request carries its token in a way that is ambiguous.
    InvalidRequest(InvalidRequest),
    /// The token is not a JWS in compact serialization.
    Malformed(Malformed),
    /// The token's header says `alg: none`: it is not signed.
    AlgNone,
    /// The token is signed with another algorithm than the key's.
    ///
    /// Refused whatever the signature, so that a token signed with HS256
    /// and an RSA public key as the secret never verifies.
    WrongAlgorithm {
        /// Whose key verified the token.
        role: Role,
        /// The key's algorithm.
        expected: Algorithm,
        /// The token header's `alg` (at most 32 characters of it).
        found: String,
    },
    /// The token's signature does not verify with the key.
    BadSignature {
        /// Whose key verified the token.
        role: Role,
        /// The key's algorithm, which is also the token's.
        algorithm: Algorithm,
    },
    /// The token's `exp` has passed.
    Expired {
        /// The token's `exp`.
        at: SystemTime,
        /// The hub's clock when it checked.
        now: SystemTime,
    },
    /// The token's `nbf` is still to come.
    NotYetValid {
        /// The token's `nbf`.
        from: SystemTime,
        /// The hub's clock when it checked.
        now: SystemTime,
    },
    /// A claim of the token has the wrong shape.
    BadClaim {
        /// The claim's path: `exp`, `nbf`, `mercure`, `mercure.publish`, ...
        claim: String,
        /// What is wrong with it.
        problem: ClaimProblem,
    },
    /// The token is valid but does not grant the action on this topic.
    NotGranted {
        /// What was asked.
        action: Action,
        /// The topic that no selector of the token's grants matches.
        topic: String,
    },
    /// A publish authenticated by cookie has neither `Origin` nor
    /// `Referer`, so it may come from another site (CSRF).
    NoOrigin,
    /// A publish authenticated by cookie comes from an origin that is not
    /// allowed to publish (CSRF).
    OriginRefused {
        /// The request's origin, from `Origin` or else from `Referer`.
        origin: String,
    },
}

/// How a request carries its token ambiguously, in [`AuthError::InvalidRequest`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidRequest {
    /// More than one `Authorization: Bearer` header.
    SeveralBearerHeaders,
    /// More than one `authorization` query parameter.
    SeveralQueryTokens,
}

/// What is wrong with a token's form, in [`AuthError::Malformed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Malformed {
    /// The token is empty.
    Empty,
    /// The token is not three parts joined by dots.
    NotCompact,
    /// The header part is not base64url (without padding).
    HeaderNotBase64,
    /// The header part does not decode to a JSON object.
    HeaderNotJson,
    /// The header has no `alg` string.
    NoAlgorithm,
    /// The header lists critical extensions (`crit`), none of which the
    /// hub implements, so it must refuse the token (RFC 7515, 4.1.11).
    CriticalHeader,
    /// The signature part is not base64url (without padding).
    SignatureNotBase64,
    /// The claims part is not base64url (without padding).
    ClaimsNotBase64,
    /// The claims part does not decode to a JSON object.
    ClaimsNotJson,
}

/// What is wrong with a claim, in [`AuthError::BadClaim`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimProblem {
    /// The claim should be a JSON object (`mercure`).
    NotAnObject,
    /// The claim should be an array of strings (`publish`, `subscribe`).
    NotAListOfStrings,
    /// The claim lists more selectors than a hub accepts.
    TooManySelectors {
        /// How many the claim lists.
        count: usize,
        /// How many are accepted: [`MAX_SELECTORS`](super::MAX_SELECTORS).
        limit: usize,
    },
    /// The claim should be a number of seconds since the epoch (`exp`, `nbf`).
    NotANumber,
    /// The claim is a number too large to be a time.
    OutOfRange,
}

/// What a token is asked to grant, in [`AuthError::NotGranted`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Publishing an update to a topic (`mercure.publish`).
    Publish,
    /// Subscribing to a topic's private updates or its subscriptions
    /// (`mercure.subscribe`).
    Subscribe,
}

// RFC 6750 section 3 keeps error_description to printable ASCII without
// `"` and `\`; longer text than this only repeats a topic a client knows.
const MAX_DESCRIPTION: usize = 300;

impl AuthError {
    /// The status of the answer: `401 Unauthorized` for a missing or
    /// invalid token, `400 Bad Request` for an ambiguous request (RFC 6750
    /// `invalid_request`), `403 Forbidden` for a valid token that lacks a
    /// grant, and for a cookie-authenticated publish from a refused origin.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_hub::auth::AuthError;
    /// use sse_server::http::StatusCode;
    ///
    /// assert_eq!(AuthError::NoToken.status(), StatusCode::UNAUTHORIZED);
    /// assert_eq!(AuthError::NoOrigin.status(), StatusCode::FORBIDDEN);
    /// ```
    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Self::NotGranted { .. } | Self::NoOrigin | Self::OriginRefused { .. } => {
                StatusCode::FORBIDDEN
            }
            Self::NoToken
            | Self::Malformed(_)
            | Self::AlgNone
            | Self::WrongAlgorithm { .. }
            | Self::BadSignature { .. }
            | Self::Expired { .. }
            | Self::NotYetValid { .. }
            | Self::BadClaim { .. } => StatusCode::UNAUTHORIZED,
        }
    }

    /// The RFC 6750 error code: `None` when no token was sent,
    /// `invalid_token` for a token that does not verify,
    /// `insufficient_scope` for a missing grant, `invalid_request`
    /// otherwise.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Self::NoToken => None,
            Self::InvalidRequest(_) | Self::NoOrigin | Self::OriginRefused { .. } => {
                Some("invalid_request")
            }
            Self::NotGranted { .. } => Some("insufficient_scope"),
            Self::Malformed(_)
            | Self::AlgNone
            | Self::WrongAlgorithm { .. }
            | Self::BadSignature { .. }
            | Self::Expired { .. }
            | Self::NotYetValid { .. }
            | Self::BadClaim { .. } => Some("invalid_token"),
        }
    }

    /// The value of the answer's `WWW-Authenticate` header (RFC 6750
    /// section 3): a bare `Bearer` when the request had no token, else
    /// `Bearer error="…", error_description="…"` with this error's text.
    ///
    /// The description keeps to the characters RFC 6750 allows: any other
    /// byte (a `"`, a non-ASCII letter of a topic) is percent-encoded, and
    /// a description longer than 300 bytes is cut and ends with `...`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_hub::auth::{Action, AuthError};
    ///
    /// assert_eq!(AuthError::NoToken.www_authenticate(), "Bearer");
    /// let refused = AuthError::NotGranted {
    ///     action: Action::Publish,
    ///     topic: "https://example.com/books/1".to_owned(),
    /// };
    /// assert_eq!(
    ///     refused.www_authenticate(),
    ///     "Bearer error=\"insufficient_scope\", error_description=\"the token does not \
    ///      grant publishing to 'https://example.com/books/1'\"",
    /// );
    /// ```
    pub fn www_authenticate(&self) -> HeaderValue {
        let Some(code) = self.code() else {
            return HeaderValue::from_static("Bearer");
        };
        let mut value = format!("Bearer error=\"{code}\", error_description=\"");
        let start = value.len();
        for byte in self.to_string().bytes() {
            if value.len() - start >= MAX_DESCRIPTION {
                value.push_str("...");
                break;
            }
            match byte {
                0x20..=0x21 | 0x23..=0x5b | 0x5d..=0x7e => value.push(char::from(byte)),
                _ => {
                    // Writing to a String cannot fail.
                    let _ = write!(value, "%{byte:02X}");
                }
            }
        }
        value.push('"');
        // Every byte pushed above is visible ASCII, so the value is valid;
        // the bare challenge stands in should that ever change.
        HeaderValue::try_from(value).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoToken => f.write_str(
                "no token: no bearer authorization header, no authorization query parameter, \
                 no authorization cookie",
            ),
            Self::InvalidRequest(InvalidRequest::SeveralBearerHeaders) => {
                f.write_str("the request has more than one bearer authorization header")
            }
            Self::InvalidRequest(InvalidRequest::SeveralQueryTokens) => {
                f.write_str("the request has more than one authorization query parameter")
            }
            Self::Malformed(malformed) => f.write_str(match malformed {
                Malformed::Empty => "the token is empty",
                Malformed::NotCompact => {
                    "the token is not a JWS in compact form (three base64url parts joined by dots)"
                }
                Malformed::HeaderNotBase64 => "the token's header is not base64url",
                Malformed::HeaderNotJson => "the token's header is not a JSON object",
                Malformed::NoAlgorithm => "the token's header has no alg",
                Malformed::CriticalHeader => {
                    "the token's header lists critical extensions (crit), which the hub does not \
                     implement"
                }
                Malformed::SignatureNotBase64 => "the token's signature is not base64url",
                Malformed::ClaimsNotBase64 => "the token's claims are not base64url",
                Malformed::ClaimsNotJson => "the token's claims are not a JSON object",
            }),
            Self::AlgNone => f.write_str("the token is not signed (alg none)"),
            Self::WrongAlgorithm {
                role,
                expected,
                found,
            } => write!(
                f,
                "the token is signed with {}, the {role} key is for {expected}",
                Quoted(found)
            ),
            Self::BadSignature { role, algorithm } => write!(
                f,
                "the token's signature does not verify with the {role} key ({algorithm})"
            ),
            Self::Expired { at, now } => write!(
                f,
                "the token expired at {} (the hub's clock reads {})",
                Rfc3339(*at),
                Rfc3339(*now)
            ),
            Self::NotYetValid { from, now } => write!(
                f,
                "the token is not valid before {} (the hub's clock reads {})",
                Rfc3339(*from),
                Rfc3339(*now)
            ),
            Self::BadClaim { claim, problem } => {
                write!(f, "the token's {} claim ", Quoted(claim))?;
                match problem {
                    ClaimProblem::NotAnObject => f.write_str("is not a JSON object"),
                    ClaimProblem::NotAListOfStrings => f.write_str("is not a list of strings"),
                    ClaimProblem::TooManySelectors { count, limit } => {
                        write!(f, "lists {count} selectors, more than {limit}")
                    }
                    ClaimProblem::NotANumber => f.write_str("is not a number"),
                    ClaimProblem::OutOfRange => f.write_str("is out of range"),
                }
            }
            Self::NotGranted { action, topic } => {
                let action = match action {
                    Action::Publish => "publishing",
                    Action::Subscribe => "subscribing",
                };
                write!(f, "the token does not grant {action} to ")?;
                Quoted(topic).fmt(f)
            }
            Self::NoOrigin => f.write_str(
                "a publish authorized by cookie must have an origin or a referer header",
            ),
            Self::OriginRefused { origin } => {
                f.write_str("publishing by cookie is not allowed from ")?;
                Quoted(origin).fmt(f)
            }
        }
    }
}

impl std::error::Error for AuthError {}

/// Text a client sent, between single quotes, with control characters
/// escaped, so that a log line or a header stays one line.
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('\'')?;
        for c in self.0.chars() {
            if c.is_control() || c == '\'' || c == '\\' {
                write!(f, "{}", c.escape_default())?;
            } else {
                f.write_char(c)?;
            }
        }
        f.write_char('\'')
    }
}

/// A time as RFC 3339 in UTC, to the second (`2026-03-01T10:00:00Z`).
pub(crate) struct Rfc3339(pub(crate) SystemTime);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = match self.0.duration_since(UNIX_EPOCH) {
            Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_secs())
                .map(|secs| -secs)
                .unwrap_or(i64::MIN),
        };
        let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )
    }
}

/// The proleptic Gregorian date of a day counted from 1970-01-01, by
/// Howard Hinnant's `civil_from_days` ("chrono-Compatible Low-Level Date
/// Algorithms"), in i128 so that no day count overflows.
fn civil_from_days(days: i64) -> (i128, u32, u32) {
    let z = i128::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    // day is in 1..=31 and month in 1..=12 by construction.
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn rfc3339_formats_utc_dates() {
        assert_eq!(Rfc3339(at(0)).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(Rfc3339(at(951_782_400)).to_string(), "2000-02-29T00:00:00Z");
        assert_eq!(
            Rfc3339(at(1_772_359_199)).to_string(),
            "2026-03-01T09:59:59Z"
        );
        assert_eq!(
            Rfc3339(UNIX_EPOCH - Duration::from_secs(1)).to_string(),
            "1969-12-31T23:59:59Z"
        );
    }

    #[test]
    fn d4_no_token_gets_a_bare_challenge() {
        assert_eq!(AuthError::NoToken.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(AuthError::NoToken.www_authenticate(), "Bearer");
    }

    #[test]
    fn d4_invalid_token_says_why_in_the_challenge() {
        let expired = AuthError::Expired {
            at: at(1_772_359_199),
            now: at(1_772_359_260),
        };
        assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            expired.www_authenticate(),
            "Bearer error=\"invalid_token\", error_description=\"the token expired at \
             2026-03-01T09:59:59Z (the hub's clock reads 2026-03-01T10:01:00Z)\""
        );
    }

    #[test]
    fn b9_not_granted_is_403_insufficient_scope() {
        let refused = AuthError::NotGranted {
            action: Action::Publish,
            topic: "https://example.com/\"caf\u{e9}\"\n".to_owned(),
        };
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            refused.to_string(),
            "the token does not grant publishing to 'https://example.com/\"caf\u{e9}\"\\n'"
        );
        assert_eq!(
            refused.www_authenticate(),
            "Bearer error=\"insufficient_scope\", error_description=\"the token does not grant \
             publishing to 'https://example.com/%22caf%C3%A9%22%5Cn'\""
        );
    }

    #[test]
    fn challenge_is_bounded_and_valid_for_any_topic() {
        let refused = AuthError::NotGranted {
            action: Action::Subscribe,
            topic: "\u{1f600}\"\\\r\n".repeat(1000),
        };
        let value = refused.www_authenticate();
        let text = value.to_str().unwrap();
        assert!(text.len() < 400, "{}", text.len());
        assert!(text.ends_with("...\""));
    }

    #[test]
    fn display_is_lowercase_without_trailing_period() {
        let errors = [
            AuthError::NoToken,
            AuthError::InvalidRequest(InvalidRequest::SeveralBearerHeaders),
            AuthError::InvalidRequest(InvalidRequest::SeveralQueryTokens),
            AuthError::Malformed(Malformed::Empty),
            AuthError::Malformed(Malformed::NotCompact),
            AuthError::Malformed(Malformed::HeaderNotBase64),
            AuthError::Malformed(Malformed::HeaderNotJson),
            AuthError::Malformed(Malformed::NoAlgorithm),
            AuthError::Malformed(Malformed::CriticalHeader),
            AuthError::Malformed(Malformed::SignatureNotBase64),
            AuthError::Malformed(Malformed::ClaimsNotBase64),
            AuthError::Malformed(Malformed::ClaimsNotJson),
            AuthError::AlgNone,
            AuthError::WrongAlgorithm {
                role: Role::Publisher,
                expected: Algorithm::Rs256,
                found: "HS256".to_owned(),
            },
            AuthError::BadSignature {
                role: Role::Subscriber,
                algorithm: Algorithm::Hs256,
            },
            AuthError::Expired {
                at: at(0),
                now: at(1),
            },
            AuthError::NotYetValid {
                from: at(1),
                now: at(0),
            },
            AuthError::BadClaim {
                claim: "mercure".to_owned(),
                problem: ClaimProblem::NotAnObject,
            },
            AuthError::NoOrigin,
            AuthError::OriginRefused {
                origin: "https://evil.example".to_owned(),
            },
        ];
        for error in errors {
            let text = error.to_string();
            assert!(text.starts_with(char::is_lowercase), "{text}");
            assert!(!text.ends_with('.'), "{text}");
            assert!(error.www_authenticate().to_str().is_ok());
        }
    }
}
