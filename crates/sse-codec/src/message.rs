//! Messages a server sends, and their encoding.

use crate::{Encoded, EventId, EventType, text::Text};
use alloc::vec::Vec;
use bytes::{BufMut, Bytes, BytesMut};
use core::{fmt, time::Duration};

/// An event to send: what a server writes to the `text/event-stream`.
///
/// Every part is optional. `data` is split into one `data:` line per line of
/// text (on CR, LF or CRLF), so any string is valid data; the ID and type are
/// validated newtypes, so a `Message` always encodes to a well-formed event.
///
/// A client dispatches an event only when it has data: a message with an ID
/// but no data updates the client's last event ID and nothing else; one with
/// only a `retry` or comments dispatches nothing.
///
/// The builder methods take the fields' names ([`id`](Message::id),
/// [`data`](Message::data), ...), so the getters are
/// [`get_id`](Message::get_id), [`get_data`](Message::get_data), ...: the
/// exception the API guidelines allow, and the shape of
/// [`std::process::Command`](https://doc.rust-lang.org/std/process/struct.Command.html)
/// (`arg` and `get_args`).
///
/// # Examples
///
/// ```
/// use sse_codec::{EventId, EventType, Message};
///
/// let msg = Message::new()
///     .id(EventId::from_static("1"))
///     .event(EventType::from_static("greeting"))
///     .data("hello\nworld");
///
/// assert_eq!(
///     msg.to_bytes(),
///     "id: 1\nevent: greeting\ndata: hello\ndata: world\n\n"
/// );
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Message {
    id: Option<EventId>,
    event: Option<EventType>,
    retry: Option<Duration>,
    data: Option<Text>,
    comments: Vec<Text>,
}

/// The error returned by [`Message::encode`] when the buffer has too little
/// room for the encoded message. Nothing was written.
#[derive(Clone, PartialEq, Eq)]
pub struct BufferTooSmall {
    needed: usize,
}

impl BufferTooSmall {
    /// The number of bytes the encoded message needs.
    pub fn needed(&self) -> usize {
        self.needed
    }
}

impl fmt::Debug for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferTooSmall")
            .field("needed", &self.needed)
            .finish()
    }
}

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "buffer too small for encoded event ({} bytes needed)",
            self.needed
        )
    }
}

impl core::error::Error for BufferTooSmall {}

impl Message {
    /// An empty message. Add parts with the builder methods.
    #[must_use]
    pub fn new() -> Message {
        Message::default()
    }

    /// Sets the event ID (`id:`).
    #[must_use]
    pub fn id(mut self, id: EventId) -> Message {
        self.id = Some(id);
        self
    }

    /// Sets the event type (`event:`). Unset, clients see `message`.
    #[must_use]
    pub fn event(mut self, event: EventType) -> Message {
        self.event = Some(event);
        self
    }

    /// Sets the client's reconnection time (`retry:`). It is sent in whole
    /// milliseconds, rounded up, so that a nonzero time never becomes
    /// `retry: 0` ("reconnect at once"); times past `u64::MAX` ms are sent
    /// as `u64::MAX`.
    #[must_use]
    pub fn retry(mut self, retry: Duration) -> Message {
        self.retry = Some(retry);
        self
    }

    /// Sets the data. Each line (split on CR, LF or CRLF) becomes a `data:`
    /// line; a client joins them with LF. An empty string is sent as one
    /// empty `data:` line and dispatches an event with empty data.
    #[must_use]
    pub fn data(mut self, data: impl Into<MessageData>) -> Message {
        self.data = Some(data.into().0);
        self
    }

    /// Adds a comment line (`: text`), ignored by clients; useful for
    /// keep-alive and debugging. Line ends in `comment` start new comment
    /// lines.
    #[must_use]
    pub fn comment(mut self, comment: impl Into<MessageData>) -> Message {
        self.comments.push(comment.into().0);
        self
    }

    /// Serializes `value` as JSON and sets it as the data.
    ///
    /// # Errors
    ///
    /// Returns the serializer's error when `value` cannot be serialized
    /// (for example a map with non-string keys).
    #[cfg(feature = "json")]
    pub fn json<T: serde::Serialize + ?Sized>(
        self,
        value: &T,
    ) -> Result<Message, serde_json::Error> {
        let json = serde_json::to_string(value)?;
        Ok(self.data(json))
    }

    /// The event ID, if set.
    pub fn get_id(&self) -> Option<&EventId> {
        self.id.as_ref()
    }

    /// Sets or clears the event ID in place (used by replayers that assign
    /// IDs).
    pub fn set_id(&mut self, id: Option<EventId>) {
        self.id = id;
    }

    /// The event type, if set.
    pub fn get_event(&self) -> Option<&EventType> {
        self.event.as_ref()
    }

    /// The reconnection time, if set.
    pub fn get_retry(&self) -> Option<Duration> {
        self.retry
    }

    /// The data, if set.
    pub fn get_data(&self) -> Option<&str> {
        self.data.as_ref().map(Text::as_str)
    }

    /// The comments, in order.
    pub fn get_comments(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.comments.iter().map(Text::as_str)
    }

    /// The exact number of bytes [`encode`](Message::encode) writes.
    pub fn encoded_len(&self) -> usize {
        // Saturating: on a 32-bit target, data made of line ends grows
        // sevenfold, and a length past `usize::MAX` must make `encode`
        // refuse rather than wrap.
        let mut len: usize = 1; // the blank line that ends the event
        for comment in &self.comments {
            len = len.saturating_add(lines_len(comment.as_str(), b": ".len()));
        }
        if let Some(retry) = self.retry {
            len = len.saturating_add(b"retry: \n".len() + decimal_len(retry_millis(retry)));
        }
        if let Some(id) = &self.id {
            len = len.saturating_add(b"id: \n".len() + id.len());
        }
        if let Some(event) = &self.event {
            len = len.saturating_add(b"event: \n".len() + event.len());
        }
        if let Some(data) = &self.data {
            len = len.saturating_add(lines_len(data.as_str(), b"data: ".len()));
        }
        len
    }

    /// Appends the encoded event to `buf`: comments, `retry`, `id`, `event`,
    /// the `data` lines, then the blank line that dispatches it.
    ///
    /// # Errors
    ///
    /// Returns [`BufferTooSmall`] when `buf.remaining_mut()` is less than
    /// [`encoded_len`](Message::encoded_len); `buf` is then left untouched.
    /// Growable buffers (`Vec<u8>`, `BytesMut`) never fail.
    pub fn encode<B: BufMut + ?Sized>(&self, buf: &mut B) -> Result<(), BufferTooSmall> {
        let needed = self.encoded_len();
        if buf.remaining_mut() < needed {
            return Err(BufferTooSmall { needed });
        }
        self.write(buf);
        Ok(())
    }

    /// Appends the encoded event to `buf`, growing it as needed: unlike
    /// [`encode`](Message::encode), it cannot fail, and it measures the
    /// message once.
    pub fn encode_into(&self, buf: &mut BytesMut) {
        buf.reserve(self.encoded_len());
        self.write(buf);
    }

    /// Writes the fields; the caller made room for them.
    fn write<B: BufMut + ?Sized>(&self, buf: &mut B) {
        for comment in &self.comments {
            put_lines(buf, b": ", comment.as_str());
        }
        if let Some(retry) = self.retry {
            buf.put_slice(b"retry: ");
            put_decimal(buf, retry_millis(retry));
            buf.put_u8(b'\n');
        }
        if let Some(id) = &self.id {
            put_field(buf, b"id: ", id.as_str());
        }
        if let Some(event) = &self.event {
            put_field(buf, b"event: ", event.as_str());
        }
        if let Some(data) = &self.data {
            put_lines(buf, b"data: ", data.as_str());
        }
        buf.put_u8(b'\n');
    }

    /// Encodes into a new [`Encoded`], ready to be cloned to any number of
    /// subscribers.
    pub fn to_encoded(&self) -> Encoded {
        Encoded::from_message(self)
    }

    /// Encodes into new [`Bytes`].
    pub fn to_bytes(&self) -> Bytes {
        let mut buf = BytesMut::new();
        self.encode_into(&mut buf);
        buf.freeze()
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Message");
        if let Some(id) = &self.id {
            d.field("id", id);
        }
        if let Some(event) = &self.event {
            d.field("event", event);
        }
        if let Some(retry) = &self.retry {
            d.field("retry", retry);
        }
        if let Some(data) = &self.data {
            d.field("data", data);
        }
        if !self.comments.is_empty() {
            d.field("comments", &self.comments);
        }
        d.finish()
    }
}

/// Text for [`Message::data`] and [`Message::comment`]: a `&str` or a
/// `&String` (copied), a `String` or `Bytes` (moved, not copied; invalid
/// UTF-8 in `Bytes` becomes U+FFFD), a `Cow<str>`, or an [`EventId`]
/// (shared).
#[derive(Clone, Debug)]
pub struct MessageData(Text);

impl From<&str> for MessageData {
    fn from(s: &str) -> MessageData {
        MessageData(Text::from(s))
    }
}

impl From<bytes::Bytes> for MessageData {
    /// Shares the bytes when they are valid UTF-8; invalid sequences are
    /// replaced with U+FFFD.
    fn from(bytes: bytes::Bytes) -> MessageData {
        MessageData(Text::from_utf8_lossy(bytes))
    }
}

impl From<alloc::string::String> for MessageData {
    fn from(s: alloc::string::String) -> MessageData {
        MessageData(Text::from(s))
    }
}

impl From<&alloc::string::String> for MessageData {
    fn from(s: &alloc::string::String) -> MessageData {
        MessageData(Text::from(s.as_str()))
    }
}

impl From<alloc::borrow::Cow<'_, str>> for MessageData {
    fn from(s: alloc::borrow::Cow<'_, str>) -> MessageData {
        match s {
            alloc::borrow::Cow::Borrowed(s) => s.into(),
            alloc::borrow::Cow::Owned(s) => s.into(),
        }
    }
}

impl From<EventId> for MessageData {
    fn from(s: EventId) -> MessageData {
        MessageData(Text::from_utf8_lossy(s.as_bytes().clone()))
    }
}

/// Whole milliseconds, rounded up (a nonzero time below 1 ms must not become
/// `retry: 0`, "reconnect at once"), at most `u64::MAX`.
fn retry_millis(retry: Duration) -> u64 {
    let millis = retry.as_millis() + u128::from(retry.subsec_nanos() % 1_000_000 != 0);
    u64::try_from(millis).unwrap_or(u64::MAX)
}

fn decimal_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

fn put_decimal<B: BufMut + ?Sized>(buf: &mut B, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.put_slice(&digits[i..]);
}

fn put_field<B: BufMut + ?Sized>(buf: &mut B, name: &[u8], value: &str) {
    buf.put_slice(name);
    buf.put_slice(value.as_bytes());
    buf.put_u8(b'\n');
}

/// Calls `f` with each line of `text`, split on CR, LF or CRLF as the parser
/// splits lines. A trailing line end yields a final empty line, so that
/// `"a\n"` round-trips as data `"a\n"`.
fn for_each_line(text: &str, mut f: impl FnMut(&[u8])) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for end in memchr::memchr2_iter(b'\n', b'\r', bytes) {
        if end < start {
            // The LF of a CRLF already consumed with its CR.
            continue;
        }
        f(&bytes[start..end]);
        start = end + 1;
        if bytes[end] == b'\r' && bytes.get(end + 1) == Some(&b'\n') {
            start += 1;
        }
    }
    f(&bytes[start..]);
}

fn lines_len(text: &str, prefix: usize) -> usize {
    let mut len: usize = 0;
    for_each_line(text, |line| {
        len = len.saturating_add(prefix + line.len() + 1);
    });
    len
}

fn put_lines<B: BufMut + ?Sized>(buf: &mut B, prefix: &[u8], text: &str) {
    for_each_line(text, |line| {
        buf.put_slice(prefix);
        buf.put_slice(line);
        buf.put_u8(b'\n');
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(m: &Message) -> alloc::string::String {
        alloc::string::String::from_utf8(m.to_bytes().to_vec()).unwrap()
    }

    #[test]
    fn data_lines_split_on_cr_lf_crlf() {
        let m = Message::new().data("a\rb\nc\r\nd");
        assert_eq!(enc(&m), "data: a\ndata: b\ndata: c\ndata: d\n\n");
    }

    #[test]
    fn trailing_newline_in_data_is_an_empty_data_line() {
        assert_eq!(enc(&Message::new().data("a\n")), "data: a\ndata: \n\n");
        assert_eq!(enc(&Message::new().data("")), "data: \n\n");
    }

    #[test]
    fn all_fields_in_order() {
        let m = Message::new()
            .comment("hi")
            .retry(Duration::from_millis(1500))
            .id(EventId::from_static("7"))
            .event(EventType::from_static("x"))
            .data("d");
        assert_eq!(enc(&m), ": hi\nretry: 1500\nid: 7\nevent: x\ndata: d\n\n");
        assert_eq!(m.encoded_len(), enc(&m).len());
    }

    #[test]
    fn retry_is_rounded_up_to_whole_milliseconds() {
        let retry = |d| enc(&Message::new().retry(d));
        assert_eq!(retry(Duration::ZERO), "retry: 0\n\n");
        assert_eq!(retry(Duration::from_micros(500)), "retry: 1\n\n");
        assert_eq!(retry(Duration::from_micros(1500)), "retry: 2\n\n");
        assert_eq!(retry(Duration::from_millis(1500)), "retry: 1500\n\n");
        assert_eq!(
            retry(Duration::MAX),
            alloc::format!("retry: {}\n\n", u64::MAX)
        );
        let m = Message::new().retry(Duration::from_nanos(1));
        assert_eq!(m.encoded_len(), enc(&m).len());
    }

    #[test]
    fn encode_into_small_buffer_errors_and_writes_nothing() {
        let m = Message::new().data("0123456789");
        let mut storage = [0u8; 8];
        let mut slice = &mut storage[..];
        let err = m.encode(&mut slice).unwrap_err();
        assert_eq!(err.needed(), m.encoded_len());
        assert_eq!(storage, [0u8; 8]);
    }

    #[test]
    fn encoded_len_matches_for_edge_values() {
        for retry in [0, 9, 10, 99, 100, u64::MAX] {
            let m = Message::new().retry(Duration::from_millis(retry));
            assert_eq!(m.encoded_len(), m.to_bytes().len(), "{retry}");
        }
        let m = Message::new().retry(Duration::MAX);
        assert_eq!(m.encoded_len(), m.to_bytes().len());
    }

    #[test]
    fn data_from_borrowed_owned_and_shared_text() {
        let borrowed = alloc::string::String::from("a");
        let m = Message::new().data(borrowed.as_str()).comment(&borrowed);
        assert_eq!(enc(&m), ": a\ndata: a\n\n");
        let shared = Bytes::from_static(b"b\xFF");
        assert_eq!(enc(&Message::new().data(shared)), "data: b\u{FFFD}\n\n");
    }

    #[test]
    fn empty_message_is_a_blank_line() {
        assert_eq!(enc(&Message::new()), "\n");
    }
}
