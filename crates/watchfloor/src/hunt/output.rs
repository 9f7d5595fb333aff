//! Writing hunt results as a table, CSV or JSON lines, and the run summary.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use anyhow::Context;
use serde::Serialize;
use watchfloor_decode::time::format_rfc3339;

use super::detect::DetectionRow;
use super::workers::StreamResult;
use crate::cli::OutputFormat;

/// Totals of a run, written by `--summary-json`.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub files: u64,
    pub streams: u64,
    pub events: u64,
    pub bytes: u64,
    pub decode_errors: u64,
    pub unsupported: u64,
    pub detections: u64,
    /// Of `detections`, indicator matches (when `--intel` was given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicator_matches: Option<u64>,
    pub rules_loaded: u64,
    pub rules_failed: u64,
    /// Analysis engine totals (when rules ran).
    pub alerts: Option<u64>,
    pub incidents: Option<u64>,
    pub suppressed: Option<u64>,
    pub elapsed_s: f64,
    /// Time spent in the analysis engine, included in `elapsed_s`.
    pub triage_s: Option<f64>,
}

impl Summary {
    pub fn one_line(&self) -> String {
        let rate = self.events as f64 / self.elapsed_s.max(1e-9);
        format!(
            "{} files, {} streams, {} events ({:.1} MB) in {:.2}s ({:.0} events/s); {} decode errors, {} unsupported streams",
            self.files,
            self.streams,
            self.events,
            self.bytes as f64 / 1e6,
            self.elapsed_s,
            rate,
            self.decode_errors,
            self.unsupported
        ) + &self
            .indicator_matches
            .map(|n| format!("; {n} indicator matches"))
            .unwrap_or_default()
    }
}

/// Standard output or the `--output` file, buffered.
pub fn open(path: Option<&Path>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match path {
        Some(p) => Box::new(BufWriter::new(
            File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    })
}

#[derive(Serialize)]
struct StreamRow<'a> {
    source: &'a str,
    format: Option<&'static str>,
    events: u64,
    errors: u64,
    bytes: u64,
    first: Option<String>,
    last: Option<String>,
    logsources: &'a std::collections::BTreeMap<String, u64>,
}

fn row(s: &StreamResult) -> StreamRow<'_> {
    StreamRow {
        source: &s.report.name,
        format: s.report.format.map(|f| f.name()),
        events: s.report.events,
        errors: s.report.errors,
        bytes: s.report.bytes,
        first: s.first.map(format_rfc3339),
        last: s.last.map(format_rfc3339),
        logsources: &s.logsources,
    }
}

/// One row per decoded stream.
pub fn write_streams(
    out: &mut dyn Write,
    format: OutputFormat,
    streams: &[StreamResult],
) -> io::Result<()> {
    match format {
        OutputFormat::Jsonl => {
            for s in streams {
                serde_json::to_writer(&mut *out, &row(s))?;
                out.write_all(b"\n")?;
            }
        }
        OutputFormat::Csv => {
            writeln!(
                out,
                "source,format,events,errors,bytes,first,last,logsources"
            )?;
            for s in streams {
                let r = row(s);
                let logsources: Vec<String> = r
                    .logsources
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                let fields = [
                    r.source.to_string(),
                    r.format.unwrap_or("-").to_string(),
                    r.events.to_string(),
                    r.errors.to_string(),
                    r.bytes.to_string(),
                    r.first.unwrap_or_default(),
                    r.last.unwrap_or_default(),
                    logsources.join(";"),
                ];
                let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                writeln!(out, "{}", line.join(","))?;
            }
        }
        OutputFormat::Table => {
            writeln!(
                out,
                "{:<8} {:>10} {:>7}  {:<20} {:<20}  SOURCE / LOGSOURCES",
                "FORMAT", "EVENTS", "ERRORS", "FIRST", "LAST"
            )?;
            for s in streams {
                let r = row(s);
                writeln!(
                    out,
                    "{:<8} {:>10} {:>7}  {:<20} {:<20}  {}",
                    r.format.unwrap_or("-"),
                    r.events,
                    r.errors,
                    short_time(r.first.as_deref()),
                    short_time(r.last.as_deref()),
                    r.source
                )?;
                for (ls, n) in r.logsources {
                    writeln!(
                        out,
                        "{:<8} {:>10} {:>7}  {:<20} {:<20}    {ls}",
                        "", n, "", "", ""
                    )?;
                }
            }
        }
    }
    Ok(())
}

fn short_time(t: Option<&str>) -> String {
    t.map(|t| t.chars().take(19).collect())
        .unwrap_or_else(|| "-".to_string())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One row per detection.
pub fn write_detections(
    out: &mut dyn Write,
    format: OutputFormat,
    rows: &[DetectionRow],
) -> io::Result<()> {
    match format {
        OutputFormat::Jsonl => {
            for r in rows {
                serde_json::to_writer(&mut *out, r)?;
                out.write_all(b"\n")?;
            }
        }
        OutputFormat::Csv => {
            writeln!(
                out,
                "time,level,rule_title,rule_id,tags,host,source,record,matched"
            )?;
            for r in rows {
                let matched: Vec<String> =
                    r.matched.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let fields = [
                    r.time.clone().unwrap_or_default(),
                    r.level.to_string(),
                    r.rule_title.clone(),
                    r.rule_id.clone().unwrap_or_default(),
                    r.tags.join(" "),
                    r.host.clone().unwrap_or_default(),
                    r.source.clone(),
                    r.record.to_string(),
                    matched.join("; "),
                ];
                let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                writeln!(out, "{}", line.join(","))?;
            }
        }
        OutputFormat::Table => {
            writeln!(
                out,
                "{:<20} {:<13} {:<24} RULE / MATCHED",
                "TIME", "LEVEL", "HOST"
            )?;
            for r in rows {
                writeln!(
                    out,
                    "{:<20} {:<13} {:<24} {}",
                    short_time(r.time.as_deref()),
                    r.level,
                    r.host
                        .as_deref()
                        .unwrap_or("-")
                        .chars()
                        .take(24)
                        .collect::<String>(),
                    r.rule_title
                )?;
                let matched: Vec<String> = r
                    .matched
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.chars().take(120).collect::<String>()))
                    .collect();
                writeln!(
                    out,
                    "{:<59} {}:{}  {}",
                    "",
                    r.source,
                    r.record,
                    matched.join("  ")
                )?;
            }
        }
    }
    Ok(())
}
