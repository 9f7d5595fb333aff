//! Data-driven conformance tests against the Sigma v2.1 specification: one fixture file
//! per construct in `tests/fixtures/*.yml`. Each fixture holds Sigma documents as text,
//! a list of events, and the outcome the specification prescribes (the titles of the
//! reported detection rules per event, the reported correlation matches in order, or
//! the diagnostic codes a rejected construct must produce). Every failing fixture is
//! listed by name; the indexed engine is checked against the naive oracle on every event.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use saphyr::{LoadableYamlNode, Scalar, Yaml};
use watchfloor_event::{Event, FieldTable, LogSource, Timestamp, Value};
use watchfloor_sigma::compile::compile;
use watchfloor_sigma::correlation::CorrelationEngine;
use watchfloor_sigma::diagnostic::Diagnostic;
use watchfloor_sigma::engine::{Engine, Scratch};
use watchfloor_sigma::field_test::Placeholders;
use watchfloor_sigma::load::load_str;
use watchfloor_sigma::rule::RuleSet;

const MIN_FIXTURES: usize = 40;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn get<'a>(doc: &'a Yaml<'a>, key: &str) -> Option<&'a Yaml<'a>> {
    match doc {
        Yaml::Mapping(m) => m
            .iter()
            .find(|(k, _)| scalar_text(k).as_deref() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn scalar_text(y: &Yaml<'_>) -> Option<String> {
    match y {
        Yaml::Value(Scalar::String(s)) => Some(s.to_string()),
        Yaml::Value(Scalar::Integer(i)) => Some(i.to_string()),
        Yaml::Value(Scalar::FloatingPoint(f)) => Some(f.to_string()),
        Yaml::Value(Scalar::Boolean(b)) => Some(b.to_string()),
        Yaml::Representation(s, _, _) => Some(s.to_string()),
        _ => None,
    }
}

fn seq<'a>(y: Option<&'a Yaml<'a>>) -> Result<&'a [Yaml<'a>], String> {
    match y {
        Some(Yaml::Sequence(s)) => Ok(s),
        None | Some(Yaml::Value(Scalar::Null)) => Ok(&[]),
        Some(other) => Err(format!("expected a sequence, found {other:?}")),
    }
}

fn strings(y: Option<&Yaml<'_>>) -> Result<Vec<String>, String> {
    seq(y)?
        .iter()
        .map(|v| scalar_text(v).ok_or_else(|| format!("expected a scalar, found {v:?}")))
        .collect()
}

/// An event field value as the fixture wrote it.
enum Owned {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl Owned {
    fn from_yaml(y: &Yaml<'_>) -> Result<Owned, String> {
        Ok(match y {
            Yaml::Value(Scalar::Null) => Owned::Null,
            Yaml::Value(Scalar::Boolean(b)) => Owned::Bool(*b),
            Yaml::Value(Scalar::Integer(i)) => Owned::Int(*i),
            Yaml::Value(Scalar::FloatingPoint(f)) => Owned::Float(f.into_inner()),
            Yaml::Value(Scalar::String(s)) => Owned::Str(s.to_string()),
            other => return Err(format!("unsupported event value {other:?}")),
        })
    }

    fn value(&self) -> Value<'_> {
        match self {
            Owned::Null => Value::Null,
            Owned::Bool(b) => Value::Bool(*b),
            Owned::Int(i) => Value::Int(*i),
            Owned::Float(f) => Value::Float(*f),
            Owned::Str(s) => Value::Str(s),
        }
    }
}

fn build_event(
    table: &FieldTable,
    logsource: &[Option<String>; 3],
    spec: &Yaml<'_>,
) -> Result<Event, String> {
    let Yaml::Mapping(map) = spec else {
        return Err(format!("an event must be a mapping, found {spec:?}"));
    };
    let mut ev = Event::new();
    ev.logsource = LogSource {
        product: logsource[0].clone().map(Cow::Owned),
        category: logsource[1].clone().map(Cow::Owned),
        service: logsource[2].clone().map(Cow::Owned),
    };
    for (k, v) in map {
        let name = scalar_text(k).ok_or_else(|| format!("bad field name {k:?}"))?;
        if name == "_time" {
            let secs = match v {
                Yaml::Value(Scalar::Integer(i)) => *i as f64,
                Yaml::Value(Scalar::FloatingPoint(f)) => f.into_inner(),
                other => return Err(format!("_time must be a number, found {other:?}")),
            };
            ev.time = Timestamp((secs * 1e9).round() as i64);
            continue;
        }
        let id = table.intern(&name);
        // A list value makes a multi-valued field.
        let values: Vec<Owned> = match v {
            Yaml::Sequence(items) => items
                .iter()
                .map(Owned::from_yaml)
                .collect::<Result<_, _>>()?,
            single => vec![Owned::from_yaml(single)?],
        };
        for value in &values {
            ev.push(id, id, value.value());
        }
    }
    Ok(ev)
}

/// Runs one fixture; `Err` describes every way it failed.
fn run_fixture(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let docs = Yaml::load_from_str(&text).map_err(|e| format!("fixture is not YAML: {e}"))?;
    let doc = docs.first().ok_or("empty fixture")?;
    let description = get(doc, "description").and_then(scalar_text);
    if description.as_deref().is_none_or(str::is_empty) {
        return Err("fixture has no description".into());
    }
    let rules_text = get(doc, "rules")
        .and_then(scalar_text)
        .ok_or("fixture has no `rules` text")?;

    let logsource: [Option<String>; 3] = match get(doc, "logsource") {
        None => [
            Some("windows".into()),
            Some("process_creation".into()),
            Some("sysmon".into()),
        ],
        Some(y) => {
            let items = seq(Some(y))?;
            if items.len() != 3 {
                return Err("logsource must list [product, category, service]".into());
            }
            [0, 1, 2].map(|i| scalar_text(&items[i]))
        }
    };

    let mut placeholders = Placeholders::new();
    if let Some(Yaml::Mapping(m)) = get(doc, "placeholders") {
        for (k, v) in m {
            let name = scalar_text(k).ok_or("bad placeholder name")?;
            placeholders.insert(name, strings(Some(v))?);
        }
    }

    let table = FieldTable::new();
    let file: Arc<str> = Arc::from(
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("fixture.yml"),
    );
    let mut set = RuleSet::default();
    let mut diags: Vec<Diagnostic> = Vec::new();
    load_str(&file, &rules_text, &mut set, &mut diags);
    let rules = compile(&set, &table, &placeholders, &mut diags);
    let engine = Engine::new(rules);
    let resolve = |r: &str| -> Vec<u32> {
        engine
            .rules()
            .iter()
            .enumerate()
            .filter(|(_, c)| c.meta.id.as_deref() == Some(r) || c.meta.name.as_deref() == Some(r))
            .map(|(i, _)| i as u32)
            .collect()
    };
    let (mut corr, corr_diags) =
        CorrelationEngine::new(&set.correlations, &resolve, &table, Default::default());
    diags.extend(corr_diags);

    let mut failures = Vec::new();
    let actual_codes: BTreeSet<&str> = diags.iter().map(|d| d.code.as_str()).collect();
    let error_codes: BTreeSet<&str> = diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code.as_str())
        .collect();
    let rendered = || {
        diags
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    };
    match get(doc, "diagnostics") {
        Some(y) => {
            let expected: BTreeSet<String> = strings(Some(y))?.into_iter().collect();
            let missing: Vec<&String> = expected
                .iter()
                .filter(|c| !actual_codes.contains(c.as_str()))
                .collect();
            let unexpected: Vec<&&str> = error_codes
                .iter()
                .filter(|c| !expected.contains(**c))
                .collect();
            if !missing.is_empty() || !unexpected.is_empty() {
                failures.push(format!(
                    "diagnostics: expected {expected:?}, missing {missing:?}, unexpected errors {unexpected:?} [{}]",
                    rendered()
                ));
            }
        }
        None => {
            if !error_codes.is_empty() {
                failures.push(format!("unexpected error diagnostics: {}", rendered()));
            }
        }
    }

    let events = seq(get(doc, "events"))?;
    let expect = seq(get(doc, "expect"))?;
    if expect.len() != events.len() {
        return Err(format!(
            "{} events but {} `expect` entries",
            events.len(),
            expect.len()
        ));
    }
    let mut scratch = Scratch::default();
    let mut corr_titles = Vec::new();
    for (n, (spec, want)) in events.iter().zip(expect).enumerate() {
        let ev = build_event(&table, &logsource, spec)?;
        let mut indexed = Vec::new();
        engine.evaluate(&ev, &mut scratch, &mut indexed);
        let mut naive = Vec::new();
        engine.evaluate_naive(&ev, &mut naive);
        let (mut a, mut b) = (indexed.clone(), naive);
        a.sort_unstable();
        b.sort_unstable();
        if a != b {
            failures.push(format!(
                "event {n}: indexed engine {a:?} != naive engine {b:?}"
            ));
        }
        let mut got: Vec<String> = indexed
            .iter()
            .filter(|&&r| corr.reports_base_rule(r))
            .map(|&r| engine.rule(r).expect("rule index").meta.title.clone())
            .collect();
        got.sort();
        let mut want = strings(Some(want))?;
        want.sort();
        if got != want {
            failures.push(format!("event {n}: expected {want:?}, got {got:?}"));
        }
        let mut out = Vec::new();
        for &r in &indexed {
            corr.observe(r, &ev, &mut out);
        }
        corr_titles.extend(
            out.iter()
                .filter(|m| corr.reports_correlation(m.correlation))
                .map(|m| set.correlations[m.correlation].meta.title.clone()),
        );
    }
    let want_corr = strings(get(doc, "correlations"))?;
    if corr_titles != want_corr {
        failures.push(format!(
            "correlations: expected {want_corr:?}, got {corr_titles:?}"
        ));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n    "))
    }
}

#[test]
fn sigma_specification_fixtures() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixture_dir())
        .expect("tests/fixtures exists")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= MIN_FIXTURES,
        "expected at least {MIN_FIXTURES} fixtures, found {}",
        paths.len()
    );
    let mut failed = Vec::new();
    for path in &paths {
        let name = path.file_stem().and_then(|n| n.to_str()).unwrap_or("?");
        if let Err(why) = run_fixture(path) {
            failed.push(format!("{name}:\n    {why}"));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} fixtures failed:\n{}",
        failed.len(),
        paths.len(),
        failed.join("\n")
    );
}
