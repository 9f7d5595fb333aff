//! Scoring detections against a run's ground truth: per campaign step, whether it was
//! detected, how soon after it began, and by which rules; recall and precision by
//! technique and by kill-chain stage; false positives on benign records.
//!
//! Inputs are texts: the run's `labels.jsonl` and detections as `hunt --format jsonl`
//! writes them (a detection names its record by `source` path and `record` line).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use watchfloor_triage::attack::{Stage, parse_sigma_tags};
use watchfloor_triage::detection::Level;

/// A line that could not be read, named by input and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input} line {line}: {message}")]
pub struct ScoreError {
    pub input: &'static str,
    pub line: usize,
    pub message: String,
}

/// What the labels say about one step.
#[derive(Clone, Debug, Default)]
struct StepTruth {
    action: String,
    technique: String,
    stage: Option<Stage>,
    first: Option<i64>,
    records: usize,
}

/// A run's ground truth.
#[derive(Clone, Debug, Default)]
pub struct Labels {
    steps: BTreeMap<String, StepTruth>,
    /// Step order as first seen in the labels.
    order: Vec<String>,
    /// (file, line) → (step, time) of every malicious record.
    malicious: HashMap<(String, u64), (String, i64)>,
    /// Records per file.
    totals: BTreeMap<String, u64>,
}

fn parse_time(s: &str) -> Option<i64> {
    let t: jiff::Timestamp = s.parse().ok()?;
    i64::try_from(t.as_nanosecond()).ok()
}

impl Labels {
    pub fn parse(text: &str) -> Result<Labels, ScoreError> {
        let mut l = Labels::default();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let fail = |message: String| ScoreError {
                input: "labels",
                line: i + 1,
                message,
            };
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| fail(e.to_string()))?;
            let file = v["file"].as_str().ok_or_else(|| fail("no `file`".into()))?;
            if let Some(n) = v["events"].as_u64() {
                l.totals.insert(file.to_string(), n);
                continue;
            }
            let line_no = v["line"].as_u64().ok_or_else(|| fail("no `line`".into()))?;
            let step = v["step"].as_str().ok_or_else(|| fail("no `step`".into()))?;
            let time = v["time"].as_str().and_then(parse_time).unwrap_or(0);
            let truth = l
                .steps
                .entry(step.to_string())
                .or_insert_with(|| StepTruth {
                    action: v["action"].as_str().unwrap_or_default().to_string(),
                    technique: v["technique"].as_str().unwrap_or_default().to_string(),
                    stage: serde_json::from_value::<Stage>(v["stage"].clone()).ok(),
                    ..Default::default()
                });
            truth.records += 1;
            truth.first = Some(truth.first.map_or(time, |f| f.min(time)));
            if !l.order.iter().any(|s| s == step) {
                l.order.push(step.to_string());
            }
            l.malicious
                .insert((file.to_string(), line_no), (step.to_string(), time));
        }
        Ok(l)
    }

    /// The label file a detection's source path refers to.
    fn file_of(&self, source: &str) -> Option<&str> {
        let source = source.replace('\\', "/");
        self.totals
            .keys()
            .find(|f| source == **f || source.ends_with(&format!("/{f}")))
            .map(String::as_str)
    }
}

/// One detection as `hunt --format jsonl` writes it.
#[derive(Clone, Debug, Default)]
pub struct DetectionRef {
    pub source: String,
    pub record: u64,
    pub rule: String,
    pub level: Level,
    pub tags: Vec<String>,
}

/// Reads hunt's JSON lines, skipping incident and suppression records.
pub fn parse_detections(text: &str) -> Result<Vec<DetectionRef>, ScoreError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line).map_err(|e| ScoreError {
            input: "detections",
            line: i + 1,
            message: e.to_string(),
        })?;
        if v.get("type").is_some() {
            continue;
        }
        out.push(DetectionRef {
            source: v["source"].as_str().unwrap_or_default().to_string(),
            record: v["record"].as_u64().unwrap_or(0),
            rule: v["rule_title"].as_str().unwrap_or_default().to_string(),
            level: v["level"]
                .as_str()
                .and_then(Level::parse)
                .unwrap_or_default(),
            tags: v["tags"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|t| t.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        });
    }
    Ok(out)
}

#[derive(Clone, Debug, Serialize)]
pub struct StepScore {
    pub step: String,
    pub action: String,
    pub technique: String,
    pub stage: Option<Stage>,
    pub records: usize,
    pub detected: bool,
    /// Seconds from the step's first record to its first detected record.
    pub time_to_detect_s: Option<f64>,
    pub rules: Vec<String>,
}

/// Recall over steps and precision over the detections that claim the key (by their
/// ATT&CK tags).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Rates {
    pub key: String,
    pub steps: usize,
    pub detected: usize,
    pub recall: Option<f64>,
    /// Detections tagged with the key, and those of them on malicious records.
    pub claimed: usize,
    pub claimed_true: usize,
    pub precision: Option<f64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub steps: Vec<StepScore>,
    pub detected_steps: usize,
    pub by_technique: Vec<Rates>,
    pub by_stage: Vec<Rates>,
    pub detections: usize,
    pub on_malicious: usize,
    pub on_benign: usize,
    /// Detections whose record is in none of the run's files (correlations, other inputs).
    pub unmatched: usize,
    pub benign_records: u64,
    /// Distinct benign records with at least one detection, of any level.
    pub benign_flagged: usize,
    /// Distinct benign records by the highest level of their detections.
    pub false_positives_by_level: Vec<(Level, usize)>,
    /// The lowest level counted as an alert (see [`score`]).
    pub alert_level: Level,
    /// Benign records with a detection at `alert_level` or above, over all benign
    /// records.
    pub false_positive_rate: f64,
    /// The rules with detections on benign records, most first: what to tune.
    pub false_positive_rules: Vec<(String, Level, usize)>,
}

/// Scores `detections` against `labels`. False positives are benign records with a
/// detection; the headline rate counts those at `alert_level` or above (the Sigma
/// specification meant informational rules for enrichment and low ones as rarely an
/// incident alone, so a SOC alerts from medium up), and every level is reported.
pub fn score(labels: &Labels, detections: &[DetectionRef], alert_level: Level) -> Report {
    let mut rules_by_step: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut first_hit: HashMap<&str, i64> = HashMap::new();
    let mut flagged: BTreeMap<(String, u64), Level> = BTreeMap::new();
    let mut fp_rules: BTreeMap<String, (Level, usize)> = BTreeMap::new();
    let (mut on_malicious, mut on_benign, mut unmatched) = (0, 0, 0);
    let mut technique_claims: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut stage_claims: BTreeMap<Stage, (usize, usize)> = BTreeMap::new();
    for d in detections {
        let Some(file) = labels.file_of(&d.source) else {
            unmatched += 1;
            continue;
        };
        let hit = labels.malicious.get(&(file.to_string(), d.record));
        let info = parse_sigma_tags(&d.tags);
        for t in &info.techniques {
            let e = technique_claims.entry(t.clone()).or_default();
            e.0 += 1;
            e.1 += usize::from(hit.is_some());
        }
        for s in &info.stages {
            let e = stage_claims.entry(*s).or_default();
            e.0 += 1;
            e.1 += usize::from(hit.is_some());
        }
        match hit {
            Some((step, time)) => {
                on_malicious += 1;
                rules_by_step
                    .entry(step)
                    .or_default()
                    .insert(d.rule.clone());
                let f = first_hit.entry(step).or_insert(*time);
                *f = (*f).min(*time);
            }
            None => {
                on_benign += 1;
                let e = fp_rules.entry(d.rule.clone()).or_insert((d.level, 0));
                e.1 += 1;
                let level = flagged
                    .entry((file.to_string(), d.record))
                    .or_insert(d.level);
                *level = (*level).max(d.level);
            }
        }
    }
    let steps: Vec<StepScore> = labels
        .order
        .iter()
        .filter_map(|id| {
            let t = labels.steps.get(id)?;
            let rules: Vec<String> = rules_by_step
                .get(id.as_str())
                .map(|r| r.iter().cloned().collect())
                .unwrap_or_default();
            Some(StepScore {
                step: id.clone(),
                action: t.action.clone(),
                technique: t.technique.clone(),
                stage: t.stage,
                records: t.records,
                detected: !rules.is_empty(),
                time_to_detect_s: first_hit
                    .get(id.as_str())
                    .zip(t.first)
                    .map(|(hit, first)| (hit - first).max(0) as f64 / 1e9),
                rules,
            })
        })
        .collect();
    let rates = |key: String, of: &dyn Fn(&StepScore) -> bool, claims: Option<(usize, usize)>| {
        let mine: Vec<&StepScore> = steps.iter().filter(|s| of(s)).collect();
        let detected = mine.iter().filter(|s| s.detected).count();
        let (claimed, claimed_true) = claims.unwrap_or_default();
        Rates {
            key,
            steps: mine.len(),
            detected,
            recall: (!mine.is_empty()).then(|| detected as f64 / mine.len() as f64),
            claimed,
            claimed_true,
            precision: (claimed > 0).then(|| claimed_true as f64 / claimed as f64),
        }
    };
    let techniques: BTreeSet<&str> = steps.iter().map(|s| s.technique.as_str()).collect();
    let by_technique = techniques
        .into_iter()
        .map(|t| {
            rates(
                t.to_string(),
                &|s: &StepScore| s.technique == t,
                technique_claims.get(t).copied(),
            )
        })
        .collect();
    let stages: BTreeSet<Stage> = steps.iter().filter_map(|s| s.stage).collect();
    let by_stage = stages
        .into_iter()
        .map(|st| {
            rates(
                st.label().to_string(),
                &|s: &StepScore| s.stage == Some(st),
                stage_claims.get(&st).copied(),
            )
        })
        .collect();
    let total: u64 = labels.totals.values().sum();
    let benign_records = total.saturating_sub(labels.malicious.len() as u64);
    let mut by_level: BTreeMap<Level, usize> = BTreeMap::new();
    for level in flagged.values() {
        *by_level.entry(*level).or_default() += 1;
    }
    let alerting = flagged.values().filter(|l| **l >= alert_level).count();
    Report {
        detected_steps: steps.iter().filter(|s| s.detected).count(),
        steps,
        by_technique,
        by_stage,
        detections: detections.len(),
        on_malicious,
        on_benign,
        unmatched,
        benign_records,
        benign_flagged: flagged.len(),
        false_positives_by_level: by_level.into_iter().collect(),
        alert_level,
        false_positive_rules: {
            let mut v: Vec<(String, Level, usize)> =
                fp_rules.into_iter().map(|(r, (l, n))| (r, l, n)).collect();
            v.sort_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)).then(a.0.cmp(&b.0)));
            v
        },
        false_positive_rate: if benign_records == 0 {
            0.0
        } else {
            alerting as f64 / benign_records as f64
        },
    }
}

impl Report {
    /// The report for people.
    pub fn render(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let pct = |x: Option<f64>| x.map_or("—".to_string(), |v| format!("{:.0}%", v * 100.0));
        let _ = writeln!(
            s,
            "Steps detected: {} of {}",
            self.detected_steps,
            self.steps.len()
        );
        let _ = writeln!(
            s,
            "\n{:<14} {:<20} {:<11} {:<22} {:>8} {:>9}  RULES",
            "STEP", "ACTION", "TECHNIQUE", "STAGE", "DETECTED", "TTD"
        );
        for st in &self.steps {
            let _ = writeln!(
                s,
                "{:<14} {:<20} {:<11} {:<22} {:>8} {:>9}  {}",
                st.step,
                st.action,
                st.technique,
                st.stage.map_or("-", |x| x.label()),
                if st.detected { "yes" } else { "NO" },
                st.time_to_detect_s
                    .map_or("-".to_string(), |t| format!("{t:.0}s")),
                st.rules.join("; ")
            );
        }
        for (title, rows) in [("TECHNIQUE", &self.by_technique), ("STAGE", &self.by_stage)] {
            let _ = writeln!(
                s,
                "\n{title:<24} {:>6} {:>9} {:>7} {:>8} {:>10}",
                "STEPS", "DETECTED", "RECALL", "CLAIMED", "PRECISION"
            );
            for r in rows {
                let _ = writeln!(
                    s,
                    "{:<24} {:>6} {:>9} {:>7} {:>8} {:>10}",
                    r.key,
                    r.steps,
                    r.detected,
                    pct(r.recall),
                    r.claimed,
                    pct(r.precision)
                );
            }
        }
        let _ = writeln!(
            s,
            "\nDetections: {} ({} on malicious records, {} on benign, {} not on a record of this run)",
            self.detections, self.on_malicious, self.on_benign, self.unmatched
        );
        let _ = writeln!(
            s,
            "False positives (alerts, level {} and above): {:.4}% of {} benign records",
            self.alert_level.as_str(),
            self.false_positive_rate * 100.0,
            self.benign_records
        );
        let levels: Vec<String> = self
            .false_positives_by_level
            .iter()
            .map(|(l, n)| format!("{} {n}", l.as_str()))
            .collect();
        let _ = writeln!(
            s,
            "Benign records with a detection, by highest level: {} ({} in all)",
            if levels.is_empty() {
                "none".to_string()
            } else {
                levels.join(", ")
            },
            self.benign_flagged
        );
        if !self.false_positive_rules.is_empty() {
            let _ = writeln!(s, "Rules firing on benign records:");
            for (rule, level, n) in self.false_positive_rules.iter().take(12) {
                let _ = writeln!(s, "  {n:>7}  {:<13} {rule}", level.as_str());
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABELS: &str = r#"{"file":"windows/sysmon.jsonl","line":3,"time":"2026-03-02T09:14:41.000Z","malicious":true,"step":"phish","action":"phishing-attachment","technique":"T1566.001","stage":"intrusion"}
{"file":"windows/sysmon.jsonl","line":4,"time":"2026-03-02T09:15:11.000Z","malicious":true,"step":"phish","action":"phishing-attachment","technique":"T1566.001","stage":"intrusion"}
{"file":"windows/sysmon.jsonl","line":9,"time":"2026-03-02T10:00:00.000Z","malicious":true,"step":"persist","action":"scheduled-task","technique":"T1053.005","stage":"execution"}
{"file":"windows/sysmon.jsonl","events":1000}
"#;

    #[test]
    fn steps_rates_and_false_positives() {
        let labels = Labels::parse(LABELS).unwrap();
        let dets = parse_detections(concat!(
            r#"{"source":"/tmp/run/windows/sysmon.jsonl","record":4,"rule_title":"Office spawns PowerShell","tags":["attack.execution","attack.t1059.001"]}"#,
            "\n",
            r#"{"source":"/tmp/run/windows/sysmon.jsonl","record":500,"rule_title":"Noisy","level":"low","tags":["attack.execution"]}"#,
            "\n",
            r#"{"source":"correlation","record":0,"rule_title":"C","tags":[]}"#,
            "\n",
            r#"{"type":"incident","incident":{}}"#,
            "\n"
        ))
        .unwrap();
        let r = score(&labels, &dets, Level::Medium);
        assert_eq!(r.detected_steps, 1);
        assert_eq!(r.steps[0].step, "phish");
        assert!(r.steps[0].detected);
        assert_eq!(r.steps[0].time_to_detect_s, Some(30.0));
        assert!(!r.steps[1].detected);
        assert_eq!((r.on_malicious, r.on_benign, r.unmatched), (1, 1, 1));
        assert_eq!(r.benign_records, 997);
        assert_eq!(r.benign_flagged, 1);
        assert_eq!(r.false_positives_by_level, vec![(Level::Low, 1)]);
        assert_eq!(r.false_positive_rate, 0.0, "a low rule is no alert");
        assert!(score(&labels, &dets, Level::Low).false_positive_rate > 0.0);
        assert_eq!(
            r.false_positive_rules,
            vec![("Noisy".to_string(), Level::Low, 1)]
        );
        let exec = r
            .by_stage
            .iter()
            .find(|x| x.key == "execution/persistence")
            .unwrap();
        assert_eq!(
            (exec.steps, exec.detected, exec.claimed, exec.claimed_true),
            (1, 0, 2, 1)
        );
        assert!(r.render().contains("Steps detected: 1 of 2"));
    }

    #[test]
    fn bad_lines_are_named() {
        let e =
            Labels::parse("{\"file\":\"a\",\"line\":1,\"step\":\"s\"}\nnot json\n").unwrap_err();
        assert_eq!((e.input, e.line), ("labels", 2));
    }
}
