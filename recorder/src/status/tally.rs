//! Counters every exchange adds to, without the two workers taking turns
//! on one cache line.
//!
//! Each exchange bumped five counters of [`super::Stats`] that sat on the
//! same cache line, from whichever worker ran it: every add moved the line
//! between the cores. A [`Tally`] gives each thread a slot of its own (on
//! its own line); the status line and the summary, read a few times a
//! second, sum the slots.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

/// Slots per tally: threads beyond this many share slots (still correct).
const SLOTS: usize = 8;

/// A sum many threads add to; see the module doc.
pub struct Tally {
    slots: [Slot; SLOTS],
}

/// One thread's part, alone on its cache line (128 bytes: adjacent-line
/// prefetch pairs lines).
#[repr(align(128))]
#[derive(Default)]
struct Slot(AtomicU64);

impl Default for Tally {
    fn default() -> Tally {
        Tally {
            slots: std::array::from_fn(|_| Slot::default()),
        }
    }
}

impl Tally {
    pub fn add(&self, n: u64) {
        self.mine().fetch_add(n, Relaxed);
    }

    /// Takes `n` back, maybe on another thread than the one that added
    /// it: a slot may wrap below zero, the sum does not.
    pub fn sub(&self, n: u64) {
        self.mine().fetch_sub(n, Relaxed);
    }

    /// The sum of every thread's part (exact once the adds have stopped;
    /// while they go on, a moment's value like any counter's).
    pub fn get(&self) -> u64 {
        self.slots
            .iter()
            .fold(0u64, |sum, s| sum.wrapping_add(s.0.load(Relaxed)))
    }

    fn mine(&self) -> &AtomicU64 {
        &self.slots[slot_of_this_thread()].0
    }
}

/// Threads get slots in turn, the first time they add to any tally.
fn slot_of_this_thread() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SLOT: Cell<Option<usize>> = const { Cell::new(None) };
    }
    SLOT.with(|slot| {
        slot.get().unwrap_or_else(|| {
            let mine = NEXT.fetch_add(1, Relaxed) % SLOTS;
            slot.set(Some(mine));
            mine
        })
    })
}

impl std::fmt::Debug for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn adds_from_many_threads_sum_up() {
        let tally = Arc::new(Tally::default());
        let threads: Vec<_> = (0..(SLOTS + 3))
            .map(|_| {
                let tally = tally.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        tally.add(3);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(tally.get(), 3 * 1000 * (SLOTS as u64 + 3));
    }

    #[test]
    fn taken_back_on_another_thread_it_still_sums() {
        // An exchange starts on one worker and may end on the other.
        let tally = Arc::new(Tally::default());
        for _ in 0..5 {
            tally.add(1);
        }
        let other = tally.clone();
        std::thread::spawn(move || {
            for _ in 0..4 {
                other.sub(1);
            }
        })
        .join()
        .unwrap();
        assert_eq!(tally.get(), 1);
        tally.sub(1);
        assert_eq!(tally.get(), 0);
    }

    #[test]
    fn each_slot_has_its_own_cache_line() {
        assert_eq!(std::mem::align_of::<Slot>(), 128);
        assert_eq!(std::mem::size_of::<Tally>(), 128 * SLOTS);
    }
}
