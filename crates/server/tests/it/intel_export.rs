//! Exporting a tenant's intelligence and incidents for a partner: one STIX bundle or
//! MISP events, the incidents' techniques and external observables in, the tenant's
//! hosts, users and internal addresses out, TLP enforced for analysts and customers.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::Value;

use crate::live::{LiveWorld, connection, live_world, office_attack, tenant_path};
use crate::support::{B_MARK, call};

const ADDRESS: &str = "203.0.113.77";

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

async fn import_address(w: &LiveWorld) {
    let req = Request::builder()
        .method(Method::POST)
        .uri(tenant_path(
            w.a,
            "intel/import?format=list&source=feed&tlp=green&confidence=90",
        ))
        .header(header::AUTHORIZATION, format!("Bearer {}", w.a_token))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(format!("{ADDRESS}\n")))
        .expect("request");
    let r = call(&w.router, req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

fn objects_of<'a>(answer: &'a Value, kind: &str) -> Vec<&'a Value> {
    answer["document"]["objects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| o["type"] == kind)
        .collect()
}

#[tokio::test]
async fn incidents_and_indicators_go_out_under_tlp_without_internal_values() {
    let w = live_world();
    import_address(&w).await;
    // An Office attack on ws09 that then talks to the indicator's address, and a
    // connection to an internal address: one incident on ws09.
    w.ingest_json(
        w.a,
        &[
            office_attack(&now(), "ws09", r"CORP\eve"),
            connection(&now(), "ws09", ADDRESS),
            connection(&now(), "ws09", "10.20.30.40"),
        ],
    )
    .await;
    w.ingest_json(w.b, &[office_attack(&now(), &format!("{B_MARK}-ws"), "x")])
        .await;
    w.settle().await;
    let incidents = w.read(w.a, "incidents").await;
    assert!(
        incidents["items"].as_array().is_some_and(|i| !i.is_empty()),
        "{incidents}"
    );

    let a = w
        .read(
            w.a,
            "intel/export?tlp=amber&incidents=all&incident_tlp=green",
        )
        .await;
    assert_eq!(a["format"], "stix");
    assert!(a["incidents"]["exported"].as_u64() >= Some(1), "{a}");
    let incident = objects_of(&a, "incident");
    assert!(!incident.is_empty(), "{a}");
    let techniques: Vec<&str> = objects_of(&a, "attack-pattern")
        .iter()
        .filter_map(|o| o["external_references"][0]["external_id"].as_str())
        .collect();
    assert!(techniques.contains(&"T1059.001"), "{techniques:?}");
    // The feed's indicator, and the incident's observable as the tenant's own.
    let patterns: Vec<&str> = objects_of(&a, "indicator")
        .iter()
        .filter_map(|o| o["pattern"].as_str())
        .filter(|p| p.contains(ADDRESS))
        .collect();
    assert_eq!(patterns.len(), 2, "{a}");
    assert!(!objects_of(&a, "sighting").is_empty(), "{a}");
    assert_eq!(
        objects_of(&a, "sighting").len() as u64,
        a["incidents"]["observables"].as_u64().unwrap_or(0)
    );
    let text = a["document"].to_string();
    for internal in ["ws09", "eve\"", "CORP", "10.20.30.40", B_MARK] {
        assert!(
            !text.contains(internal),
            "{internal} left the tenant: {text}"
        );
    }

    // A GREEN recipient does not get incidents marked AMBER (the default).
    let green = w.read(w.a, "intel/export?tlp=green&incidents=all").await;
    assert!(objects_of(&green, "incident").is_empty(), "{green}");
    assert_eq!(green["incidents"]["exported"], 0);
    assert!(green["incidents"]["withheld_by_tlp"].as_u64() >= Some(1));
    // Indicators only unless incidents are asked for.
    let plain = w.read(w.a, "intel/export").await;
    assert!(objects_of(&plain, "incident").is_empty());
    assert_eq!(plain["indicators"]["exported"], 1, "{plain}");

    // A customer shares at most TLP:GREEN, whatever it asks for.
    let r = w
        .get(
            &tenant_path(w.a, "intel/export?tlp=amber&incidents=all"),
            &w.a_customer_token,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["tlp_allowed"], "green");
    assert!(objects_of(&r.json, "incident").is_empty());

    // MISP: the indicators' event, then one event per incident.
    let m = w
        .read(
            w.a,
            "intel/export?format=misp&tlp=amber&incidents=all&incident_tlp=amber",
        )
        .await;
    let events = m["document"]["response"].as_array().expect("events");
    assert!(events.len() >= 2, "{m}");
    let text = m["document"].to_string();
    assert!(text.contains(ADDRESS) && !text.contains("ws09"), "{text}");

    // Bad parameters name themselves.
    for (query, field) in [
        ("format=csv", "format"),
        ("tlp=purple", "tlp"),
        ("incidents=some", "incidents"),
    ] {
        let r = w
            .get(
                &tenant_path(w.a, &format!("intel/export?{query}")),
                &w.a_token,
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            r.text
        );
        assert!(r.text.contains(field), "{query}: {}", r.text);
    }
}
