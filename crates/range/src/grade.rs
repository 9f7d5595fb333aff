//! Grading a trainee against a scenario's answer key: the incidents they worked on (as
//! the server lists them, or as `hunt --incidents --format jsonl` writes them) compared
//! with the incidents the scenario expects — which hosts each covers and which kill-chain
//! stages it shows — plus the incidents that match nothing expected.
//!
//! Each expected incident is paired with the reported incident sharing most of its
//! hosts (hosts compare by their first DNS label, ignoring case, so `FS01` is
//! `fs01.corp.example`); other reported incidents on its hosts are listed as splits.
//! Its grade is the mean of host recall and stage recall. Response-phase actions are
//! listed but not graded: the product does not record response actions yet.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;
use watchfloor_triage::attack::Stage;

use crate::scenario::AnswerKey;

/// An incident as the trainee left it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReportedIncident {
    pub id: String,
    pub title: String,
    pub hosts: Vec<String>,
    /// Stage labels (`credential access`).
    pub stages: Vec<String>,
    pub status: Option<String>,
}

/// Input that is not a list of incidents, named by line where it has lines.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("incidents line {line}: {message}")]
pub struct GradeError {
    pub line: usize,
    pub message: String,
}

/// The grade of one expected incident.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExpectedGrade {
    pub title: String,
    /// The reported incident it was paired with.
    pub matched: Option<String>,
    /// Other reported incidents on its hosts: the attack was seen, but in pieces.
    pub splits: Vec<String>,
    pub hosts_found: Vec<String>,
    pub hosts_missed: Vec<String>,
    pub stages_found: Vec<String>,
    pub stages_missed: Vec<String>,
    /// Expected stages the answer key names that no stage is known for.
    pub stages_unknown: Vec<String>,
    /// 0 to 1: the mean of host recall and stage recall.
    pub grade: f64,
    /// Response phases and their expected actions, not graded yet.
    pub phases: Vec<(String, Vec<String>)>,
}

/// The whole grade.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Grade {
    pub expected: Vec<ExpectedGrade>,
    /// Reported incidents on no expected host: noise the trainee spent time on.
    pub unrelated: Vec<String>,
    /// Mean of the expected incidents' grades (0 without any).
    pub score: f64,
}

fn short_host(h: &str) -> String {
    h.split('.').next().unwrap_or(h).to_ascii_lowercase()
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// One incident from the server's JSON (`StoredIncident`, its `doc` inside) or from a
/// `hunt` JSON line (`{"type": "incident", "incident": {...}}`).
fn incident_of(v: &Value) -> Option<ReportedIncident> {
    let inner = v.get("incident").unwrap_or(v);
    let doc = inner.get("doc").unwrap_or(inner);
    let id = inner.get("id").or_else(|| doc.get("id"))?;
    let id = id
        .as_u64()
        .map(|n| n.to_string())
        .or_else(|| id.as_str().map(str::to_owned))?;
    let title = inner
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let hosts = strings(doc.get("hosts"));
    let mut stages: Vec<String> = doc
        .get("stages")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.get("label").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if stages.is_empty() {
        let chain = inner
            .get("stage_chain")
            .or_else(|| v.get("stage_chain"))
            .and_then(Value::as_str)
            .unwrap_or("");
        stages = chain
            .split('→')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
    }
    let status = inner
        .get("status")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Some(ReportedIncident {
        id,
        title,
        hosts,
        stages,
        status,
    })
}

/// Reads incidents from a server answer (`{"items": [...]}`), a JSON array, or JSON
/// lines (`hunt --incidents --format jsonl`; other line types are skipped).
pub fn parse_incidents(text: &str) -> Result<Vec<ReportedIncident>, GradeError> {
    // One JSON document (a server page or an array) — or else JSON lines.
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        let items = v
            .get("items")
            .and_then(Value::as_array)
            .or_else(|| v.as_array());
        if let Some(items) = items {
            return Ok(items.iter().filter_map(incident_of).collect());
        }
        if v.get("type").is_none() {
            return Err(GradeError {
                line: 1,
                message: "expected a list of incidents or {\"items\": [...]}".into(),
            });
        }
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line).map_err(|e| GradeError {
            line: i + 1,
            message: e.to_string(),
        })?;
        if v.get("type").and_then(Value::as_str) == Some("incident")
            && let Some(inc) = incident_of(&v)
        {
            out.push(inc);
        }
    }
    Ok(out)
}

/// Grades `reported` against `key`.
pub fn grade(key: &AnswerKey, reported: &[ReportedIncident]) -> Grade {
    let reported_hosts: Vec<BTreeSet<String>> = reported
        .iter()
        .map(|r| r.hosts.iter().map(|h| short_host(h)).collect())
        .collect();
    let mut related = vec![false; reported.len()];
    let mut expected = Vec::new();
    for exp in &key.incidents {
        let want: BTreeSet<String> = exp.hosts.iter().map(|h| short_host(h)).collect();
        let overlaps: Vec<(usize, usize)> = reported_hosts
            .iter()
            .enumerate()
            .map(|(i, hosts)| (i, hosts.intersection(&want).count()))
            .filter(|&(_, n)| n > 0)
            .collect();
        for &(i, _) in &overlaps {
            related[i] = true;
        }
        let best = overlaps
            .iter()
            .max_by_key(|&&(i, n)| (n, reported[i].stages.len(), std::cmp::Reverse(i)))
            .map(|&(i, _)| i);
        let (mut found_stages, mut missed_stages, mut unknown) = (vec![], vec![], vec![]);
        let have: BTreeSet<&str> = best
            .map(|i| reported[i].stages.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let mut seen = BTreeSet::new();
        for tactic in &exp.stages {
            let Some(stage) = Stage::from_tactic(tactic) else {
                unknown.push(tactic.clone());
                continue;
            };
            if !seen.insert(stage) {
                continue;
            }
            if have.contains(stage.label()) {
                found_stages.push(stage.label().to_owned());
            } else {
                missed_stages.push(stage.label().to_owned());
            }
        }
        let got: BTreeSet<String> = best.map(|i| reported_hosts[i].clone()).unwrap_or_default();
        let (hosts_found, hosts_missed): (Vec<String>, Vec<String>) = exp
            .hosts
            .iter()
            .cloned()
            .partition(|h| got.contains(&short_host(h)));
        let recall = |found: usize, missed: usize| {
            if found + missed == 0 {
                1.0
            } else {
                found as f64 / (found + missed) as f64
            }
        };
        let grade = (recall(hosts_found.len(), hosts_missed.len())
            + recall(found_stages.len(), missed_stages.len()))
            / 2.0;
        let grade = if best.is_some() { grade } else { 0.0 };
        expected.push(ExpectedGrade {
            title: exp.title.clone(),
            matched: best.map(|i| reported[i].id.clone()),
            splits: overlaps
                .iter()
                .filter(|&&(i, _)| Some(i) != best)
                .map(|&(i, _)| reported[i].id.clone())
                .collect(),
            hosts_found,
            hosts_missed,
            stages_found: found_stages,
            stages_missed: missed_stages,
            stages_unknown: unknown,
            grade,
            phases: exp
                .phases
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        });
    }
    let score = if expected.is_empty() {
        0.0
    } else {
        expected.iter().map(|e| e.grade).sum::<f64>() / expected.len() as f64
    };
    Grade {
        expected,
        unrelated: reported
            .iter()
            .zip(&related)
            .filter(|(_, r)| !**r)
            .map(|(inc, _)| inc.id.clone())
            .collect(),
        score,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::ExpectedIncident;

    fn key() -> AnswerKey {
        AnswerKey {
            incidents: vec![ExpectedIncident {
                title: "theft".into(),
                hosts: vec!["WS-ACCT-07".into(), "FS01".into()],
                stages: vec![
                    "initial-access".into(),
                    "credential-access".into(),
                    "exfiltration".into(),
                    "no-such-tactic".into(),
                ],
                phases: [("emergency".to_string(), vec!["isolate".to_string()])]
                    .into_iter()
                    .collect(),
            }],
        }
    }

    #[test]
    fn server_pages_and_hunt_lines_both_read() {
        let page = r#"{"items": [{"id": 4, "title": "t", "stage_chain": "intrusion → credential access",
            "status": "open", "doc": {"hosts": ["ws-acct-07.corp.example"], "stages": [
            {"label": "intrusion"}, {"label": "credential access"}]}}], "total": 1}"#;
        let from_page = parse_incidents(page).unwrap();
        assert_eq!(from_page.len(), 1);
        assert_eq!(from_page[0].id, "4");
        assert_eq!(from_page[0].stages, ["intrusion", "credential access"]);
        let lines = "{\"type\":\"alert\"}\n{\"type\":\"incident\",\"stage_chain\":\"intrusion → exfiltration\",\"incident\":{\"id\":2,\"title\":\"x\",\"hosts\":[\"fs01\"]}}\n";
        let from_lines = parse_incidents(lines).unwrap();
        assert_eq!(from_lines.len(), 1);
        assert_eq!(from_lines[0].stages, ["intrusion", "exfiltration"]);
        let err = parse_incidents("{\"type\":\"incident\"}\nnot json\n").unwrap_err();
        assert_eq!(err.line, 2);
    }

    #[test]
    fn grades_hosts_and_stages_and_lists_splits_and_noise() {
        let reported = vec![
            ReportedIncident {
                id: "1".into(),
                hosts: vec!["ws-acct-07.corp.example".into(), "fs01.corp.example".into()],
                stages: vec!["intrusion".into(), "credential access".into()],
                ..Default::default()
            },
            ReportedIncident {
                id: "2".into(),
                hosts: vec!["FS01".into()],
                stages: vec!["exfiltration".into()],
                ..Default::default()
            },
            ReportedIncident {
                id: "3".into(),
                hosts: vec!["web01".into()],
                ..Default::default()
            },
        ];
        let g = grade(&key(), &reported);
        let e = &g.expected[0];
        assert_eq!(e.matched.as_deref(), Some("1"));
        assert_eq!(e.splits, ["2"]);
        assert!(e.hosts_missed.is_empty());
        assert_eq!(e.stages_found, ["intrusion", "credential access"]);
        assert_eq!(e.stages_missed, ["exfiltration"]);
        assert_eq!(e.stages_unknown, ["no-such-tactic"]);
        assert!((e.grade - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-9);
        assert_eq!(g.unrelated, ["3"]);
        assert_eq!(e.phases.len(), 1);
        // Nothing reported: zero, everything missed.
        let none = grade(&key(), &[]);
        assert_eq!(none.score, 0.0);
        assert_eq!(none.expected[0].matched, None);
        assert_eq!(none.expected[0].hosts_missed.len(), 2);
    }
}
