//! The store's one error type.
//!
//! Messages name the field at fault and say why, but never repeat a value that could be
//! a secret: a rejected password or token is described, not shown.

use std::fmt;

use watchfloor_event::Timestamp;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An input failed validation (`field` names it; the value is not repeated).
    #[error("invalid {field}: {reason}")]
    Invalid {
        field: &'static str,
        reason: &'static str,
    },
    /// A unique name (tenant name, login) is already in use.
    #[error("{field} `{value}` is already taken")]
    Duplicate { field: &'static str, value: String },
    /// The thing an input refers to does not exist.
    #[error("{field}: `{value}` does not exist")]
    NotFound { field: &'static str, value: String },
    /// Unknown login, wrong password or disabled user: deliberately one error, so a
    /// caller cannot tell which.
    #[error("login failed: unknown login or wrong password")]
    LoginFailed,
    /// Too many failed attempts for this login; counted per login name whether or not a
    /// user has it, so this says nothing about which logins exist either.
    #[error("login locked after too many failed attempts; try again later")]
    LoginLocked { until: Timestamp },
    /// An API token was not accepted.
    #[error("API token rejected: {0}")]
    TokenRejected(TokenRejection),
    /// The database was written by a newer watchfloor than this one.
    #[error(
        "the database schema is version {found}, newer than the {known} this program knows; \
         use a newer watchfloor"
    )]
    SchemaTooNew { found: i64, known: i64 },
    /// SQLite failed (IO, corruption, busy beyond the timeout, a violated constraint).
    #[error("database: {0}")]
    Database(#[from] rusqlite::Error),
    /// Hashing or parsing a password hash failed (never a wrong password: that is
    /// [`StoreError::LoginFailed`]).
    #[error("password hashing: {0}")]
    PasswordHash(argon2::password_hash::Error),
    /// The operating system's random source failed.
    #[error("the operating system's random source failed")]
    Random,
    /// A stored value is not what this program wrote (an out-of-range id, an unknown
    /// role name).
    #[error("stored data is inconsistent: {0}")]
    Corrupt(&'static str),
}

/// Why an API token was refused. The HTTP layer may well answer all three alike; the
/// store keeps them apart for the audit trail and for the token's owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenRejection {
    /// No token has this secret (or the text is not a token at all).
    Unknown,
    /// The token's expiry time has passed.
    Expired,
    /// The token was revoked.
    Revoked,
}

impl fmt::Display for TokenRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenRejection::Unknown => "unknown token",
            TokenRejection::Expired => "token expired",
            TokenRejection::Revoked => "token revoked",
        })
    }
}

impl StoreError {
    pub(crate) fn invalid(field: &'static str, reason: &'static str) -> Self {
        StoreError::Invalid { field, reason }
    }

    pub(crate) fn not_found(field: &'static str, value: impl fmt::Display) -> Self {
        StoreError::NotFound {
            field,
            value: value.to_string(),
        }
    }
}

/// Whether SQLite refused a row because a UNIQUE or PRIMARY KEY constraint holds.
pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}
