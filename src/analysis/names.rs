//! Names of the run records (`loadtest::record`): the `&'static str` fields the loadtest keeps
//! (paths, outcomes, finding kinds) are restored through `static_str`, which maps a stored name
//! back to its static and refuses an unknown one.

use serde::Deserialize;

/// The finding kinds, in the order reports list them.
pub const KINDS: [&str; 6] = [
    "stuck_cursor",
    "cursor_not_advancing",
    "starved_hosts",
    "skipped_hosts",
    "early_wrap",
    "revisited_hosts",
];

/// Values of the `&'static str` fields the checkpoint carries (paths, outcomes, finding
/// kinds): a deserialised one is mapped back to its static, an unknown one refused.
const STATICS: [&str; 15] = [
    "legacy",
    "batched",
    "ok",
    "empty",
    "error",
    "open",
    "converged",
    "failed",
    "superseded",
    KINDS[0],
    KINDS[1],
    KINDS[2],
    KINDS[3],
    KINDS[4],
    KINDS[5],
];

/// A `&'static str` field a checkpoint restores through `static_str`. The alias matters: serde
/// would otherwise borrow a `&str` field from its input, tying the type to that input's lifetime.
pub type StaticName = &'static str;

/// `deserialize_with` for `&'static str` fields.
pub fn static_str<'de, D: serde::Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    let s = String::deserialize(d)?;
    STATICS
        .iter()
        .copied()
        .find(|k| *k == s)
        .ok_or_else(|| serde::de::Error::custom(format!("checkpoint: unknown value {s:?}")))
}
