//! `watchfloor hunt`: offline decoding (and, as the engines land, detection) over a pile
//! of collected logs.

mod files;
mod incidents;
mod output;
mod progress;
mod workers;

pub use files::expand as expand_paths;
pub use incidents::{TriageFiles, analyse, engine as triage_engine};
pub use output::write_detections;
pub use watchfloor_pipeline::detect::DetectionRow;
use watchfloor_pipeline::intel_match::IntelMatcher;
use watchfloor_pipeline::{
    beacon, cloud_creds, correlate, detect, dns_tunnel, remote_exec, web_scan,
};

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use watchfloor_decode::Format;
use watchfloor_event::FieldTable;
use watchfloor_sigma::engine::Engine;

use crate::cli::{HuntArgs, OutputFormat, UsageError};

/// A validated hunt run: every default resolved, every path checked.
#[derive(Debug)]
pub struct HuntConfig {
    pub paths: Vec<PathBuf>,
    pub rules: Vec<PathBuf>,
    pub placeholders: Option<PathBuf>,
    pub input_format: Option<Format>,
    pub output_format: OutputFormat,
    pub output: Option<PathBuf>,
    pub summary_json: Option<PathBuf>,
    pub threads: usize,
    pub progress: bool,
    pub max_errors_shown: usize,
    pub incidents: bool,
    pub triage_files: TriageFiles,
    /// Indicator files every event is matched against.
    pub intel: Vec<PathBuf>,
    /// Whether connections are analysed for beaconing.
    pub beacons: bool,
    /// Whether web server requests are analysed for attacks.
    pub web_attacks: bool,
}

impl HuntConfig {
    pub fn from_args(args: HuntArgs) -> anyhow::Result<Self> {
        let input_format = args
            .input_format
            .as_deref()
            .map(str::parse::<Format>)
            .transpose()
            .map_err(UsageError)?;
        let context_files = args
            .attack
            .iter()
            .chain(&args.assets)
            .chain(&args.warninglists)
            .chain(&args.suppressions)
            .chain(&args.triage_config);
        let inputs = args.paths.iter().chain(&args.rules).chain(&args.intel);
        for path in inputs.chain(context_files) {
            if !path.exists() {
                return Err(
                    UsageError(format!("no such file or folder: {}", path.display())).into(),
                );
            }
        }
        let threads = match args.threads {
            Some(0) => return Err(UsageError("--threads must be at least 1".into()).into()),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
        let output_format = args.output_format.unwrap_or(if to_terminal {
            OutputFormat::Table
        } else {
            OutputFormat::Jsonl
        });
        Ok(HuntConfig {
            paths: args.paths,
            rules: args.rules,
            placeholders: args.placeholders,
            input_format,
            output_format,
            output: args.output,
            summary_json: args.summary_json,
            threads,
            progress: !args.no_progress && std::io::stderr().is_terminal(),
            max_errors_shown: args.max_errors_shown,
            incidents: args.incidents,
            triage_files: TriageFiles {
                attack: args.attack,
                assets: args.assets,
                warninglists: args.warninglists,
                suppressions: args.suppressions,
                config: args.triage_config,
            },
            intel: args.intel,
            beacons: args.beacons,
            web_attacks: !args.no_web_attacks,
        })
    }
}

/// Runs a hunt to completion: decode everything, write the results and the summary.
pub fn run(config: HuntConfig) -> anyhow::Result<()> {
    let started = Instant::now();
    let table = FieldTable::new();
    // Indicators load on their own thread while the rules compile.
    let intel_loading = (!config.intel.is_empty()).then(|| {
        let paths = config.intel.clone();
        std::thread::spawn(move || {
            let loading = Instant::now();
            crate::intel_cli::load_files(&paths).map(|l| (l, loading.elapsed()))
        })
    });
    let mut correlation = None;
    let mut correlated = Vec::new();
    let (engine, rules_loaded, mut rules_failed) = if config.rules.is_empty() {
        (None, 0, 0)
    } else {
        let placeholders = crate::rules::read_placeholders(config.placeholders.as_deref())?;
        let loaded = crate::rules::load_rules(&config.rules, &table, &placeholders);
        for d in loaded.diagnostics.iter().take(config.max_errors_shown) {
            eprintln!("{d}");
        }
        let (ok, failed) = (loaded.rules.len() as u64, loaded.failed() as u64);
        eprintln!(
            "{ok} rules and {} correlations loaded from {} files, {failed} failed",
            loaded.set.correlations.len(),
            loaded.files
        );
        if !loaded.set.correlations.is_empty() {
            let (engine, diags) = crate::rules::correlation_engine(&loaded, &table);
            for d in &diags {
                eprintln!("{d}");
            }
            correlated = crate::rules::correlated_rules(&engine, loaded.rules.len());
            let failed = diags.iter().filter(|d| d.is_error()).count() as u64;
            correlation = Some((engine, loaded.set.correlations.clone(), failed));
        }
        (Some(Engine::new(loaded.rules)), ok, failed)
    };
    if let Some((_, _, failed)) = &correlation {
        rules_failed += *failed;
    }
    let intel = match intel_loading {
        None => None,
        Some(handle) => {
            let ((intel, messages), took) = handle
                .join()
                .map_err(|_| anyhow::anyhow!("loading the indicators failed"))??;
            for m in &messages {
                eprintln!("{m}");
            }
            eprintln!(
                "{} indicators loaded in {:.2}s",
                intel.len(),
                took.as_secs_f64()
            );
            Some(IntelMatcher::new(Arc::new(intel), table.clone()))
        }
    };
    let detecting = engine.is_some() || intel.is_some() || config.beacons;
    // The analysis engine's context files are read before the work starts, so a bad
    // path fails fast.
    let triage = if detecting {
        Some(incidents::engine(&config.triage_files)?)
    } else {
        None
    };
    let files = files::expand(&config.paths);
    let progress = progress::Progress::new(config.progress, files.files.len() as u64);
    let mut outcome = workers::decode_all(
        &files.files,
        &config,
        &table,
        engine.as_ref(),
        &correlated,
        intel.as_ref(),
        &progress,
    );
    let mut detections: Vec<detect::DetectionRow> = Vec::with_capacity(outcome.detections.len());
    if let Some((corr, correlations, _)) = correlation.as_mut() {
        let inputs = std::mem::take(&mut outcome.correlation_inputs);
        detections.extend(
            std::mem::take(&mut outcome.detections)
                .into_iter()
                .filter(|(rule, _)| corr.reports_base_rule(*rule))
                .map(|(_, row)| row),
        );
        detections.extend(correlate::run(corr, correlations, inputs));
    } else {
        detections.extend(
            std::mem::take(&mut outcome.detections)
                .into_iter()
                .map(|(_, row)| row),
        );
    }
    detections.extend(whole_run_analyses(&mut outcome, config.beacons));
    progress.finish();
    let triage = match triage {
        Some(mut triage) => {
            let triage_started = Instant::now();
            incidents::analyse(&mut triage, &detections);
            Some((triage, triage_started.elapsed().as_secs_f64()))
        }
        None => None,
    };
    let elapsed = started.elapsed();

    let mut errors_shown = 0usize;
    let shown = files
        .errors
        .iter()
        .cloned()
        .chain(outcome.errors.iter().map(ToString::to_string));
    for err in shown {
        if errors_shown < config.max_errors_shown {
            eprintln!("warning: {err}");
            errors_shown += 1;
        }
    }
    let total_errors = files.errors.len() as u64 + outcome.decode_errors();
    if total_errors > errors_shown as u64 {
        eprintln!(
            "warning: {} more decode errors not shown",
            total_errors - errors_shown as u64
        );
    }

    let summary = output::Summary {
        files: files.files.len() as u64,
        streams: outcome.streams.len() as u64,
        events: outcome.events(),
        bytes: outcome.bytes(),
        decode_errors: total_errors,
        unsupported: outcome.unsupported(),
        detections: detections.len() as u64,
        indicator_matches: intel
            .as_ref()
            .map(|_| detections.iter().filter(|d| d.indicator.is_some()).count() as u64),
        rules_loaded,
        rules_failed,
        alerts: triage.as_ref().map(|(t, _)| t.stats().alerts),
        incidents: triage.as_ref().map(|(t, _)| t.stats().incidents),
        suppressed: triage.as_ref().map(|(t, _)| t.stats().suppressed),
        elapsed_s: elapsed.as_secs_f64(),
        triage_s: triage.as_ref().map(|(_, s)| *s),
    };
    let mut out = output::open(config.output.as_deref())?;
    if detecting {
        output::write_detections(&mut out, config.output_format, &detections)
    } else {
        output::write_streams(&mut out, config.output_format, &outcome.streams)
    }
    .context("writing results")?;
    if config.incidents
        && let Some((triage, _)) = &triage
    {
        incidents::write_incidents(&mut out, config.output_format, triage)
            .context("writing incidents")?;
    }
    out.flush().context("writing results")?;
    if let Some(path) = &config.summary_json {
        let json = serde_json::to_string_pretty(&summary)?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    eprintln!("{}", summary.one_line());
    Ok(())
}

/// Says on standard error that a whole-run analysis was past its bound.
fn warn_dropped(analysis: &str, kept: usize, what: &str, dropped: u64) {
    if dropped > 0 {
        eprintln!(
            "warning: {analysis} took the first {kept} {what}; {dropped} more were not analysed"
        );
    }
}

/// The analyses that need the whole run, on what the workers collected: beacons (when
/// asked for), web scans, DNS tunnelling, remote execution and stolen cloud instance
/// credentials.
fn whole_run_analyses(outcome: &mut workers::Outcome, beacons: bool) -> Vec<DetectionRow> {
    let mut detections = Vec::new();
    if beacons {
        let connections = std::mem::take(&mut outcome.connections);
        let seen = connections.len();
        let (found, _) = beacon::find_beacons(connections, &beacon::BeaconConfig::default());
        if outcome.connections_dropped > 0 {
            eprintln!(
                "warning: beacon analysis took the first {seen} connections read; {} more were not analysed",
                outcome.connections_dropped
            );
        }
        eprintln!(
            "beacon analysis: {} beacons among {seen} outgoing connections",
            found.len()
        );
        detections.extend(found.iter().map(beacon::Beacon::row));
    }
    if !outcome.misses.is_empty() {
        let misses = std::mem::take(&mut outcome.misses);
        let (found, _) = web_scan::find_web_scans(misses, &web_scan::WebScanConfig::default());
        warn_dropped(
            "web scan analysis",
            web_scan::WebScanConfig::default().max_requests,
            "requests answered 4xx",
            outcome.misses_dropped,
        );
        detections.extend(found.iter().map(web_scan::WebScan::row));
    }
    warn_dropped(
        "remote execution analysis",
        workers::MAX_REMOTE_ITEMS,
        "logons and session processes",
        outcome.remote_dropped,
    );
    warn_dropped(
        "DNS tunnelling analysis",
        dns_tunnel::DnsTunnelConfig::default().max_queries,
        "queries for long names",
        outcome.queries_dropped,
    );
    let queries = std::mem::take(&mut outcome.queries);
    let (found, _) = dns_tunnel::find_dns_tunnels(queries, &dns_tunnel::DnsTunnelConfig::default());
    detections.extend(found.iter().map(dns_tunnel::DnsTunnel::row));
    warn_dropped(
        "cloud credential analysis",
        workers::MAX_CLOUD_CALLS,
        "CloudTrail calls",
        outcome.cloud_calls_dropped,
    );
    let mut calls = std::mem::take(&mut outcome.cloud_calls);
    calls.sort_by_key(|c| c.time_ns);
    let mut tracker = cloud_creds::CloudCredTracker::new();
    for call in &calls {
        detections.extend(
            tracker
                .observe(call)
                .iter()
                .map(cloud_creds::OutsideUse::row),
        );
    }
    let remote = std::mem::take(&mut outcome.remote);
    let found = remote_exec::find_remote_executions(remote.logons, remote.processes);
    detections.extend(found.iter().map(remote_exec::RemoteExecution::row));
    detections
}

/// Decodes `paths` (files or folders) and evaluates `engine` on every event: the
/// detection rows in file order, then those of the whole-run analyses (web scans,
/// remote execution), and the number of events. No correlation pass.
pub fn detect_paths(
    paths: &[PathBuf],
    engine: &Engine,
    table: &std::sync::Arc<FieldTable>,
    threads: usize,
) -> (Vec<DetectionRow>, u64) {
    let config = HuntConfig {
        paths: paths.to_vec(),
        rules: Vec::new(),
        placeholders: None,
        input_format: None,
        output_format: OutputFormat::Jsonl,
        output: None,
        summary_json: None,
        threads,
        progress: false,
        max_errors_shown: 0,
        incidents: false,
        triage_files: TriageFiles::default(),
        intel: Vec::new(),
        beacons: false,
        web_attacks: true,
    };
    let files = files::expand(paths);
    let progress = progress::Progress::new(false, files.files.len() as u64);
    let mut outcome = workers::decode_all(
        &files.files,
        &config,
        table,
        Some(engine),
        &[],
        None,
        &progress,
    );
    progress.finish();
    let events = outcome.events();
    let whole_run = whole_run_analyses(&mut outcome, false);
    let mut rows: Vec<DetectionRow> = std::mem::take(&mut outcome.detections)
        .into_iter()
        .map(|(_, row)| row)
        .collect();
    rows.extend(whole_run);
    (rows, events)
}

/// What [`match_paths`] found.
#[derive(Debug, Default)]
pub struct MatchOutcome {
    /// Indicator matches in file and record order.
    pub rows: Vec<DetectionRow>,
    pub files: u64,
    pub events: u64,
    /// The first decode errors (and unreadable paths), up to the number asked for.
    pub errors: Vec<String>,
    pub error_count: u64,
}

/// Decodes `paths` (files or folders) as `hunt` does and matches every event against
/// `matcher` only (no rules, no analysis).
pub fn match_paths(
    paths: &[PathBuf],
    matcher: &IntelMatcher,
    table: &Arc<FieldTable>,
    threads: usize,
    input_format: Option<Format>,
    max_errors_shown: usize,
) -> MatchOutcome {
    let config = HuntConfig {
        paths: paths.to_vec(),
        rules: Vec::new(),
        placeholders: None,
        input_format,
        output_format: OutputFormat::Jsonl,
        output: None,
        summary_json: None,
        threads,
        progress: false,
        max_errors_shown,
        incidents: false,
        triage_files: TriageFiles::default(),
        intel: Vec::new(),
        beacons: false,
        web_attacks: true,
    };
    let files = files::expand(paths);
    let progress = progress::Progress::new(false, files.files.len() as u64);
    let outcome = workers::decode_all(
        &files.files,
        &config,
        table,
        None,
        &[],
        Some(matcher),
        &progress,
    );
    progress.finish();
    let errors: Vec<String> = files
        .errors
        .iter()
        .cloned()
        .chain(outcome.errors.iter().map(ToString::to_string))
        .take(max_errors_shown)
        .collect();
    MatchOutcome {
        files: files.files.len() as u64,
        events: outcome.events(),
        error_count: files.errors.len() as u64 + outcome.decode_errors(),
        errors,
        rows: outcome.detections.into_iter().map(|(_, row)| row).collect(),
    }
}
