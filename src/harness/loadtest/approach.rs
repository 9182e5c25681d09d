//! Approaches: a reconciler path with its knobs, as `--approach` and a scenario's
//! `[[approaches]]` name them (`legacy`, `batched`, `drain:window=2000,cap=2000,budget=12s`).
//! A run takes each path at most once, in the order given; the drain path's knobs start from
//! the scenario's `[drain]` section and the approach's own override them.

use super::PathKind;
use crate::fleet::scenario::DrainSettings;

crate::support::named::named_enum!(
    "kebab-case",
    /// A knob an approach can set.
    pub enum Knob {
        /// Drain: host rows a window read (W).
        Window,
        /// Drain: hosts with work delivered a tick at most (C; 0 = no cap).
        Cap,
        /// Drain: the scan budget (`12s`, `500ms`, `windows:K`).
        Budget,
        /// Batched and drain: `on` runs the handlers for a host the moment churn enrolls it
        /// (Fleet's per-host enrollment path); `off` (the default) leaves it to the cron.
        EnrollPath,
    }
);

/// One approach: a path and the knobs set for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approach {
    pub kind: PathKind,
    pub knobs: Vec<(Knob, String)>,
}

impl std::str::FromStr for Approach {
    type Err = String;

    /// `KIND` or `KIND:KNOB=VALUE,KNOB=VALUE`.
    fn from_str(s: &str) -> Result<Approach, String> {
        let (kind, rest) = s.split_once(':').unwrap_or((s, ""));
        let kind: PathKind = crate::support::named::parse("approach", kind.trim())?;
        let mut knobs = Vec::new();
        for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("approach {s:?}: {part:?} is not KNOB=VALUE"))?;
            let knob: Knob = crate::support::named::parse("knob", k.trim())?;
            if knob == Knob::EnrollPath {
                if kind == PathKind::Legacy {
                    return Err(format!(
                        "approach {s:?}: knob {knob} applies to the batched and drain paths (legacy has no per-host path)"
                    ));
                }
            } else if kind != PathKind::Drain {
                return Err(format!(
                    "approach {s:?}: knob {knob} applies to the drain path only"
                ));
            }
            if knobs.iter().any(|(have, _)| *have == knob) {
                return Err(format!("approach {s:?}: knob {knob} given twice"));
            }
            knobs.push((knob, v.trim().to_string()));
        }
        let a = Approach { kind, knobs };
        // Values checked now, against the defaults.
        a.apply(&mut DrainSettings::default())
            .map_err(|e| format!("approach {s:?}: {e}"))?;
        Ok(a)
    }
}

impl std::fmt::Display for Approach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.kind)?;
        for (i, (k, v)) in self.knobs.iter().enumerate() {
            write!(f, "{}{k}={v}", if i == 0 { ':' } else { ',' })?;
        }
        Ok(())
    }
}

impl Approach {
    /// The approach's knobs over `settings` (the scenario's `[drain]`).
    /// `enroll-path=on` given.
    pub fn enroll_path(&self) -> bool {
        self.knobs
            .iter()
            .any(|(k, v)| *k == Knob::EnrollPath && v == "on")
    }

    pub fn apply(&self, settings: &mut DrainSettings) -> Result<(), String> {
        for (knob, v) in &self.knobs {
            let number = || -> Result<u32, String> {
                v.parse()
                    .map_err(|_| format!("{knob}={v}: not a whole number"))
            };
            match knob {
                Knob::Window => {
                    let w = number()?;
                    if w == 0 {
                        return Err(format!("{knob}={v}: a window holds at least one host row"));
                    }
                    settings.window = w;
                }
                Knob::Cap => settings.cap = number()?,
                Knob::EnrollPath => {
                    if v != "on" && v != "off" {
                        return Err(format!("{knob}={v}: on or off"));
                    }
                }
                Knob::Budget => {
                    v.parse::<crate::paths::drain::Budget>()
                        .map_err(|e| format!("{knob}={v}: {e}"))?;
                    settings.budget = v.clone();
                }
            }
        }
        Ok(())
    }
}

/// One path of a run: its name, kind and knobs. The first approach of a kind is named by the
/// kind (`drain`), a second and third `drain-2`, `drain-3`: the name labels its rows in every
/// output, its histogram files and its database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPath {
    pub name: String,
    pub kind: PathKind,
    /// The drain loop's knobs (a drain path's; the scenario's for the others, unused).
    pub drain: crate::paths::drain::DrainKnobs,
    /// Fleet's per-host enrollment path on (batched and drain).
    pub enroll_path: bool,
    /// The approach as given, with the knobs it ran with filled in (the manifest's).
    pub spelled: String,
}

impl RunPath {
    /// A path of `kind` with no knobs of its own, named by its kind.
    pub fn plain(kind: PathKind) -> RunPath {
        RunPath {
            name: kind.to_string(),
            kind,
            drain: crate::paths::drain::DrainKnobs::default(),
            enroll_path: false,
            spelled: kind.to_string(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Paged by a cursor (batched and drain).
    pub fn paged(&self) -> bool {
        self.kind.paged()
    }
}

impl std::fmt::Display for RunPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

/// The paths of `approaches`, named, with the knobs they give over `base` (the scenario's
/// `[drain]`). Errors name the approach.
pub fn resolve(approaches: &[Approach], base: &DrainSettings) -> Result<Vec<RunPath>, String> {
    let mut out: Vec<RunPath> = Vec::new();
    for a in approaches {
        let mut settings = base.clone();
        a.apply(&mut settings)?;
        let drain = settings
            .knobs()
            .map_err(|e| format!("approach {a}: budget: {e}"))?;
        let nth = out.iter().filter(|p| p.kind == a.kind).count() + 1;
        let name = if nth == 1 {
            a.kind.to_string()
        } else {
            format!("{}-{nth}", a.kind)
        };
        let mut spelled = a.kind.to_string();
        if a.kind == PathKind::Drain {
            spelled = format!(
                "drain:window={},cap={},budget={}",
                drain.window,
                drain.cap.unwrap_or(0),
                drain.budget
            );
        }
        if a.enroll_path() {
            spelled.push_str(if a.kind == PathKind::Drain { "," } else { ":" });
            spelled.push_str("enroll-path=on");
        }
        out.push(RunPath {
            name,
            kind: a.kind,
            drain,
            enroll_path: a.enroll_path(),
            spelled,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approaches_parse_and_print_back() {
        let a: Approach = "drain:window=500,cap=0,budget=windows:3".parse().unwrap();
        assert_eq!(a.kind, PathKind::Drain);
        assert_eq!(a.to_string(), "drain:window=500,cap=0,budget=windows:3");
        let mut s = DrainSettings::default();
        a.apply(&mut s).unwrap();
        assert_eq!((s.window, s.cap, s.budget.as_str()), (500, 0, "windows:3"));
        assert_eq!("legacy".parse::<Approach>().unwrap().to_string(), "legacy");
    }

    #[test]
    fn bad_approaches_are_named() {
        let err = |s: &str| s.parse::<Approach>().unwrap_err();
        assert!(
            err("fast").contains("unknown approach \"fast\""),
            "{}",
            err("fast")
        );
        assert!(err("batched:window=5").contains("drain path only"));
        assert!(err("drain:window").contains("not KNOB=VALUE"));
        assert!(err("drain:speed=3").contains("unknown knob \"speed\""));
        assert!(err("drain:window=0").contains("at least one host row"));
        assert!(err("drain:budget=soon").contains("budget=soon"));
        assert!(err("drain:cap=1,cap=2").contains("given twice"));
        assert!(err("legacy:enroll-path=on").contains("legacy has no per-host path"));
        assert!(err("batched:enroll-path=maybe").contains("on or off"));
        let on: Approach = "batched:enroll-path=on".parse().unwrap();
        assert!(on.enroll_path());
        let r = resolve(&[on], &DrainSettings::default()).unwrap();
        assert!(r[0].enroll_path);
        assert_eq!(r[0].spelled, "batched:enroll-path=on");
        let twice = ["drain".parse().unwrap(), "drain:cap=5".parse().unwrap()];
        let paths = resolve(&twice, &DrainSettings::default()).unwrap();
        let names: Vec<&str> = paths.iter().map(RunPath::name).collect();
        assert_eq!(names, ["drain", "drain-2"]);
        assert_eq!(paths[1].drain.cap, Some(5));
        assert_eq!(paths[1].spelled, "drain:window=2000,cap=5,budget=12s");
    }
}
