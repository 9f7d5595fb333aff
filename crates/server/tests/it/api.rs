//! Health, authentication, roles, input errors and the OpenAPI document.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{Method, StatusCode, header};
use serde_json::json;
use watchfloor_server::{AppState, MAX_BODY_BYTES, app, routes};
use watchfloor_store::SCHEMA_VERSION;

use crate::support::{PASSWORD, call, login, request, send, world};

fn tenant_names(reply: &crate::support::Reply) -> Vec<String> {
    reply.json["tenants"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .filter_map(|t| t["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn health_needs_no_credentials() {
    let w = world();
    let r = send(&w, Method::GET, "/api/v1/health", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json,
        json!({"status": "ok", "schema_version": SCHEMA_VERSION})
    );
}

#[tokio::test]
async fn login_gives_a_session_that_logout_ends() {
    let w = world();
    let token = login(&w, "ana").await;
    let r = send(&w, Method::GET, "/api/v1/tenants", Some(&token), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = send(&w, Method::POST, "/api/v1/logout", Some(&token), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = send(&w, Method::GET, "/api/v1/tenants", Some(&token), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn failed_logins_are_one_401_then_locked_with_retry_after() {
    let w = world();
    let wrong = json!({"login": "ana", "password": "not the password"}).to_string();
    let unknown = json!({"login": "nobody", "password": PASSWORD}).to_string();
    let disabled = json!({"login": "off", "password": PASSWORD}).to_string();
    let mut bodies = Vec::new();
    for body in [&wrong, &unknown, &disabled] {
        let r = send(&w, Method::POST, "/api/v1/login", None, Some(body)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            r.headers
                .get(header::WWW_AUTHENTICATE)
                .map(|v| v.as_bytes()),
            Some(&b"Bearer"[..])
        );
        assert!(!r.text.contains("not the password"));
        bodies.push(r.text);
    }
    assert!(bodies.windows(2).all(|p| p[0] == p[1]), "{bodies:?}");
    // The policy of the test store locks after 3 failures.
    for _ in 0..2 {
        send(&w, Method::POST, "/api/v1/login", None, Some(&wrong)).await;
    }
    let good = json!({"login": "ana", "password": PASSWORD}).to_string();
    let r = send(&w, Method::POST, "/api/v1/login", None, Some(&good)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text);
    assert_eq!(r.error_code(), "locked");
    let secs: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert!((1..=15 * 60).contains(&secs), "{secs}");
}

#[tokio::test]
async fn expired_sessions_and_bad_credentials_are_refused() {
    let w = world();
    let short = app(AppState::with_session_ttl(
        Arc::clone(&w.store),
        Duration::ZERO,
    ));
    let body = json!({"login": "ana", "password": PASSWORD}).to_string();
    let r = call(
        &short,
        request(Method::POST, "/api/v1/login", None, Some(&body)),
    )
    .await;
    let token = r.json["token"].as_str().unwrap_or_default().to_owned();
    let r = call(
        &short,
        request(Method::GET, "/api/v1/tenants", Some(&token), None),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    for bad in [None, Some("wf_0000"), Some("wfs_0000"), Some("")] {
        let r = send(&w, Method::GET, "/api/v1/tenants", bad, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{bad:?}");
        assert_eq!(r.error_code(), "unauthenticated");
    }
}

#[tokio::test]
async fn api_tokens_authenticate_until_revoked() {
    let w = world();
    let r = send(&w, Method::GET, "/api/v1/tenants", Some(&w.a_token.1), None).await;
    assert_eq!(tenant_names(&r), ["Acme"]);
    let admin = login(&w, "root").await;
    let path = format!("/api/v1/tenants/{}/tokens/{}", w.a.0, w.a_token.0.0);
    let r = send(&w, Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["revoked_at"].is_string());
    let r = send(&w, Method::GET, "/api/v1/tenants", Some(&w.a_token.1), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn each_role_sees_its_tenants() {
    let w = world();
    let admin = login(&w, "root").await;
    let ana = login(&w, "ana").await;
    let cus = login(&w, "cus").await;
    let bob = login(&w, "bob").await;
    let w = &w;
    let names = |t: &str| {
        let t = t.to_owned();
        async move { tenant_names(&send(w, Method::GET, "/api/v1/tenants", Some(&t), None).await) }
    };
    assert_eq!(names(&admin).await, ["Acme", crate::support::B_MARK]);
    assert_eq!(names(&ana).await, ["Acme"]);
    assert_eq!(names(&cus).await, ["Acme"]);
    assert_eq!(names(&bob).await, [crate::support::B_MARK]);
    assert_eq!(names(&w.a_customer_token).await, ["Acme"]);
}

#[tokio::test]
async fn customers_and_analysts_cannot_administer() {
    let w = world();
    let body = json!({"name": "New"}).to_string();
    for who in [
        login(&w, "cus").await,
        login(&w, "ana").await,
        w.a_customer_token.clone(),
    ] {
        let r = send(&w, Method::POST, "/api/v1/tenants", Some(&who), Some(&body)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(r.error_code(), "forbidden");
    }
    let cus = login(&w, "cus").await;
    let tokens = format!("/api/v1/tenants/{}/tokens", w.a.0);
    let body = json!({"name": "x", "role": "customer"}).to_string();
    let r = send(&w, Method::POST, &tokens, Some(&cus), Some(&body)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn admin_changes_are_audited_with_the_client_address() {
    let w = world();
    let admin = login(&w, "root").await;
    let r = send(
        &w,
        Method::POST,
        "/api/v1/tenants",
        Some(&admin),
        Some(r#"{"name":"Initech"}"#),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.json["id"].as_u64().unwrap_or_default();
    let mut req = request(
        Method::PATCH,
        &format!("/api/v1/tenants/{id}"),
        Some(&admin),
        Some(r#"{"name":"Initech Ltd","retention_days":7}"#),
    );
    let peer: SocketAddr = "203.0.113.9:5555"
        .parse()
        .unwrap_or(SocketAddr::from(([0; 4], 0)));
    req.extensions_mut().insert(ConnectInfo(peer));
    let r = call(&w.router, req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (r.json["name"].as_str(), r.json["retention_days"].as_u64()),
        (Some("Initech Ltd"), Some(7))
    );
    let r = send(
        &w,
        Method::GET,
        &format!("/api/v1/tenants/{id}/audit?limit=2"),
        Some(&admin),
        None,
    )
    .await;
    let entries = r.json["entries"].as_array().cloned().unwrap_or_default();
    let actions: Vec<_> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(actions, ["tenant.retention", "tenant.rename"]);
    assert!(
        entries
            .iter()
            .all(|e| e["source"] == "203.0.113.9:5555" && e["actor"]["kind"] == "user")
    );
    let next = r.json["next"].as_i64().unwrap_or_default();
    let r = send(
        &w,
        Method::GET,
        &format!("/api/v1/tenants/{id}/audit?before={next}"),
        Some(&admin),
        None,
    )
    .await;
    let older: Vec<_> = r.json["entries"].as_array().cloned().unwrap_or_default();
    assert_eq!(older.len(), 1);
    assert_eq!(older[0]["action"], "tenant.create");
    assert_eq!(older[0]["source"], "unknown");
    let r = send(
        &w,
        Method::GET,
        &format!("/api/v1/tenants/{id}/audit?limit=0"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid")
    );
    let r = send(
        &w,
        Method::GET,
        &format!("/api/v1/tenants/{id}/audit?limit=x"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn users_and_tokens_are_created_and_secrets_shown_once() {
    let w = world();
    let admin = login(&w, "root").await;
    let body =
        json!({"login": "new", "role": "customer", "tenants": [w.a.0], "password": PASSWORD})
            .to_string();
    let r = send(&w, Method::POST, "/api/v1/users", Some(&admin), Some(&body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(!r.text.contains(PASSWORD) && !r.text.contains("argon2"));
    let r = send(&w, Method::POST, "/api/v1/users", Some(&admin), Some(&body)).await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::CONFLICT, "conflict")
    );
    let r = send(&w, Method::GET, "/api/v1/users", Some(&admin), None).await;
    assert_eq!(r.json["users"].as_array().map(Vec::len), Some(6));

    let ana = login(&w, "ana").await;
    let tokens = format!("/api/v1/tenants/{}/tokens", w.a.0);
    let body = json!({"name": "ci", "role": "analyst", "expires_in_days": 30}).to_string();
    let r = send(&w, Method::POST, &tokens, Some(&ana), Some(&body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let secret = r.json["secret"].as_str().unwrap_or_default().to_owned();
    assert!(secret.starts_with("wf_"));
    assert!(r.json["token"]["expires_at"].is_string());
    let r = send(&w, Method::GET, &tokens, Some(&ana), None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.text.contains(&secret) && !r.text.contains(&w.a_token.1));
    let r = send(&w, Method::GET, "/api/v1/tenants", Some(&secret), None).await;
    assert_eq!(tenant_names(&r), ["Acme"]);
}

#[tokio::test]
async fn bad_bodies_get_the_error_shape() {
    let w = world();
    let admin = login(&w, "root").await;
    let cases: [(&str, StatusCode, &str); 5] = [
        ("{bad", StatusCode::BAD_REQUEST, "bad_request"),
        ("{}", StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
        (
            r#"{"name": 7}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            r#"{"name": "x", "extra": 1}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            r#"{"name": ""}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
    ];
    for (body, status, code) in cases {
        let r = send(
            &w,
            Method::POST,
            "/api/v1/tenants",
            Some(&admin),
            Some(body),
        )
        .await;
        assert_eq!(
            (r.status, r.error_code()),
            (status, code),
            "{body}: {}",
            r.text
        );
    }
    let r = send(
        &w,
        Method::POST,
        "/api/v1/tenants",
        Some(&admin),
        Some("{}"),
    )
    .await;
    assert!(
        r.json["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("name"),
        "{}",
        r.text
    );
    let big = format!(r#"{{"name": "{}"}}"#, "x".repeat(MAX_BODY_BYTES + 1));
    let r = send(
        &w,
        Method::POST,
        "/api/v1/tenants",
        Some(&admin),
        Some(&big),
    )
    .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    let mut req = request(Method::POST, "/api/v1/tenants", Some(&admin), None);
    *req.body_mut() = axum::body::Body::from(r#"{"name":"x"}"#);
    let r = call(&w.router, req).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let secret_typed = json!({"login": "ana", "password": 123456789}).to_string();
    let r = send(&w, Method::POST, "/api/v1/login", None, Some(&secret_typed)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!r.text.contains("123456789"), "{}", r.text);
    let r = send(&w, Method::GET, "/api/v1/tenants/abc", Some(&admin), None).await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
    let r = send(&w, Method::GET, "/api/v1/nowhere", None, None).await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let r = send(&w, Method::GET, "/api/v1/tenants/999", Some(&admin), None).await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
}

#[tokio::test]
async fn openapi_lists_exactly_the_route_table() {
    let w = world();
    let r = send(&w, Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, methods) in r.json["paths"].as_object().cloned().unwrap_or_default() {
        for (method, op) in methods.as_object().cloned().unwrap_or_default() {
            assert!(op["operationId"].is_string() && op["summary"].is_string());
            documented.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    let table: BTreeSet<_> = routes()
        .iter()
        .map(|s| (s.method.as_str().to_owned(), s.full_path()))
        .collect();
    assert_eq!(documented, table);
}
