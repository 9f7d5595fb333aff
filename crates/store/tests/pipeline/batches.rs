//! `commit_batch`: records marked with their metadata, alerts and incidents upserted,
//! all in one transaction; the pending counters.

use watchfloor_store::{
    Actor, AlertChange, AlertStatus, BatchCommit, BatchReceipt, EventQuery, HitState,
    IncidentChange, IncidentStatus, IndicatorHitRow, ProcessedRecord, Role, Store, StoreError,
    TenantId,
};

use crate::{
    DAY, actions_since, add_tenant, add_user, alert, append, at, audit_log, by, commit, incident,
    processed, store, temp_dir,
};

fn events(store: &Store, tenant: TenantId) -> Vec<watchfloor_store::StoredEvent> {
    let q = EventQuery {
        newest_first: false,
        limit: 1000,
        ..EventQuery::default()
    };
    store.search_events(tenant, &q).expect("search").items
}

#[test]
fn records_are_marked_processed_with_their_metadata() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let ids = append(&store, acme, 10, &["one", "two", "three"]);
    assert_eq!(store.pending_count(acme).expect("pending"), 3);
    let batch = BatchCommit {
        records: vec![
            processed(ids[0], Some(5), "WS1", "alice"),
            ProcessedRecord {
                id: ids[1],
                error: Some("line 1: not JSON".to_owned()),
                ..ProcessedRecord::default()
            },
        ],
        ..BatchCommit::default()
    };
    let receipt = store.commit_batch(acme, &batch, at(20)).expect("commit");
    assert_eq!(
        receipt,
        BatchReceipt {
            records: 2,
            ..BatchReceipt::default()
        }
    );
    assert_eq!(store.pending_count(acme).expect("pending"), 1);
    let pending = store.pending_records(acme, 0, 100).expect("pending");
    assert_eq!(pending.iter().map(|r| r.id).collect::<Vec<_>>(), [ids[2]]);

    let got = events(&store, acme);
    let one = got.iter().find(|e| e.id == ids[0]).expect("one");
    assert!(one.processed);
    assert_eq!(one.event_time, Some(at(5)));
    assert_eq!(one.host.as_deref(), Some("WS1"));
    assert_eq!(one.user.as_deref(), Some("alice"));
    assert_eq!(one.decode_error, None);
    let two = got.iter().find(|e| e.id == ids[1]).expect("two");
    assert!(two.processed);
    assert_eq!(two.event_time, None);
    assert_eq!(two.decode_error.as_deref(), Some("line 1: not JSON"));
    let three = got.iter().find(|e| e.id == ids[2]).expect("three");
    assert!(!three.processed);
    // Pipeline writes are data: no audit records.
    assert!(
        audit_log(&store)
            .iter()
            .all(|e| e.action == "tenant.create")
    );
}

#[test]
fn long_entity_text_from_events_is_cut_not_refused() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let ids = append(&store, acme, 1, &["x"]);
    let long = "é".repeat(5000);
    let batch = BatchCommit {
        records: vec![ProcessedRecord {
            id: ids[0],
            event_time: None,
            host: Some(long.clone()),
            user: Some(long.clone()),
            error: Some(long.clone()),
        }],
        ..BatchCommit::default()
    };
    commit(&store, acme, batch, 2);
    let e = &events(&store, acme)[0];
    assert_eq!(e.host.as_deref().map(|h| h.chars().count()), Some(256));
    assert_eq!(e.user.as_deref().map(|h| h.chars().count()), Some(256));
    assert_eq!(
        e.decode_error.as_deref().map(|h| h.chars().count()),
        Some(1000)
    );
}

/// What must be unchanged after a refused batch.
fn assert_untouched(store: &Store, tenant: TenantId, pending: u64) {
    assert_eq!(store.pending_count(tenant).expect("pending"), pending);
    assert_eq!(store.id_bases(tenant).expect("bases"), (0, 0));
    let page = store.alerts(tenant, &Default::default()).expect("alerts");
    assert_eq!(page.total, 0);
    let page = store
        .incidents(tenant, &Default::default())
        .expect("incidents");
    assert_eq!(page.total, 0);
}

#[test]
fn a_refused_batch_writes_nothing() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let globex = add_tenant(&store, "globex");
    let ours = append(&store, acme, 1, &["a", "b"]);
    let theirs = append(&store, globex, 1, &["c"]);
    let good = || BatchCommit {
        records: vec![
            processed(ours[0], Some(1), "h", "u"),
            processed(ours[1], Some(1), "h", "u"),
        ],
        alerts: vec![alert(1, "high", 1, 1, 1)],
        incidents: vec![incident(1, "high", 1, 1, 1)],
        suppression_hits: vec![],
        indicator_hits: vec![],
    };

    // Another tenant's record: not found, and nothing of the batch is written.
    let mut batch = good();
    batch.records.push(processed(theirs[0], Some(1), "h", "u"));
    let err = store
        .commit_batch(acme, &batch, at(2))
        .expect_err("foreign record");
    assert!(
        matches!(
            err,
            StoreError::NotFound {
                field: "record",
                ..
            }
        ),
        "{err:?}"
    );
    assert_untouched(&store, acme, 2);
    assert_eq!(store.pending_count(globex).expect("pending"), 1);

    // A record that does not exist at all.
    let mut batch = good();
    batch.records.push(processed(999_999, None, "h", "u"));
    assert!(matches!(
        store.commit_batch(acme, &batch, at(2)),
        Err(StoreError::NotFound { .. })
    ));
    assert_untouched(&store, acme, 2);

    // Malformed rows, checked before anything is written.
    let mut cases: Vec<(BatchCommit, &str)> = Vec::new();
    let mut b = good();
    b.alerts[0].level_rank = 1;
    cases.push((b, "level"));
    let mut b = good();
    b.alerts[0].doc = "{not json".to_owned();
    cases.push((b, "doc"));
    let mut b = good();
    b.alerts[0].count = 0;
    cases.push((b, "count"));
    let mut b = good();
    b.alerts[0].id = 0;
    cases.push((b, "alert id"));
    let mut b = good();
    b.alerts[0].score = f64::NAN;
    cases.push((b, "score"));
    let mut b = good();
    b.alerts[0].first_seen = at(5);
    cases.push((b, "first_seen"));
    let mut b = good();
    b.incidents[0].severity = "severe".to_owned();
    cases.push((b, "severity"));
    let mut b = good();
    b.incidents[0].id = u64::MAX;
    cases.push((b, "incident id"));
    for (batch, want) in cases {
        let err = store.commit_batch(acme, &batch, at(2)).expect_err(want);
        assert!(
            matches!(err, StoreError::Invalid { field, .. } if field == want),
            "{want}: {err:?}"
        );
        assert_untouched(&store, acme, 2);
    }

    // An unknown tenant.
    assert!(matches!(
        store.commit_batch(TenantId(77), &BatchCommit::default(), at(2)),
        Err(StoreError::NotFound {
            field: "tenant",
            ..
        })
    ));

    // And the good batch goes through.
    let receipt = store.commit_batch(acme, &good(), at(2)).expect("good");
    assert_eq!(receipt.records, 2);
    assert_eq!(receipt.alerts_inserted, 1);
    assert_eq!(receipt.incidents_inserted, 1);
    assert_eq!(store.pending_count(acme).expect("pending"), 0);
}

#[test]
fn a_row_failing_midway_rolls_back_the_whole_batch() {
    let dir = temp_dir("batch-rollback");
    let path = dir.join("watchfloor.db");
    let store = Store::open(&path).expect("open");
    let acme = add_tenant(&store, "acme");
    let ids = append(&store, acme, 1, &["a", "b", "c"]);
    {
        // A second connection makes the database refuse one alert, after the records
        // and the first alerts of the batch have been written.
        let conn = rusqlite::Connection::open(&path).expect("second connection");
        conn.execute_batch(
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON alerts
             WHEN NEW.rule_id = 'poison'
             BEGIN SELECT RAISE(ABORT, 'poison'); END;",
        )
        .expect("trigger");
    }
    let mut poison = alert(3, "low", 1, 1, 1);
    poison.rule_id = "poison".to_owned();
    let batch = BatchCommit {
        records: ids
            .iter()
            .map(|&id| processed(id, Some(1), "h", "u"))
            .collect(),
        alerts: vec![alert(1, "low", 1, 1, 1), alert(2, "low", 1, 1, 1), poison],
        incidents: vec![incident(1, "low", 3, 1, 1)],
        suppression_hits: vec![],
        indicator_hits: vec![],
    };
    let err = store
        .commit_batch(acme, &batch, at(2))
        .expect_err("poisoned");
    assert!(matches!(err, StoreError::Database(_)), "{err:?}");
    assert_untouched(&store, acme, 3);
    drop(store);
    let store = Store::open(&path).expect("reopen");
    assert_untouched(&store, acme, 3);
}

#[test]
fn updates_keep_the_analysts_work_but_a_resumed_attack_reopens() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let ana = add_user(&store, "ana", Role::Analyst, &[acme]);
    let r = store
        .commit_batch(
            acme,
            &BatchCommit {
                alerts: vec![alert(1, "high", 1, 10, 10)],
                incidents: vec![incident(1, "high", 1, 10, 10)],
                ..BatchCommit::default()
            },
            at(11),
        )
        .expect("insert");
    assert_eq!((r.alerts_inserted, r.incidents_inserted), (1, 1));
    store
        .update_alert(acme, 1, &AlertChange::Acknowledge, &by(&ana, 12))
        .expect("ack");
    store
        .update_alert(acme, 1, &AlertChange::Assign(Some(ana.id)), &by(&ana, 13))
        .expect("assign");

    // The engine's fields change, the analyst's stay.
    let mut grown = alert(1, "critical", 5, 10, 50);
    grown.title = "Renamed".to_owned();
    grown.incident_id = Some(1);
    let r = store
        .commit_batch(
            acme,
            &BatchCommit {
                alerts: vec![grown],
                ..BatchCommit::default()
            },
            at(51),
        )
        .expect("update");
    assert_eq!(
        (r.alerts_inserted, r.alerts_updated, r.alerts_reopened),
        (0, 1, 0)
    );
    let a = store.get_alert(acme, 1).expect("alert");
    assert_eq!(a.status, AlertStatus::Acknowledged);
    assert_eq!(a.assignee, Some(ana.id));
    assert_eq!((a.count, a.last_seen, a.updated_at), (5, at(50), at(51)));
    assert_eq!(
        (a.level.as_str(), a.title.as_str()),
        ("critical", "Renamed")
    );
    assert_eq!(a.incident_id, Some(1));
    assert_eq!(a.doc.get(), r#"{"id":1,"fingerprint":"fp1","count":5}"#);

    // Closed, then re-sent with the same count (a replay): stays closed.
    store
        .update_alert(
            acme,
            1,
            &AlertChange::Close {
                reason: "admin script".to_owned(),
            },
            &by(&ana, 60),
        )
        .expect("close");
    store
        .update_incident(
            acme,
            1,
            &IncidentChange::Close {
                reason: "handled".to_owned(),
            },
            &by(&ana, 60),
        )
        .expect("close incident");
    let before = audit_log(&store).len();
    let r = store
        .commit_batch(
            acme,
            &BatchCommit {
                alerts: vec![alert(1, "critical", 5, 10, 50)],
                incidents: vec![incident(1, "high", 1, 10, 50)],
                ..BatchCommit::default()
            },
            at(61),
        )
        .expect("replay");
    assert_eq!((r.alerts_reopened, r.incidents_reopened), (0, 0));
    assert_eq!(
        store.get_alert(acme, 1).expect("alert").status,
        AlertStatus::Closed
    );
    assert_eq!(
        store.get_incident(acme, 1).expect("incident").status,
        IncidentStatus::Closed
    );
    assert_eq!(audit_log(&store).len(), before);

    // The count grows: open again, assignee kept, reason gone, and recorded.
    let r = store
        .commit_batch(
            acme,
            &BatchCommit {
                alerts: vec![alert(1, "critical", 6, 10, 70), alert(2, "low", 1, 70, 70)],
                incidents: vec![incident(1, "high", 2, 10, 70)],
                ..BatchCommit::default()
            },
            at(71),
        )
        .expect("resume");
    assert_eq!(
        r,
        BatchReceipt {
            records: 0,
            alerts_inserted: 1,
            alerts_updated: 1,
            alerts_reopened: 1,
            incidents_inserted: 0,
            incidents_updated: 1,
            incidents_reopened: 1,
            suppressions_updated: 0,
            indicator_hits: 0,
        }
    );
    let a = store.get_alert(acme, 1).expect("alert");
    assert_eq!(a.status, AlertStatus::Open);
    assert_eq!(a.assignee, Some(ana.id));
    assert_eq!(a.close_reason, None);
    let i = store.get_incident(acme, 1).expect("incident");
    assert_eq!(
        (i.status, i.close_reason.as_deref()),
        (IncidentStatus::Open, None)
    );
    assert_eq!(i.alert_count, 2);
    let log = audit_log(&store);
    let new: Vec<_> = log[before..]
        .iter()
        .map(|e| {
            (
                e.actor,
                e.action.as_str(),
                e.object.as_str(),
                e.source.as_str(),
            )
        })
        .collect();
    assert_eq!(
        new,
        [
            (Actor::System, "alert.reopen", "alert:1", "pipeline"),
            (Actor::System, "incident.reopen", "incident:1", "pipeline"),
        ]
    );
    assert_eq!(
        log[before].detail.as_deref(),
        Some("reopened by the pipeline: count grew from 5 to 6")
    );
    assert_eq!(
        actions_since(&store, before)[0].2,
        Some(acme),
        "reopen record names the tenant"
    );
}

#[test]
fn id_bases_grow_per_tenant() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let globex = add_tenant(&store, "globex");
    assert_eq!(store.id_bases(acme).expect("bases"), (0, 0));
    let batch = BatchCommit {
        alerts: vec![alert(3, "low", 1, 1, 1), alert(1, "low", 1, 1, 1)],
        incidents: vec![incident(2, "low", 2, 1, 1)],
        ..BatchCommit::default()
    };
    commit(&store, acme, batch, 2);
    assert_eq!(store.id_bases(acme).expect("bases"), (3, 2));
    assert_eq!(store.id_bases(globex).expect("bases"), (0, 0));
    // The same ids in another tenant are other alerts.
    commit(
        &store,
        globex,
        BatchCommit {
            alerts: vec![alert(1, "critical", 9, 1, 1)],
            ..BatchCommit::default()
        },
        3,
    );
    assert_eq!(store.get_alert(acme, 1).expect("acme 1").level, "low");
    assert_eq!(
        store.get_alert(globex, 1).expect("globex 1").level,
        "critical"
    );
    assert_eq!(store.id_bases(globex).expect("bases"), (1, 0));
}

#[test]
fn suppression_hits_add_up_for_the_tenants_own_suppressions_only() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let globex = add_tenant(&store, "globex");
    let new = watchfloor_store::NewSuppression {
        expr: "host = \"backup01\"".to_owned(),
        owner: "ana".to_owned(),
        reason: "nightly backup".to_owned(),
        expires_at: None,
        from_alert: None,
    };
    let ours = store
        .create_suppression(acme, &new, &crate::cli(1))
        .expect("ours");
    let theirs = store
        .create_suppression(globex, &new, &crate::cli(1))
        .expect("theirs");
    let batch = BatchCommit {
        suppression_hits: vec![(ours.id, 3), (theirs.id, 5), (9999, 1), (ours.id, 0)],
        ..BatchCommit::default()
    };
    let r = store.commit_batch(acme, &batch, at(2)).expect("commit");
    assert_eq!(r.suppressions_updated, 1);
    commit(
        &store,
        acme,
        BatchCommit {
            suppression_hits: vec![(ours.id, 4)],
            ..BatchCommit::default()
        },
        3,
    );
    assert_eq!(store.suppression(acme, ours.id).expect("ours").hits, 7);
    assert_eq!(
        store.suppression(globex, theirs.id).expect("theirs").hits,
        0
    );
}

#[test]
fn pending_counts_over_tenants() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let globex = add_tenant(&store, "globex");
    let initech = add_tenant(&store, "initech");
    assert_eq!(store.pending_total().expect("total"), 0);
    assert!(store.tenants_with_pending().expect("tenants").is_empty());
    let a = append(&store, acme, 1, &["1", "2"]);
    append(&store, initech, 1, &["3"]);
    append(&store, globex, 1, &["4", "5", "6"]);
    assert_eq!(store.pending_total().expect("total"), 6);
    assert_eq!(
        store.tenants_with_pending().expect("tenants"),
        [acme, globex, initech]
    );
    commit(
        &store,
        acme,
        BatchCommit {
            records: a.iter().map(|&id| processed(id, None, "h", "u")).collect(),
            ..BatchCommit::default()
        },
        2,
    );
    assert_eq!(store.pending_total().expect("total"), 4);
    assert_eq!(store.pending_count(acme).expect("acme"), 0);
    assert_eq!(store.pending_count(globex).expect("globex"), 3);
    assert_eq!(
        store.tenants_with_pending().expect("tenants"),
        [globex, initech]
    );
}

#[test]
fn indicator_hits_are_kept_once_for_the_tenants_own_records_and_go_with_them() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let globex = add_tenant(&store, "globex");
    let ours = append(&store, acme, 1, &["a", "b"]);
    let theirs = append(&store, globex, 1, &["c"]);
    commit(
        &store,
        acme,
        BatchCommit {
            records: vec![processed(ours[0], Some(1), "h", "u")],
            ..BatchCommit::default()
        },
        2,
    );
    let pair = |record, indicator| IndicatorHitRow { record, indicator };
    let asked = [
        pair(ours[0], 7),
        pair(ours[1], 7),
        pair(theirs[0], 7),
        pair(9999, 7),
    ];
    let states = |tenant| store.indicator_hit_states(tenant, &asked).expect("states");
    use HitState::{New, NoRecord, Taken, Unprocessed};
    assert_eq!(states(acme), [New, Unprocessed, NoRecord, NoRecord]);

    // Kept once; another tenant's record is not ours to mark.
    let r = store
        .commit_batch(
            acme,
            &BatchCommit {
                indicator_hits: vec![pair(ours[0], 7), pair(ours[0], 7), pair(theirs[0], 7)],
                ..BatchCommit::default()
            },
            at(3),
        )
        .expect("commit");
    assert_eq!(r.indicator_hits, 1);
    assert_eq!(r.records, 0);
    assert_eq!(states(acme), [Taken, Unprocessed, NoRecord, NoRecord]);
    assert_eq!(
        store
            .indicator_hit_states(acme, &[pair(ours[0], 8)])
            .expect("states"),
        [New]
    );
    assert_eq!(states(globex), [NoRecord, NoRecord, Unprocessed, NoRecord]);

    // Retention deletes the record and its pairs with it.
    let report = store
        .enforce_retention(at(400 * DAY), 100)
        .expect("retention");
    assert_eq!(report.total(), 1, "{report:?}");
    assert_eq!(states(acme), [NoRecord, Unprocessed, NoRecord, NoRecord]);
}
