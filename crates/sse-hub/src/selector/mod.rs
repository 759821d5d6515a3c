//! Topic selectors: which topics a subscription follows, and which topics a
//! token's grants cover.
//!
//! # Example
//!
//! ```
//! use sse_hub::selector::{Selector, matches_any};
//!
//! let books = Selector::new("https://example.com/books/{id}");
//! assert!(books.matches("https://example.com/books/1"));
//! assert!(!books.matches("https://example.com/books/1/reviews"));
//!
//! // An update reaches a subscription when any of its topics (the canonical
//! // one or an alternate) matches any of the subscription's selectors.
//! let selectors = [Selector::new("https://example.com/authors/7"), books];
//! assert!(matches_any(&selectors, &["https://example.com/reviews/3", "https://example.com/books/9"]));
//! ```
//!
//! # Matching
//!
//! A selector is the value of a subscriber's `topic` query parameter, or an
//! entry of a token's `mercure.subscribe` / `mercure.publish` list
//! (draft-dunglas-mercure-07, "Subscription" and "Authorization"). A topic
//! matches a selector, in this order, when:
//!
//! 1. the selector is `*`;
//! 2. the topic is byte-equal to the selector (so a template matches
//!    itself); no normalization of either is done;
//! 3. the selector is a valid RFC 6570 URI template (up to level 4) and the
//!    topic is one of the strings the template's expansion pattern
//!    matches, from its first byte to its last.
//!
//! A selector that is not a valid template is an exact string and nothing
//! else. Templates are matched the way the reference hub matches them (it
//! uses the regular expression of the Go package
//! `github.com/yosida95/uritemplate`), so that the subscribers of existing
//! applications receive the same updates:
//!
//! - every expression is optional: `/books/{id}` matches `/books/`;
//! - a value is a run of the characters the expression's operator leaves
//!   unencoded, or percent-escapes `%XX`: unreserved characters
//!   (`A-Z a-z 0-9 - . _ ~`) and `,` for `{var}`, `{.var}`, `{/var}`,
//!   `{;var}`, `{?var}` and `{&var}`, plus the reserved ones
//!   (`: / ? # [ ] @ ! $ & ' ( ) * + , ; =`) for `{+var}` and `{#var}`;
//!   so `{id}` stops at a `/`, and `{+path}` does not;
//! - the operators `#`, `.`, `/`, `;`, `?` and `&` put their character
//!   before the values; values are separated by `,` for `{x,y}`, `{+x,y}`
//!   and `{#x,y}`, by `&` for `{?x,y}`, and by the operator's character
//!   otherwise; the named operators (`;`, `?`, `&`) also allow `=` in a
//!   value, for `name=value`;
//! - a list of variables allows as many separated values as it has
//!   variables (`{/x,y}` matches `/a/b`, not `/a/b/c`); an exploded one
//!   (`{/x*}`) allows any number, and `=` in them (in the first value only
//!   when the first variable is the exploded one); where values may hold
//!   the separator anyway (`,`, and `.` for `{.x,y}`), the count cannot
//!   limit them;
//! - a prefix modifier `{var:3}` does not limit the value's length.
//!
//! One bound differs: a template whose compiled program would exceed
//! 64 KiB (the regular expression crate's measure) is an exact string here,
//! so that no selector makes the hub keep or run a huge automaton. Real
//! templates stay far below it: the bound is about 120 expressions, or a
//! list of about 125 path or query variables, whose values the pattern
//! counts. (The reference refuses only lists of more than 1,001 variables,
//! by failing to compile them.)
//!
//! Compiling a template costs far more than matching it; a hub shares one
//! [`SelectorCache`] between its requests so that subscribers naming the
//! same template share its compiled form.

mod cache;
mod template;

pub use self::cache::SelectorCache;

use self::template::Template;
use std::{fmt, sync::Arc};

/// A topic selector, parsed once: `*`, an exact topic, or a URI template
/// compiled for matching.
///
/// Cheap to clone (the compiled template is shared). Two selectors are equal
/// when their strings are.
///
/// # Examples
///
/// ```
/// use sse_hub::selector::Selector;
///
/// assert!(Selector::new("*").matches("anything"));
///
/// let exact = Selector::new("https://example.com/books/1");
/// assert!(exact.matches("https://example.com/books/1"));
/// assert!(!exact.is_template());
///
/// let template = Selector::new("https://example.com/books/{id}");
/// assert!(template.is_template());
/// assert!(template.matches("https://example.com/books/1"));
/// assert!(template.matches("https://example.com/books/{id}"));
/// ```
#[derive(Clone)]
pub struct Selector {
    raw: Arc<str>,
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Every,
    Exact,
    Template(Template),
}

impl Selector {
    /// Parses `selector`: `*`, a URI template, or (anything else, an
    /// invalid template included) an exact topic. Never fails.
    ///
    /// A selector containing `{` is parsed as an RFC 6570 template and, when
    /// valid, compiled to a regular expression; a template whose program
    /// would exceed 64 KiB (the regular expression crate's own measure) is
    /// an exact string instead, which bounds the memory and the time one
    /// selector can take. Compiling is the costly step: where selectors
    /// repeat, get them from a [`SelectorCache`].
    pub fn new(selector: &str) -> Selector {
        let kind = if selector == "*" {
            Kind::Every
        } else {
            match Template::compile(selector) {
                Some(template) => Kind::Template(template),
                None => Kind::Exact,
            }
        };
        Selector {
            raw: Arc::from(selector),
            kind,
        }
    }

    /// The selector as given.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The heap bytes this selector may hold besides its string: for a URI
    /// template, its compiled program and one thread's matching state at
    /// its bound; none for `*` and exact selectors.
    pub fn heap_bytes(&self) -> usize {
        match &self.kind {
            Kind::Template(template) => template.heap_bytes(),
            Kind::Every | Kind::Exact => 0,
        }
    }

    /// Whether this is `*`, which matches every topic.
    pub fn is_every(&self) -> bool {
        matches!(self.kind, Kind::Every)
    }

    /// Whether this is a valid URI template, matched by pattern as well as
    /// by equality.
    pub fn is_template(&self) -> bool {
        matches!(self.kind, Kind::Template(_))
    }

    /// Whether `topic` matches: this is `*`, or `topic` is byte-equal to
    /// it, or it is a URI template whose pattern matches all of `topic`.
    pub fn matches(&self, topic: &str) -> bool {
        match &self.kind {
            Kind::Every => true,
            Kind::Exact => *self.raw == *topic,
            Kind::Template(template) => *self.raw == *topic || template.matches(topic),
        }
    }

    /// The shared string, for keys that should not copy it.
    fn shared_str(&self) -> &Arc<str> {
        &self.raw
    }
}

impl From<&str> for Selector {
    fn from(selector: &str) -> Selector {
        Selector::new(selector)
    }
}

impl From<String> for Selector {
    fn from(selector: String) -> Selector {
        Selector::new(&selector)
    }
}

impl AsRef<Selector> for Selector {
    fn as_ref(&self) -> &Selector {
        self
    }
}

impl PartialEq for Selector {
    fn eq(&self, other: &Selector) -> bool {
        self.raw == other.raw
    }
}

impl Eq for Selector {}

impl std::hash::Hash for Selector {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.raw.hash(state);
    }
}

impl fmt::Debug for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            Kind::Every => "every",
            Kind::Exact => "exact",
            Kind::Template(_) => "template",
        };
        f.debug_struct("Selector")
            .field("selector", &&*self.raw)
            .field("kind", &kind)
            .finish()
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Whether any of `topics` matches any of `selectors`: whether an update
/// published to `topics` (the canonical topic first, then the alternates)
/// reaches a subscription to `selectors`, or whether a token granting
/// `mercure.subscribe: selectors` may receive it when it is private.
///
/// False when either list is empty. The caller delivers a matching update
/// once, however many pairs match.
///
/// # Examples
///
/// ```
/// use sse_hub::selector::{Selector, matches_any};
///
/// let grants = [Selector::new("https://example.com/users/42/{+rest}")];
/// assert!(matches_any(&grants, &["https://example.com/books/1", "https://example.com/users/42/inbox"]));
/// assert!(!matches_any(&grants, &["https://example.com/users/7/inbox"]));
/// assert!(!matches_any::<Selector, &str>(&[], &["https://example.com/books/1"]));
/// ```
pub fn matches_any<S, T>(selectors: &[S], topics: &[T]) -> bool
where
    S: AsRef<Selector>,
    T: AsRef<str>,
{
    topics
        .iter()
        .any(|topic| selects(selectors, topic.as_ref(), Selector::matches))
}

/// Whether `topic` matches one of `selectors`, as `matches` answers for
/// one pair (directly, or through a [`SelectorCache`]).
pub(crate) fn selects<S: AsRef<Selector>>(
    selectors: &[S],
    topic: &str,
    matches: impl Fn(&Selector, &str) -> bool,
) -> bool {
    selectors
        .iter()
        .any(|selector| matches(selector.as_ref(), topic))
}

/// Whether every one of `topics` matches at least one of `selectors`:
/// whether a token granting `mercure.publish: selectors` may publish an
/// update to `topics` (draft-dunglas-mercure-07: the publisher must be
/// authorized for each topic, else nothing is dispatched).
///
/// True when `topics` is empty (there is nothing to refuse): the caller
/// refuses an update without a topic before asking.
///
/// # Examples
///
/// ```
/// use sse_hub::selector::{Selector, matches_every};
///
/// let grants = [Selector::new("https://example.com/books/{id}")];
/// assert!(matches_every(&grants, &["https://example.com/books/1", "https://example.com/books/2"]));
/// assert!(!matches_every(&grants, &["https://example.com/books/1", "https://example.com/authors/2"]));
/// ```
pub fn matches_every<S, T>(selectors: &[S], topics: &[T]) -> bool
where
    S: AsRef<Selector>,
    T: AsRef<str>,
{
    topics
        .iter()
        .all(|topic| selects(selectors, topic.as_ref(), Selector::matches))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c2_star_matches_every_topic() {
        let every = Selector::new("*");
        assert!(every.is_every());
        assert!(!every.is_template());
        for topic in ["", "*", "https://example.com/books/1", "a b", "{x}", "é"] {
            assert!(every.matches(topic), "{topic:?}");
        }
    }

    #[test]
    fn c2_exact_selector_is_byte_equality() {
        let exact = Selector::new("https://example.com/books/1");
        assert!(!exact.is_template());
        assert!(exact.matches("https://example.com/books/1"));
        // No normalization of case, trailing slash, escapes or Unicode.
        for topic in [
            "https://example.com/books/1/",
            "HTTPS://example.com/books/1",
            "https://EXAMPLE.com/books/1",
            "https://example.com/books/%31",
            "https://example.com/books/1 ",
            "https://example.com/books/10",
            "https://example.com/books/",
            "",
        ] {
            assert!(!exact.matches(topic), "{topic:?}");
        }
        let composed = Selector::new("caf\u{e9}");
        assert!(composed.matches("caf\u{e9}"));
        assert!(!composed.matches("cafe\u{301}"));
        // Only `*` alone is the wildcard.
        assert!(!Selector::new("**").matches("anything"));
        assert!(!Selector::new("https://example.com/*").matches("https://example.com/1"));
        assert!(Selector::new("").matches(""));
        assert!(!Selector::new("").matches("a"));
    }

    #[test]
    fn c2_template_matches_itself_byte_equal() {
        // `{id}` cannot match `{` or `}`: only byte equality lets these match.
        for template in [
            "https://example.com/books/{id}",
            "https://example.com/{+path}{?q,page}",
            "/map{;x*}",
        ] {
            let selector = Selector::new(template);
            assert!(selector.is_template(), "{template}");
            assert!(selector.matches(template), "{template}");
        }
    }

    #[test]
    fn c2_valid_template_matches_by_pattern() {
        let selector = Selector::new("https://example.com/books/{id}");
        assert!(selector.matches("https://example.com/books/1"));
        assert!(selector.matches("https://example.com/books/"));
        assert!(!selector.matches("https://example.com/books/1/reviews"));
        assert!(!selector.matches("https://example.com/authors/1"));
    }

    #[test]
    fn c2_invalid_template_is_an_exact_string() {
        for invalid in [
            "https://example.com/books/{id",
            "https://example.com/books/{}",
            "https://example.com/books/{=id}",
            "https://example.com/books/{id:0}",
            "https://example.com/books with space/{id}",
            "https://example.com/books/}{id}",
        ] {
            let selector = Selector::new(invalid);
            assert!(!selector.is_template(), "{invalid}");
            assert!(selector.matches(invalid), "{invalid}");
            assert!(
                !selector.matches("https://example.com/books/1"),
                "{invalid}"
            );
            assert!(!selector.matches("https://example.com/books/"), "{invalid}");
        }
    }

    #[test]
    fn c6_update_matches_when_any_topic_matches_any_selector() {
        let selectors = [
            Selector::new("https://example.com/authors/7"),
            Selector::new("https://example.com/books/{id}"),
        ];
        // The canonical topic, an alternate, or both.
        assert!(matches_any(&selectors, &["https://example.com/books/1"]));
        assert!(matches_any(
            &selectors,
            &[
                "https://example.com/reviews/3",
                "https://example.com/authors/7"
            ]
        ));
        assert!(matches_any(
            &selectors,
            &[
                "https://example.com/books/1",
                "https://example.com/authors/7"
            ]
        ));
        assert!(!matches_any(
            &selectors,
            &[
                "https://example.com/reviews/3",
                "https://example.com/books/1/reviews"
            ]
        ));
        assert!(!matches_any(&selectors, &[] as &[&str]));
        assert!(!matches_any(
            &[] as &[Selector],
            &["https://example.com/books/1"]
        ));
    }

    #[test]
    fn e2_private_update_needs_a_subscribe_grant_on_one_of_its_topics() {
        let grants = [Selector::new("https://example.com/users/42/{+rest}")];
        assert!(matches_any(
            &grants,
            &[
                "https://example.com/books/1",
                "https://example.com/users/42/inbox"
            ]
        ));
        assert!(!matches_any(
            &grants,
            &["https://example.com/users/7/inbox"]
        ));
        assert!(matches_any(
            &[Selector::new("*")],
            &["https://example.com/users/7/inbox"]
        ));
    }

    #[test]
    fn b9_publish_grants_must_cover_every_topic() {
        let grants = [
            Selector::new("https://example.com/books/{id}"),
            Selector::new("https://example.com/authors/7"),
        ];
        assert!(matches_every(&grants, &["https://example.com/books/1"]));
        assert!(matches_every(
            &grants,
            &[
                "https://example.com/books/1",
                "https://example.com/authors/7"
            ]
        ));
        assert!(!matches_every(
            &grants,
            &[
                "https://example.com/books/1",
                "https://example.com/authors/8"
            ]
        ));
        // No grant publishes nothing.
        assert!(!matches_every(
            &[] as &[Selector],
            &["https://example.com/books/1"]
        ));
        assert!(matches_every(&[Selector::new("*")], &["a", "b"]));
    }

    #[test]
    fn selectors_from_topics_and_arcs() {
        let shared = Arc::new(Selector::from(String::from("/books/{id}")));
        let topics = [sse_codec::Topic::from("/books/1")];
        assert!(matches_any(&[Arc::clone(&shared)], &topics));
        assert!(matches_every(&[shared], &topics));
        assert_eq!(Selector::from("/a"), Selector::new("/a"));
        assert_eq!(Selector::new("/a{b}").to_string(), "/a{b}");
        assert_eq!(
            format!("{:?}", Selector::new("/a{b}")),
            r#"Selector { selector: "/a{b}", kind: "template" }"#
        );
    }
}
