//! Per-tenant asset inventories: the document (CSV or JSON) a tenant's inventory was
//! last given as, kept whole. The store does not parse it: the analysis engine's
//! inventory parser reads it when the pipeline loads the tenant, and the API checks it
//! before storing. Replacing an inventory writes its audit record (`assets.replace`,
//! object `assets`, with the number of assets in the detail).

use rusqlite::{OptionalExtension, TransactionBehavior};
use serde::Serialize;
use watchfloor_event::{TenantId, Timestamp};

use crate::audit::{self, AuditAction, Change, Origin};
use crate::ids::{self, wire};
use crate::{Store, StoreError, tenant};

/// The largest inventory document, in bytes.
pub const MAX_INVENTORY_BYTES: usize = 16 * 1024 * 1024;

/// The form of an inventory document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InventoryFormat {
    Csv,
    Json,
}

impl InventoryFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            InventoryFormat::Csv => "csv",
            InventoryFormat::Json => "json",
        }
    }

    fn parse(text: &str) -> Option<InventoryFormat> {
        match text {
            "csv" => Some(InventoryFormat::Csv),
            "json" => Some(InventoryFormat::Json),
            _ => None,
        }
    }
}

/// A tenant's stored inventory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AssetInventory {
    pub format: InventoryFormat,
    /// The document as given.
    #[serde(skip)]
    pub body: String,
    /// Assets it held when stored.
    pub assets: u64,
    #[serde(serialize_with = "wire::time")]
    pub updated_at: Timestamp,
}

impl Store {
    /// Replaces `tenant`'s asset inventory with `body` (holding `assets` assets, as the
    /// caller's parser counted them) at `origin.at`.
    pub fn replace_asset_inventory(
        &self,
        tenant: TenantId,
        format: InventoryFormat,
        body: &str,
        assets: u64,
        origin: &Origin,
    ) -> Result<(), StoreError> {
        audit::check_origin(origin)?;
        if body.len() > MAX_INVENTORY_BYTES {
            return Err(StoreError::invalid("body", "must be at most 16 MiB"));
        }
        let t = ids::tenant_to_sql(tenant);
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tenant::require(&tx, "tenant", tenant)?;
        tx.prepare_cached(
            "INSERT INTO asset_inventories (tenant_id, format, body, assets, updated_at_ns)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (tenant_id) DO UPDATE SET
                 format = excluded.format,
                 body = excluded.body,
                 assets = excluded.assets,
                 updated_at_ns = excluded.updated_at_ns",
        )?
        .execute((
            t,
            format.as_str(),
            body,
            i64::try_from(assets).unwrap_or(i64::MAX),
            origin.at.as_nanos(),
        ))?;
        let detail = format!("{assets} assets ({})", format.as_str());
        audit::record(
            &tx,
            origin,
            &Change {
                action: AuditAction::AssetsReplace,
                object: "assets".to_owned(),
                tenant: Some(tenant),
                detail: Some(&detail),
            },
        )?;
        tx.commit()?;
        Ok(())
    }

    /// `tenant`'s asset inventory, if it was ever given one.
    pub fn asset_inventory(&self, tenant: TenantId) -> Result<Option<AssetInventory>, StoreError> {
        let conn = self.reader();
        let row = conn
            .prepare_cached(
                "SELECT format, body, assets, updated_at_ns FROM asset_inventories
                 WHERE tenant_id = ?1",
            )?
            .query_row([ids::tenant_to_sql(tenant)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .optional()?;
        let Some((format, body, assets, at)) = row else {
            return Ok(None);
        };
        let format =
            InventoryFormat::parse(&format).ok_or(StoreError::Corrupt("inventory format"))?;
        Ok(Some(AssetInventory {
            format,
            body,
            assets: u64::try_from(assets).unwrap_or(0),
            updated_at: Timestamp(at),
        }))
    }
}
