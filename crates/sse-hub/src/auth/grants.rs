//! What a token's selector lists grant, matched by the hub's selectors.

use std::sync::Arc;

use crate::selector::{Selector, SelectorCache};

use super::claims::Claims;
use super::error::{Action, AuthError};

/// Checks that `claims` grants publishing to every one of `topics` (the
/// canonical topic and the alternates of one update): each must match a
/// selector of `mercure.publish` (draft 07, row B9), else nothing of the
/// update may be dispatched.
///
/// # Errors
///
/// [`AuthError::NotGranted`] naming the first topic that no selector
/// matches (`403`, `insufficient_scope`).
///
/// # Examples
///
/// ```
/// use sse_hub::auth::{Claims, Key, Role, Verifier, can_publish};
/// use sse_hub::selector::SelectorCache;
///
/// let verifier = Verifier::new(Role::Publisher, Key::parse("HS256", "!ChangeThisMercureHubJWTSecretKey!")?);
/// // {"mercure":{"publish":["https://example.com/books/{id}"]}}
/// let token = "eyJhbGciOiJIUzI1NiJ9.eyJtZXJjdXJlIjp7InB1Ymxpc2giOlsiaHR0cHM6Ly9leGFtcGxlLmNvbS9ib29rcy97aWR9Il19fQ.\
///              gjWaokUfu7Ck1uH8M1Q0pajouFSO5egWkFPy7SbPPU8";
/// let claims = verifier.verify(token)?;
/// let cache = SelectorCache::new();
/// assert!(can_publish(&claims, &["https://example.com/books/1"], &cache).is_ok());
/// let refused = can_publish(&claims, &["https://example.com/books/1", "https://example.com/authors/2"], &cache)
///     .unwrap_err();
/// assert_eq!(refused.to_string(), "the token does not grant publishing to 'https://example.com/authors/2'");
/// assert!(can_publish(&Claims::default(), &["https://example.com/books/1"], &cache).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn can_publish<T: AsRef<str>>(
    claims: &Claims,
    topics: &[T],
    cache: &SelectorCache,
) -> Result<(), AuthError> {
    let grants = compile(claims.publish(), cache);
    first_not_granted(&grants, topics, cache).map_or(Ok(()), |topic| {
        Err(AuthError::NotGranted {
            action: Action::Publish,
            topic: topic.to_owned(),
        })
    })
}

/// Whether `claims` lets its subscriber receive a private update published
/// to `topics` (canonical and alternates): some topic matches some selector
/// of `mercure.subscribe` (draft 07, row E2). Anonymous subscribers
/// (`Claims::default()`) receive none.
///
/// For a subscription that lasts, compile the grants once with
/// [`SelectorCache::selector`] and ask
/// [`SelectorCache::matches_any`] per update, as this does per call.
pub fn can_subscribe_private<T: AsRef<str>>(
    claims: &Claims,
    topics: &[T],
    cache: &SelectorCache,
) -> bool {
    cache.matches_any(&compile(claims.subscribe(), cache), topics)
}

/// Checks that `claims` grants subscribing to `topic`: some selector of
/// `mercure.subscribe` matches it (the subscriptions API, row G5, asks
/// this of the topic of the URL it serves).
///
/// # Errors
///
/// [`AuthError::NotGranted`] (`403`, `insufficient_scope`).
pub fn can_subscribe(claims: &Claims, topic: &str, cache: &SelectorCache) -> Result<(), AuthError> {
    let grants = compile(claims.subscribe(), cache);
    first_not_granted(&grants, &[topic], cache).map_or(Ok(()), |topic| {
        Err(AuthError::NotGranted {
            action: Action::Subscribe,
            topic: topic.to_owned(),
        })
    })
}

fn compile(selectors: &[String], cache: &SelectorCache) -> Vec<Arc<Selector>> {
    selectors.iter().map(|s| cache.selector(s)).collect()
}

fn first_not_granted<'t, T: AsRef<str>>(
    grants: &[Arc<Selector>],
    topics: &'t [T],
    cache: &SelectorCache,
) -> Option<&'t str> {
    topics
        .iter()
        .map(AsRef::as_ref)
        .find(|topic| !cache.matches_any(grants, &[*topic]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(publish: &[&str], subscribe: &[&str]) -> Claims {
        Claims::from_lists(
            publish.iter().map(|s| (*s).to_owned()).collect(),
            subscribe.iter().map(|s| (*s).to_owned()).collect(),
        )
    }

    #[test]
    fn b9_every_topic_must_be_granted() {
        let cache = SelectorCache::new();
        let granted = claims(&["https://example.com/books/{id}", "urn:a"], &[]);
        assert_eq!(
            can_publish(&granted, &["https://example.com/books/1", "urn:a"], &cache),
            Ok(())
        );
        assert_eq!(
            can_publish(
                &granted,
                &["https://example.com/books/1", "urn:b", "urn:c"],
                &cache
            ),
            Err(AuthError::NotGranted {
                action: Action::Publish,
                topic: "urn:b".to_owned(),
            })
        );
        let every = claims(&["*"], &[]);
        assert_eq!(can_publish(&every, &["anything", "at all"], &cache), Ok(()));
        let none = Claims::default();
        let refused = can_publish(&none, &["urn:a"], &cache).unwrap_err();
        assert_eq!(refused.status(), 403);
    }

    #[test]
    fn b9_subscribe_grants_do_not_grant_publishing() {
        let cache = SelectorCache::new();
        let subscriber = claims(&[], &["*"]);
        assert!(can_publish(&subscriber, &["urn:a"], &cache).is_err());
    }

    #[test]
    fn e2_a_private_update_needs_one_topic_granted() {
        let cache = SelectorCache::new();
        let granted = claims(&[], &["https://example.com/users/42/{+rest}"]);
        assert!(can_subscribe_private(
            &granted,
            &[
                "https://example.com/books/1",
                "https://example.com/users/42/inbox"
            ],
            &cache
        ));
        assert!(!can_subscribe_private(
            &granted,
            &["https://example.com/users/7/inbox"],
            &cache
        ));
        assert!(!can_subscribe_private(
            &Claims::default(),
            &["https://example.com/books/1"],
            &cache
        ));
        let publisher = claims(&["*"], &[]);
        assert!(!can_subscribe_private(&publisher, &["urn:a"], &cache));
    }

    #[test]
    fn g5_subscriptions_api_needs_a_subscribe_grant() {
        let cache = SelectorCache::new();
        let topic = "/.well-known/mercure/subscriptions/urn%3Aa/urn%3Auuid%3A1";
        let granted = claims(
            &[],
            &["/.well-known/mercure/subscriptions{/topic}{/subscriber}"],
        );
        assert_eq!(can_subscribe(&granted, topic, &cache), Ok(()));
        assert_eq!(
            can_subscribe(&claims(&[], &["urn:a"]), topic, &cache),
            Err(AuthError::NotGranted {
                action: Action::Subscribe,
                topic: topic.to_owned(),
            })
        );
    }
}
