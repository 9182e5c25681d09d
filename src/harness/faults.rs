//! Fault injection from a scenario's `[faults]` section (issue 5): errors in named phases of the
//! batched tick (at a tick, from a tick on, or with a probability), and cursor read or write
//! failures. Every decision is a function of (seed, what, tick), so runs stay reproducible.

use crate::fleet::scenario::Faults;
use crate::harness::error::Result;
use crate::paths::cursor::{CursorError, CursorStore};
use crate::paths::device::uniform;

/// The faults of one run.
#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    pub seed: u64,
    pub faults: Faults,
}

impl FaultPlan {
    pub fn new(seed: u64, faults: Faults) -> FaultPlan {
        FaultPlan { seed, faults }
    }

    /// The injected error of `phase` at `tick`, if any.
    pub fn phase_error(&self, phase: &str, tick: u32) -> Option<String> {
        self.faults.errors.iter().find_map(|f| {
            if f.phase != phase {
                return None;
            }
            let at_tick = match f.tick {
                Some(t) if f.persistent => tick >= t,
                Some(t) => tick == t,
                None => false,
            };
            let drawn = f.probability > 0.0
                && uniform(self.seed, &format!("fault:{phase}"), tick as u64, 3) < f.probability;
            (at_tick || drawn).then(|| {
                format!(
                    "injected fault ({})",
                    if f.persistent {
                        "persistent"
                    } else {
                        "transient"
                    }
                )
            })
        })
    }

    /// Whether the cursor write of `tick` fails.
    pub fn cursor_write_fails(&self, tick: u32) -> bool {
        self.faults
            .cursor_write_fail_from_tick
            .is_some_and(|t| tick >= t)
            || (self.faults.cursor_write_fail_probability > 0.0
                && uniform(self.seed, "fault:cursor_write", tick as u64, 3)
                    < self.faults.cursor_write_fail_probability)
    }

    /// How long another connection holds the write lock during the writer of `tick`, if it does.
    pub fn busy_write(&self, tick: u32) -> Option<std::time::Duration> {
        let f = &self.faults;
        (f.busy_write_ms > 0
            && f.busy_write_probability > 0.0
            && uniform(self.seed, "fault:busy_write", tick as u64, 3) < f.busy_write_probability)
            .then(|| std::time::Duration::from_millis(f.busy_write_ms))
    }

    /// Holds the write lock of the database `db` for `hold` from another connection; returns
    /// once the lock is held, with the thread to join.
    pub fn hold_write_lock(
        db: &std::path::Path,
        hold: std::time::Duration,
    ) -> Result<std::thread::JoinHandle<()>> {
        let conn = rusqlite::Connection::open(db)?;
        let (tx, rx) = std::sync::mpsc::channel();
        let handle = std::thread::spawn(move || {
            let locked = conn.execute_batch("BEGIN IMMEDIATE").is_ok();
            let _ = tx.send(locked);
            if locked {
                std::thread::sleep(hold);
                let _ = conn.execute_batch("COMMIT");
            }
        });
        let _ = rx.recv();
        Ok(handle)
    }

    /// Whether the cursor read of `tick` fails.
    pub fn cursor_read_fails(&self, tick: u32) -> bool {
        self.faults
            .cursor_read_fail_from_tick
            .is_some_and(|t| tick >= t)
    }
}

/// A cursor store whose reads and writes fail as the plan says, at the current tick.
pub struct FaultyCursor<'a> {
    pub inner: &'a mut dyn CursorStore,
    pub plan: &'a FaultPlan,
    pub tick: u32,
}

impl CursorStore for FaultyCursor<'_> {
    fn read(&mut self) -> Result<String, CursorError> {
        if self.plan.cursor_read_fails(self.tick) {
            return Err(CursorError::Read(
                "injected fault: store unreachable".into(),
            ));
        }
        self.inner.read()
    }
    fn write(&mut self, value: &str) -> Result<(), CursorError> {
        if self.plan.cursor_write_fails(self.tick) {
            return Err(CursorError::Write(
                "injected fault: store unreachable".into(),
            ));
        }
        self.inner.write(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::scenario::PhaseFault;

    fn plan(f: PhaseFault) -> FaultPlan {
        FaultPlan::new(
            1,
            Faults {
                errors: vec![f],
                ..Faults::default()
            },
        )
    }

    #[test]
    fn tick_faults_are_once_or_from_then_on() {
        let once = plan(PhaseFault {
            phase: "window".into(),
            tick: Some(2),
            ..PhaseFault::default()
        });
        assert!(once.phase_error("window", 1).is_none());
        assert!(once.phase_error("window", 2).is_some());
        assert!(once.phase_error("window", 3).is_none());
        assert!(once.phase_error("catalog", 2).is_none());
        let from = plan(PhaseFault {
            phase: "window".into(),
            tick: Some(2),
            persistent: true,
            ..PhaseFault::default()
        });
        assert!((2..10).all(|t| from.phase_error("window", t).is_some()));
    }

    #[test]
    fn probabilities_are_seeded_and_near_their_rate() {
        let p = plan(PhaseFault {
            phase: "compute".into(),
            probability: 0.25,
            ..PhaseFault::default()
        });
        let hits = (0..4000)
            .filter(|&t| p.phase_error("compute", t).is_some())
            .count();
        assert!((hits as f64 / 4000.0 - 0.25).abs() < 0.03, "{hits}");
        let again = (0..4000)
            .filter(|&t| p.phase_error("compute", t).is_some())
            .count();
        assert_eq!(hits, again);
    }

    #[test]
    fn a_faulty_cursor_fails_from_the_tick_on() {
        let plan = FaultPlan::new(
            1,
            Faults {
                cursor_write_fail_from_tick: Some(1),
                ..Faults::default()
            },
        );
        let mut mem = crate::paths::cursor::MemoryCursor::default();
        let mut c = FaultyCursor {
            inner: &mut mem,
            plan: &plan,
            tick: 0,
        };
        assert!(c.write("A").is_ok());
        c.tick = 1;
        assert!(c.write("B").is_err());
        assert_eq!(c.read().unwrap(), "A");
    }
}
