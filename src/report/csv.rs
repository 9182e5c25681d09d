//! Result files: CSV bytes built in memory (pure, testable), written atomically (a temp file
//! in the same directory, then a rename), so a reader never sees half a file.

use crate::analysis::equivalence::{Divergence, ops_text};
use crate::domain::model::Delta;

/// Header of `diff` output.
pub const DIFF_HEADER: [&str; 3] = ["host_uuid", "profile_uuid", "operation"];
/// Header of `divergences.csv`.
pub const DIVERGENCES_HEADER: [&str; 8] = [
    "host_uuid",
    "profile_uuid",
    "legacy_op",
    "batched_op",
    "class",
    "legacy_why",
    "batched_why",
    "current_row",
];

/// `diff` CSV: de-duplicated, sorted by (host_uuid, profile_uuid, operation).
pub fn diff_csv(deltas: &[Delta]) -> csv::Result<Vec<u8>> {
    let mut v: Vec<&Delta> = deltas.iter().collect();
    v.sort();
    v.dedup();
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(DIFF_HEADER)?;
    for d in v {
        w.write_record([&*d.host_uuid, &*d.profile_uuid, &d.op.to_string()])?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// `divergences.csv` (one row per divergent pair, in (host_uuid, profile_uuid) order) written
/// row by row as the comparison classifies them (`compare` at fleet
/// scale never holds them all), into a temp file renamed into place by `finish`.
pub struct DivergenceWriter {
    w: csv::Writer<AtomicFile>,
}

impl DivergenceWriter {
    pub fn create(path: &std::path::Path) -> csv::Result<DivergenceWriter> {
        let mut w = csv::Writer::from_writer(AtomicFile::create(path)?);
        w.write_record(DIVERGENCES_HEADER)?;
        Ok(DivergenceWriter { w })
    }

    pub fn write(&mut self, d: &Divergence) -> csv::Result<()> {
        let (legacy, batched, class) = (
            ops_text(&d.legacy),
            ops_text(&d.batched),
            d.class.to_string(),
        );
        self.w.write_record([
            d.host_uuid.as_str(),
            &d.profile_uuid,
            &legacy,
            &batched,
            &class,
            &d.explanation.legacy,
            &d.explanation.batched,
            &d.explanation.current_row,
        ])
    }

    /// Flushes and renames the file into place.
    pub fn finish(self) -> csv::Result<()> {
        let file = self.w.into_inner().map_err(|e| e.into_error())?;
        Ok(file.commit()?)
    }
}

use crate::support::files::AtomicFile;
pub use crate::support::files::write_atomic;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::Op;

    #[test]
    fn diff_csv_is_sorted_and_deduplicated() {
        let d = vec![
            Delta::new("B", "a2", Op::Remove),
            Delta::new("A", "a9", Op::Install),
            Delta::new("B", "a2", Op::Install),
            Delta::new("A", "a9", Op::Install),
        ];
        let text = String::from_utf8(diff_csv(&d).unwrap()).unwrap();
        assert_eq!(
            text,
            "host_uuid,profile_uuid,operation\nA,a9,install\nB,a2,install\nB,a2,remove\n"
        );
    }
}
