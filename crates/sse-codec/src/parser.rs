//! Interpreting the event stream: fields to events.

use crate::{
    DEFAULT_MAX_EVENT_SIZE, Event, EventId, Field, FieldParser, ParseError, line::Quick, text::Text,
};
use alloc::string::String;
use bytes::{Buf, Bytes, BytesMut};
use core::time::Duration;

/// One thing [`Parser::next_item`] found in the stream: an event, or what
/// [`Parser::next_event`] does not hand out (comments and `retry` fields).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Item {
    /// A dispatched event.
    Event(Event),
    /// A comment line (`: text`): the text after the colon, one leading
    /// space removed, decoded as UTF-8 with U+FFFD for invalid sequences.
    /// Clients ignore comments; servers use them for keep-alive.
    Comment(String),
    /// A valid `retry` field: the stream's new reconnection time.
    Retry(Duration),
}

/// An incremental, sans-IO parser for `text/event-stream`, following HTML
/// "Parsing an event stream" and "Interpreting an event stream" to the
/// letter.
///
/// Feed it chunks of any size (one byte at a time gives exactly the events
/// of one big chunk) and pull out [`Event`]s. Lines are found with a SIMD
/// scan and never scanned twice; the data of a single-line event in a
/// `Bytes` chunk is handed out without copying.
///
/// Memory is bounded: no line and no event's data may exceed the maximum
/// event size ([`DEFAULT_MAX_EVENT_SIZE`] unless set with
/// [`with_max_event_size`](Parser::with_max_event_size)). An event that does
/// is reported as [`ParseError::EventTooLarge`] and skipped up to the next
/// blank line; the events after it are parsed as usual.
///
/// # Examples
///
/// ```
/// use sse_codec::Parser;
///
/// let mut parser = Parser::new();
/// let mut events = Vec::new();
/// for chunk in ["data: hel", "lo\n\nretry: 3000\n", "data: world\n\n"] {
///     parser.feed(chunk.as_bytes());
///     while let Some(event) = parser.next_event()? {
///         events.push(event.data().to_owned());
///     }
/// }
/// parser.finish();
/// assert_eq!(events, ["hello", "world"]);
/// assert_eq!(parser.retry(), Some(std::time::Duration::from_secs(3)));
/// # Ok::<(), sse_codec::ParseError>(())
/// ```
#[derive(Debug)]
pub struct Parser {
    fields: FieldParser,
    data: Data,
    event_type: Option<Bytes>,
    /// The spec's "last event ID buffer" when an `id` field changed it
    /// since the last dispatch; otherwise the buffer equals
    /// `last_event_id`, and dispatching need not touch either.
    id_buffer: Option<EventId>,
    /// The spec's "last event ID string": the buffer as of the last blank
    /// line, which is what a reconnecting client sends.
    last_event_id: EventId,
    retry: Option<Duration>,
    mode: Mode,
    input: Input,
    dispatch_unterminated: bool,
    /// The buffer multi-line data is joined in; its allocation is reused
    /// once the previous event's data has been dropped.
    scratch: BytesMut,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// Collecting the fields of an event.
    Collect,
    /// Skipping the rest of an oversize event, up to the next blank line.
    Skip,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Input {
    /// More input may be fed.
    Open,
    /// `finish` was called; the rest of the fed input is still returned.
    Ended,
    /// The end of the stream was processed.
    Done {
        /// Whether the stream ended inside an event.
        cut_off: bool,
    },
}

/// The spec's data buffer, kept as the values themselves so that a
/// single-line event needs no copy.
#[derive(Debug, Default)]
enum Data {
    /// No `data` field yet: the event will not be dispatched.
    #[default]
    Empty,
    /// One `data` field.
    One(Bytes),
    /// Several, joined with LF; `len` counts the spec's buffer with one LF
    /// per value.
    Many(BytesMut),
}

impl Data {
    /// The size of the spec's data buffer (each value plus one LF).
    fn buffer_len(&self) -> usize {
        match self {
            Data::Empty => 0,
            Data::One(value) => value.len() + 1,
            Data::Many(joined) => joined.len() + 1,
        }
    }

    /// Appends a data line's value, with its LF, if the buffer stays within
    /// `max`; `false` if it would not. The first value is `shared()`, the
    /// input's own memory; later ones are joined in `scratch`'s memory,
    /// which is reused from event to event.
    #[inline]
    fn push(
        &mut self,
        scratch: &mut BytesMut,
        value: &[u8],
        max: usize,
        shared: impl FnOnce() -> Bytes,
    ) -> bool {
        if self.buffer_len() + value.len() >= max {
            return false;
        }
        match self {
            Data::Empty => *self = Data::One(shared()),
            Data::One(first) => {
                let mut joined = core::mem::take(scratch);
                // Room for a few more lines like these two.
                joined.reserve(4 * (first.len() + 1 + value.len()));
                joined.extend_from_slice(first);
                joined.extend_from_slice(b"\n");
                joined.extend_from_slice(value);
                *self = Data::Many(joined);
            }
            Data::Many(joined) => {
                joined.extend_from_slice(b"\n");
                joined.extend_from_slice(value);
            }
        }
        true
    }
}

impl Default for Parser {
    fn default() -> Parser {
        Parser::new()
    }
}

impl Parser {
    /// A parser with the default maximum event size,
    /// [`DEFAULT_MAX_EVENT_SIZE`].
    pub fn new() -> Parser {
        Parser::with_max_event_size(DEFAULT_MAX_EVENT_SIZE)
    }

    /// A parser that rejects events larger than `max` bytes: any line
    /// (line end excluded) or the data buffer (each `data` value plus one
    /// LF) longer than `max`.
    pub fn with_max_event_size(max: usize) -> Parser {
        Parser {
            fields: FieldParser::with_max_line_size(max),
            data: Data::Empty,
            event_type: None,
            id_buffer: None,
            last_event_id: EventId::default(),
            retry: None,
            mode: Mode::Collect,
            input: Input::Open,
            dispatch_unterminated: false,
            scratch: BytesMut::new(),
        }
    }

    /// Whether an event still open at the end of the stream is dispatched.
    ///
    /// Off by default, as the spec says: "If the file ends in the middle of
    /// an event, before the final empty line, the incomplete event is not
    /// dispatched." Turn it on for servers that forget the final blank line.
    #[must_use]
    pub fn dispatch_unterminated(mut self, yes: bool) -> Parser {
        self.dispatch_unterminated = yes;
        self
    }

    /// Starts from a last event ID, as a reconnecting client does: events
    /// report it until the stream sets another.
    #[must_use]
    pub fn with_last_event_id(mut self, id: EventId) -> Parser {
        self.id_buffer = None;
        self.last_event_id = id;
        self
    }

    /// The maximum event size.
    pub fn max_event_size(&self) -> usize {
        self.fields.max_line_size()
    }

    /// Adds input. `Bytes` chunks are kept, not copied, and any other
    /// [`Buf`] (such as `&[u8]`) is copied once; either way a line that
    /// spans chunks is copied into one buffer, and a piece of up to 32
    /// bytes without a line end goes there as it is fed. Input fed after
    /// [`finish`](Parser::finish) is ignored.
    #[inline]
    pub fn feed<B: Buf>(&mut self, chunk: B) {
        if self.input == Input::Open {
            self.fields.feed(chunk);
        }
    }

    /// Marks the end of the stream. The events still in the input fed so
    /// far remain available from [`next_event`](Parser::next_event); a
    /// final event without its blank line is discarded (unless
    /// [`dispatch_unterminated`](Parser::dispatch_unterminated)), and
    /// [`is_partial`](Parser::is_partial) then tells whether there was one.
    pub fn finish(&mut self) {
        if self.input == Input::Open {
            self.input = Input::Ended;
        }
    }

    /// Whether [`finish`](Parser::finish) was called and every event has
    /// been returned.
    pub fn is_finished(&self) -> bool {
        matches!(self.input, Input::Done { .. })
    }

    /// Whether the input so far stops inside an event: data or an event
    /// type not yet dispatched by a blank line, or an unterminated line
    /// other than a comment. After the end of the stream, whether the stream
    /// was cut off inside an event.
    ///
    /// It describes the input parsed so far: ask once
    /// [`next_event`](Parser::next_event) returned `None`, so that
    /// everything fed has been parsed.
    pub fn is_partial(&self) -> bool {
        match self.input {
            Input::Done { cut_off } => cut_off,
            _ => {
                let line = self.fields.partial_line();
                self.open_event(!line.is_empty() && line[0] != b':')
            }
        }
    }

    /// Whether an event is under way, given whether an unterminated line
    /// other than a comment is.
    fn open_event(&self, unterminated_field: bool) -> bool {
        unterminated_field
            || self.mode == Mode::Skip
            || self.event_type.is_some()
            || !matches!(self.data, Data::Empty)
    }

    /// The reconnection time the stream set with its latest valid `retry`
    /// field, if any. Updated as soon as the field is parsed, whether or not
    /// an event follows.
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// The last event ID as of the latest dispatch point (blank line): what
    /// a client sends in `Last-Event-ID` when it reconnects. An `id` field
    /// in an event that was never completed does not count.
    pub fn last_event_id(&self) -> &EventId {
        &self.last_event_id
    }

    /// The next event, or `None` when the input fed so far holds no
    /// further complete event.
    ///
    /// # Errors
    ///
    /// [`ParseError::EventTooLarge`] when an event exceeds the maximum
    /// size; that event is skipped and the next call goes on after it.
    #[inline]
    pub fn next_event(&mut self) -> Result<Option<Event>, ParseError> {
        if self.drained() {
            return Ok(None);
        }
        if let Some(event) = self.quick_event() {
            return Ok(Some(event));
        }
        self.next_event_slow()
    }

    /// The commonest event, whole in the input, without a call: one `data`
    /// line (after an `event` line or not) and a blank line, as a token of
    /// an LLM's answer comes. Anything else is left to the layers below.
    #[inline(always)]
    fn quick_event(&mut self) -> Option<Event> {
        if self.mode != Mode::Collect || !matches!(self.data, Data::Empty) {
            return None;
        }
        loop {
            // Only these lines: a blank one found here would be consumed.
            if !matches!(self.fields.lines.unread().first(), Some(b'd' | b'e')) {
                return None;
            }
            match self.fields.lines.quick()? {
                Quick::Data { start, end } => {
                    if let Some(data) = self.one_line_event(start, end) {
                        return Some(self.event_with(data));
                    }
                    self.fields.lines.keep_scanned(end);
                    return None;
                }
                Quick::Event { start, end } => self.quick_event_type(start, end),
                Quick::Blank => unreachable!("the line starts with d or e"),
            }
        }
    }

    /// Takes the value of the `event` line that [`quick`](Lines::quick)
    /// found at `start..end`: "Set the event type buffer to field value."
    #[inline(always)]
    fn quick_event_type(&mut self, start: usize, end: usize) {
        self.event_type = Some(self.fields.lines.buffered(start, end));
        self.fields.lines.consume(end);
    }

    fn next_event_slow(&mut self) -> Result<Option<Event>, ParseError> {
        loop {
            match self.next::<false>()? {
                Some(Item::Event(event)) => return Ok(Some(event)),
                Some(_) => {}
                None => return Ok(None),
            }
        }
    }

    /// The next event, comment or `retry` field, in stream order, or `None`
    /// when the input fed so far holds no further complete one.
    ///
    /// The same events as [`next_event`](Parser::next_event), with the
    /// comments and reconnection times between them; for clients that show
    /// comments and tools that log everything. A comment or `retry` in an
    /// oversize event is not handed out (a `retry` there still sets
    /// [`retry`](Parser::retry)), nor is one on the last, unterminated line
    /// of a stream.
    ///
    /// # Examples
    ///
    /// ```
    /// use sse_codec::{Item, Parser};
    /// use std::time::Duration;
    ///
    /// let mut parser = Parser::new();
    /// parser.feed(&b": hi\nretry: 10\ndata: x\n\n"[..]);
    /// assert_eq!(parser.next_item()?, Some(Item::Comment("hi".into())));
    /// assert_eq!(parser.next_item()?, Some(Item::Retry(Duration::from_millis(10))));
    /// assert!(matches!(parser.next_item()?, Some(Item::Event(e)) if e.data() == "x"));
    /// assert_eq!(parser.next_item()?, None);
    /// # Ok::<(), sse_codec::ParseError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`next_event`](Parser::next_event).
    #[inline]
    pub fn next_item(&mut self) -> Result<Option<Item>, ParseError> {
        if self.drained() {
            return Ok(None);
        }
        self.next_item_slow()
    }

    fn next_item_slow(&mut self) -> Result<Option<Item>, ParseError> {
        self.next::<true>()
    }

    /// Nothing to do until more input is fed (or the input ends): the call
    /// after a chunk's last event, and every call while a long line or an
    /// event arrives in small pieces, returns here without a scan.
    #[inline]
    fn drained(&self) -> bool {
        self.input != Input::Ended && self.fields.lines.is_drained()
    }

    /// The next event, or with `ALL` also comments and retries.
    #[inline(always)]
    fn next<const ALL: bool>(&mut self) -> Result<Option<Item>, ParseError> {
        loop {
            // Blank and `data:` lines whole in the chunk, in an event being
            // collected, skip the line and field layers.
            if self.mode == Mode::Collect {
                match self.fields.lines.quick() {
                    Some(Quick::Blank) => {
                        if let Some(event) = self.dispatch() {
                            return Ok(Some(Item::Event(event)));
                        }
                        continue;
                    }
                    Some(Quick::Data { start, end }) => {
                        // A whole one-line event (`data:`, then a blank
                        // line), the commonest, is dispatched at once,
                        // without the data buffer.
                        if matches!(self.data, Data::Empty) {
                            if let Some(data) = self.one_line_event(start, end) {
                                return Ok(Some(Item::Event(self.event_with(data))));
                            }
                        }
                        let lines = &self.fields.lines;
                        // No line value is made: the first data line is
                        // shared with the input, later ones are copied.
                        let fits = self.data.push(
                            &mut self.scratch,
                            &lines.unread()[start..end],
                            lines.max_line(),
                            || lines.buffered(start, end),
                        );
                        self.fields.lines.consume(end);
                        if !fits {
                            return Err(self.data_too_large());
                        }
                        continue;
                    }
                    Some(Quick::Event { start, end }) => {
                        self.quick_event_type(start, end);
                        continue;
                    }
                    None => {}
                }
            }
            let line = match self.fields.lines.next_line() {
                Some(Ok(line)) => line,
                // One error per event: a second long line in an event that
                // is already being skipped is skipped silently.
                Some(Err(_)) if self.mode == Mode::Skip => continue,
                Some(Err(err)) => {
                    self.start_skipping();
                    return Err(err);
                }
                None => return Ok(self.end_of_input()?.map(Item::Event)),
            };
            // Blank lines (one per event) skip the field level. A skipped
            // event ends here too, and its `id` still becomes the last
            // event ID, so that a client resumes after it, not before.
            if line.is_empty() {
                self.mode = Mode::Collect;
                if let Some(event) = self.dispatch() {
                    return Ok(Some(Item::Event(event)));
                }
                continue;
            }
            match self.mode {
                Mode::Collect => {
                    if let Some(item) = self.process(Field::from_line(line), ALL)? {
                        return Ok(Some(item));
                    }
                }
                // A skipped event's data and type are dropped; its `id` and
                // `retry` (small, bounded lines) still take effect.
                Mode::Skip => {
                    if let field @ (Field::Id(_) | Field::Retry(_)) = Field::from_line(line) {
                        self.process(field, false)?;
                    }
                }
            }
        }
    }

    /// The data of the event whose one `data` line's value
    /// [`quick`](Lines::quick) found at `start..end`, if a blank line
    /// follows in the input: the line and the blank one are consumed, and
    /// the value is shared with the input.
    #[inline(always)]
    fn one_line_event(&mut self, start: usize, end: usize) -> Option<Text> {
        let lines = &mut self.fields.lines;
        if end - start >= lines.max_line() {
            return None;
        }
        let ends = lines.ends_event(end)?;
        let checked = lines.utf8_checked(start, end);
        let value = lines.take_event(start, end, ends);
        Some(if checked {
            Text::from_checked_utf8(value)
        } else {
            Text::from_utf8_lossy(value)
        })
    }

    fn end_of_input(&mut self) -> Result<Option<Event>, ParseError> {
        if self.input != Input::Ended {
            return Ok(None);
        }
        let last = self.fields.finish();
        let cut_off = self.open_event(!matches!(last, None | Some(Field::Comment(_))));
        self.input = Input::Done { cut_off };
        if !self.dispatch_unterminated || self.mode == Mode::Skip {
            // "Once the end of the file is reached, any pending data must be
            // discarded."
            self.reset_event();
            self.mode = Mode::Collect;
            return Ok(None);
        }
        if let Some(field) = last {
            if let Err(err) = self.process(field, false) {
                self.reset_event();
                self.mode = Mode::Collect;
                return Err(err);
            }
        }
        Ok(self.dispatch())
    }

    /// Processes one field ("Interpreting an event stream"); returns the
    /// event it dispatched or, with `all`, the comment or retry it was.
    fn process(&mut self, field: Field, all: bool) -> Result<Option<Item>, ParseError> {
        match field {
            Field::Blank => return Ok(self.dispatch().map(Item::Event)),
            // "If the field name is "data": Append the field value to the
            // data buffer, then append a single U+000A LINE FEED (LF)
            // character to the data buffer."
            Field::Data(value) => self.push_data(value)?,
            // "If the field name is "event": Set the event type buffer to
            // field value."
            Field::Event(value) => self.event_type = Some(value),
            // "If the field name is "id": If the field value does not contain
            // U+0000 NULL, then set the last event ID buffer to the field
            // value. Otherwise, ignore the field."
            Field::Id(value) => {
                if memchr::memchr(0, &value).is_none() {
                    self.id_buffer =
                        Some(EventId::from_text_unchecked(Text::from_utf8_lossy(value)));
                }
            }
            // "If the field name is "retry": If the field value consists of
            // only ASCII digits, then interpret the field value as an integer
            // in base ten, and set the event stream's reconnection time to
            // that integer. Otherwise, ignore the field."
            Field::Retry(value) => {
                if !value.is_empty() && value.iter().all(u8::is_ascii_digit) {
                    let millis = value.iter().fold(0u64, |n, d| {
                        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
                    });
                    let retry = Duration::from_millis(millis);
                    self.retry = Some(retry);
                    if all {
                        return Ok(Some(Item::Retry(retry)));
                    }
                }
            }
            // "If the line starts with a U+003A COLON character (:): Ignore
            // the line." Handed out on request only.
            Field::Comment(text) => {
                if all {
                    return Ok(Some(Item::Comment(
                        String::from_utf8_lossy(&text).into_owned(),
                    )));
                }
            }
            // "Otherwise: The field is ignored."
            Field::Other { .. } => {}
        }
        Ok(None)
    }

    /// "Dispatch the event", on a blank line.
    /// "If the field name is "data": Append the field value to the data
    /// buffer, then append a single U+000A LINE FEED (LF) character to the
    /// data buffer."
    fn push_data(&mut self, value: Bytes) -> Result<(), ParseError> {
        let max = self.max_event_size();
        if !self
            .data
            .push(&mut self.scratch, &value, max, || value.clone())
        {
            return Err(self.data_too_large());
        }
        Ok(())
    }

    /// Starts skipping the event whose data outgrew the maximum size.
    #[cold]
    fn data_too_large(&mut self) -> ParseError {
        self.start_skipping();
        ParseError::EventTooLarge {
            limit: self.max_event_size(),
        }
    }

    #[inline(always)]
    fn dispatch(&mut self) -> Option<Event> {
        let data = match core::mem::take(&mut self.data) {
            // "If the data buffer is an empty string, set the data buffer
            // and the event type buffer to the empty string and return."
            // The last event ID is set all the same (below).
            Data::Empty => {
                self.take_id();
                self.event_type = None;
                return None;
            }
            // "If the data buffer's last character is a U+000A LINE FEED (LF)
            // character, then remove the last character from the data
            // buffer." The trailing LF is never stored.
            Data::One(value) => value,
            Data::Many(mut joined) => {
                let data = joined.split().freeze();
                self.scratch = joined;
                data
            }
        };
        Some(self.event(data))
    }

    /// "Set the last event ID string of the event source to the value of
    /// the last event ID buffer. The buffer does not get reset, so the last
    /// event ID string of the event source remains set to this value until
    /// the next time it is set by the server."
    #[inline(always)]
    fn take_id(&mut self) {
        if let Some(id) = self.id_buffer.take() {
            self.last_event_id = id;
        }
    }

    /// The event dispatched with `data`, the data buffer without its last
    /// LF; the event type buffer is reset.
    #[inline(always)]
    fn event(&mut self, data: Bytes) -> Event {
        self.event_with(Text::from_utf8_lossy(data))
    }

    /// [`event`](Parser::event) with its data already decoded.
    #[inline(always)]
    fn event_with(&mut self, data: Text) -> Event {
        self.take_id();
        let event_type = self.event_type.take();
        // "Initialize event's type attribute to "message", [...] If the event
        // type buffer has a value other than the empty string, change the
        // type of the newly created event to equal the value of the event
        // type buffer."
        let event_type = match event_type {
            Some(t) if !t.is_empty() => Some(Text::from_utf8_lossy(t)),
            _ => None,
        };
        let last_event_id = (!self.last_event_id.is_empty()).then(|| self.last_event_id.clone());
        Event {
            event_type,
            data,
            last_event_id,
        }
    }

    fn start_skipping(&mut self) {
        self.reset_event();
        self.mode = Mode::Skip;
    }

    fn reset_event(&mut self) {
        self.data = Data::Empty;
        self.event_type = None;
    }
}
