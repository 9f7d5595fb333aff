//! `watchfloor rules test`: runs rules against cases in the SigmaHQ `regression_data`
//! layout: a folder per case with an `info.yml` naming the rule(s) and the log files,
//! each with an optional `match_count`. As in SigmaHQ's own runner, `match_count` is a
//! lower bound (a case file may hold more matching events than it counts); `--exact`
//! demands equality. Cases that match more are listed either way.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use saphyr::{LoadableYamlNode, Yaml};
use watchfloor_decode::{DecodeContext, DecodeError, Event, FileDecoder, Sink};
use watchfloor_event::{FieldCache, FieldTable};
use watchfloor_sigma::engine::{Engine, Scratch};

use crate::cli::RulesTestArgs;

/// One regression case: which rule must fire how often on which file.
#[derive(Debug)]
struct Case {
    rule_ids: Vec<String>,
    log: PathBuf,
    /// Exact count expected; `None` means at least one.
    match_count: Option<u64>,
}

/// Outcome of one case.
#[derive(Debug)]
pub struct CaseResult {
    pub log: PathBuf,
    pub expected: Option<u64>,
    pub matched: u64,
    pub passed: bool,
    pub problem: Option<String>,
}

pub fn run(args: RulesTestArgs) -> anyhow::Result<bool> {
    let table = FieldTable::new();
    let placeholders = crate::rules::read_placeholders(args.placeholders.as_deref())?;
    let loaded = crate::rules::load_rules(&args.rules, &table, &placeholders);
    eprintln!(
        "{} rules loaded, {} failed",
        loaded.rules.len(),
        loaded.failed()
    );
    let engine = Engine::new(loaded.rules);
    let cases = find_cases(&args.dir)?;
    let results = run_cases(&engine, &table, &cases, args.exact);
    let passed = results.iter().filter(|r| r.passed).count();
    let mut over = 0;
    for r in &results {
        let more = r.expected.is_some_and(|n| r.matched > n);
        over += usize::from(more && r.passed);
        if !r.passed || more || args.verbose {
            let expected = r.expected.map_or("≥1".to_string(), |n| n.to_string());
            let verdict = match (r.passed, more) {
                (false, _) => "FAIL",
                (true, true) => "more",
                (true, false) => "ok  ",
            };
            let problem = r.problem.as_deref().unwrap_or("");
            println!(
                "{verdict} {} expected {expected}, matched {} {problem}",
                r.log.display(),
                r.matched
            );
        }
    }
    println!(
        "{passed} of {} regression cases passed ({over} matched more events than match_count)",
        results.len()
    );
    Ok(passed == results.len())
}

fn find_cases(dir: &Path) -> anyhow::Result<Vec<Case>> {
    let mut infos: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_name() == "info.yml")
        .map(|e| e.into_path())
        .collect();
    infos.sort();
    let mut cases = Vec::new();
    for info in infos {
        let text = std::fs::read_to_string(&info)
            .with_context(|| format!("reading {}", info.display()))?;
        let docs =
            Yaml::load_from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", info.display()))?;
        let Some(doc) = docs.first() else { continue };
        let rule_ids: Vec<String> = list(doc, "rule_metadata")
            .iter()
            .filter_map(|m| text_of(m, "id"))
            .collect();
        for test in list(doc, "regression_tests_info") {
            let Some(path) = text_of(test, "path") else {
                continue;
            };
            let file_name = Path::new(&path)
                .file_name()
                .map(PathBuf::from)
                .unwrap_or_default();
            let log = info.parent().unwrap_or(Path::new(".")).join(file_name);
            let match_count = text_of(test, "match_count").and_then(|n| n.parse().ok());
            cases.push(Case {
                rule_ids: rule_ids.clone(),
                log,
                match_count,
            });
        }
    }
    Ok(cases)
}

fn list<'a>(doc: &'a Yaml<'a>, key: &str) -> Vec<&'a Yaml<'a>> {
    match doc.as_mapping_get(key) {
        Some(Yaml::Sequence(items)) => items.iter().collect(),
        _ => Vec::new(),
    }
}

fn text_of(node: &Yaml<'_>, key: &str) -> Option<String> {
    match node.as_mapping_get(key)? {
        Yaml::Value(saphyr::Scalar::String(s)) => Some(s.to_string()),
        Yaml::Value(saphyr::Scalar::Integer(i)) => Some(i.to_string()),
        Yaml::Representation(s, _, _) => Some(s.to_string()),
        _ => None,
    }
}

struct CountSink<'a> {
    engine: &'a Engine,
    scratch: Scratch,
    targets: Vec<u32>,
    matched: u64,
    found: Vec<u32>,
    errors: Vec<DecodeError>,
}

impl Sink for CountSink<'_> {
    fn event(&mut self, ev: &Event) {
        self.found.clear();
        self.engine.evaluate(ev, &mut self.scratch, &mut self.found);
        if self.found.iter().any(|r| self.targets.contains(r)) {
            self.matched += 1;
        }
    }
    fn error(&mut self, err: DecodeError) {
        self.errors.push(err);
    }
}

/// Runs every case against `engine`, whose rules were compiled against `table`.
fn run_cases(
    engine: &Engine,
    table: &std::sync::Arc<FieldTable>,
    cases: &[Case],
    exact: bool,
) -> Vec<CaseResult> {
    let mut by_id: HashMap<&str, Vec<u32>> = HashMap::new();
    for (i, rule) in engine.rules().iter().enumerate() {
        if let Some(id) = rule.meta.id.as_deref() {
            by_id.entry(id).or_default().push(i as u32);
        }
    }
    let mut decoder = FileDecoder::new(DecodeContext::new(FieldCache::new(table.clone())), None);
    cases
        .iter()
        .map(|case| {
            let targets: Vec<u32> = case
                .rule_ids
                .iter()
                .flat_map(|id| by_id.get(id.as_str()).into_iter().flatten().copied())
                .collect();
            let mut sink = CountSink {
                engine,
                scratch: Scratch::default(),
                targets,
                matched: 0,
                found: Vec::new(),
                errors: Vec::new(),
            };
            let problem = if sink.targets.is_empty() {
                Some(format!("rule {:?} is not loaded", case.rule_ids))
            } else if !case.log.exists() {
                Some("log file missing".to_string())
            } else {
                decoder.decode_path(&case.log, &mut sink);
                sink.errors.first().map(|e| format!("decode error: {e}"))
            };
            let passed = problem.is_none()
                && match case.match_count {
                    Some(n) if exact => sink.matched == n,
                    Some(n) => sink.matched >= n,
                    None => sink.matched >= 1,
                };
            CaseResult {
                log: case.log.clone(),
                expected: case.match_count,
                matched: sink.matched,
                passed,
                problem,
            }
        })
        .collect()
}
