//! A tenant's asset inventory over the API: replaced from CSV or JSON with the rows it
//! skipped named, listed back, refused to customers and to unreadable documents, and
//! taken by the running pipeline at once (one machine under several names is one
//! entity, scored by its criticality).

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::Value;

use crate::live::{live_world, office_attack, tenant_path};
use crate::support::{Reply, call};

const INVENTORY: &str = "host,ip,aliases,owner,criticality,tags\n\
    web01.acme.example,192.0.2.10,WEB01;shop.acme.example,it,critical,web-server\n\
    printer,10.0.0.999,,,low,\n\
    db01.acme.example,192.0.2.11,,dba,high,database\n";

async fn post_inventory(
    w: &crate::live::LiveWorld,
    query: &str,
    bearer: &str,
    body: &str,
) -> Reply {
    let req = Request::builder()
        .method(Method::POST)
        .uri(tenant_path(w.a, &format!("assets{query}")))
        .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
        .header(header::CONTENT_TYPE, "text/csv")
        .body(Body::from(body.to_owned()))
        .expect("request");
    call(&w.router, req).await
}

#[tokio::test]
async fn the_inventory_is_replaced_listed_and_used_by_the_pipeline() {
    let w = live_world();
    let listed = w.read(w.a, "assets").await;
    assert_eq!(listed["inventory"], Value::Null);

    let r = post_inventory(&w, "", &w.a_token, INVENTORY).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["format"], "csv");
    assert_eq!(r.json["assets"], 2);
    let skipped = r.json["skipped"].to_string();
    assert!(
        skipped.contains("line 3") && skipped.contains("`ip`"),
        "{skipped}"
    );

    let listed = w.read(w.a, "assets").await;
    assert_eq!(listed["inventory"]["assets"], 2);
    assert_eq!(listed["inventory"]["format"], "csv");
    let names: Vec<&str> = listed["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(names, ["web01.acme.example", "db01.acme.example"]);
    assert_eq!(listed["assets"][0]["aliases"][1], "shop.acme.example");
    assert_eq!(listed["assets"][0]["criticality"], "critical");
    // Tenant B has none.
    assert_eq!(w.read(w.b, "assets").await["inventory"], Value::Null);

    // The same attack seen under the short name and under the site's name is one
    // alert on the inventory's host, scored as critical.
    w.ingest_json(
        w.a,
        &[
            office_attack("2026-03-02T09:14:41Z", "WEB01", r"ACME\bob"),
            office_attack("2026-03-02T09:20:00Z", "shop.acme.example", r"ACME\bob"),
        ],
    )
    .await;
    w.settle().await;
    let alerts = w.live_alerts(w.a).await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0]["host"], "web01.acme.example");
    assert_eq!(alerts[0]["count"], 2);
    let id = alerts[0]["id"].as_u64().expect("id");
    let one = w.read(w.a, &format!("alerts/{id}")).await;
    let log = one.to_string();
    assert!(
        log.contains("host web01 is web01.acme.example in the asset inventory"),
        "{log}"
    );
    assert!(log.contains("criticality Critical"), "{log}");
}

#[tokio::test]
async fn bad_inventories_and_customers_are_refused() {
    let w = live_world();
    let r = post_inventory(&w, "", &w.a_customer_token, INVENTORY).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    let r = post_inventory(&w, "", &w.a_token, "name;x\nweb01;1\n").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("body"), "{}", r.text);
    let r = post_inventory(&w, "?format=json", &w.a_token, "{\"host\": 1}").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = post_inventory(&w, "?format=xml", &w.a_token, INVENTORY).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("format"), "{}", r.text);
    // Nothing was stored.
    assert_eq!(w.read(w.a, "assets").await["inventory"], Value::Null);

    // JSON, recognised without `?format`.
    let json = r#"[{"host": "ws01.acme.example", "ips": ["192.0.2.50"], "criticality": 2}]"#;
    let r = post_inventory(&w, "", &w.a_token, json).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (r.json["format"].as_str(), r.json["assets"].as_u64()),
        (Some("json"), Some(1))
    );
}

#[tokio::test]
async fn a_tenant_without_an_inventory_keeps_the_servers_own() {
    // `serve --assets`: every tenant's engine starts with the server's inventory.
    let factory: watchfloor_server::live::TriageFactory = std::sync::Arc::new(|| {
        let (assets, _) = watchfloor_triage::assets::Assets::from_csv(
            "host,criticality,aliases\nws01.server-wide.example,low,WS01\n",
        );
        let mut t = watchfloor_triage::Triage::new(watchfloor_triage::TriageConfig::default());
        t.set_assets(assets);
        t
    });
    let w = crate::live::live_world_with(factory);
    w.ingest_json(
        w.a,
        &[office_attack("2026-03-02T09:14:41Z", "WS01", r"ACME\bob")],
    )
    .await;
    w.settle().await;
    let alerts = w.live_alerts(w.a).await;
    assert_eq!(alerts[0]["host"], "ws01.server-wide.example", "{alerts:#?}");

    // Once the tenant gives its own, it takes the server's place.
    let r = post_inventory(&w, "", &w.a_token, "host,aliases\nws01.acme.example,WS01\n").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    w.ingest_json(
        w.a,
        &[office_attack("2026-03-02T09:20:00Z", "WS01", r"ACME\bob")],
    )
    .await;
    w.settle().await;
    let hosts: Vec<Value> = w
        .live_alerts(w.a)
        .await
        .iter()
        .map(|a| a["host"].clone())
        .collect();
    assert!(
        hosts.contains(&Value::from("ws01.acme.example")),
        "{hosts:?}"
    );
}
