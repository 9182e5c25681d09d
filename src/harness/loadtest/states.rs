//! State comparison at batched pass boundaries: both paths' `host_mdm_apple_profiles`
//! compared on (operation, status, checksum), each differing pair classified (lag, in flight,
//! device, history, a divergence class, or unexplained) with one sample per class.

use super::*;
use crate::harness::error::Result;

/// One row of `equivalence.csv`: per pass boundary, the pairs of one class.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EqRow {
    /// The path compared with the run's first path (whose row the `legacy` cells hold).
    #[serde(default = "compared_default")]
    pub path: String,
    pub pass_start_tick: u32,
    pub tick: u32,
    pub virtual_time_s: u64,
    pub class: String,
    pub pairs: u64,
    pub sample_host_uuid: String,
    pub sample_profile_uuid: String,
    /// The sample pair's row on each path (operation, status, first 4 checksum bytes in hex;
    /// empty where there is no row).
    pub legacy: RowCells,
    pub batched: RowCells,
    /// Why, for the sample pair (the classifier's explanation when it ran; empty otherwise).
    pub explanation: crate::analysis::equivalence::Explanation,
}

/// Records written before paths were named in `equivalence.csv` compared batched only.
fn compared_default() -> String {
    "batched".into()
}

/// A `host_mdm_apple_profiles` row as `equivalence.csv` shows it, one value per cell.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RowCells {
    pub op: String,
    pub status: String,
    pub checksum: String,
}

impl RowCells {
    fn of(op: &Option<String>, status: &Option<String>, sum: &Option<Vec<u8>>) -> RowCells {
        match sum {
            None => RowCells::default(),
            Some(c) => RowCells {
                op: op.as_deref().unwrap_or("NULL").to_string(),
                status: status.as_deref().unwrap_or("NULL").to_string(),
                checksum: hex::encode(&c[..c.len().min(4)]),
            },
        }
    }

    /// `op/status/checksum`, or `-` without a row.
    pub fn text(&self) -> String {
        if self.op.is_empty() {
            "-".into()
        } else {
            format!("{}/{}/{}", self.op, self.status, self.checksum)
        }
    }
}

/// What the state comparison knows of the run so far (virtual ticks).
#[derive(Clone, Copy)]
pub(super) struct History<'a> {
    /// The paged path compared with the first (its rules classify the differences).
    pub(super) path: &'a approach::RunPath,
    /// The tick that ended the pass, and the first tick of that pass.
    pub(super) tick: u32,
    pub(super) pass_start: u32,
    /// Per host uuid: the batched path's last visit.
    pub(super) last_visit: &'a FxHashMap<String, u32>,
    /// Per host uuid / profile uuid: the last churn that touched it.
    pub(super) touched_hosts: &'a FxHashMap<String, u32>,
    pub(super) touched_profiles: &'a FxHashMap<String, u32>,
}

/// Compares the paths' `host_mdm_apple_profiles` at a batched pass boundary (spec §5 applied
/// to state: command uuids, details and timestamps ignored) and classifies every differing pair:
/// - `in_flight`: the rows differ in status only, one of them still waiting for the device (the
///   paths sent the command at different ticks), or neither path would act on the pair now and
///   a command is pending on one side; `device`: status only, both answered differently;
/// - `history`: neither path would act on the pair now from either row, and no command is
///   pending: the rows differ because the paths saw the fleet at different times (a host that
///   changed team before the batched path reached it, under a profile with a broken label
///   whose rows legacy never removes);
/// - `lag`: the batched path would still act on the pair, and churn touched its host or
///   profile after the batched path last visited the host (the price of paging, spec §6); or
///   (concurrency mode) churn written during this very tick touched it;
/// - a divergence class of `compare` (D1…D9 and combinations) for the pair's decisions;
/// - `unexplained` otherwise.
///
/// The classification runs on the batched database (its facts equal legacy's: churn is the
/// same); legacy just ran its whole diff, so its row is its decision.
pub(super) fn compare_states(
    batched: &Connection,
    legacy_db: &Path,
    cfg: &LoadtestConfig,
    visited: &HashSet<i64>,
    history: &History<'_>,
) -> Result<Vec<EqRow>> {
    let History {
        path: _,
        tick: _,
        pass_start,
        last_visit,
        touched_hosts,
        touched_profiles,
    } = *history;
    batched.execute(
        "ATTACH DATABASE ?1 AS legacy_state",
        [legacy_db.display().to_string()],
    )?;
    let result = (|| -> Result<Vec<EqRow>> {
        let compared: i64 = batched.query_row(
            "SELECT count(*) FROM (SELECT host_uuid, profile_uuid FROM main.host_mdm_apple_profiles
              UNION SELECT host_uuid, profile_uuid FROM legacy_state.host_mdm_apple_profiles)",
            [],
            |r| r.get(0),
        )?;
        type Side = (Option<String>, Option<String>, Option<Vec<u8>>);
        let mut stmt = batched.prepare(
            "SELECT coalesce(b.host_uuid, l.host_uuid), coalesce(b.profile_uuid, l.profile_uuid),
                    b.operation_type, b.status, b.checksum, l.operation_type, l.status, l.checksum
             FROM main.host_mdm_apple_profiles b
             FULL JOIN legacy_state.host_mdm_apple_profiles l
               ON l.host_uuid = b.host_uuid AND l.profile_uuid = b.profile_uuid
             WHERE b.host_uuid IS NULL OR l.host_uuid IS NULL
                OR b.operation_type IS NOT l.operation_type OR b.status IS NOT l.status
                OR b.checksum IS NOT l.checksum
             ORDER BY 1, 2",
        )?;
        let diffs: Vec<(String, String, Side, Side)> = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    (r.get(2)?, r.get(3)?, r.get(4)?),
                    (r.get(5)?, r.get(6)?, r.get(7)?),
                ))
            })?
            .collect::<Result<_, _>>()?;
        let profiles = batched::load_profiles(batched)?;
        let by_uuid: FxHashMap<String, Profile> = profiles
            .iter()
            .map(|p| (p.uuid.clone(), p.clone()))
            .collect();
        let rules = cfg.read_config(history.path).rules;
        let mut classifier = Classifier::new(batched, rules, profiles, visited);
        let mut classes: BTreeMap<String, EqRow> = BTreeMap::new();
        let differing = diffs.len() as u64;
        for (h, p, b, l) in diffs {
            let batched_now = classifier.batched_now(&h, &p)?;
            let mut explanation = crate::analysis::equivalence::Explanation::default();
            let row_of = |side: &Side| -> Option<CurrentRow> {
                side.2.as_ref().map(|sum| CurrentRow {
                    host_uuid: Arc::from(h.as_str()),
                    profile_uuid: Arc::from(p.as_str()),
                    status: side.1.clone().map(std::borrow::Cow::Owned),
                    operation_type: side.0.clone().map(std::borrow::Cow::Owned),
                    checksum: sum.iter().copied().collect(),
                    secrets_updated_at: None,
                })
            };
            let (b_row, l_row) = (row_of(&b), row_of(&l));
            // Lag: churn touched the host or profile after the batched path's last visit of
            // the host (or it has not been visited since), and its next visit will act.
            // Concurrency mode: churn written during this very tick may have been seen by
            // neither, one or both paths.
            let concurrent_lag = touched_hosts
                .get(&h)
                .max(touched_profiles.get(&p))
                .is_some_and(|&t| t >= history.tick);
            let lag = concurrent_lag
                || !h.is_empty() && {
                    let seen = last_visit.get(&h).copied();
                    let touched = touched_hosts.get(&h).max(touched_profiles.get(&p)).copied();
                    match (seen, touched) {
                        (_, None) => false,
                        (Some(v), Some(t)) if t < v => false,
                        // Not visited in this pass since it changed (it became listed behind the
                        // cursor): the pass never saw its state.
                        (v, _) if v.is_none_or(|v| v < pass_start) => true,
                        _ => !classifier.batched_on_next_visit(&h, &p)?.is_empty(),
                    }
                };
            // Perspective L: from legacy's row, legacy (which just ran its whole diff) would do
            // nothing; what would the batched path do?
            let none = OpSet::new();
            let batched_from_l = classifier.batched_ops_with_row(&h, &p, l_row.clone())?;
            // Perspective B: from the batched row, what would legacy do? Its row says whether
            // it wants the pair installed.
            let mut legacy_from_b = OpSet::new();
            // A profile with a broken label row keeps its rows on legacy (spec §3) whether or
            // not it is desired: an install row there does not say legacy wants it, and legacy
            // removes nothing of it.
            let broken = by_uuid
                .get(&p)
                .is_some_and(|prof| prof.refs.iter().any(|r| r.broken()));
            let legacy_wants = l.0.as_deref() == Some("install") && l.2.is_some();
            if legacy_wants && !broken {
                let legacy_rules = Rules {
                    d4_skip: true,
                    ..rules
                };
                if by_uuid.get(&p).is_some_and(|prof| {
                    handlers::install_reason(prof, b_row.as_ref(), &legacy_rules).is_some()
                }) {
                    legacy_from_b.insert(Op::Install);
                }
            } else if !legacy_wants
                && !broken
                && b_row
                    .as_ref()
                    .is_some_and(|r| !handlers::remove_in_flight(r))
            {
                legacy_from_b.insert(Op::Remove);
            }
            let pending =
                |x: &Option<String>| matches!(x.as_deref(), Some("pending" | "verifying") | None);
            let class = if lag {
                "lag".to_string()
            } else if b.0 == l.0 && b.2 == l.2 {
                // The same operation and checksum: only the device's answer differs.
                if pending(&b.1) || pending(&l.1) {
                    "in_flight"
                } else {
                    "device"
                }
                .to_string()
            } else if batched_from_l.is_empty() && legacy_from_b == batched_now {
                if pending(&b.1) || pending(&l.1) {
                    "in_flight".to_string()
                } else {
                    "history".to_string()
                }
            } else {
                let mut found = None;
                if !batched_from_l.is_empty() {
                    let d = classifier.classify_with_row(&h, &p, &none, &batched_from_l, l_row)?;
                    if !d.class.is_unexplained() {
                        found = Some(d);
                    }
                }
                let d = match found {
                    Some(d) => d,
                    None => {
                        classifier.classify_with_row(&h, &p, &legacy_from_b, &batched_now, b_row)?
                    }
                };
                explanation = d.explanation;
                d.class.to_string()
            };
            let e = classes.entry(class.clone()).or_insert_with(|| EqRow {
                path: String::new(),
                pass_start_tick: 0,
                tick: 0,
                virtual_time_s: 0,
                class,
                pairs: 0,
                sample_host_uuid: h.clone(),
                sample_profile_uuid: p.clone(),
                legacy: RowCells::of(&l.0, &l.1, &l.2),
                batched: RowCells::of(&b.0, &b.1, &b.2),
                explanation,
            });
            e.pairs += 1;
        }
        let mut out = vec![EqRow {
            path: String::new(),
            pass_start_tick: 0,
            tick: 0,
            virtual_time_s: 0,
            class: "equal".into(),
            pairs: compared as u64 - differing,
            sample_host_uuid: String::new(),
            sample_profile_uuid: String::new(),
            legacy: RowCells::default(),
            batched: RowCells::default(),
            explanation: Default::default(),
        }];
        out.extend(classes.into_values());
        Ok(out)
    })();
    batched.execute_batch("DETACH DATABASE legacy_state")?;
    result
}
