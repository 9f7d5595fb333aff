//! `GET /tenants/{id}/intel/export`: a tenant's indicators and incidents for a partner,
//! as one STIX 2.1 bundle or as MISP events, under TLP.
//!
//! The recipient's level (`tlp`, default TLP:GREEN) is capped by what the caller may
//! share (analysts and admins up to TLP:AMBER+STRICT, customers TLP:GREEN; TLP:RED never
//! leaves). Indicators go through the intelligence exporters with the tenant's context
//! objects; incidents (`incidents=open|all`) are shared with the TLP the caller gives
//! them (`incident_tlp`, default TLP:AMBER), under a name made of their number, stages
//! and severity (their own title names the tenant's host), with the ATT&CK techniques
//! of their alerts and only the external observables their alerts carried
//! ([`watchfloor_intel::export::incident`]). The answer holds the document and the
//! account of what went out and what stayed home.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use watchfloor_intel::Tlp;
use watchfloor_intel::export::ExportPolicy;
use watchfloor_intel::export::incident::{
    IncidentReport, SharedIncident, Technique, add_incidents_stix, incident_misp_event,
};
use watchfloor_intel::export::misp::{MispOptions, export_misp_event};
use watchfloor_intel::export::stix::{StixOptions, export_stix};
use watchfloor_intel::import::ContextObject;
use watchfloor_store::{IncidentQuery, IncidentStatus, Store, StoreError, TenantId, Timestamp};

use crate::auth::Auth;
use crate::cases::parse_time;
use crate::handlers::TenantPath;
use crate::intel_api::{invalid, load_intel, sharing_tlp};
use crate::{AppError, AppState};

/// The most incidents one export shares (the most recent first).
pub const MAX_EXPORT_INCIDENTS: usize = 1_000;
/// The most alerts read per incident for its techniques.
const ALERTS_PER_INCIDENT: u32 = 200;
const CONTEXT_BATCH: u32 = 1_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExportParams {
    /// `stix` (default) or `misp`.
    format: Option<String>,
    /// The highest TLP the recipient may receive; default `green`.
    tlp: Option<String>,
    /// Whether the tenant's indicators go out; default true.
    indicators: Option<bool>,
    /// `none` (default), `open` or `all`.
    incidents: Option<String>,
    /// The TLP the shared incidents carry; default `amber`.
    incident_tlp: Option<String>,
    /// Only incidents last seen since (RFC 3339).
    since: Option<String>,
    /// The tenant's own domains, comma-separated: names under them stay home.
    internal_domains: Option<String>,
}

fn tlp_param(field: &str, text: Option<&str>, default: Tlp) -> Result<Tlp, AppError> {
    match text {
        None => Ok(default),
        Some(t) => Tlp::parse(t)
            .ok_or_else(|| invalid(field, "must be clear, green, amber, amber+strict or red")),
    }
}

/// `GET /tenants/{id}/intel/export`.
pub(crate) async fn export(
    State(state): State<AppState>,
    auth: Auth,
    TenantPath(tenant): TenantPath,
    params: Result<Query<ExportParams>, QueryRejection>,
) -> Result<Json<Value>, AppError> {
    let Query(p) = params?;
    let misp = match p.format.as_deref().unwrap_or("stix") {
        "stix" => false,
        "misp" => true,
        _ => return Err(invalid("format", "must be stix or misp")),
    };
    let asked = tlp_param("tlp", p.tlp.as_deref(), Tlp::Green)?;
    let allowed = asked.min(sharing_tlp(&auth.principal));
    let incident_tlp = tlp_param("incident_tlp", p.incident_tlp.as_deref(), Tlp::Amber)?;
    let status = match p.incidents.as_deref().unwrap_or("none") {
        "none" => None,
        "open" => Some(Some(IncidentStatus::Open)),
        "all" => Some(None),
        _ => return Err(invalid("incidents", "must be none, open or all")),
    };
    let since = parse_time("since", p.since.as_deref())?;
    let with_indicators = p.indicators.unwrap_or(true);
    let internal: Vec<String> = p
        .internal_domains
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(|d| d.trim().trim_start_matches('.').to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .collect();
    let now = Timestamp::now();
    state
        .run(move |store| {
            let tenant_row = store.tenant(tenant)?;
            let producer = tenant_row.name.clone();
            let policy = ExportPolicy::new(allowed, now);
            let loaded = if with_indicators {
                Some(load_intel(store, tenant)?)
            } else {
                None
            };
            let indicators = loaded.iter().flat_map(|l| l.intel.iter());
            let context = if with_indicators {
                context_objects(store, tenant)?
            } else {
                Vec::new()
            };
            let incidents = match status {
                Some(status) => shared_incidents(store, tenant, status, since, incident_tlp)?,
                None => Vec::new(),
            };
            let internal: Vec<&str> = internal.iter().map(String::as_str).collect();
            let mut shared = IncidentReport::default();
            let (document, report) = if misp {
                let info = format!("{producer} indicators");
                let e = export_misp_event(
                    indicators,
                    &context,
                    &policy,
                    &MispOptions::new(&producer, info),
                );
                let mut events = Vec::new();
                if with_indicators {
                    events.push(e.event);
                }
                for incident in &incidents {
                    if let Some(event) =
                        incident_misp_event(incident, &policy, &producer, &internal, &mut shared)
                    {
                        events.push(event);
                    }
                }
                (json!({ "response": events }), e.report)
            } else {
                let options = StixOptions::new(&producer, tenant_row.created_at);
                let mut e = export_stix(indicators, &context, &policy, &options);
                shared = add_incidents_stix(&mut e, &incidents, &policy, &options, &internal);
                (e.bundle, e.report)
            };
            Ok(Json(json!({
                "format": if misp { "misp" } else { "stix" },
                "tlp_allowed": policy.ceiling().as_str(),
                "indicators": report,
                "incidents": shared,
                "document": document,
            })))
        })
        .await
}

/// The tenant's imported context objects (malware, threat actors, relationships…).
fn context_objects(store: &Store, tenant: TenantId) -> Result<Vec<ContextObject>, StoreError> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let rows = store.intel_objects(tenant, after, CONTEXT_BATCH)?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for row in rows {
            let Ok(json) = serde_json::from_str::<Value>(row.json.get()) else {
                continue;
            };
            let name = json.get("name").and_then(Value::as_str).map(str::to_owned);
            out.push(ContextObject {
                id: row.stix_id,
                kind: row.kind,
                name,
                json,
            });
        }
    }
    Ok(out)
}

/// The tenant's incidents as they may be shared, most recent first.
fn shared_incidents(
    store: &Store,
    tenant: TenantId,
    status: Option<IncidentStatus>,
    since: Option<Timestamp>,
    tlp: Tlp,
) -> Result<Vec<SharedIncident>, StoreError> {
    let mut out = Vec::new();
    let mut q = IncidentQuery {
        status,
        since,
        limit: 100,
        ..IncidentQuery::default()
    };
    while out.len() < MAX_EXPORT_INCIDENTS {
        let page = store.incidents_with_docs(tenant, &q)?;
        let n = page.items.len();
        for incident in page.items {
            if out.len() >= MAX_EXPORT_INCIDENTS {
                break;
            }
            let doc: Value = serde_json::from_str(incident.doc.get()).unwrap_or(Value::Null);
            let strings = |key: &str| -> Vec<String> {
                doc.get(key)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            };
            let stages: Vec<String> = doc
                .get("stages")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|s| s.get("label").and_then(Value::as_str))
                .map(str::to_owned)
                .collect();
            let mut techniques: Vec<Technique> = Vec::new();
            for alert in store.incident_alerts(tenant, incident.id, ALERTS_PER_INCIDENT)? {
                let doc: Value = serde_json::from_str(alert.doc.get()).unwrap_or(Value::Null);
                for t in doc
                    .get("techniques")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let Some(id) = t.get("id").and_then(Value::as_str) else {
                        continue;
                    };
                    if !techniques.iter().any(|known| known.id == id) {
                        techniques.push(Technique {
                            id: id.to_owned(),
                            name: t.get("name").and_then(Value::as_str).map(str::to_owned),
                        });
                    }
                }
            }
            let reached = stages.last().map_or("no stage", String::as_str);
            out.push(SharedIncident {
                key: format!("tenant-{}/incident-{}", tenant.0, incident.id),
                name: format!(
                    "Incident {}: {} ({})",
                    incident.id, reached, incident.severity
                ),
                description: Some(format!(
                    "Stages: {}. {} alerts from {} detections.",
                    if stages.is_empty() {
                        "none".to_owned()
                    } else {
                        stages.join(" → ")
                    },
                    incident.alert_count,
                    incident.detections
                )),
                severity: incident.severity.clone(),
                first_seen: incident.first_seen,
                last_seen: incident.last_seen,
                stages,
                techniques,
                observables: strings("indicators"),
                tlp,
                closed: incident.status == IncidentStatus::Closed,
            });
        }
        if n < q.limit as usize {
            break;
        }
        q.offset += q.limit;
    }
    Ok(out)
}
