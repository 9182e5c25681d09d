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
