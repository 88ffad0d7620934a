//! How much the writer's queue may hold, in bytes rather than entries.
//!
//! An entry's size ranges from ~2 KB (a small JSON call) to megabytes (a
//! long Claude Code conversation, or the benchmark's 300 KiB bodies held as
//! text), so a bound in entries bounds nothing: 512 entries of 300 KiB held
//! ~300 MiB. The budget counts an entry from the moment it is queued until
//! the writer has written it, by an estimate of what it holds on the heap.

use cctap_archive::Entry;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// What the queue may hold (record's RSS target under load is 40 MiB,
/// bench/README.md).
/// At the writer's ~350–780 MB/s this is well under 0.1 s of work, so it
/// only fills when the writer is truly behind or stuck (a full disk).
pub const QUEUE_BYTES: usize = 32 * 1024 * 1024;

/// Bytes of entries queued or being written, shared by the exchanges that
/// add and the writer that takes away.
#[derive(Debug)]
pub struct Budget {
    limit: usize,
    used: AtomicUsize,
}

impl Budget {
    pub fn new(limit: usize) -> Budget {
        Budget {
            limit,
            used: AtomicUsize::new(0),
        }
    }

    /// Takes `bytes` from the budget if they fit. An empty queue takes any
    /// entry, so one larger than the whole budget is still written.
    pub fn take(&self, bytes: usize) -> bool {
        let before = self.used.fetch_add(bytes, Relaxed);
        if before > 0 && before + bytes > self.limit {
            self.used.fetch_sub(bytes, Relaxed);
            return false;
        }
        true
    }

    /// The most it holds, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Gives back what [`Budget::take`] took, once the entry is written.
    pub fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Relaxed);
    }
}

/// What an entry holds on the heap, roughly: its bodies, SSE events,
/// headers and URL, plus the fixed fields. Cheap: lengths only.
pub fn weight(entry: &Entry) -> usize {
    let har = &entry.har;
    let text = |t: &Option<String>| t.as_ref().map_or(0, String::len);
    let headers = |list: &[cctap_archive::model::Header]| -> usize {
        list.iter().map(|h| h.name.len() + h.value.len() + 64).sum()
    };
    let post = har.request.post_data.as_ref().map_or(0, |p| text(&p.text));
    let sse: usize = entry.sse_events.as_ref().map_or(0, |events| {
        events
            .iter()
            .map(|e| e.data.len() + e.event.len() + 96)
            .sum()
    });
    1024 + har.request.url.len()
        + post
        + text(&har.response.content.text)
        + headers(&har.request.headers)
        + headers(&har.response.headers)
        + sse
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_budget_refuses_until_given_back() {
        let budget = Budget::new(100);
        assert!(budget.take(60));
        assert!(budget.take(40));
        assert!(!budget.take(1), "full");
        budget.give_back(60);
        assert!(budget.take(50));
        assert!(!budget.take(20));
    }

    #[test]
    fn an_empty_queue_takes_an_entry_larger_than_the_budget() {
        let budget = Budget::new(100);
        assert!(budget.take(1000));
        assert!(!budget.take(1), "nothing else while it waits");
        budget.give_back(1000);
        assert!(budget.take(1));
    }

    #[test]
    fn the_weight_counts_the_bodies() {
        let mut e = Entry::default();
        let empty = weight(&e);
        e.har.response.content.text = Some("x".repeat(300 * 1024));
        assert_eq!(weight(&e), empty + 300 * 1024);
    }
}
