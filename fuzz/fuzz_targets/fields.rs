//! The raw field level: any chunking gives the fields of the whole input,
//! and no field holds a line end.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sse_codec::{Field, FieldParser, ParseError};

fn fields(stream: &[u8], chunk_size: usize) -> (Vec<Result<Field, ParseError>>, Option<Field>) {
    let mut parser = FieldParser::with_max_line_size(32);
    let mut out = Vec::new();
    for chunk in stream.chunks(chunk_size) {
        parser.feed(Bytes::copy_from_slice(chunk));
        while let Some(field) = parser.next_field() {
            out.push(field);
        }
    }
    (out, parser.finish())
}

fn no_line_end(bytes: &[u8]) {
    assert!(!bytes.contains(&b'\n') && !bytes.contains(&b'\r'), "{bytes:?}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&size, stream)) = data.split_first() else {
        return;
    };
    let whole = fields(stream, stream.len().max(1));
    assert_eq!(whole, fields(stream, usize::from(size).max(1)));
    for field in whole.0.iter().flatten().chain(&whole.1) {
        match field {
            Field::Data(v) | Field::Event(v) | Field::Id(v) | Field::Retry(v) | Field::Comment(v) => {
                no_line_end(v)
            }
            Field::Other { name, value } => {
                no_line_end(name);
                no_line_end(value);
                assert!(!name.is_empty() && !name.contains(&b':'));
            }
            Field::Blank => {}
            _ => {}
        }
    }
});
