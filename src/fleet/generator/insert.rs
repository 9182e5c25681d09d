//! Writing the built fleet into a sink (an SQLite file or a server): every table in
//! primary-key order, the current rows from a producer thread.

use super::*;
use rusqlite::types::ValueRef;

/// One value of a row, borrowed: `Integer`, `Text` (UTF-8), `Blob` or `Null`.
pub(super) type Val<'a> = ValueRef<'a>;

fn text(s: &str) -> Val<'_> {
    ValueRef::Text(s.as_bytes())
}

fn opt_text(s: Option<&str>) -> Val<'_> {
    s.map_or(ValueRef::Null, text)
}

fn int(i: i64) -> Val<'static> {
    ValueRef::Integer(i)
}

/// Where the generated rows go, table after table, each table's rows in primary-key order: a
/// new SQLite file (`SqliteSink`) or a server (`ServerSink`, `LOAD DATA` chunks). The rows are
/// made once and the same whichever sink takes them.
pub(super) trait Sink {
    /// Starts `table`; each row that follows gives `columns`' values in that order.
    fn begin(&mut self, table: &'static str, columns: &[&'static str])
    -> Result<(), GenerateError>;
    fn row(&mut self, values: &[Val<'_>]) -> Result<(), GenerateError>;
    /// Ends the table; returns its rows.
    fn end(&mut self) -> Result<u64, GenerateError>;
    /// How many hand-overs of current rows the producer thread may make ahead of this sink.
    fn messages_in_flight(&self) -> usize {
        MESSAGES_IN_FLIGHT
    }
}

impl Fleet {
    /// Writes every table in primary-key order into `sink`; returns the rows per table.
    pub(super) fn insert<S: Sink>(
        &self,
        sink: &mut S,
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
        let mut counts = Vec::new();
        sink.begin("teams", &["id", "name"])?;
        for (id, name) in &self.teams {
            sink.row(&[int(*id), text(name)])?;
        }
        progress.inc(self.teams.len() as u64);
        counts.push(("teams", sink.end()?));
        sink.begin(
            "hosts",
            &[
                "id",
                "uuid",
                "hostname",
                "platform",
                "team_id",
                "label_updated_at",
            ],
        )?;
        for h in &self.hosts {
            let at = timefmt::timestamp(h.label_updated_at);
            sink.row(&[
                int(h.id),
                text(&h.uuid),
                text(&h.hostname),
                text(h.platform),
                h.team_id.map_or(ValueRef::Null, int),
                text(&at),
            ])?;
        }
        progress.inc(self.hosts.len() as u64);
        counts.push(("hosts", sink.end()?));
        sink.begin("host_mdm", &["host_id", "enrolled"])?;
        for h in &self.hosts {
            sink.row(&[int(h.id), int(h.mdm_enrolled.into())])?;
        }
        progress.inc(self.hosts.len() as u64);
        counts.push(("host_mdm", sink.end()?));
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
        sink.begin("nano_devices", &["id", "authenticate_at"])?;
        for &(i, at) in &devices {
            let at = timefmt::timestamp(at);
            sink.row(&[text(&self.hosts[i as usize].uuid), text(&at)])?;
        }
        counts.push(("nano_devices", sink.end()?));
        sink.begin(
            "nano_enrollments",
            &["id", "device_id", "user_id", "type", "enabled"],
        )?;
        for (i, user, ty, enabled) in &enrollments {
            let dev = &self.hosts[*i as usize].uuid;
            let id = match user {
                Some(u) => format!("{dev}:{u}"),
                None => dev.clone(),
            };
            sink.row(&[
                text(&id),
                text(dev),
                opt_text(user.as_deref()),
                text(ty),
                int((*enabled).into()),
            ])?;
        }
        progress.inc(self.hosts.len() as u64);
        counts.push(("nano_enrollments", sink.end()?));
        sink.begin(
            "labels",
            &["id", "name", "label_membership_type", "created_at"],
        )?;
        for l in self.labels.iter().filter(|l| !l.broken) {
            let at = l.created_at.map(timefmt::timestamp);
            sink.row(&[
                int(l.id),
                text(&l.name),
                int(l.kind),
                opt_text(at.as_deref()),
            ])?;
        }
        progress.inc(self.labels.len() as u64);
        counts.push(("labels", sink.end()?));
        sink.begin("label_membership", &["host_id", "label_id"])?;
        let mut since = 0u64;
        for h in &self.hosts {
            for &l in &h.labels {
                sink.row(&[int(h.id), int(l)])?;
            }
            since += h.labels.len() as u64;
            if since >= ROWS_PER_MESSAGE as u64 {
                progress.inc(std::mem::take(&mut since));
            }
        }
        progress.inc(since);
        counts.push(("label_membership", sink.end()?));
        sink.begin(
            "mdm_apple_configuration_profiles",
            &[
                "profile_uuid",
                "team_id",
                "identifier",
                "name",
                "checksum",
                "secrets_updated_at",
                "scope",
                "uploaded_at",
            ],
        )?;
        for p in &self.profiles {
            let secrets = p.secrets_updated_at.map(timefmt::datetime6);
            let uploaded = timefmt::timestamp(p.uploaded_at);
            sink.row(&[
                text(&p.uuid),
                int(p.team_id),
                text(&p.identifier),
                text(&p.name),
                ValueRef::Blob(&p.checksum[..]),
                opt_text(secrets.as_deref()),
                text(p.scope),
                text(&uploaded),
            ])?;
        }
        progress.inc(self.profiles.len() as u64);
        counts.push(("mdm_apple_configuration_profiles", sink.end()?));
        sink.begin(
            "mdm_configuration_profile_labels",
            &[
                "apple_profile_uuid",
                "label_name",
                "label_id",
                "exclude",
                "require_all",
            ],
        )?;
        for p in &self.profiles {
            for &(li, exclude, require_all) in &p.refs {
                let l = &self.labels[li];
                sink.row(&[
                    text(&p.uuid),
                    text(&l.name),
                    if l.broken { ValueRef::Null } else { int(l.id) },
                    int(exclude.into()),
                    int(require_all.into()),
                ])?;
            }
        }
        progress.inc(label_rows);
        counts.push(("mdm_configuration_profile_labels", sink.end()?));
        let current = self.insert_current(sink, progress)?;
        counts.push(("host_mdm_apple_profiles", current));
        sink.begin("reconsim_meta", &["key", "value"])?;
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
            sink.row(&[text(k), text(v)])?;
        }
        counts.push(("reconsim_meta", sink.end()?));
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

/// The SQLite sink: every table through a multi-row INSERT, `ROWS_PER_INSERT` rows an
/// execution (one statement execution, with its cursors opened and positioned once, for this
/// many rows rather than for each), and a one-row INSERT for the rest; rows reach the table in
/// the order given either way. `INSERT OR FAIL` needs no statement journal. The caller owns the
/// transaction.
pub(super) struct SqliteSink<'t> {
    tx: &'t rusqlite::Transaction<'t>,
    table: &'static str,
    many: Option<rusqlite::Statement<'t>>,
    one: Option<rusqlite::Statement<'t>>,
    params: usize,
    /// The values of the rows not yet written (fewer than `ROWS_PER_INSERT`), their buffers
    /// reused row after row.
    pending: Vec<Slot>,
    waiting: usize,
    rows: u64,
}

/// An owned value kept until its row is written.
enum Slot {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
}

impl Slot {
    fn set(&mut self, v: Val<'_>) {
        match (self, v) {
            (Slot::Text(s), ValueRef::Text(t)) => {
                s.clear();
                s.push_str(std::str::from_utf8(t).expect("generated text is UTF-8"));
            }
            (Slot::Blob(b), ValueRef::Blob(t)) => {
                b.clear();
                b.extend_from_slice(t);
            }
            (slot, v) => {
                *slot = match v {
                    ValueRef::Null => Slot::Null,
                    ValueRef::Integer(i) => Slot::Int(i),
                    ValueRef::Real(_) => unreachable!("the generator makes no REAL values"),
                    ValueRef::Text(t) => {
                        Slot::Text(std::str::from_utf8(t).expect("UTF-8").to_string())
                    }
                    ValueRef::Blob(b) => Slot::Blob(b.to_vec()),
                }
            }
        }
    }

    fn bind(&self, stmt: &mut rusqlite::Statement, at: usize) -> rusqlite::Result<()> {
        match self {
            Slot::Null => stmt.raw_bind_parameter(at, rusqlite::types::Null),
            Slot::Int(i) => stmt.raw_bind_parameter(at, i),
            Slot::Text(s) => stmt.raw_bind_parameter(at, s.as_str()),
            Slot::Blob(b) => stmt.raw_bind_parameter(at, &b[..]),
        }
    }
}

impl<'t> SqliteSink<'t> {
    pub(super) fn new(tx: &'t rusqlite::Transaction<'t>) -> Self {
        SqliteSink {
            tx,
            table: "",
            many: None,
            one: None,
            params: 0,
            pending: Vec::new(),
            waiting: 0,
            rows: 0,
        }
    }

    fn failed(&self) -> impl Fn(rusqlite::Error) -> GenerateError + use<> {
        let table = self.table;
        move |source| GenerateError::Load { table, source }
    }

    /// Writes the waiting rows: one multi-row execution when they are `ROWS_PER_INSERT`, one
    /// row at a time at a table's end.
    fn flush(&mut self) -> rusqlite::Result<()> {
        let (p, n) = (self.params, self.waiting);
        if n == ROWS_PER_INSERT {
            let many = self.many.as_mut().expect("begun");
            for (k, slot) in self.pending[..n * p].iter().enumerate() {
                slot.bind(many, 1 + k)?;
            }
            many.raw_execute()?;
        } else {
            let one = self.one.as_mut().expect("begun");
            for row in self.pending[..n * p].chunks(p) {
                for (k, slot) in row.iter().enumerate() {
                    slot.bind(one, 1 + k)?;
                }
                one.raw_execute()?;
            }
        }
        self.waiting = 0;
        Ok(())
    }
}

impl Sink for SqliteSink<'_> {
    fn begin(
        &mut self,
        table: &'static str,
        columns: &[&'static str],
    ) -> Result<(), GenerateError> {
        self.table = table;
        let head = format!("INSERT OR FAIL INTO {table} ({})", columns.join(", "));
        let row = format!("({})", vec!["?"; columns.len()].join(", "));
        let rows = vec![row.as_str(); ROWS_PER_INSERT].join(", ");
        let failed = self.failed();
        self.many = Some(
            self.tx
                .prepare(&format!("{head} VALUES {rows}"))
                .map_err(&failed)?,
        );
        self.one = Some(
            self.tx
                .prepare(&format!("{head} VALUES {row}"))
                .map_err(failed)?,
        );
        self.params = columns.len();
        self.pending.clear();
        self.pending
            .resize_with(ROWS_PER_INSERT * columns.len(), || Slot::Null);
        self.waiting = 0;
        self.rows = 0;
        Ok(())
    }

    fn row(&mut self, values: &[Val<'_>]) -> Result<(), GenerateError> {
        debug_assert_eq!(
            values.len(),
            self.params,
            "{}: a row of the wrong width",
            self.table
        );
        let at = self.waiting * self.params;
        for (slot, &v) in self.pending[at..at + self.params].iter_mut().zip(values) {
            slot.set(v);
        }
        self.waiting += 1;
        self.rows += 1;
        if self.waiting == ROWS_PER_INSERT {
            self.flush().map_err(self.failed())?;
        }
        Ok(())
    }

    fn end(&mut self) -> Result<u64, GenerateError> {
        self.flush().map_err(self.failed())?;
        self.many = None;
        self.one = None;
        Ok(self.rows)
    }
}

/// The server sink: the rows travel as they are made, in `LOAD DATA LOCAL INFILE` chunks (or
/// multi-row INSERTs), through the backend's bulk loader.
pub(super) struct ServerSink<'l, 'd> {
    pub(super) loader: &'l mut crate::backends::mysqldb::Loader<'d>,
}

impl Sink for ServerSink<'_, '_> {
    fn begin(
        &mut self,
        table: &'static str,
        columns: &[&'static str],
    ) -> Result<(), GenerateError> {
        Ok(self.loader.begin_table(table, columns)?)
    }

    fn row(&mut self, values: &[Val<'_>]) -> Result<(), GenerateError> {
        for &v in values {
            self.loader.value(v);
        }
        Ok(self.loader.end_row()?)
    }

    fn end(&mut self) -> Result<u64, GenerateError> {
        Ok(self.loader.end_table()?)
    }

    /// About two `LOAD DATA` chunks of rows (some 30 MB of them): the producer goes on drawing
    /// while the server takes a chunk, instead of stopping after four hand-overs.
    fn messages_in_flight(&self) -> usize {
        32
    }
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
    fn insert_current<S: Sink>(
        &self,
        sink: &mut S,
        progress: &dyn Progress,
    ) -> Result<u64, GenerateError> {
        sink.begin(
            "host_mdm_apple_profiles",
            &[
                "rowid",
                "host_uuid",
                "profile_uuid",
                "profile_identifier",
                "profile_name",
                "status",
                "operation_type",
                "detail",
                "command_uuid",
                "checksum",
                "secrets_updated_at",
                "ignore_error",
                "scope",
            ],
        )?;
        let write = |sink: &mut S, (rowid, r): &(i64, CurrentRow)| -> Result<(), GenerateError> {
            let (ident, name, scope) = match r.profile {
                Some(pi) => {
                    let p = &self.profiles[pi];
                    (p.identifier.as_str(), p.name.as_str(), p.scope)
                }
                None => ("com.example.deleted", "Deleted profile", "System"),
            };
            let detail =
                (r.status == Some("failed")).then_some("The profile could not be installed.");
            let secrets = r.secrets_updated_at.map(timefmt::datetime6);
            sink.row(&[
                int(*rowid),
                text(&r.host_uuid),
                text(&r.profile_uuid),
                text(ident),
                text(name),
                opt_text(r.status),
                opt_text(r.operation),
                opt_text(detail),
                text(&r.command_uuid),
                ValueRef::Blob(&r.checksum[..]),
                opt_text(secrets.as_deref()),
                int(0),
                text(scope),
            ])
        };
        let (send, receive) = std::sync::mpsc::sync_channel::<Produced>(sink.messages_in_flight());
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
            let written = (|| -> Result<(), GenerateError> {
                let mut hosts = 0;
                for produced in &receive {
                    for row in &produced.rows {
                        write(sink, row)?;
                    }
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
            let n = produced.unwrap_or_else(|()| unreachable!("the writer took every message"));
            let rows = sink.end()?;
            debug_assert_eq!(rows, n);
            Ok(rows)
        })
    }
}
