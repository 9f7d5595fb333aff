//! `watchfloor hunt` end to end over the shared corpora (`#[ignore]`d: CI runs them with
//! `--include-ignored`; they fail loudly when the corpora are absent).

mod common;
use common::corpora;

use std::path::PathBuf;
use std::process::Command;

fn hunt(paths: &[PathBuf], threads: &str) -> (serde_json::Value, Vec<serde_json::Value>) {
    let summary = std::env::temp_dir().join(format!(
        "watchfloor-hunt-corpus-{}-{threads}.json",
        std::process::id()
    ));
    let out = Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .arg("hunt")
        .args(paths)
        .args([
            "--threads",
            threads,
            "--summary-json",
            summary.to_str().unwrap(),
            "--max-errors-shown",
            "0",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    std::fs::remove_file(&summary).ok();
    let rows = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (s, rows)
}

#[test]
#[ignore = "needs ../shared/corpora"]
fn hunt_over_every_corpus_folder_agrees_with_itself_across_thread_counts() {
    let c = corpora();
    let paths = vec![
        c.join("evtx/EVTX-ATTACK-SAMPLES"),
        c.join("otrf-security-datasets"),
        c.join("network"),
        c.join("web/elastic-examples"),
    ];
    let (one, rows_one) = hunt(&paths, "1");
    let (two, rows_two) = hunt(&paths, "2");
    for key in ["files", "streams", "events", "decode_errors", "unsupported"] {
        assert_eq!(one[key], two[key], "{key} differs between 1 and 2 threads");
    }
    assert_eq!(
        rows_one, rows_two,
        "rows must come in file order whatever the threads"
    );
    let events: u64 = rows_one.iter().map(|r| r["events"].as_u64().unwrap()).sum();
    assert_eq!(one["events"].as_u64(), Some(events));
    assert!(events > 300_000, "{events}");
    // Every EVTX stream decoded without error.
    for r in rows_one.iter().filter(|r| r["format"] == "evtx") {
        assert_eq!(r["errors"], 0, "{}", r["source"]);
    }
    eprintln!("{one}");
}

/// The analysis engine on the labelled attack datasets (`bench quality`, whose full
/// report is `docs/quality.md`): floors under what it achieves, so a regression in
/// grouping, enrichment or stage mapping fails here.
#[test]
#[ignore]
fn quality_on_labelled_attack_datasets() {
    let out = Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(["bench", "quality", "--corpora"])
        .arg(corpora())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8_lossy(&out.stdout);
    let cells = |line: &str| -> Vec<String> {
        line.trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    let totals = |label: &str| -> (f64, f64, f64) {
        let row = report
            .lines()
            .find(|l| l.starts_with(&format!("| {label} |")))
            .map(cells)
            .unwrap_or_else(|| panic!("a {label} totals row in {report}"));
        let number = |i: usize| row[i].parse::<f64>().unwrap();
        (number(2), number(3), number(4))
    };
    // One stream: every dataset through one engine, as a watch floor sees them.
    let (detections, alerts, incidents) = totals("one stream");
    assert!(detections > 2000.0, "{report}");
    assert!(
        alerts < detections / 2.5,
        "dedupe folds repeats: {alerts} of {detections}"
    );
    assert!(
        detections / incidents >= 22.0,
        "{detections} detections, {incidents} incidents"
    );
    // Each dataset on its own engine can share nothing: fewer folds, same detections.
    let (alone, _, alone_incidents) = totals("each on its own");
    assert_eq!(alone, detections);
    assert!(alone_incidents > incidents, "{report}");
    assert!(
        alone / alone_incidents >= 13.0,
        "{alone} detections, {alone_incidents} incidents"
    );
    let rows: Vec<Vec<String>> = report
        .lines()
        .filter(|l| l.starts_with("| OTRF") || l.starts_with("| EVTX"))
        .map(cells)
        .collect();
    // Every EVTX tactic folder yields an incident that reached that tactic's stage.
    let evtx: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| r[0].starts_with("EVTX-ATTACK-SAMPLES"))
        .collect();
    assert_eq!(evtx.len(), 8, "{report}");
    for row in &evtx {
        assert!(row[6].starts_with("yes"), "{row:?}");
    }
    let named = rows.iter().filter(|r| r[6].starts_with("yes")).count();
    assert!(
        named >= 57,
        "{named} datasets with an incident naming their tactic"
    );
    // The AWS breach is named by its instance credentials used outside the instance.
    let aws = rows
        .iter()
        .find(|r| r[0].contains("AWS Cloud Bank Breach"))
        .expect("the AWS bank-breach dataset");
    assert!(aws[6].starts_with("yes: intrusion, T1078.004"), "{aws:?}");
    // The DCOM lateral movement is named by its remote execution in the target.
    let xll = rows
        .iter()
        .find(|r| r[0].contains("DCOM RegisterXLL"))
        .expect("the RegisterXLL dataset");
    assert!(xll[6].starts_with("yes: lateral movement"), "{xll:?}");
    // A dataset whose only matches are informational rules (a logoff on the domain
    // controller) is said so, and has no incident.
    for row in rows.iter().filter(|r| r[6] == "— (informational only)") {
        assert_eq!(row[3], "0", "{row:?}");
        assert_eq!(row[5], "0", "{row:?}");
    }
    // NXLog exports name the provider `SourceName`; the log-clearing rules test
    // `Provider_Name`. Process Herpaderping is named by its Security log clearing.
    let herpaderping = rows
        .iter()
        .find(|r| r[0].contains("Process Herpaderping"))
        .expect("the Herpaderping dataset");
    assert!(
        herpaderping[6].starts_with("yes: defense evasion"),
        "{herpaderping:?}"
    );
    // SigmaHQ's ATT&CK v18 tactics (stealth, defense-impairment) are the defense-evasion
    // stage: the MiniNt dataset is detected only by rules carrying them.
    let mini_nt = report
        .lines()
        .find(|l| l.contains("Creation of MiniNt Registry Key"))
        .map(cells)
        .expect("the MiniNt dataset");
    assert!(
        mini_nt[6].starts_with("yes: defense evasion"),
        "{mini_nt:?}"
    );
}

/// Remote execution analysis over every Windows capture: the sessions it reports are
/// the attacks' (WMI, DCOM, PowerShell remoting into WORKSTATION6), nothing else.
#[test]
#[ignore = "needs ../shared/corpora"]
fn remote_execution_finds_the_lateral_movement_and_nothing_else() {
    let c = corpora();
    let rules = c.join("detection/sigmahq-sigma/rules");
    let (code, stdout, stderr) = common::watchfloor(&[
        "hunt",
        c.join("evtx").to_str().unwrap(),
        c.join("otrf-security-datasets").to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        "--format",
        "jsonl",
        "--max-errors-shown",
        "0",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let mut found: Vec<(String, String, String)> = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|row| row["rule_id"] == "remote-execution")
        .map(|row| {
            let source = row["source"].as_str().unwrap();
            let dataset = source.rsplit(['/', '!']).nth(1).unwrap().to_string();
            let image = row["matched"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m[0] == "Image")
                .map(|m| {
                    m[1].as_str()
                        .unwrap()
                        .rsplit('\\')
                        .next()
                        .unwrap()
                        .to_lowercase()
                })
                .unwrap();
            (dataset, image, row["tags"][1].as_str().unwrap().to_string())
        })
        .collect();
    found.sort();
    let expected = [
        (
            "covenant_com_wsman_automation.zip",
            "whoami.exe",
            "attack.t1047",
        ),
        (
            "covenant_dcom_registerxll.zip",
            "excel.exe",
            "attack.t1021.003",
        ),
        (
            "covenant_psremoting_command.zip",
            "wsmprovhost.exe",
            "attack.t1021.006",
        ),
        (
            "covenant_sharpwmi_create_dcerpc_wmi.zip",
            "grunthttp2.exe",
            "attack.t1047",
        ),
        (
            "empire_psremoting_stager.zip",
            "wsmprovhost.exe",
            "attack.t1021.006",
        ),
    ];
    let expected: Vec<(String, String, String)> = expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(found, expected);
}
