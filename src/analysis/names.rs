//! The kinds of liveness finding (`findings.csv`'s `kind` column), as one enum: serialised by
//! name, shown by name, listed in the order reports list them.

crate::support::named::named_enum!(
    "snake_case",
    /// What the liveness monitor found (semantics §8).
    pub enum FindingKind {
        StuckCursor,
        CursorNotAdvancing,
        StarvedHosts,
        SkippedHosts,
        EarlyWrap,
        RevisitedHosts,
    }
);

impl FindingKind {
    /// `name` parsed, or a message listing the known kinds.
    pub fn parse(s: &str) -> Result<FindingKind, String> {
        crate::support::named::parse("finding", s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_by_name_in_serde_and_text() {
        for &k in FindingKind::ALL {
            assert_eq!(FindingKind::parse(k.name()).unwrap(), k);
            assert_eq!(k.to_string(), k.name());
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.name()));
        }
        assert!(
            FindingKind::parse("stuck")
                .unwrap_err()
                .contains("known: stuck_cursor")
        );
    }
}
