//! Threat intelligence over HTTP: import, list and counts, TAXII 2.1 (discovery, API
//! root, collections, objects and manifest with paging and `added_after`, content
//! type, `Accept`), TLP on what each credential receives, retro-hunts over stored
//! records, and the live pipeline matching what was imported.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use serde_json::{Value, json};
use watchfloor_pipeline::live::RuleBook;
use watchfloor_server::live::{Live, LiveConfig};
use watchfloor_server::taxii::{TAXII_MEDIA_TYPE, collection_id};
use watchfloor_server::{AppState, app};
use watchfloor_store::{Origin, Role, Store, Timestamp};
use watchfloor_triage::{Triage, TriageConfig};

use crate::support::{B_MARK, Reply, World, call, login, request, send, world};

const CLEAR: &str = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487";
const GREEN: &str = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
const AMBER: &str = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
const AMBER_STRICT: &str = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";
const RED: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";

const SHA256: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn stix_indicator(n: u32, pattern: &str, marking: &str, description: &str) -> Value {
    json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": format!("indicator--00000000-0000-4000-8000-{n:012}"),
        "created": "2026-03-01T00:00:00.000Z",
        "modified": "2026-03-01T00:00:00.000Z",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2026-03-01T00:00:00Z",
        "description": description,
        "object_marking_refs": [marking],
    })
}

/// Seven indicators: one CLEAR, two GREEN, one AMBER, one AMBER+STRICT and two RED, and
/// one malware object for context.
fn bundle() -> String {
    json!({
        "type": "bundle",
        "id": "bundle--00000000-0000-4000-8000-000000000001",
        "objects": [
            stix_indicator(1, "[ipv4-addr:value = '203.0.113.7']", CLEAR, "scanner"),
            stix_indicator(2, "[domain-name:value = 'evil.example']", GREEN, "phishing"),
            stix_indicator(3, &format!("[file:hashes.'SHA-256' = '{SHA256}']"), GREEN, "dropper"),
            stix_indicator(4, "[url:value = 'http://amber.example/drop']", AMBER, "amber-only"),
            stix_indicator(5, "[email-addr:value = 'boss@strict.example']", AMBER_STRICT, "strict-only"),
            stix_indicator(6, "[domain-name:value = 'red.example']", RED, "red-secret"),
            stix_indicator(7, "[ipv4-addr:value = '198.51.100.9']", RED, "red-secret"),
            {
                "type": "malware",
                "spec_version": "2.1",
                "id": "malware--00000000-0000-4000-8000-000000000099",
                "created": "2026-03-01T00:00:00.000Z",
                "modified": "2026-03-01T00:00:00.000Z",
                "name": "BadRAT",
                "is_family": true,
            },
        ],
    })
    .to_string()
}

/// A plain list shared at TLP:GREEN by another source: makes the RED-only address
/// shareable (this source's word only), adds a source to `evil.example`, and a new name.
const BLOCKLIST: &str = "198.51.100.9\nevil.example\n# comment\nnew.example\n";

/// Posts `body` to the import route with `query`.
async fn import(w: &World, bearer: &str, query: &str, body: &str) -> Reply {
    let path = format!("/api/v1/tenants/{}/intel/import?{query}", w.a.0);
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(body.to_owned()))
        .expect("request");
    call(&w.router, req).await
}

async fn import_both(w: &World) {
    let r = import(w, &w.a_token.1, "format=stix&source=partner", &bundle()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = import(
        w,
        &w.a_token.1,
        "format=list&source=blocklist&tlp=green",
        BLOCKLIST,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

/// A TAXII GET with `accept` (none: no header).
async fn taxii(router: &Router, path: &str, bearer: &str, accept: Option<&str>) -> Reply {
    let mut req = request(Method::GET, path, Some(bearer), None);
    if let Some(a) = accept {
        req.headers_mut()
            .insert(header::ACCEPT, HeaderValue::from_str(a).expect("accept"));
    }
    call(router, req).await
}

fn objects_path(w: &World) -> String {
    format!(
        "/api/v1/taxii2/{}/collections/{}/objects/",
        w.a.0,
        collection_id(w.a)
    )
}

fn header_of(r: &Reply, name: &str) -> Option<String> {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Every page of the collection for `bearer` (following `next`), with the last page's
/// `X-TAXII-Date-Added-Last`.
async fn pull_all(w: &World, bearer: &str, query: &str) -> (Vec<Value>, Option<String>) {
    let mut objects = Vec::new();
    let mut next: Option<String> = None;
    let mut last = None;
    for _ in 0..100 {
        let mut path = format!("{}?limit=2{query}", objects_path(w));
        if let Some(n) = &next {
            path.push_str(&format!("&next={n}"));
        }
        let r = taxii(&w.router, &path, bearer, Some(TAXII_MEDIA_TYPE)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(
            header_of(&r, "content-type").as_deref(),
            Some(TAXII_MEDIA_TYPE)
        );
        if let Some(l) = header_of(&r, "x-taxii-date-added-last") {
            last = Some(l);
        }
        objects.extend(r.json["objects"].as_array().cloned().unwrap_or_default());
        if r.json["more"] != true {
            assert!(r.json.get("next").is_none(), "{}", r.text);
            return (objects, last);
        }
        next = Some(r.json["next"].as_str().expect("next").to_owned());
    }
    panic!("the collection never ended");
}

/// The value in an indicator's pattern: its last quoted part.
fn value_of(o: &Value) -> String {
    let p = o["pattern"].as_str().unwrap_or("");
    p.rsplit('\'').nth(1).unwrap_or("").to_owned()
}

fn values(objects: &[Value]) -> BTreeSet<String> {
    objects.iter().map(value_of).collect()
}

fn markings(objects: &[Value]) -> BTreeSet<String> {
    objects
        .iter()
        .flat_map(|o| {
            o["object_marking_refs"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|m| m.as_str().map(str::to_owned))
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn imports_merge_and_are_listed_and_counted_under_tlp() {
    let w = world();
    let r = import(&w, &w.a_token.1, "format=stix&source=partner", &bundle()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["taken"], 7, "{}", r.text);
    assert_eq!(r.json["skipped"], 0);
    assert_eq!(r.json["not_matchable"], 0);
    assert_eq!(r.json["stored"]["inserted"], 7);
    assert_eq!(r.json["stored"]["objects_added"], 1);
    assert_eq!(r.json["report"]["context_objects"], 1);
    let r = import(
        &w,
        &w.a_token.1,
        "format=list&source=blocklist&tlp=green",
        BLOCKLIST,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (r.json["taken"].as_u64(), r.json["merged"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(r.json["stored"]["inserted"], 1);
    // The same list again changes nothing but is still an import.
    let r = import(
        &w,
        &w.a_token.1,
        "format=list&source=blocklist&tlp=green",
        BLOCKLIST,
    )
    .await;
    assert_eq!(r.json["stored"]["unchanged"], 3, "{}", r.text);

    let list = |bearer: String, query: &'static str| {
        let path = format!("/api/v1/tenants/{}/intel/indicators{query}", w.a.0);
        let router = w.router.clone();
        async move { call(&router, request(Method::GET, &path, Some(&bearer), None)).await }
    };
    let all = list(w.a_token.1.clone(), "").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert_eq!(all.json["total"], 9, "{}", all.text);
    assert!(all.text.contains("red-secret") && all.text.contains("amber-only"));
    let merged = all.json["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["value"] == "198.51.100.9"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        merged["attributions"].as_array().map(Vec::len),
        Some(2),
        "{merged}"
    );
    assert_eq!(merged["tlp_max"], "red");

    // A customer reads what is GREEN or more open, and only those attributions.
    for customer in [w.a_customer_token.clone(), login(&w, "cus").await] {
        let r = list(customer, "?limit=100").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let seen: BTreeSet<String> = r.json["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["value"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(
            seen,
            set(&[
                "203.0.113.7",
                "evil.example",
                SHA256,
                "198.51.100.9",
                "new.example",
                "acme.example",
            ])
        );
        for secret in [
            "red-secret",
            "amber-only",
            "strict-only",
            "\"red\"",
            "amber",
        ] {
            assert!(!r.text.contains(secret), "{secret} in {}", r.text);
        }
    }
    let domains = list(w.a_token.1.clone(), "?kind=domain&q=EVIL").await;
    assert_eq!(domains.json["total"], 1, "{}", domains.text);
    let bad = list(w.a_token.1.clone(), "?kind=planet").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.text);

    let stats = send(
        &w,
        Method::GET,
        &format!("/api/v1/tenants/{}/intel/stats", w.a.0),
        Some(&w.a_token.1),
        None,
    )
    .await;
    assert_eq!(stats.json["stats"]["indicators"], 9, "{}", stats.text);
    assert_eq!(stats.json["stats"]["by_tlp"]["red"], 2, "{}", stats.text);
    assert_eq!(stats.json["stats"]["objects"], 1);
    let stats = send(
        &w,
        Method::GET,
        &format!("/api/v1/tenants/{}/intel/stats", w.a.0),
        Some(&w.a_customer_token),
        None,
    )
    .await;
    assert_eq!(stats.json["stats"]["indicators"], 6, "{}", stats.text);

    // Refusals: customers do not import; bad parameters name the field.
    let r = import(&w, &w.a_customer_token, "format=list", "10.0.0.1").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = import(&w, &w.a_token.1, "format=xml", "x").await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid")
    );
    let r = import(&w, &w.a_token.1, "tlp=purple", "10.0.0.1").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);

    // Each import is audited with its counts.
    let audit = send(
        &w,
        Method::GET,
        &format!("/api/v1/tenants/{}/audit", w.a.0),
        Some(&w.a_token.1),
        None,
    )
    .await;
    let imports: Vec<&str> = audit.json["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["action"] == "intel.import" && e["actor"]["kind"] == "token")
        .filter_map(|e| e["detail"].as_str())
        .collect();
    assert_eq!(imports.len(), 3, "{}", audit.text);
    assert!(
        imports[2].contains("source \"partner\"") && imports[2].contains("7 new"),
        "{imports:?}"
    );
}

#[tokio::test]
async fn taxii_discovery_collections_and_paging() {
    let w = world();
    import_both(&w).await;
    let token = w.a_token.1.clone();
    let root = format!("/api/v1/taxii2/{}/", w.a.0);

    let r = taxii(&w.router, "/api/v1/taxii2/", &token, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        header_of(&r, "content-type").as_deref(),
        Some(TAXII_MEDIA_TYPE)
    );
    assert_eq!(r.json["api_roots"], json!([root]));
    assert_eq!(r.json["default"], root.as_str());

    let r = taxii(&w.router, &root, &token, Some("application/taxii+json")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["title"], "Acme");
    assert_eq!(r.json["versions"], json!([TAXII_MEDIA_TYPE]));

    let r = taxii(&w.router, &format!("{root}collections/"), &token, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let id = collection_id(w.a);
    assert_eq!(r.json["collections"][0]["id"], id.as_str());
    assert_eq!(r.json["collections"][0]["can_read"], true);
    assert_eq!(r.json["collections"][0]["can_write"], false);
    let r = taxii(&w.router, &format!("{root}collections/{id}/"), &token, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.json["media_types"],
        json!(["application/stix+json;version=2.1"])
    );

    // Paging: an analyst is served 8 objects (all but the RED-only one; with the one
    // the test world plants), 2 at a time.
    let mut pages = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut path = format!("{}?limit=2", objects_path(&w));
        if let Some(n) = &next {
            path.push_str(&format!("&next={n}"));
        }
        let r = taxii(&w.router, &path, &token, Some(TAXII_MEDIA_TYPE)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(
            header_of(&r, "content-type").as_deref(),
            Some(TAXII_MEDIA_TYPE)
        );
        let objects = r.json["objects"].as_array().cloned().unwrap_or_default();
        let first = header_of(&r, "x-taxii-date-added-first");
        let last = header_of(&r, "x-taxii-date-added-last");
        assert!(first.is_some() && last.is_some(), "{:?}", r.headers);
        assert!(first <= last);
        let more = r.json["more"].as_bool().expect("more");
        pages.push((objects.len(), more));
        for o in &objects {
            assert_eq!(o["type"], "indicator");
            assert_eq!(o["spec_version"], "2.1");
            assert!(
                o["id"]
                    .as_str()
                    .is_some_and(|i| i.starts_with("indicator--"))
            );
        }
        if !more {
            assert!(r.json.get("next").is_none());
            break;
        }
        next = Some(r.json["next"].as_str().expect("next").to_owned());
    }
    assert_eq!(pages, [(2, true), (2, true), (2, true), (2, false)]);
    let (all, _) = pull_all(&w, &token, "").await;
    assert_eq!(
        values(&all),
        set(&[
            "203.0.113.7",
            "evil.example",
            SHA256,
            "http://amber.example/drop",
            "boss@strict.example",
            "198.51.100.9",
            "new.example",
            "acme.example",
        ])
    );

    // The manifest pages the same way.
    let r = taxii(
        &w.router,
        &format!("{root}collections/{id}/manifest/?limit=2"),
        &token,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["more"], true);
    let entries = r.json["objects"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 2);
    for e in &entries {
        assert_eq!(e["media_type"], "application/stix+json;version=2.1");
        assert!(e["id"].as_str().is_some() && e["date_added"].as_str().is_some());
        assert!(e["version"].as_str().is_some());
    }

    // Filters: another type gives nothing; an id gives that object.
    let r = taxii(
        &w.router,
        &format!("{}?match[type]=malware", objects_path(&w)),
        &token,
        None,
    )
    .await;
    assert_eq!(
        (r.json["more"].as_bool(), r.json.get("objects")),
        (Some(false), None)
    );
    let one = all[0]["id"].as_str().unwrap_or_default().to_owned();
    let r = taxii(
        &w.router,
        &format!("{}?limit=1000&match[id]={one}", objects_path(&w)),
        &token,
        None,
    )
    .await;
    assert_eq!(
        r.json["objects"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.text
    );

    // Negotiation and bad requests.
    for bad in [
        "application/xml",
        "application/taxii+json;version=2.0",
        "application/json",
    ] {
        let r = taxii(&w.router, &objects_path(&w), &token, Some(bad)).await;
        assert_eq!(r.status, StatusCode::NOT_ACCEPTABLE, "{bad}: {}", r.text);
        assert_eq!(r.error_code(), "not_acceptable");
    }
    let r = taxii(&w.router, "/api/v1/taxii2/", &token, Some("text/html")).await;
    assert_eq!(r.status, StatusCode::NOT_ACCEPTABLE);
    let r = taxii(
        &w.router,
        &format!("{}?limit=0", objects_path(&w)),
        &token,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = taxii(
        &w.router,
        &format!("{}?next=nope", objects_path(&w)),
        &token,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = taxii(
        &w.router,
        &format!("{}?added_after=yesterday", objects_path(&w)),
        &token,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let unknown = format!("{root}collections/00000000-0000-4000-8000-000000000000/objects/");
    let r = taxii(&w.router, &unknown, &token, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = taxii(&w.router, &objects_path(&w), "wf_nonsense", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // A limit beyond the server's maximum is lowered, not refused.
    let r = taxii(
        &w.router,
        &format!("{}?limit=100000", objects_path(&w)),
        &token,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test]
async fn added_after_returns_only_later_changes() {
    let w = world();
    let token = w.a_token.1.clone();
    let r = import(&w, &token, "format=stix&source=partner", &bundle()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let (first, last) = pull_all(&w, &token, "").await;
    assert_eq!(first.len(), 6);
    let last = last.expect("date added last");
    let (none, none_last) = pull_all(&w, &token, &format!("&added_after={last}")).await;
    assert!(none.is_empty(), "{none:?}");
    assert_eq!(none_last, None);
    // The list adds a source to two indicators and one new: those three come again.
    let r = import(
        &w,
        &token,
        "format=list&source=blocklist&tlp=green",
        BLOCKLIST,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let (later, later_last) = pull_all(&w, &token, &format!("&added_after={last}")).await;
    assert_eq!(
        values(&later),
        set(&["198.51.100.9", "evil.example", "new.example"])
    );
    assert!(later_last.is_some_and(|l| l > last));
    // A changed object is a new version of the same object.
    let before = first
        .iter()
        .find(|o| value_of(o) == "evil.example")
        .cloned()
        .unwrap_or_default();
    let after = later
        .iter()
        .find(|o| value_of(o) == "evil.example")
        .cloned()
        .unwrap_or_default();
    assert_eq!(before["id"], after["id"]);
    assert!(after["modified"].as_str() > before["modified"].as_str());
    // Re-importing what is known changes nothing a partner would see.
    let (_, now_last) = pull_all(&w, &token, "").await;
    let now_last = now_last.expect("last");
    import(
        &w,
        &token,
        "format=list&source=blocklist&tlp=green",
        BLOCKLIST,
    )
    .await;
    let (again, _) = pull_all(&w, &token, &format!("&added_after={now_last}")).await;
    assert!(again.is_empty(), "{again:?}");
}

#[tokio::test]
async fn tlp_customers_get_green_at_most_and_red_never_leaves() {
    let w = world();
    import_both(&w).await;
    for customer in [w.a_customer_token.clone(), login(&w, "cus").await] {
        let (objects, _) = pull_all(&w, &customer, "").await;
        assert_eq!(
            values(&objects),
            set(&[
                "203.0.113.7",
                "evil.example",
                SHA256,
                "198.51.100.9",
                "new.example",
                "acme.example",
            ])
        );
        assert!(
            markings(&objects).is_subset(&set(&[CLEAR, GREEN])),
            "{objects:?}"
        );
        let text = serde_json::to_string(&objects).unwrap_or_default();
        for secret in [
            "red-secret",
            "amber-only",
            "strict-only",
            "amber.example",
            "red.example",
        ] {
            assert!(
                !text.contains(secret),
                "{secret} served to a customer: {text}"
            );
        }
    }
    let (objects, _) = pull_all(&w, &w.a_token.1, "").await;
    let seen = markings(&objects);
    assert!(
        seen.contains(AMBER) && seen.contains(AMBER_STRICT),
        "{seen:?}"
    );
    assert!(!seen.contains(RED), "{seen:?}");
    let text = serde_json::to_string(&objects).unwrap_or_default();
    assert!(
        !text.contains("red-secret") && !text.contains("red.example"),
        "{text}"
    );
    // The RED source's word on 198.51.100.9 stays home; the GREEN source's goes out.
    let shared = objects
        .iter()
        .find(|o| value_of(o) == "198.51.100.9")
        .cloned()
        .unwrap_or_default();
    assert_eq!(shared["object_marking_refs"], json!([GREEN]), "{shared}");
    assert_eq!(shared["external_references"][0]["source_name"], "blocklist");
    // Sessions of the tenant's analyst see the same as its analyst token.
    let session = login(&w, "ana").await;
    let (by_session, _) = pull_all(&w, &session, "").await;
    assert_eq!(values(&by_session), values(&objects));
}

#[tokio::test]
async fn taxii_stays_within_the_tenant() {
    let w = world();
    import_both(&w).await;
    let b_objects = format!(
        "/api/v1/taxii2/{}/collections/{}/objects/",
        w.b.0,
        collection_id(w.b)
    );
    let crossed = format!(
        "/api/v1/taxii2/{}/collections/{}/objects/",
        w.a.0,
        collection_id(w.b)
    );
    for bearer in [
        w.a_token.1.clone(),
        w.a_customer_token.clone(),
        login(&w, "ana").await,
    ] {
        let r = taxii(&w.router, &b_objects, &bearer, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
        let r = taxii(&w.router, &crossed, &bearer, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
        assert!(!r.text.contains(B_MARK));
    }
    // B's own token reads B's collection: its planted indicator, not A's.
    let (objects, _) = {
        let r = taxii(&w.router, &b_objects, &w.b_token.1, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        (
            r.json["objects"].as_array().cloned().unwrap_or_default(),
            (),
        )
    };
    assert_eq!(values(&objects), set(&[&format!("{B_MARK}.example")]));
    let r = taxii(&w.router, "/api/v1/taxii2/", &w.b_token.1, None).await;
    assert_eq!(
        r.json["api_roots"],
        json!([format!("/api/v1/taxii2/{}/", w.b.0)])
    );
}

/// Sends NDJSON lines to A's ingest.
async fn ingest(w: &World, lines: &[Value]) {
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/tenants/{}/ingest", w.a.0))
        .header(header::AUTHORIZATION, format!("Bearer {}", w.a_token.1))
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .body(Body::from(body))
        .expect("request");
    let r = call(&w.router, req).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
}

#[tokio::test]
async fn retro_hunts_find_stored_records_and_count_sightings() {
    let w = world();
    import_both(&w).await;
    ingest(
        &w,
        &[
            json!({"host": "web01", "message": "GET http://evil.example/login from 203.0.113.7"}),
            json!({"host": "web02", "message": "nothing to see"}),
            json!({"host": "ws07", "message": format!("dropped file sha256={SHA256}")}),
            json!({"host": "ws08", "message": "connect red.example"}),
        ],
    )
    .await;
    let hunt = |body: Value, bearer: String| {
        let path = format!("/api/v1/tenants/{}/intel/retro-hunt", w.a.0);
        let router = w.router.clone();
        async move {
            call(
                &router,
                request(Method::POST, &path, Some(&bearer), Some(&body.to_string())),
            )
            .await
        }
    };
    let r = hunt(json!({"days": 1}), w.a_token.1.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["records_scanned"], 4, "{}", r.text);
    assert_eq!(r.json["scan_capped"], false);
    let hits: BTreeSet<(String, String)> = r.json["hits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| {
            assert!(
                h["record"].as_i64().is_some() && h["time"].as_str().is_some(),
                "{h}"
            );
            assert!(h["indicator"].as_i64().is_some(), "{h}");
            (
                h["value"].as_str().unwrap_or("").to_owned(),
                h["host"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    // The stored records have not been through the pipeline: hosts are not known yet.
    let found: BTreeSet<&str> = hits.iter().map(|(v, _)| v.as_str()).collect();
    assert_eq!(
        found,
        ["203.0.113.7", "evil.example", "red.example", SHA256]
            .into_iter()
            .collect()
    );
    assert_eq!(r.json["hits_total"], 4);

    // Only chosen indicators.
    let list = send(
        &w,
        Method::GET,
        &format!(
            "/api/v1/tenants/{}/intel/indicators?kind=domain&q=evil",
            w.a.0
        ),
        Some(&w.a_token.1),
        None,
    )
    .await;
    let id = list.json["items"][0]["id"].as_i64().expect("id");
    assert_eq!(list.json["items"][0]["sightings"], 1, "{}", list.text);
    let r = hunt(json!({"days": 7, "indicators": [id]}), w.a_token.1.clone()).await;
    assert_eq!(r.json["hits_total"], 1, "{}", r.text);
    assert_eq!(r.json["hits"][0]["value"], "evil.example");
    // Only those added since a time after everything: nothing to hunt.
    let r = hunt(
        json!({"days": 7, "added_since": "2100-01-01T00:00:00Z"}),
        w.a_token.1.clone(),
    )
    .await;
    assert_eq!(
        (r.json["indicators"].as_u64(), r.json["hits_total"].as_u64()),
        (Some(0), Some(0))
    );

    let r = hunt(json!({"days": 0}), w.a_token.1.clone()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = hunt(
        json!({"days": 1, "indicators": [999_999]}),
        w.a_token.1.clone(),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = hunt(json!({"days": 1}), w.a_customer_token.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    let audit = send(
        &w,
        Method::GET,
        &format!("/api/v1/tenants/{}/audit", w.a.0),
        Some(&w.a_token.1),
        None,
    )
    .await;
    let details: Vec<&str> = audit.json["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["action"] == "intel.retro-hunt")
        .filter_map(|e| e["detail"].as_str())
        .collect();
    assert_eq!(details.len(), 3, "{}", audit.text);
    assert!(details[2].contains("4 hits"), "{details:?}");
}

#[tokio::test]
async fn the_live_pipeline_matches_what_was_imported() {
    let store = Arc::new(Store::open_in_memory().expect("store"));
    let origin = Origin::system("test", Timestamp::now());
    let a = store.create_tenant("Acme", &origin).expect("tenant").id;
    let token = store
        .create_token(a, Role::Analyst, "a-token", None, &origin)
        .expect("token")
        .secret
        .expose()
        .to_owned();
    let book = Arc::new(RuleBook::from_sources(&[]));
    let config = LiveConfig::new(
        Arc::clone(&book),
        Arc::new(|| Triage::new(TriageConfig::default())),
    );
    let live = Live::start(Arc::clone(&store), config).expect("pipeline");
    let state =
        AppState::new(Arc::clone(&store)).with_live(live.handle(), Arc::new(RwLock::new(book)));
    let router = app(state);
    let post = |path: String, content_type: &'static str, body: String| {
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .expect("request");
        let router = router.clone();
        async move { call(&router, req).await }
    };
    // A record before any indicator: nothing matches. Then the import, then a record.
    let r = post(
        format!(
            "/api/v1/tenants/{}/intel/import?format=list&source=feed&tlp=green",
            a.0
        ),
        "text/plain",
        "203.0.113.66\n".to_owned(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let line = json!({"host": "fw01", "dest_ip": "203.0.113.66", "src_ip": "10.0.0.5"});
    let r = post(
        format!("/api/v1/tenants/{}/ingest", a.0),
        "application/x-ndjson",
        format!("{line}\n"),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let deadline = Instant::now() + Duration::from_secs(60);
    let get = |path: String| {
        let router = router.clone();
        let token = token.clone();
        async move { call(&router, request(Method::GET, &path, Some(&token), None)).await }
    };
    loop {
        let alerts = get(format!("/api/v1/tenants/{}/alerts", a.0)).await;
        let stats = get(format!("/api/v1/tenants/{}/intel/stats", a.0)).await;
        let alerted = alerts.json["total"].as_u64().unwrap_or(0) > 0;
        let sighted = stats.json["stats"]["sightings"].as_u64().unwrap_or(0) > 0;
        if alerted && sighted {
            assert!(alerts.text.contains("203.0.113.66"), "{}", alerts.text);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no indicator alert and sighting: {} {}",
            alerts.text,
            stats.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    live.stop();
}
