//! Web scanning: one client asking a web server for many pages that are not there.
//! Vulnerability scanners and content discovery tools (Nikto, dirb, gobuster, nuclei)
//! probe hundreds of known application paths; no single line is an attack, the burst
//! is. [`WebScanFields::request`] reads the client, status and path of a web server
//! event answered `4xx`; [`WebScanTracker`] counts each client's such requests in a
//! sliding window and reports a client once per burst as a detection of rule
//! `web-scan`. `hunt` feeds it a whole run sorted by time ([`find_web_scans`]); the
//! server's pipeline batch after batch.
//!
//! Requests for static assets (images, styles, scripts, fonts) are not counted: a page
//! whose pictures are missing makes many of those at once, a scanner few.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Arc;

use serde_json::json;
use watchfloor_decode::time::format_rfc3339;
use watchfloor_event::{Event, FieldId, FieldTable, Timestamp, Value};
use watchfloor_triage::detection::Entities;

use crate::detect::DetectionRow;
use crate::entities::first;

/// Rule id of web scanning detections.
pub const WEB_SCAN_RULE_ID: &str = "web-scan";
/// Their title.
pub const WEB_SCAN_TITLE: &str = "Web scanning: one client requesting many missing pages";

/// When a client counts as scanning.
#[derive(Debug, Clone)]
pub struct WebScanConfig {
    /// The sliding window.
    pub window_ns: i64,
    /// Distinct missing paths within the window that make a scan.
    pub min_distinct_paths: usize,
    /// A client reported is reported again only after this long.
    pub rearm_ns: i64,
    /// Clients remembered at once; the quietest are forgotten past it.
    pub max_clients: usize,
    /// Requests a hunt collects for the analysis; those past it are counted.
    pub max_requests: usize,
}

impl Default for WebScanConfig {
    fn default() -> Self {
        WebScanConfig {
            window_ns: 5 * 60 * 1_000_000_000,
            min_distinct_paths: 40,
            rearm_ns: 60 * 60 * 1_000_000_000,
            max_clients: 50_000,
            max_requests: 2_000_000,
        }
    }
}

/// One request a web server answered `4xx`.
#[derive(Debug, Clone, PartialEq)]
pub struct MissRequest {
    pub time_ns: i64,
    pub client: String,
    /// The site (virtual host), when the log names it.
    pub site: Option<String>,
    pub status: i64,
    pub path_hash: u64,
    pub source: Arc<str>,
    pub record: u64,
}

/// A client's burst of requests for missing pages.
#[derive(Debug, Clone, PartialEq)]
pub struct WebScan {
    /// The request at which the burst crossed the threshold.
    pub at: MissRequest,
    pub first_ns: i64,
    /// Requests answered `4xx` in the window, and the distinct paths among them.
    pub requests: usize,
    pub distinct_paths: usize,
}

/// The field ids the analysis reads, resolved once.
pub struct WebScanFields {
    client: Vec<FieldId>,
    status: FieldId,
    path: Vec<FieldId>,
    request_line: FieldId,
    site: Vec<FieldId>,
    server_ip: FieldId,
}

impl WebScanFields {
    pub fn new(table: &FieldTable) -> Self {
        let ids = |names: &[&str]| names.iter().map(|n| table.intern(n)).collect::<Vec<_>>();
        WebScanFields {
            client: ids(&["c-ip", "clientip", "src_ip"]),
            status: table.intern("sc-status"),
            path: ids(&["cs-uri-stem", "cs-uri", "c-uri-stem", "c-uri"]),
            request_line: table.intern("request"),
            site: ids(&["cs-host", "s-sitename"]),
            server_ip: table.intern("dst_ip"),
        }
    }

    /// The request `ev` records, if it is an organisation's web server's answer `4xx`
    /// to a page that is not a static asset.
    pub fn request(&self, ev: &Event) -> Option<MissRequest> {
        if !crate::web_attack::is_request_to_own_server(ev, self.server_ip) {
            return None;
        }
        let status = match ev.get(self.status)? {
            Value::Int(n) => n,
            Value::Str(s) => s.trim().parse().ok()?,
            _ => return None,
        };
        if !(400..500).contains(&status) {
            return None;
        }
        let path = first(ev, &self.path).or_else(|| {
            let line = first(ev, std::slice::from_ref(&self.request_line))?;
            watchfloor_decode::web_json::split_request_line(&line).map(|(_, t)| t.to_string())
        })?;
        let path = path.split('?').next().unwrap_or("");
        if is_static_asset(path) {
            return None;
        }
        let mut hasher = DefaultHasher::new();
        path.to_ascii_lowercase().hash(&mut hasher);
        Some(MissRequest {
            time_ns: ev.time.0,
            client: first(ev, &self.client)?,
            site: first(ev, &self.site),
            status,
            path_hash: hasher.finish(),
            source: ev.source.name.clone(),
            record: ev.source.record,
        })
    }
}

const ASSET_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "ico", "svg", "webp", "bmp", "css", "js", "map", "woff", "woff2",
    "ttf", "eot", "otf", "mp4", "webm", "mp3",
];

fn is_static_asset(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.rsplit_once('.')
        .is_some_and(|(_, ext)| ASSET_EXTENSIONS.iter().any(|a| a.eq_ignore_ascii_case(ext)))
}

#[derive(Debug, Default)]
struct Client {
    recent: VecDeque<(i64, u64)>,
    last_report_ns: Option<i64>,
    last_ns: i64,
}

/// Each client's recent requests for missing pages, bounded in clients and in requests
/// per client.
#[derive(Debug, Default)]
pub struct WebScanTracker {
    cfg: WebScanConfig,
    clients: HashMap<String, Client>,
    /// Clients forgotten to stay within `max_clients`.
    pub forgotten: u64,
}

impl WebScanTracker {
    pub fn new(cfg: WebScanConfig) -> Self {
        WebScanTracker {
            cfg,
            ..Default::default()
        }
    }

    /// Takes one request; returns the scan it makes clear, once per client and burst.
    pub fn observe(&mut self, r: &MissRequest) -> Option<WebScan> {
        if !self.clients.contains_key(&r.client) {
            if self.clients.len() >= self.cfg.max_clients {
                self.forget(r.time_ns);
            }
            self.clients.insert(r.client.clone(), Client::default());
        }
        let cfg = &self.cfg;
        let client = self.clients.get_mut(&r.client)?;
        client.last_ns = client.last_ns.max(r.time_ns);
        client.recent.push_back((r.time_ns, r.path_hash));
        while client
            .recent
            .front()
            .is_some_and(|(t, _)| *t < r.time_ns - cfg.window_ns)
        {
            client.recent.pop_front();
        }
        // Enough to decide; older entries only make the set bigger.
        while client.recent.len() > 4 * cfg.min_distinct_paths {
            client.recent.pop_front();
        }
        if client.recent.len() < cfg.min_distinct_paths {
            return None;
        }
        if client
            .last_report_ns
            .is_some_and(|t| r.time_ns - t < cfg.rearm_ns)
        {
            return None;
        }
        let distinct: HashSet<u64> = client.recent.iter().map(|(_, h)| *h).collect();
        if distinct.len() < cfg.min_distinct_paths {
            return None;
        }
        client.last_report_ns = Some(r.time_ns);
        Some(WebScan {
            at: r.clone(),
            first_ns: client.recent.front().map_or(r.time_ns, |(t, _)| *t),
            requests: client.recent.len(),
            distinct_paths: distinct.len(),
        })
    }

    /// Forgets the clients not seen within the window, or all when none is that old.
    fn forget(&mut self, now_ns: i64) {
        let before = self.clients.len();
        let horizon = now_ns - self.cfg.window_ns;
        self.clients.retain(|_, c| c.last_ns >= horizon);
        if self.clients.len() >= self.cfg.max_clients {
            self.clients.clear();
        }
        self.forgotten += (before - self.clients.len()) as u64;
    }
}

/// The scans in a whole run's requests, sorted by time first; and how many requests
/// were past `max_requests` and not analysed.
pub fn find_web_scans(mut requests: Vec<MissRequest>, cfg: &WebScanConfig) -> (Vec<WebScan>, u64) {
    requests.sort_by_key(|r| r.time_ns);
    let dropped = requests.len().saturating_sub(cfg.max_requests) as u64;
    requests.truncate(cfg.max_requests);
    let mut tracker = WebScanTracker::new(cfg.clone());
    let found = requests.iter().filter_map(|r| tracker.observe(r)).collect();
    (found, dropped)
}

impl WebScan {
    /// The detection row of this scan.
    pub fn row(&self) -> DetectionRow {
        let r = &self.at;
        let ip = r.client.parse::<IpAddr>().ok();
        let mut entities = Entities {
            host: r.site.clone(),
            src_ip: ip.map(|_| r.client.clone()),
            indicators: ip
                .filter(|ip| crate::entities::is_public(&ip.to_string()))
                .map(|_| vec![r.client.clone()])
                .unwrap_or_default(),
            ..Default::default()
        };
        entities.normalize();
        let time = format_rfc3339(Timestamp(r.time_ns));
        let first = format_rfc3339(Timestamp(self.first_ns));
        let event = json!({
            "analysis": "web-scan",
            "client": r.client,
            "site": r.site,
            "requests": self.requests,
            "distinct_paths": self.distinct_paths,
            "first": first,
            "last": time,
        });
        DetectionRow {
            time: Some(time),
            rule_id: Some(WEB_SCAN_RULE_ID.to_owned()),
            rule_title: WEB_SCAN_TITLE.to_owned(),
            level: "medium",
            tags: vec!["attack.reconnaissance".into(), "attack.t1595.003".into()],
            host: r.site.clone(),
            source: r.source.to_string(),
            record: r.record,
            matched: vec![
                ("client".into(), r.client.clone()),
                ("requests".into(), self.requests.to_string()),
                ("distinct_paths".into(), self.distinct_paths.to_string()),
                ("first".into(), first),
            ],
            event: event.to_string(),
            entities,
            indicator: None,
            time_ns: r.time_ns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000_000;

    fn miss(client: &str, secs: i64, path: &str) -> MissRequest {
        let mut h = DefaultHasher::new();
        path.hash(&mut h);
        MissRequest {
            time_ns: secs * SECOND,
            client: client.into(),
            site: None,
            status: 404,
            path_hash: h.finish(),
            source: Arc::from("access.log"),
            record: secs as u64,
        }
    }

    #[test]
    fn a_burst_of_distinct_missing_pages_is_one_scan() {
        let requests: Vec<_> = (0..200)
            .map(|i| miss("203.0.113.5", i, &format!("/probe/{i}.php")))
            .collect();
        let (found, dropped) = find_web_scans(requests, &WebScanConfig::default());
        assert_eq!(dropped, 0);
        assert_eq!(found.len(), 1, "reported once per burst");
        let scan = &found[0];
        assert_eq!(scan.distinct_paths, 40);
        assert_eq!(scan.at.time_ns, 39 * SECOND);
        let row = scan.row();
        assert_eq!(row.rule_id.as_deref(), Some(WEB_SCAN_RULE_ID));
        assert_eq!(row.entities.src_ip.as_deref(), Some("203.0.113.5"));
        assert_eq!(row.entities.indicators, vec!["203.0.113.5".to_string()]);
        assert!(row.tags.contains(&"attack.t1595.003".to_string()));
    }

    #[test]
    fn repeats_slow_probes_and_several_clients_are_not_scans() {
        let cfg = WebScanConfig::default();
        // One missing page asked for again and again.
        let same: Vec<_> = (0..500)
            .map(|i| miss("198.51.100.1", i, "/favicon.php"))
            .collect();
        assert!(find_web_scans(same, &cfg).0.is_empty());
        // Distinct pages, but one every ten minutes.
        let slow: Vec<_> = (0..100)
            .map(|i| miss("198.51.100.2", i * 600, &format!("/{i}")))
            .collect();
        assert!(find_web_scans(slow, &cfg).0.is_empty());
        // Many clients, a few misses each.
        let many: Vec<_> = (0..400)
            .map(|i| miss(&format!("10.0.{}.{}", i / 10, i % 10), i, &format!("/{i}")))
            .collect();
        assert!(find_web_scans(many, &cfg).0.is_empty());
    }

    #[test]
    fn a_client_is_reported_again_after_the_rearm_time_and_out_of_order_input_is_sorted() {
        let cfg = WebScanConfig::default();
        let mut requests: Vec<_> = (0..50)
            .map(|i| miss("203.0.113.9", i, &format!("/a{i}")))
            .chain((0..50).map(|i| miss("203.0.113.9", 7200 + i, &format!("/b{i}"))))
            .collect();
        requests.reverse();
        let (found, _) = find_web_scans(requests, &cfg);
        assert_eq!(found.len(), 2);
    }

    #[test]
    fn clients_are_bounded() {
        let cfg = WebScanConfig {
            max_clients: 10,
            ..WebScanConfig::default()
        };
        let mut tracker = WebScanTracker::new(cfg);
        for i in 0..1000 {
            tracker.observe(&miss(&format!("c{i}"), i * 1000, "/x"));
            assert!(tracker.clients.len() <= 10);
        }
        assert!(tracker.forgotten > 0);
    }

    #[test]
    fn static_assets_are_not_counted() {
        assert!(is_static_asset("/img/logo.PNG"));
        assert!(is_static_asset("/a/b.woff2"));
        assert!(!is_static_asset("/admin.php"));
        assert!(!is_static_asset("/backup/"));
    }
}
