//! record's memory allocator: mimalloc, tuned to give memory back.
//!
//! An exchange's buffers are allocated on one thread and often freed on
//! another (the async workers take turns on a connection; the writer
//! thread frees each entry). glibc's malloc takes the owning arena's lock
//! for such a free, and under 16 connections of 1 KiB exchanges those locks
//! were most of record's futex calls (`perf record -e
//! syscalls:sys_enter_futex`: 62% from `free`/`malloc`). mimalloc hands a
//! foreign free to its owner without a lock: record's CPU per 1 KiB
//! exchange went down by 8%, its requests per second up by 7%
//! (bench/README.md, "Memory met, throughput not").
//!
//! Its defaults keep freed memory for a while and commit arenas eagerly:
//! 71 MiB RSS under 300 KiB bodies at 16 connections where glibc held 38.
//! Purging at once and committing on demand brought it to glibc's figure.
//! And mimalloc frees a thread's pages only on that thread: after a burst
//! an idle async worker kept them (40 MiB after 1,000 streams against a
//! 13 MiB baseline) until [`release_free_memory`] had every worker collect.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_arena_eager_commit` and `mi_option_purge_delay` in
/// mimalloc.h (the same in its v2 and v3).
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets the options above before the program's first allocation: the
/// first arena is reserved then, with the policy in force (set from `main`
/// they came too late: 62 MiB instead of 37). A constructor in
/// `.init_array` runs before Rust's runtime allocates anything (an ELF
/// section: elsewhere mimalloc keeps its defaults).
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static TUNE_BEFORE_MAIN: extern "C" fn() = tune;

#[cfg(target_os = "linux")]
extern "C" fn tune() {
    // SAFETY: setting an option has no preconditions; it only changes
    // mimalloc's policy for memory it reserves and frees from then on.
    unsafe {
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
    }
}

/// Returns free memory to the system once a burst is over: this thread's
/// heap now, each async worker's when it next parks ([`on_worker_park`]);
/// [`WAKE`] gets them to run once more, since an idle worker would not.
pub fn release_free_memory() {
    collect();
    RELEASES.fetch_add(1, Relaxed);
    WAKE.notify_one();
}

/// How many releases were asked for.
static RELEASES: AtomicU64 = AtomicU64::new(0);

/// Wakes [`wake_workers`] after a release.
static WAKE: tokio::sync::Notify = tokio::sync::Notify::const_new();

thread_local! {
    /// The releases this thread has collected for.
    static COLLECTED: Cell<u64> = const { Cell::new(0) };
}

/// The runtime's `on_thread_park` hook: a worker collects its heap once
/// per release (mimalloc frees a thread's pages only on that thread).
/// Costs an atomic load on every park.
pub fn on_worker_park() {
    let asked = RELEASES.load(Relaxed);
    COLLECTED.with(|done| {
        if done.get() != asked {
            done.set(asked);
            collect();
        }
    });
}

/// Runs on the runtime for the whole run: after each release, gives every
/// worker a task, so that each parks again, and collects, when it is done.
pub async fn wake_workers(workers: usize) {
    loop {
        WAKE.notified().await;
        let tasks: Vec<_> = (0..workers)
            .map(|_| tokio::spawn(tokio::task::yield_now()))
            .collect();
        for task in tasks {
            let _ = task.await;
        }
    }
}

fn collect() {
    // SAFETY: mi_collect has no preconditions; `true` also frees pages
    // other threads gave back to this one.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn the_options_are_in_force_before_main() {
        // SAFETY: reading an option has no preconditions.
        let (commit, purge) = unsafe {
            (
                libmimalloc_sys::mi_option_get(ARENA_EAGER_COMMIT),
                libmimalloc_sys::mi_option_get(PURGE_DELAY),
            )
        };
        assert_eq!((commit, purge), (0, 0));
    }
}
