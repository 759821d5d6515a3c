//! Parses and encodes with `sse-codec` in a `#![no_std]` crate.
#![no_std]

extern crate alloc;

use sse_codec::{Message, Parser};

/// Encodes `data`, parses it back and returns the parsed data's length.
pub fn round_trip(data: &'static str) -> usize {
    let bytes = Message::new().data(data).to_bytes();
    let mut parser = Parser::new();
    parser.feed(bytes);
    match parser.next_event() {
        Ok(Some(event)) => event.data().len(),
        _ => 0,
    }
}
