//! What an exchange hands the writer thread, and the entry it becomes there.
//!
//! Building an entry (the bodies joined and decoded, SSE events parsed,
//! dozens of strings) and redacting it happen on the writer thread, not on
//! the proxy's workers: the entry's allocations are then made, read and
//! freed on one thread and core, where built on a worker they were freed
//! by the writer (mimalloc's cross-thread frees, and every line of the
//! entry moved between the cores' caches): the workers' CPU per 1 KiB
//! exchange went from 47 to 36 µs, the writer's from 6 to 8 (bench/README.md,
//! "entries built on the writer thread").

use crate::entry::{self, Recorded};
use crate::status::{live_line_shown, Stats};
use cctap_archive::Entry;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering::Relaxed;

/// What a proxied exchange saw, on its way to the archive.
pub struct Finished {
    rec: Box<Recorded>,
    /// The exchange's span, so what building says is logged inside it.
    span: tracing::Span,
}

impl Finished {
    pub fn new(rec: Box<Recorded>, span: tracing::Span) -> Finished {
        Finished { rec, span }
    }

    /// The bytes of the writer's queue this holds until written.
    pub fn weight(&self) -> usize {
        self.rec.weight()
    }

    /// The entry to write; `None` (counted as not archived) when building
    /// it panicked, a bug that must not take the writer down.
    pub fn into_entry(self, stats: &Stats) -> Option<Entry> {
        let Finished { rec, span } = self;
        let _span = span.enter();
        let Ok(entry) = std::panic::catch_unwind(AssertUnwindSafe(|| entry::build_redacted(*rec)))
        else {
            tracing::error!(
                "building the archive entry failed (a bug); the exchange is not archived"
            );
            stats.not_archived.fetch_add(1, Relaxed);
            return None;
        };
        // Only the live status line shows tokens: counting parses the reply again.
        if live_line_shown() {
            let (tokens_in, tokens_out) = entry::count_tokens(&entry);
            stats.tokens_in.fetch_add(tokens_in, Relaxed);
            stats.tokens_out.fetch_add(tokens_out, Relaxed);
        }
        Some(entry)
    }
}
