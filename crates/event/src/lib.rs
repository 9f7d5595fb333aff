//! The event model every watchfloor stage speaks.
//!
//! An [`Event`] is one record from a log source after decoding: who it belongs to
//! ([`TenantId`]), when it happened and when we received it ([`Timestamp`]), where it came
//! from ([`SourceRef`]), what kind of log it is ([`LogSource`], as Sigma defines it), its
//! fields, and the raw bytes it was decoded from.
//!
//! Fields are addressed by [`FieldId`], a small integer that a [`FieldTable`] hands out for
//! each distinct name. Decoders and rule compilers resolve names to ids once; matching then
//! compares integers, never strings. Each field carries two ids: its Sigma name
//! (`CommandLine`) and its original path (`Event.EventData.CommandLine`), so both reach it.
//!
//! The crate does no IO and has no dependencies: it is the vocabulary, not a stage.

mod event;
mod field_table;
mod logsource;
mod time;
mod value;
pub mod windows_audit;

pub use event::{Event, FieldAccess, FieldEntry, SourceRef, TenantId};
pub use field_table::{FieldCache, FieldId, FieldTable};
pub use logsource::LogSource;
pub use time::Timestamp;
pub use value::Value;
