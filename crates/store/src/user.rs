//! Users, their roles and the tenants they may work on.
//!
//! An admin runs the instance and sees every tenant; an analyst works on a set of
//! tenants; a customer belongs to exactly one tenant and only reads it. The schema holds
//! the customer's tenant in `users.customer_tenant_id` (a CHECK makes it present exactly
//! for customers) and the analysts' sets in `analyst_tenants`.

use std::fmt;
use std::str::FromStr;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use watchfloor_event::{TenantId, Timestamp};

use crate::audit::{self, AuditAction, Change, Origin};
use crate::error::is_unique_violation;
use crate::ids::{self, UserId, wire};
use crate::{Store, StoreError, login, tenant, validate};

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The longest password accepted, in bytes (bounds the work a login request causes).
pub(crate) const MAX_PASSWORD_BYTES: usize = 1024;

/// What a user or token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs the instance: every tenant, every setting.
    Admin,
    /// Works incidents of the tenants in their set (read and write).
    Analyst,
    /// Reads its own tenant's incidents and reports.
    Customer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Customer => "customer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Role, StoreError> {
        match s {
            "admin" => Ok(Role::Admin),
            "analyst" => Ok(Role::Analyst),
            "customer" => Ok(Role::Customer),
            _ => Err(StoreError::invalid(
                "role",
                "must be admin, analyst or customer",
            )),
        }
    }
}

/// A password as typed. Its `Debug` is `<redacted>`; it has no `Display` and no
/// serde, so it cannot end up in a log or a response by accident.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn new(text: impl Into<String>) -> Password {
        Password(text.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// What [`Store::create_user`] needs.
#[derive(Clone, Debug)]
pub struct NewUser {
    /// ASCII letters, digits, `.`, `_`, `-`, `@`; stored lower-cased.
    pub login: String,
    pub display_name: String,
    pub role: Role,
    /// Admin: none. Analyst: the tenants they may work on (any number). Customer:
    /// exactly one, their own.
    pub tenants: Vec<TenantId>,
    /// At least [`MIN_PASSWORD_CHARS`] characters and not the login.
    pub password: Password,
}

/// A user as stored (without the password hash, which never leaves the store).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: UserId,
    pub login: String,
    pub display_name: String,
    pub role: Role,
    /// Analyst: the tenants in their set, ascending. Customer: their one tenant.
    /// Admin: empty (admins reach every tenant).
    #[serde(serialize_with = "wire::tenants")]
    pub tenants: Vec<TenantId>,
    pub disabled: bool,
    #[serde(serialize_with = "wire::time")]
    pub created_at: Timestamp,
}

const COLUMNS: &str =
    "id, login, display_name, role, customer_tenant_id, disabled_at_ns, created_at_ns";

type RawUser = (i64, String, String, String, Option<i64>, Option<i64>, i64);

fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawUser> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn from_raw(conn: &Connection, raw: RawUser) -> Result<User, StoreError> {
    let (id, login, display_name, role, customer_tenant, disabled_at, created) = raw;
    let role: Role = role
        .parse()
        .map_err(|_| StoreError::Corrupt("user with an unknown role"))?;
    let tenants = match (role, customer_tenant) {
        (Role::Customer, Some(t)) => vec![ids::tenant_from_sql(t)?],
        (Role::Customer, None) => return Err(StoreError::Corrupt("customer without a tenant")),
        (Role::Analyst, _) => {
            let mut stmt = conn.prepare_cached(
                "SELECT tenant_id FROM analyst_tenants WHERE user_id = ?1 ORDER BY tenant_id",
            )?;
            let rows = stmt.query_map([id], |r| r.get::<_, i64>(0))?;
            let mut tenants = Vec::new();
            for t in rows {
                tenants.push(ids::tenant_from_sql(t?)?);
            }
            tenants
        }
        (Role::Admin, _) => Vec::new(),
    };
    Ok(User {
        id: UserId(id),
        login,
        display_name,
        role,
        tenants,
        disabled: disabled_at.is_some(),
        created_at: Timestamp(created),
    })
}

pub(crate) fn load(conn: &Connection, id: UserId) -> Result<Option<User>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = ?1");
    let found = conn.query_row(&sql, [id.0], raw).optional()?;
    found.map(|r| from_raw(conn, r)).transpose()
}

/// The password policy: long enough, bounded, not the login itself.
fn check_password(password: &Password, login: &str) -> Result<(), StoreError> {
    let text = password.expose();
    if text.chars().count() < MIN_PASSWORD_CHARS {
        return Err(StoreError::invalid(
            "password",
            "must be at least 12 characters",
        ));
    }
    if text.len() > MAX_PASSWORD_BYTES {
        return Err(StoreError::invalid(
            "password",
            "must be at most 1024 bytes",
        ));
    }
    if text.eq_ignore_ascii_case(login) {
        return Err(StoreError::invalid("password", "must not be the login"));
    }
    Ok(())
}

/// The tenants a role takes, checked for shape (existence is checked in the
/// transaction): sorted and without duplicates.
fn check_tenants(role: Role, tenants: &[TenantId]) -> Result<Vec<TenantId>, StoreError> {
    let mut set = tenants.to_vec();
    set.sort_unstable();
    set.dedup();
    match role {
        Role::Admin if !set.is_empty() => Err(StoreError::invalid(
            "tenants",
            "an admin reaches every tenant and takes none",
        )),
        Role::Customer if set.len() != 1 => Err(StoreError::invalid(
            "tenants",
            "a customer belongs to exactly one tenant",
        )),
        _ => Ok(set),
    }
}

impl Store {
    /// Creates a user. The password is hashed with argon2id (outside the lock) and
    /// only the hash is stored.
    pub fn create_user(&self, new: &NewUser, origin: &Origin) -> Result<User, StoreError> {
        let login = validate::login(&new.login)?;
        validate::name("display_name", &new.display_name)?;
        let tenants = check_tenants(new.role, &new.tenants)?;
        check_password(&new.password, &login)?;
        audit::check_origin(origin)?;
        let hash = login::hash_password(&new.password)?;

        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for &t in &tenants {
            tenant::require(&tx, "tenants", t)?;
        }
        let customer_tenant = match new.role {
            Role::Customer => tenants.first().map(|&t| ids::tenant_to_sql(t)),
            _ => None,
        };
        let inserted = tx.execute(
            "INSERT INTO users (login, display_name, role, customer_tenant_id, password_hash, created_at_ns)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            (
                &login,
                &new.display_name,
                new.role.as_str(),
                customer_tenant,
                &hash,
                origin.at.as_nanos(),
            ),
        );
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Duplicate {
                    field: "login",
                    value: login,
                });
            }
            other => other?,
        };
        let id = UserId(tx.last_insert_rowid());
        if new.role == Role::Analyst {
            let mut stmt = tx.prepare_cached(
                "INSERT INTO analyst_tenants (user_id, tenant_id) VALUES (?1, ?2)",
            )?;
            for &t in &tenants {
                stmt.execute((id.0, ids::tenant_to_sql(t)))?;
            }
        }
        let tenant_list: Vec<String> = tenants.iter().map(|t| t.0.to_string()).collect();
        audit::record(
            &tx,
            origin,
            &Change {
                action: AuditAction::UserCreate,
                object: format!("user:{id}"),
                tenant: (new.role == Role::Customer)
                    .then(|| tenants.first().copied())
                    .flatten(),
                detail: Some(&format!(
                    "login {login:?}, role {}, tenants [{}]",
                    new.role,
                    tenant_list.join(", ")
                )),
            },
        )?;
        let user = load(&tx, id)?.ok_or(StoreError::Corrupt("user vanished"))?;
        tx.commit()?;
        Ok(user)
    }

    /// All users, by id.
    pub fn users(&self) -> Result<Vec<User>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM users ORDER BY id"))?;
        let rows: Vec<RawUser> = stmt.query_map([], raw)?.collect::<Result<_, _>>()?;
        rows.into_iter().map(|r| from_raw(&conn, r)).collect()
    }

    /// One user by id.
    pub fn user(&self, id: UserId) -> Result<User, StoreError> {
        load(&self.reader(), id)?.ok_or_else(|| StoreError::not_found("user", id))
    }

    /// One user by login (ASCII case ignored).
    pub fn user_by_login(&self, login: &str) -> Result<User, StoreError> {
        let normal = validate::login(login)?;
        let conn = self.conn();
        let sql = format!("SELECT {COLUMNS} FROM users WHERE login = ?1");
        let found = conn.query_row(&sql, [&normal], raw).optional()?;
        found
            .map(|r| from_raw(&conn, r))
            .transpose()?
            .ok_or_else(|| StoreError::not_found("login", normal))
    }

    /// Disables a user: they can no longer log in. Disabling a disabled user changes
    /// nothing; the last enabled admin cannot be disabled (nobody could administer
    /// the instance any more).
    pub fn disable_user(&self, id: UserId, origin: &Origin) -> Result<User, StoreError> {
        audit::check_origin(origin)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let user = load(&tx, id)?.ok_or_else(|| StoreError::not_found("user", id))?;
        if user.disabled {
            return Ok(user);
        }
        if user.role == Role::Admin {
            let admins: i64 = tx.query_row(
                "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at_ns IS NULL",
                [],
                |r| r.get(0),
            )?;
            if admins <= 1 {
                return Err(StoreError::invalid(
                    "user",
                    "the last enabled admin cannot be disabled",
                ));
            }
        }
        tx.execute(
            "UPDATE users SET disabled_at_ns = ?1 WHERE id = ?2",
            (origin.at.as_nanos(), id.0),
        )?;
        audit::record(
            &tx,
            origin,
            &Change {
                action: AuditAction::UserDisable,
                object: format!("user:{id}"),
                tenant: (user.role == Role::Customer)
                    .then(|| user.tenants.first().copied())
                    .flatten(),
                detail: Some(&format!("login {:?}", user.login)),
            },
        )?;
        let user = load(&tx, id)?.ok_or(StoreError::Corrupt("user vanished"))?;
        tx.commit()?;
        Ok(user)
    }
}
