//! Row ids of the store's own objects, and the conversions between the event crate's
//! `TenantId`/`Timestamp` and SQLite integers and JSON.

use serde::{Serialize, Serializer};
use watchfloor_event::{TenantId, Timestamp};

use crate::StoreError;

/// A user's id; never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct UserId(pub i64);

/// An API token's id (not its secret); never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TokenId(pub i64);

/// An audit record's id; ids grow with time, so they double as a page cursor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AuditId(pub i64);

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for TokenId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A tenant id read from the database (SQLite integers are i64; tenant ids are u32).
pub(crate) fn tenant_from_sql(raw: i64) -> Result<TenantId, StoreError> {
    u32::try_from(raw)
        .map(TenantId)
        .map_err(|_| StoreError::Corrupt("tenant id out of range"))
}

pub(crate) fn tenant_to_sql(tenant: TenantId) -> i64 {
    i64::from(tenant.0)
}

/// Serde helpers: tenants as plain numbers, times as RFC 3339 text (the integer
/// nanoseconds if the time is outside what RFC 3339 text covers).
pub(crate) mod wire {
    use super::*;

    pub(crate) fn tenant<S: Serializer>(t: &TenantId, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(t.0)
    }

    pub(crate) fn opt_tenant<S: Serializer>(t: &Option<TenantId>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(&t.0),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn tenants<S: Serializer>(ts: &[TenantId], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(ts.iter().map(|t| t.0))
    }

    pub(crate) fn time<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        match jiff::Timestamp::from_nanosecond(i128::from(t.0)) {
            Ok(ts) => s.collect_str(&ts),
            Err(_) => s.serialize_i64(t.0),
        }
    }

    pub(crate) fn opt_time<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        struct Time(Timestamp);
        impl Serialize for Time {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                time(&self.0, s)
            }
        }
        match t {
            Some(t) => s.serialize_some(&Time(*t)),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Times {
        #[serde(serialize_with = "wire::time")]
        at: Timestamp,
        #[serde(serialize_with = "wire::opt_time")]
        maybe: Option<Timestamp>,
        #[serde(serialize_with = "wire::opt_time")]
        never: Option<Timestamp>,
    }

    #[test]
    fn times_serialize_as_rfc3339() {
        let t = Timestamp(1_700_000_000_500_000_000);
        let json = serde_json::to_string(&Times {
            at: t,
            maybe: Some(t),
            never: None,
        })
        .unwrap_or_default();
        assert_eq!(
            json,
            r#"{"at":"2023-11-14T22:13:20.5Z","maybe":"2023-11-14T22:13:20.5Z","never":null}"#
        );
    }

    #[test]
    fn tenant_ids_out_of_range_are_corrupt_not_a_panic() {
        assert_eq!(tenant_from_sql(7).ok(), Some(TenantId(7)));
        assert!(tenant_from_sql(-1).is_err());
        assert!(tenant_from_sql(i64::from(u32::MAX) + 1).is_err());
        assert_eq!(tenant_to_sql(TenantId(u32::MAX)), i64::from(u32::MAX));
    }
}
