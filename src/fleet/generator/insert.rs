//! Writing the built fleet: every table in primary-key order, in one transaction; the two
//! large tables through multi-row INSERTs, the current rows from a producer thread.

use super::*;

impl Fleet {
    /// Inserts every table in primary-key order in one transaction.
    pub(super) fn insert(
        &self,
        conn: &mut Connection,
        progress: &dyn Progress,
    ) -> Result<Vec<(&'static str, u64)>, GenerateError> {
        let memberships: u64 = self.hosts.iter().map(|h| h.labels.len() as u64).sum();
        let label_rows: u64 = self.profiles.iter().map(|p| p.refs.len() as u64).sum();
        // Units: rows, except the current rows, counted by host (one step per host uuid).
        let total = self.teams.len() as u64
            + 4 * self.hosts.len() as u64
            + self.labels.len() as u64
            + memberships
            + self.profiles.len() as u64
            + label_rows;
        progress.set_length(total);
        progress.set_message("inserting rows (the current rows host by host)".into());
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
        // A table whose body prepares its own statements.
        macro_rules! load_with {
            ($table:literal, $body:expr) => {{
                let n = $body.map_err(|source| GenerateError::Load {
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
        // Nano rows, one set per distinct uuid, drawn in host id order and written in key
        // order. Held as host indexes (and the user channel's uuid), not as key strings, so
        // that a million-host fleet needs tens of MB here, not hundreds.
        let mut devices: Vec<(u32, i64)> = Vec::new();
        let mut enrollments: Vec<(u32, Option<String>, &str, bool)> = Vec::new();
        {
            let mut rng = stream(self.seed, 7);
            let mut seen = HashSet::new();
            for (i, h) in self.hosts.iter().enumerate() {
                if h.kind == EnrollKind::NotApple || !seen.insert(h.uuid.as_str()) {
                    continue;
                }
                let i = i as u32;
                let auth = self.now - rng.random_range(0..30 * 86_400);
                let (ty, enabled) = match h.kind {
                    EnrollKind::UserEnrollmentDevice => ("User Enrollment (Device)", true),
                    EnrollKind::UserOnly => ("User", true),
                    EnrollKind::Disabled => ("Device", false),
                    _ => ("Device", true),
                };
                if h.kind != EnrollKind::NoNanoDevice {
                    devices.push((i, auth));
                }
                if h.kind == EnrollKind::UserOnly {
                    enrollments.push((i, Some(lower_uuid(&mut rng)), ty, enabled));
                } else {
                    enrollments.push((i, None, ty, enabled));
                    // macOS hosts often also have a user channel; it never makes a host
                    // eligible, and must not multiply it either (spec §2: EXISTS).
                    if h.platform == "darwin" && rng.random_bool(0.5) {
                        enrollments.push((i, Some(lower_uuid(&mut rng)), "User", true));
                    }
                }
            }
            let uuid = |i: u32| self.hosts[i as usize].uuid.as_str();
            devices.sort_by(|a, b| (uuid(a.0), a.1).cmp(&(uuid(b.0), b.1)));
            // By the enrollment id, `uuid` or `uuid:user`, compared without building it.
            let id = |e: &(u32, Option<String>, &str, bool)| {
                let user = e.1.as_deref().map_or(&[][..], str::as_bytes);
                let sep: &[u8] = if e.1.is_some() { b":" } else { b"" };
                uuid(e.0)
                    .as_bytes()
                    .iter()
                    .chain(sep)
                    .chain(user)
                    .copied()
                    .collect::<Vec<u8>>()
            };
            enrollments.sort_by(|a, b| {
                // Most pairs differ within the uuid: compare those bytes first, unallocated.
                match uuid(a.0).cmp(uuid(b.0)) {
                    std::cmp::Ordering::Equal => id(a).cmp(&id(b)),
                    _ if uuid(a.0).is_empty() || uuid(b.0).is_empty() => id(a).cmp(&id(b)),
                    o => o,
                }
            });
        }
        load!(
            "nano_devices",
            "INSERT INTO nano_devices (id, authenticate_at) VALUES (?1, ?2)",
            |stmt: &mut rusqlite::Statement| {
                for &(i, at) in &devices {
                    stmt.execute(params![self.hosts[i as usize].uuid, timefmt::timestamp(at)])?;
                }
                Ok(devices.len() as u64)
            }
        );
        load!(
            "nano_enrollments",
            "INSERT INTO nano_enrollments (id, device_id, user_id, type, enabled)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            |stmt: &mut rusqlite::Statement| {
                for (i, user, ty, enabled) in &enrollments {
                    let dev = &self.hosts[*i as usize].uuid;
                    let id = match user {
                        Some(u) => format!("{dev}:{u}"),
                        None => dev.clone(),
                    };
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
        load_with!(
            "label_membership",
            (|| -> rusqlite::Result<u64> {
                let mut ins = Chunked::new(
                    &tx,
                    "INSERT OR FAIL INTO label_membership (host_id, label_id)",
                    "(?, ?)",
                )?;
                let mut rows: Vec<(i64, i64)> = Vec::with_capacity(ROWS_PER_MESSAGE);
                for h in &self.hosts {
                    rows.extend(h.labels.iter().map(|&l| (h.id, l)));
                    if rows.len() >= ROWS_PER_MESSAGE {
                        // Whole statements only; the rest waits for the next host's rows.
                        let whole = rows.len() - rows.len() % ROWS_PER_INSERT;
                        ins.write(&rows[..whole], bind_membership)?;
                        progress.inc(whole as u64);
                        rows.drain(..whole);
                    }
                }
                ins.write(&rows, bind_membership)?;
                progress.inc(rows.len() as u64);
                Ok(memberships)
            })()
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
        load_with!(
            "host_mdm_apple_profiles",
            self.insert_current(&tx, progress)
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

/// Rows one multi-row INSERT writes: one statement execution, with its cursors opened and
/// positioned once, for this many rows rather than for each.
pub(super) const ROWS_PER_INSERT: usize = 64;
/// Rows the current-rows producer hands over at a time (a multiple of `ROWS_PER_INSERT`); the
/// channel holds at most `MESSAGES_IN_FLIGHT` of them, so memory stays bounded.
const ROWS_PER_MESSAGE: usize = 64 * ROWS_PER_INSERT;
const MESSAGES_IN_FLIGHT: usize = 4;

/// A table written through a multi-row INSERT, `ROWS_PER_INSERT` rows an execution, and a
/// one-row INSERT for the rest; rows reach the table in the order given either way.
pub(super) struct Chunked<'t> {
    many: rusqlite::Statement<'t>,
    one: rusqlite::Statement<'t>,
    params: usize,
}

impl<'t> Chunked<'t> {
    /// `head` is `INSERT INTO table (columns)`, `row` one row's `(?, …)`: anonymous markers,
    /// numbered in order, so a row's values are the next `?`s.
    pub(super) fn new(
        tx: &'t rusqlite::Transaction,
        head: &str,
        row: &str,
    ) -> rusqlite::Result<Self> {
        let rows = vec![row; ROWS_PER_INSERT].join(", ");
        Ok(Chunked {
            many: tx.prepare(&format!("{head} VALUES {rows}"))?,
            one: tx.prepare(&format!("{head} VALUES {row}"))?,
            params: row.matches('?').count(),
        })
    }

    /// Writes `rows` in order; `bind(statement, first, row)` binds one row's values from
    /// parameter number `first` on.
    pub(super) fn write<T>(
        &mut self,
        rows: &[T],
        bind: impl Fn(&mut rusqlite::Statement, usize, &T) -> rusqlite::Result<()>,
    ) -> rusqlite::Result<()> {
        let mut chunks = rows.chunks_exact(ROWS_PER_INSERT);
        for chunk in &mut chunks {
            for (k, row) in chunk.iter().enumerate() {
                bind(&mut self.many, 1 + k * self.params, row)?;
            }
            self.many.raw_execute()?;
        }
        for row in chunks.remainder() {
            bind(&mut self.one, 1, row)?;
            self.one.raw_execute()?;
        }
        Ok(())
    }
}

fn bind_membership(
    stmt: &mut rusqlite::Statement,
    at: usize,
    &(host, label): &(i64, i64),
) -> rusqlite::Result<()> {
    stmt.raw_bind_parameter(at, host)?;
    stmt.raw_bind_parameter(at + 1, label)
}

/// What the current-rows producer hands over: rows with their rowids, and how many hosts it
/// went through to make them (the progress bar counts hosts).
struct Produced {
    rows: Vec<(i64, CurrentRow)>,
    hosts: u64,
}

impl Fleet {
    /// The current rows: produced on a second thread (the draws, uuids and sorting) while this
    /// one writes them, in the order `current` produces them, so the file is the same as
    /// writing them one by one.
    fn insert_current(
        &self,
        tx: &rusqlite::Transaction,
        progress: &dyn Progress,
    ) -> rusqlite::Result<u64> {
        let mut ins = Chunked::new(
            tx,
            "INSERT OR FAIL INTO host_mdm_apple_profiles (rowid, host_uuid, profile_uuid,
               profile_identifier, profile_name, status, operation_type, detail, command_uuid,
               checksum, secrets_updated_at, ignore_error, scope)",
            "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
        )?;
        let bind = |stmt: &mut rusqlite::Statement,
                    at: usize,
                    (rowid, r): &(i64, CurrentRow)|
         -> rusqlite::Result<()> {
            let (ident, name, scope) = match r.profile {
                Some(pi) => {
                    let p = &self.profiles[pi];
                    (p.identifier.as_str(), p.name.as_str(), p.scope)
                }
                None => ("com.example.deleted", "Deleted profile", "System"),
            };
            let detail =
                (r.status == Some("failed")).then_some("The profile could not be installed.");
            stmt.raw_bind_parameter(at, rowid)?;
            stmt.raw_bind_parameter(at + 1, r.host_uuid.as_str())?;
            stmt.raw_bind_parameter(at + 2, r.profile_uuid.as_str())?;
            stmt.raw_bind_parameter(at + 3, ident)?;
            stmt.raw_bind_parameter(at + 4, name)?;
            stmt.raw_bind_parameter(at + 5, r.status)?;
            stmt.raw_bind_parameter(at + 6, r.operation)?;
            stmt.raw_bind_parameter(at + 7, detail)?;
            stmt.raw_bind_parameter(at + 8, r.command_uuid.as_str())?;
            stmt.raw_bind_parameter(at + 9, &r.checksum[..])?;
            stmt.raw_bind_parameter(at + 10, r.secrets_updated_at.map(timefmt::datetime6))?;
            stmt.raw_bind_parameter(at + 11, scope)
        };
        let (send, receive) = std::sync::mpsc::sync_channel::<Produced>(MESSAGES_IN_FLIGHT);
        std::thread::scope(|scope| {
            let producer = scope.spawn(move || {
                let mut rows = Vec::with_capacity(ROWS_PER_MESSAGE);
                // Hosts gone through since the last hand-over.
                let hosts = std::cell::Cell::new(0u64);
                // Err only when the writer has stopped (its error is the one reported).
                let hand_over = |rows: &mut Vec<(i64, CurrentRow)>| {
                    let full = Produced {
                        rows: std::mem::replace(rows, Vec::with_capacity(ROWS_PER_MESSAGE)),
                        hosts: hosts.take(),
                    };
                    send.send(full).map_err(|_| ())
                };
                let n = self.current(
                    |rowid, row| {
                        rows.push((rowid, row));
                        if rows.len() == ROWS_PER_MESSAGE {
                            hand_over(&mut rows)?;
                        }
                        Ok::<(), ()>(())
                    },
                    || hosts.set(hosts.get() + 1),
                )?;
                hand_over(&mut rows)?;
                Ok::<u64, ()>(n)
            });
            let written = (|| -> rusqlite::Result<()> {
                let mut hosts = 0;
                for produced in &receive {
                    ins.write(&produced.rows, bind)?;
                    progress.inc(produced.hosts);
                    hosts += produced.hosts;
                }
                // The rest of this table's share: a duplicate host row has no rows of its own.
                progress.inc((self.hosts.len() as u64).saturating_sub(hosts));
                Ok(())
            })();
            // A writer that failed stops the producer at its next hand-over.
            drop(receive);
            let produced = producer
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p));
            written?;
            Ok(produced.unwrap_or_else(|()| unreachable!("the writer took every message")))
        })
    }
}
