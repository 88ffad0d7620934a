//! Texts the scanner found clean, remembered per thread.
//!
//! A client sends the same header names and values, status line and URL
//! with every request, and scanning each short text (a prefilter pass, two
//! byte searches, often a regex search: ~500 instructions) some twenty
//! times per exchange was more than half of `record`'s redaction. A text is
//! remembered only when no view of it held a secret and recalled only on an
//! exact match, so a recalled verdict is the one a scan would give.
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
}
