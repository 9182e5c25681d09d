//! Loadtest checkpoints (issue 5, crash recovery): after every tick the loadtest writes what it
//! has measured and the state it carries between ticks to `state/checkpoint.json` in the run
//! folder (atomically), beside the paths' databases. `loadtest --resume DIR` starts again from
//! the last checkpoint. A tick interrupted by a crash runs again: the reconciler and devices
//! simply work on the state they find, and churn already applied is not applied twice (its tick
//! is committed with it, `reconsim_progress`). The liveness monitor restarts after a resume:
//! the pass in progress is not judged.

use crate::convergence::{Sample, Want};
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
    pub ticks: Vec<TickRowSer>,
    /// Phase → histogram (HdrHistogram V2 encoding, hex).
    pub hist: BTreeMap<String, String>,
    pub totals_us: BTreeMap<String, u64>,
    pub cpu_us: u64,
    pub peak_rss_kib: Option<u64>,
    pub open: Vec<SampleSer>,
    pub closed: Vec<SampleSer>,
    pub last_visit: Vec<(String, u32)>,
    pub pass_visited: Vec<i64>,
    pub pass_start: u32,
    pub findings: Vec<FindingSer>,
}

/// The static string among `known` equal to `s` (fields typed `&'static str` in memory).
fn known(s: &str, known: &[&'static str]) -> Result<&'static str, String> {
    known
        .iter()
        .copied()
        .find(|k| *k == s)
        .ok_or_else(|| format!("checkpoint: unknown value {s:?}"))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TickRowSer {
    pub path: String,
    pub tick: u32,
    pub virtual_time_s: u64,
    pub cursor_before: String,
    pub cursor_after: String,
    pub hosts: u64,
    pub installs: u64,
    pub removes: u64,
    pub duration_us: u64,
    pub outcome: String,
    pub error: String,
    pub rows_read: u64,
    pub busy_retries: u64,
}

impl TickRowSer {
    pub fn from(t: &TickRow) -> TickRowSer {
        TickRowSer {
            path: t.path.to_string(),
            tick: t.tick,
            virtual_time_s: t.virtual_time_s,
            cursor_before: t.cursor_before.clone(),
            cursor_after: t.cursor_after.clone(),
            hosts: t.hosts,
            installs: t.installs,
            removes: t.removes,
            duration_us: t.duration_us,
            outcome: t.outcome.to_string(),
            error: t.error.clone(),
            rows_read: t.rows_read,
            busy_retries: t.busy_retries,
        }
    }

    pub fn to_row(&self) -> Result<TickRow, String> {
        Ok(TickRow {
            path: known(&self.path, &["legacy", "batched"])?,
            tick: self.tick,
            virtual_time_s: self.virtual_time_s,
            cursor_before: self.cursor_before.clone(),
            cursor_after: self.cursor_after.clone(),
            hosts: self.hosts,
            installs: self.installs,
            removes: self.removes,
            duration_us: self.duration_us,
            outcome: known(&self.outcome, &["ok", "empty", "error"])?,
            error: self.error.clone(),
            rows_read: self.rows_read,
            busy_retries: self.busy_retries,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SampleSer {
    pub host_uuid: String,
    pub profile_uuid: String,
    /// None: the target is "absent".
    pub checksum: Option<String>,
    pub secrets: Option<String>,
    pub event_tick: u32,
    pub event_s: u64,
    pub outcome: String,
    pub end_s: Option<u64>,
}

impl SampleSer {
    pub fn from(s: &Sample) -> SampleSer {
        let (checksum, secrets) = match &s.want {
            Want::Install { checksum, secrets } => (Some(hex::encode(checksum)), secrets.clone()),
            Want::Absent => (None, None),
        };
        SampleSer {
            host_uuid: s.host_uuid.clone(),
            profile_uuid: s.profile_uuid.clone(),
            checksum,
            secrets,
            event_tick: s.event_tick,
            event_s: s.event_s,
            outcome: s.outcome.to_string(),
            end_s: s.end_s,
        }
    }

    pub fn to_sample(&self) -> Result<Sample, String> {
        Ok(Sample {
            host_uuid: self.host_uuid.clone(),
            profile_uuid: self.profile_uuid.clone(),
            want: match &self.checksum {
                Some(c) => Want::Install {
                    checksum: hex::decode(c).map_err(|e| e.to_string())?,
                    secrets: self.secrets.clone(),
                },
                None => Want::Absent,
            },
            event_tick: self.event_tick,
            event_s: self.event_s,
            outcome: known(
                &self.outcome,
                &["open", "converged", "failed", "superseded"],
            )?,
            end_s: self.end_s,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FindingSer {
    pub tick: u32,
    pub kind: String,
    pub count: u64,
    pub detail: String,
    pub sample: String,
}

impl FindingSer {
    pub fn from(f: &Finding) -> FindingSer {
        FindingSer {
            tick: f.tick,
            kind: f.kind.to_string(),
            count: f.count,
            detail: f.detail.clone(),
            sample: f.sample.clone(),
        }
    }

    pub fn to_finding(&self) -> Result<Finding, String> {
        Ok(Finding {
            tick: self.tick,
            kind: known(&self.kind, &KINDS)?,
            count: self.count,
            detail: self.detail.clone(),
            sample: self.sample.clone(),
        })
    }
}

/// A path's measurements restored from a checkpoint.
pub fn restore_run(p: &PathCheckpoint) -> Result<PathRun, String> {
    let mut run = PathRun {
        cpu: Duration::from_micros(p.cpu_us),
        peak_rss_kib: p.peak_rss_kib,
        ..PathRun::default()
    };
    for t in &p.ticks {
        run.ticks.push(t.to_row()?);
    }
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
