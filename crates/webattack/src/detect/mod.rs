//! One checker per attack family. Each takes a decoded value and says why it is an
//! attack, or nothing; none keeps state or does IO.

pub mod code;
pub mod commands;
pub mod files;
pub mod injection;
pub mod protocol;
pub mod ssrf;

use regex::bytes::{RegexSet, RegexSetBuilder};

/// Case-insensitive patterns, each with the reason it gives, matched in one pass.
/// ASCII semantics (`\b`, `\w`, case folding): payloads are ASCII, and ASCII-only
/// automata never fall back to the slow engine on non-ASCII text.
pub(crate) struct PatternSet {
    set: RegexSet,
    reasons: Vec<&'static str>,
}

impl PatternSet {
    pub(crate) fn new<S: AsRef<str>>(patterns: &[(S, &'static str)]) -> PatternSet {
        let set = RegexSetBuilder::new(patterns.iter().map(|(p, _)| p.as_ref()))
            .case_insensitive(true)
            .unicode(false)
            .build()
            .expect("valid patterns");
        PatternSet {
            set,
            reasons: patterns.iter().map(|(_, why)| *why).collect(),
        }
    }

    /// The reason of the first pattern (in list order) that matches `value`.
    pub(crate) fn first(&self, value: &str) -> Option<&'static str> {
        let bytes = value.as_bytes();
        if !self.set.is_match(bytes) {
            return None;
        }
        let index = self.set.matches(bytes).into_iter().next()?;
        self.reasons.get(index).copied()
    }
}
