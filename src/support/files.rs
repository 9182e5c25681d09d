//! Files the tool writes, made safe against crashes, signals and concurrent runs (issue 11):
//! - every file is written whole or not at all (a temp file `.NAME.tmp-PID` beside it, then a
//!   rename), created with the process umask like any other tool's output (0644 under 022);
//! - temp files are registered while they exist, so the binary's SIGINT/SIGTERM handler
//!   (`remove_registered`) removes them before it exits, and a later run removes the ones a
//!   killed process left (`remove_stale_temps`);
//! - a folder or database in use is locked (`Lock`, an advisory lock held by the kernel on an
//!   open file, released when the process dies however it dies), and the holder's pid is
//!   named to whoever is refused.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Temp files alive in this process.
static REGISTERED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn registry() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    // A panic while holding the lock leaves a list that is still right: take it anyway.
    REGISTERED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes every registered temp file (with its SQLite side files) or folder (for the signal
/// handler).
pub fn remove_registered() {
    for p in registry().drain(..) {
        remove_temp(&p);
    }
}

fn remove_temp(p: &Path) {
    if p.is_dir() && !p.is_symlink() {
        let _ = std::fs::remove_dir_all(p);
    } else {
        remove_with_sidecars(p);
    }
}

/// Removes a database file with its `-journal`, `-wal` and `-shm` files (missing ones are fine).
pub fn remove_with_sidecars(p: &Path) {
    let _ = std::fs::remove_file(p);
    for suffix in ["-journal", "-wal", "-shm"] {
        let mut s = p.as_os_str().to_os_string();
        s.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(s));
    }
}

/// A temp file or folder path beside `target` (`.NAME.tmp-PID`), registered until dropped or
/// persisted. Dropping it removes what is there (a file with its SQLite side files, or a
/// folder); `persist` renames it onto `target` (a folder: onto a missing or empty one).
#[derive(Debug)]
pub struct TempPath {
    path: PathBuf,
}

impl TempPath {
    pub fn beside(target: &Path) -> TempPath {
        let name = target.file_name().unwrap_or_default().to_string_lossy();
        let path = target.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        registry().push(path.clone());
        TempPath { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Renames the temp file onto `target` (replacing it).
    pub fn persist(self, target: &Path) -> std::io::Result<()> {
        std::fs::rename(&self.path, target)?;
        self.forget();
        Ok(())
    }

    /// Links the temp file to `target` only if `target` does not exist (atomic: two processes
    /// cannot both succeed), then removes the temp name.
    pub fn persist_new(self, target: &Path) -> std::io::Result<()> {
        std::fs::hard_link(&self.path, target)?;
        let _ = std::fs::remove_file(&self.path);
        self.forget();
        Ok(())
    }

    fn forget(self) {
        registry().retain(|p| p != &self.path);
        std::mem::forget(self);
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        registry().retain(|p| p != &self.path);
        remove_temp(&self.path);
    }
}

/// Writes `bytes` to `path` atomically (see the module doc).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes).map_err(|e| named(path, e))?;
    f.commit()
}

/// A file written piece by piece and made visible whole: bytes go to a registered temp file
/// beside `target`; `commit` syncs and renames it onto `target`; dropped uncommitted (an error
/// on the way), the temp file is removed and `target` is untouched.
pub struct AtomicFile {
    tmp: TempPath,
    file: std::io::BufWriter<File>,
    target: PathBuf,
}

impl AtomicFile {
    pub fn create(target: &Path) -> std::io::Result<AtomicFile> {
        let tmp = TempPath::beside(target);
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(tmp.path())
            .map_err(|e| named(target, e))?;
        Ok(AtomicFile {
            tmp,
            file: std::io::BufWriter::with_capacity(1 << 20, file),
            target: target.to_path_buf(),
        })
    }

    /// Flushes, syncs and renames the file onto its target.
    pub fn commit(self) -> std::io::Result<()> {
        let AtomicFile { tmp, file, target } = self;
        let file = file
            .into_inner()
            .map_err(|e| named(&target, e.into_error()))?;
        file.sync_all().map_err(|e| named(&target, e))?;
        crate::support::crashpoint::here("result file written, not yet renamed");
        tmp.persist(&target).map_err(|e| named(&target, e))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// An I/O error that names the file the user asked for (not the temp file).
fn named(path: &Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Whether a process with this pid is alive (Linux: /proc; elsewhere assumed alive).
fn alive(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes the temp files and folders (`.NAME.tmp-PID`, with SQLite side files) in `dir` whose
/// process is gone; returns how many.
pub fn remove_stale_temps(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut n = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some((_, rest)) = name.rsplit_once(".tmp-") else {
            continue;
        };
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let Ok(pid) = digits.parse::<u32>() else {
            continue;
        };
        if pid != std::process::id() && !alive(pid) {
            remove_temp(&e.path());
            n += 1;
        }
    }
    n
}

/// An advisory lock held on `DIR/.reconsim.lock` (or any file) until dropped or the process
/// ends; the file holds the holder's pid.
#[derive(Debug)]
pub struct Lock {
    _file: File,
    path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{what} {shown}: in use by another reconsim process (pid {pid})")]
    Held {
        what: String,
        shown: String,
        pid: String,
    },
    #[error("{what} {shown}: cannot lock {lock}: {source}")]
    Io {
        what: String,
        shown: String,
        lock: String,
        source: std::io::Error,
    },
}

impl Lock {
    /// Locks the folder `dir` (which must exist) for `what` (the flag that named it).
    pub fn folder(dir: &Path, what: &str) -> Result<Lock, LockError> {
        Lock::file(&dir.join(".reconsim.lock"), dir, what)
    }

    /// Locks `lock_file` (created if missing) on behalf of `target`.
    pub fn file(lock_file: &Path, target: &Path, what: &str) -> Result<Lock, LockError> {
        let io = |source| LockError::Io {
            what: what.to_string(),
            shown: target.display().to_string(),
            lock: lock_file.display().to_string(),
            source,
        };
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(lock_file)
            .map_err(io)?;
        match f.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = f.read_to_string(&mut pid);
                return Err(LockError::Held {
                    what: what.to_string(),
                    shown: target.display().to_string(),
                    pid: if pid.trim().is_empty() {
                        "unknown".into()
                    } else {
                        pid.trim().to_string()
                    },
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        f.set_len(0).map_err(io)?;
        f.rewind().map_err(io)?;
        write!(f, "{}", std::process::id()).map_err(io)?;
        f.flush().map_err(io)?;
        Ok(Lock {
            _file: f,
            path: lock_file.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The locked folder was renamed to `dir` (the lock, held on the open file, moved with it).
    pub fn moved_to(&mut self, dir: &Path) {
        self.path = dir.join(".reconsim.lock");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn an_atomic_write_leaves_no_temp_and_follows_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        write_atomic(&p, b"x,y\n").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"x,y\n");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["a.csv"]);
        // Not 0600 (tempfile's default): group and others may read, as the umask allows.
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_ne!(mode & 0o044, 0, "mode {mode:o}");
        assert!(registry().iter().all(|r| !r.starts_with(dir.path())));
    }

    #[test]
    fn an_atomic_write_error_names_the_target() {
        let e = write_atomic(Path::new("/nonexistent-dir/x.csv"), b"").unwrap_err();
        assert!(e.to_string().starts_with("/nonexistent-dir/x.csv: "), "{e}");
    }

    #[test]
    fn a_dropped_temp_is_removed_and_persist_new_refuses_an_existing_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("g.db");
        let t = TempPath::beside(&target);
        std::fs::write(t.path(), b"1").unwrap();
        let kept = t.path().to_path_buf();
        drop(t);
        assert!(!kept.exists());
        let t = TempPath::beside(&target);
        std::fs::write(t.path(), b"1").unwrap();
        t.persist_new(&target).unwrap();
        let t = TempPath::beside(&target);
        std::fs::write(t.path(), b"2").unwrap();
        let e = t.persist_new(&target).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&target).unwrap(), b"1");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn stale_temps_of_dead_processes_are_removed_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        // pid 0 never names a live user process; our own pid is alive.
        std::fs::write(dir.path().join(".a.csv.tmp-0"), b"").unwrap();
        std::fs::write(dir.path().join(".b.db.tmp-0-journal"), b"").unwrap();
        let mine = format!(".c.csv.tmp-{}", std::process::id());
        std::fs::write(dir.path().join(&mine), b"").unwrap();
        std::fs::write(dir.path().join("keep.csv"), b"").unwrap();
        assert_eq!(remove_stale_temps(dir.path()), 2);
        assert!(dir.path().join(&mine).exists() && dir.path().join("keep.csv").exists());
    }

    #[test]
    fn a_second_lock_is_refused_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let first = Lock::folder(dir.path(), "--out").unwrap();
        let e = Lock::folder(dir.path(), "--out").unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "--out {}: in use by another reconsim process (pid {})",
                dir.path().display(),
                std::process::id()
            )
        );
        drop(first);
        Lock::folder(dir.path(), "--out").unwrap();
    }
}
