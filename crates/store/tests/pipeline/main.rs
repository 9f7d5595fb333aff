//! The live pipeline's tables: batches, alerts, incidents, suppressions, rule switches,
//! event search and retention. One binary, a module per concern (`tests/pipeline/`).

mod batches;
mod compression;
mod config;
mod events;
mod persistence;
mod retention;
mod work;

use std::path::PathBuf;

use watchfloor_store::{
    Actor, AlertRow, AuditEntry, AuditQuery, BatchCommit, IncidentRow, NewUser, Origin, Password,
    ProcessedRecord, Role, Store, TenantId, Timestamp, User, level_rank,
};

pub const SECS: i64 = 1_000_000_000;
pub const DAY: i64 = 86_400;

/// A fixed instant plus `secs` seconds.
pub fn at(secs: i64) -> Timestamp {
    Timestamp(1_750_000_000 * SECS + secs * SECS)
}

/// A change made from the command line at `at(secs)`.
pub fn cli(secs: i64) -> Origin {
    Origin::system("cli", at(secs))
}

/// A change made by `user` from a client address at `at(secs)`.
pub fn by(user: &User, secs: i64) -> Origin {
    Origin::new(Actor::User(user.id), "192.0.2.7:5000", at(secs))
}

pub fn store() -> Store {
    Store::open_in_memory().expect("in-memory store")
}

/// A fresh, empty folder for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "watchfloor-store-pipeline-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

pub fn add_tenant(store: &Store, name: &str) -> TenantId {
    store
        .create_tenant(name, &cli(0))
        .expect("create tenant")
        .id
}

pub fn add_user(store: &Store, login: &str, role: Role, tenants: &[TenantId]) -> User {
    let new = NewUser {
        login: login.to_owned(),
        display_name: format!("{login} (test)"),
        role,
        tenants: tenants.to_vec(),
        password: Password::new("correct horse battery"),
    };
    store.create_user(&new, &cli(0)).expect("create user")
}

/// Appends `lines` for `tenant` at `at(secs)`; returns their ids.
pub fn append(store: &Store, tenant: TenantId, secs: i64, lines: &[&str]) -> Vec<i64> {
    let bytes: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
    let receipt = store
        .append_records(tenant, "10.0.0.1:4000", Some("json"), &bytes, at(secs))
        .expect("append");
    (receipt.first_id..receipt.first_id + lines.len() as i64).collect()
}

/// A processed record with an event time and entities.
pub fn processed(id: i64, secs: Option<i64>, host: &str, user: &str) -> ProcessedRecord {
    ProcessedRecord {
        id,
        event_time: secs.map(at),
        host: Some(host.to_owned()),
        user: Some(user.to_owned()),
        error: None,
    }
}

/// An alert row: `level` by name, seen from `first` to `last` seconds.
pub fn alert(id: u64, level: &str, count: u64, first: i64, last: i64) -> AlertRow {
    AlertRow {
        id,
        rule_id: format!("rule-{}", id % 3),
        title: format!("Alert number {id}"),
        level: level.to_owned(),
        level_rank: level_rank(level).expect("level name"),
        score: 10.0,
        host: Some(format!("host{}", id % 2)),
        user: Some("alice".to_owned()),
        count,
        first_seen: at(first),
        last_seen: at(last),
        incident_id: None,
        doc: format!(r#"{{"id":{id},"fingerprint":"fp{id}","count":{count}}}"#),
    }
}

/// An incident row: `alerts` alerts, seen from `first` to `last` seconds.
pub fn incident(id: u64, severity: &str, alerts: u64, first: i64, last: i64) -> IncidentRow {
    IncidentRow {
        id,
        title: format!("Incident on host{id}"),
        severity: severity.to_owned(),
        severity_rank: level_rank(severity).expect("level name"),
        score: 20.0,
        entity: format!("host{id}"),
        stage_chain: "intrusion → lateral movement".to_owned(),
        first_seen: at(first),
        last_seen: at(last),
        alert_count: alerts,
        detections: alerts * 2,
        doc: format!(r#"{{"id":{id},"alerts":{alerts}}}"#),
    }
}

pub fn commit(store: &Store, tenant: TenantId, batch: BatchCommit, secs: i64) {
    store
        .commit_batch(tenant, &batch, at(secs))
        .expect("commit batch");
}

/// Every audit record, oldest first.
pub fn audit_log(store: &Store) -> Vec<AuditEntry> {
    let mut entries = store
        .audit(&AuditQuery {
            limit: 1000,
            ..AuditQuery::default()
        })
        .expect("audit")
        .entries;
    entries.reverse();
    entries
}

/// The audit records from `from` on, as (action, object, tenant).
pub fn actions_since(store: &Store, from: usize) -> Vec<(String, String, Option<TenantId>)> {
    audit_log(store)
        .into_iter()
        .skip(from)
        .map(|e| (e.action, e.object, e.tenant))
        .collect()
}
