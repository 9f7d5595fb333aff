//! `watchfloor range`: generate a scenario's telemetry and labels, score detections
//! against them, print the scenario schema.

use std::time::Instant;

use anyhow::Context;
use watchfloor_range::generate;
use watchfloor_range::scenario::{Scenario, schema};
use watchfloor_range::score::{Labels, parse_detections, score};
use watchfloor_triage::detection::Level;

use crate::cli::{RangeCommand, RangeRunArgs, RangeScoreArgs, UsageError};

pub fn run(command: RangeCommand) -> anyhow::Result<()> {
    match command {
        RangeCommand::Run(args) => run_scenario(args),
        RangeCommand::Score(args) => score_run(args),
        RangeCommand::Play(args) => crate::play::run(args),
        RangeCommand::Grade(args) => grade_run(args),
        RangeCommand::Schema => {
            println!("{}", serde_json::to_string_pretty(&schema())?);
            Ok(())
        }
    }
}

fn run_scenario(args: RangeRunArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.scenario)
        .map_err(|e| UsageError(format!("{}: {e}", args.scenario.display())))?;
    let name = args.scenario.display().to_string();
    let mut scenario = Scenario::from_yaml(&name, &text).map_err(|e| UsageError(e.to_string()))?;
    if let Some(d) = &args.duration {
        scenario.duration = d.clone();
        scenario
            .check(&name)
            .map_err(|e| UsageError(format!("--duration {d}: {e}")))?;
    }
    let seed = args.seed.unwrap_or(scenario.seed);
    let started = Instant::now();
    let summary = generate::write(&scenario, seed, &args.out)
        .with_context(|| format!("generating into {}", args.out.display()))?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}: seed {seed}, {} records ({} malicious) in {:.2}s ({:.0} records/s) → {}",
        scenario.name,
        summary.events,
        summary.malicious,
        secs,
        summary.events as f64 / secs.max(1e-9),
        args.out.display()
    );
    for (file, n) in &summary.per_stream {
        println!("  {n:>9}  {file}");
    }
    println!("  labels: {}", args.out.join("labels.jsonl").display());
    println!(
        "  assets: {}",
        args.out
            .join(watchfloor_range::generate::ASSETS_FILE)
            .display()
    );
    Ok(())
}

fn score_run(args: RangeScoreArgs) -> anyhow::Result<()> {
    let json = match args.format.as_str() {
        "table" => false,
        "json" => true,
        other => {
            return Err(
                UsageError(format!("--format must be table or json, not `{other}`")).into(),
            );
        }
    };
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p).map_err(|e| UsageError(format!("{}: {e}", p.display())))
    };
    let labels = Labels::parse(&read(&args.labels)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.labels.display()))?;
    let detections = parse_detections(&read(&args.detections)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.detections.display()))?;
    let level = Level::parse(&args.alert_level).ok_or_else(|| {
        UsageError(format!(
            "--alert-level: unknown level `{}`",
            args.alert_level
        ))
    })?;
    let report = score(&labels, &detections, level);
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render());
    }
    Ok(())
}

/// `range grade`: a trainee's incidents against the scenario's answer key.
#[derive(Debug, clap::Args)]
pub struct RangeGradeArgs {
    /// The scenario (its `answer_key` says what was to be found).
    pub scenario: std::path::PathBuf,
    /// The trainee's incidents: `GET /api/v1/tenants/{id}/incidents?limit=500&doc=true`
    /// (with their documents) saved to a file, or `hunt --incidents --format jsonl` output.
    #[arg(long, value_name = "FILE")]
    pub incidents: std::path::PathBuf,
    /// `table` or `json`.
    #[arg(long, default_value = "table")]
    pub format: String,
}

fn grade_run(args: RangeGradeArgs) -> anyhow::Result<()> {
    use watchfloor_range::grade::{grade, parse_incidents};
    let json = match args.format.as_str() {
        "table" => false,
        "json" => true,
        other => {
            return Err(UsageError(format!("--format {other}: expected table or json")).into());
        }
    };
    let read = |p: &std::path::Path| {
        std::fs::read_to_string(p).map_err(|e| UsageError(format!("{}: {e}", p.display())))
    };
    let name = args.scenario.display().to_string();
    let scenario = Scenario::from_yaml(&name, &read(&args.scenario)?)
        .map_err(|e| UsageError(e.to_string()))?;
    let Some(key) = &scenario.answer_key else {
        return Err(UsageError(format!("{name}: the scenario has no answer_key")).into());
    };
    let reported = parse_incidents(&read(&args.incidents)?)
        .map_err(|e| UsageError(format!("{}: {e}", args.incidents.display())))?;
    let g = grade(key, &reported);
    if json {
        println!("{}", serde_json::to_string_pretty(&g)?);
        return Ok(());
    }
    println!(
        "{}: {} incidents reported, score {:.0} %",
        scenario.name,
        reported.len(),
        g.score * 100.0
    );
    for e in &g.expected {
        println!("\n  expected: {}  → {:.0} %", e.title, e.grade * 100.0);
        match &e.matched {
            Some(id) => println!("    paired with incident {id}"),
            None => println!("    no reported incident covers its hosts"),
        }
        if !e.splits.is_empty() {
            println!("    also on its hosts (split): {}", e.splits.join(", "));
        }
        println!("    hosts found: {}", list(&e.hosts_found));
        println!("    hosts missed: {}", list(&e.hosts_missed));
        println!("    stages found: {}", list(&e.stages_found));
        println!("    stages missed: {}", list(&e.stages_missed));
        for (phase, actions) in &e.phases {
            println!("    {phase} (not graded yet): {}", actions.join("; "));
        }
    }
    if !g.unrelated.is_empty() {
        println!(
            "\n  incidents on no expected host: {}",
            g.unrelated.join(", ")
        );
    }
    Ok(())
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(", ")
    }
}
