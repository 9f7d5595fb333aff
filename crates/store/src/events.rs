//! Searching a tenant's stored records: the raw lines with what the pipeline learned
//! of them (event time, host, user, decode error).
//!
//! A search walks the tenant's records in time order through the time index — the
//! event time, or the receipt time for records without one (not yet processed, or no
//! time in them) — checks host, user and processed state in SQL, and the `contains`
//! strings on each line here. The walk is bounded: it stops after
//! [`MAX_SCAN_ROWS`] records or [`MAX_SCAN_BYTES`] of lines, whichever comes first, and
//! the page says so (`scan_capped`): the results are then those found among the
//! records looked at, not all of them. Give a time range (`since`, `until`) to search
//! a large tenant fully; one of the store's read connections is held for the walk
//! (writes go on beside it).

use memchr::memmem::Finder;
use serde::{Serialize, Serializer};
use watchfloor_event::{TenantId, Timestamp};

use crate::alerts::{MAX_FILTER_CHARS, check_filter, time_range};
use crate::ids::{self, wire};
use crate::{Store, StoreError};

/// The most records one search looks at.
pub const MAX_SCAN_ROWS: u64 = 100_000;
/// The most line bytes one search looks at.
pub const MAX_SCAN_BYTES: u64 = 256 * 1024 * 1024;
/// The most events one page holds.
pub const MAX_EVENT_LIMIT: u32 = 1000;
/// The most `contains` strings one search takes.
pub const MAX_CONTAINS: usize = 16;

/// Which records to find. `since` (inclusive) and `until` (exclusive) apply to the
/// event time, or the receipt time for records without one. Host and user match
/// exactly, ignoring ASCII case; every `contains` string must occur in the raw line,
/// ignoring ASCII case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventQuery {
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub host: Option<String>,
    pub user: Option<String>,
    /// Up to [`MAX_CONTAINS`] strings of 1 to 256 characters.
    pub contains: Vec<String>,
    /// Only records the pipeline has processed.
    pub processed_only: bool,
    /// 1 to [`MAX_EVENT_LIMIT`].
    pub limit: u32,
    /// Matches to skip (they count towards the scan bound).
    pub offset: u32,
    /// Newest first (the default), else oldest first; ties by id.
    pub newest_first: bool,
}

impl Default for EventQuery {
    fn default() -> Self {
        EventQuery {
            since: None,
            until: None,
            host: None,
            user: None,
            contains: Vec::new(),
            processed_only: false,
            limit: 100,
            offset: 0,
            newest_first: true,
        }
    }
}

/// One stored record as search shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredEvent {
    pub id: i64,
    #[serde(serialize_with = "wire::tenant")]
    pub tenant: TenantId,
    #[serde(serialize_with = "wire::time")]
    pub received_at: Timestamp,
    #[serde(serialize_with = "wire::opt_time")]
    pub event_time: Option<Timestamp>,
    pub host: Option<String>,
    pub user: Option<String>,
    /// Where the batch came from (the sender's address).
    pub source: String,
    pub format_hint: Option<String>,
    /// The bytes as received; as JSON, text with invalid UTF-8 replaced by U+FFFD.
    #[serde(serialize_with = "lossy_text")]
    pub line: Vec<u8>,
    pub processed: bool,
    /// Why the record gave no event, if it did not.
    pub decode_error: Option<String>,
}

fn lossy_text<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(bytes))
}

/// One page of search results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EventPage {
    pub items: Vec<StoredEvent>,
    pub limit: u32,
    pub offset: u32,
    /// More matches follow this page.
    pub has_more: bool,
    /// Records looked at.
    pub scanned: u64,
    /// The walk stopped at its bound before the end of the range: there may be matches
    /// it did not look at. Narrow the time range.
    pub scan_capped: bool,
}

fn check_query(q: &EventQuery) -> Result<(), StoreError> {
    if q.limit == 0 || q.limit > MAX_EVENT_LIMIT {
        return Err(StoreError::invalid("limit", "must be between 1 and 1000"));
    }
    check_filter("host", q.host.as_deref())?;
    check_filter("user", q.user.as_deref())?;
    if q.contains.len() > MAX_CONTAINS {
        return Err(StoreError::invalid(
            "contains",
            "must hold at most 16 strings",
        ));
    }
    for c in &q.contains {
        if c.is_empty() || c.chars().count() > MAX_FILTER_CHARS {
            return Err(StoreError::invalid(
                "contains",
                "each string must be 1 to 256 characters",
            ));
        }
    }
    Ok(())
}

/// ASCII-case-insensitive substring tests of several needles over lines, reusing one
/// lower-casing buffer.
struct Needles {
    finders: Vec<Finder<'static>>,
    lowered: Vec<u8>,
}

impl Needles {
    fn new(contains: &[String]) -> Needles {
        Needles {
            finders: contains
                .iter()
                .map(|c| Finder::new(c.to_ascii_lowercase().as_bytes()).into_owned())
                .collect(),
            lowered: Vec::new(),
        }
    }

    fn all_in(&mut self, line: &[u8]) -> bool {
        if self.finders.is_empty() {
            return true;
        }
        self.lowered.clear();
        self.lowered.extend(line.iter().map(u8::to_ascii_lowercase));
        self.finders.iter().all(|f| f.find(&self.lowered).is_some())
    }
}

const COLUMNS: &str = "id, tenant_id, received_at_ns, event_time_ns, host, user_name, source, \
     format_hint, line, processed, decode_error, codec";

/// The walk: the tenant's records in a time range, in time order, through the time
/// index (no sort).
fn search_sql(newest_first: bool) -> String {
    let dir = if newest_first { "DESC" } else { "ASC" };
    format!(
        "SELECT {COLUMNS} FROM ingest
         WHERE tenant_id = ?1
           AND COALESCE(event_time_ns, received_at_ns) BETWEEN ?2 AND ?3
           AND (?4 IS NULL OR host = ?4 COLLATE NOCASE)
           AND (?5 IS NULL OR user_name = ?5 COLLATE NOCASE)
           AND (?6 = 0 OR processed = 1)
         ORDER BY COALESCE(event_time_ns, received_at_ns) {dir}, id {dir}"
    )
}

/// The event of a row, its line already given back as received.
fn event(r: &rusqlite::Row<'_>, line: Vec<u8>) -> Result<StoredEvent, StoreError> {
    Ok(StoredEvent {
        id: r.get(0)?,
        tenant: ids::tenant_from_sql(r.get(1)?)?,
        received_at: Timestamp(r.get(2)?),
        event_time: r.get::<_, Option<i64>>(3)?.map(Timestamp),
        host: r.get(4)?,
        user: r.get(5)?,
        source: r.get(6)?,
        format_hint: r.get(7)?,
        line,
        processed: r.get::<_, i64>(9)? != 0,
        decode_error: r.get(10)?,
    })
}

impl Store {
    /// Finds `tenant`'s records (see [`EventQuery`] and the module documentation for
    /// the scan bound).
    pub fn search_events(&self, tenant: TenantId, q: &EventQuery) -> Result<EventPage, StoreError> {
        check_query(q)?;
        let mut page = EventPage {
            items: Vec::new(),
            limit: q.limit,
            offset: q.offset,
            has_more: false,
            scanned: 0,
            scan_capped: false,
        };
        let Some((low, high)) = time_range(q.since, q.until) else {
            return Ok(page);
        };
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&search_sql(q.newest_first))?;
        let mut rows = stmt.query(rusqlite::params![
            ids::tenant_to_sql(tenant),
            low,
            high,
            q.host,
            q.user,
            q.processed_only,
        ])?;
        let mut needles = Needles::new(&q.contains);
        let mut lines = self.codecs.decoder_for_read();
        let mut bytes = 0u64;
        let mut skipped = 0u32;
        while let Some(row) = rows.next()? {
            if page.scanned >= MAX_SCAN_ROWS || bytes >= MAX_SCAN_BYTES {
                page.scan_capped = true;
                break;
            }
            page.scanned += 1;
            let line = lines.line(&conn, row.get(11)?, row.get(8)?)?;
            bytes = bytes.saturating_add(line.len() as u64);
            if !needles.all_in(&line) {
                continue;
            }
            if skipped < q.offset {
                skipped += 1;
                continue;
            }
            if page.items.len() >= q.limit as usize {
                page.has_more = true;
                break;
            }
            page.items.push(event(row, line)?);
        }
        Ok(page)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// How SQLite runs `sql`, one line per step.
    pub(crate) fn plan(store: &Store, sql: &str) -> String {
        let conn = store.conn();
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("explain");
        let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
        let rows = stmt
            .query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))
            .expect("plan");
        rows.map(|r| r.expect("plan row"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_walk_follows_the_time_index_without_sorting() {
        let store = Store::open_in_memory().expect("store");
        for newest_first in [true, false] {
            let plan = plan(&store, &search_sql(newest_first));
            assert!(plan.contains("ingest_by_tenant_time"), "{plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        }
    }

    #[test]
    fn needles_ignore_ascii_case_and_all_must_match() {
        let mut n = Needles::new(&["Mimikatz".to_owned(), "LSASS".to_owned()]);
        assert!(n.all_in(b"run MIMIKATZ against lsass.exe"));
        assert!(!n.all_in(b"run mimikatz"));
        assert!(n.all_in(b"\xff\xfe mimikatz \xff lsass"));
        let mut none = Needles::new(&[]);
        assert!(none.all_in(b"anything"));
    }
}
