//! A publisher's form (d07 "Publication"): the fields of an update, checked
//! before anything is dispatched.

use sse_codec::{EventId, EventType, Message, Routing, Topic};
use sse_server::http::HeaderValue;
use std::{fmt, time::Duration};

/// What a publish may send: the hub's limits on a form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FormLimits {
    /// The most `topic` fields (row B11; the reference hub takes 1,000).
    pub max_topics: usize,
    /// The most bytes of a field's value, after decoding, for every field
    /// but `data` (the topics, `id`, `type`, `retry`), whose bound is the
    /// body's.
    pub max_field: usize,
}

/// The longest field but `data` a [`FormLimits::default`] takes: 8 KiB,
/// room for any IRI a topic is; `data` is bounded by the body alone.
pub const DEFAULT_MAX_FIELD: usize = 8 << 10;

impl Default for FormLimits {
    /// 1,000 topics (the reference hub's limit), fields but `data` up to
    /// [`DEFAULT_MAX_FIELD`].
    fn default() -> FormLimits {
        FormLimits {
            max_topics: 1000,
            max_field: DEFAULT_MAX_FIELD,
        }
    }
}

/// An update as a publisher sent it, checked: its topics (the first
/// canonical), its data, whether it is private, and the SSE fields it
/// sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Update {
    /// Every `topic` field, in order, the first canonical (duplicates
    /// kept: the routing drops them).
    pub topics: Vec<Topic>,
    /// The `data` field, empty when absent: an update always has a data
    /// line, so that an empty one is still dispatched (row A4).
    pub data: String,
    /// Whether a `private` field was present, whatever its value (row B3).
    pub private: bool,
    /// The `id` field, if any (row B4): kept and echoed.
    pub id: Option<EventId>,
    /// The `type` field: the SSE event type (row B5).
    pub event: Option<EventType>,
    /// The `retry` field: the SSE reconnection time (row B6).
    pub retry: Option<Duration>,
}

/// Why a form was refused: answered `400 Bad Request` with this text.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormError {
    /// No `topic` field (row B2).
    NoTopic,
    /// More `topic` fields than the hub takes (row B11).
    TooManyTopics {
        /// The most the hub takes.
        max: usize,
    },
    /// A field longer than the hub takes (row B11).
    FieldTooLong {
        /// The field's name.
        field: String,
        /// The most bytes the hub takes.
        max: usize,
    },
    /// A `topic` under the hub's own namespace, which only the hub
    /// publishes to (its subscription events; row B10).
    ReservedTopic(String),
    /// An `id` starting with `#` (row B4), `earliest` (the cursor of the
    /// whole history, row F5), or one an event or the `Last-Event-ID`
    /// header cannot carry (a control character; row B5).
    InvalidId(String),
    /// A `type` an event cannot carry: a line break (row B5).
    InvalidType(String),
    /// A `retry` that is not ASCII digits (row B6).
    InvalidRetry(String),
    /// A name or value that is not UTF-8 once percent-decoded (row B1).
    NotUtf8,
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormError::NoTopic => f.write_str("an update needs at least one topic field"),
            FormError::TooManyTopics { max } => write!(f, "an update has at most {max} topics"),
            FormError::FieldTooLong { field, max } => {
                write!(f, "the {field} field is longer than {max} bytes")
            }
            FormError::ReservedTopic(topic) => {
                write!(f, "topic {topic:?} is in the hub's reserved namespace")
            }
            FormError::InvalidId(id) => write!(
                f,
                "id {id:?} is not usable: it must not be \"earliest\", start with '#' \
                 nor hold a control character"
            ),
            FormError::InvalidType(event) => {
                write!(
                    f,
                    "type {event:?} is not usable: it must not hold a line break"
                )
            }
            FormError::InvalidRetry(retry) => {
                write!(f, "retry {retry:?} is not a number of milliseconds")
            }
            FormError::NotUtf8 => f.write_str("the form is not UTF-8 once percent-decoded"),
        }
    }
}

impl std::error::Error for FormError {}

/// Whether every name and value of a form body is UTF-8 once
/// percent-decoded (`+` decodes to a space, which is).
fn is_utf8_form(body: &[u8]) -> bool {
    body.split(|&b| b == b'&' || b == b'=')
        .all(|part| percent_encoding::percent_decode(part).decode_utf8().is_ok())
}

/// The path under which the hub publishes its own updates (subscription
/// events), refused as a publisher's topic.
const RESERVED: &str = "/.well-known/mercure";

impl Update {
    /// Reads an `application/x-www-form-urlencoded` body (row B1; `+` is a
    /// space, as PHP encodes), ignoring unknown fields (row B7).
    ///
    /// # Errors
    ///
    /// A [`FormError`] for a field the protocol or the limits refuse.
    pub fn from_form(body: &[u8], limits: FormLimits) -> Result<Update, FormError> {
        let mut update = Update {
            topics: Vec::new(),
            data: String::new(),
            private: false,
            id: None,
            event: None,
            retry: None,
        };
        // Decoding replaces what is not UTF-8: refused instead, so that an
        // update is never published other than it was sent.
        if !is_utf8_form(body) {
            return Err(FormError::NotUtf8);
        }
        for (name, value) in form_urlencoded::parse(body) {
            if value.len() > limits.max_field && name != "data" {
                return Err(FormError::FieldTooLong {
                    field: name.into_owned(),
                    max: limits.max_field,
                });
            }
            match &*name {
                "topic" => {
                    if update.topics.len() == limits.max_topics {
                        return Err(FormError::TooManyTopics {
                            max: limits.max_topics,
                        });
                    }
                    if value.contains(RESERVED) {
                        return Err(FormError::ReservedTopic(value.into_owned()));
                    }
                    update.topics.push(Topic::from(value.into_owned()));
                }
                "data" => update.data = value.into_owned(),
                "private" => update.private = true,
                // An empty `id` is none: the hub makes one, as for an
                // update without the field, rather than an event that
                // resets its subscribers' last event ID.
                "id" if value.is_empty() => update.id = None,
                "id" => {
                    let id = value.into_owned();
                    // `earliest` is the cursor of all the history (row F5);
                    // an ID a header cannot carry (a control character) would
                    // break the `Last-Event-ID` of every subscriber's
                    // reconnection.
                    if id.starts_with('#')
                        || id == "earliest"
                        || HeaderValue::from_bytes(id.as_bytes()).is_err()
                    {
                        return Err(FormError::InvalidId(id));
                    }
                    match EventId::try_from(id.as_str()) {
                        Ok(valid) => update.id = Some(valid),
                        Err(_) => return Err(FormError::InvalidId(id)),
                    }
                }
                "type" => match EventType::try_from(&*value) {
                    Ok(event) => update.event = Some(event),
                    Err(_) => return Err(FormError::InvalidType(value.into_owned())),
                },
                "retry" => update.retry = Some(retry(&value)?),
                _ => {}
            }
        }
        if update.topics.is_empty() {
            return Err(FormError::NoTopic);
        }
        Ok(update)
    }

    /// The event subscribers get, with `id` (the publisher's, or the one
    /// the hub made).
    pub fn message(&self, id: EventId) -> Message {
        let mut message = Message::new().id(id).data(self.data.as_str());
        if let Some(event) = &self.event {
            message = message.event(event.clone());
        }
        if let Some(retry) = self.retry {
            message = message.retry(retry);
        }
        message
    }

    /// What the update is routed by: its topics, and whether it is
    /// private.
    pub fn routing(&self) -> Routing {
        Routing::new(self.topics.iter().cloned()).private(self.private)
    }
}

/// Digits only (row B6): no sign, no space, no unit.
fn retry(value: &str) -> Result<Duration, FormError> {
    let invalid = || FormError::InvalidRetry(value.to_owned());
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let millis: u64 = value.parse().map_err(|_| invalid())?;
    Ok(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> Result<Update, FormError> {
        Update::from_form(body.as_bytes(), FormLimits::default())
    }

    #[test]
    fn b1_b2_b3_a_php_encoded_form_with_two_topics_and_private() {
        let update = form(
            "topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&topic=%2Fauthors%2F7\
             &data=%7B%22title%22%3A+%22Dune%22%7D&private=on",
        )
        .unwrap();
        assert_eq!(
            update.topics,
            [
                Topic::from("https://example.com/books/1"),
                Topic::from("/authors/7")
            ]
        );
        assert_eq!(update.data, r#"{"title": "Dune"}"#);
        assert!(update.private);
        assert_eq!(
            update.routing().canonical().unwrap().as_str(),
            "https://example.com/books/1"
        );
    }

    #[test]
    fn b3_private_is_present_whatever_its_value() {
        for body in [
            "topic=t&private",
            "topic=t&private=",
            "topic=t&private=false",
        ] {
            assert!(form(body).unwrap().private, "{body}");
        }
        assert!(!form("topic=t").unwrap().private);
    }

    #[test]
    fn b2_a_form_without_topic_is_refused() {
        assert_eq!(form("data=x"), Err(FormError::NoTopic));
    }

    #[test]
    fn b4_f5_an_id_is_kept_unless_empty_earliest_or_it_starts_with_a_hash_or_breaks_a_line() {
        assert_eq!(form("topic=t&id=urn:a").unwrap().id.unwrap(), "urn:a");
        assert!(matches!(
            form("topic=t&id=%23frag"),
            Err(FormError::InvalidId(_))
        ));
        assert!(matches!(
            form("topic=t&id=a%0Ab"),
            Err(FormError::InvalidId(_))
        ));
        assert!(matches!(
            form("topic=t&id=earliest"),
            Err(FormError::InvalidId(_))
        ));
        for control in ["a%01b", "a%7Fb", "a%1Bb"] {
            assert!(
                matches!(
                    form(&format!("topic=t&id={control}")),
                    Err(FormError::InvalidId(_))
                ),
                "{control}"
            );
        }
        // UTF-8 and a tab a header carries.
        assert_eq!(
            form("topic=t&id=caf%C3%A9%09x").unwrap().id.unwrap(),
            "café\tx"
        );
        // Empty, it is none: the hub makes one.
        assert_eq!(form("topic=t&id=").unwrap().id, None);
        assert_eq!(form("topic=t&id=urn:a&id=").unwrap().id, None);
    }

    #[test]
    fn b5_b6_type_and_retry() {
        let update = form("topic=t&type=tick&retry=2500").unwrap();
        assert_eq!(update.event.unwrap(), "tick");
        assert_eq!(update.retry, Some(Duration::from_millis(2500)));
        assert!(matches!(
            form("topic=t&type=a%0Db"),
            Err(FormError::InvalidType(_))
        ));
        for retry in ["-1", "1.5", "+3", "", "1s"] {
            assert!(
                matches!(
                    form(&format!("topic=t&retry={retry}")),
                    Err(FormError::InvalidRetry(_))
                ),
                "{retry}"
            );
        }
    }

    #[test]
    fn b7_unknown_fields_are_ignored() {
        assert_eq!(form("topic=t&colour=blue").unwrap().topics.len(), 1);
    }

    #[test]
    fn b10_the_hubs_own_namespace_is_refused() {
        let body = "topic=%2F.well-known%2Fmercure%2Fsubscriptions%2Fx%2Fy";
        assert!(matches!(form(body), Err(FormError::ReservedTopic(_))));
    }

    #[test]
    fn b11_limits_on_topics_and_fields() {
        let limits = FormLimits {
            max_topics: 2,
            max_field: 5,
        };
        let parse = |body: &str| Update::from_form(body.as_bytes(), limits);
        assert_eq!(
            parse("topic=a&topic=b&topic=c"),
            Err(FormError::TooManyTopics { max: 2 })
        );
        assert!(matches!(
            parse("topic=a&id=123456"),
            Err(FormError::FieldTooLong { .. })
        ));
        assert!(matches!(
            parse("topic=abcdef"),
            Err(FormError::FieldTooLong { .. })
        ));
        assert!(parse("topic=a&topic=b&id=12345").is_ok());
        // The data's bound is the body's.
        assert!(parse("topic=a&data=123456789").is_ok());
    }

    #[test]
    fn b1_a_form_that_is_not_utf8_once_decoded_is_refused() {
        for body in ["topic=t&data=%FF", "topic=%C3&data=x", "topic=t&%E2%82=x"] {
            assert_eq!(form(body), Err(FormError::NotUtf8), "{body}");
        }
        assert_eq!(
            Update::from_form(b"topic=t&data=\xff", FormLimits::default()),
            Err(FormError::NotUtf8)
        );
        let update = form("topic=t&data=%E2%82%AC+%2B%25&id=%").unwrap();
        assert_eq!(update.data, "€ +%");
        assert_eq!(update.id.unwrap(), "%");
    }

    #[test]
    fn a4_an_update_without_data_still_has_a_data_line() {
        let update = form("topic=t").unwrap();
        let bytes = update.message(EventId::from_static("1")).to_bytes();
        assert_eq!(bytes, "id: 1\ndata: \n\n");
        let lines = form("topic=t&data=a%0D%0Ab%0Ac").unwrap();
        let bytes = lines.message(EventId::from_static("2")).to_bytes();
        assert_eq!(bytes, "id: 2\ndata: a\ndata: b\ndata: c\n\n");
    }
}
