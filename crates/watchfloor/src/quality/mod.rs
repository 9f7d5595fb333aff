//! `watchfloor bench quality`: what the analysis engine makes of the SigmaHQ rules'
//! detections on labelled attack data — for each OTRF dataset (its ATT&CK metadata says
//! which techniques and tactics it shows) and each tactic folder of the EVTX attack
//! samples: detections → alerts → incidents, and whether an incident carries the
//! expected tactic (as a kill-chain stage) or technique. Prints a Markdown report.
//!
//! Two evaluations: every dataset in one stream through one engine, the way a watch
//! floor sees them (recordings of one host on one day meet in one incident, as they
//! would in service), with each dataset credited only for its own detections' alerts;
//! and each dataset on its own engine, which no recording can share.

mod datasets;
mod report;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::bail;
use watchfloor_event::FieldTable;
use watchfloor_sigma::engine::Engine;
use watchfloor_triage::attack::{AttackCatalog, Stage};
use watchfloor_triage::engine::Outcome;
use watchfloor_triage::{Triage, TriageConfig};

use crate::cli::BenchQualityArgs;
use crate::hunt::DetectionRow;
use datasets::Dataset;

/// One dataset's outcome.
struct Row {
    name: String,
    expected: String,
    detections: u64,
    /// Detections of rules above informational: the ones that may make a case.
    alertable: u64,
    alerts: u64,
    incidents: u64,
    /// Whether an incident holds an alert of the dataset with an expected stage or
    /// technique (`None`: no detection).
    found: Option<bool>,
    what: String,
}

/// Counts over a whole evaluation (each detection, alert and incident once).
#[derive(Clone, Copy, Default)]
struct Totals {
    detections: u64,
    alerts: u64,
    incidents: u64,
}

/// What the whole evaluation found.
struct Evaluation {
    rows: Vec<Row>,
    totals: Totals,
}

/// What the engine and the data need, shared by both evaluations.
struct Setup<'a> {
    engine: &'a Engine,
    table: &'a Arc<FieldTable>,
    catalog: &'a AttackCatalog,
    config: &'a TriageConfig,
    threads: usize,
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
    let mut datasets = datasets::otrf_datasets(&corpora.join("otrf-security-datasets/datasets"))?;
    datasets.extend(datasets::evtx_tactic_folders(
        &corpora.join("evtx/EVTX-ATTACK-SAMPLES"),
    )?);
    let mut config = TriageConfig::default();
    if let Some(t) = args.threshold {
        config.open_threshold = t;
    }
    if let Some(h) = args.gap_hours {
        config.incident_gap = (h * 3600.0 * 1e9) as i64;
    }
    let setup = Setup {
        engine: &engine,
        table: &table,
        catalog: &catalog,
        config: &config,
        threads: args.threads,
    };
    let together = evaluate_together(&datasets, &setup);
    let separate = evaluate_separately(&datasets, &setup);
    if args.totals_only {
        report::print_totals("one stream", &together, &config);
        report::print_totals("each on its own", &separate, &config);
    } else {
        report::print_report(&together, &separate, rules);
    }
    Ok(())
}

/// Every dataset's files hunted once and analysed as one stream in time order; each
/// dataset is credited with the alerts its own detections made or joined, and the
/// incidents those alerts are in.
fn evaluate_together(datasets: &[Dataset], setup: &Setup<'_>) -> Evaluation {
    let mut owners: HashMap<PathBuf, Vec<usize>> = HashMap::new();
    let mut files: Vec<PathBuf> = Vec::new();
    for (i, ds) in datasets.iter().enumerate() {
        for file in crate::hunt::expand_paths(&ds.files).files {
            let list = owners.entry(file.clone()).or_default();
            if list.is_empty() {
                files.push(file);
            }
            if !list.contains(&i) {
                list.push(i);
            }
        }
    }
    let (detections, _events) =
        crate::hunt::detect_paths(&files, setup.engine, setup.table, setup.threads);
    let mut triage = Triage::new(setup.config.clone());
    triage.set_catalog(setup.catalog.clone());
    let mut order: Vec<usize> = (0..detections.len()).collect();
    order.sort_by_key(|&i| (detections[i].time_ns, i));
    let mut counts = vec![(0u64, 0u64); datasets.len()];
    let mut alerts: Vec<BTreeSet<u64>> = vec![BTreeSet::new(); datasets.len()];
    for i in order {
        let row = &detections[i];
        let outcome = triage.observe(row.to_detection(watchfloor_event::TenantId(0)));
        let alert = match outcome {
            Outcome::NewAlert(id) | Outcome::Merged(id) => Some(id),
            Outcome::Suppressed => None,
        };
        for &d in owners_of(&owners, row) {
            counts[d].0 += 1;
            counts[d].1 += u64::from(row.level != "informational");
            if let Some(id) = alert {
                alerts[d].insert(id);
            }
        }
    }
    let rows = datasets
        .iter()
        .enumerate()
        .map(|(d, ds)| {
            let mut incidents = BTreeSet::new();
            let mut reached = BTreeSet::new();
            let mut techniques = BTreeSet::new();
            for alert in alerts[d].iter().filter_map(|&a| triage.alert(a)) {
                let Some(incident) = alert.incident.and_then(|i| triage.incident(i)) else {
                    continue;
                };
                incidents.insert(incident.id);
                reached.extend(alert.stages.iter().copied());
                techniques.extend(alert.techniques.iter().map(|t| t.id.clone()));
            }
            let (detections, alertable) = counts[d];
            row_for(
                ds,
                Counts {
                    detections,
                    alertable,
                    alerts: alerts[d].len() as u64,
                    incidents: incidents.len() as u64,
                },
                &reached,
                &techniques,
            )
        })
        .collect();
    let stats = triage.stats();
    Evaluation {
        rows,
        totals: Totals {
            detections: stats.detections,
            alerts: stats.alerts,
            incidents: stats.incidents,
        },
    }
}

/// The datasets a detection's file belongs to (`path` or `archive!member`).
fn owners_of<'a>(owners: &'a HashMap<PathBuf, Vec<usize>>, row: &DetectionRow) -> &'a [usize] {
    let source = row.source.as_str();
    owners
        .get(&PathBuf::from(source))
        .or_else(|| {
            let (path, _) = source.split_once('!')?;
            owners.get(&PathBuf::from(path))
        })
        .map_or(&[], Vec::as_slice)
}

/// Each dataset on an engine of its own.
fn evaluate_separately(datasets: &[Dataset], setup: &Setup<'_>) -> Evaluation {
    let mut rows = Vec::new();
    let mut totals = Totals::default();
    for ds in datasets {
        let (detections, _events) =
            crate::hunt::detect_paths(&ds.files, setup.engine, setup.table, setup.threads);
        let mut triage = Triage::new(setup.config.clone());
        triage.set_catalog(setup.catalog.clone());
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
        let counts = Counts {
            detections: stats.detections,
            alertable: detections
                .iter()
                .filter(|r| r.level != "informational")
                .count() as u64,
            alerts: stats.alerts,
            incidents: stats.incidents,
        };
        totals.detections += counts.detections;
        totals.alerts += counts.alerts;
        totals.incidents += counts.incidents;
        rows.push(row_for(ds, counts, &reached, &techniques));
        eprint!(".");
    }
    eprintln!();
    Evaluation { rows, totals }
}

/// One dataset's counts.
struct Counts {
    detections: u64,
    alertable: u64,
    alerts: u64,
    incidents: u64,
}

/// The dataset's row: whether the stages reached and techniques seen in its incidents
/// include an expected one (a technique matches its parent or sub-technique).
fn row_for(
    ds: &Dataset,
    counts: Counts,
    reached: &BTreeSet<Stage>,
    techniques: &BTreeSet<String>,
) -> Row {
    let stage_hit = ds.stages.iter().find(|s| reached.contains(s));
    let technique_hit = ds.techniques.iter().find(|t| {
        techniques.iter().any(|x| {
            x == *t || x.split('.').next() == Some(t.as_str()) || t.split('.').next() == Some(x)
        })
    });
    let found = (counts.detections > 0).then_some(stage_hit.is_some() || technique_hit.is_some());
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
        detections: counts.detections,
        alertable: counts.alertable,
        alerts: counts.alerts,
        incidents: counts.incidents,
        found,
        what,
    }
}
