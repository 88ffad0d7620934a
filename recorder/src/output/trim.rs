//! Giving memory back to the system once a burst is over.
//!
//! glibc's malloc keeps what was freed in its arenas for reuse: after 1,000
//! concurrent SSE streams had ended, record still held their connections'
//! buffers (~170 MiB RSS, where it should come back down once idle). The writer thread
//! sees every exchange end, so when it has been idle for a moment after
//! writing, it asks malloc to return its free pages.

use std::time::Duration;

/// How long the writer waits with nothing to write before trimming.
pub const IDLE: Duration = Duration::from_millis(500);

/// Returns free heap pages to the system (glibc only; other allocators
/// return memory on their own or not at all).
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim has no preconditions; it only walks malloc's own
    // free lists, under malloc's locks.
    unsafe {
        libc::malloc_trim(0);
    }
}
