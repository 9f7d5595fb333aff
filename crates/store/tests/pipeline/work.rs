//! Analysts' work: listing, reading and changing alerts and incidents, tenant
//! isolation, assignees, audit records.

use watchfloor_store::{
    Actor, AlertChange, AlertQuery, AlertRow, AlertSort, AlertStatus, BatchCommit, IncidentChange,
    IncidentQuery, IncidentSort, IncidentStatus, Role, Store, StoreError, StoredAlertSummary,
    TenantId, UserId,
};

use crate::{actions_since, add_tenant, add_user, alert, at, audit_log, by, commit, incident};

const LEVELS: [&str; 5] = ["informational", "low", "medium", "high", "critical"];

fn store_with_tenant() -> (Store, TenantId) {
    let store = crate::store();
    let acme = add_tenant(&store, "acme");
    (store, acme)
}

/// 40 alerts with levels, scores, counts, hosts and times spread so that sorts have
/// ties; some in incidents 1 and 2.
fn seed_alerts(store: &Store, tenant: TenantId) -> Vec<AlertRow> {
    let rows: Vec<_> = (1..=40u64)
        .map(|id| {
            let n = id as i64;
            let level = LEVELS[(id % 5) as usize];
            let mut a = alert(id, level, 1 + id % 4, n * 10, n * 10 + (n % 7) * 100);
            a.score = (id % 6) as f64 * 2.5;
            a.host = Some(format!("WS-{}", id % 3));
            a.user = (id % 4 != 0).then(|| format!("user{}", id % 2));
            a.title = if id % 5 == 0 {
                format!("Mimikatz use {id}")
            } else {
                format!("Alert {id}")
            };
            a.incident_id = match id % 10 {
                1 => Some(1),
                2 => Some(2),
                _ => None,
            };
            a
        })
        .collect();
    commit(
        store,
        tenant,
        BatchCommit {
            alerts: rows.clone(),
            incidents: vec![
                incident(1, "high", 4, 10, 400),
                incident(2, "low", 4, 20, 500),
            ],
            ..BatchCommit::default()
        },
        1000,
    );
    rows
}

fn ids(items: &[StoredAlertSummary]) -> Vec<u64> {
    items.iter().map(|a| a.id).collect()
}

/// Every page of a query, `size` at a time, and the total the pages report.
fn all_pages(store: &Store, tenant: TenantId, q: &AlertQuery, size: u32) -> (Vec<u64>, u64) {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let page = store
            .alerts(
                tenant,
                &AlertQuery {
                    limit: size,
                    offset,
                    ..q.clone()
                },
            )
            .expect("page");
        assert!(page.items.len() <= size as usize);
        assert_eq!((page.limit, page.offset), (size, offset));
        if page.items.is_empty() {
            return (out, page.total);
        }
        out.extend(ids(&page.items));
        offset += size;
    }
}

type Key = fn(&AlertRow) -> f64;

#[test]
fn alert_lists_sort_every_way_and_page_stably() {
    let (store, acme) = store_with_tenant();
    let rows = seed_alerts(&store, acme);
    let keys: [(AlertSort, Key); 5] = [
        (AlertSort::LastSeen, |a| a.last_seen.0 as f64),
        (AlertSort::FirstSeen, |a| a.first_seen.0 as f64),
        (AlertSort::Score, |a| a.score),
        (AlertSort::Level, |a| a.level_rank as f64),
        (AlertSort::Count, |a| a.count as f64),
    ];
    for (sort, key) in keys {
        for desc in [true, false] {
            let mut want: Vec<_> = rows.iter().map(|a| (key(a), a.id)).collect();
            want.sort_by(|x, y| x.partial_cmp(y).expect("no NaN"));
            if desc {
                want.reverse();
            }
            let want: Vec<u64> = want.into_iter().map(|(_, id)| id).collect();
            let q = AlertQuery {
                sort,
                desc,
                ..AlertQuery::default()
            };
            let (got, total) = all_pages(&store, acme, &q, 7);
            assert_eq!(total, 40);
            assert_eq!(got, want, "{sort:?} desc={desc}");
        }
    }
    // A page past the end is empty but still counts.
    let page = store
        .alerts(
            acme,
            &AlertQuery {
                offset: 100,
                ..AlertQuery::default()
            },
        )
        .expect("past the end");
    assert!(page.items.is_empty());
    assert_eq!(page.total, 40);
}

#[test]
fn alert_lists_filter() {
    let (store, acme) = store_with_tenant();
    let rows = seed_alerts(&store, acme);
    let ana = add_user(&store, "ana", Role::Analyst, &[acme]);
    for id in [3, 6, 9] {
        store
            .update_alert(acme, id, &AlertChange::Acknowledge, &by(&ana, 2000))
            .expect("ack");
    }
    for id in [4, 8] {
        let close = AlertChange::Close {
            reason: "benign".to_owned(),
        };
        store
            .update_alert(acme, id, &close, &by(&ana, 2000))
            .expect("close");
    }
    let status_of = |id: u64| match id {
        3 | 6 | 9 => AlertStatus::Acknowledged,
        4 | 8 => AlertStatus::Closed,
        _ => AlertStatus::Open,
    };
    let check = |q: AlertQuery, keep: &dyn Fn(&AlertRow) -> bool| {
        let mut want: Vec<u64> = rows.iter().filter(|a| keep(a)).map(|a| a.id).collect();
        want.sort_unstable();
        let by_id = AlertQuery {
            sort: AlertSort::FirstSeen,
            desc: false,
            ..q.clone()
        };
        let (got, total) = all_pages(&store, acme, &by_id, 6);
        assert!(!want.is_empty(), "{q:?} selects nothing");
        assert_eq!(got, want, "{q:?}");
        assert_eq!(total, want.len() as u64, "{q:?}");
    };
    let q = AlertQuery::default;
    check(
        AlertQuery {
            status: Some(AlertStatus::Acknowledged),
            ..q()
        },
        &|a| status_of(a.id) == AlertStatus::Acknowledged,
    );
    check(
        AlertQuery {
            status: Some(AlertStatus::Open),
            ..q()
        },
        &|a| status_of(a.id) == AlertStatus::Open,
    );
    check(
        AlertQuery {
            status: Some(AlertStatus::Closed),
            ..q()
        },
        &|a| status_of(a.id) == AlertStatus::Closed,
    );
    check(
        AlertQuery {
            min_level_rank: Some(3),
            ..q()
        },
        &|a| a.level_rank >= 3,
    );
    check(
        AlertQuery {
            rule_id: Some("rule-2".to_owned()),
            ..q()
        },
        &|a| a.rule_id == "rule-2",
    );
    check(
        AlertQuery {
            host: Some("ws-1".to_owned()),
            ..q()
        },
        &|a| a.host.as_deref() == Some("WS-1"),
    );
    check(
        AlertQuery {
            user: Some("USER0".to_owned()),
            ..q()
        },
        &|a| a.user.as_deref() == Some("user0"),
    );
    check(
        AlertQuery {
            incident_id: Some(2),
            ..q()
        },
        &|a| a.incident_id == Some(2),
    );
    check(
        AlertQuery {
            since: Some(at(150)),
            until: Some(at(300)),
            ..q()
        },
        &|a| a.last_seen >= at(150) && a.last_seen < at(300),
    );
    check(
        AlertQuery {
            text: Some("MIMIKATZ".to_owned()),
            ..q()
        },
        &|a| a.title.starts_with("Mimikatz"),
    );
    check(
        AlertQuery {
            text: Some("katz".to_owned()),
            min_level_rank: Some(0),
            host: Some("WS-2".to_owned()),
            ..q()
        },
        &|a| a.title.contains("katz") && a.host.as_deref() == Some("WS-2"),
    );
    // An empty time range matches nothing.
    let page = store
        .alerts(
            acme,
            &AlertQuery {
                since: Some(at(300)),
                until: Some(at(300)),
                ..q()
            },
        )
        .expect("empty range");
    assert_eq!(page.total, 0);

    // Bad queries are typed errors naming the field.
    let bad = [
        (AlertQuery { limit: 0, ..q() }, "limit"),
        (AlertQuery { limit: 501, ..q() }, "limit"),
        (
            AlertQuery {
                min_level_rank: Some(5),
                ..q()
            },
            "min_level_rank",
        ),
        (
            AlertQuery {
                text: Some("x".repeat(257)),
                ..q()
            },
            "text",
        ),
    ];
    for (query, field) in bad {
        let err = store.alerts(acme, &query).expect_err(field);
        assert!(
            matches!(err, StoreError::Invalid { field: f, .. } if f == field),
            "{err:?}"
        );
    }
}

#[test]
fn alerts_serialize_with_their_document_in_place() {
    let (store, acme) = store_with_tenant();
    commit(
        &store,
        acme,
        BatchCommit {
            alerts: vec![alert(7, "medium", 2, 1, 2)],
            ..BatchCommit::default()
        },
        3,
    );
    let a = store.get_alert(acme, 7).expect("alert");
    let json: serde_json::Value = serde_json::to_value(&a).expect("json");
    assert_eq!(json["doc"]["fingerprint"], "fp7");
    assert_eq!(json["status"], "open");
    assert_eq!(json["tenant"], acme.0);
    assert_eq!(json["level"], "medium");
    assert_eq!(json["assignee"], serde_json::Value::Null);
    assert_eq!(json["first_seen"], "2025-06-15T15:06:41Z");
}

#[test]
fn another_tenants_alerts_and_incidents_are_not_found() {
    let store = crate::store();
    let acme = add_tenant(&store, "acme");
    let globex = add_tenant(&store, "globex");
    let root = add_user(&store, "root", Role::Admin, &[]);
    commit(
        &store,
        acme,
        BatchCommit {
            alerts: vec![alert(1, "high", 1, 1, 1)],
            incidents: vec![incident(1, "high", 1, 1, 1)],
            ..BatchCommit::default()
        },
        2,
    );
    let not_found = |r: Result<(), StoreError>| matches!(r, Err(StoreError::NotFound { .. }));
    assert!(not_found(store.get_alert(globex, 1).map(|_| ())));
    assert!(not_found(store.get_incident(globex, 1).map(|_| ())));
    assert!(not_found(store.incident_alerts(globex, 1, 10).map(|_| ())));
    let before = audit_log(&store).len();
    for change in [
        AlertChange::Acknowledge,
        AlertChange::Assign(Some(root.id)),
        AlertChange::Close {
            reason: "x".to_owned(),
        },
        AlertChange::Reopen,
    ] {
        let r = store.update_alert(globex, 1, &change, &by(&root, 3));
        assert!(not_found(r.map(|_| ())), "{change:?}");
    }
    for change in [
        IncidentChange::Assign(Some(root.id)),
        IncidentChange::Close {
            reason: "x".to_owned(),
        },
        IncidentChange::Reopen,
    ] {
        let r = store.update_incident(globex, 1, &change, &by(&root, 3));
        assert!(not_found(r.map(|_| ())), "{change:?}");
    }
    assert_eq!(audit_log(&store).len(), before, "refusals are not recorded");
    let alerts = store.alerts(globex, &AlertQuery::default()).expect("list");
    assert_eq!((alerts.total, alerts.items.len()), (0, 0));
    let incidents = store
        .incidents(globex, &IncidentQuery::default())
        .expect("list");
    assert_eq!((incidents.total, incidents.items.len()), (0, 0));
    let a = store.get_alert(acme, 1).expect("still there");
    assert_eq!((a.status, a.assignee), (AlertStatus::Open, None));
    // Ids beyond SQLite's integers are simply not found either.
    assert!(not_found(store.get_alert(acme, u64::MAX).map(|_| ())));
}

#[test]
fn assignees_are_admins_or_analysts_of_the_tenant() {
    let (store, acme) = store_with_tenant();
    let globex = add_tenant(&store, "globex");
    commit(
        &store,
        acme,
        BatchCommit {
            alerts: vec![alert(1, "high", 1, 1, 1)],
            incidents: vec![incident(1, "high", 1, 1, 1)],
            ..BatchCommit::default()
        },
        2,
    );
    let root = add_user(&store, "root", Role::Admin, &[]);
    let ana = add_user(&store, "ana", Role::Analyst, &[acme, globex]);
    let other = add_user(&store, "other", Role::Analyst, &[globex]);
    let cus = add_user(&store, "cus", Role::Customer, &[acme]);
    let gone = add_user(&store, "gone", Role::Analyst, &[acme]);
    store.disable_user(gone.id, &by(&root, 3)).expect("disable");

    for user in [root.id, ana.id] {
        let a = store
            .update_alert(acme, 1, &AlertChange::Assign(Some(user)), &by(&root, 4))
            .expect("assign");
        assert_eq!(a.assignee, Some(user));
        let i = store
            .update_incident(acme, 1, &IncidentChange::Assign(Some(user)), &by(&root, 4))
            .expect("assign incident");
        assert_eq!(i.assignee, Some(user));
    }
    let before = audit_log(&store).len();
    for user in [other.id, cus.id, gone.id, UserId(9999)] {
        let err = store
            .update_alert(acme, 1, &AlertChange::Assign(Some(user)), &by(&root, 5))
            .expect_err("refused assignee");
        assert!(
            matches!(
                err,
                StoreError::Invalid {
                    field: "assignee",
                    ..
                }
            ),
            "{user:?}: {err:?}"
        );
        let err = store
            .update_incident(acme, 1, &IncidentChange::Assign(Some(user)), &by(&root, 5))
            .expect_err("refused assignee");
        assert!(matches!(
            err,
            StoreError::Invalid {
                field: "assignee",
                ..
            }
        ));
    }
    assert_eq!(audit_log(&store).len(), before);
    let a = store.get_alert(acme, 1).expect("alert");
    assert_eq!(a.assignee, Some(ana.id));
    let a = store
        .update_alert(acme, 1, &AlertChange::Assign(None), &by(&ana, 6))
        .expect("unassign");
    assert_eq!(a.assignee, None);
    let log = audit_log(&store);
    let want = format!("assignee from user:{} to nobody", ana.id);
    assert_eq!(
        log.last().and_then(|e| e.detail.as_deref()),
        Some(want.as_str())
    );
}

#[test]
fn alert_changes_follow_the_workflow_and_are_audited() {
    let (store, acme) = store_with_tenant();
    let ana = add_user(&store, "ana", Role::Analyst, &[acme]);
    commit(
        &store,
        acme,
        BatchCommit {
            alerts: vec![alert(1, "high", 1, 1, 1)],
            ..BatchCommit::default()
        },
        2,
    );
    let start = audit_log(&store).len();
    let change = |c: AlertChange, secs| store.update_alert(acme, 1, &c, &by(&ana, secs));
    let close = |reason: &str| AlertChange::Close {
        reason: reason.to_owned(),
    };

    let a = change(AlertChange::Acknowledge, 10).expect("ack");
    assert_eq!(
        (a.status, a.updated_at),
        (AlertStatus::Acknowledged, at(10))
    );
    change(AlertChange::Acknowledge, 11).expect("ack again: no change");
    change(AlertChange::Assign(Some(ana.id)), 12).expect("assign");
    change(AlertChange::Assign(Some(ana.id)), 13).expect("same assignee: no change");
    for bad in ["", "  ", "bell\u{7}", &"r".repeat(1001)] {
        let err = change(close(bad), 14).expect_err("bad reason");
        assert!(
            matches!(
                err,
                StoreError::Invalid {
                    field: "reason",
                    ..
                }
            ),
            "{err:?}"
        );
    }
    let a = change(close("scheduled admin task"), 15).expect("close");
    assert_eq!(a.status, AlertStatus::Closed);
    assert_eq!(a.close_reason.as_deref(), Some("scheduled admin task"));
    let err = change(close("again"), 16).expect_err("closed twice");
    assert!(
        matches!(
            err,
            StoreError::Invalid {
                field: "status",
                ..
            }
        ),
        "{err:?}"
    );
    let err = change(AlertChange::Acknowledge, 16).expect_err("ack closed");
    assert!(
        matches!(
            err,
            StoreError::Invalid {
                field: "status",
                ..
            }
        ),
        "{err:?}"
    );
    let a = change(AlertChange::Reopen, 17).expect("reopen");
    assert_eq!(
        (a.status, a.close_reason.as_deref()),
        (AlertStatus::Open, None)
    );
    assert_eq!(a.assignee, Some(ana.id));
    change(AlertChange::Reopen, 18).expect("reopen open: no change");
    assert_eq!(store.get_alert(acme, 1).expect("alert").updated_at, at(17));

    let log = audit_log(&store);
    let got: Vec<_> = log[start..]
        .iter()
        .map(|e| {
            (
                e.at,
                e.actor,
                e.action.as_str(),
                e.object.as_str(),
                e.tenant,
                e.source.as_str(),
            )
        })
        .collect();
    let who = Actor::User(ana.id);
    let src = "192.0.2.7:5000";
    assert_eq!(
        got,
        [
            (at(10), who, "alert.acknowledge", "alert:1", Some(acme), src),
            (at(12), who, "alert.assign", "alert:1", Some(acme), src),
            (at(15), who, "alert.close", "alert:1", Some(acme), src),
            (at(17), who, "alert.reopen", "alert:1", Some(acme), src),
        ]
    );
    assert_eq!(
        log[start + 2].detail.as_deref(),
        Some("reason \"scheduled admin task\"")
    );
    assert_eq!(log[start + 3].detail.as_deref(), Some("from closed"));
}

#[test]
fn incidents_list_read_and_change() {
    let (store, acme) = store_with_tenant();
    let ana = add_user(&store, "ana", Role::Analyst, &[acme]);
    let rows = seed_alerts(&store, acme);
    let mut more = vec![
        incident(3, "critical", 1, 30, 900),
        incident(4, "medium", 1, 40, 600),
    ];
    more[0].title = "Ransomware staging".to_owned();
    more[0].score = 99.0;
    more[1].score = 5.0;
    more[1].title = "Beaconing".to_owned();
    commit(
        &store,
        acme,
        BatchCommit {
            incidents: more,
            ..BatchCommit::default()
        },
        1001,
    );
    let list = |q: IncidentQuery| -> Vec<u64> {
        let page = store.incidents(acme, &q).expect("incidents");
        assert_eq!(page.total, page.items.len() as u64, "{q:?}");
        page.items.iter().map(|i| i.id).collect()
    };
    let q = IncidentQuery::default;
    assert_eq!(list(q()), [3, 4, 2, 1]);
    assert_eq!(
        list(IncidentQuery {
            sort: IncidentSort::Severity,
            ..q()
        }),
        [3, 1, 4, 2]
    );
    assert_eq!(
        list(IncidentQuery {
            sort: IncidentSort::Score,
            desc: false,
            ..q()
        }),
        [4, 1, 2, 3]
    );
    assert_eq!(
        list(IncidentQuery {
            sort: IncidentSort::FirstSeen,
            desc: false,
            ..q()
        }),
        [1, 2, 3, 4]
    );
    assert_eq!(
        list(IncidentQuery {
            min_severity_rank: Some(3),
            ..q()
        }),
        [3, 1]
    );
    assert_eq!(
        list(IncidentQuery {
            text: Some("ransomware".to_owned()),
            ..q()
        }),
        [3]
    );
    assert_eq!(
        list(IncidentQuery {
            text: Some("HOST4".to_owned()),
            ..q()
        }),
        [4],
        "text also matches the entity"
    );
    assert_eq!(
        list(IncidentQuery {
            since: Some(at(500)),
            until: Some(at(900)),
            ..q()
        }),
        [4, 2]
    );
    let page = store
        .incidents(
            acme,
            &IncidentQuery {
                limit: 1,
                offset: 1,
                ..q()
            },
        )
        .expect("page");
    assert_eq!((page.total, page.items.len()), (4, 1));
    assert_eq!(page.items[0].id, 4);

    // The incident's alerts, by first seen.
    let mut want: Vec<_> = rows
        .iter()
        .filter(|a| a.incident_id == Some(1))
        .map(|a| (a.first_seen, a.id))
        .collect();
    want.sort_unstable();
    assert!(want.len() >= 3);
    let got: Vec<_> = store
        .incident_alerts(acme, 1, 100)
        .expect("incident alerts")
        .iter()
        .map(|a| (a.first_seen, a.id))
        .collect();
    assert_eq!(got, want);
    assert_eq!(store.incident_alerts(acme, 1, 2).expect("two").len(), 2);
    assert!(store.incident_alerts(acme, 4, 10).expect("none").is_empty());
    assert!(matches!(
        store.incident_alerts(acme, 1, 0),
        Err(StoreError::Invalid { field: "limit", .. })
    ));
    assert!(matches!(
        store.incident_alerts(acme, 99, 10),
        Err(StoreError::NotFound { .. })
    ));

    // Changes and their records.
    let start = audit_log(&store).len();
    let close = IncidentChange::Close {
        reason: "contained".to_owned(),
    };
    let i = store
        .update_incident(acme, 3, &close, &by(&ana, 2000))
        .expect("close");
    assert_eq!((i.status, i.updated_at), (IncidentStatus::Closed, at(2000)));
    assert!(matches!(
        store.update_incident(acme, 3, &close, &by(&ana, 2001)),
        Err(StoreError::Invalid {
            field: "status",
            ..
        })
    ));
    assert_eq!(
        list(IncidentQuery {
            status: Some(IncidentStatus::Closed),
            ..q()
        }),
        [3]
    );
    let i = store
        .update_incident(acme, 3, &IncidentChange::Reopen, &by(&ana, 2002))
        .expect("reopen");
    assert_eq!(
        (i.status, i.close_reason.as_deref()),
        (IncidentStatus::Open, None)
    );
    store
        .update_incident(acme, 3, &IncidentChange::Reopen, &by(&ana, 2003))
        .expect("no change");
    let json = serde_json::to_value(&i).expect("json");
    assert_eq!(json["doc"]["alerts"], 1);
    assert_eq!(json["stage_chain"], "intrusion → lateral movement");
    let incident = |action: &str| (action.to_owned(), "incident:3".to_owned(), Some(acme));
    assert_eq!(
        actions_since(&store, start),
        [incident("incident.close"), incident("incident.reopen")]
    );
}

#[test]
fn long_lists_count_up_to_a_bound_and_still_page() {
    let (store, tenant) = store_with_tenant();
    let n = watchfloor_store::MAX_COUNT + 50;
    let alerts: Vec<AlertRow> = (1..=n).map(|i| alert(i, "low", 1, 0, i as i64)).collect();
    commit(
        &store,
        tenant,
        BatchCommit {
            alerts,
            ..BatchCommit::default()
        },
        1,
    );
    let q = AlertQuery {
        limit: 10,
        ..AlertQuery::default()
    };
    let page = store.alerts(tenant, &q).expect("page");
    assert_eq!(
        (page.total, page.total_capped),
        (watchfloor_store::MAX_COUNT, true)
    );
    assert_eq!(ids(&page.items)[0], n, "newest first, from the index");
    // Past the counted bound, pages still come.
    let far = store
        .alerts(
            tenant,
            &AlertQuery {
                offset: (n - 5) as u32,
                ..q.clone()
            },
        )
        .expect("far page");
    assert_eq!(ids(&far.items), [5, 4, 3, 2, 1]);
    // A filter matching fewer is counted exactly.
    let few = store
        .alerts(
            tenant,
            &AlertQuery {
                host: Some("host1".to_owned()),
                since: Some(at(n as i64 - 100)),
                ..q
            },
        )
        .expect("filtered");
    assert_eq!((few.total, few.total_capped), (50, false));
}
