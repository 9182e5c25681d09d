//! `manifest.json`: what a loadtest run was (versions, command line, scenario, knobs, machine)
//! and how it went (wall time, harness share, churn, verdict), as one serde struct that is
//! written and read back by field. Keys are written in name order (the file's order since it
//! was first written). Every field has a default, so a manifest of an older version reads.

use crate::harness::loadtest::EventKind;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Manifest {
    /// reconsim's version (Cargo).
    pub reconsim_version: String,
    /// The commit it was built from (`unknown` outside a checkout).
    pub git_commit: String,
    /// The compiler that built it.
    pub rustc_version: String,
    /// The command line, URL passwords left out.
    pub command_line: Vec<String>,
    /// A resumed run: the resuming command line…
    pub resume_command_line: Option<Vec<String>>,
    /// …and the first tick it ran.
    pub resumed_at_tick: Option<u64>,
    /// The scenario file as given.
    pub scenario_file: String,
    /// SHA-256 of `scenario_text`.
    pub scenario_sha256: String,
    /// The scenario file's text, whole.
    pub scenario_text: String,
    /// The scenario's seed.
    pub seed: u64,
    /// `--db`, when given.
    pub database: Option<String>,
    /// `sqlite`, or the server URL without its password.
    pub backend: String,
    /// The server's `VERSION()`, on a server backend.
    pub server_version: Option<String>,
    /// `database`, or the cursor's Redis URL without its password.
    pub cursor: String,
    /// The paths run, in order.
    pub paths: Vec<String>,
    /// Each path with the knobs it ran with, in order (`drain:window=2000,cap=2000,budget=12s
    /// (wall-clock)`; the budget's kind in brackets: `wall-clock`, as Fleet, or
    /// `deterministic`).
    #[serde(default)]
    pub approaches: Vec<String>,
    /// Measured ticks per path.
    pub ticks: u32,
    /// The reconciler's interval, virtual seconds.
    pub interval_s: u32,
    /// Ticks with churn (None: every tick).
    pub churn_ticks: Option<u32>,
    /// Hosts per batched window.
    pub batch_size: usize,
    /// The divergence rules (`d1=and,…`).
    pub rules: String,
    /// The batched path's version.
    pub variant: String,
    /// The legacy SQL's form.
    pub legacy_sql: String,
    /// Churn ran concurrently with the ticks.
    pub concurrent_churn: bool,
    /// Unmeasured ticks before the measured ones.
    pub warmup_ticks: u32,
    /// The harness ran in its reference form (`--reference-harness`).
    #[serde(default)]
    pub reference_harness: bool,
    /// The bundled SQLite's version.
    pub sqlite_version: String,
    /// The SQLite settings of the path databases.
    pub pragmas: Vec<String>,
    /// CPUs the process could use.
    pub cpu_count: usize,
    /// Start, RFC 3339 UTC.
    pub started_utc: String,
    /// End, RFC 3339 UTC.
    pub ended_utc: String,
    /// Wall time of the run, seconds.
    pub wall_s: f64,
    /// The share of the wall time spent outside the measured ticks (None on a resumed run).
    pub outside_ticks_share: Option<f64>,
    /// The share timed by no phase (bookkeeping between phases).
    pub untimed_share: Option<f64>,
    /// Seconds per harness phase.
    pub outside_ticks_s: BTreeMap<String, f64>,
    /// Churn events applied, per kind.
    pub events: BTreeMap<EventKind, u64>,
    /// The state-equivalence verdict, one line.
    pub equivalence_verdict: String,
    /// Each path's process costs.
    pub paths_detail: Vec<PathDetail>,
    /// The whole process's peak resident set, KiB: set-up, devices and checks included, across
    /// the per-tick resets that give each path its own peak (on a resumed run: since the
    /// resume). None where /proc cannot be read.
    pub process_peak_rss_kib: Option<u64>,
    /// The unit of the `.hgrm` files.
    pub hgrm_unit: String,
    /// The run's verdict, one line.
    pub verdict: String,
    /// The exit code the run ended with.
    pub exit_code: i32,
}

/// One path's process costs.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PathDetail {
    pub path: String,
    /// CPU seconds of the path's ticks.
    pub cpu_s: f64,
    /// Process peak RSS after the path's ticks, KiB.
    pub peak_rss_kib: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{file}: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: not a reconsim manifest: {source}")]
    Parse {
        file: String,
        #[source]
        source: serde_json::Error,
    },
}

impl Manifest {
    /// The file's bytes: pretty JSON, keys in name order.
    pub fn to_json(&self) -> serde_json::Result<String> {
        // Through a `Value`, whose objects keep their keys sorted.
        serde_json::to_string_pretty(&serde_json::to_value(self)?)
    }

    pub fn read(file: &Path) -> Result<Manifest, ManifestError> {
        let shown = file.display().to_string();
        let text = std::fs::read_to_string(file).map_err(|source| ManifestError::Read {
            file: shown.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| ManifestError::Parse {
            file: shown,
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_round_trips_with_sorted_keys() {
        let m = Manifest {
            seed: 42,
            events: [(EventKind::TeamTransfer, 2), (EventKind::LabelReport, 5)].into(),
            paths_detail: vec![PathDetail {
                path: "legacy".into(),
                cpu_s: 1.5,
                peak_rss_kib: None,
            }],
            ..Manifest::default()
        };
        let text = m.to_json().unwrap();
        let keys: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("  \""))
            .map(|l| l.trim().split('"').nth(1).unwrap())
            .collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted);
        assert!(text.contains("\"label_report\": 5"), "{text}");
        let back: Manifest = serde_json::from_str(&text).unwrap();
        assert_eq!(back, m);
        // An older manifest without most keys still reads.
        let old: Manifest = serde_json::from_str(r#"{"seed": 7}"#).unwrap();
        assert_eq!(old.seed, 7);
    }
}
