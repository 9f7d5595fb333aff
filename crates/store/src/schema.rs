//! The database schema as an ordered list of migrations, and opening a connection with
//! the settings the store relies on.
//!
//! Migration `n` (1-based) is `MIGRATIONS[n - 1]`; the `migrations` table records each
//! applied version and when. Opening applies the missing ones in one IMMEDIATE
//! transaction (so two processes opening the same file at once cannot both apply them),
//! and refuses a database whose highest version is beyond the list. Migrations are only
//! ever appended; a shipped migration is never edited.

use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};
use watchfloor_event::Timestamp;

use crate::StoreError;

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// How long a writer waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

const MIGRATIONS: &[&str] = &[
    // 1: tenants, users, analysts' tenants, API tokens, login failures, audit log.
    r#"
    CREATE TABLE tenants (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        name            TEXT NOT NULL UNIQUE COLLATE NOCASE,
        retention_days  INTEGER NOT NULL CHECK (retention_days BETWEEN 1 AND 36500),
        created_at_ns   INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE users (
        id                  INTEGER PRIMARY KEY AUTOINCREMENT,
        login               TEXT NOT NULL UNIQUE,
        display_name        TEXT NOT NULL,
        role                TEXT NOT NULL CHECK (role IN ('admin', 'analyst', 'customer')),
        customer_tenant_id  INTEGER REFERENCES tenants(id),
        password_hash       TEXT NOT NULL,
        disabled_at_ns      INTEGER,
        created_at_ns       INTEGER NOT NULL,
        CHECK ((role = 'customer') = (customer_tenant_id IS NOT NULL))
    ) STRICT;

    CREATE TABLE analyst_tenants (
        user_id    INTEGER NOT NULL REFERENCES users(id),
        tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
        PRIMARY KEY (user_id, tenant_id)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE api_tokens (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
        role           TEXT NOT NULL CHECK (role IN ('analyst', 'customer')),
        name           TEXT NOT NULL,
        secret_sha256  BLOB NOT NULL UNIQUE CHECK (length(secret_sha256) = 32),
        created_at_ns  INTEGER NOT NULL,
        expires_at_ns  INTEGER,
        revoked_at_ns  INTEGER
    ) STRICT;
    CREATE INDEX api_tokens_by_tenant ON api_tokens(tenant_id);

    CREATE TABLE login_failures (
        login            TEXT PRIMARY KEY,
        failures         INTEGER NOT NULL,
        window_start_ns  INTEGER NOT NULL,
        locked_until_ns  INTEGER
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE audit_log (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        at_ns       INTEGER NOT NULL,
        actor_kind  TEXT NOT NULL CHECK (actor_kind IN ('system', 'user', 'token')),
        actor_id    INTEGER,
        action      TEXT NOT NULL,
        object      TEXT NOT NULL,
        tenant_id   INTEGER,
        source      TEXT NOT NULL,
        detail      TEXT
    ) STRICT;
    CREATE INDEX audit_log_by_tenant ON audit_log(tenant_id, id);
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    "#,
    // 2: raw records received over HTTP, one row per record, waiting for the pipeline.
    // AUTOINCREMENT: ids never come back after old rows are deleted, so the pipeline's
    // `after_id` cursor cannot skip or repeat a record.
    r#"
    CREATE TABLE ingest (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id       INTEGER NOT NULL REFERENCES tenants(id),
        received_at_ns  INTEGER NOT NULL,
        source          TEXT NOT NULL,
        format_hint     TEXT,
        line            BLOB NOT NULL,
        processed       INTEGER NOT NULL DEFAULT 0 CHECK (processed IN (0, 1))
    ) STRICT;
    CREATE INDEX ingest_by_tenant ON ingest(tenant_id, id);
    "#,
    // 3: the live pipeline's results and the analysts' work on them. Processed records
    // get their event time, host, user and decode error; alerts and incidents keep the
    // analysis engine's document beside the columns lists filter and sort on;
    // suppressions and per-tenant rule switches are configuration. An event without an
    // event time counts at its receipt time, for search and retention alike: the time
    // index is on that expression. `pipeline_ids` remembers the highest alert and
    // incident id each tenant has had, so ids are never handed out twice after
    // retention deleted the newest rows. `version` columns grow by one with every
    // change, so the pipeline can poll for configuration changes with one lookup.
    r#"
    ALTER TABLE ingest ADD COLUMN event_time_ns INTEGER;
    ALTER TABLE ingest ADD COLUMN host TEXT;
    ALTER TABLE ingest ADD COLUMN user_name TEXT;
    ALTER TABLE ingest ADD COLUMN decode_error TEXT;
    CREATE INDEX ingest_by_tenant_time
        ON ingest(tenant_id, COALESCE(event_time_ns, received_at_ns));
    CREATE INDEX ingest_pending ON ingest(tenant_id, id) WHERE processed = 0;

    CREATE TABLE alerts (
        tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
        id             INTEGER NOT NULL CHECK (id > 0),
        rule_id        TEXT NOT NULL,
        title          TEXT NOT NULL,
        level          TEXT NOT NULL,
        level_rank     INTEGER NOT NULL CHECK (level_rank BETWEEN 0 AND 4),
        score          REAL NOT NULL,
        host           TEXT,
        user_name      TEXT,
        count          INTEGER NOT NULL CHECK (count > 0),
        first_seen_ns  INTEGER NOT NULL,
        last_seen_ns   INTEGER NOT NULL,
        incident_id    INTEGER,
        status         TEXT NOT NULL DEFAULT 'open'
                       CHECK (status IN ('open', 'acknowledged', 'closed')),
        assignee       INTEGER REFERENCES users(id),
        close_reason   TEXT,
        updated_at_ns  INTEGER NOT NULL,
        doc            TEXT NOT NULL,
        PRIMARY KEY (tenant_id, id)
    ) STRICT;
    CREATE INDEX alerts_by_last_seen ON alerts(tenant_id, last_seen_ns, id);
    CREATE INDEX alerts_by_incident ON alerts(tenant_id, incident_id);

    CREATE TABLE incidents (
        tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
        id             INTEGER NOT NULL CHECK (id > 0),
        title          TEXT NOT NULL,
        severity       TEXT NOT NULL,
        severity_rank  INTEGER NOT NULL CHECK (severity_rank BETWEEN 0 AND 4),
        score          REAL NOT NULL,
        entity         TEXT NOT NULL,
        stage_chain    TEXT NOT NULL,
        first_seen_ns  INTEGER NOT NULL,
        last_seen_ns   INTEGER NOT NULL,
        alert_count    INTEGER NOT NULL CHECK (alert_count >= 0),
        detections     INTEGER NOT NULL CHECK (detections >= 0),
        status         TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
        close_reason   TEXT,
        assignee       INTEGER REFERENCES users(id),
        updated_at_ns  INTEGER NOT NULL,
        doc            TEXT NOT NULL,
        PRIMARY KEY (tenant_id, id)
    ) STRICT;
    CREATE INDEX incidents_by_last_seen ON incidents(tenant_id, last_seen_ns, id);

    CREATE TABLE pipeline_ids (
        tenant_id        INTEGER PRIMARY KEY REFERENCES tenants(id),
        max_alert_id     INTEGER NOT NULL,
        max_incident_id  INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE suppressions (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
        expr           TEXT NOT NULL,
        owner          TEXT NOT NULL,
        reason         TEXT NOT NULL,
        created_at_ns  INTEGER NOT NULL,
        expires_at_ns  INTEGER,
        hits           INTEGER NOT NULL DEFAULT 0 CHECK (hits >= 0),
        from_alert     INTEGER,
        deleted_at_ns  INTEGER,
        version        INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX suppressions_by_tenant ON suppressions(tenant_id, id);
    CREATE INDEX suppressions_by_version ON suppressions(version);

    CREATE TABLE rule_settings (
        tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
        rule_id        TEXT NOT NULL,
        enabled        INTEGER NOT NULL CHECK (enabled IN (0, 1)),
        updated_at_ns  INTEGER NOT NULL,
        version        INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, rule_id)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX rule_settings_by_version ON rule_settings(version);
    "#,
    // 4: retention counts from receipt: find a tenant's oldest received records fast.
    r#"
    CREATE INDEX ingest_by_tenant_received ON ingest(tenant_id, received_at_ns);
    "#,
    // 5: threat intelligence per tenant. An indicator is its kind and normalised value,
    // once per tenant, with every source's attribution as a JSON array (merged by the
    // caller); `tlp_max` names its strictest TLP, `tlp_open_rank` ranks its most open
    // one (0 clear … 4 red) so a caller allowed up to some TLP is served only the
    // indicators it may see. `added_at_ns` moves whenever an indicator changes, and
    // (tenant, added_at, id) is the TAXII paging order. STIX context objects (malware,
    // actors, relationships…) are kept whole.
    r#"
    CREATE TABLE intel_indicators (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
        kind           TEXT NOT NULL,
        value          TEXT NOT NULL,
        attributions   TEXT NOT NULL,
        tlp_max        TEXT NOT NULL,
        tlp_open_rank  INTEGER NOT NULL CHECK (tlp_open_rank BETWEEN 0 AND 4),
        first_seen_ns  INTEGER NOT NULL,
        last_seen_ns   INTEGER NOT NULL,
        sightings      INTEGER NOT NULL DEFAULT 0 CHECK (sightings >= 0),
        added_at_ns    INTEGER NOT NULL,
        UNIQUE (tenant_id, kind, value)
    ) STRICT;
    CREATE INDEX intel_indicators_by_added ON intel_indicators(tenant_id, added_at_ns, id);

    CREATE TABLE intel_objects (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id    INTEGER NOT NULL REFERENCES tenants(id),
        stix_id      TEXT NOT NULL,
        type         TEXT NOT NULL,
        json         TEXT NOT NULL,
        added_at_ns  INTEGER NOT NULL,
        UNIQUE (tenant_id, stix_id)
    ) STRICT;
    CREATE INDEX intel_objects_by_added ON intel_objects(tenant_id, added_at_ns, id);
    "#,
    // 6: which stored record matched which indicator and became a detection, live or
    // by a retro-hunt, so a retro-hunt never takes the same pair through the analysis
    // engine twice. A pair goes with its record (retention deletes both).
    r#"
    CREATE TABLE intel_hits (
        record_id     INTEGER NOT NULL REFERENCES ingest(id) ON DELETE CASCADE,
        indicator_id  INTEGER NOT NULL,
        tenant_id     INTEGER NOT NULL REFERENCES tenants(id),
        PRIMARY KEY (record_id, indicator_id)
    ) STRICT, WITHOUT ROWID;
    "#,
    // 7: raw records compressed at rest (see `codec`): each row's `codec` is 0 for a
    // record stored as received, else the `line_dicts` id of the zstd dictionary it was
    // compressed with. Rows written before stay as they are.
    r#"
    ALTER TABLE ingest ADD COLUMN codec INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE line_dicts (
        id             INTEGER PRIMARY KEY,
        tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
        created_at_ns  INTEGER NOT NULL,
        dict           BLOB NOT NULL
    ) STRICT;
    CREATE INDEX line_dicts_by_tenant ON line_dicts(tenant_id, id);
    "#,
    // 8: each tenant's asset inventory, the document as given (see `assets`).
    r#"
    CREATE TABLE asset_inventories (
        tenant_id      INTEGER PRIMARY KEY REFERENCES tenants(id),
        format         TEXT NOT NULL CHECK (format IN ('csv', 'json')),
        body           TEXT NOT NULL,
        assets         INTEGER NOT NULL,
        updated_at_ns  INTEGER NOT NULL
    ) STRICT;
    "#,
];

/// Sets the per-connection pragmas. `file` is false for in-memory databases, which
/// have no WAL.
///
/// `synchronous=FULL`: in WAL mode NORMAL already survives a process crash, but may
/// lose the last commits on power loss or an OS crash. The writes here are rare and
/// small (a user, a token, an audit record), so the extra fsync per commit costs
/// nothing noticeable and an acknowledged change — and its audit record — survives
/// power loss too.
pub(crate) fn configure(conn: &Connection, file: bool) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    if file {
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt("the database refused WAL mode"));
        }
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.pragma_update(None, "trusted_schema", false)?;
    let fk: bool = conn.pragma_query_value(None, "foreign_keys", |row| row.get(0))?;
    if !fk {
        return Err(StoreError::Corrupt(
            "SQLite refused to enforce foreign keys",
        ));
    }
    Ok(())
}

/// Settings of a read-only connection beside the writer: the busy timeout (a reader
/// can meet a lock only briefly, while the WAL index is rebuilt), no schema-defined
/// code, and a check that the file is in WAL mode (otherwise readers would wait for
/// the writer).
pub(crate) fn configure_reader(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "trusted_schema", false)?;
    let mode: String = conn.pragma_query_value(None, "journal_mode", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Corrupt("the database is not in WAL mode"));
    }
    Ok(())
}

/// Applies the migrations the database lacks. Returns the versions applied (empty when
/// the database was already current).
pub(crate) fn migrate(conn: &mut Connection, now: Timestamp) -> Result<Vec<i64>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS migrations (
            version        INTEGER PRIMARY KEY,
            applied_at_ns  INTEGER NOT NULL
        ) STRICT;",
    )?;
    let current: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM migrations",
        [],
        |row| row.get(0),
    )?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    let done =
        usize::try_from(current).map_err(|_| StoreError::Corrupt("negative migration version"))?;
    let mut applied = Vec::new();
    for (version, sql) in (1_i64..).zip(MIGRATIONS).skip(done) {
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO migrations (version, applied_at_ns) VALUES (?1, ?2)",
            (version, now.as_nanos()),
        )?;
        applied.push(version);
    }
    tx.commit()?;
    Ok(applied)
}
