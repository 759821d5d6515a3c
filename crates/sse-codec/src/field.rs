//! The raw field level: every line of the stream as a field, comments
//! included.

use crate::{DEFAULT_MAX_EVENT_SIZE, ParseError, line::Lines};
use bytes::{Buf, Bytes};

/// One line of an event stream, split into field name and value as in HTML
/// "Interpreting an event stream", but not interpreted: values are raw bytes
/// and nothing is dispatched.
///
/// For proxies and tools that need every field, comments included. Most
/// users want [`Parser`](crate::Parser), which builds [`Event`](crate::Event)s
/// from these.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Field {
    /// A blank line: the end of an event.
    Blank,
    /// `data: value`.
    Data(Bytes),
    /// `event: value`.
    Event(Bytes),
    /// `id: value`.
    Id(Bytes),
    /// `retry: value`, not yet checked to be digits.
    Retry(Bytes),
    /// `: text` (the text after the colon, one leading space removed).
    Comment(Bytes),
    /// A field with any other name, which clients ignore.
    Other {
        /// The field name.
        name: Bytes,
        /// The field value.
        value: Bytes,
    },
}

impl Field {
    /// Splits one line (without its line end) into a field.
    ///
    /// "If the line is empty (a blank line): Dispatch the event. If the line
    /// starts with a U+003A COLON character (:): Ignore the line. If the line
    /// contains a U+003A COLON character (:): Collect the characters on the
    /// line before the first U+003A COLON character (:), and let field be
    /// that string. Collect the characters on the line after the first
    /// U+003A COLON character (:), and let value be that string. If value
    /// starts with a U+0020 SPACE character, remove it from value. [...]
    /// Otherwise, the string is not empty but does not contain a U+003A COLON
    /// character (:): Process the field using the whole line as the field
    /// name, and the empty string as the field value."
    pub fn from_line(mut line: Bytes) -> Field {
        if line.is_empty() {
            return Field::Blank;
        }
        // The commonest line by far: no search for the colon.
        if line.starts_with(b"data:") {
            line.advance(5);
            if line.first() == Some(&b' ') {
                line.advance(1);
            }
            return Field::Data(line);
        }
        let Some(colon) = memchr::memchr(b':', &line) else {
            return match &line[..] {
                b"data" => Field::Data(Bytes::new()),
                b"event" => Field::Event(Bytes::new()),
                b"id" => Field::Id(Bytes::new()),
                b"retry" => Field::Retry(Bytes::new()),
                _ => Field::Other {
                    name: line,
                    value: Bytes::new(),
                },
            };
        };
        let kind: fn(Bytes) -> Field = match &line[..colon] {
            b"" => Field::Comment,
            b"event" => Field::Event,
            b"id" => Field::Id,
            b"retry" => Field::Retry,
            _ => {
                let name = line.split_to(colon);
                line.advance(1);
                if line.first() == Some(&b' ') {
                    line.advance(1);
                }
                return Field::Other { name, value: line };
            }
        };
        line.advance(colon + 1);
        if line.first() == Some(&b' ') {
            line.advance(1);
        }
        kind(line)
    }
}

/// An incremental parser from bytes to raw [`Field`]s.
///
/// Same input handling as [`Parser`](crate::Parser) (any chunking, CR, LF and
/// CRLF line ends, a leading BOM stripped, lines bounded by the maximum event
/// size), without interpreting the fields.
///
/// # Examples
///
/// ```
/// use sse_codec::{Field, FieldParser};
///
/// let mut parser = FieldParser::new();
/// parser.feed(&b": hi\ndata: x\n\n"[..]);
/// assert_eq!(parser.next_field(), Some(Ok(Field::Comment("hi".into()))));
/// assert_eq!(parser.next_field(), Some(Ok(Field::Data("x".into()))));
/// assert_eq!(parser.next_field(), Some(Ok(Field::Blank)));
/// assert_eq!(parser.next_field(), None);
/// ```
#[derive(Debug)]
pub struct FieldParser {
    pub(crate) lines: Lines,
}

impl Default for FieldParser {
    fn default() -> FieldParser {
        FieldParser::new()
    }
}

impl FieldParser {
    /// A parser with the default maximum line size,
    /// [`DEFAULT_MAX_EVENT_SIZE`].
    pub fn new() -> FieldParser {
        FieldParser::with_max_line_size(DEFAULT_MAX_EVENT_SIZE)
    }

    /// A parser that rejects lines longer than `max` bytes (line end
    /// excluded) with [`ParseError::EventTooLarge`], without buffering them.
    pub fn with_max_line_size(max: usize) -> FieldParser {
        FieldParser {
            lines: Lines::new(max),
        }
    }

    /// Adds input. `Bytes` chunks are kept, not copied, and any other
    /// [`Buf`] is copied once; a line that spans chunks is copied into one
    /// buffer.
    #[inline]
    pub fn feed<B: Buf>(&mut self, chunk: B) {
        self.lines.feed(chunk);
    }

    /// The next field, or `None` when all complete lines fed so far have
    /// been returned.
    ///
    /// # Errors
    ///
    /// [`ParseError::EventTooLarge`] for a line longer than the maximum; the
    /// rest of that line is skipped and parsing goes on.
    pub fn next_field(&mut self) -> Option<Result<Field, ParseError>> {
        self.lines
            .next_line()
            .map(|line| line.map(Field::from_line))
    }

    /// Ends the input and returns the last line if it had no line end. The
    /// spec discards such a line ("If the file ends in the middle of an
    /// event, before the final empty line, the incomplete event is not
    /// dispatched"); it is returned for callers that want to see it.
    ///
    /// Call it once [`next_field`](FieldParser::next_field) returns `None`.
    pub fn finish(&mut self) -> Option<Field> {
        self.lines.take_unterminated().map(Field::from_line)
    }

    /// The unterminated line buffered so far.
    pub fn partial_line(&self) -> &[u8] {
        self.lines.partial_line()
    }

    /// The maximum line size.
    pub fn max_line_size(&self) -> usize {
        self.lines.max_line()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(line: &'static str) -> Field {
        Field::from_line(Bytes::from_static(line.as_bytes()))
    }

    #[test]
    fn one_leading_space_removed() {
        assert_eq!(f("data:  x"), Field::Data(" x".into()));
        assert_eq!(f("data:x"), Field::Data("x".into()));
    }

    #[test]
    fn split_at_first_colon() {
        assert_eq!(f("data: a:b"), Field::Data("a:b".into()));
    }

    #[test]
    fn no_colon_means_whole_line_is_the_name() {
        assert_eq!(f("data"), Field::Data("".into()));
        assert_eq!(
            f("foo"),
            Field::Other {
                name: "foo".into(),
                value: "".into()
            }
        );
    }

    #[test]
    fn field_names_are_case_sensitive() {
        assert!(matches!(f("Data: x"), Field::Other { .. }));
    }

    #[test]
    fn comment_line() {
        assert_eq!(f(":"), Field::Comment("".into()));
        assert_eq!(f(": hi"), Field::Comment("hi".into()));
        assert_eq!(f(""), Field::Blank);
    }
}
