//! The reconciler's timed phases, in reading order: the tick as a whole, the legacy diff's
//! queries, the batched tick's steps, the writer. Timings carry a phase's `name()`; reports
//! order phases by `rank`.

crate::support::named::named_enum!(
    "snake_case",
    /// One timed phase of a reconciler tick (semantics §3, §4, §5).
    pub enum Phase {
        /// A whole tick.
        Tick,
        /// Legacy (tuned SQL): the desired state, materialised once.
        Desired,
        /// Legacy: the install list.
        Install,
        /// Legacy: the remove list.
        Remove,
        /// Batched: reading the cursor.
        CursorRead,
        /// Batched: the window of hosts after the cursor.
        Window,
        /// Batched: the profile catalog.
        Catalog,
        /// Batched: the window's label memberships.
        Memberships,
        /// Batched: the window's current rows.
        CurrentRows,
        /// Batched: the handlers' decisions.
        Compute,
        /// Batched: writing the cursor.
        CursorWrite,
        /// The writer applying the tick's deltas.
        Write,
    }
);

impl Phase {
    /// The batched tick's steps, in the order a tick runs them.
    pub const BATCHED: [Phase; 7] = [
        Phase::CursorRead,
        Phase::Window,
        Phase::Catalog,
        Phase::Memberships,
        Phase::CurrentRows,
        Phase::Compute,
        Phase::CursorWrite,
    ];

    /// A phase name's place in reading order: reconciler phases first, then the rest by name.
    pub fn rank(name: &str) -> (usize, String) {
        let place = Phase::ALL.iter().position(|p| p.name() == name);
        (place.unwrap_or(Phase::ALL.len()), name.to_string())
    }
}
