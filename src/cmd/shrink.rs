//! `reconsim shrink --db PATH [--class CLASS]`: a minimal database showing one divergence.

use crate::analysis::class::Class;
use crate::cli::{EXIT_OK, ShrinkArgs};
use crate::harness::shrink::{self, Target};
use crate::report::csv::write_atomic;
use anyhow::Context;
use rusqlite::Connection;
use std::io::Write;

pub fn run(args: ShrinkArgs) -> anyhow::Result<i32> {
    let class: Class = args
        .class
        .parse()
        .map_err(|e| anyhow::anyhow!("--class {e}"))?;
    let db = &args.common.sqlite_db("shrink")?;
    let src = crate::store::schema::open_contract_db(db)?;
    let mut conn = Connection::open_in_memory()?;
    {
        let b = rusqlite::backup::Backup::new(&src, &mut conn)?;
        b.run_to_completion(1024, std::time::Duration::ZERO, None)
            .with_context(|| format!("copying {}", db.display()))?;
    }
    drop(src);
    conn.execute_batch("PRAGMA temp_store = MEMORY")?;
    let cfg = super::batched_config(&args.common, &conn)?;
    super::refuse_drain(cfg.variant, "shrink")?;
    let form = args.common.legacy_sql;
    let progress = super::spinner(args.common.quiet);
    progress.set_message("finding divergences");
    let all = shrink::divergences(&conn, &cfg, form)?;
    let Some(target) = all.iter().find(|d| d.class == class).cloned() else {
        let mut classes: Vec<String> = all.iter().map(|d| d.class.to_string()).collect();
        classes.sort_unstable();
        classes.dedup();
        anyhow::bail!(
            "database {}: no divergent pair of class {:?} to shrink (classes present: {})",
            db.display(),
            args.class,
            if classes.is_empty() {
                "none".to_string()
            } else {
                classes.join(", ")
            }
        );
    };
    let before = shrink::row_count(&conn)?;
    shrink::shrink(&conn, &cfg, form, &target, |n| {
        progress.set_message(format!("shrinking: {n} rows left"))
    })?;
    progress.finish_and_clear();
    let after = shrink::row_count(&conn)?;

    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("--out-dir {}", args.out_dir.display()))?;
    let sql = shrink::dump_sql(&conn)?;
    write_atomic(&args.out_dir.join("repro.sql"), sql.as_bytes())?;
    let repro_db = args.out_dir.join("repro.db");
    let tmp = args
        .out_dir
        .join(format!("repro.db.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    {
        let out = Connection::open(&tmp)?;
        out.execute_batch(&format!("BEGIN; {sql} COMMIT;"))
            .context("building repro.db from repro.sql")?;
    }
    std::fs::rename(&tmp, &repro_db)?;
    let command = command_line(&repro_db, &args, &cfg);
    let toml = repro_toml(&target, &cfg, form, before, after, &command)?;
    write_atomic(&args.out_dir.join("repro.toml"), toml.as_bytes())?;
    let mut o = std::io::stdout().lock();
    writeln!(
        o,
        "shrank {}: {before} rows -> {after} rows, keeping {} {} / {} diverging\nwrote {}/repro.sql, repro.db, repro.toml\nshow it: {command}",
        db.display(),
        target.class,
        target.host_uuid,
        target.profile_uuid,
        args.out_dir.display()
    )?;
    Ok(EXIT_OK)
}

fn command_line(
    db: &std::path::Path,
    args: &ShrinkArgs,
    cfg: &crate::paths::batched::BatchedConfig,
) -> String {
    let mut c = format!(
        "reconsim compare --db {} --batch-size {} --variant {} --legacy-sql {}",
        db.display(),
        cfg.batch_size,
        cfg.variant,
        args.common.legacy_sql
    );
    for r in cfg.rules.describe().split(',') {
        c.push_str(&format!(" --rule {r}"));
    }
    if let Some(m) = cfg.rules.mutant {
        c.push_str(&format!(" --mutate {}", m.name()));
    }
    c.push_str(" --out-dir cmp");
    c
}

/// `repro.toml`: what a shrunk repro keeps, and the command that shows it.
#[derive(serde::Serialize)]
struct ReproToml<'a> {
    repro: ReproSection<'a>,
}

#[derive(serde::Serialize)]
struct ReproSection<'a> {
    class: &'a Class,
    host_uuid: &'a str,
    profile_uuid: &'a str,
    batch_size: usize,
    variant: &'a str,
    rules: String,
    mutant: &'a str,
    legacy_sql: String,
    rows_before: u64,
    rows_after: u64,
    command: &'a str,
}

fn repro_toml(
    t: &Target,
    cfg: &crate::paths::batched::BatchedConfig,
    form: crate::paths::legacy::LegacySql,
    before: u64,
    after: u64,
    command: &str,
) -> anyhow::Result<String> {
    let doc = ReproToml {
        repro: ReproSection {
            class: &t.class,
            host_uuid: &t.host_uuid,
            profile_uuid: &t.profile_uuid,
            batch_size: cfg.batch_size,
            variant: cfg.variant.name(),
            rules: cfg.rules.describe(),
            mutant: cfg.rules.mutant.map_or("", |m| m.name()),
            legacy_sql: form.to_string(),
            rows_before: before,
            rows_after: after,
            command,
        },
    };
    Ok(format!(
        "# A minimal repro written by `reconsim shrink`: repro.db (built from repro.sql) shows it.\n{}",
        toml::to_string(&doc)?
    ))
}
