//! Progress of long work, as the library reports it: the CLI shows it (a progress bar on a
//! terminal), tests and library callers pass `Silent`. The library never names a terminal
//! crate; `cmd` implements this trait for its progress bars.

/// A sink for progress: a length, a position and a message. Every method does nothing unless
/// an implementation says otherwise.
pub trait Progress {
    /// The total amount of work, in the unit the caller counts (rows, ticks).
    fn set_length(&self, _total: u64) {}
    /// Work done so far.
    fn set_position(&self, _done: u64) {}
    /// More work done.
    fn inc(&self, _delta: u64) {}
    /// What is happening now.
    fn set_message(&self, _message: String) {}
}

/// Progress nobody watches.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {}
