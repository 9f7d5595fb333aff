//! Suppressions and per-tenant rule switches.

use watchfloor_store::{BatchCommit, NewSuppression, Role, StoreError, TenantId};

use crate::{actions_since, add_tenant, add_user, alert, at, audit_log, by, cli, commit, store};

fn new_suppression(expr: &str) -> NewSuppression {
    NewSuppression {
        expr: expr.to_owned(),
        owner: "ana".to_owned(),
        reason: "nightly backup job".to_owned(),
        expires_at: None,
        from_alert: None,
    }
}

#[test]
fn suppressions_are_created_listed_and_soft_deleted_with_audit() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let globex = add_tenant(&store, "globex");
    let ana = add_user(&store, "ana", Role::Analyst, &[acme]);
    commit(
        &store,
        acme,
        BatchCommit {
            alerts: vec![alert(5, "low", 1, 1, 1)],
            ..BatchCommit::default()
        },
        2,
    );
    let v0 = store.suppressions_version().expect("version");
    let start = audit_log(&store).len();

    let first = store
        .create_suppression(
            acme,
            &NewSuppression {
                expires_at: Some(at(100)),
                from_alert: Some(5),
                ..new_suppression("host = \"backup01\"")
            },
            &by(&ana, 10),
        )
        .expect("create");
    assert_eq!(first.tenant, acme);
    assert_eq!(first.expr, "host = \"backup01\"");
    assert_eq!(
        (
            first.created_at,
            first.expires_at,
            first.from_alert,
            first.hits
        ),
        (at(10), Some(at(100)), Some(5), 0)
    );
    assert!(first.is_active(at(99)));
    assert!(!first.is_active(at(100)), "expired at its expiry");
    let v1 = store.suppressions_version().expect("version");
    assert!(v1 > v0);
    let second = store
        .create_suppression(
            acme,
            &new_suppression("user = \"svc_backup\""),
            &by(&ana, 11),
        )
        .expect("create");
    let v2 = store.suppressions_version().expect("version");
    assert!(v2 > v1);
    let ids = |include| -> Vec<i64> {
        store
            .suppressions(acme, include)
            .expect("list")
            .iter()
            .map(|s| s.id)
            .collect()
    };
    assert_eq!(ids(false), [first.id, second.id]);
    assert!(store.suppressions(globex, true).expect("list").is_empty());

    // Another tenant's id is not found, and changes nothing.
    assert!(matches!(
        store.delete_suppression(globex, first.id, &by(&ana, 12)),
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.suppression(globex, first.id),
        Err(StoreError::NotFound { .. })
    ));
    let deleted = store
        .delete_suppression(acme, first.id, &by(&ana, 13))
        .expect("delete");
    assert_eq!(deleted.deleted_at, Some(at(13)));
    assert!(!deleted.is_active(at(20)));
    let v3 = store.suppressions_version().expect("version");
    assert!(v3 > v2);
    assert_eq!(ids(false), [second.id]);
    assert_eq!(ids(true), [first.id, second.id]);
    // Deleting again changes nothing, records nothing.
    let again = store
        .delete_suppression(acme, first.id, &by(&ana, 14))
        .expect("delete again");
    assert_eq!(again.deleted_at, Some(at(13)));
    assert_eq!(store.suppressions_version().expect("version"), v3);
    // Pipeline hits do not move the version.
    commit(
        &store,
        acme,
        BatchCommit {
            suppression_hits: vec![(second.id, 2)],
            ..BatchCommit::default()
        },
        15,
    );
    assert_eq!(store.suppressions_version().expect("version"), v3);

    let s = |id: i64| format!("suppression:{id}");
    assert_eq!(
        actions_since(&store, start),
        [
            ("suppression.create".to_owned(), s(first.id), Some(acme)),
            ("suppression.create".to_owned(), s(second.id), Some(acme)),
            ("suppression.delete".to_owned(), s(first.id), Some(acme)),
        ]
    );
    let log = audit_log(&store);
    assert_eq!(
        log[start].detail.as_deref(),
        Some(r#"expr "host = \"backup01\"", owner "ana", reason "nightly backup job""#)
    );
}

#[test]
fn bad_suppressions_are_typed_errors_and_record_nothing() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let globex = add_tenant(&store, "globex");
    commit(
        &store,
        globex,
        BatchCommit {
            alerts: vec![alert(1, "low", 1, 1, 1)],
            ..BatchCommit::default()
        },
        2,
    );
    let start = audit_log(&store).len();
    let ok = || new_suppression("host = \"x\"");
    let cases: Vec<(NewSuppression, &str)> = vec![
        (new_suppression(""), "expr"),
        (new_suppression(&"a".repeat(2001)), "expr"),
        (
            NewSuppression {
                owner: String::new(),
                ..ok()
            },
            "owner",
        ),
        (
            NewSuppression {
                reason: " ".to_owned(),
                ..ok()
            },
            "reason",
        ),
        (
            NewSuppression {
                reason: "r".repeat(1001),
                ..ok()
            },
            "reason",
        ),
        (
            NewSuppression {
                expires_at: Some(at(5)),
                ..ok()
            },
            "expires_at",
        ),
    ];
    for (new, field) in cases {
        let err = store
            .create_suppression(acme, &new, &cli(5))
            .expect_err(field);
        assert!(
            matches!(err, StoreError::Invalid { field: f, .. } if f == field),
            "{field}: {err:?}"
        );
    }
    // An alert of another tenant is not one to suppress from.
    let err = store
        .create_suppression(
            acme,
            &NewSuppression {
                from_alert: Some(1),
                ..ok()
            },
            &cli(5),
        )
        .expect_err("foreign alert");
    assert!(
        matches!(
            err,
            StoreError::NotFound {
                field: "from_alert",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(matches!(
        store.create_suppression(TenantId(99), &ok(), &cli(5)),
        Err(StoreError::NotFound {
            field: "tenant",
            ..
        })
    ));
    assert!(
        store
            .create_suppression(acme, &new_suppression(&"a".repeat(2000)), &cli(5))
            .is_ok(),
        "2000 characters are fine"
    );
    assert_eq!(audit_log(&store).len(), start + 1);
}

#[test]
fn rules_switch_per_tenant_and_raise_the_version() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let globex = add_tenant(&store, "globex");
    let ana = add_user(&store, "ana", Role::Analyst, &[acme]);
    assert_eq!(store.rule_settings_version().expect("version"), 0);
    let start = audit_log(&store).len();

    // Enabling a rule that is on by default changes nothing.
    assert!(
        !store
            .set_rule_enabled(acme, "rule-a", true, &by(&ana, 1))
            .expect("no-op")
    );
    assert_eq!(store.rule_settings_version().expect("version"), 0);
    assert!(
        store
            .set_rule_enabled(acme, "rule-b", false, &by(&ana, 2))
            .expect("off")
    );
    assert!(
        store
            .set_rule_enabled(acme, "rule-a", false, &by(&ana, 3))
            .expect("off")
    );
    let v = store.rule_settings_version().expect("version");
    assert_eq!(v, 2);
    assert!(
        !store
            .set_rule_enabled(acme, "rule-a", false, &by(&ana, 4))
            .expect("again")
    );
    assert_eq!(store.rule_settings_version().expect("version"), v);
    assert_eq!(
        store.disabled_rules(acme).expect("disabled"),
        ["rule-a", "rule-b"]
    );
    assert!(store.disabled_rules(globex).expect("other").is_empty());

    assert!(
        store
            .set_rule_enabled(acme, "rule-b", true, &by(&ana, 5))
            .expect("on")
    );
    assert_eq!(store.rule_settings_version().expect("version"), v + 1);
    assert_eq!(store.disabled_rules(acme).expect("disabled"), ["rule-a"]);
    assert_eq!(
        store.rule_settings(acme).expect("settings"),
        [("rule-a".to_owned(), false), ("rule-b".to_owned(), true)]
    );
    // Another tenant's switch is its own, and raises the one version.
    assert!(
        store
            .set_rule_enabled(globex, "rule-b", false, &cli(6))
            .expect("off")
    );
    assert_eq!(store.rule_settings_version().expect("version"), v + 2);
    assert_eq!(store.disabled_rules(acme).expect("disabled"), ["rule-a"]);
    assert_eq!(store.disabled_rules(globex).expect("disabled"), ["rule-b"]);

    let rule = |action: &str, id: &str, t| (action.to_owned(), format!("rule:{id}"), Some(t));
    assert_eq!(
        actions_since(&store, start),
        [
            rule("rule.disable", "rule-b", acme),
            rule("rule.disable", "rule-a", acme),
            rule("rule.enable", "rule-b", acme),
            rule("rule.disable", "rule-b", globex),
        ]
    );

    for bad in ["", " padded", "a\tb", &"r".repeat(201)] {
        assert!(matches!(
            store.set_rule_enabled(acme, bad, false, &cli(7)),
            Err(StoreError::Invalid {
                field: "rule_id",
                ..
            })
        ));
    }
    assert!(matches!(
        store.set_rule_enabled(TenantId(99), "rule-a", false, &cli(7)),
        Err(StoreError::NotFound { .. })
    ));
}

#[test]
fn asset_inventories_are_replaced_per_tenant_with_audit() {
    use watchfloor_store::InventoryFormat;
    let store = store();
    let acme = add_tenant(&store, "acme");
    let globex = add_tenant(&store, "globex");
    let ana = add_user(&store, "ana", Role::Analyst, &[acme]);
    assert_eq!(store.asset_inventory(acme).expect("read"), None);
    let start = audit_log(&store).len();

    let csv = "host,ip\nweb01.acme.example,192.0.2.10\n";
    store
        .replace_asset_inventory(acme, InventoryFormat::Csv, csv, 1, &by(&ana, 10))
        .expect("replace");
    let json = r#"[{"host": "web01.acme.example"}, {"host": "db01.acme.example"}]"#;
    store
        .replace_asset_inventory(acme, InventoryFormat::Json, json, 2, &by(&ana, 11))
        .expect("replace");
    let got = store.asset_inventory(acme).expect("read").expect("stored");
    assert_eq!(
        (got.format, got.body.as_str(), got.assets, got.updated_at),
        (InventoryFormat::Json, json, 2, at(11))
    );
    assert_eq!(store.asset_inventory(globex).expect("read"), None);
    let replaced = ("assets.replace".to_owned(), "assets".to_owned(), Some(acme));
    assert_eq!(actions_since(&store, start), [replaced.clone(), replaced]);
    let last = audit_log(&store).pop().expect("audit");
    assert_eq!(last.detail.as_deref(), Some("2 assets (json)"));

    let missing =
        store.replace_asset_inventory(TenantId(999), InventoryFormat::Csv, csv, 1, &cli(12));
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );
    let huge = "x".repeat(watchfloor_store::MAX_INVENTORY_BYTES + 1);
    let too_big = store.replace_asset_inventory(acme, InventoryFormat::Csv, &huge, 0, &cli(13));
    assert!(
        matches!(too_big, Err(StoreError::Invalid { field: "body", .. })),
        "{too_big:?}"
    );
}
