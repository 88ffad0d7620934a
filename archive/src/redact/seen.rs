//! Texts the scanner found clean, and what redaction made of whole
//! headers, remembered per thread.
//!
//! A client sends the same header names and values, status line and URL
//! with every request, and scanning each short text (a prefilter pass, two
//! byte searches, often a regex search: ~500 instructions) some twenty
//! times per exchange was more than half of `record`'s redaction; a header
//! like `x-api-key` also goes through its rule every time. A text is
//! remembered only when no view of it held a secret, a header with what it
//! became; either is recalled only on an exact match, so a recalled verdict
//! is the one the work would give.
use super::scan::Report;
use crate::model::Header;
use std::cell::RefCell;
use std::hash::BuildHasher;

/// Slots per thread. A text's hash picks its slot and a new text takes the
/// slot over: memory stays bounded and texts that never repeat (dates,
/// request ids) cost no more than one slot each.
const SLOTS: usize = 256;
/// Longer texts (bodies, long cookies) are not remembered: they seldom
/// repeat, and hashing them would cost what the scan's SIMD search does.
const LONGEST: usize = 256;

/// A remembered text and its hash.
type Slot = Option<(u64, Box<str>)>;

thread_local! {
    static CLEAN: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
}

/// A text's place in the table, if it may be remembered at all.
#[derive(Clone, Copy)]
pub(super) struct Key(u64);

impl Key {
    pub fn of(text: &str) -> Option<Key> {
        (text.len() <= LONGEST).then(|| Key(foldhash::fast::FixedState::default().hash_one(text)))
    }

    fn slot(self) -> usize {
        (self.0 % SLOTS as u64) as usize
    }
}

/// Whether `text` was found clean before on this thread.
pub(super) fn is_clean(key: Key, text: &str) -> bool {
    CLEAN.with_borrow(|table| {
        matches!(table.get(key.slot()), Some(Some((h, seen))) if *h == key.0 && **seen == *text)
    })
}

/// Remembers that a scan found no secret in `text`.
pub(super) fn remember_clean(key: Key, text: &str) {
    CLEAN.with_borrow_mut(|table| {
        if table.is_empty() {
            table.resize(SLOTS, None);
        }
        table[key.slot()] = Some((key.0, text.into()));
    });
}

/// A header as redaction found it, and what it became (`None`: left as
/// it was).
struct HeaderSlot {
    hash: u64,
    prefix: &'static str,
    name: Box<str>,
    value: Box<str>,
    became: Option<Became>,
}

/// A changed header and the places noted in `_redacted`.
struct Became {
    name: String,
    value: String,
    places: Vec<String>,
}

thread_local! {
    static HEADERS: RefCell<Vec<Option<HeaderSlot>>> = const { RefCell::new(Vec::new()) };
}

/// Redacts `h` with `redact`, or as it was redacted last time the same
/// header came by on this thread. Only for redaction without findings
/// (`analyze leaks` wants each secret, not the outcome).
pub(super) fn header(
    h: &mut Header,
    prefix: &'static str,
    report: &mut Report,
    redact: fn(&mut Header, &str, &mut Report),
) {
    if h.name.len() > LONGEST || h.value.len() > LONGEST || h.comment.is_some() {
        return redact(h, prefix, report);
    }
    let hash = foldhash::fast::FixedState::default().hash_one((prefix, &h.name, &h.value));
    let slot = (hash % SLOTS as u64) as usize;
    let recalled = HEADERS.with_borrow(|table| {
        let Some(Some(seen)) = table.get(slot) else {
            return false;
        };
        let same = seen.hash == hash
            && seen.prefix == prefix
            && *seen.name == *h.name
            && *seen.value == *h.value;
        if let (true, Some(became)) = (same, &seen.became) {
            h.name.clone_from(&became.name);
            h.value.clone_from(&became.value);
            for place in &became.places {
                report.changed(place);
            }
        }
        same
    });
    if recalled {
        return;
    }
    let (name, value) = (h.name.as_str().into(), h.value.as_str().into());
    let mut own = Report::default();
    redact(h, prefix, &mut own);
    for place in &own.places {
        report.changed(place);
    }
    let became = (!own.places.is_empty()).then(|| Became {
        name: h.name.clone(),
        value: h.value.clone(),
        places: own.places,
    });
    HEADERS.with_borrow_mut(|table| {
        if table.is_empty() {
            table.resize_with(SLOTS, || None);
        }
        table[slot] = Some(HeaderSlot {
            hash,
            prefix,
            name,
            value,
            became,
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_text_is_recalled() {
        let text = "claude-cli/2.0.14 (external, cli)";
        let key = Key::of(text).unwrap();
        assert!(!is_clean(key, text));
        remember_clean(key, text);
        assert!(is_clean(key, text));
        let other = "claude-cli/2.0.15 (external, cli)";
        assert!(!is_clean(Key::of(other).unwrap(), other));
        // Same slot, different text: never a false recall.
        assert!(!is_clean(key, other));
    }

    #[test]
    fn long_texts_are_not_remembered() {
        assert!(Key::of(&"a".repeat(LONGEST)).is_some());
        assert!(Key::of(&"a".repeat(LONGEST + 1)).is_none());
    }

    fn redacted(key: &str) -> crate::model::Entry {
        let mut entry = crate::model::Entry::default();
        entry.har.request.headers = ["x-api-key", "user-agent", "x-api-key"]
            .iter()
            .zip([key, "claude-cli/2.0.14 (external, cli)", "not-a-key"])
            .map(|(name, value)| Header {
                name: (*name).into(),
                value: value.into(),
                comment: None,
            })
            .collect();
        crate::redact::redact_entry(&mut entry);
        entry
    }

    #[test]
    fn a_recalled_header_is_redacted_as_the_first_time() {
        let key = "sk-ant-api03-FAKE-seen-0000000000000000000000000000000000000000";
        let first = redacted(key);
        let again = redacted(key);
        assert_eq!(first, again);
        let h = &again.har.request.headers;
        assert!(h[0].value.starts_with("redacted:sk-ant-api03:"), "{h:?}");
        assert_eq!(h[1].value, "claude-cli/2.0.14 (external, cli)");
        assert!(h[2].value.starts_with("redacted:secret:"), "{h:?}");
        assert_eq!(again.redacted, ["request.headers.x-api-key"]);
        // Another key is not the one remembered.
        let other = redacted(&key.replace("seen", "else"));
        assert_ne!(other.har.request.headers[0].value, h[0].value);
    }
}
