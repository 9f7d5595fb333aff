//! Bounded memory: [`Triage::evict`] forgets alerts (and incidents, keys, pending
//! entries, risks) that can no longer change, a later repeat makes a new alert with a new
//! id, what is inside the horizon stays, and a long stream keeps memory bounded by the
//! activity inside the horizon rather than by everything ever seen.

use watchfloor_event::{TenantId, Timestamp};
use watchfloor_triage::detection::{Detection, Level, Origin};
use watchfloor_triage::time::{HOUR, MINUTE};
use watchfloor_triage::{Outcome, Triage, TriageConfig};

fn det(rule: &str, level: Level, host: &str, time: i64) -> Detection {
    let mut d = Detection {
        tenant: TenantId(0),
        time: Timestamp(time),
        rule_id: rule.to_string(),
        title: format!("rule {rule}"),
        level,
        origin: Origin::Rule,
        confidence: 1.0,
        reference: format!("test:{time}"),
        ..Default::default()
    };
    d.entities.host = Some(host.to_string());
    d
}

/// The defaults with a one-day incident gap, so the horizon is the one-day dedupe
/// window these streams are laid out around.
fn day_config() -> TriageConfig {
    TriageConfig {
        incident_gap: 24 * HOUR,
        ..TriageConfig::default()
    }
}

fn new_id(outcome: Outcome) -> u64 {
    match outcome {
        Outcome::NewAlert(id) => id,
        other => panic!("expected a new alert, got {other:?}"),
    }
}

/// Observes `d` and evicts at the engine's time, as the live processor does.
fn feed(t: &mut Triage, d: Detection) -> Outcome {
    let out = t.observe(d);
    let now = t.latest().expect("a detection was seen");
    t.evict(now);
    out
}

#[test]
fn eviction_frees_alerts_past_the_horizon_and_a_repeat_makes_a_new_id() {
    let mut t = Triage::new(day_config());
    assert_eq!(t.horizon(), 24 * HOUR);
    let old = new_id(feed(&mut t, det("r1", Level::Low, "ws01", 0)));
    let other = new_id(feed(&mut t, det("r2", Level::Low, "ws02", 30 * HOUR)));
    assert!(t.alert(old).is_none(), "past the horizon: evicted");
    assert!(t.alert(other).is_some());
    let m = t.memory();
    assert_eq!((m.alerts, m.fingerprints), (1, 1), "{m:?}");
    assert_eq!(m.pending, 1, "the evicted alert no longer waits: {m:?}");
    // The same fingerprint again: a new alert, with an id never used before.
    let again = new_id(feed(
        &mut t,
        det("r1", Level::Low, "ws01", 30 * HOUR + MINUTE),
    ));
    assert!(again > other && again != old, "{again}");
    assert_eq!(t.alert(again).unwrap().count, 1);
    assert_eq!(t.stats().alerts, 3, "counts every alert ever made");
    assert_eq!(
        t.alerts().iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![other, again],
        "in id order"
    );
}

#[test]
fn alerts_inside_the_horizon_are_never_evicted() {
    let mut t = Triage::new(day_config());
    // One alert repeated every 10 hours for 10 days: always inside the dedupe
    // window of its last occurrence, so it stays one alert however old it is.
    let steady = new_id(feed(&mut t, det("steady", Level::Low, "ws01", 0)));
    let mut edge = None;
    for h in (10..=100).step_by(10) {
        assert_eq!(
            feed(&mut t, det("steady", Level::Low, "ws01", h * HOUR)),
            Outcome::Merged(steady)
        );
        if h == 70 {
            // One alert exactly at the horizon's edge when the clock reaches 100 h.
            edge = Some(new_id(feed(
                &mut t,
                det("edge", Level::Low, "ws02", 76 * HOUR),
            )));
        }
    }
    let edge = edge.expect("made");
    assert_eq!(t.latest(), Some(Timestamp(100 * HOUR)));
    // Forced sweeps at the edge: nothing inside the horizon goes.
    let mut fresh = Triage::new(day_config());
    for d in [
        det("a", Level::Low, "h1", 0),
        det("b", Level::Low, "h2", 12 * HOUR),
        det("c", Level::Low, "h3", 24 * HOUR),
    ] {
        fresh.observe(d);
    }
    assert_eq!(fresh.evict(Timestamp(24 * HOUR)), 0);
    assert_eq!(fresh.memory().alerts, 3);
    assert!(t.alert(steady).is_some());
    assert_eq!(t.alert(steady).unwrap().count, 11);
    assert!(t.alert(edge).is_some(), "last seen exactly at the horizon");
}

#[test]
fn incidents_link_recent_activity_after_old_ones_are_evicted() {
    let mut t = Triage::new(day_config());
    // An old incident on ws01 (a high alert opens one on its own).
    let old_alert = new_id(feed(&mut t, det("old", Level::High, "ws01", 0)));
    let old_incident = t.alert(old_alert).unwrap().incident.expect("opened");
    assert_eq!(t.memory().incidents, 1);
    // Two days later: two hosts share an indicator.
    let day2 = 48 * HOUR;
    let mut a = det("dropper", Level::High, "ws02", day2);
    a.entities.indicators = vec!["evil.example".into()];
    let a = new_id(feed(&mut t, a));
    assert!(t.alert(old_alert).is_none(), "evicted");
    assert!(t.incident(old_incident).is_none(), "evicted with its keys");
    let mut b = det("beacon", Level::Medium, "ws03", day2 + 10 * MINUTE);
    b.entities.indicators = vec!["evil.example".into()];
    let b = new_id(feed(&mut t, b));
    let ia = t.alert(a).unwrap().incident.expect("grouped");
    let ib = t.alert(b).unwrap().incident.expect("grouped");
    assert_eq!(t.incident(ia).unwrap().id, t.incident(ib).unwrap().id);
    assert!(ia > old_incident, "incident ids are not reused");
    let inc = t.incident(ib).unwrap();
    assert_eq!(inc.hosts, vec!["ws02".to_string(), "ws03".to_string()]);
    // ws01 again: a new incident, not the evicted one.
    let c = new_id(feed(&mut t, det("old", Level::High, "ws01", day2 + HOUR)));
    let ic = t.alert(c).unwrap().incident.expect("opened");
    assert!(ic != old_incident && ic != ia);
    // The incident's title still names its top alert.
    assert!(t.incident(ia).unwrap().title.contains("rule dropper"));
}

/// A tiny deterministic generator (no dependency needed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

#[test]
fn memory_stays_bounded_over_a_long_stream() {
    const DETECTIONS: i64 = 200_000;
    const DAYS: i64 = 30;
    const ACTIVE: u64 = 2_000;
    const NEW_PER_DAY: u64 = 300;
    const RULES: u64 = 50;
    let mut t = Triage::new(day_config());
    let span = DAYS * 24 * HOUR;
    let step = span / DETECTIONS;
    let mut peak = t.memory();
    for i in 0..DETECTIONS {
        let time = i * step;
        let day = (time / (24 * HOUR)) as u64;
        // 2 000 fingerprints active on any day, 300 of them new each day.
        let rng = &mut Lcg(i as u64 ^ 0x9e37_79b9);
        let f = day * NEW_PER_DAY + rng.next() % ACTIVE;
        let rule = format!("r{}", f % RULES);
        let host = format!("h{}", f / RULES);
        let level = if rng.next().is_multiple_of(100) {
            Level::High
        } else {
            Level::Low
        };
        let mut d = det(&rule, level, &host, time);
        if rng.next().is_multiple_of(10) {
            d.entities.indicators = vec![format!("198.51.{}.{}", f % 7, f % 11)];
        }
        feed(&mut t, d);
        let m = t.memory();
        peak.alerts = peak.alerts.max(m.alerts);
        peak.fingerprints = peak.fingerprints.max(m.fingerprints);
        peak.incidents = peak.incidents.max(m.incidents);
        peak.incident_keys = peak.incident_keys.max(m.incident_keys);
        peak.pending = peak.pending.max(m.pending);
        peak.risks = peak.risks.max(m.risks);
    }
    let total = t.stats().alerts as usize;
    let distinct = (ACTIVE + DAYS as u64 * NEW_PER_DAY) as usize;
    assert!(total >= distinct * 9 / 10, "{total} alerts over {distinct}");
    // Everything in memory was last seen within the horizon plus one sweep step
    // (a sixteenth of it): a window touching at most three days, whose fingerprints
    // are at most ACTIVE + 2 × NEW_PER_DAY.
    let bound = (ACTIVE + 2 * NEW_PER_DAY) as usize;
    assert!(
        peak.alerts <= bound && peak.fingerprints <= bound,
        "{peak:?} over the bound {bound} ({total} alerts in all)"
    );
    assert!(peak.pending <= bound, "{peak:?}");
    let hosts_in_window = bound / RULES as usize + 1;
    let hosts_in_all = distinct / RULES as usize + 1;
    assert!(
        peak.incidents <= 2 * hosts_in_window,
        "{peak:?}: {hosts_in_window} hosts in a window, {hosts_in_all} in all"
    );
    assert!(peak.incident_keys <= 2 * hosts_in_window + 77, "{peak:?}");
    // Risks decay slowly (below 0.001 after some 17 half-lives) but still go.
    assert!(peak.risks < hosts_in_all, "{peak:?}");
}
