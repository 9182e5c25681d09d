//! Which hosts take part (spec §2), as one SQL predicate shared by every query that needs it.

/// True for a host row `h` that is eligible (spec §2): an Apple platform and an enabled
/// `Device` or `User Enrollment (Device)` enrollment with a nano device. `EXISTS`, so several
/// qualifying enrollments never multiply the host row.
pub const ELIGIBLE_HOST: &str = "h.platform IN ('darwin', 'ios', 'ipados') AND EXISTS (
    SELECT 1 FROM nano_enrollments ne JOIN nano_devices nd ON nd.id = ne.device_id
    WHERE ne.device_id = h.uuid AND ne.enabled = 1
      AND ne.type IN ('Device', 'User Enrollment (Device)'))";

/// Profile names Fleet never installs on iOS/iPadOS (spec §2).
pub const MACOS_ONLY_PROFILES: [&str; 2] = ["Fleetd configuration", "Disk encryption"];

/// D7 (spec §6): `host_mdm.enrolled = 1` required when the rule is on, as a clause to append
/// after `ELIGIBLE_HOST` (empty when off).
pub fn enrolled_clause(rules: &crate::domain::rules::Rules) -> &'static str {
    if rules.d7_require_enrolled {
        " AND EXISTS (SELECT 1 FROM host_mdm hm WHERE hm.host_id = h.id AND hm.enrolled = 1)"
    } else {
        ""
    }
}
