//! The run folder of `reconsim loadtest`: what a run saves to be resumed (`state/run.json`),
//! where its databases live while it runs, and the checks and lock a new folder gets before
//! anything is created in it.

use crate::harness::loadtest::{self, PathKind};
use crate::report::csv::write_atomic;
use crate::support::files::Lock;
use anyhow::Context;
use std::path::{Path, PathBuf};

/// Everything a run needs, saved as `state/run.json` before anything else is created, so that
/// `--resume` can continue (or redo) every later step.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(super) struct RunSpec {
    pub(super) scenario_file: String,
    pub(super) scenario_text: String,
    pub(super) seed: u64,
    /// The paths' kinds, in order (what a reader of an older run folder finds).
    pub(super) paths: Vec<PathKind>,
    /// Each path as `--approach` spells it with every knob filled in, in order (empty in a run
    /// folder from before approaches: `paths` then).
    #[serde(default)]
    pub(super) approaches: Vec<String>,
    /// `--ticks`; None: one full batched pass plus three, fixed at setup (`record::Setup`).
    pub(super) ticks: Option<u32>,
    pub(super) legacy_sql: String,
    pub(super) variant: crate::domain::variant::Variant,
    pub(super) warmup_ticks: u32,
    pub(super) concurrent_churn: bool,
    #[serde(default)]
    pub(super) reference_harness: bool,
    pub(super) database: Option<String>,
    /// The MySQL URL the reconcilers read from (with its password: this file lives in
    /// `state/`, removed when the run ends; the manifest shows the URL without it).
    #[serde(default)]
    pub(super) backend: Option<String>,
    /// The batched cursor's Redis URL, if not the database, and its key.
    #[serde(default)]
    pub(super) cursor: Option<String>,
    #[serde(default)]
    pub(super) cursor_key: Option<String>,
    pub(super) started_utc: String,
    pub(super) command_line: Vec<String>,
    /// `--threshold` checks (the scenario's own come with its text).
    #[serde(default)]
    pub(super) thresholds: Vec<String>,
    #[serde(default)]
    pub(super) hgrm_unit: crate::support::histogram::HgrmUnit,
}

impl RunSpec {
    /// The run's paths: its approaches as spelled at setup, knobs filled in (a run folder
    /// from before approaches: its paths, plain).
    pub(super) fn run_paths(&self) -> anyhow::Result<Vec<loadtest::approach::RunPath>> {
        if self.approaches.is_empty() {
            return Ok(self
                .paths
                .iter()
                .map(|&k| loadtest::approach::RunPath::plain(k))
                .collect());
        }
        let parsed: Vec<loadtest::approach::Approach> = self
            .approaches
            .iter()
            .map(|a| a.parse().map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<_>>()?;
        loadtest::approach::resolve(&parsed, &Default::default()).map_err(anyhow::Error::msg)
    }
}

/// The folder inside a run with its databases while it runs.
pub(super) fn state_dir(out: &Path) -> PathBuf {
    out.join("state")
}

/// Where `state/` goes once the results are written, before it is removed: a run folder
/// without `state/` but with `manifest.json` is finished.
pub(super) fn done_dir(out: &Path) -> PathBuf {
    out.join(".state-done")
}

/// `--out` when given, else `results/<UTC time>-<suffix>` (not created here).
pub(super) fn out_dir(out: Option<&Path>, suffix: &str) -> PathBuf {
    out.map(Path::to_path_buf).unwrap_or_else(|| {
        format!(
            "results/{}-{suffix}",
            chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
        )
        .into()
    })
}

/// A new run's folder must be missing or empty, unless `--force` (then it is emptied, once no
/// other process holds it). Checked before anything is created.
pub(super) fn check_out(out: &Path, force: bool) -> anyhow::Result<()> {
    let entries = match std::fs::read_dir(out) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            anyhow::bail!("--out {}: exists and is not a folder", out.display())
        }
        Err(e) => anyhow::bail!("--out {}: {e}", out.display()),
    };
    let names: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    if names.is_empty() {
        return Ok(());
    }
    if !force {
        anyhow::bail!(
            "--out {}: exists and is not empty (give --force to empty it first, or --resume {} \
             to continue a stopped run)",
            out.display(),
            out.display()
        );
    }
    // Refuse to empty a folder another run is working in.
    let lock = Lock::folder(out, "--out")?;
    for p in names {
        if p == lock.path() {
            continue;
        }
        let gone = if p.is_dir() && !p.is_symlink() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        gone.with_context(|| format!("--force: emptying {}", p.display()))?;
    }
    let _ = std::fs::remove_file(lock.path());
    drop(lock);
    std::fs::remove_dir(out).with_context(|| format!("--force: emptying {}", out.display()))
}

/// Creates the run folder with its lock and `state/run.json` in one step: built as a temp
/// folder beside `out` and renamed onto it, so a kill leaves either no run or a resumable one.
pub(super) fn create_run_folder(out: &Path, spec: &RunSpec) -> anyhow::Result<Lock> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("--out {}", out.display()))?;
    crate::support::files::remove_stale_temps(parent);
    let staging = crate::support::files::TempPath::beside(out);
    let state = state_dir(staging.path());
    std::fs::create_dir_all(&state).with_context(|| format!("--out {}", out.display()))?;
    let mut lock = Lock::folder(staging.path(), "--out")?;
    write_atomic(
        &state.join("run.json"),
        serde_json::to_string(spec)?.as_bytes(),
    )?;
    crate::support::crashpoint::here("run folder staged, not yet placed");
    staging
        .persist(out)
        .with_context(|| format!("--out {}: placing the new run folder", out.display()))?;
    lock.moved_to(out);
    Ok(lock)
}
