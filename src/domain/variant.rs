//! The batched path's versions of spec §8, selectable by name (`--variant`, the scenario's
//! `run.variant`): each is a preset of behaviours, and the §6 rules can still be overridden one
//! by one afterwards.
//!
//! | version | catalog `label_created_at` | cursor-write failure | window | timing rule | D7 |
//! |---|---|---|---|---|---|
//! | `seed` | `COALESCE(lbl.created_at, '2000-01-01 00:00:00')` (B1) | logged, tick ok (B3) | uuid paging (B4) | every non-manual label (B6) | off |
//! | `merged` (default) | `lbl.created_at` | logged, tick ok (B3) | uuid paging (B4) | B6 | off |
//! | `dedupe` | `lbl.created_at` | logged, tick ok (B3) | `uuid, id DESC`, one row per uuid; "full" after de-duplication (B5) | B6 | off |
//! | `latest` | `lbl.created_at` | fails the tick | as dedupe, "full" before de-duplication | dynamic labels only | on |
//! | `drain` | `lbl.created_at` | logged, tick ok (B3) | as latest, many windows a tick (semantics §10) | dynamic labels only | on |

crate::support::named::named_enum!(
    "lowercase",
    /// A version of the batched path (spec §8).
    #[derive(Default)]
    pub enum Variant {
        /// The first draft: B1, B3, B4.
        Seed,
        /// The catalog selects `lbl.created_at` itself: B3, B4.
        #[default]
        Merged,
        /// Window ordered `uuid, id DESC`, de-duplicated by uuid: B3, B5.
        Dedupe,
        /// Every fix: none of B1–B6.
        Latest,
        /// Fleet's current design (semantics §10): `latest`'s reads and handlers in a drain
        /// loop of many windows per tick (`paths::drain`); a failed cursor write is swallowed
        /// again (B3).
        Drain,
    }
);

impl Variant {
    /// `s` (spaces around it ignored), or a message listing the known variants.
    pub fn parse(s: &str) -> Result<Variant, String> {
        crate::support::named::parse("variant", s.trim())
    }

    /// B1: the catalog's created_at goes through COALESCE and loses its declared type.
    pub fn coalesced_created_at(self) -> bool {
        self == Variant::Seed
    }

    /// B3: a failed cursor write is logged and the tick reports success.
    pub fn swallows_cursor_write_errors(self) -> bool {
        self != Variant::Latest
    }

    /// Many windows per tick under a delivery cap and a scan budget (`paths::drain`).
    pub fn drains(self) -> bool {
        self == Variant::Drain
    }

    /// The window is ordered `uuid, id DESC` and keeps one row (the highest id) per uuid.
    pub fn dedupes_window(self) -> bool {
        matches!(self, Variant::Dedupe | Variant::Latest | Variant::Drain)
    }

    /// B5: "page full" is decided after de-duplication.
    pub fn full_after_dedupe(self) -> bool {
        self == Variant::Dedupe
    }

    /// B6 fixed: only dynamic labels (type 0) are timing-checked.
    pub fn timing_dynamic_only(self) -> bool {
        matches!(self, Variant::Latest | Variant::Drain)
    }

    /// D7 preset: `host_mdm.enrolled = 1` required.
    pub fn requires_enrolled(self) -> bool {
        matches!(self, Variant::Latest | Variant::Drain)
    }

    /// The bugs of spec §8 this version carries (B2 follows from B1; B6 from the timing rule).
    pub fn carries(self) -> &'static [&'static str] {
        match self {
            Variant::Seed => &["B1", "B2", "B3", "B4", "B6"],
            Variant::Merged => &["B3", "B4", "B6"],
            Variant::Dedupe => &["B3", "B5", "B6"],
            Variant::Latest => &[],
            Variant::Drain => &["B3"],
        }
    }

    /// Applies the version's presets to a set of rules (D7, and the B6 fix).
    pub fn preset(self, rules: &mut crate::domain::rules::Rules) {
        if self.requires_enrolled() {
            rules.d7_require_enrolled = true;
        }
        rules.b6_fixed = self.timing_dynamic_only();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_version_carries_its_bugs() {
        assert!(Variant::Seed.coalesced_created_at());
        assert!(!Variant::Merged.coalesced_created_at());
        assert!(Variant::Dedupe.full_after_dedupe() && Variant::Dedupe.dedupes_window());
        assert!(Variant::Latest.dedupes_window() && !Variant::Latest.full_after_dedupe());
        assert!(!Variant::Latest.swallows_cursor_write_errors());
        assert!(
            Variant::ALL[..3]
                .iter()
                .all(|v| v.swallows_cursor_write_errors())
        );
        assert_eq!(Variant::default(), Variant::Merged);
        // drain: latest's reads and handlers, B3 again.
        assert!(Variant::Drain.swallows_cursor_write_errors() && Variant::Drain.drains());
        assert!(Variant::Drain.dedupes_window() && !Variant::Drain.full_after_dedupe());
        assert_eq!(Variant::Drain.carries(), ["B3"]);
    }

    #[test]
    fn names_parse_and_unknown_ones_are_refused() {
        for &v in Variant::ALL {
            assert_eq!(Variant::parse(v.name()).unwrap(), v);
            assert_eq!(v.to_string(), v.name());
        }
        assert_eq!(
            Variant::parse("newest").unwrap_err(),
            "unknown variant \"newest\" (known: seed, merged, dedupe, latest, drain)"
        );
    }

    #[test]
    fn latest_presets_d7_and_the_b6_fix() {
        let mut r = crate::domain::rules::Rules::default();
        Variant::Latest.preset(&mut r);
        assert!(r.d7_require_enrolled && r.b6_fixed);
        let mut r = crate::domain::rules::Rules::default();
        Variant::Drain.preset(&mut r);
        assert!(r.d7_require_enrolled && r.b6_fixed);
        let mut r = crate::domain::rules::Rules::default();
        Variant::Dedupe.preset(&mut r);
        assert!(!r.d7_require_enrolled && !r.b6_fixed);
    }
}
