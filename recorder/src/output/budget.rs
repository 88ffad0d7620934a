//! How much the writer's queue may hold, in bytes rather than entries.
//!
//! An entry's size ranges from ~2 KB (a small JSON call) to megabytes (a
//! long Claude Code conversation, or the benchmark's 300 KiB bodies held as
//! text), so a bound in entries bounds nothing: 512 entries of 300 KiB held
//! ~300 MiB. The budget counts an entry from the moment it is queued until
//! the writer has flushed it to the file (group commit: the entries of one
//! batch are given back together), by an estimate of what it holds on the
//! heap (`Recorded::weight`).
//!
//! New exchanges wait for [`Budget::room`] before they start (FORMAT.md,
//! "Never lose, never stall mid-stream"): while more than half the budget is
//! in use, so the exchanges already under way, which never wait, still find
//! room for their entries in the other half. An exchange that was let in
//! has its entry queued even past the budget (up to [`OVERDRAFT`] times it:
//! several large entries may end at once); one that went on after its
//! patience ran out gets in only within the budget. Once the writer has
//! failed ([`Budget::fail`]) nobody waits any more.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use tokio::sync::Notify;

/// What the queue may hold (record's RSS target under load is 40 MiB,
/// bench/README.md): new exchanges wait while it holds over half of this.
/// At the writer's ~350–780 MB/s this is well under 0.1 s of work, so it
/// only fills when the writer is truly behind or stuck (a full disk).
/// 32 MiB held ~8 MiB more RSS under 300 KiB bodies at 16 connections, with
/// no more throughput.
pub const QUEUE_BYTES: usize = 16 * 1024 * 1024;

/// How far past the budget the entries of exchanges that were let in may
/// go: the bound on memory when every exchange under way ends at once
/// while the writer is stuck.
pub const OVERDRAFT: usize = 4;

/// Bytes of entries queued or written and not yet flushed, shared by the
/// exchanges that add and the writer that takes away.
#[derive(Debug)]
pub struct Budget {
    limit: usize,
    used: AtomicUsize,
    /// Set once every output has failed: nothing is written any more.
    failed: AtomicBool,
    /// Woken whenever bytes are given back, and when the writer fails.
    changed: Notify,
}

impl Budget {
    pub fn new(limit: usize) -> Budget {
        Budget {
            limit,
            used: AtomicUsize::new(0),
            failed: AtomicBool::new(false),
            changed: Notify::new(),
        }
    }

    /// Takes `bytes` from the budget if they fit: within [`OVERDRAFT`]
    /// times it for an exchange that was `admitted` with room, within the
    /// budget itself otherwise. An empty queue takes any entry, so one
    /// larger than the whole budget is still written.
    pub fn take(&self, bytes: usize, admitted: bool) -> bool {
        let limit = if admitted {
            self.limit.saturating_mul(OVERDRAFT)
        } else {
            self.limit
        };
        let before = self.used.fetch_add(bytes, Relaxed);
        if before > 0 && before + bytes > limit {
            self.used.fetch_sub(bytes, Relaxed);
            return false;
        }
        true
    }

    /// The most it holds, in bytes.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Gives back what [`Budget::take`] took, once the entries are flushed.
    pub fn give_back(&self, bytes: usize) {
        if bytes == 0 {
            return;
        }
        self.used.fetch_sub(bytes, Relaxed);
        self.changed.notify_waiters();
    }

    /// The writer has failed for good: whoever waits for room goes on.
    pub fn fail(&self) {
        if !self.failed.swap(true, Relaxed) {
            self.changed.notify_waiters();
        }
    }

    /// Whether the writer has failed for good.
    pub fn failed(&self) -> bool {
        self.failed.load(Relaxed)
    }

    /// Whether a new exchange may start without waiting: at most half the
    /// budget is in use, or the writer has failed.
    pub fn has_room(&self) -> bool {
        self.used.load(Relaxed) <= self.limit / 2 || self.failed()
    }

    /// Waits until [`Budget::has_room`].
    pub async fn room(&self) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            // Registered before the check, so a give-back in between wakes it.
            changed.as_mut().enable();
            if self.has_room() {
                return;
            }
            changed.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_budget_refuses_until_given_back() {
        let budget = Budget::new(100);
        assert!(budget.take(60, false));
        assert!(budget.take(40, false));
        assert!(!budget.take(1, false), "full");
        budget.give_back(60);
        assert!(budget.take(50, false));
        assert!(!budget.take(20, false));
    }

    #[test]
    fn an_empty_queue_takes_an_entry_larger_than_the_budget() {
        let budget = Budget::new(100);
        assert!(budget.take(1000, false));
        assert!(!budget.take(1, false), "nothing else while it waits");
        budget.give_back(1000);
        assert!(budget.take(1, false));
    }

    #[test]
    fn an_exchange_let_in_may_overdraw_up_to_the_overdraft() {
        let budget = Budget::new(100);
        assert!(budget.take(100, false));
        assert!(!budget.take(1, false), "full for one that was not let in");
        assert!(budget.take(300, true), "overdrawn for one that was");
        assert!(!budget.take(1, true), "not past the overdraft");
    }

    #[tokio::test]
    async fn room_comes_when_bytes_are_given_back_or_the_writer_fails() {
        use std::sync::Arc;
        use std::time::Duration;
        let budget = Arc::new(Budget::new(100));
        assert!(budget.take(60, false));
        assert!(!budget.has_room(), "over half full");
        let waiter = tokio::spawn({
            let budget = budget.clone();
            async move { budget.room().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "waits while over half full");
        budget.give_back(20);
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("room after a give-back")
            .unwrap();

        assert!(budget.take(40, false));
        let waiter = tokio::spawn({
            let budget = budget.clone();
            async move { budget.room().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        budget.fail();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("nobody waits once the writer failed")
            .unwrap();
        assert!(budget.has_room(), "full, but failed: no waiting");
    }
}
