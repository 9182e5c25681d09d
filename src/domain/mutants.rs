//! Oracle sensitivity (issue 5): deliberate bugs injected into the batched path with
//! `--mutate NAME`, to check that `compare` (divergences no rule or fact explains) and the
//! cursor liveness monitor catch each of them. Never set in a normal run.

crate::support::named::named_enum!(
    "kebab-case",
    /// A deliberate bug.
    pub enum Mutant {
        /// A full window's last host is not processed, though the cursor moves past it.
        WindowOffByOne,
        /// The window lists `uuid >= cursor` instead of `>`.
        CursorGe,
        /// The broken-label check is gone: broken profiles lose their removal exemption and
        /// their broken refs pass the gates.
        NoBrokenCheck,
        /// The timing rule uses `<=`: a host that reported exactly at the label's creation is
        /// "not evaluated yet".
        TimingLe,
        /// Include-any profiles are treated as include-all.
        AnyAsAll,
    }
);
