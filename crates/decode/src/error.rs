//! Decoding errors, always located: source name and record (line or record number).

use std::fmt;
use std::sync::Arc;

/// What went wrong with one record or file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    #[error("invalid UTF-8 at byte {offset} of the line")]
    InvalidUtf8 { offset: usize },
    #[error("line of {len} bytes exceeds the limit of {limit} bytes; skipped")]
    LineTooLong { len: usize, limit: usize },
    #[error("invalid JSON at column {column}: {message}")]
    Json { column: usize, message: String },
    #[error("not a valid {format} record: {reason}")]
    Syntax {
        format: &'static str,
        reason: String,
    },
    #[error("field `{field}`: {reason}")]
    Field { field: String, reason: String },
    #[error("EVTX: {0}")]
    Evtx(String),
    #[error("read error: {0}")]
    Io(String),
    #[error("unsupported format: {0}")]
    Unsupported(String),
    #[error("decompression stopped: {0}")]
    DecompressionLimit(String),
}

/// A [`DecodeErrorKind`] with the place it happened.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct DecodeError {
    /// The file (and zip member, as `archive.zip!member`) or stream name.
    pub input: Arc<str>,
    /// 1-based line or record number; 0 when the error concerns the whole source.
    pub record: u64,
    pub kind: DecodeErrorKind,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.record == 0 {
            write!(f, "{}: {}", self.input, self.kind)
        } else {
            write!(f, "{}:{}: {}", self.input, self.record, self.kind)
        }
    }
}

impl DecodeErrorKind {
    pub(crate) fn syntax(format: &'static str, reason: impl Into<String>) -> Self {
        DecodeErrorKind::Syntax {
            format,
            reason: reason.into(),
        }
    }
}
