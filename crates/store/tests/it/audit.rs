//! The audit log: every change leaves one record, and the log cannot be edited.

use watchfloor_store::{
    Actor, AuditAction, AuditQuery, Origin, Password, Role, StoreError, Timestamp,
};

use crate::{PASSWORD, add_tenant, at, cli, new_user, store, temp_dir};

#[test]
fn every_change_leaves_a_record_with_actor_action_object_and_source() {
    let store = store();
    let acme = store.create_tenant("acme", &cli(1)).expect("tenant").id;
    let root = store
        .create_user(&new_user("root", Role::Admin, &[]), &cli(2))
        .expect("admin");
    let by_root = |secs| Origin::new(Actor::User(root.id), "198.51.100.4", at(secs));
    store
        .rename_tenant(acme, "Acme", &by_root(3))
        .expect("rename");
    store
        .set_tenant_retention(acme, 30, &by_root(4))
        .expect("retention");
    let ana = store
        .create_user(&new_user("ana", Role::Analyst, &[acme]), &by_root(5))
        .expect("analyst");
    let cus = store
        .create_user(&new_user("cus", Role::Customer, &[acme]), &by_root(6))
        .expect("customer");
    let token = store
        .create_token(acme, Role::Customer, "portal", None, &by_root(7))
        .expect("token");
    store
        .revoke_token(token.token.id, &by_root(8))
        .expect("revoke");
    store.disable_user(ana.id, &by_root(9)).expect("disable");
    store
        .verify_login("cus", &Password::new(PASSWORD), "203.0.113.9", at(10))
        .expect("login");

    let page = store.audit(&AuditQuery::default()).expect("audit");
    assert_eq!(page.next, None);
    let got: Vec<_> = page
        .entries
        .iter()
        .rev()
        .map(|e| {
            (
                e.at,
                e.actor,
                e.action.as_str(),
                e.object.clone(),
                e.source.as_str(),
            )
        })
        .collect();
    let root_actor = Actor::User(root.id);
    let want: Vec<(Timestamp, Actor, &str, String, &str)> = vec![
        (
            at(1),
            Actor::System,
            "tenant.create",
            format!("tenant:{}", acme.0),
            "cli",
        ),
        (
            at(2),
            Actor::System,
            "user.create",
            format!("user:{}", root.id),
            "cli",
        ),
        (
            at(3),
            root_actor,
            "tenant.rename",
            format!("tenant:{}", acme.0),
            "198.51.100.4",
        ),
        (
            at(4),
            root_actor,
            "tenant.retention",
            format!("tenant:{}", acme.0),
            "198.51.100.4",
        ),
        (
            at(5),
            root_actor,
            "user.create",
            format!("user:{}", ana.id),
            "198.51.100.4",
        ),
        (
            at(6),
            root_actor,
            "user.create",
            format!("user:{}", cus.id),
            "198.51.100.4",
        ),
        (
            at(7),
            root_actor,
            "token.create",
            format!("token:{}", token.token.id),
            "198.51.100.4",
        ),
        (
            at(8),
            root_actor,
            "token.revoke",
            format!("token:{}", token.token.id),
            "198.51.100.4",
        ),
        (
            at(9),
            root_actor,
            "user.disable",
            format!("user:{}", ana.id),
            "198.51.100.4",
        ),
        (
            at(10),
            Actor::User(cus.id),
            "user.login",
            format!("user:{}", cus.id),
            "203.0.113.9",
        ),
    ];
    assert_eq!(got, want);
    assert_eq!(page.entries[0].action, AuditAction::UserLogin.as_str());

    let rename = &page.entries[7];
    assert_eq!(
        rename.detail.as_deref(),
        Some(r#"renamed from "acme" to "Acme""#)
    );
    let text = serde_json::to_string(&page).expect("json");
    assert!(!text.contains(PASSWORD), "a password reached the audit log");
}

#[test]
fn no_op_changes_and_failed_changes_leave_no_record() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let before = store
        .audit(&AuditQuery::default())
        .expect("audit")
        .entries
        .len();
    store
        .rename_tenant(acme, "acme", &cli(1))
        .expect("same name");
    store
        .set_tenant_retention(acme, 90, &cli(1))
        .expect("same retention");
    store.create_tenant("ACME", &cli(1)).expect_err("duplicate");
    store
        .create_user(&new_user("x", Role::Customer, &[]), &cli(1))
        .expect_err("invalid");
    let after = store
        .audit(&AuditQuery::default())
        .expect("audit")
        .entries
        .len();
    assert_eq!(before, after);
}

#[test]
fn lockouts_are_recorded() {
    let store = store();
    for secs in 0..5 {
        store
            .verify_login(
                "ghost",
                &Password::new("nothing at all"),
                "192.0.2.1",
                at(secs),
            )
            .expect_err("unknown");
    }
    let page = store.audit(&AuditQuery::default()).expect("audit");
    assert_eq!(
        page.entries.len(),
        1,
        "single failures are counted, not audited"
    );
    let entry = &page.entries[0];
    assert_eq!(entry.action, "login.locked");
    assert_eq!(entry.object, "login:ghost");
    assert_eq!(entry.actor, Actor::System);
    assert_eq!(entry.source, "192.0.2.1");
}

#[test]
fn entries_filter_by_tenant_newest_first_a_page_at_a_time() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let globex = add_tenant(&store, "globex");
    for days in 1..=5 {
        store
            .set_tenant_retention(acme, days, &cli(days.into()))
            .expect("retention");
        store
            .set_tenant_retention(globex, days, &cli(days.into()))
            .expect("retention");
    }
    // acme: create + 5 retention changes = 6 records.
    let mut query = AuditQuery {
        tenant: Some(acme),
        before: None,
        limit: 4,
    };
    let first = store.audit(&query).expect("page 1");
    assert_eq!(first.entries.len(), 4);
    assert!(first.entries.iter().all(|e| e.tenant == Some(acme)));
    assert!(
        first.entries.windows(2).all(|w| w[0].id > w[1].id),
        "not newest first"
    );
    assert_eq!(
        first.entries[0].detail.as_deref(),
        Some("retention from 4 to 5 days")
    );
    query.before = first.next;
    let second = store.audit(&query).expect("page 2");
    assert_eq!(second.entries.len(), 2);
    assert_eq!(second.next, None);
    assert_eq!(second.entries[1].action, "tenant.create");

    for limit in [0, AuditQuery::MAX_LIMIT + 1] {
        let err = store
            .audit(&AuditQuery {
                limit,
                ..AuditQuery::default()
            })
            .expect_err("limit");
        assert!(
            matches!(err, StoreError::Invalid { field: "limit", .. }),
            "{err:?}"
        );
    }
}

#[test]
fn the_log_is_append_only() {
    let dir = temp_dir("append-only");
    let path = dir.join("watchfloor.db");
    let store = watchfloor_store::Store::open(&path).expect("open");
    add_tenant(&store, "acme");
    drop(store);
    let raw = rusqlite::Connection::open(&path).expect("raw open");
    assert!(
        raw.execute("UPDATE audit_log SET source = 'forged'", [])
            .is_err()
    );
    assert!(raw.execute("DELETE FROM audit_log", []).is_err());
}
