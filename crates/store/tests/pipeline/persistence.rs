//! A reopened file keeps everything, and a version-2 database with rows migrates.

use watchfloor_store::{
    AlertChange, AlertStatus, BatchCommit, EventQuery, IncidentChange, IncidentStatus,
    NewSuppression, Role, SCHEMA_VERSION, Store, TenantId,
};

use crate::{add_tenant, add_user, alert, append, at, by, commit, incident, processed, temp_dir};

#[test]
fn a_reopened_store_keeps_the_pipeline_data_and_the_work() {
    let dir = temp_dir("reopen");
    let path = dir.join("watchfloor.db");
    let (acme, ana, records, suppression) = {
        let store = Store::open(&path).expect("open");
        let acme = add_tenant(&store, "acme");
        let ana = add_user(&store, "ana", Role::Analyst, &[acme]);
        let records = append(&store, acme, 1, &["one", "two"]);
        let mut a = alert(1, "high", 3, 1, 2);
        a.incident_id = Some(1);
        commit(
            &store,
            acme,
            BatchCommit {
                records: vec![processed(records[0], Some(1), "WS1", "alice")],
                alerts: vec![a],
                incidents: vec![incident(1, "high", 1, 1, 2)],
                ..BatchCommit::default()
            },
            3,
        );
        store
            .update_alert(acme, 1, &AlertChange::Assign(Some(ana.id)), &by(&ana, 4))
            .expect("assign");
        let close = IncidentChange::Close {
            reason: "contained".to_owned(),
        };
        store
            .update_incident(acme, 1, &close, &by(&ana, 5))
            .expect("close");
        let suppression = store
            .create_suppression(
                acme,
                &NewSuppression {
                    expr: "host = \"WS9\"".to_owned(),
                    owner: "ana".to_owned(),
                    reason: "lab machine".to_owned(),
                    expires_at: None,
                    from_alert: Some(1),
                },
                &by(&ana, 6),
            )
            .expect("suppression");
        store
            .set_rule_enabled(acme, "rule-x", false, &by(&ana, 7))
            .expect("switch");
        (acme, ana, records, suppression)
    };

    let store = Store::open(&path).expect("reopen");
    assert_eq!(
        store
            .migrations()
            .expect("migrations")
            .iter()
            .map(|m| m.0)
            .collect::<Vec<_>>(),
        (1..=SCHEMA_VERSION).collect::<Vec<_>>()
    );
    assert_eq!(store.pending_count(acme).expect("pending"), 1);
    let events = store
        .search_events(acme, &EventQuery::default())
        .expect("search")
        .items;
    assert_eq!(events.len(), 2);
    let one = events.iter().find(|e| e.id == records[0]).expect("one");
    assert_eq!(
        (one.event_time, one.host.as_deref(), one.processed),
        (Some(at(1)), Some("WS1"), true)
    );
    let a = store.get_alert(acme, 1).expect("alert");
    assert_eq!(
        (a.status, a.assignee, a.count, a.incident_id),
        (AlertStatus::Open, Some(ana.id), 3, Some(1))
    );
    let i = store.get_incident(acme, 1).expect("incident");
    assert_eq!(
        (i.status, i.close_reason.as_deref()),
        (IncidentStatus::Closed, Some("contained"))
    );
    assert_eq!(
        store.suppressions(acme, false).expect("suppressions"),
        [suppression]
    );
    assert_eq!(store.disabled_rules(acme).expect("rules"), ["rule-x"]);
    assert_eq!(store.rule_settings_version().expect("version"), 1);
    assert_eq!(store.id_bases(acme).expect("bases"), (1, 1));
}

/// Migrations 1 and 2 as shipped: a database written by the version before this
/// one. (Shipped migrations never change, so this copy stays right.)
const SCHEMA_V2: &str = r#"
CREATE TABLE migrations (version INTEGER PRIMARY KEY, applied_at_ns INTEGER NOT NULL) STRICT;
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
INSERT INTO migrations (version, applied_at_ns) VALUES (1, 0), (2, 0);
"#;

#[test]
fn a_version_2_database_with_records_migrates_to_the_current_schema() {
    let dir = temp_dir("from-v2");
    let path = dir.join("watchfloor.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        conn.execute_batch(SCHEMA_V2).expect("version 2 schema");
        conn.execute(
            "INSERT INTO tenants (name, retention_days, created_at_ns) VALUES ('acme', 90, 0)",
            [],
        )
        .expect("tenant");
        let mut insert = conn
            .prepare(
                "INSERT INTO ingest (tenant_id, received_at_ns, source, format_hint, line)
                 VALUES (1, ?1, 'cli', NULL, ?2)",
            )
            .expect("prepare");
        for (secs, line) in [(10, "first old line"), (20, "second old line")] {
            insert
                .execute((at(secs).as_nanos(), line.as_bytes()))
                .expect("record");
        }
    }

    let store = Store::open(&path).expect("migrate");
    let versions: Vec<i64> = store
        .migrations()
        .expect("migrations")
        .iter()
        .map(|m| m.0)
        .collect();
    assert_eq!(versions, (1..=SCHEMA_VERSION).collect::<Vec<_>>());
    assert!(versions.contains(&3), "{versions:?}");
    let acme = TenantId(1);
    assert_eq!(store.tenant(acme).expect("tenant").name, "acme");
    assert_eq!(store.pending_count(acme).expect("pending"), 2);
    assert_eq!(store.pending_total().expect("total"), 2);
    assert_eq!(store.tenants_with_pending().expect("tenants"), [acme]);
    let pending = store.pending_records(acme, 0, 10).expect("records");
    assert_eq!(pending.len(), 2);
    // Old rows have no event time yet: they are found at their receipt time.
    let found = store
        .search_events(
            acme,
            &EventQuery {
                since: Some(at(15)),
                ..EventQuery::default()
            },
        )
        .expect("search");
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.items[0].line, b"second old line");
    assert_eq!(found.items[0].event_time, None);
    // And the pipeline can take them over.
    commit(
        &store,
        acme,
        BatchCommit {
            records: pending
                .iter()
                .map(|r| processed(r.id, Some(5), "h", "u"))
                .collect(),
            ..BatchCommit::default()
        },
        30,
    );
    assert_eq!(store.pending_total().expect("total"), 0);
    assert_eq!(store.id_bases(acme).expect("bases"), (0, 0));
}
