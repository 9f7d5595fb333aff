//! Tenant isolation, generated from the route table: every route is called with the
//! credentials of tenant A's analyst and customer (sessions and API tokens) but tenant
//! B's ids, and must answer 403 or 404 without a trace of B. Routes without ids must
//! return only A's data. A route without a case here fails the test, so a new route
//! cannot be forgotten.

use axum::http::{Method, StatusCode};
use serde_json::json;
use watchfloor_server::taxii::collection_id;
use watchfloor_server::{HttpMethod, RouteSpec, routes};
use watchfloor_store::TenantId;

use crate::support::{B_MARK, PASSWORD, PLANTED_ID, World, login, send, world};

/// The body each route is called with (a valid one, so only access can refuse it);
/// `None` for a route this test does not know yet.
fn case(operation: &str) -> Option<Option<String>> {
    let body = |v: serde_json::Value| Some(Some(v.to_string()));
    match operation {
        "health" | "openapi" | "logout" | "listTenants" | "getTenant" | "tenantAudit"
        | "listUsers" | "listTokens" | "revokeToken" => Some(None),
        "login" => body(json!({"login": "ana", "password": PASSWORD})),
        "createTenant" => body(json!({"name": "Fresh"})),
        "updateTenant" => body(json!({"name": "Renamed"})),
        "createUser" => {
            body(json!({"login": "x1", "role": "customer", "tenants": [2], "password": PASSWORD}))
        }
        "createToken" => body(json!({"name": "sneaky", "role": "analyst"})),
        "ingest" | "ingestForToken" => body(json!({"message": "planted by tenant A"})),
        "listAlerts" | "getAlert" | "acknowledgeAlert" | "reopenAlert" | "listIncidents"
        | "getIncident" | "reopenIncident" | "streamIncidents" | "listSuppressions"
        | "deleteSuppression" | "listRules" | "enableRule" | "disableRule" | "searchEvents"
        | "metrics" | "listAssets" => Some(None),
        "replaceAssets" => body(json!([{"host": "planted-by-a", "criticality": "low"}])),
        "assignAlert" | "assignIncident" => body(json!({"assignee": null})),
        "closeAlert" | "closeIncident" | "suppressAlert" => body(json!({"reason": "noise"})),
        "createSuppression" => body(json!({"expr": "host = x", "reason": "noise"})),
        "importIntel" => body(json!({"type": "bundle", "id": "bundle--1", "objects": []})),
        "retroHunt" => body(json!({"days": 7})),
        "listIndicators" | "intelStats" | "exportIntel" | "taxiiDiscovery" | "taxiiApiRoot"
        | "taxiiCollections" | "taxiiCollection" | "taxiiObjects" | "taxiiManifest" => Some(None),
        _ => None,
    }
}

fn method(m: HttpMethod) -> Method {
    match m {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Delete => Method::DELETE,
    }
}

/// The route's path with `tenant` and ids of tenant `owner` (B's token, planted
/// objects and TAXII collection).
fn fill(spec: &RouteSpec, tenant: u32, owner: u32, token: i64) -> String {
    let planted = PLANTED_ID.to_string();
    spec.full_path()
        .replace("{id}", &tenant.to_string())
        .replace("{collection_id}", &collection_id(TenantId(owner)))
        .replace("{token_id}", &token.to_string())
        .replace("{alert_id}", &planted)
        .replace("{incident_id}", &planted)
        .replace("{suppression_id}", &planted)
        .replace("{rule_id}", &format!("{B_MARK}-rule"))
}

/// Fresh credentials of tenant A (a session per call, as logout ends it).
async fn a_credentials(w: &World) -> Vec<(&'static str, String)> {
    vec![
        ("analyst session", login(w, "ana").await),
        ("customer session", login(w, "cus").await),
        ("analyst token", w.a_token.1.clone()),
        ("customer token", w.a_customer_token.clone()),
    ]
}

#[tokio::test]
async fn no_route_lets_tenant_a_reach_tenant_b() {
    let w = world();
    let (b_token_id, b_secret) = (w.b_token.0.0, w.b_token.1.clone());
    let mut missing = Vec::new();
    for spec in routes() {
        let Some(body) = case(spec.operation.as_str()) else {
            missing.push(spec.operation.as_str());
            continue;
        };
        let has_ids = spec.params().next().is_some();
        for (who, credential) in a_credentials(&w).await {
            let mut targets = Vec::new();
            if has_ids {
                targets.push(fill(spec, w.b.0, w.b.0, b_token_id));
                if spec
                    .params()
                    .any(|p| matches!(p, "token_id" | "collection_id"))
                {
                    // A's tenant in the path, B's token or collection: still not B's.
                    targets.push(fill(spec, w.a.0, w.b.0, b_token_id));
                }
            } else {
                targets.push(spec.full_path());
            }
            for path in targets {
                let r = send(
                    &w,
                    method(spec.method),
                    &path,
                    Some(&credential),
                    body.as_deref(),
                )
                .await;
                let what = format!(
                    "{who} {} {path}: {} {}",
                    spec.method.as_str(),
                    r.status,
                    r.text
                );
                assert!(!r.text.contains(B_MARK), "leaked B: {what}");
                assert!(!r.text.contains(&b_secret), "leaked B's secret: {what}");
                if has_ids {
                    assert!(
                        matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
                        "{what}"
                    );
                    r.error_code();
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "routes without an isolation case: {missing:?}"
    );
    // Nothing of B changed: no records were ingested for it, its token works, its name
    // and audit are as they were.
    assert_eq!(w.store.count_records(w.b).expect("count"), 0);
    let r = send(&w, Method::GET, "/api/v1/tenants", Some(&b_secret), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.text.contains(B_MARK));
    let admin = login(&w, "root").await;
    let tokens = send(
        &w,
        Method::GET,
        &format!("/api/v1/tenants/{}/tokens", w.b.0),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(
        tokens.json["tokens"].as_array().map(Vec::len),
        Some(1),
        "{}",
        tokens.text
    );
    let audit = send(
        &w,
        Method::GET,
        &format!("/api/v1/tenants/{}/audit", w.b.0),
        Some(&admin),
        None,
    )
    .await;
    assert!(
        audit.json["entries"]
            .as_array()
            .is_some_and(|e| e.iter().all(|e| e["source"] == "test")),
        "{}",
        audit.text
    );
}
