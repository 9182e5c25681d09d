//! The seeded fleet generator: turns a `Scenario` and a seed into the spec §1 tables.
//!
//! Determinism: every random choice comes from one ChaCha8 generator seeded with the seed,
//! split into one stream per section (`set_stream`), so a knob of one section does not shift
//! the values of another; iteration is always over vectors in a fixed order, never over hash
//! maps. The same scenario and seed give identical table contents.
//!
//! Speed: teams, hosts, labels and profiles are built in memory; every table is written in
//! primary-key order into a sink — an SQLite file (one transaction, `ROWS_PER_INSERT` rows a
//! statement execution) or a server (`generate_to_server`: `LOAD DATA` chunks as the rows are
//! made) — the current rows produced host by host on a second thread while this one writes
//! them. The secondary indexes come afterwards
//! (schema migration 2) with a page cache sized so that SQLite sorts the largest in about a
//! dozen chunks on its worker threads, and `ANALYZE` last, so the planner has statistics
//! (spec §9).

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
use rusqlite::Connection;
use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

mod build;
mod insert;

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
         (about 3 KB a host besides the 256 MiB page cache), more than the {have_gib:.1} GiB \
         available here"
    )]
    TooLarge {
        hosts: u64,
        need_gib: f64,
        have_gib: f64,
    },
    #[error(transparent)]
    Backend(#[from] crate::backends::error::BackendError),
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

/// Bytes of memory generation takes per host: the hosts, labels and profiles are built in
/// memory, the current rows (most of the fleet) are streamed into the file (measured: ~0.5 GiB
/// peak at 100k hosts, 256 MiB of it SQLite's page cache; see `SQLITE_CACHE_BYTES`).
const BYTES_PER_HOST: u64 = 3_000;
/// SQLite's page cache while loading (`PRAGMA cache_size` below).
const SQLITE_CACHE_BYTES: u64 = 256 << 20;
/// SQLite's page cache while creating the indexes, which is also the size of each chunk its
/// sorter sorts on a worker thread: about a dozen chunks for the largest index (the current
/// rows' `status`, about 32 bytes a sorter entry), within 8–128 MiB. One chunk sorts on one
/// core after the scan (fleet-100k's 3.9M entries under a 128 MiB cache); a hundred small ones
/// cost more merging than they save (measured at 1M: 8 MiB took 41–50 s for that index, 128 MiB
/// 37–38 s; at 100k 8 MiB was faster than 128).
fn index_cache_bytes(largest_table_rows: u64) -> u64 {
    (largest_table_rows.saturating_mul(32) / 12).clamp(8 << 20, 128 << 20)
}

/// Refuses a fleet whose in-memory build would not fit the memory available now.
pub fn check_memory(scenario: &Scenario) -> Result<(), GenerateError> {
    let hosts = scenario.hosts.count + scenario.current.deleted_hosts as u64;
    let need = hosts
        .saturating_mul(BYTES_PER_HOST)
        .saturating_add(SQLITE_CACHE_BYTES);
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
    // synchronous=OFF drop the journal and fsyncs; a 256 MiB page cache holds the b-trees' right
    // edges being appended to (rows arrive in key order) and bounds memory at any fleet size;
    // temp_store = FILE lets CREATE INDEX's sorter spill to disk rather than to memory; exclusive locking skips
    // per-statement lock traffic; threads=2 lets CREATE INDEX sort on both cores.
    conn.execute_batch(&format!(
        "PRAGMA page_size = 16384;
         PRAGMA journal_mode = OFF;
         PRAGMA synchronous = OFF;
         PRAGMA locking_mode = EXCLUSIVE;
         PRAGMA cache_size = -{};
         PRAGMA temp_store = FILE;
         PRAGMA threads = 2;",
        SQLITE_CACHE_BYTES / 1024
    ))
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
    let tables = (|| {
        let tx = conn.transaction().map_err(|source| GenerateError::Load {
            table: "transaction",
            source,
        })?;
        let meta = crate::store::tables::get("reconsim_meta").expect("defined");
        tx.execute_batch(&crate::store::tables::Dialect::Sqlite.create_table(meta))
            .map_err(|source| GenerateError::Load {
                table: "reconsim_meta",
                source,
            })?;
        let tables = fleet.insert(&mut insert::SqliteSink::new(&tx), progress)?;
        tx.commit().map_err(|source| GenerateError::Load {
            table: "commit",
            source,
        })?;
        Ok::<_, GenerateError>(tables)
    })()?;
    let insert = t1.elapsed();
    // The in-memory hosts are not needed any more. The index builds' sorters get a cache
    // sized for a dozen sorted chunks: SQLite sorts chunks of about `cache_size` bytes on its
    // worker threads (`threads = 2`) while the table scan goes on, and merges them.
    let seed = fleet.seed;
    drop(fleet);
    let largest = tables.iter().map(|&(_, n)| n).max().unwrap_or(0);
    conn.execute_batch(&format!(
        "PRAGMA cache_size = -{};",
        index_cache_bytes(largest) / 1024
    ))
    .map_err(|source| GenerateError::Load {
        table: "pragmas",
        source,
    })?;

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
        seed,
        tables,
        build,
        insert,
        index,
        analyze,
    })
}

/// Generates the fleet straight into a server's database: the rows travel in `LOAD DATA LOCAL
/// INFILE` chunks (or multi-row INSERTs, by `method` or where the server refuses LOCAL INFILE)
/// as they are made, so memory is the generator's own (the hosts, labels and profiles) whatever
/// the fleet's size. A fleet reconsim loaded before is replaced; a failure drops every table
/// the load created. `stats.index` holds the server's index build and `ANALYZE TABLE`.
pub fn generate_to_server(
    db: &crate::backends::mysqldb::MyDb,
    scenario: &Scenario,
    method: crate::backends::mysqldb::LoadMethod,
    progress: &dyn Progress,
) -> Result<(LoadStats, crate::backends::mysqldb::LoadStats), GenerateError> {
    check_memory(scenario)?;
    // Refuses a database with tables reconsim did not load before anything is dropped.
    let mut loader = crate::backends::mysqldb::Loader::start(db, method)?;
    let t0 = Instant::now();
    progress.set_message("building fleet in memory".into());
    let fleet = Fleet::build(scenario);
    let build = t0.elapsed();
    let t1 = Instant::now();
    let loaded = (|| {
        let tables = fleet.insert(
            &mut insert::ServerSink {
                loader: &mut loader,
            },
            progress,
        )?;
        let insert = t1.elapsed();
        let server = loader.finish(progress)?;
        Ok::<_, GenerateError>((tables, insert, server))
    })();
    let (tables, insert, server) = match loaded {
        Ok(l) => l,
        Err(e) => {
            // Nothing half-loaded: drop what the load created.
            let _ = db.exec("ROLLBACK");
            let _ = crate::backends::mysqldb::drop_tables(db);
            return Err(e);
        }
    };
    let stats = LoadStats {
        seed: fleet.seed,
        tables,
        build,
        insert,
        index: server.index,
        analyze: Duration::ZERO,
    };
    Ok((stats, server))
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
    /// The current-rows knobs: the rows themselves are produced while inserting (`current`).
    current: crate::fleet::scenario::Current,
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

#[cfg(test)]
mod tests;
