//! The command line as a user meets it: exit codes, output formats, the summary file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn watchfloor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(args)
        .output()
        .expect("run watchfloor")
}

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("samples")
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("watchfloor-cli-{}-{name}", std::process::id()))
}

#[test]
fn demo_shows_every_bundled_sample() {
    let out = watchfloor(&["demo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "windows/process_creation/sysmon",
        "linux/-/sshd",
        "-/webserver/-",
        "zeek/-/dns",
        "suricata/-/alert",
    ] {
        assert!(table.contains(needle), "missing {needle} in\n{table}");
    }
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 decode errors"));
}

#[test]
fn hunt_writes_jsonl_when_piped_and_a_summary() {
    let summary = temp("summary.json");
    let samples = samples();
    let out = watchfloor(&[
        "hunt",
        samples.to_str().unwrap(),
        "--summary-json",
        summary.to_str().unwrap(),
        "--threads",
        "2",
    ]);
    assert!(out.status.success());
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl"))
        .collect();
    assert_eq!(rows.len(), 6);
    let events: u64 = rows.iter().map(|r| r["events"].as_u64().unwrap()).sum();
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    std::fs::remove_file(&summary).ok();
    assert_eq!(s["files"], 6);
    assert_eq!(s["events"].as_u64(), Some(events));
    assert_eq!(s["decode_errors"], 0);
    for key in ["detections", "rules_loaded", "rules_failed", "elapsed_s"] {
        assert!(s.get(key).is_some(), "summary lacks {key}");
    }
    let auth = rows
        .iter()
        .find(|r| r["source"].as_str().unwrap().ends_with("auth.log"))
        .unwrap();
    assert_eq!(auth["format"], "syslog");
    assert_eq!(auth["events"], 10);
}

#[test]
fn hunt_csv_to_a_file() {
    let csv = temp("out.csv");
    let path = samples().join("access.log");
    let out = watchfloor(&[
        "hunt",
        path.to_str().unwrap(),
        "--format",
        "csv",
        "--output",
        csv.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&csv).unwrap();
    std::fs::remove_file(&csv).ok();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("source,format,events,errors,bytes,first,last,logsources")
    );
    let row = lines.next().unwrap();
    assert!(row.contains(",access,6,0,"), "{row}");
}

#[test]
fn bad_arguments_exit_2() {
    let samples = samples();
    let s = samples.to_str().unwrap();
    for args in [
        vec!["hunt", "/nonexistent/evidence"],
        vec!["hunt", s, "--threads", "0"],
        vec!["hunt", s, "--format", "xml"],
        vec!["hunt", s, "--input-format", "pcap"],
        vec!["hunt"],
        vec!["no-such-command"],
    ] {
        let out = watchfloor(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn bad_input_is_reported_and_the_run_completes() {
    let dir = temp("bad");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("empty.log"), b"").unwrap();
    std::fs::write(dir.join("garbage.bin"), [0u8, 159, 146, 150, 0, 1, 2, 3]).unwrap();
    std::fs::write(dir.join("ok.jsonl"), b"{\"a\":1}\n{oops}\n{\"a\":2}\n").unwrap();
    let summary = dir.join("summary.json");
    let out = watchfloor(&[
        "hunt",
        dir.to_str().unwrap(),
        "--summary-json",
        summary.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(s["events"], 2);
    assert_eq!(s["decode_errors"], 3);
    assert!(stderr.contains("ok.jsonl:2: invalid JSON"), "{stderr}");
    assert!(
        stderr.contains("empty.log: unsupported format: empty"),
        "{stderr}"
    );
    assert!(
        stderr.contains("garbage.bin: unsupported format: binary"),
        "{stderr}"
    );
}
