//! Hand-written fixture fleets: a fresh contract database with terse row builders.

use reconsim::store::schema;
use rusqlite::{Connection, params};

pub const T0: &str = "2026-06-01 10:00:00";

pub struct Fixture {
    pub conn: Connection,
}

impl Fixture {
    pub fn new() -> Fixture {
        let mut conn = Connection::open_in_memory().expect("memory db");
        schema::migrate_to(&mut conn, schema::LATEST_VERSION).expect("migrate");
        Fixture { conn }
    }

    fn exec(&self, sql: &str, p: impl rusqlite::Params) {
        self.conn
            .execute(sql, p)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// A host row with `host_mdm.enrolled = 1`, not enrolled in MDM yet (see `enroll`).
    pub fn host(&self, id: i64, uuid: &str, platform: &str, team: Option<i64>) -> &Self {
        self.exec(
            "INSERT INTO hosts (id, uuid, hostname, platform, team_id, label_updated_at)
             VALUES (?1, ?2, 'h', ?3, ?4, ?5)",
            params![id, uuid, platform, team, T0],
        );
        self.exec(
            "INSERT INTO host_mdm (host_id, enrolled) VALUES (?1, 1)",
            [id],
        );
        self
    }

    /// An eligible darwin host (Device enrollment with a nano device).
    pub fn mac(&self, id: i64, uuid: &str, team: Option<i64>) -> &Self {
        self.host(id, uuid, "darwin", team)
            .enroll(uuid, "Device", true, true)
    }

    /// A nano enrollment of `kind` (and a nano device when `device`).
    pub fn enroll(&self, uuid: &str, kind: &str, enabled: bool, device: bool) -> &Self {
        if device {
            self.exec(
                "INSERT OR IGNORE INTO nano_devices (id, authenticate_at) VALUES (?1, ?2)",
                params![uuid, T0],
            );
        }
        self.exec(
            "INSERT INTO nano_enrollments (id, device_id, user_id, type, enabled)
             VALUES (?1 || ':' || ?2, ?1, NULL, ?2, ?3)",
            params![uuid, kind, enabled],
        );
        self
    }

    pub fn reported(&self, host_id: i64, at: &str) -> &Self {
        self.exec(
            "UPDATE hosts SET label_updated_at = ?2 WHERE id = ?1",
            params![host_id, at],
        );
        self
    }

    pub fn unenrolled_mdm(&self, host_id: i64) -> &Self {
        self.exec(
            "UPDATE host_mdm SET enrolled = 0 WHERE host_id = ?1",
            [host_id],
        );
        self
    }

    /// A label; `ty` 0 dynamic, 1 manual, 2 host vitals.
    pub fn label(&self, id: i64, ty: i64, created_at: Option<&str>) -> &Self {
        self.exec(
            "INSERT INTO labels (id, name, label_membership_type, created_at)
             VALUES (?1, 'L' || ?1, ?2, ?3)",
            params![id, ty, created_at],
        );
        self
    }

    pub fn member(&self, host_id: i64, label_id: i64) -> &Self {
        self.exec(
            "INSERT INTO label_membership (host_id, label_id) VALUES (?1, ?2)",
            params![host_id, label_id],
        );
        self
    }

    /// A profile with checksum `[c]` and no secrets.
    pub fn profile(&self, uuid: &str, team: i64, name: &str, c: u8) -> &Self {
        self.exec(
            "INSERT INTO mdm_apple_configuration_profiles (profile_uuid, team_id, identifier,
               name, checksum) VALUES (?1, ?2, 'com.' || ?1, ?3, ?4)",
            params![uuid, team, name, vec![c]],
        );
        self
    }

    pub fn secrets(&self, uuid: &str, at: &str) -> &Self {
        self.exec(
            "UPDATE mdm_apple_configuration_profiles SET secrets_updated_at = ?2
             WHERE profile_uuid = ?1",
            params![uuid, at],
        );
        self
    }

    /// A label row of a profile; `label` None = broken (deleted label).
    pub fn scope(
        &self,
        profile: &str,
        label: Option<i64>,
        exclude: bool,
        require_all: bool,
    ) -> &Self {
        let name = format!(
            "L{}-{}",
            label.unwrap_or(0),
            self.count("mdm_configuration_profile_labels")
        );
        self.exec(
            "INSERT INTO mdm_configuration_profile_labels (apple_profile_uuid, label_name,
               label_id, exclude, require_all) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![profile, name, label, exclude, require_all],
        );
        self
    }

    /// A current row with checksum `[c]`.
    pub fn row(
        &self,
        host: &str,
        profile: &str,
        op: Option<&str>,
        status: Option<&str>,
        c: u8,
    ) -> &Self {
        self.exec(
            "INSERT INTO host_mdm_apple_profiles (host_uuid, profile_uuid, profile_identifier,
               status, operation_type, checksum) VALUES (?1, ?2, 'com.' || ?2, ?3, ?4, ?5)",
            params![host, profile, status, op, vec![c]],
        );
        self
    }

    pub fn row_secrets(&self, host: &str, profile: &str, at: Option<&str>) -> &Self {
        self.exec(
            "UPDATE host_mdm_apple_profiles SET secrets_updated_at = ?3
             WHERE host_uuid = ?1 AND profile_uuid = ?2",
            params![host, profile, at],
        );
        self
    }

    pub fn count(&self, table: &str) -> i64 {
        self.conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .expect("count")
    }
}
