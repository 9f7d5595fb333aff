//! Event search over the stored records: a time range, host, user, free text (every
//! word must occur in the record), and `field` = `value` on the decoded event; paged.
//!
//! The store narrows by time, host, user and text (the value of a field filter is also
//! required as text); each candidate is then decoded again and its field compared,
//! ignoring case. Pages are filled by asking the store for more candidates until the
//! page is full, the range is exhausted, or the store's scan bound is reached (said in
//! the answer as `scan_capped`).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use watchfloor_pipeline::live::RecordDecoder;
use watchfloor_store::EventQuery;

use crate::cases::parse_time;
use crate::handlers::TenantPath;
use crate::{AppError, AppState};

/// Most results per page.
const MAX_LIMIT: u32 = 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchParams {
    since: Option<String>,
    until: Option<String>,
    host: Option<String>,
    user: Option<String>,
    /// Free text: every whitespace-separated word must occur in the record.
    q: Option<String>,
    /// A field of the decoded event (`CommandLine`, `EventID`, `c-uri`, …) …
    field: Option<String>,
    /// … and the value it must have (equal, ignoring case).
    value: Option<String>,
    order: Option<String>,
    limit: Option<u32>,
    offset: Option<u32>,
}

pub(crate) async fn events(
    State(state): State<AppState>,
    TenantPath(tenant): TenantPath,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<Value>, AppError> {
    let Query(p) = params?;
    let field = match (p.field, p.value) {
        (None, None) => None,
        (Some(f), Some(v)) if !f.is_empty() => Some((f, v)),
        _ => {
            return Err(AppError::Invalid {
                field: "field".to_owned(),
                reason: "field and value go together".to_owned(),
            });
        }
    };
    let limit = p.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(AppError::Invalid {
            field: "limit".to_owned(),
            reason: format!("must be between 1 and {MAX_LIMIT}"),
        });
    }
    let newest_first = match p.order.as_deref() {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(_) => {
            return Err(AppError::Invalid {
                field: "order".to_owned(),
                reason: "must be asc or desc".to_owned(),
            });
        }
    };
    let mut contains: Vec<String> =
        p.q.as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_owned)
            .collect();
    if let Some((_, v)) = &field
        && !v.is_empty()
    {
        contains.push(v.clone());
    }
    let query = EventQuery {
        since: parse_time("since", p.since.as_deref())?,
        until: parse_time("until", p.until.as_deref())?,
        host: p.host,
        user: p.user,
        contains,
        processed_only: false,
        limit,
        offset: p.offset.unwrap_or(0),
        newest_first,
    };
    let page = state
        .run(move |s| {
            let Some((name, value)) = field else {
                return s.search_events(tenant, &query);
            };
            // Candidates come a page at a time; those whose field differs are dropped.
            let mut decoder = RecordDecoder::default();
            let mut q = query.clone();
            q.limit = MAX_LIMIT;
            let mut kept = Vec::new();
            let mut skipped = 0u32;
            let mut scanned = 0;
            loop {
                let candidates = s.search_events(tenant, &q)?;
                scanned += candidates.scanned;
                let (more, capped) = (candidates.has_more, candidates.scan_capped);
                let n = candidates.items.len() as u32;
                for ev in candidates.items {
                    let hit = decoder
                        .field(ev.format_hint.as_deref(), &ev.line, &name)
                        .is_some_and(|v| v.eq_ignore_ascii_case(&value));
                    if !hit {
                        continue;
                    }
                    if skipped < query.offset {
                        skipped += 1;
                    } else if kept.len() < query.limit as usize {
                        kept.push(ev);
                    } else {
                        return Ok(watchfloor_store::EventPage {
                            items: kept,
                            limit: query.limit,
                            offset: query.offset,
                            has_more: true,
                            scanned,
                            scan_capped: false,
                        });
                    }
                }
                if !more || capped || n == 0 {
                    return Ok(watchfloor_store::EventPage {
                        items: kept,
                        limit: query.limit,
                        offset: query.offset,
                        has_more: false,
                        scanned,
                        scan_capped: capped,
                    });
                }
                q.offset = q.offset.saturating_add(n);
            }
        })
        .await?;
    Ok(Json(json!(page)))
}
