//! The quality report as Markdown: the totals of both evaluations against the targets,
//! then one row per dataset from the one-stream evaluation.

use watchfloor_triage::TriageConfig;

use super::{Evaluation, Row};

/// Dataset counts against the second target.
struct Coverage {
    with_detection: usize,
    with_alertable: usize,
    with_incident: usize,
    named: usize,
}

fn coverage(rows: &[Row]) -> Coverage {
    Coverage {
        with_detection: rows.iter().filter(|r| r.detections > 0).count(),
        with_alertable: rows.iter().filter(|r| r.alertable > 0).count(),
        with_incident: rows.iter().filter(|r| r.incidents > 0).count(),
        named: rows.iter().filter(|r| r.found == Some(true)).count(),
    }
}

fn ratio(detections: u64, incidents: u64) -> f64 {
    detections as f64 / incidents.max(1) as f64
}

/// An evaluation's counts as table cells: detections, alerts, incidents, detections per
/// incident, then the datasets with a detection, an alertable one, an incident, and an
/// incident naming an expected tactic.
fn count_cells(eval: &Evaluation) -> String {
    let t = eval.totals;
    let c = coverage(&eval.rows);
    format!(
        "{} | {} | {} | {:.2} | {} | {} | {} | {}",
        t.detections,
        t.alerts,
        t.incidents,
        ratio(t.detections, t.incidents),
        c.with_detection,
        c.with_alertable,
        c.with_incident,
        c.named,
    )
}

/// One table row of totals for a setting and an evaluation.
pub(super) fn print_totals(label: &str, eval: &Evaluation, config: &TriageConfig) {
    println!(
        "| {label} | {} | {:.0} h | {} |",
        config.open_threshold,
        config.incident_gap as f64 / 3600e9,
        count_cells(eval),
    );
}

pub(super) fn print_report(together: &Evaluation, separate: &Evaluation, rules: usize) {
    println!("Rules: SigmaHQ `rules/` ({rules} loaded). Analysis engine defaults.\n");
    println!(
        "| evaluation | datasets | detections | alerts | incidents | detections per incident | datasets with a detection | with an alertable one | with an incident | with an incident naming an expected tactic or technique |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (label, eval) in [("one stream", together), ("each on its own", separate)] {
        println!("| {label} | {} | {} |", eval.rows.len(), count_cells(eval));
    }
    println!();
    println!("Per dataset, one stream (alerts and incidents a dataset's detections are in):\n");
    println!(
        "| dataset | expected (stage, technique) | detections | alertable | alerts | incidents | expected in an incident |"
    );
    println!("|---|---|---:|---:|---:|---:|---|");
    for r in &together.rows {
        let found = match r.found {
            None => "— (no detection)".to_string(),
            Some(true) => format!("yes: {}", r.what),
            Some(false) if r.alertable == 0 => "— (informational only)".to_string(),
            Some(false) if r.what.is_empty() => "no".to_string(),
            Some(false) => format!("no ({})", r.what),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {found} |",
            r.name, r.expected, r.detections, r.alertable, r.alerts, r.incidents
        );
    }
}
