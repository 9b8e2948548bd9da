//! The allocator's one tuning for a long-running exporter: large buffers go back to the
//! system when freed, instead of staying resident between reloads.

/// glibc gives an allocation of at least its mmap threshold a mapping of its own, which
/// `free` unmaps. The threshold starts at 128 KiB but rises to the size of every such
/// block freed (up to 32 MiB): after the first reload, a report's file buffer and its user
/// table come from the heap, whose freed pages stay resident and scattered. Serving a
/// 100,000-user report through three reloads held 72 MiB more than one reload needs
/// (`benches/scrape_large.py`); with the threshold fixed at 1 MiB, 29 MiB, and 19 MiB
/// with the compressed bodies kept in pieces above it (`body.rs`).
pub fn return_large_buffers_when_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called at start, before any
    // other thread exists. It returns 0 on failure, which leaves the default: nothing to do.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
