//! `read_blocking` on a recorded event stream in a file, as a test or a
//! tool reads one: no runtime, no HTTP.

use std::{fs::File, io::BufReader, time::Duration};

fn recorded() -> File {
    File::open(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/llm.sse")).unwrap()
}

#[test]
fn a_recorded_stream_reads_from_a_file() {
    let mut events = sse::read_blocking(recorded());
    let mut text = String::new();
    let mut types = Vec::new();
    for event in events.by_ref() {
        let event = event.unwrap();
        types.push(event.event_type().to_owned());
        if event.event_type() == "delta" {
            let delta: serde_json::Value = serde_json::from_str(event.data()).unwrap();
            text.push_str(delta["text"].as_str().unwrap());
        }
    }
    assert_eq!(text, "Hello, world");
    assert_eq!(types, ["delta", "delta", "delta", "delta", "done"]);
    assert_eq!(events.last_event_id().as_str(), "4");
    assert_eq!(events.retry(), Some(Duration::from_secs(3)));
    assert!(!events.is_truncated());
}

#[test]
fn the_same_events_through_a_buffered_reader_in_small_chunks() {
    let whole: Vec<String> = sse::read_blocking(recorded())
        .map(|event| event.unwrap().data().to_owned())
        .collect();
    let small: Vec<String> = sse::EventReader::new(BufReader::with_capacity(3, recorded()))
        .with_chunk_size(5)
        .map(|event| event.unwrap().data().to_owned())
        .collect();
    assert_eq!(small, whole);
    assert_eq!(whole.len(), 5);
}
