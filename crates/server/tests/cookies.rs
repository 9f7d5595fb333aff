//! Console sessions by cookie: the `wf_session` cookie set at login, its attributes, the
//! CSRF token every unsafe cookie request must carry, logout, and refusals.

#[allow(dead_code)] // shared with tests/it; not every helper is used here
#[path = "it/support.rs"]
mod support;

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use serde_json::json;
use watchfloor_server::auth::SESSION_TTL;

use support::{PASSWORD, Reply, World, call, send, world};

/// A console login: the session token, its CSRF token and the `Set-Cookie` answered.
struct Console {
    token: String,
    csrf: String,
    set_cookie: String,
    reply: Reply,
}

async fn console_login(w: &World, login: &str, headers: &[(&str, &str)]) -> Console {
    let body = json!({"login": login, "password": PASSWORD}).to_string();
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/login")
        .header(header::CONTENT_TYPE, "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let reply = call(&w.router, builder.body(Body::from(body)).expect("request")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let set_cookies: Vec<_> = reply.headers.get_all(header::SET_COOKIE).iter().collect();
    assert_eq!(set_cookies.len(), 1, "{set_cookies:?}");
    Console {
        token: reply.json["token"].as_str().expect("token").to_owned(),
        csrf: reply.json["csrf_token"].as_str().expect("csrf").to_owned(),
        set_cookie: set_cookies[0].to_str().expect("ascii").to_owned(),
        reply,
    }
}

/// A request with the given headers (name, raw value) and an optional JSON body.
fn raw_request(
    method: Method,
    path: &str,
    headers: &[(&str, &[u8])],
    body: Option<&str>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, HeaderValue::from_bytes(value).expect("value"));
    }
    let body = match body {
        Some(text) => {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
            Body::from(text.to_owned())
        }
        None => Body::empty(),
    };
    builder.body(body).expect("request")
}

/// A request carrying `cookie` as its `Cookie` header, and `csrf` as `X-CSRF-Token`.
async fn with_cookie(
    w: &World,
    method: Method,
    path: &str,
    cookie: &str,
    csrf: Option<&str>,
    body: Option<&str>,
) -> Reply {
    let mut headers: Vec<(&str, &[u8])> = vec![("cookie", cookie.as_bytes())];
    if let Some(csrf) = csrf {
        headers.push(("x-csrf-token", csrf.as_bytes()));
    }
    call(&w.router, raw_request(method, path, &headers, body)).await
}

fn session_cookie(token: &str) -> String {
    format!("theme=dark; wf_session={token};  lang=en")
}

fn tenant_names(reply: &Reply) -> Vec<String> {
    reply.json["tenants"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .filter_map(|t| t["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn all_tenant_names(w: &World) -> Vec<String> {
    let admin = support::login(w, "root").await;
    tenant_names(&send(w, Method::GET, "/api/v1/tenants", Some(&admin), None).await)
}

fn is_hex_64(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[tokio::test]
async fn login_sets_a_strict_http_only_session_cookie_and_returns_a_csrf_token() {
    let w = world();
    let c = console_login(&w, "ana", &[]).await;
    assert_eq!(
        c.set_cookie,
        format!(
            "wf_session={}; HttpOnly; SameSite=Strict; Path=/api/v1; Max-Age={}",
            c.token,
            SESSION_TTL.as_secs()
        )
    );
    assert!(c.token.starts_with("wfs_"), "{}", c.token);
    assert!(is_hex_64(&c.csrf), "{}", c.csrf);
    assert!(!c.token.contains(&c.csrf));
    assert_eq!(c.reply.json["token_type"], "Bearer");
    assert_eq!(c.reply.json["expires_in"], SESSION_TTL.as_secs());
    assert_eq!(c.reply.json["user"]["login"], "ana");
    assert_eq!(
        c.reply
            .headers
            .get(header::CACHE_CONTROL)
            .map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
    let again = console_login(&w, "ana", &[]).await;
    assert_ne!(again.token, c.token);
    assert_ne!(again.csrf, c.csrf);
}

#[tokio::test]
async fn login_over_https_marks_the_cookie_secure() {
    let w = world();
    for proto in ["https", "HTTPS", "https, http"] {
        let c = console_login(&w, "ana", &[("x-forwarded-proto", proto)]).await;
        assert!(
            c.set_cookie.ends_with("; Secure"),
            "{proto}: {}",
            c.set_cookie
        );
        assert!(
            c.set_cookie
                .starts_with(&format!("wf_session={};", c.token))
        );
    }
    let c = console_login(&w, "ana", &[("x-forwarded-proto", "http")]).await;
    assert!(!c.set_cookie.contains("Secure"), "{}", c.set_cookie);
}

#[tokio::test]
async fn the_cookie_alone_authenticates_safe_requests() {
    let w = world();
    let c = console_login(&w, "ana", &[]).await;
    let cookie = session_cookie(&c.token);
    let r = with_cookie(&w, Method::GET, "/api/v1/tenants", &cookie, None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(tenant_names(&r), ["Acme"]);
    let r = with_cookie(&w, Method::HEAD, "/api/v1/tenants", &cookie, None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let path = format!("/api/v1/tenants/{}", w.a.0);
    let quoted = format!("wf_session=\"{}\"", c.token);
    let r = with_cookie(&w, Method::GET, &path, &quoted, None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Access is still the user's: tenant B is not ana's.
    let path = format!("/api/v1/tenants/{}", w.b.0);
    let r = with_cookie(&w, Method::GET, &path, &cookie, None, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // Cookies split over several Cookie headers are read too.
    let headers: [(&str, &[u8]); 2] = [("cookie", b"theme=dark"), ("cookie", cookie.as_bytes())];
    let request = raw_request(Method::GET, "/api/v1/tenants", &headers, None);
    assert_eq!(call(&w.router, request).await.status, StatusCode::OK);
}

#[tokio::test]
async fn cookie_writes_without_the_right_csrf_token_are_forbidden_and_change_nothing() {
    let w = world();
    let c = console_login(&w, "root", &[]).await;
    let other = console_login(&w, "root", &[]).await;
    let cookie = session_cookie(&c.token);
    let create = json!({"name": "Initech"}).to_string();
    let rename = json!({"name": "Renamed"}).to_string();
    let tenant = format!("/api/v1/tenants/{}", w.a.0);
    let before = all_tenant_names(&w).await;
    let wrong_tokens = [
        None,
        Some(""),
        Some("0000"),
        Some(c.token.as_str()),
        Some(other.csrf.as_str()),
        Some(&c.csrf[..63]),
    ];
    for csrf in wrong_tokens {
        for (method, path, body) in [
            (Method::POST, "/api/v1/tenants", &create),
            (Method::PATCH, tenant.as_str(), &rename),
        ] {
            let r = with_cookie(&w, method.clone(), path, &cookie, csrf, Some(body)).await;
            assert_eq!(
                r.status,
                StatusCode::FORBIDDEN,
                "{method} {csrf:?}: {}",
                r.text
            );
            assert_eq!(r.error_code(), "forbidden");
            let message = r.json["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains("X-CSRF-Token"), "{message}");
            if let Some(csrf) = csrf.filter(|t| !t.is_empty()) {
                assert!(!r.text.contains(csrf), "{}", r.text);
            }
        }
    }
    assert_eq!(all_tenant_names(&w).await, before);
    // The session itself is still good.
    let r = with_cookie(&w, Method::GET, "/api/v1/tenants", &cookie, None, None).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn cookie_writes_with_the_right_csrf_token_succeed() {
    let w = world();
    let c = console_login(&w, "root", &[]).await;
    let cookie = session_cookie(&c.token);
    let create = json!({"name": "Initech"}).to_string();
    let r = with_cookie(
        &w,
        Method::POST,
        "/api/v1/tenants",
        &cookie,
        Some(&c.csrf),
        Some(&create),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let tenant = format!("/api/v1/tenants/{}", w.a.0);
    let rename = json!({"name": "Acme Corp"}).to_string();
    let r = with_cookie(
        &w,
        Method::PATCH,
        &tenant,
        &cookie,
        Some(&c.csrf),
        Some(&rename),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let names = all_tenant_names(&w).await;
    assert!(names.iter().any(|n| n == "Initech"), "{names:?}");
    assert!(names.iter().any(|n| n == "Acme Corp"), "{names:?}");
}

#[tokio::test]
async fn bearer_writes_need_no_csrf_token_and_the_header_wins_over_the_cookie() {
    let w = world();
    let root = console_login(&w, "root", &[]).await;
    let create = json!({"name": "Initech"}).to_string();
    let r = send(
        &w,
        Method::POST,
        "/api/v1/tenants",
        Some(&root.token),
        Some(&create),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // With both, the Authorization header alone counts: ana (analyst) is not an admin…
    let ana = support::login(&w, "ana").await;
    let both = |bearer: &str| {
        [
            ("authorization", format!("Bearer {bearer}").into_bytes()),
            ("cookie", session_cookie(&root.token).into_bytes()),
        ]
    };
    let headers = both(&ana);
    let headers: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, &v[..])).collect();
    let r = call(
        &w.router,
        raw_request(Method::GET, "/api/v1/users", &headers, None),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // …a bad header is not rescued by a good cookie…
    let headers = both("wfs_0000");
    let headers: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, &v[..])).collect();
    let r = call(
        &w.router,
        raw_request(Method::GET, "/api/v1/users", &headers, None),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    // …and a bearer write with the cookie beside it needs no CSRF token.
    let headers = both(&root.token);
    let headers: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, &v[..])).collect();
    let create = json!({"name": "Umbrella"}).to_string();
    let request = raw_request(Method::POST, "/api/v1/tenants", &headers, Some(&create));
    assert_eq!(call(&w.router, request).await.status, StatusCode::CREATED);
    // The cookie alone, for comparison, is root's.
    let cookie = session_cookie(&root.token);
    let r = with_cookie(&w, Method::GET, "/api/v1/users", &cookie, None, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn logout_by_cookie_needs_the_csrf_token_clears_the_cookie_and_ends_the_session() {
    let w = world();
    let c = console_login(&w, "ana", &[]).await;
    let cookie = session_cookie(&c.token);
    let r = with_cookie(&w, Method::POST, "/api/v1/logout", &cookie, None, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(r.headers.get(header::SET_COOKIE).is_none());
    let r = with_cookie(&w, Method::GET, "/api/v1/tenants", &cookie, None, None).await;
    assert_eq!(r.status, StatusCode::OK, "a refused logout ends nothing");
    let r = with_cookie(
        &w,
        Method::POST,
        "/api/v1/logout",
        &cookie,
        Some(&c.csrf),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let cleared: Vec<_> = r.headers.get_all(header::SET_COOKIE).iter().collect();
    assert_eq!(
        cleared,
        [&"wf_session=; Max-Age=0; Path=/api/v1; HttpOnly; SameSite=Strict"]
    );
    let r = with_cookie(&w, Method::GET, "/api/v1/tenants", &cookie, None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(r.error_code(), "unauthenticated");
    let r = send(&w, Method::GET, "/api/v1/tenants", Some(&c.token), None).await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "the bearer form is gone too"
    );
    let r = with_cookie(
        &w,
        Method::POST,
        "/api/v1/logout",
        &cookie,
        Some(&c.csrf),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn logout_over_https_clears_a_secure_cookie_and_bearer_logout_leaves_other_cookies() {
    let w = world();
    let c = console_login(&w, "ana", &[("x-forwarded-proto", "https")]).await;
    let cookie = session_cookie(&c.token);
    let headers: [(&str, &[u8]); 3] = [
        ("cookie", cookie.as_bytes()),
        ("x-csrf-token", c.csrf.as_bytes()),
        ("x-forwarded-proto", b"https"),
    ];
    let r = call(
        &w.router,
        raw_request(Method::POST, "/api/v1/logout", &headers, None),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert_eq!(
        r.headers.get(header::SET_COOKIE).map(|v| v.as_bytes()),
        Some(&b"wf_session=; Max-Age=0; Path=/api/v1; HttpOnly; SameSite=Strict; Secure"[..])
    );
    // A bearer logout of another session leaves the browser's cookie session alone.
    let console = console_login(&w, "ana", &[]).await;
    let api = support::login(&w, "ana").await;
    let headers = [
        ("authorization", format!("Bearer {api}").into_bytes()),
        ("cookie", session_cookie(&console.token).into_bytes()),
    ];
    let headers: Vec<(&str, &[u8])> = headers.iter().map(|(n, v)| (*n, &v[..])).collect();
    let r = call(
        &w.router,
        raw_request(Method::POST, "/api/v1/logout", &headers, None),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    assert!(r.headers.get(header::SET_COOKIE).is_none());
    let cookie = session_cookie(&console.token);
    let r = with_cookie(&w, Method::GET, "/api/v1/tenants", &cookie, None, None).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn a_disabled_users_cookie_is_refused() {
    let w = world();
    let c = console_login(&w, "ana", &[]).await;
    let cookie = session_cookie(&c.token);
    let r = with_cookie(&w, Method::GET, "/api/v1/tenants", &cookie, None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    let ana = w.store.user_by_login("ana").expect("ana").id;
    let origin = watchfloor_store::Origin::system("test", watchfloor_store::Timestamp::now());
    w.store.disable_user(ana, &origin).expect("disable");
    let r = with_cookie(&w, Method::GET, "/api/v1/tenants", &cookie, None, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    assert_eq!(r.error_code(), "unauthenticated");
    let r = with_cookie(
        &w,
        Method::POST,
        "/api/v1/logout",
        &cookie,
        Some(&c.csrf),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
}

#[tokio::test]
async fn garbage_cookies_are_refused_without_panic() {
    let w = world();
    let a = console_login(&w, "ana", &[]).await;
    let b = console_login(&w, "ana", &[]).await;
    let long = format!("wf_session=wfs_{}", "a".repeat(64 * 1024));
    let two = format!("wf_session={}; wf_session={}", a.token, b.token);
    let api_token = format!("wf_session={}", w.a_token.1);
    let cases: Vec<&[u8]> = vec![
        b"",
        b"wf_session",
        b"wf_session=",
        b"wf_session=\"\"",
        b"wf_session=\"",
        b"wf_session=garbage",
        b"wf_session=wfs_",
        b"wf_session=wfs_zz%00",
        b"WF_SESSION=wfs_0000",
        b";;;; = ;=;",
        b"wf_session=\xff\xfe\xfd",
        b"wf_session=wfs_\xc3\xa9",
        long.as_bytes(),
        two.as_bytes(),
        api_token.as_bytes(),
    ];
    for cookie in cases {
        for method in [Method::GET, Method::POST] {
            let headers: [(&str, &[u8]); 2] = [("cookie", cookie), ("x-csrf-token", b"x")];
            let request = raw_request(method.clone(), "/api/v1/tenants", &headers, None);
            let r = call(&w.router, request).await;
            let shown = String::from_utf8_lossy(&cookie[..cookie.len().min(40)]).into_owned();
            assert_eq!(
                r.status,
                StatusCode::UNAUTHORIZED,
                "{method} {shown}: {}",
                r.text
            );
            assert_eq!(r.error_code(), "unauthenticated");
        }
    }
    let r = send(&w, Method::GET, "/api/v1/tenants", Some(&a.token), None).await;
    assert_eq!(r.status, StatusCode::OK, "the server is still fine");
}
