//! Fuzzes `CefDecoder` with CEF lines, bare or behind a syslog header.
//!
//! Each line of the input is decoded; a decoded event must pass `check_event`, and
//! decoding the line again, with the same decoder or with a fresh one, must give the same
//! result and event (the decoder keeps no state but scratch space).

#![no_main]

use libfuzzer_sys::fuzz_target;
use watchfloor_decode::cef::CefDecoder;

fuzz_target!(|data: &[u8]| {
    let mut decoder = CefDecoder::new();
    watchfloor_fuzz::fuzz_stateless_lines(data, &mut decoder, CefDecoder::new);
});
