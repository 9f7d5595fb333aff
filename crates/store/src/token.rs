//! API tokens: a secret that acts for one tenant with one role.
//!
//! A secret is `wf_` followed by 32 random bytes from the operating system in lower-case
//! hex (67 characters). It is handed out once, by [`Store::create_token`]; the database
//! keeps only its SHA-256, so a copy of the database does not give working tokens.
//! Secrets are random enough that a plain hash (no salt, no stretching) is safe, and it
//! lets a token be found by an indexed lookup of its hash.

use std::fmt::{self, Write as _};

use rusqlite::{OptionalExtension, TransactionBehavior};
use serde::Serialize;
use sha2::{Digest, Sha256};
use watchfloor_event::{TenantId, Timestamp};

use crate::audit::{self, AuditAction, Change, Origin};
use crate::ids::{self, TokenId, wire};
use crate::{Role, Store, StoreError, TokenRejection, tenant, validate};

/// How every token secret starts.
pub const TOKEN_PREFIX: &str = "wf_";
const SECRET_BYTES: usize = 32;
const SECRET_LEN: usize = TOKEN_PREFIX.len() + 2 * SECRET_BYTES;

/// A token's secret, shown once at creation. `Debug` prints `<redacted>`; the text is
/// reached only through [`TokenSecret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

impl TokenSecret {
    /// The secret text, to show the user once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret(<redacted>)")
    }
}

/// A token as stored: everything but the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: TokenId,
    #[serde(serialize_with = "wire::tenant")]
    pub tenant: TenantId,
    /// `Analyst` or `Customer`; tokens never carry `Admin`.
    pub role: Role,
    pub name: String,
    #[serde(serialize_with = "wire::time")]
    pub created_at: Timestamp,
    #[serde(serialize_with = "wire::opt_time")]
    pub expires_at: Option<Timestamp>,
    #[serde(serialize_with = "wire::opt_time")]
    pub revoked_at: Option<Timestamp>,
}

/// A token just created, with its secret.
#[derive(Clone, Debug)]
pub struct NewToken {
    pub token: ApiToken,
    pub secret: TokenSecret,
}

/// What an accepted token may act as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct TokenScope {
    pub token_id: TokenId,
    #[serde(serialize_with = "wire::tenant")]
    pub tenant: TenantId,
    pub role: Role,
}

/// `n` random bytes from the operating system, as lower-case hex.
pub(crate) fn random_hex(n: usize) -> Result<String, StoreError> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|_| StoreError::Random)?;
    let mut text = String::with_capacity(2 * n);
    for b in bytes {
        let _ = write!(text, "{b:02x}");
    }
    Ok(text)
}

fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

const COLUMNS: &str = "id, tenant_id, role, name, created_at_ns, expires_at_ns, revoked_at_ns";

type RawToken = (i64, i64, String, String, i64, Option<i64>, Option<i64>);

fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawToken> {
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

fn from_raw(raw: RawToken) -> Result<ApiToken, StoreError> {
    let (id, tenant, role, name, created, expires, revoked) = raw;
    Ok(ApiToken {
        id: TokenId(id),
        tenant: ids::tenant_from_sql(tenant)?,
        role: role
            .parse()
            .map_err(|_| StoreError::Corrupt("token with an unknown role"))?,
        name,
        created_at: Timestamp(created),
        expires_at: expires.map(Timestamp),
        revoked_at: revoked.map(Timestamp),
    })
}

fn load(conn: &rusqlite::Connection, id: TokenId) -> Result<Option<ApiToken>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM api_tokens WHERE id = ?1");
    conn.query_row(&sql, [id.0], raw)
        .optional()?
        .map(from_raw)
        .transpose()
}

impl Store {
    /// Creates a token for `tenant` acting as `role` (analyst or customer), valid until
    /// `expires_at` if given (which must be after `origin.at`). The secret is in the
    /// result and nowhere else.
    pub fn create_token(
        &self,
        tenant: TenantId,
        role: Role,
        name: &str,
        expires_at: Option<Timestamp>,
        origin: &Origin,
    ) -> Result<NewToken, StoreError> {
        validate::name("name", name)?;
        if role == Role::Admin {
            return Err(StoreError::invalid(
                "role",
                "a token acts for one tenant: analyst or customer",
            ));
        }
        if expires_at.is_some_and(|t| t <= origin.at) {
            return Err(StoreError::invalid("expires_at", "must be in the future"));
        }
        audit::check_origin(origin)?;
        let secret = format!("{TOKEN_PREFIX}{}", random_hex(SECRET_BYTES)?);
        let hash = secret_hash(&secret);

        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tenant::require(&tx, "tenant", tenant)?;
        tx.execute(
            "INSERT INTO api_tokens (tenant_id, role, name, secret_sha256, created_at_ns, expires_at_ns)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            (
                ids::tenant_to_sql(tenant),
                role.as_str(),
                name,
                &hash[..],
                origin.at.as_nanos(),
                expires_at.map(Timestamp::as_nanos),
            ),
        )?;
        let id = TokenId(tx.last_insert_rowid());
        audit::record(
            &tx,
            origin,
            &Change {
                action: AuditAction::TokenCreate,
                object: format!("token:{id}"),
                tenant: Some(tenant),
                detail: Some(&format!("name {name:?}, role {role}")),
            },
        )?;
        let token = load(&tx, id)?.ok_or(StoreError::Corrupt("token vanished"))?;
        tx.commit()?;
        Ok(NewToken {
            token,
            secret: TokenSecret(secret),
        })
    }

    /// Checks a presented secret at time `now`. Anything that is not a live token's
    /// secret — malformed text included — is rejected, never an error of another kind
    /// (except a failing database).
    pub fn authenticate_token(
        &self,
        secret: &str,
        now: Timestamp,
    ) -> Result<TokenScope, StoreError> {
        let reject = |why| Err(StoreError::TokenRejected(why));
        if secret.len() != SECRET_LEN || !secret.starts_with(TOKEN_PREFIX) {
            return reject(TokenRejection::Unknown);
        }
        let hash = secret_hash(secret);
        let conn = self.reader();
        let sql = format!("SELECT {COLUMNS} FROM api_tokens WHERE secret_sha256 = ?1");
        let Some(raw) = conn.query_row(&sql, [&hash[..]], raw).optional()? else {
            return reject(TokenRejection::Unknown);
        };
        let token = from_raw(raw)?;
        if token.revoked_at.is_some() {
            return reject(TokenRejection::Revoked);
        }
        if token.expires_at.is_some_and(|t| t <= now) {
            return reject(TokenRejection::Expired);
        }
        Ok(TokenScope {
            token_id: token.id,
            tenant: token.tenant,
            role: token.role,
        })
    }

    /// Revokes a token; revoking a revoked token changes nothing.
    pub fn revoke_token(&self, id: TokenId, origin: &Origin) -> Result<ApiToken, StoreError> {
        audit::check_origin(origin)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let token = load(&tx, id)?.ok_or_else(|| StoreError::not_found("token", id))?;
        if token.revoked_at.is_some() {
            return Ok(token);
        }
        tx.execute(
            "UPDATE api_tokens SET revoked_at_ns = ?1 WHERE id = ?2",
            (origin.at.as_nanos(), id.0),
        )?;
        audit::record(
            &tx,
            origin,
            &Change {
                action: AuditAction::TokenRevoke,
                object: format!("token:{id}"),
                tenant: Some(token.tenant),
                detail: Some(&format!("name {:?}", token.name)),
            },
        )?;
        let token = load(&tx, id)?.ok_or(StoreError::Corrupt("token vanished"))?;
        tx.commit()?;
        Ok(token)
    }

    /// The tokens of one tenant, or of all, by id; never their secrets.
    pub fn tokens(&self, tenant: Option<TenantId>) -> Result<Vec<ApiToken>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE ?1 IS NULL OR tenant_id = ?1 ORDER BY id"
        ))?;
        let rows = stmt.query_map([tenant.map(ids::tenant_to_sql)], raw)?;
        rows.map(|r| from_raw(r?)).collect()
    }
}
