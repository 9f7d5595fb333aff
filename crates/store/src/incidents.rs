//! Incidents as the pipeline stored them, and the analysts' work on them.
//!
//! The pipeline writes incidents ([`Store::commit_batch`]); analysts list them, read
//! them with their alerts, assign, close with a reason and reopen them here. Every
//! analyst change writes its audit record (`incident.assign`, `incident.close`,
//! `incident.reopen`, object `incident:ID`) in the same transaction.
//!
//! Every query is scoped by tenant: an incident id of another tenant is simply
//! [`StoreError::NotFound`].

use std::fmt;
use std::str::FromStr;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use watchfloor_event::{TenantId, Timestamp};

use crate::alerts::{
    self, MAX_REASON_CHARS, Page, StoredAlert, assignee_text, check_assignee, check_filter,
    check_page, check_text, doc_from_sql, id_to_sql, time_range, u64_from_sql,
};
use crate::audit::{self, AuditAction, Change, Origin};
use crate::ids::{self, UserId, wire};
use crate::{Store, StoreError};

/// The most alerts [`Store::incident_alerts`] returns.
pub const MAX_INCIDENT_ALERTS: u32 = 1000;

/// Where an incident is in the analysts' work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    Open,
    /// Done, with a reason. The pipeline reopens a closed incident that gains alerts.
    Closed,
}

impl IncidentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Open => "open",
            IncidentStatus::Closed => "closed",
        }
    }
}

impl fmt::Display for IncidentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IncidentStatus {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<IncidentStatus, StoreError> {
        match s {
            "open" => Ok(IncidentStatus::Open),
            "closed" => Ok(IncidentStatus::Closed),
            _ => Err(StoreError::invalid("status", "must be open or closed")),
        }
    }
}

/// One incident as stored.
#[derive(Clone, Debug, Serialize)]
pub struct StoredIncident {
    /// Its columns, as lists show them (serialized in place).
    #[serde(flatten)]
    pub summary: StoredIncidentSummary,
    /// The analysis engine's incident, as the JSON it wrote; serialized in place.
    pub doc: Box<RawValue>,
}

impl std::ops::Deref for StoredIncident {
    type Target = StoredIncidentSummary;

    fn deref(&self) -> &StoredIncidentSummary {
        &self.summary
    }
}

/// One incident as a list shows it: every column of [`StoredIncident`] but the
/// analysis engine's document, which only the single incident carries
/// ([`Store::get_incident`], or [`Store::incidents_with_docs`] for an export).
#[derive(Clone, Debug, Serialize)]
pub struct StoredIncidentSummary {
    /// Assigned by the pipeline, per tenant, increasing; never reused.
    pub id: u64,
    #[serde(serialize_with = "wire::tenant")]
    pub tenant: TenantId,
    pub title: String,
    /// `informational`, `low`, `medium`, `high` or `critical`.
    pub severity: String,
    pub score: f64,
    /// The entity it opened on (a host, address or user).
    pub entity: String,
    /// The kill-chain stages seen, in order, as text.
    pub stage_chain: String,
    #[serde(serialize_with = "wire::time")]
    pub first_seen: Timestamp,
    #[serde(serialize_with = "wire::time")]
    pub last_seen: Timestamp,
    pub alert_count: u64,
    /// Detections folded into its alerts.
    pub detections: u64,
    pub status: IncidentStatus,
    pub assignee: Option<UserId>,
    pub close_reason: Option<String>,
    #[serde(serialize_with = "wire::time")]
    pub updated_at: Timestamp,
}

impl StoredIncidentSummary {
    fn with_doc(self, doc: Box<RawValue>) -> StoredIncident {
        StoredIncident { summary: self, doc }
    }
}

/// What a list is sorted by; ties are broken by id in the same direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentSort {
    #[default]
    LastSeen,
    FirstSeen,
    Score,
    Severity,
}

impl IncidentSort {
    fn column(self) -> &'static str {
        match self {
            IncidentSort::LastSeen => "last_seen_ns",
            IncidentSort::FirstSeen => "first_seen_ns",
            IncidentSort::Score => "score",
            IncidentSort::Severity => "severity_rank",
        }
    }
}

/// Which incidents to list; `since` (inclusive) and `until` (exclusive) apply to
/// `last_seen`, `text` is a substring of the title or the entity, ignoring ASCII case.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentQuery {
    pub status: Option<IncidentStatus>,
    /// Only incidents of this severity or above (informational 0 … critical 4).
    pub min_severity_rank: Option<i64>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub text: Option<String>,
    pub sort: IncidentSort,
    pub desc: bool,
    /// 1 to [`crate::MAX_PAGE_LIMIT`].
    pub limit: u32,
    pub offset: u32,
}

impl Default for IncidentQuery {
    fn default() -> Self {
        IncidentQuery {
            status: None,
            min_severity_rank: None,
            since: None,
            until: None,
            text: None,
            sort: IncidentSort::LastSeen,
            desc: true,
            limit: alerts::DEFAULT_PAGE_LIMIT,
            offset: 0,
        }
    }
}

/// A page of incidents, without their documents.
pub type IncidentPage = Page<StoredIncidentSummary>;

/// What an analyst does to an incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IncidentChange {
    /// Sets or clears the assignee (an enabled admin or analyst of the tenant).
    Assign(Option<UserId>),
    /// Open → closed with a reason; closing a closed incident is refused.
    Close { reason: String },
    /// Closed → open (open: nothing changes); clears the close reason.
    Reopen,
}

/// Every column but the document, in the order [`raw`] reads them.
const SUMMARY_COLUMNS: &str = "tenant_id, id, title, severity, score, entity, stage_chain, \
     first_seen_ns, last_seen_ns, alert_count, detections, status, assignee, close_reason, \
     updated_at_ns";
/// [`SUMMARY_COLUMNS`] and the document last (column 15).
const COLUMNS: &str = "tenant_id, id, title, severity, score, entity, stage_chain, \
     first_seen_ns, last_seen_ns, alert_count, detections, status, assignee, close_reason, \
     updated_at_ns, doc";

struct RawIncident {
    tenant: i64,
    id: i64,
    title: String,
    severity: String,
    score: f64,
    entity: String,
    stage_chain: String,
    first_seen: i64,
    last_seen: i64,
    alert_count: i64,
    detections: i64,
    status: String,
    assignee: Option<i64>,
    close_reason: Option<String>,
    updated_at: i64,
}

/// Reads a row selected with [`SUMMARY_COLUMNS`] (or [`COLUMNS`]: the document is
/// left).
fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawIncident> {
    Ok(RawIncident {
        tenant: r.get(0)?,
        id: r.get(1)?,
        title: r.get(2)?,
        severity: r.get(3)?,
        score: r.get(4)?,
        entity: r.get(5)?,
        stage_chain: r.get(6)?,
        first_seen: r.get(7)?,
        last_seen: r.get(8)?,
        alert_count: r.get(9)?,
        detections: r.get(10)?,
        status: r.get(11)?,
        assignee: r.get(12)?,
        close_reason: r.get(13)?,
        updated_at: r.get(14)?,
    })
}

fn raw_full(r: &rusqlite::Row<'_>) -> rusqlite::Result<(RawIncident, String)> {
    Ok((raw(r)?, r.get(15)?))
}

fn from_raw(raw: RawIncident) -> Result<StoredIncidentSummary, StoreError> {
    Ok(StoredIncidentSummary {
        id: u64_from_sql(raw.id, "incident id out of range")?,
        tenant: ids::tenant_from_sql(raw.tenant)?,
        title: raw.title,
        severity: raw.severity,
        score: raw.score,
        entity: raw.entity,
        stage_chain: raw.stage_chain,
        first_seen: Timestamp(raw.first_seen),
        last_seen: Timestamp(raw.last_seen),
        alert_count: u64_from_sql(raw.alert_count, "alert count out of range")?,
        detections: u64_from_sql(raw.detections, "detections out of range")?,
        status: raw
            .status
            .parse()
            .map_err(|_| StoreError::Corrupt("incident with an unknown status"))?,
        assignee: raw.assignee.map(UserId),
        close_reason: raw.close_reason,
        updated_at: Timestamp(raw.updated_at),
    })
}

fn from_raw_full((raw, doc): (RawIncident, String)) -> Result<StoredIncident, StoreError> {
    Ok(from_raw(raw)?.with_doc(doc_from_sql(doc)?))
}

fn load(
    conn: &Connection,
    tenant: TenantId,
    id: u64,
) -> Result<Option<StoredIncident>, StoreError> {
    let Ok(id_sql) = i64::try_from(id) else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM incidents WHERE tenant_id = ?1 AND id = ?2"
    ))?;
    stmt.query_row((ids::tenant_to_sql(tenant), id_sql), raw_full)
        .optional()?
        .map(from_raw_full)
        .transpose()
}

const FILTER: &str = "WHERE tenant_id = ?1
      AND (?2 IS NULL OR status = ?2)
      AND (?3 IS NULL OR severity_rank >= ?3)
      AND last_seen_ns BETWEEN ?4 AND ?5
      AND (?6 IS NULL OR instr(lower(title), lower(?6)) > 0
                      OR instr(lower(entity), lower(?6)) > 0)";

impl Store {
    /// One page of `tenant`'s incidents (see [`IncidentQuery`]), with the number
    /// matching in all; summaries, without the documents ([`Store::get_incident`] has
    /// them).
    pub fn incidents(
        &self,
        tenant: TenantId,
        q: &IncidentQuery,
    ) -> Result<IncidentPage, StoreError> {
        self.incident_page(tenant, q, SUMMARY_COLUMNS, |r| from_raw(raw(r)?))
    }

    /// [`Store::incidents`] with each incident's document: for exports (grading a
    /// trainee's incidents needs their hosts and stages), not for work lists.
    pub fn incidents_with_docs(
        &self,
        tenant: TenantId,
        q: &IncidentQuery,
    ) -> Result<Page<StoredIncident>, StoreError> {
        self.incident_page(tenant, q, COLUMNS, |r| from_raw_full(raw_full(r)?))
    }

    fn incident_page<T>(
        &self,
        tenant: TenantId,
        q: &IncidentQuery,
        columns: &str,
        item: impl Fn(&rusqlite::Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Page<T>, StoreError> {
        check_page(q.limit)?;
        check_filter("text", q.text.as_deref())?;
        if q.min_severity_rank.is_some_and(|r| !(0..=4).contains(&r)) {
            return Err(StoreError::invalid(
                "min_severity_rank",
                "must be between 0 and 4",
            ));
        }
        let Some((low, high)) = time_range(q.since, q.until) else {
            return Ok(Page {
                items: Vec::new(),
                total: 0,
                total_capped: false,
                limit: q.limit,
                offset: q.offset,
            });
        };
        let params = rusqlite::params![
            ids::tenant_to_sql(tenant),
            q.status.map(IncidentStatus::as_str),
            q.min_severity_rank,
            low,
            high,
            q.text,
        ];
        let dir = if q.desc { "DESC" } else { "ASC" };
        let column = q.sort.column();
        let mut conn = self.reader();
        // One snapshot for the count and the page.
        let tx = conn.transaction()?;
        let (total, total_capped) =
            crate::alerts::count_capped(&tx, &format!("FROM incidents {FILTER}"), params)?;
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT {columns} FROM incidents {FILTER}
             ORDER BY {column} {dir}, id {dir} LIMIT ?7 OFFSET ?8"
        ))?;
        let mut all: Vec<&dyn rusqlite::ToSql> = params.to_vec();
        all.push(&q.limit);
        all.push(&q.offset);
        let mut rows = stmt.query(all.as_slice())?;
        let mut items = Vec::new();
        while let Some(r) = rows.next()? {
            items.push(item(r)?);
        }
        Ok(Page {
            items,
            total,
            total_capped,
            limit: q.limit,
            offset: q.offset,
        })
    }

    /// One of `tenant`'s incidents.
    pub fn get_incident(&self, tenant: TenantId, id: u64) -> Result<StoredIncident, StoreError> {
        load(&self.reader(), tenant, id)?.ok_or_else(|| StoreError::not_found("incident", id))
    }

    /// Up to `limit` (1 to [`MAX_INCIDENT_ALERTS`]) of the alerts the pipeline linked
    /// to one of `tenant`'s incidents, by first seen (then id). An incident that does
    /// not exist, or is another tenant's, is [`StoreError::NotFound`].
    pub fn incident_alerts(
        &self,
        tenant: TenantId,
        incident_id: u64,
        limit: u32,
    ) -> Result<Vec<StoredAlert>, StoreError> {
        if limit == 0 || limit > MAX_INCIDENT_ALERTS {
            return Err(StoreError::invalid("limit", "must be between 1 and 1000"));
        }
        let mut conn = self.reader();
        // One snapshot for the incident and its alerts.
        let tx = conn.transaction()?;
        if load(&tx, tenant, incident_id)?.is_none() {
            return Err(StoreError::not_found("incident", incident_id));
        }
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT {} FROM alerts WHERE tenant_id = ?1 AND incident_id = ?2
             ORDER BY first_seen_ns, id LIMIT ?3",
            alerts::COLUMNS
        ))?;
        let rows = stmt.query_map(
            (
                ids::tenant_to_sql(tenant),
                id_to_sql("incident", incident_id)?,
                limit,
            ),
            alerts::raw_full,
        )?;
        rows.map(|r| alerts::from_raw_full(r?)).collect()
    }

    /// Applies an analyst's change to one of `tenant`'s incidents and records it in the
    /// audit log. Returns the incident as it is afterwards; a change that changes
    /// nothing returns it as it was and records nothing.
    pub fn update_incident(
        &self,
        tenant: TenantId,
        id: u64,
        change: &IncidentChange,
        origin: &Origin,
    ) -> Result<StoredIncident, StoreError> {
        audit::check_origin(origin)?;
        if let IncidentChange::Close { reason } = change {
            check_text("reason", reason, MAX_REASON_CHARS)?;
        }
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let old = load(&tx, tenant, id)?.ok_or_else(|| StoreError::not_found("incident", id))?;
        let mut status = old.status;
        let mut assignee = old.assignee;
        let mut reason = old.close_reason.clone();
        let (action, detail) = match change {
            IncidentChange::Assign(user) => {
                if *user == old.assignee {
                    return Ok(old);
                }
                if let Some(u) = user {
                    check_assignee(&tx, tenant, *u)?;
                }
                assignee = *user;
                let detail = format!(
                    "assignee from {} to {}",
                    assignee_text(old.assignee),
                    assignee_text(*user)
                );
                (AuditAction::IncidentAssign, detail)
            }
            IncidentChange::Close { reason: why } => {
                if old.status == IncidentStatus::Closed {
                    return Err(StoreError::invalid(
                        "status",
                        "the incident is already closed",
                    ));
                }
                status = IncidentStatus::Closed;
                reason = Some(why.clone());
                (AuditAction::IncidentClose, format!("reason {why:?}"))
            }
            IncidentChange::Reopen => {
                if old.status == IncidentStatus::Open {
                    return Ok(old);
                }
                status = IncidentStatus::Open;
                reason = None;
                (AuditAction::IncidentReopen, "from closed".to_owned())
            }
        };
        tx.prepare_cached(
            "UPDATE incidents SET status = ?1, assignee = ?2, close_reason = ?3,
                 updated_at_ns = ?4
             WHERE tenant_id = ?5 AND id = ?6",
        )?
        .execute(rusqlite::params![
            status.as_str(),
            assignee.map(|u| u.0),
            reason,
            origin.at.as_nanos(),
            ids::tenant_to_sql(tenant),
            id_to_sql("incident", id)?,
        ])?;
        audit::record(
            &tx,
            origin,
            &Change {
                action,
                object: format!("incident:{id}"),
                tenant: Some(tenant),
                detail: Some(&detail),
            },
        )?;
        let incident = load(&tx, tenant, id)?.ok_or(StoreError::Corrupt("incident vanished"))?;
        tx.commit()?;
        Ok(incident)
    }
}
