//! Tenants and the validation of their inputs.

use watchfloor_store::{DEFAULT_RETENTION_DAYS, Origin, StoreError, TenantId};

use crate::{add_tenant, at, cli, store};

fn invalid_field(err: &StoreError) -> Option<&'static str> {
    match err {
        StoreError::Invalid { field, .. } => Some(field),
        _ => None,
    }
}

#[test]
fn create_list_get_rename_and_set_retention() {
    let store = store();
    let acme = store.create_tenant("Acme Corp", &cli(1)).expect("create");
    let globex = store.create_tenant("Globex", &cli(2)).expect("create");
    assert_eq!(acme.retention_days, DEFAULT_RETENTION_DAYS);
    assert_eq!(acme.created_at, at(1));
    assert_ne!(acme.id, globex.id);
    assert_eq!(
        store.tenants().expect("list"),
        vec![acme.clone(), globex.clone()]
    );
    assert_eq!(store.tenant(acme.id).expect("get"), acme);
    assert_eq!(
        store.tenant_by_name("acme corp").expect("by name").id,
        acme.id
    );

    let renamed = store
        .rename_tenant(acme.id, "Acme Inc", &cli(3))
        .expect("rename");
    assert_eq!(renamed.name, "Acme Inc");
    assert_eq!(store.tenant(acme.id).expect("get").name, "Acme Inc");
    let kept = store
        .set_tenant_retention(acme.id, 400, &cli(4))
        .expect("retention");
    assert_eq!(kept.retention_days, 400);
    // A case-only rename of the tenant itself is not a clash with itself.
    store
        .rename_tenant(acme.id, "ACME INC", &cli(5))
        .expect("case rename");
}

#[test]
fn bad_names_are_typed_errors_naming_the_field() {
    let store = store();
    for bad in ["", "   ", " padded", "tab\there", &"x".repeat(101)] {
        let err = store.create_tenant(bad, &cli(0)).expect_err(bad);
        assert_eq!(invalid_field(&err), Some("name"), "{bad:?}: {err}");
    }
    add_tenant(&store, "acme");
    let err = store.create_tenant("ACME", &cli(0)).expect_err("duplicate");
    assert!(
        matches!(&err, StoreError::Duplicate { field: "name", value } if value == "ACME"),
        "{err:?}"
    );
    let globex = add_tenant(&store, "globex");
    let err = store
        .rename_tenant(globex, "Acme", &cli(0))
        .expect_err("rename clash");
    assert!(
        matches!(err, StoreError::Duplicate { field: "name", .. }),
        "{err:?}"
    );
}

#[test]
fn unknown_tenants_and_bad_retention_are_typed_errors() {
    let store = store();
    let missing = TenantId(42);
    for err in [
        store.tenant(missing).expect_err("get"),
        store
            .rename_tenant(missing, "x", &cli(0))
            .expect_err("rename"),
        store
            .set_tenant_retention(missing, 30, &cli(0))
            .expect_err("retention"),
    ] {
        assert!(
            matches!(&err, StoreError::NotFound { field: "tenant", value } if value == "42"),
            "{err:?}"
        );
    }
    let err = store.tenant_by_name("nobody").expect_err("by name");
    assert!(
        matches!(
            err,
            StoreError::NotFound {
                field: "tenant",
                ..
            }
        ),
        "{err:?}"
    );

    let acme = add_tenant(&store, "acme");
    for days in [0, 36_501] {
        let err = store
            .set_tenant_retention(acme, days, &cli(0))
            .expect_err("days");
        assert_eq!(invalid_field(&err), Some("retention_days"), "{err}");
    }
}

#[test]
fn a_change_needs_a_source() {
    let store = store();
    for source in ["", "line\nbreak", &"s".repeat(201)] {
        let err = store
            .create_tenant("acme", &Origin::system(source, at(0)))
            .expect_err("bad source");
        assert_eq!(invalid_field(&err), Some("source"), "{err}");
    }
    assert!(store.tenants().expect("list").is_empty());
}
