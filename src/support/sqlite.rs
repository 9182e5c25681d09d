//! Process-wide SQLite settings, made once before the first connection opens.

/// Turns SQLite's memory statistics off for this process (`SQLITE_CONFIG_MEMSTATUS`). With
/// them on, as the bundled build has them, every allocation SQLite makes takes a global mutex
/// to count it (bound text, records, cursors); nothing here reads the counts. It must run
/// before SQLite initialises, that is before the first connection opens; later SQLite refuses
/// it and changes nothing, and this returns false.
pub fn skip_memory_statistics() -> bool {
    // SAFETY: SQLITE_CONFIG_MEMSTATUS takes one int argument. sqlite3_config is not
    // thread-safe: the binary calls this first thing in `main`, before any thread that could
    // open a connection; called after SQLite initialised, it returns SQLITE_MISUSE and
    // changes nothing.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_config(rusqlite::ffi::SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int)
    };
    rc == rusqlite::ffi::SQLITE_OK
}

/// The most of a database file the bundled SQLite memory-maps (its `SQLITE_MAX_MMAP_SIZE` on
/// Linux, 0x7fff0000 bytes): a larger `PRAGMA mmap_size` is cut to this without an error, so
/// reconsim asks for no more (`--mmap-mib` refuses more than `MAX_MMAP_MIB`).
pub const MAX_MMAP_BYTES: u64 = 0x7fff_0000;
/// `MAX_MMAP_BYTES` in whole MiB (2,047).
pub const MAX_MMAP_MIB: u64 = MAX_MMAP_BYTES >> 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_sqlite_maps_at_most_max_mmap_bytes() {
        // A file: an in-memory database maps nothing and answers no row.
        let dir = tempfile::tempdir().unwrap();
        let conn = rusqlite::Connection::open(dir.path().join("m.db")).unwrap();
        let at = |n: u64| -> u64 {
            conn.query_row(&format!("PRAGMA mmap_size = {n}"), [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap() as u64
        };
        assert_eq!(at(MAX_MMAP_BYTES), MAX_MMAP_BYTES);
        assert_eq!(at(MAX_MMAP_BYTES + 1), MAX_MMAP_BYTES);
        assert_eq!(at(4 << 30), MAX_MMAP_BYTES);
        assert_eq!(MAX_MMAP_MIB, 2047);
    }
}
