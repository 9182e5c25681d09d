//! The drain loop (semantics §10): Fleet's current batched design. One tick reads window after
//! window with `latest`'s reads and handlers, hands each window's work to the writer, and
//! stops at the first of: a window cut by the delivery cap (partial), a short page (the pass
//! wrapped), the cap reached, the scan budget spent. The cursor advances only past delivered
//! work, so no host is skipped by the cap.
//!
//! The decisions are pure functions (`keep`, `stop_after`), table-tested below; `tick` runs them
//! over any `batched::Source` with the writer as a callback.

use crate::domain::clock::Clock;
use crate::domain::model::Delta;
use crate::paths::batched::{self, BatchedConfig, Outcome, TickReport};
use crate::paths::cursor::CursorStore;
use crate::paths::phase::Phase;
use std::time::Duration;

/// When a tick's scanning stops for time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Wall-clock time per tick, as Fleet has it (12 s): runs depend on machine speed.
    WallClock(Duration),
    /// At most this many window reads per tick, every read attempted counted (the empty read
    /// that ends a pass and a failed read too): the same on any machine.
    Windows(u32),
}

impl std::str::FromStr for Budget {
    type Err = String;
    /// `12s`, `500ms`, `2m` (wall clock) or `windows:K` (K ≥ 1 window reads).
    fn from_str(s: &str) -> Result<Budget, String> {
        let bad = || format!("{s:?}: expected a time (12s, 500ms, 2m) or windows:K");
        if let Some(k) = s.strip_prefix("windows:") {
            return match k.parse::<u32>() {
                Ok(k) if k > 0 => Ok(Budget::Windows(k)),
                _ => Err(bad()),
            };
        }
        let (number, unit) = s
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .map_or((s, ""), |i| s.split_at(i));
        let x: f64 = number.parse().map_err(|_| bad())?;
        let secs = match unit {
            "ms" => x / 1e3,
            "s" => x,
            "m" => x * 60.0,
            _ => return Err(bad()),
        };
        if !(secs > 0.0 && secs.is_finite()) {
            return Err(bad());
        }
        Ok(Budget::WallClock(Duration::from_secs_f64(secs)))
    }
}

impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // As it is written (`FromStr` reads it back).
            Budget::WallClock(d) if d.subsec_millis() == 0 => write!(f, "{}s", d.as_secs()),
            Budget::WallClock(d) => write!(f, "{}ms", d.as_millis()),
            Budget::Windows(k) => write!(f, "windows:{k}"),
        }
    }
}

/// The drain loop's knobs; Fleet's values are the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrainKnobs {
    /// Host rows per window read (W).
    pub window: usize,
    /// Hosts with work delivered per tick at most (C); None: no cap (Fleet's C ≤ 0).
    pub cap: Option<usize>,
    /// The scan budget (T).
    pub budget: Budget,
}

impl Default for DrainKnobs {
    fn default() -> DrainKnobs {
        DrainKnobs {
            window: 2_000,
            cap: Some(2_000),
            budget: Budget::WallClock(Duration::from_secs(12)),
        }
    }
}

/// Step 5: how many of a window's `work` hosts (hosts with at least one delta) are delivered,
/// `delivered` having gone before in this tick; `partial` when the cap cut the window.
pub fn keep(work: usize, delivered: usize, cap: Option<usize>) -> (usize, bool) {
    match cap {
        Some(c) if c > 0 && work > c.saturating_sub(delivered) => {
            (c.saturating_sub(delivered), true)
        }
        _ => (work, false),
    }
}

crate::support::named::named_enum!(
    "lowercase",
    /// Why a tick stopped scanning (the `stop` column of `ticks.csv`).
    pub enum Stop {
        /// The cap cut a window: the cursor stays at the last delivered host.
        Partial,
        /// A short (or empty) page: the pass wrapped, the cursor goes back to "".
        Wrapped,
        /// The cap was reached at a window's end.
        Cap,
        /// The scan budget is spent.
        Budget,
    }
);

/// Step 8: after a window, whether the tick stops, checked in the order of semantics §10.
pub fn stop_after(
    partial: bool,
    page_full: bool,
    cap: Option<usize>,
    delivered: usize,
    budget_spent: bool,
) -> Option<Stop> {
    if partial {
        Some(Stop::Partial)
    } else if !page_full {
        Some(Stop::Wrapped)
    } else if cap.is_some_and(|c| delivered >= c) {
        Some(Stop::Cap)
    } else if budget_spent {
        Some(Stop::Budget)
    } else {
        None
    }
}

/// What a drain tick did.
#[derive(Debug, Clone)]
pub struct DrainReport {
    /// The tick as a batched report: cursor before and after, every host row read, the
    /// delivered deltas, the outcome, the phase timings (summed over windows).
    pub tick: TickReport,
    /// Window reads attempted.
    pub windows: u32,
    /// Hosts with work delivered.
    pub delivered: usize,
    /// Why scanning stopped (None: the tick failed).
    pub stop: Option<Stop>,
}

/// One drain tick over `src`: `deliver` is the writer (step 6), called once per window that has
/// kept work, with that window's deltas; an error from it fails the tick. The cursor store is
/// written at the end of a successful tick when the committed cursor moved (step 9); a failed
/// write is logged and swallowed (B3, as Fleet does).
pub fn tick(
    src: &dyn batched::Source,
    cursor: &mut dyn CursorStore,
    cfg: &BatchedConfig,
    knobs: &DrainKnobs,
    clock: &dyn Clock,
    deliver: &mut dyn FnMut(&[Delta]) -> Result<(), String>,
) -> DrainReport {
    tick_with_faults(src, cursor, cfg, knobs, clock, &|_| None, deliver)
}

/// `tick` with injected phase errors (`inject(phase)`, as the batched tick takes them: the
/// scenario's `[faults]`), checked in every window.
pub fn tick_with_faults(
    src: &dyn batched::Source,
    cursor: &mut dyn CursorStore,
    cfg: &BatchedConfig,
    knobs: &DrainKnobs,
    clock: &dyn Clock,
    inject: &dyn Fn(&'static str) -> Option<String>,
    deliver: &mut dyn FnMut(&[Delta]) -> Result<(), String>,
) -> DrainReport {
    let t = clock.now();
    let entry = cursor.read().unwrap_or_default();
    let mut timings = vec![(Phase::CursorRead.name(), clock.since(t))];
    let window_cfg = BatchedConfig {
        batch_size: knobs.window,
        ..*cfg
    };
    let start = clock.now();
    let mut out = DrainReport {
        tick: TickReport::at(&entry),
        windows: 0,
        delivered: 0,
        stop: None,
    };
    let mut at = entry.clone();
    let commit = loop {
        out.windows += 1;
        let w = batched::window(src, &at, &window_cfg, clock, inject);
        merge_timings(&mut timings, &w.timings);
        out.tick.rows_read += w.rows_read;
        if let Outcome::Error(e) = w.outcome {
            out.tick.outcome = Outcome::Error(e);
            out.tick.timings = timings;
            return out;
        }
        let page_full = !w.cursor_after.is_empty();
        // Work hosts, in uuid order (the deltas follow the window's order).
        let mut work: Vec<&str> = Vec::new();
        for d in &w.deltas {
            if work.last() != Some(&d.host_uuid.as_ref()) {
                work.push(&d.host_uuid);
            }
        }
        let cap = knobs.cap.filter(|&c| c > 0);
        let (kept, partial) = keep(work.len(), out.delivered, cap);
        let mut advance = w.cursor_after.clone();
        let deltas: Vec<Delta> = if partial {
            // At least one host is kept: a tick stops once `delivered` reaches the cap.
            let last = work[kept.max(1) - 1].to_string();
            advance = last.clone();
            w.deltas
                .iter()
                .filter(|d| *d.host_uuid <= *last)
                .cloned()
                .collect()
        } else {
            w.deltas.clone()
        };
        if !deltas.is_empty() {
            let tw = clock.now();
            let written = deliver(&deltas);
            merge_timings(&mut timings, &[(Phase::Write.name(), clock.since(tw))]);
            if let Err(e) = written {
                out.tick.outcome = Outcome::Error(format!("write: {e}"));
                out.tick.timings = timings;
                return out;
            }
        }
        // Visited: the hosts this window passed (all of it, or up to the last kept host when
        // the cap cut it: the hosts after it are read again next tick).
        let passed = w
            .visited_uuids
            .iter()
            .take_while(|u| u.as_str() <= advance.as_str() || advance.is_empty())
            .count();
        out.tick.visited.extend(&w.visited[..passed]);
        out.tick
            .visited_uuids
            .extend(w.visited_uuids.iter().take(passed).cloned());
        out.delivered += kept;
        out.tick.deltas.extend(deltas);
        at = advance;
        let budget_spent = match knobs.budget {
            Budget::WallClock(d) => clock.since(start) >= d,
            Budget::Windows(k) => out.windows >= k,
        };
        if let Some(stop) = stop_after(partial, page_full, cap, out.delivered, budget_spent) {
            out.stop = Some(stop);
            break if stop == Stop::Wrapped {
                String::new()
            } else {
                at
            };
        }
    };
    if commit != entry {
        let t = clock.now();
        let written = cursor.write(&commit);
        timings.push((Phase::CursorWrite.name(), clock.since(t)));
        if let Err(e) = written {
            // B3 again (semantics §8 `drain`): logged, the tick reports success.
            out.tick.logged = Some(format!("cursor write failed (logged): {e}"));
            out.tick.timings = timings;
            return out;
        }
    }
    out.tick.pass_complete = out.stop == Some(Stop::Wrapped);
    out.tick.cursor_after = commit;
    out.tick.timings = timings;
    out
}

/// A full pass of drain ticks from `""` with no writer (as `diff` and `compare` take one): tick
/// after tick until one wraps. With nothing written, a tick's work stays work, so every tick
/// delivers up to the cap and moves on past it; the pass's deltas are every host's, as one
/// window per tick would give under `latest`. `each` sees every tick first; a failed tick ends
/// the pass with its error. Built on `full_pass_each`, keeping what it hands over.
pub fn full_pass(
    src: &dyn batched::Source,
    cfg: &BatchedConfig,
    knobs: &DrainKnobs,
    clock: &dyn Clock,
    mut each: impl FnMut(&mut DrainReport),
) -> Result<batched::PassResult, batched::BatchedError> {
    let mut pass = batched::PassResult::default();
    full_pass_each(src, cfg, knobs, clock, |mut r| {
        each(&mut r);
        pass.visited.extend(r.tick.visited.iter().copied());
        pass.deltas.append(&mut r.tick.deltas);
        pass.ticks.push(r.tick);
    })?;
    Ok(pass)
}

/// The same pass, handing each tick to `on_tick` as it ends instead of keeping it (memory stays
/// bounded by one tick's deltas); returns the ticks run. A failed tick is handed over, then
/// ends the pass with its error.
pub fn full_pass_each(
    src: &dyn batched::Source,
    cfg: &BatchedConfig,
    knobs: &DrainKnobs,
    clock: &dyn Clock,
    mut on_tick: impl FnMut(DrainReport),
) -> Result<usize, batched::BatchedError> {
    let mut cursor = crate::paths::cursor::MemoryCursor::default();
    // Every tick moves the cursor past at least one host, so a pass ends within rows + 1 ticks.
    let bound = src.host_rows()?.max(0) as usize + 2;
    for ticks in 1..=bound {
        let r = tick(src, &mut cursor, cfg, knobs, clock, &mut |_| Ok(()));
        let failed = match &r.tick.outcome {
            Outcome::Error(e) => Some(e.clone()),
            _ => None,
        };
        let wrapped = r.stop == Some(Stop::Wrapped);
        on_tick(r);
        if let Some(e) = failed {
            return Err(batched::BatchedError::Tick(e));
        }
        if wrapped {
            return Ok(ticks);
        }
    }
    Err(batched::BatchedError::Tick(format!(
        "the drain pass did not wrap within {bound} ticks"
    )))
}

/// Adds `more` into `into`, phase by phase, keeping the first-seen order.
fn merge_timings(into: &mut Vec<(&'static str, Duration)>, more: &[(&'static str, Duration)]) {
    for &(name, d) in more {
        match into.iter_mut().find(|(n, _)| *n == name) {
            Some(x) => x.1 += d,
            None => into.push((name, d)),
        }
    }
}

#[cfg(test)]
mod tests;
