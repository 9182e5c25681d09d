//! Whether two loadtest runs have the same results, timings aside (issue 11): what a resumed
//! run must share with the uninterrupted one, and two runs of one seed with each other. Read
//! from the run folders by column name:
//! - `ticks.csv`: every column but `duration_us`;
//! - `convergence.csv`, `equivalence.csv`, `findings.csv`: every column (virtual time only);
//! - `summary.csv`: `path`, `phase`, `count`, and every column of virtual-clock rows;
//! - `manifest.json`: `events` and `equivalence_verdict`.

use crate::report::manifest::Manifest;
use std::path::Path;

/// The files compared, in the order differences are reported.
pub const FILES: [&str; 6] = [
    "ticks.csv",
    "convergence.csv",
    "equivalence.csv",
    "findings.csv",
    "summary.csv",
    "manifest.json",
];

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}: {detail}")]
    Bad { file: String, detail: String },
}

/// The rows of a CSV file that must match, as text lines.
fn csv_rows(file: &Path, name: &str) -> Result<Vec<String>, IdentityError> {
    let shown = file.display().to_string();
    let bad = |detail: String| IdentityError::Bad {
        file: shown.clone(),
        detail,
    };
    let text = std::fs::read_to_string(file).map_err(|source| IdentityError::Read {
        file: shown.clone(),
        source,
    })?;
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = r
        .headers()
        .map_err(|e| bad(e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    let col = |n: &str| header.iter().position(|h| h == n);
    let mut out = vec![header.join(",")];
    for rec in r.records() {
        let rec = rec.map_err(|e| bad(e.to_string()))?;
        let keep: Vec<&str> = match name {
            "ticks.csv" => {
                let skip = col("duration_us");
                rec.iter()
                    .enumerate()
                    .filter(|(i, _)| Some(*i) != skip)
                    .map(|(_, v)| v)
                    .collect()
            }
            "summary.csv" => {
                let virtual_clock = col("clock").and_then(|i| rec.get(i)) == Some("virtual");
                if virtual_clock {
                    rec.iter().collect()
                } else {
                    ["path", "phase", "count"]
                        .iter()
                        .map(|n| col(n).and_then(|i| rec.get(i)).unwrap_or(""))
                        .collect()
                }
            }
            _ => rec.iter().collect(),
        };
        out.push(keep.join(","));
    }
    Ok(out)
}

/// The manifest's fields that must match.
fn manifest_rows(file: &Path) -> Result<Vec<String>, IdentityError> {
    let m = Manifest::read(file).map_err(|e| IdentityError::Bad {
        file: file.display().to_string(),
        detail: e.to_string(),
    })?;
    let json = |v: serde_json::Result<String>| v.unwrap_or_default();
    Ok(vec![
        format!("events {}", json(serde_json::to_string(&m.events))),
        format!(
            "equivalence_verdict {}",
            json(serde_json::to_string(&m.equivalence_verdict))
        ),
    ])
}

/// The differences between runs `a` and `b`: one line per file that differs, naming the first
/// differing row (empty: identical).
pub fn differences(a: &Path, b: &Path) -> Result<Vec<String>, IdentityError> {
    let mut diffs = Vec::new();
    for name in FILES {
        let read = |dir: &Path| {
            let f = dir.join(name);
            if name.ends_with(".json") {
                manifest_rows(&f)
            } else {
                csv_rows(&f, name)
            }
        };
        let (ra, rb) = (read(a)?, read(b)?);
        if ra == rb {
            continue;
        }
        let i = ra
            .iter()
            .zip(&rb)
            .position(|(x, y)| x != y)
            .unwrap_or(ra.len().min(rb.len()));
        let none = "(none)".to_string();
        diffs.push(format!(
            "{name}: {} vs {} rows; first difference at row {i}: {:?} vs {:?}",
            ra.len(),
            rb.len(),
            ra.get(i).unwrap_or(&none),
            rb.get(i).unwrap_or(&none)
        ));
    }
    Ok(diffs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &Path, duration: &str, installs: &str, verdict: &str) {
        std::fs::create_dir_all(dir).unwrap();
        let w = |n: &str, t: &str| std::fs::write(dir.join(n), t).unwrap();
        w(
            "ticks.csv",
            &format!("path,tick,duration_us,installs\nbatched,0,{duration},{installs}\n"),
        );
        w("convergence.csv", "path,latency_s\nbatched,30\n");
        w("equivalence.csv", "class,pairs\nequal,3\n");
        w("findings.csv", "path,kind\n");
        w(
            "summary.csv",
            &format!(
                "path,phase,count,p50_us,clock\nbatched,tick,1,{duration},wall\nbatched,convergence,1,30000000,virtual\n"
            ),
        );
        w(
            "manifest.json",
            &format!(
                "{{\"events\":{{\"membership_flip\":2}},\"equivalence_verdict\":\"{verdict}\",\"wall_s\":{duration}}}"
            ),
        );
    }

    #[test]
    fn timings_do_not_count_results_do() {
        let d = tempfile::tempdir().unwrap();
        let (a, b, c) = (d.path().join("a"), d.path().join("b"), d.path().join("c"));
        run(&a, "100", "5", "ok");
        run(&b, "999", "5", "ok");
        run(&c, "100", "6", "differs");
        assert!(differences(&a, &b).unwrap().is_empty());
        let diffs = differences(&a, &c).unwrap();
        assert_eq!(diffs.len(), 2, "{diffs:?}");
        assert_eq!(
            diffs[0],
            "ticks.csv: 2 vs 2 rows; first difference at row 1: \"batched,0,5\" vs \"batched,0,6\""
        );
        assert!(diffs[1].starts_with("manifest.json:"), "{diffs:?}");
        let e = differences(&a, &d.path().join("missing")).unwrap_err();
        assert!(e.to_string().contains("missing/ticks.csv"), "{e}");
    }
}
