//! Tenants: the customer organisations whose data never mixes.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use watchfloor_event::{TenantId, Timestamp};

use crate::audit::{self, AuditAction, Change, Origin};
use crate::error::is_unique_violation;
use crate::ids::{self, wire};
use crate::{Store, StoreError, validate};

/// Days of data kept for a new tenant until its retention is set.
pub const DEFAULT_RETENTION_DAYS: u32 = 90;
/// The longest retention a tenant can have (about a century).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// A tenant: a customer organisation. Names are unique without regard to ASCII case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tenant {
    #[serde(serialize_with = "wire::tenant")]
    pub id: TenantId,
    pub name: String,
    /// How many days of the tenant's events and alerts are kept.
    pub retention_days: u32,
    #[serde(serialize_with = "wire::time")]
    pub created_at: Timestamp,
}

const COLUMNS: &str = "id, name, retention_days, created_at_ns";

type RawTenant = (i64, String, i64, i64);

fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawTenant> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn from_raw((id, name, retention, created): RawTenant) -> Result<Tenant, StoreError> {
    Ok(Tenant {
        id: ids::tenant_from_sql(id)?,
        name,
        retention_days: u32::try_from(retention)
            .map_err(|_| StoreError::Corrupt("retention days out of range"))?,
        created_at: Timestamp(created),
    })
}

/// Reads one tenant by id on an open connection or transaction.
pub(crate) fn load(conn: &Connection, id: TenantId) -> Result<Option<Tenant>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM tenants WHERE id = ?1");
    conn.query_row(&sql, [ids::tenant_to_sql(id)], raw)
        .optional()?
        .map(from_raw)
        .transpose()
}

/// Whether a tenant exists, for checking references inside a transaction.
pub(crate) fn require(
    conn: &Connection,
    field: &'static str,
    id: TenantId,
) -> Result<(), StoreError> {
    let found: Option<i64> = conn
        .query_row(
            "SELECT id FROM tenants WHERE id = ?1",
            [ids::tenant_to_sql(id)],
            |r| r.get(0),
        )
        .optional()?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::not_found(field, id.0)),
    }
}

fn check_retention(days: u32) -> Result<(), StoreError> {
    if days == 0 || days > MAX_RETENTION_DAYS {
        return Err(StoreError::invalid(
            "retention_days",
            "must be between 1 and 36500",
        ));
    }
    Ok(())
}

impl Store {
    /// Creates a tenant with [`DEFAULT_RETENTION_DAYS`].
    pub fn create_tenant(&self, name: &str, origin: &Origin) -> Result<Tenant, StoreError> {
        validate::name("name", name)?;
        audit::check_origin(origin)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let inserted = tx.execute(
            "INSERT INTO tenants (name, retention_days, created_at_ns) VALUES (?1, ?2, ?3)",
            (name, DEFAULT_RETENTION_DAYS, origin.at.as_nanos()),
        );
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Duplicate {
                    field: "name",
                    value: name.to_owned(),
                });
            }
            other => other?,
        };
        let id = ids::tenant_from_sql(tx.last_insert_rowid())?;
        audit::record(
            &tx,
            origin,
            &Change {
                action: AuditAction::TenantCreate,
                object: format!("tenant:{}", id.0),
                tenant: Some(id),
                detail: Some(&format!("name {name:?}")),
            },
        )?;
        let tenant = load(&tx, id)?.ok_or(StoreError::Corrupt("tenant vanished"))?;
        tx.commit()?;
        Ok(tenant)
    }

    /// All tenants, by id.
    pub fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        let conn = self.reader();
        let mut stmt =
            conn.prepare_cached(&format!("SELECT {COLUMNS} FROM tenants ORDER BY id"))?;
        let rows = stmt.query_map([], raw)?;
        rows.map(|r| from_raw(r?)).collect()
    }

    /// One tenant by id.
    pub fn tenant(&self, id: TenantId) -> Result<Tenant, StoreError> {
        load(&self.reader(), id)?.ok_or_else(|| StoreError::not_found("tenant", id.0))
    }

    /// One tenant by name (ASCII case ignored).
    pub fn tenant_by_name(&self, name: &str) -> Result<Tenant, StoreError> {
        let conn = self.conn();
        let sql = format!("SELECT {COLUMNS} FROM tenants WHERE name = ?1");
        conn.query_row(&sql, [name], raw)
            .optional()?
            .map(from_raw)
            .transpose()?
            .ok_or_else(|| StoreError::not_found("tenant", name))
    }

    /// Renames a tenant; renaming to its current name changes nothing and records
    /// nothing.
    pub fn rename_tenant(
        &self,
        id: TenantId,
        new_name: &str,
        origin: &Origin,
    ) -> Result<Tenant, StoreError> {
        validate::name("name", new_name)?;
        audit::check_origin(origin)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let old = load(&tx, id)?.ok_or_else(|| StoreError::not_found("tenant", id.0))?;
        if old.name == new_name {
            return Ok(old);
        }
        let updated = tx.execute(
            "UPDATE tenants SET name = ?1 WHERE id = ?2",
            (new_name, ids::tenant_to_sql(id)),
        );
        match updated {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Duplicate {
                    field: "name",
                    value: new_name.to_owned(),
                });
            }
            other => other?,
        };
        audit::record(
            &tx,
            origin,
            &Change {
                action: AuditAction::TenantRename,
                object: format!("tenant:{}", id.0),
                tenant: Some(id),
                detail: Some(&format!("renamed from {:?} to {new_name:?}", old.name)),
            },
        )?;
        let tenant = load(&tx, id)?.ok_or(StoreError::Corrupt("tenant vanished"))?;
        tx.commit()?;
        Ok(tenant)
    }

    /// Sets how many days of a tenant's data are kept (1 to [`MAX_RETENTION_DAYS`]).
    pub fn set_tenant_retention(
        &self,
        id: TenantId,
        days: u32,
        origin: &Origin,
    ) -> Result<Tenant, StoreError> {
        check_retention(days)?;
        audit::check_origin(origin)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let old = load(&tx, id)?.ok_or_else(|| StoreError::not_found("tenant", id.0))?;
        if old.retention_days == days {
            return Ok(old);
        }
        tx.execute(
            "UPDATE tenants SET retention_days = ?1 WHERE id = ?2",
            (days, ids::tenant_to_sql(id)),
        )?;
        audit::record(
            &tx,
            origin,
            &Change {
                action: AuditAction::TenantRetention,
                object: format!("tenant:{}", id.0),
                tenant: Some(id),
                detail: Some(&format!(
                    "retention from {} to {days} days",
                    old.retention_days
                )),
            },
        )?;
        let tenant = load(&tx, id)?.ok_or(StoreError::Corrupt("tenant vanished"))?;
        tx.commit()?;
        Ok(tenant)
    }
}
