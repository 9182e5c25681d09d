//! `reconsim tick`: batched ticks (spec §4.1) against a backend, the cursor in a store that
//! outlives the process, so a second invocation continues where the first stopped, as Fleet's
//! cron does across restarts. Exit 1 when a tick failed.

use crate::backend::Backend;
use crate::batched::{self, Outcome, Source};
use crate::cli::{EXIT_FINDING, EXIT_OK, TickArgs};
use crate::cursor::{CursorStore, SqliteCursor};
use crate::model::Op;
use std::io::Write;

/// The database the ticks read: an SQLite file, or a server with a copy of its
/// `reconsim_meta`.
enum Db {
    Lite(rusqlite::Connection),
    My(crate::mysqldb::MyDb, rusqlite::Connection),
}

pub fn run(args: TickArgs) -> anyhow::Result<i32> {
    let backend = args.common.one_backend("tick")?;
    let db = match &backend {
        Backend::Sqlite(path) => {
            crate::schema::open_contract_db(path)?; // exists, is SQLite, meets the contract
            // Read-write: the cursor table lives here.
            Db::Lite(rusqlite::Connection::open(path)?)
        }
        Backend::Mysql(url) => {
            let my = crate::mysqldb::MyDb::connect(url)?;
            my.check_contract()?;
            // The scenario's batch size, rules and variant come from reconsim_meta.
            let meta = crate::mysqldb::copy_to_sqlite(&my, false)?;
            Db::My(my, meta)
        }
    };
    let (src, meta): (&dyn Source, &rusqlite::Connection) = match &db {
        Db::Lite(c) => (c, c),
        Db::My(m, meta) => (m, meta),
    };
    let cfg = super::batched_config(&args.common, meta)?;
    let mut store: Box<dyn CursorStore + '_> = if args.cursor == "db" {
        match &db {
            Db::Lite(c) => Box::new(SqliteCursor::new(c)?),
            Db::My(m, _) => Box::new(crate::mysqldb::MyCursor::new(m)?),
        }
    } else if args.cursor.starts_with("redis://") || args.cursor.starts_with("rediss://") {
        Box::new(crate::rediscursor::RedisCursor::connect(&args.cursor)?)
    } else {
        anyhow::bail!(
            "--cursor {:?}: expected db or redis://HOST:PORT",
            args.cursor
        );
    };
    if args.reset_cursor {
        store
            .write("")
            .map_err(|e| anyhow::anyhow!("--cursor {}: {e}", args.cursor))?;
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "backend: {backend}  cursor: {}  variant: {}  batch size: {}",
        args.cursor, cfg.variant, cfg.batch_size
    )?;
    let mut failed = false;
    for i in 1..=args.ticks {
        let r = batched::tick(src, store.as_mut(), &cfg);
        let count = |op| r.deltas.iter().filter(|d| d.op == op).count();
        let ms: f64 = r.timings.iter().map(|t| t.1.as_secs_f64() * 1e3).sum();
        let outcome = match &r.outcome {
            Outcome::Ok => match &r.logged {
                Some(l) => format!("ok, {l}"),
                None => "ok".to_string(),
            },
            Outcome::Empty => "empty window".to_string(),
            Outcome::Error(e) => {
                failed = true;
                format!("error: {e}")
            }
        };
        writeln!(
            out,
            "tick {i}: cursor {:?} -> {:?}, {} hosts, {} installs, {} removes, {ms:.1} ms, {outcome}{}",
            r.cursor_before,
            r.cursor_after,
            r.visited.len(),
            count(Op::Install),
            count(Op::Remove),
            if r.pass_complete {
                " (pass complete)"
            } else {
                ""
            }
        )?;
    }
    Ok(if failed { EXIT_FINDING } else { EXIT_OK })
}
