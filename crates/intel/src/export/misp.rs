//! MISP events of indicators, under TLP.
//!
//! One event (`{"Event": {...}}`) from the producer's organisation (`Orgc`), with one
//! attribute per indicator that goes out:
//!
//! - `type` from [`misp_type`] (networks are `ip-dst` with a CIDR value, as MISP
//!   takes them), `category` the one the indicator was imported with
//!   (`misp:category="..."`) when MISP allows it for the type, else the type's usual;
//! - `to_ids` false only when every source said so (`misp:to_ids="false"`);
//! - a `tlp:*` tag of the strictest attribution that went out, then the other tags,
//!   and the `distribution` of that TLP (below);
//! - `comment` the first description, `first_seen` the earliest validity start when
//!   every attribution has one, `timestamp` when the store last heard of it;
//! - a uuid derived from the event's uuid, kind and value, so a re-export is the same.
//!
//! The event's own `tlp:*` tag is the strictest among its attributes, and its
//! `distribution` follows it as an attribute's follows its own: TLP:CLEAR all
//! communities (3), TLP:GREEN this community (1), TLP:AMBER and TLP:AMBER+STRICT your
//! organisation only (0), since MISP has no level between an organisation and its
//! community. (Our MISP importer reads distribution 0 as at least TLP:AMBER+STRICT,
//! so TLP:AMBER comes back stricter.)

use std::collections::HashSet;

use serde_json::{Value, json};

use super::stix::withheld_context_names;
use super::{ExportPolicy, ExportReport, derived_uuid, is_tlp_tag, rfc3339_millis, select};
use crate::import::ContextObject;
use crate::model::{Kind, Tlp};
use crate::store::{AttributionRef, IndicatorView};

/// What the event says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MispOptions {
    /// The creating organisation (`Orgc.name`): the source the recipient sees.
    pub org: String,
    /// The event's title.
    pub info: String,
    /// 1 high, 2 medium, 3 low, 4 undefined.
    pub threat_level_id: u8,
    /// 0 initial, 1 ongoing, 2 completed.
    pub analysis: u8,
    /// The event's uuid; `None` derives it from `org` and `info`, so the same export
    /// updates the same event.
    pub event_uuid: Option<String>,
    /// The TLP of a context object without a TLP marking (see
    /// [`super::stix::StixOptions::unmarked_context`]).
    pub unmarked_context: Tlp,
}

impl MispOptions {
    /// An event titled `info` from `org`: threat level undefined, analysis completed.
    pub fn new(org: impl Into<String>, info: impl Into<String>) -> MispOptions {
        MispOptions {
            org: org.into(),
            info: info.into(),
            threat_level_id: 4,
            analysis: 2,
            event_uuid: None,
            unmarked_context: Tlp::Amber,
        }
    }
}

/// An event and the account of what went into it.
#[derive(Clone, Debug, PartialEq)]
pub struct MispExport {
    pub event: Value,
    pub report: ExportReport,
}

/// The MISP attribute type of a kind.
pub fn misp_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Ipv4 | Kind::Ipv6 | Kind::Cidr => "ip-dst",
        Kind::Domain => "domain",
        Kind::Url => "url",
        Kind::Email => "email-src",
        Kind::Md5 => "md5",
        Kind::Sha1 => "sha1",
        Kind::Sha256 => "sha256",
        Kind::UserAgent => "user-agent",
        Kind::Ja3 => "ja3-fingerprint-md5",
    }
}

/// The categories MISP accepts for a kind's type, the usual one first.
fn categories(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Ipv4 | Kind::Ipv6 | Kind::Cidr | Kind::Domain | Kind::UserAgent | Kind::Ja3 => {
            &["Network activity", "Payload delivery", "External analysis"]
        }
        Kind::Url => &[
            "Network activity",
            "Payload delivery",
            "External analysis",
            "Payload installation",
        ],
        Kind::Email => &["Payload delivery", "Network activity", "Social network"],
        Kind::Md5 | Kind::Sha1 | Kind::Sha256 => &[
            "Payload delivery",
            "Artifacts dropped",
            "Payload installation",
            "External analysis",
        ],
    }
}

/// The MISP `distribution` for a TLP (see the module doc).
pub(crate) fn distribution(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "3",
        Tlp::Green => "1",
        Tlp::Amber | Tlp::AmberStrict | Tlp::Red => "0",
    }
}

const CATEGORY_TAG: &str = "misp:category=\"";
const NOT_TO_IDS_TAG: &str = "misp:to_ids=\"false\"";

/// Writes one MISP event of `indicators` (`intel.iter()` for all of them). `context`
/// (the objects the importers kept) is not written; it is read so that tags naming a
/// withheld STIX object (`malware:Name`) are withheld with it.
pub fn export_misp_event<'a>(
    indicators: impl IntoIterator<Item = IndicatorView<'a>>,
    context: &[ContextObject],
    policy: &ExportPolicy,
    options: &MispOptions,
) -> MispExport {
    let mut report = ExportReport::new(policy);
    let withheld = withheld_context_names(context, options.unmarked_context, policy);
    let event_uuid = options
        .event_uuid
        .clone()
        .unwrap_or_else(|| derived_uuid(&["misp-event", &options.org, &options.info]).to_string());
    let mut attributes = Vec::new();
    let mut event_tlp: Option<Tlp> = None;
    let mut latest = policy.now.0.div_euclid(1_000_000_000);
    for view in indicators {
        let Some(attributions) = select(&view, policy, &mut report) else {
            continue;
        };
        let tlp = attributions.iter().map(|a| a.tlp).max().unwrap_or(Tlp::Red);
        event_tlp = Some(event_tlp.map_or(tlp, |t| t.max(tlp)));
        report.tlps.insert(tlp);
        report.exported += 1;
        report.objects += 1;
        let seen = view.last_seen.0.div_euclid(1_000_000_000);
        latest = latest.max(seen);
        attributes.push(attribute(
            &view,
            &attributions,
            tlp,
            &event_uuid,
            seen,
            &withheld,
        ));
    }
    let tags: Vec<Value> = event_tlp
        .map(|t| json!({"name": format!("tlp:{}", t.as_str())}))
        .into_iter()
        .collect();
    let date: String = rfc3339_millis(policy.now).chars().take(10).collect();
    let event = json!({
        "Event": {
            "uuid": event_uuid,
            "info": options.info,
            "date": date,
            "threat_level_id": options.threat_level_id.clamp(1, 4).to_string(),
            "analysis": options.analysis.min(2).to_string(),
            "distribution": distribution(event_tlp.unwrap_or(Tlp::AmberStrict)),
            "published": false,
            "timestamp": latest.to_string(),
            "Orgc": {
                "name": options.org,
                "uuid": derived_uuid(&["misp-org", &options.org]).to_string(),
            },
            "Tag": tags,
            "Attribute": attributes,
        }
    });
    MispExport { event, report }
}

fn attribute(
    view: &IndicatorView<'_>,
    attributions: &[AttributionRef<'_>],
    tlp: Tlp,
    event_uuid: &str,
    timestamp: i64,
    withheld: &HashSet<String>,
) -> Value {
    let mut tags = vec![format!("tlp:{}", tlp.as_str())];
    let mut category = None;
    for a in attributions {
        for t in a.tags.iter().map(|t| t.trim()) {
            if let Some(c) = t
                .strip_prefix(CATEGORY_TAG)
                .and_then(|c| c.strip_suffix('"'))
            {
                category = category.or(categories(view.kind).iter().find(|k| **k == c));
            } else if !t.is_empty()
                && !is_tlp_tag(t)
                && !withheld.contains(t)
                && t != NOT_TO_IDS_TAG
                && !tags.iter().any(|x| x == t)
            {
                tags.push(t.to_owned());
            }
        }
    }
    let to_ids = !attributions
        .iter()
        .all(|a| a.tags.iter().any(|t| &**t == NOT_TO_IDS_TAG));
    let ty = misp_type(view.kind);
    let uuid = derived_uuid(&["misp-attribute", event_uuid, view.kind.as_str(), view.value]);
    let mut o = json!({
        "uuid": uuid.to_string(),
        "type": ty,
        "category": category.copied().unwrap_or(categories(view.kind)[0]),
        "value": view.value,
        "to_ids": to_ids,
        "distribution": distribution(tlp),
        "timestamp": timestamp.to_string(),
        "comment": attributions.iter().find_map(|a| a.description).unwrap_or_default(),
        "Tag": tags.iter().map(|t| json!({"name": t})).collect::<Vec<_>>(),
    });
    let starts: Option<Vec<_>> = attributions.iter().map(|a| a.valid_from).collect();
    if let Some(first) = starts.and_then(|s| s.into_iter().min()) {
        o["first_seen"] = json!(rfc3339_millis(first));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::misp::misp_type_kinds;

    #[test]
    fn every_kind_has_a_type_the_importer_reads_back() {
        let samples = [
            (Kind::Ipv4, "10.0.0.1"),
            (Kind::Ipv6, "2001:db8::1"),
            (Kind::Cidr, "10.0.0.0/8"),
            (Kind::Domain, "evil.example"),
            (Kind::Url, "http://evil.example/"),
            (Kind::Email, "bob@evil.example"),
            (Kind::Md5, "d41d8cd98f00b204e9800998ecf8427e"),
            (Kind::Sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            (
                Kind::Sha256,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (Kind::UserAgent, "curl/8.0"),
            (Kind::Ja3, "e7d705a3286e19ea42f587b344ee6865"),
        ];
        for (kind, value) in samples {
            let back = misp_type_kinds(misp_type(kind), value).unwrap();
            assert_eq!(back, vec![(kind, value.to_owned())], "{kind}");
        }
    }

    #[test]
    fn distribution_never_opens_amber() {
        assert_eq!(distribution(Tlp::Amber), "0");
        assert_eq!(distribution(Tlp::AmberStrict), "0");
        assert_eq!(distribution(Tlp::Green), "1");
        assert_eq!(distribution(Tlp::Clear), "3");
    }
}
