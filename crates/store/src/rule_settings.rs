//! Per-tenant rule switches: which detection rules a tenant has turned off.
//!
//! Every rule runs for every tenant unless switched off here. The store does not know
//! the rules; the caller checks that a rule id names one. A switch that changes
//! something writes its audit record (`rule.enable` / `rule.disable`, object
//! `rule:ID`); rows are kept when a rule is enabled again, so each change raises
//! [`Store::rule_settings_version`], which the pipeline polls to reload the switches
//! only when they changed.

use rusqlite::{OptionalExtension, TransactionBehavior};
use watchfloor_event::TenantId;

use crate::audit::{self, AuditAction, Change, Origin};
use crate::ids;
use crate::{Store, StoreError, tenant};

/// The longest rule id, in characters.
pub const MAX_RULE_ID_CHARS: usize = 200;

fn check_rule_id(rule_id: &str) -> Result<(), StoreError> {
    if rule_id.trim().is_empty() {
        return Err(StoreError::invalid("rule_id", "must not be empty"));
    }
    if rule_id.trim() != rule_id {
        return Err(StoreError::invalid(
            "rule_id",
            "must not start or end with white space",
        ));
    }
    if rule_id.chars().any(char::is_control) {
        return Err(StoreError::invalid(
            "rule_id",
            "must not contain control characters",
        ));
    }
    if rule_id.chars().count() > MAX_RULE_ID_CHARS {
        return Err(StoreError::invalid(
            "rule_id",
            "must be at most 200 characters",
        ));
    }
    Ok(())
}

impl Store {
    /// Switches a rule on or off for `tenant` at `origin.at`. Returns whether anything
    /// changed: switching a rule to the state it is in (rules are on by default)
    /// writes nothing and records nothing.
    pub fn set_rule_enabled(
        &self,
        tenant: TenantId,
        rule_id: &str,
        enabled: bool,
        origin: &Origin,
    ) -> Result<bool, StoreError> {
        check_rule_id(rule_id)?;
        audit::check_origin(origin)?;
        let t = ids::tenant_to_sql(tenant);
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tenant::require(&tx, "tenant", tenant)?;
        let current: Option<bool> = tx
            .prepare_cached(
                "SELECT enabled FROM rule_settings WHERE tenant_id = ?1 AND rule_id = ?2",
            )?
            .query_row((t, rule_id), |r| r.get(0))
            .optional()?;
        if current.unwrap_or(true) == enabled {
            return Ok(false);
        }
        tx.prepare_cached(
            "INSERT INTO rule_settings (tenant_id, rule_id, enabled, updated_at_ns, version)
             VALUES (?1, ?2, ?3, ?4, (SELECT COALESCE(MAX(version), 0) + 1 FROM rule_settings))
             ON CONFLICT (tenant_id, rule_id) DO UPDATE SET
                 enabled = excluded.enabled,
                 updated_at_ns = excluded.updated_at_ns,
                 version = excluded.version",
        )?
        .execute((t, rule_id, enabled, origin.at.as_nanos()))?;
        audit::record(
            &tx,
            origin,
            &Change {
                action: if enabled {
                    AuditAction::RuleEnable
                } else {
                    AuditAction::RuleDisable
                },
                object: format!("rule:{rule_id}"),
                tenant: Some(tenant),
                detail: None,
            },
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// The rules `tenant` has switched off, by rule id.
    pub fn disabled_rules(&self, tenant: TenantId) -> Result<Vec<String>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT rule_id FROM rule_settings WHERE tenant_id = ?1 AND enabled = 0
             ORDER BY rule_id",
        )?;
        let rows = stmt.query_map([ids::tenant_to_sql(tenant)], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every rule `tenant` has ever switched, with its current state, by rule id.
    /// Rules not listed are on.
    pub fn rule_settings(&self, tenant: TenantId) -> Result<Vec<(String, bool)>, StoreError> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT rule_id, enabled FROM rule_settings WHERE tenant_id = ?1 ORDER BY rule_id",
        )?;
        let rows = stmt.query_map([ids::tenant_to_sql(tenant)], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A number that grows with every switch of any tenant (0 before the first): poll
    /// it and reload the switches when it changed.
    pub fn rule_settings_version(&self) -> Result<i64, StoreError> {
        let conn = self.conn();
        Ok(conn
            .prepare_cached("SELECT COALESCE(MAX(version), 0) FROM rule_settings")?
            .query_row([], |r| r.get(0))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids() {
        assert!(check_rule_id("5f1e8a0c-2a6b-4e1f-9d3c-1c2b3a4d5e6f").is_ok());
        assert!(check_rule_id("proc_creation_win_whoami").is_ok());
        for bad in ["", " x", "x\n", &"r".repeat(MAX_RULE_ID_CHARS + 1)] {
            assert!(check_rule_id(bad).is_err(), "{bad:?}");
        }
    }
}
