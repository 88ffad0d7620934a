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

use libmimalloc_sys::{mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned};
use libmimalloc_sys::{mi_zalloc, mi_zalloc_aligned};
use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

#[global_allocator]
static GLOBAL: Mimalloc = Mimalloc;

/// mimalloc, asked for an alignment only when a type needs more than every
/// block has. The `mimalloc` crate asks for each allocation's alignment, and
/// mimalloc's aligned path serves blocks over 1 KiB (bodies, JSON buffers)
/// by its slow generic route: 15 such calls per 1 KiB exchange, ~5k
/// instructions (callgrind).
struct Mimalloc;

/// Every mimalloc block of 16 bytes or more is 16-byte aligned (its
/// `MI_MAX_ALIGN_SIZE`; smaller ones are 8-aligned), and a Rust size is a
/// multiple of its alignment: up to 16, plain `mi_malloc` is aligned enough.
const PLAIN_ALIGN: usize = 16;

// SAFETY: each call hands mimalloc a layout it serves (non-zero size, as
// `GlobalAlloc` promises) with at least the layout's alignment, and frees
// only what it allocated.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match layout.align() <= PLAIN_ALIGN {
            true => mi_malloc(layout.size()).cast(),
            false => mi_malloc_aligned(layout.size(), layout.align()).cast(),
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match layout.align() <= PLAIN_ALIGN {
            true => mi_zalloc(layout.size()).cast(),
            false => mi_zalloc_aligned(layout.size(), layout.align()).cast(),
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        mi_free(ptr.cast());
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        match layout.align() <= PLAIN_ALIGN {
            true => mi_realloc(ptr.cast(), new_size).cast(),
            false => mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast(),
        }
    }
}

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
    fn every_allocation_has_its_layouts_alignment() {
        let mut held = Vec::new();
        for align in [1, 2, 4, 8, 16, 32, 64, 128, 4096] {
            for size in [
                1,
                7,
                8,
                15,
                16,
                24,
                48,
                100,
                1000,
                1025,
                4000,
                70_000,
                3 << 20,
            ] {
                let size = size.max(align) / align * align;
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: non-zero sizes; each block freed with its layout below.
                unsafe {
                    let p = GLOBAL.alloc(layout);
                    let z = GLOBAL.alloc_zeroed(layout);
                    assert!(!p.is_null() && !z.is_null());
                    assert_eq!(p as usize % align, 0, "{size} bytes aligned {align}");
                    assert_eq!(z as usize % align, 0, "zeroed {size} bytes aligned {align}");
                    assert!(std::slice::from_raw_parts(z, size).iter().all(|&b| b == 0));
                    p.write_bytes(0xab, size);
                    let grown = GLOBAL.realloc(p, layout, size * 3);
                    assert_eq!(
                        grown as usize % align,
                        0,
                        "{size} bytes grown, aligned {align}"
                    );
                    assert_eq!(*grown.add(size - 1), 0xab);
                    held.push((grown, Layout::from_size_align(size * 3, align).unwrap()));
                    held.push((z, layout));
                }
            }
        }
        for (p, layout) in held {
            // SAFETY: allocated above with this layout.
            unsafe { GLOBAL.dealloc(p, layout) };
        }
    }

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
