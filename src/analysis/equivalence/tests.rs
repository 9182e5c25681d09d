//! Unit tests of the parent module.

use super::*;

#[test]
fn combinations_grow_in_size_and_order() {
    let c = combinations(&[Rule::D1, Rule::D2, Rule::D3], 2);
    assert_eq!(
        c,
        vec![
            vec![Rule::D1, Rule::D2],
            vec![Rule::D1, Rule::D3],
            vec![Rule::D2, Rule::D3]
        ]
    );
    let all = crate::domain::rules::ALL_RULES;
    assert_eq!(combinations(&all, 6).len(), 1);
    assert_eq!(combinations(&all, 3).len(), 20);
}

#[test]
fn ops_text_joins_with_plus() {
    let mut s = OpSet::new();
    assert_eq!(ops_text(&s), "-");
    s.insert(Op::Remove);
    s.insert(Op::Install);
    assert_eq!(ops_text(&s), "install+remove");
}

#[test]
fn per_uuid_lookups_search_their_index() {
    // Pinned plans: the unary plus on the parameter (see `FACTS_SQL`) must leave the searches
    // by index, never a scan.
    use crate::paths::batched::tests::{plan, quick_fleet};
    let conn = quick_fleet();
    let p = plan(&conn, &FACTS_SQL);
    assert!(
        p.starts_with("SEARCH h USING INDEX idx_hosts_uuid (uuid=?)"),
        "{p}"
    );
    assert!(!p.contains("SCAN"), "{p}");
    let p = plan(&conn, MEMBERS_SQL);
    assert!(p.starts_with("SEARCH label_membership USING"), "{p}");
    assert!(p.contains("(host_id=?)"), "{p}");
}

/// The merged variant's rules, 100-host windows.
fn quick_config() -> crate::paths::batched::BatchedConfig {
    let variant = crate::domain::variant::Variant::Merged;
    let mut rules = Rules::default();
    variant.preset(&mut rules);
    crate::paths::batched::BatchedConfig {
        batch_size: 100,
        rules,
        variant,
    }
}

/// The quick fleet in a file, open, with both paths' deltas packed.
fn quick_file_pairs() -> (tempfile::TempDir, Connection, SortedPairs, HashSet<i64>) {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::paths::batched::tests::quick_fleet_file(dir.path());
    let conn = Connection::open(&path).unwrap();
    let legacy = crate::paths::legacy::run(&conn, crate::paths::legacy::LegacySql::Tuned).unwrap();
    let mut l = legacy.installs;
    l.extend(legacy.removes);
    let cfg = quick_config();
    let pass = crate::paths::batched::full_pass(&conn, &cfg).unwrap();
    (dir, conn, pack(&l, &pass.deltas).unwrap(), pass.visited)
}

#[test]
fn two_threads_classify_as_one_in_the_same_order() {
    let (dir, conn, pairs, visited) = quick_file_pairs();
    let profiles = crate::paths::batched::load_profiles(&conn).unwrap();
    let rules = quick_config().rules;
    let mut one = Vec::new();
    let mut c = Classifier::new(&conn, rules, profiles.clone(), &visited);
    let t1 = compare_sorted::<rusqlite::Error>(&mut c, &pairs, |d| {
        one.push(d);
        Ok(())
    })
    .unwrap();
    assert!(one.len() > 100, "{}", one.len());
    // Chunks of 7: hundreds of hand-overs, the last one partial; and one chunk larger than
    // every pair (the helper has nothing to do).
    for chunk in [7, one.len() + 1] {
        let helper = Connection::open(dir.path().join("quick.db")).unwrap();
        let mut c = Classifier::new(&conn, rules, profiles.clone(), &visited);
        let mut two = Vec::new();
        let t2 = compare_sorted_two_in::<rusqlite::Error>(&mut c, helper, &pairs, chunk, |d| {
            two.push(d);
            Ok(())
        })
        .unwrap();
        assert_eq!(t1, t2, "chunk {chunk}");
        assert!(one == two, "chunk {chunk}: the divergences differ");
    }
}

#[test]
fn a_failing_helper_stops_the_two_thread_classification_with_its_error() {
    let (_dir, conn, pairs, visited) = quick_file_pairs();
    let profiles = crate::paths::batched::load_profiles(&conn).unwrap();
    let rules = quick_config().rules;
    // The helper's connection holds no fleet: its first lookup fails.
    let helper = Connection::open_in_memory().unwrap();
    let mut c = Classifier::new(&conn, rules, profiles, &visited);
    let mut seen = 0;
    let r = compare_sorted_two_in::<rusqlite::Error>(&mut c, helper, &pairs, 7, |_| {
        seen += 1;
        Ok(())
    });
    let e = r.unwrap_err().to_string();
    assert!(e.contains("host_mdm_apple_profiles"), "{e}");
    // Chunk 0 came from this thread; the helper's chunk 1 never arrived.
    assert_eq!(seen, 7);
}
