//! Incidents shared with partners, under TLP: what happened, when, how far the attack
//! got, the ATT&CK techniques, and the attacker's observables; never the tenant's own
//! hosts, users or internal addresses.
//!
//! An incident goes out only if its TLP is within the policy's ceiling (TLP:RED never
//! does). Its observables (the addresses, names, URLs, e-mail addresses and hashes its
//! alerts carried) go out only when they are external: private, loopback, link-local,
//! shared and other addresses of someone's own network, single-label names, and names under an
//! internal suffix (`.local`, `.lan`, `.internal`, `.corp`, `.home.arpa`, … and the
//! tenant's own domains the caller names) are dropped and counted.
//!
//! - [`add_incidents_stix`] adds to a bundle from [`super::stix::export_stix`], per
//!   incident: the `incident` (its severity and stages as labels), an `attack-pattern`
//!   per technique (ids derived from the technique, so every incident naming it points
//!   to the same one) with a `related-to` relationship, and per observable an
//!   `indicator` from the producer, a `sighting` of it by the producer over the
//!   incident's time window, and a `related-to` relationship from the incident.
//! - [`incident_misp_event`] writes one MISP event per incident: the observables as
//!   attributes, the techniques as ATT&CK galaxy tags, the TLP tag and distribution,
//!   the threat level from the severity.

use std::collections::{BTreeSet, HashSet};
use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;
use serde_json::{Value, json};

use super::misp::{distribution, misp_type};
use super::stix::{
    StixExport, StixOptions, attack_reference, identity_id, indicator_id, indicator_pattern,
    tlp2_marking_definition, tlp2_marking_id,
};
use super::{ExportPolicy, derived_uuid, rfc3339_millis};
use crate::import::detect_kind;
use crate::model::{Kind, Tlp, normalize};

/// Name suffixes that are never public: these names stay home.
pub const INTERNAL_SUFFIXES: &[&str] = &[
    "local",
    "lan",
    "internal",
    "intranet",
    "corp",
    "home",
    "home.arpa",
    "localdomain",
    "localhost",
    "private",
];

/// An ATT&CK technique an incident shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Technique {
    /// `T1003` or `T1003.001`.
    pub id: String,
    /// Its name, when the caller knows it.
    pub name: Option<String>,
}

/// A tenant's incident, as it may be shared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedIncident {
    /// The tenant's own id for it: the STIX and MISP ids derive from it and the
    /// producer, so re-sharing it updates the same objects.
    pub key: String,
    /// What the recipient reads as its title. The caller chooses it: the analysis
    /// engine's title names the tenant's host.
    pub name: String,
    pub description: Option<String>,
    /// `informational`, `low`, `medium`, `high` or `critical`.
    pub severity: String,
    pub first_seen: watchfloor_event::Timestamp,
    pub last_seen: watchfloor_event::Timestamp,
    /// The kill-chain stages it reached, in order (`execution/persistence`,
    /// `credential access`).
    pub stages: Vec<String>,
    pub techniques: Vec<Technique>,
    /// Values its alerts carried; only the external ones go out.
    pub observables: Vec<String>,
    pub tlp: Tlp,
    /// Whether the tenant has closed it.
    pub closed: bool,
}

/// What an incident export sent and held back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IncidentReport {
    pub exported: u64,
    /// Incidents above the recipient's ceiling (or TLP:RED).
    pub withheld_by_tlp: u64,
    /// Observables that went out, over all incidents.
    pub observables: u64,
    /// Observables dropped as internal (private addresses, internal names) or not an
    /// indicator kind (host names, anything unrecognised).
    pub observables_internal: u64,
    /// The TLP levels the incidents carried.
    pub tlps: BTreeSet<Tlp>,
}

/// Whether `ip` may be shared: not an address of someone's own network (private,
/// loopback, link-local, shared, benchmarking, multicast, broadcast, unspecified).
/// Documentation ranges are shareable: they belong to no one.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => is_public_v4(a),
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let first = a.segments()[0];
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80) // link-local
        }
    }
}

fn is_public_v4(a: Ipv4Addr) -> bool {
    let [o1, o2, o3, _] = a.octets();
    !(a.is_private()
        || a.is_loopback()
        || a.is_link_local()
        || a.is_broadcast()
        || a.is_unspecified()
        || a.is_multicast()
        || o1 == 0
        || o1 >= 240
        || (o1 == 100 && (o2 & 0xc0) == 64) // shared address space
        || (o1 == 192 && o2 == 0 && o3 == 0)
        || (o1 == 198 && (o2 & 0xfe) == 18)) // benchmarking
}

/// Whether a normalised domain name is internal: one label, or under one of the
/// suffixes.
fn is_internal_name(name: &str, internal: &[&str]) -> bool {
    !name.contains('.')
        || INTERNAL_SUFFIXES.iter().chain(internal).any(|s| {
            let s = s.trim_start_matches('.').to_ascii_lowercase();
            name == s || name.ends_with(&format!(".{s}"))
        })
}

fn host_of_url(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host.strip_prefix('[') {
        return v6.split(']').next().unwrap_or("");
    }
    host.split(':').next().unwrap_or("")
}

fn is_external(kind: Kind, value: &str, internal: &[&str]) -> bool {
    let host_ok = |host: &str| match host.parse::<IpAddr>() {
        Ok(ip) => is_public_ip(ip),
        Err(_) => !is_internal_name(host, internal),
    };
    match kind {
        Kind::Ipv4 | Kind::Ipv6 => value.parse::<IpAddr>().is_ok_and(is_public_ip),
        Kind::Domain => !is_internal_name(value, internal),
        Kind::Url => host_ok(host_of_url(value)),
        Kind::Email => value.rsplit_once('@').is_some_and(|(_, d)| host_ok(d)),
        Kind::Md5 | Kind::Sha1 | Kind::Sha256 => true,
        Kind::Cidr | Kind::UserAgent | Kind::Ja3 => false,
    }
}

/// The external observables among `values`, normalised, each once, and how many
/// were dropped. `internal` names the tenant's own domains.
pub fn external_observables(values: &[String], internal: &[&str]) -> (Vec<(Kind, String)>, u64) {
    let mut kept = Vec::new();
    let mut seen = HashSet::new();
    let mut dropped = 0;
    for raw in values {
        let kind = detect_kind(raw);
        let Ok(value) = normalize(kind, raw) else {
            dropped += 1;
            continue;
        };
        if !is_external(kind, &value, internal) {
            dropped += 1;
            continue;
        }
        if seen.insert((kind, value.clone())) {
            kept.push((kind, value));
        }
    }
    (kept, dropped)
}

fn incident_id(producer: &str, key: &str) -> String {
    format!("incident--{}", derived_uuid(&["incident", producer, key]))
}

fn attack_pattern_id(technique: &str) -> String {
    format!(
        "attack-pattern--{}",
        derived_uuid(&["attack-pattern", "mitre-attack", technique])
    )
}

fn relationship(from: &str, to: &str, created: &str, producer: &str, tlp: Tlp) -> Value {
    json!({
        "type": "relationship",
        "spec_version": "2.1",
        "id": format!("relationship--{}", derived_uuid(&["relationship", from, "related-to", to])),
        "created_by_ref": producer,
        "created": created,
        "modified": created,
        "relationship_type": "related-to",
        "source_ref": from,
        "target_ref": to,
        "object_marking_refs": [tlp2_marking_id(tlp)],
    })
}

/// Adds the incidents that may go out under `policy` to `export`'s bundle (see the
/// module doc), with the TLP marking definitions they need, and gives the bundle a new
/// id. `internal` names the tenant's own domains.
pub fn add_incidents_stix(
    export: &mut StixExport,
    incidents: &[SharedIncident],
    policy: &ExportPolicy,
    options: &StixOptions,
    internal: &[&str],
) -> IncidentReport {
    let mut report = IncidentReport::default();
    let producer = identity_id(&options.producer);
    let mut added: Vec<Value> = Vec::new();
    let mut ids: HashSet<String> = objects_of(&export.bundle)
        .iter()
        .filter_map(|o| o.get("id").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let mut push = |o: Value, added: &mut Vec<Value>| {
        let id = o.get("id").and_then(Value::as_str).unwrap_or_default();
        if ids.insert(id.to_owned()) {
            added.push(o);
        }
    };
    for incident in incidents {
        if !policy.permits(incident.tlp) {
            report.withheld_by_tlp += 1;
            continue;
        }
        report.exported += 1;
        report.tlps.insert(incident.tlp);
        let tlp = incident.tlp;
        let id = incident_id(&options.producer, &incident.key);
        let created = rfc3339_millis(incident.first_seen);
        let modified = rfc3339_millis(incident.last_seen.max(incident.first_seen));
        let mut labels = vec![format!("severity:{}", incident.severity)];
        labels.extend(incident.stages.iter().map(|t| format!("stage:{t}")));
        let mut o = json!({
            "type": "incident",
            "spec_version": "2.1",
            "id": id,
            "created_by_ref": producer,
            "created": created,
            "modified": modified,
            "name": incident.name,
            "labels": labels,
            "object_marking_refs": [tlp2_marking_id(tlp)],
        });
        if let Some(d) = incident
            .description
            .as_deref()
            .filter(|d| !d.trim().is_empty())
        {
            o["description"] = json!(d);
        }
        push(o, &mut added);
        for t in &incident.techniques {
            let pattern_id = attack_pattern_id(&t.id);
            report.tlps.insert(Tlp::Clear);
            push(
                json!({
                    "type": "attack-pattern",
                    "spec_version": "2.1",
                    "id": pattern_id,
                    "created_by_ref": producer,
                    "created": rfc3339_millis(options.identities_created),
                    "modified": rfc3339_millis(options.identities_created),
                    "name": t.name.as_deref().unwrap_or(&t.id),
                    "external_references": [attack_reference(&t.id)],
                    "object_marking_refs": [tlp2_marking_id(Tlp::Clear)],
                }),
                &mut added,
            );
            push(
                relationship(&id, &pattern_id, &modified, &producer, tlp),
                &mut added,
            );
        }
        let (observables, dropped) = external_observables(&incident.observables, internal);
        report.observables_internal += dropped;
        for (kind, value) in observables {
            let Some(pattern) = indicator_pattern(kind, &value) else {
                report.observables_internal += 1;
                continue;
            };
            report.observables += 1;
            let indicator = indicator_id(kind, &value, &options.producer);
            push(
                json!({
                    "type": "indicator",
                    "spec_version": "2.1",
                    "id": indicator,
                    "created_by_ref": producer,
                    "created": created,
                    "modified": modified,
                    "name": value,
                    "pattern": pattern,
                    "pattern_type": "stix",
                    "valid_from": created,
                    "object_marking_refs": [tlp2_marking_id(tlp)],
                }),
                &mut added,
            );
            push(
                json!({
                    "type": "sighting",
                    "spec_version": "2.1",
                    "id": format!("sighting--{}", derived_uuid(&["sighting", &id, &indicator])),
                    "created_by_ref": producer,
                    "created": modified,
                    "modified": modified,
                    "first_seen": created,
                    "last_seen": modified,
                    "sighting_of_ref": indicator,
                    "where_sighted_refs": [producer],
                    "object_marking_refs": [tlp2_marking_id(tlp)],
                }),
                &mut added,
            );
            push(
                relationship(&id, &indicator, &modified, &producer, tlp),
                &mut added,
            );
        }
    }
    for &tlp in &report.tlps {
        push(tlp2_marking_definition(tlp), &mut added);
    }
    if let Some(list) = export
        .bundle
        .get_mut("objects")
        .and_then(Value::as_array_mut)
    {
        // Marking definitions first, as the bundle has them.
        let (markings, rest): (Vec<Value>, Vec<Value>) = added
            .into_iter()
            .partition(|o| o["type"] == "marking-definition");
        let at = list
            .iter()
            .rposition(|o| o["type"] == "marking-definition")
            .map_or(0, |i| i + 1);
        list.splice(at..at, markings);
        list.extend(rest);
    }
    export.report.tlps.extend(report.tlps.iter().copied());
    let mut parts = vec!["bundle".to_owned()];
    for o in objects_of(&export.bundle) {
        for key in ["id", "modified"] {
            parts.push(
                o.get(key)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
    }
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    export.bundle["id"] = json!(format!("bundle--{}", derived_uuid(&parts)));
    report
}

fn objects_of(bundle: &Value) -> &[Value] {
    bundle
        .get("objects")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// MISP's threat level of a severity: 1 high, 2 medium, 3 low, 4 undefined.
fn threat_level(severity: &str) -> &'static str {
    match severity {
        "critical" | "high" => "1",
        "medium" => "2",
        "low" => "3",
        _ => "4",
    }
}

/// One MISP event for `incident` from `org`, or `None` when its TLP may not go out
/// under `policy`. `internal` names the tenant's own domains.
pub fn incident_misp_event(
    incident: &SharedIncident,
    policy: &ExportPolicy,
    org: &str,
    internal: &[&str],
    report: &mut IncidentReport,
) -> Option<Value> {
    if !policy.permits(incident.tlp) {
        report.withheld_by_tlp += 1;
        return None;
    }
    report.exported += 1;
    report.tlps.insert(incident.tlp);
    let uuid = derived_uuid(&["misp-incident", org, &incident.key]).to_string();
    let seconds = |t: watchfloor_event::Timestamp| (t.0.div_euclid(1_000_000_000)).to_string();
    let date = rfc3339_millis(incident.first_seen)
        .get(..10)
        .unwrap_or("1970-01-01")
        .to_owned();
    let tlp_tag = format!("tlp:{}", incident.tlp.as_str());
    let mut tags = vec![json!({ "name": tlp_tag })];
    for t in &incident.techniques {
        let cluster = match &t.name {
            Some(name) => format!("{name} - {}", t.id),
            None => t.id.clone(),
        };
        tags.push(json!({ "name": format!("misp-galaxy:mitre-attack-pattern=\"{cluster}\"") }));
    }
    for stage in &incident.stages {
        tags.push(json!({ "name": format!("kill-chain:{stage}") }));
    }
    let (observables, dropped) = external_observables(&incident.observables, internal);
    report.observables_internal += dropped;
    let attributes: Vec<Value> = observables
        .iter()
        .map(|(kind, value)| {
            let kind_name = misp_type(*kind);
            json!({
                "uuid": derived_uuid(&[&uuid, kind.as_str(), value]).to_string(),
                "type": kind_name,
                "category": if matches!(kind, Kind::Md5 | Kind::Sha1 | Kind::Sha256) {
                    "Payload delivery"
                } else {
                    "Network activity"
                },
                "value": value,
                "to_ids": true,
                "distribution": "5",
                "timestamp": seconds(incident.last_seen),
                "first_seen": rfc3339_millis(incident.first_seen),
                "last_seen": rfc3339_millis(incident.last_seen.max(incident.first_seen)),
                "Tag": [{ "name": tlp_tag }],
            })
        })
        .collect();
    report.observables += attributes.len() as u64;
    let mut event = json!({
        "uuid": uuid,
        "info": incident.name,
        "date": date,
        "timestamp": seconds(incident.last_seen),
        "threat_level_id": threat_level(&incident.severity),
        "analysis": if incident.closed { "2" } else { "1" },
        "distribution": distribution(incident.tlp),
        "published": false,
        "Orgc": { "name": org },
        "Tag": tags,
        "Attribute": attributes,
    });
    if let Some(d) = incident
        .description
        .as_deref()
        .filter(|d| !d.trim().is_empty())
    {
        event["Attribute"]
            .as_array_mut()
            .expect("built as an array")
            .push(json!({
                "uuid": derived_uuid(&[&uuid, "comment"]).to_string(),
                "type": "comment",
                "category": "Other",
                "value": d,
                "to_ids": false,
                "distribution": "5",
                "timestamp": seconds(incident.last_seen),
                "Tag": [{ "name": tlp_tag }],
            }));
    }
    Some(json!({ "Event": event }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_external_observables_go() {
        let values: Vec<String> = [
            "10.1.2.3",
            "192.168.0.5",
            "100.64.1.1",
            "127.0.0.1",
            "fe80::1",
            "fd00::5",
            "203.0.114.9",
            "WS-ACCT-07",
            "fs01.corp.local",
            "dc.acme.internal",
            "mail.acme.example",
            "evil.example.net",
            "http://10.0.0.8/payload.exe",
            "https://cdn.evil.example.net/a.ps1",
            "admin@acme.local",
            "d41d8cd98f00b204e9800998ecf8427e",
            "evil.example.net",
        ]
        .map(str::to_owned)
        .to_vec();
        let (kept, dropped) = external_observables(&values, &["acme.example"]);
        let kept: Vec<&str> = kept.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(
            kept,
            [
                "203.0.114.9",
                "evil.example.net",
                "https://cdn.evil.example.net/a.ps1",
                "d41d8cd98f00b204e9800998ecf8427e"
            ]
        );
        assert_eq!(dropped, 12);
    }

    #[test]
    fn public_addresses() {
        for (ip, public) in [
            ("8.8.8.8", true),
            ("172.16.0.1", false),
            ("172.32.0.1", true),
            ("169.254.1.1", false),
            ("224.0.0.1", false),
            ("198.18.0.1", false),
            ("2a00:1450::1", true),
            ("::ffff:10.0.0.1", false),
            ("2001:db8::1", true),
            ("fc00::1", false),
        ] {
            assert_eq!(is_public_ip(ip.parse().unwrap()), public, "{ip}");
        }
    }
}
