use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

use super::error::{AuthError, ClaimProblem};

/// The name of the claim that carries a token's grants.
pub const CLAIM: &str = "mercure";

/// The name the reference hub also reads the grants from when a token has
/// no [`CLAIM`].
pub const FALLBACK_CLAIM: &str = "https://mercure.rocks/";

/// The most selectors a `publish` or `subscribe` list may hold, as in the
/// reference hub; a token with more is refused.
pub const MAX_SELECTORS: usize = 1000;

/// What a verified token grants: the topic selectors it may publish to and
/// subscribe to (private updates included), the payload the hub shows in
/// the subscriber's subscription updates, and when the token expires.
///
/// Read from the `mercure` claim, or else from [`FALLBACK_CLAIM`]:
/// `{"publish": [selectors], "subscribe": [selectors], "payload": any}`.
/// A list that is absent or `null` grants nothing. `Claims::default()` is
/// what an anonymous subscriber has: no grant, no expiry.
///
/// The lists are selectors (`*`, a topic, a URI template), matched against
/// topics by the hub's selector matching, not here.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Claims {
    publish: Vec<String>,
    subscribe: Vec<String>,
    payload: Option<Value>,
    expires_at: Option<SystemTime>,
}

impl Claims {
    /// The selectors of the topics the token may publish to
    /// (`mercure.publish`), empty when absent.
    pub fn publish(&self) -> &[String] {
        &self.publish
    }

    /// The selectors of the topics whose private updates the token may
    /// receive (`mercure.subscribe`), empty when absent.
    pub fn subscribe(&self) -> &[String] {
        &self.subscribe
    }

    /// The subscriber's payload (`mercure.payload`), any JSON; `None` when
    /// absent or `null`.
    pub fn payload(&self) -> Option<&Value> {
        self.payload.as_ref()
    }

    /// When the token expires (its `exp`, fractions of a second kept), so
    /// that a hub can end a subscriber's stream then; `None` when the
    /// token has no `exp`.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }

    /// Grants without a token, for tests of what they grant.
    #[cfg(test)]
    pub(crate) fn from_lists(publish: Vec<String>, subscribe: Vec<String>) -> Self {
        Self {
            publish,
            subscribe,
            ..Self::default()
        }
    }

    /// Reads the grants of a token whose signature and times are checked.
    pub(crate) fn read(
        claims: &Map<String, Value>,
        expires_at: Option<SystemTime>,
    ) -> Result<Self, AuthError> {
        let mut read = Self {
            expires_at,
            ..Self::default()
        };
        let (name, value) = match claims.get(CLAIM) {
            Some(value) => (CLAIM, value),
            None => match claims.get(FALLBACK_CLAIM) {
                Some(value) => (FALLBACK_CLAIM, value),
                None => return Ok(read),
            },
        };
        let grants = match value {
            Value::Null => return Ok(read),
            Value::Object(grants) => grants,
            _ => {
                return Err(AuthError::BadClaim {
                    claim: name.to_owned(),
                    problem: ClaimProblem::NotAnObject,
                });
            }
        };
        read.publish = selectors(grants, name, "publish")?;
        read.subscribe = selectors(grants, name, "subscribe")?;
        read.payload = grants.get("payload").filter(|p| !p.is_null()).cloned();
        Ok(read)
    }
}

fn selectors(
    grants: &Map<String, Value>,
    claim: &str,
    list: &str,
) -> Result<Vec<String>, AuthError> {
    let bad = |problem| AuthError::BadClaim {
        claim: format!("{claim}.{list}"),
        problem,
    };
    let items = match grants.get(list) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(bad(ClaimProblem::NotAListOfStrings)),
    };
    if items.len() > MAX_SELECTORS {
        return Err(bad(ClaimProblem::TooManySelectors {
            count: items.len(),
            limit: MAX_SELECTORS,
        }));
    }
    items
        .iter()
        .map(|item| match item {
            Value::String(selector) => Ok(selector.clone()),
            _ => Err(bad(ClaimProblem::NotAListOfStrings)),
        })
        .collect()
}

/// A registered time claim (`exp`, `nbf`): seconds since the epoch, an
/// integer or, as Symfony sends `exp`, a float (RFC 7519 allows both).
pub(crate) fn numeric_date(
    claims: &Map<String, Value>,
    name: &str,
) -> Result<Option<SystemTime>, AuthError> {
    let bad = |problem| AuthError::BadClaim {
        claim: name.to_owned(),
        problem,
    };
    let secs = match claims.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(secs)) => secs.as_f64().ok_or(bad(ClaimProblem::NotANumber))?,
        Some(_) => return Err(bad(ClaimProblem::NotANumber)),
    };
    let since =
        Duration::try_from_secs_f64(secs.abs()).map_err(|_| bad(ClaimProblem::OutOfRange))?;
    let time = if secs >= 0.0 {
        UNIX_EPOCH.checked_add(since)
    } else {
        UNIX_EPOCH.checked_sub(since)
    };
    time.map(Some).ok_or(bad(ClaimProblem::OutOfRange))
}
