//! Publishers' and subscribers' authorization tokens: where a request carries
//! one, how it is verified, and what it grants.
//!
//! # Example
//!
//! A publish handler finds the token, verifies it with the publishers' key,
//! and checks a cookie-authorized request's origin; every refusal answers
//! with its [`status`](AuthError::status) and its
//! [`WWW-Authenticate`](AuthError::www_authenticate), and is logged with its
//! text.
//!
//! ```
//! use sse_hub::auth::{
//!     AuthError, Claims, DEFAULT_COOKIE_NAME, Key, Keys, TokenSource, csrf_ok, extract_token,
//! };
//! use sse_server::http::{Request, request::Parts};
//!
//! fn authorize_publish(keys: &Keys, parts: &Parts, origins: &[&str]) -> Result<Claims, AuthError> {
//!     let token = extract_token(parts, DEFAULT_COOKIE_NAME)?.ok_or(AuthError::NoToken)?;
//!     let claims = keys.publisher().verify(token.as_str())?;
//!     if token.source() == TokenSource::Cookie {
//!         csrf_ok(parts, origins)?;
//!     }
//!     Ok(claims)
//! }
//!
//! let secret = Key::parse("HS256", "!ChangeThisMercureHubJWTSecretKey!")?;
//! let keys = Keys::new(secret.clone(), secret);
//! let (parts, ()) = Request::post("/.well-known/mercure").body(())?.into_parts();
//! let refused = authorize_publish(&keys, &parts, &[]).unwrap_err();
//! assert_eq!(refused.status(), 401);
//! assert_eq!(refused.www_authenticate(), "Bearer");
//!
//! // {"mercure":{"publish":["*"]}}, signed with the secret above.
//! let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtZXJjdXJlIjp7InB1Ymxpc2giOlsiKiJdfX0.\
//!              a8cjcSRUAcHdnGNMKifA4BK5epRXxQI0UBp2XpNrBdw";
//! let (parts, ()) = Request::post("/.well-known/mercure")
//!     .header("authorization", format!("Bearer {token}"))
//!     .body(())?
//!     .into_parts();
//! assert_eq!(authorize_publish(&keys, &parts, &[])?.publish(), ["*"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Tokens
//!
//! A token is a JWS in compact form (draft 07, "Authorization"), found by
//! [`extract_token`] in an `Authorization: Bearer` header, else the
//! `authorization` query parameter, else the cookie (`mercureAuthorization`
//! unless configured). Publishers' and subscribers' tokens are verified with
//! their own [`Key`], each bound to one [`Algorithm`]: the token's `alg` must
//! be that one, so `alg: none` and a token signed with HS256 and an RSA
//! public key as the secret are refused before any signature is checked.
//! `exp` and `nbf` are checked when present, with a
//! [leeway](DEFAULT_LEEWAY) of five seconds; a float `exp` (Symfony's) and a
//! missing `exp` (0.x clients') are accepted. A subscriber's stream ends at
//! its token's `exp`, so the hub refuses a subscriber's token past it,
//! leeway or not.
//!
//! # Grants
//!
//! [`Claims`] holds the `mercure` claim's `publish` and `subscribe` selector
//! lists (or those of [`FALLBACK_CLAIM`]), its `payload`, and the token's
//! expiry for closing a subscriber's stream at `exp`. [`can_publish`],
//! [`can_subscribe`] and [`can_subscribe_private`] match them against topics
//! with the hub's [selectors](crate::selector); a topic no selector grants is
//! refused with [`AuthError::NotGranted`] (`403`, `insufficient_scope`).
//!
//! # Keys
//!
//! [`Keys::from_lookup`] reads `MERCURE_PUBLISHER_JWT_KEY`,
//! `MERCURE_PUBLISHER_JWT_ALG`, `MERCURE_SUBSCRIBER_JWT_KEY` and
//! `MERCURE_SUBSCRIBER_JWT_ALG`, the names the reference hub's users set; an
//! HMAC key is the secret itself, any other a public key in PEM, checked when
//! loaded, with an error that says what is wrong with it.

mod claims;
mod error;
mod extract;
mod grants;
mod keys;
mod pem;
mod verify;

pub use self::claims::{CLAIM, Claims, FALLBACK_CLAIM, MAX_SELECTORS};
pub use self::error::{Action, AuthError, ClaimProblem, InvalidRequest, Malformed};
pub use self::extract::{
    DEFAULT_COOKIE_NAME, QUERY_PARAMETER, Token, TokenSource, csrf_ok, extract_token,
};
pub use self::grants::{can_publish, can_subscribe, can_subscribe_private};
pub use self::keys::{
    Algorithm, DEFAULT_ALGORITHM, Key, KeyError, KeyType, Keys, PUBLISHER_ALG_VAR,
    PUBLISHER_KEY_VAR, SUBSCRIBER_ALG_VAR, SUBSCRIBER_KEY_VAR,
};
pub use self::verify::{DEFAULT_LEEWAY, Role, Verifier};

#[cfg(test)]
mod tests;
