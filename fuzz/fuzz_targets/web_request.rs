//! Fuzzes the web attack analysis with arbitrary requests: the input's first line is
//! the request target, the second the user agent, the third a cookie header, the rest
//! the body. The analysis must not panic, must report each class at most once, and an
//! `Analyzer` that remembers values must agree with a fresh analysis.

#![no_main]

use libfuzzer_sys::fuzz_target;
use watchfloor_webattack::{Analyzer, Request, analyze};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.splitn(4, '\n');
    let target = lines.next().unwrap_or("");
    let agent = lines.next().unwrap_or("");
    let cookie = lines.next().unwrap_or("");
    let body = lines.next();
    let request = Request {
        method: Some("POST"),
        target: Some(target),
        headers: vec![("User-Agent", agent), ("Cookie", cookie), ("Referer", agent)],
        body,
    };
    let found = analyze(&request);
    let mut classes: Vec<_> = found.iter().map(|f| f.class).collect();
    classes.dedup();
    assert_eq!(classes.len(), found.len());
    let mut analyzer = Analyzer::with_memory(4);
    assert_eq!(analyzer.analyze(&request), found);
    assert_eq!(analyzer.analyze(&request), found);
});
