//! Fuzzes `SyslogDecoder` with syslog lines (RFC 5424, RFC 3164, rsyslog ISO).
//!
//! Each line of the input is decoded; a decoded event must pass `check_event`, and
//! decoding the line again, with the same decoder or with a fresh one, must give the same
//! result and event (the decoder keeps no state but scratch space).

#![no_main]

use libfuzzer_sys::fuzz_target;
use watchfloor_decode::syslog::SyslogDecoder;

fuzz_target!(|data: &[u8]| {
    let mut decoder = SyslogDecoder::new();
    watchfloor_fuzz::fuzz_stateless_lines(data, &mut decoder, SyslogDecoder::new);
});
