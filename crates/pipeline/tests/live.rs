//! The live processor on batches of raw records, with the rules shipped in the binary:
//! every record accounted for, format hints honoured, correlations across batches,
//! disabled rules, and the alerts and incidents reported as changed.

use std::sync::Arc;

use watchfloor_event::{TenantId, Timestamp};
use watchfloor_pipeline::live::{Processor, RawRecord, RuleBook};
use watchfloor_triage::{Triage, TriageConfig};

const SSH_RULES: &str = include_str!("../../watchfloor/rules/ssh_password_guessing.yml");
const SQLI_RULE: &str = include_str!("../../watchfloor/rules/web_sql_injection.yml");
const OFFICE_RULE: &str =
    include_str!("../../watchfloor/rules/office_spawns_encoded_powershell.yml");

fn book() -> Arc<RuleBook> {
    let book = RuleBook::from_sources(&[
        ("ssh.yml", SSH_RULES),
        ("sqli.yml", SQLI_RULE),
        ("office.yml", OFFICE_RULE),
    ]);
    assert!(
        book.diagnostics.iter().all(|d| !d.is_error()),
        "{:?}",
        book.diagnostics
    );
    Arc::new(book)
}

fn processor() -> Processor {
    Processor::new(TenantId(7), book(), Triage::new(TriageConfig::default()))
}

fn failed_ssh(second: u32) -> String {
    format!(
        "Mar  2 08:02:{second:02} web01 sshd[20311]: Failed password for invalid user admin from 203.0.113.77 port 40122 ssh2"
    )
}

fn records<'a>(lines: &'a [(Option<&'a str>, String)], first_id: i64) -> Vec<RawRecord<'a>> {
    lines
        .iter()
        .enumerate()
        .map(|(i, (hint, line))| RawRecord {
            id: first_id + i as i64,
            received_at: Timestamp(1_772_438_400_000_000_000),
            format_hint: *hint,
            line: line.as_bytes(),
        })
        .collect()
}

#[test]
fn every_record_gets_its_metadata_or_its_error() {
    let mut p = processor();
    let lines = vec![
        (Some("syslog"), failed_ssh(1)),
        (Some("json"), "{not json".to_string()),
        (Some("nonsense"), "whatever".to_string()),
        (
            None,
            r#"{"@timestamp":"2026-03-02T09:14:03.120Z","Hostname":"WS01","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"Image":"C:\\Windows\\notepad.exe","User":"CORP\\bob"}"#
                .to_string(),
        ),
    ];
    let out = p.process(&records(&lines, 100));
    assert_eq!(out.records.len(), 4);
    let ids: Vec<i64> = out.records.iter().map(|m| m.id).collect();
    assert_eq!(ids, vec![100, 101, 102, 103]);
    assert_eq!(out.records[0].host.as_deref(), Some("web01"));
    assert!(out.records[0].event_time.is_some());
    assert!(out.records[0].error.is_none());
    assert!(out.records[1].error.is_some(), "bad JSON names its error");
    assert!(out.records[1].event_time.is_none());
    let unknown = out.records[2].error.as_deref().unwrap();
    assert!(unknown.contains("nonsense"), "{unknown}");
    assert_eq!(out.records[3].host.as_deref(), Some("ws01"));
    assert_eq!(out.records[3].user.as_deref(), Some("CORP\\bob"));
    assert_eq!(out.events, 2);
    assert_eq!(out.decode_errors, 2);
}

#[test]
fn a_line_break_inside_a_record_keeps_records_aligned() {
    let mut p = processor();
    let lines = vec![
        (Some("syslog"), format!("{}\ncontinued", failed_ssh(1))),
        (Some("syslog"), failed_ssh(2)),
    ];
    let out = p.process(&records(&lines, 1));
    assert_eq!(out.records.len(), 2);
    assert!(
        out.records
            .iter()
            .all(|m| m.host.as_deref() == Some("web01"))
    );
    assert_eq!(out.events, 2);
}

#[test]
fn correlations_span_batches_and_open_alerts() {
    let mut p = processor();
    let first = vec![
        (Some("syslog"), failed_ssh(1)),
        (Some("syslog"), failed_ssh(2)),
    ];
    let out = p.process(&records(&first, 1));
    assert_eq!(out.detections, 0, "two failures are below the threshold");
    assert!(out.changes.is_empty());
    // The checkpoint carries the window over to a new processor (a restart).
    let saved = p.correlation_checkpoint();
    assert!(!saved.is_empty());
    let third = vec![(Some("syslog"), failed_ssh(3))];
    let out = p.process(&records(&third, 3));
    assert_eq!(
        out.detections, 1,
        "the third failure completes the correlation"
    );
    assert_eq!(out.changes.alerts, vec![1]);
    let alert = p.triage().alert(1).unwrap();
    assert_eq!(alert.title, "SSH password guessing from one address");
    let mut restarted = processor();
    restarted.restore_correlation(&saved).unwrap();
    let out = restarted.process(&records(&third, 3));
    assert_eq!(
        out.detections, 1,
        "restored windows count the earlier failures"
    );
    let mut fresh = processor();
    let out = fresh.process(&records(&third, 3));
    assert_eq!(out.detections, 0);
}

#[test]
fn disabled_rules_detect_nothing() {
    let line = r#"203.0.113.9 - - [02/Mar/2026:10:00:00 +0000] "GET /item.php?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users-- HTTP/1.1" 200 512 "-" "sqlmap/1.7""#;
    let lines = vec![(Some("access"), line.to_string())];
    let mut p = processor();
    let out = p.process(&records(&lines, 1));
    // The Sigma rule, and the web attack analysis's SQL injection and scanner.
    assert_eq!(out.detections, 3, "{out:?}");
    assert_eq!(out.changes.alerts, vec![1, 2, 3]);
    let rule_ids: Vec<String> = (1..=3)
        .map(|id| p.triage().alert(id).unwrap().rule_id.clone())
        .collect();
    assert!(
        rule_ids.contains(&"web-attack/sqli".to_string()),
        "{rule_ids:?}"
    );
    assert!(
        rule_ids.contains(&"web-attack/scanner".to_string()),
        "{rule_ids:?}"
    );
    let mut q = processor();
    q.set_disabled(["web-attack/scanner".to_string()]);
    let out = q.process(&records(&lines, 1));
    assert_eq!((out.detections, out.disabled), (2, 1));
    let mut r = processor();
    r.set_disabled(rule_ids);
    let out = r.process(&records(&lines, 1));
    assert_eq!(out.detections, 0);
    assert_eq!(out.disabled, 3);
    assert!(out.changes.is_empty());
}

/// A record received at `received` (nanoseconds).
fn received_at<'a>(id: i64, received: i64, hint: Option<&'a str>, line: &'a str) -> RawRecord<'a> {
    RawRecord {
        id,
        received_at: Timestamp(received),
        format_hint: hint,
        line: line.as_bytes(),
    }
}

/// 2024-03-02T00:00:00Z, in nanoseconds.
const MARCH_2024: i64 = 1_709_337_600_000_000_000;
const HOUR: i64 = 3_600_000_000_000;

#[test]
fn times_come_from_the_records_not_the_clock() {
    let mut p = processor();
    let dated = failed_ssh(1);
    let undated = "<38>no time here at all";
    let out = p.process(&[
        received_at(1, MARCH_2024, Some("syslog"), &dated),
        received_at(2, MARCH_2024 + HOUR, Some("syslog"), undated),
    ]);
    // RFC 3164 has no year: the year of receipt, not of the clock.
    let at_08_02_01 = MARCH_2024 + 8 * HOUR + (2 * 60 + 1) * 1_000_000_000;
    assert_eq!(out.records[0].event_time, Some(Timestamp(at_08_02_01)));
    // No time at all: the record's own receipt time.
    assert_eq!(
        out.records[1].event_time,
        Some(Timestamp(MARCH_2024 + HOUR))
    );
    // A later batch through the same decoder: its own receipt time again.
    let out = p.process(&[received_at(
        3,
        MARCH_2024 + 5 * HOUR,
        Some("syslog"),
        undated,
    )]);
    assert_eq!(
        out.records[0].event_time,
        Some(Timestamp(MARCH_2024 + 5 * HOUR))
    );
}

#[test]
fn correlation_windows_use_the_receipt_time_of_undated_events() {
    const PROBES: &str = r#"
title: Two probes from one address
id: 6a1e0c0e-2b1f-4c1e-8f00-00000000c0de
level: medium
correlation:
    type: event_count
    rules: [probe]
    group-by: [src_ip]
    timespan: 5m
    condition:
        gte: 2
---
title: Probe
id: 6a1e0c0e-2b1f-4c1e-8f00-00000000beef
name: probe
level: low
logsource:
    definition: any JSON record
detection:
    selection:
        action: probe
    condition: selection
"#;
    let book = RuleBook::from_sources(&[("probes.yml", PROBES)]);
    assert!(
        book.diagnostics.iter().all(|d| !d.is_error()),
        "{:?}",
        book.diagnostics
    );
    let mut p = Processor::new(
        TenantId(7),
        Arc::new(book),
        Triage::new(TriageConfig::default()),
    );
    let probe = r#"{"action": "probe", "src_ip": "203.0.113.5"}"#;
    // An hour apart by receipt, no time of their own: not within five minutes.
    let out = p.process(&[received_at(1, MARCH_2024, Some("json"), probe)]);
    assert_eq!(out.events, 1);
    let out = p.process(&[received_at(2, MARCH_2024 + HOUR, Some("json"), probe)]);
    assert_eq!(out.detections, 0, "{out:?}");
    // A minute after the second: two within five minutes.
    let out = p.process(&[received_at(
        3,
        MARCH_2024 + HOUR + 60_000_000_000,
        Some("json"),
        probe,
    )]);
    assert_eq!(out.detections, 1, "{out:?}");
}

#[test]
fn correlation_evictions_are_reported() {
    // A threshold never reached: the window keeps every entry, up to its bound.
    const PATIENT: &str = r#"
title: Very many probes from one address
id: 6a1e0c0e-2b1f-4c1e-8f00-00000000f00d
level: medium
correlation:
    type: event_count
    rules: [probe]
    group-by: [src_ip]
    timespan: 1h
    condition:
        gte: 1000000
---
title: Probe
id: 6a1e0c0e-2b1f-4c1e-8f00-00000000beef
name: probe
level: low
logsource:
    definition: any JSON record
detection:
    selection:
        action: probe
    condition: selection
"#;
    let book = RuleBook::from_sources(&[("patient.yml", PATIENT)]);
    let mut p = Processor::new(
        TenantId(7),
        Arc::new(book),
        Triage::new(TriageConfig::default()),
    );
    let probe = r#"{"action": "probe", "src_ip": "203.0.113.5"}"#;
    let bound = watchfloor_sigma::correlation::CorrelationConfig::default().max_entries_per_group;
    let batch: Vec<RawRecord<'_>> = (0..=bound as i64)
        .map(|i| received_at(i + 1, MARCH_2024 + i, Some("json"), probe))
        .collect();
    let out = p.process(&batch);
    assert_eq!(out.events, bound as u64 + 1);
    assert_eq!(out.evicted, 1, "one entry past the bound");
    assert_eq!(p.correlation_evicted(), 1);
    let later = received_at(
        bound as i64 + 2,
        MARCH_2024 + bound as i64 + 1,
        Some("json"),
        probe,
    );
    let out = p.process(&[later]);
    assert_eq!(out.evicted, 1, "counted per batch");
    assert_eq!(p.correlation_evicted(), 2);
}

/// A proxy's log line: `client` asks to connect to `target`, `seconds` after 09:00.
fn proxy_connect(client: &str, target: &str, seconds: i64) -> String {
    let (h, m, s) = (9 + seconds / 3600, seconds / 60 % 60, seconds % 60);
    format!(
        "{client} - ana [02/Mar/2026:{h:02}:{m:02}:{s:02} +0000] \"CONNECT {target} HTTP/1.1\" 200 5224 \"-\" \"Mozilla/5.0\""
    )
}

#[test]
fn beaconing_across_batches_becomes_one_alert() {
    let mut p = processor();
    let jitter = [0, 40, -35, 55, -20, 10, -60, 25, 45, -5];
    let mut t = 0;
    let mut beacon_alerts = Vec::new();
    // Ten batches of three calls each: no batch holds an hour of calls.
    for batch in 0..10 {
        let mut lines = Vec::new();
        for call in 0..3 {
            lines.push((
                Some("access"),
                proxy_connect("10.0.0.7", "cdn-update.example:443", t),
            ));
            t += 300 + jitter[(batch * 3 + call) % jitter.len()];
        }
        let out = p.process(&records(&lines, 1 + batch as i64 * 3));
        assert_eq!(out.decode_errors, 0);
        for id in out.changes.alerts {
            let alert = p.triage().alert(id).expect("alert in memory");
            if alert.rule_id == "beacon-analysis" {
                beacon_alerts.push((batch, id, alert.count));
            }
        }
    }
    // The pattern is clear at the 13th call (an hour of calls), in the fifth batch;
    // reported once.
    assert_eq!(beacon_alerts.len(), 1, "{beacon_alerts:?}");
    assert_eq!(beacon_alerts[0].0, 4);
    assert_eq!(beacon_alerts[0].2, 1);
}

/// A Zeek `conn` record, `seconds` after 2026-03-02 09:00 UTC.
fn zeek_conn(orig: &str, resp: &str, port: u16, seconds: i64) -> String {
    serde_json::json!({
        "_path": "conn",
        "ts": 1_772_442_000.0 + seconds as f64,
        "uid": format!("C{seconds}{port}"),
        "id.orig_h": orig,
        "id.orig_p": 50_000,
        "id.resp_h": resp,
        "id.resp_p": port,
        "proto": if port == 123 { "udp" } else { "tcp" },
    })
    .to_string()
}

#[test]
fn beacon_analysis_skips_time_service_and_outside_callers() {
    let mut p = processor();
    let jitter = [0, 40, -35, 55, -20, 10, -60, 25, 45, -5];
    let mut lines = Vec::new();
    let mut t = 0;
    for i in 0..20 {
        // An implant, a time client and a monitoring service polling the web site.
        lines.push((Some("json"), zeek_conn("10.0.0.7", "203.0.113.9", 443, t)));
        lines.push((
            Some("json"),
            zeek_conn("10.0.0.8", "198.51.100.123", 123, t),
        ));
        lines.push((
            Some("json"),
            zeek_conn("198.51.100.77", "192.0.2.80", 443, t + 3),
        ));
        t += 300 + jitter[i % jitter.len()];
    }
    let out = p.process(&records(&lines, 1));
    assert_eq!(out.decode_errors, 0);
    let beacons: Vec<String> = out
        .changes
        .alerts
        .iter()
        .filter_map(|&id| p.triage().alert(id))
        .filter(|a| a.rule_id == "beacon-analysis")
        .map(|a| format!("{:?}", a.entities))
        .collect();
    assert_eq!(beacons.len(), 1, "{beacons:?}");
    assert!(beacons[0].contains("203.0.113.9"), "{beacons:?}");
}

#[test]
fn windows_event_xml_and_winlogbeat_records_are_decoded_in_place() {
    let mut p = processor();
    let xml = |host: &str| {
        format!(
            "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>\n  <System><Provider Name='Microsoft-Windows-Security-Auditing'/><EventID>4688</EventID><TimeCreated SystemTime='2026-03-02T09:14:03.120Z'/><Channel>Security</Channel><Computer>{host}</Computer></System>\n  <EventData><Data Name='SubjectUserName'>bob</Data><Data Name='NewProcessName'>C:\\Windows\\System32\\whoami.exe</Data></EventData>\n</Event>"
        )
    };
    let lines = vec![
        (Some("xml"), xml("WS02")),
        (Some("xml"), "<Event><System><EventID>1</System></Event>".to_string()),
        (None, xml("WS03")),
        (
            Some("json"),
            r#"{"@timestamp":"2026-03-02T09:15:00Z","winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":"1","computer_name":"WS04","event_data":{"Image":"C:\\Windows\\notepad.exe","User":"CORP\\eve"}}}"#
                .to_string(),
        ),
    ];
    let out = p.process(&records(&lines, 1));
    assert_eq!(out.records.len(), 4);
    assert_eq!(out.records[0].host.as_deref(), Some("ws02"));
    assert_eq!(out.records[0].user.as_deref(), Some("bob"));
    assert!(out.records[0].event_time.is_some());
    assert!(
        out.records[1].error.is_some(),
        "the broken event names its error"
    );
    assert_eq!(
        out.records[2].host.as_deref(),
        Some("ws03"),
        "recognised unhinted"
    );
    assert_eq!(out.records[3].host.as_deref(), Some("ws04"));
    assert_eq!(out.records[3].user.as_deref(), Some("CORP\\eve"));
    assert_eq!(out.events, 3);
    assert_eq!(out.decode_errors, 1);
}

#[test]
fn a_burst_of_missing_pages_across_batches_is_one_web_scan() {
    let line = |i: u32| {
        format!(
            r#"198.51.100.23 - - [02/Mar/2026:10:{:02}:{:02} +0000] "GET /probe/{i}.php HTTP/1.1" 404 196 "-" "-""#,
            i / 60,
            i % 60
        )
    };
    let mut p = processor();
    let first: Vec<_> = (0..30).map(|i| (Some("access"), line(i))).collect();
    let out = p.process(&records(&first, 1));
    assert_eq!(out.detections, 0, "{out:?}");
    let second: Vec<_> = (30..90).map(|i| (Some("access"), line(i))).collect();
    let out = p.process(&records(&second, 31));
    assert_eq!(out.detections, 1, "{out:?}");
    let alert = p.triage().alert(out.changes.alerts[0]).unwrap();
    assert_eq!(alert.rule_id, "web-scan");
    let third: Vec<_> = (90..150).map(|i| (Some("access"), line(i))).collect();
    let out = p.process(&records(&third, 91));
    assert_eq!(out.detections, 0, "reported once per burst: {out:?}");
}

#[test]
fn a_process_in_a_remote_session_is_one_remote_execution_whatever_the_batch_order() {
    let sysmon = |time: &str, image: &str, cmd: &str| {
        serde_json::json!({
            "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1,
            "Hostname": "WS6.corp.local", "@timestamp": time, "LogonId": "0x2da8840",
            "Image": image, "ParentImage": r"C:\Windows\System32\svchost.exe",
            "CommandLine": cmd, "User": "CORP\\pedro",
        })
        .to_string()
    };
    let logon = serde_json::json!({
        "Channel": "Security", "EventID": 4624, "Hostname": "WS6.corp.local",
        "@timestamp": "2026-03-02T10:00:00.000Z", "LogonType": 3, "TargetUserName": "pedro",
        "TargetDomainName": "CORP", "TargetLogonId": "0x2da8840", "IpAddress": "10.0.0.5",
    })
    .to_string();
    let mut p = processor();
    // Sysmon's log arrives first.
    let first = vec![(
        Some("json"),
        sysmon(
            "2026-03-02T10:00:00.400Z",
            r"C:\Windows\System32\wsmprovhost.exe",
            "wsmprovhost.exe -Embedding",
        ),
    )];
    let out = p.process(&records(&first, 1));
    assert_eq!(out.detections, 0, "{out:?}");
    let second = vec![
        (Some("json"), logon),
        (
            Some("json"),
            sysmon(
                "2026-03-02T10:00:03Z",
                r"C:\Windows\System32\whoami.exe",
                "whoami",
            ),
        ),
    ];
    let out = p.process(&records(&second, 2));
    assert_eq!(out.detections, 1, "{out:?}");
    let alert = p.triage().alert(out.changes.alerts[0]).unwrap();
    assert_eq!(alert.rule_id, "remote-execution");
    assert!(
        alert.tags.iter().any(|t| t == "attack.t1021.006"),
        "{alert:?}"
    );
}

#[test]
fn a_dns_tunnel_across_batches_is_one_alert_naming_its_domain() {
    let query = |i: u64| {
        let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut label = String::new();
        for _ in 0..2 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            label.push_str(&format!("{x:016x}"));
        }
        serde_json::json!({
            "_path": "dns", "ts": 1_772_438_400.0 + i as f64, "uid": format!("C{i}"),
            "id.orig_h": "10.0.0.5", "id.orig_p": 50_000, "id.resp_h": "10.0.0.53",
            "id.resp_p": 53, "proto": "udp", "qtype_name": "TXT",
            "query": format!("{i:04x}.{label}.t.updates-cdn.example"),
        })
        .to_string()
    };
    let mut p = processor();
    let first: Vec<_> = (0..40).map(|i| (Some("json"), query(i))).collect();
    let out = p.process(&records(&first, 1));
    assert_eq!(out.detections, 0, "{out:?}");
    let second: Vec<_> = (40..200).map(|i| (Some("json"), query(i))).collect();
    let out = p.process(&records(&second, 41));
    assert_eq!(out.detections, 1, "{out:?}");
    let alert = p.triage().alert(out.changes.alerts[0]).unwrap();
    assert_eq!(alert.rule_id, "dns-tunnel");
    assert_eq!(alert.entities.indicators, vec!["updates-cdn.example"]);
}

#[test]
fn instance_credentials_used_where_a_person_works_is_one_alert() {
    let record = |time: &str, kind: &str, arn: &str, agent: &str| {
        serde_json::json!({
            "eventVersion": "1.08", "eventTime": time, "eventSource": "s3.amazonaws.com",
            "eventName": "ListBuckets", "awsRegion": "us-east-1",
            "sourceIPAddress": "198.51.100.7", "userAgent": agent,
            "userIdentity": {"type": kind, "arn": arn},
        })
        .to_string()
    };
    let role = "arn:aws:sts::123456789012:assumed-role/WebRole/i-0317f6c6b66ae9c40";
    let mut p = processor();
    let first = vec![(
        Some("json"),
        record("2026-03-02T10:00:00Z", "AssumedRole", role, "aws-cli"),
    )];
    let out = p.process(&records(&first, 1));
    assert_eq!(out.detections, 0, "{out:?}");
    let second = vec![
        (
            Some("json"),
            record(
                "2026-03-02T10:05:00Z",
                "IAMUser",
                "arn:aws:iam::123456789012:user/pedro",
                "console.amazonaws.com",
            ),
        ),
        (
            Some("json"),
            record("2026-03-02T10:06:00Z", "AssumedRole", role, "aws-cli"),
        ),
    ];
    let out = p.process(&records(&second, 2));
    assert_eq!(out.detections, 1, "{out:?}");
    let alert = p.triage().alert(out.changes.alerts[0]).unwrap();
    assert_eq!(alert.rule_id, "cloud-instance-credentials-outside");
}
