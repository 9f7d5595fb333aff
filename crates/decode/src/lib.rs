//! Bytes to events.
//!
//! Each supported log format has a decoder that turns records into [`Event`]s with
//! Sigma-taxonomy field names and a [`watchfloor_event::LogSource`]; [`input`] detects the
//! format and compression of a file or stream and drives the right decoder over it.
//!
//! Decoders are synchronous and pure apart from reading their input; they never panic
//! on input and report every bad record as a located [`DecodeError`] and go on.

pub mod access_log;
pub mod antivirus;
pub mod auditd;
pub mod auditd_exec;
pub mod cef;
pub mod context;
pub mod csv_log;
pub mod ecs_sysmon;
pub mod error;
pub mod evtx;
pub mod evtxecmd;
pub mod format;
pub mod input;
pub mod json;
pub mod json_walk;
pub mod limited;
pub mod line;
pub mod lines;
pub mod log_analytics;
mod security_stand_in;
pub mod sink;
pub mod squid;
pub mod syslog;
#[cfg(test)]
pub(crate) mod test_support;
pub mod time;
pub mod w3c;
pub mod web_json;
pub mod web_proxy;
pub mod windows;
pub mod windows_xml;
pub mod zeek_tsv;

pub use context::{DecodeContext, Limits};
pub use error::{DecodeError, DecodeErrorKind};
pub use format::Format;
pub use input::{FileDecoder, StreamReport};
pub use line::LineDecoder;
pub use sink::{Collect, Sink};
pub use watchfloor_event::Event;
