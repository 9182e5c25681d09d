//! Time behind a trait, so that the timing plumbing (phases, ticks, histograms) can be tested
//! exactly with a fake clock instead of a noisy real one.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// A monotonic clock: time since an arbitrary origin.
pub trait Clock {
    fn now(&self) -> Duration;

    /// Time since `start` (a value this clock returned).
    fn since(&self, start: Duration) -> Duration {
        self.now().saturating_sub(start)
    }
}

/// The real monotonic clock.
#[derive(Debug, Clone, Copy)]
pub struct RealClock {
    origin: Instant,
}

impl Default for RealClock {
    fn default() -> Self {
        RealClock {
            origin: Instant::now(),
        }
    }
}

impl Clock for RealClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A fake clock that advances by `step` at every reading.
#[derive(Debug, Default)]
pub struct FakeClock {
    t: Cell<Duration>,
    step: Duration,
}

impl FakeClock {
    pub fn stepping(step: Duration) -> FakeClock {
        FakeClock {
            t: Cell::new(Duration::ZERO),
            step,
        }
    }
}

impl Clock for FakeClock {
    fn now(&self) -> Duration {
        let t = self.t.get() + self.step;
        self.t.set(t);
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_clock_steps_exactly() {
        let c = FakeClock::stepping(Duration::from_millis(2));
        let start = c.now();
        assert_eq!(start, Duration::from_millis(2));
        assert_eq!(c.since(start), Duration::from_millis(2));
        assert_eq!(c.now(), Duration::from_millis(6));
    }

    #[test]
    fn real_clock_is_monotonic() {
        let c = RealClock::default();
        let a = c.now();
        assert!(c.now() >= a);
    }
}
