//! A divergent pair's class (semantics §6): the divergences D1–D9 that explain it, joined by
//! `+` (`D1`, `D1+D4`), or `unexplained`. Serialised and shown by that name.

use crate::domain::rules::Rule;

/// One of the known divergences between the paths (semantics §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cause {
    D1,
    D2,
    D3,
    D4,
    D5,
    D6,
    D7,
    D8,
    D9,
}

impl Cause {
    pub const ALL: [Cause; 9] = [
        Cause::D1,
        Cause::D2,
        Cause::D3,
        Cause::D4,
        Cause::D5,
        Cause::D6,
        Cause::D7,
        Cause::D8,
        Cause::D9,
    ];

    pub fn name(self) -> &'static str {
        ["D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8", "D9"][self as usize]
    }
}

impl From<Rule> for Cause {
    /// The divergence a rule setting of the batched path produces.
    fn from(r: Rule) -> Cause {
        match r {
            Rule::D1 => Cause::D1,
            Rule::D2 => Cause::D2,
            Rule::D3 => Cause::D3,
            Rule::D4 => Cause::D4,
            Rule::D5 => Cause::D5,
            Rule::D7 => Cause::D7,
        }
    }
}

/// A divergent pair's class.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Class {
    /// These divergences, together, explain the pair.
    Explained(Vec<Cause>),
    /// No known divergence does: a finding.
    Unexplained,
}

impl Class {
    pub fn one(c: Cause) -> Class {
        Class::Explained(vec![c])
    }

    pub fn is_unexplained(&self) -> bool {
        *self == Class::Unexplained
    }
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Class::Unexplained => f.write_str("unexplained"),
            Class::Explained(causes) => {
                for (i, c) in causes.iter().enumerate() {
                    if i > 0 {
                        f.write_str("+")?;
                    }
                    f.write_str(c.name())?;
                }
                Ok(())
            }
        }
    }
}

impl std::str::FromStr for Class {
    type Err = String;
    fn from_str(s: &str) -> Result<Class, String> {
        if s == "unexplained" {
            return Ok(Class::Unexplained);
        }
        let bad = || {
            format!("{s:?}: not a divergence class (unexplained, or D1…D9 joined by +, e.g. D1+D4)")
        };
        let causes: Vec<Cause> = s
            .split('+')
            .map(|part| Cause::ALL.into_iter().find(|c| c.name() == part))
            .collect::<Option<_>>()
            .ok_or_else(bad)?;
        if causes.is_empty() {
            return Err(bad());
        }
        Ok(Class::Explained(causes))
    }
}

impl serde::Serialize for Class {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Class {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Class, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_round_trip_by_name() {
        for text in ["D1", "D1+D4", "D9", "unexplained"] {
            let c: Class = text.parse().unwrap();
            assert_eq!(c.to_string(), text);
        }
        assert_eq!("D5".parse::<Class>().unwrap(), Class::one(Cause::D5));
        for bad in ["", "D0", "D10", "d1", "D1+", "equal"] {
            assert!(bad.parse::<Class>().is_err(), "{bad}");
        }
    }
}
