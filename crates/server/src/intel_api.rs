//! A tenant's threat intelligence over the API: import (STIX, MISP, CSV, plain lists),
//! list, counts, and retro-hunts over the stored records.
//!
//! Indicators live in the store as plain rows: kind, normalised value, and every
//! source's attribution as a JSON array ([`AttributionDoc`]). Merging is done here,
//! inside the store's transaction ([`merge_rows`]): an attribution from the same source
//! with the same reference replaces the earlier one, any other is added, as
//! [`watchfloor_intel::Intel::add`] does in memory. After an import the pipeline is
//! told to load the tenant's indicators again ([`crate::live::Command::ReloadIntel`]).
//!
//! TLP applies to reading too: a customer (a customer user or token) sees only the
//! attributions up to TLP:GREEN and the indicators that have one; analysts and admins
//! see everything here (partners get what TAXII shares, at most TLP:AMBER+STRICT, see
//! [`crate::taxii`]).
//!
//! A retro-hunt builds a matcher from the chosen indicators and scans the tenant's
//! stored records of the last N days with [`Intel::scan_text`] (addresses, networks,
//! domains, URLs, e-mail addresses and hashes in the raw text; user agents and JA3
//! fingerprints are only matched as whole fields, by the pipeline). The scan is bounded
//! ([`MAX_RETRO_RECORDS`], [`MAX_RETRO_BYTES`]; the answer says when it stopped early);
//! hits are returned (the first [`MAX_RETRO_HITS`]), counted as sightings and in the
//! audit record. When the pipeline runs, each hit (a record and an indicator, once per
//! record) also becomes an indicator detection like a live one, at the record's time
//! and marked as a retro-hunt's: the hits never taken before are handed to the
//! pipeline, which takes them through the tenant's analysis engine and stores the
//! alerts and incidents they changed; a hit already taken, live or by an earlier hunt,
//! is not taken again (see [`crate::retro`]). The answer says how many were sent
//! (`detections_queued`) and what the pipeline did with them (`detections`).

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use axum::Json;
use axum::body::Body as RawBody;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use watchfloor_intel::import::lines::{Column, ColumnMapping, KindSource};
use watchfloor_intel::import::{
    ImportContext, ImportReport, Imported, MAX_DETAILS, Skipped, import_json, lines, misp, stix,
};
use watchfloor_intel::{Attribution, IndicatorId, Intel, Kind, NewIndicator, Tlp};
use watchfloor_store::{
    ContextRow, IndicatorQuery, IndicatorRow, IntelImport, IntelImportReceipt,
    MAX_INDICATOR_VALUE_BYTES, Origin, Principal, Role, ScanRecord, Sighting, Store, StoreError,
    StoredIndicator, TenantId, Timestamp,
};

use crate::auth::Auth;
use crate::cases::parse_time;
use crate::handlers::{Body, TenantPath};
use crate::live::Command;
use crate::retro::{RetroQueue, send_detections};
use crate::{AppError, AppState};

type Answer = Result<Json<Value>, AppError>;

/// The largest import body (as for ingest).
pub const MAX_IMPORT_BODY_BYTES: usize = crate::MAX_INGEST_BODY_BYTES;
/// The most records one retro-hunt reads.
pub const MAX_RETRO_RECORDS: u64 = 2_000_000;
/// The most record bytes one retro-hunt reads.
pub const MAX_RETRO_BYTES: u64 = 1024 * 1024 * 1024;
/// The most hits one retro-hunt answer lists (all are counted).
pub const MAX_RETRO_HITS: usize = 1000;
/// The longest span a retro-hunt looks back, in days.
pub const MAX_RETRO_DAYS: u32 = 366;
/// The most attributions one indicator keeps (further sources are dropped, and said).
pub const MAX_ATTRIBUTIONS: usize = 64;
/// Records read per store call while hunting.
const RETRO_BATCH: u32 = 5_000;
/// Indicators read per store call while loading a matcher.
const LOAD_BATCH: u32 = 5_000;

// ---- attributions as stored ----

/// One source's attribution as the store keeps it (a JSON array of these per
/// indicator): [`Attribution`] with RFC 3339 times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AttributionDoc {
    pub source: String,
    pub confidence: u8,
    #[serde(with = "tlp_text")]
    pub tlp: Tlp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attack: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// TLPs as their names (`amber+strict`), read with [`Tlp::parse`].
mod tlp_text {
    use serde::{Deserialize, Deserializer, Serializer, de};
    use watchfloor_intel::Tlp;

    pub(super) fn serialize<S: Serializer>(tlp: &Tlp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(tlp.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Tlp, D::Error> {
        let text = String::deserialize(d)?;
        Tlp::parse(&text).ok_or_else(|| de::Error::custom("not a TLP"))
    }
}

pub(crate) fn rfc3339(t: Timestamp) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(t.0))
        .map(|t| t.to_string())
        .unwrap_or_else(|_| t.0.to_string())
}

fn time_of(text: Option<&str>) -> Option<Timestamp> {
    let t: jiff::Timestamp = text?.parse().ok()?;
    i64::try_from(t.as_nanosecond()).ok().map(Timestamp)
}

fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

impl AttributionDoc {
    fn of(a: &Attribution) -> AttributionDoc {
        AttributionDoc {
            source: clip(&a.source, 200),
            confidence: a.confidence.min(100),
            tlp: a.tlp,
            valid_from: a.valid_from.map(rfc3339),
            valid_until: a.valid_until.map(rfc3339),
            tags: a.tags.iter().take(32).map(|t| clip(t, 100)).collect(),
            attack: a.attack.iter().take(32).map(|t| clip(t, 20)).collect(),
            reference: a.reference.as_deref().map(|r| clip(r, 300)),
            description: a.description.as_deref().map(|d| clip(d, 1000)),
        }
    }

    pub(crate) fn to_attribution(&self) -> Attribution {
        Attribution {
            source: self.source.clone(),
            confidence: self.confidence.min(100),
            tlp: self.tlp,
            valid_from: time_of(self.valid_from.as_deref()),
            valid_until: time_of(self.valid_until.as_deref()),
            tags: self.tags.clone(),
            attack: self.attack.clone(),
            reference: self.reference.clone(),
            description: self.description.clone(),
        }
    }

    fn same_claim(&self, other: &AttributionDoc) -> bool {
        self.source == other.source && self.reference == other.reference
    }
}

/// A TLP's rank in the store: 0 clear … 4 red.
pub(crate) fn tlp_rank(tlp: Tlp) -> u8 {
    match tlp {
        Tlp::Clear => 0,
        Tlp::Green => 1,
        Tlp::Amber => 2,
        Tlp::AmberStrict => 3,
        Tlp::Red => 4,
    }
}

/// The attributions of a stored row (an unreadable document reads as none).
pub(crate) fn attributions_of(row: &StoredIndicator) -> Vec<AttributionDoc> {
    serde_json::from_str(row.attributions.get()).unwrap_or_default()
}

/// Adds `incoming` to `list`: replaces the attribution of the same source and
/// reference, else appends (up to [`MAX_ATTRIBUTIONS`]).
fn merge_into(list: &mut Vec<AttributionDoc>, incoming: AttributionDoc) {
    if let Some(known) = list.iter_mut().find(|a| a.same_claim(&incoming)) {
        *known = incoming;
    } else if list.len() < MAX_ATTRIBUTIONS {
        list.push(incoming);
    }
}

/// A row's attributions document and TLP columns for `list`.
fn fill_row(row: &mut IndicatorRow, list: &[AttributionDoc]) {
    row.attributions = serde_json::to_string(list).unwrap_or_else(|_| "[]".to_owned());
    let strictest = list.iter().map(|a| a.tlp).max().unwrap_or(Tlp::Amber);
    let most_open = list.iter().map(|a| a.tlp).min().unwrap_or(Tlp::Amber);
    row.tlp_max = strictest.as_str().to_owned();
    row.tlp_open_rank = tlp_rank(most_open);
}

/// The row to keep when `incoming` meets the stored row of the same indicator.
pub(crate) fn merge_rows(stored: &StoredIndicator, incoming: &IndicatorRow) -> IndicatorRow {
    let mut list = attributions_of(stored);
    let new: Vec<AttributionDoc> = serde_json::from_str(&incoming.attributions).unwrap_or_default();
    for a in new {
        merge_into(&mut list, a);
    }
    let mut row = incoming.clone();
    fill_row(&mut row, &list);
    row
}

/// The rows of an import: one per kind and value, the document's attributions of it
/// merged, in the order first met. Values too long to store are left out, and the
/// report says so.
fn rows_of(
    indicators: Vec<NewIndicator>,
    now: Timestamp,
    report: &mut ImportReport,
) -> Vec<IndicatorRow> {
    let mut order: Vec<(Kind, String)> = Vec::new();
    let mut lists: HashMap<(Kind, String), Vec<AttributionDoc>> = HashMap::new();
    for i in indicators {
        if i.value.len() > MAX_INDICATOR_VALUE_BYTES {
            report.taken = report.taken.saturating_sub(1);
            if report.skipped.len() < MAX_DETAILS {
                report.skipped.push(Skipped {
                    place: i.attribution.reference.clone().unwrap_or_default(),
                    reason: format!("a {} value longer than 8 KiB is not kept", i.kind),
                });
            } else {
                report.skipped_omitted += 1;
            }
            continue;
        }
        let key = (i.kind, i.value);
        let list = lists.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            Vec::new()
        });
        merge_into(list, AttributionDoc::of(&i.attribution));
    }
    order
        .into_iter()
        .map(|key| {
            let list = lists.remove(&key).unwrap_or_default();
            let mut row = IndicatorRow {
                kind: key.0.as_str().to_owned(),
                value: key.1,
                attributions: String::new(),
                tlp_max: String::new(),
                tlp_open_rank: 0,
                first_seen: now,
                last_seen: now,
            };
            fill_row(&mut row, &list);
            row
        })
        .collect()
}

// ---- who may see what ----

/// The highest TLP a caller reads through the API: everything for analysts and
/// admins, TLP:GREEN for customers.
pub(crate) fn reading_tlp(principal: &Principal) -> Tlp {
    match principal {
        Principal::Admin { .. } | Principal::Analyst { .. } => Tlp::Red,
        Principal::Customer { .. } => Tlp::Green,
        Principal::Token(scope) => match scope.role {
            Role::Customer => Tlp::Green,
            _ => Tlp::Red,
        },
    }
}

/// The highest TLP shared with a caller over TAXII: TLP:AMBER+STRICT for analysts and
/// admins (the tenant's own organisation), TLP:GREEN for customers; TLP:RED never.
pub(crate) fn sharing_tlp(principal: &Principal) -> Tlp {
    reading_tlp(principal).min(Tlp::AmberStrict)
}

/// The attributions of `row` a caller allowed up to `ceiling` may see.
pub(crate) fn visible(row: &StoredIndicator, ceiling: Tlp) -> Vec<AttributionDoc> {
    attributions_of(row)
        .into_iter()
        .filter(|a| a.tlp <= ceiling)
        .collect()
}

/// `row` as a caller allowed up to `ceiling` sees it: only its visible attributions,
/// and the TLP of the strictest of those.
fn redacted(mut row: StoredIndicator, ceiling: Tlp) -> StoredIndicator {
    if ceiling == Tlp::Red {
        return row;
    }
    let list = visible(&row, ceiling);
    if let Some(max) = list.iter().map(|a| a.tlp).max() {
        row.tlp_max = max.as_str().to_owned();
    }
    let text = serde_json::to_string(&list).unwrap_or_else(|_| "[]".to_owned());
    if let Ok(raw) = RawValue::from_string(text) {
        row.attributions = raw;
    }
    row
}

// ---- the matcher ----

/// A matcher over indicators as stored, and the store id of each of its indicators.
pub(crate) struct LoadedIntel {
    pub intel: Intel,
    pub ids: HashMap<IndicatorId, i64>,
}

impl LoadedIntel {
    fn new() -> LoadedIntel {
        LoadedIntel {
            intel: Intel::default(),
            ids: HashMap::new(),
        }
    }

    /// Adds a stored indicator with its attributions; a row this build cannot read (an
    /// unknown kind) is left out.
    fn add(&mut self, row: &StoredIndicator) {
        let Ok(kind) = Kind::from_str(&row.kind) else {
            return;
        };
        for a in attributions_of(row) {
            let new = NewIndicator {
                kind,
                value: row.value.clone(),
                attribution: a.to_attribution(),
            };
            if let Ok(added) = self.intel.add(new, row.first_seen) {
                self.ids.insert(added.id(), row.id);
            }
        }
    }
}

/// Every indicator of `tenant`, as a matcher (read a chunk at a time).
pub(crate) fn load_intel(store: &Store, tenant: TenantId) -> Result<LoadedIntel, StoreError> {
    let mut loaded = LoadedIntel::new();
    let mut after = 0;
    loop {
        let rows = store.indicators_after_id(tenant, after, LOAD_BATCH)?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        for row in &rows {
            loaded.add(row);
        }
    }
    loaded.intel.prepare();
    Ok(loaded)
}

/// The matcher the pipeline runs for `tenant`, with the store id of each of its
/// indicators; `None` when the tenant has no indicators.
pub(crate) fn pipeline_intel(
    store: &Store,
    tenant: TenantId,
) -> Result<Option<LoadedIntel>, StoreError> {
    let loaded = load_intel(store, tenant)?;
    Ok((!loaded.intel.is_empty()).then_some(loaded))
}

// ---- handlers ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImportParams {
    /// `stix`, `misp`, `csv`, `list`, or `json` (STIX or MISP, by looking). Default:
    /// `json` when the body starts with `{` or `[`, else `list`.
    format: Option<String>,
    /// The feed, partner or file: names the source of every attribution the document
    /// does not attribute itself. Default `api`.
    source: Option<String>,
    /// The TLP of what the document does not mark (`green`, `TLP:AMBER`…); default
    /// TLP:AMBER.
    tlp: Option<String>,
    /// The confidence (0-100) of what the document does not rate; default 50.
    confidence: Option<u8>,
    /// `list`: every value's kind (`ipv4`, `domain`, `sha256`…); default: detected.
    kind: Option<String>,
    /// `csv`: the value column, by header name or 0-based index; default 0.
    value_column: Option<String>,
    /// `csv`: the column naming each value's kind; default: detected from the value.
    kind_column: Option<String>,
}

pub(crate) fn invalid(field: &str, reason: impl Into<String>) -> AppError {
    AppError::Invalid {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

fn column(text: &str) -> Column {
    match text.trim().parse::<usize>() {
        Ok(i) => Column::Index(i),
        Err(_) => Column::Name(text.trim().to_owned()),
    }
}

/// Runs the importer the parameters name over `text`.
fn run_importer(
    text: &str,
    p: &ImportParams,
    ctx: &ImportContext<'_>,
) -> Result<Imported, AppError> {
    let guessed = if text.trim_start().starts_with(['{', '[']) {
        "json"
    } else {
        "list"
    };
    let format = p.format.as_deref().unwrap_or(guessed).to_ascii_lowercase();
    Ok(match format.as_str() {
        "json" => import_json(text, ctx),
        "stix" => stix::import_stix(text, ctx),
        "misp" => misp::import_misp_event(text, ctx),
        "list" => {
            let kind = p
                .kind
                .as_deref()
                .map(Kind::from_str)
                .transpose()
                .map_err(|_| invalid("kind", "is not an indicator kind"))?;
            lines::import_plain_list_str(text, kind, ctx)
        }
        "csv" => {
            let kind = match p.kind_column.as_deref() {
                Some(c) => KindSource::Column(column(c)),
                None => match p.kind.as_deref() {
                    Some(k) => KindSource::Fixed(
                        Kind::from_str(k)
                            .map_err(|_| invalid("kind", "is not an indicator kind"))?,
                    ),
                    None => KindSource::Detect,
                },
            };
            let mapping =
                ColumnMapping::new(column(p.value_column.as_deref().unwrap_or("0")), kind);
            lines::import_csv_str(text, &mapping, ctx).map_err(|e| match e {
                watchfloor_intel::import::ImportError::Mapping(_) => invalid(
                    "value_column",
                    "the column mapping does not fit the file's columns",
                ),
                _ => AppError::BadRequest("the CSV could not be read".to_owned()),
            })?
        }
        _ => return Err(invalid("format", "must be stix, misp, csv, list or json")),
    })
}

fn check_source(source: &str) -> Result<(), AppError> {
    if source.trim().is_empty()
        || source.chars().count() > 100
        || source.chars().any(char::is_control)
    {
        return Err(invalid(
            "source",
            "must be 1 to 100 characters without control characters",
        ));
    }
    Ok(())
}

/// The body, up to [`MAX_IMPORT_BODY_BYTES`] (413 past it), within the ingest body
/// time limit (408).
pub(crate) async fn read_body(
    body: RawBody,
    timeouts: crate::Timeouts,
) -> Result<Vec<u8>, AppError> {
    let limited = Limited::new(body, MAX_IMPORT_BODY_BYTES);
    match tokio::time::timeout(timeouts.ingest_body, limited.collect()).await {
        Err(_) => Err(AppError::Timeout(
            "the request body arrived too slowly; nothing was imported",
        )),
        Ok(Ok(collected)) => Ok(collected.to_bytes().to_vec()),
        Ok(Err(e)) if e.is::<LengthLimitError>() => Err(AppError::PayloadTooLarge),
        Ok(Err(_)) => Err(AppError::BadRequest(
            "the request body could not be read".to_owned(),
        )),
    }
}

/// The time an import is stamped with: now, to the whole microsecond, so the TAXII
/// dates (written to the microsecond) are exact.
fn import_time() -> Timestamp {
    let now = Timestamp::now().0;
    Timestamp(now - now.rem_euclid(1_000))
}

/// Merges what an importer took into `tenant`'s indicators and keeps its context
/// objects, in one store transaction with the audit record (`intel.import`, the
/// `label` first when not empty, then the source, format and counts); `origin.at`
/// stamps what changed. Returns the importer's report, completed with what the store
/// merged, and the store's receipt.
fn store_import(
    store: &Store,
    tenant: TenantId,
    imported: Imported,
    label: &str,
    origin: &Origin,
) -> Result<(ImportReport, IntelImportReceipt), StoreError> {
    let Imported {
        indicators,
        context,
        mut report,
    } = imported;
    let rows = rows_of(indicators, origin.at, &mut report);
    let objects: Vec<ContextRow> = context
        .into_iter()
        .filter_map(|c| {
            let json = serde_json::to_string(&c.json).ok()?;
            (json.len() <= watchfloor_store::MAX_STIX_OBJECT_BYTES).then_some(ContextRow {
                stix_id: c.id,
                kind: c.kind,
                json,
            })
        })
        .collect();
    let summary = format!(
        "{label}{}source {:?}, format {}: {} candidates, {} taken, {} skipped, {} not matchable",
        if label.is_empty() { "" } else { ": " },
        report.source,
        report.format.as_str(),
        report.candidates,
        report.taken,
        report.skipped_count(),
        report.not_matchable_count(),
    );
    let import = IntelImport {
        indicators: &rows,
        objects: &objects,
        summary: &summary,
    };
    let receipt = store.upsert_indicators(tenant, &import, &mut merge_rows, origin)?;
    report.merged = receipt.merged + receipt.unchanged;
    Ok((report, receipt))
}

/// How a feed's STIX objects are attributed when they do not say themselves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedImport {
    /// The source named by every attribution the objects do not attribute themselves.
    pub source: String,
    /// The TLP of objects without a marking.
    pub tlp: Tlp,
    /// The confidence (0-100) of objects that do not give one.
    pub confidence: u8,
    /// Names the feed in the audit record (its URL and collection, no secret).
    pub label: String,
    /// Where the import comes from, for the audit record (`taxii-poll`).
    pub from: String,
}

/// Imports a STIX 2.1 bundle (say, the objects of a TAXII collection) into `tenant`'s
/// indicators as `POST /tenants/{id}/intel/import?format=stix` does: the same
/// importer, the same merge, the same audit record (by the system, from
/// `feed.from`, its detail starting with `feed.label`). The caller tells the pipeline
/// to reload the tenant's indicators afterwards
/// ([`crate::live::Command::ReloadIntel`]).
pub fn import_stix_feed(
    store: &Store,
    tenant: TenantId,
    bundle: &str,
    feed: &FeedImport,
) -> Result<(ImportReport, IntelImportReceipt), StoreError> {
    let mut ctx = ImportContext::new(feed.source.clone());
    ctx.base.tlp = feed.tlp;
    ctx.base.confidence = feed.confidence.min(100);
    let imported = stix::import_stix(bundle, &ctx);
    let label: String = feed
        .label
        .chars()
        .filter(|c| !c.is_control())
        .take(500)
        .collect();
    let origin = Origin::system(&feed.from, import_time());
    store_import(store, tenant, imported, &label, &origin)
}

/// `POST /tenants/{id}/intel/import`: runs the importer, merges what it took into the
/// tenant's indicators, keeps the context objects, and answers the importer's report
/// with what the store did.
pub(crate) async fn import(
    State(state): State<AppState>,
    auth: Auth,
    TenantPath(tenant): TenantPath,
    params: Result<Query<ImportParams>, QueryRejection>,
    body: RawBody,
) -> Answer {
    let Query(p) = params?;
    let source = p.source.clone().unwrap_or_else(|| "api".to_owned());
    check_source(&source)?;
    let tlp = match p.tlp.as_deref() {
        None => Tlp::Amber,
        Some(t) => Tlp::parse(t)
            .ok_or_else(|| invalid("tlp", "must be clear, green, amber, amber+strict or red"))?,
    };
    if p.confidence.is_some_and(|c| c > 100) {
        return Err(invalid("confidence", "must be between 0 and 100"));
    }
    let bytes = read_body(body, state.timeouts()).await?;
    let text = String::from_utf8(bytes)
        .map_err(|_| AppError::BadRequest("the body must be UTF-8 text".to_owned()))?;
    let now = import_time();
    let origin = auth.origin(now);
    let (report, receipt) = state
        .run(move |store| {
            let mut ctx = ImportContext::new(source.clone());
            ctx.base.tlp = tlp;
            if let Some(c) = p.confidence {
                ctx.base.confidence = c;
            }
            let imported = match run_importer(&text, &p, &ctx) {
                Ok(i) => i,
                Err(e) => return Ok(Err(e)),
            };
            store_import(store, tenant, imported, "", &origin).map(Ok)
        })
        .await??;
    state.tell(Command::ReloadIntel(tenant));
    Ok(Json(json!({
        "report": report,
        "taken": report.taken,
        "merged": report.merged,
        "skipped": report.skipped_count(),
        "not_matchable": report.not_matchable_count(),
        "stored": receipt,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListParams {
    kind: Option<String>,
    /// A part of the value, ignoring case.
    q: Option<String>,
    /// Added or changed since (RFC 3339).
    since: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

/// `GET /tenants/{id}/intel/indicators`.
pub(crate) async fn list_indicators(
    State(state): State<AppState>,
    auth: Auth,
    TenantPath(tenant): TenantPath,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Answer {
    let Query(p) = params?;
    if let Some(k) = p.kind.as_deref() {
        Kind::from_str(k).map_err(|_| invalid("kind", "is not an indicator kind"))?;
    }
    let ceiling = reading_tlp(&auth.principal);
    let q = IndicatorQuery {
        kind: p
            .kind
            .as_deref()
            .and_then(|k| Kind::from_str(k).ok())
            .map(|k| k.as_str().to_owned()),
        text: p.q,
        since_added: parse_time("since", p.since.as_deref())?,
        max_open_rank: tlp_rank(ceiling),
        limit: p.limit.unwrap_or(100),
        offset: p.offset.unwrap_or(0),
    };
    let mut page = state.run(move |s| s.indicators(tenant, &q)).await?;
    page.items = page
        .items
        .into_iter()
        .map(|row| redacted(row, ceiling))
        .collect();
    serde_json::to_value(page)
        .map(Json)
        .map_err(AppError::internal)
}

/// `GET /tenants/{id}/intel/stats`.
pub(crate) async fn stats(
    State(state): State<AppState>,
    auth: Auth,
    TenantPath(tenant): TenantPath,
) -> Answer {
    let rank = tlp_rank(reading_tlp(&auth.principal));
    let counts = state.run(move |s| s.intel_counts(tenant, rank)).await?;
    Ok(Json(json!({ "stats": counts })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetroHuntRequest {
    /// How many days back from now: 1 to 366.
    days: u32,
    /// Hunt for these indicators (store ids, at most 1000) only…
    indicators: Option<Vec<i64>>,
    /// … or for those added or changed since this time (RFC 3339); neither: all.
    added_since: Option<String>,
}

/// One hit of a retro-hunt.
#[derive(Clone, Debug, Serialize)]
struct Hit {
    record: i64,
    time: String,
    host: Option<String>,
    matched: String,
    indicator: i64,
    kind: &'static str,
    value: String,
}

/// What a retro-hunt did.
#[derive(Debug, Default, Serialize)]
struct Hunt {
    indicators: usize,
    records: u64,
    bytes: u64,
    /// The scan stopped at its bound before the start of the range (the oldest records
    /// were not read).
    capped: bool,
    hits_total: u64,
    hits: Vec<Hit>,
    /// Per indicator hit: hits and the latest time.
    #[serde(skip)]
    seen: HashMap<IndicatorId, (u64, Timestamp)>,
}

/// The indicators a retro-hunt looks for.
fn hunted(
    store: &Store,
    tenant: TenantId,
    ids: Option<&[i64]>,
    since: Option<Timestamp>,
) -> Result<LoadedIntel, StoreError> {
    let mut loaded = LoadedIntel::new();
    match ids {
        Some(ids) => {
            for &id in ids {
                match store.indicator(tenant, id) {
                    Ok(row) => loaded.add(&row),
                    Err(StoreError::NotFound { .. }) => {
                        return Err(StoreError::NotFound {
                            field: "indicator",
                            value: id.to_string(),
                        });
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        None => {
            let mut after = 0;
            loop {
                let rows = store.indicators_after_id(tenant, after, LOAD_BATCH)?;
                let Some(last) = rows.last() else { break };
                after = last.id;
                for row in rows
                    .iter()
                    .filter(|r| since.is_none_or(|t| r.added_at >= t))
                {
                    loaded.add(row);
                }
            }
        }
    }
    loaded.intel.prepare();
    Ok(loaded)
}

/// Scans the tenant's records from `since` to `until`, newest data last, within the
/// bounds; each (record, indicator) pair found is offered to `queue`, if any.
fn scan(
    store: &Store,
    tenant: TenantId,
    loaded: &LoadedIntel,
    (since, until): (Timestamp, Timestamp),
    hunt: &mut Hunt,
    mut queue: Option<&mut RetroQueue>,
) -> Result<(), StoreError> {
    let now = Timestamp::now();
    let mut after: Option<(Timestamp, i64)> = None;
    let mut matches = Vec::new();
    let mut offered: HashSet<IndicatorId> = HashSet::new();
    'walk: loop {
        let batch: Vec<ScanRecord> =
            store.scan_records(tenant, Some(since), Some(until), after, RETRO_BATCH)?;
        let Some(last) = batch.last() else { break };
        after = Some((last.time, last.id));
        for record in &batch {
            if hunt.records >= MAX_RETRO_RECORDS || hunt.bytes >= MAX_RETRO_BYTES {
                hunt.capped = true;
                break 'walk;
            }
            hunt.records += 1;
            hunt.bytes += record.line.len() as u64;
            let text = String::from_utf8_lossy(&record.line);
            matches.clear();
            offered.clear();
            loaded.intel.scan_text(&text, now, &mut matches);
            for m in &matches {
                let Some(&store_id) = loaded.ids.get(&m.id) else {
                    continue;
                };
                if let Some(q) = queue.as_deref_mut()
                    && offered.insert(m.id)
                {
                    q.offer(&loaded.intel, m.id, store_id, record, m.matched(&text), now);
                }
                hunt.hits_total += 1;
                let seen = hunt.seen.entry(m.id).or_insert((0, record.time));
                seen.0 += 1;
                seen.1 = seen.1.max(record.time);
                if hunt.hits.len() < MAX_RETRO_HITS
                    && let Some(view) = loaded.intel.get(m.id)
                {
                    hunt.hits.push(Hit {
                        record: record.id,
                        time: rfc3339(record.time),
                        host: record.host.clone(),
                        matched: clip(m.matched(&text), 300),
                        indicator: store_id,
                        kind: view.kind.as_str(),
                        value: view.value.to_owned(),
                    });
                }
            }
        }
        if let Some(q) = queue.as_deref_mut() {
            q.settle(store, tenant)?;
        }
    }
    if let Some(q) = queue {
        q.settle(store, tenant)?;
    }
    Ok(())
}

/// `POST /tenants/{id}/intel/retro-hunt`: matches the chosen indicators against the
/// tenant's stored records of the last `days` days.
pub(crate) async fn retro_hunt(
    State(state): State<AppState>,
    auth: Auth,
    TenantPath(tenant): TenantPath,
    Body(body): Body<RetroHuntRequest>,
) -> Answer {
    if body.days == 0 || body.days > MAX_RETRO_DAYS {
        return Err(invalid("days", "must be between 1 and 366"));
    }
    if body
        .indicators
        .as_ref()
        .is_some_and(|ids| ids.is_empty() || ids.len() > 1000)
    {
        return Err(invalid("indicators", "must hold 1 to 1000 ids"));
    }
    if body.indicators.is_some() && body.added_since.is_some() {
        return Err(invalid("added_since", "goes without indicators"));
    }
    let added_since = parse_time("added_since", body.added_since.as_deref())?;
    let now = Timestamp::now();
    let since = Timestamp(
        now.0
            .saturating_sub(i64::from(body.days) * 86_400_000_000_000),
    );
    let origin = auth.origin(now);
    let days = body.days;
    let alerting = state.has_pipeline();
    let (hunt, queue) = state
        .run(move |store| {
            let loaded = hunted(store, tenant, body.indicators.as_deref(), added_since)?;
            let mut hunt = Hunt {
                indicators: loaded.ids.len(),
                ..Hunt::default()
            };
            let mut queue = RetroQueue::default();
            if !loaded.intel.is_empty() {
                let range = (since, Timestamp(now.0.saturating_add(1)));
                let q = alerting.then_some(&mut queue);
                scan(store, tenant, &loaded, range, &mut hunt, q)?;
            }
            let sightings: Vec<Sighting> = hunt
                .seen
                .iter()
                .filter_map(|(id, (n, last))| {
                    let view = loaded.intel.get(*id)?;
                    Some(Sighting {
                        kind: view.kind.as_str().to_owned(),
                        value: view.value.to_owned(),
                        count: *n,
                        last_seen: *last,
                    })
                })
                .collect();
            let summary = format!(
                "retro-hunt over {days} days: {} indicators, {} records read{}, {} hits on {} \
                 indicators, {} detections queued",
                hunt.indicators,
                hunt.records,
                if hunt.capped {
                    " (stopped at the scan bound)"
                } else {
                    ""
                },
                hunt.hits_total,
                hunt.seen.len(),
                queue.queued.len(),
            );
            store.record_retro_hunt(tenant, &sightings, &summary, &origin)?;
            Ok((hunt, queue))
        })
        .await?;
    let detections = send_detections(&state, tenant, queue, alerting).await;
    Ok(Json(json!({
        "days": days,
        "since": rfc3339(since),
        "indicators": hunt.indicators,
        "records_scanned": hunt.records,
        "scan_capped": hunt.capped,
        "hits_total": hunt.hits_total,
        "indicators_hit": hunt.seen.len(),
        "hits": hunt.hits,
        "hits_listed_max": MAX_RETRO_HITS,
        "detections_queued": detections.queued,
        "detections": detections,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribution(source: &str, reference: Option<&str>, tlp: Tlp) -> Attribution {
        let mut a = Attribution::from_source(source);
        a.reference = reference.map(str::to_owned);
        a.tlp = tlp;
        a.valid_until = Some(Timestamp(1_772_438_400_123_456_789));
        a
    }

    #[test]
    fn attributions_round_trip_through_their_documents() {
        let a = attribution("feed", Some("r1"), Tlp::AmberStrict);
        let doc = AttributionDoc::of(&a);
        let text = serde_json::to_string(&doc).unwrap_or_default();
        assert!(text.contains("\"amber+strict\""), "{text}");
        let back: AttributionDoc = serde_json::from_str(&text).expect("reads");
        assert_eq!(back.to_attribution(), a);
    }

    #[test]
    fn imports_merge_by_source_and_reference() {
        let new = |source: &str, reference: Option<&str>, tlp| NewIndicator {
            kind: Kind::Ipv4,
            value: "10.0.0.1".into(),
            attribution: attribution(source, reference, tlp),
        };
        let mut report = ImportReport::default();
        let rows = rows_of(
            vec![
                new("a", Some("1"), Tlp::Green),
                new("a", Some("1"), Tlp::Amber),
                new("b", None, Tlp::Red),
            ],
            Timestamp(5),
            &mut report,
        );
        assert_eq!(rows.len(), 1);
        let docs: Vec<AttributionDoc> = serde_json::from_str(&rows[0].attributions).expect("json");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].tlp, Tlp::Amber, "the same claim replaced");
        assert_eq!(
            (rows[0].tlp_max.as_str(), rows[0].tlp_open_rank),
            ("red", 2)
        );
    }

    #[test]
    fn callers_share_at_most_amber_strict_and_customers_green() {
        use std::collections::BTreeSet;
        use watchfloor_store::UserId;
        let analyst = Principal::Analyst {
            user: UserId(1),
            tenants: BTreeSet::new(),
        };
        let customer = Principal::Customer {
            user: UserId(2),
            tenant: TenantId(1),
        };
        assert_eq!(sharing_tlp(&analyst), Tlp::AmberStrict);
        assert_eq!(reading_tlp(&analyst), Tlp::Red);
        assert_eq!(sharing_tlp(&customer), Tlp::Green);
        assert_eq!(reading_tlp(&customer), Tlp::Green);
    }
}
