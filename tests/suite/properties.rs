//! Property tests over small random fleets from the generator with random knobs.

use crate::util::reference::World;
use crate::util::scenario_text;
use proptest::prelude::*;
use reconsim::analysis::equivalence::{Classifier, by_pair, compare};
use reconsim::domain::model::Delta;
use reconsim::domain::rules::Rules;
use reconsim::fleet::generator::generate_into;
use reconsim::fleet::scenario::Scenario;
use reconsim::paths::batched::{self, BatchedConfig, load_profiles};
use reconsim::paths::legacy::{self, LegacySql};
use rusqlite::Connection;
use std::collections::BTreeSet;

#[derive(Debug, Clone)]
struct Knobs {
    seed: u64,
    hosts: u64,
    teams: u32,
    per_team: u32,
    dup: f64,
    empty: u64,
    recent: f64,
    broken: f64,
    null_created: f64,
    secrets: f64,
    batch: usize,
}

fn knobs() -> impl Strategy<Value = Knobs> {
    (
        any::<u64>(),
        20u64..90,
        0u32..3,
        2u32..8,
        0.0..0.3f64,
        0u64..3,
        0.0..0.5f64,
        0.0..0.3f64,
        0.0..0.3f64,
        0.0..0.6f64,
        1usize..40,
    )
        .prop_map(
            |(
                seed,
                hosts,
                teams,
                per_team,
                dup,
                empty,
                recent,
                broken,
                null_created,
                secrets,
                batch,
            )| Knobs {
                seed,
                hosts,
                teams,
                per_team,
                dup,
                empty,
                recent,
                broken,
                null_created,
                secrets,
                batch,
            },
        )
}

fn fleet(k: &Knobs) -> Connection {
    let mut s = Scenario::parse(&scenario_text("edge-cases.toml"), "edge-cases.toml").unwrap();
    s.run.seed = k.seed;
    s.hosts.count = k.hosts;
    s.hosts.teams = k.teams;
    s.profiles.per_team = k.per_team;
    s.hosts.duplicate_uuid_rate = k.dup;
    s.hosts.empty_uuid_count = k.empty;
    s.labels.recent_share = k.recent;
    s.labels.broken_share = k.broken;
    s.labels.null_created_at_share = k.null_created;
    s.profiles.secrets_share = k.secrets;
    s.current.deleted_hosts = 2;
    let mut conn = Connection::open_in_memory().unwrap();
    generate_into(&mut conn, &s, &reconsim::support::progress::Silent).unwrap();
    conn
}

fn sorted(mut v: Vec<Delta>) -> Vec<Delta> {
    v.sort();
    v
}

fn pass(conn: &Connection, rules: Rules, batch: usize) -> batched::PassResult {
    batched::full_pass(
        conn,
        &BatchedConfig {
            batch_size: batch,
            rules,
            variant: Default::default(),
        },
    )
    .unwrap()
}

fn classes(conn: &Connection, rules: Rules, batch: usize) -> BTreeSet<String> {
    let l = legacy::run(conn, LegacySql::Tuned).unwrap();
    let p = pass(conn, rules, batch);
    let mut all = l.installs;
    all.extend(l.removes);
    let mut c = Classifier::new(conn, rules, load_profiles(conn).unwrap(), &p.visited);
    compare(&mut c, &all, &p.deltas)
        .unwrap()
        .divergences
        .into_iter()
        .map(|d| d.class.to_string())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn legacy_forms_equal_the_reference(k in knobs()) {
        let conn = fleet(&k);
        let w = legacy::run(&conn, LegacySql::AsWritten).unwrap();
        let t = legacy::run(&conn, LegacySql::Tuned).unwrap();
        let (ri, rr) = World::load(&conn).legacy();
        prop_assert_eq!(sorted(w.installs.clone()), sorted(t.installs.clone()));
        prop_assert_eq!(sorted(w.removes), sorted(t.removes.clone()));
        prop_assert_eq!(sorted(t.installs), sorted(ri));
        prop_assert_eq!(sorted(t.removes), sorted(rr));
    }

    #[test]
    fn batched_equals_the_reference_under_any_rules(k in knobs(), bits in 0u8..128) {
        let conn = fleet(&k);
        let rules = Rules {
            d1_or: bits & 1 != 0,
            d2_or: bits & 2 != 0,
            d3_ignore: bits & 4 != 0,
            d4_skip: bits & 8 != 0,
            d5_remove: bits & 16 != 0,
            d7_require_enrolled: bits & 32 != 0,
            b6_fixed: bits & 64 != 0,
            mutant: None,
        };
        let p = pass(&conn, rules, k.batch);
        prop_assert_eq!(sorted(p.deltas), sorted(World::load(&conn).batched(&rules, k.batch)));
    }

    #[test]
    fn no_divergence_is_unexplained_and_aligned_leaves_only_facts(k in knobs()) {
        let conn = fleet(&k);
        let shipped = classes(&conn, Rules::default(), k.batch);
        prop_assert!(!shipped.contains("unexplained"), "{:?}", shipped);
        let aligned = classes(&conn, Rules::default().aligned_with_legacy(), k.batch);
        for c in &aligned {
            prop_assert!(["D6", "D8", "D9"].contains(&c.as_str()), "aligned left {}", c);
        }
    }

    #[test]
    fn batch_size_changes_only_duplicate_uuid_pairs(k in knobs(), other in 1usize..40) {
        let conn = fleet(&k);
        let a = by_pair(&pass(&conn, Rules::default(), k.batch).deltas);
        let b = by_pair(&pass(&conn, Rules::default(), other).deltas);
        let dups: BTreeSet<String> = {
            let mut stmt = conn
                .prepare("SELECT uuid FROM hosts GROUP BY uuid HAVING count(*) > 1")
                .unwrap();
            stmt.query_map([], |r| r.get(0)).unwrap().map(|x| x.unwrap()).collect()
        };
        let keys: BTreeSet<&(String, String)> = a.keys().chain(b.keys()).collect();
        for key in keys {
            if a.get(key) != b.get(key) {
                prop_assert!(dups.contains(&key.0), "pair {:?} depends on the batch size", key);
            }
        }
    }
}
