//! The analysis pass of `hunt`: every detection, in event-time order, through the
//! analysis engine (dedupe, suppression, enrichment, scoring, incidents), and the
//! incident report written after the detections.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use watchfloor_event::{TenantId, Timestamp};
use watchfloor_triage::attack::AttackCatalog;
use watchfloor_triage::incident::Incident;
use watchfloor_triage::suppress::{Expr, SuppressedBy};
use watchfloor_triage::time::rfc3339;
use watchfloor_triage::{Triage, TriageConfig};

use crate::cli::OutputFormat;
use watchfloor_pipeline::detect::DetectionRow;

/// The context files of the analysis engine, as given on the command line.
#[derive(Debug, Default, Clone)]
pub struct TriageFiles {
    pub attack: Vec<PathBuf>,
    pub assets: Option<PathBuf>,
    pub warninglists: Option<PathBuf>,
    pub suppressions: Option<PathBuf>,
    pub config: Option<PathBuf>,
}

/// Builds the engine with its context loaded; problems in the files are reported on
/// standard error and the rest of each file is used.
pub fn engine(files: &TriageFiles) -> anyhow::Result<Triage> {
    let config = match &files.config {
        Some(path) => read_config(path)?,
        None => TriageConfig::default(),
    };
    let mut triage = Triage::new(config);
    if !files.attack.is_empty() {
        let mut catalog = AttackCatalog::default();
        for path in &files.attack {
            let report = crate::attack_data::load_attack(path, &mut catalog)?;
            for e in &report.errors {
                eprintln!("warning: ATT&CK data: {e}");
            }
        }
        eprintln!("ATT&CK: {} techniques loaded", catalog.technique_count());
        triage.set_catalog(catalog);
    }
    if let Some(path) = &files.assets {
        let (assets, errors) = crate::attack_data::load_assets(path)?;
        for e in &errors {
            eprintln!("warning: assets: {e}");
        }
        triage.set_assets(assets);
    }
    if let Some(path) = &files.warninglists {
        let (lists, errors) = crate::attack_data::load_warninglists(path)?;
        for e in &errors {
            eprintln!("warning: warninglists: {e}");
        }
        triage.set_warninglists(lists);
    }
    if let Some(path) = &files.suppressions {
        load_suppressions(path, &mut triage)?;
    }
    Ok(triage)
}

/// Reads the analysis engine's settings from YAML; keys left out keep their defaults:
///
/// ```yaml
/// dedupe_window_hours: 24
/// incident_gap_hours: 48
/// incident_max_span_hours: 168
/// open_threshold: 40
/// risk_half_life_hours: 24
/// samples_per_alert: 3
/// fingerprint:
///   fields: [host, user]
///   rules:
///     5d6f3b2a-…: [host, CommandLine]
/// ```
pub fn read_config(path: &Path) -> anyhow::Result<TriageConfig> {
    use saphyr::{LoadableYamlNode, Yaml};
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let docs =
        Yaml::load_from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut config = TriageConfig::default();
    let Some(doc) = docs.first() else {
        return Ok(config);
    };
    let bad = |key: &str, want: &str| anyhow::anyhow!("{}: `{key}` must be {want}", path.display());
    let number = |key: &str| -> anyhow::Result<Option<f64>> {
        match doc.as_mapping_get(key) {
            None => Ok(None),
            Some(v) => v
                .as_floating_point()
                .or_else(|| v.as_integer().map(|i| i as f64))
                .filter(|x| x.is_finite() && *x >= 0.0)
                .map(Some)
                .ok_or_else(|| bad(key, "a non-negative number")),
        }
    };
    let hours = |h: f64| (h * 3600.0 * 1e9) as i64;
    if let Some(h) = number("dedupe_window_hours")? {
        config.dedupe_window = hours(h);
    }
    if let Some(h) = number("incident_gap_hours")? {
        config.incident_gap = hours(h);
    }
    if let Some(h) = number("incident_max_span_hours")? {
        config.incident_max_span = hours(h);
    }
    if let Some(h) = number("risk_half_life_hours")? {
        config.risk_half_life = hours(h).max(1);
    }
    if let Some(t) = number("open_threshold")? {
        config.open_threshold = t;
    }
    if let Some(n) = number("samples_per_alert")? {
        config.samples_per_alert = n as usize;
    }
    let names = |node: &Yaml<'_>, key: &str| -> anyhow::Result<Vec<String>> {
        match node {
            Yaml::Sequence(items) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad(key, "a list of names"))
                })
                .collect(),
            _ => Err(bad(key, "a list of names")),
        }
    };
    if let Some(fp) = doc.as_mapping_get("fingerprint") {
        if let Some(fields) = fp.as_mapping_get("fields") {
            config.fingerprint.fields = names(fields, "fingerprint.fields")?;
        }
        if let Some(rules) = fp.as_mapping_get("rules") {
            let Some(map) = rules.as_mapping() else {
                return Err(bad("fingerprint.rules", "a map of rule id to field list"));
            };
            for (rule, fields) in map {
                let rule = rule
                    .as_str()
                    .ok_or_else(|| bad("fingerprint.rules", "keyed by rule id"))?;
                config
                    .fingerprint
                    .by_rule
                    .push((rule.to_string(), names(fields, "fingerprint.rules")?));
            }
        }
    }
    Ok(config)
}

/// One expression per line (`#` starts a comment): allowlist entries that never expire.
fn load_suppressions(path: &Path, triage: &mut Triage) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading suppressions {}", path.display()))?;
    for (i, line) in text.lines().enumerate() {
        let line = line.split_once('#').map_or(line, |(l, _)| l).trim();
        if line.is_empty() {
            continue;
        }
        match Expr::parse(line) {
            Ok(expr) => {
                triage.suppressions_mut().add(
                    TenantId(0),
                    expr,
                    "hunt",
                    &format!("{} line {}", path.display(), i + 1),
                    Timestamp(0),
                    None,
                );
            }
            Err(e) => eprintln!("warning: {}:{}: {e}", path.display(), i + 1),
        }
    }
    Ok(())
}

/// Feeds every row, in event-time order, through `triage`.
pub fn analyse(triage: &mut Triage, rows: &[DetectionRow]) {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| (rows[i].time_ns, i));
    for i in order {
        triage.observe(rows[i].to_detection(TenantId(0)));
    }
}

/// Incidents, most severe first, then by first activity.
fn ranked(triage: &Triage) -> Vec<&Incident> {
    let mut incidents: Vec<&Incident> = triage.incidents().collect();
    incidents.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.score.total_cmp(&a.score))
            .then(a.first_seen.cmp(&b.first_seen))
    });
    incidents
}

/// Writes the incident report: a table for people, or one JSON object per incident
/// (`"type": "incident"`, with its alerts) for `jsonl`.
pub fn write_incidents(
    out: &mut dyn Write,
    format: OutputFormat,
    triage: &Triage,
) -> io::Result<()> {
    let incidents = ranked(triage);
    if format == OutputFormat::Jsonl {
        for inc in incidents {
            let alerts: Vec<_> = inc.alerts.iter().filter_map(|&a| triage.alert(a)).collect();
            let value = serde_json::json!({
                "type": "incident",
                "incident": inc,
                "stage_chain": inc.stage_chain(),
                "alerts": alerts,
            });
            serde_json::to_writer(&mut *out, &value)?;
            out.write_all(b"\n")?;
        }
        for rec in triage.suppressed() {
            let value = serde_json::json!({"type": "suppressed", "suppressed": rec});
            serde_json::to_writer(&mut *out, &value)?;
            out.write_all(b"\n")?;
        }
        return Ok(());
    }
    let s = triage.stats();
    writeln!(out)?;
    writeln!(
        out,
        "INCIDENTS: {} incidents from {} detections → {} alerts ({} suppressed, {} alerts below the incident threshold)",
        s.incidents, s.detections, s.alerts, s.suppressed, s.pending_alerts
    )?;
    for inc in incidents {
        writeln!(out)?;
        writeln!(
            out,
            "#{:<4} {:<13} {}",
            inc.id,
            inc.severity.as_str().to_uppercase(),
            inc.title
        )?;
        writeln!(
            out,
            "      {} → {}   {} alerts, {} detections, score {:.0}",
            rfc3339(inc.first_seen),
            rfc3339(inc.last_seen),
            inc.alerts.len(),
            inc.detections,
            inc.score
        )?;
        if !inc.stages.is_empty() {
            writeln!(out, "      stages: {}", inc.stage_chain())?;
        }
        let mut entities = Vec::new();
        if !inc.hosts.is_empty() {
            entities.push(format!("hosts {}", inc.hosts.join(", ")));
        }
        if !inc.users.is_empty() {
            entities.push(format!("users {}", inc.users.join(", ")));
        }
        if !inc.indicators.is_empty() {
            let shown: Vec<&str> = inc.indicators.iter().take(8).map(String::as_str).collect();
            entities.push(format!("indicators {}", shown.join(", ")));
        }
        if !entities.is_empty() {
            writeln!(out, "      entities: {}", entities.join("; "))?;
        }
        let mut alerts: Vec<_> = inc.alerts.iter().filter_map(|&a| triage.alert(a)).collect();
        alerts.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        writeln!(out, "      top alerts:")?;
        for a in alerts.iter().take(5) {
            let techniques: Vec<String> = a
                .techniques
                .iter()
                .map(|t| match &t.name {
                    Some(n) => format!("{} {n}", t.id),
                    None => t.id.clone(),
                })
                .collect();
            writeln!(
                out,
                "        [{}] {} ×{}{}",
                a.level.as_str(),
                a.title,
                a.count,
                if techniques.is_empty() {
                    String::new()
                } else {
                    format!("  ({})", techniques.join(", "))
                }
            )?;
        }
        if alerts.len() > 5 {
            writeln!(out, "        … {} more", alerts.len() - 5)?;
        }
        writeln!(out, "      decisions:")?;
        for line in inc.log.lines().iter().take(12) {
            writeln!(out, "        {line}")?;
        }
        if inc.log.entries.len() > 12 {
            writeln!(
                out,
                "        … {} more decisions (see --format jsonl)",
                inc.log.len() - 12
            )?;
        }
    }
    let suppressed = triage.suppressed();
    if !suppressed.is_empty() {
        writeln!(out)?;
        writeln!(out, "SUPPRESSED: {} detections", suppressed.len())?;
        for rec in suppressed.iter().take(50) {
            let by = match &rec.by {
                SuppressedBy::Suppression { id, reason, owner } => {
                    format!("suppression {id} ({reason}, by {owner})")
                }
                SuppressedBy::Warninglist { list, value } => {
                    format!("warninglist {list} ({value})")
                }
            };
            writeln!(
                out,
                "  {}  {}  {}  {}  ← {by}",
                rfc3339(rec.time),
                rec.host.as_deref().unwrap_or("-"),
                rec.title,
                rec.reference
            )?;
        }
        if suppressed.len() > 50 {
            writeln!(
                out,
                "  … {} more (see --format jsonl)",
                suppressed.len() - 50
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("watchfloor-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn config_file_overrides_defaults() {
        let path = write(
            "triage.yml",
            "incident_gap_hours: 6\nincident_max_span_hours: 72\nopen_threshold: 55.5\nfingerprint:\n  fields: [host]\n  rules:\n    r-1: [host, CommandLine]\n",
        );
        let c = read_config(&path).unwrap();
        std::fs::remove_file(&path).ok();
        assert_eq!(c.incident_gap, 6 * 3_600_000_000_000);
        assert_eq!(c.incident_max_span, 72 * 3_600_000_000_000);
        assert_eq!(c.open_threshold, 55.5);
        assert_eq!(c.dedupe_window, TriageConfig::default().dedupe_window);
        assert_eq!(c.fingerprint.fields, vec!["host"]);
        assert_eq!(c.fingerprint.by_rule[0].1, vec!["host", "CommandLine"]);
    }

    #[test]
    fn bad_config_names_the_key() {
        let path = write("bad.yml", "open_threshold: high\n");
        let e = read_config(&path).unwrap_err().to_string();
        std::fs::remove_file(&path).ok();
        assert!(e.contains("open_threshold"), "{e}");
    }
}
