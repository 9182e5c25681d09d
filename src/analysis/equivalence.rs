//! Equivalence of the two paths (spec §5) and the attribution of every divergence to the known
//! differences of spec §6.
//!
//! The paths are compared as sets of (host_uuid, profile_uuid, operation). For each divergent
//! pair only that pair is re-evaluated, never a whole pass: the batched decision is recomputed
//! for the host rows of the pair's uuid with each switchable rule that differs from legacy
//! flipped alone (toward legacy), then with combinations of growing size; the first flip set that makes the batched operations equal to
//! legacy's names the class (`D1`, `D1+D4`). When none does, host and label facts are checked
//! (D5, D9, D6, D8; D9 before D6 because a `''` uuid is never listed whether or not it is
//! duplicated); otherwise the pair is `unexplained`, a bug here or a new finding.

use crate::analysis::class::{Cause, Class};
use crate::analysis::pairs::{Overflow, PairLists, Side, SortedPairs};
use crate::domain::eligibility::ELIGIBLE_HOST;
use crate::domain::handlers::{self, CatalogEntry};
use crate::domain::model::{CurrentRow, Delta, Host, LabelRef, Op, Profile, macos_only_withheld};
use crate::domain::rules::{Rule, Rules};
use rusqlite::{Connection, OptionalExtension};
use std::collections::{BTreeMap, HashMap, HashSet};

pub use crate::analysis::pairs::OpSet;

/// `install+remove`, or `-` for none (the CSV's op columns).
pub fn ops_text(ops: &OpSet) -> String {
    if ops.is_empty() {
        "-".to_string()
    } else {
        ops.iter().map(Op::to_string).collect::<Vec<_>>().join("+")
    }
}

/// One divergent pair with its class and explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    pub host_uuid: String,
    pub profile_uuid: String,
    pub legacy: OpSet,
    pub batched: OpSet,
    pub class: Class,
    pub explanation: Explanation,
}

/// Why each side decided as it did for a divergent pair, and the pair's current row: one value
/// per field, so a CSV cell holds one of them.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Explanation {
    /// Legacy's reason: which arm of its desired-state UNION passed or why none did.
    pub legacy: String,
    /// The batched handlers' reason.
    pub batched: String,
    /// `op/status` of the current row, or `none`.
    pub current_row: String,
}

impl Explanation {
    /// The explanation in one line (empty where none was made).
    pub fn text(&self) -> String {
        if self.legacy.is_empty() && self.batched.is_empty() {
            return String::new();
        }
        format!(
            "legacy: {}; batched: {}; current row: {}",
            self.legacy, self.batched, self.current_row
        )
    }
}

impl Divergence {
    /// Divergent triples in this pair (the symmetric difference of the two op sets).
    pub fn triples(&self) -> usize {
        self.legacy.symmetric_difference(&self.batched).count()
    }
}

/// Groups deltas by pair.
pub fn by_pair(deltas: &[Delta]) -> BTreeMap<(String, String), OpSet> {
    let mut m: BTreeMap<(String, String), OpSet> = BTreeMap::new();
    for d in deltas {
        m.entry((d.host_uuid.to_string(), d.profile_uuid.to_string()))
            .or_default()
            .insert(d.op);
    }
    m
}

/// A host row with the facts classification needs.
#[derive(Debug, Clone)]
struct HostFacts {
    host: Host,
    /// Spec §2 eligibility.
    eligible: bool,
    /// `host_mdm.enrolled = 1` (D7).
    enrolled: bool,
}

/// Everything known about the rows of one uuid.
struct UuidFacts {
    rows: Vec<HostFacts>,
    members: HashSet<(i64, i64)>,
}

/// Uuids whose facts the classifier keeps at once.
const UUID_CACHE_LIMIT: usize = 4096;

/// Per-pair re-evaluation over the snapshot the paths read.
pub struct Classifier<'c> {
    conn: &'c Connection,
    rules: Rules,
    visited: &'c HashSet<i64>,
    uuid_cache: HashMap<String, UuidFacts>,
    /// Every set of flips toward legacy, smallest first, each with the rules it gives.
    flip_sets: Vec<(Vec<Rule>, Rules)>,
    /// The catalog shaped under the run's rules (index 0) and under each flip set (index i + 1
    /// for `flip_sets[i]`): built once, not once per pair and flip.
    catalogs: Vec<HashMap<String, CatalogEntry>>,
}

impl<'c> Classifier<'c> {
    /// `profiles`: the raw catalog; `visited`: the host row ids the batched pass visited.
    pub fn new(
        conn: &'c Connection,
        rules: Rules,
        profiles: Vec<Profile>,
        visited: &'c HashSet<i64>,
    ) -> Classifier<'c> {
        // Only flips toward legacy can explain a divergence (flipping D7 on, say, can hide a
        // host and make both sides empty by accident).
        let candidates = rules.differing_from_legacy();
        let flip_sets: Vec<(Vec<Rule>, Rules)> = (1..=candidates.len())
            .flat_map(|size| combinations(&candidates, size))
            .map(|flips| {
                let flipped = rules.flipped(&flips);
                (flips, flipped)
            })
            .collect();
        let catalogs = std::iter::once(rules)
            .chain(flip_sets.iter().map(|f| f.1))
            .map(|r| {
                profiles
                    .iter()
                    .map(|p| (p.uuid.clone(), CatalogEntry::new(p.clone(), &r)))
                    .collect()
            })
            .collect();
        Classifier {
            conn,
            rules,
            visited,
            uuid_cache: HashMap::new(),
            flip_sets,
            catalogs,
        }
    }
}

/// The host rows of one uuid with their eligibility and enrollment.
///
/// Built once. `+?1`, not `?1` (here and in `MEMBERS_SQL`): with STAT4 statistics (the generator runs
/// ANALYZE; the bundled SQLite has STAT4) an equality on a non-unique index against a bare
/// parameter marks the statement for re-preparation at every new binding, so each lookup would
/// parse and plan the query again (71 -> 18 us a uuid at 100k hosts). The unary plus leaves
/// the value and the index search as they were (plans pinned in the tests).
static FACTS_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT h.id, h.uuid, h.team_id, h.platform, h.label_updated_at,
                ({ELIGIBLE_HOST}) AS eligible,
                EXISTS (SELECT 1 FROM host_mdm hm WHERE hm.host_id = h.id AND hm.enrolled = 1)
         FROM hosts h WHERE h.uuid = +?1 ORDER BY h.id"
    )
});

/// The labels of one host row.
const MEMBERS_SQL: &str = "SELECT label_id FROM label_membership WHERE host_id = +?1";

/// The facts of one uuid, from the cache or the snapshot.
fn load_facts<'a>(
    conn: &Connection,
    cache: &'a mut HashMap<String, UuidFacts>,
    uuid: &str,
) -> rusqlite::Result<&'a UuidFacts> {
    if cache.contains_key(uuid) {
        return Ok(&cache[uuid]);
    }
    // Pairs arrive in uuid order: a bounded cache holds the uuids being looked at now (the
    // loadtest's samples come in any order; a miss only costs two queries).
    if cache.len() >= UUID_CACHE_LIMIT {
        cache.clear();
    }
    let mut stmt = conn.prepare_cached(&FACTS_SQL)?;
    let rows: Vec<HostFacts> = stmt
        .query_map([uuid], |r| {
            Ok(HostFacts {
                host: Host {
                    id: r.get(0)?,
                    uuid: r.get(1)?,
                    team_id: r.get(2)?,
                    platform: r.get(3)?,
                    label_updated_at: r.get(4)?,
                },
                eligible: r.get(5)?,
                enrolled: r.get(6)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut members = HashSet::new();
    let mut stmt = conn.prepare_cached(MEMBERS_SQL)?;
    for f in &rows {
        for l in stmt.query_map([f.host.id], |r| r.get::<_, i64>(0))? {
            members.insert((f.host.id, l?));
        }
    }
    Ok(cache
        .entry(uuid.to_string())
        .or_insert(UuidFacts { rows, members }))
}

impl<'c> Classifier<'c> {
    fn current_row(&self, host: &str, profile: &str) -> rusqlite::Result<Option<CurrentRow>> {
        self.conn
            .prepare_cached(
                "SELECT host_uuid, profile_uuid, status, operation_type, checksum, secrets_updated_at
                 FROM host_mdm_apple_profiles WHERE host_uuid = ?1 AND profile_uuid = ?2",
            )?
            .query_row([host, profile], |r| {
                crate::paths::batched::read_current_row(r, &mut None, &|_| None)
            })
            .optional()
    }

    /// The operations the batched path would issue for the pair now, under its own rules, from
    /// the current row (the loadtest's state comparison: work still pending on the batched
    /// side).
    pub fn batched_now(&mut self, host_uuid: &str, profile_uuid: &str) -> rusqlite::Result<OpSet> {
        let row = self.current_row(host_uuid, profile_uuid)?;
        self.batched_ops_with_row(host_uuid, profile_uuid, row)
    }

    /// `batched_now` from a given current row (None = no row) instead of the database's.
    pub fn batched_ops_with_row(
        &mut self,
        host_uuid: &str,
        profile_uuid: &str,
        row: Option<CurrentRow>,
    ) -> rusqlite::Result<OpSet> {
        self.batched_ops_inner(host_uuid, profile_uuid, row, false)
    }

    /// What the batched path would issue for the pair if it visited every listed row of the
    /// uuid now (its next visit), from the database's row.
    pub fn batched_on_next_visit(
        &mut self,
        host_uuid: &str,
        profile_uuid: &str,
    ) -> rusqlite::Result<OpSet> {
        let row = self.current_row(host_uuid, profile_uuid)?;
        self.batched_ops_inner(host_uuid, profile_uuid, row, true)
    }

    fn batched_ops_inner(
        &mut self,
        host_uuid: &str,
        profile_uuid: &str,
        row: Option<CurrentRow>,
        all_listed: bool,
    ) -> rusqlite::Result<OpSet> {
        let rules = self.rules;
        let visited = self.visited;
        let facts = load_facts(self.conn, &mut self.uuid_cache, host_uuid)?;
        let entry = self.catalogs[0].get(profile_uuid);
        let listed = |f: &HostFacts| f.eligible && (!rules.d7_require_enrolled || f.enrolled);
        let rows: Vec<&HostFacts> = facts
            .rows
            .iter()
            .filter(|f| listed(f) && (all_listed || visited.contains(&f.host.id)))
            .collect();
        Ok(batched_ops(
            entry,
            &rows,
            &facts.members,
            row.as_ref(),
            &rules,
            facts.rows.iter().any(listed),
        ))
    }

    /// Classifies and explains one divergent pair.
    pub fn classify(
        &mut self,
        host_uuid: &str,
        profile_uuid: &str,
        legacy: &OpSet,
        batched: &OpSet,
    ) -> rusqlite::Result<Divergence> {
        let row = self.current_row(host_uuid, profile_uuid)?;
        self.classify_with_row(host_uuid, profile_uuid, legacy, batched, row)
    }

    /// `classify` against a given current row (None = no row) instead of the database's.
    pub fn classify_with_row(
        &mut self,
        host_uuid: &str,
        profile_uuid: &str,
        legacy: &OpSet,
        batched: &OpSet,
        row: Option<CurrentRow>,
    ) -> rusqlite::Result<Divergence> {
        let rules = self.rules;
        let visited = self.visited;
        let facts = load_facts(self.conn, &mut self.uuid_cache, host_uuid)?;
        let catalogs = &self.catalogs;
        let entry = catalogs[0].get(profile_uuid);
        let profile = entry.map(|e| &e.profile);
        let listed =
            |f: &HostFacts, r: &Rules| f.eligible && (!r.d7_require_enrolled || f.enrolled);
        // Rows the actual pass should have listed but did not visit: '' uuids, rows lost at a
        // page boundary. They stay unvisited under every flip.
        let skipped: HashSet<i64> = facts
            .rows
            .iter()
            .filter(|f| listed(f, &rules) && !visited.contains(&f.host.id))
            .map(|f| f.host.id)
            .collect();
        // `shaped`: the index of the catalog shaped under `r`.
        let eval = |r: &Rules, shaped: usize| -> OpSet {
            let rows: Vec<&HostFacts> = facts
                .rows
                .iter()
                .filter(|f| listed(f, r) && !skipped.contains(&f.host.id))
                .collect();
            batched_ops(
                catalogs[shaped].get(profile_uuid),
                &rows,
                &facts.members,
                row.as_ref(),
                r,
                facts.rows.iter().any(|f| listed(f, r)),
            )
        };
        let explanation = explain(entry, facts, row.as_ref(), &rules, &skipped);
        let mut class = None;
        if eval(&rules, 0) != *batched {
            class = Some(Class::Unexplained);
        }
        if class.is_none()
            && let Some((flips, _)) = self
                .flip_sets
                .iter()
                .enumerate()
                .find(|(i, (_, flipped))| eval(flipped, i + 1) == *legacy)
                .map(|(_, f)| f)
        {
            class = Some(Class::Explained(
                flips.iter().map(|r| Cause::from(*r)).collect(),
            ));
        }
        // Facts, in the order of semantics §6: D5, D9, D6, D8. D6 counts eligible rows only: a
        // second row of the uuid that is not eligible (another platform, say) is listed by
        // neither path and explains nothing.
        let class = class.unwrap_or_else(|| {
            let any_eligible = facts.rows.iter().any(|f| f.eligible);
            let eligible_rows = facts.rows.iter().filter(|f| f.eligible).count();
            let d8 = profile.is_some_and(|p| {
                p.refs
                    .iter()
                    .any(|r| r.exclude && !r.broken() && r.created_at.is_none())
            });
            if !any_eligible {
                Class::one(Cause::D5)
            } else if host_uuid.is_empty() {
                Class::one(Cause::D9)
            } else if eligible_rows > 1 {
                Class::one(Cause::D6)
            } else if d8 {
                Class::one(Cause::D8)
            } else {
                Class::Unexplained
            }
        });
        Ok(Divergence {
            host_uuid: host_uuid.to_string(),
            profile_uuid: profile_uuid.to_string(),
            legacy: legacy.clone(),
            batched: batched.clone(),
            class,
            explanation,
        })
    }
}

/// The batched path's operations for one pair, from the host rows it lists for the uuid
/// (spec §4.3 per row, plus the D5 sweep when on).
fn batched_ops(
    entry: Option<&CatalogEntry>,
    rows: &[&HostFacts],
    members: &HashSet<(i64, i64)>,
    current: Option<&CurrentRow>,
    rules: &Rules,
    uuid_listed: bool,
) -> OpSet {
    let mut ops = OpSet::new();
    let removable =
        current.is_some_and(|c| !handlers::remove_in_flight(c)) && !entry.is_some_and(|e| e.broken);
    for f in rows {
        let member = |l: i64| members.contains(&(f.host.id, l));
        let desired = entry.is_some_and(|e| handlers::desired(e, &f.host, &member, rules).pass);
        if desired {
            if let Some(p) = entry.map(|e| &e.profile)
                && !macos_only_withheld(&f.host.platform, &p.name)
                && handlers::install_reason(p, current, rules).is_some()
            {
                ops.insert(Op::Install);
            }
        } else if removable {
            ops.insert(Op::Remove);
        }
    }
    if rules.d5_remove && !uuid_listed && removable {
        ops.insert(Op::Remove);
    }
    ops
}

/// All subsets of `items` of the given size, in lexicographic order.
fn combinations(items: &[Rule], size: usize) -> Vec<Vec<Rule>> {
    if size == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for (i, &first) in items.iter().enumerate() {
        for mut rest in combinations(&items[i + 1..], size - 1) {
            rest.insert(0, first);
            out.push(rest);
        }
    }
    out
}

/// One legacy arm's verdict, for explanations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArmVerdict {
    pub pass: bool,
    pub why: String,
}

/// Legacy's arms for one (profile, host row), spec §3, as (arm name, verdict).
pub fn legacy_arms(
    profile: &Profile,
    host: &Host,
    member: &dyn Fn(i64) -> bool,
) -> Vec<(&'static str, ArmVerdict)> {
    let v = |pass: bool, why: String| ArmVerdict { pass, why };
    if profile.team_id != host.team() {
        return vec![(
            "team",
            v(
                false,
                format!(
                    "team mismatch (profile team {}, host team {})",
                    profile.team_id,
                    host.team()
                ),
            ),
        )];
    }
    if profile.refs.is_empty() {
        return vec![("no-labels", v(true, "no-labels arm passed".into()))];
    }
    let of = |e: bool, ra: bool| -> Vec<&LabelRef> {
        profile
            .refs
            .iter()
            .filter(|r| r.exclude == e && r.require_all == ra)
            .collect()
    };
    let mut arms = Vec::new();
    let all = of(false, true);
    if !all.is_empty() {
        let miss = all.iter().find(|r| !r.label_id.is_some_and(member));
        arms.push((
            "include-all",
            match miss {
                None => v(true, "include-all arm passed".into()),
                Some(r) => v(
                    false,
                    format!("include-all arm failed, not a member of {}", r.describe()),
                ),
            },
        ));
    }
    let exc = of(true, false);
    if !exc.is_empty() {
        let verdict = if let Some(r) = exc.iter().find(|r| r.broken()) {
            v(false, format!("exclude-any arm failed, {}", r.describe()))
        } else if let Some(r) = exc.iter().find(|r| {
            let evaluated = r.created_at.as_deref().is_some_and(|c| {
                r.membership_type == Some(1) || host.label_updated_at.as_str() >= c
            });
            !evaluated
        }) {
            v(
                false,
                format!("exclude-any arm failed, {} not evaluated", r.describe()),
            )
        } else if let Some(r) = exc.iter().find(|r| r.label_id.is_some_and(member)) {
            v(
                false,
                format!("exclude-any arm failed, member of {}", r.describe()),
            )
        } else {
            v(true, "exclude-any arm passed".into())
        };
        arms.push(("exclude-any", verdict));
    }
    let any = of(false, false);
    if !any.is_empty() {
        arms.push((
            "include-any",
            match any.iter().find(|r| r.label_id.is_some_and(member)) {
                Some(r) => v(
                    true,
                    format!("include-any arm passed, member of {}", r.describe()),
                ),
                None => v(false, "include-any arm failed, member of no label".into()),
            },
        ));
    }
    if arms.is_empty() {
        arms.push((
            "none",
            v(
                false,
                "only exclude rows with require_all = 1: no arm applies".into(),
            ),
        ));
    }
    arms
}

fn explain(
    entry: Option<&CatalogEntry>,
    facts: &UuidFacts,
    row: Option<&CurrentRow>,
    rules: &Rules,
    skipped: &HashSet<i64>,
) -> Explanation {
    let current_row = match row {
        None => "none".to_string(),
        Some(r) => format!(
            "{}/{}",
            r.operation_type.as_deref().unwrap_or("NULL"),
            r.status.as_deref().unwrap_or("NULL")
        ),
    };
    let Some(e) = entry else {
        return Explanation {
            legacy: "profile deleted".into(),
            batched: "profile deleted".into(),
            current_row,
        };
    };
    let mut l = Vec::new();
    let mut b = Vec::new();
    for f in &facts.rows {
        let member = |x: i64| facts.members.contains(&(f.host.id, x));
        let tag = if facts.rows.len() > 1 {
            format!("host id {}: ", f.host.id)
        } else {
            String::new()
        };
        if !f.eligible {
            l.push(format!("{tag}host not eligible"));
            b.push(format!("{tag}host not eligible, rows never looked at"));
            continue;
        }
        let arms = legacy_arms(&e.profile, &f.host, &member);
        let passed: Vec<&str> = arms.iter().filter(|a| a.1.pass).map(|a| a.0).collect();
        l.push(if passed.is_empty() {
            format!(
                "{tag}{}",
                arms.iter()
                    .map(|a| a.1.why.clone())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            format!("{tag}{} arm passed", passed.join(" and "))
        });
        if f.host.uuid.is_empty() {
            b.push(format!("{tag}uuid '' never listed"));
        } else if skipped.contains(&f.host.id) {
            b.push(format!(
                "{tag}host row never visited (skipped at a page boundary)"
            ));
        } else if rules.d7_require_enrolled && !f.enrolled {
            b.push(format!("{tag}host_mdm.enrolled = 0, not listed (d7=on)"));
        } else {
            b.push(format!(
                "{tag}{}",
                handlers::desired(e, &f.host, &member, rules).why
            ));
        }
    }
    if facts.rows.is_empty() {
        l.push("no hosts row for this uuid".into());
        b.push("no hosts row for this uuid".into());
    }
    Explanation {
        legacy: l.join("; "),
        batched: b.join("; "),
        current_row,
    }
}

/// The result of comparing the two paths over one snapshot.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    pub divergences: Vec<Divergence>,
}

impl Comparison {
    /// Divergent pairs per class, sorted by class name.
    pub fn class_counts(&self) -> BTreeMap<String, usize> {
        let mut m = BTreeMap::new();
        for d in &self.divergences {
            *m.entry(d.class.to_string()).or_default() += 1;
        }
        m
    }

    pub fn triples(&self) -> usize {
        self.divergences.iter().map(Divergence::triples).sum()
    }

    pub fn unexplained(&self) -> usize {
        self.divergences
            .iter()
            .filter(|d| d.class.is_unexplained())
            .count()
    }
}

/// Counts over a comparison whose divergences went elsewhere (`compare_sorted`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Divergent pairs.
    pub pairs: usize,
    /// Divergent triples (the op sets' symmetric differences, summed).
    pub triples: usize,
    /// Divergent pairs per class, sorted by class name.
    pub classes: BTreeMap<String, usize>,
}

impl Tally {
    fn add(&mut self, d: &Divergence) {
        self.pairs += 1;
        self.triples += d.triples();
        *self.classes.entry(d.class.to_string()).or_default() += 1;
    }
}

/// Walks both paths' sorted deltas pair by pair, classifies every divergent pair and hands it
/// to `each` in (host_uuid, profile_uuid) order; nothing is kept but the counts, so memory
/// stays that of the packed deltas however many pairs diverge.
pub fn compare_sorted<E: From<rusqlite::Error>>(
    classifier: &mut Classifier<'_>,
    pairs: &SortedPairs,
    mut each: impl FnMut(Divergence) -> Result<(), E>,
) -> Result<Tally, E> {
    let mut tally = Tally::default();
    for p in pairs.pairs() {
        if p.legacy != p.batched {
            let d = classifier.classify(p.host_uuid, p.profile_uuid, &p.legacy, &p.batched)?;
            tally.add(&d);
            each(d)?;
        }
    }
    Ok(tally)
}

/// Divergent pairs classified per hand-over between `compare_sorted_two`'s threads.
const CHUNK: usize = 2048;

/// `compare_sorted` on two threads: a twin of `classifier` on `helper` (a second connection on
/// the same snapshot, `Snapshot::second_reader`) classifies every other chunk of
/// `CHUNK` divergent pairs while this thread classifies the rest; every divergence still
/// reaches `each` in (host_uuid, profile_uuid) order, on this thread, so the output is the
/// one-thread output byte for byte. At most two chunks wait between the threads.
pub fn compare_sorted_two<E: From<rusqlite::Error>>(
    classifier: &mut Classifier<'_>,
    helper: Connection,
    pairs: &SortedPairs,
    each: impl FnMut(Divergence) -> Result<(), E>,
) -> Result<Tally, E> {
    compare_sorted_two_in(classifier, helper, pairs, CHUNK, each)
}

/// `compare_sorted_two` with chunks of `chunk` pairs (tests use small ones).
fn compare_sorted_two_in<E: From<rusqlite::Error>>(
    classifier: &mut Classifier<'_>,
    helper: Connection,
    pairs: &SortedPairs,
    chunk: usize,
    mut each: impl FnMut(Divergence) -> Result<(), E>,
) -> Result<Tally, E> {
    let twin = (
        classifier.rules,
        classifier.flip_sets.clone(),
        classifier.catalogs.clone(),
    );
    let visited = classifier.visited;
    let divergent = || {
        pairs
            .pairs()
            .filter(|p| p.legacy != p.batched)
            .enumerate()
            .map(|(i, p)| (i / chunk, p))
    };
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<rusqlite::Result<Vec<Divergence>>>(2);
        scope.spawn(move || {
            let (rules, flip_sets, catalogs) = twin;
            let mut c = Classifier {
                conn: &helper,
                rules,
                visited,
                uuid_cache: HashMap::new(),
                flip_sets,
                catalogs,
            };
            let mut done = Vec::with_capacity(chunk);
            let mut current = None;
            for (k, p) in divergent().filter(|(k, _)| k % 2 == 1) {
                if current.is_some_and(|c| c != k)
                    && tx.send(Ok(std::mem::take(&mut done))).is_err()
                {
                    return;
                }
                current = Some(k);
                match c.classify(p.host_uuid, p.profile_uuid, &p.legacy, &p.batched) {
                    Ok(d) => done.push(d),
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
            if !done.is_empty() {
                let _ = tx.send(Ok(done));
            }
        });
        let mut tally = Tally::default();
        let mut taken = None;
        for (k, p) in divergent() {
            if k % 2 == 1 {
                // The helper's chunk, taken at its first pair: in order after chunk k - 1.
                if taken != Some(k) {
                    taken = Some(k);
                    // The helper sends every odd chunk or its error before it ends; the channel
                    // closes early only when it panicked, which the scope passes on anyway.
                    let ds = rx.recv().expect("the helper classifier panicked")?;
                    for d in ds {
                        tally.add(&d);
                        each(d)?;
                    }
                }
                continue;
            }
            let d = classifier.classify(p.host_uuid, p.profile_uuid, &p.legacy, &p.batched)?;
            tally.add(&d);
            each(d)?;
        }
        Ok(tally)
    })
}

/// Packs two delta lists (`compare`, the shrinker and tests, whose lists are small).
pub fn pack(legacy: &[Delta], batched: &[Delta]) -> Result<SortedPairs, Overflow> {
    let mut lists = PairLists::default();
    for (side, deltas) in [(Side::Legacy, legacy), (Side::Batched, batched)] {
        for d in deltas {
            lists.push(side, &d.host_uuid, &d.profile_uuid, d.op)?;
        }
    }
    Ok(lists.sorted())
}

/// Compares the two paths' deltas as sets and classifies every divergent pair, all kept.
pub fn compare(
    classifier: &mut Classifier<'_>,
    legacy: &[Delta],
    batched: &[Delta],
) -> rusqlite::Result<Comparison> {
    let pairs =
        pack(legacy, batched).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
    let mut out = Comparison::default();
    compare_sorted::<rusqlite::Error>(classifier, &pairs, |d| {
        out.divergences.push(d);
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests;
