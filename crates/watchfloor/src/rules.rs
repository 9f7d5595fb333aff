//! Reading Sigma rule files from disk and turning them into an engine; the
//! `rules check` subcommand.

use std::path::Path;

use anyhow::Context;
use watchfloor_event::FieldTable;
use watchfloor_sigma::field_test::Placeholders;

use crate::cli::{DiagnosticFormat, RulesCheckArgs};
pub use watchfloor_pipeline::rules::{correlated_rules, correlation_engine, load_rules};

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
