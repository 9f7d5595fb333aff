//! Fuzzes `ZeekTsvDecoder` with a Zeek TSV log stream: `#` header lines (`#separator`,
//! `#fields`, `#types`, …) and data rows, fed line by line so header state carries over.
//!
//! Checked line by line with `fuzz_stateful_lines`: a decoded event must pass
//! `check_event`, and a clone of the decoder taken before each line must decode it alike
//! and reach the same next state.

#![no_main]

use libfuzzer_sys::fuzz_target;
use watchfloor_decode::zeek_tsv::ZeekTsvDecoder;

fuzz_target!(|data: &[u8]| watchfloor_fuzz::fuzz_stateful_lines(
    data,
    ZeekTsvDecoder::new(Some("conn"))
));
