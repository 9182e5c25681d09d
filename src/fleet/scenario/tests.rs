//! Unit tests of the parent module.

use super::*;

pub(crate) const QUICK: &str = include_str!("../../../scenarios/quick.toml");

fn err(text: &str) -> String {
    Scenario::parse(text, "s.toml").unwrap_err().to_string()
}

#[test]
fn shipped_scenarios_parse() {
    for text in [
        QUICK,
        include_str!("../../../scenarios/fleet-10k.toml"),
        include_str!("../../../scenarios/fleet-100k.toml"),
        include_str!("../../../scenarios/edge-cases.toml"),
    ] {
        Scenario::parse(text, "shipped").unwrap();
    }
}

#[test]
fn unknown_key_is_named_with_its_path_and_line() {
    let text = QUICK.replace("darwin = 0.70", "darwin = 0.70\nwindows = 0.1");
    let e = err(&text);
    assert!(e.starts_with("scenario s.toml:"), "{e}");
    assert!(e.contains("hosts.platforms"), "{e}");
    assert!(e.contains("unknown field `windows`"), "{e}");
    assert_eq!(e.lines().count(), 1);
}

#[test]
fn malformed_toml_gives_the_line() {
    let text = "description = \"x\"\n[run\nseed = 1\n";
    let e = err(text);
    assert!(e.starts_with("scenario s.toml:2:"), "{e}");
}

#[test]
fn rate_outside_unit_interval_is_named() {
    let text = QUICK.replace("stale_checksum_share = 0.02", "stale_checksum_share = 1.5");
    assert_eq!(
        err(&text),
        "scenario s.toml: key `current.stale_checksum_share`: rate 1.5 is outside [0, 1]"
    );
}

#[test]
fn zero_count_is_named() {
    let text = QUICK.replace("count = 2000", "count = 0");
    assert_eq!(
        err(&text),
        "scenario s.toml: key `hosts.count`: 0 must be greater than 0"
    );
}

#[test]
fn negative_count_is_a_type_error_naming_the_key() {
    let text = QUICK.replace("count = 2000", "count = -5");
    let e = err(&text);
    assert!(e.contains("key `hosts.count`"), "{e}");
}

#[test]
fn shares_that_do_not_sum_to_one_are_named() {
    let text = QUICK.replace("darwin = 0.70", "darwin = 0.60");
    let e = err(&text);
    assert!(
        e.starts_with("scenario s.toml: key `hosts.platforms`: shares sum to 0.9"),
        "{e}"
    );
}

#[test]
fn rules_are_read_and_bad_values_named() {
    let text = QUICK
        .replace("d1 = \"and\"", "d1 = \"or\"")
        .replace("d7 = \"off\"", "d7 = \"on\"");
    let r = Scenario::parse(&text, "q").unwrap().rules.rules().unwrap();
    assert!(r.d1_or && r.d7_require_enrolled && !r.d2_or);
    assert_eq!(
        err(&QUICK.replace("d2 = \"drop\"", "d2 = \"maybe\"")),
        "scenario s.toml: key `rules.d2`: d2 takes drop or or, not \"maybe\""
    );
    assert!(err(&QUICK.replace("d7 = \"off\"", "d6 = \"on\"")).contains("unknown field `d6`"));
    // Without a [rules] table, the shipped defaults.
    let bare = &QUICK[..QUICK.find("[rules]").unwrap()];
    let s = Scenario::parse(bare, "q").unwrap();
    assert_eq!(
        s.rules.rules().unwrap(),
        crate::domain::rules::Rules::default()
    );
}

#[test]
fn missing_file_names_the_file() {
    let e = Scenario::load(Path::new("/nonexistent/x.toml")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("scenario /nonexistent/x.toml: cannot read")
    );
}

#[test]
fn status_op_cells_are_in_declared_order() {
    let s = Scenario::parse(QUICK, "q").unwrap();
    let cells = s.current.status_op.cells();
    assert_eq!(cells[0].0, (Some("install"), None));
    assert_eq!(cells[3].0, (Some("install"), Some("verified")));
    assert_eq!(cells[14].0, (None, Some("failed")));
}

#[test]
fn drain_knobs_default_to_fleets_and_a_bad_budget_is_named() {
    let s = Scenario::parse(QUICK, "q").unwrap();
    let k = s.drain.knobs().unwrap();
    assert_eq!((k.window, k.cap), (2000, Some(2000)));
    let text = format!("{QUICK}\n[drain]\nwindow = 40\ncap = 0\nbudget = \"windows:3\"\n");
    let k = Scenario::parse(&text, "q").unwrap().drain.knobs().unwrap();
    assert_eq!(k.cap, None);
    assert_eq!(k.budget, crate::paths::drain::Budget::Windows(3));
    let e = err(&format!("{QUICK}\n[drain]\nbudget = \"soon\"\n"));
    assert!(e.contains("drain.budget") && e.contains("windows:K"), "{e}");
}

#[test]
fn every_shipped_scenario_parses() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut seen = 0;
    for dir in [root.clone(), root.join("bugs")] {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                let text = std::fs::read_to_string(&p).unwrap();
                Scenario::parse(&text, &p.display().to_string())
                    .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                seen += 1;
            }
        }
    }
    assert!(seen >= 21, "{seen} scenarios");
}
