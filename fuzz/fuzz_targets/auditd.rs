//! Fuzzes `AuditdDecoder` with Linux audit log lines (hex-encoded fields, syslog-wrapped).
//!
//! Each line of the input is decoded; a decoded event must pass `check_event`, and
//! decoding the line again, with the same decoder or with a fresh one, must give the same
//! result and event (the decoder keeps no state but scratch space).

#![no_main]

use libfuzzer_sys::fuzz_target;
use watchfloor_decode::auditd::AuditdDecoder;

fuzz_target!(|data: &[u8]| {
    let mut decoder = AuditdDecoder::new();
    watchfloor_fuzz::fuzz_stateless_lines(data, &mut decoder, AuditdDecoder::new);
});
