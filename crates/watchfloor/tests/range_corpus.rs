//! The shipped range scenarios against the SigmaHQ rules (`#[ignore]`d: CI runs them
//! with `--include-ignored`; they need the shared corpora): how many campaign steps the
//! rules detect, that the telemetry decodes cleanly, and that the analysis engine folds
//! the phishing campaign's hosts into one incident. Floors under what is achieved, so a
//! regression in the generator, the decoders, the engine or triage fails here.

mod common;
use common::corpora;

use std::path::Path;
use std::process::Command;

fn run(args: &[&str]) -> Vec<u8> {
    let out = Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Generates, hunts and scores one scenario; returns (score report, hunt lines, summary).
fn play(name: &str) -> (serde_json::Value, Vec<serde_json::Value>, serde_json::Value) {
    let scenario =
        Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../scenarios/{name}.yml"));
    let dir = std::env::temp_dir().join(format!(
        "watchfloor-range-corpus-{}-{name}",
        std::process::id()
    ));
    let rules = corpora().join("detection/sigmahq-sigma/rules");
    run(&[
        "range",
        "run",
        scenario.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    let det = dir.with_extension("jsonl");
    let summary = dir.with_extension("summary.json");
    run(&[
        "hunt",
        dir.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        "--format",
        "jsonl",
        "--incidents",
        "--output",
        det.to_str().unwrap(),
        "--summary-json",
        summary.to_str().unwrap(),
    ]);
    let report = run(&[
        "range",
        "score",
        "--labels",
        dir.join("labels.jsonl").to_str().unwrap(),
        "--detections",
        det.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let lines = std::fs::read_to_string(&det)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    std::fs::remove_file(&det).ok();
    std::fs::remove_file(dir.with_extension("summary.json")).ok();
    (serde_json::from_slice(&report).unwrap(), lines, summary)
}

#[test]
#[ignore]
fn shipped_scenarios_against_the_sigmahq_rules() {
    let mut detected = 0;
    let mut steps = 0;
    for name in ["phishing-to-file-server-theft", "web-sqli-customer-theft"] {
        let (report, lines, summary) = play(name);
        assert_eq!(summary["decode_errors"], 0, "{name}: {summary}");
        assert_eq!(summary["unsupported"], 0, "{name}: {summary}");
        detected += report["detected_steps"].as_u64().unwrap();
        steps += report["steps"].as_array().unwrap().len() as u64;
        if name.starts_with("phishing") {
            // The intrusion, the file server it moved to and the exfiltration are one
            // incident.
            let incident = lines
                .iter()
                .filter(|l| l["type"] == "incident")
                .find(|l| {
                    let hosts = l["incident"]["hosts"].to_string();
                    hosts.contains("ws-acct-07") && hosts.contains("fs01")
                })
                .unwrap_or_else(|| panic!("no incident spans ws-acct-07 and fs01"));
            let chain = incident["stage_chain"].as_str().unwrap();
            for stage in [
                "intrusion",
                "credential access",
                "lateral movement",
                "exfiltration",
            ] {
                assert!(chain.contains(stage), "{chain}");
            }
        }
    }
    assert_eq!(steps, 18);
    assert!(detected >= 15, "{detected} of {steps} steps detected");
}
