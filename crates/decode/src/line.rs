//! The contract of line-oriented decoders.

use watchfloor_event::Event;

use crate::{DecodeContext, DecodeErrorKind};

/// A decoder fed one line at a time (without its line terminator).
pub trait LineDecoder {
    /// Decodes `line` into `ev`, which arrives cleared. Returns `Ok(true)` when `ev` now
    /// holds an event, `Ok(false)` for a line that carries none (blank, comment, header).
    /// Sets `ev.time` and `ev.logsource`; the caller sets source, tenant and ingest time.
    fn decode_line(
        &mut self,
        ctx: &mut DecodeContext,
        line: &str,
        ev: &mut Event,
    ) -> Result<bool, DecodeErrorKind>;
}
