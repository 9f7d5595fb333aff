//! Sigma YAML documents to the rule model ([`crate::rule`]), with every problem as a
//! located [`Diagnostic`] rather than a stop: a bad document is skipped, the rest of the
//! file and the other files still load.

use std::sync::Arc;

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use crate::diagnostic::{Code, Diagnostic, Pos};
use crate::field_test::RuleValue;
use crate::rule::{
    Comparison, Correlation, CorrelationKind, Detection, FieldItem, Filter, Level, Meta, Rule,
    RuleLogSource, RuleSet, Search,
};

type Node<'a> = MarkedYaml<'a>;

/// Parses every document of one rule file into `set`, reporting problems in `diags`.
pub fn load_str(file: &Arc<str>, text: &str, set: &mut RuleSet, diags: &mut Vec<Diagnostic>) {
    let docs = match Node::load_from_str(text) {
        Ok(d) => d,
        Err(e) => {
            let at = Pos {
                line: e.marker().line(),
                column: e.marker().col() + 1,
            };
            diags.push(Diagnostic::error(
                Code::YamlSyntax,
                file,
                at,
                e.info().to_string(),
            ));
            return;
        }
    };
    for doc in &docs {
        if matches!(doc.data, YamlData::Value(Scalar::Null)) {
            continue; // an empty document (`---` at the end)
        }
        let mut cx = Cx { file, diags };
        match load_document(&mut cx, doc) {
            Ok(Document::Rule(r)) => set.rules.push(r),
            Ok(Document::Filter(f)) => set.filters.push(f),
            Ok(Document::Correlation(c)) => set.correlations.push(c),
            Err(()) => {}
        }
    }
}

enum Document {
    Rule(Rule),
    Filter(Filter),
    Correlation(Correlation),
}

struct Cx<'d> {
    file: &'d Arc<str>,
    diags: &'d mut Vec<Diagnostic>,
}

impl Cx<'_> {
    fn error(&mut self, code: Code, node: &Node<'_>, message: impl Into<String>) {
        self.diags
            .push(Diagnostic::error(code, self.file, pos(node), message));
    }
}

fn pos(node: &Node<'_>) -> Pos {
    Pos {
        line: node.span.start.line(),
        column: node.span.start.col() + 1,
    }
}

fn mapping<'n, 'a>(
    node: &'n Node<'a>,
) -> Option<impl Iterator<Item = (&'n Node<'a>, &'n Node<'a>)>> {
    match &node.data {
        YamlData::Mapping(m) => Some(m.iter()),
        _ => None,
    }
}

fn get<'n, 'a>(node: &'n Node<'a>, key: &str) -> Option<&'n Node<'a>> {
    mapping(node)?
        .find(|(k, _)| scalar_str(k).as_deref() == Some(key))
        .map(|(_, v)| v)
}

/// A scalar as text (numbers and booleans in their YAML spelling).
fn scalar_str(node: &Node<'_>) -> Option<String> {
    match &node.data {
        YamlData::Value(Scalar::String(s)) => Some(s.to_string()),
        YamlData::Value(Scalar::Integer(i)) => Some(i.to_string()),
        YamlData::Value(Scalar::FloatingPoint(f)) => Some(f.to_string()),
        YamlData::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        YamlData::Representation(s, _, _) => Some(s.to_string()),
        YamlData::Tagged(_, inner) => scalar_str(inner),
        _ => None,
    }
}

fn rule_value(node: &Node<'_>) -> Option<RuleValue> {
    Some(match &node.data {
        YamlData::Value(Scalar::String(s)) => RuleValue::Str(s.to_string()),
        YamlData::Value(Scalar::Integer(i)) => RuleValue::Int(*i),
        YamlData::Value(Scalar::FloatingPoint(f)) => RuleValue::Float(f.into_inner()),
        YamlData::Value(Scalar::Boolean(b)) => RuleValue::Bool(*b),
        YamlData::Value(Scalar::Null) => RuleValue::Null,
        YamlData::Representation(s, _, _) => RuleValue::Str(s.to_string()),
        YamlData::Tagged(_, inner) => return rule_value(inner),
        _ => return None,
    })
}

fn string_list(node: Option<&Node<'_>>) -> Vec<String> {
    match node.map(|n| &n.data) {
        Some(YamlData::Sequence(items)) => items.iter().filter_map(scalar_str).collect(),
        Some(_) => node.and_then(scalar_str).into_iter().collect(),
        None => Vec::new(),
    }
}

fn load_document(cx: &mut Cx<'_>, doc: &Node<'_>) -> Result<Document, ()> {
    if mapping(doc).is_none() {
        cx.error(
            Code::RuleStructure,
            doc,
            "a Sigma document must be a mapping",
        );
        return Err(());
    }
    let meta = load_meta(cx, doc)?;
    if let Some(correlation) = get(doc, "correlation") {
        return load_correlation(cx, meta, doc, correlation).map(Document::Correlation);
    }
    if let Some(filter) = get(doc, "filter") {
        return load_filter(cx, meta, doc, filter).map(Document::Filter);
    }
    let logsource = match get(doc, "logsource") {
        Some(ls) => load_logsource(ls),
        None => {
            cx.error(Code::RuleStructure, doc, "missing `logsource`");
            return Err(());
        }
    };
    let Some(detection) = get(doc, "detection") else {
        cx.error(Code::RuleStructure, doc, "missing `detection`");
        return Err(());
    };
    let detection = load_detection(cx, detection)?;
    Ok(Document::Rule(Rule {
        meta,
        logsource,
        detection,
    }))
}

fn load_meta(cx: &mut Cx<'_>, doc: &Node<'_>) -> Result<Meta, ()> {
    let Some(title) = get(doc, "title").and_then(scalar_str) else {
        cx.error(Code::RuleStructure, doc, "missing `title`");
        return Err(());
    };
    let level = match get(doc, "level") {
        None => Level::default(),
        Some(node) => match scalar_str(node).as_deref().and_then(Level::parse) {
            Some(l) => l,
            None => {
                cx.error(
                    Code::RuleStructure,
                    node,
                    "`level` must be informational, low, medium, high or critical",
                );
                return Err(());
            }
        },
    };
    Ok(Meta {
        id: get(doc, "id").and_then(scalar_str),
        name: get(doc, "name").and_then(scalar_str),
        title,
        description: get(doc, "description").and_then(scalar_str),
        status: get(doc, "status").and_then(scalar_str),
        level,
        tags: string_list(get(doc, "tags")),
        author: get(doc, "author").and_then(scalar_str),
        references: string_list(get(doc, "references")),
        falsepositives: string_list(get(doc, "falsepositives")),
        file: cx.file.clone(),
        pos: pos(doc),
    })
}

fn load_logsource(node: &Node<'_>) -> RuleLogSource {
    RuleLogSource {
        product: get(node, "product").and_then(scalar_str),
        category: get(node, "category").and_then(scalar_str),
        service: get(node, "service").and_then(scalar_str),
    }
}

fn load_detection(cx: &mut Cx<'_>, node: &Node<'_>) -> Result<Detection, ()> {
    let Some(entries) = mapping(node) else {
        cx.error(
            Code::DetectionStructure,
            node,
            "`detection` must be a mapping",
        );
        return Err(());
    };
    let mut detection = Detection::default();
    let mut ok = true;
    for (key, value) in entries {
        let Some(name) = scalar_str(key) else {
            cx.error(
                Code::DetectionStructure,
                key,
                "search names must be strings",
            );
            ok = false;
            continue;
        };
        match name.as_str() {
            "condition" => match &value.data {
                YamlData::Sequence(items) => {
                    for item in items {
                        match scalar_str(item) {
                            Some(c) => detection.conditions.push((c, pos(item))),
                            None => {
                                cx.error(
                                    Code::ConditionSyntax,
                                    item,
                                    "a condition must be a string",
                                );
                                ok = false;
                            }
                        }
                    }
                }
                _ => match scalar_str(value) {
                    Some(c) => detection.conditions.push((c, pos(value))),
                    None => {
                        cx.error(Code::ConditionSyntax, value, "a condition must be a string");
                        ok = false;
                    }
                },
            },
            "timeframe" => {} // Sigma v1 aggregation window; the condition reports it.
            _ => match load_search(cx, &name, value) {
                Ok(search) => detection.searches.push(search),
                Err(()) => ok = false,
            },
        }
    }
    if detection.conditions.is_empty() {
        cx.error(
            Code::DetectionStructure,
            node,
            "`detection` has no `condition`",
        );
        ok = false;
    }
    if ok { Ok(detection) } else { Err(()) }
}

fn load_search(cx: &mut Cx<'_>, name: &str, node: &Node<'_>) -> Result<Search, ()> {
    let mut groups = Vec::new();
    match &node.data {
        YamlData::Mapping(_) => groups.push(load_group(cx, node)?),
        YamlData::Sequence(items) => {
            let mut keywords = Vec::new();
            for item in items {
                match &item.data {
                    YamlData::Mapping(_) => groups.push(load_group(cx, item)?),
                    _ => match rule_value(item) {
                        Some(v) => keywords.push(v),
                        None => {
                            cx.error(
                                Code::DetectionStructure,
                                item,
                                "a list item must be a value or a mapping",
                            );
                            return Err(());
                        }
                    },
                }
            }
            if !keywords.is_empty() {
                groups.push(vec![FieldItem {
                    field: None,
                    modifiers: Vec::new(),
                    values: keywords,
                    pos: pos(node),
                }]);
            }
        }
        _ => match rule_value(node) {
            // A single keyword.
            Some(v) => groups.push(vec![FieldItem {
                field: None,
                modifiers: Vec::new(),
                values: vec![v],
                pos: pos(node),
            }]),
            None => {
                cx.error(
                    Code::DetectionStructure,
                    node,
                    format!("search `{name}` must be a mapping or a list"),
                );
                return Err(());
            }
        },
    }
    Ok(Search {
        name: name.to_string(),
        groups,
        pos: pos(node),
    })
}

/// One mapping of a search: `field|modifier…: value or list` items, ANDed.
fn load_group(cx: &mut Cx<'_>, node: &Node<'_>) -> Result<Vec<FieldItem>, ()> {
    let mut items = Vec::new();
    for (key, value) in mapping(node).into_iter().flatten() {
        let Some(key_text) = scalar_str(key) else {
            cx.error(Code::DetectionStructure, key, "field names must be strings");
            return Err(());
        };
        let mut parts = key_text.split('|');
        let field = parts.next().unwrap_or_default().trim();
        let modifiers: Vec<String> = parts.map(|m| m.trim().to_string()).collect();
        let values = match &value.data {
            YamlData::Sequence(list) => {
                let mut values = Vec::with_capacity(list.len());
                for v in list {
                    match rule_value(v) {
                        Some(v) => values.push(v),
                        None => {
                            cx.error(
                                Code::DetectionStructure,
                                v,
                                format!("values of `{key_text}` must be scalars"),
                            );
                            return Err(());
                        }
                    }
                }
                values
            }
            _ => match rule_value(value) {
                Some(v) => vec![v],
                None => {
                    cx.error(
                        Code::DetectionStructure,
                        value,
                        format!("`{key_text}` must have a value or a list of values"),
                    );
                    return Err(());
                }
            },
        };
        items.push(FieldItem {
            field: (!field.is_empty()).then(|| field.to_string()),
            modifiers,
            values,
            pos: pos(key),
        });
    }
    Ok(items)
}

fn load_filter(
    cx: &mut Cx<'_>,
    meta: Meta,
    doc: &Node<'_>,
    filter: &Node<'_>,
) -> Result<Filter, ()> {
    let rules = string_list(get(filter, "rules"));
    if rules.is_empty() {
        cx.error(
            Code::Filter,
            filter,
            "a filter must name the `rules` it applies to",
        );
        return Err(());
    }
    // The filter's searches and condition sit inside `filter:` (v2.1); `logsource` may
    // sit beside it.
    let logsource = get(doc, "logsource")
        .map(load_logsource)
        .unwrap_or_default();
    let detection = load_detection(cx, filter)?;
    Ok(Filter {
        meta,
        rules,
        logsource,
        detection,
    })
}

fn load_correlation(
    cx: &mut Cx<'_>,
    meta: Meta,
    doc: &Node<'_>,
    node: &Node<'_>,
) -> Result<Correlation, ()> {
    let kind = match get(node, "type").and_then(scalar_str) {
        Some(t) => match CorrelationKind::parse(&t) {
            Some(k) => k,
            None => {
                cx.error(
                    Code::Correlation,
                    node,
                    format!("unknown correlation type `{t}`"),
                );
                return Err(());
            }
        },
        None => {
            cx.error(Code::Correlation, node, "missing correlation `type`");
            return Err(());
        }
    };
    let rules = string_list(get(node, "rules"));
    if rules.is_empty() {
        cx.error(
            Code::Correlation,
            node,
            "a correlation must name its `rules`",
        );
        return Err(());
    }
    let timespan_ns = match get(node, "timespan").and_then(scalar_str) {
        Some(t) => match parse_timespan(&t) {
            Some(ns) => ns,
            None => {
                cx.error(
                    Code::Correlation,
                    node,
                    format!("timespan `{t}` is not a number followed by s, m, h or d"),
                );
                return Err(());
            }
        },
        None => {
            cx.error(Code::Correlation, node, "missing `timespan`");
            return Err(());
        }
    };
    let mut condition = Vec::new();
    let mut condition_field = None;
    let mut percentile = None;
    if let Some(cond) = get(node, "condition") {
        for (k, v) in mapping(cond).into_iter().flatten() {
            let key = scalar_str(k).unwrap_or_default();
            let number = scalar_str(v).and_then(|s| s.parse::<f64>().ok());
            match (key.as_str(), number) {
                // The schema allows a list; the value types read one field.
                ("field", _) => {
                    condition_field =
                        scalar_str(v).or_else(|| string_list(Some(v)).into_iter().next())
                }
                ("percentile", Some(n)) => percentile = Some(n),
                ("gt", Some(n)) => condition.push(Comparison::Gt(n)),
                ("gte", Some(n)) => condition.push(Comparison::Gte(n)),
                ("lt", Some(n)) => condition.push(Comparison::Lt(n)),
                ("lte", Some(n)) => condition.push(Comparison::Lte(n)),
                ("eq", Some(n)) => condition.push(Comparison::Eq(n)),
                ("neq", Some(n)) => condition.push(Comparison::Neq(n)),
                _ => {
                    cx.error(
                        Code::Correlation,
                        k,
                        format!("unknown or non-numeric condition `{key}`"),
                    );
                    return Err(());
                }
            }
        }
    }
    let temporal = matches!(
        kind,
        CorrelationKind::Temporal | CorrelationKind::TemporalOrdered
    );
    if condition.is_empty() && !temporal {
        cx.error(
            Code::Correlation,
            node,
            "a counting correlation needs a `condition` (gt, gte, lt, lte, eq)",
        );
        return Err(());
    }
    let needs_field = matches!(
        kind,
        CorrelationKind::ValueCount
            | CorrelationKind::ValueSum
            | CorrelationKind::ValueAvg
            | CorrelationKind::ValuePercentile
    );
    if needs_field && condition_field.is_none() {
        cx.error(
            Code::Correlation,
            node,
            "this correlation type needs `field` in its condition",
        );
        return Err(());
    }
    let mut aliases = Vec::new();
    for (alias, map) in get(node, "aliases").and_then(mapping).into_iter().flatten() {
        let fields = mapping(map)
            .into_iter()
            .flatten()
            .filter_map(|(rule, field)| Some((scalar_str(rule)?, scalar_str(field)?)))
            .collect();
        aliases.push((scalar_str(alias).unwrap_or_default(), fields));
    }
    // `generate` sits inside `correlation:` in the specification's examples and at the
    // top level in its JSON schema; accept both.
    let generate = get(node, "generate")
        .or_else(|| get(doc, "generate"))
        .and_then(|g| match &g.data {
            YamlData::Value(Scalar::Boolean(b)) => Some(*b),
            _ => None,
        })
        .unwrap_or(false);
    Ok(Correlation {
        meta,
        kind,
        rules,
        group_by: string_list(get(node, "group-by")),
        timespan_ns,
        condition,
        condition_field,
        percentile,
        aliases,
        generate,
    })
}

/// `90s`, `15m`, `1h`, `2d` (and `1w`, `1M`, `1y` which some rules use) to nanoseconds.
pub fn parse_timespan(s: &str) -> Option<i64> {
    let s = s.trim();
    let unit = s.chars().last()?;
    let number: i64 = s.get(..s.len() - unit.len_utf8())?.trim().parse().ok()?;
    let seconds = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        'M' => 30 * 86_400,
        'y' => 365 * 86_400,
        _ => return None,
    };
    number.checked_mul(seconds)?.checked_mul(1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> (RuleSet, Vec<Diagnostic>) {
        let file: Arc<str> = Arc::from("t.yml");
        let mut set = RuleSet::default();
        let mut diags = Vec::new();
        load_str(&file, text, &mut set, &mut diags);
        (set, diags)
    }

    #[test]
    fn loads_a_rule() {
        let (set, diags) = load(
            "title: Whoami\nid: 1\nlevel: high\ntags: [attack.discovery, attack.t1033]\nlogsource:\n  category: process_creation\n  product: windows\ndetection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n    CommandLine|contains|all: [a, b]\n  kw:\n    - evil\n    - 42\n  condition: sel and not kw\n",
        );
        assert!(diags.is_empty(), "{diags:?}");
        let rule = &set.rules[0];
        assert_eq!(rule.meta.level, Level::High);
        assert_eq!(rule.meta.id.as_deref(), Some("1"));
        assert_eq!(rule.logsource.category.as_deref(), Some("process_creation"));
        let sel = &rule.detection.searches[0];
        assert_eq!(sel.groups[0][0].field.as_deref(), Some("Image"));
        assert_eq!(sel.groups[0][0].modifiers, vec!["endswith"]);
        assert_eq!(sel.groups[0][1].values.len(), 2);
        assert_eq!(sel.groups[0][0].pos.line, 10);
        let kw = &rule.detection.searches[1];
        assert_eq!(kw.groups[0][0].field, None);
        assert_eq!(
            kw.groups[0][0].values,
            vec![RuleValue::Str("evil".into()), RuleValue::Int(42)]
        );
        assert_eq!(rule.detection.conditions[0].0, "sel and not kw");
    }

    #[test]
    fn problems_are_located_and_other_documents_load() {
        let (set, diags) = load(
            "title: a\nlogsource: {}\n---\ntitle: b\nlogsource: {}\ndetection:\n  s: {a: 1}\n  condition: s\n",
        );
        assert_eq!(set.rules.len(), 1);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, Code::RuleStructure);
        assert_eq!(diags[0].line, 1);
        let (_, diags) = load("title: [unclosed\n");
        assert_eq!(diags[0].code, Code::YamlSyntax);
        assert!(diags[0].line >= 1);
    }

    #[test]
    fn correlation_documents() {
        let (set, diags) = load(
            "title: many fails\ncorrelation:\n  type: event_count\n  rules: [failed_logon]\n  group-by: [User]\n  timespan: 15m\n  condition:\n    gte: 10\n",
        );
        assert!(diags.is_empty(), "{diags:?}");
        let c = &set.correlations[0];
        assert_eq!(c.kind, CorrelationKind::EventCount);
        assert_eq!(c.timespan_ns, 15 * 60 * 1_000_000_000);
        assert_eq!(c.condition, vec![Comparison::Gte(10.0)]);
        assert_eq!(parse_timespan("1d"), Some(86_400_000_000_000));
        assert_eq!(parse_timespan("x"), None);
    }
}
