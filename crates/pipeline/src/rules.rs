//! Loading Sigma rules from files and folders: every `.yml`/`.yaml` file parsed,
//! compiled against one field table, with diagnostics for what failed; and the
//! correlation engine over the loaded correlations. The only module of this crate that
//! reads files.

use std::path::PathBuf;
use std::sync::Arc;

use watchfloor_event::FieldTable;
use watchfloor_sigma::compile::{CompiledRule, compile};
use watchfloor_sigma::correlation::CorrelationEngine;
use watchfloor_sigma::diagnostic::{Code, Diagnostic, Pos};
use watchfloor_sigma::field_test::Placeholders;
use watchfloor_sigma::load::load_str;
use watchfloor_sigma::rule::RuleSet;

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

/// Loads and compiles rules given as text: `(name, YAML)` pairs.
pub fn load_sources(
    sources: &[(&str, &str)],
    table: &FieldTable,
    placeholders: &Placeholders,
) -> LoadedRules {
    let mut set = RuleSet::default();
    let mut diagnostics = Vec::new();
    for (name, text) in sources {
        let name: Arc<str> = Arc::from(*name);
        load_str(&name, text, &mut set, &mut diagnostics);
    }
    let rules = compile(&set, table, placeholders, &mut diagnostics);
    LoadedRules {
        rules,
        set,
        diagnostics,
        files: sources.len(),
    }
}

/// The correlation engine over `loaded`'s correlations, resolving rule references by id
/// or name to compiled rule indices.
pub fn correlation_engine(
    loaded: &LoadedRules,
    table: &FieldTable,
) -> (CorrelationEngine, Vec<Diagnostic>) {
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
    CorrelationEngine::new(
        &loaded.set.correlations,
        &resolve,
        table,
        Default::default(),
    )
}

/// `out[rule]`: whether some correlation uses compiled rule `rule`.
pub fn correlated_rules(engine: &CorrelationEngine, rules: usize) -> Vec<bool> {
    (0..rules as u32).map(|r| engine.uses_rule(r)).collect()
}
