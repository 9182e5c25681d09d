//! `shrink`: delta-debugs a database that shows a divergence down to a minimal one that still
//! shows it (issue 5). The target is one divergent (host, profile) pair of the wanted class;
//! "still shows it" means: both paths run on the reduced database (legacy diff, one batched
//! pass) and the pair still diverges with the same class.
//!
//! Reduction, on an in-memory copy: first the big cuts (every host row of another uuid, every
//! other profile, with what hangs off them), each kept only if the divergence survives; then, per
//! table, chunks of rows are removed while the divergence survives, halving the chunk size down
//! to single rows (ddmin's complement step). What is left is written as `repro.sql` (schema and
//! rows), `repro.db` built from it, and `repro.toml` with the pair, class, settings and the
//! one-line command that shows the divergence.

use crate::analysis::equivalence::{self, Classifier};
use crate::harness::error::Result;
use crate::paths::batched::{self, BatchedConfig};
use crate::paths::legacy::{self, LegacySql};
use rusqlite::Connection;
use rusqlite::types::ValueRef;

/// The pair a shrink keeps divergent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host_uuid: String,
    pub profile_uuid: String,
    pub class: crate::analysis::class::Class,
}

/// Tables reduced, in order, with the key that identifies a row.
const TABLES: [(&str, &str); 10] = [
    ("host_mdm_apple_profiles", "rowid"),
    ("label_membership", "host_id || ',' || label_id"),
    ("mdm_configuration_profile_labels", "id"),
    ("mdm_apple_configuration_profiles", "profile_uuid"),
    ("labels", "id"),
    ("host_mdm", "host_id"),
    ("nano_enrollments", "id"),
    ("nano_devices", "id"),
    ("hosts", "id"),
    ("teams", "id"),
];

/// The divergences of a database: (host, profile, class) of each divergent pair.
pub fn divergences(conn: &Connection, cfg: &BatchedConfig, form: LegacySql) -> Result<Vec<Target>> {
    let l = legacy::run(conn, form)?;
    let pass = batched::full_pass(conn, cfg)?;
    let mut legacy_all = l.installs;
    legacy_all.extend(l.removes);
    let profiles = batched::load_profiles(conn)?;
    let mut classifier = Classifier::new(conn, cfg.rules, profiles, &pass.visited);
    let cmp = equivalence::compare(&mut classifier, &legacy_all, &pass.deltas)?;
    Ok(cmp
        .divergences
        .into_iter()
        .map(|d| Target {
            host_uuid: d.host_uuid,
            profile_uuid: d.profile_uuid,
            class: d.class,
        })
        .collect())
}

/// Whether the target pair still diverges with its class.
pub fn shows(conn: &Connection, cfg: &BatchedConfig, form: LegacySql, t: &Target) -> Result<bool> {
    Ok(divergences(conn, cfg, form)?.contains(t))
}

/// Row count of every reduced table.
pub fn row_count(conn: &Connection) -> rusqlite::Result<u64> {
    let mut n = 0;
    for (t, _) in TABLES {
        n += conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| {
            r.get::<_, i64>(0)
        })? as u64;
    }
    Ok(n)
}

/// Runs `sql` in a savepoint and keeps it only if the divergence survives.
fn attempt(
    conn: &Connection,
    cfg: &BatchedConfig,
    form: LegacySql,
    t: &Target,
    sql: &str,
) -> Result<bool> {
    conn.execute_batch("SAVEPOINT shrink")?;
    conn.execute_batch(sql)?;
    let keep = shows(conn, cfg, form, t)?;
    if keep {
        conn.execute_batch("RELEASE shrink")?;
    } else {
        conn.execute_batch("ROLLBACK TO shrink; RELEASE shrink")?;
    }
    Ok(keep)
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Shrinks `conn` (a private copy) keeping `t` divergent; `progress` sees the row count.
pub fn shrink(
    conn: &Connection,
    cfg: &BatchedConfig,
    form: LegacySql,
    t: &Target,
    mut progress: impl FnMut(u64),
) -> Result<()> {
    let host = quote(&t.host_uuid);
    let profile = quote(&t.profile_uuid);
    // Big cuts.
    let cuts = [
        format!(
            "DELETE FROM label_membership WHERE host_id IN (SELECT id FROM hosts WHERE uuid != {host});
             DELETE FROM host_mdm WHERE host_id IN (SELECT id FROM hosts WHERE uuid != {host});
             DELETE FROM host_mdm_apple_profiles WHERE host_uuid != {host};
             DELETE FROM nano_enrollments WHERE device_id != {host};
             DELETE FROM nano_devices WHERE id != {host};
             DELETE FROM hosts WHERE uuid != {host};"
        ),
        format!(
            "DELETE FROM mdm_configuration_profile_labels WHERE apple_profile_uuid IS NOT {profile};
             DELETE FROM host_mdm_apple_profiles WHERE profile_uuid != {profile};
             DELETE FROM mdm_apple_configuration_profiles WHERE profile_uuid != {profile};"
        ),
        "DELETE FROM label_membership WHERE label_id NOT IN
           (SELECT label_id FROM mdm_configuration_profile_labels WHERE label_id IS NOT NULL);
         DELETE FROM labels WHERE id NOT IN
           (SELECT label_id FROM mdm_configuration_profile_labels WHERE label_id IS NOT NULL);"
            .to_string(),
        "DELETE FROM teams WHERE id NOT IN (SELECT team_id FROM hosts WHERE team_id IS NOT NULL)
           AND id NOT IN (SELECT team_id FROM mdm_apple_configuration_profiles);"
            .to_string(),
    ];
    for sql in &cuts {
        attempt(conn, cfg, form, t, sql)?;
        progress(row_count(conn)?);
    }
    // Per table: remove chunks of rows while the divergence survives (chunk halves to 1).
    loop {
        let before = row_count(conn)?;
        for (table, key) in TABLES {
            let mut keys: Vec<String> = conn
                .prepare(&format!("SELECT {key} FROM {table} ORDER BY 1"))?
                .query_map([], |r| {
                    Ok(match r.get_ref(0)? {
                        ValueRef::Integer(i) => i.to_string(),
                        ValueRef::Text(s) => String::from_utf8_lossy(s).into_owned(),
                        _ => String::new(),
                    })
                })?
                .collect::<Result<_, _>>()?;
            let mut chunk = keys.len().div_ceil(2).max(1);
            while !keys.is_empty() {
                let mut i = 0;
                while i < keys.len() {
                    let end = (i + chunk).min(keys.len());
                    // Integer keys stay numbers (rowid comparisons take no affinity).
                    let list = keys[i..end]
                        .iter()
                        .map(|k| match k.parse::<i64>() {
                            Ok(n) => n.to_string(),
                            Err(_) => quote(k),
                        })
                        .collect::<Vec<_>>()
                        .join(",");
                    let sql = format!("DELETE FROM {table} WHERE {key} IN ({list})");
                    if attempt(conn, cfg, form, t, &sql)? {
                        keys.drain(i..end);
                        progress(row_count(conn)?);
                    } else {
                        i = end;
                    }
                }
                if chunk == 1 {
                    break;
                }
                chunk = chunk.div_ceil(2);
            }
        }
        if row_count(conn)? == before {
            return Ok(());
        }
    }
}

/// `repro.sql`: the schema DDL, then every remaining row of every contract table as INSERTs.
pub fn dump_sql(conn: &Connection) -> rusqlite::Result<String> {
    let mut out = crate::store::schema::ddl();
    out.push('\n');
    for (table, _) in TABLES.iter().rev() {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table}"))?;
        let cols: Vec<String> = stmt.column_names().map(|c| c.to_string()).collect();
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let mut vals = Vec::new();
            for i in 0..cols.len() {
                vals.push(match r.get_ref(i)? {
                    ValueRef::Null => "NULL".to_string(),
                    ValueRef::Integer(v) => v.to_string(),
                    ValueRef::Real(v) => v.to_string(),
                    ValueRef::Text(s) => quote(&String::from_utf8_lossy(s)),
                    ValueRef::Blob(b) => format!("x'{}'", hex::encode(b)),
                });
            }
            out.push_str(&format!(
                "INSERT INTO {table} ({}) VALUES ({});\n",
                cols.join(", "),
                vals.join(", ")
            ));
        }
    }
    Ok(out)
}
