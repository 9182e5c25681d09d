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

use rusqlite::{Connection, params};
use std::hash::Hasher;

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

    #[test]
    fn outcomes_are_deterministic_and_follow_the_rates() {
        let rows: Vec<(&str, &str, String)> = (0..2000)
            .map(|i| ("install", "pending", format!("cmd-{i}")))
            .collect();
        let refs: Vec<(&str, &str, &str)> =
            rows.iter().map(|(a, b, c)| (*a, *b, c.as_str())).collect();
        let m = DeviceModel {
            seed: 7,
            ack_per_tick: 0.5,
            verify_per_tick: 1.0,
            failure_rate: 0.1,
        };
        let (mut a, mut b) = (fleet(&refs), fleet(&refs));
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

    #[test]
    fn uniform_is_in_the_unit_interval_and_spread() {
        let v: Vec<f64> = (0..10_000)
            .map(|i| uniform(3, &format!("c{i}"), 0, 0))
            .collect();
        assert!(v.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
    }
}
