//! Opening, migrating and the file's settings.

use watchfloor_store::{SCHEMA_VERSION, Store, StoreError};

use crate::{cli, temp_dir};

#[test]
fn migrations_apply_once_and_reopening_is_a_no_op() {
    let dir = temp_dir("reopen");
    let path = dir.join("watchfloor.db");
    let first = {
        let store = Store::open(&path).expect("open new");
        store.create_tenant("acme", &cli(0)).expect("tenant");
        store.migrations().expect("migrations")
    };
    assert_eq!(
        first.iter().map(|m| m.0).collect::<Vec<_>>(),
        (1..=SCHEMA_VERSION).collect::<Vec<_>>()
    );
    let store = Store::open(&path).expect("reopen");
    assert_eq!(
        store.migrations().expect("migrations"),
        first,
        "reopen re-applied"
    );
    assert_eq!(store.tenant_by_name("acme").expect("tenant").name, "acme");
}

#[test]
fn the_file_is_in_wal_mode_and_private() {
    let dir = temp_dir("wal");
    let path = dir.join("watchfloor.db");
    drop(Store::open(&path).expect("open"));
    let raw = rusqlite::Connection::open(&path).expect("raw open");
    let mode: String = raw
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("journal mode");
    assert_eq!(mode, "wal");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "database readable by others: {mode:o}");
    }
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let dir = temp_dir("newer");
    let path = dir.join("watchfloor.db");
    drop(Store::open(&path).expect("open"));
    let raw = rusqlite::Connection::open(&path).expect("raw open");
    raw.execute(
        "INSERT INTO migrations (version, applied_at_ns) VALUES (?1, 0)",
        [SCHEMA_VERSION + 1],
    )
    .expect("fake a newer migration");
    drop(raw);
    let err = Store::open(&path).expect_err("newer schema opened");
    assert!(
        matches!(err, StoreError::SchemaTooNew { found, known }
            if found == SCHEMA_VERSION + 1 && known == SCHEMA_VERSION),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer"), "{err}");
}

#[test]
fn a_file_that_is_not_a_database_is_an_error_not_a_panic() {
    let dir = temp_dir("garbage");
    let path = dir.join("watchfloor.db");
    std::fs::write(&path, b"this is not an SQLite database, not at all, no").expect("write");
    assert!(matches!(Store::open(&path), Err(StoreError::Database(_))));
}
