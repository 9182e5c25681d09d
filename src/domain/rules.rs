//! The switchable rules of spec §6 (D1–D5, D7): how the batched path differs from legacy.
//! Defaults are the rewrite as it shipped; `aligned_with_legacy` flips D1–D5.

use std::fmt;
use std::str::FromStr;

/// One switchable rule and its two settings: `false` = as the rewrite shipped, `true` = flipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    D1,
    D2,
    D3,
    D4,
    D5,
    D7,
}

pub const ALL_RULES: [Rule; 6] = [Rule::D1, Rule::D2, Rule::D3, Rule::D4, Rule::D5, Rule::D7];

impl Rule {
    /// (name, value when off/default, value when flipped, what flipping means).
    pub fn values(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Rule::D1 => ("d1", "and", "or"),
            Rule::D2 => ("d2", "drop", "or"),
            Rule::D3 => ("d3", "exclude", "ignore"),
            Rule::D4 => ("d4", "install", "skip"),
            Rule::D5 => ("d5", "ignore", "remove"),
            Rule::D7 => ("d7", "off", "on"),
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.values().0.to_uppercase())
    }
}

/// The rules of one batched run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rules {
    /// D1: a profile with include and exclude rows. false = AND of gates (rewrite); true = OR
    /// (legacy's union of arms).
    pub d1_or: bool,
    /// D2: include rows disagreeing on require_all. false = include gate dropped (rewrite);
    /// true = OR of the include-all and include-any arms (legacy).
    pub d2_or: bool,
    /// D3: exclude rows with require_all = 1. false = treated as excludes (rewrite); true =
    /// invisible to the gates (legacy), though still seen by the broken check.
    pub d3_ignore: bool,
    /// D4: row `secrets_updated_at` NULL while the profile's is set. false = install (rewrite);
    /// true = no install (legacy: only an older non-NULL value triggers).
    pub d4_skip: bool,
    /// D5: rows of hosts that are not eligible. false = never looked at (rewrite); true =
    /// removed by a sweep at the end of each pass (legacy removes them).
    pub d5_remove: bool,
    /// D7: `host_mdm.enrolled = 1` required to be listed. false = not required (rewrite and
    /// legacy); true = the later fix.
    pub d7_require_enrolled: bool,
    /// Not a §6 rule: B6 fixed (spec §8), only dynamic labels are timing-checked. Set by the
    /// `latest` variant; never flipped by the classifier; legacy always carries B6.
    pub b6_fixed: bool,
    /// Not a rule: a deliberately injected bug (`--mutate`, oracle sensitivity). None in
    /// every normal run.
    pub mutant: Option<crate::domain::mutants::Mutant>,
}

impl Rules {
    /// D1–D5 flipped to legacy's behaviour (D7 untouched: legacy never had it).
    pub fn aligned_with_legacy(self) -> Rules {
        Rules {
            d1_or: true,
            d2_or: true,
            d3_ignore: true,
            d4_skip: true,
            d5_remove: true,
            ..self
        }
    }

    pub fn get(&self, rule: Rule) -> bool {
        match rule {
            Rule::D1 => self.d1_or,
            Rule::D2 => self.d2_or,
            Rule::D3 => self.d3_ignore,
            Rule::D4 => self.d4_skip,
            Rule::D5 => self.d5_remove,
            Rule::D7 => self.d7_require_enrolled,
        }
    }

    pub fn set(&mut self, rule: Rule, on: bool) {
        match rule {
            Rule::D1 => self.d1_or = on,
            Rule::D2 => self.d2_or = on,
            Rule::D3 => self.d3_ignore = on,
            Rule::D4 => self.d4_skip = on,
            Rule::D5 => self.d5_remove = on,
            Rule::D7 => self.d7_require_enrolled = on,
        }
    }

    /// The rules whose setting here differs from legacy's behaviour: the only flips that can
    /// move the batched path toward legacy (legacy = D1–D5 flipped, D7 off).
    pub fn differing_from_legacy(&self) -> Vec<Rule> {
        let legacy = Rules::default().aligned_with_legacy();
        ALL_RULES
            .iter()
            .copied()
            .filter(|&r| self.get(r) != legacy.get(r))
            .collect()
    }

    /// These rules with each rule of `flips` toggled.
    pub fn flipped(&self, flips: &[Rule]) -> Rules {
        let mut r = *self;
        for &f in flips {
            r.set(f, !r.get(f));
        }
        r
    }

    /// Applies one `--rule NAME=VALUE` setting.
    pub fn apply(&mut self, setting: &str) -> Result<(), String> {
        let (name, value) = setting
            .split_once('=')
            .ok_or_else(|| format!("--rule {setting:?}: expected NAME=VALUE, e.g. d1=or"))?;
        let rule = ALL_RULES
            .iter()
            .copied()
            .find(|r| r.values().0.eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                format!("--rule {setting:?}: unknown rule {name:?} (known: d1, d2, d3, d4, d5, d7)")
            })?;
        let (n, off, on) = rule.values();
        let value = value.trim().to_ascii_lowercase();
        if value == off {
            self.set(rule, false);
        } else if value == on {
            self.set(rule, true);
        } else {
            return Err(format!(
                "--rule {setting:?}: {n} takes {off} or {on}, not {value:?}"
            ));
        }
        Ok(())
    }

    /// `d1=and,d2=drop,…`, as written into results.
    pub fn describe(&self) -> String {
        ALL_RULES
            .iter()
            .map(|&r| {
                let (n, off, on) = r.values();
                format!("{n}={}", if self.get(r) { on } else { off })
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl FromStr for Rules {
    type Err = String;
    /// Parses a comma-separated list of settings over the defaults.
    fn from_str(s: &str) -> Result<Rules, String> {
        let mut r = Rules::default();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            r.apply(part)?;
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_rewrite_as_shipped() {
        assert_eq!(
            Rules::default().describe(),
            "d1=and,d2=drop,d3=exclude,d4=install,d5=ignore,d7=off"
        );
    }

    #[test]
    fn align_flips_d1_to_d5_only() {
        assert_eq!(
            Rules::default().aligned_with_legacy().describe(),
            "d1=or,d2=or,d3=ignore,d4=skip,d5=remove,d7=off"
        );
    }

    #[test]
    fn settings_parse_and_round_trip() {
        let r: Rules = "d1=or,D7=on".parse().unwrap();
        assert!(r.d1_or && r.d7_require_enrolled && !r.d2_or);
        let back: Rules = r.describe().parse().unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn bad_settings_are_named() {
        let mut r = Rules::default();
        assert_eq!(
            r.apply("d6=on").unwrap_err(),
            "--rule \"d6=on\": unknown rule \"d6\" (known: d1, d2, d3, d4, d5, d7)"
        );
        assert_eq!(
            r.apply("d1=maybe").unwrap_err(),
            "--rule \"d1=maybe\": d1 takes and or or, not \"maybe\""
        );
        assert!(r.apply("d1").unwrap_err().contains("expected NAME=VALUE"));
    }

    #[test]
    fn only_rules_off_legacy_are_candidate_flips() {
        assert_eq!(
            Rules::default().differing_from_legacy(),
            vec![Rule::D1, Rule::D2, Rule::D3, Rule::D4, Rule::D5]
        );
        let r: Rules = "d1=or,d7=on".parse().unwrap();
        assert_eq!(
            r.differing_from_legacy(),
            vec![Rule::D2, Rule::D3, Rule::D4, Rule::D5, Rule::D7]
        );
        assert!(
            Rules::default()
                .aligned_with_legacy()
                .differing_from_legacy()
                .is_empty()
        );
    }

    #[test]
    fn flipped_toggles_each_named_rule() {
        let r = Rules::default().flipped(&[Rule::D1, Rule::D4]);
        assert!(r.d1_or && r.d4_skip && !r.d2_or);
        assert_eq!(r.flipped(&[Rule::D1, Rule::D4]), Rules::default());
    }
}
