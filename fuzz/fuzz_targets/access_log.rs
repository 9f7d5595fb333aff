//! Fuzzes `AccessLogDecoder` with web server access-log lines (common/combined, optional vhost).
//!
//! Each line of the input is decoded; a decoded event must pass `check_event`, and
//! decoding the line again, with the same decoder or with a fresh one, must give the same
//! result and event (the decoder keeps no state but scratch space).

#![no_main]

use libfuzzer_sys::fuzz_target;
use watchfloor_decode::access_log::AccessLogDecoder;

fuzz_target!(|data: &[u8]| {
    let mut decoder = AccessLogDecoder::new();
    watchfloor_fuzz::fuzz_stateless_lines(data, &mut decoder, AccessLogDecoder::new);
});
