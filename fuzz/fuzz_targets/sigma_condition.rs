//! Fuzzes `watchfloor_sigma::condition::parse_condition` with arbitrary UTF-8 (inputs that
//! are not UTF-8 are skipped).
//!
//! Properties:
//! - an error's column lies within the text: `1..=chars().count() + 1`;
//! - a parsed condition's `Display` (the canonical, fully parenthesised form) re-parses to
//!   an equal condition, and so prints the same text again. The parser flattens nested
//!   `and`/`or` of one kind and the canonical form writes `any of` as `1 of`, so the parsed
//!   condition itself is the fixed point (as the `condition_parse_never_panics_on_token_soup`
//!   proptest of `condition.rs` checks);
//! - resolving it against its own search identifiers plus `sel`, `sel_a` and `_x`
//!   succeeds when it has no `1 of`/`all of`; a resolved condition names only those
//!   identifiers, has no `1 of`/`all of` left, and resolves to itself again.

#![no_main]

use libfuzzer_sys::fuzz_target;
use watchfloor_sigma::condition::{Condition, parse_condition};

/// Longest condition tried; real ones are a few hundred characters.
const MAX_CONDITION_BYTES: usize = 64 << 10;

/// Whether `c` still holds a `1 of` / `all of` selector.
fn has_selector(c: &Condition) -> bool {
    match c {
        Condition::Search(_) => false,
        Condition::Not(inner) => has_selector(inner),
        Condition::And(items) | Condition::Or(items) => items.iter().any(has_selector),
        Condition::OneOf(_) | Condition::AllOf(_) => true,
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_CONDITION_BYTES {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let condition = match parse_condition(text) {
        Ok(c) => c,
        Err(e) => {
            let end = text.chars().count() + 1;
            assert!(
                (1..=end).contains(&e.column),
                "error column {} outside 1..={end}: {e}",
                e.column
            );
            assert!(!e.message.is_empty(), "error without a message");
            return;
        }
    };

    let shown = condition.to_string();
    let reparsed = parse_condition(&shown);
    assert_eq!(
        reparsed.as_ref(),
        Ok(&condition),
        "Display output {shown:?} does not re-parse to the condition"
    );
    if let Ok(again) = &reparsed {
        assert_eq!(again.to_string(), shown, "Display is not stable");
    }

    let mut ids: Vec<&str> = condition.identifiers();
    ids.extend(["sel", "sel_a", "_x"]);
    match condition.resolve(&ids) {
        Ok(resolved) => {
            assert!(!has_selector(&resolved), "resolve left a selector");
            for name in resolved.identifiers() {
                assert!(ids.contains(&name), "resolve invented `{name}`");
            }
            assert_eq!(
                resolved.resolve(&ids).as_ref(),
                Ok(&resolved),
                "resolve is not idempotent"
            );
        }
        Err(message) => {
            assert!(
                has_selector(&condition),
                "a condition without selectors failed to resolve against its own identifiers: {message}"
            );
        }
    }
});
