//! Fuzzes `JsonDecoder::decode_object` with one JSON record (any flavour: Windows nested
//! or flat, Suricata EVE, Zeek, CloudTrail, generic).
//!
//! Properties:
//! - it accepts exactly the inputs `serde_json` parses as an object (and no others);
//! - a decoded event passes `check_event`;
//! - decoding the record again, with the same decoder (memoised path ids) or a fresh one,
//!   gives the same flavour and event.

#![no_main]

use libfuzzer_sys::fuzz_target;
use watchfloor_decode::json::JsonDecoder;
use watchfloor_event::Event;
use watchfloor_fuzz::{MAX_LINE_BYTES, assert_same_event, check_event, context};

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_LINE_BYTES {
        return;
    }
    let mut ctx = context();
    let table = ctx.fields.table().clone();
    let mut decoder = JsonDecoder::new(Some("conn"));
    let mut ev = Event::new();
    let result = decoder.decode_object(&mut ctx, data, &mut ev);

    let is_object = serde_json::from_slice::<serde_json::Value>(data).is_ok_and(|v| v.is_object());
    assert_eq!(
        result.is_ok(),
        is_object,
        "decode_object and serde_json disagree on whether this is a JSON object: {result:?}"
    );
    if result.is_ok() {
        check_event(&table, &ev);
    }

    let mut again = Event::new();
    let again_result = decoder.decode_object(&mut ctx, data, &mut again);
    assert_eq!(
        result, again_result,
        "same record, same decoder: result differs"
    );
    assert_same_event(&ev, &again, "same record, same decoder");

    let mut fresh = Event::new();
    let fresh_result = JsonDecoder::new(Some("conn")).decode_object(&mut ctx, data, &mut fresh);
    assert_eq!(
        result, fresh_result,
        "reused and fresh decoder: result differs"
    );
    assert_same_event(&ev, &fresh, "reused and fresh decoder");
});
