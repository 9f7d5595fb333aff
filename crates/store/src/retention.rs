//! Retention: deleting what is older than each tenant's `retention_days`.
//!
//! What goes, per tenant, with `cutoff = now - retention_days`:
//! - processed records received before the cutoff. Retention counts from receipt, not
//!   from the event's own time: replayed or late-shipped old logs (a range scenario, an
//!   archive imported for a hunt) stay searchable for the tenant's whole retention.
//!   Records the pipeline has not processed are never deleted, however old.
//! - closed alerts last seen before the cutoff, unless their incident is still open.
//! - closed incidents last seen before the cutoff that have no alerts left.
//!
//! So work in progress is never purged: an open or acknowledged alert stays, and so do
//! an open incident's alerts and the incident of any alert that stays.
//!
//! Deletion runs in chunks of at most `batch` rows, one IMMEDIATE transaction each, and
//! the store's lock is released between chunks, so ingest and the API are not held up
//! by a large purge. Each tenant that lost rows gets one `retention.purge` audit record
//! (actor system, source `retention`, object `tenant:ID`, the counts in its detail),
//! written in the transaction of its last chunk; a crash part-way leaves the earlier
//! chunks' deletions unrecorded, and the next run deletes and records the rest.

use rusqlite::{Connection, TransactionBehavior};
use serde::Serialize;
use watchfloor_event::{TenantId, Timestamp};

use crate::audit::{self, AuditAction, Change, Origin};
use crate::ids::{self, wire};
use crate::{Store, StoreError};

const NANOS_PER_DAY: i64 = 86_400 * 1_000_000_000;

/// What one tenant lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TenantPurge {
    #[serde(serialize_with = "wire::tenant")]
    pub tenant: TenantId,
    /// Everything before this was eligible.
    #[serde(serialize_with = "wire::time")]
    pub cutoff: Timestamp,
    pub records: u64,
    pub alerts: u64,
    pub incidents: u64,
}

impl TenantPurge {
    fn total(&self) -> u64 {
        self.records + self.alerts + self.incidents
    }
}

/// What [`Store::enforce_retention`] deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    /// The tenants that lost rows, by id.
    pub tenants: Vec<TenantPurge>,
    /// Transactions run.
    pub chunks: u64,
}

impl RetentionReport {
    /// Rows deleted over all tenants.
    pub fn total(&self) -> u64 {
        self.tenants.iter().map(TenantPurge::total).sum()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Records,
    Alerts,
    Incidents,
}

const DELETE_RECORDS: &str = "DELETE FROM ingest WHERE id IN (
        SELECT id FROM ingest
        WHERE tenant_id = ?1 AND received_at_ns < ?2 AND processed = 1
        LIMIT ?3)";

const DELETE_ALERTS: &str = "DELETE FROM alerts WHERE rowid IN (
        SELECT a.rowid FROM alerts a
        WHERE a.tenant_id = ?1 AND a.last_seen_ns < ?2 AND a.status = 'closed'
          AND NOT EXISTS (
              SELECT 1 FROM incidents i
              WHERE i.tenant_id = a.tenant_id AND i.id = a.incident_id AND i.status = 'open')
        LIMIT ?3)";

const DELETE_INCIDENTS: &str = "DELETE FROM incidents WHERE rowid IN (
        SELECT i.rowid FROM incidents i
        WHERE i.tenant_id = ?1 AND i.last_seen_ns < ?2 AND i.status = 'closed'
          AND NOT EXISTS (
              SELECT 1 FROM alerts a WHERE a.tenant_id = i.tenant_id AND a.incident_id = i.id)
        LIMIT ?3)";

fn delete_chunk(
    conn: &Connection,
    kind: Kind,
    tenant: TenantId,
    cutoff: Timestamp,
    batch: i64,
) -> Result<u64, StoreError> {
    let sql = match kind {
        Kind::Records => DELETE_RECORDS,
        Kind::Alerts => DELETE_ALERTS,
        Kind::Incidents => DELETE_INCIDENTS,
    };
    let n = conn.prepare_cached(sql)?.execute((
        ids::tenant_to_sql(tenant),
        cutoff.as_nanos(),
        batch,
    ))?;
    Ok(n as u64)
}

impl Store {
    /// Deletes what is older than each tenant's retention at `now`, at most `batch`
    /// rows per transaction (see the module documentation for what goes and what
    /// stays). Fails with [`StoreError::Invalid`] for a `batch` of 0.
    pub fn enforce_retention(
        &self,
        now: Timestamp,
        batch: usize,
    ) -> Result<RetentionReport, StoreError> {
        let Ok(batch_sql @ 1..) = i64::try_from(batch) else {
            return Err(StoreError::invalid("batch", "must be at least 1"));
        };
        let origin = Origin::system("retention", now);
        let mut report = RetentionReport::default();
        for tenant in self.tenants()? {
            let span = i64::from(tenant.retention_days).saturating_mul(NANOS_PER_DAY);
            let mut purge = TenantPurge {
                tenant: tenant.id,
                cutoff: Timestamp(now.as_nanos().saturating_sub(span)),
                records: 0,
                alerts: 0,
                incidents: 0,
            };
            for kind in [Kind::Records, Kind::Alerts, Kind::Incidents] {
                loop {
                    let mut conn = self.conn();
                    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                    let n = delete_chunk(&tx, kind, tenant.id, purge.cutoff, batch_sql)?;
                    match kind {
                        Kind::Records => purge.records += n,
                        Kind::Alerts => purge.alerts += n,
                        Kind::Incidents => purge.incidents += n,
                    }
                    let done = n < batch as u64;
                    if done && kind == Kind::Incidents && purge.total() > 0 {
                        let detail = format!(
                            "deleted {} records, {} alerts, {} incidents older than {} days",
                            purge.records, purge.alerts, purge.incidents, tenant.retention_days
                        );
                        audit::record(
                            &tx,
                            &origin,
                            &Change {
                                action: AuditAction::RetentionPurge,
                                object: format!("tenant:{}", tenant.id.0),
                                tenant: Some(tenant.id),
                                detail: Some(&detail),
                            },
                        )?;
                    }
                    tx.commit()?;
                    report.chunks += 1;
                    if done {
                        break;
                    }
                }
            }
            if purge.total() > 0 {
                report.tenants.push(purge);
            }
        }
        Ok(report)
    }
}
