//! Alerts and incidents: the analysts' work list. Lists with filters, sort and
//! pagination; one alert or incident with everything needed to judge it; the analysts'
//! actions (acknowledge, assign, close with a reason, reopen, suppress), each recorded
//! in the audit log by the store.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Query, RawPathParams, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use watchfloor_store::{
    AlertChange, AlertPage, AlertQuery, AlertSort, AlertStatus, IncidentChange, IncidentQuery,
    IncidentSort, IncidentStatus, NewSuppression, Origin, StoredAlert, StoredIncident, Suppression,
    TenantId, Timestamp, UserId,
};
use watchfloor_triage::suppress::Expr;

use crate::auth::Auth;
use crate::live::Command;
use crate::{AppError, AppState};

/// An answer serialised straight from the store's types: the stored documents are
/// raw JSON and are copied through as they are, never parsed into a `Value`.
type Answer<T> = Result<Json<T>, AppError>;

/// `{"alert": …}`: one alert with its document.
#[derive(Serialize)]
pub(crate) struct AlertAnswer {
    alert: StoredAlert,
}

/// `{"incident": …}`: one incident with its document.
#[derive(Serialize)]
pub(crate) struct IncidentAnswer {
    incident: StoredIncident,
}

/// `{"incident", "alerts", "timeline"}`: one incident with its alerts (documents
/// included) and its timeline.
#[derive(Serialize)]
pub(crate) struct IncidentDetail {
    incident: StoredIncident,
    alerts: Vec<StoredAlert>,
    timeline: Vec<Value>,
}

/// `{"suppression", "alert"}`: a suppression made from an alert, and the alert.
#[derive(Serialize)]
pub(crate) struct SuppressAnswer {
    suppression: Suppression,
    alert: StoredAlert,
}

/// The tenant and the object id of an `/tenants/{id}/<kind>/{<kind>_id}` route.
pub(crate) struct ObjectPath {
    pub tenant: TenantId,
    pub id: u64,
}

impl<S: Send + Sync> FromRequestParts<S> for ObjectPath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let params = RawPathParams::from_request_parts(parts, &())
            .await
            .map_err(|_| AppError::BadRequest("the path does not parse".to_owned()))?;
        let (mut tenant, mut id) = (None, None);
        for (name, value) in &params {
            let bad = || AppError::BadRequest(format!("path parameter {name} must be a number"));
            match name {
                "id" => tenant = Some(TenantId(value.parse().map_err(|_| bad())?)),
                "alert_id" | "incident_id" | "suppression_id" => {
                    id = Some(value.parse::<u64>().map_err(|_| bad())?);
                }
                _ => {}
            }
        }
        match (tenant, id) {
            (Some(tenant), Some(id)) => Ok(ObjectPath { tenant, id }),
            _ => Err(AppError::internal("object route without its ids")),
        }
    }
}

/// Parses an RFC 3339 time from a query parameter.
pub(crate) fn parse_time(field: &str, value: Option<&str>) -> Result<Option<Timestamp>, AppError> {
    let Some(text) = value else { return Ok(None) };
    let t: jiff::Timestamp = text.parse().map_err(|_| AppError::Invalid {
        field: field.to_owned(),
        reason: "must be an RFC 3339 time such as 2026-03-02T09:00:00Z".to_owned(),
    })?;
    Ok(Some(Timestamp(
        i64::try_from(t.as_nanosecond()).unwrap_or(i64::MAX),
    )))
}

/// A level name's rank (informational 0 … critical 4).
pub(crate) fn level_rank(field: &str, value: Option<&str>) -> Result<Option<i64>, AppError> {
    let Some(name) = value else { return Ok(None) };
    let rank = match name.to_ascii_lowercase().as_str() {
        "informational" | "info" => 0,
        "low" => 1,
        "medium" => 2,
        "high" => 3,
        "critical" => 4,
        _ => {
            return Err(AppError::Invalid {
                field: field.to_owned(),
                reason: "must be informational, low, medium, high or critical".to_owned(),
            });
        }
    };
    Ok(Some(rank))
}

fn order(value: Option<&str>) -> Result<bool, AppError> {
    match value {
        None | Some("desc") => Ok(true),
        Some("asc") => Ok(false),
        Some(_) => Err(AppError::Invalid {
            field: "order".to_owned(),
            reason: "must be asc or desc".to_owned(),
        }),
    }
}

fn sort_by<T: serde::de::DeserializeOwned + Default>(value: Option<&str>) -> Result<T, AppError> {
    match value {
        None => Ok(T::default()),
        Some(v) => serde_json::from_value(Value::from(v)).map_err(|_| AppError::Invalid {
            field: "sort".to_owned(),
            reason: format!("`{v}` is not a sort key of this list"),
        }),
    }
}

fn origin(auth: &Auth) -> Origin {
    auth.origin(Timestamp::now())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AlertListParams {
    status: Option<String>,
    min_level: Option<String>,
    rule_id: Option<String>,
    host: Option<String>,
    user: Option<String>,
    incident: Option<u64>,
    since: Option<String>,
    until: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

pub(crate) async fn list_alerts(
    State(state): State<AppState>,
    crate::handlers::TenantPath(tenant): crate::handlers::TenantPath,
    params: Result<Query<AlertListParams>, QueryRejection>,
) -> Answer<AlertPage> {
    let Query(p) = params?;
    let status = p
        .status
        .as_deref()
        .map(str::parse::<AlertStatus>)
        .transpose()?;
    let q = AlertQuery {
        status,
        min_level_rank: level_rank("min_level", p.min_level.as_deref())?,
        rule_id: p.rule_id,
        host: p.host,
        user: p.user,
        incident_id: p.incident,
        since: parse_time("since", p.since.as_deref())?,
        until: parse_time("until", p.until.as_deref())?,
        text: p.q,
        sort: sort_by::<AlertSort>(p.sort.as_deref())?,
        desc: order(p.order.as_deref())?,
        limit: p.limit.unwrap_or(AlertQuery::default().limit),
        offset: p.offset.unwrap_or(0),
    };
    let page = state.run(move |s| s.alerts(tenant, &q)).await?;
    Ok(Json(page))
}

pub(crate) async fn get_alert(
    State(state): State<AppState>,
    path: ObjectPath,
) -> Answer<AlertAnswer> {
    let alert = state
        .run(move |s| s.get_alert(path.tenant, path.id))
        .await?;
    Ok(Json(AlertAnswer { alert }))
}

async fn change_alert(
    state: AppState,
    auth: Auth,
    path: ObjectPath,
    change: AlertChange,
) -> Answer<AlertAnswer> {
    let origin = origin(&auth);
    let alert = state
        .run(move |s| s.update_alert(path.tenant, path.id, &change, &origin))
        .await?;
    Ok(Json(AlertAnswer { alert }))
}

pub(crate) async fn acknowledge_alert(
    State(state): State<AppState>,
    auth: Auth,
    path: ObjectPath,
) -> Answer<AlertAnswer> {
    change_alert(state, auth, path, AlertChange::Acknowledge).await
}

pub(crate) async fn reopen_alert(
    State(state): State<AppState>,
    auth: Auth,
    path: ObjectPath,
) -> Answer<AlertAnswer> {
    change_alert(state, auth, path, AlertChange::Reopen).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssignRequest {
    /// A user id, or null to clear.
    assignee: Option<i64>,
}

pub(crate) async fn assign_alert(
    State(state): State<AppState>,
    auth: Auth,
    path: ObjectPath,
    crate::handlers::Body(body): crate::handlers::Body<AssignRequest>,
) -> Answer<AlertAnswer> {
    let change = AlertChange::Assign(body.assignee.map(UserId));
    change_alert(state, auth, path, change).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CloseRequest {
    reason: String,
}

pub(crate) async fn close_alert(
    State(state): State<AppState>,
    auth: Auth,
    path: ObjectPath,
    crate::handlers::Body(body): crate::handlers::Body<CloseRequest>,
) -> Answer<AlertAnswer> {
    let change = AlertChange::Close {
        reason: body.reason,
    };
    change_alert(state, auth, path, change).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SuppressRequest {
    reason: String,
    /// How long the suppression lasts; absent: until deleted.
    expires_in_hours: Option<f64>,
}

/// A suppression expression matching what an alert's fingerprint matches: its rule,
/// host and user. Values are quoted with `'`, or `"` when they hold a `'`; a value
/// holding both cannot be written and gives `None`.
fn expression_for(rule: &str, host: Option<&str>, user: Option<&str>) -> Option<String> {
    let quote = |v: &str| match (v.contains('\''), v.contains('"')) {
        (false, _) => Some(format!("'{v}'")),
        (true, false) => Some(format!("\"{v}\"")),
        (true, true) => None,
    };
    let mut parts = vec![format!("rule = {}", quote(rule)?)];
    if let Some(h) = host {
        parts.push(format!("host = {}", quote(h)?));
    }
    if let Some(u) = user {
        parts.push(format!("user = {}", quote(u)?));
    }
    Some(parts.join(" and "))
}

/// Creates a suppression from an alert in one call: later detections of the same rule
/// on the same host and user are suppressed (counted, never lost) until it expires.
pub(crate) async fn suppress_alert(
    State(state): State<AppState>,
    auth: Auth,
    path: ObjectPath,
    crate::handlers::Body(body): crate::handlers::Body<SuppressRequest>,
) -> Answer<SuppressAnswer> {
    let now = Timestamp::now();
    let expires_at = match body.expires_in_hours {
        None => None,
        Some(h) if h.is_finite() && h > 0.0 && h <= 24.0 * 366.0 => {
            Some(Timestamp(now.0.saturating_add((h * 3.6e12) as i64)))
        }
        Some(_) => {
            return Err(AppError::Invalid {
                field: "expires_in_hours".to_owned(),
                reason: "must be more than 0 and at most a year".to_owned(),
            });
        }
    };
    let owner = crate::tuning::owner_of(&auth);
    let origin = origin(&auth);
    let reason = body.reason;
    let alert = state
        .run(move |s| s.get_alert(path.tenant, path.id))
        .await?;
    let expr = expression_for(&alert.rule_id, alert.host.as_deref(), alert.user.as_deref())
        .ok_or_else(|| AppError::Invalid {
            field: "alert".to_owned(),
            reason: "a value holds both quote characters; write the suppression by hand".to_owned(),
        })?;
    Expr::parse(&expr).map_err(|e| AppError::Invalid {
        field: "alert".to_owned(),
        reason: format!("no suppression expression fits it: {e}"),
    })?;
    let new = NewSuppression {
        expr,
        owner,
        reason,
        expires_at,
        from_alert: Some(alert.id),
    };
    let suppression = state
        .run(move |s| s.create_suppression(path.tenant, &new, &origin))
        .await?;
    state.tell(Command::ReloadSuppressions(path.tenant));
    Ok(Json(SuppressAnswer { suppression, alert }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IncidentListParams {
    status: Option<String>,
    min_severity: Option<String>,
    since: Option<String>,
    until: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
    /// `true`: each incident with its document (for `range grade`, which needs its
    /// hosts and stages); by default the list holds summaries.
    doc: Option<bool>,
}

pub(crate) async fn list_incidents(
    State(state): State<AppState>,
    crate::handlers::TenantPath(tenant): crate::handlers::TenantPath,
    params: Result<Query<IncidentListParams>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(p) = params?;
    let status = p
        .status
        .as_deref()
        .map(str::parse::<IncidentStatus>)
        .transpose()?;
    let q = IncidentQuery {
        status,
        min_severity_rank: level_rank("min_severity", p.min_severity.as_deref())?,
        since: parse_time("since", p.since.as_deref())?,
        until: parse_time("until", p.until.as_deref())?,
        text: p.q,
        sort: sort_by::<IncidentSort>(p.sort.as_deref())?,
        desc: order(p.order.as_deref())?,
        limit: p.limit.unwrap_or(IncidentQuery::default().limit),
        offset: p.offset.unwrap_or(0),
    };
    if p.doc == Some(true) {
        let page = state
            .run(move |s| s.incidents_with_docs(tenant, &q))
            .await?;
        return Ok(Json(page).into_response());
    }
    let page = state.run(move |s| s.incidents(tenant, &q)).await?;
    Ok(Json(page).into_response())
}

/// Most alerts shown with one incident.
const INCIDENT_ALERTS: u32 = 500;

/// One incident with its alerts and a timeline: each alert's first occurrence and every
/// decision of the incident's log, in time order.
pub(crate) async fn get_incident(
    State(state): State<AppState>,
    path: ObjectPath,
) -> Answer<IncidentDetail> {
    let (incident, alerts) = state
        .run(move |s| {
            let incident = s.get_incident(path.tenant, path.id)?;
            let alerts = s.incident_alerts(path.tenant, path.id, INCIDENT_ALERTS)?;
            Ok((incident, alerts))
        })
        .await?;
    let doc: Value = serde_json::from_str(incident.doc.get()).unwrap_or(Value::Null);
    let timeline = timeline(&alerts, &doc);
    Ok(Json(IncidentDetail {
        incident,
        alerts,
        timeline,
    }))
}

/// The timeline of an incident: its alerts' first occurrences, then the decisions of
/// its log (`{"time", "kind", "reason"}` entries), sorted by time as times (the text of
/// RFC 3339 times does not sort: `…:41.5Z` comes before `…:41Z`); at equal times
/// alerts come first, then decisions in log order. A decision whose time does not read
/// goes last rather than missing.
fn timeline(alerts: &[StoredAlert], doc: &Value) -> Vec<Value> {
    let mut entries: Vec<(i128, Value)> = alerts
        .iter()
        .map(|a| {
            let at = rfc3339(a.first_seen);
            let text = format!("{} (×{})", a.title, a.count);
            let entry = json!({"at": at, "kind": "alert", "alert": a.id, "level": a.level,
                               "text": text});
            (i128::from(a.first_seen.0), entry)
        })
        .collect();
    let log = doc.pointer("/log/entries").and_then(Value::as_array);
    for e in log.into_iter().flatten() {
        let at = e.get("time").and_then(Value::as_str).unwrap_or("");
        let time = at
            .parse::<jiff::Timestamp>()
            .map_or(i128::MAX, |t| t.as_nanosecond());
        let entry = json!({"at": at, "kind": e.get("kind"), "text": e.get("reason")});
        entries.push((time, entry));
    }
    entries.sort_by_key(|(at, _)| *at);
    entries.into_iter().map(|(_, v)| v).collect()
}

fn rfc3339(t: Timestamp) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(t.0))
        .map(|t| t.to_string())
        .unwrap_or_default()
}

async fn change_incident(
    state: AppState,
    auth: Auth,
    path: ObjectPath,
    change: IncidentChange,
) -> Answer<IncidentAnswer> {
    let origin = origin(&auth);
    let incident = state
        .run(move |s| s.update_incident(path.tenant, path.id, &change, &origin))
        .await?;
    Ok(Json(IncidentAnswer { incident }))
}

pub(crate) async fn assign_incident(
    State(state): State<AppState>,
    auth: Auth,
    path: ObjectPath,
    crate::handlers::Body(body): crate::handlers::Body<AssignRequest>,
) -> Answer<IncidentAnswer> {
    let change = IncidentChange::Assign(body.assignee.map(UserId));
    change_incident(state, auth, path, change).await
}

pub(crate) async fn close_incident(
    State(state): State<AppState>,
    auth: Auth,
    path: ObjectPath,
    crate::handlers::Body(body): crate::handlers::Body<CloseRequest>,
) -> Answer<IncidentAnswer> {
    let change = IncidentChange::Close {
        reason: body.reason,
    };
    change_incident(state, auth, path, change).await
}

pub(crate) async fn reopen_incident(
    State(state): State<AppState>,
    auth: Auth,
    path: ObjectPath,
) -> Answer<IncidentAnswer> {
    change_incident(state, auth, path, IncidentChange::Reopen).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suppression_expressions_from_alerts_parse_and_quote() {
        let e = expression_for("r-1", Some("ws 01 and more"), Some("corp\\o'brien")).unwrap();
        assert_eq!(
            e,
            r#"rule = 'r-1' and host = 'ws 01 and more' and user = "corp\o'brien""#
        );
        let parsed = Expr::parse(&e).expect("parses");
        let values: Vec<&str> = parsed
            .conditions()
            .iter()
            .map(|c| c.value.as_str())
            .collect();
        assert_eq!(values, vec!["r-1", "ws 01 and more", "corp\\o'brien"]);
        assert_eq!(expression_for("r", None, None).unwrap(), "rule = 'r'");
        assert_eq!(expression_for("r", Some(r#"a'b"c"#), None), None);
    }

    #[test]
    fn timelines_sort_by_time_not_by_text() {
        let doc = json!({"log": {"entries": [
            {"time": "2026-03-02T09:14:41.5Z", "kind": "grouped", "reason": "joined"},
            {"time": "2026-03-02T09:14:41Z", "kind": "opened", "reason": "opened"},
            {"time": "invalid-time", "kind": "linked", "reason": "odd"},
        ]}});
        let entries = timeline(&[], &doc);
        let kinds: Vec<&str> = entries.iter().filter_map(|e| e["kind"].as_str()).collect();
        assert_eq!(kinds, ["opened", "grouped", "linked"]);
        assert_eq!(entries[0]["text"], "opened");
    }

    #[test]
    fn times_and_levels_are_checked() {
        assert!(parse_time("since", Some("2026-03-02T09:00:00Z")).is_ok());
        assert!(parse_time("since", Some("yesterday")).is_err());
        assert_eq!(level_rank("l", Some("HIGH")).ok().flatten(), Some(3));
        assert!(level_rank("l", Some("urgent")).is_err());
    }
}
