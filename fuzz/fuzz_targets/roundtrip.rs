//! Any valid `Message`, encoded and parsed back, gives its ID, type, data
//! (line ends normalized to LF) and retry.
#![no_main]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use sse_codec::{Encoded, EventId, EventType, Message, Parser};
use std::time::Duration;

struct Case {
    message: Message,
    id: Option<String>,
    event: Option<String>,
    data: Option<String>,
    retry: Option<u64>,
}

fn case(u: &mut Unstructured<'_>) -> Result<Case> {
    let mut message = Message::new();
    let mut comments: Vec<String> = u.arbitrary()?;
    comments.truncate(4);
    for comment in comments {
        message = message.comment(comment);
    }
    let id: Option<String> = u.arbitrary::<Option<String>>()?.map(|id| id.replace(['\r', '\n', '\0'], ""));
    if let Some(id) = &id {
        message = message.id(EventId::try_from(id.as_str()).expect("no CR, LF or NUL"));
    }
    let event: Option<String> = u.arbitrary::<Option<String>>()?.map(|t| t.replace(['\r', '\n'], ""));
    if let Some(event) = &event {
        message = message.event(EventType::try_from(event.as_str()).expect("no CR or LF"));
    }
    let retry: Option<u64> = u.arbitrary()?;
    if let Some(ms) = retry {
        message = message.retry(Duration::from_millis(ms));
    }
    let data: Option<String> = u.arbitrary()?;
    if let Some(data) = &data {
        message = message.data(data.clone());
    }
    Ok(Case {
        message,
        id,
        event,
        data,
        retry,
    })
}

fuzz_target!(|bytes: &[u8]| {
    let Ok(case) = case(&mut Unstructured::new(bytes)) else {
        return;
    };
    let wire = case.message.to_bytes();
    assert_eq!(wire.len(), case.message.encoded_len());
    assert_eq!(Encoded::from(&case.message).as_bytes(), &wire);
    let mut buf = bytes::BytesMut::from(&b"prefix"[..]);
    case.message.encode(&mut buf).expect("a BytesMut grows");
    assert_eq!(&buf[6..], &wire[..]);

    // Twice over: whole, then one byte at a time.
    for chunk_size in [wire.len().max(1), 1] {
        let mut parser = Parser::new();
        let mut events = Vec::new();
        for chunk in wire.chunks(chunk_size) {
            parser.feed(chunk);
            while let Some(event) = parser.next_event().expect("within the maximum size") {
                events.push(event);
            }
        }
        parser.finish();
        assert!(parser.next_event().expect("no error").is_none());
        assert!(!parser.is_partial(), "an encoded message ends with its blank line");

        let id = case.id.as_deref().unwrap_or("");
        assert_eq!(parser.last_event_id().as_str(), id);
        assert_eq!(parser.retry(), case.retry.map(Duration::from_millis));
        match &case.data {
            None => assert!(events.is_empty(), "dispatched without data: {events:?}"),
            Some(data) => {
                assert_eq!(events.len(), 1, "{events:?}");
                let event = &events[0];
                assert_eq!(event.data(), data.replace("\r\n", "\n").replace('\r', "\n"));
                let expected_type = match case.event.as_deref() {
                    None | Some("") => "message",
                    Some(t) => t,
                };
                assert_eq!(event.event_type(), expected_type);
                assert_eq!(event.last_event_id().as_str(), id);
            }
        }
    }
});
