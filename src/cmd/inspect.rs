//! `reconsim inspect`: the fleet summary of any contract database.

use crate::cli::{EXIT_OK, InspectArgs};
use crate::fleet::summary::Summary;
use anyhow::Context;
use std::io::Write;

pub fn run(args: InspectArgs) -> anyhow::Result<i32> {
    let conn = crate::store::schema::open_contract_db(&args.db)?;
    let summary =
        Summary::collect(&conn).with_context(|| format!("summarising {}", args.db.display()))?;
    write!(std::io::stdout().lock(), "{}", summary.render())?;
    Ok(EXIT_OK)
}
