//! What the process costs, from Linux's /proc: CPU time of the calling thread and the peak
//! resident set, which can be reset so that each loadtest path's ticks get their own peak.
//! Elsewhere (or when /proc refuses) the readings are None and reports say "n/a".

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// CPU time the calling thread has run (`/proc/thread-self/schedstat`, nanoseconds).
pub fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// The highest VmHWM read just before a reset: the resets would otherwise erase the process's
/// own peak (and with it what `/usr/bin/time` reports, which reads the same counter).
static PEAK_BEFORE_RESETS_KIB: AtomicU64 = AtomicU64::new(0);

/// Resets the peak resident set (VmHWM) to the current one; false when the kernel refuses.
/// The peak it erases is kept for `process_peak_rss_kib`.
pub fn reset_peak_rss() -> bool {
    if let Some(k) = peak_rss_kib() {
        PEAK_BEFORE_RESETS_KIB.fetch_max(k, Ordering::Relaxed);
    }
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The process's peak resident set since it started, across `reset_peak_rss`, in KiB.
pub fn process_peak_rss_kib() -> Option<u64> {
    peak_rss_kib().map(|k| k.max(PEAK_BEFORE_RESETS_KIB.load(Ordering::Relaxed)))
}

/// Hands the heap that earlier work freed back to the system (glibc's `malloc_trim`), so that
/// a peak taken after `reset_peak_rss` counts what is in use, not what the allocator kept from
/// before (a legacy diff's gigabytes would otherwise inflate the next path's peak). A no-op
/// where the C library is not glibc.
pub fn release_freed_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it reads no pointer of ours.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Peak resident set since start or the last reset, in KiB (`VmHWM`).
pub fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Memory available to new work (`MemAvailable`), in bytes.
pub fn mem_available() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = s
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_move_forward_on_linux() {
        if !cfg!(target_os = "linux") {
            return; // nothing to read elsewhere
        }
        let a = thread_cpu().expect("schedstat on Linux");
        assert!(peak_rss_kib().expect("VmHWM on Linux") > 0);
        // Busy for 50 ms of wall time (the kernel's accounting moves at scheduler ticks; a
        // fixed loop count can finish between two of them in an optimised build).
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(50) {
            for i in 0..10_000u64 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            }
        }
        assert!(thread_cpu().unwrap() > a);
    }

    #[test]
    fn the_process_peak_survives_a_reset() {
        if !cfg!(target_os = "linux") {
            return; // nothing to read elsewhere
        }
        // 256 MiB touched, then freed and handed back: resident for a moment only.
        let mut v = vec![1u8; 256 << 20];
        for i in (0..v.len()).step_by(4096) {
            v[i] = std::hint::black_box(2);
        }
        drop(std::hint::black_box(v));
        release_freed_heap();
        let before = peak_rss_kib().unwrap();
        reset_peak_rss();
        // Other tests may reset the counter at any time too: the process peak keeps it anyway.
        let peak = process_peak_rss_kib().unwrap();
        assert!(
            peak >= before && peak >= 256 << 10,
            "{peak} KiB, {before} KiB before"
        );
    }
}
