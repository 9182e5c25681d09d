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
