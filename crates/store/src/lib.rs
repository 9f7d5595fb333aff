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
//!
//! The live pipeline's results live here as well. [`Store::commit_batch`] writes one
//! pipeline step in one transaction: the records it processed (with event time, host,
//! user or decode error), the alerts and incidents it created or changed, suppression
//! hits, and which records matched which indicators ([`Store::indicator_hit_states`]
//! tells a retro-hunt what was already taken). Analysts list, read and work alerts ([`Store::alerts`],
//! [`Store::update_alert`]) and incidents ([`Store::incidents`],
//! [`Store::update_incident`]), keep suppressions ([`Store::create_suppression`]) and
//! per-tenant rule switches ([`Store::set_rule_enabled`]), and search the stored
//! records ([`Store::search_events`], bounded per call). [`Store::enforce_retention`]
//! deletes what is older than each tenant's retention, never unprocessed records or
//! work in progress. Threat intelligence is kept per tenant as plain rows
//! ([`Store::upsert_indicators`], [`Store::indicator_rows_added_after`] for TAXII
//! paging, [`Store::bump_sightings`]); the store knows nothing of its model.
//! Every query takes the tenant: another tenant's ids are simply
//! not found. Pipeline writes are data and are not audited, except when the pipeline
//! reopens an alert or incident an analyst closed (the attack went on).

mod access;
mod alerts;
mod assets;
mod audit;
mod codec;
mod error;
mod events;
mod ids;
mod incidents;
mod ingest;
mod intel;
mod login;
mod pipeline;
mod retention;
mod rule_settings;
mod schema;
mod store;
mod suppressions;
mod tenant;
mod token;
mod user;
mod validate;

pub use access::{Access, Principal};
pub use alerts::{
    AlertChange, AlertPage, AlertQuery, AlertSort, AlertStatus, DEFAULT_PAGE_LIMIT, MAX_COUNT,
    MAX_FILTER_CHARS, MAX_PAGE_LIMIT, MAX_REASON_CHARS, Page, StoredAlert, StoredAlertSummary,
};
pub use assets::{AssetInventory, InventoryFormat, MAX_INVENTORY_BYTES};
pub use audit::{Actor, AuditAction, AuditEntry, AuditPage, AuditQuery, Origin};
pub use codec::TRAIN_AFTER as COMPRESS_AFTER_RECORDS;
pub use error::{StoreError, TokenRejection};
pub use events::{
    EventPage, EventQuery, MAX_CONTAINS, MAX_EVENT_LIMIT, MAX_SCAN_BYTES, MAX_SCAN_ROWS,
    StoredEvent,
};
pub use ids::{AuditId, TokenId, UserId};
pub use incidents::{
    IncidentChange, IncidentPage, IncidentQuery, IncidentSort, IncidentStatus, MAX_INCIDENT_ALERTS,
    StoredIncident, StoredIncidentSummary,
};
pub use ingest::{
    AppendReceipt, IngestRecord, MAX_FORMAT_HINT_CHARS, MAX_PENDING_LIMIT, MAX_RECORD_BYTES,
    RecordStorage,
};
pub use intel::{
    AddedCursor, AddedPage, AddedQuery, ContextRow, IndicatorPage, IndicatorQuery, IndicatorRow,
    IntelCounts, IntelImport, IntelImportReceipt, MAX_ATTRIBUTIONS_BYTES,
    MAX_INDICATOR_VALUE_BYTES, MAX_INTEL_PAGE, MAX_KIND_CHARS, MAX_SCAN_BATCH,
    MAX_STIX_OBJECT_BYTES, MAX_TLP_RANK, ScanRecord, Sighting, StoredIndicator, StoredObject,
};
pub use login::LoginPolicy;
pub use pipeline::{
    AlertRow, BatchCommit, BatchReceipt, HitState, IncidentRow, IndicatorHitRow, LEVELS,
    MAX_DECODE_ERROR_CHARS, MAX_ENTITY_CHARS, MAX_LABEL_CHARS, ProcessedRecord, level_rank,
};
pub use retention::{RetentionReport, TenantPurge};
pub use rule_settings::MAX_RULE_ID_CHARS;
pub use schema::SCHEMA_VERSION;
pub use store::Store;
pub use suppressions::{MAX_EXPR_CHARS, NewSuppression, Suppression};
pub use tenant::{DEFAULT_RETENTION_DAYS, MAX_RETENTION_DAYS, Tenant};
pub use token::{ApiToken, NewToken, TOKEN_PREFIX, TokenScope, TokenSecret};
pub use user::{MIN_PASSWORD_CHARS, NewUser, Password, Role, User};
pub use watchfloor_event::{TenantId, Timestamp};
