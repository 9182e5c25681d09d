//! Helpers for the integration tests: a fresh temp dir per test and the real binary.

#![allow(dead_code)]

pub mod browser;
pub mod fixture;
pub mod reference;

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// A fresh working directory; the binary runs with it as cwd.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file into the workdir and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    /// `reconsim ARGS` in this directory.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("reconsim").expect("binary");
        c.current_dir(self.dir.path()).args(args);
        c
    }

    /// Names of the files in the workdir, sorted.
    pub fn listing(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.dir.path())
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

/// The repository's scenario file of that name.
pub fn scenario(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
        .display()
        .to_string()
}

/// The text of a shipped scenario.
pub fn scenario_text(name: &str) -> String {
    std::fs::read_to_string(scenario(name)).expect("scenario")
}

/// Runs the command, asserts exit code 2 and a one-line stderr, and returns that line.
pub fn expect_error(mut cmd: Command) -> String {
    let out = cmd.output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "not one line: {stderr}"
    );
    stderr.trim_end().to_string()
}
