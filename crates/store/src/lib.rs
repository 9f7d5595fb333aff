//! The watchfloor store: who may do what, and the record of what they did.
//!
//! This crate owns the server's identity and tenancy data — tenants, users and their
//! roles, API tokens, login lockouts — and the audit log of every change made to them.
//! Everything lives in one SQLite file (WAL mode) that [`Store::open`] creates and
//! migrates; [`Store::open_in_memory`] gives a throwaway store for tests.
//!
//! The server holds one [`Store`] behind an `Arc` and calls it from any thread: the
//! connection sits behind a mutex, and the slow part of a login (argon2id) runs outside
//! it. Every change takes an [`Origin`] (who, from where, when) and writes its audit
//! record in the same transaction as the change itself, so there is no change without
//! its record. Time is always passed in, never read from a clock, so lockouts and
//! expiries are testable.
//!
//! Secrets never leave the caller in readable form: passwords are kept only as argon2id
//! hashes, API tokens only as SHA-256 hashes; [`Password`] and [`TokenSecret`] print as
//! `<redacted>` in `Debug`, and no error repeats a rejected value that could be a secret.
//!
//! [`Access`] is the one place that decides whether a [`Principal`] (a signed-in user or
//! an API token) may read or write a tenant's data.
//!
//! Raw records received over HTTP are kept too ([`Store::append_records`]), one row
//! each, until the pipeline reads them ([`Store::pending_records`]).

mod access;
mod audit;
mod error;
mod ids;
mod ingest;
mod login;
mod schema;
mod store;
mod tenant;
mod token;
mod user;
mod validate;

pub use access::{Access, Principal};
pub use audit::{Actor, AuditAction, AuditEntry, AuditPage, AuditQuery, Origin};
pub use error::{StoreError, TokenRejection};
pub use ids::{AuditId, TokenId, UserId};
pub use ingest::{
    AppendReceipt, IngestRecord, MAX_FORMAT_HINT_CHARS, MAX_PENDING_LIMIT, MAX_RECORD_BYTES,
};
pub use login::LoginPolicy;
pub use schema::SCHEMA_VERSION;
pub use store::Store;
pub use tenant::{DEFAULT_RETENTION_DAYS, MAX_RETENTION_DAYS, Tenant};
pub use token::{ApiToken, NewToken, TOKEN_PREFIX, TokenScope, TokenSecret};
pub use user::{MIN_PASSWORD_CHARS, NewUser, Password, Role, User};
pub use watchfloor_event::{TenantId, Timestamp};
