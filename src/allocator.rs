//! The allocator's tuning: for the long-running exporter, large buffers go back to the
//! system when freed, instead of staying resident between reloads; for `check`, which
//! lives a second, they stay for the next report.

/// glibc gives an allocation of at least its mmap threshold a mapping of its own, which
/// `free` unmaps. The threshold starts at 128 KiB but rises to the size of every such
/// block freed (up to 32 MiB): after the first reload, a report's file buffer and its user
/// table come from the heap, whose freed pages stay resident and scattered: a large
/// report served through a few reloads held several reloads' worth. With the threshold
/// fixed at 1 MiB, and the compressed bodies kept in pieces above it (`body.rs`), it holds
/// little more than one (`benches/scrape_large.py`, figures in benches/RESULTS.md).
pub fn return_large_buffers_when_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it is called at start, before any
    // other thread exists. It returns 0 on failure, which leaves the default: nothing to do.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// `check` frees a report's file and text every millisecond or so and allocates the next
/// of about the same size. By default glibc unmaps blocks above a threshold that starts at
/// 128 KiB, and trims the heap's free top above 128 KiB, so each report faulted its pages
/// in again, a good part of `check`'s time on many reports (`benches/check.py`). Here blocks
/// up to 32 MiB (glibc's largest threshold) come from the heap, and up to 256 MiB of its
/// free top stays: `check` holds little more than its window of reports at once.
pub fn keep_freed_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: as above: only allocator parameters, set before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}
