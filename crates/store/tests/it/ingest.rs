//! Raw records: all-or-nothing batches, order, paging and tenant separation.

use watchfloor_store::{AppendReceipt, MAX_RECORD_BYTES, Store, StoreError, TenantId};

use crate::{add_tenant, at, store, temp_dir};

fn lines(store: &Store, tenant: TenantId) -> Vec<Vec<u8>> {
    store
        .pending_records(tenant, 0, 1000)
        .expect("pending")
        .into_iter()
        .map(|r| r.line)
        .collect()
}

#[test]
fn batches_keep_their_order_and_ids_grow() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let first = store
        .append_records(
            acme,
            "10.0.0.1:5000",
            Some("json"),
            &[b"{\"a\":1}", b"{\"a\":2}"],
            at(1),
        )
        .expect("append");
    assert_eq!(first.count, 2);
    let second = store
        .append_records(
            acme,
            "10.0.0.2:6000",
            None,
            &[b"three", b"\xff\xfe raw"],
            at(2),
        )
        .expect("append");
    assert_eq!(
        second,
        AppendReceipt {
            first_id: first.first_id + 2,
            count: 2
        }
    );
    assert_eq!(store.count_records(acme).expect("count"), 4);
    let all = store.pending_records(acme, 0, 100).expect("pending");
    let ids: Vec<i64> = all.iter().map(|r| r.id).collect();
    let start = first.first_id;
    assert_eq!(ids, vec![start, start + 1, start + 2, start + 3]);
    assert_eq!(
        lines(&store, acme),
        vec![
            b"{\"a\":1}".to_vec(),
            b"{\"a\":2}".to_vec(),
            b"three".to_vec(),
            b"\xff\xfe raw".to_vec()
        ]
    );
    assert_eq!(all[0].format_hint.as_deref(), Some("json"));
    assert_eq!(all[0].source, "10.0.0.1:5000");
    assert_eq!(all[0].received_at, at(1));
    assert_eq!(all[2].format_hint, None);
    assert!(all.iter().all(|r| !r.processed && r.tenant == acme));
    // Paging by cursor.
    let page = store.pending_records(acme, start + 1, 1).expect("page");
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].id, start + 2);
    assert!(
        store
            .pending_records(acme, start + 3, 10)
            .expect("end")
            .is_empty()
    );
}

#[test]
fn tenants_see_only_their_records() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let globex = add_tenant(&store, "globex");
    store
        .append_records(acme, "cli", None, &[b"acme line"], at(1))
        .expect("append");
    assert_eq!(store.count_records(globex).expect("count"), 0);
    assert!(lines(&store, globex).is_empty());
    assert_eq!(lines(&store, acme), vec![b"acme line".to_vec()]);
}

#[test]
fn a_refused_batch_stores_nothing() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let long = vec![b'x'; MAX_RECORD_BYTES + 1];
    let cases: Vec<(Result<AppendReceipt, StoreError>, &str)> = vec![
        (
            store.append_records(acme, "cli", None, &[b"ok", &long], at(1)),
            "oversized line",
        ),
        (
            store.append_records(acme, "cli", None, &[], at(1)),
            "empty batch",
        ),
        (
            store.append_records(acme, "", None, &[b"ok"], at(1)),
            "empty source",
        ),
        (
            store.append_records(acme, "cli", Some("Bad Hint"), &[b"ok"], at(1)),
            "bad hint",
        ),
    ];
    for (result, what) in cases {
        assert!(
            matches!(result, Err(StoreError::Invalid { .. })),
            "{what}: {result:?}"
        );
    }
    let unknown = store.append_records(TenantId(999), "cli", None, &[b"ok"], at(1));
    assert!(
        matches!(unknown, Err(StoreError::NotFound { .. })),
        "{unknown:?}"
    );
    assert_eq!(store.count_records(acme).expect("count"), 0);
    assert_eq!(store.count_records(TenantId(999)).expect("count"), 0);
}

#[test]
fn a_batch_failing_midway_rolls_back_entirely() {
    let dir = temp_dir("ingest-rollback");
    let path = dir.join("watchfloor.db");
    let store = Store::open(&path).expect("open");
    let acme = add_tenant(&store, "acme");
    {
        // A second connection adds a trigger that refuses one record, so the third
        // insert of the batch fails after two have gone in.
        let conn = rusqlite::Connection::open(&path).expect("second connection");
        conn.execute_batch(
            "CREATE TRIGGER refuse_poison BEFORE INSERT ON ingest
             WHEN NEW.line = CAST('poison' AS BLOB)
             BEGIN SELECT RAISE(ABORT, 'poison'); END;",
        )
        .expect("trigger");
    }
    let result = store.append_records(
        acme,
        "cli",
        None,
        &[b"one", b"two", b"poison", b"four"],
        at(1),
    );
    assert!(matches!(result, Err(StoreError::Database(_))), "{result:?}");
    assert_eq!(store.count_records(acme).expect("count"), 0);
    store
        .append_records(acme, "cli", None, &[b"after"], at(2))
        .expect("append after");
    drop(store);
    // Acknowledged records are in the file.
    let reopened = Store::open(&path).expect("reopen");
    assert_eq!(lines(&reopened, acme), vec![b"after".to_vec()]);
}
