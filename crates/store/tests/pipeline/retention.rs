//! Retention: only old processed records, old closed alerts and incidents go; in
//! chunks; one audit record per tenant that lost rows.

use watchfloor_store::{
    Actor, AlertChange, AlertQuery, BatchCommit, EventQuery, IncidentChange, IncidentQuery,
    ProcessedRecord, Store, StoreError, TenantId, Timestamp,
};

use crate::{DAY, add_tenant, alert, append, at, audit_log, cli, commit, incident, store};

fn days(d: i64) -> i64 {
    d * DAY
}

fn close_alert(store: &Store, tenant: TenantId, id: u64) {
    let close = AlertChange::Close {
        reason: "done".to_owned(),
    };
    store
        .update_alert(tenant, id, &close, &cli(days(99)))
        .expect("close alert");
}

fn close_incident(store: &Store, tenant: TenantId, id: u64) {
    let close = IncidentChange::Close {
        reason: "done".to_owned(),
    };
    store
        .update_incident(tenant, id, &close, &cli(days(99)))
        .expect("close incident");
}

fn record_ids(store: &Store, tenant: TenantId) -> Vec<i64> {
    let q = EventQuery {
        newest_first: false,
        limit: 1000,
        ..EventQuery::default()
    };
    let mut ids: Vec<i64> = store
        .search_events(tenant, &q)
        .expect("search")
        .items
        .iter()
        .map(|e| e.id)
        .collect();
    ids.sort_unstable();
    ids
}

fn alert_ids(store: &Store, tenant: TenantId) -> Vec<u64> {
    let q = AlertQuery {
        limit: 500,
        ..AlertQuery::default()
    };
    let mut ids: Vec<u64> = store
        .alerts(tenant, &q)
        .expect("alerts")
        .items
        .iter()
        .map(|a| a.id)
        .collect();
    ids.sort_unstable();
    ids
}

fn incident_ids(store: &Store, tenant: TenantId) -> Vec<u64> {
    let mut ids: Vec<u64> = store
        .incidents(tenant, &IncidentQuery::default())
        .expect("incidents")
        .items
        .iter()
        .map(|i| i.id)
        .collect();
    ids.sort_unstable();
    ids
}

fn with_time(id: i64, event_time: Option<Timestamp>) -> ProcessedRecord {
    ProcessedRecord {
        id,
        event_time,
        ..ProcessedRecord::default()
    }
}

#[test]
fn retention_deletes_only_old_finished_data_in_chunks() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let globex = add_tenant(&store, "globex");
    store
        .set_tenant_retention(acme, 30, &cli(0))
        .expect("retention");
    let now = at(days(100)); // acme's cutoff: day 70; globex's (90 days): day 10.

    // Records: [old processed, old unprocessed, new processed, received late but an
    // old event (stays: retention counts from receipt), received early but a recent
    // event (goes), old processed without event time].
    let old = append(
        &store,
        acme,
        days(10),
        &["old", "old pending", "early recent"],
    );
    let new = append(&store, acme, days(95), &["new", "late old"]);
    let untimed = append(&store, acme, days(10), &["untimed"]);
    commit(
        &store,
        acme,
        BatchCommit {
            records: vec![
                with_time(old[0], Some(at(days(10)))),
                with_time(new[0], Some(at(days(90)))),
                with_time(new[1], Some(at(days(20)))),
                with_time(old[2], Some(at(days(80)))),
                with_time(untimed[0], None),
            ],
            ..BatchCommit::default()
        },
        days(96),
    );
    let theirs = append(&store, globex, days(20), &["globex old-ish"]);
    commit(
        &store,
        globex,
        BatchCommit {
            records: vec![with_time(theirs[0], Some(at(days(20))))],
            alerts: vec![alert(1, "low", 1, days(20), days(20))],
            ..BatchCommit::default()
        },
        days(21),
    );
    close_alert(&store, globex, 1);

    // Alerts and incidents. Old = last seen on day 10, recent = day 80.
    let (o, r) = (days(10), days(80));
    let mut alerts = vec![
        alert(1, "low", 1, o, o), // closed, old → goes
        alert(2, "low", 1, o, o), // open → stays
        alert(3, "low", 1, o, o), // acknowledged → stays
        alert(4, "low", 1, o, r), // closed, recent → stays
        alert(5, "low", 1, o, o), // closed, old, incident 1 open → stays
        alert(6, "low", 1, o, o), // closed, old, incident 2 closed → goes
        alert(7, "low", 1, o, o), // open, in closed old incident 3 → keeps it
    ];
    alerts[4].incident_id = Some(1);
    alerts[5].incident_id = Some(2);
    alerts[6].incident_id = Some(3);
    alerts.extend((10..=14).map(|id| alert(id, "low", 1, o, o))); // closed, old → go
    commit(
        &store,
        acme,
        BatchCommit {
            alerts,
            incidents: vec![
                incident(1, "low", 1, o, o), // open → stays
                incident(2, "low", 1, o, o), // closed, old, its alert goes → goes
                incident(3, "low", 1, o, o), // closed, old, open alert left → stays
                incident(4, "low", 0, o, r), // closed, recent → stays
                incident(5, "low", 0, o, o), // closed, old, no alerts → goes
            ],
            ..BatchCommit::default()
        },
        days(81),
    );
    for id in [1, 4, 5, 6, 10, 11, 12, 13, 14] {
        close_alert(&store, acme, id);
    }
    store
        .update_alert(acme, 3, &AlertChange::Acknowledge, &cli(days(99)))
        .expect("ack");
    for id in [2, 3, 4, 5] {
        close_incident(&store, acme, id);
    }
    let audit_before = audit_log(&store).len();

    assert!(matches!(
        store.enforce_retention(now, 0),
        Err(StoreError::Invalid { field: "batch", .. })
    ));
    let report = store.enforce_retention(now, 2).expect("retention");
    assert_eq!(report.tenants.len(), 1, "{report:?}");
    let purge = report.tenants[0];
    assert_eq!(purge.tenant, acme);
    assert_eq!(purge.cutoff, at(days(70)));
    assert_eq!((purge.records, purge.alerts, purge.incidents), (3, 7, 2));
    assert_eq!(report.total(), 12);
    // acme: records 2+1, alerts 2+2+2+1, incidents 2+0; globex: one of each.
    assert_eq!(report.chunks, 8 + 3);

    let mut kept = vec![old[1], new[0], new[1]];
    kept.sort_unstable();
    assert_eq!(record_ids(&store, acme), kept);
    assert_eq!(store.pending_count(acme).expect("pending"), 1);
    assert_eq!(alert_ids(&store, acme), [2, 3, 4, 5, 7]);
    assert_eq!(incident_ids(&store, acme), [1, 3, 4]);
    assert_eq!(record_ids(&store, globex), theirs);
    assert_eq!(alert_ids(&store, globex), [1]);
    // Deleted ids are not handed out again.
    assert_eq!(store.id_bases(acme).expect("bases"), (14, 5));

    let log = audit_log(&store);
    let new_records: Vec<_> = log[audit_before..].iter().collect();
    assert_eq!(new_records.len(), 1);
    let e = new_records[0];
    assert_eq!(
        (
            e.at,
            e.actor,
            e.action.as_str(),
            e.source.as_str(),
            e.tenant
        ),
        (
            now,
            Actor::System,
            "retention.purge",
            "retention",
            Some(acme)
        )
    );
    assert_eq!(e.object, format!("tenant:{}", acme.0));
    assert_eq!(
        e.detail.as_deref(),
        Some("deleted 3 records, 7 alerts, 2 incidents older than 30 days")
    );

    // Nothing more to do: nothing deleted, nothing recorded.
    let again = store.enforce_retention(now, 2).expect("again");
    assert!(again.tenants.is_empty());
    assert_eq!(audit_log(&store).len(), audit_before + 1);

    // Later, globex's data ages out too.
    let later = store.enforce_retention(at(days(200)), 100).expect("later");
    let globex_purge = later
        .tenants
        .iter()
        .find(|p| p.tenant == globex)
        .expect("globex purged");
    assert_eq!(
        (
            globex_purge.records,
            globex_purge.alerts,
            globex_purge.incidents
        ),
        (1, 1, 0)
    );
}
