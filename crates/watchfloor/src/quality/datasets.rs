//! The labelled datasets of the quality report: OTRF Security-Datasets (each metadata
//! file's ATT&CK mappings and the local copies of the files it links) and the tactic
//! folders of the EVTX attack samples.

use std::path::{Path, PathBuf};

use anyhow::Context;
use saphyr::{LoadableYamlNode, Yaml};
use watchfloor_triage::attack::Stage;

/// One labelled dataset.
pub struct Dataset {
    pub name: String,
    pub files: Vec<PathBuf>,
    pub techniques: Vec<String>,
    pub stages: Vec<Stage>,
}

/// The OTRF datasets: each metadata file with its ATT&CK mappings and the local copies
/// of the files it links (found by file name under the datasets folder).
pub fn otrf_datasets(root: &Path) -> anyhow::Result<Vec<Dataset>> {
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
            // The link's path under `datasets/` first: a host capture and its network
            // capture often share a file name in sibling `host/` and `network/` folders.
            let under_root = link
                .split_once("/datasets/")
                .map(|(_, rel)| root.join(rel))
                .filter(|p| p.is_file());
            let file = link.rsplit('/').next().unwrap_or_default();
            if let Some(local) = under_root.or_else(|| by_name.get(file).cloned())
                && !files.contains(&local)
            {
                files.push(local);
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
pub fn evtx_tactic_folders(root: &Path) -> anyhow::Result<Vec<Dataset>> {
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
