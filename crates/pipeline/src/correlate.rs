//! The correlation pass: matches of the rules that correlations use, fed in event-time
//! order through the correlation engine, and each reported correlation match turned into
//! a detection row. `hunt` replays them once every file is decoded (files decode in
//! parallel, so only then is the global time order known); the live pipeline feeds
//! them as they come.

use serde_json::json;
use watchfloor_decode::time::format_rfc3339;
use watchfloor_sigma::correlation::{CorrelationEngine, CorrelationMatch};
use watchfloor_sigma::rule::Correlation;
use watchfloor_triage::detection::Entities;

use crate::detect::{CorrelationInput, DetectionRow};

/// Feeds `inputs` (sorted here by event time) and returns a row per correlation match
/// that is to be reported.
pub fn run(
    engine: &mut CorrelationEngine,
    correlations: &[Correlation],
    mut inputs: Vec<CorrelationInput>,
) -> Vec<DetectionRow> {
    inputs.sort_by_key(|(rule, ev)| (ev.time, ev.source.name.clone(), ev.source.record, *rule));
    let mut matches = Vec::new();
    for (rule, ev) in &inputs {
        engine.observe(*rule, ev, &mut matches);
    }
    matches
        .into_iter()
        .filter(|m| engine.reports_correlation(m.correlation))
        .filter_map(|m| row(&m, correlations.get(m.correlation)?))
        .collect()
}

/// The detection row of a correlation match.
pub fn row(m: &CorrelationMatch, c: &Correlation) -> Option<DetectionRow> {
    let host = m
        .group
        .iter()
        .find(|(k, _)| {
            matches!(
                k.as_str(),
                "Computer" | "Hostname" | "host" | "hostname" | "ComputerName"
            )
        })
        .map(|(_, v)| v.clone());
    let mut entities = Entities {
        host: host.clone(),
        ..Default::default()
    };
    for (k, v) in &m.group {
        match k.as_str() {
            "User" | "TargetUserName" | "SubjectUserName" | "user" | "username" => {
                entities.user = Some(v.clone());
            }
            "SourceIp" | "IpAddress" | "src_ip" | "c-ip" | "id.orig_h" => {
                entities.src_ip = Some(v.clone());
            }
            "DestinationIp" | "dest_ip" | "id.resp_h" => entities.dst_ip = Some(v.clone()),
            _ => {}
        }
    }
    entities.normalize();
    let mut matched: Vec<(String, String)> = m.group.clone();
    matched.push(("value".into(), m.value.to_string()));
    let event = json!({
        "correlation": c.meta.title,
        "type": format!("{:?}", c.kind),
        "group": m.group.iter().map(|(k, v)| json!({k: v})).collect::<Vec<_>>(),
        "first": format_rfc3339(m.first),
        "last": format_rfc3339(m.last),
        "value": m.value,
        "rules": m.rules,
    });
    Some(DetectionRow {
        time: Some(format_rfc3339(m.last)),
        rule_id: c.meta.id.clone(),
        rule_title: c.meta.title.clone(),
        level: c.meta.level.as_str(),
        tags: c.meta.tags.clone(),
        host,
        source: "correlation".into(),
        record: 0,
        matched,
        event: event.to_string(),
        entities,
        indicator: None,
        time_ns: m.last.0,
    })
}
