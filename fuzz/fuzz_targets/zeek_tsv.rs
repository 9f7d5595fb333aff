//! Fuzzes `ZeekTsvDecoder` with a Zeek TSV log stream: `#` header lines (`#separator`,
//! `#fields`, `#types`, …) and data rows, fed line by line so header state carries over.
//!
//! Before each line the decoder is cloned; the line is decoded by both the decoder and the
//! clone, which must give the same result, the same event and the same next state (the
//! decoder's `Debug` form). A decoded event must pass `check_event`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use watchfloor_decode::LineDecoder;
use watchfloor_decode::zeek_tsv::ZeekTsvDecoder;
use watchfloor_event::Event;
use watchfloor_fuzz::{MAX_LINE_BYTES, assert_same_event, check_event, context};

fuzz_target!(|data: &[u8]| {
    let mut ctx = context();
    let table = ctx.fields.table().clone();
    let mut decoder = ZeekTsvDecoder::new(Some("conn"));
    let text = String::from_utf8_lossy(data);
    let (mut ev, mut twin_ev) = (Event::new(), Event::new());
    for line in text.split('\n') {
        if line.len() > MAX_LINE_BYTES {
            continue;
        }
        let mut twin = decoder.clone();
        ev.clear();
        let result = decoder.decode_line(&mut ctx, line, &mut ev);
        if result == Ok(true) {
            check_event(&table, &ev);
        }
        twin_ev.clear();
        let twin_result = twin.decode_line(&mut ctx, line, &mut twin_ev);
        assert_eq!(result, twin_result, "same state, same line: result differs");
        assert_same_event(&ev, &twin_ev, "same state, same line");
        assert_eq!(
            format!("{decoder:?}"),
            format!("{twin:?}"),
            "same state, same line: next state differs"
        );
    }
});
