//! The seeded fleet generator: turns a `Scenario` and a seed into the spec §1 tables.
//!
//! Determinism: every random choice comes from one ChaCha8 generator seeded with the seed,
//! split into one stream per section (`set_stream`), so a knob of one section does not shift
//! the values of another; iteration is always over vectors in a fixed order, never over hash
//! maps. The same scenario and seed give identical table contents.
//!
//! Speed: every table is built in memory, then inserted in primary-key order through one
//! prepared statement per table inside one transaction; the secondary indexes come afterwards
//! (schema migration 2) and `ANALYZE` last, so the planner has statistics (spec §9).

use crate::fleet::scenario::Scenario;
use crate::store::schema::{self, SchemaError};
use crate::support::progress::Progress;
use crate::support::timefmt;
use fake::Fake;
use fake::faker::company::en::{BsNoun, CompanyName};
use fake::faker::name::en::FirstName;
use md5::{Digest, Md5};
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rusqlite::{Connection, params};
use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

/// Errors of the generator domain.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("--db {path} already exists (pass --force to overwrite it)")]
    Exists { path: String },
    #[error("--db {path}: cannot write: {source}")]
    Unwritable {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("--db {path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error(
        "scenario hosts.count = {hosts}: generating it needs about {need_gib:.1} GiB of memory \
         (the fleet is built in memory, about 24 KB a host), more than the {have_gib:.1} GiB \
         available here"
    )]
    TooLarge {
        hosts: u64,
        need_gib: f64,
        have_gib: f64,
    },
    #[error("while loading table `{table}`: {source}")]
    Load {
        table: &'static str,
        #[source]
        source: rusqlite::Error,
    },
}

/// Apple platforms (spec §2).
pub const APPLE_PLATFORMS: [&str; 3] = ["darwin", "ios", "ipados"];
const OTHER_PLATFORMS: [&str; 3] = ["windows", "ubuntu", "chrome"];
/// Fleet's own macOS-only profiles (spec §2), with their identifiers.
pub const FLEET_BUILTINS: [(&str, &str); 2] = [
    ("Fleetd configuration", "com.fleetdm.fleetd.config"),
    ("Disk encryption", "com.fleetdm.fleet.mdm.filevault"),
];

/// How an Apple host is enrolled (spec §2 gates), `hosts.enrollment` in the scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EnrollKind {
    Device,
    UserEnrollmentDevice,
    UserOnly,
    Disabled,
    NoNanoDevice,
    NotApple,
}

impl EnrollKind {
    fn eligible_kind(self) -> bool {
        matches!(self, EnrollKind::Device | EnrollKind::UserEnrollmentDevice)
    }
}

/// Label modes, `profiles.label_modes` in the scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    None,
    IncludeAll,
    IncludeAny,
    ExcludeAny,
    IncludeAllExclude,
    IncludeAnyExclude,
    MixedInclude,
    ExcludeRequireAll,
}

const MODES: [Mode; 8] = [
    Mode::None,
    Mode::IncludeAll,
    Mode::IncludeAny,
    Mode::ExcludeAny,
    Mode::IncludeAllExclude,
    Mode::IncludeAnyExclude,
    Mode::MixedInclude,
    Mode::ExcludeRequireAll,
];

struct GHost {
    id: i64,
    uuid: String,
    hostname: String,
    platform: &'static str,
    team_id: Option<i64>,
    label_updated_at: i64,
    kind: EnrollKind,
    mdm_enrolled: bool,
    /// Sorted label ids the host is a member of.
    labels: Vec<i64>,
}

impl GHost {
    fn eligible(&self) -> bool {
        self.kind.eligible_kind()
    }
}

struct GLabel {
    id: i64,
    name: String,
    kind: i64,
    created_at: Option<i64>,
    broken: bool,
}

/// One label row of a profile: (label index, exclude, require_all).
type Ref = (usize, bool, bool);

struct GProfile {
    uuid: String,
    team_id: i64,
    identifier: String,
    name: String,
    checksum: [u8; 16],
    secrets_updated_at: Option<i64>,
    scope: &'static str,
    uploaded_at: i64,
    refs: Vec<Ref>,
    builtin: bool,
}

/// Row counts per table and load timings, returned to the caller.
#[derive(Debug, Clone, Default)]
pub struct LoadStats {
    pub seed: u64,
    pub tables: Vec<(&'static str, u64)>,
    pub build: Duration,
    pub insert: Duration,
    pub index: Duration,
    pub analyze: Duration,
}

impl LoadStats {
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
    pub fn total_time(&self) -> Duration {
        self.build + self.insert + self.index + self.analyze
    }
}

/// Options of one generation run; `seed` and `hosts` override the scenario's.
#[derive(Debug, Clone, Default)]
pub struct GenerateOptions {
    pub seed: Option<u64>,
    pub hosts: Option<u64>,
    pub force: bool,
}

/// The scenario with the command-line overrides applied.
pub fn effective_scenario(scenario: &Scenario, opts: &GenerateOptions) -> Scenario {
    let mut s = scenario.clone();
    if let Some(seed) = opts.seed {
        s.run.seed = seed;
    }
    if let Some(h) = opts.hosts {
        s.hosts.count = h;
    }
    s
}

/// Generates the fleet into a new database file at `path`: built in a temp file beside it and
/// renamed into place only when complete, so a failure never leaves a half database.
pub fn generate_file(
    path: &Path,
    scenario: &Scenario,
    force: bool,
    progress: &dyn Progress,
) -> Result<LoadStats, GenerateError> {
    let shown = path.display().to_string();
    if path.exists() && !force {
        return Err(GenerateError::Exists { path: shown });
    }
    check_memory(scenario)?;
    if let Some(dir) = path.parent() {
        // Temp files a killed generate left here.
        crate::support::files::remove_stale_temps(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        });
    }
    let tmp = crate::support::files::TempPath::beside(path);
    // Create the file first so an unwritable directory is reported as such, naming --db.
    std::fs::File::create(tmp.path()).map_err(|source| GenerateError::Unwritable {
        path: shown.clone(),
        source,
    })?;
    let sqlite = |source| GenerateError::Sqlite {
        path: shown.clone(),
        source,
    };
    let mut conn = Connection::open(tmp.path()).map_err(sqlite)?;
    let stats = generate_into(&mut conn, scenario, progress)?;
    conn.close().map_err(|(_, e)| sqlite(e))?;
    let placed = if force {
        // A journal or WAL left beside the old file would be replayed into the new one.
        crate::support::files::remove_with_sidecars(path);
        tmp.persist(path)
    } else {
        // Never replaces a file another process created meanwhile.
        tmp.persist_new(path)
    };
    placed.map_err(|source| match source.kind() {
        std::io::ErrorKind::AlreadyExists => GenerateError::Exists {
            path: shown.clone(),
        },
        _ => GenerateError::Unwritable {
            path: shown.clone(),
            source,
        },
    })?;
    Ok(stats)
}

/// Bytes of memory the in-memory build of a fleet takes per host (measured: 2.3 GiB peak at
/// 100k hosts).
const BYTES_PER_HOST: u64 = 24_000;

/// Refuses a fleet whose in-memory build would not fit the memory available now.
pub fn check_memory(scenario: &Scenario) -> Result<(), GenerateError> {
    let hosts = scenario.hosts.count + scenario.current.deleted_hosts as u64;
    let need = hosts.saturating_mul(BYTES_PER_HOST);
    match crate::support::procstat::mem_available() {
        Some(have) if need > have => Err(GenerateError::TooLarge {
            hosts: scenario.hosts.count,
            need_gib: need as f64 / (1u64 << 30) as f64,
            have_gib: have as f64 / (1u64 << 30) as f64,
        }),
        _ => Ok(()),
    }
}

/// Generates the fleet into an empty connection (file or memory).
pub fn generate_into(
    conn: &mut Connection,
    scenario: &Scenario,
    progress: &dyn Progress,
) -> Result<LoadStats, GenerateError> {
    // Load-time pragmas. page_size 16 KiB (persisted; set before the first table) halves the
    // index-build time at 100k hosts against the 4 KiB default (measured: results/README.md). The rest do
    // not persist: the file is a throw-away temp file until renamed, so journal_mode=OFF and
    // synchronous=OFF drop the journal and fsyncs; a 1 GiB page cache keeps the b-trees being
    // appended to in memory while staying bounded for fleets of any size; exclusive locking skips
    // per-statement lock traffic; threads=2 lets CREATE INDEX sort on both cores.
    conn.execute_batch(
        "PRAGMA page_size = 16384;
         PRAGMA journal_mode = OFF;
         PRAGMA synchronous = OFF;
         PRAGMA locking_mode = EXCLUSIVE;
         PRAGMA cache_size = -1048576;
         PRAGMA temp_store = MEMORY;
         PRAGMA threads = 2;",
    )
    .map_err(|source| GenerateError::Load {
        table: "pragmas",
        source,
    })?;
    schema::migrate_to(conn, 1)?;

    let t0 = Instant::now();
    progress.set_message("building fleet in memory".into());
    let fleet = Fleet::build(scenario);
    let build = t0.elapsed();

    let t1 = Instant::now();
    let tables = fleet.insert(conn, progress)?;
    let insert = t1.elapsed();

    let t2 = Instant::now();
    progress.set_message("creating Fleet's secondary indexes".into());
    schema::migrate_to(conn, schema::LATEST_VERSION)?;
    let index = t2.elapsed();

    let t3 = Instant::now();
    progress.set_message("ANALYZE".into());
    conn.execute_batch("ANALYZE")
        .map_err(|source| GenerateError::Load {
            table: "sqlite_stat1",
            source,
        })?;
    let analyze = t3.elapsed();
    Ok(LoadStats {
        seed: scenario.run.seed,
        tables,
        build,
        insert,
        index,
        analyze,
    })
}

/// The whole fleet in memory, ready to insert in key order.
struct Fleet {
    seed: u64,
    batch_size: u32,
    rules: crate::domain::rules::Rules,
    variant: crate::domain::variant::Variant,
    now: i64,
    teams: Vec<(i64, String)>,
    hosts: Vec<GHost>,
    labels: Vec<GLabel>,
    profiles: Vec<GProfile>,
    /// Current rows, sorted by (host_uuid, profile_uuid).
    current: Vec<CurrentRow>,
}

struct CurrentRow {
    host_uuid: String,
    profile_uuid: String,
    /// Index into `profiles`, or None for a deleted profile.
    profile: Option<usize>,
    status: Option<&'static str>,
    operation: Option<&'static str>,
    command_uuid: String,
    checksum: [u8; 16],
    secrets_updated_at: Option<i64>,
}

/// One independent random stream per section.
fn stream(seed: u64, n: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(n);
    rng
}

fn weighted(weights: &[f64]) -> WeightedIndex<f64> {
    // Validation guarantees the weights sum to 1; a group of all zeros cannot pass it.
    WeightedIndex::new(weights).unwrap_or_else(|_| {
        WeightedIndex::new([1.0]).unwrap_or_else(|_| unreachable!("one positive weight"))
    })
}

fn upper_uuid(rng: &mut ChaCha8Rng) -> String {
    let bytes: [u8; 16] = rng.random();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
        .to_uppercase()
}

fn lower_uuid(rng: &mut ChaCha8Rng) -> String {
    let bytes: [u8; 16] = rng.random();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// Decorations that put quotes, unicode and SQL metacharacters into names, so every query
/// that handles them is exercised with hostile text (always bound as parameters, never spliced).
const DECORATIONS: [&str; 8] = [
    " \"Corp\"",
    " O'Brien",
    " — Zürich 東京",
    "'; DROP TABLE hosts; --",
    " 100% _wild_",
    " (ÿ) 🚀",
    " \\ backslash",
    " [beta]",
];

fn decorate(rng: &mut ChaCha8Rng, base: String, share: f64) -> String {
    if rng.random_bool(share) {
        let d = DECORATIONS[rng.random_range(0..DECORATIONS.len())];
        format!("{base}{d}")
    } else {
        base
    }
}

/// Makes `name` unique within `seen` by appending " (n)".
fn unique(seen: &mut HashSet<String>, name: String, sep: &str) -> String {
    if seen.insert(name.clone()) {
        return name;
    }
    let mut n = 2;
    loop {
        let candidate = format!("{name}{sep}{n}");
        if seen.insert(candidate.clone()) {
            return candidate;
        }
        n += 1;
    }
}

const PROFILE_KINDS: [&str; 14] = [
    "Wi-Fi",
    "VPN",
    "Passcode",
    "Restrictions",
    "Firewall",
    "Certificates",
    "Screen saver",
    "Software update",
    "Login window",
    "Notifications",
    "Privacy preferences",
    "Mail",
    "Dock",
    "SSO extension",
];

const DEVICE_MODELS: [(&str, &str); 4] = [
    ("darwin", "MacBook Pro"),
    ("darwin", "Mac mini"),
    ("ios", "iPhone"),
    ("ipados", "iPad"),
];

/// The generator's own estimate of "desired" (spec §3 arms, without the timing rule), used only
/// to decide which pairs get a current row so that `current.coverage` means something. The
/// reconcilers decide for real; this only shapes the data.
fn roughly_desired(p: &GProfile, h: &GHost, labels: &[GLabel]) -> bool {
    if p.builtin && h.platform != "darwin" {
        return false;
    }
    let member = |i: usize| !labels[i].broken && h.labels.binary_search(&labels[i].id).is_ok();
    let incl: Vec<&Ref> = p.refs.iter().filter(|r| !r.1).collect();
    let excl: Vec<&Ref> = p.refs.iter().filter(|r| r.1).collect();
    if p.refs.is_empty() {
        return true;
    }
    let inc_ok = if incl.is_empty() {
        true
    } else if incl.iter().all(|r| r.2) {
        incl.iter().all(|r| member(r.0))
    } else {
        incl.iter().any(|r| member(r.0))
    };
    let exc_ok = excl
        .iter()
        .all(|r| !r.2 && !labels[r.0].broken && !member(r.0));
    inc_ok && exc_ok
}

impl Fleet {
    fn build(s: &Scenario) -> Fleet {
        let seed = s.run.seed;
        let now = timefmt::parse_timestamp(&s.run.now).unwrap_or(0);
        let teams: Vec<(i64, String)> = {
            let mut rng = stream(seed, 1);
            let mut seen = HashSet::new();
            (1..=s.hosts.teams as i64)
                .map(|id| {
                    let base: String = CompanyName().fake_with_rng(&mut rng);
                    (id, unique(&mut seen, decorate(&mut rng, base, 0.2), " "))
                })
                .collect()
        };
        let labels = Self::labels(s, now);
        let hosts = Self::hosts(s, now, &labels);
        let profiles = Self::profiles(s, now, &labels);
        let current = Self::current(s, &hosts, &labels, &profiles);
        Fleet {
            seed,
            batch_size: s.run.batch_size,
            // Validation guarantees the rules parse.
            rules: s.rules.rules().unwrap_or_default(),
            variant: s.run.variant,
            now,
            teams,
            hosts,
            labels,
            profiles,
            current,
        }
    }

    fn labels(s: &Scenario, now: i64) -> Vec<GLabel> {
        let l = &s.labels;
        let mut rng = stream(s.run.seed, 2);
        let max_age = s.hosts.label_updated_at.max_age_hours as i64 * 3600;
        let mut seen = HashSet::new();
        let kinds = std::iter::repeat_n(0, l.dynamic as usize)
            .chain(std::iter::repeat_n(1, l.manual as usize))
            .chain(std::iter::repeat_n(2, l.host_vitals as usize));
        kinds
            .enumerate()
            .map(|(i, kind)| {
                let base = match kind {
                    0 => format!("{} users", BsNoun().fake_with_rng::<String, _>(&mut rng)),
                    1 => format!("{} team", FirstName().fake_with_rng::<String, _>(&mut rng)),
                    _ => format!(
                        "Disk {} over {} GB",
                        ["space", "usage", "encryption"][rng.random_range(0..3)],
                        rng.random_range(1..1000)
                    ),
                };
                let name = unique(&mut seen, decorate(&mut rng, base, 0.15), " #");
                // Old labels predate every host report; recent ones fall inside the report
                // window, so hosts that reported before them have not evaluated them yet.
                let created_at = if rng.random_bool(l.null_created_at_share) {
                    None
                } else if rng.random_bool(l.recent_share) {
                    Some(now - rng.random_range(0..=max_age / 2))
                } else {
                    Some(now - max_age - 86_400 - rng.random_range(0..365 * 86_400))
                };
                GLabel {
                    id: i as i64 + 1,
                    name,
                    kind,
                    created_at,
                    broken: rng.random_bool(l.broken_share),
                }
            })
            .collect()
    }

    fn hosts(s: &Scenario, now: i64, labels: &[GLabel]) -> Vec<GHost> {
        let h = &s.hosts;
        let mut rng = stream(s.run.seed, 3);
        let p = &h.platforms;
        let platform_dist = weighted(&[p.darwin, p.ios, p.ipados, p.other]);
        let e = &h.enrollment;
        let enroll_dist = weighted(&[
            e.device,
            e.user_enrollment_device,
            e.user_only,
            e.disabled,
            e.no_nano_device,
        ]);
        let max_age = h.label_updated_at.max_age_hours as i64 * 3600;
        let reported_at = |rng: &mut ChaCha8Rng| {
            if rng.random_bool(h.label_updated_at.sentinel_share) {
                timefmt::parse_timestamp(timefmt::SENTINEL).unwrap_or(0)
            } else {
                now - rng.random_range(0..=max_age)
            }
        };
        let make = |rng: &mut ChaCha8Rng, id: i64, uuid: String| {
            let pi = platform_dist.sample(rng);
            let platform = if pi < 3 {
                APPLE_PLATFORMS[pi]
            } else {
                OTHER_PLATFORMS[rng.random_range(0..OTHER_PLATFORMS.len())]
            };
            let kind = if pi < 3 {
                [
                    EnrollKind::Device,
                    EnrollKind::UserEnrollmentDevice,
                    EnrollKind::UserOnly,
                    EnrollKind::Disabled,
                    EnrollKind::NoNanoDevice,
                ][enroll_dist.sample(rng)]
            } else {
                EnrollKind::NotApple
            };
            let team_id = if h.teams == 0 || rng.random_bool(h.no_team_share) {
                None
            } else {
                Some(rng.random_range(1..=h.teams as i64))
            };
            let model = DEVICE_MODELS
                .iter()
                .find(|(p, _)| *p == platform)
                .map_or("PC", |(_, m)| m);
            let first: String = FirstName().fake_with_rng(rng);
            let hostname = decorate(rng, format!("{first}'s {model}"), 0.05);
            GHost {
                id,
                uuid,
                hostname,
                platform,
                team_id,
                label_updated_at: reported_at(rng),
                kind,
                mdm_enrolled: !rng.random_bool(h.mdm_unenrolled_share),
                labels: Vec::new(),
            }
        };
        let mut hosts: Vec<GHost> = (1..=h.count as i64)
            .map(|id| {
                let uuid = upper_uuid(&mut rng);
                make(&mut rng, id, uuid)
            })
            .collect();
        // Duplicate rows: a host re-enrolled under a new id keeps its uuid (spec §6 D6).
        let mut next_id = h.count as i64 + 1;
        for i in 0..h.count as usize {
            if rng.random_bool(h.duplicate_uuid_rate) {
                let orig = &hosts[i];
                let dup = GHost {
                    id: next_id,
                    uuid: orig.uuid.clone(),
                    hostname: orig.hostname.clone(),
                    platform: orig.platform,
                    team_id: orig.team_id,
                    label_updated_at: reported_at(&mut rng),
                    kind: orig.kind,
                    mdm_enrolled: orig.mdm_enrolled,
                    labels: Vec::new(),
                };
                hosts.push(dup);
                next_id += 1;
            }
        }
        for _ in 0..h.empty_uuid_count {
            let mut host = make(&mut rng, next_id, String::new());
            host.platform = "darwin";
            host.kind = EnrollKind::Device;
            hosts.push(host);
            next_id += 1;
        }

        // Ties: a share of reporting hosts (default one in 50) reported at the very second a
        // recent label was created.
        // Equal times pass the timing rule (spec §3, §4.2); the boundary is where a `<` written
        // as `<=` hides, so the fleets must contain it.
        let recent: Vec<i64> = labels
            .iter()
            .filter(|l| !l.broken && l.kind != 1)
            .filter_map(|l| l.created_at)
            .filter(|&c| c > now - h.label_updated_at.max_age_hours as i64 * 3600)
            .collect();
        let mut trng = stream(s.run.seed, 8);
        let never = timefmt::parse_timestamp(timefmt::SENTINEL).unwrap_or(0);
        for host in hosts.iter_mut().filter(|h| h.label_updated_at != never) {
            if !recent.is_empty() && trng.random_bool(h.label_updated_at.tie_share) {
                host.label_updated_at = recent[trng.random_range(0..recent.len())];
            }
        }

        // Memberships: a host that never reported has none; a host is a member only of labels
        // it has evaluated (reported after their creation), except manual labels, which are
        // assigned. Labels are drawn by Zipf popularity without replacement
        // (Efraimidis–Spirakis keys), the popularity order being a seeded shuffle of the ids.
        let mut mrng = stream(s.run.seed, 4);
        let mut rank: Vec<usize> = (0..labels.len()).collect();
        for i in (1..rank.len()).rev() {
            rank.swap(i, mrng.random_range(0..=i));
        }
        let weights: Vec<f64> = (0..labels.len())
            .map(|i| 1.0 / ((rank[i] + 1) as f64).powf(s.labels.skew))
            .collect();
        let avg = s.labels.avg_per_host;
        let sentinel = timefmt::parse_timestamp(timefmt::SENTINEL).unwrap_or(0);
        let mut keys: Vec<(f64, usize)> = Vec::with_capacity(labels.len());
        for host in hosts.iter_mut() {
            if host.label_updated_at == sentinel || labels.is_empty() {
                continue;
            }
            let k = (mrng.random_range(0.0..=2.0 * avg).round() as usize).min(labels.len());
            if k == 0 {
                continue;
            }
            keys.clear();
            for (i, w) in weights.iter().enumerate() {
                // ln(u) / w orders like u^(1/w) without underflow at large skews.
                let u: f64 = mrng.random_range(f64::MIN_POSITIVE..1.0);
                keys.push((u.ln() / w, i));
            }
            keys.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0));
            let mut chosen: Vec<i64> = keys[..k]
                .iter()
                .map(|&(_, i)| &labels[i])
                .filter(|l| {
                    !l.broken
                        && (l.kind == 1 || l.created_at.is_none_or(|c| host.label_updated_at >= c))
                })
                .map(|l| l.id)
                .collect();
            chosen.sort_unstable();
            host.labels = chosen;
        }
        hosts
    }

    fn profiles(s: &Scenario, now: i64, labels: &[GLabel]) -> Vec<GProfile> {
        let pr = &s.profiles;
        let mode_dist = weighted(&pr.label_modes.named().map(|(_, w)| w));
        let mut rng = stream(s.run.seed, 5);
        let mut out = Vec::new();
        for team in 0..=s.hosts.teams as i64 {
            let builtins = rng.random_bool(pr.fleet_builtin_share);
            let mut names = HashSet::new();
            let mut idents = HashSet::new();
            for slot in 0..pr.per_team as usize {
                let uuid = format!("a{}", lower_uuid(&mut rng));
                let builtin_slot = FLEET_BUILTINS.get(slot).filter(|_| builtins);
                let builtin = builtin_slot.is_some();
                let (name, identifier) = if let Some(&(n, i)) = builtin_slot {
                    names.insert(n.to_string());
                    idents.insert(i.to_string());
                    (n.to_string(), i.to_string())
                } else {
                    let kind = PROFILE_KINDS[rng.random_range(0..PROFILE_KINDS.len())];
                    let company: String = CompanyName().fake_with_rng(&mut rng);
                    let name = decorate(&mut rng, format!("{kind} – {company}"), 0.1);
                    let domain: String = company
                        .chars()
                        .filter(|c| c.is_ascii_alphanumeric())
                        .collect::<String>()
                        .to_lowercase();
                    let ident = format!(
                        "com.{}.{}",
                        if domain.is_empty() {
                            "example"
                        } else {
                            &domain
                        },
                        kind.to_lowercase().replace([' ', '-'], "")
                    );
                    (
                        unique(&mut names, name, " "),
                        unique(&mut idents, ident, "."),
                    )
                };
                let mode = if builtin {
                    Mode::None
                } else {
                    MODES[mode_dist.sample(&mut rng)]
                };
                let refs = Self::refs(&mut rng, mode, pr.labels_min, pr.labels_max, labels);
                let content = format!(
                    "<?xml version=\"1.0\"?><plist><dict><key>PayloadIdentifier</key>\
                     <string>{identifier}</string><key>PayloadDisplayName</key>\
                     <string>{name}</string><key>PayloadUUID</key><string>{uuid}</string>\
                     </dict></plist>"
                );
                let checksum: [u8; 16] = Md5::digest(content.as_bytes()).into();
                let secrets_updated_at = rng
                    .random_bool(pr.secrets_share)
                    .then(|| (now - rng.random_range(3600..30 * 86_400)) * 1_000_000);
                let scope = if rng.random_bool(pr.user_scope_share) {
                    "User"
                } else {
                    "System"
                };
                out.push(GProfile {
                    uuid,
                    team_id: team,
                    identifier,
                    name,
                    checksum,
                    secrets_updated_at,
                    scope,
                    uploaded_at: now - rng.random_range(86_400..400 * 86_400),
                    refs,
                    builtin,
                });
            }
        }
        out.sort_by(|a, b| a.uuid.cmp(&b.uuid));
        out
    }

    /// Label rows for one profile of the given mode: (label index, exclude, require_all).
    fn refs(rng: &mut ChaCha8Rng, mode: Mode, min: u32, max: u32, labels: &[GLabel]) -> Vec<Ref> {
        let n_inc = rng.random_range(min..=max);
        let n_exc = rng.random_range(min..=max);
        let mut pick = |n: u32, used: &mut Vec<usize>| -> Vec<usize> {
            let mut got = Vec::new();
            while (got.len() as u32) < n && used.len() < labels.len() {
                let i = rng.random_range(0..labels.len());
                if !used.contains(&i) {
                    used.push(i);
                    got.push(i);
                }
            }
            got
        };
        let mut used = Vec::new();
        let with = |ids: Vec<usize>, exclude: bool, require_all: bool| -> Vec<Ref> {
            ids.into_iter().map(|i| (i, exclude, require_all)).collect()
        };
        match mode {
            Mode::None => Vec::new(),
            Mode::IncludeAll => with(pick(n_inc, &mut used), false, true),
            Mode::IncludeAny => with(pick(n_inc, &mut used), false, false),
            Mode::ExcludeAny => with(pick(n_exc, &mut used), true, false),
            Mode::IncludeAllExclude => {
                let mut r = with(pick(n_inc, &mut used), false, true);
                r.extend(with(pick(n_exc, &mut used), true, false));
                r
            }
            Mode::IncludeAnyExclude => {
                let mut r = with(pick(n_inc, &mut used), false, false);
                r.extend(with(pick(n_exc, &mut used), true, false));
                r
            }
            Mode::MixedInclude => {
                // At least one row of each require_all value, so the rows really disagree.
                let ids = pick(n_inc.max(2), &mut used);
                ids.into_iter()
                    .enumerate()
                    .map(|(k, i)| (i, false, k % 2 == 0))
                    .collect()
            }
            Mode::ExcludeRequireAll => with(pick(n_exc, &mut used), true, true),
        }
    }

    fn current(
        s: &Scenario,
        hosts: &[GHost],
        labels: &[GLabel],
        profiles: &[GProfile],
    ) -> Vec<CurrentRow> {
        let c = &s.current;
        let mut rng = stream(s.run.seed, 6);
        let cells = c.status_op.cells();
        let cell_dist = weighted(&cells.map(|(_, w)| w));
        // Profiles per team id, already in profile_uuid order.
        let teams = s.hosts.teams as usize;
        let mut by_team: Vec<Vec<usize>> = vec![Vec::new(); teams + 1];
        for (i, p) in profiles.iter().enumerate() {
            by_team[p.team_id as usize].push(i);
        }
        // Deleted profiles: two uuids per team that are not in the catalog.
        let deleted: Vec<Vec<String>> = (0..=teams)
            .map(|_| {
                (0..2)
                    .map(|_| format!("a{}", lower_uuid(&mut rng)))
                    .collect()
            })
            .collect();

        // One representative host row per uuid (the lowest id), in uuid order.
        let mut reps: Vec<&GHost> = hosts.iter().collect();
        reps.sort_by(|a, b| a.uuid.cmp(&b.uuid).then(a.id.cmp(&b.id)));
        reps.dedup_by(|b, a| a.uuid == b.uuid);

        let mut rows = Vec::new();
        let make_row = |rng: &mut ChaCha8Rng, host_uuid: &str, pi: Option<usize>, pu: &str| {
            let ((operation, status), _) = cells[cell_dist.sample(rng)];
            let (checksum, secrets) = match pi {
                Some(pi) => {
                    let p = &profiles[pi];
                    let checksum = if rng.random_bool(c.stale_checksum_share) {
                        rng.random()
                    } else {
                        p.checksum
                    };
                    let secrets = p.secrets_updated_at.and_then(|t| {
                        if rng.random_bool(c.stale_secrets_share) {
                            if rng.random_bool(c.stale_secrets_null_share) {
                                None
                            } else {
                                Some(t - rng.random_range(1..86_400_000_000))
                            }
                        } else {
                            Some(t)
                        }
                    });
                    (checksum, secrets)
                }
                None => (rng.random(), None),
            };
            CurrentRow {
                host_uuid: host_uuid.to_string(),
                profile_uuid: pu.to_string(),
                profile: pi,
                status,
                operation,
                command_uuid: lower_uuid(rng),
                checksum,
                secrets_updated_at: secrets,
            }
        };
        let mut host_rows: Vec<CurrentRow> = Vec::new();
        let mut deleted_hosts: Vec<String> =
            (0..c.deleted_hosts).map(|_| upper_uuid(&mut rng)).collect();
        deleted_hosts.sort();
        for h in reps {
            host_rows.clear();
            let team = h.team_id.unwrap_or(0) as usize;
            let apple = h.kind != EnrollKind::NotApple;
            let has_rows = h.eligible() || (apple && rng.random_bool(c.ineligible_host_rows_share));
            if !has_rows {
                continue;
            }
            for &pi in &by_team[team] {
                let p = &profiles[pi];
                let want = if roughly_desired(p, h, labels) {
                    c.coverage
                } else if p.builtin && h.platform != "darwin" {
                    0.0
                } else {
                    c.undesired_rows_share
                };
                if rng.random_bool(want) {
                    host_rows.push(make_row(&mut rng, &h.uuid, Some(pi), &p.uuid));
                }
            }
            if h.eligible() && rng.random_bool(c.deleted_profile_rows_share) {
                let pu = &deleted[team][rng.random_range(0..2)];
                host_rows.push(make_row(&mut rng, &h.uuid, None, pu));
            }
            host_rows.sort_by(|a, b| a.profile_uuid.cmp(&b.profile_uuid));
            rows.append(&mut host_rows);
        }
        // Deleted hosts: a few team-0 profile rows each, for uuids with no hosts row.
        for uuid in &deleted_hosts {
            for &pi in by_team[0].iter().take(3) {
                let p = &profiles[pi];
                rows.push(make_row(&mut rng, uuid, Some(pi), &p.uuid));
            }
        }
        rows.sort_by(|a, b| {
            a.host_uuid
                .cmp(&b.host_uuid)
                .then_with(|| a.profile_uuid.cmp(&b.profile_uuid))
        });
        rows
    }

    /// Inserts every table in primary-key order in one transaction.
    fn insert(
        &self,
        conn: &mut Connection,
        progress: &dyn Progress,
    ) -> Result<Vec<(&'static str, u64)>, GenerateError> {
        let memberships: u64 = self.hosts.iter().map(|h| h.labels.len() as u64).sum();
        let label_rows: u64 = self.profiles.iter().map(|p| p.refs.len() as u64).sum();
        let total = self.teams.len() as u64
            + 3 * self.hosts.len() as u64
            + self.labels.len() as u64
            + memberships
            + self.profiles.len() as u64
            + label_rows
            + self.current.len() as u64;
        progress.set_length(total);
        progress.set_message("inserting rows".into());
        let tx = conn.transaction().map_err(|source| GenerateError::Load {
            table: "transaction",
            source,
        })?;
        let mut counts = Vec::new();
        macro_rules! load {
            ($table:literal, $sql:expr, $body:expr) => {{
                let n = (|| -> rusqlite::Result<u64> {
                    let mut stmt = tx.prepare($sql)?;
                    #[allow(clippy::redundant_closure_call)]
                    $body(&mut stmt)
                })()
                .map_err(|source| GenerateError::Load {
                    table: $table,
                    source,
                })?;
                counts.push(($table, n));
            }};
        }
        load!(
            "teams",
            "INSERT INTO teams (id, name) VALUES (?1, ?2)",
            |stmt: &mut rusqlite::Statement| {
                for (id, name) in &self.teams {
                    stmt.execute(params![id, name])?;
                }
                progress.inc(self.teams.len() as u64);
                Ok(self.teams.len() as u64)
            }
        );
        load!(
            "hosts",
            "INSERT INTO hosts (id, uuid, hostname, platform, team_id, label_updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            |stmt: &mut rusqlite::Statement| {
                for h in &self.hosts {
                    stmt.execute(params![
                        h.id,
                        h.uuid,
                        h.hostname,
                        h.platform,
                        h.team_id,
                        timefmt::timestamp(h.label_updated_at)
                    ])?;
                }
                progress.inc(self.hosts.len() as u64);
                Ok(self.hosts.len() as u64)
            }
        );
        load!(
            "host_mdm",
            "INSERT INTO host_mdm (host_id, enrolled) VALUES (?1, ?2)",
            |stmt: &mut rusqlite::Statement| {
                for h in &self.hosts {
                    stmt.execute(params![h.id, h.mdm_enrolled])?;
                }
                progress.inc(self.hosts.len() as u64);
                Ok(self.hosts.len() as u64)
            }
        );
        // Nano rows, one set per distinct uuid, in id order.
        let mut devices: Vec<(String, i64)> = Vec::new();
        let mut enrollments: Vec<(String, String, Option<String>, &str, bool)> = Vec::new();
        {
            let mut rng = stream(self.seed, 7);
            let mut seen = HashSet::new();
            for h in &self.hosts {
                if h.kind == EnrollKind::NotApple || !seen.insert(h.uuid.clone()) {
                    continue;
                }
                let auth = self.now - rng.random_range(0..30 * 86_400);
                let (ty, enabled) = match h.kind {
                    EnrollKind::UserEnrollmentDevice => ("User Enrollment (Device)", true),
                    EnrollKind::UserOnly => ("User", true),
                    EnrollKind::Disabled => ("Device", false),
                    _ => ("Device", true),
                };
                if h.kind != EnrollKind::NoNanoDevice {
                    devices.push((h.uuid.clone(), auth));
                }
                if h.kind == EnrollKind::UserOnly {
                    let user = lower_uuid(&mut rng);
                    enrollments.push((
                        format!("{}:{user}", h.uuid),
                        h.uuid.clone(),
                        Some(user),
                        ty,
                        enabled,
                    ));
                } else {
                    enrollments.push((h.uuid.clone(), h.uuid.clone(), None, ty, enabled));
                    // macOS hosts often also have a user channel; it never makes a host
                    // eligible, and must not multiply it either (spec §2: EXISTS).
                    if h.platform == "darwin" && rng.random_bool(0.5) {
                        let user = lower_uuid(&mut rng);
                        enrollments.push((
                            format!("{}:{user}", h.uuid),
                            h.uuid.clone(),
                            Some(user),
                            "User",
                            true,
                        ));
                    }
                }
            }
            devices.sort();
            enrollments.sort_by(|a, b| a.0.cmp(&b.0));
        }
        load!(
            "nano_devices",
            "INSERT INTO nano_devices (id, authenticate_at) VALUES (?1, ?2)",
            |stmt: &mut rusqlite::Statement| {
                for (id, at) in &devices {
                    stmt.execute(params![id, timefmt::timestamp(*at)])?;
                }
                Ok(devices.len() as u64)
            }
        );
        load!(
            "nano_enrollments",
            "INSERT INTO nano_enrollments (id, device_id, user_id, type, enabled)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            |stmt: &mut rusqlite::Statement| {
                for (id, dev, user, ty, enabled) in &enrollments {
                    stmt.execute(params![id, dev, user, ty, enabled])?;
                }
                progress.inc(self.hosts.len() as u64);
                Ok(enrollments.len() as u64)
            }
        );
        load!(
            "labels",
            "INSERT INTO labels (id, name, label_membership_type, created_at)
             VALUES (?1, ?2, ?3, ?4)",
            |stmt: &mut rusqlite::Statement| {
                let mut n = 0;
                for l in self.labels.iter().filter(|l| !l.broken) {
                    stmt.execute(params![
                        l.id,
                        l.name,
                        l.kind,
                        l.created_at.map(timefmt::timestamp)
                    ])?;
                    n += 1;
                }
                progress.inc(self.labels.len() as u64);
                Ok(n)
            }
        );
        load!(
            "label_membership",
            "INSERT INTO label_membership (host_id, label_id) VALUES (?1, ?2)",
            |stmt: &mut rusqlite::Statement| {
                for h in &self.hosts {
                    for l in &h.labels {
                        stmt.raw_bind_parameter(1, h.id)?;
                        stmt.raw_bind_parameter(2, l)?;
                        stmt.raw_execute()?;
                    }
                    progress.inc(h.labels.len() as u64);
                }
                Ok(memberships)
            }
        );
        load!(
            "mdm_apple_configuration_profiles",
            "INSERT INTO mdm_apple_configuration_profiles (profile_uuid, team_id, identifier, name,
               checksum, secrets_updated_at, scope, uploaded_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            |stmt: &mut rusqlite::Statement| {
                for p in &self.profiles {
                    stmt.execute(params![
                        p.uuid,
                        p.team_id,
                        p.identifier,
                        p.name,
                        &p.checksum[..],
                        p.secrets_updated_at.map(timefmt::datetime6),
                        p.scope,
                        timefmt::timestamp(p.uploaded_at)
                    ])?;
                }
                progress.inc(self.profiles.len() as u64);
                Ok(self.profiles.len() as u64)
            }
        );
        load!(
            "mdm_configuration_profile_labels",
            "INSERT INTO mdm_configuration_profile_labels (apple_profile_uuid, label_name,
               label_id, exclude, require_all)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            |stmt: &mut rusqlite::Statement| {
                for p in &self.profiles {
                    for &(li, exclude, require_all) in &p.refs {
                        let l = &self.labels[li];
                        let label_id = (!l.broken).then_some(l.id);
                        stmt.execute(params![p.uuid, l.name, label_id, exclude, require_all])?;
                    }
                }
                progress.inc(label_rows);
                Ok(label_rows)
            }
        );
        load!(
            "host_mdm_apple_profiles",
            "INSERT INTO host_mdm_apple_profiles (host_uuid, profile_uuid, profile_identifier,
               profile_name, status, operation_type, detail, command_uuid, checksum,
               secrets_updated_at, ignore_error, scope)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0, ?11)",
            |stmt: &mut rusqlite::Statement| {
                for (k, r) in self.current.iter().enumerate() {
                    let (ident, name, scope) = match r.profile {
                        Some(pi) => {
                            let p = &self.profiles[pi];
                            (p.identifier.as_str(), p.name.as_str(), p.scope)
                        }
                        None => ("com.example.deleted", "Deleted profile", "System"),
                    };
                    let detail = (r.status == Some("failed"))
                        .then_some("The profile could not be installed.");
                    stmt.raw_bind_parameter(1, r.host_uuid.as_str())?;
                    stmt.raw_bind_parameter(2, r.profile_uuid.as_str())?;
                    stmt.raw_bind_parameter(3, ident)?;
                    stmt.raw_bind_parameter(4, name)?;
                    stmt.raw_bind_parameter(5, r.status)?;
                    stmt.raw_bind_parameter(6, r.operation)?;
                    stmt.raw_bind_parameter(7, detail)?;
                    stmt.raw_bind_parameter(8, r.command_uuid.as_str())?;
                    stmt.raw_bind_parameter(9, &r.checksum[..])?;
                    stmt.raw_bind_parameter(10, r.secrets_updated_at.map(timefmt::datetime6))?;
                    stmt.raw_bind_parameter(11, scope)?;
                    stmt.raw_execute()?;
                    if k % 65_536 == 0 {
                        progress.inc(65_536.min((self.current.len() - k) as u64));
                    }
                }
                Ok(self.current.len() as u64)
            }
        );
        load!(
            "reconsim_meta",
            &crate::store::tables::Dialect::Sqlite
                .create_table(crate::store::tables::get("reconsim_meta").expect("defined")),
            |stmt: &mut rusqlite::Statement| {
                stmt.raw_execute()?;
                let mut ins =
                    tx.prepare("INSERT INTO reconsim_meta (key, value) VALUES (?1, ?2)")?;
                let meta = [
                    ("seed", self.seed.to_string()),
                    ("batch_size", self.batch_size.to_string()),
                    ("rules", self.rules.describe()),
                    ("variant", self.variant.to_string()),
                    (
                        "generator",
                        format!("reconsim {}", env!("CARGO_PKG_VERSION")),
                    ),
                ];
                for (k, v) in &meta {
                    ins.execute(params![k, v])?;
                }
                Ok(meta.len() as u64)
            }
        );
        tx.commit().map_err(|source| GenerateError::Load {
            table: "commit",
            source,
        })?;
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::summary::Summary;
    use sha2::Sha256;

    const QUICK: &str = include_str!("../../scenarios/quick.toml");

    fn quick() -> Scenario {
        Scenario::parse(QUICK, "quick.toml").unwrap()
    }

    fn generate(s: &Scenario) -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        generate_into(&mut conn, s, &crate::support::progress::Silent).unwrap();
        conn
    }

    /// SHA-256 of every contract table's rows in primary-key order, one digest per table.
    fn table_hashes(conn: &Connection) -> Vec<(String, String)> {
        crate::store::tables::contract()
            .map(|t| {
                let (table, cols) = (t.name, t.column_names().join(", "));
                let sql = format!("SELECT {cols} FROM {table} ORDER BY {cols}");
                let mut stmt = conn.prepare(&sql).unwrap();
                let n = stmt.column_count();
                let mut hasher = Sha256::new();
                let mut rows = stmt.query([]).unwrap();
                while let Some(row) = rows.next().unwrap() {
                    for i in 0..n {
                        let v: rusqlite::types::Value = row.get(i).unwrap();
                        hasher.update(format!("{v:?}\u{1f}").as_bytes());
                    }
                    hasher.update(b"\x1e");
                }
                (table.to_string(), hex::encode(hasher.finalize()))
            })
            .collect()
    }

    #[test]
    fn same_seed_gives_identical_tables() {
        let s = quick();
        assert_eq!(table_hashes(&generate(&s)), table_hashes(&generate(&s)));
    }

    #[test]
    fn another_seed_changes_every_random_table() {
        let a = quick();
        let mut b = quick();
        b.run.seed += 1;
        let (ha, hb) = (table_hashes(&generate(&a)), table_hashes(&generate(&b)));
        for ((table, x), (_, y)) in ha.iter().zip(&hb) {
            assert_ne!(x, y, "table {table} did not change with the seed");
        }
    }

    #[test]
    fn sections_use_independent_streams() {
        // Changing a current-state knob must not move the hosts or the labels.
        let a = quick();
        let mut b = quick();
        b.current.coverage = 0.5;
        let (ha, hb) = (table_hashes(&generate(&a)), table_hashes(&generate(&b)));
        let get =
            |h: &Vec<(String, String)>, t: &str| h.iter().find(|x| x.0 == t).unwrap().1.clone();
        for t in [
            "hosts",
            "labels",
            "label_membership",
            "mdm_apple_configuration_profiles",
        ] {
            assert_eq!(get(&ha, t), get(&hb, t), "{t}");
        }
        assert_ne!(
            get(&ha, "host_mdm_apple_profiles"),
            get(&hb, "host_mdm_apple_profiles")
        );
    }

    fn share(summary: &Summary, section: &str, metric: &str) -> f64 {
        let line = summary
            .lines
            .iter()
            .find(|l| l.section == section && l.metric == metric)
            .unwrap_or_else(|| panic!("no {section}/{metric}"));
        line.count as f64 / line.of.unwrap() as f64
    }

    fn assert_near(what: &str, got: f64, want: f64, tol: f64) {
        assert!(
            (got - want).abs() <= tol,
            "{what}: got {got:.4}, want {want:.4} ± {tol}"
        );
    }

    #[test]
    fn feature_rates_follow_the_scenario() {
        let mut s = quick();
        s.hosts.count = 6000;
        s.profiles.per_team = 150;
        s.hosts.duplicate_uuid_rate = 0.02;
        s.labels.avg_per_host = 6.0;
        let conn = generate(&s);
        let sum = Summary::collect(&conn).unwrap();
        let p = &s.hosts.platforms;
        let apple_darwin = share(&sum, "hosts", "platform darwin");
        assert_near("darwin", apple_darwin, p.darwin, 0.02);
        assert_near("ios", share(&sum, "hosts", "platform ios"), p.ios, 0.02);
        assert_near(
            "ipados",
            share(&sum, "hosts", "platform ipados"),
            p.ipados,
            0.02,
        );
        assert_near(
            "no team",
            share(&sum, "hosts", "no team"),
            s.hosts.no_team_share,
            0.02,
        );
        assert_near(
            "duplicate rows",
            share(&sum, "hosts", "extra rows of duplicated uuids"),
            s.hosts.duplicate_uuid_rate / (1.0 + s.hosts.duplicate_uuid_rate),
            0.006,
        );
        assert_near(
            "sentinel",
            share(&sum, "hosts", "never reported labels (sentinel)"),
            s.hosts.label_updated_at.sentinel_share,
            0.01,
        );
        assert_near(
            "host_mdm.enrolled = 0",
            share(&sum, "hosts", "host_mdm.enrolled = 0 (D7)"),
            s.hosts.mdm_unenrolled_share,
            0.01,
        );
        // Eligible = Apple × eligible enrollment kinds.
        let e = &s.hosts.enrollment;
        let apple = p.darwin + p.ios + p.ipados;
        assert_near(
            "eligible",
            share(&sum, "hosts", "eligible rows (spec §2)"),
            apple * (e.device + e.user_enrollment_device),
            0.02,
        );
        // Label modes over 750 profiles (the builtins count as "none").
        let builtin = share(&sum, "profiles", "Fleet's macOS-only profiles");
        for (name, share_of_others) in s.profiles.label_modes.named() {
            let want = if name == "none" {
                share_of_others * (1.0 - builtin) + builtin
            } else {
                share_of_others
            };
            assert_near(
                name,
                share(&sum, "profiles", &format!("mode {name}")),
                want,
                0.025,
            );
        }
        assert_eq!(sum.get("profiles", "mode other"), Some(0));
        assert_near(
            "secrets",
            share(&sum, "profiles", "secrets_updated_at set"),
            s.profiles.secrets_share,
            0.025,
        );
        assert_near(
            "user scope",
            share(&sum, "profiles", "scope User"),
            s.profiles.user_scope_share,
            0.02,
        );
        for ((op, st), w) in s.current.status_op.cells() {
            let metric = format!("{} / {}", op.unwrap_or("NULL"), st.unwrap_or("NULL"));
            assert_near(&metric, share(&sum, "current rows", &metric), w, 0.01);
        }
        assert_near(
            "stale checksum",
            share(&sum, "current rows", "stale checksum"),
            s.current.stale_checksum_share,
            0.01,
        );
        // Memberships: hosts that reported get avg_per_host draws, minus broken and
        // not-yet-evaluated labels; so the mean is below the knob, but not far below.
        let hosts = sum.get("tables", "hosts").unwrap() as f64;
        let per_host = sum.get("labels", "memberships").unwrap() as f64 / hosts;
        assert!(
            per_host > 0.75 * s.labels.avg_per_host && per_host <= s.labels.avg_per_host,
            "memberships per host {per_host}"
        );
    }

    #[test]
    fn some_hosts_reported_exactly_when_a_label_was_created() {
        let conn = generate(&quick());
        let ties: i64 = conn
            .query_row(
                "SELECT count(*) FROM hosts h WHERE EXISTS (SELECT 1 FROM labels l
                   WHERE l.created_at = h.label_updated_at AND l.label_membership_type != 1)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(ties > 0, "no host reported at a label's creation time");
    }

    #[test]
    fn timestamps_are_in_the_spec_format() {
        let conn = generate(&quick());
        let bad: i64 = conn
            .query_row(
                "SELECT (SELECT count(*) FROM hosts WHERE label_updated_at NOT GLOB
                   '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]')
                 + (SELECT count(*) FROM host_mdm_apple_profiles WHERE secrets_updated_at NOT GLOB
                   '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(bad, 0);
    }

    #[test]
    fn values_have_the_shapes_fleet_uses() {
        let conn = generate(&quick());
        let q = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(
            q(
                "SELECT count(*) FROM mdm_apple_configuration_profiles WHERE profile_uuid NOT LIKE 'a%'"
            ),
            0
        );
        assert_eq!(q("SELECT count(*) FROM hosts WHERE uuid != upper(uuid)"), 0);
        assert_eq!(
            q("SELECT count(*) FROM mdm_apple_configuration_profiles WHERE length(checksum) != 16"),
            0
        );
        assert!(
            q(
                "SELECT count(*) FROM mdm_apple_configuration_profiles WHERE identifier LIKE 'com.%.%'"
            ) > 0
        );
        // Hostile text is present (and was bound, not spliced).
        assert!(q("SELECT count(*) FROM hosts WHERE hostname LIKE '%''%'") > 0);
        // Profile label rows of deleted labels keep their name, lose their id.
        assert!(
            q("SELECT count(*) FROM mdm_configuration_profile_labels WHERE label_id IS NULL") > 0
        );
        assert_eq!(
            q(
                "SELECT count(*) FROM mdm_configuration_profile_labels l WHERE label_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM labels WHERE id = l.label_id)"
            ),
            0
        );
        // Current rows are stored in key order (spec §9): rowid order = (host_uuid, profile_uuid).
        assert_eq!(
            q(
                "SELECT count(*) FROM (SELECT host_uuid || '|' || profile_uuid AS k,
                 lag(host_uuid || '|' || profile_uuid) OVER (ORDER BY rowid) AS prev
               FROM host_mdm_apple_profiles) WHERE prev >= k"
            ),
            0
        );
    }

    #[test]
    fn refuses_to_overwrite_without_force_and_leaves_nothing_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        std::fs::write(&db, b"keep me").unwrap();
        let err =
            generate_file(&db, &quick(), false, &crate::support::progress::Silent).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        assert_eq!(std::fs::read(&db).unwrap(), b"keep me");
        let listing: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(listing.len(), 1, "a temp file was left behind");
    }
}
