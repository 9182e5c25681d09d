//! Scenario files: the shape of a synthetic fleet, as TOML, validated once at load.
//!
//! Every knob is a count or a rate. Unknown keys are rejected (`deny_unknown_fields`), and every
//! error names the file and the dotted key path at fault, in one line. Rates are in [0, 1];
//! groups of shares that split a population (platforms, enrollment kinds, label modes, the
//! status × operation matrix) must sum to 1 (within 1e-6).

use serde::{Deserialize, Serialize};
use std::path::Path;

mod validate;
pub use validate::MAX_HOSTS;

/// Errors of the scenario domain. Each names the file, and the key path where there is one.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("scenario {file}: not a regular file (a {kind})")]
    NotAFile { file: String, kind: &'static str },
    #[error("scenario {file}: cannot read: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("scenario {file}:{line}:{column}: {message}")]
    Parse {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("scenario {file}: key `{key}`: {message}")]
    Invalid {
        file: String,
        key: String,
        message: String,
    },
}

/// A whole scenario file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Free text shown in summaries.
    #[serde(default)]
    pub description: String,
    pub run: RunSettings,
    pub hosts: Hosts,
    pub labels: Labels,
    pub profiles: Profiles,
    pub current: Current,
    /// The batched path's switchable rules (spec §6); absent keys keep the shipped defaults.
    #[serde(default)]
    pub rules: ScenarioRules,
    /// The loadtest's clock, devices and churn.
    #[serde(default)]
    pub loadtest: LoadtestSettings,
    /// Injected faults (issue 5).
    #[serde(default)]
    pub faults: Faults,
    /// The drain loop's knobs (semantics §10), used when `run.variant = "drain"` and by a
    /// loadtest's drain path.
    #[serde(default)]
    pub drain: DrainSettings,
    /// The loadtest's approaches, in order (`--approach` and `--paths` override them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approaches: Vec<ScenarioApproach>,
    /// What `reconsim repro` expects to see (bug scenarios).
    #[serde(default)]
    pub expect: Option<Expect>,
    /// Pass/fail checks on a loadtest's verdict (`threshold`); a failed one exits 1.
    #[serde(default)]
    pub thresholds: Thresholds,
}

/// `[drain]`: window W, cap C (0 = no cap) and budget T of the drain loop; Fleet's values by
/// default. `budget` is a time (`12s`, `500ms`) or `windows:K`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DrainSettings {
    pub window: u32,
    pub cap: u32,
    pub budget: String,
}

impl Default for DrainSettings {
    fn default() -> Self {
        DrainSettings {
            window: 2000,
            cap: 2000,
            budget: "12s".into(),
        }
    }
}

impl DrainSettings {
    /// The knobs, or what is wrong with `budget`.
    pub fn knobs(&self) -> Result<crate::paths::drain::DrainKnobs, String> {
        Ok(crate::paths::drain::DrainKnobs {
            window: self.window as usize,
            cap: (self.cap > 0).then_some(self.cap as usize),
            budget: self.budget.parse()?,
        })
    }
}

/// `[thresholds]`: `checks = ["batched.tick.p99 < 5s", "equivalence != unexplained"]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    #[serde(default)]
    pub checks: Vec<String>,
}

/// Batched phases a fault can name.
pub const FAULT_PHASES: [&str; 6] = [
    "window",
    "catalog",
    "memberships",
    "current_rows",
    "compute",
    "write",
];

/// `[faults]`: errors injected into the batched path, from the seed (issue 5).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// Cursor writes fail from this tick on.
    pub cursor_write_fail_from_tick: Option<u32>,
    /// Each cursor write fails with this probability.
    pub cursor_write_fail_probability: f64,
    /// Cursor reads fail from this tick on (a read error means "start from the beginning").
    pub cursor_read_fail_from_tick: Option<u32>,
    /// `SQLITE_BUSY` on writes: another connection holds the write lock for this many ms while
    /// the downstream writer runs (the writer waits, 1 ms a retry, up to 30 s, then fails).
    pub busy_write_ms: u64,
    /// ... at each tick with this probability (1 = every tick).
    pub busy_write_probability: f64,
    /// Errors in named phases.
    #[serde(rename = "error")]
    pub errors: Vec<PhaseFault>,
}

/// `[[faults.error]]`: an error in one phase, at a tick (once, or from then on) or with a
/// probability per tick.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseFault {
    /// One of `FAULT_PHASES`.
    pub phase: String,
    /// The tick it strikes (with `persistent`: from then on).
    pub tick: Option<u32>,
    #[serde(default)]
    pub persistent: bool,
    /// Instead of `tick`: the chance it strikes at each tick.
    #[serde(default)]
    pub probability: f64,
}

/// `[expect]`: what a bug scenario must show (`reconsim repro`). Absent keys are not checked.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// One line saying what the scenario reproduces (for `repro --list`).
    pub summary: String,
    /// Ticks to run [default: three full passes].
    pub ticks: Option<u32>,
    /// Some tick's error contains this text.
    pub error_contains: Option<String>,
    pub stuck_cursor: Option<bool>,
    pub cursor_not_advancing: Option<bool>,
    pub early_wrap: Option<bool>,
    pub starved_hosts_min: Option<u64>,
    pub skipped_hosts_min: Option<u64>,
    /// (host, profile) pairs withheld only by the timing check of a host-vitals label (B6):
    /// at least / at most this many.
    pub vitals_withheld_min: Option<u64>,
    pub vitals_withheld_max: Option<u64>,
    /// Exactly these finding kinds (`[]`: a clean run).
    pub findings: Option<Vec<String>>,
}

/// `[loadtest]`: Fleet's cron interval, device behaviour, churn rates per virtual minute.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoadtestSettings {
    /// Virtual seconds between ticks (Fleet's cron: 30).
    pub interval_s: u32,
    /// Probability that a device answers a pending command at a given tick.
    pub ack_per_tick: f64,
    /// Probability that a verifying install is verified at a given tick.
    pub verify_per_tick: f64,
    /// Share of answered commands that fail.
    pub failure_rate: f64,
    /// Label membership flips per virtual minute.
    pub membership_flips_per_min: f64,
    /// Hosts reporting labels (label_updated_at bumped to now) per virtual minute.
    pub label_reports_per_min: f64,
    /// Profile edits (new checksum) per virtual minute.
    pub profile_edits_per_min: f64,
    /// Hosts moving to another team (or to no team) per virtual minute.
    pub team_transfers_per_min: f64,
    /// New dynamic labels per virtual minute: created "now" with a few members and attached
    /// to a profile as an exclude label, so the timing rule withholds it until hosts report.
    pub new_labels_per_min: f64,
    /// Label deletions per virtual minute: the profile rows naming it go broken (spec §1).
    pub label_deletions_per_min: f64,
    /// New label-less profiles per virtual minute (in a random team).
    pub profile_adds_per_min: f64,
    /// Profile deletions per virtual minute (their label rows go with them).
    pub profile_deletions_per_min: f64,
    /// Profiles whose `secrets_updated_at` moves to now, per virtual minute.
    pub secrets_updates_per_min: f64,
    /// Hosts whose MDM enrollment toggles (enabled 1 ↔ 0) per virtual minute.
    pub enrollment_toggles_per_min: f64,
    /// New host rows copying an existing host's uuid, per virtual minute (spec §6 D6).
    pub duplicate_hosts_per_min: f64,
    /// Churn stops after this many ticks (absent: never), so a run can show convergence.
    pub churn_ticks: Option<u32>,
    /// Scripted events (`[[loadtest.events]]`) besides the random churn, at given ticks.
    pub events: Vec<ScriptedEvent>,
}

crate::support::named::named_enum!(
    "kebab-case",
    /// What a scripted event does.
    pub enum ScriptedKind {
        /// `count` new label-less profiles in team `team` (0 = no team), or in every team and
        /// no team when `team` is absent: a bulk change to every host of a team or the fleet.
        AddProfiles,
        /// A new dynamic label whose members are a `share` of the fleet's host rows, attached
        /// to a profile as an exclude label (the profile leaves those hosts once they report).
        ExcludeLabel,
        /// Up to `hosts` host rows (absent: all) of team `from_team` move to team `to_team`
        /// (0 = no team), lowest id first: a mass team transfer.
        MoveTeam,
    }
);

/// One `[[approaches]]` entry: a path and its knobs, as `--approach` spells them (`kind` is
/// `legacy`, `batched` or `drain`; `window`, `cap`, `budget` are the drain path's;
/// `enroll_path` the batched and drain paths'). Checked where the loadtest reads them.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioApproach {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enroll_path: Option<bool>,
}

impl ScenarioApproach {
    /// As `--approach` spells it: `drain:window=2000,cap=2000,budget=12s,enroll-path=on`.
    pub fn spelled(&self) -> String {
        let mut knobs = Vec::new();
        if let Some(w) = self.window {
            knobs.push(format!("window={w}"));
        }
        if let Some(c) = self.cap {
            knobs.push(format!("cap={c}"));
        }
        if let Some(b) = &self.budget {
            knobs.push(format!("budget={b}"));
        }
        if let Some(e) = self.enroll_path {
            knobs.push(format!("enroll-path={}", if e { "on" } else { "off" }));
        }
        if knobs.is_empty() {
            self.kind.clone()
        } else {
            format!("{}:{}", self.kind, knobs.join(","))
        }
    }
}

/// One `[[loadtest.events]]` entry: applied after tick `at_tick`'s reconciler, as churn is,
/// whether or not random churn still runs. Only the keys of its kind may be given.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedEvent {
    pub at_tick: u32,
    pub kind: ScriptedKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_team: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_team: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts: Option<u32>,
}

impl Default for LoadtestSettings {
    fn default() -> Self {
        LoadtestSettings {
            interval_s: 30,
            ack_per_tick: 0.8,
            verify_per_tick: 0.9,
            failure_rate: 0.02,
            membership_flips_per_min: 20.0,
            label_reports_per_min: 40.0,
            profile_edits_per_min: 0.5,
            team_transfers_per_min: 2.0,
            new_labels_per_min: 0.2,
            label_deletions_per_min: 0.1,
            profile_adds_per_min: 0.1,
            profile_deletions_per_min: 0.1,
            secrets_updates_per_min: 0.2,
            enrollment_toggles_per_min: 1.0,
            duplicate_hosts_per_min: 0.5,
            churn_ticks: None,
            events: Vec::new(),
        }
    }
}

/// `[rules]`: `d1 = "or"`, … as on the command line (`--rule d1=or`), which overrides them.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioRules {
    pub d1: Option<String>,
    pub d2: Option<String>,
    pub d3: Option<String>,
    pub d4: Option<String>,
    pub d5: Option<String>,
    pub d7: Option<String>,
}

impl ScenarioRules {
    /// The rules these settings give over the defaults; the error names the key.
    pub fn rules(&self) -> Result<crate::domain::rules::Rules, (String, String)> {
        let mut r = crate::domain::rules::Rules::default();
        for (key, value) in [
            ("d1", &self.d1),
            ("d2", &self.d2),
            ("d3", &self.d3),
            ("d4", &self.d4),
            ("d5", &self.d5),
            ("d7", &self.d7),
        ] {
            if let Some(v) = value {
                r.apply(&format!("{key}={v}")).map_err(|e| {
                    let why = e.split_once(": ").map_or(e.as_str(), |x| x.1).to_string();
                    (format!("rules.{key}"), why)
                })?;
            }
        }
        Ok(r)
    }
}

/// Settings used when running the scenario (seed, batch size).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunSettings {
    /// Seed of every random choice; `--seed` overrides it.
    pub seed: u64,
    /// Hosts per batched window (Fleet: 5,000).
    #[serde(default = "default_batch_size")]
    pub batch_size: u32,
    /// The generator's "now" (`YYYY-MM-DD HH:MM:SS`, UTC): a fixed instant, never the wall
    /// clock, so the same seed gives the same bytes on any day.
    #[serde(default = "default_now")]
    pub now: String,
    /// The batched path's version (spec §8): `seed`, `merged` (default), `dedupe`, `latest`;
    /// `--variant` overrides it.
    #[serde(default)]
    pub variant: crate::domain::variant::Variant,
}

fn default_batch_size() -> u32 {
    5000
}
fn default_now() -> String {
    "2026-06-01 12:00:00".to_string()
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Hosts {
    /// Host rows before duplicates are added.
    pub count: u64,
    /// Teams besides "no team".
    pub teams: u32,
    /// Share of hosts with `team_id` NULL.
    pub no_team_share: f64,
    /// Share of hosts that get a second `hosts` row with the same uuid (spec §6 D6).
    pub duplicate_uuid_rate: f64,
    /// Hosts whose uuid is `''` (spec §6 D9).
    #[serde(default)]
    pub empty_uuid_count: u64,
    /// Share of hosts whose `host_mdm.enrolled` is 0 (spec §6 D7).
    pub mdm_unenrolled_share: f64,
    pub platforms: Platforms,
    pub enrollment: Enrollment,
    pub label_updated_at: LabelUpdatedAt,
}

/// Platform mix; sums to 1.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Platforms {
    pub darwin: f64,
    pub ios: f64,
    pub ipados: f64,
    /// Non-Apple platforms (windows, ubuntu, chrome): never eligible (spec §2).
    pub other: f64,
}

/// Enrollment mix of Apple hosts; sums to 1 (spec §2's gates).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Enrollment {
    /// Enabled `Device` enrollment with a nano device: eligible.
    pub device: f64,
    /// Enabled `User Enrollment (Device)` with a nano device: eligible.
    pub user_enrollment_device: f64,
    /// Only a `User` enrollment: not eligible.
    pub user_only: f64,
    /// A `Device` enrollment with `enabled = 0`: not eligible.
    pub disabled: f64,
    /// A `Device` enrollment but no `nano_devices` row: not eligible.
    pub no_nano_device: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LabelUpdatedAt {
    /// Share of hosts that never reported labels (the 2000-01-01 sentinel).
    pub sentinel_share: f64,
    /// The others reported uniformly within this many hours before `run.now`.
    pub max_age_hours: u32,
    /// Share of reporting hosts whose report time equals a recent label's creation time (the
    /// `<` / `<=` boundary of the timing rule).
    #[serde(default = "default_tie_share")]
    pub tie_share: f64,
}

fn default_tie_share() -> f64 {
    0.02
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Labels {
    /// Dynamic labels (membership type 0, osquery query).
    pub dynamic: u32,
    /// Manual labels (type 1): exempt from the timing check.
    pub manual: u32,
    /// Host-vitals labels (type 2): timing-checked anyway (spec §8 B6).
    pub host_vitals: u32,
    /// Average label memberships per host.
    pub avg_per_host: f64,
    /// Popularity skew across labels (Zipf exponent; 0 = uniform).
    pub skew: f64,
    /// Share of labels created after hosts' last label report ("recent": not evaluated yet).
    pub recent_share: f64,
    /// Share of labels deleted after profiles referenced them (`label_id` NULL: "broken").
    pub broken_share: f64,
    /// Share of labels with `created_at` NULL (spec §6 D8).
    #[serde(default)]
    pub null_created_at_share: f64,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Profiles {
    /// Profiles per team, team 0 ("no team") included.
    pub per_team: u32,
    /// Share of teams (team 0 included) that carry Fleet's own `Fleetd configuration` and
    /// `Disk encryption` profiles (spec §2: never installed on iOS/iPadOS).
    pub fleet_builtin_share: f64,
    /// Label rows per label-scoped profile: at least this many...
    pub labels_min: u32,
    /// ...and at most this many (per kind: includes and excludes each).
    pub labels_max: u32,
    /// Share of profiles with `secrets_updated_at` set.
    pub secrets_share: f64,
    /// Share of profiles with scope `User`.
    pub user_scope_share: f64,
    pub label_modes: LabelModes,
}

/// Label-mode mix of the generated profiles; sums to 1. (exclude, require_all) per spec §1.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LabelModes {
    pub none: f64,
    /// Rows (0,1).
    pub include_all: f64,
    /// Rows (0,0).
    pub include_any: f64,
    /// Rows (1,0).
    pub exclude_any: f64,
    /// (0,1) rows plus (1,0) rows (spec §6 D1).
    pub include_all_exclude: f64,
    /// (0,0) rows plus (1,0) rows (spec §6 D1).
    pub include_any_exclude: f64,
    /// Include rows disagreeing on require_all (spec §6 D2).
    pub mixed_include: f64,
    /// Only (1,1) rows (spec §6 D3; never desired by legacy).
    pub exclude_require_all: f64,
}

impl LabelModes {
    /// The shares with their key names, in declaration order (the generator's mode order).
    pub fn named(&self) -> [(&'static str, f64); 8] {
        [
            ("none", self.none),
            ("include_all", self.include_all),
            ("include_any", self.include_any),
            ("exclude_any", self.exclude_any),
            ("include_all_exclude", self.include_all_exclude),
            ("include_any_exclude", self.include_any_exclude),
            ("mixed_include", self.mixed_include),
            ("exclude_require_all", self.exclude_require_all),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Current {
    /// Share of desired (host, profile) pairs that already have a row.
    pub coverage: f64,
    /// Share of team-matching pairs that are *not* desired yet have a row (to be removed).
    pub undesired_rows_share: f64,
    /// Share of rows whose checksum differs from the profile's.
    pub stale_checksum_share: f64,
    /// Share of rows of secret-bearing profiles whose `secrets_updated_at` lags the profile's.
    pub stale_secrets_share: f64,
    /// Of those stale-secrets rows, the share whose `secrets_updated_at` is NULL (spec §6 D4).
    pub stale_secrets_null_share: f64,
    /// Share of eligible hosts holding a row of a deleted profile.
    pub deleted_profile_rows_share: f64,
    /// Share of ineligible Apple hosts holding rows (from before they lost eligibility).
    pub ineligible_host_rows_share: f64,
    /// Host uuids with rows but no `hosts` row at all (deleted hosts).
    #[serde(default)]
    pub deleted_hosts: u32,
    pub status_op: StatusOp,
}

/// Weights of the status × operation matrix of current rows; sums to 1. `null` = NULL.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StatusOp {
    pub install_null: f64,
    pub install_pending: f64,
    pub install_verifying: f64,
    pub install_verified: f64,
    pub install_failed: f64,
    pub remove_null: f64,
    pub remove_pending: f64,
    pub remove_verifying: f64,
    pub remove_verified: f64,
    pub remove_failed: f64,
    pub null_null: f64,
    pub null_pending: f64,
    pub null_verifying: f64,
    pub null_verified: f64,
    pub null_failed: f64,
}

/// One cell of the status × operation matrix: (operation, status), None = NULL.
pub type Cell = (Option<&'static str>, Option<&'static str>);

/// The operation values of spec §1, NULL last.
pub const OPERATIONS: [Option<&str>; 3] = [Some("install"), Some("remove"), None];
/// The status values of spec §1, NULL first.
pub const STATUSES: [Option<&str>; 5] = [
    None,
    Some("pending"),
    Some("verifying"),
    Some("verified"),
    Some("failed"),
];

impl StatusOp {
    /// The 15 cells as ((operation, status), weight), in `OPERATIONS` × `STATUSES` order.
    pub fn cells(&self) -> [(Cell, f64); 15] {
        let w = [
            self.install_null,
            self.install_pending,
            self.install_verifying,
            self.install_verified,
            self.install_failed,
            self.remove_null,
            self.remove_pending,
            self.remove_verifying,
            self.remove_verified,
            self.remove_failed,
            self.null_null,
            self.null_pending,
            self.null_verifying,
            self.null_verified,
            self.null_failed,
        ];
        std::array::from_fn(|i| ((OPERATIONS[i / 5], STATUSES[i % 5]), w[i]))
    }
}

impl Scenario {
    /// Reads, parses and validates a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = read_file(path)?;
        Scenario::parse(&text, &path.display().to_string())
    }

    /// Parses and validates scenario text; `file` is only used in messages.
    pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
        let parse_error = |message: String, span: Option<std::ops::Range<usize>>| {
            let (line, column) = span.map_or((1, 1), |s| line_col(text, s.start));
            ScenarioError::Parse {
                file: file.to_string(),
                line,
                column,
                message,
            }
        };
        let de = toml::Deserializer::parse(text)
            .map_err(|e| parse_error(e.message().to_string(), e.span()))?;
        let scenario: Scenario = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let message = if path == "." || path.is_empty() {
                inner.message().to_string()
            } else {
                format!("key `{path}`: {}", inner.message())
            };
            parse_error(message, inner.span())
        })?;
        scenario
            .validate()
            .map_err(|(key, message)| ScenarioError::Invalid {
                file: file.to_string(),
                key,
                message,
            })?;
        Ok(scenario)
    }
}
/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, column)
}

/// Reads a scenario file: a regular file only (a FIFO would block, a folder cannot be read).
pub fn read_file(path: &Path) -> Result<String, ScenarioError> {
    let file = path.display().to_string();
    let read = |source| ScenarioError::Read {
        file: file.clone(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read)?;
    if !meta.is_file() {
        use std::os::unix::fs::FileTypeExt;
        let t = meta.file_type();
        let kind = if t.is_dir() {
            "folder"
        } else if t.is_fifo() {
            "FIFO"
        } else if t.is_socket() {
            "socket"
        } else {
            "device"
        };
        return Err(ScenarioError::NotAFile { file, kind });
    }
    std::fs::read_to_string(path).map_err(read)
}

#[cfg(test)]
mod tests;
