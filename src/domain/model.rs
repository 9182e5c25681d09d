//! In-memory rows shared by the batched path, its handlers and the equivalence report.
//! Timestamps stay as spec §1 text (validated on read), since text order is time order.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// A status or operation value: the values of spec §1 are shared statics, anything else is
/// kept as read. Current rows are the largest load of the batched path; this spares two
/// allocations per row.
pub type Text = Cow<'static, str>;

/// A checksum as read from a row (16 bytes in Fleet, any length accepted).
pub type Checksum = smallvec::SmallVec<[u8; 16]>;

/// The spec §1 value of `s` as a static when it is one.
pub fn intern(s: &str) -> Text {
    match known(s.as_bytes()) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(s.to_string()),
    }
}

/// The spec §1 value whose bytes are `b`, if it is one: lets a reader share the static without
/// checking the bytes are UTF-8 first.
pub fn known(b: &[u8]) -> Option<&'static str> {
    const KNOWN: [&str; 6] = [
        "install",
        "remove",
        "pending",
        "verifying",
        "verified",
        "failed",
    ];
    KNOWN.into_iter().find(|k| k.as_bytes() == b)
}

/// A host row as the batched window lists it (spec §4.1 step 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub id: i64,
    pub uuid: String,
    pub team_id: Option<i64>,
    pub platform: String,
    /// `YYYY-MM-DD HH:MM:SS`.
    pub label_updated_at: String,
}

impl Host {
    /// Team match of spec §2: `p.team_id = COALESCE(h.team_id, 0)`.
    pub fn team(&self) -> i64 {
        self.team_id.unwrap_or(0)
    }
}

/// One row of `mdm_configuration_profile_labels`, with its label's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRef {
    pub label_name: String,
    /// None = broken (the label was deleted).
    pub label_id: Option<i64>,
    /// `labels.created_at`; None when NULL or when the labels row is missing.
    pub created_at: Option<String>,
    /// `labels.label_membership_type`; None when the labels row is missing.
    pub membership_type: Option<i64>,
    pub exclude: bool,
    pub require_all: bool,
}

impl LabelRef {
    pub fn broken(&self) -> bool {
        self.label_id.is_none()
    }
    /// `label 17 "Engineering"` or `deleted label "Engineering"`, for explanations.
    pub fn describe(&self) -> String {
        match self.label_id {
            Some(id) => format!("label {id} {:?}", self.label_name),
            None => format!("deleted label {:?}", self.label_name),
        }
    }
}

/// A profile of the catalog with all its label rows, in row-id order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub uuid: String,
    pub team_id: i64,
    pub identifier: String,
    pub name: String,
    pub checksum: Vec<u8>,
    /// `YYYY-MM-DD HH:MM:SS.ffffff`.
    pub secrets_updated_at: Option<String>,
    pub refs: Vec<LabelRef>,
}

/// A row of `host_mdm_apple_profiles`, the columns the reconcilers read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentRow {
    /// Shared by all rows of a host.
    pub host_uuid: Arc<str>,
    /// Shared with the catalog when the profile is in it.
    pub profile_uuid: Arc<str>,
    pub status: Option<Text>,
    pub operation_type: Option<Text>,
    /// Inline up to 16 bytes (an MD5), so reading a row allocates nothing for it.
    pub checksum: Checksum,
    pub secrets_updated_at: Option<String>,
}

/// What a reconciler decides for a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Op {
    Install,
    Remove,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Install => "install",
            Op::Remove => "remove",
        })
    }
}

/// One delta: (host_uuid, profile_uuid, operation); ordered by those three, as the CSV is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Delta {
    pub host_uuid: Arc<str>,
    pub profile_uuid: Arc<str>,
    pub op: Op,
}

impl Delta {
    pub fn new(host_uuid: &str, profile_uuid: &str, op: Op) -> Delta {
        Delta {
            host_uuid: Arc::from(host_uuid),
            profile_uuid: Arc::from(profile_uuid),
            op,
        }
    }

    /// A delta sharing its uuids (no allocation): the batched path's hot loop.
    pub fn shared(host_uuid: &Arc<str>, profile_uuid: &Arc<str>, op: Op) -> Delta {
        Delta {
            host_uuid: host_uuid.clone(),
            profile_uuid: profile_uuid.clone(),
            op,
        }
    }
}

/// Spec §2: Fleet never installs its own macOS-only profiles on iOS/iPadOS; such a pair stays
/// desired (so it is not removed either), it is only dropped from the install list.
pub fn macos_only_withheld(platform: &str, profile_name: &str) -> bool {
    matches!(platform, "ios" | "ipados")
        && crate::domain::eligibility::MACOS_ONLY_PROFILES.contains(&profile_name)
}
