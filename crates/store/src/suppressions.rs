//! Suppressions: a tenant's standing decisions that some detections are benign.
//!
//! A suppression is an expression in the analysis engine's suppression language, kept
//! here as text: the parser lives in the analysis engine, and the caller checks the
//! syntax before creating one. Suppressions are created and deleted with an audit
//! record each (`suppression.create`, `suppression.delete`, object `suppression:ID`);
//! a deletion is soft (`deleted_at`), so the record of what was suppressed, and how
//! often, stays. The pipeline adds hits ([`crate::BatchCommit::suppression_hits`]).
//!
//! Every create and delete raises [`Store::suppressions_version`], which the pipeline
//! polls to reload a tenant's suppressions only when they changed.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use watchfloor_event::{TenantId, Timestamp};

use crate::alerts::{MAX_REASON_CHARS, check_text, id_to_sql, u64_from_sql};
use crate::audit::{self, AuditAction, Change, Origin};
use crate::ids::{self, wire};
use crate::{Store, StoreError, tenant, validate};

/// The longest suppression expression, in characters.
pub const MAX_EXPR_CHARS: usize = 2000;

/// What [`Store::create_suppression`] needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSuppression {
    /// The expression, 1 to [`MAX_EXPR_CHARS`] characters, syntax checked by the caller.
    pub expr: String,
    /// Who answers for it (a name or login), as a name: 1 to 100 characters.
    pub owner: String,
    /// Why the matches are benign: 1 to 1000 characters.
    pub reason: String,
    /// When it stops applying, if ever; after the creation time.
    pub expires_at: Option<Timestamp>,
    /// The alert it was made from, which must be the tenant's.
    pub from_alert: Option<u64>,
}

/// A suppression as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Suppression {
    pub id: i64,
    #[serde(serialize_with = "wire::tenant")]
    pub tenant: TenantId,
    pub expr: String,
    pub owner: String,
    pub reason: String,
    #[serde(serialize_with = "wire::time")]
    pub created_at: Timestamp,
    #[serde(serialize_with = "wire::opt_time")]
    pub expires_at: Option<Timestamp>,
    /// Detections it has held back.
    pub hits: u64,
    pub from_alert: Option<u64>,
    #[serde(serialize_with = "wire::opt_time")]
    pub deleted_at: Option<Timestamp>,
}

impl Suppression {
    /// Whether it applies at `now`: not deleted and not expired.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.deleted_at.is_none() && self.expires_at.is_none_or(|t| t > now)
    }
}

const COLUMNS: &str = "id, tenant_id, expr, owner, reason, created_at_ns, expires_at_ns, hits, \
     from_alert, deleted_at_ns";

type RawSuppression = (
    i64,
    i64,
    String,
    String,
    String,
    i64,
    Option<i64>,
    i64,
    Option<i64>,
    Option<i64>,
);

fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawSuppression> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
    ))
}

fn from_raw(raw: RawSuppression) -> Result<Suppression, StoreError> {
    let (id, tenant, expr, owner, reason, created, expires, hits, from_alert, deleted) = raw;
    Ok(Suppression {
        id,
        tenant: ids::tenant_from_sql(tenant)?,
        expr,
        owner,
        reason,
        created_at: Timestamp(created),
        expires_at: expires.map(Timestamp),
        hits: u64_from_sql(hits, "negative suppression hits")?,
        from_alert: from_alert
            .map(|a| u64_from_sql(a, "alert id out of range"))
            .transpose()?,
        deleted_at: deleted.map(Timestamp),
    })
}

fn load(conn: &Connection, tenant: TenantId, id: i64) -> Result<Option<Suppression>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM suppressions WHERE tenant_id = ?1 AND id = ?2"
    ))?;
    stmt.query_row((ids::tenant_to_sql(tenant), id), raw)
        .optional()?
        .map(from_raw)
        .transpose()
}

/// The version the next change gets: one more than any so far.
fn next_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT COALESCE(MAX(version), 0) + 1 FROM suppressions")?
        .query_row([], |r| r.get(0))?)
}

fn check_new(new: &NewSuppression, origin: &Origin) -> Result<(), StoreError> {
    check_text("expr", &new.expr, MAX_EXPR_CHARS)?;
    validate::name("owner", &new.owner)?;
    check_text("reason", &new.reason, MAX_REASON_CHARS)?;
    if new.expires_at.is_some_and(|t| t <= origin.at) {
        return Err(StoreError::invalid("expires_at", "must be in the future"));
    }
    if let Some(a) = new.from_alert {
        id_to_sql("from_alert", a)?;
    }
    Ok(())
}

impl Store {
    /// Creates a suppression for `tenant` at `origin.at`, with its audit record.
    pub fn create_suppression(
        &self,
        tenant: TenantId,
        new: &NewSuppression,
        origin: &Origin,
    ) -> Result<Suppression, StoreError> {
        check_new(new, origin)?;
        audit::check_origin(origin)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tenant::require(&tx, "tenant", tenant)?;
        let from_alert = new
            .from_alert
            .map(|a| id_to_sql("from_alert", a))
            .transpose()?;
        if let Some(a) = from_alert {
            let found: Option<i64> = tx
                .prepare_cached("SELECT 1 FROM alerts WHERE tenant_id = ?1 AND id = ?2")?
                .query_row((ids::tenant_to_sql(tenant), a), |r| r.get(0))
                .optional()?;
            if found.is_none() {
                return Err(StoreError::not_found("from_alert", a));
            }
        }
        let version = next_version(&tx)?;
        tx.prepare_cached(
            "INSERT INTO suppressions (tenant_id, expr, owner, reason, created_at_ns,
                 expires_at_ns, from_alert, version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(rusqlite::params![
            ids::tenant_to_sql(tenant),
            new.expr,
            new.owner,
            new.reason,
            origin.at.as_nanos(),
            new.expires_at.map(Timestamp::as_nanos),
            from_alert,
            version,
        ])?;
        let id = tx.last_insert_rowid();
        audit::record(
            &tx,
            origin,
            &Change {
                action: AuditAction::SuppressionCreate,
                object: format!("suppression:{id}"),
                tenant: Some(tenant),
                detail: Some(&format!(
                    "expr {:?}, owner {:?}, reason {:?}",
                    new.expr, new.owner, new.reason
                )),
            },
        )?;
        let created = load(&tx, tenant, id)?.ok_or(StoreError::Corrupt("suppression vanished"))?;
        tx.commit()?;
        Ok(created)
    }

    /// `tenant`'s suppressions by id; deleted ones only if asked for. Expired ones are
    /// listed ([`Suppression::is_active`] tells them apart).
    pub fn suppressions(
        &self,
        tenant: TenantId,
        include_deleted: bool,
    ) -> Result<Vec<Suppression>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM suppressions
             WHERE tenant_id = ?1 AND (?2 OR deleted_at_ns IS NULL) ORDER BY id"
        ))?;
        let rows = stmt.query_map((ids::tenant_to_sql(tenant), include_deleted), raw)?;
        rows.map(|r| from_raw(r?)).collect()
    }

    /// One of `tenant`'s suppressions, deleted or not.
    pub fn suppression(&self, tenant: TenantId, id: i64) -> Result<Suppression, StoreError> {
        load(&self.reader(), tenant, id)?.ok_or_else(|| StoreError::not_found("suppression", id))
    }

    /// Deletes one of `tenant`'s suppressions (softly: it stays listed with
    /// `include_deleted`, with its hits). Deleting a deleted one changes nothing.
    pub fn delete_suppression(
        &self,
        tenant: TenantId,
        id: i64,
        origin: &Origin,
    ) -> Result<Suppression, StoreError> {
        audit::check_origin(origin)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let old = load(&tx, tenant, id)?.ok_or_else(|| StoreError::not_found("suppression", id))?;
        if old.deleted_at.is_some() {
            return Ok(old);
        }
        let version = next_version(&tx)?;
        tx.prepare_cached(
            "UPDATE suppressions SET deleted_at_ns = ?1, version = ?2
             WHERE tenant_id = ?3 AND id = ?4",
        )?
        .execute((
            origin.at.as_nanos(),
            version,
            ids::tenant_to_sql(tenant),
            id,
        ))?;
        audit::record(
            &tx,
            origin,
            &Change {
                action: AuditAction::SuppressionDelete,
                object: format!("suppression:{id}"),
                tenant: Some(tenant),
                detail: Some(&format!("expr {:?}, hits {}", old.expr, old.hits)),
            },
        )?;
        let deleted = load(&tx, tenant, id)?.ok_or(StoreError::Corrupt("suppression vanished"))?;
        tx.commit()?;
        Ok(deleted)
    }

    /// A number that grows with every suppression created or deleted, in any tenant
    /// (hits do not count): poll it and reload suppressions when it changed.
    pub fn suppressions_version(&self) -> Result<i64, StoreError> {
        let conn = self.conn();
        Ok(conn
            .prepare_cached("SELECT COALESCE(MAX(version), 0) FROM suppressions")?
            .query_row([], |r| r.get(0))?)
    }
}
