//! The route table: every route of the API as data — method, path, the access it
//! requires, what it does — from which both the router ([`crate::app`]) and the OpenAPI
//! document are built, and over which the tenant-isolation test walks.
//!
//! Access is enforced here, not in the handlers: each route gets a guard that
//! authenticates the caller and checks the route's [`AccessKind`] against the tenant in
//! its `{id}` path parameter before the handler runs (or reads the body).

use axum::Router;
use axum::extract::{FromRequestParts, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::{MethodFilter, MethodRouter, on};
use serde_json::{Map, Value, json};
use watchfloor_store::{Access, Principal, TenantId, TokenId};

use crate::auth::Auth;
use crate::{AppError, AppState, handlers};

/// Every route is under this prefix.
pub const API_PREFIX: &str = "/api/v1";

/// An HTTP method the API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    Get,
    Post,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }

    fn filter(self) -> MethodFilter {
        match self {
            HttpMethod::Get => MethodFilter::GET,
            HttpMethod::Post => MethodFilter::POST,
            HttpMethod::Patch => MethodFilter::PATCH,
            HttpMethod::Delete => MethodFilter::DELETE,
        }
    }
}

/// What a caller needs for a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessKind {
    /// No credentials.
    Public,
    /// Any accepted credential; what comes back is filtered to what the caller reads.
    Authenticated,
    /// Read access to the tenant in `{id}` ([`Access::can_read`]).
    TenantRead,
    /// Write access to the tenant in `{id}` ([`Access::can_write`]).
    TenantWrite,
    /// An administrator ([`Access::can_administer`]).
    Admin,
}

impl AccessKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessKind::Public => "public",
            AccessKind::Authenticated => "authenticated",
            AccessKind::TenantRead => "tenant-read",
            AccessKind::TenantWrite => "tenant-write",
            AccessKind::Admin => "admin",
        }
    }
}

/// The handler a route runs; its name is the OpenAPI `operationId`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    Health,
    Login,
    Logout,
    OpenApi,
    ListTenants,
    CreateTenant,
    GetTenant,
    UpdateTenant,
    TenantAudit,
    ListUsers,
    CreateUser,
    ListTokens,
    CreateToken,
    RevokeToken,
    Ingest,
    ListAlerts,
    GetAlert,
    AcknowledgeAlert,
    AssignAlert,
    CloseAlert,
    ReopenAlert,
    SuppressAlert,
    ListIncidents,
    GetIncident,
    AssignIncident,
    CloseIncident,
    ReopenIncident,
    StreamIncidents,
    ListSuppressions,
    CreateSuppression,
    DeleteSuppression,
    ListRules,
    ListAssets,
    ReplaceAssets,
    EnableRule,
    DisableRule,
    SearchEvents,
    IngestForToken,
    Metrics,
    ImportIntel,
    ListIndicators,
    IntelStats,
    RetroHunt,
    ExportIntel,
    TaxiiDiscovery,
    TaxiiApiRoot,
    TaxiiCollections,
    TaxiiCollection,
    TaxiiObjects,
    TaxiiManifest,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Health => "health",
            Operation::Login => "login",
            Operation::Logout => "logout",
            Operation::OpenApi => "openapi",
            Operation::ListTenants => "listTenants",
            Operation::CreateTenant => "createTenant",
            Operation::GetTenant => "getTenant",
            Operation::UpdateTenant => "updateTenant",
            Operation::TenantAudit => "tenantAudit",
            Operation::ListUsers => "listUsers",
            Operation::CreateUser => "createUser",
            Operation::ListTokens => "listTokens",
            Operation::CreateToken => "createToken",
            Operation::RevokeToken => "revokeToken",
            Operation::Ingest => "ingest",
            Operation::ListAlerts => "listAlerts",
            Operation::GetAlert => "getAlert",
            Operation::AcknowledgeAlert => "acknowledgeAlert",
            Operation::AssignAlert => "assignAlert",
            Operation::CloseAlert => "closeAlert",
            Operation::ReopenAlert => "reopenAlert",
            Operation::SuppressAlert => "suppressAlert",
            Operation::ListIncidents => "listIncidents",
            Operation::GetIncident => "getIncident",
            Operation::AssignIncident => "assignIncident",
            Operation::CloseIncident => "closeIncident",
            Operation::ReopenIncident => "reopenIncident",
            Operation::StreamIncidents => "streamIncidents",
            Operation::ListSuppressions => "listSuppressions",
            Operation::CreateSuppression => "createSuppression",
            Operation::DeleteSuppression => "deleteSuppression",
            Operation::ListRules => "listRules",
            Operation::ListAssets => "listAssets",
            Operation::ReplaceAssets => "replaceAssets",
            Operation::EnableRule => "enableRule",
            Operation::DisableRule => "disableRule",
            Operation::SearchEvents => "searchEvents",
            Operation::IngestForToken => "ingestForToken",
            Operation::Metrics => "metrics",
            Operation::ImportIntel => "importIntel",
            Operation::ListIndicators => "listIndicators",
            Operation::IntelStats => "intelStats",
            Operation::RetroHunt => "retroHunt",
            Operation::ExportIntel => "exportIntel",
            Operation::TaxiiDiscovery => "taxiiDiscovery",
            Operation::TaxiiApiRoot => "taxiiApiRoot",
            Operation::TaxiiCollections => "taxiiCollections",
            Operation::TaxiiCollection => "taxiiCollection",
            Operation::TaxiiObjects => "taxiiObjects",
            Operation::TaxiiManifest => "taxiiManifest",
        }
    }

    fn method_router(self, method: MethodFilter) -> MethodRouter<AppState> {
        use handlers as h;
        match self {
            Operation::Health => on(method, h::health),
            Operation::Login => on(method, h::login),
            Operation::Logout => on(method, h::logout),
            Operation::OpenApi => on(method, h::openapi),
            Operation::ListTenants => on(method, h::list_tenants),
            Operation::CreateTenant => on(method, h::create_tenant),
            Operation::GetTenant => on(method, h::get_tenant),
            Operation::UpdateTenant => on(method, h::update_tenant),
            Operation::TenantAudit => on(method, h::tenant_audit),
            Operation::ListUsers => on(method, h::list_users),
            Operation::CreateUser => on(method, h::create_user),
            Operation::ListTokens => on(method, h::list_tokens),
            Operation::CreateToken => on(method, h::create_token),
            Operation::RevokeToken => on(method, h::revoke_token),
            Operation::Ingest => on(method, crate::ingest::ingest),
            Operation::ListAlerts => on(method, crate::cases::list_alerts),
            Operation::GetAlert => on(method, crate::cases::get_alert),
            Operation::AcknowledgeAlert => on(method, crate::cases::acknowledge_alert),
            Operation::AssignAlert => on(method, crate::cases::assign_alert),
            Operation::CloseAlert => on(method, crate::cases::close_alert),
            Operation::ReopenAlert => on(method, crate::cases::reopen_alert),
            Operation::SuppressAlert => on(method, crate::cases::suppress_alert),
            Operation::ListIncidents => on(method, crate::cases::list_incidents),
            Operation::GetIncident => on(method, crate::cases::get_incident),
            Operation::AssignIncident => on(method, crate::cases::assign_incident),
            Operation::CloseIncident => on(method, crate::cases::close_incident),
            Operation::ReopenIncident => on(method, crate::cases::reopen_incident),
            Operation::StreamIncidents => on(method, crate::stream::incidents),
            Operation::ListSuppressions => on(method, crate::tuning::list_suppressions),
            Operation::CreateSuppression => on(method, crate::tuning::create_suppression),
            Operation::DeleteSuppression => on(method, crate::tuning::delete_suppression),
            Operation::ListRules => on(method, crate::tuning::list_rules),
            Operation::ListAssets => on(method, crate::assets_api::list),
            Operation::ReplaceAssets => on(method, crate::assets_api::replace),
            Operation::EnableRule => on(method, crate::tuning::enable_rule),
            Operation::DisableRule => on(method, crate::tuning::disable_rule),
            Operation::SearchEvents => on(method, crate::search::events),
            Operation::IngestForToken => on(method, crate::ingest::ingest_for_token),
            Operation::Metrics => on(method, crate::metrics::render),
            Operation::ImportIntel => on(method, crate::intel_api::import),
            Operation::ListIndicators => on(method, crate::intel_api::list_indicators),
            Operation::IntelStats => on(method, crate::intel_api::stats),
            Operation::RetroHunt => on(method, crate::intel_api::retro_hunt),
            Operation::ExportIntel => on(method, crate::intel_export::export),
            Operation::TaxiiDiscovery => on(method, crate::taxii::discovery),
            Operation::TaxiiApiRoot => on(method, crate::taxii::api_root),
            Operation::TaxiiCollections => on(method, crate::taxii::collections),
            Operation::TaxiiCollection => on(method, crate::taxii::collection),
            Operation::TaxiiObjects => on(method, crate::taxii::objects),
            Operation::TaxiiManifest => on(method, crate::taxii::manifest),
        }
    }
}

/// One route of the API.
#[derive(Clone, Copy, Debug)]
pub struct RouteSpec {
    pub method: HttpMethod,
    /// The path under [`API_PREFIX`], with `{id}` (a tenant) and `{token_id}` parameters.
    pub path: &'static str,
    pub access: AccessKind,
    pub operation: Operation,
    pub summary: &'static str,
}

impl RouteSpec {
    /// The full path, prefix included.
    pub fn full_path(&self) -> String {
        format!("{API_PREFIX}{}", self.path)
    }

    /// The names of the path's `{…}` parameters, in order.
    pub fn params(&self) -> impl Iterator<Item = &'static str> {
        self.path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
    }
}

const fn route(
    method: HttpMethod,
    path: &'static str,
    access: AccessKind,
    operation: Operation,
    summary: &'static str,
) -> RouteSpec {
    RouteSpec {
        method,
        path,
        access,
        operation,
        summary,
    }
}

use AccessKind::{Admin, Authenticated, Public, TenantRead, TenantWrite};
use HttpMethod::{Delete, Get, Patch, Post};
use Operation as Op;

static ROUTES: &[RouteSpec] = &[
    route(
        Get,
        "/health",
        Public,
        Op::Health,
        "Liveness and schema version",
    ),
    route(
        Post,
        "/login",
        Public,
        Op::Login,
        "Sign in; returns a session token",
    ),
    route(
        Post,
        "/logout",
        Authenticated,
        Op::Logout,
        "End the calling session",
    ),
    route(
        Get,
        "/openapi.json",
        Public,
        Op::OpenApi,
        "This API's OpenAPI document",
    ),
    route(
        Get,
        "/tenants",
        Authenticated,
        Op::ListTenants,
        "Tenants the caller reads",
    ),
    route(Post, "/tenants", Admin, Op::CreateTenant, "Create a tenant"),
    route(
        Get,
        "/tenants/{id}",
        TenantRead,
        Op::GetTenant,
        "One tenant",
    ),
    route(
        Patch,
        "/tenants/{id}",
        Admin,
        Op::UpdateTenant,
        "Rename a tenant or set its retention",
    ),
    route(
        Get,
        "/tenants/{id}/audit",
        TenantRead,
        Op::TenantAudit,
        "A tenant's audit log, newest first",
    ),
    route(Get, "/users", Admin, Op::ListUsers, "All users"),
    route(Post, "/users", Admin, Op::CreateUser, "Create a user"),
    route(
        Get,
        "/tenants/{id}/tokens",
        TenantWrite,
        Op::ListTokens,
        "A tenant's API tokens (never their secrets)",
    ),
    route(
        Post,
        "/tenants/{id}/tokens",
        TenantWrite,
        Op::CreateToken,
        "Create an API token; its secret is shown once",
    ),
    route(
        Delete,
        "/tenants/{id}/tokens/{token_id}",
        TenantWrite,
        Op::RevokeToken,
        "Revoke an API token",
    ),
    route(
        Post,
        "/tenants/{id}/ingest",
        TenantWrite,
        Op::Ingest,
        "Append raw records (NDJSON or text lines, gzip allowed); 202 once they are on disk",
    ),
    route(
        Post,
        "/ingest",
        Authenticated,
        Op::IngestForToken,
        "Append raw records for the calling API token's tenant (as /tenants/{id}/ingest)",
    ),
    route(
        Get,
        "/metrics",
        Public,
        Op::Metrics,
        "Prometheus metrics of the whole server (no tenant data)",
    ),
    route(
        Get,
        "/tenants/{id}/alerts",
        TenantRead,
        Op::ListAlerts,
        "A tenant's alerts: filter by status, level, rule, host, user, incident, time, text; sort; paginate",
    ),
    route(
        Get,
        "/tenants/{id}/alerts/{alert_id}",
        TenantRead,
        Op::GetAlert,
        "One alert with its entities, techniques, samples and decision log",
    ),
    route(
        Post,
        "/tenants/{id}/alerts/{alert_id}/acknowledge",
        TenantWrite,
        Op::AcknowledgeAlert,
        "Acknowledge an alert",
    ),
    route(
        Post,
        "/tenants/{id}/alerts/{alert_id}/assign",
        TenantWrite,
        Op::AssignAlert,
        "Assign an alert to an analyst (or clear it)",
    ),
    route(
        Post,
        "/tenants/{id}/alerts/{alert_id}/close",
        TenantWrite,
        Op::CloseAlert,
        "Close an alert with a reason",
    ),
    route(
        Post,
        "/tenants/{id}/alerts/{alert_id}/reopen",
        TenantWrite,
        Op::ReopenAlert,
        "Reopen an alert",
    ),
    route(
        Post,
        "/tenants/{id}/alerts/{alert_id}/suppress",
        TenantWrite,
        Op::SuppressAlert,
        "Suppress later detections like this alert (rule, host, user), optionally until a time",
    ),
    route(
        Get,
        "/tenants/{id}/incidents",
        TenantRead,
        Op::ListIncidents,
        "A tenant's incidents: filter by status, severity, time, text; sort; paginate",
    ),
    route(
        Get,
        "/tenants/{id}/incidents/stream",
        TenantRead,
        Op::StreamIncidents,
        "Server-sent events: each new, escalated or updated incident",
    ),
    route(
        Get,
        "/tenants/{id}/incidents/{incident_id}",
        TenantRead,
        Op::GetIncident,
        "One incident with its alerts, entities, stage chain, decision log and timeline",
    ),
    route(
        Post,
        "/tenants/{id}/incidents/{incident_id}/assign",
        TenantWrite,
        Op::AssignIncident,
        "Assign an incident to an analyst (or clear it)",
    ),
    route(
        Post,
        "/tenants/{id}/incidents/{incident_id}/close",
        TenantWrite,
        Op::CloseIncident,
        "Close an incident with a reason",
    ),
    route(
        Post,
        "/tenants/{id}/incidents/{incident_id}/reopen",
        TenantWrite,
        Op::ReopenIncident,
        "Reopen an incident",
    ),
    route(
        Get,
        "/tenants/{id}/suppressions",
        TenantRead,
        Op::ListSuppressions,
        "A tenant's suppression rules with their hit counts",
    ),
    route(
        Post,
        "/tenants/{id}/suppressions",
        TenantWrite,
        Op::CreateSuppression,
        "Create a suppression rule from an expression",
    ),
    route(
        Delete,
        "/tenants/{id}/suppressions/{suppression_id}",
        TenantWrite,
        Op::DeleteSuppression,
        "Delete a suppression rule",
    ),
    route(
        Get,
        "/tenants/{id}/rules",
        TenantRead,
        Op::ListRules,
        "The detection rules the pipeline runs, each enabled or disabled for the tenant",
    ),
    route(
        Post,
        "/tenants/{id}/rules/{rule_id}/enable",
        TenantWrite,
        Op::EnableRule,
        "Enable a rule for the tenant",
    ),
    route(
        Post,
        "/tenants/{id}/rules/{rule_id}/disable",
        TenantWrite,
        Op::DisableRule,
        "Disable a rule for the tenant",
    ),
    route(
        Get,
        "/tenants/{id}/assets",
        TenantRead,
        Op::ListAssets,
        "A tenant's asset inventory: when and in which form it was given, and its assets (names, aliases, addresses, owner, criticality, tags)",
    ),
    route(
        Post,
        "/tenants/{id}/assets",
        TenantWrite,
        Op::ReplaceAssets,
        "Replace the tenant's asset inventory with a CSV or JSON document (?format=csv|json); answers the assets taken and the rows skipped, with line and field",
    ),
    route(
        Get,
        "/tenants/{id}/events",
        TenantRead,
        Op::SearchEvents,
        "Search stored events: time range, host, user, field = value, free text; paginated",
    ),
    route(
        Post,
        "/tenants/{id}/intel/import",
        TenantWrite,
        Op::ImportIntel,
        "Import intelligence (STIX, MISP, CSV or a plain list; ?format, source, tlp, confidence): merged into the tenant's indicators; answers the import report",
    ),
    route(
        Get,
        "/tenants/{id}/intel/indicators",
        TenantRead,
        Op::ListIndicators,
        "A tenant's indicators with their attributions (up to the caller's TLP): filter by kind, value, time added; paginated",
    ),
    route(
        Get,
        "/tenants/{id}/intel/stats",
        TenantRead,
        Op::IntelStats,
        "Counts of a tenant's indicators by kind and TLP, sightings, context objects",
    ),
    route(
        Post,
        "/tenants/{id}/intel/retro-hunt",
        TenantWrite,
        Op::RetroHunt,
        "Match indicators (chosen, added since a time, or all) against the stored records of the last N days; hits are returned, counted as sightings, and become indicator alerts once each",
    ),
    route(
        Get,
        "/tenants/{id}/intel/export",
        TenantRead,
        Op::ExportIntel,
        "Export the tenant's indicators (with their context) and incidents for a partner as a STIX 2.1 bundle or MISP events (?format, tlp, indicators, incidents=none|open|all, incident_tlp, since, internal_domains); TLP enforced, internal values kept home; answers the document and what was held back",
    ),
    route(
        Get,
        "/taxii2/",
        Authenticated,
        Op::TaxiiDiscovery,
        "TAXII 2.1 discovery: the API roots (one per tenant) the caller reads",
    ),
    route(
        Get,
        "/taxii2/{id}/",
        TenantRead,
        Op::TaxiiApiRoot,
        "TAXII 2.1 API root of a tenant",
    ),
    route(
        Get,
        "/taxii2/{id}/collections/",
        TenantRead,
        Op::TaxiiCollections,
        "TAXII 2.1 collections of a tenant (its indicators)",
    ),
    route(
        Get,
        "/taxii2/{id}/collections/{collection_id}/",
        TenantRead,
        Op::TaxiiCollection,
        "TAXII 2.1 collection",
    ),
    route(
        Get,
        "/taxii2/{id}/collections/{collection_id}/objects/",
        TenantRead,
        Op::TaxiiObjects,
        "TAXII 2.1 objects (STIX 2.1 indicators up to the caller's TLP): added_after, limit, next, match[type|id|spec_version]",
    ),
    route(
        Get,
        "/taxii2/{id}/collections/{collection_id}/manifest/",
        TenantRead,
        Op::TaxiiManifest,
        "TAXII 2.1 manifest of the collection's objects (same paging as objects)",
    ),
];

/// Every route of the API.
pub fn routes() -> &'static [RouteSpec] {
    ROUTES
}

/// The router of the route table, each route behind the guard of its access kind.
pub(crate) fn router(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    for spec in routes() {
        let mut method_router = spec.operation.method_router(spec.method.filter());
        if spec.access != AccessKind::Public {
            let guard_state = Guard {
                app: state.clone(),
                access: spec.access,
            };
            method_router = method_router.route_layer(from_fn_with_state(guard_state, guard));
        }
        router = router.route(&spec.full_path(), method_router);
    }
    router
}

#[derive(Clone)]
struct Guard {
    app: AppState,
    access: AccessKind,
}

/// Authenticates the caller (401), reads the path's tenant (400), checks the route's
/// access (403), then runs the handler with the caller in the request.
async fn guard(State(g): State<Guard>, request: Request, next: Next) -> Result<Response, AppError> {
    let (mut parts, body) = request.into_parts();
    let auth = Auth::authenticate(&parts, &g.app).await?;
    let tenant = path_ids(&mut parts).await?.tenant;
    if !allowed(g.access, &auth.principal, tenant)? {
        return Err(AppError::Forbidden);
    }
    parts.extensions.insert(auth);
    Ok(next.run(Request::from_parts(parts, body)).await)
}

fn allowed(
    access: AccessKind,
    principal: &Principal,
    tenant: Option<TenantId>,
) -> Result<bool, AppError> {
    let tenant = || tenant.ok_or_else(|| AppError::internal("tenant route without {id}"));
    Ok(match access {
        AccessKind::Public | AccessKind::Authenticated => true,
        AccessKind::Admin => Access::can_administer(principal),
        AccessKind::TenantRead => Access::can_read(principal, tenant()?),
        AccessKind::TenantWrite => Access::can_write(principal, tenant()?),
    })
}

/// The ids in a request's path: `{id}` a tenant, `{token_id}` a token.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PathIds {
    pub tenant: Option<TenantId>,
    pub token: Option<TokenId>,
}

pub(crate) async fn path_ids(parts: &mut Parts) -> Result<PathIds, AppError> {
    let params = RawPathParams::from_request_parts(parts, &())
        .await
        .map_err(|_| AppError::BadRequest("the path does not parse".to_owned()))?;
    let mut ids = PathIds::default();
    for (name, value) in &params {
        let bad = || AppError::BadRequest(format!("path parameter {name} must be a number"));
        match name {
            "id" => ids.tenant = Some(TenantId(value.parse().map_err(|_| bad())?)),
            "token_id" => ids.token = Some(TokenId(value.parse().map_err(|_| bad())?)),
            _ => {}
        }
    }
    Ok(ids)
}

/// The tenant `{id}` and the text of path parameter `name` (a rule id, a collection
/// id), for routes whose second id is not a number.
pub(crate) async fn tenant_and_param(
    parts: &mut Parts,
    name: &str,
) -> Result<(TenantId, String), AppError> {
    let params = RawPathParams::from_request_parts(parts, &())
        .await
        .map_err(|_| AppError::BadRequest("the path does not parse".to_owned()))?;
    let (mut tenant, mut text) = (None, None);
    for (param, value) in &params {
        if param == "id" {
            tenant = Some(TenantId(value.parse().map_err(|_| {
                AppError::BadRequest("path parameter id must be a number".to_owned())
            })?));
        } else if param == name {
            text = Some(value.to_owned());
        }
    }
    match (tenant, text) {
        (Some(tenant), Some(text)) => Ok((tenant, text)),
        _ => Err(AppError::internal("route without its ids")),
    }
}

/// The OpenAPI 3.1 document of the route table.
pub fn openapi() -> Value {
    let mut paths = Map::new();
    for spec in routes() {
        let entry = paths
            .entry(spec.full_path())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(methods) = entry {
            methods.insert(spec.method.as_str().to_ascii_lowercase(), operation(spec));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "watchfloor API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The watch-floor HTTP API. Errors are {\"error\": {\"code\", \"message\"}}.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                }},
            }},
        },
    })
}

fn operation(spec: &RouteSpec) -> Value {
    let error = json!({"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let described = |text: &str| {
        let mut e = error.clone();
        if let Value::Object(m) = &mut e {
            m.insert("description".to_owned(), Value::from(text));
        }
        e
    };
    let mut responses = Map::new();
    responses.insert("2XX".to_owned(), json!({"description": "Success (JSON)"}));
    if spec.access != AccessKind::Public {
        responses.insert(
            "401".to_owned(),
            described("Missing or invalid credentials"),
        );
    }
    if matches!(
        spec.access,
        AccessKind::Admin | AccessKind::TenantRead | AccessKind::TenantWrite
    ) {
        responses.insert("403".to_owned(), described("Not allowed for this caller"));
    }
    if spec.params().next().is_some() {
        responses.insert("404".to_owned(), described("No such object"));
    }
    if matches!(spec.method, HttpMethod::Post | HttpMethod::Patch) {
        responses.insert("400".to_owned(), described("Malformed request"));
        responses.insert("422".to_owned(), described("Invalid field"));
        responses.insert("413".to_owned(), described("Request body too large"));
    }
    let parameters: Vec<Value> = spec
        .params()
        .map(|name| {
            let schema = if matches!(name, "rule_id" | "collection_id") {
                json!({"type": "string"})
            } else {
                json!({"type": "integer", "minimum": 0})
            };
            json!({"name": name, "in": "path", "required": true, "schema": schema})
        })
        .collect();
    let security = if spec.access == AccessKind::Public {
        json!([])
    } else {
        json!([{"bearer": []}])
    };
    json!({
        "operationId": spec.operation.as_str(),
        "summary": spec.summary,
        "x-watchfloor-access": spec.access.as_str(),
        "parameters": parameters,
        "security": security,
        "responses": responses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_routes_name_their_tenant_and_routes_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for spec in routes() {
            assert!(seen.insert((spec.method, spec.path)), "{spec:?} twice");
            let has_id = spec.params().any(|p| p == "id");
            if matches!(
                spec.access,
                AccessKind::TenantRead | AccessKind::TenantWrite
            ) {
                assert!(has_id, "{spec:?} checks a tenant but has no {{id}}");
            }
            for p in spec.params() {
                assert!(
                    matches!(
                        p,
                        "id" | "token_id"
                            | "alert_id"
                            | "incident_id"
                            | "suppression_id"
                            | "rule_id"
                            | "collection_id"
                    ),
                    "{spec:?}: unknown parameter {p}"
                );
            }
        }
    }
}
