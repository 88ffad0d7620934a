//! Property tests of the archive writer's JSON serializer
//! (`cctap_archive::writer::json::write_json`, with its own string
//! escaping): for any value it writes exactly the bytes
//! `serde_json::to_vec` writes, and serde_json reads them back to the same
//! value.
//!
//! Strings are drawn from a mix weighted towards what JSON escapes and what
//! tends to break escapers: quotes, backslashes, every control byte, DEL,
//! two- to four-byte UTF-8, U+2028/U+2029, around 8-byte word boundaries.
//! Bounded for `cargo test` (256 cases per property). A longer run:
//!
//!     PROPTEST_CASES=20000 cargo test -p cctap-archive --release --test fuzz_json_writer

use cctap_archive::writer::json::write_json;
use cctap_archive::{Entry, SseEvent};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ours<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = b"prefix kept:".to_vec();
    write_json(&mut out, value).expect("serialises");
    out.split_off(b"prefix kept:".len())
}

/// Characters JSON escapes or that are easy to get wrong, and plain text.
fn tricky_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => prop::char::range('a', 'z'),
        2 => Just('"'),
        2 => Just('\\'),
        2 => prop::char::range('\u{0}', '\u{1f}'),
        1 => Just('\u{7f}'),
        1 => Just('/'),
        1 => prop::char::range('\u{80}', '\u{7ff}'),
        1 => prop::sample::select(vec!['\u{2028}', '\u{2029}', '\u{feff}', '\u{ffff}']),
        1 => prop::char::range('\u{10000}', '\u{10ffff}'),
        1 => any::<char>(),
    ]
}

fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::collection::vec(tricky_char(), 0..80).prop_map(|c| c.into_iter().collect()),
        // Long clean runs with a few specials: the fast path and its exits.
        1 => (0usize..200, prop::collection::vec(tricky_char(), 0..6), 0usize..40).prop_map(
            |(a, mid, b)| format!("{}{}{}", "x".repeat(a), mid.into_iter().collect::<String>(), "y".repeat(b))
        ),
        1 => any::<String>(),
    ]
}

/// Floats that serde_json's parser (without `float_roundtrip`) reads back
/// exactly: a few significant digits, as record's times in ms have.
/// [`any::<f64>`] goes through the byte comparison alone.
fn exact_float() -> impl Strategy<Value = f64> {
    any::<i32>().prop_map(|us| f64::from(us) / 1000.0)
}

/// An entry with tricky text in the fields that hold bodies and names.
fn entry() -> impl Strategy<Value = Entry> {
    (
        tricky_string(),
        tricky_string(),
        tricky_string(),
        prop::collection::vec((tricky_string(), tricky_string()), 0..4),
        prop::option::of(prop::collection::vec(
            (tricky_string(), exact_float()),
            0..4,
        )),
        prop::option::of(tricky_string()),
        prop::collection::vec(tricky_string(), 0..3),
    )
        .prop_map(
            |(request, response, url, headers, events, error, redacted)| {
                let mut e = Entry::default();
                e.har.request.url = url;
                e.har.request.post_data = Some(cctap_archive::model::PostData {
                    mime_type: "application/json".into(),
                    text: Some(request),
                    params: None,
                    comment: None,
                });
                e.har.response.content.text = Some(response);
                // What serde's defaults read back for absent optional timings.
                let t = &mut e.har.timings;
                (t.blocked, t.dns, t.connect, t.ssl) =
                    (Some(-1.0), Some(-1.0), Some(-1.0), Some(-1.0));
                e.har.request.headers = headers
                    .into_iter()
                    .map(|(name, value)| cctap_archive::model::Header {
                        name,
                        value,
                        comment: None,
                    })
                    .collect();
                e.sse_events = events.map(|events| {
                    events
                        .into_iter()
                        .map(|(data, time)| SseEvent {
                            time,
                            event: "message".into(),
                            data,
                            id: None,
                            retry: Some(3000),
                        })
                        .collect()
                });
                e.error = error;
                e.redacted = redacted;
                e
            },
        )
}

/// Every shape serde can hand a serializer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Shape {
    Unit,
    Newtype(String),
    Tuple(i64, String),
    Struct { name: String, value: Option<u128> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Everything {
    text: String,
    c: char,
    flag: bool,
    small: i8,
    big: i128,
    unsigned: u64,
    ratio: f64,
    single: f32,
    none: Option<String>,
    unit: (),
    pair: (String, u16),
    shapes: Vec<Shape>,
    by_name: BTreeMap<String, i32>,
    by_number: BTreeMap<i64, String>,
    by_flag: BTreeMap<bool, String>,
    #[serde(with = "as_bytes")]
    bytes: Vec<u8>,
}

/// Sends `Vec<u8>` through `serialize_bytes` (serde's default is a seq).
mod as_bytes {
    pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        serde::Deserialize::deserialize(d)
    }
}

/// A one-entry map keyed by a float (an f32 when given).
struct FloatKey(f64, Option<f32>);

impl Serialize for FloatKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.1 {
            Some(single) => s.collect_map([(single, 1)]),
            None => s.collect_map([(self.0, 1)]),
        }
    }
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        Just(Shape::Unit),
        tricky_string().prop_map(Shape::Newtype),
        (any::<i64>(), tricky_string()).prop_map(|(n, s)| Shape::Tuple(n, s)),
        (tricky_string(), any::<Option<u128>>())
            .prop_map(|(name, value)| Shape::Struct { name, value }),
    ]
}

fn everything() -> impl Strategy<Value = Everything> {
    (
        (
            tricky_string(),
            tricky_char(),
            any::<bool>(),
            any::<i8>(),
            any::<i128>(),
            any::<u64>(),
        ),
        (
            exact_float(),
            any::<i16>().prop_map(|n| f32::from(n) / 4.0),
            (tricky_string(), any::<u16>()),
        ),
        prop::collection::vec(shape(), 0..4),
        prop::collection::btree_map(tricky_string(), any::<i32>(), 0..4),
        prop::collection::btree_map(any::<i64>(), tricky_string(), 0..3),
        prop::collection::btree_map(any::<bool>(), tricky_string(), 0..2),
        prop::collection::vec(any::<u8>(), 0..10),
    )
        .prop_map(
            |(
                (text, c, flag, small, big, unsigned),
                (ratio, single, pair),
                shapes,
                by_name,
                by_number,
                by_flag,
                bytes,
            )| {
                Everything {
                    text,
                    c,
                    flag,
                    small,
                    big,
                    unsigned,
                    ratio,
                    single,
                    none: None,
                    unit: (),
                    pair,
                    shapes,
                    by_name,
                    by_number,
                    by_flag,
                    bytes,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn strings_are_escaped_as_serde_json_does_and_read_back(s in tricky_string()) {
        let bytes = ours(&s);
        prop_assert_eq!(&bytes, &serde_json::to_vec(&s).unwrap());
        prop_assert_eq!(serde_json::from_slice::<String>(&bytes).unwrap(), s);
    }

    #[test]
    fn entries_are_written_as_serde_json_writes_them(e in entry()) {
        let bytes = ours(&e);
        prop_assert_eq!(String::from_utf8(bytes.clone()).unwrap(), serde_json::to_string(&e).unwrap());
        prop_assert_eq!(serde_json::from_slice::<Entry>(&bytes).unwrap(), e);
    }

    #[test]
    fn every_serde_shape_is_written_as_serde_json_writes_it(v in everything()) {
        let bytes = ours(&v);
        prop_assert_eq!(String::from_utf8(bytes.clone()).unwrap(), serde_json::to_string(&v).unwrap());
        prop_assert_eq!(serde_json::from_slice::<Everything>(&bytes).unwrap(), v);
    }

    #[test]
    fn float_keys_and_values_match_serde_json(x in any::<f64>(), y in any::<f32>()) {
        prop_assert_eq!(ours(&x), serde_json::to_vec(&x).unwrap());
        prop_assert_eq!(ours(&y), serde_json::to_vec(&y).unwrap());
        for keyed in [FloatKey(x, None), FloatKey(0.0, Some(y))] {
            let mut out = Vec::new();
            match (write_json(&mut out, &keyed), serde_json::to_vec(&keyed)) {
                (Ok(()), Ok(theirs)) => prop_assert_eq!(out, theirs),
                (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
                (a, b) => prop_assert!(false, "ours {:?}, serde_json {:?}", a, b),
            }
        }
    }
}

#[test]
fn keys_that_are_not_strings_fail_as_in_serde_json() {
    let keyed: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into();
    let mut out = Vec::new();
    let err = write_json(&mut out, &keyed).unwrap_err();
    assert_eq!(
        err.to_string(),
        serde_json::to_vec(&keyed).unwrap_err().to_string()
    );
}

#[test]
fn a_real_session_entry_is_written_byte_for_byte() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/claude-code/2.0.50-reverse.har"
    );
    let mut reader = cctap_archive::ArchiveReader::open(path.as_ref()).expect("fixture opens");
    let mut seen = 0;
    for entry in reader.by_ref() {
        let entry = entry.expect("fixture entry");
        assert_eq!(ours(&entry), serde_json::to_vec(&entry).unwrap());
        seen += 1;
    }
    assert!(seen >= 2, "the fixture has several entries");
}
