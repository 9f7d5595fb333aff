//! Fuzzes `CsvDecoder` with a CSV stream whose first line is the header,
//! fed line by line so header state carries over.
//!
//! Checked line by line with `fuzz_stateful_lines`: a decoded event must pass
//! `check_event`, and a clone of the decoder taken before each line must decode it alike
//! and reach the same next state.

#![no_main]

use libfuzzer_sys::fuzz_target;
use watchfloor_decode::csv_log::CsvDecoder;

fuzz_target!(|data: &[u8]| {
    watchfloor_fuzz::fuzz_stateful_lines(data, CsvDecoder::new());
});
