//! The pipeline's side of the store: what it read, the alerts and incidents it made.
//!
//! The pipeline reads a tenant's pending records ([`Store::pending_records`]), runs them
//! through decoding, detection and the analysis engine, and hands the outcome back as
//! one [`BatchCommit`]: the records it processed (with their event time, host, user or
//! the reason they gave no event), the alerts and incidents it created or changed, and
//! the hits of the suppressions that held detections back. [`Store::commit_batch`]
//! writes it all in one IMMEDIATE transaction, so a crash leaves either the whole batch
//! or none of it: records are never marked processed without their alerts, and a batch
//! that fails is retried from the same records.
//!
//! A step also keeps which records matched which indicators and became detections
//! (live, or by a retro-hunt, whose step marks no records): a retro-hunt asks
//! [`Store::indicator_hit_states`] first and leaves the pairs already taken, so the
//! same match is never counted twice.
//!
//! Alerts and incidents are upserted by their pipeline id. An update replaces what the
//! analysis engine owns (counts, times, score, document) and keeps what analysts own
//! (status, assignee, close reason) — except that a closed alert whose count grew, or a
//! closed incident that gained alerts, goes back to open: an attack that resumes after
//! an analyst closed it is not hidden. Those reopenings are the one pipeline write that
//! is audited (`alert.reopen` / `incident.reopen` by the system, source `pipeline`),
//! since they undo an analyst's change; everything else the pipeline writes is data,
//! not a change of configuration, and writes no audit record.
//!
//! Text taken from events (host, user, decode errors) is cut to a bound rather than
//! refused, so a hostile record cannot stall its tenant's pipeline; the structure the
//! pipeline itself produces (ids, levels, times, JSON documents) is checked, and a bad
//! row refuses the whole batch.

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior};
use serde_json::value::RawValue;
use watchfloor_event::{TenantId, Timestamp};

use crate::alerts::id_to_sql;
use crate::audit::{self, AuditAction, Change, Origin};
use crate::ids;
use crate::{Store, StoreError, tenant};

/// Longest host or user name kept, in characters; longer ones are cut.
pub const MAX_ENTITY_CHARS: usize = 256;
/// Longest decode error kept, in characters; longer ones are cut.
pub const MAX_DECODE_ERROR_CHARS: usize = 1000;
/// Longest alert or incident title, rule id, entity or stage chain kept; longer ones
/// are cut.
pub const MAX_LABEL_CHARS: usize = 1000;

/// The level names, by rank (informational = 0 … critical = 4).
pub const LEVELS: [&str; 5] = ["informational", "low", "medium", "high", "critical"];

/// The rank of a level name ([`LEVELS`]), if it is one.
pub fn level_rank(level: &str) -> Option<i64> {
    LEVELS
        .iter()
        .position(|l| *l == level)
        .and_then(|i| i64::try_from(i).ok())
}

/// One record the pipeline has dealt with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessedRecord {
    /// The ingest row's id ([`crate::IngestRecord::id`]).
    pub id: i64,
    /// The event's own time, if it had one.
    pub event_time: Option<Timestamp>,
    pub host: Option<String>,
    pub user: Option<String>,
    /// Why the record produced no event, if it did not.
    pub error: Option<String>,
}

/// An alert as the pipeline writes it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertRow {
    /// Per tenant, from [`Store::id_bases`] up; 1 to 2^63-1.
    pub id: u64,
    pub rule_id: String,
    pub title: String,
    /// One of [`LEVELS`], matching `level_rank`.
    pub level: String,
    pub level_rank: i64,
    /// Finite.
    pub score: f64,
    pub host: Option<String>,
    pub user: Option<String>,
    /// At least 1.
    pub count: u64,
    pub first_seen: Timestamp,
    /// Not before `first_seen`.
    pub last_seen: Timestamp,
    pub incident_id: Option<u64>,
    /// The analysis engine's alert as JSON.
    pub doc: String,
}

/// An incident as the pipeline writes it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IncidentRow {
    pub id: u64,
    pub title: String,
    /// One of [`LEVELS`], matching `severity_rank`.
    pub severity: String,
    pub severity_rank: i64,
    pub score: f64,
    pub entity: String,
    pub stage_chain: String,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub alert_count: u64,
    pub detections: u64,
    /// The analysis engine's incident as JSON.
    pub doc: String,
}

/// Everything one pipeline step writes, committed together by
/// [`Store::commit_batch`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchCommit {
    pub records: Vec<ProcessedRecord>,
    pub alerts: Vec<AlertRow>,
    pub incidents: Vec<IncidentRow>,
    /// (suppression id, hits to add). Ids the tenant does not have are skipped.
    pub suppression_hits: Vec<(i64, u64)>,
    /// Records that matched indicators and became detections (see
    /// [`Store::indicator_hit_states`]). Pairs already kept, or whose record is not
    /// the tenant's (any more), are skipped.
    pub indicator_hits: Vec<IndicatorHitRow>,
}

/// One stored record matched one indicator (its store id).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct IndicatorHitRow {
    pub record: i64,
    pub indicator: i64,
}

/// Where a (record, indicator) pair stands, for a retro-hunt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HitState {
    /// The record was processed and the pair never became a detection.
    New,
    /// The pair already became a detection (live, or by an earlier retro-hunt).
    Taken,
    /// The pipeline has not processed the record yet (it matches it live then).
    Unprocessed,
    /// No such record of the tenant (deleted by retention, or another tenant's).
    NoRecord,
}

/// What [`Store::commit_batch`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchReceipt {
    pub records: usize,
    pub alerts_inserted: usize,
    pub alerts_updated: usize,
    /// Closed alerts whose count grew, now open again (counted in `alerts_updated`).
    pub alerts_reopened: usize,
    pub incidents_inserted: usize,
    pub incidents_updated: usize,
    /// Closed incidents that gained alerts, now open again.
    pub incidents_reopened: usize,
    /// Suppressions whose hit counter grew.
    pub suppressions_updated: usize,
    /// (record, indicator) pairs newly kept.
    pub indicator_hits: usize,
}

/// `text` cut to at most `max` characters.
fn cut(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

fn cut_opt(text: Option<&String>, max: usize) -> Option<&str> {
    text.map(|t| cut(t, max))
}

fn check_level(field: &'static str, name: &str, rank: i64) -> Result<(), StoreError> {
    if level_rank(name) == Some(rank) {
        Ok(())
    } else {
        Err(StoreError::invalid(
            field,
            "must be a level name (informational … critical) with its rank (0 … 4)",
        ))
    }
}

fn check_common(
    score: f64,
    first: Timestamp,
    last: Timestamp,
    doc: &str,
) -> Result<(), StoreError> {
    if !score.is_finite() {
        return Err(StoreError::invalid("score", "must be a finite number"));
    }
    if first > last {
        return Err(StoreError::invalid(
            "first_seen",
            "must not be after last_seen",
        ));
    }
    if serde_json::from_str::<&RawValue>(doc).is_err() {
        return Err(StoreError::invalid("doc", "must be a JSON document"));
    }
    Ok(())
}

fn count_to_sql(field: &'static str, n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::invalid(field, "is out of range"))
}

/// Checks everything about a batch that can be checked before writing.
fn check_batch(batch: &BatchCommit) -> Result<(), StoreError> {
    for a in &batch.alerts {
        id_to_sql("alert id", a.id)?;
        if let Some(i) = a.incident_id {
            id_to_sql("incident_id", i)?;
        }
        if a.rule_id.is_empty() {
            return Err(StoreError::invalid("rule_id", "must not be empty"));
        }
        check_level("level", &a.level, a.level_rank)?;
        if a.count == 0 {
            return Err(StoreError::invalid("count", "must be at least 1"));
        }
        count_to_sql("count", a.count)?;
        check_common(a.score, a.first_seen, a.last_seen, &a.doc)?;
    }
    for i in &batch.incidents {
        id_to_sql("incident id", i.id)?;
        check_level("severity", &i.severity, i.severity_rank)?;
        count_to_sql("alert_count", i.alert_count)?;
        count_to_sql("detections", i.detections)?;
        check_common(i.score, i.first_seen, i.last_seen, &i.doc)?;
    }
    for &(_, delta) in &batch.suppression_hits {
        count_to_sql("hits", delta)?;
    }
    Ok(())
}

fn mark_records(
    tx: &Connection,
    tenant: TenantId,
    records: &[ProcessedRecord],
) -> Result<usize, StoreError> {
    let mut stmt = tx.prepare_cached(
        "UPDATE ingest SET processed = 1, event_time_ns = ?1, host = ?2, user_name = ?3,
             decode_error = ?4
         WHERE id = ?5 AND tenant_id = ?6",
    )?;
    for r in records {
        let n = stmt.execute(rusqlite::params![
            r.event_time.map(Timestamp::as_nanos),
            cut_opt(r.host.as_ref(), MAX_ENTITY_CHARS),
            cut_opt(r.user.as_ref(), MAX_ENTITY_CHARS),
            cut_opt(r.error.as_ref(), MAX_DECODE_ERROR_CHARS),
            r.id,
            ids::tenant_to_sql(tenant),
        ])?;
        if n == 0 {
            return Err(StoreError::not_found("record", r.id));
        }
    }
    Ok(records.len())
}

/// What an upsert did to one row.
enum Upsert {
    Inserted,
    Updated,
    Reopened { before: i64, after: i64 },
}

fn upsert_alert(
    tx: &Connection,
    tenant: TenantId,
    a: &AlertRow,
    now: Timestamp,
) -> Result<Upsert, StoreError> {
    let t = ids::tenant_to_sql(tenant);
    let id = id_to_sql("alert id", a.id)?;
    let count = count_to_sql("count", a.count)?;
    let existing: Option<(String, i64)> = tx
        .prepare_cached("SELECT status, count FROM alerts WHERE tenant_id = ?1 AND id = ?2")?
        .query_row((t, id), |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let incident = a
        .incident_id
        .map(|i| id_to_sql("incident_id", i))
        .transpose()?;
    let values = rusqlite::params![
        t,
        id,
        cut(&a.rule_id, MAX_LABEL_CHARS),
        cut(&a.title, MAX_LABEL_CHARS),
        a.level,
        a.level_rank,
        a.score,
        cut_opt(a.host.as_ref(), MAX_ENTITY_CHARS),
        cut_opt(a.user.as_ref(), MAX_ENTITY_CHARS),
        count,
        a.first_seen.as_nanos(),
        a.last_seen.as_nanos(),
        incident,
        now.as_nanos(),
        a.doc,
    ];
    let Some((status, before)) = existing else {
        tx.prepare_cached(
            "INSERT INTO alerts (tenant_id, id, rule_id, title, level, level_rank, score, host,
                 user_name, count, first_seen_ns, last_seen_ns, incident_id, updated_at_ns, doc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        )?
        .execute(values)?;
        return Ok(Upsert::Inserted);
    };
    let reopen = status == "closed" && count > before;
    let mut all: Vec<&dyn rusqlite::ToSql> = values.to_vec();
    all.push(&reopen);
    tx.prepare_cached(
        "UPDATE alerts SET rule_id = ?3, title = ?4, level = ?5, level_rank = ?6, score = ?7,
             host = ?8, user_name = ?9, count = ?10, first_seen_ns = ?11, last_seen_ns = ?12,
             incident_id = ?13, updated_at_ns = ?14, doc = ?15,
             status = CASE WHEN ?16 THEN 'open' ELSE status END,
             close_reason = CASE WHEN ?16 THEN NULL ELSE close_reason END
         WHERE tenant_id = ?1 AND id = ?2",
    )?
    .execute(all.as_slice())?;
    Ok(if reopen {
        Upsert::Reopened {
            before,
            after: count,
        }
    } else {
        Upsert::Updated
    })
}

fn upsert_incident(
    tx: &Connection,
    tenant: TenantId,
    i: &IncidentRow,
    now: Timestamp,
) -> Result<Upsert, StoreError> {
    let t = ids::tenant_to_sql(tenant);
    let id = id_to_sql("incident id", i.id)?;
    let alert_count = count_to_sql("alert_count", i.alert_count)?;
    let existing: Option<(String, i64)> = tx
        .prepare_cached(
            "SELECT status, alert_count FROM incidents WHERE tenant_id = ?1 AND id = ?2",
        )?
        .query_row((t, id), |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let values = rusqlite::params![
        t,
        id,
        cut(&i.title, MAX_LABEL_CHARS),
        i.severity,
        i.severity_rank,
        i.score,
        cut(&i.entity, MAX_LABEL_CHARS),
        cut(&i.stage_chain, MAX_LABEL_CHARS),
        i.first_seen.as_nanos(),
        i.last_seen.as_nanos(),
        alert_count,
        count_to_sql("detections", i.detections)?,
        now.as_nanos(),
        i.doc,
    ];
    let Some((status, before)) = existing else {
        tx.prepare_cached(
            "INSERT INTO incidents (tenant_id, id, title, severity, severity_rank, score, entity,
                 stage_chain, first_seen_ns, last_seen_ns, alert_count, detections,
                 updated_at_ns, doc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?
        .execute(values)?;
        return Ok(Upsert::Inserted);
    };
    let reopen = status == "closed" && alert_count > before;
    let mut all: Vec<&dyn rusqlite::ToSql> = values.to_vec();
    all.push(&reopen);
    tx.prepare_cached(
        "UPDATE incidents SET title = ?3, severity = ?4, severity_rank = ?5, score = ?6,
             entity = ?7, stage_chain = ?8, first_seen_ns = ?9, last_seen_ns = ?10,
             alert_count = ?11, detections = ?12, updated_at_ns = ?13, doc = ?14,
             status = CASE WHEN ?15 THEN 'open' ELSE status END,
             close_reason = CASE WHEN ?15 THEN NULL ELSE close_reason END
         WHERE tenant_id = ?1 AND id = ?2",
    )?
    .execute(all.as_slice())?;
    Ok(if reopen {
        Upsert::Reopened {
            before,
            after: alert_count,
        }
    } else {
        Upsert::Updated
    })
}

/// Keeps the (record, indicator) pairs of a batch: only the tenant's records, each
/// pair once. Returns how many were new.
fn insert_indicator_hits(
    tx: &Connection,
    tenant: TenantId,
    hits: &[IndicatorHitRow],
) -> Result<usize, StoreError> {
    if hits.is_empty() {
        return Ok(0);
    }
    let mut stmt = tx.prepare_cached(
        "INSERT OR IGNORE INTO intel_hits (record_id, indicator_id, tenant_id)
         SELECT id, ?2, tenant_id FROM ingest WHERE id = ?1 AND tenant_id = ?3",
    )?;
    let t = ids::tenant_to_sql(tenant);
    let mut n = 0;
    for h in hits {
        n += stmt.execute((h.record, h.indicator, t))?;
    }
    Ok(n)
}

/// Remembers the highest ids the batch used, so they are not handed out again after
/// retention deletes the rows.
fn raise_id_bases(
    tx: &Connection,
    tenant: TenantId,
    batch: &BatchCommit,
) -> Result<(), StoreError> {
    let alert = batch.alerts.iter().map(|a| a.id).max().unwrap_or(0);
    let incident = batch.incidents.iter().map(|i| i.id).max().unwrap_or(0);
    if alert == 0 && incident == 0 {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO pipeline_ids (tenant_id, max_alert_id, max_incident_id) VALUES (?1, ?2, ?3)
         ON CONFLICT (tenant_id) DO UPDATE SET
             max_alert_id = MAX(max_alert_id, excluded.max_alert_id),
             max_incident_id = MAX(max_incident_id, excluded.max_incident_id)",
    )?
    .execute((
        ids::tenant_to_sql(tenant),
        count_to_sql("alert id", alert)?,
        count_to_sql("incident id", incident)?,
    ))?;
    Ok(())
}

fn record_reopen(
    tx: &Transaction<'_>,
    tenant: TenantId,
    kind: &str,
    id: u64,
    what: &str,
    (before, after): (i64, i64),
    now: Timestamp,
) -> Result<(), StoreError> {
    let action = if kind == "alert" {
        AuditAction::AlertReopen
    } else {
        AuditAction::IncidentReopen
    };
    audit::record(
        tx,
        &Origin::system("pipeline", now),
        &Change {
            action,
            object: format!("{kind}:{id}"),
            tenant: Some(tenant),
            detail: Some(&format!(
                "reopened by the pipeline: {what} grew from {before} to {after}"
            )),
        },
    )
}

impl Store {
    /// The highest alert id and incident id `tenant` has had (0 when none): the
    /// pipeline numbers new ones from there. Ids stay counted after retention deleted
    /// their rows, so an id is never given to two alerts.
    pub fn id_bases(&self, tenant: TenantId) -> Result<(u64, u64), StoreError> {
        let conn = self.conn();
        let (alert, incident): (i64, i64) = conn
            .prepare_cached(
                "SELECT MAX(COALESCE((SELECT max_alert_id FROM pipeline_ids WHERE tenant_id = ?1), 0),
                            COALESCE((SELECT MAX(id) FROM alerts WHERE tenant_id = ?1), 0)),
                        MAX(COALESCE((SELECT max_incident_id FROM pipeline_ids WHERE tenant_id = ?1), 0),
                            COALESCE((SELECT MAX(id) FROM incidents WHERE tenant_id = ?1), 0))",
            )?
            .query_row([ids::tenant_to_sql(tenant)], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok((
            crate::alerts::u64_from_sql(alert, "alert id out of range")?,
            crate::alerts::u64_from_sql(incident, "incident id out of range")?,
        ))
    }

    /// Writes one pipeline step for `tenant` in one IMMEDIATE transaction: marks the
    /// records processed with their metadata, upserts the alerts and incidents, adds
    /// the suppression hits. All of it or none: a record that is not the tenant's
    /// ([`StoreError::NotFound`]), a malformed row ([`StoreError::Invalid`]) or a
    /// failing write leaves the store as it was. `now` stamps `updated_at`.
    ///
    /// See the module documentation for what an update keeps and when a closed alert
    /// or incident reopens.
    pub fn commit_batch(
        &self,
        tenant: TenantId,
        batch: &BatchCommit,
        now: Timestamp,
    ) -> Result<BatchReceipt, StoreError> {
        check_batch(batch)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tenant::require(&tx, "tenant", tenant)?;
        let mut receipt = BatchReceipt {
            records: mark_records(&tx, tenant, &batch.records)?,
            ..BatchReceipt::default()
        };
        for a in &batch.alerts {
            match upsert_alert(&tx, tenant, a, now)? {
                Upsert::Inserted => receipt.alerts_inserted += 1,
                Upsert::Updated => receipt.alerts_updated += 1,
                Upsert::Reopened { before, after } => {
                    receipt.alerts_updated += 1;
                    receipt.alerts_reopened += 1;
                    record_reopen(&tx, tenant, "alert", a.id, "count", (before, after), now)?;
                }
            }
        }
        for i in &batch.incidents {
            match upsert_incident(&tx, tenant, i, now)? {
                Upsert::Inserted => receipt.incidents_inserted += 1,
                Upsert::Updated => receipt.incidents_updated += 1,
                Upsert::Reopened { before, after } => {
                    receipt.incidents_updated += 1;
                    receipt.incidents_reopened += 1;
                    let counts = (before, after);
                    record_reopen(&tx, tenant, "incident", i.id, "alerts", counts, now)?;
                }
            }
        }
        raise_id_bases(&tx, tenant, batch)?;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE suppressions SET hits = hits + ?1 WHERE id = ?2 AND tenant_id = ?3",
            )?;
            for &(id, delta) in &batch.suppression_hits {
                if delta == 0 {
                    continue;
                }
                let delta = count_to_sql("hits", delta)?;
                receipt.suppressions_updated +=
                    stmt.execute((delta, id, ids::tenant_to_sql(tenant)))?;
            }
        }
        receipt.indicator_hits = insert_indicator_hits(&tx, tenant, &batch.indicator_hits)?;
        tx.commit()?;
        Ok(receipt)
    }

    /// Where each (record, indicator) pair of `tenant` stands ([`HitState`]), in the
    /// order given. Read on the writing connection: the pipeline decides its writes on
    /// it.
    pub fn indicator_hit_states(
        &self,
        tenant: TenantId,
        pairs: &[IndicatorHitRow],
    ) -> Result<Vec<HitState>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT i.processed,
                    EXISTS (SELECT 1 FROM intel_hits h
                            WHERE h.record_id = i.id AND h.indicator_id = ?3)
             FROM ingest i WHERE i.id = ?2 AND i.tenant_id = ?1",
        )?;
        let t = ids::tenant_to_sql(tenant);
        let mut out = Vec::with_capacity(pairs.len());
        for p in pairs {
            let row: Option<(i64, bool)> = stmt
                .query_row((t, p.record, p.indicator), |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            out.push(match row {
                None => HitState::NoRecord,
                Some((0, _)) => HitState::Unprocessed,
                Some((_, true)) => HitState::Taken,
                Some((_, false)) => HitState::New,
            });
        }
        Ok(out)
    }

    /// How many of `tenant`'s records wait for the pipeline.
    pub fn pending_count(&self, tenant: TenantId) -> Result<u64, StoreError> {
        let conn = self.conn();
        let n: i64 = conn
            .prepare_cached("SELECT COUNT(*) FROM ingest WHERE tenant_id = ?1 AND processed = 0")?
            .query_row([ids::tenant_to_sql(tenant)], |r| r.get(0))?;
        crate::alerts::u64_from_sql(n, "negative count")
    }

    /// How many records of all tenants wait for the pipeline (a count over the small
    /// index of pending records only).
    pub fn pending_total(&self) -> Result<u64, StoreError> {
        let conn = self.reader();
        let n: i64 = conn
            .prepare_cached(
                "SELECT COUNT(*) FROM ingest INDEXED BY ingest_pending WHERE processed = 0",
            )?
            .query_row([], |r| r.get(0))?;
        crate::alerts::u64_from_sql(n, "negative count")
    }

    /// The tenants with records waiting for the pipeline, by id.
    ///
    /// A skip-scan of the pending index: one seek per tenant with pending records (the
    /// smallest tenant id above the last one found), so the cost grows with the number
    /// of such tenants, not with the backlog (`SELECT DISTINCT` read every pending
    /// entry: ≈ 50 ms at half a million, on every pipeline round).
    pub fn tenants_with_pending(&self) -> Result<Vec<TenantId>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT MIN(tenant_id) FROM ingest INDEXED BY ingest_pending
             WHERE processed = 0 AND tenant_id > ?1",
        )?;
        let mut tenants = Vec::new();
        let mut after = i64::MIN;
        while let Some(id) = stmt.query_row([after], |r| r.get::<_, Option<i64>>(0))? {
            tenants.push(ids::tenant_from_sql(id)?);
            after = id;
        }
        Ok(tenants)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_ranks() {
        assert_eq!(level_rank("informational"), Some(0));
        assert_eq!(level_rank("critical"), Some(4));
        assert_eq!(level_rank("Critical"), None);
        assert!(check_level("level", "high", 3).is_ok());
        assert!(check_level("level", "high", 2).is_err());
    }

    #[test]
    fn cutting_respects_characters() {
        assert_eq!(cut("héllo", 2), "hé");
        assert_eq!(cut("abc", 5), "abc");
        assert_eq!(cut("", 0), "");
    }
}
