//! Simulated devices acknowledging MDM commands (spec §7): an install goes pending → verifying →
//! verified, or fails; a remove goes pending → row deleted, or fails. The loadtest's devices.
//!
//! Every decision is a pure function of (seed, command key, tick, step), hashed to a uniform
//! number: no state beyond the rows themselves, the same outcome whatever order rows are read
//! in, and a geometric delay in ticks (a command is answered with probability `ack_per_tick`
//! at each tick). The command key is (host uuid, profile uuid, operation, checksum), not the
//! command uuid: the two loadtest paths issue different command uuids for the same command,
//! and their devices must behave alike, or the state comparison would see device noise. A
//! device that rejects a profile version keeps rejecting it.
//!
//! Two implementations of one rule: `acknowledge` asks every pending and verifying row at each
//! round (the reference), `Inbox` knows in advance at which round each command is answered (its
//! due round on the virtual clock) and reads and writes only those rows, by rowid. It learns of
//! commands from SQLite's update hook on the path's connection, so every row the writer (or
//! anything else) leaves pending is seen without the writer's help. Both give the same rows.

use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;
use std::hash::Hasher;
use std::sync::{Arc, Mutex};

/// How devices behave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeviceModel {
    pub seed: u64,
    /// Probability that a pending command is answered at a given tick.
    pub ack_per_tick: f64,
    /// Probability that a verifying install is verified at a given tick.
    pub verify_per_tick: f64,
    /// Probability that an answered command failed.
    pub failure_rate: f64,
}

/// What one round of acknowledgements did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AckStats {
    pub to_verifying: u64,
    pub verified: u64,
    pub install_failed: u64,
    pub removed: u64,
    pub remove_failed: u64,
}

/// A uniform number in [0, 1) from (seed, command, tick, step): FxHash of the inputs, then the
/// splitmix64 finaliser so that nearby inputs give unrelated outputs.
pub fn uniform(seed: u64, command: &str, tick: u64, step: u8) -> f64 {
    let mut h = rustc_hash::FxHasher::default();
    h.write_u64(seed);
    h.write(command.as_bytes());
    h.write_u64(tick);
    h.write_u8(step);
    let mut z = h.finish().wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// The SQL function `reconsim_uniform(seed, key, tick, step)`: `uniform` inside SQLite, so one
/// statement per kind of answer does the work (no row crosses into Rust).
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "reconsim_uniform",
        4,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let seed: i64 = ctx.get(0)?;
            let key = ctx.get_raw(1).as_str().unwrap_or("");
            let tick: i64 = ctx.get(2)?;
            let step: i64 = ctx.get(3)?;
            Ok(uniform(seed as u64, key, tick as u64, step as u8))
        },
    )
}

/// A row's command key in SQL: (host, profile, operation, checksum), NUL-separated.
const KEY: &str =
    "host_uuid || char(0) || profile_uuid || char(0) || operation_type || char(0) || hex(checksum)";

/// Column `i` as text, without a copy (None: NULL).
fn text_at<'r>(r: &'r rusqlite::Row, i: usize) -> rusqlite::Result<Option<&'r str>> {
    let v = r.get_ref(i)?;
    v.as_str_or_null()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, v.data_type(), Box::new(e)))
}

/// The columns `command_key` reads, in its order.
const KEY_COLUMNS: &str = "host_uuid, profile_uuid, operation_type, checksum";

/// `KEY` of a row, built in Rust from its `KEY_COLUMNS` starting at column `at` (no string
/// concatenation and `hex` in SQLite for each row): None where `KEY` is NULL (a NULL host,
/// profile or operation). `hex` of a NULL checksum is empty, of text its bytes'.
fn command_key(r: &rusqlite::Row, at: usize) -> rusqlite::Result<Option<String>> {
    use rusqlite::types::ValueRef;
    let text = |i: usize| text_at(r, at + i);
    let (Some(host), Some(profile), Some(op)) = (text(0)?, text(1)?, text(2)?) else {
        return Ok(None);
    };
    let checksum: &[u8] = match r.get_ref(at + 3)? {
        ValueRef::Null => &[],
        ValueRef::Blob(b) => b,
        ValueRef::Text(t) => t,
        v => {
            return Err(rusqlite::Error::InvalidColumnType(
                at + 3,
                "checksum".into(),
                v.data_type(),
            ));
        }
    };
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut key =
        String::with_capacity(host.len() + profile.len() + op.len() + 3 + 2 * checksum.len());
    for (i, part) in [host, profile, op].into_iter().enumerate() {
        if i > 0 {
            key.push('\0');
        }
        key.push_str(part);
    }
    key.push('\0');
    for b in checksum {
        key.push(HEX[(b >> 4) as usize] as char);
        key.push(HEX[(b & 15) as usize] as char);
    }
    Ok(Some(key))
}

/// One round of acknowledgements at `tick`, in one transaction. Each row takes at most one
/// step a tick (verifying rows are answered before pending ones move to verifying).
pub fn acknowledge(
    conn: &mut Connection,
    model: &DeviceModel,
    tick: u64,
) -> rusqlite::Result<AckStats> {
    register(conn)?;
    let tx = crate::store::txn::write_scope(conn)?;
    let seed = model.seed as i64;
    let tick = tick as i64;
    let answered = format!("reconsim_uniform(?1, {KEY}, ?2, 0) < ?3");
    // Not a function of the tick: the same command fails on both paths.
    let failed = format!("reconsim_uniform(?1, {KEY}, 0, 1) < ?4");
    let verified = tx.execute(
        &format!(
            "UPDATE host_mdm_apple_profiles SET status = 'verified', detail = NULL
             WHERE status = 'verifying' AND operation_type = 'install' AND {answered}"
        ),
        params![seed, tick, model.verify_per_tick],
    )? as u64;
    // Pending commands of one operation that the device answers with `outcome` (an update
    // to `status`/`detail`, or a delete).
    let answer = |op: &str, outcome: &str, fails: bool| -> rusqlite::Result<u64> {
        let not = if fails { "" } else { "NOT" };
        let sql = format!(
            "{outcome} WHERE status = 'pending' AND operation_type = '{op}'
               AND {answered} AND {not} {failed}"
        );
        let params = params![seed, tick, model.ack_per_tick, model.failure_rate];
        Ok(tx.execute(&sql, params)? as u64)
    };
    const SET: &str = "UPDATE host_mdm_apple_profiles SET";
    let install_failed = answer(
        "install",
        &format!("{SET} status = 'failed', detail = 'simulated device: install failed'"),
        true,
    )?;
    let to_verifying = answer(
        "install",
        &format!("{SET} status = 'verifying', detail = NULL"),
        false,
    )?;
    let remove_failed = answer(
        "remove",
        &format!("{SET} status = 'failed', detail = 'simulated device: remove failed'"),
        true,
    )?;
    let removed = answer("remove", "DELETE FROM host_mdm_apple_profiles", false)?;
    tx.commit()?;
    Ok(AckStats {
        to_verifying,
        verified,
        install_failed,
        removed,
        remove_failed,
    })
}

/// Device answers of warm-up round w use tick number `WARMUP_TICK_BASE + w`, apart from the
/// measured ticks' (0, 1, …).
pub const WARMUP_TICK_BASE: u64 = 1 << 32;

/// A run's device rounds in order: `warmup` warm-up rounds, then `measured` rounds; round r's
/// tick number (what the draws hash) is `tick(r)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rounds {
    pub warmup: u64,
    pub measured: u64,
}

impl Rounds {
    pub fn tick(&self, round: u64) -> u64 {
        if round < self.warmup {
            WARMUP_TICK_BASE + round
        } else {
            round - self.warmup
        }
    }

    pub fn total(&self) -> u64 {
        self.warmup + self.measured
    }
}

/// What a row is, as the devices see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    /// A pending command of either operation: the device answers it.
    Pending,
    /// A verifying install: the device verifies it.
    Verifying,
}

/// The command inbox: for each row a device will act on, the round at which it acts. A row
/// enters when something leaves it pending or verifying (seen through the update hook) and is
/// filed under the first round at which its draw says the device answers; a round reads only
/// the rows filed under it. Exact by construction: a filed row is judged by its state at the
/// round with `acknowledge`'s rule, and one that is not answered (it changed since) is filed
/// again from the next round, so the inbox answers the rows `acknowledge` would.
pub struct Inbox {
    model: DeviceModel,
    rounds: Rounds,
    due: BTreeMap<u64, Vec<i64>>,
    /// Rowids of `host_mdm_apple_profiles` inserted or updated since the last look.
    changed: Arc<Mutex<Vec<i64>>>,
}

/// What one inbox round did: the counts, and the (host uuid, profile uuid) of every row it
/// changed.
#[derive(Debug, Default)]
pub struct Round {
    pub stats: AckStats,
    pub changed: Vec<(String, String)>,
}

impl Inbox {
    /// Watches `conn` (its update hook) and files every row already pending or verifying from
    /// round `from`: a new run passes 0, a resumed one the next round it runs.
    pub fn attach(
        conn: &mut Connection,
        model: DeviceModel,
        rounds: Rounds,
        from: u64,
    ) -> rusqlite::Result<Inbox> {
        register(conn)?;
        let changed = Arc::new(Mutex::new(Vec::new()));
        let seen = changed.clone();
        conn.update_hook(Some(
            move |action: rusqlite::hooks::Action, db: &str, table: &str, rowid: i64| {
                if action != rusqlite::hooks::Action::SQLITE_DELETE
                    && db == "main"
                    && table == "host_mdm_apple_profiles"
                {
                    seen.lock().expect("the update hook's buffer").push(rowid);
                }
            },
        ))?;
        let mut inbox = Inbox {
            model,
            rounds,
            due: BTreeMap::new(),
            changed,
        };
        let mut stmt = conn.prepare(&format!(
            "SELECT rowid, status, {KEY_COLUMNS} FROM host_mdm_apple_profiles
             WHERE status IN ('pending', 'verifying')"
        ))?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (status, op) = (text_at(r, 1)?, text_at(r, 4)?);
            if let Some(w) = waiting(status, op)
                && let Some(key) = command_key(r, 2)?
            {
                inbox.file(r.get(0)?, w, &key, from);
            }
        }
        Ok(inbox)
    }

    /// Rows filed, over every round.
    pub fn len(&self) -> usize {
        self.due.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.due.is_empty()
    }

    /// Files the row under the first round from `from` at which the device acts on it; a row
    /// no round of the run reaches is not filed.
    fn file(&mut self, rowid: i64, w: Waiting, key: &str, from: u64) {
        let p = match w {
            Waiting::Pending => self.model.ack_per_tick,
            Waiting::Verifying => self.model.verify_per_tick,
        };
        if p <= 0.0 {
            return;
        }
        let seed = self.model.seed;
        if let Some(r) =
            (from..self.rounds.total()).find(|&r| uniform(seed, key, self.rounds.tick(r), 0) < p)
        {
            self.due.entry(r).or_default().push(rowid);
        }
    }

    /// Files the rows changed since the last look (the hook's), from round `from`.
    fn take_changes(&mut self, conn: &Connection, from: u64) -> rusqlite::Result<()> {
        let mut ids = std::mem::take(&mut *self.changed.lock().expect("the update hook's buffer"));
        ids.sort_unstable();
        ids.dedup();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT status, operation_type, {KEY_COLUMNS} FROM host_mdm_apple_profiles
             WHERE rowid = ?1"
        ))?;
        for id in ids {
            let row = stmt
                .query_row([id], |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        command_key(r, 2)?,
                    ))
                })
                .optional()?;
            if let Some((status, op, Some(key))) = row
                && let Some(w) = waiting(status.as_deref(), op.as_deref())
            {
                self.file(id, w, &key, from);
            }
        }
        Ok(())
    }

    /// Round `round`: the rows filed under it (and any filed earlier) answered as `acknowledge`
    /// answers them at `rounds.tick(round)`, in one write scope.
    pub fn answer(&mut self, conn: &Connection, round: u64) -> rusqlite::Result<Round> {
        self.take_changes(conn, round)?;
        let mut ids = Vec::new();
        while let Some(e) = self.due.first_entry() {
            if *e.key() > round {
                break;
            }
            ids.extend(e.remove());
        }
        ids.sort_unstable();
        ids.dedup();
        let tick = self.rounds.tick(round);
        let m = self.model;
        let mut out = Round::default();
        let mut refile = Vec::new();
        // Inside the loadtest's step (its only caller), the step's transaction: a failed round
        // stops the run, whose open step is rolled back.
        let tx = crate::store::txn::join_scope(conn)?;
        {
            let mut read = tx.prepare_cached(&format!(
                "SELECT host_uuid, profile_uuid, status, operation_type, {KEY_COLUMNS}
                 FROM host_mdm_apple_profiles WHERE rowid = ?1"
            ))?;
            let mut set = tx.prepare_cached(
                "UPDATE host_mdm_apple_profiles SET status = ?2, detail = ?3 WHERE rowid = ?1",
            )?;
            let mut delete =
                tx.prepare_cached("DELETE FROM host_mdm_apple_profiles WHERE rowid = ?1")?;
            for id in ids {
                let Some((host, profile, status, op, key)) = read
                    .query_row([id], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Option<String>>(2)?,
                            r.get::<_, Option<String>>(3)?,
                            command_key(r, 4)?,
                        ))
                    })
                    .optional()?
                else {
                    continue; // deleted since it was filed
                };
                let (Some(w), Some(key)) = (waiting(status.as_deref(), op.as_deref()), key) else {
                    continue; // answered or rewritten since: not waiting any more
                };
                let p = match w {
                    Waiting::Pending => m.ack_per_tick,
                    Waiting::Verifying => m.verify_per_tick,
                };
                if uniform(m.seed, &key, tick, 0) >= p {
                    // Changed since it was filed (a new command or version): its own draw.
                    refile.push((id, w, key));
                    continue;
                }
                let install = op.as_deref() == Some("install");
                let fails = uniform(m.seed, &key, 0, 1) < m.failure_rate;
                match (w, install, fails) {
                    (Waiting::Verifying, _, _) => {
                        set.execute(params![id, "verified", None::<&str>])?;
                        out.stats.verified += 1;
                    }
                    (Waiting::Pending, true, true) => {
                        set.execute(params![id, "failed", "simulated device: install failed"])?;
                        out.stats.install_failed += 1;
                    }
                    (Waiting::Pending, true, false) => {
                        set.execute(params![id, "verifying", None::<&str>])?;
                        out.stats.to_verifying += 1;
                        refile.push((id, Waiting::Verifying, key));
                    }
                    (Waiting::Pending, false, true) => {
                        set.execute(params![id, "failed", "simulated device: remove failed"])?;
                        out.stats.remove_failed += 1;
                    }
                    (Waiting::Pending, false, false) => {
                        delete.execute([id])?;
                        out.stats.removed += 1;
                    }
                }
                out.changed.push((host, profile));
            }
        }
        tx.commit()?;
        // The hook saw this round's own updates: filed above, not from the buffer.
        self.changed
            .lock()
            .expect("the update hook's buffer")
            .clear();
        for (id, w, key) in refile {
            self.file(id, w, &key, round + 1);
        }
        Ok(out)
    }
}

/// Whether the devices act on a row of this status and operation, and how.
fn waiting(status: Option<&str>, op: Option<&str>) -> Option<Waiting> {
    match (status, op) {
        (Some("pending"), Some("install" | "remove")) => Some(Waiting::Pending),
        (Some("verifying"), Some("install")) => Some(Waiting::Verifying),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet(rows: &[(&str, &str, &str)]) -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate_to(&mut conn, crate::store::schema::LATEST_VERSION).unwrap();
        for (i, (op, status, cmd)) in rows.iter().enumerate() {
            conn.execute(
                "INSERT INTO host_mdm_apple_profiles (host_uuid, profile_uuid, profile_identifier,
                   status, operation_type, command_uuid, checksum)
                 VALUES (?1, 'a1', 'i', ?2, ?3, ?4, x'00')",
                params![format!("H{i}"), status, op, cmd],
            )
            .unwrap();
        }
        conn
    }

    fn states(conn: &Connection) -> Vec<(String, String)> {
        conn.prepare("SELECT host_uuid, status FROM host_mdm_apple_profiles ORDER BY host_uuid")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|x| x.unwrap())
            .collect()
    }

    #[test]
    fn certain_devices_walk_every_step() {
        let mut conn = fleet(&[
            ("install", "pending", "c0"),
            ("remove", "pending", "c1"),
            ("install", "verified", "c2"),
        ]);
        let m = DeviceModel {
            seed: 1,
            ack_per_tick: 1.0,
            verify_per_tick: 1.0,
            failure_rate: 0.0,
        };
        let s = acknowledge(&mut conn, &m, 1).unwrap();
        assert_eq!(
            s,
            AckStats {
                to_verifying: 1,
                removed: 1,
                ..AckStats::default()
            }
        );
        let s = acknowledge(&mut conn, &m, 2).unwrap();
        assert_eq!(s.verified, 1);
        assert_eq!(
            states(&conn),
            vec![
                ("H0".into(), "verified".into()),
                ("H2".into(), "verified".into())
            ]
        );
    }

    #[test]
    fn failing_devices_fail_both_kinds() {
        let mut conn = fleet(&[("install", "pending", "c0"), ("remove", "pending", "c1")]);
        let m = DeviceModel {
            seed: 1,
            ack_per_tick: 1.0,
            verify_per_tick: 1.0,
            failure_rate: 1.0,
        };
        let s = acknowledge(&mut conn, &m, 1).unwrap();
        assert_eq!((s.install_failed, s.remove_failed), (1, 1));
        assert_eq!(
            states(&conn),
            vec![
                ("H0".into(), "failed".into()),
                ("H1".into(), "failed".into())
            ]
        );
    }

    /// `n` pending installs, one a host.
    fn pending_installs(n: usize) -> Connection {
        let rows: Vec<String> = (0..n).map(|i| format!("cmd-{i}")).collect();
        let refs: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|c| ("install", "pending", c.as_str()))
            .collect();
        fleet(&refs)
    }

    #[test]
    fn outcomes_are_deterministic_and_follow_the_rates() {
        let m = DeviceModel {
            seed: 7,
            ack_per_tick: 0.5,
            verify_per_tick: 1.0,
            failure_rate: 0.1,
        };
        let (mut a, mut b) = (pending_installs(2000), pending_installs(2000));
        let sa = acknowledge(&mut a, &m, 3).unwrap();
        let sb = acknowledge(&mut b, &m, 3).unwrap();
        assert_eq!(sa, sb);
        assert_eq!(states(&a), states(&b));
        let answered = (sa.to_verifying + sa.install_failed) as f64;
        assert!((answered / 2000.0 - 0.5).abs() < 0.05, "{answered}");
        assert!(
            (sa.install_failed as f64 / answered - 0.1).abs() < 0.03,
            "{sa:?}"
        );
        // Another tick draws anew.
        let later = acknowledge(&mut a, &m, 4).unwrap();
        assert!(later.to_verifying + later.install_failed > 0);
    }

    /// rowid, host uuid, status, operation, checksum/detail.
    type Dumped = (i64, String, Option<String>, Option<String>, String);

    fn dump(conn: &Connection) -> Vec<Dumped> {
        conn.prepare(
            "SELECT rowid, host_uuid, status, operation_type, hex(checksum) || '/' ||
               coalesce(detail, '') FROM host_mdm_apple_profiles ORDER BY rowid",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .map(|x| x.unwrap())
        .collect()
    }

    #[test]
    fn the_inbox_answers_the_rows_asking_every_row_answers() {
        // Two copies of 600 rows in every status and operation; before each round a writer
        // changes the same rows on both (new pending installs and removes, new checksums,
        // deletes, inserts that reuse a deleted rowid, rows set verifying); one copy is
        // answered by `acknowledge`, the other by the inbox, which a resume re-attaches at
        // round 7. After every round both hold the same rows, and the counts agree.
        use rand::{RngExt, SeedableRng};
        let statuses = [
            Some("pending"),
            Some("verifying"),
            Some("verified"),
            Some("failed"),
            None,
        ];
        let ops = [Some("install"), Some("remove"), None];
        let mut rows = Vec::new();
        for i in 0..600 {
            rows.push((statuses[i % 5], ops[i % 3]));
        }
        let make = || {
            let mut conn = Connection::open_in_memory().unwrap();
            crate::store::schema::migrate_to(&mut conn, crate::store::schema::LATEST_VERSION)
                .unwrap();
            for (i, (st, op)) in rows.iter().enumerate() {
                conn.execute(
                    "INSERT INTO host_mdm_apple_profiles (host_uuid, profile_uuid,
                       profile_identifier, status, operation_type, command_uuid, checksum)
                     VALUES (?1, 'a1', 'i', ?2, ?3, 'c', x'00')",
                    params![format!("H{i:04}"), st, op],
                )
                .unwrap();
            }
            conn
        };
        let m = DeviceModel {
            seed: 5,
            ack_per_tick: 0.5,
            verify_per_tick: 0.6,
            failure_rate: 0.2,
        };
        let rounds = Rounds {
            warmup: 2,
            measured: 12,
        };
        let (mut a, mut b) = (make(), make());
        let mut inbox = Inbox::attach(&mut b, m, rounds, 0).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let mut total = AckStats::default();
        for r in 0..rounds.total() {
            if r == 7 {
                inbox = Inbox::attach(&mut b, m, rounds, r).unwrap();
            }
            for _ in 0..40 {
                let h = format!("H{:04}", rng.random_range(0..600));
                let sum = rng.random_range(0..=255u8);
                let sql = match rng.random_range(0..5) {
                    0 => format!(
                        "UPDATE host_mdm_apple_profiles SET status = 'pending',
                           operation_type = 'install', checksum = x'{sum:02X}' WHERE host_uuid = '{h}'"
                    ),
                    1 => format!(
                        "UPDATE host_mdm_apple_profiles SET status = 'pending',
                           operation_type = 'remove' WHERE host_uuid = '{h}'"
                    ),
                    2 => format!(
                        "UPDATE host_mdm_apple_profiles SET status = 'verifying',
                           operation_type = 'install' WHERE host_uuid = '{h}'"
                    ),
                    3 => format!("DELETE FROM host_mdm_apple_profiles WHERE host_uuid = '{h}'"),
                    _ => format!(
                        "INSERT INTO host_mdm_apple_profiles (rowid, host_uuid, profile_uuid,
                           profile_identifier, status, operation_type, command_uuid, checksum)
                         SELECT coalesce((SELECT min(t.rowid) + 1 FROM host_mdm_apple_profiles t
                           WHERE NOT EXISTS (SELECT 1 FROM host_mdm_apple_profiles u
                             WHERE u.rowid = t.rowid + 1)), 1),
                           'N{r}-{sum}', 'a1', 'i', 'pending', 'install', 'c', x'{sum:02X}'
                         ON CONFLICT DO NOTHING"
                    ),
                };
                a.execute_batch(&sql).unwrap();
                b.execute_batch(&sql).unwrap();
            }
            let sa = acknowledge(&mut a, &m, rounds.tick(r)).unwrap();
            let sb = inbox.answer(&b, r).unwrap();
            assert_eq!(sa, sb.stats, "round {r}");
            assert_eq!(dump(&a), dump(&b), "round {r}");
            let changed =
                sa.verified + sa.to_verifying + sa.install_failed + sa.removed + sa.remove_failed;
            assert_eq!(sb.changed.len() as u64, changed, "round {r}");
            total.verified += sa.verified;
            total.to_verifying += sa.to_verifying;
            total.install_failed += sa.install_failed;
            total.removed += sa.removed;
            total.remove_failed += sa.remove_failed;
        }
        // Every kind of answer happened.
        assert!(
            total.verified > 0
                && total.to_verifying > 0
                && total.install_failed > 0
                && total.removed > 0
                && total.remove_failed > 0,
            "{total:?}"
        );
    }

    #[test]
    fn an_inbox_round_reads_only_the_rows_due() {
        // 2,000 rows left pending long ago and never answered (ack 0) cost the inbox nothing:
        // it files none of them and its rounds read nothing.
        let mut conn = pending_installs(2000);
        let m = DeviceModel {
            seed: 1,
            ack_per_tick: 0.0,
            verify_per_tick: 1.0,
            failure_rate: 0.0,
        };
        let rounds = Rounds {
            warmup: 0,
            measured: 5,
        };
        let mut inbox = Inbox::attach(&mut conn, m, rounds, 0).unwrap();
        assert!(inbox.is_empty());
        let r = inbox.answer(&conn, 0).unwrap();
        assert_eq!(r.stats, AckStats::default());
        // With answers certain, all are filed under the first round.
        let m = DeviceModel {
            ack_per_tick: 1.0,
            ..m
        };
        let inbox = Inbox::attach(&mut conn, m, rounds, 0).unwrap();
        assert_eq!(inbox.len(), 2000);
        assert_eq!(inbox.due.keys().copied().collect::<Vec<_>>(), vec![0]);
    }

    #[test]
    fn uniform_is_in_the_unit_interval_and_spread() {
        let v: Vec<f64> = (0..10_000)
            .map(|i| uniform(3, &format!("c{i}"), 0, 0))
            .collect();
        assert!(v.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
    }

    #[test]
    fn the_command_key_built_in_rust_is_the_sql_one() {
        // Every row of the quick fleet, and rows with a text checksum and with no operation
        // (whose key is NULL). The checksum column is NOT NULL.
        let conn = crate::paths::batched::tests::quick_fleet();
        conn.execute_batch(
            "INSERT INTO host_mdm_apple_profiles (host_uuid, profile_uuid, profile_identifier,
               status, operation_type, command_uuid, checksum) VALUES
               ('X2', 'a1', 'i', 'pending', 'install', 'c2', 'te\u{e9}xt'),
               ('X3', 'a1', 'i', 'pending', NULL, 'c3', x'0aff')",
        )
        .unwrap();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {KEY}, {KEY_COLUMNS} FROM host_mdm_apple_profiles ORDER BY rowid"
            ))
            .unwrap();
        let mut rows = stmt.query([]).unwrap();
        let (mut n, mut null) = (0, 0);
        while let Some(r) = rows.next().unwrap() {
            let sql: Option<String> = r.get(0).unwrap();
            assert_eq!(command_key(r, 1).unwrap(), sql);
            n += 1;
            null += usize::from(sql.is_none());
        }
        assert!(n > 10_000, "{n} rows");
        assert!(null >= 1, "{null} NULL keys");
    }
}
