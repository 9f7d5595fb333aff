//! Times and durations as the analysis engine shows them.

use watchfloor_event::{TenantId, Timestamp};

/// Nanoseconds in one second, minute and hour.
pub const SECOND: i64 = 1_000_000_000;
pub const MINUTE: i64 = 60 * SECOND;
pub const HOUR: i64 = 60 * MINUTE;

/// RFC 3339 in UTC (`2019-05-18T20:04:32.123Z`), or `invalid-time`.
pub fn rfc3339(ts: Timestamp) -> String {
    match jiff::Timestamp::from_nanosecond(i128::from(ts.0)) {
        Ok(t) => t.to_string(),
        Err(_) => String::from("invalid-time"),
    }
}

/// A duration for people: `45s`, `12m`, `3h`, `2d 4h`.
pub fn human_duration(nanos: i64) -> String {
    let secs = nanos.max(0) / SECOND;
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3600),
        s if s % 86_400 < 3600 => format!("{}d", s / 86_400),
        s => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// Serializes a [`Timestamp`] as RFC 3339 text.
pub(crate) fn serialize_time<S: serde::Serializer>(
    ts: &Timestamp,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*ts))
}

/// Serializes a [`TenantId`] as its number.
pub(crate) fn serialize_tenant<S: serde::Serializer>(
    t: &TenantId,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_u32(t.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(rfc3339(Timestamp(0)), "1970-01-01T00:00:00Z");
        assert_eq!(human_duration(59 * SECOND), "59s");
        assert_eq!(human_duration(3 * HOUR), "3h");
        assert_eq!(human_duration(50 * HOUR), "2d 2h");
        assert_eq!(human_duration(48 * HOUR), "2d");
    }
}
