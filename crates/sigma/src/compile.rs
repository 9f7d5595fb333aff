//! Rules to compiled matchers: field names resolved to ids, values to [`FieldTest`]s,
//! the condition to a tree over search indices, filters folded in, and the literals a
//! match requires collected for the engine's prefilter.

use std::collections::HashMap;
use std::sync::Arc;

use watchfloor_event::{FieldAccess, FieldId, FieldTable};

use crate::condition::{Condition, parse_condition};
use crate::diagnostic::{Code, Diagnostic, Pos};
use crate::event_text::EventText;
use crate::field_test::{FieldTest, ModifierError, Placeholders, RuleValue};
use crate::logsource::{LogSourceGuard, SYSMON_REGISTRY_CATEGORY};
use crate::rule::{Filter, Meta, Rule, RuleLogSource, RuleSet, Search};

/// A condition over the searches of one compiled rule.
#[derive(Debug)]
pub enum Cond {
    Search(usize),
    /// Whether the event's logsource is one this guard admits (a filter's logsource).
    Admits(Box<LogSourceGuard>),
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
}

#[derive(Debug)]
struct CompiledSearch {
    name: String,
    /// OR of AND-groups.
    groups: Vec<Vec<FieldTest>>,
}

/// A rule ready to evaluate.
#[derive(Debug)]
pub struct CompiledRule {
    pub meta: Arc<Meta>,
    pub logsource: RuleLogSource,
    pub guard: LogSourceGuard,
    guard_tests: Vec<FieldTest>,
    searches: Vec<CompiledSearch>,
    condition: Cond,
    /// Lower-cased literals, each with the field it must occur in (`None`: any string
    /// value, for keyword searches), of which one occurs in every event this rule
    /// matches; `None` when no such set is known.
    pub needles: Option<Vec<(String, Option<FieldId>)>>,
}

impl CompiledRule {
    /// Whether the rule matches `ev` (its logsource already admitted).
    pub fn matches<E: FieldAccess>(&self, ev: &E) -> bool {
        self.guard_holds(ev) && self.eval(&self.condition, ev, None)
    }

    /// As [`CompiledRule::matches`], sharing the per-event scratch of an evaluation
    /// (reset by the caller for each event).
    pub fn matches_in<E: FieldAccess>(&self, ev: &E, text: &mut EventText) -> bool {
        self.guard_holds(ev) && self.eval(&self.condition, ev, Some(text))
    }

    /// The logsource's field conditions, which only Sysmon registry events are held to.
    fn guard_holds<E: FieldAccess>(&self, ev: &E) -> bool {
        self.guard_tests.is_empty()
            || ev.logsource().category() != Some(SYSMON_REGISTRY_CATEGORY)
            || self.guard_tests.iter().all(|t| t.matches(ev))
    }

    fn eval<E: FieldAccess>(&self, cond: &Cond, ev: &E, mut text: Option<&mut EventText>) -> bool {
        match cond {
            Cond::Search(i) => self.searches.get(*i).is_some_and(|s| {
                s.groups
                    .iter()
                    .any(|g| g.iter().all(|t| t.matches_in(ev, text.as_deref_mut())))
            }),
            Cond::Admits(guard) => guard.admits(ev.logsource()),
            Cond::Not(c) => !self.eval(c, ev, text),
            Cond::And(cs) => cs.iter().all(|c| self.eval(c, ev, text.as_deref_mut())),
            Cond::Or(cs) => cs.iter().any(|c| self.eval(c, ev, text.as_deref_mut())),
        }
    }

    /// Every field the rule reads (searches and logsource conditions); `None` in the list
    /// stands for keyword searches, which read every field.
    pub fn fields(&self) -> impl Iterator<Item = Option<watchfloor_event::FieldId>> + '_ {
        self.searches
            .iter()
            .flat_map(|s| s.groups.iter().flatten())
            .chain(&self.guard_tests)
            .map(FieldTest::field)
    }

    /// The names of the searches that match `ev`, for explanations.
    pub fn matching_searches<E: FieldAccess>(&self, ev: &E) -> Vec<&str> {
        self.searches
            .iter()
            .filter(|s| s.groups.iter().any(|g| g.iter().all(|t| t.matches(ev))))
            .map(|s| s.name.as_str())
            .collect()
    }

    /// Field names the matching searches test, for showing matched values.
    pub fn matched_fields<E: FieldAccess>(&self, ev: &E) -> Vec<watchfloor_event::FieldId> {
        let mut out = Vec::new();
        for s in &self.searches {
            for g in &s.groups {
                if g.iter().all(|t| t.matches(ev)) {
                    out.extend(g.iter().filter_map(FieldTest::field));
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

/// Compiles every rule of `set`, folding in its filters. Rules that fail are reported and
/// left out; the rest compile.
pub fn compile(
    set: &RuleSet,
    table: &FieldTable,
    placeholders: &Placeholders,
    diags: &mut Vec<Diagnostic>,
) -> Vec<CompiledRule> {
    let mut filters_by_rule: HashMap<&str, Vec<&Filter>> = HashMap::new();
    for f in &set.filters {
        for r in &f.rules {
            filters_by_rule.entry(r.as_str()).or_default().push(f);
        }
    }
    let mut out = Vec::with_capacity(set.rules.len());
    for rule in &set.rules {
        let mut filters = Vec::new();
        for key in [rule.meta.id.as_deref(), rule.meta.name.as_deref()]
            .into_iter()
            .flatten()
        {
            filters.extend(filters_by_rule.get(key).into_iter().flatten().copied());
        }
        match compile_rule(rule, &filters, table, placeholders) {
            Ok(c) => out.push(c),
            Err(d) => diags.push(d),
        }
    }
    out
}

fn compile_rule(
    rule: &Rule,
    filters: &[&Filter],
    table: &FieldTable,
    placeholders: &Placeholders,
) -> Result<CompiledRule, Diagnostic> {
    let file = &rule.meta.file;
    let mut searches = Vec::with_capacity(rule.detection.searches.len());
    for search in &rule.detection.searches {
        searches.push(compile_search(
            search,
            &search.name,
            table,
            placeholders,
            file,
        )?);
    }
    let condition = compile_conditions(
        &rule.detection.conditions,
        &rule.detection.searches,
        0,
        file,
    )?;
    let mut condition = condition;
    for filter in filters {
        let base = searches.len();
        for search in &filter.detection.searches {
            let name = format!("{}:{}", filter.meta.title, search.name);
            searches.push(compile_search(
                search,
                &name,
                table,
                placeholders,
                &filter.meta.file,
            )?);
        }
        let fcond = compile_conditions(
            &filter.detection.conditions,
            &filter.detection.searches,
            base,
            &filter.meta.file,
        )?;
        // A filter tunes the events of its own logsource only.
        let scope = Cond::Admits(Box::new(LogSourceGuard::new(&filter.logsource)));
        let scoped = Cond::And(vec![scope, fcond]);
        condition = Cond::And(vec![condition, Cond::Not(Box::new(scoped))]);
    }
    let mut guard = LogSourceGuard::new(&rule.logsource);
    guard.stand_ins_excluded = rules_out_by_absent_field(&guard, &condition, &searches, table);
    let mut guard_tests = Vec::new();
    for (field, values) in &guard.extra {
        let values: Vec<RuleValue> = values
            .iter()
            .map(|v| RuleValue::Str(v.to_string()))
            .collect();
        let test = FieldTest::compile(table, Some(field), &[], &values, placeholders)
            .map_err(|e| Diagnostic::error(Code::Modifier, file, rule.meta.pos, e.to_string()))?;
        guard_tests.push(test);
    }
    let needles = needles(&condition, &searches).map(|n| n.literals);
    Ok(CompiledRule {
        meta: Arc::new(rule.meta.clone()),
        logsource: rule.logsource.clone(),
        guard,
        guard_tests,
        searches,
        condition,
        needles,
    })
}

/// Whether a search the condition negates tests a field that a Security event standing
/// in for the rule's category lacks: on such an event the search could never hold, so
/// its negation would always match.
fn rules_out_by_absent_field(
    guard: &LogSourceGuard,
    condition: &Cond,
    searches: &[CompiledSearch],
    table: &FieldTable,
) -> bool {
    let stand_ins: Vec<_> = guard.stand_ins().collect();
    if stand_ins.is_empty() {
        return false;
    }
    let mut negated = Vec::new();
    negated_searches(condition, false, &mut negated);
    negated
        .iter()
        .filter_map(|&i| searches.get(i))
        .flat_map(|s| s.groups.iter().flatten())
        .filter_map(|t| table.name(t.field()?))
        .any(|name| stand_ins.iter().any(|s| s.lacks(&name)))
}

/// The searches `cond` uses under an odd number of negations.
fn negated_searches(cond: &Cond, negated: bool, out: &mut Vec<usize>) {
    match cond {
        Cond::Search(i) if negated => out.push(*i),
        Cond::Search(_) | Cond::Admits(_) => {}
        Cond::Not(c) => negated_searches(c, !negated, out),
        Cond::And(cs) | Cond::Or(cs) => cs.iter().for_each(|c| negated_searches(c, negated, out)),
    }
}

fn compile_search(
    search: &Search,
    name: &str,
    table: &FieldTable,
    placeholders: &Placeholders,
    file: &Arc<str>,
) -> Result<CompiledSearch, Diagnostic> {
    let mut groups = Vec::with_capacity(search.groups.len());
    for group in &search.groups {
        let mut tests = Vec::with_capacity(group.len());
        for item in group {
            let modifiers: Vec<&str> = item.modifiers.iter().map(String::as_str).collect();
            let test = FieldTest::compile(
                table,
                item.field.as_deref(),
                &modifiers,
                &item.values,
                placeholders,
            )
            .map_err(|e| modifier_diagnostic(e, file, item.pos))?;
            tests.push(test);
        }
        groups.push(tests);
    }
    Ok(CompiledSearch {
        name: name.to_string(),
        groups,
    })
}

fn modifier_diagnostic(e: ModifierError, file: &Arc<str>, at: Pos) -> Diagnostic {
    let code = if matches!(e, ModifierError::UnresolvedPlaceholder { .. }) {
        Code::UnresolvedPlaceholder
    } else {
        Code::Modifier
    };
    Diagnostic::error(code, file, at, e.to_string())
}

/// The conditions of a detection (several mean OR) over its searches, whose indices start
/// at `base` in the compiled rule.
fn compile_conditions(
    conditions: &[(String, Pos)],
    searches: &[Search],
    base: usize,
    file: &Arc<str>,
) -> Result<Cond, Diagnostic> {
    let names: Vec<&str> = searches.iter().map(|s| s.name.as_str()).collect();
    let mut out = Vec::with_capacity(conditions.len());
    for (text, at) in conditions {
        let located = |column: usize| Pos {
            line: at.line,
            column: at.column + column.saturating_sub(1),
        };
        let parsed = parse_condition(text).map_err(|e| {
            let code = if e.message.contains("aggregation") || e.message.contains("Sigma v1") {
                Code::LegacyAggregation
            } else {
                Code::ConditionSyntax
            };
            Diagnostic::error(code, file, located(e.column), e.message.clone())
        })?;
        let resolved = parsed
            .resolve(&names)
            .map_err(|m| Diagnostic::error(Code::UnknownSearch, file, *at, m))?;
        out.push(lower(&resolved, &names, base));
    }
    Ok(if out.len() == 1 {
        out.remove(0)
    } else {
        Cond::Or(out)
    })
}

fn lower(c: &Condition, names: &[&str], base: usize) -> Cond {
    match c {
        Condition::Search(n) => Cond::Search(base + names.iter().position(|x| x == n).unwrap_or(0)),
        Condition::Not(inner) => Cond::Not(Box::new(lower(inner, names, base))),
        Condition::And(cs) => Cond::And(cs.iter().map(|c| lower(c, names, base)).collect()),
        Condition::Or(cs) => Cond::Or(cs.iter().map(|c| lower(c, names, base)).collect()),
        // `resolve` expanded these; keep the semantics anyway.
        Condition::OneOf(_) | Condition::AllOf(_) => Cond::Or(Vec::new()),
    }
}

/// Literals one of which every match of `cond` needs, choosing the most selective set
/// where there is a choice.
/// Prefilter literals, each with the field it was taken from.
#[derive(Debug, Default)]
struct Needles {
    literals: Vec<(String, Option<FieldId>)>,
}

impl Needles {
    fn extend(&mut self, other: Needles) {
        self.literals.extend(other.literals);
    }
}

fn needles(cond: &Cond, searches: &[CompiledSearch]) -> Option<Needles> {
    match cond {
        Cond::Search(i) => {
            let search = searches.get(*i)?;
            let mut all = Needles::default();
            for group in &search.groups {
                // Literals of a field test are searched in that field only; those of a
                // keyword test in every value (one more pass over the event), so field
                // tests are preferred.
                let (field, best) = group
                    .iter()
                    .filter_map(|t| Some((t.field(), t.required_literals()?)))
                    .max_by_key(|(f, l)| (f.is_some(), selectivity(l)))?;
                all.extend(Needles {
                    literals: best.into_iter().map(|l| (l, field)).collect(),
                });
            }
            (!all.literals.is_empty()).then_some(all)
        }
        Cond::Not(_) | Cond::Admits(_) => None,
        Cond::And(cs) => cs
            .iter()
            .filter_map(|c| needles(c, searches))
            .max_by_key(|n| {
                let texts: Vec<&str> = n.literals.iter().map(|(l, _)| l.as_str()).collect();
                let fielded = n.literals.iter().all(|(_, f)| f.is_some());
                (fielded, selectivity(&texts))
            }),
        Cond::Or(cs) => {
            let mut all = Needles::default();
            for c in cs {
                all.extend(needles(c, searches)?);
            }
            (!all.literals.is_empty()).then_some(all)
        }
    }
}

/// Longer shortest needles filter better; an empty literal filters nothing.
fn selectivity<S: AsRef<str>>(literals: &[S]) -> usize {
    literals.iter().map(|l| l.as_ref().len()).min().unwrap_or(0)
}
