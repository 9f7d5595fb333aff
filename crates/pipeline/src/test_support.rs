//! Helpers shared by the unit tests of the analyses.

use std::io::Cursor;
use std::sync::Arc;

use watchfloor_decode::{Collect, DecodeContext, FileDecoder, Format};
use watchfloor_event::{Event, FieldCache, FieldTable};

/// The events of JSON `lines`, decoded on `table` by the JSON decoder; panics on a
/// decode error.
pub(crate) fn decode_json_lines(table: &Arc<FieldTable>, lines: &[String]) -> Vec<Event> {
    let mut decoder = FileDecoder::new(
        DecodeContext::new(FieldCache::new(table.clone())),
        Some(Format::Json),
    );
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let mut sink = Collect::default();
    decoder.decode_stream(
        Arc::from("case.json"),
        Cursor::new(text.into_bytes()),
        &mut sink,
    );
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    sink.events
}
