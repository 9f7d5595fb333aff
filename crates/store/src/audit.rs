//! The audit log: who changed what, when, and from where.
//!
//! Every change the store makes writes one record here in the same transaction, so a
//! change and its record commit or roll back together. The table is append-only
//! (triggers refuse UPDATE and DELETE). Records never hold secrets: objects are named by
//! kind and id, details say what changed (a new name, a role), never a password or
//! token.

use serde::Serialize;
use watchfloor_event::{TenantId, Timestamp};

use crate::ids::{self, AuditId, TokenId, UserId, wire};
use crate::{Store, StoreError, validate};

/// Who made a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "id", rename_all = "lowercase")]
pub enum Actor {
    /// The system itself: bootstrap commands on the server's machine, login handling.
    System,
    User(UserId),
    Token(TokenId),
}

/// The circumstances of a change: who, from where (an address, `cli`), when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub actor: Actor,
    /// Where the request came from, as the caller knows it: a client address, `cli`.
    /// 1 to 200 characters, no control characters.
    pub source: String,
    pub at: Timestamp,
}

impl Origin {
    pub fn new(actor: Actor, source: impl Into<String>, at: Timestamp) -> Self {
        Origin {
            actor,
            source: source.into(),
            at,
        }
    }

    /// A change made by the system itself (bootstrap, maintenance).
    pub fn system(source: impl Into<String>, at: Timestamp) -> Self {
        Origin::new(Actor::System, source, at)
    }
}

/// What a record is about. The stored text is [`AuditAction::as_str`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditAction {
    TenantCreate,
    TenantRename,
    TenantRetention,
    UserCreate,
    UserDisable,
    UserLogin,
    LoginLocked,
    TokenCreate,
    TokenRevoke,
    AlertAcknowledge,
    AlertAssign,
    AlertClose,
    AlertReopen,
    IncidentAssign,
    IncidentClose,
    IncidentReopen,
    SuppressionCreate,
    SuppressionDelete,
    RuleEnable,
    RuleDisable,
    RetentionPurge,
    IntelImport,
    IntelRetroHunt,
    AssetsReplace,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::TenantCreate => "tenant.create",
            AuditAction::TenantRename => "tenant.rename",
            AuditAction::TenantRetention => "tenant.retention",
            AuditAction::UserCreate => "user.create",
            AuditAction::UserDisable => "user.disable",
            AuditAction::UserLogin => "user.login",
            AuditAction::LoginLocked => "login.locked",
            AuditAction::TokenCreate => "token.create",
            AuditAction::TokenRevoke => "token.revoke",
            AuditAction::AlertAcknowledge => "alert.acknowledge",
            AuditAction::AlertAssign => "alert.assign",
            AuditAction::AlertClose => "alert.close",
            AuditAction::AlertReopen => "alert.reopen",
            AuditAction::IncidentAssign => "incident.assign",
            AuditAction::IncidentClose => "incident.close",
            AuditAction::IncidentReopen => "incident.reopen",
            AuditAction::SuppressionCreate => "suppression.create",
            AuditAction::SuppressionDelete => "suppression.delete",
            AuditAction::RuleEnable => "rule.enable",
            AuditAction::RuleDisable => "rule.disable",
            AuditAction::RetentionPurge => "retention.purge",
            AuditAction::IntelImport => "intel.import",
            AuditAction::IntelRetroHunt => "intel.retro-hunt",
            AuditAction::AssetsReplace => "assets.replace",
        }
    }
}

/// One audit record as read back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub id: AuditId,
    #[serde(serialize_with = "wire::time")]
    pub at: Timestamp,
    pub actor: Actor,
    /// An [`AuditAction::as_str`] text (kept as text so records of newer versions read).
    pub action: String,
    /// The object changed, as `kind:id` (`tenant:3`, `user:7`, `token:2`) or
    /// `login:NAME` for lockouts.
    pub object: String,
    /// The tenant the change belongs to; `None` for changes that span tenants (an admin
    /// or an analyst account).
    #[serde(serialize_with = "wire::opt_tenant")]
    pub tenant: Option<TenantId>,
    pub source: String,
    /// What changed, in words (`renamed from "a" to "b"`); never a secret.
    pub detail: Option<String>,
}

/// Which records to list: newest first, optionally one tenant's, a page at a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditQuery {
    pub tenant: Option<TenantId>,
    /// Only records older than this one (the previous page's `next`).
    pub before: Option<AuditId>,
    /// Records per page, 1 to [`AuditQuery::MAX_LIMIT`].
    pub limit: u32,
}

impl AuditQuery {
    pub const MAX_LIMIT: u32 = 1000;
}

impl Default for AuditQuery {
    fn default() -> Self {
        AuditQuery {
            tenant: None,
            before: None,
            limit: 100,
        }
    }
}

/// One page of records and the cursor for the next (older) page, if there may be one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next: Option<AuditId>,
}

/// What [`record`] writes besides the origin.
pub(crate) struct Change<'a> {
    pub action: AuditAction,
    pub object: String,
    pub tenant: Option<TenantId>,
    pub detail: Option<&'a str>,
}

/// Appends one record; called inside the transaction that makes the change.
pub(crate) fn record(
    conn: &rusqlite::Connection,
    origin: &Origin,
    change: &Change<'_>,
) -> Result<(), StoreError> {
    let (kind, id) = match origin.actor {
        Actor::System => ("system", None),
        Actor::User(u) => ("user", Some(u.0)),
        Actor::Token(t) => ("token", Some(t.0)),
    };
    conn.execute(
        "INSERT INTO audit_log (at_ns, actor_kind, actor_id, action, object, tenant_id, source, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        (
            origin.at.as_nanos(),
            kind,
            id,
            change.action.as_str(),
            &change.object,
            change.tenant.map(ids::tenant_to_sql),
            &origin.source,
            change.detail,
        ),
    )?;
    Ok(())
}

/// Checks an origin before a change uses it.
pub(crate) fn check_origin(origin: &Origin) -> Result<(), StoreError> {
    validate::source(&origin.source)
}

type RawEntry = (
    i64,
    i64,
    String,
    Option<i64>,
    String,
    String,
    Option<i64>,
    String,
    Option<String>,
);

impl Store {
    /// Lists audit records, newest first, a page at a time (see [`AuditQuery`]).
    pub fn audit(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        if query.limit == 0 || query.limit > AuditQuery::MAX_LIMIT {
            return Err(StoreError::invalid("limit", "must be between 1 and 1000"));
        }
        let before = query.before.map_or(i64::MAX, |b| b.0);
        let tenant = query.tenant.map(ids::tenant_to_sql);
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT id, at_ns, actor_kind, actor_id, action, object, tenant_id, source, detail
             FROM audit_log
             WHERE id < ?1 AND (?2 IS NULL OR tenant_id = ?2)
             ORDER BY id DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map((before, tenant, query.limit), |r| {
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
            ))
        })?;
        let mut entries = Vec::new();
        for row in rows {
            let raw: RawEntry = row?;
            entries.push(entry_from_raw(raw)?);
        }
        let full = u32::try_from(entries.len()).is_ok_and(|n| n == query.limit);
        let next = if full {
            entries.last().map(|e| e.id)
        } else {
            None
        };
        Ok(AuditPage { entries, next })
    }
}

fn entry_from_raw(raw: RawEntry) -> Result<AuditEntry, StoreError> {
    let (id, at, kind, actor_id, action, object, tenant, source, detail) = raw;
    let actor = match (kind.as_str(), actor_id) {
        ("system", _) => Actor::System,
        ("user", Some(id)) => Actor::User(UserId(id)),
        ("token", Some(id)) => Actor::Token(TokenId(id)),
        _ => return Err(StoreError::Corrupt("audit record with an unknown actor")),
    };
    Ok(AuditEntry {
        id: AuditId(id),
        at: Timestamp(at),
        actor,
        action,
        object,
        tenant: tenant.map(ids::tenant_from_sql).transpose()?,
        source,
        detail,
    })
}
