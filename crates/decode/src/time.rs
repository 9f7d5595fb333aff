//! Timestamp parsing for the formats logs use, all to UTC [`Timestamp`]s.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use watchfloor_event::Timestamp;

/// Parses the timestamp shapes found in JSON logs: RFC 3339 with any offset or `Z`,
/// `YYYY-MM-DD hh:mm:ss[.fff]` (taken as UTC), and Unix epoch seconds as a string.
pub fn parse_timestamp(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Some(from_jiff(ts));
    }
    if let Ok(dt) = s.parse::<DateTime>() {
        return dt
            .to_zoned(TimeZone::UTC)
            .ok()
            .map(|z| from_jiff(z.timestamp()));
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return parse_epoch(s);
    }
    None
}

/// Unix epoch seconds with an optional fraction (`1331901000.000000`, Zeek's `ts`), or
/// milliseconds when the integer part has 13 digits.
pub fn parse_epoch(s: &str) -> Option<Timestamp> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = int.parse().ok()?;
    if frac.is_empty() && int.len() == 13 {
        return secs.checked_mul(1_000_000).map(Timestamp);
    }
    let mut nanos: i64 = 0;
    for (i, b) in frac.bytes().take(9).enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        nanos += i64::from(b - b'0') * 10i64.pow(8 - i as u32);
    }
    secs.checked_mul(1_000_000_000)?
        .checked_add(nanos)
        .map(Timestamp)
}

/// Epoch seconds as a float (JSON numbers).
pub fn from_epoch_f64(secs: f64) -> Option<Timestamp> {
    if secs > 1e12 {
        Timestamp::from_secs_f64(secs / 1000.0)
    } else {
        Timestamp::from_secs_f64(secs)
    }
}

pub(crate) fn from_jiff(ts: jiff::Timestamp) -> Timestamp {
    Timestamp(ts.as_nanosecond().clamp(i64::MIN as i128, i64::MAX as i128) as i64)
}

/// A civil date and time at a fixed UTC offset, as logs write them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Civil {
    pub year: i16,
    pub month: i8,
    pub day: i8,
    pub hour: i8,
    pub minute: i8,
    pub second: i8,
    pub nanos: i32,
    pub offset_seconds: i32,
}

impl Civil {
    /// The instant, or `None` for an impossible date or offset.
    pub fn to_timestamp(self) -> Option<Timestamp> {
        let dt = DateTime::new(
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.nanos,
        )
        .ok()?;
        let offset = jiff::tz::Offset::from_seconds(self.offset_seconds).ok()?;
        let ts = dt.to_zoned(TimeZone::fixed(offset)).ok()?.timestamp();
        Some(from_jiff(ts))
    }
}

/// The UTC calendar year of `ts`.
pub fn year_of(ts: Timestamp) -> i16 {
    jiff::Timestamp::from_nanosecond(i128::from(ts.0))
        .map(|t| t.to_zoned(TimeZone::UTC).year())
        .unwrap_or(1970)
}

/// `ts` as RFC 3339 UTC with nanosecond precision trimmed of trailing zeros.
pub fn format_rfc3339(ts: Timestamp) -> String {
    match jiff::Timestamp::from_nanosecond(i128::from(ts.0)) {
        Ok(t) => t.to_string(),
        Err(_) => String::from("invalid-time"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let z = parse_timestamp("2020-06-10T02:50:56.537Z").unwrap();
        assert_eq!(format_rfc3339(z), "2020-06-10T02:50:56.537Z");
        let plain = parse_timestamp("2020-06-10 02:50:54.631").unwrap();
        assert_eq!(format_rfc3339(plain), "2020-06-10T02:50:54.631Z");
        let off = parse_timestamp("2020-06-10T04:50:56+02:00").unwrap();
        assert_eq!(format_rfc3339(off), "2020-06-10T02:50:56Z");
        let ep = parse_timestamp("1331901000.123456").unwrap();
        assert_eq!(format_rfc3339(ep), "2012-03-16T12:30:00.123456Z");
        assert_eq!(
            parse_epoch("1700000000000").unwrap().0,
            1_700_000_000_000_000_000
        );
        assert!(parse_timestamp("yesterday").is_none());
        assert_eq!(year_of(ep), 2012);
        let civil = Civil {
            year: 2015,
            month: 5,
            day: 17,
            hour: 10,
            minute: 5,
            second: 3,
            ..Civil::default()
        }
        .to_timestamp()
        .unwrap();
        assert_eq!(format_rfc3339(civil), "2015-05-17T10:05:03Z");
    }
}
