//! `POST /tenants/{id}/ingest`: raw records in, on disk before the answer.
//!
//! The body is NDJSON (`application/x-ndjson` or `application/json`: every non-empty
//! line one JSON value) or text lines (`text/plain`, with an optional `?format=` hint
//! naming one of the decoders' line formats), optionally gzip-compressed. The whole
//! batch is checked before anything is stored, then appended in one transaction, so a
//! rejected batch stores nothing and a 202 means every record is on disk. Decoding
//! happens later, in the pipeline; raw lines that are not UTF-8 are kept as bytes for
//! the decoders to report.
//!
//! This route reads its own body (up to [`MAX_INGEST_BODY_BYTES`], not the 1 MiB of the
//! others); inflating and checking run on the blocking pool, as does the store call.
//! A body that stalls for [`INGEST_BODY_IDLE_TIMEOUT`], or is still arriving after
//! [`INGEST_BODY_TIMEOUT`], is refused with 408 and nothing of it is kept, so a slow
//! or stuck sender holds a connection and its buffer for a bounded time.

use std::io::Read as _;
use std::str::FromStr as _;
use std::time::Duration;

use axum::Json;
use axum::body::{Body as RawBody, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use flate2::read::MultiGzDecoder;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::json;
use watchfloor_decode::Format;
use watchfloor_store::{MAX_RECORD_BYTES, StoreError, Timestamp};

use crate::auth::Auth;
use crate::handlers::TenantPath;
use crate::{AppError, AppState};

/// The largest ingest body accepted as sent (compressed or not).
pub const MAX_INGEST_BODY_BYTES: usize = 16 * 1024 * 1024;
/// The largest a gzip body may inflate to.
pub const MAX_INFLATED_BYTES: usize = 64 * 1024 * 1024;
/// The most records one batch may hold.
pub const MAX_INGEST_RECORDS: usize = 1_000_000;
/// The longest an ingest body may take to arrive, from the handler's first read to its
/// last byte; a body still arriving then is refused with 408. 16 MiB in this time needs
/// about 280 KB/s: a sender on a slower link sends smaller (or gzip) batches.
pub const INGEST_BODY_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest an ingest body may go without a byte arriving (408).
pub const INGEST_BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

const MEDIA_TYPES: &str = "the request body must be NDJSON (Content-Type: application/x-ndjson \
     or application/json) or text lines (Content-Type: text/plain)";
const ENCODINGS: &str = "Content-Encoding must be gzip or identity";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IngestParams {
    format: Option<String>,
}

/// How the body's lines are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Each non-empty line must be one JSON value.
    Ndjson,
    /// Each non-empty line is a record, any bytes.
    Lines,
}

/// Unprocessed records beyond which ingest answers 429 until the pipeline catches up.
pub const MAX_BACKLOG: u64 = 2_000_000;

pub(crate) async fn ingest(
    State(state): State<AppState>,
    auth: Auth,
    TenantPath(id): TenantPath,
    params: Result<Query<IngestParams>, QueryRejection>,
    headers: HeaderMap,
    body: RawBody,
) -> Result<impl IntoResponse, AppError> {
    ingest_into(state, auth, id, params, headers, body).await
}

/// `POST /ingest`: the same for the calling API token's own tenant, so a shipper needs
/// only its token. Sessions name the tenant in the path instead.
pub(crate) async fn ingest_for_token(
    State(state): State<AppState>,
    auth: Auth,
    params: Result<Query<IngestParams>, QueryRejection>,
    headers: HeaderMap,
    body: RawBody,
) -> Result<impl IntoResponse, AppError> {
    let watchfloor_store::Principal::Token(scope) = &auth.principal else {
        return Err(AppError::BadRequest(
            "only an API token sends to /ingest; a session names its tenant: \
             /tenants/{id}/ingest"
                .to_owned(),
        ));
    };
    let tenant = scope.tenant;
    if !watchfloor_store::Access::can_write(&auth.principal, tenant) {
        return Err(AppError::Forbidden);
    }
    ingest_into(state, auth, tenant, params, headers, body).await
}

async fn ingest_into(
    state: AppState,
    auth: Auth,
    id: watchfloor_store::TenantId,
    params: Result<Query<IngestParams>, QueryRejection>,
    headers: HeaderMap,
    body: RawBody,
) -> Result<(StatusCode, Json<serde_json::Value>), AppError> {
    if let Some(live) = &state.live
        && live
            .metrics()
            .backlog
            .load(std::sync::atomic::Ordering::Relaxed)
            > MAX_BACKLOG
    {
        state
            .metrics
            .ingest_busy
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return Err(AppError::Busy {
            retry_after_secs: 1,
        });
    }
    let Query(params) = params?;
    let kind = kind(&headers)?;
    let hint = format_hint(kind, params.format.as_deref())?;
    let gzip = gzip(&headers)?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_INGEST_BODY_BYTES as u64) {
        return Err(AppError::PayloadTooLarge);
    }
    let sent = read_body(body, declared, state.timeouts).await?;
    let (data, ranges) = tokio::task::spawn_blocking(move || {
        let data = if gzip { inflate(&sent)? } else { sent };
        let ranges = split(&data, kind)?;
        Ok::<_, AppError>((data, ranges))
    })
    .await
    .map_err(AppError::internal)??;
    if ranges.is_empty() {
        return Ok((
            StatusCode::ACCEPTED,
            Json(json!({"accepted": 0, "first_id": null})),
        ));
    }
    let now = Timestamp::now();
    let source = auth.source;
    let receipt = state
        .run(move |s| {
            let lines = ranges
                .iter()
                .map(|&(start, end)| data.get(start..end))
                .collect::<Option<Vec<&[u8]>>>()
                .ok_or(StoreError::Corrupt("a line outside the body"))?;
            s.append_records(id, &source, hint, &lines, now)
        })
        .await?;
    let m = &state.metrics;
    m.ingest_records
        .fetch_add(receipt.count as u64, std::sync::atomic::Ordering::Relaxed);
    m.ingest_batches
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if let Some(live) = &state.live {
        live.note_appended(receipt.count as u64);
    }
    state.wake_pipeline();
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"accepted": receipt.count, "first_id": receipt.first_id})),
    ))
}

/// The body's kind from its `Content-Type` (parameters such as `charset` ignored).
fn kind(headers: &HeaderMap) -> Result<Kind, AppError> {
    let value = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .ok_or(AppError::UnsupportedMediaType(MEDIA_TYPES))?;
    let essence = value.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/x-ndjson")
        || essence.eq_ignore_ascii_case("application/json")
    {
        Ok(Kind::Ndjson)
    } else if essence.eq_ignore_ascii_case("text/plain") {
        Ok(Kind::Lines)
    } else {
        Err(AppError::UnsupportedMediaType(MEDIA_TYPES))
    }
}

/// The format hint stored with the records: `json` for NDJSON, the named line format
/// (validated against the decoders' formats; EVTX is binary, never lines) or none.
fn format_hint(kind: Kind, given: Option<&str>) -> Result<Option<&'static str>, AppError> {
    let line_formats = || {
        Format::ALL
            .iter()
            .filter(|f| **f != Format::Evtx)
            .map(|f| f.name())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let parsed = match given {
        None => None,
        Some(text) => match Format::from_str(text) {
            Ok(Format::Evtx) => {
                return Err(AppError::BadRequest(
                    "format evtx is binary and cannot be sent as lines".to_owned(),
                ));
            }
            Ok(f) => Some(f),
            Err(_) => {
                return Err(AppError::BadRequest(format!(
                    "format must be one of: {}",
                    line_formats()
                )));
            }
        },
    };
    match (kind, parsed) {
        (Kind::Ndjson, None | Some(Format::Json)) => Ok(Some(Format::Json.name())),
        (Kind::Ndjson, Some(_)) => Err(AppError::BadRequest(
            "an NDJSON body is format json; send other formats as text/plain".to_owned(),
        )),
        (Kind::Lines, f) => Ok(f.map(Format::name)),
    }
}

/// Whether the body is gzip-compressed.
fn gzip(headers: &HeaderMap) -> Result<bool, AppError> {
    let Some(value) = headers.get(header::CONTENT_ENCODING) else {
        return Ok(false);
    };
    let value = value
        .to_str()
        .map_err(|_| AppError::UnsupportedMediaType(ENCODINGS))?
        .trim();
    if value.eq_ignore_ascii_case("gzip") || value.eq_ignore_ascii_case("x-gzip") {
        Ok(true)
    } else if value.is_empty() || value.eq_ignore_ascii_case("identity") {
        Ok(false)
    } else {
        Err(AppError::UnsupportedMediaType(ENCODINGS))
    }
}

/// The body, refused with 413 as soon as it passes [`MAX_INGEST_BODY_BYTES`], and with
/// 408 when it stalls for `timeouts.ingest_body_idle` or is not complete after
/// `timeouts.ingest_body`. `declared` (the `Content-Length`, already checked against
/// the limit) sizes the buffer.
async fn read_body(
    body: RawBody,
    declared: Option<u64>,
    timeouts: crate::Timeouts,
) -> Result<Bytes, AppError> {
    let started = tokio::time::Instant::now();
    let deadline = started + timeouts.ingest_body;
    let capacity = declared
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(0)
        .min(MAX_INGEST_BODY_BYTES);
    let mut out = Vec::with_capacity(capacity);
    let mut body = Limited::new(body, MAX_INGEST_BODY_BYTES);
    loop {
        let now = tokio::time::Instant::now();
        let (limit, what) = if now + timeouts.ingest_body_idle < deadline {
            (now + timeouts.ingest_body_idle, STALLED)
        } else {
            (deadline, TOO_SLOW)
        };
        let frame = match tokio::time::timeout_at(limit, body.frame()).await {
            Err(_) => return Err(AppError::Timeout(what)),
            Ok(None) => break,
            Ok(Some(frame)) => frame,
        };
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data() {
                    out.extend_from_slice(&data);
                }
            }
            Err(e) if e.is::<LengthLimitError>() => return Err(AppError::PayloadTooLarge),
            Err(_) => {
                return Err(AppError::BadRequest(
                    "the request body could not be read".to_owned(),
                ));
            }
        }
    }
    Ok(Bytes::from(out))
}

const STALLED: &str = "the request body stopped arriving; nothing was stored";
const TOO_SLOW: &str = "the request body arrived too slowly; nothing was stored";

/// Inflates a gzip body (concatenated members too), refusing with 413 anything that
/// inflates beyond [`MAX_INFLATED_BYTES`]: only one byte past the bound is ever read.
fn inflate(sent: &[u8]) -> Result<Bytes, AppError> {
    let bound = u64::try_from(MAX_INFLATED_BYTES)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut out = Vec::with_capacity(sent.len().saturating_mul(4).min(MAX_INFLATED_BYTES));
    MultiGzDecoder::new(sent)
        .take(bound)
        .read_to_end(&mut out)
        .map_err(|_| AppError::BadRequest("the gzip body does not inflate".to_owned()))?;
    if out.len() > MAX_INFLATED_BYTES {
        return Err(AppError::PayloadTooLarge);
    }
    Ok(Bytes::from(out))
}

/// The byte ranges of the body's records: lines split at `\n`, a trailing `\r` dropped,
/// blank lines skipped. Checks every record (length; JSON for NDJSON) and names the
/// first bad one by its 1-based line number.
fn split(data: &[u8], kind: Kind) -> Result<Vec<(usize, usize)>, AppError> {
    let mut ranges = Vec::new();
    let mut start = 0usize;
    for (index, piece) in data.split(|&b| b == b'\n').enumerate() {
        let line_no = index.saturating_add(1);
        let piece_start = start;
        start = start.saturating_add(piece.len()).saturating_add(1);
        let line = piece.strip_suffix(b"\r").unwrap_or(piece);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if line.len() > MAX_RECORD_BYTES {
            return Err(AppError::LineTooLarge { line: line_no });
        }
        if kind == Kind::Ndjson {
            // serde_json does not check the UTF-8 of strings it skips, so check first.
            let text = std::str::from_utf8(line)
                .map_err(|_| AppError::BadRequest(format!("line {line_no} is not UTF-8")))?;
            if serde_json::from_str::<IgnoredAny>(text).is_err() {
                return Err(AppError::BadRequest(format!(
                    "line {line_no} is not a JSON value"
                )));
            }
        }
        if ranges.len() >= MAX_INGEST_RECORDS {
            return Err(AppError::PayloadTooLarge);
        }
        ranges.push((piece_start, piece_start.saturating_add(line.len())));
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(data: &[u8], kind: Kind) -> Vec<&[u8]> {
        split(data, kind)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(a, b)| data.get(a..b))
            .collect()
    }

    #[test]
    fn splits_on_newlines_dropping_cr_and_blank_lines() {
        let data = b"one\r\n\n  \ntwo\nthree";
        assert_eq!(
            lines(data, Kind::Lines),
            vec![&b"one"[..], b"two", b"three"]
        );
        assert!(lines(b"", Kind::Lines).is_empty());
        assert!(lines(b"\n\r\n", Kind::Ndjson).is_empty());
        assert_eq!(lines(b"\xff\xfe\n", Kind::Lines), vec![&b"\xff\xfe"[..]]);
    }

    #[test]
    fn ndjson_errors_name_the_line() {
        let e = split(b"{\"a\":1}\n\n{oops\n", Kind::Ndjson).err();
        assert_eq!(
            e.map(|e| e.to_string()),
            Some("line 3 is not a JSON value".to_owned())
        );
        let e = split(b"1 2\n", Kind::Ndjson).err().map(|e| e.status());
        assert_eq!(e, Some(StatusCode::BAD_REQUEST));
        let e = split(b"\"\xff\"\n", Kind::Ndjson).err().map(|e| e.status());
        assert_eq!(e, Some(StatusCode::BAD_REQUEST));
        let deep = "[".repeat(100_000);
        let e = split(deep.as_bytes(), Kind::Ndjson)
            .err()
            .map(|e| e.status());
        assert_eq!(e, Some(StatusCode::BAD_REQUEST));
    }

    #[test]
    fn hints_are_checked_against_the_line_formats() {
        assert_eq!(
            format_hint(Kind::Lines, Some("zeek")).ok(),
            Some(Some("zeek"))
        );
        assert_eq!(
            format_hint(Kind::Lines, Some("CEF")).ok(),
            Some(Some("cef"))
        );
        assert_eq!(format_hint(Kind::Lines, None).ok(), Some(None));
        assert_eq!(format_hint(Kind::Ndjson, None).ok(), Some(Some("json")));
        for bad in ["evtx", "nope", ""] {
            assert!(format_hint(Kind::Lines, Some(bad)).is_err(), "{bad}");
        }
        assert!(format_hint(Kind::Ndjson, Some("syslog")).is_err());
        let shown = format_hint(Kind::Lines, Some("secret-ish")).err();
        assert!(shown.is_some_and(|e| !e.to_string().contains("secret-ish")));
    }
}
