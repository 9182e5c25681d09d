//! The batched pass's queries alone (`measure --only reads`): the same windows in the same
//! order, each window's catalog, memberships and current rows read by the same SQL, every value
//! of every row they return touched as `floor` touches it, and nothing decoded, kept or
//! decided. It answers how much of a pass is SQLite running the queries the pass must run,
//! whatever reconsim then does with the rows: a pass can come no closer to the floor than this.

use super::*;
use crate::domain::clock::Clock;
use rusqlite::types::ValueRef;

/// What a reads pass did: its windows, the hosts they listed (before de-duplication), the rows
/// its queries returned, and the time per phase (the batched pass's phase names).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadPass {
    pub windows: usize,
    pub hosts: u64,
    pub rows: u64,
    pub timings: Vec<(&'static str, Duration)>,
}

impl ReadPass {
    fn add(&mut self, phase: Phase, d: Duration) {
        let name = phase.name();
        match self.timings.iter_mut().find(|(n, _)| *n == name) {
            Some(x) => x.1 += d,
            None => self.timings.push((name, d)),
        }
    }
}

/// Steps every row of `rows`, touching each column's value; returns the rows.
fn touch_all(mut rows: rusqlite::Rows<'_>, phase: &'static str) -> Result<u64, BatchedError> {
    let mut n = 0;
    while let Some(r) = rows.next().map_err(q(phase))? {
        touch_row(r, phase)?;
        n += 1;
    }
    Ok(n)
}

fn touch_row(r: &rusqlite::Row<'_>, phase: &'static str) -> Result<(), BatchedError> {
    for i in 0..r.as_ref().column_count() {
        if let ValueRef::Text(t) | ValueRef::Blob(t) = r.get_ref(i).map_err(q(phase))? {
            std::hint::black_box(t);
        }
    }
    Ok(())
}

/// One reads pass over `conn` with windows of `window` hosts under `cfg`'s rules and variant:
/// the cursor moves as the batched pass's does (past the window's last uuid while a page is
/// full, counted after de-duplication where the variant counts so), and the pass ends at the
/// first short page. The strict scan (B1) decodes nothing here, so it does not fail.
pub fn read_pass(
    conn: &Connection,
    cfg: &BatchedConfig,
    window: usize,
    clock: &dyn Clock,
) -> Result<ReadPass, BatchedError> {
    let window = window.max(1);
    let mut pass = ReadPass::default();
    let mut cursor: Vec<u8> = Vec::new();
    let mut first: Vec<u8> = Vec::new();
    let mut ids: Vec<i64> = Vec::new();
    let host_rows = conn.host_rows()?;
    let limit = host_rows as usize / window + 2;
    loop {
        // The window: ids and the first and last uuid kept, every value touched.
        let t = clock.now();
        ids.clear();
        let (mut raw, mut distinct) = (0usize, 0usize);
        {
            let name = Phase::Window.name();
            let mut stmt = conn
                .prepare_cached(&window_sql_for(&cfg.rules, cfg.variant))
                .map_err(q(name))?;
            let at = String::from_utf8_lossy(&cursor).into_owned();
            let mut rows = stmt
                .query(rusqlite::params![at, window as i64])
                .map_err(q(name))?;
            while let Some(r) = rows.next().map_err(q(name))? {
                touch_row(r, name)?;
                ids.push(r.get(0).map_err(q(name))?);
                let uuid = match r.get_ref(1).map_err(q(name))? {
                    ValueRef::Text(t) => t,
                    _ => &[][..],
                };
                if raw == 0 {
                    first.clear();
                    first.extend_from_slice(uuid);
                }
                if raw == 0 || cursor.as_slice() != uuid {
                    distinct += 1;
                    cursor.clear();
                    cursor.extend_from_slice(uuid);
                }
                raw += 1;
            }
        }
        pass.add(Phase::Window, clock.since(t));
        pass.rows += raw as u64;
        pass.hosts += raw as u64;
        pass.windows += 1;
        if raw == 0 {
            return sweep(conn, cfg, clock, pass);
        }
        let t = clock.now();
        {
            let name = Phase::Catalog.name();
            let mut stmt = conn
                .prepare_cached(&catalog_sql(cfg.variant))
                .map_err(q(name))?;
            pass.rows += touch_all(stmt.query([]).map_err(q(name))?, name)?;
        }
        pass.add(Phase::Catalog, clock.since(t));
        let t = clock.now();
        {
            let name = Phase::Memberships.name();
            let hosts = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
            let mut stmt = conn.prepare_cached(MEMBERSHIPS_SQL).map_err(q(name))?;
            pass.rows += touch_all(stmt.query([hosts]).map_err(q(name))?, name)?;
        }
        pass.add(Phase::Memberships, clock.since(t));
        let t = clock.now();
        {
            let name = Phase::CurrentRows.name();
            let mut stmt = conn.prepare_cached(CURRENT_ROWS_SQL).map_err(q(name))?;
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            let rows = stmt
                .query(rusqlite::params![text(&first), text(&cursor)])
                .map_err(q(name))?;
            pass.rows += touch_all(rows, name)?;
        }
        pass.add(Phase::CurrentRows, clock.since(t));
        let page = if cfg.variant.full_after_dedupe() {
            distinct
        } else {
            raw
        };
        if page < window {
            return sweep(conn, cfg, clock, pass);
        }
        if pass.windows >= limit {
            return Err(BatchedError::NoWrap {
                ticks: pass.windows,
                cursor: String::from_utf8_lossy(&cursor).into_owned(),
            });
        }
    }
}

/// The pass's last window: under D5 = remove, the sweep's query too, timed as the batched
/// pass times it (in `compute`).
fn sweep(
    conn: &Connection,
    cfg: &BatchedConfig,
    clock: &dyn Clock,
    mut pass: ReadPass,
) -> Result<ReadPass, BatchedError> {
    if cfg.rules.d5_remove {
        let t = clock.now();
        let name = "d5 sweep";
        let mut stmt = conn
            .prepare_cached(&ineligible_sql(&cfg.rules))
            .map_err(q(name))?;
        pass.rows += touch_all(stmt.query([]).map_err(q(name))?, name)?;
        pass.add(Phase::Compute, clock.since(t));
    }
    Ok(pass)
}
