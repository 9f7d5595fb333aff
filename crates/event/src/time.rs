//! Event time: UTC nanoseconds since the Unix epoch.

/// A point in time as UTC nanoseconds since 1970-01-01T00:00:00Z. Covers the years
/// 1678 to 2262, which holds every timestamp a log can sensibly carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const UNIX_EPOCH: Timestamp = Timestamp(0);

    pub fn from_nanos(nanos: i64) -> Self {
        Timestamp(nanos)
    }

    pub fn as_nanos(self) -> i64 {
        self.0
    }

    /// Whole seconds and nanoseconds, with the seconds rounded down.
    pub fn from_secs_f64(secs: f64) -> Option<Self> {
        let nanos = secs * 1e9;
        (nanos.is_finite() && nanos.abs() < i64::MAX as f64).then_some(Timestamp(nanos as i64))
    }

    /// The current time from the system clock.
    pub fn now() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(d.as_nanos().min(i64::MAX as u128) as i64)
    }
}
