//! Windows EVTX files, read with the `evtx` crate.
//!
//! Each record is rendered by `evtx` to its JSON form (`Event.System…`,
//! `Event.EventData…`) and flattened by the nested-Windows JSON naming, so EVTX and
//! exported evtx JSON give identical events: `EventID` a number (its `Qualifiers`
//! attribute becomes `EventID_Qualifiers`), `Channel`, `Provider_Name`, `Computer`,
//! `EventRecordID`, every `EventData` and `UserData` field by its own name. The record's
//! rendered JSON is kept as the event's raw bytes. Records the crate rejects are reported
//! with their position and the rest of the file goes on.

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use evtx::{EvtxParser, ParserSettings};
use watchfloor_event::{Event, SourceRef, Timestamp};

use crate::json::JsonDecoder;
use crate::time::from_jiff;
use crate::{DecodeContext, DecodeError, DecodeErrorKind, Sink};

/// The first eight bytes of every EVTX file.
pub const MAGIC: &[u8; 8] = b"ElfFile\0";

/// Every EVTX chunk is 64 KiB.
const CHUNK_SIZE: u64 = 65_536;

/// Decodes every record of an EVTX stream. Returns the number of records delivered.
pub fn decode_evtx<R: Read + Seek>(
    mut reader: R,
    source: &Arc<str>,
    ctx: &mut DecodeContext,
    json: &mut JsonDecoder,
    ev: &mut Event,
    sink: &mut dyn Sink,
) -> u64 {
    let settings = ParserSettings::new().indent(false).num_threads(1);
    let length = reader
        .seek(SeekFrom::End(0))
        .and_then(|len| reader.seek(SeekFrom::Start(0)).map(|_| len));
    let mut parser = match EvtxParser::from_read_seek(reader) {
        Ok(p) => p.with_configuration(settings),
        Err(e) => {
            sink.error(DecodeError {
                input: source.clone(),
                record: 0,
                kind: DecodeErrorKind::Evtx(e.to_string()),
            });
            return 0;
        }
    };
    // The parser only visits whole chunks; a copy cut inside one would lose its records
    // without a word, so say so.
    let header_size = u64::from(parser.header().header_block_size);
    if let Ok(length) = length {
        let partial = length.saturating_sub(header_size) % CHUNK_SIZE;
        if partial != 0 {
            sink.error(DecodeError {
                input: source.clone(),
                record: 0,
                kind: DecodeErrorKind::Evtx(format!(
                    "truncated file: the last chunk has {partial} of {CHUNK_SIZE} bytes; its records cannot be read"
                )),
            });
        }
    }
    let mut delivered = 0u64;
    for (index, record) in parser.records_json_bytes().enumerate() {
        let ordinal = index as u64 + 1;
        let mut record = match record {
            Ok(r) => r,
            Err(e) => {
                sink.error(DecodeError {
                    input: source.clone(),
                    record: ordinal,
                    kind: DecodeErrorKind::Evtx(e.to_string()),
                });
                continue;
            }
        };
        ev.clear();
        match json.decode_object(ctx, &record.data, ev) {
            Ok(_) => {
                // The record's own TimeCreated is authoritative; the record header's
                // timestamp stands in when the XML carries none.
                if ev.time == Timestamp::default() {
                    ev.time = from_jiff(record.timestamp);
                }
                ev.source = SourceRef {
                    name: source.clone(),
                    record: ordinal,
                };
                ctx.stamp(ev);
                std::mem::swap(ev.raw_mut(), &mut record.data);
                sink.event(ev);
                delivered += 1;
            }
            Err(kind) => sink.error(DecodeError {
                input: source.clone(),
                record: ordinal,
                kind,
            }),
        }
    }
    delivered
}
