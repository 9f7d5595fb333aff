//! Sigma acceptance over the shared corpora (`#[ignore]`d; CI runs them with
//! `--include-ignored` and they fail loudly when the corpora are absent).

mod common;
use common::{corpora, watchfloor};

use std::path::{Path, PathBuf};

fn placeholders() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/placeholders.example.yml")
}

fn sigmahq() -> PathBuf {
    corpora().join("detection/sigmahq-sigma")
}

fn rule_dirs() -> Vec<PathBuf> {
    [
        "rules",
        "rules-emerging-threats",
        "rules-threat-hunting",
        "rules-placeholder",
        "rules-compliance",
    ]
    .iter()
    .map(|d| sigmahq().join(d))
    .filter(|d| d.is_dir())
    .collect()
}

#[test]
#[ignore = "needs ../shared/corpora"]
fn every_sigmahq_rule_loads_with_the_placeholder_file() {
    let mut args = vec!["rules".to_string(), "check".to_string()];
    args.extend(rule_dirs().iter().map(|d| d.to_string_lossy().into_owned()));
    args.extend([
        "--placeholders".to_string(),
        placeholders().to_string_lossy().into_owned(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stdout, stderr) = watchfloor(&args);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stderr.contains("; 0 errors"), "{stderr}");
}

#[test]
#[ignore = "needs ../shared/corpora"]
fn unresolved_placeholders_are_diagnosed_and_skipped() {
    let dir = sigmahq().join("rules-placeholder");
    let (code, stdout, _) =
        watchfloor(&["rules", "check", dir.to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 1);
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r["code"] == "S008" && r["line"].as_u64().unwrap() > 0),
        "{rows:?}"
    );
}

#[test]
#[ignore = "needs ../shared/corpora"]
fn sigmahq_regression_data_all_cases_pass() {
    let mut args = vec![
        "rules".to_string(),
        "test".to_string(),
        sigmahq()
            .join("regression_data")
            .to_string_lossy()
            .into_owned(),
    ];
    for d in rule_dirs() {
        args.push("--rules".into());
        args.push(d.to_string_lossy().into_owned());
    }
    args.extend([
        "--placeholders".to_string(),
        placeholders().to_string_lossy().into_owned(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stdout, stderr) = watchfloor(&args);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(
        summary.starts_with("202 of 202 regression cases passed"),
        "{summary}"
    );
}

/// The indexed, prefiltered engine returns exactly what evaluating every rule returns,
/// on every event of the EVTX samples and the OTRF datasets.
#[test]
#[ignore = "needs ../shared/corpora"]
fn indexed_engine_equals_naive_on_the_corpora() {
    use watchfloor_decode::{DecodeContext, DecodeError, Event, FileDecoder, Sink};
    use watchfloor_event::{FieldCache, FieldTable};
    use watchfloor_sigma::compile::compile;
    use watchfloor_sigma::engine::{Engine, Scratch};
    use watchfloor_sigma::load::load_str;
    use watchfloor_sigma::rule::RuleSet;

    let table = FieldTable::new();
    let mut set = RuleSet::default();
    let mut diags = Vec::new();
    for dir in rule_dirs() {
        for entry in walk(&dir) {
            if entry.extension().is_some_and(|e| e == "yml") {
                let text = std::fs::read_to_string(&entry).unwrap();
                load_str(
                    &std::sync::Arc::from(entry.to_string_lossy().as_ref()),
                    &text,
                    &mut set,
                    &mut diags,
                );
            }
        }
    }
    let rules = compile(&set, &table, &Default::default(), &mut diags);
    assert!(rules.len() > 3000);
    let engine = Engine::new(rules);

    struct Compare<'e> {
        engine: &'e Engine,
        scratch: Scratch,
        events: u64,
        matches: u64,
    }
    impl Sink for Compare<'_> {
        fn event(&mut self, ev: &Event) {
            let (mut fast, mut slow) = (Vec::new(), Vec::new());
            self.engine.evaluate(ev, &mut self.scratch, &mut fast);
            self.engine.evaluate_naive(ev, &mut slow);
            assert_eq!(fast, slow, "{}:{}", ev.source.name, ev.source.record);
            self.events += 1;
            self.matches += fast.len() as u64;
        }
        fn error(&mut self, _: DecodeError) {}
    }
    let mut sink = Compare {
        engine: &engine,
        scratch: Scratch::default(),
        events: 0,
        matches: 0,
    };
    let mut decoder = FileDecoder::new(DecodeContext::new(FieldCache::new(table.clone())), None);
    let inputs = [
        corpora().join("evtx/EVTX-ATTACK-SAMPLES"),
        corpora().join("otrf-security-datasets/datasets/atomic/windows"),
    ];
    for dir in inputs {
        for file in walk(&dir) {
            decoder.decode_path(&file, &mut sink);
        }
    }
    eprintln!(
        "{} events, {} matches, identical",
        sink.events, sink.matches
    );
    assert!(sink.events > 100_000 && sink.matches > 1000);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// `watchfloor hunt PATH --rules RULES` as JSON lines, one value per detection.
fn hunt_rows(path: &Path, rules: &Path) -> Vec<serde_json::Value> {
    let (code, out, err) = watchfloor(&[
        "hunt",
        path.to_str().unwrap(),
        "--rules",
        rules.to_str().unwrap(),
        "--format",
        "jsonl",
        "--no-progress",
    ]);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Security auditing stands in for Sysmon: the connections the filtering platform
/// permitted (5156) meet SigmaHQ's `network_connection` rules, under Sysmon's names.
#[test]
#[ignore = "needs ../shared/corpora"]
fn security_connection_audits_meet_sysmon_connection_rules() {
    let otrf = corpora().join("otrf-security-datasets/datasets/atomic/windows");
    let regsvr32 = otrf.join("defense_evasion/host/empire_launcher_sct_regsvr32.zip");
    let rules = sigmahq().join("rules/windows/network_connection");
    let on_security: Vec<serde_json::Value> = hunt_rows(&regsvr32, &rules)
        .into_iter()
        .filter(|d| {
            let ev: serde_json::Value =
                serde_json::from_str(d["event"].as_str().unwrap_or("{}")).unwrap_or_default();
            ev["EventID"] == 5156
        })
        .collect();
    let titles: Vec<&str> = on_security
        .iter()
        .filter_map(|d| d["rule_title"].as_str())
        .collect();
    assert!(
        titles.contains(&"Network Connection Initiated By Regsvr32.EXE"),
        "the stager's call home, seen by the filtering platform: {titles:?}"
    );
}

/// Defender's detections (1116, 1117) meet SigmaHQ's `antivirus` rules, which classify a
/// threat by its name (`Signature`) and file (`Filename`).
#[test]
#[ignore = "needs ../shared/corpora"]
fn defender_detections_meet_the_antivirus_rules() {
    let sample = corpora().join(
        "evtx/EVTX-ATTACK-SAMPLES/AutomatedTestingTools/WinDefender_Events_1117_1116_AtomicRedTeam.evtx",
    );
    let rules = sigmahq().join("rules/category/antivirus");
    let rows = hunt_rows(&sample, &rules);
    let fired = |title: &str, value: &str| {
        rows.iter()
            .any(|r| r["rule_title"] == title && r["matched"].to_string().contains(value))
    };
    assert!(
        fired(
            "Antivirus - Web Shell Detection Signature",
            "Backdoor:ASP/Ace.T"
        ),
        "{rows:?}"
    );
    assert!(fired(
        "Antivirus - Hacktool Signature",
        "HackTool:JS/Jsprat"
    ));
    assert!(fired(
        "Antivirus - Relevant File Paths Alerts Signature",
        "Get-Keystrokes.ps1"
    ));
}

/// Log Analytics (Microsoft Sentinel) exports: `SecurityEvent` and `WindowsEvent` rows
/// carry the event data as one XML or JSON text column, Sysmon for Linux arrives as
/// XML inside `Syslog` rows, auoms' audit records as text inside them. All meet the
/// SigmaHQ rules as EVTX (or Sysmon for Linux) would.
#[test]
#[ignore = "needs ../shared/corpora"]
fn log_analytics_exports_meet_the_rules() {
    let log4shell = corpora().join("otrf-security-datasets/datasets/compound/Log4Shell");
    let rules = sigmahq().join("rules");
    let rows = hunt_rows(&log4shell, &rules);
    let fired = |title: &str, file: &str| {
        rows.iter().any(|r| {
            r["rule_title"] == title && r["source"].as_str().is_some_and(|s| s.contains(file))
        })
    };
    // Tomcat starting an encoded PowerShell, in both Windows tables.
    for file in ["securityauditing_log4shell", "sysmon_log4shell"] {
        assert!(
            fired("Suspicious PowerShell Parent Process", file),
            "{file}: {rows:?}"
        );
    }
    // The reverse shell on the Linux server, from Sysmon for Linux.
    assert!(fired(
        "Linux Reverse Shell Indicator",
        "syslog_sysmon_log4shell"
    ));
    // The same server's auoms (auditd) exec records are process starts: tomcat's java
    // starting a shell that decodes base64, as Sysmon for Linux shows it.
    for title in [
        "Suspicious Java Children Processes",
        "Decode Base64 Encoded Text",
        "Local Groups Discovery - Linux",
    ] {
        assert!(fired(title, "syslog_auoms_auditd_log4shell"), "{title}");
    }
}

/// HTTP requests a network sensor saw (Zeek `http`, as TSV) meet SigmaHQ's `proxy`
/// rules: the user agent, and the host and file extension of a download.
#[test]
#[ignore = "needs ../shared/corpora"]
fn sensor_http_meets_the_proxy_rules() {
    let dir = std::env::temp_dir().join(format!("watchfloor-proxy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("http.log");
    std::fs::write(
        &log,
        "#separator \\x09\n#path\thttp\n#fields\tts\tuid\tid.orig_h\tid.resp_h\tmethod\thost\turi\tuser_agent\tstatus_code\n\
         #types\ttime\tstring\taddr\taddr\tstring\tstring\tstring\tstring\tcount\n\
         1591367999.305988\tC1\t10.0.0.5\t203.0.113.9\tGET\tupdates.hopto.org\t/x/stage2.ps1?v=1\tMozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.19041.1\t200\n\
         1591368000.000000\tC2\t10.0.0.6\t198.51.100.7\tGET\twww.example.com\t/index.html\tMozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\t200\n",
    )
    .unwrap();
    let rules = sigmahq().join("rules/web/proxy_generic");
    let rows = hunt_rows(&log, &rules);
    std::fs::remove_dir_all(&dir).ok();
    let titles: Vec<&str> = rows
        .iter()
        .filter_map(|r| r["rule_title"].as_str())
        .collect();
    assert!(
        titles.contains(&"Windows PowerShell User Agent"),
        "{titles:?}"
    );
    assert!(
        titles.contains(&"Download from Suspicious Dyndns Hosts"),
        "{titles:?}"
    );
    assert!(
        rows.iter()
            .all(|r| r["event"].as_str().is_some_and(|e| e.contains("hopto.org"))),
        "the ordinary request stays quiet: {rows:?}"
    );
    // The machine is the source address; the site is an indicator.
    assert!(
        rows.iter().all(|r| r["entities"]["host"].is_null()),
        "{rows:?}"
    );
    assert_eq!(rows[0]["entities"]["src_ip"], "10.0.0.5");
}
