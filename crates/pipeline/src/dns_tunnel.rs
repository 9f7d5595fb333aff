//! DNS tunnelling: one machine asking a burst of encoded names under one domain.
//!
//! Tunnels and exfiltration over DNS (iodine, dnscat2, DNSExfiltrator, the DNS
//! channels of C2 frameworks) carry their data in the labels of queries for a domain the
//! attacker's name server answers: hundreds of distinct, long, random-looking names
//! under one domain, from one machine, within minutes. Ordinary browsing asks for few
//! names per domain, short and repeated; services that do put data in names
//! (anti-virus cloud lookups, DNS blocklists, CDNs) are asked by many machines.
//!
//! [`DnsFields::query`] reads a query from Zeek `dns`, Suricata `dns` and Sysmon DNS
//! query events (the asking machine is the source address, or for Sysmon the host);
//! [`DnsTunnelTracker`] counts each (machine, domain) pair's distinct names within a
//! sliding window and reports a pair once per burst as a detection of rule
//! `dns-tunnel`, when the names are long on average and few machines ask for that
//! domain. `hunt` feeds it a whole run sorted by time, knowing every domain's askers
//! ([`find_dns_tunnels`]); the server's pipeline batch after batch.
//!
//! Left out: names with less than [`MIN_PREFIX`] characters before the domain (so a
//! hunt keeps only the queries that could matter), reverse lookups (`.arpa`), local names (one label, `.local`, `.lan`,
//! `.internal`, `.localdomain`, `.home.arpa`, `.corp`), service discovery (`_tcp`,
//! `_udp`). The domain is the registrable part, approximated without a public suffix
//! list: the last two labels, or three under a country code's second-level domain
//! (`example.co.uk`).

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use serde_json::json;
use watchfloor_decode::time::format_rfc3339;
use watchfloor_event::{Event, FieldId, FieldTable, Timestamp};
use watchfloor_triage::detection::Entities;

use crate::detect::DetectionRow;
use crate::entities::{EntityFields, first};

/// Rule id of DNS tunnelling detections.
pub const DNS_TUNNEL_RULE_ID: &str = "dns-tunnel";
/// Their title.
pub const DNS_TUNNEL_TITLE: &str = "DNS tunnelling: many encoded names under one domain";

/// When a machine's queries count as a tunnel.
#[derive(Debug, Clone)]
pub struct DnsTunnelConfig {
    /// The sliding window.
    pub window_ns: i64,
    /// Distinct names under one domain within the window that make a tunnel.
    pub min_distinct_names: usize,
    /// Their mean length (the part before the domain), at least.
    pub min_mean_length: usize,
    /// A domain asked for by more machines than this is a service, not a tunnel.
    pub max_clients: usize,
    /// A pair reported is reported again only after this long.
    pub rearm_ns: i64,
    /// (machine, domain) pairs remembered at once; the quietest are forgotten past it.
    pub max_pairs: usize,
    /// Queries a hunt collects for the analysis; those past it are counted.
    pub max_queries: usize,
}

impl Default for DnsTunnelConfig {
    fn default() -> Self {
        DnsTunnelConfig {
            window_ns: 10 * 60 * 1_000_000_000,
            min_distinct_names: 60,
            min_mean_length: 16,
            max_clients: 3,
            rearm_ns: 60 * 60 * 1_000_000_000,
            max_pairs: 50_000,
            max_queries: 1_000_000,
        }
    }
}

/// One query, with the name split at its domain.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsQuery {
    pub time_ns: i64,
    /// The asking machine: its address, or its name (Sysmon).
    pub client: String,
    /// The machine's name when the event gives one.
    pub host: Option<String>,
    /// The asking program, when the event names it (Sysmon).
    pub image: Option<String>,
    pub domain: String,
    /// The name before the domain (`a1b2c3` of `a1b2c3.tunnel.example`).
    pub prefix: String,
    pub source: Arc<str>,
    pub record: u64,
}

/// A machine's burst of encoded names under one domain.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsTunnel {
    /// The query at which the burst crossed the threshold.
    pub at: DnsQuery,
    pub first_ns: i64,
    pub distinct_names: usize,
    pub mean_length: usize,
    /// A few of the names, for the analyst.
    pub examples: Vec<String>,
}

/// The field ids the analysis reads, resolved once.
pub struct DnsFields {
    entity: EntityFields,
    name: Vec<FieldId>,
    client: Vec<FieldId>,
    image: FieldId,
}

impl DnsFields {
    pub fn new(table: &FieldTable) -> Self {
        let ids = |names: &[&str]| names.iter().map(|n| table.intern(n)).collect::<Vec<_>>();
        DnsFields {
            entity: EntityFields::new(table),
            name: ids(&["query", "QueryName", "dns.rrname", "dns.queries.rrname"]),
            client: ids(&["id.orig_h", "src_ip"]),
            image: table.intern("Image"),
        }
    }

    /// The query `ev` records, if it is a DNS query for a name outside the
    /// organisation.
    pub fn query(&self, ev: &Event) -> Option<DnsQuery> {
        let ls = &ev.logsource;
        let is_dns = matches!(ls.category(), Some("dns_query" | "dns"))
            || (matches!(ls.product(), Some("zeek" | "suricata")) && ls.service() == Some("dns"));
        if !is_dns {
            return None;
        }
        let name = first(ev, &self.name)?;
        let (domain, prefix) = split_name(&name)?;
        if prefix.len() < MIN_PREFIX {
            return None;
        }
        // A sensor's host fields name the DNS server; the asker is the source address.
        let host = if matches!(ls.product(), Some("zeek" | "suricata")) {
            None
        } else {
            self.entity.host(ev)
        };
        let client = first(ev, &self.client).or_else(|| host.clone())?;
        Some(DnsQuery {
            time_ns: ev.time.0,
            client,
            host,
            image: first(ev, std::slice::from_ref(&self.image)),
            domain,
            prefix,
            source: ev.source.name.clone(),
            record: ev.source.record,
        })
    }
}

/// Names with less than this before the domain carry no data worth the name (`www`,
/// `mail`, `e1234.g`) and are not counted.
pub const MIN_PREFIX: usize = 8;

/// Second-level labels under which country codes register names (`co.uk`, `com.au`).
const SECOND_LEVELS: &[&str] = &[
    "co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go", "gob", "mil", "nic", "ltd",
    "plc", "gen", "biz", "info",
];

const LOCAL_SUFFIXES: &[&str] = &[
    "arpa",
    "local",
    "lan",
    "internal",
    "localdomain",
    "localhost",
    "corp",
    "home",
    "intranet",
];

/// A name's domain and the part before it, lower case; `None` for names the analysis
/// leaves out (see the module documentation) and names with nothing before the domain.
pub fn split_name(name: &str) -> Option<(String, String)> {
    let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = name.split('.').collect();
    if labels.len() < 3 || labels.iter().any(|l| l.is_empty()) {
        return None;
    }
    let tld = labels[labels.len() - 1];
    if LOCAL_SUFFIXES.contains(&tld) || tld.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if labels.iter().any(|l| l.starts_with('_')) {
        return None;
    }
    let second = labels[labels.len() - 2];
    let domain_labels = if tld.len() == 2 && SECOND_LEVELS.contains(&second) {
        3
    } else {
        2
    };
    if labels.len() <= domain_labels {
        return None;
    }
    let split = labels.len() - domain_labels;
    Some((labels[split..].join("."), labels[..split].join(".")))
}

#[derive(Debug, Default)]
struct Pair {
    /// (time, hash of the prefix, its length), within the window.
    recent: VecDeque<(i64, u64, usize)>,
    last_report_ns: Option<i64>,
    last_ns: i64,
    /// The first few distinct names, for the analyst.
    examples: Vec<String>,
}

/// Each (machine, domain) pair's recent queries, bounded in pairs and in queries per
/// pair; and, for the server, how many machines ask for each domain.
#[derive(Debug, Default)]
pub struct DnsTunnelTracker {
    cfg: DnsTunnelConfig,
    pairs: HashMap<(String, String), Pair>,
    /// Machines seen asking for each domain (counted up to `max_clients + 1`).
    askers: HashMap<String, HashSet<u64>>,
    /// Set by [`find_dns_tunnels`]: the whole run's askers, so a domain many machines
    /// ask for later in the run is known from the start.
    known_askers: Option<HashMap<String, usize>>,
    /// Pairs forgotten to stay within `max_pairs`.
    pub forgotten: u64,
}

impl DnsTunnelTracker {
    pub fn new(cfg: DnsTunnelConfig) -> Self {
        DnsTunnelTracker {
            cfg,
            ..Default::default()
        }
    }

    /// Takes one query; returns the tunnel it makes clear, once per pair and burst.
    pub fn observe(&mut self, q: &DnsQuery) -> Option<DnsTunnel> {
        let askers = self.note_asker(q);
        let key = (q.client.clone(), q.domain.clone());
        if !self.pairs.contains_key(&key) {
            if self.pairs.len() >= self.cfg.max_pairs {
                self.forget(q.time_ns);
            }
            self.pairs.insert(key.clone(), Pair::default());
        }
        let cfg = &self.cfg;
        let pair = self.pairs.get_mut(&key)?;
        pair.last_ns = pair.last_ns.max(q.time_ns);
        let mut hasher = DefaultHasher::new();
        q.prefix.hash(&mut hasher);
        pair.recent
            .push_back((q.time_ns, hasher.finish(), q.prefix.len()));
        if pair.examples.len() < 3 && !pair.examples.contains(&q.prefix) {
            pair.examples.push(q.prefix.clone());
        }
        while pair
            .recent
            .front()
            .is_some_and(|(t, _, _)| *t < q.time_ns - cfg.window_ns)
        {
            pair.recent.pop_front();
        }
        while pair.recent.len() > 4 * cfg.min_distinct_names {
            pair.recent.pop_front();
        }
        if pair.recent.len() < cfg.min_distinct_names
            || askers > cfg.max_clients
            || pair
                .last_report_ns
                .is_some_and(|t| q.time_ns - t < cfg.rearm_ns)
        {
            return None;
        }
        let mut lengths: HashMap<u64, usize> = HashMap::new();
        for (_, h, len) in &pair.recent {
            lengths.insert(*h, *len);
        }
        if lengths.len() < cfg.min_distinct_names {
            return None;
        }
        let mean_length = lengths.values().sum::<usize>() / lengths.len();
        if mean_length < cfg.min_mean_length {
            return None;
        }
        pair.last_report_ns = Some(q.time_ns);
        Some(DnsTunnel {
            at: q.clone(),
            first_ns: pair.recent.front().map_or(q.time_ns, |(t, _, _)| *t),
            distinct_names: lengths.len(),
            mean_length,
            examples: pair
                .examples
                .iter()
                .map(|p| format!("{p}.{}", q.domain))
                .collect(),
        })
    }

    /// Records `q`'s machine as an asker of its domain; returns the domain's askers.
    fn note_asker(&mut self, q: &DnsQuery) -> usize {
        if let Some(known) = &self.known_askers {
            return known.get(&q.domain).copied().unwrap_or(1);
        }
        let limit = self.cfg.max_clients + 1;
        if self.askers.len() >= self.cfg.max_pairs && !self.askers.contains_key(&q.domain) {
            self.askers.clear();
        }
        let set = self.askers.entry(q.domain.clone()).or_default();
        if set.len() < limit {
            let mut hasher = DefaultHasher::new();
            q.client.hash(&mut hasher);
            set.insert(hasher.finish());
        }
        set.len()
    }

    /// Forgets the pairs not seen within the window, or all when none is that old.
    fn forget(&mut self, now_ns: i64) {
        let before = self.pairs.len();
        let horizon = now_ns - self.cfg.window_ns;
        self.pairs.retain(|_, p| p.last_ns >= horizon);
        if self.pairs.len() >= self.cfg.max_pairs {
            self.pairs.clear();
        }
        self.forgotten += (before - self.pairs.len()) as u64;
    }
}

/// The tunnels in a whole run's queries, sorted by time first, each domain's askers
/// counted over the whole run; and how many queries were past `max_queries` and not
/// analysed.
pub fn find_dns_tunnels(
    mut queries: Vec<DnsQuery>,
    cfg: &DnsTunnelConfig,
) -> (Vec<DnsTunnel>, u64) {
    queries.sort_by_key(|q| q.time_ns);
    let dropped = queries.len().saturating_sub(cfg.max_queries) as u64;
    queries.truncate(cfg.max_queries);
    let mut askers: HashMap<&str, HashSet<&str>> = HashMap::new();
    for q in &queries {
        let set = askers.entry(q.domain.as_str()).or_default();
        if set.len() <= cfg.max_clients {
            set.insert(q.client.as_str());
        }
    }
    let mut tracker = DnsTunnelTracker::new(cfg.clone());
    tracker.known_askers = Some(
        askers
            .into_iter()
            .map(|(d, s)| (d.to_owned(), s.len()))
            .collect(),
    );
    let found = queries.iter().filter_map(|q| tracker.observe(q)).collect();
    (found, dropped)
}

impl DnsTunnel {
    /// The detection row of this tunnel.
    pub fn row(&self) -> DetectionRow {
        let q = &self.at;
        let is_address = q.client.parse::<std::net::IpAddr>().is_ok();
        let mut entities = Entities {
            host: q
                .host
                .clone()
                .or_else(|| (!is_address).then(|| q.client.clone())),
            src_ip: is_address.then(|| q.client.clone()),
            image: q.image.clone(),
            indicators: vec![q.domain.clone()],
            ..Default::default()
        };
        entities.normalize();
        let time = format_rfc3339(Timestamp(q.time_ns));
        let first = format_rfc3339(Timestamp(self.first_ns));
        let mut examples = self.examples.clone();
        if examples.is_empty() {
            examples.push(format!("{}.{}", q.prefix, q.domain));
        }

        let event = json!({
            "analysis": DNS_TUNNEL_RULE_ID,
            "client": q.client,
            "host": q.host,
            "Image": q.image,
            "domain": q.domain,
            "distinct_names": self.distinct_names,
            "mean_length": self.mean_length,
            "examples": examples,
            "first": first,
            "last": time,
        });
        DetectionRow {
            time: Some(time),
            rule_id: Some(DNS_TUNNEL_RULE_ID.to_owned()),
            rule_title: DNS_TUNNEL_TITLE.to_owned(),
            level: "medium",
            tags: vec![
                "attack.command-and-control".into(),
                "attack.t1071.004".into(),
                "attack.t1572".into(),
            ],
            host: entities.host.clone(),
            source: q.source.to_string(),
            record: q.record,
            matched: vec![
                ("client".into(), q.client.clone()),
                ("domain".into(), q.domain.clone()),
                ("distinct_names".into(), self.distinct_names.to_string()),
                ("mean_length".into(), self.mean_length.to_string()),
                ("example".into(), examples[0].clone()),
                ("first".into(), first),
            ],
            event: event.to_string(),
            entities,
            indicator: None,
            time_ns: q.time_ns,
        }
    }
}

#[cfg(test)]
#[path = "dns_tunnel_tests.rs"]
mod tests;
