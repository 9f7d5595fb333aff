//! Fuzzes `FileDecoder::decode_stream` with format (and gzip / zip) detection: the whole
//! input path of a stream such as stdin or an archive member.
//!
//! The first byte picks the stream name (bits 0-1: `stdin`, `dns.log`, `x.json`,
//! `a.evtx`, which steer the Zeek hint and the extension fallback) and whether the stream
//! is read through a 61-byte buffer (bit 2), so lines and the sniffed head straddle
//! buffer boundaries; the rest is the stream.
//!
//! Properties:
//! - the returned `StreamReport` counts exactly the events and errors the sink received,
//!   names the stream, and reports no events when it names no format;
//! - an uncompressed stream reports no more bytes than it has;
//! - every event passes `check_event`, and events and errors name the stream;
//! - decoding the same stream again with the same `FileDecoder` gives the same report and
//!   the same events and errors.

#![no_main]

use std::io::BufReader;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use watchfloor_decode::{FileDecoder, StreamReport};
use watchfloor_fuzz::{CheckingSink, context};

const NAMES: [&str; 4] = ["stdin", "dns.log", "x.json", "a.evtx"];

fn run(
    decoder: &mut FileDecoder,
    name: &Arc<str>,
    small: bool,
    body: &[u8],
) -> (StreamReport, CheckingSink) {
    let table = decoder.ctx.fields.table().clone();
    let mut sink = CheckingSink::new(table, name.clone());
    let report = if small {
        decoder.decode_stream(name.clone(), BufReader::with_capacity(61, body), &mut sink)
    } else {
        decoder.decode_stream(name.clone(), body, &mut sink)
    };
    assert_eq!(report.name, *name, "report names another stream");
    assert_eq!(
        report.events, sink.events,
        "report.events != events delivered"
    );
    assert_eq!(
        report.errors, sink.errors,
        "report.errors != errors delivered"
    );
    if report.format.is_none() {
        assert_eq!(report.events, 0, "events from a stream with no format");
    }
    if !body.starts_with(&[0x1f, 0x8b]) {
        assert!(
            report.bytes <= body.len() as u64,
            "report.bytes {} > stream length {}",
            report.bytes,
            body.len()
        );
    }
    (report, sink)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let name: Arc<str> = Arc::from(NAMES[usize::from(selector & 3)]);
    let small = selector & 4 != 0;
    let mut decoder = FileDecoder::new(context(), None);
    let (first, first_sink) = run(&mut decoder, &name, small, body);
    let (again, again_sink) = run(&mut decoder, &name, small, body);
    assert_eq!(first, again, "same stream, same decoder: report differs");
    assert_eq!(
        first_sink.fingerprint(),
        again_sink.fingerprint(),
        "same stream, same decoder: events or errors differ"
    );
});
