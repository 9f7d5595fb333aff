//! The analysis pipeline on hand-made detection streams: dedupe windows, suppression
//! expiry, risk thresholds and decay, grouping across hosts by a shared indicator and by
//! process ancestry, stage progression and escalation; and the accounting property that
//! every detection ends in exactly one alert or one suppression record.

use proptest::prelude::*;
use watchfloor_event::{TenantId, Timestamp};
use watchfloor_triage::detection::{Detection, Level, Origin};
use watchfloor_triage::explain::DecisionKind;
use watchfloor_triage::suppress::Expr;
use watchfloor_triage::time::{HOUR, MINUTE};
use watchfloor_triage::{Outcome, Triage, TriageConfig};

fn det(rule: &str, level: Level, host: &str, minute: i64, tags: &[&str]) -> Detection {
    let mut d = Detection {
        tenant: TenantId(0),
        time: Timestamp(minute * MINUTE),
        rule_id: rule.to_string(),
        title: format!("rule {rule}"),
        level,
        origin: Origin::Rule,
        tags: tags.iter().map(|t| t.to_string()).collect(),
        confidence: 1.0,
        reference: format!("test:{minute}"),
        ..Default::default()
    };
    d.entities.host = Some(host.to_string());
    d
}

#[test]
fn repeats_fold_into_one_alert_within_the_window_only() {
    let mut t = Triage::new(TriageConfig::default());
    let first = t.observe(det("r1", Level::High, "ws01", 0, &[]));
    let Outcome::NewAlert(id) = first else {
        panic!("{first:?}")
    };
    for m in 1..=50 {
        assert_eq!(
            t.observe(det("r1", Level::High, "ws01", m, &[])),
            Outcome::Merged(id)
        );
    }
    let alert = t.alert(id).unwrap();
    assert_eq!(alert.count, 51);
    assert_eq!(alert.samples.len(), 3, "samples are bounded");
    assert_eq!(alert.last_seen, Timestamp(50 * MINUTE));
    assert!(
        alert
            .log
            .entries
            .iter()
            .any(|d| d.kind == DecisionKind::Merged)
    );
    // Another host: another alert.
    assert!(matches!(
        t.observe(det("r1", Level::High, "ws02", 51, &[])),
        Outcome::NewAlert(_)
    ));
    // The same fingerprint after the dedupe window (24 h after the last): a new alert.
    let late = 50 + 24 * 60 + 1;
    assert!(matches!(
        t.observe(det("r1", Level::High, "ws01", late, &[])),
        Outcome::NewAlert(_)
    ));
    assert_eq!(t.stats().alerts, 3);
}

#[test]
fn suppression_applies_until_it_expires_and_is_listed() {
    let mut t = Triage::new(TriageConfig::default());
    let Outcome::NewAlert(id) = t.observe(det("r1", Level::High, "ws01", 0, &[])) else {
        panic!()
    };
    let until = Timestamp(2 * HOUR);
    let sid = t
        .suppress_alert(
            TenantId(0),
            id,
            "alice",
            "admin script",
            Timestamp(MINUTE),
            Some(until),
        )
        .unwrap();
    assert_eq!(
        t.observe(det("r1", Level::High, "ws01", 60, &[])),
        Outcome::Suppressed
    );
    // Another tenant's alert id cannot be suppressed from this tenant.
    assert!(
        t.suppress_alert(TenantId(9), id, "mallory", "x", Timestamp(0), None)
            .is_err()
    );
    // A different host is not covered by the suppression.
    assert!(matches!(
        t.observe(det("r1", Level::High, "ws02", 61, &[])),
        Outcome::NewAlert(_)
    ));
    // Expired: the detection counts again, on the alert it was suppressed from.
    let after = t.observe(det("r1", Level::High, "ws01", 121, &[]));
    assert_eq!(after, Outcome::Merged(id));
    assert_eq!(t.suppressed().len(), 1);
    let rec = &t.suppressed()[0];
    assert_eq!(rec.rule_id, "r1");
    let json = serde_json::to_string(rec).unwrap();
    assert!(
        json.contains("\"by\":\"suppression\"") && json.contains("admin script"),
        "{json}"
    );
    let rule = t
        .suppressions()
        .of_tenant(TenantId(0))
        .find(|r| r.id == sid)
        .unwrap();
    assert_eq!(rule.hits, 1);
    // Allowlist written as an expression, never expiring.
    t.suppressions_mut().add(
        TenantId(0),
        Expr::parse("host ~ 'backup-*'").unwrap(),
        "bob",
        "backup servers",
        Timestamp(0),
        None,
    );
    assert_eq!(
        t.observe(det("r7", Level::Critical, "backup-01", 500, &[])),
        Outcome::Suppressed
    );
}

#[test]
fn risk_accumulates_to_open_an_incident_and_decays() {
    let mut t = Triage::new(TriageConfig::default());
    // Low alerts (20 each) on one host: pending until the risk reaches 40. The risk
    // decays between them, so two lows ten minutes apart stay just below (39.9).
    t.observe(det("low-a", Level::Low, "ws01", 0, &["attack.discovery"]));
    assert_eq!(t.stats().incidents, 0);
    let pending = t.alert(1).unwrap();
    assert!(
        pending
            .log
            .entries
            .iter()
            .any(|d| d.kind == DecisionKind::Pending)
    );
    t.observe(det("low-b", Level::Low, "ws01", 10, &["attack.execution"]));
    assert_eq!(t.stats().incidents, 0);
    t.observe(det("low-c", Level::Low, "ws01", 20, &["attack.execution"]));
    assert_eq!(t.stats().incidents, 1);
    let inc = t.incidents().next().unwrap();
    assert_eq!(
        inc.alerts,
        vec![1, 2, 3],
        "the waiting alerts join the new incident"
    );
    assert!(
        inc.log
            .entries
            .iter()
            .any(|d| d.kind == DecisionKind::Opened)
    );
    // Two lows a week apart: the first has decayed, no incident.
    let mut t = Triage::new(TriageConfig::default());
    t.observe(det("low-a", Level::Low, "ws02", 0, &[]));
    t.observe(det("low-b", Level::Low, "ws02", 7 * 24 * 60, &[]));
    assert_eq!(t.stats().incidents, 0);
    assert_eq!(t.stats().pending_alerts, 2);
    // Two lows in the same burst (a second apart) make 40.0 as the log shows it, and
    // that reaches the threshold: the decay of one second does not hold it back.
    let mut t = Triage::new(TriageConfig::default());
    t.observe(det("low-a", Level::Low, "ws03", 0, &[]));
    let mut second = det("low-b", Level::Low, "ws03", 0, &[]);
    second.time = Timestamp(second.time.0 + 1_000_000_000);
    t.observe(second);
    assert_eq!(t.stats().incidents, 1);
    let inc = t.incidents().next().unwrap();
    assert!(
        inc.log
            .entries
            .iter()
            .any(|d| d.reason.contains("reached 40.0 (threshold 40)")),
        "{:#?}",
        inc.log
    );
}

#[test]
fn one_noisy_low_rule_alone_never_opens_an_incident() {
    let mut t = Triage::new(TriageConfig::default());
    // A low rule firing every minute on one host: its repeats raise the host's risk to
    // twice its score, the threshold, but one rule alone opens nothing.
    for m in 0..30 {
        t.observe(det(
            "noisy-low",
            Level::Low,
            "ws09",
            m,
            &["attack.execution"],
        ));
    }
    assert_eq!(t.stats().incidents, 0);
    assert_eq!(t.stats().pending_alerts, 1);
    // A second rule on the host: together they open one incident, with both alerts.
    t.observe(det(
        "other-low",
        Level::Low,
        "ws09",
        31,
        &["attack.discovery"],
    ));
    assert_eq!(t.stats().incidents, 1);
    assert_eq!(t.incidents().next().unwrap().alerts.len(), 2);
    // Repeats of a waiting alert open once another alert waits with it.
    let mut t = Triage::new(TriageConfig::default());
    t.observe(det("a", Level::Low, "ws10", 0, &[]));
    t.observe(det("b", Level::Low, "ws10", 600, &[]));
    assert_eq!(
        t.stats().incidents,
        0,
        "ten hours apart, the risk decayed below"
    );
    for m in 601..610 {
        t.observe(det("b", Level::Low, "ws10", m, &[]));
    }
    assert_eq!(t.stats().incidents, 1);
}

#[test]
fn shared_indicator_links_hosts_into_one_incident() {
    let mut t = Triage::new(TriageConfig::default());
    let mut a = det(
        "beacon",
        Level::High,
        "ws01",
        0,
        &["attack.command-and-control"],
    );
    a.entities.indicators = vec!["203.0.113.50".into()];
    let mut b = det(
        "beacon",
        Level::High,
        "ws02",
        30,
        &["attack.command-and-control"],
    );
    b.entities.indicators = vec!["203.0.113.50".into()];
    // A private address is no indicator to link by.
    let mut c = det("beacon", Level::High, "ws03", 40, &[]);
    c.entities.indicators = vec!["10.0.0.5".into()];
    let mut d = det("beacon", Level::High, "ws04", 45, &[]);
    d.entities.indicators = vec!["10.0.0.5".into()];
    for x in [a, b, c, d] {
        t.observe(x);
    }
    let incidents: Vec<_> = t.incidents().collect();
    assert_eq!(incidents.len(), 3, "{incidents:#?}");
    let linked = incidents.iter().find(|i| i.hosts.len() == 2).unwrap();
    assert_eq!(linked.hosts, vec!["ws01", "ws02"]);
    assert!(
        linked
            .log
            .entries
            .iter()
            .any(|d| d.reason.contains("shared indicator 203.0.113.50")),
        "{:#?}",
        linked.log
    );
}

#[test]
fn a_lateral_movement_joins_the_incident_of_the_machine_it_came_from() {
    let mut t = Triage::new(TriageConfig::default());
    let (assets, errors) = watchfloor_triage::assets::Assets::from_csv(
        "host,ip\nws-acct-07.corp.example,10.10.20.107\nfs01.corp.example,10.10.10.5\nws-it-01.corp.example,10.10.20.21\n",
    );
    assert!(errors.is_empty(), "{errors:?}");
    t.set_assets(assets);
    // The foothold's incident.
    let mut a = det(
        "macro",
        Level::High,
        "ws-acct-07.corp.example",
        0,
        &["attack.execution"],
    );
    a.entities.user = Some("CORP\\mtanaka".into());
    t.observe(a);
    // A process started on the file server by a network logon from the foothold, as
    // another account: only its source links it.
    let mut b = det(
        "remote-execution",
        Level::Medium,
        "fs01.corp.example",
        40,
        &["attack.lateral-movement", "attack.t1047"],
    );
    b.entities.user = Some("CORP\\admin.suzuki".into());
    b.entities.src_ip = Some("10.10.20.107".into());
    t.observe(b);
    // The same from a machine with no incident, and an alert that is no lateral
    // movement but names the foothold's address: neither joins.
    let mut c = det(
        "remote-execution",
        Level::Medium,
        "ws-it-01.corp.example",
        50,
        &["attack.lateral-movement"],
    );
    c.entities.src_ip = Some("10.10.10.99".into());
    c.entities.user = Some("CORP\\helpdesk".into());
    t.observe(c);
    let mut d = det(
        "smb-scan",
        Level::Medium,
        "dc01.corp.example",
        55,
        &["attack.discovery"],
    );
    d.entities.src_ip = Some("10.10.20.107".into());
    t.observe(d);
    let incidents: Vec<_> = t.incidents().collect();
    assert_eq!(incidents.len(), 3, "{incidents:#?}");
    let story = incidents.iter().find(|i| i.hosts.len() == 2).unwrap();
    assert_eq!(
        story.hosts,
        vec!["fs01.corp.example", "ws-acct-07.corp.example"]
    );
    assert!(
        story.log.entries.iter().any(|e| e
            .reason
            .contains("lateral movement from host ws-acct-07.corp.example")),
        "{:#?}",
        story.log
    );
    // The file server's later alerts follow its own host key into the same story.
    t.observe(det(
        "dump",
        Level::High,
        "fs01.corp.example",
        60,
        &["attack.credential-access"],
    ));
    assert_eq!(t.incidents().count(), 3);
}

#[test]
fn the_asset_inventory_names_one_machine_one_entity() {
    let mut t = Triage::new(TriageConfig::default());
    let (assets, errors) = watchfloor_triage::assets::Assets::from_csv(
        "host,ip,aliases\nweb01.shop.example,192.168.60.10,shop.example\n",
    );
    assert!(errors.is_empty());
    t.set_assets(assets);
    // The access log names the site it serves, auditd the short host name.
    let mut web = det(
        "sqli",
        Level::High,
        "shop.example",
        0,
        &["attack.initial-access"],
    );
    web.entities.src_ip = Some("203.0.113.150".into());
    web.entities.indicators = vec!["203.0.113.150".into()];
    t.observe(web);
    t.observe(det(
        "recon",
        Level::High,
        "WEB01",
        90,
        &["attack.discovery"],
    ));
    t.observe(det("other", Level::High, "web02", 95, &[]));
    let incidents: Vec<_> = t.incidents().collect();
    assert_eq!(incidents.len(), 2, "{incidents:#?}");
    let web01 = incidents
        .iter()
        .find(|i| i.hosts == vec!["web01.shop.example"])
        .unwrap_or_else(|| panic!("{incidents:#?}"));
    assert_eq!(web01.detections, 2);
    let renamed = t
        .alerts()
        .into_iter()
        .find(|a| a.rule_id == "sqli")
        .unwrap()
        .log
        .entries
        .iter()
        .any(|e| e.reason == "host shop.example is web01.shop.example in the asset inventory");
    assert!(renamed);

    // A suppression written for either name holds the host's detections back.
    t.suppressions_mut().add(
        TenantId(0),
        Expr::parse("host = web01 and rule = recon").unwrap(),
        "ana",
        "patch window",
        Timestamp(0),
        None,
    );
    t.suppressions_mut().add(
        TenantId(0),
        Expr::parse("host = web01.shop.example and rule = sqli").unwrap(),
        "ana",
        "scanner we run",
        Timestamp(0),
        None,
    );
    assert_eq!(
        t.observe(det("recon", Level::High, "WEB01", 100, &[])),
        Outcome::Suppressed
    );
    assert_eq!(
        t.observe(det("sqli", Level::High, "shop.example", 101, &[])),
        Outcome::Suppressed
    );
}

#[test]
fn incidents_opened_separately_merge_when_an_indicator_links_them() {
    let mut t = Triage::new(TriageConfig::default());
    t.observe(det("x", Level::High, "ws01", 0, &[]));
    t.observe(det("y", Level::High, "ws02", 1, &[]));
    assert_eq!(t.stats().incidents, 2);
    // One process on ws01 talks to the address ws02 also used: both incidents merge.
    let mut a = det("c2", Level::Medium, "ws01", 5, &[]);
    a.entities.indicators = vec!["evil.example".into()];
    let mut b = det("c2", Level::Medium, "ws02", 6, &[]);
    b.entities.indicators = vec!["evil.example".into()];
    t.observe(a);
    t.observe(b);
    assert_eq!(t.stats().incidents, 1);
    let inc = t.incidents().next().unwrap();
    assert_eq!(inc.alerts.len(), 4);
    assert!(
        t.alerts()
            .iter()
            .all(|a| t.incident(a.incident.unwrap()).unwrap().id == inc.id)
    );
}

#[test]
fn process_ancestry_links_alerts() {
    let mut t = Triage::new(TriageConfig::default());
    let mut parent = det("p", Level::High, "ws01", 0, &[]);
    parent.entities.process = Some("{guid-1}".into());
    let mut child = det("c", Level::Low, "ws01-renamed", 60, &[]);
    child.entities.parent_process = Some("{guid-1}".into());
    t.observe(parent);
    t.observe(child);
    assert_eq!(t.stats().incidents, 1);
    let inc = t.incidents().next().unwrap();
    assert_eq!(inc.alerts, vec![1, 2]);
    assert!(
        inc.log
            .entries
            .iter()
            .any(|d| d.reason.contains("process ancestry"))
    );
}

#[test]
fn stages_progress_and_severity_rises() {
    let mut t = Triage::new(TriageConfig::default());
    let chain = [
        ("a", &["attack.initial-access"][..]),
        ("b", &["attack.execution"]),
        ("c", &["attack.defense_evasion", "attack.t1070.001"]),
        ("d", &["attack.credential-access"]),
        ("e", &["attack.lateral-movement"]),
    ];
    for (i, (rule, tags)) in chain.iter().enumerate() {
        t.observe(det(rule, Level::Medium, "ws01", i as i64 * 10, tags));
    }
    let inc = t.incidents().next().unwrap();
    assert_eq!(
        inc.stage_chain(),
        "intrusion → execution/persistence → defense evasion → credential access → lateral movement"
    );
    assert_eq!(
        inc.severity,
        Level::Critical,
        "medium raised at 3 and again at 5 stages"
    );
    let escalations: Vec<_> = inc
        .log
        .entries
        .iter()
        .filter(|d| d.kind == DecisionKind::Escalated)
        .collect();
    assert_eq!(escalations.len(), 2, "{:#?}", inc.log);
    // Past the incident gap, the same host starts a new incident.
    t.observe(det("f", Level::High, "ws01", 3 * 24 * 60, &[]));
    assert_eq!(t.stats().incidents, 2);
}

#[test]
fn an_incident_spans_at_most_a_week_then_a_new_one_continues() {
    let mut t = Triage::new(TriageConfig::default());
    // A medium alert every 20 hours on one host, each of a new rule: the incident gap
    // never lapses, but the week does after the ninth (160 h).
    let hours = |h: i64| h * 60;
    for k in 0..10 {
        let rule = format!("r{k}");
        t.observe(det(&rule, Level::Medium, "ws01", hours(20 * k), &[]));
    }
    let incidents: Vec<_> = t.incidents().collect();
    assert_eq!(incidents.len(), 2, "{incidents:#?}");
    let (first, second) = (incidents[0].id, incidents[1].id);
    assert_eq!(incidents[0].alerts.len(), 9, "0 h to 160 h");
    assert_eq!(incidents[1].alerts.len(), 1, "180 h");
    let continuing = t.alert(incidents[1].alerts[0]).unwrap();
    assert!(
        continuing.log.entries.iter().any(|d| d
            .reason
            .starts_with(&format!("not joined to incident {first}"))),
        "{:#?}",
        continuing.log
    );
    // A repeat of the first incident's last alert still counts there, and does not take
    // the host back from the incident that continues it.
    let repeat = t.observe(det("r8", Level::Medium, "ws01", hours(181), &[]));
    let Outcome::Merged(r8) = repeat else {
        panic!("{repeat:?}")
    };
    assert_eq!(t.alert(r8).unwrap().incident, Some(first));
    t.observe(det("r10", Level::Medium, "ws01", hours(182), &[]));
    let incidents: Vec<_> = t.incidents().collect();
    assert_eq!(incidents.len(), 2);
    assert_eq!(incidents[1].id, second);
    assert_eq!(incidents[1].alerts.len(), 2);
    assert_eq!(incidents[0].detections, 10);
}

#[test]
fn correlation_results_join_incidents() {
    let mut t = Triage::new(TriageConfig::default());
    t.observe(det(
        "logon-failed",
        Level::Medium,
        "dc01",
        0,
        &["attack.credential-access"],
    ));
    let mut corr = det("brute-force", Level::High, "dc01", 5, &["attack.t1110"]);
    corr.origin = Origin::Correlation;
    t.observe(corr);
    assert_eq!(t.stats().incidents, 1);
    assert_eq!(t.incidents().next().unwrap().alerts.len(), 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn every_detection_is_one_alert_occurrence_or_one_suppression(
        stream in prop::collection::vec(
            (0u8..4, 0u8..5, 0u8..4, 0i64..600, 0u8..3, any::<bool>()),
            1..300,
        )
    ) {
        let mut t = Triage::new(TriageConfig::default());
        t.suppressions_mut().add(
            TenantId(0),
            Expr::parse("host = h3 and rule = r1").unwrap(),
            "test",
            "noise",
            Timestamp(0),
            Some(Timestamp(300 * MINUTE)),
        );
        let levels = [Level::Informational, Level::Low, Level::Medium, Level::High, Level::Critical];
        let mut n = 0u64;
        for (rule, level, host, minute, ioc, tenant1) in stream {
            let mut d = det(&format!("r{rule}"), levels[level as usize], &format!("h{host}"), minute, &["attack.execution"]);
            d.entities.indicators = vec![format!("198.51.100.{ioc}")];
            if tenant1 {
                d.tenant = TenantId(1);
            }
            t.observe(d);
            n += 1;
        }
        let in_alerts: u64 = t.alerts().iter().map(|a| a.count).sum();
        let suppressed = t.suppressed().len() as u64;
        prop_assert_eq!(in_alerts + suppressed, n);
        prop_assert_eq!(t.stats().detections, n);
        // Every alert in an incident is listed by exactly that (live) incident, and
        // incidents never mix tenants.
        for a in t.alerts() {
            if let Some(i) = a.incident {
                let inc = t.incident(i).unwrap();
                prop_assert!(inc.alerts.contains(&a.id));
                prop_assert_eq!(inc.tenant, a.tenant);
            }
        }
        let listed: usize = t.incidents().map(|i| i.alerts.len()).sum();
        let grouped = t.alerts().iter().filter(|a| a.incident.is_some()).count();
        prop_assert_eq!(listed, grouped);
    }
}

/// A live pipeline stores only what changed: every alert or incident whose stored form
/// differs from the last time it was taken must be listed, and nothing else.
#[test]
fn change_tracking_lists_exactly_what_changed() {
    let mut t = Triage::new(TriageConfig::default());
    assert!(t.take_changes().is_empty(), "tracking is off by default");
    t.track_changes();
    t.observe(det("low1", Level::Low, "ws01", 0, &[]));
    let c = t.take_changes();
    assert_eq!(c.alerts, vec![1]);
    assert!(c.incidents.is_empty(), "a pending alert opens nothing");
    // A high alert on the same host opens an incident and pulls the pending one in.
    t.observe(det("high1", Level::High, "ws01", 1, &[]));
    let c = t.take_changes();
    assert_eq!(c.alerts, vec![1, 2]);
    assert_eq!(c.incidents, vec![1]);
    assert!(t.alert(1).unwrap().incident.is_some());
    // A repeat touches its alert and its incident.
    t.observe(det("high1", Level::High, "ws01", 2, &[]));
    let c = t.take_changes();
    assert_eq!(c.alerts, vec![2]);
    assert_eq!(c.incidents, vec![1]);
    assert!(t.take_changes().is_empty());
    // A second host's incident merged by a shared indicator: both incidents change,
    // and every alert moved to the surviving one is listed.
    t.observe(det("high2", Level::High, "ws02", 3, &[]));
    t.take_changes();
    let mut a = det("c2", Level::Medium, "ws01", 5, &[]);
    a.entities.indicators = vec!["evil.example".into()];
    let mut b = det("c2", Level::Medium, "ws02", 6, &[]);
    b.entities.indicators = vec!["evil.example".into()];
    t.observe(a);
    t.observe(b);
    let c = t.take_changes();
    assert_eq!(t.stats().incidents, 1);
    assert!(
        c.incidents.contains(&1) && c.incidents.contains(&2),
        "{c:?}"
    );
    for alert in t.alerts() {
        let moved = alert.incident.is_some_and(|i| i != 1 && i != 2);
        assert!(!moved);
        if alert.entities.host.as_deref() == Some("ws02") {
            assert!(
                c.alerts.contains(&alert.id),
                "alert {} moved unlisted",
                alert.id
            );
        }
    }
}
