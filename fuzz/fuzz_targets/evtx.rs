//! Fuzzes `evtx::decode_evtx` with a whole EVTX file (read through a `Cursor`).
//!
//! Properties:
//! - the count it returns equals the events the sink received;
//! - every event passes `check_event`, names the source, and record numbers rise strictly;
//! - every error names the source;
//! - an event's raw bytes (the record rendered as JSON) decode, with a fresh
//!   `JsonDecoder`, to the same fields and logsource: EVTX and exported JSON agree.
//!
//! Records sit in 64 KiB chunks after a 4 KiB header: run with `-max_len=200000` or so,
//! and seed the corpus with real files (see `README.md`).

#![no_main]

use std::io::Cursor;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use watchfloor_decode::evtx::decode_evtx;
use watchfloor_decode::json::JsonDecoder;
use watchfloor_decode::{DecodeContext, DecodeError, Sink};
use watchfloor_event::{Event, Timestamp};
use watchfloor_fuzz::{CheckingSink, assert_same_fields, context, context_on};

/// Checks every event as [`CheckingSink`] does, and re-decodes its raw JSON.
struct Redecode {
    inner: CheckingSink,
    ctx: DecodeContext,
    json: JsonDecoder,
    ev: Event,
}

impl Sink for Redecode {
    fn event(&mut self, ev: &Event) {
        if let Some(&last) = self.inner.records.last() {
            assert!(ev.source.record > last, "record numbers do not rise");
        }
        self.inner.event(ev);
        assert!(!ev.raw().is_empty(), "EVTX event without raw JSON");
        self.ev.clear();
        if let Err(e) = self
            .json
            .decode_object(&mut self.ctx, ev.raw(), &mut self.ev)
        {
            panic!("the raw JSON of a decoded EVTX record does not decode: {e}");
        }
        assert_same_fields(ev, &self.ev, "EVTX event and its raw JSON");
        assert_eq!(
            ev.logsource, self.ev.logsource,
            "EVTX event and its raw JSON: logsource"
        );
        if self.ev.time != Timestamp::default() {
            assert_eq!(ev.time, self.ev.time, "EVTX event and its raw JSON: time");
        }
    }

    fn error(&mut self, err: DecodeError) {
        self.inner.error(err);
    }
}

fuzz_target!(|data: &[u8]| {
    let mut ctx = context();
    let table = ctx.fields.table().clone();
    let source: Arc<str> = Arc::from("fuzz.evtx");
    let mut sink = Redecode {
        inner: CheckingSink::new(table.clone(), source.clone()),
        ctx: context_on(table),
        json: JsonDecoder::default(),
        ev: Event::new(),
    };
    let mut json = JsonDecoder::default();
    let mut ev = Event::new();
    let delivered = decode_evtx(
        Cursor::new(data),
        &source,
        &mut ctx,
        &mut json,
        &mut ev,
        &mut sink,
    );
    assert_eq!(
        delivered, sink.inner.events,
        "returned count != events delivered"
    );
});
