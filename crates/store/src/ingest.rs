//! Raw records received over HTTP, kept one per row until the pipeline reads them.
//!
//! A batch is appended in one transaction: all of its records or none. The store runs
//! with `synchronous=FULL`, so when [`Store::append_records`] returns the rows are on
//! disk; that is what lets the server acknowledge a batch ("acknowledged means on
//! disk").
//!
//! Ingest writes no audit record: records are data, not a change of configuration, and
//! an audit row per batch would grow the append-only audit log with the data volume.
//! Who sent a batch and from where stays on each row (`source`, `received_at`).
//!
//! Lines are stored compressed once the tenant has a dictionary (see `codec`); every
//! read here gives them back as received.

use rusqlite::{Connection, TransactionBehavior};
use watchfloor_event::{TenantId, Timestamp};

use crate::ids;
use crate::{Store, StoreError, tenant, validate};

/// The longest record accepted (1 MiB), as the decoders' default line bound.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// The longest format hint accepted.
pub const MAX_FORMAT_HINT_CHARS: usize = 32;
/// The most records [`Store::pending_records`] returns at once.
pub const MAX_PENDING_LIMIT: u32 = 10_000;

/// What an append stored: the id of its first record and how many there are. Records
/// of one batch get increasing ids in the order given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendReceipt {
    pub first_id: i64,
    pub count: usize,
}

/// One stored record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngestRecord {
    pub id: i64,
    pub tenant: TenantId,
    pub received_at: Timestamp,
    /// Where the batch came from (the client's address).
    pub source: String,
    /// The format the sender named, if any (`json` for NDJSON bodies).
    pub format_hint: Option<String>,
    /// The record's bytes as received (not necessarily UTF-8).
    pub line: Vec<u8>,
    pub processed: bool,
}

/// How a tenant's records are stored ([`Store::record_storage`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordStorage {
    pub records: u64,
    /// Records stored compressed (the rest as received).
    pub compressed: u64,
    /// Bytes the stored lines take.
    pub stored_bytes: u64,
}

fn check_hint(hint: Option<&str>) -> Result<(), StoreError> {
    let Some(hint) = hint else { return Ok(()) };
    let ok = !hint.is_empty()
        && hint.len() <= MAX_FORMAT_HINT_CHARS
        && hint
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::invalid(
            "format",
            "must be 1 to 32 lower-case letters, digits or underscores",
        ))
    }
}

fn check_lines(lines: &[&[u8]]) -> Result<(), StoreError> {
    if lines.is_empty() {
        return Err(StoreError::invalid("lines", "must not be empty"));
    }
    if lines.iter().any(|l| l.len() > MAX_RECORD_BYTES) {
        return Err(StoreError::invalid("line", "must be at most 1 MiB"));
    }
    Ok(())
}

type RawRecord = (i64, i64, i64, String, Option<String>, Vec<u8>, i64, i64);

fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRecord> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

fn from_raw(
    (id, tenant, at, source, format_hint, line, processed, _codec): RawRecord,
) -> Result<IngestRecord, StoreError> {
    Ok(IngestRecord {
        id,
        tenant: ids::tenant_from_sql(tenant)?,
        received_at: Timestamp(at),
        source,
        format_hint,
        line,
        processed: processed != 0,
    })
}

fn insert_all(
    conn: &Connection,
    tenant: TenantId,
    source: &str,
    format_hint: Option<&str>,
    lines: &[(i64, Vec<u8>)],
    now: Timestamp,
) -> Result<i64, StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO ingest (tenant_id, received_at_ns, source, format_hint, line, codec)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut first = None;
    for (codec, line) in lines {
        stmt.execute((
            ids::tenant_to_sql(tenant),
            now.as_nanos(),
            source,
            format_hint,
            line,
            codec,
        ))?;
        first.get_or_insert(conn.last_insert_rowid());
    }
    first.ok_or(StoreError::Corrupt("no record inserted"))
}

impl Store {
    /// Appends a batch of raw records for `tenant`, in order, in one transaction: all
    /// of them or none. When this returns `Ok` the records are on disk
    /// (`synchronous=FULL`). Writes no audit record (see the module documentation).
    ///
    /// Fails with [`StoreError::Invalid`] for an empty batch, a record over
    /// [`MAX_RECORD_BYTES`], a bad source or format hint, and with
    /// [`StoreError::NotFound`] for an unknown tenant.
    pub fn append_records(
        &self,
        tenant: TenantId,
        source: &str,
        format_hint: Option<&str>,
        lines: &[&[u8]],
        now: Timestamp,
    ) -> Result<AppendReceipt, StoreError> {
        validate::source(source)?;
        check_hint(format_hint)?;
        check_lines(lines)?;
        // With the tenant's dictionary known, compress before taking the writer's lock.
        let known = self.codecs.compress_known(tenant, lines);
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tenant::require(&tx, "tenant", tenant)?;
        let (stored, trained) = match known {
            Some(stored) => (stored, None),
            None => self.codecs.compress(&tx, tenant, lines, now)?,
        };
        let first_id = insert_all(&tx, tenant, source, format_hint, &stored, now)?;
        tx.commit()?;
        if let Some(trained) = trained {
            self.codecs.publish(trained);
        }
        Ok(AppendReceipt {
            first_id,
            count: lines.len(),
        })
    }

    /// Up to `limit` (at most [`MAX_PENDING_LIMIT`]) of `tenant`'s unprocessed records
    /// with ids above `after_id`, oldest first.
    ///
    /// Read on a read-only connection, beside the writer: stored records never change,
    /// and only the pipeline marks them processed, so its own reads cannot be stale
    /// for what it decides.
    pub fn pending_records(
        &self,
        tenant: TenantId,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<IngestRecord>, StoreError> {
        let limit = limit.min(MAX_PENDING_LIMIT);
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT id, tenant_id, received_at_ns, source, format_hint, line, processed, codec
             FROM ingest WHERE tenant_id = ?1 AND id > ?2 AND processed = 0
             ORDER BY id LIMIT ?3",
        )?;
        let rows = stmt.query_map((ids::tenant_to_sql(tenant), after_id, limit), raw)?;
        let mut lines = self.codecs.decoder_for_read();
        rows.map(|r| {
            let mut row = r?;
            row.5 = lines.line(&conn, row.7, std::mem::take(&mut row.5))?;
            from_raw(row)
        })
        .collect()
    }

    /// How `tenant`'s records are stored: how many, how many of them compressed, and
    /// the bytes their lines take in the database.
    pub fn record_storage(&self, tenant: TenantId) -> Result<RecordStorage, StoreError> {
        let conn = self.reader();
        let (records, compressed, bytes): (i64, i64, i64) = conn.query_row(
            "SELECT COUNT(*), COALESCE(SUM(codec != 0), 0), COALESCE(SUM(length(line)), 0)
             FROM ingest WHERE tenant_id = ?1",
            [ids::tenant_to_sql(tenant)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        let n = |v: i64| u64::try_from(v).map_err(|_| StoreError::Corrupt("negative count"));
        Ok(RecordStorage {
            records: n(records)?,
            compressed: n(compressed)?,
            stored_bytes: n(bytes)?,
        })
    }

    /// How many records `tenant` has stored, processed or not.
    pub fn count_records(&self, tenant: TenantId) -> Result<u64, StoreError> {
        let conn = self.conn();
        let n: i64 = conn.query_row(
            "SELECT COUNT(*) FROM ingest WHERE tenant_id = ?1",
            [ids::tenant_to_sql(tenant)],
            |r| r.get(0),
        )?;
        u64::try_from(n).map_err(|_| StoreError::Corrupt("negative count"))
    }
}
