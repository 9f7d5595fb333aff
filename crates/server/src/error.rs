//! [`AppError`]: every way a request can fail, and the one place that turns a failure
//! into an HTTP status and a JSON body.
//!
//! The body is always `{"error": {"code": "...", "message": "..."}}`. Messages name the
//! field at fault and say why, but never repeat a submitted value (it could be a
//! password or a token) and never describe an internal failure: those get a generic
//! message, and the cause goes to the server's log only.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use watchfloor_store::{StoreError, Timestamp};

/// A failed request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// No credentials, or credentials that are not accepted (unknown login, wrong
    /// password, disabled user, unknown/expired/revoked token, expired session): one
    /// answer for all, so a caller learns nothing about which.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// Authenticated, but the principal may not do this.
    #[error("you may not do this")]
    Forbidden,
    /// Refused for a reason the caller can fix, given in the message (a missing or wrong
    /// CSRF token).
    #[error("{0}")]
    ForbiddenBecause(&'static str),
    /// The object does not exist (or is not in the tenant named by the path).
    #[error("{0} not found")]
    NotFound(String),
    /// A well-formed request whose content breaks a rule; names the field.
    #[error("invalid {field}: {reason}")]
    Invalid { field: String, reason: String },
    /// A request that cannot be read at all (malformed JSON, a bad path or query).
    #[error("{0}")]
    BadRequest(String),
    /// The body is larger than the server accepts.
    #[error("the request body is too large")]
    PayloadTooLarge,
    /// One record (line) of the body is longer than the server accepts; names the line.
    #[error("line {line} is longer than 1 MiB")]
    LineTooLarge { line: usize },
    /// The request did not arrive in time (its body stalled or trickled past the
    /// server's limit); says what was late. Nothing of the request was kept.
    #[error("{0}")]
    Timeout(&'static str),
    /// The body is not of a media type the route reads; says which it reads.
    #[error("{0}")]
    UnsupportedMediaType(&'static str),
    /// The answer cannot be given in any media type the `Accept` header names; says
    /// which the route gives.
    #[error("{0}")]
    NotAcceptable(&'static str),
    /// A unique name is already in use.
    #[error("{0}")]
    Conflict(String),
    /// Too many failed logins; try again after this many seconds.
    #[error("too many failed attempts; try again later")]
    Locked { retry_after_secs: u64 },
    /// The server is behind (its queue is full); send again after this many seconds.
    #[error("the server is busy processing earlier records; retry after {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    /// Anything the caller cannot fix. The cause is logged, never sent.
    #[error("internal error")]
    Internal(String),
}

impl AppError {
    pub(crate) fn internal(cause: impl std::fmt::Display) -> AppError {
        AppError::Internal(cause.to_string())
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden | AppError::ForbiddenBecause(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::PayloadTooLarge | AppError::LineTooLarge { .. } => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            AppError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Locked { .. } | AppError::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, machine-readable code in the body.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated(_) => "unauthenticated",
            AppError::Forbidden | AppError::ForbiddenBecause(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Invalid { .. } => "invalid",
            AppError::BadRequest(_) => "bad_request",
            AppError::PayloadTooLarge | AppError::LineTooLarge { .. } => "payload_too_large",
            AppError::Timeout(_) => "request_timeout",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::NotAcceptable(_) => "not_acceptable",
            AppError::Conflict(_) => "conflict",
            AppError::Locked { .. } => "locked",
            AppError::Busy { .. } => "busy",
            AppError::Internal(_) => "internal",
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(cause) = &self {
            // The only place an internal cause is written; it never reaches the client.
            eprintln!("watchfloor-server: internal error: {cause}");
        }
        let status = self.status();
        let body = json!({"error": {"code": self.code(), "message": self.to_string()}});
        let mut response = (status, Json(body)).into_response();
        let headers = response.headers_mut();
        match self {
            AppError::Unauthenticated(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            AppError::Locked { retry_after_secs } | AppError::Busy { retry_after_secs } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            AppError::Timeout(_) => {
                // The rest of the request may still be on its way: the connection cannot
                // carry another request.
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::Invalid { field, reason } => AppError::Invalid {
                field: field.to_owned(),
                reason: reason.to_owned(),
            },
            StoreError::Duplicate { .. } => AppError::Conflict(e.to_string()),
            StoreError::NotFound { field, .. } => AppError::NotFound(field.to_owned()),
            StoreError::LoginFailed => {
                AppError::Unauthenticated("login failed: unknown login or wrong password")
            }
            StoreError::LoginLocked { until } => AppError::Locked {
                retry_after_secs: seconds_until(until, Timestamp::now()),
            },
            StoreError::TokenRejected(_) => AppError::Unauthenticated(UNAUTHENTICATED),
            other => AppError::internal(other),
        }
    }
}

/// The message of every refused credential other than a failed login.
pub(crate) const UNAUTHENTICATED: &str = "missing or invalid credentials";

/// Whole seconds from `now` to `until`, rounded up, at least 1.
fn seconds_until(until: Timestamp, now: Timestamp) -> u64 {
    let nanos = until.as_nanos().saturating_sub(now.as_nanos()).max(0);
    let secs = u64::try_from(nanos).unwrap_or(0).div_ceil(1_000_000_000);
    secs.max(1)
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> AppError {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType(
                "the request body must be JSON (Content-Type: application/json)",
            ),
            StatusCode::UNPROCESSABLE_ENTITY => json_data_error(&rejection.body_text()),
            _ => AppError::BadRequest("the request body is not valid JSON".to_owned()),
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(_: QueryRejection) -> AppError {
        AppError::BadRequest("the query string does not parse".to_owned())
    }
}

/// Describes a JSON body of the wrong shape by the field at fault, without repeating any
/// submitted value (serde's messages quote values: `invalid type: string "…"`).
fn json_data_error(text: &str) -> AppError {
    let detail = text.split_once("target type: ").map_or(text, |(_, d)| d);
    let quoted = |marker: &str| {
        let (_, rest) = detail.split_once(marker)?;
        let (name, _) = rest.split_once('`')?;
        Some(name.to_owned())
    };
    if let Some(field) = quoted("missing field `") {
        return invalid(field, "is required");
    }
    if let Some(field) = quoted("unknown field `") {
        return invalid(field, "is not accepted here");
    }
    // serde_path_to_error prefixes the path of the failing value: `password: invalid…`.
    if let Some((path, _)) = detail.split_once(": ")
        && !path.is_empty()
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'[' | b']'))
    {
        return invalid(path.to_owned(), "has the wrong type or value");
    }
    invalid("body".to_owned(), "does not have the expected fields")
}

fn invalid(field: String, reason: &str) -> AppError {
    AppError::Invalid {
        field,
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(e: AppError) -> Option<String> {
        match e {
            AppError::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    #[test]
    fn json_shape_errors_name_the_field_and_never_the_value() {
        let base = "Failed to deserialize the JSON body into the target type: ";
        let cases = [
            ("missing field `name` at line 1 column 2", "name"),
            ("unknown field `x`, expected `name` at line 1 column 5", "x"),
            (
                "password: invalid type: integer `123456`, expected a string at line 1",
                "password",
            ),
            ("invalid type: map, expected u32", "body"),
        ];
        for (text, want) in cases {
            let e = json_data_error(&format!("{base}{text}"));
            let shown = e.to_string();
            assert!(!shown.contains("123456"), "{shown}");
            assert_eq!(field(e).as_deref(), Some(want), "{text}");
        }
    }

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        let now = Timestamp(10_000_000_000);
        assert_eq!(seconds_until(Timestamp(10_000_000_001), now), 1);
        assert_eq!(seconds_until(Timestamp(12_500_000_000), now), 3);
        assert_eq!(seconds_until(Timestamp(0), now), 1);
        assert_eq!(
            seconds_until(Timestamp(i64::MAX), Timestamp(i64::MIN)),
            9_223_372_037
        );
    }

    #[test]
    fn internal_errors_say_nothing_of_their_cause() {
        let e = AppError::internal("disk I/O error at /secret/path");
        assert_eq!(e.to_string(), "internal error");
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
