//! `watchfloor intel`: import indicators into a store folder, match logs against them
//! offline, count them, export them under a TLP ceiling.
//!
//! - `feed` reads one input (file, `http://` or `https://` URL) through the importer of
//!   its format;
//! - `db` is the store folder (append-only JSON lines, replayed at start);
//! - `fetch` is the HTTP(S) GET.
//!
//! `hunt --intel FILE` reads its files through [`load_files`].

mod db;
mod feed;
mod fetch;

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use watchfloor_decode::Format;
use watchfloor_event::{FieldTable, Timestamp};
use watchfloor_intel::export::misp::{MispOptions, export_misp_event};
use watchfloor_intel::export::stix::{StixOptions, export_stix};
use watchfloor_intel::export::{ExportPolicy, ExportReport};
use watchfloor_intel::import::ImportReport;
use watchfloor_intel::{Intel, Kind, Tlp};
use watchfloor_pipeline::intel_match::IntelMatcher;

use crate::cli::{OutputFormat, UsageError};
use db::IntelDb;
pub use feed::{FeedFormat, FeedOptions};

#[derive(Debug, Subcommand)]
pub enum IntelCommand {
    /// Import indicators from STIX 2.x bundles, MISP events, CSV files or plain lists
    /// (files, or http:// and https:// URLs) into the store in --db; prints what was taken, merged,
    /// skipped (with where and why) and what cannot be matched.
    Import(IntelImportArgs),
    /// Match logs (files and folders, decoded as `hunt` does) against the indicators in
    /// --db and print every hit.
    Match(IntelMatchArgs),
    /// Count the indicators in --db: by kind, TLP and source; expired; memory.
    Stats(IntelStatsArgs),
    /// Write the indicators in --db as a STIX 2.1 bundle or a MISP event, nothing above
    /// --tlp-max (never TLP:RED).
    Export(IntelExportArgs),
    /// Pull a TAXII 2.1 collection (a partner's, or a `watchfloor serve`'s
    /// /api/v1/taxii2/ID/) into a STIX 2.1 bundle, following its paging; with --every,
    /// poll it on a schedule from where the last poll stopped.
    Pull(crate::taxii_client::IntelPullArgs),
}

#[derive(Debug, Args)]
pub struct IntelImportArgs {
    /// Files, or http:// and https:// URLs, to import.
    #[arg(required = true, value_name = "FILE|URL")]
    pub inputs: Vec<String>,
    /// The store folder (created if missing).
    #[arg(long, value_name = "DIR")]
    pub db: PathBuf,
    /// The source name the indicators are attributed to (default: the file name or
    /// URL; STIX and MISP documents naming their author keep it).
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// The input format (default: JSON recognised as STIX or MISP, `.csv` as CSV,
    /// anything else as a plain list).
    #[arg(long, value_enum)]
    pub format: Option<FeedFormat>,
    /// Every value of a list or CSV file is of this kind (default: from each value).
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
    /// TLP of indicators whose document states none (default amber).
    #[arg(long, value_name = "TLP")]
    pub tlp: Option<String>,
    /// Confidence 0–100 of indicators whose document states none (default 50).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub confidence: Option<u8>,
    /// A PEM file of CA certificates trusted for https:// URLs besides the built-in
    /// roots (a feed behind a private CA).
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct IntelMatchArgs {
    /// Log files or folders (folders are walked recursively).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The store folder.
    #[arg(long, value_name = "DIR")]
    pub db: PathBuf,
    /// Output format; default: table on a terminal, jsonl otherwise.
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,
    /// Read every input as this log format instead of recognising it.
    #[arg(long = "input-format", value_name = "FORMAT")]
    pub input_format: Option<String>,
    /// Worker threads (default: the number of CPUs).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Decode errors shown on standard error before the rest are only counted.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub max_errors_shown: usize,
}

#[derive(Debug, Args)]
pub struct IntelStatsArgs {
    /// The store folder.
    #[arg(long, value_name = "DIR")]
    pub db: PathBuf,
    /// A table for people or one JSON object.
    #[arg(long, value_enum, default_value = "table")]
    pub format: StatsFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatsFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct IntelExportArgs {
    /// The store folder.
    #[arg(long, value_name = "DIR")]
    pub db: PathBuf,
    /// The document to write.
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// The highest TLP that may go out: clear, green, amber, amber+strict (red is
    /// treated as amber+strict: TLP:RED never leaves).
    #[arg(long, value_name = "TLP", default_value = "green")]
    pub tlp_max: String,
    /// Export attributions whose validity has ended too.
    #[arg(long)]
    pub include_expired: bool,
    /// The producer (STIX identity) or organisation (MISP `Orgc`) named in the document.
    #[arg(long, value_name = "NAME", default_value = "watchfloor")]
    pub producer: String,
    /// Write the document to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Stix,
    Misp,
}

pub fn run(command: IntelCommand) -> anyhow::Result<()> {
    match command {
        IntelCommand::Import(args) => import(args),
        IntelCommand::Match(args) => match_logs(args),
        IntelCommand::Stats(args) => stats(args),
        IntelCommand::Export(args) => export(args),
        IntelCommand::Pull(args) => crate::taxii_client::run(args),
    }
}

/// Details of each kind shown per input before the rest are only counted.
const DETAILS_SHOWN: usize = 20;

fn parse_tlp(text: &str, flag: &str) -> Result<Tlp, UsageError> {
    Tlp::parse(text).ok_or_else(|| {
        UsageError(format!(
            "{flag}: unknown TLP `{text}` (expected clear, green, amber, amber+strict or red)"
        ))
    })
}

fn import(args: IntelImportArgs) -> anyhow::Result<()> {
    let options = FeedOptions {
        source: args.source,
        format: args.format,
        kind: args
            .kind
            .as_deref()
            .map(str::parse::<Kind>)
            .transpose()
            .map_err(|e| UsageError(format!("--kind: {e}")))?,
        tlp: args
            .tlp
            .as_deref()
            .map(|t| parse_tlp(t, "--tlp"))
            .transpose()?,
        confidence: args.confidence,
        ca_file: args.ca_file,
    };
    for input in &args.inputs {
        if fetch::is_url(input) {
            crate::feed_client::check_url(input)?;
        } else if !std::path::Path::new(input).is_file() {
            return Err(UsageError(format!("no such file: {input}")).into());
        }
    }
    if let Some(ca_file) = &options.ca_file {
        crate::feed_client::load_ca_file(ca_file)?;
    }
    let db = IntelDb::at(&args.db);
    db.create()?;
    let mut loaded = db.load()?;
    report_problems(&loaded.problems);
    let now = Timestamp::now();
    let mut out = io::stdout().lock();
    let mut failed = 0usize;
    for input in &args.inputs {
        let mut counts = db::AddCounts::default();
        let mut lines = String::new();
        let intel = &mut loaded.intel;
        let read = feed::read_input(input, &options, &mut |i| {
            db::record_line(&mut lines, &i, now);
            counts.add(intel, i, now);
        });
        let read = match read {
            Ok(r) => r,
            Err(e) => {
                // Nothing of a failed input is kept, so a retry adds it once.
                eprintln!("error: {e:#}");
                failed += 1;
                loaded = db.load()?;
                continue;
            }
        };
        db.append(&lines, &read.context)?;
        let mut report = read.report;
        report.merged = counts.merged;
        print_import(&mut out, input, &report, counts.new, &counts.refused)?;
    }
    let total = loaded.intel.len();
    writeln!(
        out,
        "{total} indicators in {}",
        db.dir().join(db::INDICATORS_FILE).display()
    )?;
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} inputs could not be read (the others were imported)",
            args.inputs.len()
        );
    }
    Ok(())
}

fn print_import(
    out: &mut dyn Write,
    input: &str,
    r: &ImportReport,
    new: u64,
    refused: &[String],
) -> io::Result<()> {
    let name = feed::default_source(input);
    let label = if r.source == name {
        input.to_owned()
    } else {
        format!("{input} as {}", r.source)
    };
    writeln!(
        out,
        "{label} ({}): {} candidates: {} taken ({new} new, {} merged), {} skipped, {} not matchable; {} context objects",
        r.format.as_str(),
        r.candidates,
        r.taken,
        r.merged,
        r.skipped_count(),
        r.not_matchable_count(),
        r.context_objects
    )?;
    let lists = [
        ("skipped", &r.skipped, r.skipped_count()),
        ("not matchable", &r.not_matchable, r.not_matchable_count()),
        ("note", &r.notes, r.notes.len() as u64),
    ];
    for (what, list, count) in lists {
        for s in list.iter().take(DETAILS_SHOWN) {
            // Line places name the source already; ids and JSON paths get the input.
            if r.source == name && s.place.starts_with(&r.source) {
                writeln!(out, "  {what} {s}")?;
            } else {
                writeln!(out, "  {what} {name} {s}")?;
            }
        }
        let shown = list.len().min(DETAILS_SHOWN) as u64;
        if count > shown {
            writeln!(out, "  … and {} more {what}", count - shown)?;
        }
    }
    for r in refused.iter().take(DETAILS_SHOWN) {
        writeln!(out, "  refused by the store {r}")?;
    }
    Ok(())
}

fn report_problems(problems: &[String]) {
    for p in problems.iter().take(DETAILS_SHOWN) {
        eprintln!("warning: {p} (line skipped)");
    }
    if problems.len() > DETAILS_SHOWN {
        eprintln!(
            "warning: … and {} more unreadable lines",
            problems.len() - DETAILS_SHOWN
        );
    }
}

/// Reads intelligence files (`hunt --intel`) into one store; also what to tell the
/// user about each (one line, and its first skipped records).
pub fn load_files(paths: &[PathBuf]) -> anyhow::Result<(Intel, Vec<String>)> {
    let mut intel = Intel::default();
    let mut messages = Vec::new();
    let now = Timestamp::now();
    for path in paths {
        let input = path.to_string_lossy();
        let mut counts = db::AddCounts::default();
        let read = feed::read_input(&input, &FeedOptions::default(), &mut |i| {
            counts.add(&mut intel, i, now)
        })?;
        let r = &read.report;
        messages.push(format!(
            "intel: {input} ({}): {} taken ({} new, {} merged), {} skipped, {} not matchable",
            r.format.as_str(),
            r.taken,
            counts.new,
            counts.merged,
            r.skipped_count() + counts.refused.len() as u64,
            r.not_matchable_count()
        ));
        for s in r.skipped.iter().take(5) {
            messages.push(format!("warning: intel: {s}"));
        }
    }
    intel.prepare();
    Ok((intel, messages))
}

fn match_logs(args: IntelMatchArgs) -> anyhow::Result<()> {
    for path in &args.paths {
        if !path.exists() {
            return Err(UsageError(format!("no such file or folder: {}", path.display())).into());
        }
    }
    let input_format = args
        .input_format
        .as_deref()
        .map(str::parse::<Format>)
        .transpose()
        .map_err(UsageError)?;
    let threads = match args.threads {
        Some(0) => return Err(UsageError("--threads must be at least 1".into()).into()),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let format = args.format.unwrap_or(if io::stdout().is_terminal() {
        OutputFormat::Table
    } else {
        OutputFormat::Jsonl
    });
    let started = Instant::now();
    let loaded = IntelDb::at(&args.db).load()?;
    report_problems(&loaded.problems);
    if loaded.intel.is_empty() {
        eprintln!(
            "warning: no indicators in {}: import some with `watchfloor intel import`",
            args.db.display()
        );
    }
    let indicators = loaded.intel.len();
    let table = FieldTable::new();
    let matcher = IntelMatcher::new(Arc::new(loaded.intel), table.clone());
    let outcome = crate::hunt::match_paths(
        &args.paths,
        &matcher,
        &table,
        threads,
        input_format,
        args.max_errors_shown,
    );
    for e in &outcome.errors {
        eprintln!("warning: {e}");
    }
    if outcome.error_count > outcome.errors.len() as u64 {
        eprintln!(
            "warning: {} more decode errors not shown",
            outcome.error_count - outcome.errors.len() as u64
        );
    }
    let mut out = io::BufWriter::new(io::stdout().lock());
    crate::hunt::write_detections(&mut out, format, &outcome.rows).context("writing matches")?;
    out.flush().context("writing matches")?;
    let distinct: std::collections::BTreeSet<&str> = outcome
        .rows
        .iter()
        .filter_map(|r| r.rule_id.as_deref())
        .collect();
    eprintln!(
        "{} events in {} files matched against {indicators} indicators: {} matches of {} indicators in {:.2}s",
        outcome.events,
        outcome.files,
        outcome.rows.len(),
        distinct.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn stats(args: IntelStatsArgs) -> anyhow::Result<()> {
    let loaded = IntelDb::at(&args.db).load()?;
    report_problems(&loaded.problems);
    let intel = &loaded.intel;
    let now = Timestamp::now();
    let stats = intel.stats(now);
    let mut by_source: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
    for view in intel.iter() {
        for a in view.attributions() {
            let e = by_source.entry(a.source).or_default();
            e.0 += 1;
            e.1 += u64::from(!a.is_valid_at(now));
        }
    }
    let mut out = io::stdout().lock();
    if args.format == StatsFormat::Json {
        let sources: serde_json::Map<String, serde_json::Value> = by_source
            .iter()
            .map(|(s, (n, inactive))| {
                (
                    (*s).to_owned(),
                    serde_json::json!({"attributions": n, "inactive": inactive}),
                )
            })
            .collect();
        let value = serde_json::json!({
            "records": loaded.records,
            "stats": stats,
            "by_source": sources,
            "context_objects": loaded.context.len(),
        });
        serde_json::to_writer_pretty(&mut out, &value)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{} indicators ({} attributions, {} records in {}); {} expired, {} not active now",
        stats.indicators,
        stats.attributions,
        loaded.records,
        args.db.join(db::INDICATORS_FILE).display(),
        stats.expired,
        stats.inactive
    )?;
    writeln!(out, "by kind:")?;
    for (kind, n) in &stats.by_kind {
        writeln!(out, "  {:<12} {n:>10}", kind.as_str())?;
    }
    writeln!(out, "attributions by TLP:")?;
    for (tlp, n) in &stats.attributions_by_tlp {
        writeln!(out, "  {:<16} {n:>10}", tlp.to_string())?;
    }
    writeln!(out, "attributions by source (inactive now):")?;
    for (source, (n, inactive)) in &by_source {
        writeln!(out, "  {source:<32} {n:>10}  ({inactive})")?;
    }
    let m = &stats.memory;
    writeln!(
        out,
        "memory: {:.1} MiB ({:.0} bytes per indicator): records {:.1}, attributions {:.1}, strings {:.1}, profiles {:.1}, indexes {:.1} MiB",
        mib(m.total),
        m.total as f64 / stats.indicators.max(1) as f64,
        mib(m.records),
        mib(m.attributions),
        mib(m.strings),
        mib(m.profiles),
        mib(m.indexes)
    )?;
    writeln!(out, "context objects: {}", loaded.context.len())?;
    Ok(())
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

fn export(args: IntelExportArgs) -> anyhow::Result<()> {
    let allowed = parse_tlp(&args.tlp_max, "--tlp-max")?;
    let loaded = IntelDb::at(&args.db).load()?;
    report_problems(&loaded.problems);
    let now = Timestamp::now();
    let mut policy = ExportPolicy::new(allowed, now);
    policy.include_expired = args.include_expired;
    let context = loaded.context_objects();
    let (document, report) = match args.format {
        ExportFormat::Stix => {
            // Identities dated from the store's first import, so re-exports agree.
            let created = loaded
                .intel
                .iter()
                .map(|v| v.first_seen)
                .min()
                .unwrap_or(now);
            let e = export_stix(
                loaded.intel.iter(),
                &context,
                &policy,
                &StixOptions::new(&args.producer, created),
            );
            (e.bundle, e.report)
        }
        ExportFormat::Misp => {
            let info = format!("{} indicators", args.producer);
            let e = export_misp_event(
                loaded.intel.iter(),
                &context,
                &policy,
                &MispOptions::new(&args.producer, info),
            );
            (e.event, e.report)
        }
    };
    let text = serde_json::to_string_pretty(&document)? + "\n";
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => io::stdout().lock().write_all(text.as_bytes())?,
    }
    print_export(&report);
    Ok(())
}

fn print_export(r: &ExportReport) {
    eprintln!(
        "exported {} indicators ({} objects) up to {}; withheld {} by TLP, {} expired; {} not representable; context {} out, {} withheld by TLP",
        r.exported,
        r.objects,
        r.ceiling,
        r.withheld_by_tlp,
        r.withheld_expired,
        r.not_representable,
        r.context_exported,
        r.context_withheld_by_tlp
    );
    for s in r.withheld.iter().take(DETAILS_SHOWN) {
        eprintln!("  withheld {s}");
    }
}
