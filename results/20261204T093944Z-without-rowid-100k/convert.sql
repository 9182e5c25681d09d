-- The current rows of a generated fleet copied into a WITHOUT ROWID table keyed
-- (host_uuid, profile_uuid), the same columns, indexes and statistics.
PRAGMA journal_mode = OFF;
PRAGMA cache_size = -1000000;
BEGIN;
CREATE TABLE h2 (
  host_uuid          TEXT NOT NULL,
  profile_uuid       TEXT NOT NULL,
  profile_identifier TEXT NOT NULL,
  profile_name       TEXT NOT NULL DEFAULT '',
  status             TEXT NULL,
  operation_type     TEXT NULL,
  detail             TEXT NULL,
  command_uuid       TEXT NOT NULL DEFAULT '',
  checksum           BLOB NOT NULL,
  secrets_updated_at DATETIME NULL,
  ignore_error       INTEGER NOT NULL DEFAULT 0,
  scope              TEXT NOT NULL DEFAULT 'System',
  PRIMARY KEY (host_uuid, profile_uuid)
) WITHOUT ROWID;
INSERT INTO h2 SELECT * FROM host_mdm_apple_profiles ORDER BY host_uuid, profile_uuid;
DROP TABLE host_mdm_apple_profiles;
ALTER TABLE h2 RENAME TO host_mdm_apple_profiles;
CREATE INDEX idx_host_mdm_apple_profiles_status ON host_mdm_apple_profiles (status);
CREATE INDEX idx_host_mdm_apple_profiles_operation_type ON host_mdm_apple_profiles (operation_type);
COMMIT;
ANALYZE;
VACUUM;
