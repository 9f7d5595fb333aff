//! `watchfloor bench detect`: Sigma evaluation throughput over Windows events decoded
//! from the shared EVTX samples, replicated to a fixed event count, for several rule
//! sets, on one thread and on two.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::bail;
use watchfloor_decode::{Collect, DecodeContext, Event, FileDecoder};
use watchfloor_event::{FieldCache, FieldTable};
use watchfloor_sigma::engine::{Engine, Scratch};

use crate::bench::peak_rss_kb;
use crate::cli::BenchDetectArgs;

pub fn run(args: BenchDetectArgs) -> anyhow::Result<()> {
    let corpora = args.corpora;
    let sigma = corpora.join("detection/sigmahq-sigma");
    if !sigma.is_dir() {
        bail!(
            "corpora folder {} not found (pass --corpora)",
            corpora.display()
        );
    }
    let table = FieldTable::new();
    let events = load_events(&corpora, &table)?;
    let base = events.len();
    let replicated: Vec<&Event> = events.iter().cycle().take(args.events.max(base)).collect();
    println!(
        "{base} events decoded from the EVTX samples, evaluated as {} events\n",
        replicated.len()
    );
    let sets: Vec<(&str, Vec<PathBuf>)> = vec![
        ("rules/windows", vec![sigma.join("rules/windows")]),
        ("rules/ (all)", vec![sigma.join("rules")]),
        (
            "rules/ + emerging-threats + threat-hunting",
            vec![
                sigma.join("rules"),
                sigma.join("rules-emerging-threats"),
                sigma.join("rules-threat-hunting"),
            ],
        ),
    ];
    println!("| rule set | rules | threads | events/s | µs/event | matches | peak RSS MB |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (label, dirs) in sets {
        let placeholders = crate::rules::read_placeholders(args.placeholders.as_deref())?;
        let loaded = crate::rules::load_rules(&dirs, &table, &placeholders);
        let rules = loaded.rules.len();
        let engine = Engine::new(loaded.rules);
        let sysmon = watchfloor_event::LogSource::new(
            Some("windows"),
            Some("process_creation"),
            Some("sysmon"),
        );
        let (literals, filtered, always) = engine.prefilter_stats(&sysmon);
        eprintln!(
            "{label}: for Sysmon process creation {literals} prefilter literals, {filtered} rules behind the prefilter, {always} always evaluated"
        );
        if std::env::var_os("WATCHFLOOR_BENCH_STATS").is_some() {
            eprintln!("  always evaluated: {:?}", engine.unfiltered_rules(&sysmon));
        }
        // Warm-up: builds the per-logsource prefilters once, outside the timing.
        let warm_start = Instant::now();
        evaluate(&engine, &replicated[..base], 1, 1);
        eprintln!(
            "{label}: warm-up over {base} events (prefilter build) {:.2}s",
            warm_start.elapsed().as_secs_f64()
        );
        for threads in [1usize, 2] {
            let (secs, matches) = evaluate(&engine, &replicated, threads, args.rounds);
            let total = (replicated.len() * args.rounds) as f64;
            let rss = peak_rss_kb().map_or(0.0, |kb| kb as f64 / 1024.0);
            println!(
                "| {label} | {rules} | {threads} | {:.0} | {:.2} | {matches} | {rss:.1} |",
                total / secs,
                secs * 1e6 / total * threads as f64,
            );
        }
    }
    Ok(())
}

fn evaluate(engine: &Engine, events: &[&Event], threads: usize, rounds: usize) -> (f64, u64) {
    let started = Instant::now();
    let chunk = events.len().div_ceil(threads);
    let matches: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = events
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    let mut scratch = Scratch::default();
                    let mut out = Vec::new();
                    let mut n = 0u64;
                    for _ in 0..rounds {
                        for ev in part {
                            out.clear();
                            engine.evaluate(*ev, &mut scratch, &mut out);
                            n += out.len() as u64;
                        }
                    }
                    if std::env::var_os("WATCHFLOOR_BENCH_STATS").is_some() {
                        eprintln!(
                            "literal hits/event {:.1}, rules run/event {:.1}",
                            scratch.literal_hits as f64 / (part.len() * rounds) as f64,
                            scratch.rules_run as f64 / (part.len() * rounds) as f64
                        );
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    (started.elapsed().as_secs_f64(), matches / rounds as u64)
}

fn load_events(corpora: &std::path::Path, table: &Arc<FieldTable>) -> anyhow::Result<Vec<Event>> {
    let mut decoder = FileDecoder::new(DecodeContext::new(FieldCache::new(table.clone())), None);
    let mut sink = Collect::default();
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(corpora.join("evtx/EVTX-ATTACK-SAMPLES"))
        .into_iter()
        .flatten()
        .map(|e| e.into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "evtx"))
        .collect();
    files.sort();
    for f in &files {
        decoder.decode_path(f, &mut sink);
    }
    Ok(sink.events)
}
