use std::path::{Path, PathBuf};
use std::sync::Arc;

use watchfloor_event::{Event, FieldTable};

use super::window::TwoHeaps;
use super::*;
use crate::diagnostic::{Code, Severity};
use crate::load::load_str;
use crate::rule::RuleSet;

const S: i64 = 1_000_000_000;

/// The base rules of the tests, by name; index = compiled rule index.
const RULES: &[&str] = &[
    "a",
    "b",
    "c",
    "failed_login",
    "successful_login",
    "internal_error",
    "new_network_connection",
];

fn resolve(r: &str) -> Vec<u32> {
    RULES
        .iter()
        .position(|x| *x == r)
        .map(|i| vec![i as u32])
        .unwrap_or_default()
}

fn rule(name: &str) -> u32 {
    resolve(name)[0]
}

fn load(yaml: &str) -> Vec<Correlation> {
    let file: Arc<str> = Arc::from("t.yml");
    let mut set = RuleSet::default();
    let mut diags = Vec::new();
    load_str(&file, yaml, &mut set, &mut diags);
    assert!(diags.is_empty(), "{diags:?}");
    set.correlations
}

struct Harness {
    table: Arc<FieldTable>,
    engine: CorrelationEngine,
}

impl Harness {
    fn with_diags(yaml: &str, config: CorrelationConfig) -> (Self, Vec<Diagnostic>) {
        let table = FieldTable::new();
        let (engine, diags) = CorrelationEngine::new(&load(yaml), &resolve, &table, config);
        (Harness { table, engine }, diags)
    }

    fn new(yaml: &str) -> Self {
        Self::with_config(yaml, CorrelationConfig::default())
    }

    fn with_config(yaml: &str, config: CorrelationConfig) -> Self {
        let (h, diags) = Self::with_diags(yaml, config);
        assert!(diags.is_empty(), "{diags:?}");
        h
    }

    fn event(&self, t: i64, fields: &[(&str, &str)]) -> Event {
        let mut ev = Event::new();
        ev.time = Timestamp(t);
        for (name, value) in fields {
            let id = self.table.intern(name);
            ev.push_str(id, id, value);
        }
        ev
    }

    /// Feeds one match of `rule` at `t` and returns the correlation matches it caused.
    fn feed(&mut self, rule_name: &str, t: i64, fields: &[(&str, &str)]) -> Vec<CorrelationMatch> {
        let ev = self.event(t, fields);
        let mut out = Vec::new();
        self.engine.observe(rule(rule_name), &ev, &mut out);
        out
    }

    /// Like [`Harness::feed`], returning only the values of the matches.
    fn values(&mut self, rule_name: &str, t: i64, fields: &[(&str, &str)]) -> Vec<f64> {
        self.feed(rule_name, t, fields)
            .iter()
            .map(|m| m.value)
            .collect()
    }
}

fn group(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const EVENT_COUNT: &str = "title: many\ncorrelation:\n  type: event_count\n  rules: [a]\n  group-by: [User]\n  timespan: 10s\n  condition:\n    gte: 3\n";

#[test]
fn event_count_fires_at_threshold_then_resets() {
    let mut h = Harness::new(EVENT_COUNT);
    let u = [("User", "u")];
    assert!(h.feed("a", 0, &u).is_empty());
    assert!(h.feed("a", S, &u).is_empty());
    let m = h.feed("a", 2 * S, &u);
    assert_eq!(
        m,
        vec![CorrelationMatch {
            correlation: 0,
            group: group(&[("User", "u")]),
            first: Timestamp(0),
            last: Timestamp(2 * S),
            value: 3.0,
            rules: vec!["a".to_string()],
        }]
    );
    // The window was reset: three fresh events are needed.
    assert!(h.feed("a", 3 * S, &u).is_empty());
    assert!(h.feed("a", 4 * S, &u).is_empty());
    let m = h.feed("a", 5 * S, &u);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].first, Timestamp(3 * S));
    // A rule the correlation does not use changes nothing.
    assert!(h.feed("b", 6 * S, &u).is_empty());
}

#[test]
fn window_boundary_is_inclusive() {
    let yaml = EVENT_COUNT.replace("gte: 3", "gte: 2");
    let mut h = Harness::new(&yaml);
    // Exactly `timespan` apart: both in the window.
    assert!(h.feed("a", 0, &[("User", "u")]).is_empty());
    assert_eq!(h.values("a", 10 * S, &[("User", "u")]), vec![2.0]);
    // One nanosecond more: the first has left.
    assert!(h.feed("a", 20 * S, &[("User", "v")]).is_empty());
    assert!(h.feed("a", 30 * S + 1, &[("User", "v")]).is_empty());
    assert_eq!(h.values("a", 30 * S + 2, &[("User", "v")]), vec![2.0]);
}

#[test]
fn groups_are_separate_and_incomplete_events_take_no_part() {
    let yaml = EVENT_COUNT
        .replace("[User]", "[User, Host]")
        .replace("gte: 3", "gte: 2");
    let mut h = Harness::new(&yaml);
    assert!(h.feed("a", 0, &[("User", "u"), ("Host", "h1")]).is_empty());
    assert!(h.feed("a", 1, &[("User", "u"), ("Host", "h2")]).is_empty());
    assert!(h.feed("a", 2, &[("User", "v"), ("Host", "h1")]).is_empty());
    // No Host: ignored.
    assert!(h.feed("a", 3, &[("User", "u")]).is_empty());
    // Value tuples whose concatenations agree stay apart.
    assert!(h.feed("a", 4, &[("User", "ab"), ("Host", "c")]).is_empty());
    assert!(h.feed("a", 5, &[("User", "a"), ("Host", "bc")]).is_empty());
    let m = h.feed("a", 6, &[("User", "u"), ("Host", "h2")]);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].group, group(&[("User", "u"), ("Host", "h2")]));
    assert_eq!(h.engine.open_groups(), 5);
}

#[test]
fn group_values_of_any_type_are_text() {
    let mut h = Harness::new(&EVENT_COUNT.replace("gte: 3", "gte: 2"));
    let user = h.table.intern("User");
    let mut out = Vec::new();
    for t in [0, S] {
        let mut ev = Event::new();
        ev.time = Timestamp(t);
        ev.push(user, user, Value::Int(42));
        h.engine.observe(rule("a"), &ev, &mut out);
    }
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].group, group(&[("User", "42")]));
}

const VALUE_COUNT: &str = "title: spray\ncorrelation:\n  type: value_count\n  rules: [a]\n  group-by: [Host]\n  timespan: 60s\n  condition:\n    field: User\n    gte: 3\n";

#[test]
fn value_count_counts_distinct_values_in_the_window() {
    let mut h = Harness::new(VALUE_COUNT);
    for (t, user) in [(0, "x"), (1, "x"), (2, "y"), (3, "x")] {
        assert!(
            h.feed("a", t * S, &[("Host", "h"), ("User", user)])
                .is_empty()
        );
    }
    // No User: takes no part.
    assert!(h.feed("a", 4 * S, &[("Host", "h")]).is_empty());
    let m = h.feed("a", 5 * S, &[("Host", "h"), ("User", "z")]);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].value, 3.0);
    assert_eq!(m[0].first, Timestamp(0));
    // Expiry lowers the distinct count.
    let g = [("Host", "g")];
    assert!(h.feed("a", 100 * S, &[g[0], ("User", "x")]).is_empty());
    assert!(h.feed("a", 130 * S, &[g[0], ("User", "y")]).is_empty());
    assert!(h.feed("a", 161 * S, &[g[0], ("User", "z")]).is_empty());
    assert_eq!(h.values("a", 162 * S, &[g[0], ("User", "w")]), vec![3.0]);
}

#[test]
fn value_count_is_linear_in_the_events() {
    // 100k events in one group: a map of value counts and a time-ordered queue, so
    // neither window (one holding everything, one sliding) is ever rescanned.
    let yaml = "title: big\ncorrelation:\n  type: value_count\n  rules: [a]\n  group-by: [Host]\n  timespan: 1h\n  condition:\n    field: User\n    gt: 5000\n---\ntitle: sliding\ncorrelation:\n  type: value_count\n  rules: [a]\n  group-by: [Host]\n  timespan: 1s\n  condition:\n    field: User\n    gt: 1001\n";
    let config = CorrelationConfig {
        max_entries_per_group: 200_000,
        ..CorrelationConfig::default()
    };
    let mut h = Harness::with_config(yaml, config);
    let host = h.table.intern("Host");
    let user = h.table.intern("User");
    let mut ev = Event::new();
    let mut out = Vec::new();
    let mut name = String::new();
    for i in 0..100_000i64 {
        ev.clear();
        ev.time = Timestamp(i * 1_000_000);
        ev.push_str(host, host, "h");
        name.clear();
        let _ = write!(name, "u{}", i % 5000);
        ev.push_str(user, user, &name);
        h.engine.observe(rule("a"), &ev, &mut out);
    }
    assert!(out.is_empty());
    assert_eq!(h.engine.evicted(), 0);
    ev.clear();
    ev.time = Timestamp(100_000 * 1_000_000);
    ev.push_str(host, host, "h");
    ev.push_str(user, user, "new");
    h.engine.observe(rule("a"), &ev, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].correlation, 0);
    assert_eq!(out[0].value, 5001.0);
}

const TEMPORAL: &str = "title: recon\ncorrelation:\n  type: temporal\n  rules: [a, b, c]\n  group-by: [User]\n  timespan: 5m\n";

#[test]
fn temporal_needs_every_rule_in_any_order() {
    let mut h = Harness::new(TEMPORAL);
    let u = [("User", "u")];
    assert!(h.feed("c", 0, &u).is_empty());
    assert!(h.feed("a", 10 * S, &u).is_empty());
    assert!(h.feed("a", 11 * S, &u).is_empty());
    let m = h.feed("b", 20 * S, &u);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].value, 3.0);
    assert_eq!(m[0].rules, vec!["a", "b", "c"]);
    // Too far apart.
    let v = [("User", "v")];
    assert!(h.feed("a", 1000 * S, &v).is_empty());
    assert!(h.feed("b", 1010 * S, &v).is_empty());
    assert!(h.feed("c", 1301 * S, &v).is_empty());
    assert_eq!(h.values("a", 1302 * S, &v), vec![3.0]);
}

#[test]
fn temporal_condition_counts_distinct_rules() {
    let yaml = format!("{TEMPORAL}  condition:\n    gte: 2\n");
    let mut h = Harness::new(&yaml);
    let u = [("User", "u")];
    assert!(h.feed("a", 0, &u).is_empty());
    assert!(h.feed("a", S, &u).is_empty());
    let m = h.feed("c", 2 * S, &u);
    assert_eq!(m[0].value, 2.0);
    assert_eq!(m[0].rules, vec!["a", "c"]);
}

#[test]
fn temporal_ordered_needs_the_listed_order() {
    let yaml = TEMPORAL.replace("type: temporal", "type: temporal_ordered");
    let mut h = Harness::new(&yaml);
    let u = [("User", "u")];
    assert!(h.feed("b", 0, &u).is_empty());
    assert!(h.feed("a", S, &u).is_empty());
    assert!(h.feed("c", 2 * S, &u).is_empty());
    assert!(h.feed("b", 3 * S, &u).is_empty());
    let m = h.feed("c", 4 * S, &u);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].value, 3.0);
    assert_eq!(m[0].first, Timestamp(0));
    // Equal times are ordered by arrival.
    let v = [("User", "v")];
    assert!(h.feed("b", 100 * S, &v).is_empty());
    assert!(h.feed("a", 100 * S, &v).is_empty());
    assert!(h.feed("c", 101 * S, &v).is_empty());
    assert!(h.feed("b", 101 * S, &v).is_empty());
    assert_eq!(h.values("c", 101 * S, &v), vec![3.0]);
    // The chain must fit in the window: a at 200 s has left when c comes at 501 s.
    let w = [("User", "w")];
    assert!(h.feed("a", 200 * S, &w).is_empty());
    assert!(h.feed("b", 300 * S, &w).is_empty());
    assert!(h.feed("c", 501 * S, &w).is_empty());
}

#[test]
fn temporal_ordered_accepts_a_late_event_that_completes_the_order() {
    let yaml = TEMPORAL.replace("type: temporal", "type: temporal_ordered");
    let config = CorrelationConfig {
        lateness_ns: 5 * S,
        ..CorrelationConfig::default()
    };
    let mut h = Harness::with_config(&yaml, config);
    let u = [("User", "u")];
    assert!(h.feed("a", 10 * S, &u).is_empty());
    assert!(h.feed("c", 12 * S, &u).is_empty());
    let m = h.feed("b", 11 * S, &u);
    assert_eq!(m.len(), 1);
    assert_eq!(
        (m[0].first, m[0].last),
        (Timestamp(10 * S), Timestamp(12 * S))
    );
}

/// A tiny deterministic generator for the model tests.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn temporal_ordered_agrees_with_a_rescanning_model() {
    // The engine keeps incremental chains; the model rescans its window on every event
    // with the greedy subsequence test. Late events and the entry cap included.
    let yaml = "title: ordered\ncorrelation:\n  type: temporal_ordered\n  rules: [a, b, c]\n  group-by: [User]\n  timespan: 20s\n";
    for seed in 1..40u64 {
        let config = CorrelationConfig {
            max_entries_per_group: 2 + (seed % 6) as usize,
            lateness_ns: (seed % 4) as i64 * 3 * S,
            ..CorrelationConfig::default()
        };
        let mut h = Harness::with_config(yaml, config);
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let span = 20 * S;
        let mut now: Option<i64> = None;
        let mut max_t = i64::MIN;
        let mut window: Vec<(i64, u64, usize)> = Vec::new();
        let mut seq = 0u64;
        let mut clock = 0i64;
        for step in 0..400 {
            clock += rng.below(4) as i64 * S;
            let t = clock - rng.below(12) as i64 * S;
            let slot = rng.below(3) as usize;
            let got = !h.feed(RULES[slot], t, &[("User", "u")]).is_empty();
            // The model.
            let mut want = false;
            let accepted = now.is_none_or(|n| t >= n - config.lateness_ns);
            if accepted {
                now = Some(now.map_or(t, |n| n.max(t)));
                max_t = max_t.max(t);
                let start = max_t - span;
                if t >= start {
                    window.retain(|e| e.0 >= start);
                    seq += 1;
                    let at = window.partition_point(|e| (e.0, e.1) <= (t, seq));
                    window.insert(at, (t, seq, slot));
                    while window.len() > config.max_entries_per_group {
                        window.remove(0);
                    }
                    let mut need = 0;
                    for e in &window {
                        if need < 3 && e.2 == need {
                            need += 1;
                        }
                    }
                    if need == 3 {
                        want = true;
                        window.clear();
                    }
                }
            }
            assert_eq!(got, want, "seed {seed} step {step} t {t} slot {slot}");
        }
    }
}

#[test]
fn value_sum_and_value_avg() {
    let yaml = "title: exfil\ncorrelation:\n  type: value_sum\n  rules: [a]\n  group-by: [User]\n  timespan: 60s\n  condition:\n    field: Bytes\n    gt: 1000\n---\ntitle: avg\ncorrelation:\n  type: value_avg\n  rules: [b]\n  group-by: [User]\n  timespan: 60s\n  condition:\n    field: Bytes\n    gt: 500\n";
    let mut h = Harness::new(yaml);
    let u = ("User", "u");
    assert!(h.feed("a", 0, &[u, ("Bytes", "400")]).is_empty());
    assert!(h.feed("a", 10 * S, &[u, ("Bytes", "400")]).is_empty());
    let m = h.feed("a", 20 * S, &[u, ("Bytes", "300")]);
    assert_eq!((m[0].correlation, m[0].value), (0, 1100.0));
    // Expiry subtracts.
    assert!(h.feed("a", 100 * S, &[u, ("Bytes", "600")]).is_empty());
    assert!(h.feed("a", 161 * S, &[u, ("Bytes", "300")]).is_empty());
    assert_eq!(
        h.values("a", 162 * S, &[u, ("Bytes", "0x320")]),
        vec![1100.0]
    );
    // Averages; values that are not numbers take no part.
    assert!(h.feed("b", 0, &[u, ("Bytes", "100")]).is_empty());
    assert!(h.feed("b", S, &[u, ("Bytes", "lots")]).is_empty());
    assert!(h.feed("b", 2 * S, &[u, ("Bytes", "800")]).is_empty());
    let m = h.feed("b", 3 * S, &[u, ("Bytes", "1500")]);
    assert_eq!((m[0].correlation, m[0].value), (1, 800.0));
}

#[test]
fn value_percentile_without_percentile_is_the_share_of_the_value() {
    // The specification's example: a process name making up at most 1% (here 10%) of
    // the processes a computer ran in the window.
    let yaml = "title: rare\ncorrelation:\n  type: value_percentile\n  rules: [a]\n  group-by: [ComputerName]\n  timespan: 24h\n  condition:\n    field: Image\n    lte: 10\n";
    let mut h = Harness::new(yaml);
    let pc = ("ComputerName", "pc");
    for i in 0..9 {
        assert!(h.feed("a", i * S, &[pc, ("Image", "cmd.exe")]).is_empty());
    }
    let m = h.feed("a", 9 * S, &[pc, ("Image", "evil.exe")]);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].value, 10.0);
    // The baseline is kept: common values stay quiet, a second rare one is 2/12.
    assert!(h.feed("a", 10 * S, &[pc, ("Image", "cmd.exe")]).is_empty());
    assert!(h.feed("a", 11 * S, &[pc, ("Image", "evil.exe")]).is_empty());
    assert_eq!(
        h.values("a", 12 * S, &[pc, ("Image", "x.exe")]),
        vec![100.0 / 13.0]
    );
}

#[test]
fn value_percentile_with_percentile_is_the_nearest_rank_value() {
    let yaml = "title: median\ncorrelation:\n  type: value_percentile\n  rules: [a]\n  group-by: [Host]\n  timespan: 60s\n  condition:\n    field: Duration\n    percentile: 50\n    gte: 100\n";
    let mut h = Harness::new(yaml);
    let host = ("Host", "h");
    assert!(h.feed("a", 0, &[host, ("Duration", "10")]).is_empty());
    assert!(h.feed("a", S, &[host, ("Duration", "200")]).is_empty()); // median of 2: 10
    assert_eq!(
        h.values("a", 2 * S, &[host, ("Duration", "300")]),
        vec![200.0]
    );
    // After the reset the window starts afresh; expiry removes values again.
    assert!(h.feed("a", 101 * S, &[host, ("Duration", "1")]).is_empty());
    assert!(h.feed("a", 102 * S, &[host, ("Duration", "2")]).is_empty()); // 1
    assert!(
        h.feed("a", 160 * S, &[host, ("Duration", "300")])
            .is_empty()
    ); // 2
    // 1 and 2 have left: 300 and 400 remain.
    assert_eq!(
        h.values("a", 163 * S, &[host, ("Duration", "400")]),
        vec![300.0]
    );
}

#[test]
fn two_heaps_agree_with_sorting() {
    let mut rng = Rng(7);
    for p in [0.0, 1.0, 25.0, 50.0, 90.0, 99.5, 100.0] {
        let mut h = TwoHeaps::new(p);
        let mut all: Vec<f64> = Vec::new();
        for _ in 0..2000 {
            if all.is_empty() || rng.below(3) > 0 {
                let x = rng.below(50) as f64 - 20.0;
                h.insert(x);
                all.push(x);
            } else {
                let x = all.swap_remove(rng.below(all.len() as u64) as usize);
                h.remove(x);
            }
            let mut sorted = all.clone();
            sorted.sort_by(f64::total_cmp);
            let want = if sorted.is_empty() {
                None
            } else {
                let rank =
                    ((p * sorted.len() as f64 / 100.0).ceil() as usize).clamp(1, sorted.len());
                Some(sorted[rank - 1])
            };
            assert_eq!(h.value(), want, "p {p}");
        }
    }
}

#[test]
fn aliases_map_one_name_to_a_field_per_rule() {
    let yaml = "title: alias\ncorrelation:\n  type: temporal\n  rules: [internal_error, new_network_connection]\n  group-by: [internal_ip, remote_ip]\n  timespan: 10s\n  aliases:\n    internal_ip:\n      internal_error: destination.ip\n      new_network_connection: source.ip\n    remote_ip:\n      internal_error: source.ip\n      new_network_connection: destination.ip\n";
    let mut h = Harness::new(yaml);
    let err = [("destination.ip", "10.0.0.1"), ("source.ip", "1.2.3.4")];
    let conn = [("source.ip", "10.0.0.1"), ("destination.ip", "1.2.3.4")];
    assert!(h.feed("internal_error", 0, &err).is_empty());
    // The same addresses in the same fields are another group for this rule.
    assert!(h.feed("new_network_connection", S, &err).is_empty());
    let m = h.feed("new_network_connection", 2 * S, &conn);
    assert_eq!(m.len(), 1);
    assert_eq!(
        m[0].group,
        group(&[("internal_ip", "10.0.0.1"), ("remote_ip", "1.2.3.4")])
    );
    assert_eq!(m[0].rules, vec!["internal_error", "new_network_connection"]);
}

/// The specification's closing example.
const CHAIN: &str = "title: Correlation - Multiple Failed Logins Followed by Successful Login\nid: b180ead8-d58f-40b2-ae54-c8940995b9b6\ncorrelation:\n    type: temporal_ordered\n    rules:\n        - multiple_failed_login\n        - successful_login\n    group-by:\n        - User\n    timespan: 10m\nlevel: high\n---\ntitle: Multiple failed logons\nid: a8418a5a-5fc4-46b5-b23b-6c73beb19d41\nname: multiple_failed_login\ncorrelation:\n    type: event_count\n    rules:\n        - failed_login\n    group-by:\n        - User\n    timespan: 10m\n    condition:\n        gte: 10\n";

#[test]
fn chained_correlations_feed_each_other() {
    let mut h = Harness::new(CHAIN);
    let u = [("User", "alice"), ("Host", "h")];
    // A success first is out of order.
    assert!(h.feed("successful_login", 0, &u).is_empty());
    for i in 1..10 {
        assert!(h.feed("failed_login", i * S, &u).is_empty());
    }
    let inner = h.feed("failed_login", 10 * S, &u);
    assert_eq!(inner.len(), 1);
    assert_eq!(inner[0].correlation, 1);
    assert_eq!(inner[0].group, group(&[("User", "alice")]));
    let outer = h.feed("successful_login", 11 * S, &u);
    assert_eq!(outer.len(), 1);
    assert_eq!(outer[0].correlation, 0);
    assert_eq!(
        (outer[0].first, outer[0].last),
        (Timestamp(0), Timestamp(11 * S))
    );
    assert_eq!(
        outer[0].rules,
        vec!["multiple_failed_login", "successful_login"]
    );
    // generate defaults to false: neither base rule nor the inner correlation report on
    // their own; the outer one does.
    assert!(!h.engine.reports_base_rule(rule("failed_login")));
    assert!(!h.engine.reports_base_rule(rule("successful_login")));
    assert!(!h.engine.reports_correlation(1));
    assert!(h.engine.reports_correlation(0));
}

#[test]
fn chained_group_fields_come_from_the_inner_group_or_the_event() {
    // The outer correlation groups by Host, which the inner one does not: it is read
    // from the event that completed the inner match.
    let yaml = "title: outer\ncorrelation:\n  type: value_count\n  rules: [inner]\n  group-by: [Host]\n  timespan: 1h\n  condition:\n    field: User\n    gte: 2\n---\ntitle: inner\nname: inner\ncorrelation:\n  type: event_count\n  rules: [a]\n  group-by: [User]\n  timespan: 1h\n  condition:\n    gte: 2\n";
    let mut h = Harness::new(yaml);
    for (t, user) in [(0, "x"), (1, "x"), (2, "y")] {
        let out = h.feed("a", t * S, &[("User", user), ("Host", "h")]);
        assert_eq!(out.len(), usize::from(t == 1));
    }
    let out = h.feed("a", 3 * S, &[("User", "y"), ("Host", "h")]);
    let got: Vec<(usize, f64)> = out.iter().map(|m| (m.correlation, m.value)).collect();
    assert_eq!(got, vec![(1, 2.0), (0, 2.0)]);
    assert_eq!(out[1].group, group(&[("Host", "h")]));
}

#[test]
fn generate_keeps_base_rules_reported() {
    let yaml = "title: x\ngenerate: true\ncorrelation:\n  type: event_count\n  rules: [a]\n  group-by: [User]\n  timespan: 1m\n  generate: true\n  condition: {gte: 2}\n---\ntitle: y\ncorrelation:\n  type: temporal\n  rules: [a, b]\n  group-by: [User]\n  timespan: 1m\n---\ntitle: z\ncorrelation:\n  type: event_count\n  rules: [c]\n  group-by: [User]\n  timespan: 1m\n  generate: false\n  condition: {gte: 2}\n";
    let h = Harness::new(yaml);
    assert!(h.engine.reports_base_rule(rule("a")), "one user generates");
    assert!(!h.engine.reports_base_rule(rule("b")));
    assert!(!h.engine.reports_base_rule(rule("c")));
    assert!(h.engine.reports_base_rule(rule("failed_login")), "unused");
    assert!(h.engine.reports_base_rule(10_000));
}

#[test]
fn faulty_correlations_are_diagnosed_and_skipped() {
    let yaml = "title: good\ncorrelation:\n  type: event_count\n  rules: [a]\n  group-by: [User]\n  timespan: 1m\n  condition: {gte: 2}\n---\ntitle: unknown\nname: unknown\ncorrelation:\n  type: event_count\n  rules: [a, nope]\n  group-by: [User]\n  timespan: 1m\n  condition: {gte: 2}\n---\ntitle: p\nname: p\ncorrelation:\n  type: temporal\n  rules: [q, b]\n  group-by: [User]\n  timespan: 1m\n---\ntitle: q\nname: q\ncorrelation:\n  type: temporal\n  rules: [p, c]\n  group-by: [User]\n  timespan: 1m\n---\ntitle: self\nname: self\ncorrelation:\n  type: event_count\n  rules: [self]\n  group-by: [User]\n  timespan: 1m\n  condition: {gte: 2}\n---\ntitle: on unknown\ncorrelation:\n  type: event_count\n  rules: [unknown]\n  group-by: [User]\n  timespan: 1m\n  condition: {gte: 2}\n---\ntitle: no group\ncorrelation:\n  type: temporal\n  rules: [a, b]\n  timespan: 1m\n";
    let (mut h, diags) = Harness::with_diags(yaml, CorrelationConfig::default());
    assert!(
        diags
            .iter()
            .all(|d| d.code == Code::Correlation && d.is_error())
    );
    let messages: Vec<&str> = diags.iter().map(|d| d.message.as_str()).collect();
    let has = |needle: &str| messages.iter().any(|m| m.contains(needle));
    assert!(
        has("`unknown` skipped: unknown rule or correlation `nope`"),
        "{messages:?}"
    );
    assert!(
        has("`p` skipped: it is part of a reference cycle"),
        "{messages:?}"
    );
    assert!(
        has("`q` skipped: it is part of a reference cycle"),
        "{messages:?}"
    );
    assert!(
        has("`self` skipped: it is part of a reference cycle"),
        "{messages:?}"
    );
    assert!(
        has("`on unknown` skipped: it refers to correlation `unknown`, which is skipped"),
        "{messages:?}"
    );
    assert!(
        has("`no group` skipped: `group-by` is required for temporal correlations"),
        "{messages:?}"
    );
    assert_eq!(diags.len(), 6, "{messages:?}");
    assert!(diags.iter().all(|d| d.line > 0));
    assert!(h.engine.is_active(0));
    assert!((1..7).all(|i| !h.engine.is_active(i)));
    // Skipped correlations do not keep their rules from being reported.
    assert!(h.engine.reports_base_rule(rule("b")));
    assert!(!h.engine.reports_base_rule(rule("a")));
    assert!(h.feed("a", 0, &[("User", "u")]).is_empty());
    assert_eq!(h.values("a", S, &[("User", "u")]), vec![2.0]);
}

#[test]
fn suspicious_conditions_are_warned_about() {
    let yaml = "title: upper only\ncorrelation:\n  type: event_count\n  rules: [a]\n  group-by: [User]\n  timespan: 1m\n  condition: {lt: 5}\n---\ntitle: too many\ncorrelation:\n  type: event_count\n  rules: [a]\n  group-by: [User]\n  timespan: 1m\n  condition: {gt: 3}\n";
    let config = CorrelationConfig {
        max_entries_per_group: 3,
        ..CorrelationConfig::default()
    };
    let (mut h, diags) = Harness::with_diags(yaml, config);
    assert_eq!(diags.len(), 2, "{diags:?}");
    assert!(diags.iter().all(|d| d.severity == Severity::Warning));
    assert!(diags[0].message.contains("every event fires"));
    assert!(diags[1].message.contains("never holds"));
    // Both still run: the first fires on each event, the second never.
    for i in 0..5 {
        let m = h.feed("a", i * S, &[("User", "u")]);
        assert_eq!(m.iter().map(|m| m.correlation).collect::<Vec<_>>(), vec![0]);
    }
    // The entry cap dropped the second correlation's oldest entries.
    assert_eq!(h.engine.evicted(), 2);
}

#[test]
fn late_events_within_lateness_count_older_ones_are_dropped() {
    let config = CorrelationConfig {
        lateness_ns: 5 * S,
        ..CorrelationConfig::default()
    };
    let mut h = Harness::with_config(EVENT_COUNT, config);
    let u = [("User", "u")];
    assert!(h.feed("a", 100 * S, &u).is_empty());
    assert!(h.feed("a", 96 * S, &u).is_empty()); // 4 s late: accepted
    assert!(h.feed("a", 94 * S, &u).is_empty()); // 6 s late: dropped
    assert_eq!(h.engine.late(), 1);
    let m = h.feed("a", 101 * S, &u);
    assert_eq!(m.len(), 1);
    assert_eq!((m[0].first, m[0].value), (Timestamp(96 * S), 3.0));
    // The watermark is per correlation: another group's late event is judged by it.
    assert!(h.feed("a", 95 * S, &[("User", "v")]).is_empty());
    assert_eq!(h.engine.late(), 2);
    // Without lateness, any step back is dropped.
    let mut h = Harness::new(EVENT_COUNT);
    assert!(h.feed("a", 100 * S, &u).is_empty());
    assert!(h.feed("a", 100 * S - 1, &u).is_empty());
    assert!(h.feed("a", 100 * S, &u).is_empty());
    assert_eq!(h.engine.late(), 1);
}

#[test]
fn bounds_evict_and_count() {
    let config = CorrelationConfig {
        max_groups: 2,
        ..CorrelationConfig::default()
    };
    let mut h = Harness::with_config(&EVENT_COUNT.replace("gte: 3", "gte: 2"), config);
    assert!(h.feed("a", 0, &[("User", "u1")]).is_empty());
    assert!(h.feed("a", 1, &[("User", "u2")]).is_empty());
    assert!(h.feed("a", 2, &[("User", "u1")]).len() == 1); // u1 now most recent
    assert!(h.feed("a", 3, &[("User", "u3")]).is_empty()); // evicts u2
    assert_eq!(h.engine.evicted(), 1);
    assert_eq!(h.engine.open_groups(), 2);
    assert!(h.feed("a", 4, &[("User", "u2")]).is_empty()); // its first event was lost
    assert_eq!(h.engine.evicted(), 2);
    // Groups whose windows can no longer be reached go without counting as evictions.
    let mut h = Harness::new(EVENT_COUNT);
    for (t, user) in [(0, "u1"), (1, "u2"), (11, "u3")] {
        assert!(h.feed("a", t * S, &[("User", user)]).is_empty());
    }
    assert_eq!(h.engine.open_groups(), 2); // u1 swept (newest 0 < 11 - 10)
    assert!(h.feed("a", 12 * S, &[("User", "u3")]).is_empty());
    assert_eq!(h.engine.open_groups(), 1);
    assert_eq!(h.engine.evicted(), 0);
}

/// Every type in one engine, with chaining, lateness and both bounds in play.
const ALL: &str = "title: count\ncorrelation:\n  type: event_count\n  rules: [a, b]\n  group-by: [User]\n  timespan: 20s\n  condition: {gte: 4}\n---\ntitle: distinct\nname: distinct\ncorrelation:\n  type: value_count\n  rules: [a]\n  group-by: [Host]\n  timespan: 30s\n  condition: {field: User, gte: 3}\n---\ntitle: temporal\ncorrelation:\n  type: temporal\n  rules: [a, b, c]\n  group-by: [User]\n  timespan: 15s\n---\ntitle: ordered\ncorrelation:\n  type: temporal_ordered\n  rules: [a, b, c]\n  group-by: [User]\n  timespan: 25s\n---\ntitle: sum\ncorrelation:\n  type: value_sum\n  rules: [b]\n  group-by: [User]\n  timespan: 20s\n  condition: {field: Bytes, gt: 700}\n---\ntitle: avg\ncorrelation:\n  type: value_avg\n  rules: [c]\n  group-by: [Host]\n  timespan: 20s\n  condition: {field: Bytes, gte: 80}\n---\ntitle: pct\ncorrelation:\n  type: value_percentile\n  rules: [a, c]\n  group-by: [Host]\n  timespan: 20s\n  condition: {field: Bytes, percentile: 90, gte: 95}\n---\ntitle: rare\ncorrelation:\n  type: value_percentile\n  rules: [a, b]\n  group-by: [Host]\n  timespan: 40s\n  condition: {field: Image, lte: 20}\n---\ntitle: chained\ncorrelation:\n  type: event_count\n  rules: [distinct]\n  group-by: [Host]\n  timespan: 60s\n  condition: {gte: 2}\n";

/// A base-rule match: rule name, time, fields.
type Input = (&'static str, i64, Vec<(&'static str, String)>);

fn stream(seed: u64, n: usize) -> Vec<Input> {
    let mut rng = Rng(seed);
    let mut clock = 0i64;
    (0..n)
        .map(|_| {
            clock += rng.below(3) as i64 * S;
            let t = clock - rng.below(4) as i64 * S;
            let rule = ["a", "b", "c"][rng.below(3) as usize];
            let fields = vec![
                ("User", format!("u{}", rng.below(4))),
                ("Host", format!("h{}", rng.below(3))),
                ("Bytes", format!("{}", rng.below(100) * 3)),
                ("Image", format!("i{}", rng.below(12).min(7))),
            ];
            (rule, t, fields)
        })
        .collect()
}

fn run(h: &mut Harness, events: &[Input]) -> Vec<CorrelationMatch> {
    let mut out = Vec::new();
    for (rule_name, t, fields) in events {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        out.extend(h.feed(rule_name, *t, &fields));
    }
    out
}

#[test]
fn checkpoint_restore_resumes_exactly() {
    let config = CorrelationConfig {
        max_groups: 3,
        max_entries_per_group: 6,
        lateness_ns: 2 * S,
    };
    for seed in [3u64, 17, 99, 12345] {
        let events = stream(seed, 600);
        let (before, after) = events.split_at(300);
        let mut a = Harness::with_config(ALL, config);
        let first = run(&mut a, before);
        assert!(!first.is_empty());
        let data = a.engine.checkpoint();
        let mut b = Harness::with_config(ALL, config);
        b.engine.restore(&data).unwrap();
        assert_eq!(
            b.engine.checkpoint(),
            data,
            "a restore reproduces the checkpoint"
        );
        assert_eq!(
            (b.engine.evicted(), b.engine.late()),
            (a.engine.evicted(), a.engine.late())
        );
        let from_a = run(&mut a, after);
        let from_b = run(&mut b, after);
        assert!(!from_a.is_empty());
        assert_eq!(from_a, from_b, "seed {seed}");
        assert_eq!(a.engine.checkpoint(), b.engine.checkpoint());
        // Every correlation fired somewhere in the stream.
        let fired: std::collections::BTreeSet<usize> =
            first.iter().chain(&from_a).map(|m| m.correlation).collect();
        assert_eq!(fired.len(), 9, "seed {seed}: {fired:?}");
    }
    assert!(Harness::new(ALL).engine.evicted() == 0);
}

#[test]
fn restore_rejects_other_correlations_and_garbage() {
    let mut a = Harness::new(ALL);
    run(&mut a, &stream(5, 50));
    let data = a.engine.checkpoint();
    let mut other = Harness::new(EVENT_COUNT);
    let before = other.engine.checkpoint();
    assert!(other.engine.restore(&data).is_err());
    assert!(other.engine.restore(b"{not json").is_err());
    let edited = String::from_utf8(data.clone())
        .unwrap()
        .replace("\"version\":1", "\"version\":9");
    assert!(a.engine.restore(edited.as_bytes()).is_err());
    assert_eq!(
        other.engine.checkpoint(),
        before,
        "a failed restore changes nothing"
    );
    // Same correlations, another order of documents: another fingerprint.
    let mut docs: Vec<&str> = ALL.split("---\n").collect();
    docs.swap(0, 1);
    let mut swapped = Harness::new(&docs.join("---\n"));
    assert!(swapped.engine.restore(&data).is_err());
}

fn corpora() -> PathBuf {
    std::env::var_os("WATCHFLOOR_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora"))
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(p);
        }
    }
}

#[test]
#[ignore = "needs ../shared/corpora"]
fn corpus_correlations_build_without_diagnostics() {
    let root = corpora().join("detection");
    assert!(
        root.is_dir(),
        "the shared corpora are absent at {}",
        root.display()
    );
    let mut files = Vec::new();
    yaml_files(&root.join("sigma-specification/tests"), &mut files);
    yaml_files(&root.join("hayabusa-rules-correlation"), &mut files);
    files.sort();
    let mut set = RuleSet::default();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let file: Arc<str> = Arc::from(path.to_string_lossy().as_ref());
        let mut diags = Vec::new();
        load_str(&file, &text, &mut set, &mut diags);
        let bad: Vec<_> = diags
            .iter()
            .filter(|d| d.code == Code::Correlation)
            .collect();
        assert!(bad.is_empty(), "{bad:?}");
    }
    assert!(set.correlations.len() >= 11, "{}", set.correlations.len());
    // Any reference resolves to some base rule (one per distinct name).
    let names: Vec<String> = set
        .correlations
        .iter()
        .flat_map(|c| c.rules.iter().cloned())
        .collect();
    let resolve = |r: &str| -> Vec<u32> {
        names
            .iter()
            .position(|n| n == r)
            .map(|i| vec![i as u32])
            .unwrap_or_default()
    };
    let table = FieldTable::new();
    let (engine, diags) = CorrelationEngine::new(
        &set.correlations,
        &resolve,
        &table,
        CorrelationConfig::default(),
    );
    assert!(diags.is_empty(), "{diags:#?}");
    assert!((0..set.correlations.len()).all(|i| engine.is_active(i)));
    // Each file's own base rules resolve in the hayabusa set: check those references
    // point at rules that the files define.
    let defined: Vec<&str> = set
        .rules
        .iter()
        .flat_map(|r| [r.meta.id.as_deref(), r.meta.name.as_deref()])
        .flatten()
        .collect();
    for c in set
        .correlations
        .iter()
        .filter(|c| c.meta.file.contains("hayabusa"))
    {
        for r in &c.rules {
            assert!(
                defined.contains(&r.as_str()),
                "{} refers to {r}",
                c.meta.title
            );
        }
    }
}
