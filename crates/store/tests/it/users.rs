//! Users: password hashing, login checks, lockout, validation.

use watchfloor_store::{
    LoginPolicy, MIN_PASSWORD_CHARS, Password, Role, Store, StoreError, TenantId, User,
};

use crate::{PASSWORD, add_tenant, add_user, at, cli, new_user, store, temp_dir};

fn login(store: &Store, login: &str, password: &str, secs: i64) -> Result<User, StoreError> {
    store.verify_login(login, &Password::new(password), "192.0.2.7", at(secs))
}

#[test]
fn the_stored_password_is_an_argon2id_hash() {
    let dir = temp_dir("argon2id");
    let path = dir.join("watchfloor.db");
    let store = Store::open(&path).expect("open");
    add_user(&store, "root", Role::Admin, &[]);
    drop(store);
    let raw = rusqlite::Connection::open(&path).expect("raw open");
    let hash: String = raw
        .query_row(
            "SELECT password_hash FROM users WHERE login = 'root'",
            [],
            |r| r.get(0),
        )
        .expect("hash");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(!hash.contains(PASSWORD));
}

#[test]
fn verify_login_accepts_the_password_and_refuses_alike_otherwise() {
    let store = store();
    let user = add_user(&store, "Alice", Role::Admin, &[]);
    assert_eq!(user.login, "alice", "logins are stored lower-cased");

    let ok = login(&store, "ALICE", PASSWORD, 1).expect("right password");
    assert_eq!(ok.id, user.id);

    let wrong = login(&store, "alice", "correct horse battery!", 2).expect_err("wrong");
    let unknown = login(&store, "mallory", PASSWORD, 3).expect_err("unknown");
    let malformed = login(&store, "not a login", PASSWORD, 4).expect_err("malformed");
    for err in [&wrong, &unknown, &malformed] {
        assert!(matches!(err, StoreError::LoginFailed), "{err:?}");
    }
    assert_eq!(wrong.to_string(), unknown.to_string());
    assert!(!wrong.to_string().contains("alice"));
}

#[test]
fn a_disabled_user_cannot_log_in() {
    let store = store();
    add_user(&store, "root", Role::Admin, &[]);
    let acme = add_tenant(&store, "acme");
    let bob = add_user(&store, "bob", Role::Analyst, &[acme]);
    let disabled = store.disable_user(bob.id, &cli(1)).expect("disable");
    assert!(disabled.disabled);
    let err = login(&store, "bob", PASSWORD, 2).expect_err("disabled user logged in");
    assert!(matches!(err, StoreError::LoginFailed), "{err:?}");
}

#[test]
fn the_last_admin_cannot_be_disabled() {
    let store = store();
    let root = add_user(&store, "root", Role::Admin, &[]);
    let err = store
        .disable_user(root.id, &cli(1))
        .expect_err("last admin");
    assert!(
        matches!(err, StoreError::Invalid { field: "user", .. }),
        "{err:?}"
    );
    let second = add_user(&store, "root2", Role::Admin, &[]);
    store
        .disable_user(root.id, &cli(2))
        .expect("one of two admins");
    assert!(store.disable_user(second.id, &cli(3)).is_err());
}

#[test]
fn repeated_failures_lock_the_login_until_the_lockout_passes() {
    let store = store();
    add_user(&store, "alice", Role::Admin, &[]);
    let policy = LoginPolicy::default();
    for i in 0..i64::from(policy.max_failures) {
        let err = login(&store, "alice", "wrong password!!", i).expect_err("wrong");
        assert!(matches!(err, StoreError::LoginFailed), "{err:?}");
    }
    // Locked now: even the right password is refused, without being checked.
    let locked_at = 10;
    let err = login(&store, "alice", PASSWORD, locked_at).expect_err("locked");
    let StoreError::LoginLocked { until } = err else {
        panic!("expected a lock, got {err:?}");
    };
    let lockout = i64::try_from(policy.lockout.as_secs()).expect("secs");
    assert_eq!(until, at(i64::from(policy.max_failures) - 1 + lockout));
    assert!(
        login(&store, "alice", PASSWORD, lockout).is_err(),
        "released early"
    );
    // Released once the lockout has passed.
    login(&store, "alice", PASSWORD, lockout + 10).expect("released");
}

#[test]
fn failures_outside_the_window_do_not_add_up() {
    let store = store();
    add_user(&store, "alice", Role::Admin, &[]);
    let window = i64::try_from(LoginPolicy::default().window.as_secs()).expect("secs");
    for i in 0..4 {
        login(&store, "alice", "wrong password!!", i).expect_err("wrong");
    }
    for i in 0..4 {
        login(&store, "alice", "wrong password!!", window + 10 + i).expect_err("wrong");
    }
    login(&store, "alice", PASSWORD, window + 20).expect("not locked");
}

#[test]
fn unknown_logins_lock_like_known_ones() {
    let store = store().with_login_policy(LoginPolicy {
        max_failures: 2,
        ..LoginPolicy::default()
    });
    for secs in 0..2 {
        login(&store, "ghost", PASSWORD, secs).expect_err("unknown");
    }
    let err = login(&store, "ghost", PASSWORD, 3).expect_err("locked");
    assert!(matches!(err, StoreError::LoginLocked { .. }), "{err:?}");
}

#[test]
fn bad_users_are_typed_errors_naming_the_field() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let globex = add_tenant(&store, "globex");
    add_user(&store, "taken", Role::Analyst, &[acme]);

    let cases: Vec<(&str, watchfloor_store::NewUser)> = vec![
        ("login", new_user("", Role::Admin, &[])),
        ("login", new_user("with space", Role::Admin, &[])),
        ("login", new_user(&"a".repeat(65), Role::Admin, &[])),
        ("display_name", {
            let mut u = new_user("eve", Role::Admin, &[]);
            u.display_name = String::new();
            u
        }),
        ("password", {
            let mut u = new_user("eve", Role::Admin, &[]);
            u.password = Password::new("a".repeat(MIN_PASSWORD_CHARS - 1));
            u
        }),
        ("password", {
            let mut u = new_user("eve-the-long-login", Role::Admin, &[]);
            u.password = Password::new("EVE-the-long-login");
            u
        }),
        ("tenants", new_user("eve", Role::Admin, &[acme])),
        ("tenants", new_user("eve", Role::Customer, &[])),
        ("tenants", new_user("eve", Role::Customer, &[acme, globex])),
    ];
    for (field, user) in cases {
        let err = store.create_user(&user, &cli(1)).expect_err(field);
        assert!(
            matches!(&err, StoreError::Invalid { field: f, .. } if *f == field),
            "{field}: {err:?}"
        );
    }

    let err = store
        .create_user(&new_user("TAKEN", Role::Admin, &[]), &cli(1))
        .expect_err("duplicate");
    assert!(
        matches!(&err, StoreError::Duplicate { field: "login", value } if value == "taken"),
        "{err:?}"
    );
    let err = store
        .create_user(
            &new_user("eve", Role::Analyst, &[acme, TenantId(99)]),
            &cli(1),
        )
        .expect_err("unknown tenant");
    assert!(
        matches!(&err, StoreError::NotFound { field: "tenants", value } if value == "99"),
        "{err:?}"
    );
    assert!(
        store.user_by_login("eve").is_err(),
        "a failed create left a user"
    );
}

#[test]
fn passwords_never_show_in_debug_or_errors() {
    let secret = "hunter2-hunter2-hunter2";
    let mut user = new_user("eve", Role::Admin, &[]);
    user.password = Password::new(secret);
    assert!(!format!("{user:?}").contains(secret));

    let store = store();
    let mut short = new_user("eve", Role::Admin, &[]);
    short.password = Password::new("short-pw");
    let err = store.create_user(&short, &cli(0)).expect_err("short");
    assert!(!err.to_string().contains("short-pw"));
    assert!(!format!("{err:?}").contains("short-pw"));
}

#[test]
fn roles_and_tenant_sets_are_kept() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let globex = add_tenant(&store, "globex");
    let analyst = add_user(&store, "ana", Role::Analyst, &[globex, acme, acme]);
    assert_eq!(analyst.tenants, vec![acme, globex], "sorted, no duplicates");
    let customer = add_user(&store, "cus", Role::Customer, &[globex]);
    assert_eq!(customer.tenants, vec![globex]);
    let admin = add_user(&store, "adm", Role::Admin, &[]);
    assert!(admin.tenants.is_empty());
    assert_eq!(store.user(analyst.id).expect("get"), analyst);
    assert_eq!(
        store.users().expect("list"),
        vec![analyst.clone(), customer, admin]
    );
    let json = serde_json::to_value(&analyst).expect("json");
    assert_eq!(json["role"], "analyst");
    assert_eq!(json["tenants"], serde_json::json!([acme.0, globex.0]));
    assert!(json.get("password_hash").is_none());
}
