//! [`Engine`]: evaluates every loaded rule against events, touching only the rules that
//! could match.
//!
//! Rules are grouped by the logsources they admit: for each distinct event logsource a
//! candidate set is built once (shared by all threads, then cached per thread) with
//! the admitted rules split into those that always run and those behind a prefilter,
//! plus that set's own Aho-Corasick automaton over the rules' required literals and the
//! list of fields those rules read. Per event, one pass of the automaton over the
//! lower-cased values of those fields finds the rules whose literals occur; only they,
//! and the always-run rules, are evaluated. Cost therefore follows the candidate rules,
//! not the rule count. [`Engine::evaluate_naive`] skips every shortcut and is the oracle
//! the tests compare against.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use watchfloor_event::{FieldAccess, FieldId, LogSource, Value};

use crate::compile::CompiledRule;
use crate::event_text::EventText;
use crate::pattern::int_text;

/// The rules one logsource admits, and the prefilter over them.
#[derive(Debug, Default)]
struct Candidates {
    always: Vec<u32>,
    filtered: Vec<u32>,
    prefilter: Option<AhoCorasick>,
    /// Pattern id → the rules (engine indices) carrying this literal, each with the
    /// field the literal must be found in.
    pattern_rules: Vec<Vec<(u32, FieldId)>>,
    /// `scanned[id]`: whether a prefiltered rule took literals from field `id`. Every
    /// match of such a rule has one of its literals in one of those fields, so values of
    /// other fields need no scan.
    scanned: Vec<bool>,
    /// The literals of keyword searches, found anywhere in the event.
    keywords: Option<KeywordPrefilter>,
}

/// Literals of keyword searches: searched over every string value at once (the event's
/// lowered arena), and over the text of numbers and booleans when a literal could
/// occur there.
#[derive(Debug)]
struct KeywordPrefilter {
    /// Leftmost-first, so it can use the SIMD searcher: says whether any literal occurs.
    quick: AhoCorasick,
    /// Standard semantics, for the overlapping pass that finds every literal.
    ac: AhoCorasick,
    /// Pattern id → the rules carrying this literal.
    rules: Vec<Vec<u32>>,
    /// Some literal could occur in the text of a number or boolean.
    numeric: bool,
}

impl KeywordPrefilter {
    /// Calls `select` with the rules of every literal occurring in `hay`. Keyword
    /// literals are rare in real events, so one quick search (SIMD-accelerated for
    /// small literal sets) settles most events, and only a hit pays for the overlapping
    /// pass that finds every literal.
    fn scan(&self, hay: &[u8], mut select: impl FnMut(&[u32])) {
        if !self.quick.is_match(hay) {
            return;
        }
        for m in self.ac.find_overlapping_iter(hay) {
            if let Some(rules) = self.rules.get(m.pattern().as_usize()) {
                select(rules);
            }
        }
    }
}

impl Candidates {
    fn build(rules: &[CompiledRule], logsource: &LogSource) -> Self {
        let mut c = Candidates::default();
        let mut pattern_ids: HashMap<&str, usize> = HashMap::new();
        let mut patterns: Vec<&str> = Vec::new();
        let mut keyword_ids: HashMap<&str, usize> = HashMap::new();
        let mut keyword_patterns: Vec<&str> = Vec::new();
        let mut keyword_rules: Vec<Vec<u32>> = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            if !rule.guard.admits(logsource) {
                continue;
            }
            let needles = rule
                .needles
                .as_ref()
                .filter(|n| !n.is_empty() && n.iter().all(|(s, _)| !s.is_empty()));
            let Some(needles) = needles else {
                c.always.push(i as u32);
                continue;
            };
            c.filtered.push(i as u32);
            let rule_index = i as u32;
            for (n, field) in needles {
                let Some(field) = *field else {
                    let id = *keyword_ids.entry(n.as_str()).or_insert_with(|| {
                        keyword_patterns.push(n.as_str());
                        keyword_rules.push(Vec::new());
                        keyword_patterns.len() - 1
                    });
                    if !keyword_rules[id].contains(&rule_index) {
                        keyword_rules[id].push(rule_index);
                    }
                    continue;
                };
                let id = *pattern_ids.entry(n.as_str()).or_insert_with(|| {
                    patterns.push(n.as_str());
                    c.pattern_rules.push(Vec::new());
                    patterns.len() - 1
                });
                let entry = (rule_index, field);
                if !c.pattern_rules[id].contains(&entry) {
                    c.pattern_rules[id].push(entry);
                }
                if c.scanned.len() <= field.index() {
                    c.scanned.resize(field.index() + 1, false);
                }
                c.scanned[field.index()] = true;
            }
        }
        // Literals are lower-case and values are lower-cased before the scan.
        let mut built = true;
        if !patterns.is_empty() {
            c.prefilter = AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .build(&patterns)
                .ok();
            built &= c.prefilter.is_some();
        }
        if !keyword_patterns.is_empty() {
            let numeric = keyword_patterns
                .iter()
                .any(|p| p.bytes().all(crate::field_test::numeric_text_byte));
            let build = |kind| {
                AhoCorasickBuilder::new()
                    .match_kind(kind)
                    .build(&keyword_patterns)
                    .ok()
            };
            c.keywords = build(MatchKind::LeftmostFirst)
                .zip(build(MatchKind::Standard))
                .map(|(quick, ac)| KeywordPrefilter {
                    quick,
                    ac,
                    rules: keyword_rules,
                    numeric,
                });
            built &= c.keywords.is_some();
        }
        if !built {
            // Cannot happen with sane literal sets; stay correct anyway.
            c.prefilter = None;
            c.keywords = None;
            c.always.append(&mut c.filtered);
            c.always.sort_unstable();
        }
        c
    }

    fn scans(&self, id: FieldId) -> bool {
        self.scanned.get(id.index()).copied().unwrap_or(false)
    }
}

/// The literals found in recently seen short values, per candidate set: field values
/// such as image paths, user names and event ids repeat across events, and a hash lookup
/// is cheaper than a pass of the automaton. Bounded: cleared when full.
/// Lower-cased value → the pattern ids found in it.
type FoundPatterns = HashMap<Box<[u8]>, Box<[u32]>, foldhash::fast::RandomState>;

#[derive(Debug, Default)]
struct PrefilterCache {
    /// Keyed by the candidate set's address (kept alive by the scratch's own `Arc`s).
    sets: HashMap<usize, FoundPatterns>,
    entries: usize,
    found: Vec<u32>,
}

impl PrefilterCache {
    /// Values longer than this are scanned every time (they rarely repeat; command
    /// lines of scheduled and service processes up to this length do).
    const MAX_VALUE: usize = 512;
    const MAX_ENTRIES: usize = 16_384;

    /// The pattern ids of `ac` occurring in `lowered`.
    fn patterns(
        &mut self,
        candidates: &Arc<Candidates>,
        ac: &AhoCorasick,
        lowered: &[u8],
    ) -> &[u32] {
        let scan = |found: &mut Vec<u32>| {
            found.clear();
            found.extend(
                ac.find_overlapping_iter(lowered)
                    .map(|m| m.pattern().as_u32()),
            );
        };
        if lowered.len() > Self::MAX_VALUE {
            scan(&mut self.found);
            return &self.found;
        }
        let key = Arc::as_ptr(candidates) as usize;
        if self.entries >= Self::MAX_ENTRIES {
            self.sets.clear();
            self.entries = 0;
        }
        let set = self.sets.entry(key).or_default();
        if !set.contains_key(lowered) {
            scan(&mut self.found);
            set.insert(lowered.into(), self.found.as_slice().into());
            self.entries += 1;
        }
        set.get(lowered).map_or(&[], |p| p)
    }
}

/// Per-thread evaluation state: reuse one per worker.
#[derive(Debug, Default)]
pub struct Scratch {
    by_logsource: HashMap<LogSource, Arc<Candidates>>,
    /// `hit[rule] == epoch` when the prefilter found one of the rule's literals.
    hit: Vec<u32>,
    epoch: u32,
    number: String,
    lower: Vec<u8>,
    /// Rules whose literals were found for the current event.
    fired: Vec<u32>,
    prefilter_cache: PrefilterCache,
    text: EventText,
    /// Counters: literal hits seen, and rules run after passing the prefilter.
    pub literal_hits: u64,
    pub rules_run: u64,
}

/// The textual form of a number or boolean as the literals expect it (`Value`'s
/// `Display`); `None` for strings and nulls.
fn scalar_text<'a>(
    value: Value<'_>,
    digits: &'a mut [u8; 20],
    number: &'a mut String,
) -> Option<&'a str> {
    match value {
        Value::Int(i) => Some(int_text(i, digits)),
        Value::Float(f) => {
            number.clear();
            let _ = write!(number, "{f}");
            Some(number)
        }
        Value::Bool(true) => Some("true"),
        Value::Bool(false) => Some("false"),
        Value::Str(_) | Value::Null => None,
    }
}

/// `text` ASCII-lower-cased into the reused `buf`.
fn lower_into(buf: &mut Vec<u8>, text: &str) {
    buf.clear();
    buf.extend(text.bytes().map(|b| b.to_ascii_lowercase()));
}

/// Where the prefilter records the rules its literals select for one event.
struct Marks<'a> {
    /// `hit[rule] == epoch` once the rule is selected.
    hit: &'a mut [u32],
    fired: &'a mut Vec<u32>,
    epoch: u32,
    literal_hits: &'a mut u64,
}

impl Marks<'_> {
    /// Selects `rules` (found by a keyword literal).
    #[inline]
    fn select(&mut self, rules: &[u32]) {
        *self.literal_hits += 1;
        for &r in rules {
            if let Some(seen) = self.hit.get_mut(r as usize)
                && *seen != self.epoch
            {
                *seen = self.epoch;
                self.fired.push(r);
            }
        }
    }

    /// Selects the rules of the literals `found` in a value of field `name` / `path`.
    #[inline]
    fn mark(&mut self, found: &[u32], candidates: &Candidates, name: FieldId, path: FieldId) {
        *self.literal_hits += found.len() as u64;
        for &p in found {
            for &(r, field) in &candidates.pattern_rules[p as usize] {
                // A literal counts only in the field the rule reads it from.
                if field != name && field != path {
                    continue;
                }
                if let Some(seen) = self.hit.get_mut(r as usize)
                    && *seen != self.epoch
                {
                    *seen = self.epoch;
                    self.fired.push(r);
                }
            }
        }
    }
}

/// A set of compiled rules, indexed for evaluation.
#[derive(Debug)]
pub struct Engine {
    rules: Vec<CompiledRule>,
    by_logsource: RwLock<HashMap<LogSource, Arc<Candidates>>>,
}

impl Engine {
    pub fn new(rules: Vec<CompiledRule>) -> Self {
        Engine {
            rules,
            by_logsource: RwLock::new(HashMap::new()),
        }
    }

    /// Titles of the rules evaluated on every event of `logsource` (no prefilter literals).
    pub fn unfiltered_rules(&self, logsource: &LogSource) -> Vec<&str> {
        let c = self.shared_candidates(logsource);
        c.always
            .iter()
            .filter_map(|&r| self.rules.get(r as usize))
            .map(|r| r.meta.title.as_str())
            .collect()
    }

    /// Prefilter size for one logsource: (distinct literals, rules behind the prefilter,
    /// rules always run).
    pub fn prefilter_stats(&self, logsource: &LogSource) -> (usize, usize, usize) {
        let c = self.shared_candidates(logsource);
        (c.pattern_rules.len(), c.filtered.len(), c.always.len())
    }

    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    pub fn rule(&self, index: u32) -> Option<&CompiledRule> {
        self.rules.get(index as usize)
    }

    /// Appends to `out` the indices of the rules that match `ev`, in rule order.
    pub fn evaluate<E: FieldAccess>(&self, ev: &E, scratch: &mut Scratch, out: &mut Vec<u32>) {
        let candidates = match scratch.by_logsource.get(ev.logsource()) {
            Some(c) => c.clone(),
            None => {
                let c = self.shared_candidates(ev.logsource());
                scratch
                    .by_logsource
                    .insert(ev.logsource().clone(), c.clone());
                c
            }
        };
        let start = out.len();
        scratch.text.reset();
        for &r in &candidates.always {
            if self.rules[r as usize].matches_in(ev, &mut scratch.text) {
                out.push(r);
            }
        }
        if candidates.filtered.is_empty() {
            out[start..].sort_unstable();
            return;
        }
        scratch.epoch = scratch.epoch.wrapping_add(1);
        if scratch.epoch == 0 {
            scratch.hit.iter_mut().for_each(|h| *h = 0);
            scratch.epoch = 1;
        }
        if scratch.hit.len() < self.rules.len() {
            scratch.hit.resize(self.rules.len(), 0);
        }
        scratch.fired.clear();
        let mut marks = Marks {
            hit: &mut scratch.hit,
            fired: &mut scratch.fired,
            epoch: scratch.epoch,
            literal_hits: &mut scratch.literal_hits,
        };
        let mut digits = [0u8; 20];
        // String values are slices of the event's arena, which is lower-cased once per
        // event: both prefilters read those lowered bytes.
        let arena = ev.string_arena().map(|a| a.as_ptr() as usize);
        let lowered_arena = scratch.text.arena(ev).map(|a| a.lowered);
        if let Some(keywords) = &candidates.keywords {
            match lowered_arena {
                Some(lowered) => keywords.scan(lowered, |rules| marks.select(rules)),
                None => {
                    for value in ev.all_values() {
                        if let Value::Str(s) = value {
                            lower_into(&mut scratch.lower, s);
                            keywords.scan(&scratch.lower, |rules| marks.select(rules));
                        }
                    }
                }
            }
            if keywords.numeric {
                for value in ev.all_values() {
                    if matches!(value, Value::Str(_)) {
                        continue;
                    }
                    let Some(text) = scalar_text(value, &mut digits, &mut scratch.number) else {
                        continue;
                    };
                    lower_into(&mut scratch.lower, text);
                    keywords.scan(&scratch.lower, |rules| marks.select(rules));
                }
            }
        }
        if let Some(ac) = &candidates.prefilter {
            for (name, path, value) in ev.entries() {
                if !candidates.scans(name) && !candidates.scans(path) {
                    continue;
                }
                let text: &str = match value {
                    Value::Str(s) => {
                        let slice = lowered_arena.zip(arena).and_then(|(lowered, base)| {
                            let off = (s.as_ptr() as usize).wrapping_sub(base);
                            lowered.get(off..off.checked_add(s.len())?)
                        });
                        if let Some(lowered) = slice {
                            let found = scratch.prefilter_cache.patterns(&candidates, ac, lowered);
                            marks.mark(found, &candidates, name, path);
                            continue;
                        }
                        s
                    }
                    other => match scalar_text(other, &mut digits, &mut scratch.number) {
                        Some(t) => t,
                        None => continue,
                    },
                };
                lower_into(&mut scratch.lower, text);
                let found = scratch
                    .prefilter_cache
                    .patterns(&candidates, ac, &scratch.lower);
                marks.mark(found, &candidates, name, path);
            }
        }
        // Only the rules the prefilters selected: the cost follows the hits, not the
        // number of candidate rules.
        for &r in &scratch.fired {
            scratch.rules_run += 1;
            if self.rules[r as usize].matches_in(ev, &mut scratch.text) {
                out.push(r);
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

    fn shared_candidates(&self, logsource: &LogSource) -> Arc<Candidates> {
        if let Some(c) = self
            .by_logsource
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(logsource)
        {
            return c.clone();
        }
        let built = Arc::new(Candidates::build(&self.rules, logsource));
        let mut map = self.by_logsource.write().unwrap_or_else(|e| e.into_inner());
        map.entry(logsource.clone()).or_insert(built).clone()
    }
}
