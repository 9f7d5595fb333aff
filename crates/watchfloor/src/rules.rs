//! Reading Sigma rule files from disk and turning them into an engine; the
//! `rules check` subcommand.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use watchfloor_event::FieldTable;
use watchfloor_sigma::compile::{CompiledRule, compile};
use watchfloor_sigma::diagnostic::{Code, Diagnostic, Pos};
use watchfloor_sigma::field_test::Placeholders;
use watchfloor_sigma::load::load_str;
use watchfloor_sigma::rule::RuleSet;

use crate::cli::{DiagnosticFormat, RulesCheckArgs};

/// Rules loaded from disk: compiled rules and everything said about them.
pub struct LoadedRules {
    pub rules: Vec<CompiledRule>,
    pub set: RuleSet,
    pub diagnostics: Vec<Diagnostic>,
    pub files: usize,
}

impl LoadedRules {
    /// Rule documents that did not become compiled rules.
    pub fn failed(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }
}

/// The `.yml`/`.yaml` files under `paths`, sorted.
pub fn rule_files(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_file() {
            files.push(path.clone());
            continue;
        }
        let mut found: Vec<PathBuf> = walkdir::WalkDir::new(path)
            .into_iter()
            .flatten()
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")))
            .collect();
        found.sort();
        files.extend(found);
    }
    files
}

/// Reads a placeholder file: a YAML mapping of placeholder name → list of values.
pub fn read_placeholders(path: Option<&Path>) -> anyhow::Result<Placeholders> {
    let mut out = Placeholders::new();
    let Some(path) = path else { return Ok(out) };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let docs = <saphyr::Yaml as saphyr::LoadableYamlNode>::load_from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let Some(saphyr::Yaml::Mapping(map)) = docs.first() else {
        anyhow::bail!(
            "{}: a placeholder file is a mapping of name to list of values",
            path.display()
        );
    };
    for (k, v) in map {
        let Some(name) = k.as_str() else { continue };
        let values = match v {
            saphyr::Yaml::Sequence(items) => items.iter().filter_map(yaml_text).collect(),
            other => yaml_text(other).into_iter().collect(),
        };
        out.insert(name.trim_matches('%').to_string(), values);
    }
    Ok(out)
}

fn yaml_text(y: &saphyr::Yaml<'_>) -> Option<String> {
    match y {
        saphyr::Yaml::Value(s) => Some(match s {
            saphyr::Scalar::String(s) => s.to_string(),
            saphyr::Scalar::Integer(i) => i.to_string(),
            saphyr::Scalar::FloatingPoint(f) => f.to_string(),
            saphyr::Scalar::Boolean(b) => b.to_string(),
            saphyr::Scalar::Null => return None,
        }),
        saphyr::Yaml::Representation(s, _, _) => Some(s.to_string()),
        _ => None,
    }
}

/// Loads and compiles every rule file under `paths`.
pub fn load_rules(
    paths: &[PathBuf],
    table: &FieldTable,
    placeholders: &Placeholders,
) -> LoadedRules {
    let files = rule_files(paths);
    let mut set = RuleSet::default();
    let mut diagnostics = Vec::new();
    for file in &files {
        let name: Arc<str> = Arc::from(file.to_string_lossy().as_ref());
        match std::fs::read(file) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => load_str(&name, &text, &mut set, &mut diagnostics),
                Err(e) => diagnostics.push(Diagnostic::error(
                    Code::YamlSyntax,
                    &name,
                    Pos::default(),
                    format!("not UTF-8: {e}"),
                )),
            },
            Err(e) => diagnostics.push(Diagnostic::error(
                Code::YamlSyntax,
                &name,
                Pos::default(),
                e.to_string(),
            )),
        }
    }
    let rules = compile(&set, table, placeholders, &mut diagnostics);
    LoadedRules {
        rules,
        set,
        diagnostics,
        files: files.len(),
    }
}

/// `watchfloor rules check`: prints diagnostics; fails when any is an error.
pub fn check(args: RulesCheckArgs) -> anyhow::Result<bool> {
    let placeholders = read_placeholders(args.placeholders.as_deref())?;
    let table = FieldTable::new();
    let loaded = load_rules(&args.paths, &table, &placeholders);
    match args.format {
        DiagnosticFormat::Human => {
            for d in &loaded.diagnostics {
                println!("{d}");
            }
        }
        DiagnosticFormat::Json => {
            for d in &loaded.diagnostics {
                let row = serde_json::json!({
                    "code": d.code.as_str(),
                    "severity": if d.is_error() { "error" } else { "warning" },
                    "file": &*d.file,
                    "line": d.line,
                    "column": d.column,
                    "message": d.message,
                });
                println!("{row}");
            }
        }
    }
    let errors = loaded.failed();
    eprintln!(
        "{} files, {} rules compiled, {} correlations, {} filters; {} errors, {} warnings",
        loaded.files,
        loaded.rules.len(),
        loaded.set.correlations.len(),
        loaded.set.filters.len(),
        errors,
        loaded.diagnostics.len() - errors
    );
    Ok(errors == 0)
}

/// The correlation engine over `loaded`'s correlations, resolving rule references by id
/// or name to compiled rule indices.
pub fn correlation_engine(
    loaded: &LoadedRules,
    table: &FieldTable,
) -> (
    watchfloor_sigma::correlation::CorrelationEngine,
    Vec<Diagnostic>,
) {
    let mut by_key: std::collections::HashMap<&str, Vec<u32>> = std::collections::HashMap::new();
    for (i, rule) in loaded.rules.iter().enumerate() {
        for key in [rule.meta.id.as_deref(), rule.meta.name.as_deref()]
            .into_iter()
            .flatten()
        {
            by_key.entry(key).or_default().push(i as u32);
        }
    }
    let resolve = |reference: &str| by_key.get(reference).cloned().unwrap_or_default();
    watchfloor_sigma::correlation::CorrelationEngine::new(
        &loaded.set.correlations,
        &resolve,
        table,
        Default::default(),
    )
}

/// `out[rule]`: whether some correlation uses compiled rule `rule`.
pub fn correlated_rules(
    engine: &watchfloor_sigma::correlation::CorrelationEngine,
    rules: usize,
) -> Vec<bool> {
    (0..rules as u32).map(|r| engine.uses_rule(r)).collect()
}
