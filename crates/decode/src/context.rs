//! [`DecodeContext`]: what every decoder needs besides the bytes: field interning, the
//! tenant and ingest time to stamp, and the limits that keep bad input bounded.

use watchfloor_event::{Event, FieldCache, FieldId, TenantId, Timestamp, Value};

/// Bounds that keep hostile input from using unbounded memory or time.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Longest line (or JSON record) accepted; longer ones are skipped with an error.
    pub max_line_bytes: usize,
    /// Most bytes one compressed member may inflate to.
    pub max_inflated_bytes: u64,
    /// Largest inflated/compressed ratio accepted once past `ratio_floor_bytes`.
    pub max_inflate_ratio: u64,
    /// Inflated size below which the ratio is not checked.
    pub ratio_floor_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_bytes: 4 << 20,
            max_inflated_bytes: 64 << 30,
            max_inflate_ratio: 250,
            ratio_floor_bytes: 256 << 20,
        }
    }
}

/// Per-thread decoding state shared by all decoders of that thread.
#[derive(Debug, Clone)]
pub struct DecodeContext {
    pub fields: FieldCache,
    pub tenant: TenantId,
    /// Stamped on every event as its ingest time.
    pub ingest_time: Timestamp,
    /// Year assumed for timestamps that carry none (RFC 3164 syslog).
    pub default_year: i16,
    pub limits: Limits,
}

impl DecodeContext {
    pub fn new(fields: FieldCache) -> Self {
        let ingest_time = Timestamp::now();
        DecodeContext {
            fields,
            tenant: TenantId::default(),
            ingest_time,
            default_year: crate::time::year_of(ingest_time),
            limits: Limits::default(),
        }
    }

    /// Resolves `name` to its id.
    #[inline]
    pub fn id(&mut self, name: &str) -> FieldId {
        self.fields.intern(name)
    }

    /// Adds a string field whose Sigma name is also its original name.
    #[inline]
    pub fn put_str(&mut self, ev: &mut Event, name: &str, value: &str) {
        let id = self.fields.intern(name);
        ev.push_str(id, id, value);
    }

    /// Adds a field whose Sigma name is also its original name.
    #[inline]
    pub fn put(&mut self, ev: &mut Event, name: &str, value: Value<'_>) {
        let id = self.fields.intern(name);
        ev.push(id, id, value);
    }

    /// Adds a field reachable both by its Sigma name and by its original name.
    #[inline]
    pub fn put_aliased(&mut self, ev: &mut Event, sigma: &str, original: &str, value: Value<'_>) {
        let name = self.fields.intern(sigma);
        let path = self.fields.intern(original);
        ev.push(name, path, value);
    }

    /// Stamps tenant and ingest time on a freshly decoded event.
    pub(crate) fn stamp(&self, ev: &mut Event) {
        ev.tenant = self.tenant;
        ev.ingest_time = self.ingest_time;
    }
}
