//! Beacon analysis: finds a machine that calls the same outside destination at regular
//! intervals, as implants check in with their command-and-control server, in the
//! connections the logs record (Sysmon network connections, Zeek `conn`, Suricata
//! flows, firewalls, web proxies' absolute-URL or `CONNECT` requests in access-log form,
//! and proxies' own logs such as Squid's).
//!
//! [`BeaconFields::connection`] reads one event as a [`Connection`] (source, outside
//! destination, when, which record); a [`BeaconTracker`] takes them as they come (the
//! server's pipeline) and [`find_beacons`] a whole hunt; both give one [`Beacon`] per
//! (source, destination) pair whose calls became regular:
//! at least [`BeaconConfig::min_connections`] calls over [`BeaconConfig::min_span_s`],
//! the median gap at least [`BeaconConfig::min_interval_s`], and the gaps' median
//! absolute deviation at most [`BeaconConfig::max_jitter`] of the median (an implant's
//! ±30 % jitter gives 0.15; people browsing, 0.5 and more). A destination that many
//! sources call is infrastructure (updates, telemetry), not a command server: pairs
//! whose destination more than [`BeaconConfig::max_sources`] sources have called are
//! left out. Memory is bounded: the latest [`WINDOW`] calls per pair, and at most
//! [`BeaconConfig::max_pairs`] pairs and destinations (the quietest are forgotten).
//! Calls to DNS, NTP and NetBIOS ports are not looked at: those protocols are
//! periodic by design. Destinations inside the organisation (private, loopback,
//! link-local addresses) are never considered, nor callers outside it (a machine is
//! named by its host name, or else must have an inside address). The beacon is
//! reported at the call that made the pattern clear, with that call's record, so time
//! to detect is honest.
//!
//! [`Beacon::row`] makes the detection row: rule `beacon-analysis`, level medium,
//! tagged command and control (T1071), with the destination as an indicator so the
//! analysis engine links the machines that call it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use serde_json::json;
use watchfloor_decode::time::format_rfc3339;
use watchfloor_decode::web_proxy::request_host;
use watchfloor_event::{Event, FieldId, FieldTable, Timestamp, Value};
use watchfloor_triage::detection::Entities;

use crate::detect::DetectionRow;
use crate::entities::{first, is_public};

/// Destination ports whose protocols call out on a schedule by design: DNS, NTP,
/// NetBIOS name and datagram services.
const SERVICE_PORTS: [u16; 4] = [53, 123, 137, 138];

/// The rule id beacon detections carry (suppressions and fingerprints use it).
pub const BEACON_RULE_ID: &str = "beacon-analysis";
/// Their title.
pub const BEACON_TITLE: &str = "Regular beaconing to an outside destination";

const SECOND: i64 = 1_000_000_000;
/// Gaps looked at when judging regularity: the latest calls, so an implant that
/// changes pace is judged on its current one.
const WINDOW: usize = 64;

/// When calls count as a beacon.
#[derive(Clone, Debug)]
pub struct BeaconConfig {
    pub min_connections: usize,
    pub min_span_s: f64,
    pub min_interval_s: f64,
    /// Median absolute deviation of the gaps over their median.
    pub max_jitter: f64,
    /// Destinations called by more sources than this are left out.
    pub max_sources: usize,
    /// Connections a batch analysis ([`find_beacons`]) takes; beyond, the latest ones
    /// are dropped and counted.
    pub max_connections: usize,
    /// (source, destination) pairs and destinations a [`BeaconTracker`] remembers;
    /// beyond, those quiet longest are forgotten.
    pub max_pairs: usize,
}

impl Default for BeaconConfig {
    fn default() -> Self {
        BeaconConfig {
            min_connections: 12,
            min_span_s: 3600.0,
            min_interval_s: 10.0,
            max_jitter: 0.2,
            max_sources: 3,
            max_connections: 5_000_000,
            max_pairs: 100_000,
        }
    }
}

/// One call from a source to an outside destination.
#[derive(Clone, Debug, PartialEq)]
pub struct Connection {
    pub time_ns: i64,
    /// The calling machine: its host name when the log names it, else its address.
    pub src: String,
    /// The destination: a host name when the log has one, else the address.
    pub dst: String,
    pub host: Option<String>,
    pub src_ip: Option<String>,
    pub user: Option<String>,
    pub source: Arc<str>,
    pub record: u64,
}

/// Regular calls from one source to one destination.
#[derive(Clone, Debug, PartialEq)]
pub struct Beacon {
    /// The call at which the pattern became clear.
    pub at: Connection,
    pub first_ns: i64,
    /// Calls up to `at`.
    pub connections: usize,
    pub median_interval_s: f64,
    pub jitter: f64,
}

/// Field ids of the connection fields, resolved once.
pub struct BeaconFields {
    computer: Vec<FieldId>,
    user: Vec<FieldId>,
    src_ip: Vec<FieldId>,
    dst_ip: Vec<FieldId>,
    dst_name: FieldId,
    dst_port: Vec<FieldId>,
    initiated: FieldId,
    method: FieldId,
    uri: FieldId,
    proxy_host: FieldId,
}

fn ids(table: &FieldTable, names: &[&str]) -> Vec<FieldId> {
    names.iter().map(|n| table.intern(n)).collect()
}

impl BeaconFields {
    pub fn new(table: &FieldTable) -> Self {
        BeaconFields {
            computer: ids(table, &["Computer", "Hostname", "hostname"]),
            user: ids(table, &["User", "cs-username", "suser"]),
            src_ip: ids(
                table,
                &[
                    "SourceIp",
                    "src_ip",
                    "id.orig_h",
                    "src",
                    "SourceAddress",
                    "c-ip",
                ],
            ),
            dst_ip: ids(
                table,
                &[
                    "DestinationIp",
                    "dest_ip",
                    "id.resp_h",
                    "dst",
                    "DestAddress",
                ],
            ),
            dst_name: table.intern("DestinationHostname"),
            dst_port: ids(table, &["DestinationPort", "dest_port", "id.resp_p", "dpt"]),
            initiated: table.intern("Initiated"),
            method: table.intern("cs-method"),
            uri: table.intern("cs-uri"),
            proxy_host: table.intern("cs-host"),
        }
    }

    /// `ev` as an outgoing call to an outside destination, or `None`. Its time is
    /// the event's (0 when the event has none: the caller supplies one or skips it).
    pub fn connection(&self, ev: &Event) -> Option<Connection> {
        let ls = &ev.logsource;
        let category = ls.category.as_deref();
        let product = ls.product.as_deref();
        let service = ls.service.as_deref();
        let (dst, host) = match (product, category, service) {
            (_, Some("webserver"), _) => (self.proxied_host(ev)?, None),
            // A proxy's own log (Squid); a sensor's HTTP events are already counted
            // among its flows.
            (Some(p), Some("proxy"), _) if p != "zeek" && p != "suricata" => {
                (text(ev, self.proxy_host)?.to_string(), None)
            }
            (Some("windows"), Some("network_connection"), _) => {
                if text(ev, self.initiated).is_some_and(|v| v.eq_ignore_ascii_case("false")) {
                    return None;
                }
                let ip = first(ev, &self.dst_ip);
                if ip.as_deref().is_some_and(|ip| !is_outside(ip)) {
                    return None;
                }
                let dst = text(ev, self.dst_name)
                    .filter(|n| n.contains('.'))
                    .map(str::to_string)
                    .or(ip)?;
                (dst, first(ev, &self.computer))
            }
            (_, Some("firewall"), _) | (Some("zeek"), _, Some("conn")) => {
                (first(ev, &self.dst_ip)?, None)
            }
            (Some("suricata"), _, Some("flow")) => (first(ev, &self.dst_ip)?, None),
            _ => return None,
        };
        if dst.parse::<IpAddr>().is_ok() && !is_outside(&dst) {
            return None;
        }
        // Name resolution, time and NetBIOS are periodic by design.
        if first(ev, &self.dst_port)
            .and_then(|p| p.parse::<u16>().ok())
            .is_some_and(|p| SERVICE_PORTS.contains(&p))
        {
            return None;
        }
        let src_ip = first(ev, &self.src_ip);
        let src = host.clone().or_else(|| src_ip.clone())?;
        // Calls come from inside: an outside caller of the organisation's public
        // servers (a monitoring service, a scanner) is not an implant.
        if host.is_none() && is_outside(&src) {
            return None;
        }
        Some(Connection {
            time_ns: ev.time.0,
            src: src.to_ascii_lowercase(),
            dst: dst.to_ascii_lowercase(),
            host,
            src_ip,
            user: first(ev, &self.user),
            source: ev.source.name.clone(),
            record: ev.source.record,
        })
    }

    /// The host a proxy request goes to: `CONNECT host:port` or an absolute URL.
    fn proxied_host(&self, ev: &Event) -> Option<String> {
        let target = text(ev, self.uri)?;
        let method = text(ev, self.method).unwrap_or("GET");
        request_host(method, target).map(str::to_string)
    }
}

fn text(ev: &Event, id: FieldId) -> Option<&str> {
    match ev.get(id)? {
        Value::Str(s) => Some(s).filter(|s| !s.trim().is_empty() && *s != "-"),
        _ => None,
    }
}

/// Whether an address is outside the organisation ([`is_public`]); a name is.
fn is_outside(addr: &str) -> bool {
    addr.trim().parse::<IpAddr>().is_err() || is_public(addr)
}

/// The median of `values` (sorted in place); `values` is not empty.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Median gap and jitter (median absolute deviation over the median) of `times`.
fn regularity(times: &[i64]) -> Option<(f64, f64)> {
    let mut gaps: Vec<f64> = times
        .windows(2)
        .map(|w| (w[1] - w[0]) as f64 / SECOND as f64)
        .collect();
    if gaps.is_empty() {
        return None;
    }
    let m = median(&mut gaps);
    if m <= 0.0 {
        return None;
    }
    let mut deviations: Vec<f64> = gaps.iter().map(|g| (g - m).abs()).collect();
    Some((m, median(&mut deviations) / m))
}

/// One (source, destination) pair's latest calls.
#[derive(Debug, Default)]
struct Pair {
    /// Call times, oldest first, at most [`WINDOW`] + 1.
    times: std::collections::VecDeque<i64>,
    calls: usize,
    first_ns: i64,
    last_ns: i64,
    /// Reported already: a pair is a beacon once.
    reported: bool,
}

/// Who calls a destination (up to one more than [`BeaconConfig::max_sources`]).
#[derive(Debug, Default)]
struct Callers {
    sources: Vec<String>,
    last_ns: i64,
}

/// Beacon analysis over a stream of connections, in (roughly) time order, with bounded
/// memory: the server's pipeline feeds it batch after batch; [`find_beacons`] feeds it a
/// whole hunt sorted by time.
#[derive(Debug, Default)]
pub struct BeaconTracker {
    cfg: BeaconConfig,
    /// By [`pair_key`].
    pairs: HashMap<String, Pair>,
    callers: HashMap<String, Callers>,
    /// The key being looked up, reused so a known pair costs no allocation.
    key: String,
    /// Pairs and destinations forgotten to stay within `max_pairs`.
    pub forgotten: u64,
}

impl BeaconTracker {
    pub fn new(cfg: BeaconConfig) -> Self {
        BeaconTracker {
            cfg,
            ..Default::default()
        }
    }

    /// Takes one call; returns the beacon it makes clear, once per pair.
    pub fn observe(&mut self, c: &Connection) -> Option<Beacon> {
        if !self.callers.contains_key(c.dst.as_str()) {
            self.callers.insert(c.dst.clone(), Callers::default());
        }
        let callers = self.callers.get_mut(c.dst.as_str())?;
        callers.last_ns = callers.last_ns.max(c.time_ns);
        if callers.sources.len() <= self.cfg.max_sources && !callers.sources.contains(&c.src) {
            callers.sources.push(c.src.clone());
        }
        let shared = callers.sources.len() > self.cfg.max_sources;
        pair_key(&mut self.key, &c.src, &c.dst);
        if !self.pairs.contains_key(self.key.as_str()) {
            let pair = Pair {
                first_ns: c.time_ns,
                ..Pair::default()
            };
            self.pairs.insert(self.key.clone(), pair);
        }
        let found = self
            .pairs
            .get_mut(self.key.as_str())
            .and_then(|pair| pair.take(c, &self.cfg, shared));
        if self.pairs.len() > self.cfg.max_pairs || self.callers.len() > self.cfg.max_pairs {
            self.forget();
        }
        found
    }

    /// Forgets the quietest quarter of the pairs and destinations.
    fn forget(&mut self) {
        let keep = self.cfg.max_pairs - self.cfg.max_pairs / 4;
        if self.pairs.len() > keep {
            let mut last: Vec<i64> = self.pairs.values().map(|p| p.last_ns).collect();
            let cut = last.len() - keep;
            let (_, &mut bound, _) = last.select_nth_unstable(cut);
            let before = self.pairs.len();
            self.pairs.retain(|_, p| p.last_ns > bound);
            self.forgotten += (before - self.pairs.len()) as u64;
        }
        if self.callers.len() > keep {
            let mut last: Vec<i64> = self.callers.values().map(|c| c.last_ns).collect();
            let cut = last.len() - keep;
            let (_, &mut bound, _) = last.select_nth_unstable(cut);
            let before = self.callers.len();
            self.callers.retain(|_, c| c.last_ns > bound);
            self.forgotten += (before - self.callers.len()) as u64;
        }
    }
}

/// Writes the map key of a (source, destination) pair into `key`: the source's length,
/// a colon, the source, then the destination, so no two pairs share a key.
fn pair_key(key: &mut String, src: &str, dst: &str) {
    use std::fmt::Write as _;
    key.clear();
    let _ = write!(key, "{}:", src.len());
    key.push_str(src);
    key.push_str(dst);
}

impl Pair {
    fn take(&mut self, c: &Connection, cfg: &BeaconConfig, shared: bool) -> Option<Beacon> {
        // One call logged twice within a second is one call; calls arriving out of
        // order take their place.
        let at = self.times.partition_point(|&t| t <= c.time_ns);
        let near = |t: &i64| (c.time_ns - t).abs() < SECOND;
        if self.times.get(at.wrapping_sub(1)).is_some_and(near)
            || self.times.get(at).is_some_and(near)
        {
            return None;
        }
        self.times.insert(at, c.time_ns);
        if self.times.len() > WINDOW + 1 {
            self.times.pop_front();
        }
        self.calls += 1;
        self.first_ns = self.first_ns.min(c.time_ns);
        self.last_ns = self.last_ns.max(c.time_ns);
        if self.reported || shared || self.calls < cfg.min_connections {
            return None;
        }
        let times: Vec<i64> = self.times.iter().copied().collect();
        let span = (times[times.len() - 1] - times[0]) as f64 / SECOND as f64;
        if times.len() < cfg.min_connections || span < cfg.min_span_s {
            return None;
        }
        let (interval, jitter) = regularity(&times)?;
        if interval < cfg.min_interval_s || jitter > cfg.max_jitter {
            return None;
        }
        self.reported = true;
        Some(Beacon {
            at: c.clone(),
            first_ns: self.first_ns,
            connections: self.calls,
            median_interval_s: interval,
            jitter,
        })
    }
}

/// The beacons among `connections` (any order), in time order: the connections go
/// through a [`BeaconTracker`] sorted by time, so a hunt reports what the server's
/// pipeline would. Returns them and how many connections were dropped past
/// [`BeaconConfig::max_connections`].
pub fn find_beacons(mut connections: Vec<Connection>, cfg: &BeaconConfig) -> (Vec<Beacon>, u64) {
    connections.sort_by_key(|c| c.time_ns);
    let dropped = connections.len().saturating_sub(cfg.max_connections) as u64;
    connections.truncate(cfg.max_connections);
    let mut tracker = BeaconTracker::new(cfg.clone());
    let found = connections
        .iter()
        .filter_map(|c| tracker.observe(c))
        .collect();
    (found, dropped)
}

impl Beacon {
    /// The detection row of this beacon.
    pub fn row(&self) -> DetectionRow {
        let c = &self.at;
        let dst_ip = c.dst.parse::<IpAddr>().is_ok().then(|| c.dst.clone());
        let mut entities = Entities {
            host: c.host.clone(),
            user: c.user.clone(),
            src_ip: c.src_ip.clone(),
            dst_ip,
            indicators: vec![c.dst.clone()],
            ..Default::default()
        };
        entities.normalize();
        let time = rfc3339(c.time_ns);
        let interval = (self.median_interval_s * 10.0).round() / 10.0;
        let jitter = (self.jitter * 1000.0).round() / 1000.0;
        let event = json!({
            "analysis": "beacon",
            "source": c.src,
            "destination": c.dst,
            "connections": self.connections,
            "first": rfc3339(self.first_ns),
            "last": time,
            "median_interval_s": interval,
            "jitter": jitter,
        });
        DetectionRow {
            time: Some(time),
            rule_id: Some(BEACON_RULE_ID.to_owned()),
            rule_title: BEACON_TITLE.to_owned(),
            level: "medium",
            tags: vec!["attack.command-and-control".into(), "attack.t1071".into()],
            host: c.host.clone(),
            source: c.source.to_string(),
            record: c.record,
            matched: vec![
                ("source".into(), c.src.clone()),
                ("destination".into(), c.dst.clone()),
                ("connections".into(), self.connections.to_string()),
                ("median_interval_s".into(), interval.to_string()),
                ("jitter".into(), jitter.to_string()),
            ],
            event: event.to_string(),
            entities,
            indicator: None,
            time_ns: c.time_ns,
        }
    }
}

fn rfc3339(nanos: i64) -> String {
    format_rfc3339(Timestamp(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(src: &str, dst: &str, secs: i64, record: u64) -> Connection {
        Connection {
            time_ns: 1_772_000_000 * SECOND + secs * SECOND,
            src: src.into(),
            dst: dst.into(),
            host: Some(src.into()),
            src_ip: None,
            user: None,
            source: Arc::from("sysmon.jsonl"),
            record,
        }
    }

    /// A small deterministic generator (xorshift), for jitter and random traffic.
    struct Draw(u64);
    impl Draw {
        fn unit(&mut self) -> f64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Calls every `every` seconds ± `jitter` of it, `n` times.
    fn periodic(
        src: &str,
        dst: &str,
        every: f64,
        jitter: f64,
        n: usize,
        d: &mut Draw,
    ) -> Vec<Connection> {
        let mut t = 0.0;
        (0..n)
            .map(|i| {
                let c = call(src, dst, t as i64, i as u64 + 1);
                t += every * (1.0 + jitter * (2.0 * d.unit() - 1.0));
                c
            })
            .collect()
    }

    #[test]
    fn a_jittered_implant_is_found_when_its_pattern_is_clear() {
        let mut d = Draw(7);
        let calls = periodic("ws01", "cdn-update.example", 300.0, 0.3, 100, &mut d);
        let (found, dropped) = find_beacons(calls, &BeaconConfig::default());
        assert_eq!(dropped, 0);
        assert_eq!(found.len(), 1, "{found:#?}");
        let b = &found[0];
        // Twelve calls at ~5 minutes span about an hour; it is reported by the 14th.
        assert!((12..=14).contains(&b.connections), "{b:#?}");
        assert!((b.median_interval_s - 300.0).abs() < 45.0, "{b:#?}");
        assert!(b.jitter < 0.2, "{b:#?}");
        assert_eq!(b.at.record, b.connections as u64);
        let row = b.row();
        assert_eq!(row.rule_id.as_deref(), Some(BEACON_RULE_ID));
        assert_eq!(row.entities.indicators, vec!["cdn-update.example"]);
        assert_eq!(row.entities.host.as_deref(), Some("ws01"));
        assert!(row.tags.contains(&"attack.command-and-control".to_string()));
    }

    #[test]
    fn browsing_short_series_and_shared_services_are_not_beacons() {
        let mut d = Draw(11);
        let mut calls = Vec::new();
        // People: exponential gaps (mean 4 minutes) over a working day.
        let mut t = 0.0;
        for i in 0..150 {
            calls.push(call("ws02", "news.example", t as i64, i));
            t += -240.0 * (1.0 - d.unit()).ln();
        }
        // Regular, but eleven calls only.
        calls.extend(periodic("ws03", "short.example", 600.0, 0.1, 11, &mut d));
        // Regular, but a minute's worth only.
        calls.extend(periodic("ws04", "burst.example", 5.0, 0.0, 20, &mut d));
        // Regular, but called by every workstation: an update service.
        for ws in ["ws05", "ws06", "ws07", "ws08"] {
            calls.extend(periodic(
                ws,
                "telemetry.vendor.example",
                900.0,
                0.05,
                40,
                &mut d,
            ));
        }
        let (found, _) = find_beacons(calls, &BeaconConfig::default());
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn one_call_logged_twice_counts_once_and_caps_hold() {
        let mut d = Draw(3);
        let mut calls = periodic("ws01", "c2.example", 120.0, 0.1, 60, &mut d);
        let twice: Vec<Connection> = calls.clone();
        calls.extend(twice);
        let (found, _) = find_beacons(calls.clone(), &BeaconConfig::default());
        assert_eq!(found.len(), 1);
        assert!(found[0].jitter < 0.2, "{:#?}", found[0]);
        let cfg = BeaconConfig {
            max_connections: 10,
            ..BeaconConfig::default()
        };
        let (found, dropped) = find_beacons(calls, &cfg);
        assert!(found.is_empty());
        assert_eq!(dropped, 110);
    }

    #[test]
    fn the_tracker_takes_calls_out_of_order_and_stays_bounded() {
        let mut d = Draw(5);
        let mut calls = periodic("ws01", "c2.example", 300.0, 0.2, 40, &mut d);
        // Two streams of one batch arrive interleaved, not sorted.
        calls.swap(3, 9);
        calls.swap(20, 21);
        let mut tracker = BeaconTracker::new(BeaconConfig::default());
        let found: Vec<Beacon> = calls.iter().filter_map(|c| tracker.observe(c)).collect();
        assert_eq!(found.len(), 1, "reported once: {found:#?}");

        let cfg = BeaconConfig {
            max_pairs: 8,
            ..BeaconConfig::default()
        };
        let mut tracker = BeaconTracker::new(cfg);
        for i in 0..100 {
            tracker.observe(&call("ws01", &format!("site{i}.example"), i, 1));
        }
        assert!(tracker.pairs.len() <= 8 && tracker.callers.len() <= 8);
        assert!(tracker.forgotten >= 184, "{}", tracker.forgotten);
        // The latest are the ones kept.
        assert!(tracker.pairs.contains_key("4:ws01site99.example"));
    }

    #[test]
    fn outside_means_not_private() {
        for inside in [
            "10.1.2.3",
            "192.168.1.1",
            "172.16.0.9",
            "127.0.0.1",
            "fe80::1",
            "100.64.0.1",
        ] {
            assert!(!is_outside(inside), "{inside}");
        }
        for outside in ["203.0.113.9", "8.8.8.8", "cdn.example", "2001:db8::1"] {
            assert!(is_outside(outside), "{outside}");
        }
    }
}
