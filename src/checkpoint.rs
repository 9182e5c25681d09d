//! Loadtest checkpoints (issue 5, crash recovery): after every tick the loadtest writes what it
//! has measured and the state it carries between ticks to `state/checkpoint.json` in the run
//! folder (atomically), beside the paths' databases. `loadtest --resume DIR` starts again from
//! the last checkpoint. A tick interrupted by a crash runs again: the reconciler and devices
//! simply work on the state they find, and churn already applied is not applied twice (its tick
//! is committed with it, `reconsim_progress`). The liveness monitor restarts after a resume:
//! the pass in progress is not judged.

use crate::convergence::Sample;
use crate::liveness::{Finding, KINDS};
use crate::loadtest::{EqRow, PathKind, PathRun, TickRow};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// What a resumed run needs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The first tick still to run.
    pub next_tick: u32,
    pub paths: Vec<PathCheckpoint>,
    pub equivalence: Vec<EqRow>,
    pub events: BTreeMap<String, u64>,
    pub touched_hosts: Vec<(String, u32)>,
    pub touched_profiles: Vec<(String, u32)>,
    pub equivalence_time_us: u64,
}

/// One path's part of a checkpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PathCheckpoint {
    pub path: String,
    pub ticks: Vec<TickRow>,
    /// Phase → histogram (HdrHistogram V2 encoding, hex).
    pub hist: BTreeMap<String, String>,
    pub totals_us: BTreeMap<String, u64>,
    pub cpu_us: u64,
    pub peak_rss_kib: Option<u64>,
    pub open: Vec<Sample>,
    pub closed: Vec<Sample>,
    pub last_visit: Vec<(String, u32)>,
    pub pass_visited: Vec<i64>,
    pub pass_start: u32,
    pub findings: Vec<Finding>,
}

/// Values of the `&'static str` fields the checkpoint carries (paths, outcomes, finding
/// kinds): a deserialised one is mapped back to its static, an unknown one refused.
const STATICS: [&str; 15] = [
    "legacy",
    "batched",
    "ok",
    "empty",
    "error",
    "open",
    "converged",
    "failed",
    "superseded",
    KINDS[0],
    KINDS[1],
    KINDS[2],
    KINDS[3],
    KINDS[4],
    KINDS[5],
];

/// A `&'static str` field a checkpoint restores through `static_str`. The alias matters: serde
/// would otherwise borrow a `&str` field from its input, tying the type to that input's lifetime.
pub type StaticName = &'static str;

/// `deserialize_with` for `&'static str` fields.
pub fn static_str<'de, D: serde::Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    let s = String::deserialize(d)?;
    STATICS
        .iter()
        .copied()
        .find(|k| *k == s)
        .ok_or_else(|| serde::de::Error::custom(format!("checkpoint: unknown value {s:?}")))
}

/// A path's measurements restored from a checkpoint.
pub fn restore_run(p: &PathCheckpoint) -> Result<PathRun, String> {
    let mut run = PathRun {
        cpu: Duration::from_micros(p.cpu_us),
        peak_rss_kib: p.peak_rss_kib,
        ..PathRun::default()
    };
    run.ticks = p.ticks.clone();
    for (phase, h) in &p.hist {
        run.hist
            .insert(phase.clone(), crate::histogram::Latency::decode(h)?);
    }
    for (phase, us) in &p.totals_us {
        run.totals.insert(phase.clone(), Duration::from_micros(*us));
    }
    Ok(run)
}

/// The path kind of a checkpoint's name.
pub fn path_kind(name: &str) -> Result<PathKind, String> {
    match name {
        "legacy" => Ok(PathKind::Legacy),
        "batched" => Ok(PathKind::Batched),
        other => Err(format!("checkpoint: unknown path {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convergence::Want;

    #[test]
    fn a_checkpoint_round_trips_and_refuses_unknown_names() {
        let row = TickRow {
            path: "batched",
            tick: 3,
            virtual_time_s: 90,
            cursor_before: "A".into(),
            cursor_after: "B".into(),
            hosts: 5,
            installs: 2,
            removes: 1,
            duration_us: 1234,
            outcome: "ok",
            error: String::new(),
            rows_read: 9,
            busy_retries: 0,
        };
        let sample = Sample {
            host_uuid: "H".into(),
            profile_uuid: "a1".into(),
            want: Want::Install {
                checksum: vec![1, 2],
                secrets: None,
            },
            event_tick: 1,
            event_s: 60,
            outcome: "open",
            end_s: None,
        };
        let finding = Finding {
            tick: 2,
            kind: "early_wrap",
            count: 1,
            detail: "d".into(),
            sample: String::new(),
        };
        let c = Checkpoint {
            next_tick: 4,
            paths: vec![PathCheckpoint {
                path: "batched".into(),
                ticks: vec![row.clone()],
                open: vec![sample.clone()],
                findings: vec![finding.clone()],
                ..PathCheckpoint::default()
            }],
            ..Checkpoint::default()
        };
        let text = serde_json::to_string(&c).unwrap();
        let back: Checkpoint = serde_json::from_str(&text).unwrap();
        assert_eq!(back.paths[0].ticks, vec![row]);
        assert_eq!(back.paths[0].open, vec![sample]);
        assert_eq!(back.paths[0].findings, vec![finding]);
        let bad = text.replace("\"early_wrap\"", "\"late_wrap\"");
        let e = serde_json::from_str::<Checkpoint>(&bad).unwrap_err();
        assert!(e.to_string().contains("unknown value \"late_wrap\""), "{e}");
    }
}
