//! Both paths' deltas held compactly for comparing them at fleet scale (`compare` at a million
//! hosts): every uuid stored once, every delta packed into 8 bytes (host 32 bits, profile 24
//! bits, operation 8 bits), both sides then sorted by (host_uuid, profile_uuid, operation) and
//! walked together pair by pair.
//!
//! Why packed rather than merged as two ordered streams: the paths do not hand their deltas
//! over in key order in every form (the as-written legacy SQL returns the engine's order; a
//! buggy batched variant may visit a window twice), and 8 bytes a delta is small beside the
//! rows they came from: 25 M deltas of a million-host fleet take ~200 MB here, where the
//! collected `Delta` lists and the by-pair maps took ~3.6 GiB at 100,000 hosts.

use crate::domain::model::Op;
use rustc_hash::FxHashMap;
use std::collections::BTreeSet;
use std::sync::Arc;

/// Operations a path decided for one pair.
pub type OpSet = BTreeSet<Op>;

/// Which path a delta came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Legacy,
    Batched,
}

/// More distinct uuids than the packing holds (stated, never truncated).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("more than {limit} distinct {what} uuids in the deltas: too many to pack for comparison")]
pub struct Overflow {
    pub what: &'static str,
    pub limit: u64,
}

const PROFILE_BITS: u32 = 24;
const OP_BITS: u32 = 8;
const PROFILE_LIMIT: u64 = 1 << PROFILE_BITS;
const HOST_LIMIT: u64 = 1 << 32;

fn op_code(op: Op) -> u64 {
    match op {
        Op::Install => 0,
        Op::Remove => 1,
    }
}

fn op_of(code: u64) -> Op {
    if code == 0 { Op::Install } else { Op::Remove }
}

fn pack(host: u64, profile: u64, op: Op) -> u64 {
    (host << (PROFILE_BITS + OP_BITS)) | (profile << OP_BITS) | op_code(op)
}

fn unpack(v: u64) -> (usize, usize, Op) {
    (
        (v >> (PROFILE_BITS + OP_BITS)) as usize,
        ((v >> OP_BITS) & (PROFILE_LIMIT - 1)) as usize,
        op_of(v & ((1 << OP_BITS) - 1)),
    )
}

/// Each distinct string once, numbered in first-seen order.
#[derive(Default)]
struct Interner {
    ids: FxHashMap<Arc<str>, u32>,
    names: Vec<Arc<str>>,
}

impl Interner {
    fn id(&mut self, s: &str, limit: u64, what: &'static str) -> Result<u64, Overflow> {
        if let Some(&i) = self.ids.get(s) {
            return Ok(u64::from(i));
        }
        let i = self.names.len() as u64;
        if i >= limit {
            return Err(Overflow { what, limit });
        }
        let name: Arc<str> = Arc::from(s);
        self.ids.insert(name.clone(), i as u32);
        self.names.push(name);
        Ok(i)
    }

    /// The names in byte order, and each first-seen number's place in it.
    fn sorted(self) -> (Vec<Arc<str>>, Vec<u32>) {
        drop(self.ids);
        let mut order: Vec<u32> = (0..self.names.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| self.names[a as usize].cmp(&self.names[b as usize]));
        let mut rank = vec![0u32; order.len()];
        for (place, &id) in order.iter().enumerate() {
            rank[id as usize] = place as u32;
        }
        let names = order
            .iter()
            .map(|&id| self.names[id as usize].clone())
            .collect();
        (names, rank)
    }
}

/// Deltas of both paths as they arrive, in any order.
#[derive(Default)]
pub struct PairLists {
    hosts: Interner,
    profiles: Interner,
    legacy: Vec<u64>,
    batched: Vec<u64>,
}

impl PairLists {
    pub fn push(&mut self, side: Side, host: &str, profile: &str, op: Op) -> Result<(), Overflow> {
        let h = self.hosts.id(host, HOST_LIMIT, "host")?;
        let p = self.profiles.id(profile, PROFILE_LIMIT, "profile")?;
        let v = pack(h, p, op);
        match side {
            Side::Legacy => self.legacy.push(v),
            Side::Batched => self.batched.push(v),
        }
        Ok(())
    }

    /// Both sides in (host_uuid, profile_uuid, operation) order.
    pub fn sorted(self) -> SortedPairs {
        let (hosts, host_rank) = self.hosts.sorted();
        let (profiles, profile_rank) = self.profiles.sorted();
        let order = |mut v: Vec<u64>| {
            for x in v.iter_mut() {
                let (h, p, op) = unpack(*x);
                *x = pack(u64::from(host_rank[h]), u64::from(profile_rank[p]), op);
            }
            v.sort_unstable();
            v
        };
        SortedPairs {
            legacy: order(self.legacy),
            batched: order(self.batched),
            hosts,
            profiles,
        }
    }
}

/// Both sides sorted; `pairs` walks them together.
pub struct SortedPairs {
    hosts: Vec<Arc<str>>,
    profiles: Vec<Arc<str>>,
    legacy: Vec<u64>,
    batched: Vec<u64>,
}

/// One (host_uuid, profile_uuid) pair and what each path decided for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairOps<'a> {
    pub host_uuid: &'a str,
    pub profile_uuid: &'a str,
    pub legacy: OpSet,
    pub batched: OpSet,
}

impl SortedPairs {
    fn side(&self, side: Side) -> &[u64] {
        match side {
            Side::Legacy => &self.legacy,
            Side::Batched => &self.batched,
        }
    }

    /// Deltas of one side, repeats included.
    pub fn len(&self, side: Side) -> usize {
        self.side(side).len()
    }

    /// Whether neither side has a delta.
    pub fn is_empty(&self) -> bool {
        self.legacy.is_empty() && self.batched.is_empty()
    }

    /// Distinct pairs with `op` on one side.
    pub fn distinct(&self, side: Side, op: Op) -> usize {
        let v = self.side(side);
        v.iter()
            .enumerate()
            .filter(|&(i, &x)| unpack(x).2 == op && (i == 0 || v[i - 1] != x))
            .count()
    }

    /// Install entries of one side beyond the first for the same pair (legacy's duplicate
    /// install rows, spec §3: counted, not divergent).
    pub fn repeated_installs(&self, side: Side) -> usize {
        let v = self.side(side);
        v.windows(2)
            .filter(|w| w[0] == w[1] && unpack(w[0]).2 == Op::Install)
            .count()
    }

    /// Every pair either side decided for, in (host_uuid, profile_uuid) order.
    pub fn pairs(&self) -> impl Iterator<Item = PairOps<'_>> + '_ {
        let key = |v: u64| v >> OP_BITS;
        let (mut i, mut j) = (0, 0);
        std::iter::from_fn(move || {
            let next = match (self.legacy.get(i), self.batched.get(j)) {
                (None, None) => return None,
                (Some(&a), None) => key(a),
                (None, Some(&b)) => key(b),
                (Some(&a), Some(&b)) => key(a).min(key(b)),
            };
            let take = |v: &[u64], at: &mut usize| {
                let mut ops = OpSet::new();
                while let Some(&x) = v.get(*at) {
                    if key(x) != next {
                        break;
                    }
                    ops.insert(unpack(x).2);
                    *at += 1;
                }
                ops
            };
            let legacy = take(&self.legacy, &mut i);
            let batched = take(&self.batched, &mut j);
            let (h, p, _) = unpack(next << OP_BITS);
            Some(PairOps {
                host_uuid: &self.hosts[h],
                profile_uuid: &self.profiles[p],
                legacy,
                batched,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Op::{Install, Remove};

    fn lists(legacy: &[(&str, &str, Op)], batched: &[(&str, &str, Op)]) -> SortedPairs {
        let mut l = PairLists::default();
        for &(h, p, op) in legacy {
            l.push(Side::Legacy, h, p, op).unwrap();
        }
        for &(h, p, op) in batched {
            l.push(Side::Batched, h, p, op).unwrap();
        }
        l.sorted()
    }

    #[test]
    fn pairs_come_in_key_order_with_both_sides() {
        let s = lists(
            &[
                ("B", "p2", Remove),
                ("A", "p9", Install),
                ("B", "p1", Install),
                ("A", "p9", Install),
            ],
            &[
                ("B", "p1", Install),
                ("C", "p1", Remove),
                ("A", "p9", Remove),
            ],
        );
        let got: Vec<(String, String, OpSet, OpSet)> = s
            .pairs()
            .map(|p| {
                (
                    p.host_uuid.into(),
                    p.profile_uuid.into(),
                    p.legacy,
                    p.batched,
                )
            })
            .collect();
        let set = |ops: &[Op]| ops.iter().copied().collect::<OpSet>();
        assert_eq!(
            got,
            vec![
                ("A".into(), "p9".into(), set(&[Install]), set(&[Remove])),
                ("B".into(), "p1".into(), set(&[Install]), set(&[Install])),
                ("B".into(), "p2".into(), set(&[Remove]), set(&[])),
                ("C".into(), "p1".into(), set(&[]), set(&[Remove])),
            ]
        );
        assert_eq!(s.len(Side::Legacy), 4);
        assert_eq!(s.distinct(Side::Legacy, Install), 2);
        assert_eq!(s.distinct(Side::Legacy, Remove), 1);
        assert_eq!(s.distinct(Side::Batched, Remove), 2);
        assert_eq!(s.repeated_installs(Side::Legacy), 1);
        assert_eq!(s.repeated_installs(Side::Batched), 0);
    }

    #[test]
    fn the_order_is_the_strings_byte_order_not_first_seen() {
        // Numbers are given in first-seen order (z first); the walk follows the strings.
        let s = lists(
            &[
                ("z", "b", Install),
                ("a", "c", Install),
                ("a", "a", Install),
            ],
            &[],
        );
        let keys: Vec<(&str, &str)> = s.pairs().map(|p| (p.host_uuid, p.profile_uuid)).collect();
        assert_eq!(keys, vec![("a", "a"), ("a", "c"), ("z", "b")]);
    }

    #[test]
    fn empty_lists_have_no_pairs() {
        let s = lists(&[], &[]);
        assert!(s.is_empty());
        assert_eq!(s.pairs().count(), 0);
    }

    #[test]
    fn packing_round_trips_at_its_limits() {
        let v = pack(HOST_LIMIT - 1, PROFILE_LIMIT - 1, Remove);
        assert_eq!(
            unpack(v),
            (
                (HOST_LIMIT - 1) as usize,
                (PROFILE_LIMIT - 1) as usize,
                Remove
            )
        );
        let mut i = Interner::default();
        assert_eq!(i.id("a", 1, "profile"), Ok(0));
        assert_eq!(i.id("a", 1, "profile"), Ok(0));
        assert_eq!(
            i.id("b", 1, "profile"),
            Err(Overflow {
                what: "profile",
                limit: 1
            })
        );
    }
}
