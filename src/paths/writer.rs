//! The downstream writer shared by both paths (spec §7, simplified): turns a tick's deltas into
//! `host_mdm_apple_profiles` rows and MDM commands. The plan for each delta is a pure function
//! of the delta, the current row and the profile (`plan`); `apply` carries the plans out in one
//! transaction. Used by the loadtest; the device side is `device`.

use crate::domain::model::{CurrentRow, Delta, Op};
use rusqlite::{Connection, OptionalExtension, params};

/// What the writer does for one delta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Upsert the row as `install`/`pending` with the profile's facts; send an install.
    Install,
    /// Delete the row; send nothing (`install`+`failed`: the profile never got there).
    Drop,
    /// Delete the row, yet still send a remove with `ignore_error = 1` (`install`+`pending`:
    /// the install may land before the remove does).
    DropAndSendRemove,
    /// Upsert the row as `remove`/`pending`; send a remove.
    Remove,
}

/// Spec §7's rule for one delta, given the pair's current row.
pub fn plan(delta: &Delta, row: Option<&CurrentRow>) -> Action {
    match delta.op {
        Op::Install => Action::Install,
        Op::Remove => {
            let op = row.and_then(|r| r.operation_type.as_deref());
            let status = row.and_then(|r| r.status.as_deref());
            match (op, status) {
                (Some("install"), Some("failed")) => Action::Drop,
                (Some("install"), Some("pending")) => Action::DropAndSendRemove,
                _ => Action::Remove,
            }
        }
    }
}

/// Counts of what one `apply` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    pub installs: u64,
    pub removes: u64,
    pub dropped: u64,
    /// Commands sent (installs, removes, and removes sent with `ignore_error = 1`).
    pub commands: u64,
}

/// Carries out the deltas in one transaction. `command_uuid` gives each command its id (the
/// loadtest derives them from its seed, so runs are reproducible). A delta of a profile that no
/// longer exists is skipped for installs (there is nothing to install) and applied for removes.
pub fn apply(
    conn: &Connection,
    deltas: &[Delta],
    mut command_uuid: impl FnMut() -> String,
) -> rusqlite::Result<WriteStats> {
    let tx = crate::store::txn::write_scope(conn)?;
    let mut stats = WriteStats::default();
    {
        let mut current = tx.prepare_cached(
            "SELECT host_uuid, profile_uuid, status, operation_type, checksum, secrets_updated_at
             FROM host_mdm_apple_profiles WHERE host_uuid = ?1 AND profile_uuid = ?2",
        )?;
        let mut upsert_install = tx.prepare_cached(
            "INSERT INTO host_mdm_apple_profiles (host_uuid, profile_uuid, profile_identifier,
               profile_name, status, operation_type, detail, command_uuid, checksum,
               secrets_updated_at, ignore_error, scope)
             SELECT ?1, p.profile_uuid, p.identifier, p.name, 'pending', 'install', NULL, ?3,
                    p.checksum, p.secrets_updated_at, 0, p.scope
             FROM mdm_apple_configuration_profiles p WHERE p.profile_uuid = ?2
             ON CONFLICT (host_uuid, profile_uuid) DO UPDATE SET
               profile_identifier = excluded.profile_identifier,
               profile_name = excluded.profile_name, status = 'pending',
               operation_type = 'install', detail = NULL, command_uuid = excluded.command_uuid,
               checksum = excluded.checksum, secrets_updated_at = excluded.secrets_updated_at,
               ignore_error = 0, scope = excluded.scope",
        )?;
        let mut upsert_remove = tx.prepare_cached(
            "UPDATE host_mdm_apple_profiles SET status = 'pending', operation_type = 'remove',
               detail = NULL, command_uuid = ?3, ignore_error = ?4
             WHERE host_uuid = ?1 AND profile_uuid = ?2",
        )?;
        let mut delete = tx.prepare_cached(
            "DELETE FROM host_mdm_apple_profiles WHERE host_uuid = ?1 AND profile_uuid = ?2",
        )?;
        for d in deltas {
            let (h, p) = (&*d.host_uuid, &*d.profile_uuid);
            let row = current
                .query_row([h, p], |r| {
                    crate::paths::batched::read_current_row(r, &mut None, &|_| None)
                })
                .optional()?;
            match plan(d, row.as_ref()) {
                Action::Install => {
                    if upsert_install.execute(params![h, p, command_uuid()])? > 0 {
                        stats.installs += 1;
                        stats.commands += 1;
                    }
                }
                Action::Drop => {
                    stats.dropped += delete.execute([h, p])? as u64;
                }
                Action::DropAndSendRemove => {
                    stats.dropped += delete.execute([h, p])? as u64;
                    let _ = command_uuid();
                    stats.commands += 1;
                }
                Action::Remove => {
                    if upsert_remove.execute(params![h, p, command_uuid(), 0])? > 0 {
                        stats.removes += 1;
                        stats.commands += 1;
                    }
                }
            }
        }
    }
    tx.commit()?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::intern;

    fn row(op: Option<&str>, status: Option<&str>) -> CurrentRow {
        CurrentRow {
            host_uuid: "H".into(),
            profile_uuid: "a1".into(),
            status: status.map(intern),
            operation_type: op.map(intern),
            checksum: Default::default(),
            secrets_updated_at: None,
        }
    }

    #[test]
    fn remove_plans_follow_spec_7() {
        let rm = Delta::new("H", "a1", Op::Remove);
        let cases = [
            (Some("install"), Some("failed"), Action::Drop),
            (Some("install"), Some("pending"), Action::DropAndSendRemove),
            (Some("install"), Some("verified"), Action::Remove),
            (Some("install"), Some("verifying"), Action::Remove),
            (Some("install"), None, Action::Remove),
            (None, None, Action::Remove),
            (Some("remove"), None, Action::Remove),
        ];
        for (op, st, want) in cases {
            assert_eq!(plan(&rm, Some(&row(op, st))), want, "{op:?}/{st:?}");
        }
        assert_eq!(
            plan(&Delta::new("H", "a1", Op::Install), None),
            Action::Install
        );
    }

    fn fixture() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::store::schema::migrate_to(&mut conn, crate::store::schema::LATEST_VERSION).unwrap();
        conn.execute_batch(
            "INSERT INTO mdm_apple_configuration_profiles (profile_uuid, identifier, name, checksum,
               secrets_updated_at, scope)
             VALUES ('a1', 'com.a1', 'A1', x'AA', '2026-01-01 00:00:00.000000', 'User');
             INSERT INTO host_mdm_apple_profiles (host_uuid, profile_uuid, profile_identifier,
               status, operation_type, checksum, command_uuid)
             VALUES ('H1', 'a1', 'old', 'verified', 'install', x'00', 'c-old'),
                    ('H2', 'a1', 'com.a1', 'failed', 'install', x'AA', 'c2'),
                    ('H3', 'a1', 'com.a1', 'pending', 'install', x'AA', 'c3'),
                    ('H4', 'a1', 'com.a1', 'verified', 'install', x'AA', 'c4');",
        )
        .unwrap();
        conn
    }

    /// host_uuid, operation_type, status, command_uuid, checksum, secrets_updated_at, scope.
    type Written = (
        String,
        String,
        String,
        String,
        Vec<u8>,
        Option<String>,
        String,
    );

    #[test]
    fn apply_upserts_deletes_and_counts() {
        let conn = fixture();
        let deltas = vec![
            Delta::new("H1", "a1", Op::Install),
            Delta::new("H9", "a1", Op::Install),
            Delta::new("H9", "a-gone", Op::Install),
            Delta::new("H2", "a1", Op::Remove),
            Delta::new("H3", "a1", Op::Remove),
            Delta::new("H4", "a1", Op::Remove),
        ];
        let mut n = 0;
        let stats = apply(&conn, &deltas, || {
            n += 1;
            format!("cmd-{n}")
        })
        .unwrap();
        assert_eq!(
            stats,
            WriteStats {
                installs: 2,
                removes: 1,
                dropped: 2,
                commands: 4
            }
        );
        let rows: Vec<Written> = conn
            .prepare(
                "SELECT host_uuid, operation_type, status, command_uuid, checksum,
                        secrets_updated_at, scope
                 FROM host_mdm_apple_profiles ORDER BY host_uuid",
            )
            .unwrap()
            .query_map([], |r| Written::try_from(r))
            .unwrap()
            .map(|x| x.unwrap())
            .collect();
        let secrets = Some("2026-01-01 00:00:00.000000".to_string());
        assert_eq!(
            rows,
            vec![
                (
                    "H1".into(),
                    "install".into(),
                    "pending".into(),
                    "cmd-1".into(),
                    vec![0xAA],
                    secrets.clone(),
                    "User".into()
                ),
                (
                    "H4".into(),
                    "remove".into(),
                    "pending".into(),
                    "cmd-5".into(),
                    vec![0xAA],
                    None,
                    "System".into()
                ),
                (
                    "H9".into(),
                    "install".into(),
                    "pending".into(),
                    "cmd-2".into(),
                    vec![0xAA],
                    secrets,
                    "User".into()
                ),
            ]
        );
    }
}
