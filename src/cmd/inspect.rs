//! `reconsim inspect`: the fleet summary of any contract database, a file or a server's.

use crate::backends::backend::Backend;
use crate::cli::{EXIT_OK, InspectArgs};
use crate::fleet::summary::Summary;
use anyhow::Context;
use std::io::Write;

pub fn run(args: InspectArgs) -> anyhow::Result<i32> {
    let backend = match (args.backend, args.db) {
        (Some(b), _) => b,
        (None, Some(db)) => Backend::Sqlite(db),
        (None, None) => crate::cli::env_backend()?,
    };
    let summary = match &backend {
        Backend::Sqlite(db) if db.as_os_str().is_empty() => {
            anyhow::bail!("--backend sqlite: name the file to inspect (sqlite:PATH)")
        }
        Backend::Sqlite(db) => {
            let conn = crate::store::schema::open_contract_db(db)?;
            Summary::collect(&conn).with_context(|| format!("summarising {}", db.display()))?
        }
        Backend::Mysql(url) => {
            // Reads only: the contract check and the summary's SELECTs.
            let my = crate::backends::mysqldb::MyDb::connect(url)?;
            my.check_contract()?;
            Summary::collect_server(&my).with_context(|| format!("summarising {}", my.shown))?
        }
    };
    write!(std::io::stdout().lock(), "{}", summary.render())?;
    Ok(EXIT_OK)
}
