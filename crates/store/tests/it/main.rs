//! The store's integration tests: one binary, a module per concern.

mod access;
mod audit;
mod ingest;
mod migrations;
mod tenants;
mod tokens;
mod users;

use std::path::PathBuf;

use watchfloor_store::{NewUser, Origin, Password, Role, Store, TenantId, Timestamp, User};

/// A fixed instant plus `secs` seconds.
pub fn at(secs: i64) -> Timestamp {
    Timestamp(1_750_000_000_000_000_000 + secs * 1_000_000_000)
}

/// A change made from the command line at `at(secs)`.
pub fn cli(secs: i64) -> Origin {
    Origin::system("cli", at(secs))
}

pub fn store() -> Store {
    Store::open_in_memory().expect("in-memory store")
}

/// A fresh, empty folder for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("watchfloor-store-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

pub const PASSWORD: &str = "correct horse battery";

pub fn new_user(login: &str, role: Role, tenants: &[TenantId]) -> NewUser {
    NewUser {
        login: login.to_owned(),
        display_name: format!("{login} (test)"),
        role,
        tenants: tenants.to_vec(),
        password: Password::new(PASSWORD),
    }
}

pub fn add_user(store: &Store, login: &str, role: Role, tenants: &[TenantId]) -> User {
    store
        .create_user(&new_user(login, role, tenants), &cli(0))
        .expect("create user")
}

pub fn add_tenant(store: &Store, name: &str) -> TenantId {
    store
        .create_tenant(name, &cli(0))
        .expect("create tenant")
        .id
}

#[test]
fn store_is_shared_across_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Store>();

    let store = std::sync::Arc::new(store());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let store = store.clone();
            std::thread::spawn(move || {
                for j in 0..5 {
                    store
                        .create_tenant(&format!("tenant {i}-{j}"), &cli(0))
                        .expect("create tenant");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
    assert_eq!(store.tenants().expect("tenants").len(), 20);
}
