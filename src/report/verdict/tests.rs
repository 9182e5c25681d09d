//! Unit tests of the parent module.

use super::*;

fn row(tick: u32, class: &str, pairs: u64) -> EqRow {
    EqRow {
        path: "batched".into(),
        pass_start_tick: 0,
        tick,
        virtual_time_s: 0,
        class: class.into(),
        pairs,
        sample_host_uuid: String::new(),
        sample_profile_uuid: String::new(),
        legacy: Default::default(),
        batched: Default::default(),
        explanation: Default::default(),
    }
}

#[test]
fn equivalence_has_three_words() {
    let identical = Equivalence::of_rows(&[row(3, "equal", 10)], true);
    assert_eq!(identical.word(), "identical");
    let known = Equivalence::of_rows(
        &[
            row(3, "equal", 10),
            row(3, "D1", 4),
            row(7, "D1", 2),
            row(7, "lag", 1),
        ],
        true,
    );
    assert_eq!(known.word(), "diverges only in known classes");
    assert_eq!(
        known.text(),
        "diverges only in known classes at 2 pass boundaries: D1 6, lag 1 (pairs, summed)"
    );
    let bad = Equivalence::of_rows(&[row(3, "unexplained", 1200), row(3, "D5", 1)], true);
    assert_eq!(bad.word(), "unexplained");
    assert!(
        bad.text()
            .starts_with("unexplained: 1,200 pair(s) at 1 pass boundary")
    );
    assert_eq!(Equivalence::of_rows(&[], true), Equivalence::NoBoundary);
    assert_eq!(Equivalence::of_rows(&[], false), Equivalence::NotCompared);
}

#[test]
fn human_units_and_separators() {
    assert_eq!(thousands(528383), "528,383");
    assert_eq!(thousands(12), "12");
    assert_eq!(human_us(850.0), "850 µs");
    assert_eq!(human_us(31_700.0), "31.7 ms");
    assert_eq!(human_us(2_340_000.0), "2.34 s");
    assert_eq!(human_us(210e6), "3.5 min");
    assert_eq!(human_s(30), "30 s");
    assert_eq!(human_s(270), "4.5 min");
}
