//! [`Engine`]: evaluates every loaded rule against events, touching only the rules that
//! could match.
//!
//! Per event: the rules whose logsource admits the event's logsource come from a
//! per-thread cache keyed by logsource (computed once per distinct logsource); of those,
//! rules with prefilter literals run only when one Aho-Corasick pass over the event's
//! values finds one of their literals; the rest always run. Cost therefore follows the
//! candidate rules, not the rule count. [`Engine::evaluate_naive`] skips both
//! shortcuts and is the oracle the tests compare against.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use watchfloor_event::{FieldAccess, LogSource, Value};

use crate::compile::CompiledRule;

/// The rules a given logsource admits, split by whether they have prefilter literals.
#[derive(Debug, Default)]
struct Candidates {
    always: Vec<u32>,
    filtered: Vec<u32>,
}

/// Per-thread evaluation state: reuse one per worker.
#[derive(Debug, Default)]
pub struct Scratch {
    by_logsource: HashMap<LogSource, Arc<Candidates>>,
    /// `hit[rule] == epoch` when the prefilter found one of the rule's literals.
    hit: Vec<u32>,
    epoch: u32,
    number: String,
}

/// A set of compiled rules, indexed for evaluation.
#[derive(Debug)]
pub struct Engine {
    rules: Vec<CompiledRule>,
    prefilter: Option<AhoCorasick>,
    /// Pattern id → the rules that carry this literal.
    pattern_rules: Vec<Vec<u32>>,
    has_needles: Vec<bool>,
}

impl Engine {
    pub fn new(rules: Vec<CompiledRule>) -> Self {
        let mut patterns: Vec<String> = Vec::new();
        let mut pattern_ids: HashMap<String, usize> = HashMap::new();
        let mut pattern_rules: Vec<Vec<u32>> = Vec::new();
        let mut has_needles = vec![false; rules.len()];
        for (i, rule) in rules.iter().enumerate() {
            let Some(needles) = &rule.needles else {
                continue;
            };
            if needles.is_empty() || needles.iter().any(String::is_empty) {
                continue;
            }
            has_needles[i] = true;
            for n in needles {
                let id = *pattern_ids.entry(n.clone()).or_insert_with(|| {
                    patterns.push(n.clone());
                    pattern_rules.push(Vec::new());
                    patterns.len() - 1
                });
                if pattern_rules[id].last() != Some(&(i as u32)) {
                    pattern_rules[id].push(i as u32);
                }
            }
        }
        let prefilter = if patterns.is_empty() {
            None
        } else {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(&patterns)
                .ok()
        };
        if prefilter.is_none() {
            has_needles.iter_mut().for_each(|h| *h = false);
        }
        Engine {
            rules,
            prefilter,
            pattern_rules,
            has_needles,
        }
    }

    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    pub fn rule(&self, index: u32) -> Option<&CompiledRule> {
        self.rules.get(index as usize)
    }

    /// Appends to `out` the indices of the rules that match `ev`, in rule order.
    pub fn evaluate<E: FieldAccess>(&self, ev: &E, scratch: &mut Scratch, out: &mut Vec<u32>) {
        let candidates = self.candidates(ev.logsource(), scratch);
        let start = out.len();
        for &r in &candidates.always {
            if self.rules[r as usize].matches(ev) {
                out.push(r);
            }
        }
        if !candidates.filtered.is_empty()
            && let Some(ac) = &self.prefilter
        {
            scratch.epoch = scratch.epoch.wrapping_add(1);
            if scratch.epoch == 0 {
                scratch.hit.iter_mut().for_each(|h| *h = 0);
                scratch.epoch = 1;
            }
            if scratch.hit.len() < self.rules.len() {
                scratch.hit.resize(self.rules.len(), 0);
            }
            let epoch = scratch.epoch;
            for value in ev.all_values() {
                let text: &str = match value {
                    Value::Str(s) => s,
                    Value::Int(i) => {
                        scratch.number.clear();
                        let _ = write!(scratch.number, "{i}");
                        &scratch.number
                    }
                    Value::Float(f) => {
                        scratch.number.clear();
                        let _ = write!(scratch.number, "{f}");
                        &scratch.number
                    }
                    Value::Bool(b) => {
                        if b {
                            "true"
                        } else {
                            "false"
                        }
                    }
                    Value::Null => continue,
                };
                for m in ac.find_overlapping_iter(text) {
                    for &r in &self.pattern_rules[m.pattern().as_usize()] {
                        scratch.hit[r as usize] = epoch;
                    }
                }
            }
            for &r in &candidates.filtered {
                if scratch.hit[r as usize] == epoch && self.rules[r as usize].matches(ev) {
                    out.push(r);
                }
            }
        }
        out[start..].sort_unstable();
    }

    /// The oracle: every rule whose logsource admits the event, no prefilter.
    pub fn evaluate_naive<E: FieldAccess>(&self, ev: &E, out: &mut Vec<u32>) {
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.guard.admits(ev.logsource()) && rule.matches(ev) {
                out.push(i as u32);
            }
        }
    }

    fn candidates(&self, logsource: &LogSource, scratch: &mut Scratch) -> Arc<Candidates> {
        if let Some(c) = scratch.by_logsource.get(logsource) {
            return c.clone();
        }
        let mut c = Candidates::default();
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.guard.admits(logsource) {
                if self.has_needles[i] {
                    c.filtered.push(i as u32);
                } else {
                    c.always.push(i as u32);
                }
            }
        }
        let c = Arc::new(c);
        scratch.by_logsource.insert(logsource.clone(), c.clone());
        c
    }
}
