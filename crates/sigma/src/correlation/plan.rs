//! From correlation rules to the engine's plan: references resolved (to base rules or to
//! other correlations), cycles and other faults diagnosed, group-by fields and aliases
//! resolved to where each input's values come from, and the `generate` flags folded into
//! which rules are reported on their own.

use std::collections::HashMap;

use watchfloor_event::{FieldId, FieldTable};

use super::{CorrelationConfig, field, holds};
use crate::diagnostic::{Code, Diagnostic};
use crate::rule::{Comparison, Correlation, CorrelationKind};

/// What a correlation measures in a window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Measure {
    Count,
    Distinct,
    Sum,
    Avg,
    /// `value_percentile` with a `percentile` key.
    Percentile(f64),
    /// `value_percentile` without one: the share of the current value.
    Rarity,
    Temporal,
    Ordered,
}

/// What a measure reads from each input.
pub(super) enum Reads {
    Nothing,
    Text,
    Number,
}

impl Measure {
    pub fn reads(self) -> Reads {
        match self {
            Measure::Count | Measure::Temporal | Measure::Ordered => Reads::Nothing,
            Measure::Distinct | Measure::Rarity => Reads::Text,
            Measure::Sum | Measure::Avg | Measure::Percentile(_) => Reads::Number,
        }
    }
}

/// Where an input's value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Source {
    /// A field of the event.
    Event(FieldId),
    /// A group value of the inner correlation's match (chaining).
    Group(usize),
}

/// One correlation fed by one base rule or inner correlation.
#[derive(Debug)]
pub(super) struct Subscription {
    /// Index into [`Plan::actives`].
    pub active: usize,
    /// The rule positions the input stands for.
    pub mask: u64,
    pub group: Vec<Source>,
    pub value: Option<Source>,
}

/// A working correlation.
#[derive(Debug)]
pub(super) struct Active {
    /// Index into the correlations given to the engine.
    pub index: usize,
    pub measure: Measure,
    pub span: i64,
    pub condition: Vec<Comparison>,
    /// The rule references, by position.
    pub rules: Vec<String>,
    pub group_names: Vec<String>,
    /// Identifies the correlation in checkpoints.
    pub fingerprint: String,
    /// Correlations chained on this one.
    pub downstream: Vec<Subscription>,
}

#[derive(Debug, Default)]
pub(super) struct Plan {
    pub actives: Vec<Active>,
    /// Base rule index → the correlations it feeds.
    pub by_rule: Vec<Vec<Subscription>>,
    pub base_report: Vec<bool>,
    /// Per correlation index.
    pub corr_report: Vec<bool>,
    /// Correlation index → index into `actives`.
    pub active_of: Vec<Option<usize>>,
}

/// What a rule reference names.
#[derive(Clone, Debug, PartialEq)]
enum Target {
    Corr(usize),
    Base(Vec<u32>),
}

impl Target {
    fn overlaps(&self, other: &Target) -> bool {
        match (self, other) {
            (Target::Corr(a), Target::Corr(b)) => a == b,
            (Target::Base(a), Target::Base(b)) => a.iter().any(|r| b.contains(r)),
            _ => false,
        }
    }
}

fn label(c: &Correlation) -> &str {
    c.meta
        .id
        .as_deref()
        .or(c.meta.name.as_deref())
        .unwrap_or(&c.meta.title)
}

fn kind_name(kind: CorrelationKind) -> &'static str {
    match kind {
        CorrelationKind::EventCount => "event_count",
        CorrelationKind::ValueCount => "value_count",
        CorrelationKind::Temporal => "temporal",
        CorrelationKind::TemporalOrdered => "temporal_ordered",
        CorrelationKind::ValueSum => "value_sum",
        CorrelationKind::ValueAvg => "value_avg",
        CorrelationKind::ValuePercentile => "value_percentile",
    }
}

/// The smallest count a condition needs, if it has a lower bound.
fn lower_bound(condition: &[Comparison]) -> Option<f64> {
    condition
        .iter()
        .filter_map(|c| match *c {
            Comparison::Gt(x) => Some(x.floor() + 1.0),
            Comparison::Gte(x) | Comparison::Eq(x) => Some(x.ceil()),
            _ => None,
        })
        .reduce(f64::max)
}

pub(super) fn build(
    correlations: &[Correlation],
    resolve: &dyn Fn(&str) -> Vec<u32>,
    table: &FieldTable,
    config: &CorrelationConfig,
) -> (Plan, Vec<Diagnostic>) {
    let n = correlations.len();
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for (i, c) in correlations.iter().enumerate() {
        for key in [c.meta.id.as_deref(), c.meta.name.as_deref()]
            .into_iter()
            .flatten()
        {
            by_name.entry(key).or_insert(i);
        }
    }
    let lookup = |r: &str| -> Option<Target> {
        if let Some(&j) = by_name.get(r) {
            return Some(Target::Corr(j));
        }
        let mut rules = resolve(r);
        rules.sort_unstable();
        rules.dedup();
        (!rules.is_empty()).then_some(Target::Base(rules))
    };

    // Per correlation: what each reference names, its faults and its measure.
    let mut targets: Vec<Vec<Option<Target>>> = Vec::with_capacity(n);
    let mut errors: Vec<Vec<String>> = vec![Vec::new(); n];
    let mut measures = Vec::with_capacity(n);
    for (i, c) in correlations.iter().enumerate() {
        let errs = &mut errors[i];
        let kind = kind_name(c.kind);
        if c.rules.is_empty() {
            errs.push("it refers to no rules".to_string());
        }
        if c.rules.len() > 64 {
            errs.push(format!(
                "it refers to {} rules; at most 64 are supported",
                c.rules.len()
            ));
        }
        if c.group_by.is_empty() {
            errs.push(format!("`group-by` is required for {kind} correlations"));
        }
        if c.timespan_ns <= 0 {
            errs.push("`timespan` must be positive".to_string());
        }
        let measure = match c.kind {
            CorrelationKind::EventCount => Measure::Count,
            CorrelationKind::ValueCount => Measure::Distinct,
            CorrelationKind::ValueSum => Measure::Sum,
            CorrelationKind::ValueAvg => Measure::Avg,
            CorrelationKind::Temporal => Measure::Temporal,
            CorrelationKind::TemporalOrdered => Measure::Ordered,
            CorrelationKind::ValuePercentile => match c.percentile {
                Some(p) if (0.0..=100.0).contains(&p) => Measure::Percentile(p),
                Some(p) => {
                    errs.push(format!("`percentile` {p} is not between 0 and 100"));
                    Measure::Rarity
                }
                None => Measure::Rarity,
            },
        };
        let temporal = matches!(measure, Measure::Temporal | Measure::Ordered);
        if c.condition.is_empty() && !temporal {
            errs.push(format!("a `condition` is required for {kind} correlations"));
        }
        if !matches!(measure.reads(), Reads::Nothing) && c.condition_field.is_none() {
            errs.push(format!(
                "the condition needs a `field` for {kind} correlations"
            ));
        }
        let mut refs = Vec::with_capacity(c.rules.len());
        for r in &c.rules {
            let target = lookup(r);
            if target.is_none() {
                errs.push(format!("unknown rule or correlation `{r}`"));
            }
            refs.push(target);
        }
        targets.push(refs);
        measures.push(measure);
    }

    // Reference cycles among correlations.
    let edges: Vec<Vec<usize>> = targets
        .iter()
        .map(|refs| {
            refs.iter()
                .filter_map(|t| match t {
                    Some(Target::Corr(j)) => Some(*j),
                    _ => None,
                })
                .collect()
        })
        .collect();
    let in_cycle: Vec<bool> = (0..n).map(|i| reaches(&edges, i, i)).collect();
    let mut ok: Vec<bool> = (0..n)
        .map(|i| errors[i].is_empty() && !in_cycle[i])
        .collect();
    let mut failed_dep: Vec<Option<usize>> = vec![None; n];
    loop {
        let mut changed = false;
        for i in 0..n {
            if !ok[i] {
                continue;
            }
            if let Some(&j) = edges[i].iter().find(|&&j| !ok[j]) {
                ok[i] = false;
                failed_dep[i] = Some(j);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }

    let mut diags = Vec::new();
    let error = |c: &Correlation, message: String| {
        Diagnostic::error(
            Code::Correlation,
            &c.meta.file,
            c.meta.pos,
            format!("correlation `{}` skipped: {message}", c.meta.title),
        )
    };
    let warning = |c: &Correlation, message: String| {
        Diagnostic::warning(
            Code::Correlation,
            &c.meta.file,
            c.meta.pos,
            format!("correlation `{}`: {message}", c.meta.title),
        )
    };
    for (i, c) in correlations.iter().enumerate() {
        for e in &errors[i] {
            diags.push(error(c, e.clone()));
        }
        if errors[i].is_empty() && in_cycle[i] {
            diags.push(error(c, "it is part of a reference cycle".to_string()));
        } else if let Some(j) = failed_dep[i] {
            diags.push(error(
                c,
                format!(
                    "it refers to correlation `{}`, which is skipped",
                    label(&correlations[j])
                ),
            ));
        }
    }

    let mut plan = Plan {
        active_of: vec![None; n],
        ..Plan::default()
    };
    for (i, c) in correlations.iter().enumerate() {
        if !ok[i] {
            continue;
        }
        let measure = measures[i];
        let mut condition = c.condition.clone();
        if condition.is_empty() {
            condition.push(Comparison::Gte(c.rules.len() as f64));
        }
        if matches!(measure, Measure::Count | Measure::Distinct) {
            if holds(&condition, 1.0) {
                diags.push(warning(
                    c,
                    "the condition holds for a single event, so every event fires".to_string(),
                ));
            }
            if lower_bound(&condition).is_some_and(|l| l > config.max_entries_per_group as f64) {
                diags.push(warning(
                    c,
                    format!(
                        "the condition needs more events in a window than the {} kept per group, so it never holds",
                        config.max_entries_per_group
                    ),
                ));
            }
        }
        if c.percentile.is_some() && c.kind != CorrelationKind::ValuePercentile {
            diags.push(warning(
                c,
                format!("`percentile` is ignored by {}", kind_name(c.kind)),
            ));
        }
        if c.condition_field.is_some() && matches!(measure.reads(), Reads::Nothing) {
            diags.push(warning(
                c,
                format!("the condition `field` is ignored by {}", kind_name(c.kind)),
            ));
        }
        plan.active_of[i] = Some(plan.actives.len());
        plan.actives.push(Active {
            index: i,
            measure,
            span: c.timespan_ns,
            condition,
            rules: c.rules.clone(),
            group_names: c.group_by.clone(),
            fingerprint: format!(
                "{} {} {:?} {:?} {}",
                kind_name(c.kind),
                label(c),
                c.rules,
                c.group_by,
                c.timespan_ns
            ),
            downstream: Vec::new(),
        });
    }

    // Where each input's group and value come from, and who feeds whom.
    let mut base_used: Vec<(bool, bool)> = Vec::new();
    let mut corr_used: Vec<(bool, bool)> = vec![(false, false); n];
    for (i, c) in correlations.iter().enumerate() {
        let Some(a) = plan.active_of[i] else {
            continue;
        };
        let refs: Vec<Target> = targets[i].iter().flatten().cloned().collect();
        for (alias, map) in &c.aliases {
            for (rule, _) in map {
                let known = c.rules.iter().any(|r| r == rule)
                    || lookup(rule).is_some_and(|t| refs.iter().any(|r| r.overlaps(&t)));
                if !known {
                    diags.push(warning(
                        c,
                        format!(
                            "alias `{alias}` names rule `{rule}`, which the correlation does not refer to"
                        ),
                    ));
                }
            }
        }
        for (slot, target) in refs.iter().enumerate() {
            let bit = 1u64 << slot;
            let mut field_of = |name: &str| -> String {
                let Some((_, map)) = c.aliases.iter().find(|(alias, _)| alias == name) else {
                    return name.to_string();
                };
                if let Some((_, f)) = map.iter().find(|(r, _)| *r == c.rules[slot]) {
                    return f.clone();
                }
                if let Some((_, f)) = map
                    .iter()
                    .find(|(r, _)| lookup(r).is_some_and(|t| t.overlaps(target)))
                {
                    return f.clone();
                }
                diags.push(warning(
                    c,
                    format!(
                        "alias `{name}` has no field for rule `{}`; the field `{name}` is used",
                        c.rules[slot]
                    ),
                ));
                name.to_string()
            };
            let source = |f: String| match target {
                Target::Corr(j) => match correlations[*j].group_by.iter().position(|g| *g == f) {
                    Some(pos) => Source::Group(pos),
                    None => Source::Event(field(table, &f)),
                },
                Target::Base(_) => Source::Event(field(table, &f)),
            };
            let group: Vec<Source> = c.group_by.iter().map(|g| source(field_of(g))).collect();
            let value = match measures[i].reads() {
                Reads::Nothing => None,
                _ => c.condition_field.as_deref().map(|f| source(field_of(f))),
            };
            match target {
                Target::Base(rules) => {
                    for &r in rules {
                        let r = r as usize;
                        if plan.by_rule.len() <= r {
                            plan.by_rule.resize_with(r + 1, Vec::new);
                            base_used.resize(r + 1, (false, false));
                        }
                        subscribe(&mut plan.by_rule[r], a, bit, &group, &value);
                        base_used[r].0 = true;
                        base_used[r].1 |= c.generate;
                    }
                }
                Target::Corr(j) => {
                    let inner =
                        plan.active_of[*j].expect("dependencies of working correlations work");
                    subscribe(&mut plan.actives[inner].downstream, a, bit, &group, &value);
                    corr_used[*j].0 = true;
                    corr_used[*j].1 |= c.generate;
                }
            }
        }
    }
    plan.base_report = base_used
        .iter()
        .map(|&(used, gen_)| !used || gen_)
        .collect();
    plan.corr_report = corr_used
        .iter()
        .map(|&(used, gen_)| !used || gen_)
        .collect();
    (plan, diags)
}

fn subscribe(
    list: &mut Vec<Subscription>,
    active: usize,
    bit: u64,
    group: &[Source],
    value: &Option<Source>,
) {
    match list
        .iter_mut()
        .find(|s| s.active == active && s.group == group && s.value == *value)
    {
        Some(s) => s.mask |= bit,
        None => list.push(Subscription {
            active,
            mask: bit,
            group: group.to_vec(),
            value: value.clone(),
        }),
    }
}

/// Whether `to` can be reached from `from` over at least one edge.
fn reaches(edges: &[Vec<usize>], from: usize, to: usize) -> bool {
    let mut seen = vec![false; edges.len()];
    let mut stack: Vec<usize> = edges[from].clone();
    while let Some(i) = stack.pop() {
        if i == to {
            return true;
        }
        if !std::mem::replace(&mut seen[i], true) {
            stack.extend(&edges[i]);
        }
    }
    false
}
