//! Texts that reach the scanner in pieces.
//!
//! - SSE streams: a model repeating a key it read sends it in pieces
//!   (`text_delta`s), and a reader joins them. The delta strings of
//!   consecutive events are assembled into one view, whose hits map back
//!   to each event (or each `data:` line of the raw stream) carrying a
//!   piece ([`assembled_events`], [`assembled_raw`]).
//! - Bodies never held whole (`record`'s spill files, written by
//!   `writer/stream.rs`): [`StreamRedactor`] takes them piece by piece and
//!   replaces each secret as [`super::redact_bytes`] would. The last
//!   [`CARRY`] bytes of what has arrived are held back until more comes (or
//!   the end): a secret is shorter than that (the longest, a PEM private
//!   key, is a few KiB), so any secret that begins in the part let go ends
//!   inside what was searched, and one cut by a piece's end is searched
//!   again whole with the next piece.
use super::marker;
use super::scan::{scan_text, scan_view, Edits, Hit};
use super::view::{json_decoded, View};
use crate::model::SseEvent;
use std::ops::Range;

/// JSON keys whose string values are stream pieces: Anthropic's `text`,
/// `partial_json`, `thinking`; OpenAI's `content`, `arguments`, `delta`.
const PIECE_KEYS: &[&str] = &[
    "\"text\":",
    "\"partial_json\":",
    "\"thinking\":",
    "\"content\":",
    "\"arguments\":",
    "\"delta\":",
];

/// Appends the piece strings of one `data` line (`text[line]`, source
/// `src`) to the view; whether it had any.
fn pieces(view: &mut View, src: usize, text: &str, line: Range<usize>) -> bool {
    let b = &text.as_bytes()[..line.end];
    let mut found = false;
    for key in PIECE_KEYS {
        for rel in memchr::memmem::find_iter(&b[line.start..], key.as_bytes()) {
            let mut i = line.start + rel + key.len();
            while b.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            if b.get(i) != Some(&b'"') {
                continue;
            }
            if let Some(end) = string_end(b, i + 1) {
                json_decoded(view, src, text, i + 1..end);
                found = true;
            }
        }
    }
    found
}

/// The closing quote of a JSON string whose content starts at `start`.
fn string_end(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// Whether an event between pieces ends a run of them (a `ping` does not).
fn breaks(event: &str) -> bool {
    event != "ping"
}

/// Secrets assembled from the events' pieces; a hit's sources are event
/// indexes, its ranges within each event's `data`.
pub(crate) fn assembled_events(events: &[SseEvent], hits: &mut Vec<Hit>) {
    if events.len() < 2 {
        return;
    }
    let mut view = View::default();
    for (i, ev) in events.iter().enumerate() {
        if !pieces(&mut view, i, &ev.data, 0..ev.data.len()) && breaks(&ev.event) {
            view.gap();
        }
    }
    keep_split(&view, hits);
}

/// Secrets assembled from the `data:` lines of a raw `text/event-stream`
/// body (source 0, ranges in the body).
pub(crate) fn assembled_raw(body: &str, hits: &mut Vec<Hit>) {
    let mut view = View::default();
    let mut event_type = "message";
    let mut had_piece = false;
    let mut at = 0;
    for line in body.split_inclusive('\n') {
        let start = at;
        at += line.len();
        let content = line.trim_end_matches(['\n', '\r']);
        if content.is_empty() {
            if !had_piece && breaks(event_type) {
                view.gap();
            }
            event_type = "message";
            had_piece = false;
        } else if let Some(t) = content.strip_prefix("event:") {
            event_type = t.trim();
        } else if let Some(d) = content.strip_prefix("data:") {
            let from = start + (content.len() - d.len());
            had_piece |= pieces(&mut view, 0, body, from..start + content.len());
        }
    }
    keep_split(&view, hits);
}

/// The view's hits that span several pieces: one within a single piece is
/// found by the scan of its own text already.
fn keep_split(view: &View, hits: &mut Vec<Hit>) {
    let mut found = Vec::new();
    scan_view(view, &mut found);
    hits.extend(found.into_iter().filter(|h| h.at.len() > 1));
}

/// Bytes held back between pieces.
pub(crate) const CARRY: usize = 64 * 1024;
/// Search once this much has gathered (fewer, longer searches).
pub(crate) const WINDOW: usize = 1024 * 1024;

/// See the module doc.
#[derive(Default)]
pub struct StreamRedactor {
    held: Vec<u8>,
    /// Secrets replaced so far.
    pub found: usize,
}

impl StreamRedactor {
    /// Takes the next piece; appends what can be let go to `out`.
    pub fn push(&mut self, piece: &[u8], out: &mut Vec<u8>) {
        self.held.extend_from_slice(piece);
        if self.held.len() >= WINDOW + CARRY {
            self.release(false, out);
        }
    }

    /// The end: lets go of everything left.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.release(true, out);
    }

    /// Redacts and lets go of the held bytes up to [`CARRY`] before their
    /// end (all of them at the end), or further when a secret found
    /// before that point runs past it.
    fn release(&mut self, all: bool, out: &mut Vec<u8>) {
        let data = &self.held;
        let mut cut = if all { data.len() } else { data.len() - CARRY };
        // Non-ASCII bytes become NUL: offsets stay byte offsets, and
        // credentials (ASCII) stay as they are.
        let text: String = data
            .iter()
            .map(|&b| if b.is_ascii() { char::from(b) } else { '\0' })
            .collect();
        let mut hits = Vec::new();
        scan_text(&text, &mut hits);
        let span = |h: &Hit| {
            let start = h.at.iter().map(|(_, r)| r.start).min().unwrap_or(0);
            let end = h.at.iter().map(|(_, r)| r.end).max().unwrap_or(0);
            (start, end)
        };
        hits.sort_by_key(|h| span(h).0);
        let mut edits = Edits::default();
        for hit in hits.iter().filter(|h| !h.is_example()) {
            let (start, end) = span(hit);
            if start >= cut {
                break; // Searched again with the next piece.
            }
            cut = cut.max(end);
            let m = marker(hit.kind, &hit.value);
            for (_, r) in &hit.at {
                edits.add(r.clone(), m.clone());
            }
            self.found += 1;
        }
        match edits.apply_bytes(&data[..cut]) {
            Some(clean) => out.extend_from_slice(&clean),
            None => out.extend_from_slice(&data[..cut]),
        }
        self.held.drain(..cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(text: &str) -> String {
        format!("{{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"{text}\"}}}}")
    }

    #[test]
    fn a_key_split_over_deltas_maps_to_each_piece() {
        let key = "sk-ant-api03-FAKEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let parts = [
            "your key is sk-ant-",
            "api03\\u002dFAKEaaaaaaaaaaa",
            "aaaaaaaaaaaaaaaaaaa. ok",
        ];
        let mut events: Vec<SseEvent> = parts
            .iter()
            .map(|p| SseEvent {
                event: "content_block_delta".into(),
                data: delta(p),
                ..Default::default()
            })
            .collect();
        events.insert(
            1,
            SseEvent {
                event: "ping".into(),
                data: "{\"type\":\"ping\"}".into(),
                ..Default::default()
            },
        );
        let mut hits = Vec::new();
        assembled_events(&events, &mut hits);
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].value, key);
        let srcs: Vec<usize> = hits[0].at.iter().map(|(s, _)| *s).collect();
        assert_eq!(srcs, [0, 2, 3]);
        let raw: String = events
            .iter()
            .map(|e| format!("event: {}\ndata: {}\n\n", e.event, e.data))
            .collect();
        let mut raw_hits = Vec::new();
        assembled_raw(&raw, &mut raw_hits);
        assert_eq!(raw_hits.len(), 1);
        let spelled: String = raw_hits[0]
            .at
            .iter()
            .map(|(_, r)| &raw[r.clone()])
            .collect();
        assert_eq!(
            spelled,
            "sk-ant-api03\\u002dFAKEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        );
    }

    #[test]
    fn a_block_stop_breaks_the_run() {
        let events: Vec<SseEvent> = [
            delta("sk-ant-api03-"),
            "{\"type\":\"content_block_stop\"}".into(),
            delta("FAKEaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        ]
        .into_iter()
        .map(|data| SseEvent {
            event: "x".into(),
            data,
            ..Default::default()
        })
        .collect();
        let mut hits = Vec::new();
        assembled_events(&events, &mut hits);
        assert!(hits.is_empty(), "{hits:?}");
    }

    const KEY: &str = "sk-ant-api03-FAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKEFAKE-FAKEAA";

    /// Feeds `text` in pieces of `size` and returns the output.
    fn through(text: &[u8], size: usize) -> (Vec<u8>, usize) {
        let mut r = StreamRedactor::default();
        let mut out = Vec::new();
        for piece in text.chunks(size) {
            r.push(piece, &mut out);
        }
        r.finish(&mut out);
        (out, r.found)
    }

    #[test]
    fn the_same_as_whole_redaction_wherever_the_pieces_are_cut() {
        // Keys near every window boundary, and binary bytes between.
        let mut text = Vec::new();
        for i in 0..6 {
            text.resize(text.len() + WINDOW + CARRY - 50 + i * 7, b'a');
            text.extend_from_slice(b" \"");
            text.extend_from_slice(KEY.as_bytes());
            text.extend_from_slice(b"\" \xff\xfe ");
        }
        let whole = crate::redact::redact_bytes(&text).unwrap();
        for size in [1000, 65_536, 100_003, WINDOW + CARRY + 1, 10 << 20] {
            let (out, found) = through(&text, size);
            assert_eq!(found, 6, "piece size {size}");
            assert!(
                out == whole,
                "piece size {size}: output differs from whole redaction"
            );
        }
    }

    #[test]
    fn a_text_without_secrets_passes_unchanged() {
        let text = vec![b'x'; 3 * WINDOW];
        assert_eq!(through(&text, 12_345), (text, 0));
    }
}
