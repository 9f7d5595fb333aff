//! Searching stored records: filters, order, paging, tenant separation, the scan bound.

use watchfloor_store::{
    BatchCommit, EventPage, EventQuery, MAX_SCAN_ROWS, ProcessedRecord, Store, StoreError, TenantId,
};

use crate::{add_tenant, append, at, commit, processed, store};

struct Fixture {
    store: Store,
    acme: TenantId,
    globex: TenantId,
    /// acme's records r0 … r4.
    r: Vec<i64>,
    theirs: i64,
}

/// acme: r0 (event 10 s, WS1/alice), r1 (20 s, ws2/bob), r2 (no event time: its
/// receipt at 100 s), r3 (unprocessed, received at 200 s), r4 (30 s, WS1/Alice).
fn fixture() -> Fixture {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let globex = add_tenant(&store, "globex");
    let mut r = append(
        &store,
        acme,
        100,
        &[
            "process MimiKatz.exe started",
            "lsass access by MIMIKATZ",
            "garbage",
        ],
    );
    r.extend(append(&store, acme, 200, &["mimikatz pending"]));
    r.extend(append(&store, acme, 100, &["powershell -enc"]));
    let theirs = append(&store, globex, 100, &["mimikatz at globex"])[0];
    commit(
        &store,
        acme,
        BatchCommit {
            records: vec![
                processed(r[0], Some(10), "WS1", "alice"),
                processed(r[1], Some(20), "ws2", "bob"),
                ProcessedRecord {
                    id: r[2],
                    error: Some("not JSON".to_owned()),
                    ..ProcessedRecord::default()
                },
                processed(r[4], Some(30), "WS1", "Alice"),
            ],
            ..BatchCommit::default()
        },
        300,
    );
    Fixture {
        store,
        acme,
        globex,
        r,
        theirs,
    }
}

fn search(f: &Fixture, q: EventQuery) -> EventPage {
    f.store.search_events(f.acme, &q).expect("search")
}

fn ids(page: &EventPage) -> Vec<i64> {
    page.items.iter().map(|e| e.id).collect()
}

#[test]
fn search_orders_by_event_time_or_receipt_time() {
    let f = fixture();
    let r = &f.r;
    let page = search(&f, EventQuery::default());
    assert_eq!(ids(&page), [r[3], r[2], r[4], r[1], r[0]]);
    assert!(!page.has_more && !page.scan_capped);
    assert_eq!(page.scanned, 5);
    let oldest = EventQuery {
        newest_first: false,
        ..EventQuery::default()
    };
    assert_eq!(ids(&search(&f, oldest)), [r[0], r[1], r[4], r[2], r[3]]);
    let range = EventQuery {
        since: Some(at(15)),
        until: Some(at(150)),
        newest_first: false,
        ..EventQuery::default()
    };
    assert_eq!(ids(&search(&f, range)), [r[1], r[4], r[2]]);
    let until_is_exclusive = EventQuery {
        since: Some(at(10)),
        until: Some(at(20)),
        ..EventQuery::default()
    };
    assert_eq!(ids(&search(&f, until_is_exclusive)), [r[0]]);
    let e = &search(&f, EventQuery::default()).items[0];
    assert_eq!(e.line, b"mimikatz pending");
    assert_eq!((e.received_at, e.event_time), (at(200), None));
    assert_eq!(
        (e.source.as_str(), e.format_hint.as_deref()),
        ("10.0.0.1:4000", Some("json"))
    );
    assert!(!e.processed);
}

#[test]
fn search_filters() {
    let f = fixture();
    let r = &f.r;
    let q = EventQuery::default;
    let host = EventQuery {
        host: Some("ws1".to_owned()),
        ..q()
    };
    assert_eq!(ids(&search(&f, host)), [r[4], r[0]]);
    let user = EventQuery {
        user: Some("ALICE".to_owned()),
        ..q()
    };
    assert_eq!(ids(&search(&f, user)), [r[4], r[0]]);
    let one = EventQuery {
        contains: vec!["mimikatz".to_owned()],
        ..q()
    };
    assert_eq!(ids(&search(&f, one)), [r[3], r[1], r[0]]);
    let both = EventQuery {
        contains: vec!["MIMIKATZ".to_owned(), "Lsass".to_owned()],
        ..q()
    };
    assert_eq!(ids(&search(&f, both)), [r[1]]);
    let processed_only = EventQuery {
        contains: vec!["mimikatz".to_owned()],
        processed_only: true,
        ..q()
    };
    assert_eq!(ids(&search(&f, processed_only)), [r[1], r[0]]);
    let nothing = EventQuery {
        host: Some("WS1".to_owned()),
        contains: vec!["lsass".to_owned()],
        ..q()
    };
    assert!(search(&f, nothing).items.is_empty());
    let failed = search(
        &f,
        EventQuery {
            contains: vec!["garbage".to_owned()],
            ..q()
        },
    );
    assert_eq!(failed.items[0].decode_error.as_deref(), Some("not JSON"));
    let json = serde_json::to_value(&failed.items[0]).expect("json");
    assert_eq!(json["line"], "garbage");
    assert_eq!(json["event_time"], serde_json::Value::Null);
}

#[test]
fn search_pages() {
    let f = fixture();
    let r = &f.r;
    let page = |offset| {
        search(
            &f,
            EventQuery {
                limit: 2,
                offset,
                ..EventQuery::default()
            },
        )
    };
    let (p0, p1, p2) = (page(0), page(2), page(4));
    assert_eq!((ids(&p0), p0.has_more), (vec![r[3], r[2]], true));
    assert_eq!((ids(&p1), p1.has_more), (vec![r[4], r[1]], true));
    assert_eq!((ids(&p2), p2.has_more), (vec![r[0]], false));
    assert!(page(5).items.is_empty());
}

#[test]
fn search_sees_only_the_tenants_records() {
    let f = fixture();
    let q = EventQuery {
        contains: vec!["mimikatz".to_owned()],
        ..EventQuery::default()
    };
    let theirs = f.store.search_events(f.globex, &q).expect("search");
    assert_eq!(ids(&theirs), [f.theirs]);
    assert!(!ids(&search(&f, q)).contains(&f.theirs));
}

#[test]
fn bad_searches_are_typed_errors() {
    let f = fixture();
    let q = EventQuery::default;
    for (query, field) in [
        (EventQuery { limit: 0, ..q() }, "limit"),
        (EventQuery { limit: 1001, ..q() }, "limit"),
        (
            EventQuery {
                contains: vec![String::new()],
                ..q()
            },
            "contains",
        ),
        (
            EventQuery {
                contains: vec!["x".to_owned(); 17],
                ..q()
            },
            "contains",
        ),
        (
            EventQuery {
                host: Some("h".repeat(257)),
                ..q()
            },
            "host",
        ),
    ] {
        let err = f.store.search_events(f.acme, &query).expect_err(field);
        assert!(
            matches!(err, StoreError::Invalid { field: f, .. } if f == field),
            "{err:?}"
        );
    }
}

#[test]
fn a_search_stops_at_its_scan_bound_and_says_so() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let filler = vec![&b"ordinary line"[..]; MAX_SCAN_ROWS as usize + 10];
    store
        .append_records(acme, "cli", None, &filler, at(100))
        .expect("filler");
    let needle = append(&store, acme, 50, &["the needle"])[0];
    let q = EventQuery {
        contains: vec!["needle".to_owned()],
        ..EventQuery::default()
    };
    // Newest first, the needle is beyond the bound.
    let page = store.search_events(acme, &q).expect("search");
    assert!(page.items.is_empty());
    assert!(page.scan_capped);
    assert_eq!(page.scanned, MAX_SCAN_ROWS);
    // A time range that holds it finds it, completely.
    let narrowed = EventQuery {
        until: Some(at(60)),
        ..q.clone()
    };
    let page = store.search_events(acme, &narrowed).expect("search");
    assert_eq!(ids(&page), [needle]);
    assert!(!page.scan_capped);
    assert_eq!(page.scanned, 1);
    // Oldest first it comes first; the bound still stops the rest of the walk.
    let oldest = EventQuery {
        newest_first: false,
        ..q
    };
    let page = store.search_events(acme, &oldest).expect("search");
    assert_eq!(ids(&page), [needle]);
    assert!(page.scan_capped);
    // A full page ends the walk early, without reaching the bound.
    let first = EventQuery {
        limit: 3,
        ..EventQuery::default()
    };
    let page = store.search_events(acme, &first).expect("search");
    assert_eq!(page.items.len(), 3);
    assert!(page.has_more && !page.scan_capped);
    assert_eq!(page.scanned, 4);
}
