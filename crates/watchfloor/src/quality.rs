//! `watchfloor bench quality`: what the analysis engine makes of the SigmaHQ rules'
//! detections on labelled attack data — for each OTRF dataset (its ATT&CK metadata says
//! which techniques and tactics it shows) and each tactic folder of the EVTX attack
//! samples: detections → alerts → incidents, and whether an incident carries the
//! expected tactic (as a kill-chain stage) or technique. Prints a Markdown report.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use saphyr::{LoadableYamlNode, Yaml};
use watchfloor_event::FieldTable;
use watchfloor_sigma::engine::Engine;
use watchfloor_triage::attack::{AttackCatalog, Stage};
use watchfloor_triage::{Triage, TriageConfig};

use crate::cli::BenchQualityArgs;

/// One labelled dataset.
struct Dataset {
    name: String,
    files: Vec<PathBuf>,
    techniques: Vec<String>,
    stages: Vec<Stage>,
}

/// One dataset's outcome.
struct Row {
    name: String,
    expected: String,
    detections: u64,
    alerts: u64,
    incidents: u64,
    /// Whether an incident carries an expected stage or technique.
    found: Option<bool>,
    what: String,
}

pub fn run(args: BenchQualityArgs) -> anyhow::Result<()> {
    let corpora = args.corpora;
    let sigma = corpora.join("detection/sigmahq-sigma/rules");
    if !sigma.is_dir() {
        bail!("{} not found (pass --corpora)", sigma.display());
    }
    let table = FieldTable::new();
    let placeholders = crate::rules::read_placeholders(None)?;
    let loaded = crate::rules::load_rules(&[sigma], &table, &placeholders);
    let rules = loaded.rules.len();
    let engine = Engine::new(loaded.rules);
    let mut catalog = AttackCatalog::default();
    let attack = corpora.join("threat-intel/mitre-cti-enterprise/enterprise-attack");
    if attack.is_dir() {
        crate::attack_data::load_attack(&attack, &mut catalog)?;
    }
    let mut datasets = otrf_datasets(&corpora.join("otrf-security-datasets/datasets"))?;
    datasets.extend(evtx_tactic_folders(
        &corpora.join("evtx/EVTX-ATTACK-SAMPLES"),
    )?);
    let mut config = TriageConfig::default();
    if let Some(t) = args.threshold {
        config.open_threshold = t;
    }
    if let Some(h) = args.gap_hours {
        config.incident_gap = (h * 3600.0 * 1e9) as i64;
    }
    let mut rows = Vec::new();
    for ds in &datasets {
        rows.push(evaluate(
            ds,
            &engine,
            &table,
            &catalog,
            &config,
            args.threads,
        ));
        eprint!(".");
    }
    eprintln!();
    if args.totals_only {
        print_totals(&rows, &config);
    } else {
        print_report(&rows, rules);
    }
    Ok(())
}

fn evaluate(
    ds: &Dataset,
    engine: &Engine,
    table: &Arc<FieldTable>,
    catalog: &AttackCatalog,
    config: &TriageConfig,
    threads: usize,
) -> Row {
    let (detections, _events) = crate::hunt::detect_paths(&ds.files, engine, table, threads);
    let mut triage = Triage::new(config.clone());
    triage.set_catalog(catalog.clone());
    crate::hunt::analyse(&mut triage, &detections);
    let stats = triage.stats();
    let mut reached: BTreeSet<Stage> = BTreeSet::new();
    let mut techniques: BTreeSet<String> = BTreeSet::new();
    for inc in triage.incidents() {
        reached.extend(inc.stages.iter().map(|s| s.stage));
        for a in inc.alerts.iter().filter_map(|&a| triage.alert(a)) {
            techniques.extend(a.techniques.iter().map(|t| t.id.clone()));
        }
    }
    let stage_hit = ds.stages.iter().find(|s| reached.contains(s));
    let technique_hit = ds.techniques.iter().find(|t| {
        techniques.iter().any(|x| {
            x == *t || x.split('.').next() == Some(t.as_str()) || t.split('.').next() == Some(x)
        })
    });
    let found = (stats.detections > 0).then_some(stage_hit.is_some() || technique_hit.is_some());
    let what = match (stage_hit, technique_hit) {
        (Some(s), Some(t)) => format!("{}, {t}", s.label()),
        (Some(s), None) => s.label().to_string(),
        (None, Some(t)) => t.clone(),
        (None, None) => {
            let got: Vec<&str> = reached.iter().map(|s| s.label()).collect();
            if got.is_empty() {
                String::new()
            } else {
                format!("only: {}", got.join(", "))
            }
        }
    };
    let mut expected: Vec<String> = ds.stages.iter().map(|s| s.label().to_string()).collect();
    expected.extend(ds.techniques.iter().cloned());
    Row {
        name: ds.name.clone(),
        expected: expected.join(", "),
        detections: stats.detections,
        alerts: stats.alerts,
        incidents: stats.incidents,
        found,
        what,
    }
}

/// One table row of totals for a setting.
fn print_totals(rows: &[Row], config: &TriageConfig) {
    let detections: u64 = rows.iter().map(|r| r.detections).sum();
    let alerts: u64 = rows.iter().map(|r| r.alerts).sum();
    let incidents: u64 = rows.iter().map(|r| r.incidents).sum();
    let with_detections = rows.iter().filter(|r| r.detections > 0).count();
    let with_incident = rows.iter().filter(|r| r.incidents > 0).count();
    let named = rows.iter().filter(|r| r.found == Some(true)).count();
    println!(
        "| {} | {:.0} h | {detections} | {alerts} | {incidents} | {:.1} | {with_detections} | {with_incident} | {named} |",
        config.open_threshold,
        config.incident_gap as f64 / 3600e9,
        detections as f64 / incidents.max(1) as f64
    );
}

fn print_report(rows: &[Row], rules: usize) {
    let detections: u64 = rows.iter().map(|r| r.detections).sum();
    let alerts: u64 = rows.iter().map(|r| r.alerts).sum();
    let incidents: u64 = rows.iter().map(|r| r.incidents).sum();
    let with_detections = rows.iter().filter(|r| r.detections > 0).count();
    let with_incident = rows.iter().filter(|r| r.incidents > 0).count();
    let named = rows.iter().filter(|r| r.found == Some(true)).count();
    println!("Rules: SigmaHQ `rules/` ({rules} loaded). Analysis engine defaults.\n");
    println!("| | datasets | detections | alerts | incidents | detections per incident |");
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| total | {} | {detections} | {alerts} | {incidents} | {:.1} |",
        rows.len(),
        detections as f64 / incidents.max(1) as f64
    );
    println!();
    println!(
        "Datasets with a detection: {with_detections}; with an incident: {with_incident}; with an incident naming an expected tactic or technique: {named}.\n"
    );
    println!(
        "| dataset | expected (stage, technique) | detections | alerts | incidents | expected in an incident |"
    );
    println!("|---|---|---:|---:|---:|---|");
    for r in rows {
        let found = match r.found {
            None => "— (no detection)".to_string(),
            Some(true) => format!("yes: {}", r.what),
            Some(false) if r.what.is_empty() => "no".to_string(),
            Some(false) => format!("no ({})", r.what),
        };
        println!(
            "| {} | {} | {} | {} | {} | {found} |",
            r.name, r.expected, r.detections, r.alerts, r.incidents
        );
    }
}

/// The OTRF datasets: each metadata file with its ATT&CK mappings and the local copies
/// of the files it links (found by file name under the datasets folder).
fn otrf_datasets(root: &Path) -> anyhow::Result<Vec<Dataset>> {
    let mut by_name = std::collections::HashMap::new();
    for entry in walkdir::WalkDir::new(root).into_iter().flatten() {
        if entry.file_type().is_file() {
            by_name.insert(
                entry.file_name().to_string_lossy().into_owned(),
                entry.path().to_path_buf(),
            );
        }
    }
    let mut metadata: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .into_iter()
        .flatten()
        .filter(|e| e.path().parent().is_some_and(|p| p.ends_with("_metadata")))
        .filter(|e| {
            e.path()
                .extension()
                .is_some_and(|x| x == "yaml" || x == "yml")
        })
        .map(|e| e.path().to_path_buf())
        .collect();
    metadata.sort();
    let mut out = Vec::new();
    for path in metadata {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let docs = match Yaml::load_from_str(&text) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("warning: {}: {e}", path.display());
                continue;
            }
        };
        let Some(doc) = docs.first() else { continue };
        let mut techniques = Vec::new();
        let mut stages = Vec::new();
        for m in seq(doc, "attack_mappings") {
            let Some(t) = scalar(m, "technique") else {
                continue;
            };
            match scalar(m, "sub-technique").filter(|s| !s.is_empty()) {
                Some(sub) => techniques.push(format!("{t}.{sub}")),
                None => techniques.push(t),
            }
            for tactic in seq(m, "tactics") {
                if let Some(s) = node_text(tactic).as_deref().and_then(Stage::from_tactic) {
                    stages.push(s);
                }
            }
        }
        stages.sort();
        stages.dedup();
        techniques.sort();
        techniques.dedup();
        let mut files = Vec::new();
        for f in seq(doc, "files") {
            let Some(link) = scalar(f, "link") else {
                continue;
            };
            let file = link.rsplit('/').next().unwrap_or_default();
            // Some metadata files list one file twice (as host and network data).
            if let Some(local) = by_name.get(file)
                && !files.contains(local)
            {
                files.push(local.clone());
            }
        }
        if files.is_empty() {
            continue;
        }
        let id = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let title = scalar(doc, "title").unwrap_or_default();
        out.push(Dataset {
            name: format!("OTRF {id}: {title}"),
            files,
            techniques,
            stages,
        });
    }
    Ok(out)
}

/// The EVTX attack samples, one dataset per tactic folder.
fn evtx_tactic_folders(root: &Path) -> anyhow::Result<Vec<Dataset>> {
    let mut out = Vec::new();
    if !root.is_dir() {
        return Ok(out);
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .with_context(|| format!("reading {}", root.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(stage) = Stage::from_tactic(&name) else {
            continue;
        };
        out.push(Dataset {
            name: format!("EVTX-ATTACK-SAMPLES {name}"),
            files: vec![dir],
            techniques: Vec::new(),
            stages: vec![stage],
        });
    }
    Ok(out)
}

fn seq<'a>(node: &'a Yaml<'a>, key: &str) -> Vec<&'a Yaml<'a>> {
    match node.as_mapping_get(key) {
        Some(Yaml::Sequence(items)) => items.iter().collect(),
        _ => Vec::new(),
    }
}

fn scalar(node: &Yaml<'_>, key: &str) -> Option<String> {
    node_text(node.as_mapping_get(key)?)
}

fn node_text(node: &Yaml<'_>) -> Option<String> {
    match node {
        Yaml::Value(saphyr::Scalar::String(s)) => Some(s.to_string()),
        Yaml::Value(saphyr::Scalar::Integer(i)) => Some(format!("{i:03}")),
        Yaml::Representation(s, _, _) => Some(s.to_string()),
        _ => None,
    }
}
