//! Reading triage reference data from disk: ATT&CK STIX (a bundle, a folder of
//! one-object files, or a `.tar.gz` of them), the asset inventory (CSV or JSON) and MISP
//! warninglists. The parsing lives in `watchfloor-triage`; this module only finds and
//! reads the files, and turns a bad file into a reported problem instead of a failure.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use anyhow::{Context, bail};
use flate2::read::GzDecoder;
use walkdir::WalkDir;
use watchfloor_triage::assets::Assets;
use watchfloor_triage::attack::{AddStats, AttackCatalog};
use watchfloor_triage::warninglist::{Warninglist, Warninglists};

/// The largest single JSON document read (a whole enterprise bundle is about 50 MB).
const MAX_DOCUMENT_BYTES: u64 = 512 << 20;
/// The most an archive may inflate to, all entries together.
const MAX_ARCHIVE_BYTES: u64 = 4 << 30;

/// What [`load_attack`] read.
#[derive(Debug, Default)]
pub struct AttackLoadReport {
    /// JSON documents read (archive entries included).
    pub files: usize,
    pub techniques: usize,
    pub tactics: usize,
    pub mitigations: usize,
    pub relationships: usize,
    /// One line per file that could not be read or parsed: its path and the error.
    pub errors: Vec<String>,
}

impl AttackLoadReport {
    fn add(&mut self, stats: AddStats) {
        self.files += 1;
        self.techniques += stats.techniques;
        self.tactics += stats.tactics;
        self.mitigations += stats.mitigations;
        self.relationships += stats.relationships;
    }
}

fn has_extension(path: &Path, suffix: &str) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.to_ascii_lowercase().ends_with(suffix))
}

fn is_archive(path: &Path) -> bool {
    has_extension(path, ".tar.gz") || has_extension(path, ".tgz")
}

/// Reads a whole text file, refusing ones over `MAX_DOCUMENT_BYTES`.
fn read_text(path: &Path) -> anyhow::Result<String> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_DOCUMENT_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if text.len() as u64 > MAX_DOCUMENT_BYTES {
        bail!(
            "{} is larger than {MAX_DOCUMENT_BYTES} bytes",
            path.display()
        );
    }
    Ok(text)
}

/// Loads ATT&CK data from a path: a STIX bundle .json file, a folder (every .json below
/// it, recursively, e.g. the one-object-per-file layout, and any .tar.gz found there), or
/// a .tar.gz of such files (e.g. enterprise-attack-relationship.tar.gz). Reports files
/// read and objects taken; a bad file is reported (path and error) and skipped.
pub fn load_attack(path: &Path, catalog: &mut AttackCatalog) -> anyhow::Result<AttackLoadReport> {
    let mut report = AttackLoadReport::default();
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read ATT&CK data at {}", path.display()))?;
    if meta.is_dir() {
        let mut files: Vec<_> = WalkDir::new(path)
            .follow_links(true)
            .into_iter()
            .filter_map(|entry| match entry {
                Ok(entry) => Some(entry),
                Err(e) => {
                    report.errors.push(format!("{}: {e}", path.display()));
                    None
                }
            })
            .filter(|e| e.file_type().is_file())
            .map(walkdir::DirEntry::into_path)
            .filter(|p| has_extension(p, ".json") || is_archive(p))
            .collect();
        files.sort();
        for file in files {
            load_attack_file(&file, catalog, &mut report);
        }
    } else {
        load_attack_file(path, catalog, &mut report);
    }
    Ok(report)
}

fn load_attack_file(path: &Path, catalog: &mut AttackCatalog, report: &mut AttackLoadReport) {
    if is_archive(path) {
        if let Err(e) = load_attack_archive(path, catalog, report) {
            report.errors.push(format!("{}: {e:#}", path.display()));
        }
        return;
    }
    let added = read_text(path).and_then(|text| Ok(catalog.add_stix_json(&text)?));
    match added {
        Ok(stats) => report.add(stats),
        Err(e) => report.errors.push(format!("{}: {e:#}", path.display())),
    }
}

/// Every `.json` entry of a gzip-compressed tar archive; a bad entry is reported and the
/// rest still read.
fn load_attack_archive(
    path: &Path,
    catalog: &mut AttackCatalog,
    report: &mut AttackLoadReport,
) -> anyhow::Result<()> {
    let file = File::open(path).context("cannot open")?;
    let inflated = GzDecoder::new(std::io::BufReader::new(file)).take(MAX_ARCHIVE_BYTES);
    let mut archive = tar::Archive::new(inflated);
    for entry in archive.entries().context("not a tar archive")? {
        let mut entry = entry.context("bad archive entry")?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "<unnamed entry>".to_owned());
        if !name.to_ascii_lowercase().ends_with(".json") {
            continue;
        }
        let where_ = format!("{}!{name}", path.display());
        if entry.size() > MAX_DOCUMENT_BYTES {
            report
                .errors
                .push(format!("{where_}: larger than {MAX_DOCUMENT_BYTES} bytes"));
            continue;
        }
        let mut text = String::new();
        if let Err(e) = entry.read_to_string(&mut text) {
            report.errors.push(format!("{where_}: {e}"));
            continue;
        }
        match catalog.add_stix_json(&text) {
            Ok(stats) => report.add(stats),
            Err(e) => report.errors.push(format!("{where_}: {e}")),
        }
    }
    Ok(())
}

/// Loads assets from a .csv or .json file (by extension). Bad rows come back as
/// messages naming the file and line (or entry); a file that cannot be read or is not
/// an inventory at all is an error.
pub fn load_assets(path: &Path) -> anyhow::Result<(Assets, Vec<String>)> {
    if has_extension(path, ".csv") {
        let text = read_text(path)?;
        let (assets, errors) = Assets::from_csv(&text);
        Ok((
            assets,
            errors
                .iter()
                .map(|e| format!("{}: {e}", path.display()))
                .collect(),
        ))
    } else if has_extension(path, ".json") {
        let text = read_text(path)?;
        let (assets, errors) = Assets::from_json(&text)
            .with_context(|| format!("{} is not an asset inventory", path.display()))?;
        Ok((
            assets,
            errors
                .iter()
                .map(|e| format!("{}: {e}", path.display()))
                .collect(),
        ))
    } else {
        bail!(
            "{}: an asset inventory must be a .csv or .json file",
            path.display()
        )
    }
}

/// Loads MISP warninglists from a list.json file (any name) or a folder of them (every
/// file named `list.json` below it, recursively, as in the MISP repository). A list that
/// does not parse is reported and skipped.
pub fn load_warninglists(path: &Path) -> anyhow::Result<(Warninglists, Vec<String>)> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read warninglists at {}", path.display()))?;
    let mut lists = Warninglists::default();
    let mut errors = Vec::new();
    let files: Vec<_> = if meta.is_dir() {
        let mut files: Vec<_> = WalkDir::new(path)
            .follow_links(true)
            .into_iter()
            .filter_map(|entry| match entry {
                Ok(entry) => Some(entry),
                Err(e) => {
                    errors.push(format!("{}: {e}", path.display()));
                    None
                }
            })
            .filter(|e| e.file_type().is_file() && e.file_name() == "list.json")
            .map(walkdir::DirEntry::into_path)
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    for file in files {
        let parsed = read_text(&file).and_then(|text| Ok(Warninglist::from_json(&text)?));
        match parsed {
            Ok(list) => lists.add(list),
            Err(e) => errors.push(format!("{}: {e:#}", file.display())),
        }
    }
    Ok((lists, errors))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn threat_intel() -> Option<PathBuf> {
        let dir =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/threat-intel");
        if dir.is_dir() {
            Some(dir)
        } else {
            println!("skipped: corpus {} is absent", dir.display());
            None
        }
    }

    #[test]
    fn enterprise_objects_and_relationship_archive() {
        let Some(root) = threat_intel() else {
            return;
        };
        let cti = root.join("mitre-cti-enterprise");
        let mut catalog = AttackCatalog::default();
        let objects = load_attack(&cti.join("enterprise-attack"), &mut catalog).expect("folder");
        let relationships = load_attack(
            &cti.join("enterprise-attack-relationship.tar.gz"),
            &mut catalog,
        )
        .expect("archive");
        println!("objects: {objects:?}");
        println!(
            "relationships: {} files, {} mitigates relationships, {} errors",
            relationships.files,
            relationships.relationships,
            relationships.errors.len()
        );
        assert!(objects.errors.is_empty(), "{:?}", objects.errors);
        assert!(
            relationships.errors.is_empty(),
            "{:?}",
            relationships.errors
        );
        assert!(objects.techniques > 600);
        assert_eq!(objects.tactics, 14);
        assert!(relationships.files > 10_000);
        assert!(relationships.relationships > 1_000);
        let mitigations = catalog.mitigations_of("T1003.001");
        println!(
            "T1003.001 mitigations: {:?}",
            mitigations.iter().map(|m| &m.id).collect::<Vec<_>>()
        );
        assert!(!mitigations.is_empty());
    }

    #[test]
    fn bundle_file_warninglists_and_bad_files() {
        let Some(root) = threat_intel() else {
            return;
        };
        let mut catalog = AttackCatalog::default();
        let ics = root.join("mitre-attack-stix-data/ics-attack/ics-attack.json");
        let report = load_attack(&ics, &mut catalog).expect("bundle");
        assert_eq!(report.files, 1);
        assert!(report.techniques > 50);

        let dir =
            std::env::temp_dir().join(format!("watchfloor-attack-data-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).expect("temp dir");
        std::fs::write(dir.join("sub/bad.json"), "{ nope").expect("write");
        std::fs::write(
            dir.join("ok.json"),
            r#"{"type":"x-mitre-tactic","name":"Impact",
            "x_mitre_shortname":"impact",
            "external_references":[{"source_name":"mitre-attack","external_id":"TA0040"}]}"#,
        )
        .expect("write");
        std::fs::write(
            dir.join("assets.csv"),
            "host,ip\nws01,10.0.0.1\nbad,999.1.1.1\n",
        )
        .expect("write");
        let mut small = AttackCatalog::default();
        let report = load_attack(&dir, &mut small).expect("folder");
        assert_eq!((report.files, report.tactics), (1, 1));
        assert_eq!(report.errors.len(), 1);
        assert!(
            report
                .errors
                .iter()
                .all(|e| e.contains("bad.json") && e.contains("line 1"))
        );
        let (assets, problems) = load_assets(&dir.join("assets.csv")).expect("csv");
        assert_eq!(assets.len(), 1);
        assert!(
            problems
                .iter()
                .all(|p| p.contains("assets.csv") && p.contains("line 3"))
        );
        assert!(load_assets(&dir.join("ok.json")).is_err(), "not an array");
        assert!(load_assets(&dir.join("missing.txt")).is_err());
        let _ = std::fs::remove_dir_all(&dir);

        let (lists, errors) =
            load_warninglists(&root.join("misp-warninglists")).expect("warninglists");
        println!(
            "warninglists: {} lists, {} errors",
            lists.len(),
            errors.len()
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert!(lists.len() > 100);
        assert!(lists.matches("8.8.8.8").is_some());
    }
}
