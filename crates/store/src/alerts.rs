//! Alerts as the pipeline stored them, and the analysts' work on them.
//!
//! The pipeline writes alerts ([`Store::commit_batch`]); analysts list them, read them
//! and change their state here: acknowledge, assign, close with a reason, reopen. Every
//! analyst change writes its audit record (`alert.acknowledge`, `alert.assign`,
//! `alert.close`, `alert.reopen`, object `alert:ID`) in the same transaction; a change
//! that changes nothing writes none.
//!
//! Every query is scoped by tenant: an alert id of another tenant is simply
//! [`StoreError::NotFound`].

use std::fmt;
use std::str::FromStr;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use watchfloor_event::{TenantId, Timestamp};

use crate::audit::{self, AuditAction, Change, Origin};
use crate::ids::{self, UserId, wire};
use crate::{Store, StoreError};

/// The most alerts (or incidents) one page holds.
pub const MAX_PAGE_LIMIT: u32 = 500;
/// The page size when none is asked for.
pub const DEFAULT_PAGE_LIMIT: u32 = 50;
/// The longest close reason, in characters.
pub const MAX_REASON_CHARS: usize = 1000;
/// The longest text filter (title substring, host, user, rule id), in characters.
pub const MAX_FILTER_CHARS: usize = 256;

/// Where an alert is in the analysts' work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    /// New, or back after a reopen; nobody has looked at it yet.
    Open,
    /// Someone is on it.
    Acknowledged,
    /// Done, with a reason. An alert closed while its attack goes on comes back: the
    /// pipeline reopens a closed alert whose count grows.
    Closed,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Open => "open",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Closed => "closed",
        }
    }
}

impl fmt::Display for AlertStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AlertStatus {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<AlertStatus, StoreError> {
        match s {
            "open" => Ok(AlertStatus::Open),
            "acknowledged" => Ok(AlertStatus::Acknowledged),
            "closed" => Ok(AlertStatus::Closed),
            _ => Err(StoreError::invalid(
                "status",
                "must be open, acknowledged or closed",
            )),
        }
    }
}

/// One alert as stored.
#[derive(Clone, Debug, Serialize)]
pub struct StoredAlert {
    /// Its columns, as lists show them (serialized in place).
    #[serde(flatten)]
    pub summary: StoredAlertSummary,
    /// The analysis engine's alert, as the JSON it wrote; serialized in place.
    pub doc: Box<RawValue>,
}

impl std::ops::Deref for StoredAlert {
    type Target = StoredAlertSummary;

    fn deref(&self) -> &StoredAlertSummary {
        &self.summary
    }
}

/// One alert as a list shows it: every column of [`StoredAlert`] but the analysis
/// engine's document (≈ 4 KB an alert), which only the single alert carries
/// ([`Store::get_alert`], [`Store::incident_alerts`]).
#[derive(Clone, Debug, Serialize)]
pub struct StoredAlertSummary {
    /// Assigned by the pipeline, per tenant, increasing; never reused.
    pub id: u64,
    #[serde(serialize_with = "wire::tenant")]
    pub tenant: TenantId,
    pub rule_id: String,
    pub title: String,
    /// `informational`, `low`, `medium`, `high` or `critical`.
    pub level: String,
    pub score: f64,
    pub host: Option<String>,
    pub user: Option<String>,
    /// Detections folded into this alert.
    pub count: u64,
    #[serde(serialize_with = "wire::time")]
    pub first_seen: Timestamp,
    #[serde(serialize_with = "wire::time")]
    pub last_seen: Timestamp,
    pub incident_id: Option<u64>,
    pub status: AlertStatus,
    pub assignee: Option<UserId>,
    /// Why it was closed; `None` unless closed.
    pub close_reason: Option<String>,
    /// The last change by the pipeline or an analyst.
    #[serde(serialize_with = "wire::time")]
    pub updated_at: Timestamp,
}

impl StoredAlertSummary {
    fn with_doc(self, doc: Box<RawValue>) -> StoredAlert {
        StoredAlert { summary: self, doc }
    }
}

/// What a list is sorted by; ties are broken by id in the same direction, so pages
/// are stable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSort {
    #[default]
    LastSeen,
    FirstSeen,
    Score,
    Level,
    Count,
}

impl AlertSort {
    fn column(self) -> &'static str {
        match self {
            AlertSort::LastSeen => "last_seen_ns",
            AlertSort::FirstSeen => "first_seen_ns",
            AlertSort::Score => "score",
            AlertSort::Level => "level_rank",
            AlertSort::Count => "count",
        }
    }
}

/// Which alerts to list. Every filter is optional; `since` (inclusive) and `until`
/// (exclusive) apply to `last_seen`. Host and user match exactly, ignoring ASCII case;
/// `text` is a substring of the title, ignoring ASCII case.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertQuery {
    pub status: Option<AlertStatus>,
    /// Only alerts at this level or above (informational 0 … critical 4).
    pub min_level_rank: Option<i64>,
    pub rule_id: Option<String>,
    pub host: Option<String>,
    pub user: Option<String>,
    pub incident_id: Option<u64>,
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub text: Option<String>,
    pub sort: AlertSort,
    /// Largest first (the default).
    pub desc: bool,
    /// 1 to [`MAX_PAGE_LIMIT`]; [`DEFAULT_PAGE_LIMIT`] by default.
    pub limit: u32,
    pub offset: u32,
}

impl Default for AlertQuery {
    fn default() -> Self {
        AlertQuery {
            status: None,
            min_level_rank: None,
            rule_id: None,
            host: None,
            user: None,
            incident_id: None,
            since: None,
            until: None,
            text: None,
            sort: AlertSort::LastSeen,
            desc: true,
            limit: DEFAULT_PAGE_LIMIT,
            offset: 0,
        }
    }
}

/// How far a list counts the items that match: counting costs a walk over every one
/// of them, on every page, so beyond this many a list says "at least".
pub const MAX_COUNT: u64 = 10_000;

/// One page of a list, and how many items match in all.
#[derive(Clone, Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// How many match, up to [`MAX_COUNT`].
    pub total: u64,
    /// More than [`MAX_COUNT`] match: `total` is a lower bound.
    pub total_capped: bool,
    pub limit: u32,
    pub offset: u32,
}

/// Counts the rows `from_filter` (`FROM … WHERE …`) selects, up to [`MAX_COUNT`]:
/// the count and whether there are more.
pub(crate) fn count_capped(
    conn: &Connection,
    from_filter: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<(u64, bool), StoreError> {
    let n: i64 = conn
        .prepare_cached(&format!(
            "SELECT COUNT(*) FROM (SELECT 1 {from_filter} LIMIT {})",
            MAX_COUNT + 1
        ))?
        .query_row(params, |r| r.get(0))?;
    let n = u64_from_sql(n, "negative count")?;
    Ok((n.min(MAX_COUNT), n > MAX_COUNT))
}

/// A page of alerts, without their documents.
pub type AlertPage = Page<StoredAlertSummary>;

/// What an analyst does to an alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AlertChange {
    /// Open → acknowledged (acknowledged: nothing changes; closed: refused).
    Acknowledge,
    /// Sets or clears the assignee: an enabled admin, or an enabled analyst of the
    /// alert's tenant. Customers are never assignees.
    Assign(Option<UserId>),
    /// Open or acknowledged → closed, with a reason (1 to [`MAX_REASON_CHARS`]
    /// characters); closing a closed alert is refused.
    Close { reason: String },
    /// Closed or acknowledged → open (open: nothing changes). Clears the close reason
    /// (the audit log keeps it).
    Reopen,
}

// ---- helpers shared with incidents, suppressions and the pipeline ----

/// A reason or similar free text: not blank, at most `max` characters, no control
/// characters but tab and line breaks.
pub(crate) fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), StoreError> {
    if value.trim().is_empty() {
        return Err(StoreError::invalid(field, "must not be empty"));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(StoreError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    if value.chars().count() > max {
        return Err(StoreError::invalid(field, "is too long"));
    }
    Ok(())
}

/// A filter value: at most [`MAX_FILTER_CHARS`] characters.
pub(crate) fn check_filter(field: &'static str, value: Option<&str>) -> Result<(), StoreError> {
    match value {
        Some(v) if v.chars().count() > MAX_FILTER_CHARS => {
            Err(StoreError::invalid(field, "must be at most 256 characters"))
        }
        _ => Ok(()),
    }
}

pub(crate) fn check_page(limit: u32) -> Result<(), StoreError> {
    if limit == 0 || limit > MAX_PAGE_LIMIT {
        return Err(StoreError::invalid("limit", "must be between 1 and 500"));
    }
    Ok(())
}

/// An id the pipeline hands out (positive, within SQLite's integers) as SQL.
pub(crate) fn id_to_sql(field: &'static str, id: u64) -> Result<i64, StoreError> {
    match i64::try_from(id) {
        Ok(v) if v > 0 => Ok(v),
        _ => Err(StoreError::invalid(field, "must be between 1 and 2^63-1")),
    }
}

pub(crate) fn u64_from_sql(raw: i64, what: &'static str) -> Result<u64, StoreError> {
    u64::try_from(raw).map_err(|_| StoreError::Corrupt(what))
}

pub(crate) fn doc_from_sql(doc: String) -> Result<Box<RawValue>, StoreError> {
    RawValue::from_string(doc).map_err(|_| StoreError::Corrupt("stored document is not JSON"))
}

/// The `since`/`until` (exclusive) bounds as an inclusive SQL range, or `None` when
/// nothing can match.
pub(crate) fn time_range(since: Option<Timestamp>, until: Option<Timestamp>) -> Option<(i64, i64)> {
    let low = since.map_or(i64::MIN, Timestamp::as_nanos);
    let high = match until {
        None => i64::MAX,
        Some(t) => t.as_nanos().checked_sub(1)?,
    };
    (low <= high).then_some((low, high))
}

/// Whether `user` may be assigned `tenant`'s alerts and incidents: an enabled admin,
/// or an enabled analyst with the tenant in their set. One error for every refusal
/// (unknown, disabled, customer, other tenants), so it tells nothing about which users
/// exist.
pub(crate) fn check_assignee(
    conn: &Connection,
    tenant: TenantId,
    user: UserId,
) -> Result<(), StoreError> {
    let ok: Option<i64> = conn
        .prepare_cached(
            "SELECT 1 FROM users u
             WHERE u.id = ?1 AND u.disabled_at_ns IS NULL
               AND (u.role = 'admin'
                    OR (u.role = 'analyst' AND EXISTS (
                        SELECT 1 FROM analyst_tenants a
                        WHERE a.user_id = u.id AND a.tenant_id = ?2)))",
        )?
        .query_row((user.0, ids::tenant_to_sql(tenant)), |r| r.get(0))
        .optional()?;
    match ok {
        Some(_) => Ok(()),
        None => Err(StoreError::invalid(
            "assignee",
            "must be an enabled admin or an enabled analyst of the tenant",
        )),
    }
}

pub(crate) fn assignee_text(user: Option<UserId>) -> String {
    match user {
        Some(u) => format!("user:{u}"),
        None => "nobody".to_owned(),
    }
}

// ---- rows ----

/// Every column but the document, in the order [`raw`] reads them.
pub(crate) const SUMMARY_COLUMNS: &str = "tenant_id, id, rule_id, title, level, score, host, \
     user_name, count, first_seen_ns, last_seen_ns, incident_id, status, assignee, \
     close_reason, updated_at_ns";
/// [`SUMMARY_COLUMNS`] and the document last (column 16).
pub(crate) const COLUMNS: &str = "tenant_id, id, rule_id, title, level, score, host, user_name, \
     count, first_seen_ns, last_seen_ns, incident_id, status, assignee, close_reason, \
     updated_at_ns, doc";

/// An alert row with SQLite's types, converted by [`from_raw`].
pub(crate) struct RawAlert {
    tenant: i64,
    id: i64,
    rule_id: String,
    title: String,
    level: String,
    score: f64,
    host: Option<String>,
    user: Option<String>,
    count: i64,
    first_seen: i64,
    last_seen: i64,
    incident_id: Option<i64>,
    status: String,
    assignee: Option<i64>,
    close_reason: Option<String>,
    updated_at: i64,
}

/// Reads a row selected with [`SUMMARY_COLUMNS`] (or [`COLUMNS`]: the document is
/// left).
pub(crate) fn raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawAlert> {
    Ok(RawAlert {
        tenant: r.get(0)?,
        id: r.get(1)?,
        rule_id: r.get(2)?,
        title: r.get(3)?,
        level: r.get(4)?,
        score: r.get(5)?,
        host: r.get(6)?,
        user: r.get(7)?,
        count: r.get(8)?,
        first_seen: r.get(9)?,
        last_seen: r.get(10)?,
        incident_id: r.get(11)?,
        status: r.get(12)?,
        assignee: r.get(13)?,
        close_reason: r.get(14)?,
        updated_at: r.get(15)?,
    })
}

/// Reads a row selected with [`COLUMNS`]: the summary and the document.
pub(crate) fn raw_full(r: &rusqlite::Row<'_>) -> rusqlite::Result<(RawAlert, String)> {
    Ok((raw(r)?, r.get(16)?))
}

pub(crate) fn from_raw(raw: RawAlert) -> Result<StoredAlertSummary, StoreError> {
    Ok(StoredAlertSummary {
        id: u64_from_sql(raw.id, "alert id out of range")?,
        tenant: ids::tenant_from_sql(raw.tenant)?,
        rule_id: raw.rule_id,
        title: raw.title,
        level: raw.level,
        score: raw.score,
        host: raw.host,
        user: raw.user,
        count: u64_from_sql(raw.count, "alert count out of range")?,
        first_seen: Timestamp(raw.first_seen),
        last_seen: Timestamp(raw.last_seen),
        incident_id: raw
            .incident_id
            .map(|i| u64_from_sql(i, "incident id out of range"))
            .transpose()?,
        status: raw
            .status
            .parse()
            .map_err(|_| StoreError::Corrupt("alert with an unknown status"))?,
        assignee: raw.assignee.map(UserId),
        close_reason: raw.close_reason,
        updated_at: Timestamp(raw.updated_at),
    })
}

pub(crate) fn from_raw_full((raw, doc): (RawAlert, String)) -> Result<StoredAlert, StoreError> {
    Ok(from_raw(raw)?.with_doc(doc_from_sql(doc)?))
}

pub(crate) fn load(
    conn: &Connection,
    tenant: TenantId,
    id: u64,
) -> Result<Option<StoredAlert>, StoreError> {
    let Ok(id_sql) = i64::try_from(id) else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM alerts WHERE tenant_id = ?1 AND id = ?2"
    ))?;
    stmt.query_row((ids::tenant_to_sql(tenant), id_sql), raw_full)
        .optional()?
        .map(from_raw_full)
        .transpose()
}

/// The filter of [`Store::alerts`], shared by its count and its page.
const FILTER: &str = "WHERE tenant_id = ?1
      AND (?2 IS NULL OR status = ?2)
      AND (?3 IS NULL OR level_rank >= ?3)
      AND (?4 IS NULL OR rule_id = ?4)
      AND (?5 IS NULL OR host = ?5 COLLATE NOCASE)
      AND (?6 IS NULL OR user_name = ?6 COLLATE NOCASE)
      AND (?7 IS NULL OR incident_id = ?7)
      AND last_seen_ns BETWEEN ?8 AND ?9
      AND (?10 IS NULL OR instr(lower(title), lower(?10)) > 0)";

/// A page of [`Store::alerts`]: the default order (last seen, newest first) comes
/// straight from the `alerts_by_last_seen` index.
fn list_sql(sort: AlertSort, desc: bool) -> String {
    let dir = if desc { "DESC" } else { "ASC" };
    let column = sort.column();
    format!(
        "SELECT {SUMMARY_COLUMNS} FROM alerts {FILTER}
         ORDER BY {column} {dir}, id {dir} LIMIT ?11 OFFSET ?12"
    )
}

fn check_query(q: &AlertQuery) -> Result<(), StoreError> {
    check_page(q.limit)?;
    check_filter("rule_id", q.rule_id.as_deref())?;
    check_filter("host", q.host.as_deref())?;
    check_filter("user", q.user.as_deref())?;
    check_filter("text", q.text.as_deref())?;
    if q.min_level_rank.is_some_and(|r| !(0..=4).contains(&r)) {
        return Err(StoreError::invalid(
            "min_level_rank",
            "must be between 0 and 4",
        ));
    }
    Ok(())
}

impl Store {
    /// One page of `tenant`'s alerts (see [`AlertQuery`]), with the number matching in
    /// all; summaries, without the documents ([`Store::get_alert`] has them).
    pub fn alerts(&self, tenant: TenantId, q: &AlertQuery) -> Result<AlertPage, StoreError> {
        check_query(q)?;
        let empty = Page {
            items: Vec::new(),
            total: 0,
            total_capped: false,
            limit: q.limit,
            offset: q.offset,
        };
        let Some((low, high)) = time_range(q.since, q.until) else {
            return Ok(empty);
        };
        // An incident id beyond SQLite's integers matches nothing.
        let incident = match q.incident_id.map(i64::try_from) {
            Some(Err(_)) => return Ok(empty),
            Some(Ok(i)) => Some(i),
            None => None,
        };
        let params = rusqlite::params![
            ids::tenant_to_sql(tenant),
            q.status.map(AlertStatus::as_str),
            q.min_level_rank,
            q.rule_id,
            q.host,
            q.user,
            incident,
            low,
            high,
            q.text,
        ];
        let mut conn = self.reader();
        // One snapshot for the count and the page.
        let tx = conn.transaction()?;
        let (total, total_capped) = count_capped(&tx, &format!("FROM alerts {FILTER}"), params)?;
        let mut stmt = tx.prepare_cached(&list_sql(q.sort, q.desc))?;
        let mut all: Vec<&dyn rusqlite::ToSql> = params.to_vec();
        all.push(&q.limit);
        all.push(&q.offset);
        let rows = stmt.query_map(all.as_slice(), raw)?;
        let items = rows.map(|r| from_raw(r?)).collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            items,
            total,
            total_capped,
            limit: q.limit,
            offset: q.offset,
        })
    }

    /// One of `tenant`'s alerts.
    pub fn get_alert(&self, tenant: TenantId, id: u64) -> Result<StoredAlert, StoreError> {
        load(&self.reader(), tenant, id)?.ok_or_else(|| StoreError::not_found("alert", id))
    }

    /// Applies an analyst's change to one of `tenant`'s alerts and records it in the
    /// audit log (see [`AlertChange`] for what each does). Returns the alert as it is
    /// afterwards; a change that changes nothing returns it as it was and records
    /// nothing.
    pub fn update_alert(
        &self,
        tenant: TenantId,
        id: u64,
        change: &AlertChange,
        origin: &Origin,
    ) -> Result<StoredAlert, StoreError> {
        audit::check_origin(origin)?;
        if let AlertChange::Close { reason } = change {
            check_text("reason", reason, MAX_REASON_CHARS)?;
        }
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let old = load(&tx, tenant, id)?.ok_or_else(|| StoreError::not_found("alert", id))?;
        let mut status = old.status;
        let mut assignee = old.assignee;
        let mut reason = old.close_reason.clone();
        let (action, detail) = match change {
            AlertChange::Acknowledge => match old.status {
                AlertStatus::Acknowledged => return Ok(old),
                AlertStatus::Closed => {
                    return Err(StoreError::invalid(
                        "status",
                        "a closed alert cannot be acknowledged; reopen it first",
                    ));
                }
                AlertStatus::Open => {
                    status = AlertStatus::Acknowledged;
                    (AuditAction::AlertAcknowledge, None)
                }
            },
            AlertChange::Assign(user) => {
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
                (AuditAction::AlertAssign, Some(detail))
            }
            AlertChange::Close { reason: why } => {
                if old.status == AlertStatus::Closed {
                    return Err(StoreError::invalid("status", "the alert is already closed"));
                }
                status = AlertStatus::Closed;
                reason = Some(why.clone());
                (AuditAction::AlertClose, Some(format!("reason {why:?}")))
            }
            AlertChange::Reopen => {
                if old.status == AlertStatus::Open {
                    return Ok(old);
                }
                status = AlertStatus::Open;
                reason = None;
                let detail = format!("from {}", old.status);
                (AuditAction::AlertReopen, Some(detail))
            }
        };
        tx.prepare_cached(
            "UPDATE alerts SET status = ?1, assignee = ?2, close_reason = ?3, updated_at_ns = ?4
             WHERE tenant_id = ?5 AND id = ?6",
        )?
        .execute(rusqlite::params![
            status.as_str(),
            assignee.map(|u| u.0),
            reason,
            origin.at.as_nanos(),
            ids::tenant_to_sql(tenant),
            id_to_sql("alert", id)?,
        ])?;
        audit::record(
            &tx,
            origin,
            &Change {
                action,
                object: format!("alert:{id}"),
                tenant: Some(tenant),
                detail: detail.as_deref(),
            },
        )?;
        let alert = load(&tx, tenant, id)?.ok_or(StoreError::Corrupt("alert vanished"))?;
        tx.commit()?;
        Ok(alert)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for s in [
            AlertStatus::Open,
            AlertStatus::Acknowledged,
            AlertStatus::Closed,
        ] {
            assert_eq!(s.as_str().parse::<AlertStatus>().ok(), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap_or_default(),
                format!("\"{s}\"")
            );
        }
        assert!("Open".parse::<AlertStatus>().is_err());
    }

    #[test]
    fn the_default_order_reads_the_index_without_sorting() {
        let store = Store::open_in_memory().expect("store");
        let plan = crate::events::tests::plan(&store, &list_sql(AlertSort::LastSeen, true));
        assert!(plan.contains("alerts_by_last_seen"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }

    #[test]
    fn the_full_columns_are_the_summary_and_the_document() {
        assert_eq!(COLUMNS, format!("{SUMMARY_COLUMNS}, doc"));
    }

    #[test]
    fn time_ranges_are_half_open() {
        assert_eq!(time_range(None, None), Some((i64::MIN, i64::MAX)));
        assert_eq!(
            time_range(Some(Timestamp(5)), Some(Timestamp(10))),
            Some((5, 9))
        );
        assert_eq!(time_range(Some(Timestamp(5)), Some(Timestamp(5))), None);
        assert_eq!(time_range(None, Some(Timestamp(i64::MIN))), None);
    }

    #[test]
    fn free_text_checks() {
        assert!(check_text("reason", "false positive\nbackup job", 1000).is_ok());
        for bad in ["", "  \n", "bell\u{7}", &"x".repeat(1001)] {
            assert!(check_text("reason", bad, 1000).is_err(), "{bad:?}");
        }
    }
}
