//! Bytes to events.
//!
//! Each supported log format has a decoder that turns records into [`Event`]s with
//! Sigma-taxonomy field names and a [`watchfloor_event::LogSource`]; [`input`] detects the
//! format and compression of a file or stream and drives the right decoder over it.
//!
//! Decoders are synchronous and pure apart from reading their input; they never panic
//! on input and report every bad record as a located [`DecodeError`] and go on.

pub mod context;
pub mod error;
pub mod line;
pub mod time;

pub use context::{DecodeContext, Limits};
pub use error::{DecodeError, DecodeErrorKind};
pub use line::LineDecoder;
pub use watchfloor_event::Event;
