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
fn offline_demo_shows_every_bundled_sample() {
    let out = watchfloor(&["demo", "--offline"]);
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
    for finding in [
        "Office application starts encoded PowerShell",
        "Scheduled task runs a program from a user profile",
        "Security event log cleared",
        "SQL injection in a web request",
        "Path traversal or JNDI lookup in a web request",
        "SSH password guessing from one address",
    ] {
        assert!(
            table.contains(finding),
            "the demo misses `{finding}`:\n{table}"
        );
    }
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

const BRUTE_FORCE_RULES: &str = r#"
title: Many failed logons from one address
id: 0f4b4c9e-1d7e-4c52-9a0b-6c5a1f3e2d10
level: high
tags: [attack.credential-access, attack.t1110]
correlation:
    type: event_count
    rules: [failed_logon]
    group-by: [IpAddress]
    timespan: 5m
    condition:
        gte: 5
---
title: Failed logon
id: 2c6a9b1e-8f3d-4e7a-b5c2-9d0e1f2a3b4c
name: failed_logon
level: low
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4625
    condition: selection
"#;

fn failed_logon(minute: u32, ip: &str) -> String {
    format!(
        r#"{{"@timestamp":"2026-03-02T10:{minute:02}:00Z","Channel":"Security","EventID":4625,"Hostname":"DC01","TargetUserName":"admin","IpAddress":"{ip}"}}"#
    )
}

#[test]
fn hunt_with_rules_reports_detections_and_correlations() {
    let dir = temp("corr");
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::write(dir.join("rules/brute.yml"), BRUTE_FORCE_RULES).unwrap();
    // Five failures from one address within five minutes, then two from another.
    let mut lines: Vec<String> = (0..5).map(|m| failed_logon(m, "203.0.113.9")).collect();
    lines.push(failed_logon(6, "198.51.100.7"));
    lines.push(failed_logon(30, "198.51.100.7"));
    std::fs::write(dir.join("security.jsonl"), lines.join("\n")).unwrap();
    let summary = dir.join("summary.json");
    let out = watchfloor(&[
        "hunt",
        dir.join("security.jsonl").to_str().unwrap(),
        "--rules",
        dir.join("rules").to_str().unwrap(),
        "--summary-json",
        summary.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let s: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    // generate defaults to false: the base rule is not reported on its own.
    assert!(
        rows.iter().all(|r| r["rule_title"] != "Failed logon"),
        "{rows:?}"
    );
    let corr: Vec<_> = rows
        .iter()
        .filter(|r| r["source"] == "correlation")
        .collect();
    assert_eq!(corr.len(), 1, "{rows:?}");
    assert_eq!(corr[0]["rule_title"], "Many failed logons from one address");
    assert_eq!(corr[0]["level"], "high");
    assert!(corr[0]["matched"].to_string().contains("203.0.113.9"));
    assert_eq!(s["rules_loaded"], 1);
    assert_eq!(s["detections"], 1);
}

#[test]
fn hunt_rules_match_the_bundled_samples() {
    let dir = temp("rules");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("enc.yml"),
        "title: Encoded PowerShell\nid: 7d2c1b0a-1111-4222-8333-944455556666\nlevel: high\ntags: [attack.execution, attack.t1059.001]\nlogsource:\n  category: process_creation\n  product: windows\ndetection:\n  selection:\n    Image|endswith: '\\powershell.exe'\n    CommandLine|contains|windash: ' -enc '\n  condition: selection\n",
    )
    .unwrap();
    let samples = samples();
    let out = watchfloor(&[
        "hunt",
        samples.to_str().unwrap(),
        "--rules",
        dir.to_str().unwrap(),
        "--no-web-attacks",
    ]);
    std::fs::remove_dir_all(&dir).ok();
    assert!(out.status.success());
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!(r["rule_title"], "Encoded PowerShell");
    assert_eq!(r["host"], "WS-ACCT-07.corp.example");
    assert_eq!(r["time"], "2026-03-02T09:14:41.507Z");
    assert!(r["source"].as_str().unwrap().ends_with("sysmon.jsonl"));
    assert_eq!(r["record"], 2);
    assert!(r["matched"].to_string().contains("CommandLine"));
    assert_eq!(r["tags"][1], "attack.t1059.001");
}

#[test]
fn hunt_finds_web_attacks_in_the_bundled_access_log() {
    let dir = temp("web-rules");
    std::fs::create_dir_all(&dir).unwrap();
    let access_log = samples().join("access.log");
    let out = watchfloor(&[
        "hunt",
        access_log.to_str().unwrap(),
        "--rules",
        dir.to_str().unwrap(),
    ]);
    std::fs::remove_dir_all(&dir).ok();
    assert!(out.status.success());
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let found: Vec<(u64, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["record"].as_u64().unwrap(),
                r["rule_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (2, "web-attack/sqli"),
            (2, "web-attack/scanner"),
            (3, "web-attack/sqli"),
            (3, "web-attack/scanner"),
            (4, "web-attack/path-traversal"),
            (4, "web-attack/sensitive-file"),
            (5, "web-attack/java-injection"),
        ],
        "{rows:#?}"
    );
    let union = &rows[2];
    assert_eq!(union["level"], "high");
    assert_eq!(union["tags"][1], "attack.t1190");
    assert_eq!(union["matched"][0][1], "query parameter `id`");
    assert!(
        union["matched"][1][1]
            .as_str()
            .unwrap()
            .contains("UNION ALL SELECT")
    );
    assert_eq!(union["entities"]["src_ip"], "203.0.113.77");
}

#[test]
fn hunt_finds_web_attacks_in_json_web_logs() {
    let dir = temp("json-web");
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::write(
        dir.join("web.jsonl"),
        concat!(
            r#"{"@timestamp":"2026-03-02T10:00:00Z","source":{"ip":"203.0.113.7"},"http":{"request":{"method":"GET"},"response":{"status_code":200}},"url":{"original":"/item.php?id=1%27%20UNION%20SELECT%20pass%20FROM%20users--"},"user_agent":{"original":"Mozilla/5.0"}}"#,
            "\n",
            r#"{"time_iso8601":"2026-03-02T10:00:05+00:00","remote_addr":"198.51.100.4","request":"GET /dl?f=..%2f..%2fetc%2fpasswd HTTP/1.1","status":"200","http_user_agent":"curl/8.0"}"#,
            "\n",
        ),
    )
    .unwrap();
    let out = watchfloor(&[
        "hunt",
        dir.join("web.jsonl").to_str().unwrap(),
        "--rules",
        dir.join("rules").to_str().unwrap(),
    ]);
    std::fs::remove_dir_all(&dir).ok();
    assert!(out.status.success());
    let found: Vec<(u64, String)> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|r| {
            (
                r["record"].as_u64().unwrap(),
                r["rule_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (1, "web-attack/sqli".to_string()),
            (2, "web-attack/path-traversal".to_string()),
            (2, "web-attack/sensitive-file".to_string()),
        ]
    );
}

#[test]
fn rules_check_reports_located_diagnostics() {
    let dir = temp("check");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("good.yml"),
        "title: ok\nlogsource: {product: windows}\ndetection:\n  s: {EventID: 1}\n  condition: s\n",
    )
    .unwrap();
    std::fs::write(dir.join("v1.yml"), "title: old\nlogsource: {product: windows}\ndetection:\n  s: {EventID: 1}\n  condition: s | count() by Computer > 5\n").unwrap();
    std::fs::write(dir.join("bad.yml"), "title: bad\nlogsource: {product: windows}\ndetection:\n  s: {Image|nosuchmodifier: x}\n  condition: s\n").unwrap();
    let out = watchfloor(&["rules", "check", dir.to_str().unwrap(), "--format", "json"]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(1));
    let rows: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let v1 = rows
        .iter()
        .find(|r| r["file"].as_str().unwrap().ends_with("v1.yml"))
        .unwrap();
    assert_eq!(v1["code"], "S007");
    assert_eq!(v1["line"], 5);
    let bad = rows
        .iter()
        .find(|r| r["file"].as_str().unwrap().ends_with("bad.yml"))
        .unwrap();
    assert_eq!(bad["code"], "S006");
    assert_eq!(bad["line"], 4);
}

#[test]
fn rules_coverage_writes_a_navigator_layer() {
    let dir = temp("coverage");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("brute.yml"), BRUTE_FORCE_RULES).unwrap();
    std::fs::write(
        dir.join("ps.yml"),
        "title: PS\ntags: [attack.execution, attack.t1059.001, attack.t1110]\nlogsource: {product: windows}\ndetection:\n  s: {EventID: 1}\n  condition: s\n",
    )
    .unwrap();
    let layer_path = dir.join("layer.json");
    let out = watchfloor(&[
        "rules",
        "coverage",
        dir.to_str().unwrap(),
        "--output",
        layer_path.to_str().unwrap(),
    ]);
    let layer: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&layer_path).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(out.status.success());
    assert_eq!(layer["domain"], "enterprise-attack");
    let techniques = layer["techniques"].as_array().unwrap();
    let score = |id: &str| {
        techniques
            .iter()
            .find(|t| t["techniqueID"] == id)
            .map(|t| t["score"].clone())
    };
    assert_eq!(score("T1110"), Some(serde_json::json!(2)), "{techniques:?}");
    assert_eq!(score("T1059.001"), Some(serde_json::json!(1)));
    assert_eq!(techniques.len(), 2);
}

#[test]
fn hunt_incidents_from_the_bundled_rules() {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let summary = temp("incidents-summary.json");
    let suppressions = temp("suppressions.txt");
    // Allowlist the SSH guessing correlation's address: its detection is suppressed,
    // counted, and listed, not lost.
    std::fs::write(
        &suppressions,
        "# known scanner\ntitle = 'SSH password guessing from one address'\n",
    )
    .unwrap();
    let samples = samples();
    let out = watchfloor(&[
        "hunt",
        samples.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        "--incidents",
        "--format",
        "jsonl",
        "--summary-json",
        summary.to_str().unwrap(),
        "--suppressions",
        suppressions.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let incidents: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["type"] == "incident").collect();
    let suppressed: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["type"] == "suppressed").collect();
    assert_eq!(suppressed.len(), 1);
    assert_eq!(suppressed[0]["suppressed"]["by"], "suppression");
    assert!(
        suppressed[0]["suppressed"]["reason"]
            .as_str()
            .unwrap()
            .contains("line 2")
    );
    let detections = lines.len() - incidents.len() - suppressed.len();
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    std::fs::remove_file(&summary).ok();
    std::fs::remove_file(&suppressions).ok();
    assert_eq!(s["detections"], detections as u64);
    assert_eq!(s["suppressed"], 1, "{s}");
    assert_eq!(s["incidents"], incidents.len() as u64);
    // The workstation's phishing chain is one incident whose stages progress.
    let ws = incidents
        .iter()
        .find(|i| i["incident"]["hosts"][0] == "ws-acct-07.corp.example")
        .expect("an incident for the workstation");
    let chain = ws["stage_chain"].as_str().unwrap();
    assert!(
        chain.starts_with("intrusion → execution/persistence"),
        "{chain}"
    );
    assert!(chain.contains("defense evasion"), "{chain}");
    assert_eq!(ws["incident"]["severity"], "critical");
    let log = ws["incident"]["log"]["entries"].to_string();
    assert!(log.contains("opened") && log.contains("escalated"), "{log}");
    assert!(!ws["alerts"].as_array().unwrap().is_empty());
    // The web attacks from one address are one incident.
    assert!(incidents.iter().any(|i| {
        i["incident"]["indicators"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == "203.0.113.77"))
    }));
}

fn read_tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let name = p.strip_prefix(dir).unwrap().display().to_string();
                out.push((name, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn range_runs_are_reproducible_and_scored() {
    let scenario =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/web-sqli-customer-theft.yml");
    let (a, b, c) = (temp("range-a"), temp("range-b"), temp("range-c"));
    for (dir, seed) in [(&a, "7"), (&b, "7"), (&c, "8")] {
        let out = watchfloor(&[
            "range",
            "run",
            scenario.to_str().unwrap(),
            "--out",
            dir.to_str().unwrap(),
            "--seed",
            seed,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (ta, tb, tc) = (read_tree(&a), read_tree(&b), read_tree(&c));
    assert!(
        ta.len() >= 8,
        "{:?}",
        ta.iter().map(|(n, _)| n).collect::<Vec<_>>()
    );
    assert!(ta == tb, "same seed, same bytes");
    assert!(ta != tc, "another seed, other values");
    // Hunt the run with the bundled rules and score it: the report names every step.
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let det = temp("range-a.jsonl");
    let out = watchfloor(&[
        "hunt",
        a.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        "--output",
        det.to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = watchfloor(&[
        "range",
        "score",
        "--labels",
        a.join("labels.jsonl").to_str().unwrap(),
        "--detections",
        det.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 9);
    // The bundled web rules catch the injection step.
    assert!(
        steps
            .iter()
            .any(|s| s["step"] == "sqli" && s["detected"] == true),
        "{report:#}"
    );
    for d in [&a, &b, &c] {
        std::fs::remove_dir_all(d).ok();
    }
    std::fs::remove_file(&det).ok();
    // A broken scenario is a usage error naming the place.
    let bad = temp("bad-scenario.yml");
    std::fs::write(&bad, "name: x\nstart: nope\n").unwrap();
    let out = watchfloor(&["range", "run", bad.to_str().unwrap(), "--out", "/tmp/never"]);
    std::fs::remove_file(&bad).ok();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad-scenario.yml"));
}

/// A proxy log line: `client` asks the proxy to connect to `target` at `minute:second`
/// past 09:00.
fn proxy_connect(client: &str, target: &str, seconds: u32) -> String {
    let (h, m, s) = (9 + seconds / 3600, seconds / 60 % 60, seconds % 60);
    format!(
        "{client} - mtanaka [02/Mar/2026:{h:02}:{m:02}:{s:02} +0000] \"CONNECT {target} HTTP/1.1\" 200 5224 \"-\" \"Mozilla/5.0\""
    )
}

#[test]
fn hunt_finds_beaconing_in_a_proxy_log_when_asked() {
    let dir = temp("beacons");
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("proxy.log");
    let mut lines = Vec::new();
    // An implant every 5 minutes, ±20 %, and a person's irregular browsing.
    let jitter = [
        0, 40, -35, 55, -20, 10, -60, 25, 45, -5, -50, 30, 15, -40, 60, -25,
    ];
    // People read in bursts: a few requests, then minutes to most of an hour away.
    let reading = [
        5, 8, 1200, 3, 640, 2, 2400, 15, 900, 4, 60, 1800, 7, 300, 2, 3000, 10, 45, 1500, 6,
    ];
    let (mut t, mut u) = (0i64, 0i64);
    for (j, r) in jitter.iter().zip(reading.iter().cycle()).cycle().take(20) {
        lines.push(proxy_connect(
            "10.0.0.7",
            "cdn-update.example:443",
            t as u32,
        ));
        lines.push(proxy_connect("10.0.0.8", "news.example:443", u as u32));
        // Regular too, but the caller is outside: not an implant of ours.
        lines.push(proxy_connect(
            "198.51.100.7",
            "uptime.example:443",
            t as u32 + 7,
        ));
        t += 300 + j;
        u += r;
    }
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let log = log.to_str().unwrap();

    let out = watchfloor(&[
        "hunt",
        log,
        "--beacons",
        "--format",
        "jsonl",
        "--no-progress",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(found.len(), 1, "{found:#?}");
    let b = &found[0];
    assert_eq!(b["rule_id"], "beacon-analysis");
    assert_eq!(b["level"], "medium");
    assert_eq!(b["entities"]["src_ip"], "10.0.0.7");
    assert_eq!(b["entities"]["indicators"][0], "cdn-update.example");
    // Reported at the call that made an hour of regular calls: the 13th or 14th, which
    // are lines 37 or 40 of the log (the implant's calls are every third line).
    let record = b["record"].as_u64().unwrap();
    assert!(record == 37 || record == 40, "{b}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("beacon analysis: 1 beacons"));

    // Without the flag there is no beacon analysis.
    let out = watchfloor(&["hunt", log, "--format", "jsonl", "--no-progress"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("beacon-analysis"));
    std::fs::remove_dir_all(&dir).ok();
}

const EVENT_LOG_DISABLED_RULE: &str = r"title: Event log service disabled in the registry
id: 6f1c2a52-7a0e-4f55-9a55-0c1d3f4f1e01
level: high
logsource:
  category: registry_set
  product: windows
detection:
  selection:
    TargetObject|endswith: '\Services\EventLog\Start'
    Details: 'DWORD (0x00000004)'
  filter:
    Image|endswith: '\TrustedInstaller.exe'
  condition: selection and not filter
";

/// A Security registry audit (4657) meets a Sysmon-shaped `registry_set` rule: the key
/// and value as Sysmon writes them, under Sysmon's names.
#[test]
fn hunt_judges_registry_audits_by_sysmon_registry_rules() {
    let dir = temp("reg4657");
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::write(dir.join("rules/eventlog.yml"), EVENT_LOG_DISABLED_RULE).unwrap();
    let audit = |value: &str, process: &str| {
        format!(
            r#"{{"EventID":4657,"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security","Hostname":"ws01","EventTime":"2020-06-09 22:51:55","ObjectName":"\\REGISTRY\\MACHINE\\SYSTEM\\ControlSet001\\Services\\EventLog","ObjectValueName":"Start","OperationType":"%%1905","NewValueType":"%%1876","NewValue":"{value}","ProcessName":"{process}"}}"#
        )
    };
    let lines = [
        audit("4", r"C:\\Windows\\System32\\reg.exe"),
        audit("2", r"C:\\Windows\\System32\\reg.exe"),
        audit("4", r"C:\\Windows\\servicing\\TrustedInstaller.exe"),
    ];
    std::fs::write(dir.join("security.jsonl"), lines.join("\n")).unwrap();
    let out = watchfloor(&[
        "hunt",
        dir.join("security.jsonl").to_str().unwrap(),
        "--rules",
        dir.join("rules").to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    std::fs::remove_dir_all(&dir).ok();
    let rows = json_lines(&out);
    assert_eq!(
        rows.len(),
        1,
        "only the service disabled by reg.exe: {rows:?}"
    );
    assert_eq!(rows[0]["record"], 1);
}

/// The same implant through a Squid proxy, in Squid's native log.
#[test]
fn hunt_finds_beaconing_in_a_squid_log() {
    let dir = temp("squid-beacons");
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("access.log");
    // 2026-03-02 09:00:00 UTC.
    let start = 1_772_442_000i64;
    let squid = |client: &str, host: &str, at: i64| {
        format!(
            "{at}.000    120 {client} TCP_TUNNEL/200 5224 CONNECT {host}:443 mtanaka HIER_DIRECT/203.0.113.9 -"
        )
    };
    let jitter = [
        0, 40, -35, 55, -20, 10, -60, 25, 45, -5, -50, 30, 15, -40, 60, -25,
    ];
    let reading = [
        5, 8, 1200, 3, 640, 2, 2400, 15, 900, 4, 60, 1800, 7, 300, 2, 3000,
    ];
    let (mut t, mut u) = (0i64, 0i64);
    let mut lines = Vec::new();
    for (j, r) in jitter.iter().zip(reading.iter()).cycle().take(20) {
        lines.push(squid("10.0.0.7", "cdn-update.example", start + t));
        lines.push(squid("10.0.0.8", "news.example", start + u));
        t += 300 + j;
        u += r;
    }
    lines.sort();
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let found = beacons_in(&log);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0]["rule_id"], "beacon-analysis");
    assert_eq!(found[0]["entities"]["src_ip"], "10.0.0.7");
    assert_eq!(found[0]["entities"]["indicators"][0], "cdn-update.example");
}

/// `watchfloor hunt LOG --beacons` as JSON lines, one value per detection.
fn beacons_in(log: &Path) -> Vec<serde_json::Value> {
    json_lines(&watchfloor(&[
        "hunt",
        log.to_str().unwrap(),
        "--beacons",
        "--format",
        "jsonl",
        "--no-progress",
    ]))
}

/// A successful run's JSON-lines output, one value per line.
fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
