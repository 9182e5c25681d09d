//! Checking a parsed scenario: every range and every sum, the first failure named by its key
//! path.

use super::*;

impl Scenario {
    /// Checks every range and every sum; returns the first (key path, message) at fault.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let mut v = Validator::default();
        v.rate(
            "faults.cursor_write_fail_probability",
            self.faults.cursor_write_fail_probability,
        );
        v.rate(
            "faults.busy_write_probability",
            self.faults.busy_write_probability,
        );
        for (i, f) in self.faults.errors.iter().enumerate() {
            if !FAULT_PHASES.contains(&f.phase.as_str()) {
                v.fail(
                    &format!("faults.error[{i}].phase"),
                    format!(
                        "unknown phase {:?} (known: {})",
                        f.phase,
                        FAULT_PHASES.join(", ")
                    ),
                );
            }
            v.rate(&format!("faults.error[{i}].probability"), f.probability);
            if f.tick.is_none() && f.probability == 0.0 {
                v.fail(
                    &format!("faults.error[{i}]"),
                    "needs `tick` or a `probability` above 0".into(),
                );
            }
        }
        if let Some(e) = &self.expect {
            for (i, k) in e.findings.iter().flatten().enumerate() {
                if let Err(e) = crate::analysis::names::FindingKind::parse(k) {
                    v.fail(&format!("expect.findings[{i}]"), e);
                }
            }
        }
        v.timestamp("run.now", &self.run.now);
        v.positive("run.batch_size", self.run.batch_size as f64);
        v.positive("drain.window", self.drain.window as f64);
        if let Err(e) = self.drain.knobs() {
            v.fail("drain.budget", e);
        }
        for (i, c) in self.thresholds.checks.iter().enumerate() {
            if let Err(e) = c.parse::<crate::fleet::threshold::Threshold>() {
                v.fail(&format!("thresholds.checks[{i}]"), e);
            }
        }
        if self.faults.busy_write_ms > 0 && self.faults.busy_write_probability == 0.0 {
            v.fail(
                "faults.busy_write_ms",
                "needs `busy_write_probability` above 0 (the share of ticks whose writer waits)"
                    .into(),
            );
        }
        // Bounds (issue 11): what the generator and the loadtest can hold, so a scenario that
        // cannot fit fails here, naming its key, instead of aborting half-way.
        if let Some(now) = crate::support::timefmt::parse_timestamp(&self.run.now) {
            let (lo, hi) = (NOW_MIN, NOW_MAX);
            if !(lo..=hi).contains(&now) {
                v.fail(
                    "run.now",
                    format!(
                        "{:?} is outside {} .. {} (reports must fall after the never-reported \
                         sentinel {} and every derived time must stay a 4-digit year)",
                        self.run.now,
                        crate::support::timefmt::timestamp(lo),
                        crate::support::timefmt::timestamp(hi),
                        crate::support::timefmt::SENTINEL
                    ),
                );
            }
            let max_age = (now - SENTINEL_S - 1).max(0) / 3600;
            if self.hosts.label_updated_at.max_age_hours as i64 > max_age {
                v.fail(
                    "hosts.label_updated_at.max_age_hours",
                    format!(
                        "{} reaches back before the never-reported sentinel {}: at most {max_age} \
                         for run.now {:?}",
                        self.hosts.label_updated_at.max_age_hours,
                        crate::support::timefmt::SENTINEL,
                        self.run.now
                    ),
                );
            }
        }
        v.at_most("hosts.count", self.hosts.count as f64, MAX_HOSTS as f64);
        v.at_most("hosts.teams", self.hosts.teams as f64, 100_000.0);
        v.at_most(
            "current.deleted_hosts",
            self.current.deleted_hosts as f64,
            MAX_HOSTS as f64,
        );
        v.at_most(
            "labels.dynamic",
            (self.labels.dynamic as f64)
                + (self.labels.manual as f64)
                + (self.labels.host_vitals as f64),
            1_000_000.0,
        );
        v.at_most(
            "profiles.per_team",
            (self.profiles.per_team as f64) * (self.hosts.teams as f64 + 1.0),
            1_000_000.0,
        );

        let h = &self.hosts;
        v.positive("hosts.count", h.count as f64);
        v.rate("hosts.no_team_share", h.no_team_share);
        v.rate("hosts.duplicate_uuid_rate", h.duplicate_uuid_rate);
        v.rate("hosts.mdm_unenrolled_share", h.mdm_unenrolled_share);
        v.rate(
            "hosts.label_updated_at.tie_share",
            h.label_updated_at.tie_share,
        );
        let p = &h.platforms;
        v.shares(
            "hosts.platforms",
            &[
                ("darwin", p.darwin),
                ("ios", p.ios),
                ("ipados", p.ipados),
                ("other", p.other),
            ],
        );
        let e = &h.enrollment;
        v.shares(
            "hosts.enrollment",
            &[
                ("device", e.device),
                ("user_enrollment_device", e.user_enrollment_device),
                ("user_only", e.user_only),
                ("disabled", e.disabled),
                ("no_nano_device", e.no_nano_device),
            ],
        );
        v.rate(
            "hosts.label_updated_at.sentinel_share",
            h.label_updated_at.sentinel_share,
        );
        v.positive(
            "hosts.label_updated_at.max_age_hours",
            h.label_updated_at.max_age_hours as f64,
        );

        let l = &self.labels;
        v.positive(
            "labels.dynamic",
            (l.dynamic + l.manual + l.host_vitals) as f64,
        );
        v.non_negative("labels.avg_per_host", l.avg_per_host);
        if l.avg_per_host > (l.dynamic + l.manual + l.host_vitals) as f64 {
            v.fail(
                "labels.avg_per_host",
                "exceeds the number of labels".to_string(),
            );
        }
        v.non_negative("labels.skew", l.skew);
        v.rate("labels.recent_share", l.recent_share);
        v.rate("labels.broken_share", l.broken_share);
        v.rate("labels.null_created_at_share", l.null_created_at_share);

        let pr = &self.profiles;
        v.positive("profiles.per_team", pr.per_team as f64);
        v.rate("profiles.fleet_builtin_share", pr.fleet_builtin_share);
        v.positive("profiles.labels_min", pr.labels_min as f64);
        if pr.labels_max < pr.labels_min {
            v.fail(
                "profiles.labels_max",
                format!("{} is below labels_min {}", pr.labels_max, pr.labels_min),
            );
        }
        let total_labels = l.dynamic + l.manual + l.host_vitals;
        if pr.labels_max > total_labels {
            v.fail(
                "profiles.labels_max",
                format!("{} exceeds the {total_labels} labels", pr.labels_max),
            );
        }
        v.rate("profiles.secrets_share", pr.secrets_share);
        v.rate("profiles.user_scope_share", pr.user_scope_share);
        v.shares("profiles.label_modes", &pr.label_modes.named());

        if let Err((key, message)) = self.rules.rules() {
            v.fail(&key, message);
        }
        let lt = &self.loadtest;
        v.positive("loadtest.interval_s", lt.interval_s as f64);
        v.rate("loadtest.ack_per_tick", lt.ack_per_tick);
        v.rate("loadtest.verify_per_tick", lt.verify_per_tick);
        v.rate("loadtest.failure_rate", lt.failure_rate);
        for (key, rate) in [
            ("membership_flips_per_min", lt.membership_flips_per_min),
            ("label_reports_per_min", lt.label_reports_per_min),
            ("profile_edits_per_min", lt.profile_edits_per_min),
            ("team_transfers_per_min", lt.team_transfers_per_min),
            ("new_labels_per_min", lt.new_labels_per_min),
            ("label_deletions_per_min", lt.label_deletions_per_min),
            ("profile_adds_per_min", lt.profile_adds_per_min),
            ("profile_deletions_per_min", lt.profile_deletions_per_min),
            ("secrets_updates_per_min", lt.secrets_updates_per_min),
            ("enrollment_toggles_per_min", lt.enrollment_toggles_per_min),
            ("duplicate_hosts_per_min", lt.duplicate_hosts_per_min),
        ] {
            let key = format!("loadtest.{key}");
            v.non_negative(&key, rate);
            // Events of one tick are built in memory: at most a million per kind.
            v.at_most(&key, rate * lt.interval_s as f64 / 60.0, 1_000_000.0);
        }

        for (i, e) in lt.events.iter().enumerate() {
            let key = |k: &str| format!("loadtest.events[{i}].{k}");
            use super::ScriptedKind as K;
            let given = [
                ("count", e.count.is_some()),
                ("team", e.team.is_some()),
                ("share", e.share.is_some()),
                ("from_team", e.from_team.is_some()),
                ("to_team", e.to_team.is_some()),
                ("hosts", e.hosts.is_some()),
            ];
            let (needed, allowed): (&[&str], &[&str]) = match e.kind {
                K::AddProfiles => (&["count"], &["count", "team"]),
                K::ExcludeLabel => (&["share"], &["share"]),
                K::MoveTeam => (
                    &["from_team", "to_team"],
                    &["from_team", "to_team", "hosts"],
                ),
            };
            for (k, set) in given {
                if set && !allowed.contains(&k) {
                    v.fail(&key(k), format!("a {} event takes no `{k}`", e.kind));
                }
            }
            for k in needed {
                if !given.iter().any(|(g, set)| g == k && *set) {
                    v.fail(&key(k), format!("a {} event needs `{k}`", e.kind));
                }
            }
            for (k, team) in [
                ("team", e.team),
                ("from_team", e.from_team),
                ("to_team", e.to_team),
            ] {
                if let Some(t) = team
                    && t > self.hosts.teams
                {
                    v.fail(
                        &key(k),
                        format!(
                            "team {t} does not exist (teams are 1–{}, 0 = no team)",
                            self.hosts.teams
                        ),
                    );
                }
            }
            if let Some(share) = e.share {
                v.rate(&key("share"), share);
            }
            if let Some(n) = e.count {
                v.positive(&key("count"), n as f64);
                v.at_most(&key("count"), n as f64, 10_000.0);
            }
        }

        let c = &self.current;
        v.rate("current.coverage", c.coverage);
        v.rate("current.undesired_rows_share", c.undesired_rows_share);
        v.rate("current.stale_checksum_share", c.stale_checksum_share);
        v.rate("current.stale_secrets_share", c.stale_secrets_share);
        v.rate(
            "current.stale_secrets_null_share",
            c.stale_secrets_null_share,
        );
        v.rate(
            "current.deleted_profile_rows_share",
            c.deleted_profile_rows_share,
        );
        v.rate(
            "current.ineligible_host_rows_share",
            c.ineligible_host_rows_share,
        );
        let cells = c.status_op.cells();
        let named: Vec<(String, f64)> = cells
            .iter()
            .map(|((op, st), w)| {
                (
                    format!("{}_{}", op.unwrap_or("null"), st.unwrap_or("null")),
                    *w,
                )
            })
            .collect();
        let refs: Vec<(&str, f64)> = named.iter().map(|(k, w)| (k.as_str(), *w)).collect();
        v.shares("current.status_op", &refs);
        v.finish()
    }
}

/// The largest fleet a scenario may ask for (hosts, or host uuids of deleted hosts).
pub const MAX_HOSTS: u64 = 20_000_000;
/// `run.now` bounds: after the never-reported sentinel, and early enough that a loadtest's
/// virtual clock stays within 4-digit years.
pub(super) const SENTINEL_S: i64 = 946_684_800; // 2000-01-01 00:00:00
pub(super) const NOW_MIN: i64 = SENTINEL_S + 86_400; // 2000-01-02
pub(super) const NOW_MAX: i64 = 219_838_838_400; // 8936-06-01: a millennium of ticks before year 10000

/// Collects the first validation failure.
#[derive(Default)]
pub(super) struct Validator {
    first: Option<(String, String)>,
}

impl Validator {
    pub(super) fn fail(&mut self, key: &str, message: String) {
        if self.first.is_none() {
            self.first = Some((key.to_string(), message));
        }
    }
    pub(super) fn rate(&mut self, key: &str, x: f64) {
        if !(0.0..=1.0).contains(&x) {
            self.fail(key, format!("rate {x} is outside [0, 1]"));
        }
    }
    pub(super) fn non_negative(&mut self, key: &str, x: f64) {
        if !(x >= 0.0 && x.is_finite()) {
            self.fail(key, format!("{x} must be a finite number >= 0"));
        }
    }
    /// `x` (a count, or what a key drives) may not exceed `max`.
    pub(super) fn at_most(&mut self, key: &str, x: f64, max: f64) {
        if x > max {
            self.fail(
                key,
                format!("{x} is more than this tool supports (at most {max} here)"),
            );
        }
    }
    pub(super) fn positive(&mut self, key: &str, x: f64) {
        if x <= 0.0 {
            self.fail(key, format!("{x} must be greater than 0"));
        }
    }
    pub(super) fn shares(&mut self, group: &str, parts: &[(&str, f64)]) {
        for (k, x) in parts {
            self.rate(&format!("{group}.{k}"), *x);
        }
        let sum: f64 = parts.iter().map(|(_, x)| x).sum();
        if (sum - 1.0).abs() > 1e-6 {
            self.fail(
                group,
                format!("shares sum to {}, not 1", (sum * 1e6).round() / 1e6),
            );
        }
    }
    pub(super) fn timestamp(&mut self, key: &str, s: &str) {
        if crate::support::timefmt::parse_timestamp(s).is_none() {
            self.fail(
                key,
                format!("{s:?} is not a `YYYY-MM-DD HH:MM:SS` timestamp"),
            );
        }
    }
    pub(super) fn finish(self) -> Result<(), (String, String)> {
        match self.first {
            Some(f) => Err(f),
            None => Ok(()),
        }
    }
}
