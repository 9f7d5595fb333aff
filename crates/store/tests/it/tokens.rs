//! API tokens: create, authenticate, expire, revoke; secrets never stored.

use watchfloor_store::{
    Role, Store, StoreError, TOKEN_PREFIX, TenantId, TokenRejection, TokenScope,
};

use crate::{add_tenant, at, cli, store, temp_dir};

fn rejection(result: Result<TokenScope, StoreError>) -> TokenRejection {
    match result {
        Err(StoreError::TokenRejected(why)) => why,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[test]
fn create_authenticate_expire_and_revoke() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let new = store
        .create_token(acme, Role::Analyst, "ingest", Some(at(100)), &cli(1))
        .expect("create");
    let secret = new.secret.expose();
    assert!(secret.starts_with(TOKEN_PREFIX));
    assert_eq!(secret.len(), TOKEN_PREFIX.len() + 64);
    assert!(
        secret[TOKEN_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit())
    );

    let scope = store.authenticate_token(secret, at(99)).expect("valid");
    assert_eq!(
        scope,
        TokenScope {
            token_id: new.token.id,
            tenant: acme,
            role: Role::Analyst
        }
    );
    assert_eq!(
        rejection(store.authenticate_token(secret, at(100))),
        TokenRejection::Expired
    );

    let forever = store
        .create_token(acme, Role::Customer, "portal", None, &cli(2))
        .expect("create");
    let revoked = store
        .revoke_token(forever.token.id, &cli(3))
        .expect("revoke");
    assert_eq!(revoked.revoked_at, Some(at(3)));
    assert_eq!(
        rejection(store.authenticate_token(forever.secret.expose(), at(4))),
        TokenRejection::Revoked
    );
    store
        .revoke_token(forever.token.id, &cli(5))
        .expect("revoke again is a no-op");
    assert_eq!(
        store.tokens(Some(acme)).expect("list")[1].revoked_at,
        Some(at(3)),
        "revoking again moved the time"
    );
}

#[test]
fn anything_but_a_live_secret_is_unknown() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let new = store
        .create_token(acme, Role::Analyst, "ingest", None, &cli(1))
        .expect("create");
    let secret = new.secret.expose();
    let mut flipped = secret.to_owned();
    let last = if secret.ends_with('0') { "1" } else { "0" };
    flipped.replace_range(secret.len() - 1.., last);
    let too_long = format!("{secret}0");
    let without_prefix = &secret[TOKEN_PREFIX.len()..];
    for bad in [
        "",
        "wf_",
        "Bearer x",
        "wf_ü",
        &flipped,
        &too_long,
        without_prefix,
    ] {
        assert_eq!(
            rejection(store.authenticate_token(bad, at(2))),
            TokenRejection::Unknown,
            "{bad:?}"
        );
    }
}

#[test]
fn secrets_are_never_stored_or_shown() {
    let dir = temp_dir("secrets");
    let path = dir.join("watchfloor.db");
    let store = Store::open(&path).expect("open");
    let acme = add_tenant(&store, "acme");
    let new = store
        .create_token(acme, Role::Analyst, "ingest", None, &cli(1))
        .expect("create");
    let secret = new.secret.expose().to_owned();
    let hex = &secret[TOKEN_PREFIX.len()..];

    assert!(!format!("{new:?}").contains(hex), "Debug shows the secret");
    let listed = store.tokens(None).expect("list");
    assert_eq!(listed, vec![new.token.clone()]);
    let json = serde_json::to_string(&listed).expect("json");
    assert!(!json.contains(hex));
    let audit =
        serde_json::to_string(&store.audit(&Default::default()).expect("audit")).expect("json");
    assert!(!audit.contains(hex));

    // Every column of every row, as text and as bytes.
    let raw = rusqlite::Connection::open(&path).expect("raw open");
    let mut stmt = raw.prepare("SELECT * FROM api_tokens").expect("prepare");
    let columns = stmt.column_count();
    let mut rows = stmt.query([]).expect("query");
    let mut seen = 0;
    while let Some(row) = rows.next().expect("row") {
        seen += 1;
        for i in 0..columns {
            let value = row.get_ref(i).expect("value");
            let bytes: &[u8] = match value {
                rusqlite::types::ValueRef::Text(b) | rusqlite::types::ValueRef::Blob(b) => b,
                _ => continue,
            };
            let text = String::from_utf8_lossy(bytes);
            assert!(!text.contains(hex), "column {i} holds the secret");
            assert!(
                !bytes
                    .windows(hex.len() / 2)
                    .any(|w| w == decode_hex(hex).as_slice()),
                "column {i} holds the secret's bytes"
            );
        }
    }
    assert_eq!(seen, 1);
    drop(store);
    for file in std::fs::read_dir(&dir).expect("dir") {
        let file = file.expect("entry").path();
        let bytes = std::fs::read(&file).expect("read");
        assert!(
            !bytes.windows(hex.len()).any(|w| w == hex.as_bytes()),
            "{} holds the secret",
            file.display()
        );
    }
}

fn decode_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn tokens_are_scoped_to_their_tenant() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let globex = add_tenant(&store, "globex");
    let a = store
        .create_token(acme, Role::Analyst, "a", None, &cli(1))
        .expect("create");
    let g = store
        .create_token(globex, Role::Customer, "g", None, &cli(1))
        .expect("create");
    assert_eq!(
        store
            .authenticate_token(a.secret.expose(), at(2))
            .expect("a")
            .tenant,
        acme
    );
    assert_eq!(
        store
            .authenticate_token(g.secret.expose(), at(2))
            .expect("g")
            .tenant,
        globex
    );
    assert_eq!(
        store.tokens(Some(acme)).expect("list"),
        vec![a.token.clone()]
    );
    assert_eq!(
        store.tokens(Some(globex)).expect("list"),
        vec![g.token.clone()]
    );
    assert_eq!(store.tokens(None).expect("list").len(), 2);
}

#[test]
fn bad_tokens_are_typed_errors_naming_the_field() {
    let store = store();
    let acme = add_tenant(&store, "acme");
    let err = store
        .create_token(acme, Role::Admin, "root", None, &cli(1))
        .expect_err("admin token");
    assert!(
        matches!(err, StoreError::Invalid { field: "role", .. }),
        "{err:?}"
    );
    let err = store
        .create_token(acme, Role::Analyst, "", None, &cli(1))
        .expect_err("empty name");
    assert!(
        matches!(err, StoreError::Invalid { field: "name", .. }),
        "{err:?}"
    );
    let err = store
        .create_token(acme, Role::Analyst, "old", Some(at(1)), &cli(1))
        .expect_err("expired at birth");
    assert!(
        matches!(
            err,
            StoreError::Invalid {
                field: "expires_at",
                ..
            }
        ),
        "{err:?}"
    );
    let err = store
        .create_token(TenantId(77), Role::Analyst, "x", None, &cli(1))
        .expect_err("unknown tenant");
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
    let err = store
        .revoke_token(watchfloor_store::TokenId(5), &cli(1))
        .expect_err("unknown token");
    assert!(
        matches!(err, StoreError::NotFound { field: "token", .. }),
        "{err:?}"
    );
    assert!(store.tokens(None).expect("list").is_empty());
}
