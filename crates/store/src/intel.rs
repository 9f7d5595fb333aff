//! Threat intelligence per tenant: indicators with every source's attribution, the STIX
//! objects that give them context, and the walk over stored records that a retro-hunt
//! needs.
//!
//! The store keeps intelligence as plain rows and knows nothing of its model: an
//! indicator is its kind and normalised value (both text), its attributions as a JSON
//! array, the name of its strictest TLP and the rank of its most open one (0 clear … 4
//! red, the ranks the caller defines). Merging a new attribution into a known indicator
//! is the caller's business: [`Store::upsert_indicators`] hands each known row and the
//! incoming one to a merge function inside the transaction, so two imports at once
//! never lose each other's attributions.
//!
//! Every change moves an indicator's `added_at`, and (tenant, `added_at`, id) is the
//! order partners page through ([`Store::indicator_rows_added_after`], the TAXII
//! collection). Sightings ([`Store::bump_sightings`]) do not move it: they are ours,
//! not part of what is shared.
//!
//! Imports and retro-hunts are audited (`intel.import`, `intel.retro-hunt`, object
//! `intel:indicators`, the counts in the detail); sightings counted by the pipeline are
//! data and are not.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use serde_json::value::RawValue;
use watchfloor_event::{TenantId, Timestamp};

use crate::alerts::{Page, check_filter, doc_from_sql, u64_from_sql};
use crate::audit::{self, AuditAction, Change, Origin};
use crate::ids::{self, wire};
use crate::{Store, StoreError, tenant};

/// The longest indicator kind name, in characters.
pub const MAX_KIND_CHARS: usize = 32;
/// The longest indicator value, in bytes.
pub const MAX_INDICATOR_VALUE_BYTES: usize = 8 * 1024;
/// The longest attributions document of one indicator, in bytes.
pub const MAX_ATTRIBUTIONS_BYTES: usize = 256 * 1024;
/// The longest STIX context object, in bytes.
pub const MAX_STIX_OBJECT_BYTES: usize = 1024 * 1024;
/// The highest TLP rank (red); ranks run from 0 (clear).
pub const MAX_TLP_RANK: u8 = 4;
/// The most indicators (or objects) one page holds.
pub const MAX_INTEL_PAGE: u32 = 1000;
/// The most records one [`Store::scan_records`] call returns.
pub const MAX_SCAN_BATCH: u32 = 10_000;

/// An indicator as a caller writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndicatorRow {
    /// The kind's name (`ipv4`, `domain`, `sha256`…), 1 to [`MAX_KIND_CHARS`].
    pub kind: String,
    /// The normalised value, 1 to [`MAX_INDICATOR_VALUE_BYTES`] bytes.
    pub value: String,
    /// A JSON array of attributions, at most [`MAX_ATTRIBUTIONS_BYTES`].
    pub attributions: String,
    /// The strictest TLP of the attributions, by name (`amber+strict`).
    pub tlp_max: String,
    /// The rank of the most open TLP of the attributions, 0 to [`MAX_TLP_RANK`].
    pub tlp_open_rank: u8,
    /// When a source first and last reported it (merged with what is stored: the
    /// earliest first, the latest last).
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
}

/// An indicator as stored.
#[derive(Clone, Debug, Serialize)]
pub struct StoredIndicator {
    /// Per store, increasing; never reused.
    pub id: i64,
    #[serde(serialize_with = "wire::tenant")]
    pub tenant: TenantId,
    pub kind: String,
    pub value: String,
    pub attributions: Box<RawValue>,
    pub tlp_max: String,
    #[serde(skip)]
    pub tlp_open_rank: u8,
    #[serde(serialize_with = "wire::time")]
    pub first_seen: Timestamp,
    /// The latest report by a source, or sighting in the tenant's events.
    #[serde(serialize_with = "wire::time")]
    pub last_seen: Timestamp,
    /// How often the tenant's events matched it.
    pub sightings: u64,
    /// When it was added or last changed (a new or changed attribution).
    #[serde(serialize_with = "wire::time")]
    pub added_at: Timestamp,
}

/// A STIX object kept for context (malware, threat actor, relationship…).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextRow {
    /// The STIX id (`malware--…`).
    pub stix_id: String,
    /// The STIX type (`malware`).
    pub kind: String,
    /// The object, at most [`MAX_STIX_OBJECT_BYTES`].
    pub json: String,
}

/// A context object as stored.
#[derive(Clone, Debug, Serialize)]
pub struct StoredObject {
    pub id: i64,
    pub stix_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub json: Box<RawValue>,
    #[serde(serialize_with = "wire::time")]
    pub added_at: Timestamp,
}

/// One import: what to write and what the audit record says it was.
#[derive(Clone, Copy, Debug)]
pub struct IntelImport<'a> {
    pub indicators: &'a [IndicatorRow],
    pub objects: &'a [ContextRow],
    /// What the audit record says first (the source, the format, what the importer
    /// left out); the store adds its counts. No control characters but line breaks.
    pub summary: &'a str,
}

/// What an import changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IntelImportReceipt {
    /// New indicators.
    pub inserted: u64,
    /// Known indicators whose attributions changed.
    pub merged: u64,
    /// Known indicators whose attributions stayed as they were (their `last_seen` may
    /// have moved).
    pub unchanged: u64,
    pub objects_added: u64,
    pub objects_updated: u64,
}

/// Which indicators to list: by kind, by a substring of the value (ignoring ASCII
/// case), added (or changed) since a time, visible at a TLP rank; by id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndicatorQuery {
    pub kind: Option<String>,
    /// At most 256 characters.
    pub text: Option<String>,
    pub since_added: Option<Timestamp>,
    /// Only indicators with an attribution at this rank or more open.
    pub max_open_rank: u8,
    /// 1 to [`MAX_INTEL_PAGE`].
    pub limit: u32,
    pub offset: u32,
}

impl Default for IndicatorQuery {
    fn default() -> Self {
        IndicatorQuery {
            kind: None,
            text: None,
            since_added: None,
            max_open_rank: MAX_TLP_RANK,
            limit: 100,
            offset: 0,
        }
    }
}

/// A page of indicators.
pub type IndicatorPage = Page<StoredIndicator>;

/// Where a page in `added_at` order starts: after this (added_at, id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddedCursor {
    pub added_at: Timestamp,
    pub id: i64,
}

/// A page in `added_at` order (TAXII): rows added strictly after `added_after`,
/// after the cursor, visible at `max_open_rank`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddedQuery {
    pub added_after: Option<Timestamp>,
    pub cursor: Option<AddedCursor>,
    pub max_open_rank: u8,
    /// 1 to [`MAX_INTEL_PAGE`].
    pub limit: u32,
}

/// One page in `added_at` order, and whether more rows follow it.
#[derive(Clone, Debug)]
pub struct AddedPage {
    pub items: Vec<StoredIndicator>,
    pub more: bool,
}

/// Sightings of one indicator to add.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sighting {
    pub kind: String,
    pub value: String,
    pub count: u64,
    /// The latest time it was seen.
    pub last_seen: Timestamp,
}

/// A tenant's intelligence in numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IntelCounts {
    pub indicators: u64,
    pub by_kind: BTreeMap<String, u64>,
    /// By strictest TLP.
    pub by_tlp: BTreeMap<String, u64>,
    /// Indicators seen at least once in the tenant's events, and sightings in all.
    pub sighted: u64,
    pub sightings: u64,
    pub objects: u64,
    #[serde(serialize_with = "wire::opt_time")]
    pub last_added: Option<Timestamp>,
}

/// One stored record as a retro-hunt reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanRecord {
    pub id: i64,
    /// Its event time, or its receipt time when it has none.
    pub time: Timestamp,
    pub host: Option<String>,
    pub user: Option<String>,
    pub line: Vec<u8>,
}

const COLUMNS: &str = "id, tenant_id, kind, value, attributions, tlp_max, tlp_open_rank, \
     first_seen_ns, last_seen_ns, sightings, added_at_ns";

fn indicator(r: &rusqlite::Row<'_>) -> Result<StoredIndicator, StoreError> {
    let rank: i64 = r.get(6)?;
    Ok(StoredIndicator {
        id: r.get(0)?,
        tenant: ids::tenant_from_sql(r.get(1)?)?,
        kind: r.get(2)?,
        value: r.get(3)?,
        attributions: doc_from_sql(r.get(4)?)?,
        tlp_max: r.get(5)?,
        tlp_open_rank: u8::try_from(rank).map_err(|_| StoreError::Corrupt("TLP rank"))?,
        first_seen: Timestamp(r.get(7)?),
        last_seen: Timestamp(r.get(8)?),
        sightings: u64_from_sql(r.get(9)?, "negative sightings")?,
        added_at: Timestamp(r.get(10)?),
    })
}

fn collect(
    rows: &mut rusqlite::Rows<'_>,
    mut each: impl FnMut(&rusqlite::Row<'_>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    while let Some(row) = rows.next()? {
        each(row)?;
    }
    Ok(())
}

fn check_rank(field: &'static str, rank: u8) -> Result<(), StoreError> {
    if rank > MAX_TLP_RANK {
        return Err(StoreError::invalid(field, "must be between 0 and 4"));
    }
    Ok(())
}

fn check_limit(limit: u32) -> Result<(), StoreError> {
    if limit == 0 || limit > MAX_INTEL_PAGE {
        return Err(StoreError::invalid("limit", "must be between 1 and 1000"));
    }
    Ok(())
}

fn check_row(row: &IndicatorRow) -> Result<(), StoreError> {
    let kind_ok = !row.kind.is_empty()
        && row.kind.chars().count() <= MAX_KIND_CHARS
        && row
            .kind
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !kind_ok {
        return Err(StoreError::invalid(
            "kind",
            "must be 1 to 32 letters, digits, dashes, dots or underscores",
        ));
    }
    if row.value.is_empty() || row.value.len() > MAX_INDICATOR_VALUE_BYTES {
        return Err(StoreError::invalid("value", "must be 1 to 8192 bytes"));
    }
    if row.value.chars().any(char::is_control) {
        return Err(StoreError::invalid(
            "value",
            "must not contain control characters",
        ));
    }
    if row.attributions.len() > MAX_ATTRIBUTIONS_BYTES
        || !serde_json::from_str::<&RawValue>(&row.attributions)
            .is_ok_and(|v| v.get().starts_with('['))
    {
        return Err(StoreError::invalid(
            "attributions",
            "must be a JSON array of at most 256 KiB",
        ));
    }
    if row.tlp_max.is_empty() || row.tlp_max.len() > MAX_KIND_CHARS {
        return Err(StoreError::invalid("tlp_max", "must be a TLP name"));
    }
    check_rank("tlp_open_rank", row.tlp_open_rank)
}

fn check_object(o: &ContextRow) -> Result<(), StoreError> {
    let id_ok = o.stix_id.len() <= 300
        && o.stix_id.split_once("--").is_some_and(|(t, rest)| {
            !t.is_empty() && !rest.is_empty() && !o.stix_id.chars().any(char::is_control)
        });
    if !id_ok {
        return Err(StoreError::invalid(
            "stix_id",
            "must be a STIX id (type--id)",
        ));
    }
    if o.kind.is_empty() || o.kind.len() > 250 || o.kind.chars().any(char::is_control) {
        return Err(StoreError::invalid("type", "must be a STIX type"));
    }
    if o.json.len() > MAX_STIX_OBJECT_BYTES
        || !serde_json::from_str::<&RawValue>(&o.json).is_ok_and(|v| v.get().starts_with('{'))
    {
        return Err(StoreError::invalid(
            "json",
            "must be a JSON object of at most 1 MiB",
        ));
    }
    Ok(())
}

fn check_summary(summary: &str) -> Result<(), StoreError> {
    if summary
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t'))
        || summary.chars().count() > 2000
    {
        return Err(StoreError::invalid(
            "summary",
            "must be at most 2000 characters without control characters",
        ));
    }
    Ok(())
}

fn load_by_value(
    conn: &Connection,
    tenant: TenantId,
    kind: &str,
    value: &str,
) -> Result<Option<StoredIndicator>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM intel_indicators WHERE tenant_id = ?1 AND kind = ?2 AND value = ?3"
    ))?;
    let mut rows = stmt.query((ids::tenant_to_sql(tenant), kind, value))?;
    match rows.next()? {
        Some(r) => Ok(Some(indicator(r)?)),
        None => Ok(None),
    }
}

/// Writes one indicator: inserted, merged into the stored one, or left unchanged.
fn upsert_one(
    tx: &Connection,
    tenant: TenantId,
    row: &IndicatorRow,
    merge: &mut dyn FnMut(&StoredIndicator, &IndicatorRow) -> IndicatorRow,
    now: Timestamp,
    receipt: &mut IntelImportReceipt,
) -> Result<(), StoreError> {
    let t = ids::tenant_to_sql(tenant);
    let Some(stored) = load_by_value(tx, tenant, &row.kind, &row.value)? else {
        tx.prepare_cached(
            "INSERT INTO intel_indicators (tenant_id, kind, value, attributions, tlp_max,
                 tlp_open_rank, first_seen_ns, last_seen_ns, added_at_ns)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(rusqlite::params![
            t,
            row.kind,
            row.value,
            row.attributions,
            row.tlp_max,
            row.tlp_open_rank,
            row.first_seen.as_nanos(),
            row.last_seen.as_nanos().max(row.first_seen.as_nanos()),
            now.as_nanos(),
        ])?;
        receipt.inserted += 1;
        return Ok(());
    };
    let merged = merge(&stored, row);
    if merged.kind != stored.kind || merged.value != stored.value {
        return Err(StoreError::invalid(
            "merge",
            "must keep the indicator's kind and value",
        ));
    }
    check_row(&merged)?;
    let first = stored.first_seen.min(row.first_seen).min(merged.first_seen);
    let last = stored.last_seen.max(row.last_seen).max(merged.last_seen);
    let same = merged.attributions == stored.attributions.get()
        && merged.tlp_max == stored.tlp_max
        && merged.tlp_open_rank == stored.tlp_open_rank;
    if same {
        tx.prepare_cached(
            "UPDATE intel_indicators SET first_seen_ns = ?1, last_seen_ns = ?2 WHERE id = ?3",
        )?
        .execute((first.as_nanos(), last.as_nanos(), stored.id))?;
        receipt.unchanged += 1;
    } else {
        tx.prepare_cached(
            "UPDATE intel_indicators SET attributions = ?1, tlp_max = ?2, tlp_open_rank = ?3,
                 first_seen_ns = ?4, last_seen_ns = ?5, added_at_ns = ?6
             WHERE id = ?7",
        )?
        .execute(rusqlite::params![
            merged.attributions,
            merged.tlp_max,
            merged.tlp_open_rank,
            first.as_nanos(),
            last.as_nanos(),
            now.as_nanos(),
            stored.id,
        ])?;
        receipt.merged += 1;
    }
    Ok(())
}

fn upsert_object(
    tx: &Connection,
    tenant: TenantId,
    o: &ContextRow,
    now: Timestamp,
    receipt: &mut IntelImportReceipt,
) -> Result<(), StoreError> {
    let t = ids::tenant_to_sql(tenant);
    let stored: Option<(i64, String, String)> = tx
        .prepare_cached(
            "SELECT id, type, json FROM intel_objects WHERE tenant_id = ?1 AND stix_id = ?2",
        )?
        .query_row((t, &o.stix_id), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    match stored {
        None => {
            tx.prepare_cached(
                "INSERT INTO intel_objects (tenant_id, stix_id, type, json, added_at_ns)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute((t, &o.stix_id, &o.kind, &o.json, now.as_nanos()))?;
            receipt.objects_added += 1;
        }
        Some((_, kind, json)) if kind == o.kind && json == o.json => {}
        Some((id, _, _)) => {
            tx.prepare_cached(
                "UPDATE intel_objects SET type = ?1, json = ?2, added_at_ns = ?3 WHERE id = ?4",
            )?
            .execute((&o.kind, &o.json, now.as_nanos(), id))?;
            receipt.objects_updated += 1;
        }
    }
    Ok(())
}

fn add_sightings(
    tx: &Connection,
    tenant: TenantId,
    sightings: &[Sighting],
) -> Result<u64, StoreError> {
    let mut changed = 0u64;
    let mut stmt = tx.prepare_cached(
        "UPDATE intel_indicators
         SET sightings = MIN(sightings + ?1, 9223372036854775807),
             last_seen_ns = MAX(last_seen_ns, ?2)
         WHERE tenant_id = ?3 AND kind = ?4 AND value = ?5",
    )?;
    for s in sightings {
        if s.count == 0 {
            continue;
        }
        let n = i64::try_from(s.count).unwrap_or(i64::MAX);
        changed += stmt.execute((
            n,
            s.last_seen.as_nanos(),
            ids::tenant_to_sql(tenant),
            &s.kind,
            &s.value,
        ))? as u64;
    }
    Ok(changed)
}

/// The walk of a tenant's records in (time, id) order, from a cursor, through the time
/// index (no sort).
const SCAN_SQL: &str = "SELECT id, COALESCE(event_time_ns, received_at_ns), host, line, user_name,
            codec
     FROM ingest
     WHERE tenant_id = ?1
       AND COALESCE(event_time_ns, received_at_ns) BETWEEN ?2 AND ?3
       AND (COALESCE(event_time_ns, received_at_ns) > ?4 OR id > ?5)
     ORDER BY COALESCE(event_time_ns, received_at_ns), id
     LIMIT ?6";

/// The page in `added_at` order: through `intel_indicators_by_added` (no sort).
const ADDED_SQL: &str = "SELECT id, tenant_id, kind, value, attributions, tlp_max, tlp_open_rank,
         first_seen_ns, last_seen_ns, sightings, added_at_ns
     FROM intel_indicators
     WHERE tenant_id = ?1 AND added_at_ns >= ?2 AND tlp_open_rank <= ?3
       AND (added_at_ns > ?4 OR id > ?5)
     ORDER BY added_at_ns, id
     LIMIT ?6";

const LIST_FILTER: &str = "FROM intel_indicators
     WHERE tenant_id = ?1
       AND (?2 IS NULL OR kind = ?2)
       AND (?3 IS NULL OR instr(lower(value), lower(?3)) > 0)
       AND added_at_ns >= ?4
       AND tlp_open_rank <= ?5";

impl Store {
    /// Writes an import for `tenant` in one transaction: each indicator inserted, or
    /// merged into the stored one through `merge` (given the stored row and the
    /// incoming one, it returns the row to keep: same kind and value, the attributions
    /// merged), each context object inserted or replaced; and the audit record
    /// (`intel.import`) with the counts. An indicator whose merged attributions equal
    /// the stored ones keeps its `added_at` (partners are not sent it again). An empty
    /// import changes nothing and writes no record.
    pub fn upsert_indicators(
        &self,
        tenant: TenantId,
        import: &IntelImport<'_>,
        merge: &mut dyn FnMut(&StoredIndicator, &IndicatorRow) -> IndicatorRow,
        origin: &Origin,
    ) -> Result<IntelImportReceipt, StoreError> {
        audit::check_origin(origin)?;
        check_summary(import.summary)?;
        for row in import.indicators {
            check_row(row)?;
        }
        for o in import.objects {
            check_object(o)?;
        }
        let mut receipt = IntelImportReceipt::default();
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tenant::require(&tx, "tenant", tenant)?;
        if import.indicators.is_empty() && import.objects.is_empty() {
            return Ok(receipt);
        }
        for row in import.indicators {
            upsert_one(&tx, tenant, row, merge, origin.at, &mut receipt)?;
        }
        for o in import.objects {
            upsert_object(&tx, tenant, o, origin.at, &mut receipt)?;
        }
        let r = &receipt;
        let detail = format!(
            "{}{}indicators: {} new, {} merged, {} unchanged; context objects: {} new, {} updated",
            import.summary,
            if import.summary.is_empty() { "" } else { "; " },
            r.inserted,
            r.merged,
            r.unchanged,
            r.objects_added,
            r.objects_updated,
        );
        audit::record(
            &tx,
            origin,
            &Change {
                action: AuditAction::IntelImport,
                object: "intel:indicators".to_owned(),
                tenant: Some(tenant),
                detail: Some(&detail),
            },
        )?;
        tx.commit()?;
        Ok(receipt)
    }

    /// One page of `tenant`'s indicators by id (see [`IndicatorQuery`]), with the number
    /// matching in all.
    pub fn indicators(
        &self,
        tenant: TenantId,
        q: &IndicatorQuery,
    ) -> Result<IndicatorPage, StoreError> {
        check_limit(q.limit)?;
        check_rank("max_open_rank", q.max_open_rank)?;
        check_filter("kind", q.kind.as_deref())?;
        check_filter("text", q.text.as_deref())?;
        let since = q.since_added.map_or(i64::MIN, Timestamp::as_nanos);
        let params = rusqlite::params![
            ids::tenant_to_sql(tenant),
            q.kind,
            q.text.as_deref().filter(|t| !t.is_empty()),
            since,
            q.max_open_rank,
        ];
        let mut conn = self.reader();
        // One snapshot for the count and the page.
        let tx = conn.transaction()?;
        let (total, total_capped) = crate::alerts::count_capped(&tx, LIST_FILTER, params)?;
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT {COLUMNS} {LIST_FILTER} ORDER BY id LIMIT ?6 OFFSET ?7"
        ))?;
        let mut all: Vec<&dyn rusqlite::ToSql> = params.to_vec();
        all.push(&q.limit);
        all.push(&q.offset);
        let mut rows = stmt.query(all.as_slice())?;
        let mut items = Vec::new();
        collect(&mut rows, |r| {
            items.push(indicator(r)?);
            Ok(())
        })?;
        Ok(Page {
            items,
            total,
            total_capped,
            limit: q.limit,
            offset: q.offset,
        })
    }

    /// One of `tenant`'s indicators.
    pub fn indicator(&self, tenant: TenantId, id: i64) -> Result<StoredIndicator, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM intel_indicators WHERE tenant_id = ?1 AND id = ?2"
        ))?;
        let mut rows = stmt.query((ids::tenant_to_sql(tenant), id))?;
        match rows.next()? {
            Some(r) => indicator(r),
            None => Err(StoreError::not_found("indicator", id)),
        }
    }

    /// Up to `limit` of `tenant`'s indicators with ids above `after_id`, by id: for
    /// reading them all a chunk at a time (loading the matcher).
    pub fn indicators_after_id(
        &self,
        tenant: TenantId,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<StoredIndicator>, StoreError> {
        if limit == 0 || limit > MAX_SCAN_BATCH {
            return Err(StoreError::invalid("limit", "must be between 1 and 10000"));
        }
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM intel_indicators WHERE tenant_id = ?1 AND id > ?2
             ORDER BY id LIMIT ?3"
        ))?;
        let mut rows = stmt.query((ids::tenant_to_sql(tenant), after_id, limit))?;
        let mut out = Vec::new();
        collect(&mut rows, |r| {
            out.push(indicator(r)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// One page of `tenant`'s indicators in (`added_at`, id) order: added or changed
    /// strictly after `added_after`, after the cursor (the last row of the page before),
    /// with an attribution at `max_open_rank` or more open. `more` says whether rows
    /// follow the page.
    pub fn indicator_rows_added_after(
        &self,
        tenant: TenantId,
        q: &AddedQuery,
    ) -> Result<AddedPage, StoreError> {
        check_limit(q.limit)?;
        check_rank("max_open_rank", q.max_open_rank)?;
        let after = match q.added_after {
            None => i64::MIN,
            Some(t) => match t.as_nanos().checked_add(1) {
                Some(n) => n,
                None => {
                    return Ok(AddedPage {
                        items: Vec::new(),
                        more: false,
                    });
                }
            },
        };
        let (cursor_at, cursor_id) = q
            .cursor
            .map_or((i64::MIN, i64::MIN), |c| (c.added_at.as_nanos(), c.id));
        let low = after.max(cursor_at);
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(ADDED_SQL)?;
        let mut rows = stmt.query(rusqlite::params![
            ids::tenant_to_sql(tenant),
            low,
            q.max_open_rank,
            cursor_at,
            cursor_id,
            i64::from(q.limit) + 1,
        ])?;
        let mut items = Vec::new();
        collect(&mut rows, |r| {
            items.push(indicator(r)?);
            Ok(())
        })?;
        let more = items.len() > q.limit as usize;
        items.truncate(q.limit as usize);
        Ok(AddedPage { items, more })
    }

    /// Adds sightings to `tenant`'s indicators (found by kind and value; unknown ones
    /// are left out) and moves their `last_seen` forward. Returns how many indicators
    /// changed. Pipeline data: not audited.
    pub fn bump_sightings(
        &self,
        tenant: TenantId,
        sightings: &[Sighting],
    ) -> Result<u64, StoreError> {
        if sightings.is_empty() {
            return Ok(0);
        }
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let changed = add_sightings(&tx, tenant, sightings)?;
        tx.commit()?;
        Ok(changed)
    }

    /// Records a retro-hunt over `tenant`'s stored records: adds its sightings (as
    /// [`Store::bump_sightings`]) and writes the audit record (`intel.retro-hunt`) with
    /// `summary` (what was hunted, how much was read, how many hits), in one
    /// transaction. Returns how many indicators changed.
    pub fn record_retro_hunt(
        &self,
        tenant: TenantId,
        sightings: &[Sighting],
        summary: &str,
        origin: &Origin,
    ) -> Result<u64, StoreError> {
        audit::check_origin(origin)?;
        check_summary(summary)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tenant::require(&tx, "tenant", tenant)?;
        let changed = add_sightings(&tx, tenant, sightings)?;
        audit::record(
            &tx,
            origin,
            &Change {
                action: AuditAction::IntelRetroHunt,
                object: "intel:indicators".to_owned(),
                tenant: Some(tenant),
                detail: Some(summary),
            },
        )?;
        tx.commit()?;
        Ok(changed)
    }

    /// Up to `limit` of `tenant`'s context objects with ids above `after_id`, by id.
    pub fn intel_objects(
        &self,
        tenant: TenantId,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<StoredObject>, StoreError> {
        check_limit(limit)?;
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, stix_id, type, json, added_at_ns FROM intel_objects
             WHERE tenant_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
        )?;
        let mut rows = stmt.query((ids::tenant_to_sql(tenant), after_id, limit))?;
        let mut out = Vec::new();
        collect(&mut rows, |r| {
            out.push(StoredObject {
                id: r.get(0)?,
                stix_id: r.get(1)?,
                kind: r.get(2)?,
                json: doc_from_sql(r.get(3)?)?,
                added_at: Timestamp(r.get(4)?),
            });
            Ok(())
        })?;
        Ok(out)
    }

    /// `tenant`'s intelligence in numbers, counting only indicators with an attribution
    /// at `max_open_rank` or more open.
    pub fn intel_counts(
        &self,
        tenant: TenantId,
        max_open_rank: u8,
    ) -> Result<IntelCounts, StoreError> {
        check_rank("max_open_rank", max_open_rank)?;
        let t = ids::tenant_to_sql(tenant);
        let conn = self.conn();
        let mut counts = IntelCounts::default();
        for (column, into) in [("kind", 0), ("tlp_max", 1)] {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {column}, COUNT(*) FROM intel_indicators
                 WHERE tenant_id = ?1 AND tlp_open_rank <= ?2 GROUP BY {column}"
            ))?;
            let mut rows = stmt.query((t, max_open_rank))?;
            collect(&mut rows, |r| {
                let n = u64_from_sql(r.get(1)?, "negative count")?;
                let map = if into == 0 {
                    &mut counts.by_kind
                } else {
                    &mut counts.by_tlp
                };
                map.insert(r.get(0)?, n);
                Ok(())
            })?;
        }
        let (n, sighted, sightings, last): (i64, i64, i64, Option<i64>) = conn
            .prepare_cached(
                "SELECT COUNT(*), COUNT(*) FILTER (WHERE sightings > 0),
                        COALESCE(SUM(sightings), 0), MAX(added_at_ns)
                 FROM intel_indicators WHERE tenant_id = ?1 AND tlp_open_rank <= ?2",
            )?
            .query_row((t, max_open_rank), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
        counts.indicators = u64_from_sql(n, "negative count")?;
        counts.sighted = u64_from_sql(sighted, "negative count")?;
        counts.sightings = u64_from_sql(sightings, "negative count")?;
        counts.last_added = last.map(Timestamp);
        let objects: i64 = conn
            .prepare_cached("SELECT COUNT(*) FROM intel_objects WHERE tenant_id = ?1")?
            .query_row([t], |r| r.get(0))?;
        counts.objects = u64_from_sql(objects, "negative count")?;
        Ok(counts)
    }

    /// Up to `limit` (at most [`MAX_SCAN_BATCH`]) of `tenant`'s stored records with a
    /// time (event time, else receipt time) in `since..until` (inclusive, exclusive),
    /// in (time, id) order, after `after` (the last record of the batch before). A
    /// retro-hunt reads a range a batch at a time, so the store's lock is never held
    /// for the whole walk.
    pub fn scan_records(
        &self,
        tenant: TenantId,
        since: Option<Timestamp>,
        until: Option<Timestamp>,
        after: Option<(Timestamp, i64)>,
        limit: u32,
    ) -> Result<Vec<ScanRecord>, StoreError> {
        if limit == 0 || limit > MAX_SCAN_BATCH {
            return Err(StoreError::invalid("limit", "must be between 1 and 10000"));
        }
        let Some((low, high)) = crate::alerts::time_range(since, until) else {
            return Ok(Vec::new());
        };
        let (after_t, after_id) = after.map_or((i64::MIN, i64::MIN), |(t, id)| (t.0, id));
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(SCAN_SQL)?;
        let mut rows = stmt.query(rusqlite::params![
            ids::tenant_to_sql(tenant),
            low.max(after_t),
            high,
            after_t,
            after_id,
            limit,
        ])?;
        let mut out = Vec::new();
        let mut lines = self.codecs.decoder_for_read();
        collect(&mut rows, |r| {
            out.push(ScanRecord {
                id: r.get(0)?,
                time: Timestamp(r.get(1)?),
                host: r.get(2)?,
                user: r.get(4)?,
                line: lines.line(&conn, r.get(5)?, r.get(3)?)?,
            });
            Ok(())
        })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::tests::plan;

    #[test]
    fn paging_and_scans_follow_their_indexes_without_sorting() {
        let store = Store::open_in_memory().expect("store");
        let added = plan(&store, ADDED_SQL);
        assert!(added.contains("intel_indicators_by_added"), "{added}");
        assert!(!added.contains("TEMP B-TREE"), "{added}");
        let scan = plan(&store, SCAN_SQL);
        assert!(scan.contains("ingest_by_tenant_time"), "{scan}");
        assert!(!scan.contains("TEMP B-TREE"), "{scan}");
    }

    fn origin(at: i64) -> Origin {
        Origin::system("test", Timestamp(at))
    }

    fn row(kind: &str, value: &str, sources: &[&str], open: u8) -> IndicatorRow {
        let list: Vec<serde_json::Value> = sources
            .iter()
            .map(|s| serde_json::json!({"source": s}))
            .collect();
        IndicatorRow {
            kind: kind.into(),
            value: value.into(),
            attributions: serde_json::Value::from(list).to_string(),
            tlp_max: "amber".into(),
            tlp_open_rank: open,
            first_seen: Timestamp(100),
            last_seen: Timestamp(100),
        }
    }

    /// Merges by taking the union of the sources, in order.
    fn union(stored: &StoredIndicator, new: &IndicatorRow) -> IndicatorRow {
        let mut list: Vec<serde_json::Value> =
            serde_json::from_str(stored.attributions.get()).unwrap_or_default();
        let incoming: Vec<serde_json::Value> =
            serde_json::from_str(&new.attributions).unwrap_or_default();
        for a in incoming {
            if !list.contains(&a) {
                list.push(a);
            }
        }
        IndicatorRow {
            attributions: serde_json::Value::from(list).to_string(),
            tlp_open_rank: stored.tlp_open_rank.min(new.tlp_open_rank),
            tlp_max: stored.tlp_max.clone(),
            ..new.clone()
        }
    }

    fn two_tenants() -> (Store, TenantId, TenantId) {
        let store = Store::open_in_memory().expect("store");
        let a = store.create_tenant("a", &origin(1)).expect("a").id;
        let b = store.create_tenant("b", &origin(1)).expect("b").id;
        (store, a, b)
    }

    fn import(
        store: &Store,
        tenant: TenantId,
        rows: &[IndicatorRow],
        at: i64,
    ) -> IntelImportReceipt {
        let i = IntelImport {
            indicators: rows,
            objects: &[],
            summary: "source \"feed\"",
        };
        store
            .upsert_indicators(tenant, &i, &mut union, &origin(at))
            .expect("import")
    }

    #[test]
    fn imports_insert_merge_and_leave_unchanged_rows_alone() {
        let (store, a, b) = two_tenants();
        let r = import(&store, a, &[row("ipv4", "10.0.0.1", &["x"], 2)], 1_000);
        assert_eq!((r.inserted, r.merged, r.unchanged), (1, 0, 0));
        let r = import(&store, a, &[row("ipv4", "10.0.0.1", &["x"], 2)], 2_000);
        assert_eq!((r.inserted, r.merged, r.unchanged), (0, 0, 1));
        let one = store
            .indicators(a, &IndicatorQuery::default())
            .expect("list");
        assert_eq!(
            one.items[0].added_at,
            Timestamp(1_000),
            "unchanged keeps added_at"
        );
        let r = import(&store, a, &[row("ipv4", "10.0.0.1", &["y"], 1)], 3_000);
        assert_eq!((r.inserted, r.merged, r.unchanged), (0, 1, 0));
        let i = store.indicator(a, one.items[0].id).expect("one");
        assert_eq!(i.attributions.get(), r#"[{"source":"x"},{"source":"y"}]"#);
        assert_eq!((i.added_at, i.tlp_open_rank), (Timestamp(3_000), 1));
        // Another tenant has its own indicator of the same value, and cannot read A's.
        let r = import(&store, b, &[row("ipv4", "10.0.0.1", &["z"], 2)], 4_000);
        assert_eq!(r.inserted, 1);
        assert!(store.indicator(b, i.id).is_err());
        let audit = store
            .audit(&crate::AuditQuery {
                tenant: Some(a),
                ..Default::default()
            })
            .expect("audit");
        let imports: Vec<&str> = audit
            .entries
            .iter()
            .filter(|e| e.action == "intel.import")
            .filter_map(|e| e.detail.as_deref())
            .collect();
        assert_eq!(imports.len(), 3);
        assert!(
            imports[0].contains("0 new, 1 merged, 0 unchanged"),
            "{imports:?}"
        );
        // An empty import writes nothing.
        assert_eq!(import(&store, a, &[], 5_000), IntelImportReceipt::default());
    }

    #[test]
    fn pages_in_added_order_follow_the_cursor_and_the_tlp_rank() {
        let (store, a, _) = two_tenants();
        let rows: Vec<IndicatorRow> = (0..5)
            .map(|i| {
                row(
                    "domain",
                    &format!("d{i}.example"),
                    &["x"],
                    if i == 3 { 4 } else { 1 },
                )
            })
            .collect();
        import(&store, a, &rows[..2], 1_000);
        import(&store, a, &rows[2..], 2_000);
        let page = |cursor, after, rank| {
            store
                .indicator_rows_added_after(
                    a,
                    &AddedQuery {
                        added_after: after,
                        cursor,
                        max_open_rank: rank,
                        limit: 2,
                    },
                )
                .expect("page")
        };
        let mut cursor = None;
        let mut seen = Vec::new();
        loop {
            let p = page(cursor, None, 2);
            seen.extend(p.items.iter().map(|i| i.value.clone()));
            let last = p.items.last().expect("rows");
            cursor = Some(AddedCursor {
                added_at: last.added_at,
                id: last.id,
            });
            if !p.more {
                break;
            }
        }
        assert_eq!(
            seen,
            ["d0.example", "d1.example", "d2.example", "d4.example"]
        );
        let after = page(None, Some(Timestamp(1_000)), 4);
        let values: Vec<&str> = after.items.iter().map(|i| i.value.as_str()).collect();
        assert_eq!(values, ["d2.example", "d3.example"]);
        assert!(after.more);
        assert!(page(None, Some(Timestamp(2_000)), 4).items.is_empty());
        let counts = store.intel_counts(a, 2).expect("counts");
        assert_eq!(counts.indicators, 4);
        assert_eq!(counts.by_kind.get("domain"), Some(&4));
        let listed = store
            .indicators(
                a,
                &IndicatorQuery {
                    text: Some("D4.EX".into()),
                    ..Default::default()
                },
            )
            .expect("list");
        assert_eq!(listed.total, 1);
    }

    #[test]
    fn sightings_and_retro_hunts() {
        let (store, a, b) = two_tenants();
        import(&store, a, &[row("ipv4", "10.0.0.1", &["x"], 2)], 1_000);
        let s = Sighting {
            kind: "ipv4".into(),
            value: "10.0.0.1".into(),
            count: 3,
            last_seen: Timestamp(9_000),
        };
        assert_eq!(
            store
                .bump_sightings(b, std::slice::from_ref(&s))
                .expect("b"),
            0
        );
        assert_eq!(
            store
                .bump_sightings(a, std::slice::from_ref(&s))
                .expect("a"),
            1
        );
        let changed = store
            .record_retro_hunt(a, &[s], "7 days: 2 hits", &origin(10_000))
            .expect("hunt");
        assert_eq!(changed, 1);
        let i = &store
            .indicators(a, &IndicatorQuery::default())
            .expect("list")
            .items[0];
        assert_eq!((i.sightings, i.last_seen), (6, Timestamp(9_000)));
        assert_eq!(
            i.added_at,
            Timestamp(1_000),
            "sightings are not shared changes"
        );
        let audit = store
            .audit(&crate::AuditQuery {
                tenant: Some(a),
                ..Default::default()
            })
            .expect("audit");
        assert_eq!(audit.entries[0].action, "intel.retro-hunt");
        assert_eq!(audit.entries[0].detail.as_deref(), Some("7 days: 2 hits"));
    }

    #[test]
    fn scans_walk_records_in_time_order_a_batch_at_a_time() {
        let (store, a, b) = two_tenants();
        let lines: Vec<Vec<u8>> = (0..7).map(|i| format!("line {i}").into_bytes()).collect();
        let refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
        store
            .append_records(a, "test", None, &refs[..4], Timestamp(2_000))
            .expect("append");
        store
            .append_records(a, "test", None, &refs[4..], Timestamp(1_000))
            .expect("append");
        store
            .append_records(b, "test", None, &refs[..1], Timestamp(1_500))
            .expect("append");
        let mut after = None;
        let mut seen = Vec::new();
        loop {
            let batch = store
                .scan_records(a, Some(Timestamp(1_000)), None, after, 3)
                .expect("scan");
            let Some(last) = batch.last() else { break };
            after = Some((last.time, last.id));
            seen.extend(
                batch
                    .iter()
                    .map(|r| String::from_utf8_lossy(&r.line).into_owned()),
            );
        }
        assert_eq!(
            seen,
            [
                "line 4", "line 5", "line 6", "line 0", "line 1", "line 2", "line 3"
            ]
        );
        let late = store
            .scan_records(a, Some(Timestamp(1_001)), Some(Timestamp(3_000)), None, 10)
            .expect("scan");
        assert_eq!(late.len(), 4);
    }

    #[test]
    fn rows_are_checked() {
        let row = IndicatorRow {
            kind: "ipv4".into(),
            value: "10.0.0.1".into(),
            attributions: "[]".into(),
            tlp_max: "amber".into(),
            tlp_open_rank: 2,
            first_seen: Timestamp(1),
            last_seen: Timestamp(1),
        };
        assert!(check_row(&row).is_ok());
        let bad = |f: fn(&mut IndicatorRow)| {
            let mut r = row.clone();
            f(&mut r);
            check_row(&r).is_err()
        };
        assert!(bad(|r| r.kind = "ip v4".into()));
        assert!(bad(|r| r.value = String::new()));
        assert!(bad(|r| r.value = "a\nb".into()));
        assert!(bad(|r| r.attributions = "{}".into()));
        assert!(bad(|r| r.attributions = "[".into()));
        assert!(bad(|r| r.tlp_open_rank = 5));
    }
}
