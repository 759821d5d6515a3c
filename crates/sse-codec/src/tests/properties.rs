//! Properties over generated input: any chunking gives the same events and
//! items, and any message survives `parse(encode(m))`.

use super::{Out, items, out, parse_chunks_with};
use crate::{EventId, EventType, Item, Message, Parser};
use alloc::vec;
use alloc::{string::String, vec::Vec};
use core::time::Duration;
use proptest::prelude::*;

/// Splits `input` at the given cut points.
fn split_at<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for cut in cuts {
        chunks.push(&input[start..cut]);
        start = cut;
    }
    chunks.push(&input[start..]);
    chunks
}

/// Bytes rich in what the parser branches on.
fn sse_bytes() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(&b"data"[..]),
        Just(&b"event"[..]),
        Just(&b"id"[..]),
        Just(&b"retry"[..]),
        Just(&b":"[..]),
        Just(&b": "[..]),
        Just(&b"\n"[..]),
        Just(&b"\r"[..]),
        Just(&b"\r\n"[..]),
        Just(&b"\xEF\xBB\xBF"[..]),
        Just(&b"\0"[..]),
        Just(&b"\xFF"[..]),
        Just(&b"\xE2\x82"[..]),
        // Whole characters, which chunks may cut (a chunk then starts
        // inside one).
        Just("\u{e9}".as_bytes()),
        Just("\u{20AC}".as_bytes()),
        Just("\u{1F600}".as_bytes()),
        Just(&b"12"[..]),
        Just(&b"x"[..]),
        Just(&b"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"[..]),
    ];
    prop::collection::vec(token, 0..64).prop_map(|tokens| tokens.concat())
}

fn text() -> impl Strategy<Value = String> {
    "[a-z \u{e9}\u{20AC}:\r\n]{0,40}"
}

fn id_text() -> impl Strategy<Value = String> {
    "[a-z0-9 :\u{e9}]{0,12}"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_chunking_gives_the_same_events(
        input in sse_bytes(),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        max in prop::sample::select(&[16usize, 48, 1 << 20][..]),
        unterminated in any::<bool>(),
    ) {
        let parser = || Parser::with_max_event_size(max).dispatch_unterminated(unterminated);
        let (whole, a) = parse_chunks_with(parser(), &[&input]);
        let (split, b) = parse_chunks_with(parser(), &split_at(&input, &cuts));
        prop_assert_eq!(&split, &whole);
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        let (bytewise, c) = parse_chunks_with(parser(), &bytes);
        prop_assert_eq!(&bytewise, &whole);
        for p in [&b, &c] {
            prop_assert_eq!(p.retry(), a.retry());
            prop_assert_eq!(p.last_event_id(), a.last_event_id());
            prop_assert_eq!(p.is_partial(), a.is_partial());
        }
        for out in &whole {
            if let Out::Event { data, .. } = out {
                prop_assert!(data.len() <= max);
            }
        }
        if !unterminated {
            // Items: the same events, and the same sequence in any chunking.
            let all = items(&[&input], max);
            let events: Vec<Out> = all
                .iter()
                .filter_map(|item| match item {
                    Ok(Item::Event(event)) => Some(out(event)),
                    Err(err) => Some(Out::Error(err.clone())),
                    Ok(_) => None,
                })
                .collect();
            prop_assert_eq!(&events, &whole);
            prop_assert_eq!(items(&split_at(&input, &cuts), max), all);
        }
    }

    #[test]
    fn any_message_round_trips(
        id in prop::option::of(id_text()),
        event in prop::option::of(id_text()),
        retry in prop::option::of(0u64..1 << 40),
        data in text(),
        comments in prop::collection::vec(text(), 0..3),
    ) {
        let mut message = Message::new().data(data.clone());
        if let Some(id) = &id {
            message = message.id(EventId::try_from(id.as_str()).unwrap());
        }
        if let Some(event) = &event {
            message = message.event(EventType::try_from(event.as_str()).unwrap());
        }
        if let Some(retry) = retry {
            message = message.retry(Duration::from_millis(retry));
        }
        for comment in comments {
            message = message.comment(comment);
        }
        let mut parser = Parser::new();
        parser.feed(message.to_encoded().into_bytes());
        let parsed = parser.next_event().unwrap().unwrap();
        prop_assert!(parser.next_event().unwrap().is_none());
        prop_assert!(!parser.is_partial());
        let normalized = data.replace("\r\n", "\n").replace('\r', "\n");
        prop_assert_eq!(parsed.data(), normalized.as_str());
        let expected_type = match event.as_deref() {
            None | Some("") => "message",
            Some(t) => t,
        };
        prop_assert_eq!(parsed.event_type(), expected_type);
        prop_assert_eq!(parsed.last_event_id().as_str(), id.as_deref().unwrap_or(""));
        prop_assert_eq!(parser.retry(), retry.map(Duration::from_millis));
    }
}
