//! [`FieldTest`]: one Sigma `field|modifiers: values` item (or a keyword list), compiled
//! into a matcher over [`FieldAccess`] events.
//!
//! This module owns the semantics of a detection item: how rule values of each type meet
//! event values of each type, lists (OR, or AND with `all`), multi-valued fields, `null`,
//! `exists`, `neq`, regular expressions, CIDR networks, numeric and time comparisons,
//! field references and keyword searches; and the prefilter literals a test guarantees
//! ([`FieldTest::required_literals`]). Modifier parsing and value transformations are in
//! [`crate::modifier`], string patterns and case folding in [`crate::pattern`].
//!
//! Decisions where the specification leaves room:
//! - `field: null` matches when the field is absent or all its values are null; `''`
//!   matches only an empty string.
//! - `neq` (on any kind of value) matches when the field has a non-null value and none of
//!   its values matches any rule value ("different from the specified values"); an absent
//!   or null-only field does not match. `neq` with `all` means the same.
//! - An empty value list never matches (`exists` and `all` reject it).
//! - A keyword value without `contains`/`startswith`/`endswith` is searched as a substring
//!   of every value of the event (as pySigma's matcher and most backends do).
//! - String rule values meet numbers and booleans through their textual form (`Display`);
//!   an unwildcarded string that reads as an integer (`'4688'`, `'0x17'`) also equals that
//!   integer numerically. Integer rule values equal integers, integral floats and strings
//!   holding a decimal or `0x` integer.
//! - Time modifiers read the components as written (`2024-01-02T03:04:05+02:00` has hour
//!   3: the spec excludes time zone conversion); ISO week numbers.
//! - Field references compare case-insensitively unless `cased`, and need both fields.

use std::net::IpAddr;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use foldhash::HashSet;
use regex::{Regex, RegexBuilder};
use watchfloor_event::{FieldAccess, FieldId, FieldTable, Value};

use crate::event_text::{Arena, EventText};
use crate::modifier::{Chain, ChainKind, CmpOp, MAX_ALTERNATIVES, Modifier, TimePart, transform};
pub use crate::modifier::{ModifierError, Placeholders, RuleValue};
use crate::pattern::{
    StrPattern, Tok, fold_case, has_wildcards, regex_literal, with_folded, with_text,
};

/// Largest compiled program of one `re` value, so hostile patterns cannot blow up memory.
/// (SigmaHQ has `\w{1,64}`, which with Unicode classes compiles to over 1 MiB.)
const REGEX_SIZE_LIMIT: usize = 10 << 20;
/// Cache limit of the lazy DFA of one `re` value.
const REGEX_DFA_SIZE_LIMIT: usize = 2 << 20;
const REGEX_NEST_LIMIT: u32 = 64;
/// From this many `contains` values in one OR list, they share one Aho-Corasick automaton.
const AC_MIN_NEEDLES: usize = 6;
/// From this many `startswith` (or `endswith`) values in one OR list, they are compared
/// as a set.
const AFFIX_MIN_NEEDLES: usize = 4;
/// From this many plain values in one OR list, they are looked up in a hash set.
const EXACT_MIN_VALUES: usize = 8;

/// A compiled test of one field (or, for keywords, of every value of the event).
#[derive(Clone, Debug)]
pub struct FieldTest {
    field: Option<FieldId>,
    test: Test,
    literals: Option<Vec<String>>,
}

#[derive(Clone, Debug)]
enum Test {
    /// An empty value list.
    Never,
    Exists(bool),
    /// `field: null`: absent or null; with `neq`: some non-null value.
    Null {
        negate: bool,
    },
    Values {
        /// With `all`, one group per rule value, each to be matched; else a single group.
        groups: Vec<Group>,
        all: bool,
        negate: bool,
    },
    FieldRef {
        refs: Vec<FieldId>,
        mode: RefMode,
        cased: bool,
        all: bool,
        negate: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RefMode {
    Equal,
    Prefix,
    Suffix,
    Contains,
}

/// Alternatives one of which must match one event value.
#[derive(Clone, Debug, Default)]
struct Group {
    /// Case-insensitive `contains` needles of an OR list, in one automaton.
    contains: Option<AcSet>,
    /// Case-insensitive ASCII whole values of an OR list.
    exact: Option<ExactSet>,
    /// Case-insensitive ASCII `startswith` / `endswith` needles of an OR list.
    prefixes: Option<AffixSet>,
    suffixes: Option<AffixSet>,
    /// Everything else.
    matchers: Vec<Matcher>,
    /// Some matcher may match a non-ASCII string only after full case folding.
    needs_fold: bool,
    /// Whether a needle of the sets (`contains`, `exact`, affixes) could occur in the text
    /// of a number or boolean. When none can, such values skip the sets entirely (no
    /// formatting, no folding): keyword searches meet every integer of an event.
    sets_match_numbers: bool,
}

/// Every byte the text of a number or boolean can hold, lower-cased: digits, sign, point,
/// `nan`, `inf`, `true`, `false`.
pub(crate) fn numeric_text_byte(b: u8) -> bool {
    b.is_ascii_digit() || b"-+.naiftruels".contains(&b.to_ascii_lowercase())
}

/// Substrings searched for in the folded value (one pass of folding into a reused
/// buffer, then one case-sensitive Aho-Corasick search that can use its SIMD prefilter;
/// measured several times faster than an ASCII-case-insensitive automaton on raw text).
#[derive(Clone, Debug)]
struct AcSet {
    ac: AhoCorasick,
    /// Whether some needle is pure ASCII. When none is, an ASCII value (which folds to
    /// ASCII) cannot contain any of them, and the fold and search are skipped.
    ascii_needle: bool,
    /// Each needle's literal for the prefilter.
    literals: Vec<Option<String>>,
    /// The folded needles, as searched.
    needles: Vec<Box<[u8]>>,
}

/// ASCII prefixes or suffixes, compared against the head or tail of the value lowercased
/// on the stack.
#[derive(Clone, Debug)]
struct AffixSet {
    suffix: bool,
    needles: Vec<Box<[u8]>>,
    max_len: usize,
    literals: Vec<Option<String>>,
}

/// ASCII whole values, looked up by the value lowercased on the stack.
#[derive(Clone, Debug)]
struct ExactSet {
    values: HashSet<Box<[u8]>>,
    max_len: usize,
}

impl ExactSet {
    #[inline]
    fn matches(&self, hay: &[u8]) -> bool {
        if hay.len() > self.max_len {
            return false;
        }
        let mut buf = [0u8; AFFIX_MAX];
        let b = &mut buf[..hay.len()];
        b.copy_from_slice(hay);
        b.make_ascii_lowercase();
        self.values.contains(&*b)
    }
}

/// Longest needle an [`AffixSet`] or [`ExactSet`] takes (its stack buffer).
const AFFIX_MAX: usize = 128;

impl AffixSet {
    #[inline]
    fn matches(&self, hay: &[u8]) -> bool {
        let n = hay.len().min(self.max_len);
        let part = if self.suffix {
            &hay[hay.len() - n..]
        } else {
            &hay[..n]
        };
        let mut buf = [0u8; AFFIX_MAX];
        let b = &mut buf[..n];
        b.copy_from_slice(part);
        b.make_ascii_lowercase();
        if self.suffix {
            self.needles.iter().any(|x| b.ends_with(x))
        } else {
            self.needles.iter().any(|x| b.starts_with(x))
        }
    }
}

#[derive(Clone, Debug)]
enum Matcher {
    /// A string pattern; `num` when the value also equals an integer numerically.
    Str {
        pat: StrPattern,
        num: Option<i64>,
    },
    Int(i64),
    Float(f64),
    Bool(bool),
    Regex {
        re: Regex,
        literal: Option<String>,
    },
    Cidr(Net),
    Compare(CmpOp, Num),
    Time(TimePart, CmpOp, i64),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Num {
    Int(i64),
    Float(f64),
}

impl FieldTest {
    /// Compiles one detection item. `field`: the field name as written (`CommandLine`),
    /// None for keyword lists. `modifiers`: the chain after `|`. `values`: the YAML values
    /// (a single value is a one-element slice).
    pub fn compile(
        table: &FieldTable,
        field: Option<&str>,
        modifiers: &[&str],
        values: &[RuleValue],
        placeholders: &Placeholders,
    ) -> Result<FieldTest, ModifierError> {
        let chain = Chain::parse(modifiers, field.is_some())?;
        if chain.all && values.len() < 2 {
            return Err(ModifierError::AllOnSingleValue);
        }
        let test = match chain.kind {
            ChainKind::Exists => Test::Exists(exists_value(values)?),
            _ if values.is_empty() => Test::Never,
            ChainKind::Plain => plain(&chain, field.is_none(), values, placeholders)?,
            ChainKind::FieldRef => {
                let (open_start, open_end) = chain.anchors();
                let mode = match (open_start, open_end) {
                    (false, false) => RefMode::Equal,
                    (false, true) => RefMode::Prefix,
                    (true, false) => RefMode::Suffix,
                    (true, true) => RefMode::Contains,
                };
                let refs = values
                    .iter()
                    .map(|v| Ok(table.intern(&field_name(v)?)))
                    .collect::<Result<Vec<_>, ModifierError>>()?;
                Test::FieldRef {
                    refs,
                    mode,
                    cased: chain.cased,
                    all: chain.all,
                    negate: chain.neq,
                }
            }
            kind => {
                let matchers = values
                    .iter()
                    .map(|v| typed_matcher(kind, v))
                    .collect::<Result<Vec<_>, _>>()?;
                let groups = if chain.all && !chain.neq {
                    matchers.into_iter().map(|m| Group::new(vec![m])).collect()
                } else {
                    vec![Group::new(matchers)]
                };
                Test::Values {
                    groups,
                    all: chain.all && !chain.neq,
                    negate: chain.neq,
                }
            }
        };
        let literals = literals(&test);
        Ok(FieldTest {
            field: field.map(|f| table.intern(f)),
            test,
            literals,
        })
    }

    /// Evaluates against an event. Allocates nothing for ASCII data; a case-insensitive
    /// non-ASCII value folds into a reused thread-local buffer.
    pub fn matches<E: FieldAccess>(&self, ev: &E) -> bool {
        self.matches_in(ev, None)
    }

    /// As [`FieldTest::matches`], with the evaluation's per-event scratch: keyword
    /// `contains` lists then search the event's lower-cased string arena in one pass.
    pub fn matches_in<E: FieldAccess>(&self, ev: &E, text: Option<&mut EventText>) -> bool {
        if let (
            None,
            Some(text),
            Test::Values {
                groups,
                all,
                negate: false,
            },
        ) = (self.field, text, &self.test)
        {
            let arena = text.arena(ev);
            let check = |g: &Group| {
                arena
                    .as_ref()
                    .and_then(|a| g.search_arena(a, ev))
                    .unwrap_or_else(|| ev.all_values().any(|v| g.matches(v)))
            };
            return if *all {
                groups.iter().all(check)
            } else {
                groups.first().is_some_and(check)
            };
        }
        match self.field {
            Some(id) => {
                if let Test::FieldRef {
                    refs,
                    mode,
                    cased,
                    all,
                    negate,
                } = &self.test
                {
                    return field_ref(ev, id, refs, *mode, *cased, *all, *negate);
                }
                self.eval(|| ev.values(id))
            }
            None => self.eval(|| ev.all_values()),
        }
    }

    fn eval<'v, I, F>(&self, values: F) -> bool
    where
        F: Fn() -> I,
        I: Iterator<Item = Value<'v>>,
    {
        match &self.test {
            Test::Never => false,
            Test::Exists(want) => values().next().is_some() == *want,
            Test::Null { negate } => values().any(|v| !v.is_null()) == *negate,
            Test::Values {
                groups,
                all,
                negate,
            } => {
                if *negate {
                    let mut present = false;
                    for v in values() {
                        if v.is_null() {
                            continue;
                        }
                        if groups.iter().any(|g| g.matches(v)) {
                            return false;
                        }
                        present = true;
                    }
                    present
                } else if *all && groups.len() <= 64 {
                    // One pass over the values, marking the groups each satisfies.
                    let full = u64::MAX >> (64 - groups.len());
                    let mut done = 0u64;
                    for v in values() {
                        for (i, g) in groups.iter().enumerate() {
                            if done & (1 << i) == 0 && g.matches(v) {
                                done |= 1 << i;
                            }
                        }
                        if done == full {
                            return true;
                        }
                    }
                    false
                } else if *all {
                    groups.iter().all(|g| values().any(|v| g.matches(v)))
                } else {
                    let g = &groups[0];
                    values().any(|v| g.matches(v))
                }
            }
            // Only reachable for keywords, which cannot carry `fieldref`.
            Test::FieldRef { .. } => false,
        }
    }

    /// Lower-cased literal strings of which at least one occurs (as a substring) in some
    /// value of every matching event, or None when there is no such guarantee.
    ///
    /// Values are taken in their textual form: strings as they are, numbers and booleans
    /// as [`Value`]'s `Display` writes them (so `EventID: 4688` lists `"4688"` and, for
    /// `0x1250` spellings, `"1250"`). Every literal is ASCII, so an ASCII-case-insensitive
    /// search over the raw values finds it, as does a search over values folded with
    /// [`crate::pattern::fold_case`] or `str::to_lowercase`. An empty list means the test
    /// never matches.
    pub fn required_literals(&self) -> Option<Vec<String>> {
        self.literals.clone()
    }

    /// The field this test reads (None for keywords).
    pub fn field(&self) -> Option<FieldId> {
        self.field
    }
}

fn exists_value(values: &[RuleValue]) -> Result<bool, ModifierError> {
    match values {
        [RuleValue::Bool(b)] => Ok(*b),
        [RuleValue::Str(s)] if s.eq_ignore_ascii_case("true") => Ok(true),
        [RuleValue::Str(s)] if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ModifierError::ExistsValue),
    }
}

/// The field a `fieldref` value names.
fn field_name(v: &RuleValue) -> Result<String, ModifierError> {
    let text = match v {
        RuleValue::Str(s) => s.clone(),
        RuleValue::Int(_) => v.text(),
        _ => {
            return Err(ModifierError::ValueType {
                modifier: "fieldref".into(),
                kind: v.kind(),
                value: v.text(),
            });
        }
    };
    let toks = crate::pattern::parse_wildcards(&text);
    if has_wildcards(&toks) {
        return Err(ModifierError::Wildcards {
            modifier: "fieldref".into(),
            value: text,
        });
    }
    Ok(toks
        .into_iter()
        .map(|t| match t {
            Tok::Lit(l) => String::from_utf8_lossy(&l).into_owned(),
            _ => String::new(),
        })
        .collect())
}

/// Strings, numbers, booleans and null, through the chain's transformations.
fn plain(
    chain: &Chain,
    keyword: bool,
    values: &[RuleValue],
    placeholders: &Placeholders,
) -> Result<Test, ModifierError> {
    if values.contains(&RuleValue::Null) {
        if values.len() > 1 {
            return Err(ModifierError::NullInList);
        }
        if keyword {
            return Err(ModifierError::ValueType {
                modifier: "keyword search".into(),
                kind: "null",
                value: "null".into(),
            });
        }
        if let Some(m) = chain.transforms.first() {
            return Err(ModifierError::ValueType {
                modifier: m.name().into(),
                kind: "null",
                value: "null".into(),
            });
        }
        return Ok(Test::Null { negate: chain.neq });
    }
    let mut transforms = chain.transforms.clone();
    if keyword && !chain.has_anchor() {
        transforms.push(Modifier::Contains);
    }
    let stringy = !transforms.is_empty();
    let mut per_value: Vec<Vec<Matcher>> = Vec::with_capacity(values.len());
    for v in values {
        let text = match v {
            RuleValue::Str(s) => s.clone(),
            RuleValue::Int(_) | RuleValue::Float(_) if stringy => v.text(),
            RuleValue::Bool(_) if keyword => v.text(),
            RuleValue::Bool(_) if stringy => {
                return Err(ModifierError::ValueType {
                    modifier: transforms[0].name().into(),
                    kind: v.kind(),
                    value: v.text(),
                });
            }
            RuleValue::Int(i) => {
                per_value.push(vec![Matcher::Int(*i)]);
                continue;
            }
            RuleValue::Float(f) => {
                per_value.push(vec![Matcher::Float(*f)]);
                continue;
            }
            RuleValue::Bool(b) => {
                per_value.push(vec![Matcher::Bool(*b)]);
                continue;
            }
            RuleValue::Null => unreachable!("handled above"),
        };
        // The cap is per value: long literal lists (IOC lists) are the rule's own size.
        let alts = transform(&text, &transforms, placeholders, MAX_ALTERNATIVES)?;
        let mut matchers = Vec::with_capacity(alts.len());
        for alt in alts {
            let pat = StrPattern::compile(&alt, chain.cased)
                .map_err(|_| ModifierError::NotText(text.clone()))?;
            // An unwildcarded, untransformed string that reads as an integer also equals
            // that integer (`'0x17'` against an integer 23).
            let num = if transforms.is_empty() && !has_wildcards(&alt) {
                Value::Str(&text).as_i64()
            } else {
                None
            };
            matchers.push(Matcher::Str { pat, num });
        }
        per_value.push(matchers);
    }
    let all = chain.all && !chain.neq;
    let groups = if all {
        per_value.into_iter().map(Group::new).collect()
    } else {
        vec![Group::new(per_value.into_iter().flatten().collect())]
    };
    Ok(Test::Values {
        groups,
        all,
        negate: chain.neq,
    })
}

/// The matcher of one value under a regex, CIDR, comparison or time chain.
fn typed_matcher(kind: ChainKind, v: &RuleValue) -> Result<Matcher, ModifierError> {
    let wrong_type = |modifier: &str| ModifierError::ValueType {
        modifier: modifier.into(),
        kind: v.kind(),
        value: v.text(),
    };
    Ok(match kind {
        ChainKind::Regex {
            ignore_case,
            multi_line,
            dot_all,
        } => {
            let pattern = match v {
                RuleValue::Str(s) => s.clone(),
                RuleValue::Int(_) | RuleValue::Float(_) => v.text(),
                _ => return Err(wrong_type("re")),
            };
            let re = RegexBuilder::new(&pattern)
                .case_insensitive(ignore_case)
                .multi_line(multi_line)
                .dot_matches_new_line(dot_all)
                .size_limit(REGEX_SIZE_LIMIT)
                .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
                .nest_limit(REGEX_NEST_LIMIT)
                .build()
                .map_err(|e| ModifierError::Regex {
                    pattern: pattern.clone(),
                    message: e.to_string(),
                })?;
            let literal = regex_literal(&pattern, ignore_case);
            Matcher::Regex { re, literal }
        }
        ChainKind::Cidr => {
            let RuleValue::Str(s) = v else {
                return Err(wrong_type("cidr"));
            };
            Matcher::Cidr(Net::parse(s).ok_or_else(|| ModifierError::Cidr(s.clone()))?)
        }
        ChainKind::Compare(op) => {
            let name = match op {
                CmpOp::Lt => "lt",
                CmpOp::Lte => "lte",
                CmpOp::Gt => "gt",
                _ => "gte",
            };
            Matcher::Compare(op, number(v, name)?)
        }
        ChainKind::Time(part, op) => {
            let name = match part {
                TimePart::Minute => "minute",
                TimePart::Hour => "hour",
                TimePart::Day => "day",
                TimePart::Week => "week",
                TimePart::Month => "month",
                TimePart::Year => "year",
            };
            let n = match number(v, name)? {
                Num::Int(i) => i,
                Num::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => f as i64,
                Num::Float(_) => {
                    return Err(ModifierError::NotNumeric {
                        modifier: name.into(),
                        value: v.text(),
                    });
                }
            };
            Matcher::Time(part, op, n)
        }
        ChainKind::Plain | ChainKind::FieldRef | ChainKind::Exists => {
            unreachable!("not a typed chain")
        }
    })
}

/// A numeric rule value: a YAML number, or a string holding one (decimal, `0x` hex or
/// float).
fn number(v: &RuleValue, modifier: &str) -> Result<Num, ModifierError> {
    let bad = || ModifierError::NotNumeric {
        modifier: modifier.into(),
        value: v.text(),
    };
    match v {
        RuleValue::Int(i) => Ok(Num::Int(*i)),
        RuleValue::Float(f) if f.is_finite() => Ok(Num::Float(*f)),
        RuleValue::Str(s) => {
            let view = Value::Str(s);
            if let Some(i) = view.as_i64() {
                Ok(Num::Int(i))
            } else {
                view.as_f64()
                    .filter(|f| f.is_finite())
                    .map(Num::Float)
                    .ok_or_else(bad)
            }
        }
        _ => Err(bad()),
    }
}

impl Group {
    fn new(matchers: Vec<Matcher>) -> Group {
        let str_pat = |m: &Matcher| match m {
            Matcher::Str { pat, num: None } if !pat.is_cased() => Some(pat.clone()),
            _ => None,
        };
        let is_contains = |m: &Matcher| str_pat(m).is_some_and(|p| p.contains_needle().is_some());
        let is_affix = |m: &Matcher, suffix: bool| {
            str_pat(m).is_some_and(|p| {
                p.ascii_affix()
                    .is_some_and(|(s, n)| s == suffix && n.len() <= AFFIX_MAX)
            })
        };
        let mut group = Group::default();
        let mut rest = matchers;
        if rest.iter().filter(|m| is_contains(m)).count() >= AC_MIN_NEEDLES {
            let (needles, others): (Vec<Matcher>, Vec<Matcher>) =
                rest.into_iter().partition(|m| is_contains(m));
            let pats: Vec<StrPattern> = needles.iter().filter_map(str_pat).collect();
            let built = AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostFirst)
                .build(pats.iter().map(|p| p.contains_needle().unwrap_or_default()));
            match built {
                Ok(ac) => {
                    group.contains = Some(AcSet {
                        ac,
                        ascii_needle: pats
                            .iter()
                            .any(|p| p.contains_needle().is_some_and(<[u8]>::is_ascii)),
                        literals: pats
                            .iter()
                            .map(|p| p.literal().map(str::to_owned))
                            .collect(),
                        needles: pats
                            .iter()
                            .map(|p| p.contains_needle().unwrap_or_default().into())
                            .collect(),
                    });
                    rest = others;
                }
                // Too large for an automaton: keep the needles as separate matchers.
                Err(_) => rest = needles.into_iter().chain(others).collect(),
            }
        }
        let is_exact = |m: &Matcher| {
            str_pat(m).is_some_and(|p| p.ascii_exact().is_some_and(|n| n.len() <= AFFIX_MAX))
        };
        if rest.iter().filter(|m| is_exact(m)).count() >= EXACT_MIN_VALUES {
            let (exact, others): (Vec<Matcher>, Vec<Matcher>) =
                rest.into_iter().partition(|m| is_exact(m));
            let values: HashSet<Box<[u8]>> = exact
                .iter()
                .filter_map(str_pat)
                .filter_map(|p| p.ascii_exact().map(Box::from))
                .collect();
            group.exact = Some(ExactSet {
                max_len: values.iter().map(|v| v.len()).max().unwrap_or(0),
                values,
            });
            rest = others;
        }
        for suffix in [false, true] {
            if rest.iter().filter(|m| is_affix(m, suffix)).count() >= AFFIX_MIN_NEEDLES {
                let (affixes, others): (Vec<Matcher>, Vec<Matcher>) =
                    rest.into_iter().partition(|m| is_affix(m, suffix));
                let pats: Vec<StrPattern> = affixes.iter().filter_map(str_pat).collect();
                let needles: Vec<Box<[u8]>> = pats
                    .iter()
                    .filter_map(|p| p.ascii_affix().map(|(_, n)| n.into()))
                    .collect();
                let set = AffixSet {
                    suffix,
                    max_len: needles.iter().map(|n| n.len()).max().unwrap_or(0),
                    needles,
                    literals: pats
                        .iter()
                        .map(|p| p.literal().map(str::to_owned))
                        .collect(),
                };
                if suffix {
                    group.suffixes = Some(set);
                } else {
                    group.prefixes = Some(set);
                }
                rest = others;
            }
        }
        let numeric = |n: &[u8]| n.iter().all(|&b| numeric_text_byte(b));
        group.sets_match_numbers = group
            .contains
            .as_ref()
            .is_some_and(|c| c.needles.iter().any(|n| numeric(n)))
            || group
                .exact
                .as_ref()
                .is_some_and(|e| e.values.iter().any(|n| numeric(n)))
            || [&group.prefixes, &group.suffixes]
                .into_iter()
                .flatten()
                .any(|a| a.needles.iter().any(|n| numeric(n)));
        group.needs_fold = rest
            .iter()
            .any(|m| matches!(m, Matcher::Str { pat, .. } if pat.needs_fold()));
        group.matchers = rest;
        group
    }

    #[inline]
    fn matches(&self, v: Value<'_>) -> bool {
        if self.matchers.iter().any(|m| m.matches_fast(v)) {
            return true;
        }
        if self.contains.is_none()
            && self.exact.is_none()
            && self.prefixes.is_none()
            && self.suffixes.is_none()
            && !self.needs_fold
        {
            return false;
        }
        let text = |t: &str| {
            let b = t.as_bytes();
            if self.exact.as_ref().is_some_and(|e| e.matches(b))
                || self.prefixes.as_ref().is_some_and(|p| p.matches(b))
                || self.suffixes.as_ref().is_some_and(|p| p.matches(b))
            {
                return true;
            }
            let ascii = t.is_ascii();
            let fold_matchers = self.needs_fold && !ascii;
            let search_contains = self
                .contains
                .as_ref()
                .is_some_and(|c| c.ascii_needle || !ascii);
            (search_contains || fold_matchers)
                && with_folded(t, |f| {
                    (search_contains && self.contains.as_ref().is_some_and(|c| c.ac.is_match(f)))
                        || (fold_matchers && self.matchers.iter().any(|m| m.matches_folded(f)))
                })
        };
        match v {
            Value::Null => false,
            Value::Str(s) => text(s),
            other if self.sets_match_numbers => with_text(other, text).unwrap_or(false),
            _ => false,
        }
    }

    /// A keyword search of this group over the whole lowered arena: `None` when the
    /// group or arena does not allow it, or a hit is not inside one value (text across
    /// two values, or no longer a value); the caller then searches value by value.
    fn search_arena<E: FieldAccess>(&self, arena: &Arena<'_>, ev: &E) -> Option<bool> {
        let c = self.contains.as_ref()?;
        let only_contains = self.exact.is_none()
            && self.prefixes.is_none()
            && self.suffixes.is_none()
            && self.matchers.is_empty()
            && !self.sets_match_numbers;
        if !only_contains || !(arena.ascii || c.needles.iter().all(|n| n.is_ascii())) {
            return None;
        }
        match c.ac.find(arena.lowered) {
            None => Some(false),
            Some(m) if ev.string_value_spans(m.start(), m.end()) => Some(true),
            Some(_) => None,
        }
    }

    fn literals(&self) -> Option<Vec<String>> {
        let mut out = Vec::new();
        let sets = [
            self.contains.as_ref().map(|c| &c.literals),
            self.prefixes.as_ref().map(|p| &p.literals),
            self.suffixes.as_ref().map(|p| &p.literals),
        ];
        for l in sets.into_iter().flatten().flatten() {
            out.push(l.clone()?);
        }
        if let Some(e) = &self.exact {
            for v in &e.values {
                if v.is_empty() {
                    return None;
                }
                out.push(String::from_utf8_lossy(v).into_owned());
            }
        }
        for m in &self.matchers {
            out.extend(m.literals()?);
        }
        out.sort();
        out.dedup();
        Some(out)
    }

    /// No alternatives at all: never matches.
    fn is_empty(&self) -> bool {
        self.contains.is_none()
            && self.exact.is_none()
            && self.prefixes.is_none()
            && self.suffixes.is_none()
            && self.matchers.is_empty()
    }
}

impl Matcher {
    /// The match without full case folding (exact for everything but non-ASCII needles).
    #[inline]
    fn matches_fast(&self, v: Value<'_>) -> bool {
        match self {
            Matcher::Str { pat, num } => match v {
                Value::Str(s) => pat.match_bytes(s.as_bytes()),
                Value::Null => false,
                Value::Int(i) if *num == Some(i) => true,
                Value::Float(f) if num.is_some_and(|n| f.fract() == 0.0 && f == n as f64) => true,
                other => with_text(other, |t| pat.match_bytes(t.as_bytes())).unwrap_or(false),
            },
            Matcher::Int(n) => v.as_i64() == Some(*n),
            Matcher::Float(x) => v.as_f64() == Some(*x),
            Matcher::Bool(b) => match v {
                Value::Bool(x) => x == *b,
                Value::Str(s) => s
                    .trim()
                    .eq_ignore_ascii_case(if *b { "true" } else { "false" }),
                _ => false,
            },
            Matcher::Regex { re, .. } => with_text(v, |t| re.is_match(t)).unwrap_or(false),
            Matcher::Cidr(net) => match v {
                Value::Str(s) => parse_ip(s).is_some_and(|ip| net.contains(ip)),
                _ => false,
            },
            Matcher::Compare(op, num) => compare(v, *op, *num),
            Matcher::Time(part, op, n) => match v {
                Value::Str(s) => time_part(s, *part).is_some_and(|x| op.holds(x, *n)),
                _ => false,
            },
        }
    }

    /// The match of a folded non-ASCII string, for patterns that need it.
    fn matches_folded(&self, folded: &str) -> bool {
        match self {
            Matcher::Str { pat, .. } => pat.needs_fold() && pat.match_bytes(folded.as_bytes()),
            _ => false,
        }
    }

    fn literals(&self) -> Option<Vec<String>> {
        match self {
            Matcher::Str { pat, num } => {
                let mut out = vec![pat.literal()?.to_owned()];
                if let Some(n) = num {
                    out.extend(int_literals(*n));
                }
                Some(out)
            }
            Matcher::Int(n) => Some(int_literals(*n)),
            Matcher::Bool(b) => Some(vec![b.to_string()]),
            Matcher::Regex { literal, .. } => literal.clone().map(|l| vec![l]),
            Matcher::Float(_) | Matcher::Cidr(_) | Matcher::Compare(..) | Matcher::Time(..) => None,
        }
    }
}

/// Substrings of every textual form of `n` that [`Value::as_i64`] accepts: its decimal
/// digits (in any decimal spelling, signed or zero-padded) and its hex digits (in any
/// `0x` spelling, after folding).
fn int_literals(n: i64) -> Vec<String> {
    let abs = n.unsigned_abs();
    let mut out = vec![abs.to_string(), format!("{abs:x}")];
    out.dedup();
    out
}

/// The literals of a whole test (see [`FieldTest::required_literals`]).
fn literals(test: &Test) -> Option<Vec<String>> {
    match test {
        Test::Never => Some(Vec::new()),
        Test::Values {
            groups,
            negate: false,
            ..
        } => {
            // OR mode has one group; with `all`, any group's literals are required.
            groups
                .iter()
                .filter_map(Group::literals)
                .filter(|l| !l.is_empty())
                .max_by_key(|l| l.iter().map(String::len).min().unwrap_or(0))
                .or_else(|| {
                    // A group with no alternatives never matches.
                    groups.iter().any(Group::is_empty).then(Vec::new)
                })
        }
        _ => None,
    }
}

/// Numeric comparison of an event value with a rule number; non-numeric values fail.
fn compare(v: Value<'_>, op: CmpOp, num: Num) -> bool {
    match num {
        Num::Int(n) => match v.as_i64() {
            Some(i) => op.holds(i, n),
            None => v.as_f64().is_some_and(|f| op.holds(f, n as f64)),
        },
        Num::Float(x) => v.as_f64().is_some_and(|f| op.holds(f, x)),
    }
}

/// `fieldref`: some value of `id` relates to some value of the referenced field(s).
fn field_ref<E: FieldAccess>(
    ev: &E,
    id: FieldId,
    refs: &[FieldId],
    mode: RefMode,
    cased: bool,
    all: bool,
    negate: bool,
) -> bool {
    let related = |r: FieldId| {
        ev.values(id).any(|a| {
            ev.values(r).any(|b| {
                with_text(a, |ta| with_text(b, |tb| ref_match(ta, tb, mode, cased)))
                    .flatten()
                    .unwrap_or(false)
            })
        })
    };
    if negate {
        let present = |f: FieldId| ev.values(f).any(|v| !v.is_null());
        present(id) && refs.iter().all(|&r| present(r) && !related(r))
    } else if all {
        refs.iter().all(|&r| related(r))
    } else {
        refs.iter().any(|&r| related(r))
    }
}

fn ref_match(a: &str, b: &str, mode: RefMode, cased: bool) -> bool {
    if cased {
        return match mode {
            RefMode::Equal => a == b,
            RefMode::Prefix => a.starts_with(b),
            RefMode::Suffix => a.ends_with(b),
            RefMode::Contains => a.contains(b),
        };
    }
    if a.is_ascii() && b.is_ascii() {
        let (x, y) = (a.as_bytes(), b.as_bytes());
        return match mode {
            RefMode::Equal => x.eq_ignore_ascii_case(y),
            RefMode::Prefix => x.len() >= y.len() && x[..y.len()].eq_ignore_ascii_case(y),
            RefMode::Suffix => x.len() >= y.len() && x[x.len() - y.len()..].eq_ignore_ascii_case(y),
            RefMode::Contains => {
                y.is_empty() || x.windows(y.len()).any(|w| w.eq_ignore_ascii_case(y))
            }
        };
    }
    ref_match(&fold_case(a), &fold_case(b), mode, true)
}

/// An IPv4 or IPv6 network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Net {
    v6: bool,
    addr: u128,
    mask: u128,
}

impl Net {
    /// `10.0.0.0/8`, `fe80::/10`, or a single address. Host bits are masked off.
    fn parse(s: &str) -> Option<Net> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p.trim().parse::<u8>().ok()?)),
            None => (s, None),
        };
        let (v6, bits, addr) = match addr.trim().parse::<IpAddr>().ok()? {
            IpAddr::V4(a) => (false, 32u32, u128::from(u32::from(a))),
            IpAddr::V6(a) => (true, 128u32, u128::from(a)),
        };
        let prefix = u32::from(prefix.unwrap_or(bits as u8));
        if prefix > bits {
            return None;
        }
        let mask = if prefix == 0 {
            0
        } else {
            (u128::MAX << (128 - prefix)) >> (128 - bits)
        };
        Some(Net {
            v6,
            addr: addr & mask,
            mask,
        })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let bits = match (ip, self.v6) {
            (IpAddr::V4(a), false) => u128::from(u32::from(a)),
            (IpAddr::V6(a), false) => match a.to_ipv4_mapped() {
                Some(v4) => u128::from(u32::from(v4)),
                None => return false,
            },
            (IpAddr::V6(a), true) => u128::from(a),
            (IpAddr::V4(a), true) => u128::from(a.to_ipv6_mapped()),
        };
        bits & self.mask == self.addr
    }
}

/// An address as logs write it: trimmed, optionally in brackets, optionally with a zone.
fn parse_ip(s: &str) -> Option<IpAddr> {
    let mut s = s.trim();
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        s = inner;
    }
    if let Some((addr, _zone)) = s.split_once('%') {
        s = addr;
    }
    s.parse().ok()
}

/// The component of a timestamp written `YYYY-MM-DD[(T| )hh:mm[:ss[.fff]]][zone]` (RFC
/// 3339 and the common log form), as written: the zone is ignored.
fn time_part(s: &str, part: TimePart) -> Option<i64> {
    let b = s.trim().as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let d = b.get(r)?;
        if d.is_empty() || !d.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(d.iter().fold(0i64, |n, c| n * 10 + i64::from(c - b'0')))
    };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b.len() > 10 && b[10].is_ascii_digit() {
        return None;
    }
    let date = jiff::civil::Date::new(
        i16::try_from(y).ok()?,
        i8::try_from(mo).ok()?,
        i8::try_from(d).ok()?,
    )
    .ok()?;
    let time = || -> Option<(i64, i64)> {
        if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') {
            return None;
        }
        let (h, mi) = (num(11..13)?, num(14..16)?);
        if let Some(next) = b.get(16)
            && next.is_ascii_digit()
        {
            return None;
        }
        jiff::civil::Time::new(i8::try_from(h).ok()?, i8::try_from(mi).ok()?, 0, 0).ok()?;
        Some((h, mi))
    };
    Some(match part {
        TimePart::Year => i64::from(date.year()),
        TimePart::Month => i64::from(date.month()),
        TimePart::Day => i64::from(date.day()),
        TimePart::Week => i64::from(date.iso_week_date().week()),
        TimePart::Hour => time()?.0,
        TimePart::Minute => time()?.1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::Arc;
    use watchfloor_event::Event;

    fn s(v: &str) -> RuleValue {
        RuleValue::Str(v.to_owned())
    }

    struct Fx {
        table: Arc<FieldTable>,
    }

    impl Fx {
        fn new() -> Fx {
            Fx {
                table: FieldTable::new(),
            }
        }

        fn test(&self, field: &str, mods: &[&str], values: &[RuleValue]) -> FieldTest {
            self.try_test(Some(field), mods, values).unwrap()
        }

        fn try_test(
            &self,
            field: Option<&str>,
            mods: &[&str],
            values: &[RuleValue],
        ) -> Result<FieldTest, ModifierError> {
            let ph = Placeholders::from([
                (
                    "Admins".to_owned(),
                    vec!["root".to_owned(), "admin*".to_owned()],
                ),
                ("Servers".to_owned(), vec!["srv-*".to_owned()]),
            ]);
            FieldTest::compile(&self.table, field, mods, values, &ph)
        }

        fn ev(&self, fields: &[(&str, Value<'_>)]) -> Event {
            let mut ev = Event::new();
            for (name, v) in fields {
                let id = self.table.intern(name);
                ev.push(id, id, *v);
            }
            ev
        }

        /// Whether a one-field event with `v` in `field` matches.
        fn one(&self, t: &FieldTest, field: &str, v: Value<'_>) -> bool {
            t.matches(&self.ev(&[(field, v)]))
        }
    }

    use Value::{Bool as B, Float as F, Int as I, Null as N, Str as S};

    #[test]
    fn plain_strings_are_case_insensitive_equality() {
        let fx = Fx::new();
        let t = fx.test("Image", &[], &[s(r"C:\Windows\System32\cmd.exe")]);
        assert!(fx.one(&t, "Image", S(r"c:\windows\system32\CMD.EXE")));
        assert!(!fx.one(&t, "Image", S(r"c:\windows\system32\cmd.exe ")));
        assert!(!fx.one(&t, "Other", S(r"c:\windows\system32\cmd.exe")));
        assert!(!t.matches(&fx.ev(&[])));
        assert_eq!(t.field(), fx.table.lookup("Image"));
    }

    #[test]
    fn wildcards_and_escapes() {
        let fx = Fx::new();
        // A backslash before a letter is plain; before `*` it escapes the wildcard, and a
        // backslash followed by a wildcard is written `\\*`.
        let t = fx.test("Image", &[], &[s(r"C:\Windows\\*")]);
        assert!(fx.one(&t, "Image", S(r"C:\Windows\x.exe")));
        assert!(!fx.one(&t, "Image", S(r"C:\Windowsx")));
        let t = fx.test("Image", &[], &[s(r"C:\Windows\*")]);
        assert!(fx.one(&t, "Image", S(r"C:\Windows*")));
        assert!(!fx.one(&t, "Image", S(r"C:\Windows\x.exe")));
        let t = fx.test("Query", &["contains"], &[s(r"select \*")]);
        assert!(fx.one(&t, "Query", S("x SELECT * from")));
        assert!(!fx.one(&t, "Query", S("x SELECT a from")));
        let t = fx.test("Image", &[], &[s(r"*\prog?.exe")]);
        assert!(fx.one(&t, "Image", S(r"D:\x\ProgA.exe")));
        assert!(!fx.one(&t, "Image", S(r"D:\x\Prog.exe")));
        let t = fx.test("Text", &[], &[s(r"what\?")]);
        assert!(fx.one(&t, "Text", S("what?")));
        assert!(!fx.one(&t, "Text", S("whatx")));
        let t = fx.test("Text", &[], &[s(r"a\*b")]);
        assert!(fx.one(&t, "Text", S("a*b")));
        assert!(!fx.one(&t, "Text", S("axxb")));
        let t = fx.test("Text", &[], &[s(r"a\\*")]);
        assert!(fx.one(&t, "Text", S(r"a\anything")));
        let t = fx.test("Text", &[], &[s(r"a\\\*")]);
        assert!(fx.one(&t, "Text", S(r"a\*")));
        assert!(!fx.one(&t, "Text", S(r"a\x")));
        let t = fx.test("Text", &[], &[s("a*b*c")]);
        assert!(fx.one(&t, "Text", S("A--B--C")));
        assert!(!fx.one(&t, "Text", S("A--C--B")));
    }

    #[test]
    fn cased() {
        let fx = Fx::new();
        let t = fx.test("Text", &["cased"], &[s("Evil")]);
        assert!(fx.one(&t, "Text", S("Evil")));
        assert!(!fx.one(&t, "Text", S("evil")));
        let t = fx.test("Text", &["contains", "cased"], &[s("Evil")]);
        assert!(fx.one(&t, "Text", S("so Evil!")));
        assert!(!fx.one(&t, "Text", S("so EVIL!")));
    }

    #[test]
    fn contains_startswith_endswith() {
        let fx = Fx::new();
        let c = fx.test("CommandLine", &["contains"], &[s("WhoAmI")]);
        let st = fx.test("CommandLine", &["startswith"], &[s("cmd")]);
        let en = fx.test("CommandLine", &["endswith"], &[s("/all")]);
        let v = S("CMD /c whoami /ALL");
        assert!(fx.one(&c, "CommandLine", v));
        assert!(fx.one(&st, "CommandLine", v));
        assert!(fx.one(&en, "CommandLine", v));
        let w = S("powershell whoam");
        assert!(!fx.one(&c, "CommandLine", w));
        assert!(!fx.one(&st, "CommandLine", w));
        assert!(!fx.one(&en, "CommandLine", w));
        // Wildcards inside keep working with the anchors.
        let t = fx.test("CommandLine", &["contains"], &[s("net*user")]);
        assert!(fx.one(&t, "CommandLine", S("x NET1 USER y")));
    }

    #[test]
    fn lists_are_or_and_all_is_and() {
        let fx = Fx::new();
        let or = fx.test("CommandLine", &["contains"], &[s("-enc"), s("-nop")]);
        let and = fx.test("CommandLine", &["contains", "all"], &[s("-enc"), s("-nop")]);
        assert!(fx.one(&or, "CommandLine", S("ps -nop")));
        assert!(!fx.one(&and, "CommandLine", S("ps -nop")));
        assert!(fx.one(&and, "CommandLine", S("ps -nop -enc x")));
        // Many contains values share one automaton.
        let vals: Vec<RuleValue> = ["alpha", "beta", "gamma", "delta", "Épsilon"]
            .iter()
            .map(|v| s(v))
            .collect();
        let many = fx.test("T", &["contains"], &vals);
        assert!(fx.one(&many, "T", S("xx GAMMA yy")));
        assert!(fx.one(&many, "T", S("xx ÉPSILON yy")));
        assert!(fx.one(&many, "T", S("xx épsilon yy")));
        assert!(!fx.one(&many, "T", S("xx omega yy")));
        assert!(!fx.one(&many, "T", S("xx ömega yy")));
    }

    #[test]
    fn affix_lists() {
        let fx = Fx::new();
        let ends: Vec<RuleValue> = [
            r"\cmd.exe",
            r"\net.exe",
            r"\net1.exe",
            r"\whoami.exe",
            "ß.exe",
        ]
        .iter()
        .map(|v| s(v))
        .collect();
        let t = fx.test("Image", &["endswith"], &ends);
        assert!(fx.one(&t, "Image", S(r"C:\Windows\System32\NET1.EXE")));
        assert!(fx.one(&t, "Image", S(r"C:\Users\Jürgen\whoami.exe")));
        assert!(!fx.one(&t, "Image", S(r"C:\x\SS.exe")));
        assert!(fx.one(&t, "Image", S(r"C:\x\ẞ.EXE")));
        assert!(!fx.one(&t, "Image", S(r"C:\Windows\System32\net2.exe")));
        assert!(!fx.one(&t, "Image", S("exe")));
        let starts: Vec<RuleValue> = ["get-", "set-", "new-", "remove-"]
            .iter()
            .map(|v| s(v))
            .collect();
        let t = fx.test("Cmd", &["startswith"], &starts);
        assert!(fx.one(&t, "Cmd", S("Remove-Item x")));
        assert!(!fx.one(&t, "Cmd", S("x Remove-Item")));
        let mut lits = t.required_literals().unwrap();
        lits.sort();
        assert_eq!(lits, vec!["get-", "new-", "remove-", "set-"]);
    }

    #[test]
    fn long_value_lists() {
        let fx = Fx::new();
        // An IOC list longer than the expansion cap is fine: the cap is per value.
        let domains: Vec<RuleValue> = (0..5000).map(|i| s(&format!("evil{i}.Example"))).collect();
        let t = fx.test("QueryName", &[], &domains);
        assert!(fx.one(&t, "QueryName", S("EVIL4999.example")));
        assert!(!fx.one(&t, "QueryName", S("evil5000.example")));
        assert!(!fx.one(&t, "QueryName", S("evil1.example.org")));
        assert_eq!(t.required_literals().map(|l| l.len()), Some(5000));
        let numbers: Vec<RuleValue> = (0..10).map(|i| s(&i.to_string())).collect();
        let t = fx.test("Code", &[], &numbers);
        assert!(fx.one(&t, "Code", I(7)));
        assert!(fx.one(&t, "Code", S("7")));
        let t = fx.test("Code", &["contains"], &domains[..50]);
        assert!(fx.one(&t, "Code", S("x evil42.example y")));
        assert!(!fx.one(&t, "Code", S("x evil.example y")));
    }

    #[test]
    fn tests_are_shareable_between_threads() {
        fn check<T: Send + Sync + Clone>() {}
        check::<FieldTest>();
    }

    #[test]
    fn multi_valued_fields() {
        let fx = Fx::new();
        let ev = fx.ev(&[("Tag", S("first")), ("Tag", S("second")), ("Tag", I(3))]);
        assert!(fx.test("Tag", &[], &[s("second")]).matches(&ev));
        assert!(fx.test("Tag", &[], &[RuleValue::Int(3)]).matches(&ev));
        assert!(!fx.test("Tag", &[], &[s("third")]).matches(&ev));
        // `all`: each rule value matched by some event value.
        assert!(
            fx.test("Tag", &["all"], &[s("first"), s("second")])
                .matches(&ev)
        );
        assert!(
            !fx.test("Tag", &["all"], &[s("first"), s("fourth")])
                .matches(&ev)
        );
    }

    #[test]
    fn numbers_and_strings() {
        let fx = Fx::new();
        let t = fx.test("EventID", &[], &[RuleValue::Int(4688)]);
        assert!(fx.one(&t, "EventID", I(4688)));
        assert!(fx.one(&t, "EventID", S("4688")));
        assert!(fx.one(&t, "EventID", S(" 4688 ")));
        assert!(fx.one(&t, "EventID", S("0x1250")));
        assert!(fx.one(&t, "EventID", F(4688.0)));
        assert!(!fx.one(&t, "EventID", I(4689)));
        assert!(!fx.one(&t, "EventID", S("4688a")));
        assert!(!fx.one(&t, "EventID", B(true)));
        let t = fx.test("EventID", &[], &[s("4688")]);
        assert!(fx.one(&t, "EventID", I(4688)));
        assert!(fx.one(&t, "EventID", S("4688")));
        assert!(fx.one(&t, "EventID", F(4688.0)));
        let t = fx.test("TicketOptions", &[], &[s("0x40810000")]);
        assert!(fx.one(&t, "TicketOptions", S("0x40810000")));
        assert!(fx.one(&t, "TicketOptions", I(0x4081_0000)));
        let t = fx.test("Ratio", &[], &[RuleValue::Float(1.5)]);
        assert!(fx.one(&t, "Ratio", F(1.5)));
        assert!(fx.one(&t, "Ratio", S("1.5")));
        assert!(!fx.one(&t, "Ratio", F(1.25)));
        let t = fx.test("Ratio", &[], &[s("1.5")]);
        assert!(fx.one(&t, "Ratio", F(1.5)));
        let t = fx.test("Id", &["contains"], &[RuleValue::Int(46)]);
        assert!(fx.one(&t, "Id", I(4688)));
        assert!(fx.one(&t, "Id", S("x46x")));
    }

    #[test]
    fn booleans() {
        let fx = Fx::new();
        let t = fx.test("Enabled", &[], &[RuleValue::Bool(true)]);
        assert!(fx.one(&t, "Enabled", B(true)));
        assert!(fx.one(&t, "Enabled", S("True")));
        assert!(!fx.one(&t, "Enabled", B(false)));
        assert!(!fx.one(&t, "Enabled", I(1)));
        let t = fx.test("Enabled", &[], &[s("false")]);
        assert!(fx.one(&t, "Enabled", B(false)));
        assert!(
            fx.try_test(Some("E"), &["contains"], &[RuleValue::Bool(true)])
                .is_err()
        );
    }

    #[test]
    fn null_and_empty() {
        let fx = Fx::new();
        let t = fx.test("User", &[], &[RuleValue::Null]);
        assert!(t.matches(&fx.ev(&[])));
        assert!(fx.one(&t, "User", N));
        assert!(!fx.one(&t, "User", S("")));
        assert!(!fx.one(&t, "User", S("bob")));
        let t = fx.test("User", &["neq"], &[RuleValue::Null]);
        assert!(!t.matches(&fx.ev(&[])));
        assert!(fx.one(&t, "User", S("bob")));
        let t = fx.test("User", &[], &[s("")]);
        assert!(fx.one(&t, "User", S("")));
        assert!(!fx.one(&t, "User", N));
        assert!(!t.matches(&fx.ev(&[])));
        assert!(!fx.one(&t, "User", S("x")));
        assert_eq!(
            fx.try_test(Some("User"), &[], &[s(""), RuleValue::Null])
                .unwrap_err(),
            ModifierError::NullInList
        );
        assert!(
            fx.try_test(Some("User"), &["contains"], &[RuleValue::Null])
                .is_err()
        );
    }

    #[test]
    fn empty_list_never_matches() {
        let fx = Fx::new();
        let t = fx.test("User", &[], &[]);
        assert!(!fx.one(&t, "User", S("")));
        assert_eq!(t.required_literals(), Some(vec![]));
    }

    #[test]
    fn exists() {
        let fx = Fx::new();
        let t = fx.test("PasswordLastSet", &["exists"], &[RuleValue::Bool(true)]);
        let f = fx.test("PasswordLastSet", &["exists"], &[RuleValue::Bool(false)]);
        let with = fx.ev(&[("PasswordLastSet", N)]);
        let without = fx.ev(&[("Other", S("x"))]);
        assert!(t.matches(&with) && !t.matches(&without));
        assert!(!f.matches(&with) && f.matches(&without));
        assert_eq!(
            fx.try_test(Some("P"), &["exists"], &[s("maybe")])
                .unwrap_err(),
            ModifierError::ExistsValue
        );
        assert!(
            fx.try_test(None, &["exists"], &[RuleValue::Bool(true)])
                .is_err()
        );
    }

    #[test]
    fn neq() {
        let fx = Fx::new();
        let t = fx.test("EventID", &["neq"], &[RuleValue::Int(4688)]);
        assert!(fx.one(&t, "EventID", I(1)));
        assert!(!fx.one(&t, "EventID", I(4688)));
        assert!(!fx.one(&t, "EventID", S("4688")));
        // Absent or null: not "different".
        assert!(!t.matches(&fx.ev(&[])));
        assert!(!fx.one(&t, "EventID", N));
        let t = fx.test("User", &["neq"], &[s("SYSTEM"), s("LOCAL SERVICE")]);
        assert!(fx.one(&t, "User", S("bob")));
        assert!(!fx.one(&t, "User", S("system")));
        assert!(!fx.one(&t, "User", S("local service")));
        let t = fx.test("User", &["neq", "cased"], &[s("SYSTEM")]);
        assert!(fx.one(&t, "User", S("system")));
        let t = fx.test("Cmd", &["contains", "neq"], &[s("-enc")]);
        assert!(fx.one(&t, "Cmd", S("ps -nop")));
        assert!(!fx.one(&t, "Cmd", S("ps -ENC x")));
        // Multi-valued: any equal value makes it not different.
        let ev = fx.ev(&[("User", S("bob")), ("User", S("SYSTEM"))]);
        assert!(!fx.test("User", &["neq"], &[s("system")]).matches(&ev));
        assert!(fx.try_test(None, &["neq"], &[s("x")]).is_err());
    }

    #[test]
    fn regex_and_flags() {
        let fx = Fx::new();
        let t = fx.test("Cmd", &["re"], &[s(r"-e(nc|ncodedcommand)\s")]);
        assert!(fx.one(&t, "Cmd", S("ps -enc AAA")));
        assert!(!fx.one(&t, "Cmd", S("ps -ENC AAA")));
        let i = fx.test("Cmd", &["re", "i"], &[s(r"-e(nc|ncodedcommand)\s")]);
        assert!(fx.one(&i, "Cmd", S("ps -ENC AAA")));
        let m = fx.test("Cmd", &["re", "m"], &[s(r"^second$")]);
        assert!(fx.one(&m, "Cmd", S("first\nsecond\nthird")));
        let no_m = fx.test("Cmd", &["re"], &[s(r"^second$")]);
        assert!(!fx.one(&no_m, "Cmd", S("first\nsecond\nthird")));
        let dot = fx.test("Cmd", &["re", "s"], &[s(r"a.b")]);
        assert!(fx.one(&dot, "Cmd", S("a\nb")));
        assert!(!fx.one(&no_m, "Cmd", S("a\nb")));
        // Numbers are matched in their textual form.
        let n = fx.test("EventID", &["re"], &[s(r"^46\d\d$")]);
        assert!(fx.one(&n, "EventID", I(4688)));
        assert!(matches!(
            fx.try_test(Some("Cmd"), &["re"], &[s("(unclosed")]),
            Err(ModifierError::Regex { .. })
        ));
        // Hostile size is refused instead of compiled.
        assert!(matches!(
            fx.try_test(Some("Cmd"), &["re"], &[s(r"(\w{100}){100}")]),
            Err(ModifierError::Regex { .. })
        ));
        // ... while SigmaHQ's largest one compiles.
        assert!(
            fx.try_test(Some("Cmd"), &["re"], &[s(r"-k\s\w{1,64}(?:\s?(?:-p|-s))?")])
                .is_ok()
        );
        assert!(matches!(
            fx.try_test(Some("Cmd"), &["re", "contains"], &[s("x")]),
            Err(ModifierError::Incompatible { .. })
        ));
    }

    #[test]
    fn base64_modifier() {
        let fx = Fx::new();
        let t = fx.test("Payload", &["base64"], &[s("ping")]);
        assert!(fx.one(&t, "Payload", S("cGluZw==")));
        let t = fx.test("Payload", &["base64", "contains"], &[s("ping")]);
        assert!(fx.one(&t, "Payload", S("x cGluZw== y")));
        assert!(!fx.one(&t, "Payload", S("ping")));
    }

    #[test]
    fn base64offset_modifier() {
        let fx = Fx::new();
        let t = fx.test("Cmd", &["base64offset", "contains"], &[s("ping")]);
        // base64("ping"), base64("Aping"), base64("ABping"), computed independently.
        assert!(fx.one(&t, "Cmd", S("-e cGluZw==")));
        assert!(fx.one(&t, "Cmd", S("-e QXBpbmc=")));
        assert!(fx.one(&t, "Cmd", S("-e QUJwaW5n")));
        assert!(!fx.one(&t, "Cmd", S("-e Y0dsdVp3PT0=")));
        let mut lits = t.required_literals().unwrap();
        lits.sort();
        assert_eq!(lits, vec!["bpbm", "cgluz", "waw5n"]);
    }

    #[test]
    fn utf16_modifiers() {
        let fx = Fx::new();
        // UTF-16LE "cmd" → 63 00 6d 00 64 00; base64 computed independently.
        let t = fx.test("Cmd", &["wide", "base64offset", "contains"], &[s("cmd")]);
        assert!(fx.one(&t, "Cmd", S("powershell -enc eAB5ACAAYwBtAGQA"))); // "xy cmd"
        assert!(fx.one(&t, "Cmd", S("powershell -enc eAAgAGMAbQBkAA=="))); // "x cmd"
        assert!(!fx.one(&t, "Cmd", S("powershell -enc cGluZw==")));
        let le = fx.test("Cmd", &["utf16le", "base64"], &[s("cmd")]);
        assert!(fx.one(&le, "Cmd", S("YwBtAGQA")));
        let be = fx.test("Cmd", &["utf16be", "base64"], &[s("cmd")]);
        assert!(fx.one(&be, "Cmd", S("AGMAbQBk")));
        let bom = fx.test("Cmd", &["utf16", "base64"], &[s("cmd")]);
        assert!(fx.one(&bom, "Cmd", S("//5jAG0AZAA=")));
        // Without base64 the UTF-16 text is matched as a string with NULs.
        let raw = fx.test("Data", &["wide", "contains"], &[s("cmd")]);
        assert!(fx.one(&raw, "Data", S("x c\0m\0d\0 y")));
        assert!(!fx.one(&raw, "Data", S("cmd")));
        // A byte order mark alone is not text.
        assert!(matches!(
            fx.try_test(Some("Data"), &["utf16"], &[s("cmd")]),
            Err(ModifierError::NotText(_))
        ));
    }

    #[test]
    fn windash_modifier() {
        let fx = Fx::new();
        let t = fx.test("Cmd", &["windash", "contains"], &[s(" -exec ")]);
        for dash in ["-", "/", "\u{2013}", "\u{2014}", "\u{2015}"] {
            assert!(
                fx.one(&t, "Cmd", S(&format!("psexec {dash}exec x"))),
                "{dash}"
            );
        }
        assert!(!fx.one(&t, "Cmd", S("psexec +exec x")));
        // The dashes have no case, so each permutation is a literal of its own.
        let mut lits = t.required_literals().unwrap();
        lits.sort();
        let mut want: Vec<String> = ["-", "/", "\u{2013}", "\u{2014}", "\u{2015}"]
            .iter()
            .map(|d| format!(" {d}exec "))
            .collect();
        want.sort();
        assert_eq!(lits, want);
    }

    #[test]
    fn cidr_modifier() {
        let fx = Fx::new();
        let t = fx.test(
            "Ip",
            &["cidr"],
            &[s("10.0.0.0/8"), s("192.168.1.0/24"), s("fe80::/10")],
        );
        assert!(fx.one(&t, "Ip", S("10.1.2.3")));
        assert!(fx.one(&t, "Ip", S("192.168.1.200")));
        assert!(!fx.one(&t, "Ip", S("192.168.2.1")));
        assert!(fx.one(&t, "Ip", S("FE80::1")));
        assert!(fx.one(&t, "Ip", S("fe80::1%eth0")));
        assert!(fx.one(&t, "Ip", S("::ffff:10.9.9.9")));
        assert!(!fx.one(&t, "Ip", S("2001:db8::1")));
        assert!(!fx.one(&t, "Ip", S("not an ip")));
        assert!(!fx.one(&t, "Ip", I(167_772_161)));
        let host = fx.test("Ip", &["cidr"], &[s("127.0.0.1")]);
        assert!(fx.one(&host, "Ip", S("127.0.0.1")));
        assert!(!fx.one(&host, "Ip", S("127.0.0.2")));
        let all = fx.test("Ip", &["cidr"], &[s("0.0.0.0/0")]);
        assert!(fx.one(&all, "Ip", S("8.8.8.8")));
        assert_eq!(
            fx.try_test(Some("Ip"), &["cidr"], &[s("10.0.0.0/33")])
                .unwrap_err(),
            ModifierError::Cidr("10.0.0.0/33".into())
        );
        assert!(matches!(
            fx.try_test(Some("Ip"), &["cidr", "contains"], &[s("10.0.0.0/8")]),
            Err(ModifierError::Incompatible { .. })
        ));
    }

    #[test]
    fn numeric_comparisons() {
        let fx = Fx::new();
        let gt = fx.test("Count", &["gt"], &[RuleValue::Int(10)]);
        let gte = fx.test("Count", &["gte"], &[RuleValue::Int(10)]);
        let lt = fx.test("Count", &["lt"], &[RuleValue::Float(10.5)]);
        let lte = fx.test("Count", &["lte"], &[s("0x0a")]);
        assert!(fx.one(&gt, "Count", I(11)) && !fx.one(&gt, "Count", I(10)));
        assert!(fx.one(&gte, "Count", I(10)) && !fx.one(&gte, "Count", I(9)));
        assert!(fx.one(&lt, "Count", S("10")) && !fx.one(&lt, "Count", F(10.5)));
        assert!(fx.one(&lte, "Count", S("0xA")) && !fx.one(&lte, "Count", I(11)));
        assert!(fx.one(&gt, "Count", F(10.5)));
        assert!(fx.one(&gt, "Count", S(" 12 ")));
        assert!(!fx.one(&gt, "Count", S("many")));
        assert!(!fx.one(&gt, "Count", B(true)));
        assert!(!fx.one(&gt, "Count", N));
        assert!(matches!(
            fx.try_test(Some("Count"), &["gt"], &[s("ten")]),
            Err(ModifierError::NotNumeric { .. })
        ));
        assert!(gt.required_literals().is_none());
    }

    #[test]
    fn field_references() {
        let fx = Fx::new();
        let eq = fx.test("TargetFilename", &["fieldref"], &[s("Image")]);
        let ev = fx.ev(&[
            ("TargetFilename", S(r"C:\x\A.exe")),
            ("Image", S(r"c:\X\a.EXE")),
        ]);
        assert!(eq.matches(&ev));
        let cased = fx.test("TargetFilename", &["fieldref", "cased"], &[s("Image")]);
        assert!(!cased.matches(&ev));
        let ev2 = fx.ev(&[
            ("TargetFilename", S(r"C:\x\A.exe")),
            ("Image", S(r"C:\y\A.exe")),
        ]);
        assert!(!eq.matches(&ev2));
        let ends = fx.test("TargetFilename", &["fieldref", "endswith"], &[s("Name")]);
        let ev3 = fx.ev(&[("TargetFilename", S(r"C:\x\A.exe")), ("Name", S("a.EXE"))]);
        assert!(ends.matches(&ev3));
        let starts = fx.test("TargetFilename", &["fieldref", "startswith"], &[s("Name")]);
        assert!(!starts.matches(&ev3));
        let contains = fx.test("TargetFilename", &["fieldref", "contains"], &[s("Name")]);
        let ev4 = fx.ev(&[("TargetFilename", S(r"C:\x\ÄB.exe")), ("Name", S("äb"))]);
        assert!(contains.matches(&ev4));
        // Numbers compare textually.
        let ev5 = fx.ev(&[("A", I(5)), ("B", S("5"))]);
        assert!(fx.test("A", &["fieldref"], &[s("B")]).matches(&ev5));
        // Absent reference: no match, with or without neq.
        let neq = fx.test("User", &["fieldref", "neq"], &[s("ParentUser")]);
        assert!(!neq.matches(&fx.ev(&[("User", S("bob"))])));
        assert!(neq.matches(&fx.ev(&[("User", S("bob")), ("ParentUser", S("alice"))])));
        assert!(!neq.matches(&fx.ev(&[("User", S("bob")), ("ParentUser", S("BOB"))])));
        assert!(!eq.matches(&fx.ev(&[("TargetFilename", S("x"))])));
        assert!(eq.required_literals().is_none());
        assert!(matches!(
            fx.try_test(Some("A"), &["fieldref"], &[s("B*")]),
            Err(ModifierError::Wildcards { .. })
        ));
    }

    #[test]
    fn expand_placeholders() {
        let fx = Fx::new();
        let t = fx.test("User", &["expand"], &[s("%Admins%")]);
        assert!(fx.one(&t, "User", S("ROOT")));
        assert!(fx.one(&t, "User", S("admin-7")));
        assert!(!fx.one(&t, "User", S("bob")));
        let t = fx.test("Host", &["contains", "expand"], &[s("%Servers%.corp")]);
        assert!(fx.one(&t, "Host", S("x.srv-01.corp.local")));
        assert_eq!(
            fx.try_test(Some("U"), &["expand"], &[s("%Nope%")])
                .unwrap_err(),
            ModifierError::UnresolvedPlaceholder("Nope".into())
        );
        // Without `expand`, percent signs are plain text.
        let t = fx.test("User", &[], &[s("%Admins%")]);
        assert!(fx.one(&t, "User", S("%admins%")));
    }

    #[test]
    fn time_modifiers() {
        let fx = Fx::new();
        let ts = S("2024-12-30T23:45:10.123Z");
        let space = S("2021-01-03 04:05:06");
        let check = |m: &str, v: i64, value: Value<'_>| {
            fx.one(
                &fx.test("UtcTime", &[m], &[RuleValue::Int(v)]),
                "UtcTime",
                value,
            )
        };
        assert!(check("hour", 23, ts) && check("minute", 45, ts));
        assert!(check("day", 30, ts) && check("month", 12, ts));
        assert!(check("year", 2024, ts) && check("week", 1, ts));
        assert!(check("week", 53, space) && check("hour", 4, space));
        assert!(!check("hour", 22, ts));
        // Components as written, offsets ignored.
        assert!(check("hour", 23, S("2024-01-01T23:00:00-05:00")));
        let late = fx.test("UtcTime", &["hour", "gte"], &[RuleValue::Int(22)]);
        assert!(fx.one(&late, "UtcTime", ts));
        assert!(!fx.one(&late, "UtcTime", space));
        let not23 = fx.test("UtcTime", &["hour", "neq"], &[RuleValue::Int(23)]);
        assert!(fx.one(&not23, "UtcTime", space) && !fx.one(&not23, "UtcTime", ts));
        let office = fx.test(
            "UtcTime",
            &["hour"],
            &[RuleValue::Int(4), RuleValue::Int(5)],
        );
        assert!(fx.one(&office, "UtcTime", space));
        assert!(!check("hour", 0, S("not a time")));
        assert!(!check("day", 31, S("2024-02-31T00:00:00")));
        assert!(!check("hour", 0, S("2024-02-01")));
        assert!(check("day", 1, S("2024-02-01")));
        assert!(matches!(
            fx.try_test(Some("T"), &["hour"], &[s("noon")]),
            Err(ModifierError::NotNumeric { .. })
        ));
    }

    #[test]
    fn keywords_search_every_value() {
        let fx = Fx::new();
        let kw = fx
            .try_test(None, &[], &[s("EVILSERVICE"), s("svchost.exe -n evil")])
            .unwrap();
        assert_eq!(kw.field(), None);
        let ev = fx.ev(&[("A", S("nothing")), ("B", S("the EvilService started"))]);
        assert!(kw.matches(&ev));
        assert!(!kw.matches(&fx.ev(&[("A", S("benign"))])));
        let all = fx
            .try_test(
                None,
                &["all"],
                &[s("OabVirtualDirectory"), s(" -ExternalUrl ")],
            )
            .unwrap();
        let both = fx.ev(&[
            ("A", S("Set-OabVirtualDirectory x")),
            ("B", S("y -ExternalUrl z")),
        ]);
        assert!(all.matches(&both));
        assert!(!all.matches(&fx.ev(&[("A", S("Set-OabVirtualDirectory x"))])));
        let num = fx.try_test(None, &[], &[RuleValue::Int(4688)]).unwrap();
        assert!(num.matches(&fx.ev(&[("EventID", I(4688))])));
        let re = fx.try_test(None, &["re"], &[s("ev[i1]l")]).unwrap();
        assert!(re.matches(&fx.ev(&[("A", S("so ev1l"))])));
        let wild = fx.try_test(None, &[], &[s("mimi*katz")]).unwrap();
        assert!(wild.matches(&fx.ev(&[("A", S("x mimi-katz y"))])));
        assert!(matches!(
            fx.try_test(None, &["cidr"], &[s("10.0.0.0/8")]),
            Err(ModifierError::NeedsField(_))
        ));
    }

    #[test]
    fn invalid_chains() {
        let fx = Fx::new();
        let err =
            |mods: &[&str], vals: &[RuleValue]| fx.try_test(Some("F"), mods, vals).unwrap_err();
        assert_eq!(
            err(&["bogus"], &[s("x")]),
            ModifierError::Unknown("bogus".into())
        );
        assert_eq!(
            err(&["contains", "all"], &[s("x")]),
            ModifierError::AllOnSingleValue
        );
        assert!(matches!(
            err(&["re", "startswith"], &[s("x")]),
            ModifierError::Incompatible { .. }
        ));
        assert!(matches!(
            err(&["cidr", "endswith"], &[s("x")]),
            ModifierError::Incompatible { .. }
        ));
        assert!(matches!(
            err(&["gt"], &[s("x")]),
            ModifierError::NotNumeric { .. }
        ));
        assert!(matches!(
            err(&["gt"], &[RuleValue::Null]),
            ModifierError::NotNumeric { .. }
        ));
        assert!(matches!(
            err(&["base64"], &[s("a*")]),
            ModifierError::Wildcards { .. }
        ));
        assert!(matches!(
            err(&["windash"], &[s("-a -b -c -d -e -f")]),
            ModifierError::TooManyValues { .. }
        ));
        assert!(matches!(
            err(&["exists", "contains"], &[RuleValue::Bool(true)]),
            ModifierError::Incompatible { .. }
        ));
        assert!(matches!(
            err(&["fieldref", "base64"], &[s("x")]),
            ModifierError::Incompatible { .. }
        ));
        // Messages are readable.
        assert_eq!(
            err(&["re", "contains"], &[s("x")]).to_string(),
            "modifier 're' cannot be combined with 'contains'"
        );
    }

    #[test]
    fn non_ascii_case_folding() {
        let fx = Fx::new();
        let t = fx.test("Name", &["contains"], &[s("ÄRGER")]);
        assert!(fx.one(&t, "Name", S("großer Ärger")));
        assert!(fx.one(&t, "Name", S("großer ärger")));
        assert!(!fx.one(&t, "Name", S("großer arger")));
        let t = fx.test("Name", &[], &[s("straße")]);
        assert!(fx.one(&t, "Name", S("STRAßE")));
        // ASCII needles against non-ASCII text stay on the fast path.
        let t = fx.test("Name", &["endswith"], &[s(".EXE")]);
        assert!(fx.one(&t, "Name", S(r"C:\Users\Jürgen\a.exe")));
        // A list of non-ASCII needles (homoglyphs) in one automaton: ASCII text cannot
        // hold them; upper-case non-ASCII text still matches after folding.
        let homoglyphs: Vec<RuleValue> = ["а", "е", "о", "р", "с", "х"]
            .iter()
            .map(|c| s(c))
            .collect();
        let t = fx.test("CommandLine", &["contains"], &homoglyphs);
        assert!(!fx.one(&t, "CommandLine", S("powershell -c whoami")));
        assert!(fx.one(&t, "CommandLine", S("powershell -c whоami")));
        assert!(fx.one(&t, "CommandLine", S("POWERSHELL -C WHОAMI")));
    }

    #[test]
    fn required_literals_per_kind() {
        let fx = Fx::new();
        let lits = |mods: &[&str], vals: &[RuleValue]| fx.test("F", mods, vals).required_literals();
        assert_eq!(
            lits(&[], &[RuleValue::Int(4688)]),
            Some(vec!["1250".into(), "4688".into()])
        );
        assert_eq!(lits(&[], &[RuleValue::Int(7)]), Some(vec!["7".into()]));
        assert_eq!(
            lits(&["contains"], &[s("WhoAmI")]),
            Some(vec!["whoami".into()])
        );
        assert_eq!(lits(&[], &[s("a*bcd?e")]), Some(vec!["bcd".into()]));
        assert_eq!(
            lits(&["contains"], &[s("Ärger")]),
            Some(vec!["rger".into()])
        );
        assert_eq!(lits(&[], &[s("*")]), None);
        assert_eq!(lits(&["exists"], &[RuleValue::Bool(true)]), None);
        assert_eq!(lits(&["neq"], &[s("x")]), None);
        assert_eq!(lits(&[], &[RuleValue::Null]), None);
        assert_eq!(lits(&[], &[RuleValue::Float(1.5)]), None);
        assert_eq!(lits(&["re"], &[s(r"\d+")]), None);
        assert_eq!(
            lits(&["re"], &[s(r"Invoke-\w+Expression")]),
            Some(vec!["expression".into()])
        );
        assert_eq!(
            lits(&[], &[RuleValue::Bool(true)]),
            Some(vec!["true".into()])
        );
        // `all`: one value's literals suffice, the most selective.
        assert_eq!(
            lits(&["contains", "all"], &[s("ab"), s("abcdef")]),
            Some(vec!["abcdef".into()])
        );
        // OR: every alternative contributes.
        let mut or = lits(&["contains"], &[s("ab"), s("cd")]).unwrap();
        or.sort();
        assert_eq!(or, vec!["ab", "cd"]);
        // A numeric string lists its numeric forms too.
        let mut hex = lits(&[], &[s("0x17")]).unwrap();
        hex.sort();
        assert_eq!(hex, vec!["0x17", "17", "23"]);
        // One alternative without a literal spoils the list.
        assert_eq!(lits(&[], &[s("abc"), s("*")]), None);
    }

    /// Event values and rule values from a small alphabet, so that matches happen.
    fn hay() -> impl Strategy<Value = String> {
        "[abAB?*\\\\ é0x1-]{0,10}"
    }

    proptest! {
        #[test]
        fn ascii_strings_match_themselves(v in "[ -~]{0,20}", mode in 0usize..4) {
            let fx = Fx::new();
            let mods: &[&str] = [&[][..], &["contains"], &["startswith"], &["endswith"]][mode];
            // Escape the value so it is matched literally.
            let escaped = v.replace('\\', "\\\\").replace('*', "\\*").replace('?', "\\?");
            let t = fx.test("F", mods, &[s(&escaped)]);
            prop_assert!(fx.one(&t, "F", S(&v)));
            let upper = v.to_ascii_uppercase();
            prop_assert!(fx.one(&t, "F", S(&upper)));
            if mode == 1 {
                let padded = format!("x{v}x");
                prop_assert!(fx.one(&t, "F", S(&padded)));
            }
        }

        #[test]
        fn required_literals_are_sound(
            rule in hay(),
            values in prop::collection::vec(hay(), 1..4),
            mode in 0usize..7,
            ints in prop::collection::vec(-300i64..300, 0..2),
            realize in 0u8..4,
        ) {
            let fx = Fx::new();
            let mods: &[&str] = [
                &[][..], &["contains"], &["startswith"], &["endswith"], &["cased"],
                &["contains", "windash"], &["contains", "all"],
            ][mode];
            let Ok(t) = fx.try_test(Some("F"), mods, &[s(&rule), RuleValue::Int(rule.len() as i64)]) else {
                return Ok(());
            };
            // One value realizes the rule (wildcards filled in, case changed, padded) so
            // that matches are frequent.
            let realized = rule.replace('*', "xé").replace('?', "B");
            let realized = match realize {
                0 => realized,
                1 => realized.to_uppercase(),
                2 => format!("a{realized}b"),
                _ => format!("A{}", realized.to_uppercase()),
            };
            let mut fields: Vec<(&str, Value<'_>)> =
                values.iter().map(|v| ("F", S(v.as_str()))).collect();
            fields.push(("F", S(&realized)));
            for i in &ints {
                fields.push(("F", I(*i)));
            }
            let ev = fx.ev(&fields);
            if t.matches(&ev)
                && let Some(lits) = t.required_literals()
            {
                let texts: Vec<String> = ev
                    .all_values()
                    .filter(|v| !v.is_null())
                    .map(|v| fold_case(&v.to_string()).into_owned())
                    .collect();
                prop_assert!(
                    lits.iter().any(|l| texts.iter().any(|t| t.contains(l.as_str()))),
                    "rule {:?} mods {:?} lits {:?} values {:?}", rule, mods, lits, texts
                );
                // The engine searches raw values ASCII-case-insensitively: same answer.
                let ac = AhoCorasickBuilder::new().ascii_case_insensitive(true).build(&lits).unwrap();
                prop_assert!(ev.all_values().any(|v| ac.is_match(&v.to_string())));
            }
        }

        #[test]
        fn fast_and_folded_paths_agree(rule in "[aAäÄß*?]{1,6}", v in "[aAäÄßẞ]{0,8}") {
            let fx = Fx::new();
            let t = fx.test("F", &[], &[s(&rule)]);
            // Reference: fold both, match with a regex built from the folded rule.
            let mut re = String::from("(?s)^");
            for c in fold_case(&rule).chars() {
                match c {
                    '*' => re.push_str(".*"),
                    '?' => re.push('.'),
                    c => re.push_str(&regex::escape(&c.to_string())),
                }
            }
            re.push('$');
            let expected = Regex::new(&re).unwrap().is_match(&fold_case(&v));
            prop_assert_eq!(fx.one(&t, "F", S(&v)), expected);
        }
    }
}
