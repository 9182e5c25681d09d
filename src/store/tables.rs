//! The one definition of the schema (semantics §1): every table, column, key, foreign key and
//! secondary index, as data. The SQLite migrations, the MySQL DDL, the contract check, the key
//! list of the mirror and the MySQL loader's column types are all rendered from it, so the two
//! dialects cannot drift apart.

/// A column's type, rendered per dialect (SQLite affinity / Fleet's MySQL type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// `INTEGER` / `INT UNSIGNED`.
    Int,
    /// `TEXT` / `VARCHAR(n)`.
    Str(u16),
    /// `TEXT` / `TEXT`.
    LongText,
    /// `INTEGER` / `TINYINT(1)`.
    Bool,
    /// An MD5 checksum: `BLOB` / `BINARY(16)`.
    Md5,
    /// Second precision, `YYYY-MM-DD HH:MM:SS`: `TIMESTAMP` / `TIMESTAMP`.
    Timestamp,
    /// Microsecond precision: `DATETIME` / `DATETIME(6)`.
    Micros,
}

/// A column's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    None,
    /// A literal, as SQL (`''`, `0`, `'System'`).
    Value(&'static str),
    /// MySQL only: `DEFAULT CURRENT_TIMESTAMP` (a `TIMESTAMP NOT NULL` column needs a default
    /// there; SQLite has none, as the generator always writes the column).
    ServerNow,
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColType,
    pub null: bool,
    pub default: Default,
    /// MySQL `AUTO_INCREMENT` (SQLite's `INTEGER PRIMARY KEY` is its rowid, which already is).
    pub auto: bool,
    /// The reconcilers read it: `schema::check_values` checks its values' types (timestamps:
    /// their formats) before any of them runs.
    pub checked: bool,
    /// The only values it may hold besides NULL (empty: any of its type).
    pub one_of: &'static [&'static str],
}

impl Column {
    /// The same column, its values checked before a reconciler runs.
    pub const fn checked(self) -> Column {
        Column {
            checked: true,
            ..self
        }
    }

    /// The same column, checked to hold one of `values` or NULL.
    pub const fn one_of(self, values: &'static [&'static str]) -> Column {
        Column {
            checked: true,
            one_of: values,
            ..self
        }
    }

    /// The SQL condition a bad value of the column meets, and what the value should be.
    pub fn bad_value(&self) -> (String, String) {
        let c = self.name;
        if !self.one_of.is_empty() {
            let list: Vec<String> = self.one_of.iter().map(|v| format!("'{v}'")).collect();
            return (
                format!(
                    "{c} IS NOT NULL AND (typeof({c}) != 'text' OR {c} NOT IN ({}))",
                    list.join(", ")
                ),
                format!("one of NULL, {} (semantics §1)", list.join(", ")),
            );
        }
        let (sqlite, what) = match self.ty {
            Int | Bool => ("integer", "an integer"),
            Str(_) | LongText => ("text", "text"),
            Md5 => ("blob", "a BLOB (binary checksum)"),
            Timestamp | Micros => ("text", "a timestamp"),
        };
        if self.null {
            (
                format!("typeof({c}) NOT IN ('{sqlite}', 'null')"),
                format!("{what} or NULL"),
            )
        } else {
            (format!("typeof({c}) != '{sqlite}'"), what.to_string())
        }
    }
}

/// A foreign key on one column.
#[derive(Debug, Clone, Copy)]
pub struct Foreign {
    /// MySQL's constraint name.
    pub name: &'static str,
    pub column: &'static str,
    pub table: &'static str,
    pub references: &'static str,
    pub on_delete: &'static str,
}

/// A named key: a unique key of the table or a secondary index.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    pub name: &'static str,
    pub columns: &'static [&'static str],
}

#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [Column],
    pub primary: &'static [&'static str],
    pub unique: &'static [Key],
    pub foreign: &'static [Foreign],
    /// Secondary indexes, built after a bulk load (migration 2 on SQLite).
    pub indexes: &'static [Key],
    /// SQLite: stored as its key (`WITHOUT ROWID`), as InnoDB clusters it.
    pub without_rowid: bool,
    /// Part of the contract a database must meet (semantics §1); `reconsim_meta` is not.
    pub contract: bool,
    /// Rendered on one line (`reconsim_meta`, as the generator has always written it).
    pub one_line: bool,
    /// What a row is called in messages, before its key (`host` → `host id 17`).
    pub noun: &'static str,
}

const fn col(name: &'static str, ty: ColType) -> Column {
    Column {
        name,
        ty,
        null: false,
        default: Default::None,
        auto: false,
        checked: false,
        one_of: &[],
    }
}

const fn nullable(name: &'static str, ty: ColType) -> Column {
    Column {
        null: true,
        ..col(name, ty)
    }
}

const fn with_default(name: &'static str, ty: ColType, value: &'static str) -> Column {
    Column {
        default: Default::Value(value),
        ..col(name, ty)
    }
}

const fn auto(name: &'static str) -> Column {
    Column {
        auto: true,
        ..col(name, ColType::Int)
    }
}

const fn key(name: &'static str, columns: &'static [&'static str]) -> Key {
    Key { name, columns }
}

const fn table(name: &'static str, columns: &'static [Column]) -> Table {
    Table {
        name,
        columns,
        primary: &["id"],
        unique: &[],
        foreign: &[],
        indexes: &[],
        without_rowid: false,
        contract: true,
        one_line: false,
        noun: "",
    }
}

use ColType::*;

/// Every table, parents first (the order tables are created, loaded and checked).
pub const TABLES: &[Table] = &[
    Table {
        unique: &[key("idx_teams_name", &["name"])],
        ..table("teams", &[col("id", Int), col("name", Str(255))])
    },
    Table {
        indexes: &[
            key("idx_hosts_uuid", &["uuid"]),
            key("idx_hosts_platform", &["platform"]),
            key("idx_hosts_team_id", &["team_id"]),
        ],
        noun: "host ",
        ..table(
            "hosts",
            &[
                auto("id").checked(),
                with_default("uuid", Str(255), "''").checked(),
                with_default("hostname", Str(255), "''"),
                with_default("platform", Str(255), "''").checked(),
                nullable("team_id", Int).checked(),
                with_default("label_updated_at", Timestamp, "'2000-01-01 00:00:00'").checked(),
            ],
        )
    },
    table(
        "nano_devices",
        &[
            col("id", Str(255)),
            Column {
                default: Default::ServerNow,
                ..col("authenticate_at", Timestamp)
            },
        ],
    ),
    Table {
        indexes: &[key("idx_nano_enrollments_device_id", &["device_id"])],
        ..table(
            "nano_enrollments",
            &[
                col("id", Str(255)),
                col("device_id", Str(255)).checked(),
                nullable("user_id", Str(255)),
                col("type", Str(255)).checked(),
                with_default("enabled", Bool, "1").checked(),
            ],
        )
    },
    Table {
        primary: &["host_id"],
        ..table(
            "host_mdm",
            &[
                col("host_id", Int),
                with_default("enrolled", Bool, "0").checked(),
            ],
        )
    },
    Table {
        unique: &[key("idx_label_unique_name", &["name"])],
        noun: "label ",
        ..table(
            "labels",
            &[
                auto("id"),
                col("name", Str(255)),
                with_default("label_membership_type", Int, "0").checked(),
                nullable("created_at", Timestamp).checked(),
            ],
        )
    },
    Table {
        primary: &["host_id", "label_id"],
        indexes: &[key("idx_label_membership_label_id", &["label_id"])],
        without_rowid: true,
        ..table(
            "label_membership",
            &[col("label_id", Int), col("host_id", Int)],
        )
    },
    Table {
        primary: &["profile_uuid"],
        unique: &[
            key(
                "idx_mdm_apple_config_prof_team_identifier",
                &["team_id", "identifier"],
            ),
            key("idx_mdm_apple_config_prof_team_name", &["team_id", "name"]),
        ],
        ..table(
            "mdm_apple_configuration_profiles",
            &[
                col("profile_uuid", Str(37)).checked(),
                with_default("team_id", Int, "0").checked(),
                col("identifier", Str(255)),
                col("name", Str(255)),
                col("checksum", Md5).checked(),
                nullable("secrets_updated_at", Micros).checked(),
                with_default("scope", Str(31), "'System'"),
                nullable("uploaded_at", Timestamp),
            ],
        )
    },
    Table {
        unique: &[key(
            "idx_mdm_configuration_profile_labels_apple_label_name",
            &["apple_profile_uuid", "label_name"],
        )],
        foreign: &[
            Foreign {
                name: "mdm_configuration_profile_labels_ibfk_1",
                column: "apple_profile_uuid",
                table: "mdm_apple_configuration_profiles",
                references: "profile_uuid",
                on_delete: "CASCADE",
            },
            Foreign {
                name: "mdm_configuration_profile_labels_ibfk_3",
                column: "label_id",
                table: "labels",
                references: "id",
                on_delete: "SET NULL",
            },
        ],
        ..table(
            "mdm_configuration_profile_labels",
            &[
                auto("id"),
                nullable("apple_profile_uuid", Str(37)),
                col("label_name", Str(255)).checked(),
                nullable("label_id", Int).checked(),
                with_default("exclude", Bool, "0").checked(),
                with_default("require_all", Bool, "0").checked(),
            ],
        )
    },
    Table {
        primary: &["host_uuid", "profile_uuid"],
        indexes: &[
            key("idx_host_mdm_apple_profiles_status", &["status"]),
            key(
                "idx_host_mdm_apple_profiles_operation_type",
                &["operation_type"],
            ),
        ],
        ..table(
            "host_mdm_apple_profiles",
            &[
                col("host_uuid", Str(255)).checked(),
                col("profile_uuid", Str(37)).checked(),
                col("profile_identifier", Str(255)),
                with_default("profile_name", Str(255), "''"),
                nullable("status", Str(20)).one_of(&["pending", "verifying", "verified", "failed"]),
                nullable("operation_type", Str(20)).one_of(&["install", "remove"]),
                nullable("detail", LongText),
                with_default("command_uuid", Str(127), "''"),
                col("checksum", Md5).checked(),
                nullable("secrets_updated_at", Micros).checked(),
                with_default("ignore_error", Bool, "0"),
                with_default("scope", Str(31), "'System'"),
            ],
        )
    },
    Table {
        primary: &["key"],
        contract: false,
        one_line: true,
        ..table(
            "reconsim_meta",
            &[col("key", Str(64)), col("value", LongText)],
        )
    },
];

/// The contract tables (semantics §1), parents first.
pub fn contract() -> impl Iterator<Item = &'static Table> {
    TABLES.iter().filter(|t| t.contract)
}

/// A table by name.
pub fn get(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn column_names(&self) -> Vec<&'static str> {
        self.columns.iter().map(|c| c.name).collect()
    }
}

/// A SQL dialect the schema renders to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Mysql,
}

/// Fleet's table options on MySQL: InnoDB, utf8mb4, `utf8mb4_unicode_ci`.
pub const MYSQL_TABLE_OPTS: &str =
    "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci";

/// SQLite's inline foreign keys wrap onto their own line past this width.
const SQLITE_LINE: usize = 96;

impl Dialect {
    fn ty(self, t: ColType) -> String {
        match (self, t) {
            (Dialect::Sqlite, Int | Bool) => "INTEGER".into(),
            (Dialect::Sqlite, Str(_) | LongText) => "TEXT".into(),
            (Dialect::Sqlite, Md5) => "BLOB".into(),
            (Dialect::Sqlite, Micros) => "DATETIME".into(),
            (_, Timestamp) => "TIMESTAMP".into(),
            (Dialect::Mysql, Int) => "INT UNSIGNED".into(),
            (Dialect::Mysql, Bool) => "TINYINT(1)".into(),
            (Dialect::Mysql, Str(n)) => format!("VARCHAR({n})"),
            (Dialect::Mysql, LongText) => "TEXT".into(),
            (Dialect::Mysql, Md5) => "BINARY(16)".into(),
            (Dialect::Mysql, Micros) => "DATETIME(6)".into(),
        }
    }

    /// A column or table name; MySQL quotes its reserved words (`key`, `value`).
    pub fn name(self, n: &str) -> String {
        match (self, n) {
            (Dialect::Mysql, "key" | "value") => format!("`{n}`"),
            _ => n.to_string(),
        }
    }

    /// One `CREATE TABLE` statement, without the trailing `;`.
    pub fn create_table(self, t: &Table) -> String {
        let width = t.columns.iter().map(|c| self.name(c.name).len()).max();
        let width = width.unwrap_or(0) + 1;
        let single_pk = (t.primary.len() == 1).then(|| t.primary[0]);
        let mut lines: Vec<String> = t
            .columns
            .iter()
            .map(|c| self.column(t, c, single_pk, if t.one_line { 0 } else { width }))
            .collect();
        let list = |cols: &[&str]| {
            cols.iter()
                .map(|c| self.name(c))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Dialect::Sqlite => {
                if single_pk.is_none() {
                    lines.push(format!("PRIMARY KEY ({})", list(t.primary)));
                }
                for u in t.unique.iter().filter(|u| u.columns.len() > 1) {
                    lines.push(format!("UNIQUE ({})", list(u.columns)));
                }
            }
            Dialect::Mysql => {
                lines.push(format!("PRIMARY KEY ({})", list(t.primary)));
                for u in t.unique {
                    lines.push(format!("UNIQUE KEY {} ({})", u.name, list(u.columns)));
                }
                for f in t.foreign {
                    lines.push(format!(
                        "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}) ON DELETE {}",
                        f.name, f.column, f.table, f.references, f.on_delete
                    ));
                }
            }
        }
        let body = if t.one_line {
            lines.join(", ")
        } else {
            format!("\n  {}\n", lines.join(",\n  "))
        };
        let mut out = format!("CREATE TABLE {} ({body})", t.name);
        match self {
            Dialect::Sqlite if t.without_rowid => out.push_str(" WITHOUT ROWID"),
            Dialect::Sqlite => {}
            Dialect::Mysql => {
                out.push(' ');
                out.push_str(MYSQL_TABLE_OPTS);
            }
        }
        out
    }

    fn column(self, t: &Table, c: &Column, single_pk: Option<&str>, width: usize) -> String {
        let name = self.name(c.name);
        let mut s = format!("{name:<width$}");
        if width == 0 {
            s.push(' ');
        }
        s.push_str(&self.ty(c.ty));
        let inline_pk = self == Dialect::Sqlite && single_pk == Some(c.name);
        if inline_pk {
            s.push_str(" PRIMARY KEY");
        } else {
            s.push_str(if c.null { " NULL" } else { " NOT NULL" });
        }
        if self == Dialect::Mysql && c.auto {
            s.push_str(" AUTO_INCREMENT");
        }
        match (self, c.default) {
            (_, Default::Value(v)) => {
                s.push_str(" DEFAULT ");
                s.push_str(v);
            }
            (Dialect::Mysql, Default::ServerNow) => s.push_str(" DEFAULT CURRENT_TIMESTAMP"),
            // MySQL would give a nullable TIMESTAMP an automatic default; Fleet's says NULL.
            (Dialect::Mysql, Default::None) if c.null && c.ty == Timestamp => {
                s.push_str(" DEFAULT NULL")
            }
            _ => {}
        }
        if self == Dialect::Sqlite {
            if t.unique
                .iter()
                .any(|u| u.columns.len() == 1 && u.columns[0] == c.name)
            {
                s.push_str(" UNIQUE");
            }
            if let Some(f) = t.foreign.iter().find(|f| f.column == c.name) {
                let reference = format!(
                    "REFERENCES {} ({}) ON DELETE {}",
                    f.table, f.references, f.on_delete
                );
                // "  " + the line + ","
                if 2 + s.len() + 1 + reference.len() + 1 > SQLITE_LINE {
                    s.push_str("\n    ");
                } else {
                    s.push(' ');
                }
                s.push_str(&reference);
            }
        }
        s
    }

    /// One `CREATE INDEX` statement, without the trailing `;`.
    pub fn create_index(self, t: &Table, k: &Key) -> String {
        let cols: Vec<String> = k.columns.iter().map(|c| self.name(c)).collect();
        format!(
            "CREATE INDEX {} ON {} ({})",
            k.name,
            t.name,
            cols.join(", ")
        )
    }

    /// The `CREATE TABLE` statements of `tables`.
    pub fn tables<'a>(self, tables: impl Iterator<Item = &'a Table>) -> Vec<String> {
        tables.map(|t| self.create_table(t)).collect()
    }

    /// Every secondary index, in table order.
    pub fn indexes(self) -> Vec<String> {
        TABLES
            .iter()
            .flat_map(|t| t.indexes.iter().map(move |k| self.create_index(t, k)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_dialects_render_every_table_and_index() {
        for d in [Dialect::Sqlite, Dialect::Mysql] {
            let tables = d.tables(TABLES.iter());
            assert_eq!(tables.len(), TABLES.len());
            assert_eq!(d.indexes().len(), 7);
        }
        let my = Dialect::Mysql.create_table(get("reconsim_meta").unwrap());
        assert!(my.contains("`key` VARCHAR(64) NOT NULL"), "{my}");
        let lite = Dialect::Sqlite.create_table(get("reconsim_meta").unwrap());
        assert_eq!(
            lite,
            "CREATE TABLE reconsim_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        );
    }

    #[test]
    fn the_dialects_differ_only_where_the_engines_do() {
        let t = get("mdm_configuration_profile_labels").unwrap();
        let lite = Dialect::Sqlite.create_table(t);
        let my = Dialect::Mysql.create_table(t);
        assert!(
            lite.contains(
                "label_id           INTEGER NULL REFERENCES labels (id) ON DELETE SET NULL"
            ),
            "{lite}"
        );
        assert!(
            lite.contains("apple_profile_uuid TEXT NULL\n    REFERENCES"),
            "{lite}"
        );
        assert!(
            my.contains("id                 INT UNSIGNED NOT NULL AUTO_INCREMENT"),
            "{my}"
        );
        assert!(my.contains("FOREIGN KEY (label_id) REFERENCES labels (id) ON DELETE SET NULL"));
        let ts = Dialect::Mysql.create_table(get("labels").unwrap());
        assert!(
            ts.contains("created_at            TIMESTAMP NULL DEFAULT NULL"),
            "{ts}"
        );
    }
}
