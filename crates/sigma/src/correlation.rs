//! Sigma correlation rules over a stream of base-rule matches: [`CorrelationEngine`].
//!
//! The engine is pure: it does no IO and reads the time from the events
//! ([`FieldAccess::time`]). It is fed one base-rule match at a time
//! ([`CorrelationEngine::observe`]) and reports [`CorrelationMatch`]es, including those of
//! correlations chained on other correlations.
//!
//! # Semantics
//!
//! * **Windows.** Each correlation keeps one sliding window per group (the values of its
//!   `group-by` fields). A group's window ends at the newest event time the group has
//!   seen, `W`, and holds the entries with `W - timespan <= t <= W`: the boundary is
//!   *inclusive*, so two events exactly `timespan` apart are "within the timespan".
//!   Conditions are evaluated after every event, on the window it lands in.
//! * **Group-by.** Every type requires `group-by` (as the specification lists it for each
//!   type); a correlation without it is diagnosed and skipped. A field is read through its
//!   [`FieldId`] (first value of a multi-valued field; numbers and booleans by their text);
//!   an event lacking a group-by field (or holding null) takes no part, as with a SIEM's
//!   `stats … by`. `aliases` map an alias name to a different field per referenced rule;
//!   an alias may be used in `group-by` and as the condition `field`.
//! * **Types.** `event_count`: entries in the window. `value_count`: distinct values of
//!   the condition field (a per-group value→count map and the time-ordered entries; each
//!   event costs O(1) amortized, the window is never rescanned). `value_sum`/`value_avg`:
//!   sum/mean of the numeric field values (events without a numeric value take no part).
//!   `temporal`: the number of distinct listed rules seen in the window (the condition
//!   defaults to "all of them"; a condition such as `gte: 2` asks for that many).
//!   `temporal_ordered`: the length of the longest prefix of the listed rules seen in
//!   that order in the window (default: all); events with equal times are ordered by
//!   arrival. `value_percentile`: see below.
//! * **`value_percentile`.** The specification's example (`field: Image`, `lte: 1`, "a
//!   process name … than 1% of all the processes") compares a *percentage of the observed
//!   values*: without a `percentile` key the value is the share, in percent (0–100), of the
//!   group's window entries whose field value equals the current event's, so `lte: 1`
//!   fires for a value seen in at most 1% of the observations (rarity). With a
//!   `percentile: p` key (0–100) the value is instead the `p`th percentile (nearest rank:
//!   the smallest value with at least `p`% of the values at or below it) of the numeric
//!   field values in the window, kept in two ordered multisets (O(log n) per event).
//! * **Conditions.** Every comparison must hold. They are checked per event, so a
//!   condition with only an upper bound (`lt`, `lte`) may hold from the first event;
//!   the engine warns about counting correlations that fire on a single event.
//! * **After a match** the group's window is reset (emptied): the next match needs a fresh
//!   set of events, as SIEM threshold rules do. The exception is the rarity form of
//!   `value_percentile`, whose window is the baseline: it is kept, and each further event
//!   fires only if its own value is rare.
//! * **Lateness.** Each correlation has a watermark, the newest event time it has seen.
//!   An event older than `watermark - lateness_ns` is dropped and counted
//!   ([`CorrelationEngine::late`], once per correlation it would have fed); so is one
//!   older than its group's window start. A late but accepted event is inserted at its
//!   place in time and the window is evaluated as usual (it ends at the group's newest
//!   time).
//! * **Bounds.** Per correlation at most `max_groups` groups (the least recently seen is
//!   evicted) and per group at most `max_entries_per_group` entries (the oldest is
//!   dropped); each eviction counts once in [`CorrelationEngine::evicted`]. Groups whose
//!   every entry is older than any window an accepted event could open are dropped
//!   silently (that changes no result).
//! * **Chaining.** A rule reference that names a correlation (by id or name; a
//!   correlation wins over a base rule of the same name) takes that correlation's matches
//!   as its events, at the match's `last` time. A group-by field of
//!   the outer correlation that the inner one also groups by takes the inner match's
//!   value; any other field is read from the event that completed the inner match.
//!   Reference cycles are diagnosed and skip every correlation on them, and those that
//!   depend on them.
//! * **`generate`** (default false): the rules a correlation refers to are not reported
//!   on their own unless a correlation referring to them says `generate: true`
//!   ([`CorrelationEngine::reports_base_rule`], [`CorrelationEngine::reports_correlation`]).
//! * Every base-rule match counts: an event that matches two listed rules counts twice
//!   for `event_count`.

mod checkpoint;
mod plan;
#[cfg(test)]
mod tests;
mod window;

use std::fmt::Write as _;

use watchfloor_event::{FieldAccess, FieldId, FieldTable, Timestamp, Value};

use crate::diagnostic::Diagnostic;
use crate::rule::{Comparison, Correlation};

use plan::{Measure, Plan, Source, Subscription};
use window::{Entry, Group, Val};

/// The bounds and tolerances of a [`CorrelationEngine`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CorrelationConfig {
    /// Groups per correlation (at least 1).
    pub max_groups: usize,
    /// Entries per group window (at least 1).
    pub max_entries_per_group: usize,
    /// How far behind a correlation's newest event time an event may arrive and still
    /// count.
    pub lateness_ns: i64,
}

impl Default for CorrelationConfig {
    fn default() -> Self {
        CorrelationConfig {
            max_groups: 100_000,
            max_entries_per_group: 10_000,
            lateness_ns: 0,
        }
    }
}

/// One match of a correlation rule.
#[derive(Clone, Debug, PartialEq)]
pub struct CorrelationMatch {
    /// Index into the correlations given to [`CorrelationEngine::new`].
    pub correlation: usize,
    /// Group-by field (or alias) → value.
    pub group: Vec<(String, String)>,
    /// The oldest and newest event times in the window.
    pub first: Timestamp,
    pub last: Timestamp,
    /// The count, distinct count, sum, average, percentile or share that met the
    /// condition (for the temporal types: the number of rules seen, in order for
    /// `temporal_ordered`).
    pub value: f64,
    /// The rule references (ids or names, as the correlation lists them) seen in the
    /// window, in the correlation's order.
    pub rules: Vec<String>,
}

/// The correlation engine: open windows of every correlation, fed base-rule matches.
#[derive(Debug)]
pub struct CorrelationEngine {
    plan: Plan,
    rt: Runtime,
}

/// The mutable part of the engine.
#[derive(Debug)]
struct Runtime {
    config: CorrelationConfig,
    states: Vec<window::State>,
    /// Issues entry and recency sequence numbers (a total order of arrivals).
    seq: u64,
    evicted: u64,
    late: u64,
    key: String,
    spans: Vec<(usize, usize)>,
    text: String,
}

impl CorrelationEngine {
    /// Builds the engine. `resolve(reference)` maps a rule reference (id or name) to
    /// compiled base-rule indices (empty if unknown); references to other correlations
    /// are resolved among `correlations`. A correlation that cannot work (unknown
    /// reference, reference cycle, missing `group-by`, …) is reported as a
    /// [`crate::diagnostic::Code::Correlation`] error and skipped; warnings leave it
    /// working.
    pub fn new(
        correlations: &[Correlation],
        resolve: &dyn Fn(&str) -> Vec<u32>,
        table: &FieldTable,
        config: CorrelationConfig,
    ) -> (Self, Vec<Diagnostic>) {
        let config = CorrelationConfig {
            max_groups: config.max_groups.max(1),
            max_entries_per_group: config.max_entries_per_group.max(1),
            lateness_ns: config.lateness_ns.max(0),
        };
        let (plan, diags) = plan::build(correlations, resolve, table, &config);
        let states = plan
            .actives
            .iter()
            .map(|_| window::State::default())
            .collect();
        let engine = CorrelationEngine {
            plan,
            rt: Runtime {
                config,
                states,
                seq: 0,
                evicted: 0,
                late: 0,
                key: String::new(),
                spans: Vec::new(),
                text: String::new(),
            },
        };
        (engine, diags)
    }

    /// Feeds one base-rule match (`rule` = compiled base-rule index) on event `ev`;
    /// appends the correlation matches it completes, chained ones included (an inner
    /// match before the outer matches it causes), to `out`.
    pub fn observe<E: FieldAccess>(&mut self, rule: u32, ev: &E, out: &mut Vec<CorrelationMatch>) {
        let Some(subs) = self.plan.by_rule.get(rule as usize) else {
            return;
        };
        let t = ev.time().as_nanos();
        for sub in subs {
            self.rt.feed(&self.plan, sub, ev, None, t, out);
        }
    }

    /// Whether base rule `rule` should still be reported on its own: true when no
    /// working correlation refers to it, or when one that does says `generate: true`.
    pub fn reports_base_rule(&self, rule: u32) -> bool {
        self.plan
            .base_report
            .get(rule as usize)
            .copied()
            .unwrap_or(true)
    }

    /// Whether some working correlation uses base rule `rule` (its matches must be fed to
    /// [`CorrelationEngine::observe`]).
    pub fn uses_rule(&self, rule: u32) -> bool {
        self.plan
            .by_rule
            .get(rule as usize)
            .is_some_and(|subs| !subs.is_empty())
    }

    /// Whether matches of correlation `correlation` (an index into the correlations given
    /// to [`CorrelationEngine::new`]) should be reported: true for a correlation no other
    /// working correlation refers to, or when one that does says `generate: true`.
    /// [`CorrelationEngine::observe`] appends every match; this tells the caller which
    /// are intermediate steps of a chain.
    pub fn reports_correlation(&self, correlation: usize) -> bool {
        self.plan
            .corr_report
            .get(correlation)
            .copied()
            .unwrap_or(true)
    }

    /// Whether correlation `correlation` is working (not skipped by a diagnostic).
    pub fn is_active(&self, correlation: usize) -> bool {
        self.plan
            .active_of
            .get(correlation)
            .is_some_and(Option::is_some)
    }

    /// Groups and entries dropped by the bounds (`max_groups`, `max_entries_per_group`).
    pub fn evicted(&self) -> u64 {
        self.rt.evicted
    }

    /// Events dropped for arriving later than the lateness allows.
    pub fn late(&self) -> u64 {
        self.rt.late
    }

    /// Open groups over all correlations.
    pub fn open_groups(&self) -> usize {
        self.rt.states.iter().map(window::State::len).sum()
    }

    /// The open windows (and counters), serialized.
    pub fn checkpoint(&self) -> Vec<u8> {
        checkpoint::save(&self.plan, &self.rt)
    }

    /// Replaces the open windows with those of a [`CorrelationEngine::checkpoint`] taken
    /// from an engine built from the same correlations (checked; an error leaves this
    /// engine unchanged).
    pub fn restore(&mut self, data: &[u8]) -> Result<(), String> {
        checkpoint::load(&self.plan, &mut self.rt, data)
    }
}

/// What one input event contributes to a value-reading correlation.
enum Raw {
    None,
    Text,
    Num(f64),
}

impl Runtime {
    /// One input (a base-rule match, or an inner correlation's match `inner`) to one
    /// subscribed correlation.
    fn feed<E: FieldAccess>(
        &mut self,
        plan: &Plan,
        sub: &Subscription,
        ev: &E,
        inner: Option<&CorrelationMatch>,
        t: i64,
        out: &mut Vec<CorrelationMatch>,
    ) {
        let active = &plan.actives[sub.active];
        if !group_key(
            &sub.group,
            ev,
            inner,
            &mut self.key,
            &mut self.spans,
            &mut self.text,
        ) {
            return;
        }
        let raw = match (active.measure.reads(), &sub.value) {
            (plan::Reads::Nothing, _) | (_, None) => Raw::None,
            (plan::Reads::Text, Some(src)) => {
                self.text.clear();
                if !read_text(src, ev, inner, &mut self.text) {
                    return;
                }
                Raw::Text
            }
            (plan::Reads::Number, Some(src)) => match read_number(src, ev, inner) {
                Some(x) => Raw::Num(x),
                None => return,
            },
        };
        let config = self.config;
        let span = active.span;
        let state = &mut self.states[sub.active];
        if let Some(now) = state.now
            && t < now.saturating_sub(config.lateness_ns)
        {
            self.late += 1;
            return;
        }
        let now = state.now.map_or(t, |n| n.max(t));
        state.now = Some(now);
        state.sweep(now.saturating_sub(config.lateness_ns).saturating_sub(span));
        self.seq += 1;
        let touched = self.seq;
        let (gi, evicted) = state.group(&self.key, &self.spans, touched, config.max_groups, || {
            Group::new(active.measure, active.rules.len())
        });
        self.evicted += evicted;
        let g = state.get_mut(gi);
        let w = g.max_t.max(t);
        g.max_t = w;
        let start = w.saturating_sub(span);
        if t < start {
            self.late += 1;
            return;
        }
        g.expire(start);
        let val = match raw {
            Raw::None => Val::None,
            Raw::Num(x) => Val::Num(x),
            Raw::Text => Val::Str(g.intern(&self.text)),
        };
        self.seq += 1;
        let entry = Entry {
            t,
            seq: self.seq,
            mask: sub.mask,
            val,
        };
        let current = entry.val.clone();
        g.insert(entry);
        while g.entries.len() > config.max_entries_per_group {
            g.pop_front();
            self.evicted += 1;
        }
        let value = g.value(active.measure, start, &current);
        if value.is_nan() || !holds(&active.condition, value) {
            return;
        }
        let (Some(first), Some(last)) = (g.entries.front(), g.entries.back()) else {
            return;
        };
        let m = CorrelationMatch {
            correlation: active.index,
            group: active
                .group_names
                .iter()
                .cloned()
                .zip(g.values.iter().cloned())
                .collect(),
            first: Timestamp(first.t),
            last: Timestamp(last.t),
            value,
            rules: g
                .slot_counts
                .iter()
                .zip(&active.rules)
                .filter(|(n, _)| **n > 0)
                .map(|(_, r)| r.clone())
                .collect(),
        };
        if active.measure != Measure::Rarity {
            g.reset();
        }
        let at = m.last.as_nanos();
        out.push(m);
        if !active.downstream.is_empty() {
            let m = out[out.len() - 1].clone();
            for down in &active.downstream {
                self.feed(plan, down, ev, Some(&m), at, out);
            }
        }
    }
}

/// Whether every comparison holds for `value`.
fn holds(condition: &[Comparison], value: f64) -> bool {
    condition.iter().all(|c| match *c {
        Comparison::Gt(x) => value > x,
        Comparison::Gte(x) => value >= x,
        Comparison::Lt(x) => value < x,
        Comparison::Lte(x) => value <= x,
        Comparison::Eq(x) => value == x,
        Comparison::Neq(x) => value != x,
    })
}

/// Writes `v` as text; false for null.
fn write_value(out: &mut String, v: Value<'_>) -> bool {
    match v {
        Value::Null => return false,
        Value::Str(s) => out.push_str(s),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => {
            let _ = write!(out, "{f}");
        }
        Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
    }
    true
}

fn read_text<E: FieldAccess>(
    src: &Source,
    ev: &E,
    inner: Option<&CorrelationMatch>,
    out: &mut String,
) -> bool {
    match src {
        Source::Event(id) => ev.first(*id).is_some_and(|v| write_value(out, v)),
        Source::Group(i) => match inner.and_then(|m| m.group.get(*i)) {
            Some((_, v)) => {
                out.push_str(v);
                true
            }
            None => false,
        },
    }
}

fn read_number<E: FieldAccess>(
    src: &Source,
    ev: &E,
    inner: Option<&CorrelationMatch>,
) -> Option<f64> {
    let x = match src {
        Source::Event(id) => ev.first(*id)?.as_f64()?,
        Source::Group(i) => Value::Str(&inner?.group.get(*i)?.1).as_f64()?,
    };
    // `+ 0.0` folds -0.0 into 0.0 so the two compare and order as one value.
    x.is_finite().then_some(x + 0.0)
}

/// Builds the group key of an input into `key`: the values, then a NUL and their
/// lengths, so that distinct value tuples never share a key. `spans` receives each
/// value's place in `key`. False when a group-by value is missing.
fn group_key<E: FieldAccess>(
    sources: &[Source],
    ev: &E,
    inner: Option<&CorrelationMatch>,
    key: &mut String,
    spans: &mut Vec<(usize, usize)>,
    scratch: &mut String,
) -> bool {
    key.clear();
    spans.clear();
    for src in sources {
        let start = key.len();
        if !read_text(src, ev, inner, key) {
            return false;
        }
        spans.push((start, key.len()));
    }
    encode_lengths(key, spans, scratch);
    true
}

fn encode_lengths(key: &mut String, spans: &[(usize, usize)], scratch: &mut String) {
    scratch.clear();
    for (a, b) in spans {
        let _ = write!(scratch, "{},", b - a);
    }
    key.push('\0');
    key.push_str(scratch);
}

/// The key [`group_key`] builds for these values.
fn key_of(values: &[String]) -> (String, Vec<(usize, usize)>) {
    let mut key = String::new();
    let mut spans = Vec::with_capacity(values.len());
    for v in values {
        let start = key.len();
        key.push_str(v);
        spans.push((start, key.len()));
    }
    encode_lengths(&mut key, &spans, &mut String::new());
    (key, spans)
}

/// A field id by name, for the plan.
fn field(table: &FieldTable, name: &str) -> FieldId {
    table.intern(name)
}
