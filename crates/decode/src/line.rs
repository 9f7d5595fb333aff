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

    /// Decodes a line straight from its bytes, for formats whose parser validates UTF-8
    /// itself (JSON). `None` means the decoder needs text: the caller validates the line
    /// and calls [`LineDecoder::decode_line`]. An error on bytes that are not UTF-8 is
    /// retried by the caller as text, with the invalid bytes reported and replaced.
    fn decode_bytes(
        &mut self,
        _ctx: &mut DecodeContext,
        _line: &[u8],
        _ev: &mut Event,
    ) -> Option<Result<bool, DecodeErrorKind>> {
        None
    }
}
