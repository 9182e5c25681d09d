-- migration 1 (PRAGMA user_version = 1)
CREATE TABLE teams (
  id   INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);
CREATE TABLE hosts (
  id               INTEGER PRIMARY KEY,
  uuid             TEXT NOT NULL DEFAULT '',
  hostname         TEXT NOT NULL DEFAULT '',
  platform         TEXT NOT NULL DEFAULT '',
  team_id          INTEGER NULL,
  label_updated_at TIMESTAMP NOT NULL DEFAULT '2000-01-01 00:00:00'
);
CREATE TABLE nano_devices (
  id              TEXT PRIMARY KEY,
  authenticate_at TIMESTAMP NOT NULL
);
CREATE TABLE nano_enrollments (
  id        TEXT PRIMARY KEY,
  device_id TEXT NOT NULL,
  user_id   TEXT NULL,
  type      TEXT NOT NULL,
  enabled   INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE host_mdm (
  host_id  INTEGER PRIMARY KEY,
  enrolled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE labels (
  id                    INTEGER PRIMARY KEY,
  name                  TEXT NOT NULL UNIQUE,
  label_membership_type INTEGER NOT NULL DEFAULT 0,
  created_at            TIMESTAMP NULL
);
CREATE TABLE label_membership (
  label_id INTEGER NOT NULL,
  host_id  INTEGER NOT NULL,
  PRIMARY KEY (host_id, label_id)
) WITHOUT ROWID;
CREATE TABLE mdm_apple_configuration_profiles (
  profile_uuid       TEXT PRIMARY KEY,
  team_id            INTEGER NOT NULL DEFAULT 0,
  identifier         TEXT NOT NULL,
  name               TEXT NOT NULL,
  checksum           BLOB NOT NULL,
  secrets_updated_at DATETIME NULL,
  scope              TEXT NOT NULL DEFAULT 'System',
  uploaded_at        TIMESTAMP NULL,
  UNIQUE (team_id, identifier),
  UNIQUE (team_id, name)
);
CREATE TABLE mdm_configuration_profile_labels (
  id                 INTEGER PRIMARY KEY,
  apple_profile_uuid TEXT NULL
    REFERENCES mdm_apple_configuration_profiles (profile_uuid) ON DELETE CASCADE,
  label_name         TEXT NOT NULL,
  label_id           INTEGER NULL REFERENCES labels (id) ON DELETE SET NULL,
  exclude            INTEGER NOT NULL DEFAULT 0,
  require_all        INTEGER NOT NULL DEFAULT 0,
  UNIQUE (apple_profile_uuid, label_name)
);
CREATE TABLE host_mdm_apple_profiles (
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
);

-- migration 2 (PRAGMA user_version = 2)
CREATE INDEX idx_hosts_uuid ON hosts (uuid);
CREATE INDEX idx_hosts_platform ON hosts (platform);
CREATE INDEX idx_hosts_team_id ON hosts (team_id);
CREATE INDEX idx_nano_enrollments_device_id ON nano_enrollments (device_id);
CREATE INDEX idx_label_membership_label_id ON label_membership (label_id);
CREATE INDEX idx_host_mdm_apple_profiles_status ON host_mdm_apple_profiles (status);
CREATE INDEX idx_host_mdm_apple_profiles_operation_type ON host_mdm_apple_profiles (operation_type);


INSERT INTO hosts (id, uuid, hostname, platform, team_id, label_updated_at) VALUES (209, '06F30E9D-E891-4FC9-9B97-DD7343C77B0F', 'Talon''s MacBook Pro', 'darwin', 2, '2026-05-31 18:45:49');
INSERT INTO nano_devices (id, authenticate_at) VALUES ('06F30E9D-E891-4FC9-9B97-DD7343C77B0F', '2026-05-14 10:39:20');
INSERT INTO nano_enrollments (id, device_id, user_id, type, enabled) VALUES ('06F30E9D-E891-4FC9-9B97-DD7343C77B0F', '06F30E9D-E891-4FC9-9B97-DD7343C77B0F', NULL, 'Device', 1);
INSERT INTO labels (id, name, label_membership_type, created_at) VALUES (15, 'Michelle team', 1, NULL);
INSERT INTO mdm_apple_configuration_profiles (profile_uuid, team_id, identifier, name, checksum, secrets_updated_at, scope, uploaded_at) VALUES ('a982d0593-a84b-4f89-9396-0351fc49deab', 2, 'com.greenfelderandbergstromandsons.vpn', 'VPN – Greenfelder and Bergstrom and Sons', x'c775244192ede2afc45d17aa88722774', '2026-05-20 23:00:20.000000', 'System', '2025-08-23 11:10:58');
INSERT INTO mdm_configuration_profile_labels (id, apple_profile_uuid, label_name, label_id, exclude, require_all) VALUES (69, 'a982d0593-a84b-4f89-9396-0351fc49deab', 'Michelle team', 15, 0, 0);
INSERT INTO mdm_configuration_profile_labels (id, apple_profile_uuid, label_name, label_id, exclude, require_all) VALUES (70, 'a982d0593-a84b-4f89-9396-0351fc49deab', 'solutions users', NULL, 1, 0);
INSERT INTO label_membership (label_id, host_id) VALUES (15, 209);
