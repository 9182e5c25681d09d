//! The spec §1 timestamp formats: TEXT in UTC, one format per column so that text order is
//! time order. `YYYY-MM-DD HH:MM:SS` for TIMESTAMP columns, `YYYY-MM-DD HH:MM:SS.ffffff` (always
//! six digits) for DATETIME columns. Times inside reconsim are whole or micro seconds since the
//! Unix epoch; these functions are the only place they become text and back.

use chrono::{DateTime, NaiveDateTime};

/// A value of a timestamp column that is not in its one format (spec §1), with its place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "table `{table}`, column `{column}`, {row}: {value:?} is not a `{format}` timestamp (spec §1)"
)]
pub struct BadTimestamp {
    pub table: &'static str,
    pub column: &'static str,
    /// How to find the row, e.g. `host id 17`.
    pub row: String,
    pub value: String,
    /// `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD HH:MM:SS.ffffff`.
    pub format: &'static str,
}

/// The TIMESTAMP format as users read it.
pub const TIMESTAMP_FORMAT: &str = "YYYY-MM-DD HH:MM:SS";
/// The DATETIME(6) format as users read it.
pub const DATETIME6_FORMAT: &str = "YYYY-MM-DD HH:MM:SS.ffffff";

/// Fleet's "never reported labels" sentinel (spec §1).
pub const SENTINEL: &str = "2000-01-01 00:00:00";

const TS: &str = "%Y-%m-%d %H:%M:%S";
const DT6: &str = "%Y-%m-%d %H:%M:%S%.6f";

/// Formats seconds since the epoch as a TIMESTAMP column value.
pub fn timestamp(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0)
        .map(|t| t.format(TS).to_string())
        .unwrap_or_else(|| SENTINEL.to_string())
}

/// Formats microseconds since the epoch as a DATETIME(6) column value.
pub fn datetime6(micros: i64) -> String {
    DateTime::from_timestamp_micros(micros)
        .map(|t| t.format(DT6).to_string())
        .unwrap_or_else(|| format!("{SENTINEL}.000000"))
}

/// Parses a TIMESTAMP value to seconds since the epoch; None unless it is exactly the format.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    if s.len() != 19 {
        return None;
    }
    NaiveDateTime::parse_from_str(s, TS)
        .ok()
        .map(|t| t.and_utc().timestamp())
}

/// Parses a DATETIME(6) value to microseconds; None unless it is exactly the format.
pub fn parse_datetime6(s: &str) -> Option<i64> {
    if s.len() != 26 {
        return None;
    }
    NaiveDateTime::parse_from_str(s, DT6)
        .ok()
        .map(|t| t.and_utc().timestamp_micros())
}

/// The shape of a TIMESTAMP value, byte by byte: `d` a digit, anything else itself. The
/// same shape as the GLOB of `schema::check_timestamps`; checked without parsing because the
/// batched path checks every value it reads.
const SHAPE: &[u8; 19] = b"dddd-dd-dd dd:dd:dd";

fn has_shape(s: &[u8]) -> bool {
    s.len() == SHAPE.len()
        && s.iter().zip(SHAPE).all(|(&c, &want)| match want {
            b'd' => c.is_ascii_digit(),
            _ => c == want,
        })
}

/// True iff `s` has the TIMESTAMP format `YYYY-MM-DD HH:MM:SS`.
pub fn is_timestamp(s: &str) -> bool {
    has_shape(s.as_bytes())
}

/// True iff `s` has the DATETIME(6) format `YYYY-MM-DD HH:MM:SS.ffffff`.
pub fn is_datetime6(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 26 && has_shape(&b[..19]) && b[19] == b'.' && b[20..].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let cases = [
            (0, "1970-01-01 00:00:00"),
            (946_684_800, SENTINEL),
            (1_780_315_200, "2026-06-01 12:00:00"),
        ];
        for (secs, text) in cases {
            assert_eq!(timestamp(secs), text);
            assert_eq!(parse_timestamp(text), Some(secs));
        }
        assert_eq!(datetime6(1_500_000), "1970-01-01 00:00:01.500000");
        assert_eq!(
            parse_datetime6("1970-01-01 00:00:01.500000"),
            Some(1_500_000)
        );
    }

    #[test]
    fn rejects_other_formats() {
        for bad in [
            "2026-06-01T12:00:00",
            "2026-06-01 12:00",
            "2026-6-1 12:00:00",
            "2026-06-01 12:00:00.5",
            "",
            "yesterday",
        ] {
            assert!(!is_timestamp(bad), "{bad}");
        }
        assert!(!is_datetime6("2026-06-01 12:00:00"));
        assert!(!is_datetime6("2026-06-01 12:00:00.50"));
    }

    #[test]
    fn text_order_is_time_order() {
        let a = timestamp(1_000_000_000);
        let b = timestamp(1_000_000_001);
        assert!(a < b);
        assert!(datetime6(9_999_999) < datetime6(10_000_000));
    }
}
