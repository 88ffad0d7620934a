//! Giving memory back to the system once a burst is over.
//!
//! An allocator keeps what was freed for reuse: after 1,000 concurrent SSE
//! streams had ended, record still held their connections' buffers (~170
//! MiB RSS, where it should come back down once idle). The writer thread
//! sees every exchange end, so when it has been idle for a moment after
//! writing, it asks the allocator ([`crate::alloc`]) to return free pages.

use std::time::Duration;

/// How long the writer waits with nothing to write before trimming.
pub const IDLE: Duration = Duration::from_millis(500);

/// Returns free heap pages to the system.
pub fn release_free_memory() {
    crate::alloc::release_free_memory();
}
