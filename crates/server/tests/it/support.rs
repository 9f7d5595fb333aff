//! A store with two tenants, users of every role and API tokens, and helpers to call
//! the router.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use watchfloor_server::{AppState, app};
use watchfloor_store::{
    AlertRow, BatchCommit, IncidentRow, IndicatorRow, IntelImport, LoginPolicy, NewSuppression,
    NewUser, Origin, Password, Role, Store, TenantId, Timestamp, TokenId,
};

pub const PASSWORD: &str = "correct horse battery";
/// Appears in tenant B's objects only, so a response that leaks B shows it.
pub const B_MARK: &str = "globex-secret";

pub struct World {
    pub router: Router,
    pub store: Arc<Store>,
    pub a: TenantId,
    pub b: TenantId,
    pub a_token: (TokenId, String),
    pub a_customer_token: String,
    pub b_token: (TokenId, String),
}

fn origin() -> Origin {
    Origin::system("test", Timestamp::now())
}

fn user(store: &Store, login: &str, role: Role, tenants: Vec<TenantId>) {
    let new = NewUser {
        login: login.to_owned(),
        display_name: login.to_owned(),
        role,
        tenants,
        password: Password::new(PASSWORD),
    };
    store.create_user(&new, &origin()).expect("user");
}

pub fn world() -> World {
    let policy = LoginPolicy {
        max_failures: 3,
        ..LoginPolicy::default()
    };
    let store = Store::open_in_memory()
        .expect("store")
        .with_login_policy(policy);
    let a = store.create_tenant("Acme", &origin()).expect("tenant").id;
    let b = store.create_tenant(B_MARK, &origin()).expect("tenant").id;
    store
        .set_tenant_retention(b, 30, &origin())
        .expect("retention");
    user(&store, "root", Role::Admin, vec![]);
    user(&store, "ana", Role::Analyst, vec![a]);
    user(&store, "cus", Role::Customer, vec![a]);
    user(&store, "bob", Role::Analyst, vec![b]);
    user(&store, "off", Role::Analyst, vec![a]);
    let off = store.user_by_login("off").expect("off").id;
    store.disable_user(off, &origin()).expect("disable");
    let token = |t, role, name: &str| {
        let n = store
            .create_token(t, role, name, None, &origin())
            .expect("token");
        (n.token.id, n.secret.expose().to_owned())
    };
    let a_token = token(a, Role::Analyst, "a-token");
    let a_customer_token = token(a, Role::Customer, "a-portal").1;
    let b_token = token(b, Role::Analyst, &format!("{B_MARK}-token"));
    plant_findings(&store, a, "acme");
    plant_findings(&store, b, B_MARK);
    let store = Arc::new(store);
    World {
        router: app(AppState::new(Arc::clone(&store))),
        store,
        a,
        b,
        a_token,
        a_customer_token,
        b_token,
    }
}

/// The id of the alert, incident and suppression [`world`] plants in each tenant.
pub const PLANTED_ID: u64 = 1;

/// An alert in an incident and a suppression for `tenant`, as the pipeline and an
/// analyst would leave them, each naming `mark`.
fn plant_findings(store: &Store, tenant: TenantId, mark: &str) {
    let t = Timestamp(1_772_438_400_000_000_000);
    let alert = AlertRow {
        id: PLANTED_ID,
        rule_id: format!("{mark}-rule"),
        title: format!("{mark} alert"),
        level: "high".into(),
        level_rank: 3,
        score: 70.0,
        host: Some(format!("{mark}-host")),
        user: None,
        count: 1,
        first_seen: t,
        last_seen: t,
        incident_id: Some(PLANTED_ID),
        doc: serde_json::json!({"title": format!("{mark} alert")}).to_string(),
    };
    let incident = IncidentRow {
        id: PLANTED_ID,
        title: format!("{mark} incident"),
        severity: "high".into(),
        severity_rank: 3,
        score: 70.0,
        entity: format!("{mark}-host"),
        stage_chain: "execution/persistence".into(),
        first_seen: t,
        last_seen: t,
        alert_count: 1,
        detections: 1,
        doc: serde_json::json!({"title": format!("{mark} incident")}).to_string(),
    };
    let batch = BatchCommit {
        alerts: vec![alert],
        incidents: vec![incident],
        ..Default::default()
    };
    store.commit_batch(tenant, &batch, t).expect("findings");
    let suppression = NewSuppression {
        expr: format!("host = {mark}-host"),
        owner: mark.to_owned(),
        reason: format!("{mark} maintenance"),
        expires_at: None,
        from_alert: Some(PLANTED_ID),
    };
    store
        .create_suppression(tenant, &suppression, &origin())
        .expect("suppression");
    plant_indicator(store, tenant, mark);
    let inventory = format!("host,ip,owner\n{mark}-host,192.0.2.77,{mark}-owner\n");
    store
        .replace_asset_inventory(
            tenant,
            watchfloor_store::InventoryFormat::Csv,
            &inventory,
            1,
            &origin(),
        )
        .expect("inventory");
}

/// An indicator naming `mark` (value, source and description), shared at TLP:GREEN so
/// that every credential of the tenant would be served it.
fn plant_indicator(store: &Store, tenant: TenantId, mark: &str) {
    let attributions = serde_json::json!([{
        "source": format!("{mark}-feed"),
        "confidence": 80,
        "tlp": "green",
        "description": format!("{mark} command and control"),
    }]);
    let t = Timestamp(1_772_438_400_000_000_000);
    let row = IndicatorRow {
        kind: "domain".into(),
        value: format!("{mark}.example"),
        attributions: attributions.to_string(),
        tlp_max: "green".into(),
        tlp_open_rank: 1,
        first_seen: t,
        last_seen: t,
    };
    let import = IntelImport {
        indicators: std::slice::from_ref(&row),
        objects: &[],
        summary: "planted",
    };
    store
        .upsert_indicators(tenant, &import, &mut |_, new| new.clone(), &origin())
        .expect("indicator");
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    /// The `error.code` of an error body (and checks the shape).
    pub fn error_code(&self) -> &str {
        let code = self.json["error"]["code"].as_str().unwrap_or("");
        assert!(
            self.json["error"]["message"].is_string(),
            "not the error shape: {}",
            self.text
        );
        code
    }
}

pub async fn call(router: &Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        text,
        json,
    }
}

pub fn request(
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<&str>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(path);
    if let Some(token) = bearer {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
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

pub async fn send(
    w: &World,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<&str>,
) -> Reply {
    call(&w.router, request(method, path, bearer, body)).await
}

/// Logs in and returns the session token.
pub async fn login(w: &World, login: &str) -> String {
    let body = serde_json::json!({"login": login, "password": PASSWORD}).to_string();
    let r = send(w, Method::POST, "/api/v1/login", None, Some(&body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json["token"].as_str().expect("token").to_owned()
}
