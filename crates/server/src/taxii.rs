//! TAXII 2.1 for partners: a tenant's indicators as STIX 2.1 objects, read only.
//!
//! Every route is in the route table under `/api/v1/taxii2/` (the table builds every
//! path under [`crate::API_PREFIX`]), so access is checked by the table's guard like any
//! other route: one API root per tenant, `/api/v1/taxii2/{id}/`, needing read access
//! to tenant `{id}`; discovery (`/api/v1/taxii2/`) lists the API roots the caller reads.
//! Each API root has one collection, the tenant's indicators, whose id
//! ([`collection_id`]) is a UUID derived from the tenant id.
//!
//! - `GET /taxii2/` discovery, `GET /taxii2/{id}/` the API root,
//!   `GET …/collections/`, `GET …/collections/{collection_id}/`;
//! - `GET …/objects/`: an envelope `{more, next, objects}` in the order objects were
//!   added (or last changed), with `added_after` (strictly after), `limit` (at most
//!   1000; larger asks get 1000) and `next` (the opaque cursor of the page before), and
//!   the `X-TAXII-Date-Added-First`/`-Last` headers of the page; `match[type]`,
//!   `match[id]` and `match[spec_version]` filter (`match[id]` within the page, so a
//!   page may hold fewer than `limit`);
//! - `GET …/manifest/`: the same pages, each object's id, date added, version and
//!   media type.
//!
//! Answers are `application/taxii+json;version=2.1`; a request whose `Accept` admits
//! neither that (`application/taxii+json`, any version 2.1 or none) nor `*/*` or
//! `application/*` is refused with 406. Errors keep the API's one error shape
//! (`{"error": {"code", "message"}}`, `application/json`) rather than TAXII's error
//! resource.
//!
//! TLP: a caller is served what it may receive (`intel_api::sharing_tlp`):
//! analysts, admins and analyst tokens up to TLP:AMBER+STRICT, customers up to
//! TLP:GREEN, TLP:RED never. An indicator is served with only the attributions within
//! that limit, marked with the TLP 2.0 marking of the strictest of them; one with none
//! within it is not served at all (the store's `tlp_open_rank` skips it, so pages stay
//! full).
//!
//! Objects: one STIX `indicator` per stored indicator (`stix_indicator`, written here
//! until the intel crate's exporter is wired in), id derived from the tenant, kind and
//! value, `modified` the time it last changed. JA3 fingerprints have no STIX pattern
//! and are not served.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use watchfloor_intel::export::stix::{indicator_pattern, tlp2_marking_id};
use watchfloor_intel::{Kind, Tlp};
use watchfloor_store::{
    Access, AddedCursor, AddedPage, AddedQuery, MAX_INTEL_PAGE, StoredIndicator, TenantId,
    Timestamp,
};

use crate::auth::Auth;
use crate::handlers::TenantPath;
use crate::intel_api::{AttributionDoc, sharing_tlp, tlp_rank, visible};
use crate::{API_PREFIX, AppError, AppState};

/// The media type of every TAXII answer.
pub const TAXII_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";
/// The media type of the objects a collection holds.
pub const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";
/// Objects per page when the request names no `limit`.
pub const DEFAULT_LIMIT: u32 = 100;
/// The header naming the date added of a page's first object.
pub const DATE_ADDED_FIRST: &str = "x-taxii-date-added-first";
/// The header naming the date added of a page's last object.
pub const DATE_ADDED_LAST: &str = "x-taxii-date-added-last";

const NOT_ACCEPTABLE: &str =
    "this route answers application/taxii+json;version=2.1 only (Accept names neither it nor */*)";

/// A UUID (version 8, RFC 9562: name-based on SHA-256) of `parts`, so the same inputs
/// always give the same id.
fn derived_uuid(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(b"watchfloor");
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The id of `tenant`'s collection of indicators.
pub fn collection_id(tenant: TenantId) -> String {
    derived_uuid(&["taxii-collection", &tenant.0.to_string()])
}

/// The URL path of `tenant`'s API root.
pub fn api_root_path(tenant: TenantId) -> String {
    format!("{API_PREFIX}/taxii2/{}/", tenant.0)
}

/// A TAXII time: RFC 3339 in UTC with `digits` (3 or 6) fractional digits.
fn taxii_time(t: Timestamp, digits: u32) -> String {
    let secs = t.0.div_euclid(1_000_000_000);
    let nanos = t.0.rem_euclid(1_000_000_000);
    let whole = jiff::Timestamp::from_second(secs)
        .map(|ts| ts.strftime("%Y-%m-%dT%H:%M:%S").to_string())
        .unwrap_or_else(|_| "1970-01-01T00:00:00".to_owned());
    if digits == 3 {
        format!("{whole}.{:03}Z", nanos / 1_000_000)
    } else {
        format!("{whole}.{:06}Z", nanos / 1_000)
    }
}

/// Whether the `Accept` header admits the TAXII 2.1 media type.
fn acceptable(headers: &HeaderMap) -> bool {
    let values: Vec<&HeaderValue> = headers.get_all(header::ACCEPT).iter().collect();
    if values.is_empty() {
        return true;
    }
    values.iter().any(|v| {
        let Ok(text) = v.to_str() else { return false };
        if text.trim().is_empty() {
            return true;
        }
        text.split(',').any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let (mut version, mut q) = (None, 1.0_f32);
            for p in parts {
                if let Some((k, v)) = p.split_once('=') {
                    let v = v.trim().trim_matches('"');
                    match k.trim().to_ascii_lowercase().as_str() {
                        "version" => version = Some(v.to_owned()),
                        "q" => q = v.parse().unwrap_or(0.0),
                        _ => {}
                    }
                }
            }
            q > 0.0
                && match media.as_str() {
                    "*/*" | "application/*" => true,
                    "application/taxii+json" => version.is_none_or(|v| v == "2.1"),
                    _ => false,
                }
        })
    })
}

fn check_accept(headers: &HeaderMap) -> Result<(), AppError> {
    if acceptable(headers) {
        Ok(())
    } else {
        Err(AppError::NotAcceptable(NOT_ACCEPTABLE))
    }
}

/// A TAXII answer: the JSON body with the TAXII media type and `extra` headers.
fn answer(body: &Value, extra: &[(&'static str, String)]) -> Result<Response, AppError> {
    let mut response = Json(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(TAXII_MEDIA_TYPE),
    );
    for (name, value) in extra {
        let value = HeaderValue::from_str(value).map_err(AppError::internal)?;
        headers.insert(HeaderName::from_static(name), value);
    }
    Ok(response)
}

/// The tenant and collection of a `/taxii2/{id}/collections/{collection_id}/…` route;
/// another tenant's collection (or an unknown one) is not found.
pub(crate) struct CollectionPath {
    tenant: TenantId,
}

impl<S: Send + Sync> FromRequestParts<S> for CollectionPath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let (tenant, collection) = crate::routes::tenant_and_param(parts, "collection_id").await?;
        if collection.to_ascii_lowercase() == collection_id(tenant) {
            Ok(CollectionPath { tenant })
        } else {
            Err(AppError::NotFound("collection".to_owned()))
        }
    }
}

/// `GET /taxii2/`: the API roots of the tenants the caller reads.
pub(crate) async fn discovery(
    State(state): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    check_accept(&headers)?;
    let tenants = state.run(|s| s.tenants()).await?;
    let roots: Vec<TenantId> = tenants
        .into_iter()
        .map(|t| t.id)
        .filter(|&t| Access::can_read(&auth.principal, t))
        .collect();
    let mut body = json!({
        "title": "watchfloor TAXII 2.1",
        "description": "Each tenant's indicators, one API root per tenant, under TLP.",
        "api_roots": roots.iter().map(|&t| api_root_path(t)).collect::<Vec<_>>(),
    });
    if let ([only], Value::Object(m)) = (roots.as_slice(), &mut body) {
        m.insert("default".to_owned(), Value::from(api_root_path(*only)));
    }
    answer(&body, &[])
}

/// `GET /taxii2/{id}/`: the tenant's API root.
pub(crate) async fn api_root(
    State(state): State<AppState>,
    TenantPath(tenant): TenantPath,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    check_accept(&headers)?;
    let t = state.run(move |s| s.tenant(tenant)).await?;
    let body = json!({
        "title": t.name,
        "description": "This tenant's threat intelligence.",
        "versions": [TAXII_MEDIA_TYPE],
        "max_content_length": crate::MAX_BODY_BYTES,
    });
    answer(&body, &[])
}

fn collection_resource(tenant: TenantId) -> Value {
    json!({
        "id": collection_id(tenant),
        "title": "Indicators",
        "description": "The tenant's indicators, each with the attributions the caller may receive under TLP.",
        "can_read": true,
        "can_write": false,
        "media_types": [STIX_MEDIA_TYPE],
    })
}

/// `GET /taxii2/{id}/collections/`.
pub(crate) async fn collections(
    State(state): State<AppState>,
    TenantPath(tenant): TenantPath,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    check_accept(&headers)?;
    state.run(move |s| s.tenant(tenant)).await?;
    answer(
        &json!({ "collections": [collection_resource(tenant)] }),
        &[],
    )
}

/// `GET /taxii2/{id}/collections/{collection_id}/`.
pub(crate) async fn collection(
    State(state): State<AppState>,
    path: CollectionPath,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    check_accept(&headers)?;
    let tenant = path.tenant;
    state.run(move |s| s.tenant(tenant)).await?;
    answer(&collection_resource(tenant), &[])
}

/// The filters and paging of an objects or manifest request.
struct Filters {
    added_after: Option<Timestamp>,
    cursor: Option<AddedCursor>,
    limit: u32,
    types: Option<Vec<String>>,
    ids: Option<Vec<String>>,
    spec_versions: Option<Vec<String>>,
}

fn bad(field: &str, reason: &str) -> AppError {
    AppError::Invalid {
        field: field.to_owned(),
        reason: reason.to_owned(),
    }
}

fn list_of(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

fn filters(params: &[(String, String)]) -> Result<Filters, AppError> {
    let mut f = Filters {
        added_after: None,
        cursor: None,
        limit: DEFAULT_LIMIT,
        types: None,
        ids: None,
        spec_versions: None,
    };
    for (name, value) in params {
        match name.as_str() {
            "added_after" => {
                let t: jiff::Timestamp = value
                    .parse()
                    .map_err(|_| bad("added_after", "must be an RFC 3339 time"))?;
                f.added_after = Some(Timestamp(
                    i64::try_from(t.as_nanosecond()).unwrap_or(i64::MAX),
                ));
            }
            "limit" => {
                let n: u32 = value
                    .parse()
                    .map_err(|_| bad("limit", "must be a positive number"))?;
                if n == 0 {
                    return Err(bad("limit", "must be a positive number"));
                }
                f.limit = n.min(MAX_INTEL_PAGE);
            }
            "next" => {
                let cursor = value
                    .split_once('.')
                    .and_then(|(t, id)| Some((t.parse().ok()?, id.parse().ok()?)))
                    .map(|(t, id)| AddedCursor {
                        added_at: Timestamp(t),
                        id,
                    })
                    .ok_or_else(|| bad("next", "is not a cursor this server gave"))?;
                f.cursor = Some(cursor);
            }
            "match[type]" => f.types = Some(list_of(value)),
            "match[id]" => f.ids = Some(list_of(value)),
            "match[spec_version]" => f.spec_versions = Some(list_of(value)),
            // `match[version]`: every object has one version here, the latest.
            _ => {}
        }
    }
    Ok(f)
}

/// Whether the type and spec-version filters leave indicators in at all.
fn indicators_wanted(f: &Filters) -> bool {
    f.types
        .as_ref()
        .is_none_or(|t| t.iter().any(|t| t == "indicator"))
        && f.spec_versions
            .as_ref()
            .is_none_or(|v| v.iter().any(|v| v == "2.1"))
}

/// The STIX id of `tenant`'s indicator object for `row`.
fn indicator_id(tenant: TenantId, row: &StoredIndicator) -> String {
    let t = tenant.0.to_string();
    format!(
        "indicator--{}",
        derived_uuid(&["indicator", &t, &row.kind, &row.value])
    )
}

/// The STIX 2.1 `indicator` a caller allowed up to `ceiling` receives for `row`, or
/// `None` when none of its attributions may go to it (or it has no STIX pattern).
///
/// The one place objects are made: swap in `watchfloor_intel::export::stix` here once
/// it builds single objects.
pub(crate) fn stix_indicator(
    tenant: TenantId,
    row: &StoredIndicator,
    ceiling: Tlp,
) -> Option<Value> {
    let ceiling = ceiling.min(Tlp::AmberStrict);
    let shared: Vec<AttributionDoc> = visible(row, ceiling);
    let strictest = shared.iter().map(|a| a.tlp).max()?;
    let kind: Kind = row.kind.parse().ok()?;
    let pattern = indicator_pattern(kind, &row.value)?;
    let attributions: Vec<_> = shared.iter().map(AttributionDoc::to_attribution).collect();
    let created = row.first_seen.min(row.added_at);
    let valid_from = attributions
        .iter()
        .map(|a| a.valid_from.unwrap_or(row.first_seen))
        .min()
        .unwrap_or(row.first_seen);
    let valid_until = attributions
        .iter()
        .map(|a| a.valid_until)
        .collect::<Option<Vec<_>>>()
        .and_then(|ends| ends.into_iter().max())
        .filter(|&end| end > valid_from);
    let confidence = attributions
        .iter()
        .map(|a| a.confidence)
        .max()
        .unwrap_or(50);
    let mut labels: Vec<&str> = Vec::new();
    let mut attack: Vec<&str> = Vec::new();
    for a in &attributions {
        for t in &a.tags {
            if !t.to_ascii_lowercase().starts_with("tlp:")
                && !labels.contains(&t.as_str())
                && labels.len() < 50
            {
                labels.push(t);
            }
        }
        for t in &a.attack {
            if !attack.contains(&t.as_str()) {
                attack.push(t);
            }
        }
    }
    let mut references: Vec<Value> = attributions
        .iter()
        .map(|a| {
            let mut r = Map::new();
            r.insert("source_name".to_owned(), Value::from(a.source.clone()));
            if let Some(id) = &a.reference {
                r.insert("external_id".to_owned(), Value::from(id.clone()));
            }
            if let Some(d) = &a.description {
                r.insert("description".to_owned(), Value::from(d.clone()));
            }
            Value::Object(r)
        })
        .collect();
    references.extend(attack.iter().map(|id| {
        json!({
            "source_name": "mitre-attack",
            "external_id": id,
            "url": format!("https://attack.mitre.org/techniques/{}/", id.replace('.', "/")),
        })
    }));
    let mut o = json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": indicator_id(tenant, row),
        "created": taxii_time(created, 3),
        "modified": taxii_time(row.added_at.max(created), 3),
        "name": row.value,
        "indicator_types": ["malicious-activity"],
        "pattern": pattern,
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": taxii_time(valid_from, 3),
        "confidence": confidence,
        "external_references": references,
        "object_marking_refs": [tlp2_marking_id(strictest)],
    });
    if let Value::Object(m) = &mut o {
        if let Some(end) = valid_until {
            m.insert("valid_until".to_owned(), Value::from(taxii_time(end, 3)));
        }
        if !labels.is_empty() {
            m.insert("labels".to_owned(), json!(labels));
        }
        let descriptions: Vec<&str> = attributions
            .iter()
            .filter_map(|a| a.description.as_deref())
            .collect();
        if !descriptions.is_empty() {
            m.insert(
                "description".to_owned(),
                Value::from(descriptions.join("\n")),
            );
        }
    }
    Some(o)
}

/// One page of the collection for the caller, with the page's first and last dates.
struct Served {
    page: AddedPage,
    objects: Vec<Value>,
}

async fn serve_page(
    state: &AppState,
    auth: &Auth,
    tenant: TenantId,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Served, AppError> {
    let Query(params) = params?;
    let f = filters(&params)?;
    let ceiling = sharing_tlp(&auth.principal);
    if !indicators_wanted(&f) {
        return Ok(Served {
            page: AddedPage {
                items: Vec::new(),
                more: false,
            },
            objects: Vec::new(),
        });
    }
    let q = AddedQuery {
        added_after: f.added_after,
        cursor: f.cursor,
        max_open_rank: tlp_rank(ceiling),
        limit: f.limit,
    };
    let page = state
        .run(move |s| s.indicator_rows_added_after(tenant, &q))
        .await?;
    let objects = page
        .items
        .iter()
        .filter_map(|row| stix_indicator(tenant, row, ceiling))
        .filter(|o| {
            f.ids.as_ref().is_none_or(|ids| {
                o.get("id")
                    .and_then(Value::as_str)
                    .is_some_and(|id| ids.iter().any(|i| i == id))
            })
        })
        .collect();
    Ok(Served { page, objects })
}

/// The envelope (or manifest) of a page, with its paging and date headers.
fn page_answer(served: &Served, objects: Vec<Value>) -> Result<Response, AppError> {
    let mut body = Map::new();
    body.insert("more".to_owned(), Value::from(served.page.more));
    let (first, last) = (served.page.items.first(), served.page.items.last());
    if served.page.more
        && let Some(last) = last
    {
        body.insert(
            "next".to_owned(),
            Value::from(format!("{}.{}", last.added_at.0, last.id)),
        );
    }
    if !objects.is_empty() {
        body.insert("objects".to_owned(), Value::Array(objects));
    }
    let mut headers = Vec::new();
    if let (Some(first), Some(last)) = (first, last) {
        headers.push((DATE_ADDED_FIRST, taxii_time(first.added_at, 6)));
        headers.push((DATE_ADDED_LAST, taxii_time(last.added_at, 6)));
    }
    answer(&Value::Object(body), &headers)
}

/// `GET /taxii2/{id}/collections/{collection_id}/objects/`.
pub(crate) async fn objects(
    State(state): State<AppState>,
    auth: Auth,
    path: CollectionPath,
    headers: HeaderMap,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, AppError> {
    check_accept(&headers)?;
    let served = serve_page(&state, &auth, path.tenant, params).await?;
    page_answer(&served, served.objects.clone())
}

/// `GET /taxii2/{id}/collections/{collection_id}/manifest/`.
pub(crate) async fn manifest(
    State(state): State<AppState>,
    auth: Auth,
    path: CollectionPath,
    headers: HeaderMap,
    params: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Response, AppError> {
    check_accept(&headers)?;
    let served = serve_page(&state, &auth, path.tenant, params).await?;
    let rows = &served.page.items;
    let entries: Vec<Value> = served
        .objects
        .iter()
        .filter_map(|o| {
            let id = o.get("id")?.as_str()?;
            let row = rows.iter().find(|r| indicator_id(path.tenant, r) == id)?;
            Some(json!({
                "id": id,
                "date_added": taxii_time(row.added_at, 6),
                "version": o.get("modified")?,
                "media_type": STIX_MEDIA_TYPE,
            }))
        })
        .collect();
    page_answer(&served, entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: Option<&str>) -> bool {
        let mut h = HeaderMap::new();
        if let Some(v) = value {
            h.insert(header::ACCEPT, HeaderValue::from_str(v).expect("header"));
        }
        acceptable(&h)
    }

    #[test]
    fn accept_negotiation() {
        assert!(accept(None));
        assert!(accept(Some("application/taxii+json;version=2.1")));
        assert!(accept(Some("application/taxii+json; version=\"2.1\"")));
        assert!(accept(Some("application/taxii+json")));
        assert!(accept(Some("text/html, */*;q=0.1")));
        assert!(!accept(Some("application/taxii+json;version=2.0")));
        assert!(!accept(Some("application/xml")));
        assert!(!accept(Some("application/taxii+json;version=2.1;q=0")));
        assert!(!accept(Some("application/json")));
    }

    #[test]
    fn markings_are_the_ones_the_importer_reads() {
        use watchfloor_intel::import::stix::TLP_MARKING_DEFINITIONS;
        for tlp in [
            Tlp::Clear,
            Tlp::Green,
            Tlp::Amber,
            Tlp::AmberStrict,
            Tlp::Red,
        ] {
            let id = tlp2_marking_id(tlp);
            assert!(TLP_MARKING_DEFINITIONS.contains(&(id, tlp)), "{tlp:?} {id}");
        }
    }

    #[test]
    fn ids_are_uuids_fixed_by_their_inputs() {
        let a = collection_id(TenantId(1));
        assert_eq!(a, collection_id(TenantId(1)));
        assert_ne!(a, collection_id(TenantId(2)));
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('8'), "version 8: {a}");
        assert!(
            matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
            "{a}"
        );
    }

    #[test]
    fn patterns_quote_their_values() {
        assert_eq!(
            indicator_pattern(Kind::Url, "http://x.example/it's\\").as_deref(),
            Some(r"[url:value = 'http://x.example/it\'s\\']")
        );
        assert_eq!(
            indicator_pattern(Kind::Cidr, "10.0.0.0/8").as_deref(),
            Some("[ipv4-addr:value ISSUBSET '10.0.0.0/8']")
        );
        assert_eq!(indicator_pattern(Kind::Ja3, &"a".repeat(32)), None);
    }

    #[test]
    fn times_have_fixed_precision() {
        let t = Timestamp(1_772_438_400_123_456_789);
        assert_eq!(taxii_time(t, 6), "2026-03-02T08:00:00.123456Z");
        assert_eq!(taxii_time(t, 3), "2026-03-02T08:00:00.123Z");
    }
}
