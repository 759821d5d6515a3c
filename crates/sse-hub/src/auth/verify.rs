use std::fmt;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use serde_json::{Map, Value};

use super::claims::{self, Claims};
use super::error::{AuthError, Malformed};
use super::keys::{Algorithm, Key};

/// How far the hub's clock may be off a token issuer's: a token is valid
/// until `exp` plus this, and from `nbf` minus this.
///
/// Five seconds: enough for issuers whose clocks are synchronized, as NTP
/// keeps servers within far less, small against token lifetimes of
/// minutes to hours.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(5);

/// Whose key verifies a token; named in the errors, so that a publisher
/// who sends a subscriber's token learns which key refused it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The publishers' key (`MERCURE_PUBLISHER_JWT_KEY`).
    Publisher,
    /// The subscribers' key (`MERCURE_SUBSCRIBER_JWT_KEY`).
    Subscriber,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Publisher => "publisher",
            Self::Subscriber => "subscriber",
        })
    }
}

/// Verifies tokens with one [`Key`] and reads their [`Claims`].
///
/// A token passes when it is a JWS in compact form whose header's `alg` is
/// exactly the key's algorithm (so `none` and algorithm confusion are
/// refused before any signature is computed), whose signature verifies,
/// whose `exp` (when present, integer or float) is not past and whose
/// `nbf` (when present) is not to come, both with a [leeway](DEFAULT_LEEWAY),
/// and whose `mercure` claim has the shape of grants. A token without
/// `exp` never expires, as the 0.x clients' tokens. The `aud`, `iss` and
/// `sub` claims are not checked (draft 07 says nothing of them).
///
/// Cheap to clone.
///
/// # Examples
///
/// ```
/// use sse_hub::auth::{AuthError, Key, Role, Verifier};
///
/// let verifier = Verifier::new(Role::Publisher, Key::parse("HS256", "!ChangeThisMercureHubJWTSecretKey!")?);
/// // {"alg":"HS256","typ":"JWT"} {"mercure":{"publish":["*"]}}, with the key above.
/// let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJtZXJjdXJlIjp7InB1Ymxpc2giOlsiKiJdfX0.\
///              a8cjcSRUAcHdnGNMKifA4BK5epRXxQI0UBp2XpNrBdw";
/// let claims = verifier.verify(token)?;
/// assert_eq!(claims.publish(), ["*"]);
/// assert_eq!(claims.expires_at(), None);
///
/// let refused = verifier.verify("eyJhbGciOiJub25lIn0.e30.").unwrap_err();
/// assert_eq!(refused, AuthError::AlgNone);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Verifier {
    key: Key,
    role: Role,
    leeway: Duration,
}

impl Verifier {
    /// A verifier of `role`'s tokens with `key`, and the
    /// [`DEFAULT_LEEWAY`].
    pub fn new(role: Role, key: Key) -> Self {
        Self {
            key,
            role,
            leeway: DEFAULT_LEEWAY,
        }
    }

    /// The same verifier with another clock leeway.
    #[must_use]
    pub fn with_leeway(self, leeway: Duration) -> Self {
        Self { leeway, ..self }
    }

    /// The algorithm tokens must be signed with.
    pub fn algorithm(&self) -> Algorithm {
        self.key.algorithm()
    }

    /// Whose tokens this verifies.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The clock leeway.
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// Verifies `token` now and reads its claims.
    ///
    /// # Errors
    ///
    /// As [`verify_at`](Self::verify_at).
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        self.verify_at(token, SystemTime::now())
    }

    /// Verifies `token` as of `now` and reads its claims.
    ///
    /// # Errors
    ///
    /// [`AuthError::Malformed`] for a token that is not a JWS in compact
    /// form; [`AuthError::AlgNone`] for `alg: none` (any case);
    /// [`AuthError::WrongAlgorithm`] for another `alg` than the key's;
    /// [`AuthError::BadSignature`]; [`AuthError::Expired`] and
    /// [`AuthError::NotYetValid`], which carry the token's time and `now`;
    /// [`AuthError::BadClaim`] for an `exp` or `nbf` that is not a number,
    /// a `mercure` claim that is not an object, a `publish` or `subscribe`
    /// that is not a list of strings or lists more than
    /// [`MAX_SELECTORS`](super::MAX_SELECTORS).
    pub fn verify_at(&self, token: &str, now: SystemTime) -> Result<Claims, AuthError> {
        let malformed = |reason| AuthError::Malformed(reason);
        if token.is_empty() {
            return Err(malformed(Malformed::Empty));
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed(Malformed::NotCompact));
        };
        let header = URL_SAFE_NO_PAD
            .decode(header)
            .map_err(|_| malformed(Malformed::HeaderNotBase64))?;
        let header: Map<String, Value> =
            serde_json::from_slice(&header).map_err(|_| malformed(Malformed::HeaderNotJson))?;
        let Some(Value::String(alg)) = header.get("alg") else {
            return Err(malformed(Malformed::NoAlgorithm));
        };
        if alg.eq_ignore_ascii_case("none") {
            return Err(AuthError::AlgNone);
        }
        // RFC 7515 4.1.1: `alg` is case-sensitive. Comparing it with the
        // key's one algorithm before verifying is what refuses algorithm
        // confusion, whatever the key's bytes would verify as.
        let algorithm = self.key.algorithm();
        if alg != algorithm.as_str() {
            return Err(AuthError::WrongAlgorithm {
                role: self.role,
                expected: algorithm,
                found: alg.chars().take(32).collect(),
            });
        }
        if header.contains_key("crit") {
            return Err(malformed(Malformed::CriticalHeader));
        }
        let signed = &token[..token.len() - signature.len() - 1];
        match jsonwebtoken::crypto::verify(
            signature,
            signed.as_bytes(),
            self.key.decoding(),
            algorithm.jwt(),
        ) {
            Ok(true) => {}
            Err(error) if matches!(error.kind(), ErrorKind::Base64(_)) => {
                return Err(malformed(Malformed::SignatureNotBase64));
            }
            // A key is checked against its algorithm when it is built, so
            // no other error is expected; were one to come, the token is
            // still not verified.
            Ok(false) | Err(_) => {
                return Err(AuthError::BadSignature {
                    role: self.role,
                    algorithm,
                });
            }
        }
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| malformed(Malformed::ClaimsNotBase64))?;
        let payload: Map<String, Value> =
            serde_json::from_slice(&payload).map_err(|_| malformed(Malformed::ClaimsNotJson))?;

        // RFC 7519 4.1.4: valid only while now is before exp.
        let expires_at = claims::numeric_date(&payload, "exp")?;
        if let Some(at) = expires_at
            && at.checked_add(self.leeway).is_some_and(|end| now >= end)
        {
            return Err(AuthError::Expired { at, now });
        }
        if let Some(from) = claims::numeric_date(&payload, "nbf")?
            && now.checked_add(self.leeway).is_some_and(|now| now < from)
        {
            return Err(AuthError::NotYetValid { from, now });
        }
        Claims::read(&payload, expires_at)
    }
}
