//! Records the git commit and the rustc version for results manifests and `--version`.
//!
//! `git --no-optional-locks status` reads the work tree without refreshing `.git/index`, so a
//! build never changes a file this script watches (a plain `git status` rewrites the index,
//! and the next `cargo run` rebuilt the whole crate for nothing).

use std::process::Command;

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    if let Some(v) = output(&rustc, &["--version"]) {
        println!("cargo:rustc-env=RECONSIM_RUSTC_VERSION={v}");
    }
    let commit = match output("git", &["rev-parse", "HEAD"]) {
        Some(c) => {
            let dirty = output(
                "git",
                &[
                    "--no-optional-locks",
                    "status",
                    "--porcelain",
                    "--untracked-files=no",
                ],
            )
            .is_some_and(|s| !s.is_empty());
            format!("{c}{}", if dirty { "-dirty" } else { "" })
        }
        None => "unknown".to_string(),
    };
    println!("cargo:rustc-env=RECONSIM_GIT_COMMIT={commit}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/index");
    // A commit on the current branch moves its ref, not HEAD. Only files that exist: a
    // missing one would make every build rerun this script.
    if let Ok(head) = std::fs::read_to_string(".git/HEAD")
        && let Some(r) = head.trim().strip_prefix("ref: ")
    {
        for f in [format!(".git/{r}"), ".git/packed-refs".to_string()] {
            if std::path::Path::new(&f).exists() {
                println!("cargo:rerun-if-changed={f}");
            }
        }
    }
}
