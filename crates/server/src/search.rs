//! Event search over the stored records: a time range, host, user, free text (every
//! word must occur in the record), and `field` = `value` on the decoded event; paged.
//!
//! The store narrows by time, host, user and text (the letters and digits of a field
//! filter's value are also required as text); each candidate is then decoded again and
//! its field compared, ignoring case. Pages are filled by asking the store for more candidates until the
//! page is full, the range is exhausted, or the store's scan bound is reached (said in
//! the answer as `scan_capped`).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use watchfloor_pipeline::live::RecordDecoder;
use watchfloor_store::{EventPage, EventQuery, Store, StoreError, TenantId};

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
    if let Some((_, v)) = &field {
        contains.extend(value_words(v));
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
        .run(move |s| match field {
            None => s.search_events(tenant, &query),
            Some((name, value)) => by_field(s, tenant, &query, &name, &value),
        })
        .await?;
    Ok(Json(json!(page)))
}

/// Most words of a field filter's value required as text.
const VALUE_WORDS: usize = 4;

/// What of a field filter's value must occur in the raw record: its longest runs of
/// ASCII letters and digits (at most [`VALUE_WORDS`], each cut to 256 characters).
/// Not the value itself: a raw record may hold it escaped (`CORP\\bob` in JSON for
/// `CORP\bob`, `\u00e9` for `é`, `%20` in a URL), but escaping never touches
/// letters and digits.
fn value_words(value: &str) -> Vec<String> {
    let mut words: Vec<&str> = value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    words.dedup();
    words
        .into_iter()
        .take(VALUE_WORDS)
        .map(|w| w.chars().take(256).collect())
        .collect()
}

/// A page of the records matching `query` whose decoded field `name` equals `value`
/// (ignoring case). Candidates come from the store a thousand at a time from the first
/// match of `query`; `query.offset` and `query.limit` count the records that remain.
fn by_field(
    s: &Store,
    tenant: TenantId,
    query: &EventQuery,
    name: &str,
    value: &str,
) -> Result<EventPage, StoreError> {
    let mut decoder = RecordDecoder::default();
    let mut q = query.clone();
    q.limit = MAX_LIMIT;
    q.offset = 0;
    let mut page = EventPage {
        items: Vec::new(),
        limit: query.limit,
        offset: query.offset,
        has_more: false,
        scanned: 0,
        scan_capped: false,
    };
    let mut skipped = 0u32;
    loop {
        let candidates = s.search_events(tenant, &q)?;
        page.scanned += candidates.scanned;
        let (more, capped) = (candidates.has_more, candidates.scan_capped);
        let n = candidates.items.len() as u32;
        for ev in candidates.items {
            let hit = decoder
                .field(ev.format_hint.as_deref(), &ev.line, name)
                .is_some_and(|v| v.eq_ignore_ascii_case(value));
            if !hit {
                continue;
            }
            if skipped < query.offset {
                skipped += 1;
            } else if page.items.len() < query.limit as usize {
                page.items.push(ev);
            } else {
                page.has_more = true;
                return Ok(page);
            }
        }
        if !more || capped || n == 0 {
            page.scan_capped = capped;
            return Ok(page);
        }
        q.offset = q.offset.saturating_add(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_words_survive_escaping() {
        assert_eq!(value_words(r"CORP\bob"), ["CORP", "bob"]);
        assert_eq!(value_words("1"), ["1"]);
        assert!(value_words(r"\\").is_empty());
        assert_eq!(
            value_words(r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"),
            ["WindowsPowerShell", "powershell", "System32", "Windows"]
        );
        assert_eq!(value_words("a-b-a"), ["a", "b"]);
        assert_eq!(value_words(&"x".repeat(300))[0].len(), 256);
    }
}
