//! Where a fleet lives (issue 6): an SQLite file (the embedded default) or a database on a
//! MySQL-compatible server, as `--backend sqlite:PATH` or `--backend mysql://USER:PASS@HOST:PORT/DB`.

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    Sqlite(PathBuf),
    /// The full URL, password included (shown without it).
    Mysql(String),
}

impl std::str::FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Backend, String> {
        if s == "sqlite" {
            // The loadtest's default: each path's own copy (no file named).
            Ok(Backend::Sqlite(PathBuf::new()))
        } else if let Some(path) = s.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err("sqlite: needs a file path (sqlite:PATH)".into());
            }
            Ok(Backend::Sqlite(PathBuf::from(path)))
        } else if s.starts_with("mysql://") {
            Ok(Backend::Mysql(s.to_string()))
        } else {
            Err(format!(
                "{s:?} is not a backend: expected sqlite:PATH (loadtest: sqlite) or \
                 mysql://USER:PASS@HOST:PORT/DB"
            ))
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Sqlite(p) if p.as_os_str().is_empty() => f.write_str("sqlite"),
            Backend::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            Backend::Mysql(url) => f.write_str(&shown_url(url)),
        }
    }
}

impl Backend {
    /// `sqlite` or `mysql`, for file names and report columns.
    pub fn kind(&self) -> &'static str {
        match self {
            Backend::Sqlite(_) => "sqlite",
            Backend::Mysql(_) => "mysql",
        }
    }
}

/// `mysql://user@host:port/db`, the password left out.
pub fn shown_url(url: &str) -> String {
    match url.split_once("://").and_then(|(s, rest)| {
        rest.split_once('@')
            .map(|(cred, host)| (s, cred.split(':').next().unwrap_or(""), host))
    }) {
        Some((scheme, user, host)) => format!("{scheme}://{user}@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_parse_and_show_without_passwords() {
        let b: Backend = "sqlite:fleet.db".parse().unwrap();
        assert_eq!(b, Backend::Sqlite("fleet.db".into()));
        let m: Backend = "mysql://u:pw@127.0.0.1:3306/db".parse().unwrap();
        assert_eq!(m.to_string(), "mysql://u@127.0.0.1:3306/db");
        assert_eq!(m.kind(), "mysql");
        assert!(
            "postgres://x"
                .parse::<Backend>()
                .unwrap_err()
                .contains("expected sqlite:PATH")
        );
        assert!("sqlite:".parse::<Backend>().is_err());
    }
}
