//! `watchfloor bench serve`, smoke-style: a few seconds of ingest and alert-list
//! requests against the in-process server with the bundled rules, checking that the
//! figures are there, never what they are (no timed assertions).

use std::process::Command;

#[test]
fn bench_serve_runs_and_writes_its_figures() {
    let dir = std::env::temp_dir().join(format!(
        "watchfloor-bench-serve-test-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let json = dir.join("figures.json");
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
    let out = Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(["bench", "serve", "--duration", "3", "--rules", rules])
        .args([
            "--pool-days",
            "2",
            "--query-rate",
            "20",
            "--sample-secs",
            "1",
        ])
        .args(["--drain-secs", "30", "--data"])
        .arg(dir.join("data"))
        .arg("--json")
        .arg(&json)
        .output()
        .expect("run watchfloor bench serve");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for line in ["ingest ", "pipeline ", "RSS MB ", "alert list ", "targets"] {
        assert!(stdout.contains(line), "missing `{line}`:\n{stdout}");
    }
    let text = std::fs::read_to_string(&json).expect("the JSON figures");
    let figures: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let number = |key: &str| figures[key].as_f64().unwrap_or(-1.0);
    assert!(number("accepted") > 0.0, "{text}");
    assert!(number("processed") > 0.0, "{text}");
    assert!(number("rss_peak_mb") > 0.0, "{text}");
    assert_eq!(figures["rule_count"].as_u64(), Some(10), "{text}");
    assert!(
        figures["samples"].as_array().is_some_and(|s| s.len() >= 2),
        "{text}"
    );
    assert!(
        figures["latency"]["scheduled"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{text}"
    );
    assert_eq!(figures["targets"].as_array().map(Vec::len), Some(3));
    // The data folder is removed afterwards.
    assert!(!dir.join("data").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
