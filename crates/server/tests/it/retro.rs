//! Retro-hunts over the running pipeline: hits on stored records become indicator
//! alerts like live ones (the record's host and time, marked as a retro-hunt's), a
//! second hunt counts nothing twice, what live matching took is not taken again, and a
//! tenant's hunt sees and alerts on its own records only.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use watchfloor_store::TenantId;

use crate::live::{LiveWorld, connection, items, live_world, metric, office_attack, tenant_path};
use crate::support::{B_MARK, call};

/// The address the indicator names.
const ADDRESS: &str = "203.0.113.77";

/// Now minus `hours`, as RFC 3339.
fn hours_ago(hours: i64) -> String {
    let t = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(hours))
        .expect("time");
    t.to_string()
}

/// Imports `ADDRESS` as a plain list into `tenant` with `token`.
async fn import_address(w: &LiveWorld, tenant: TenantId, token: &str) {
    let req = Request::builder()
        .method(Method::POST)
        .uri(tenant_path(
            tenant,
            "intel/import?format=list&source=feed&tlp=green&confidence=90",
        ))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(format!("{ADDRESS}\n")))
        .expect("request");
    let r = call(&w.router, req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

async fn retro_hunt(w: &LiveWorld, tenant: TenantId, token: &str) -> Value {
    let r = w
        .post(
            &tenant_path(tenant, "intel/retro-hunt"),
            token,
            Some(json!({"days": 30})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.json
}

/// `tenant`'s alerts for the indicator, as (host, count), by host.
async fn indicator_alerts(w: &LiveWorld, tenant: TenantId) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = w
        .live_alerts(tenant)
        .await
        .iter()
        .filter(|a| a["rule_id"] == ADDRESS)
        .map(|a| {
            (
                a["host"].as_str().unwrap_or("").to_owned(),
                a["count"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn retro_hunt_hits_become_alerts_once_and_stay_in_their_tenant() {
    let w = live_world();
    let b_host = format!("{B_MARK}-ws");
    // Stored before anyone knew the address: a connection an hour ago, one five days
    // ago (past the analysis engine's one-day horizon, once an alert of now moved its
    // time), and an Office attack of now, which the rules alert on.
    w.ingest_json(
        w.a,
        &[
            connection(&hours_ago(1), "web01", ADDRESS),
            connection(&hours_ago(5 * 24), "db02", ADDRESS),
            office_attack(&hours_ago(0), "ws09", r"CORP\eve"),
        ],
    )
    .await;
    w.ingest_json(w.b, &[connection(&hours_ago(2), &b_host, ADDRESS)])
        .await;
    w.settle().await;
    assert!(indicator_alerts(&w, w.a).await.is_empty());

    import_address(&w, w.a, &w.a_token).await;
    let r = retro_hunt(&w, w.a, &w.a_token).await;
    assert_eq!(r["hits_total"], 2, "{r}");
    assert_eq!(r["detections_queued"], 2, "{r}");
    let d = &r["detections"];
    assert_eq!(d["status"], "stored", "{r}");
    assert_eq!(d["pipeline"]["detections"], 2, "{r}");
    assert_eq!(d["pipeline"]["past_horizon"], 1, "{r}");
    assert!(!r.to_string().contains(B_MARK), "{r}");

    // The alert list shows them like live indicator alerts, on the records' hosts.
    assert_eq!(
        indicator_alerts(&w, w.a).await,
        [("db02".to_owned(), 1), ("web01".to_owned(), 1)]
    );
    let alert = w
        .live_alerts(w.a)
        .await
        .into_iter()
        .find(|a| a["rule_id"] == ADDRESS && a["host"] == "web01")
        .expect("web01 alert");
    let id = alert["id"].as_u64().expect("id");
    let detail = w.read(w.a, &format!("alerts/{id}")).await;
    let text = detail.to_string();
    assert!(
        text.contains("Indicator match: ipv4 203.0.113.77 (source feed"),
        "{text}"
    );
    assert!(text.contains("\"retro-hunt\""), "{text}");
    assert!(text.contains("retro-hunt:"), "{text}");
    assert!(text.contains("\"indicator\""), "{text}");

    // Hunting again takes nothing twice.
    let r = retro_hunt(&w, w.a, &w.a_token).await;
    assert_eq!(r["hits_total"], 2, "{r}");
    assert_eq!(r["detections_queued"], 0, "{r}");
    assert_eq!(r["detections"]["already_taken"], 2, "{r}");
    assert_eq!(r["detections"]["status"], "none", "{r}");
    assert_eq!(
        indicator_alerts(&w, w.a).await,
        [("db02".to_owned(), 1), ("web01".to_owned(), 1)]
    );

    // A record matched live is not taken again by a hunt.
    w.ingest_json(w.a, &[connection(&hours_ago(0), "web03", ADDRESS)])
        .await;
    w.settle().await;
    let live = indicator_alerts(&w, w.a).await;
    assert!(live.contains(&("web03".to_owned(), 1)), "{live:?}");
    let r = retro_hunt(&w, w.a, &w.a_token).await;
    assert_eq!(r["hits_total"], 3, "{r}");
    assert_eq!(r["detections_queued"], 0, "{r}");
    assert_eq!(r["detections"]["already_taken"], 3, "{r}");
    assert_eq!(indicator_alerts(&w, w.a).await, live);

    let metrics = w.metrics().await;
    assert_eq!(
        metric(&metrics, "watchfloor_pipeline_retro_detections_total"),
        Some(2)
    );
    assert_eq!(
        metric(&metrics, "watchfloor_pipeline_retro_past_horizon_total"),
        Some(1)
    );

    // Tenant B's hunt sees its own record only, and alerts on it only.
    import_address(&w, w.b, &w.b_token).await;
    let r = retro_hunt(&w, w.b, &w.b_token).await;
    assert_eq!(r["hits_total"], 1, "{r}");
    assert_eq!(r["detections_queued"], 1, "{r}");
    let hosts: Vec<&str> = r["hits"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|h| h["host"].as_str())
        .collect();
    assert_eq!(hosts, [b_host.as_str()], "{r}");
    assert_eq!(indicator_alerts(&w, w.b).await, [(b_host.clone(), 1)]);
    assert_eq!(indicator_alerts(&w, w.a).await, live);
    let a_alerts = w.read(w.a, "alerts?limit=500").await;
    assert!(!a_alerts.to_string().contains(B_MARK));
    assert!(
        items(&w.read(w.b, "alerts?limit=500").await)
            .iter()
            .all(|a| a["host"] != "web01" && a["host"] != "db02")
    );
}
