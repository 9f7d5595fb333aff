//! MISP: events (`{"Event": {...}}`, a bare event, an API `{"response": [...]}` or an
//! array of events) and feeds (a `manifest.json` plus one `<uuid>.json` per event).
//!
//! Each attribute, at the event's top level or inside an object, is one candidate (two
//! for `domain|ip`); [`misp_type_kinds`] maps its type to indicator kinds, and one of a
//! type without a kind (`filename`, `text`, `regkey`...) is reported as not
//! matchable, naming the type. Attribution:
//!
//! - `source`: the creating organisation (`Orgc.name`, else `Org.name`), else the
//!   import's source.
//! - `tlp`: a `tlp:*` tag on the attribute, else on its object, else on the event,
//!   else the import's; distribution `0` ("your organisation only", after inheriting
//!   through `5`) raises it to at least TLP:AMBER+STRICT.
//! - `confidence`: an `osint:certainty="NN"` or
//!   `estimative-language:confidence-in-analytic-judgment` tag (nearest level first),
//!   else the import's. **`to_ids: false` halves it and adds the tag
//!   `misp:to_ids="false"`**: MISP marks so what its authors would not alert on (context,
//!   victims, legitimate services), but the value is still intelligence worth matching
//!   with less weight.
//! - `tags`: every tag of the event, object and attribute other than TLP, plus
//!   `misp:category="..."`. `attack`: ATT&CK ids from `misp-galaxy:*attack-pattern*`
//!   tags (`"Command-Line Interface - T1059"`) and attack-pattern galaxy clusters.
//! - `valid_from`: the attribute's `first_seen`. `reference`: the attribute's uuid.
//!   `description`: the event's `info`, and the object's and attribute's comments.
//!
//! Deleted attributes (and attributes of deleted objects) and proposals
//! (`ShadowAttribute`) are skipped and said so. Galaxy clusters are kept as
//! [`ContextObject`]s. Documents that are not events (object templates, galaxies,
//! STIX bundles) are reported as such.

use serde_json::Value;

use super::{
    Collector, ContextObject, ImportContext, ImportError, ImportReport, Imported, SourceFormat,
    attack_id, clip, parse_time, push_tag, refine_ip_kind,
};
use crate::model::{Attribution, Kind, NewIndicator, Tlp};

/// The indicator kinds (and values) a MISP attribute of type `ty` gives, or why it
/// gives none.
///
/// | MISP type | kind |
/// |---|---|
/// | `ip-src`, `ip-dst` | IPv4 / IPv6 / CIDR by the value |
/// | `ip-src\|port`, `ip-dst\|port` | the address part |
/// | `domain`, `hostname` | domain |
/// | `hostname\|port` | the domain part |
/// | `domain\|ip` | domain and address (two indicators) |
/// | `url`, `uri` | URL (a `uri` without a scheme is a bad value) |
/// | `email`, `email-src`, `email-dst`, `email-reply-to`, `whois-registrant-email`, `dns-soa-email` | e-mail |
/// | `md5`, `sha1`, `sha256` | the hash |
/// | `filename\|md5`, `filename\|sha1`, `filename\|sha256`, `malware-sample` (`name\|md5`) | the hash part |
/// | `user-agent` | user agent |
/// | `ja3-fingerprint-md5` | JA3 |
/// | `link` | none: a reference to read, not an indicator |
/// | anything else (`text`, `filename`, `regkey`, `sha512`, `AS`...) | none, naming the type |
///
/// An attribute of a type without a kind is reported as not matchable (like a STIX
/// `file:name` comparison): nothing is wrong with it, it just cannot be matched.
pub fn misp_type_kinds(ty: &str, value: &str) -> Result<Vec<(Kind, String)>, MispTypeError> {
    let ip = |v: &str| (refine_ip_kind(Kind::Ipv4, v), v.trim().to_owned());
    let one = |k: Kind, v: &str| Ok(vec![(k, v.trim().to_owned())]);
    let no_pipe =
        || MispTypeError::Malformed(format!("a `{ty}` value without `|`: `{}`", clip(value, 80)));
    let first = |v: &str| {
        v.split_once('|')
            .map(|(a, _)| a.to_owned())
            .ok_or_else(no_pipe)
    };
    let hash_part = |v: &str| {
        v.rsplit_once('|')
            .map(|(_, h)| h.to_owned())
            .ok_or_else(no_pipe)
    };
    match ty {
        "ip-src" | "ip-dst" => Ok(vec![ip(value)]),
        "ip-src|port" | "ip-dst|port" => Ok(vec![ip(&first(value)?)]),
        "domain" | "hostname" => one(Kind::Domain, value),
        "hostname|port" => one(Kind::Domain, &first(value)?),
        "domain|ip" => {
            let (d, i) = value.split_once('|').ok_or_else(no_pipe)?;
            Ok(vec![(Kind::Domain, d.trim().to_owned()), ip(i)])
        }
        "url" | "uri" => one(Kind::Url, value),
        "link" => Err(MispTypeError::NoKind(
            "MISP type `link`: a reference to read, not an indicator".into(),
        )),
        "email"
        | "email-src"
        | "email-dst"
        | "email-reply-to"
        | "whois-registrant-email"
        | "dns-soa-email" => one(Kind::Email, value),
        "md5" => one(Kind::Md5, value),
        "sha1" => one(Kind::Sha1, value),
        "sha256" => one(Kind::Sha256, value),
        "filename|md5" | "malware-sample" => one(Kind::Md5, &hash_part(value)?),
        "filename|sha1" => one(Kind::Sha1, &hash_part(value)?),
        "filename|sha256" => one(Kind::Sha256, &hash_part(value)?),
        "user-agent" => one(Kind::UserAgent, value),
        "ja3-fingerprint-md5" => one(Kind::Ja3, value),
        _ => Err(MispTypeError::NoKind(format!(
            "MISP type `{ty}` has no indicator kind here"
        ))),
    }
}

/// Why a MISP attribute gives no indicator.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MispTypeError {
    /// A type no indicator kind matches (`filename`, `text`, `regkey`...): reported as
    /// not matchable.
    #[error("{0}")]
    NoKind(String),
    /// A composite value (`domain|ip`) without its parts: skipped as a bad value.
    #[error("{0}")]
    Malformed(String),
}

/// Imports a MISP event document.
pub fn import_misp_event(text: &str, ctx: &ImportContext<'_>) -> Imported {
    let mut out = Imported::default();
    let mut collector = Collector::new(ctx, SourceFormat::MispEvent, |i: NewIndicator| {
        out.indicators.push(i)
    });
    let mut context = Vec::new();
    match serde_json::from_str::<Value>(text) {
        Ok(doc) => match events_of(&doc) {
            Ok(events) => {
                for (i, ev) in events.iter().enumerate() {
                    let label = match (str_of(ev, "uuid"), events.len()) {
                        (Some(u), _) => format!("event {u}"),
                        (None, 1) => "event".to_owned(),
                        (None, _) => format!("event[{i}]"),
                    };
                    import_event(ev, &label, &mut collector, &mut context);
                }
                if events
                    .iter()
                    .all(|e| e.as_object().is_some_and(|m| m.is_empty()))
                {
                    collector.report.note("document", "an empty event");
                }
            }
            Err(reason) => collector.report.skip("document", reason),
        },
        Err(e) => collector
            .report
            .skip("document", format!("invalid JSON: {e}")),
    }
    let mut report = collector.report;
    report.context_objects = context.len() as u64;
    out.report = report;
    out.context = context;
    out
}

/// One entry of a MISP feed's `manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestEntry {
    pub uuid: String,
    pub info: Option<String>,
    /// The event's `timestamp` (Unix seconds): fetch again only when it grew.
    pub timestamp: Option<i64>,
    pub date: Option<String>,
    pub org: Option<String>,
}

/// Reads a MISP feed's `manifest.json` (`{"<uuid>": {"info": ..., "timestamp": ...}}`).
pub fn parse_misp_manifest(text: &str) -> Result<Vec<ManifestEntry>, ImportError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| ImportError::Document {
        what: "MISP feed manifest",
        message: e.to_string(),
    })?;
    let Some(map) = doc.as_object() else {
        return Err(ImportError::Document {
            what: "MISP feed manifest",
            message: "not a JSON object of event uuids".into(),
        });
    };
    Ok(map
        .iter()
        .map(|(uuid, e)| ManifestEntry {
            uuid: uuid.clone(),
            info: str_of(e, "info").map(str::to_owned),
            timestamp: num(e.get("timestamp")).and_then(|t| i64::try_from(t).ok()),
            date: str_of(e, "date").map(str::to_owned),
            org: e
                .get("Orgc")
                .and_then(|o| str_of(o, "name"))
                .map(str::to_owned),
        })
        .collect())
}

/// Imports a MISP feed: every event its manifest lists, each got through `fetch` (given
/// the event's uuid, it returns the text of `<uuid>.json`). An event that cannot be
/// fetched or read is one skipped record; the others are imported.
pub fn import_misp_feed(
    manifest: &str,
    mut fetch: impl FnMut(&str) -> Result<String, String>,
    ctx: &ImportContext<'_>,
) -> Result<Imported, ImportError> {
    let entries = parse_misp_manifest(manifest)?;
    let mut out = Imported {
        report: ImportReport::new(ctx.base.source.clone(), SourceFormat::MispFeed),
        ..Imported::default()
    };
    for entry in &entries {
        let place = format!("event {}", entry.uuid);
        let text = match fetch(&entry.uuid) {
            Ok(t) => t,
            Err(e) => {
                out.report.skip(place, format!("could not fetch: {e}"));
                continue;
            }
        };
        let event = import_misp_event(&text, ctx);
        out.indicators.extend(event.indicators);
        out.context.extend(event.context);
        out.report.absorb(event.report);
    }
    Ok(out)
}

fn str_of<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

/// A number MISP wrote as a number or as a string of digits.
fn num(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn truthy(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => Some(n.as_u64() != Some(0)),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "1" | "true" => Some(true),
            "0" | "false" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn array<'v>(v: &'v Value, key: &str) -> &'v [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

const EVENT_KEYS: &[&str] = &[
    "Attribute",
    "Object",
    "info",
    "uuid",
    "Tag",
    "Orgc",
    "date",
    "threat_level_id",
    "analysis",
    "published",
    "ShadowAttribute",
    "Galaxy",
];

/// `{"Event": {...}}` or a bare event.
fn unwrap_event(v: &Value) -> Option<&Value> {
    match v.get("Event") {
        Some(e) if e.is_object() => Some(e),
        Some(_) => None,
        None => v.is_object().then_some(v),
    }
}

/// The events in a document, or what the document is instead.
fn events_of(doc: &Value) -> Result<Vec<&Value>, String> {
    if let Some(e) = doc.get("Event") {
        return if e.is_object() {
            Ok(vec![e])
        } else {
            Err("`Event` is not a JSON object".into())
        };
    }
    let list = match doc {
        Value::Array(a) => Some(a),
        Value::Object(m) => m.get("response").and_then(Value::as_array),
        _ => None,
    };
    if let Some(list) = list {
        return list
            .iter()
            .enumerate()
            .map(|(i, v)| unwrap_event(v).ok_or_else(|| format!("element {i} is not a MISP event")))
            .collect();
    }
    let Some(map) = doc.as_object() else {
        return Err("not a MISP event: not a JSON object".into());
    };
    if map.contains_key("attributes")
        && (map.contains_key("requiredOneOf")
            || map.contains_key("required")
            || map.contains_key("meta-category"))
        && !map.contains_key("Attribute")
    {
        return Err("a MISP object template (definition.json), not an event".into());
    }
    if map.contains_key("GalaxyCluster") {
        return Err("a MISP galaxy, not an event".into());
    }
    if str_of(doc, "type") == Some("bundle") || map.contains_key("spec_version") {
        return Err("a STIX bundle, not a MISP event (import it as STIX)".into());
    }
    if map.is_empty() || EVENT_KEYS.iter().any(|k| map.contains_key(*k)) {
        return Ok(vec![doc]);
    }
    let keys: Vec<&str> = map.keys().map(String::as_str).take(8).collect();
    Err(format!("not a MISP event (its keys: {})", keys.join(", ")))
}

/// What one level (event, object, attribute) says about attribution.
#[derive(Clone, Default)]
struct Level {
    tags: Vec<String>,
    tlp: Option<Tlp>,
    confidence: Option<u8>,
    attack: Vec<String>,
    distribution: Option<u64>,
}

impl Level {
    fn read(v: &Value, context: &mut Vec<ContextObject>) -> Level {
        let mut level = Level {
            distribution: num(v.get("distribution")).filter(|d| *d != 5),
            ..Level::default()
        };
        for tag in array(v, "Tag") {
            let name = match tag {
                Value::String(s) => s.as_str(),
                t => str_of(t, "name").unwrap_or_default(),
            };
            level.tag(name.trim());
        }
        for galaxy in array(v, "Galaxy") {
            let attack_galaxy =
                str_of(galaxy, "type").is_some_and(|t| t.contains("attack-pattern"));
            for cluster in array(galaxy, "GalaxyCluster") {
                if let Some(name) = str_of(cluster, "tag_name") {
                    level.tag(name);
                }
                if attack_galaxy {
                    let ids = cluster
                        .get("meta")
                        .map(|m| array(m, "external_id"))
                        .unwrap_or_default();
                    for id in ids.iter().filter_map(Value::as_str).filter_map(attack_id) {
                        push_tag(&mut level.attack, id);
                    }
                }
                // Old exports give every cluster its galaxy's uuid: the value tells
                // them apart.
                let id = str_of(cluster, "uuid").unwrap_or_default();
                let value = str_of(cluster, "value");
                if context
                    .iter()
                    .any(|c| c.id == id && c.name.as_deref() == value)
                {
                    continue;
                }
                context.push(ContextObject {
                    id: id.to_owned(),
                    kind: "misp-galaxy-cluster".into(),
                    name: value.map(str::to_owned),
                    json: cluster.clone(),
                });
            }
        }
        level
    }

    fn tag(&mut self, name: &str) {
        if name.is_empty() {
            return;
        }
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("tlp:")
            && let Some(t) = Tlp::parse(name)
        {
            self.tlp = Some(self.tlp.map_or(t, |old| old.max(t)));
            return;
        }
        if let Some(rest) = lower.strip_prefix("osint:certainty=") {
            self.confidence = rest
                .trim_matches('"')
                .parse::<u8>()
                .ok()
                .map(|c| c.min(100));
        }
        if let Some(rest) =
            lower.strip_prefix("estimative-language:confidence-in-analytic-judgment=")
        {
            self.confidence = match rest.trim_matches('"') {
                "high" => Some(80),
                "moderate" => Some(50),
                "low" => Some(20),
                _ => self.confidence,
            };
        }
        if lower.starts_with("misp-galaxy:") && lower.contains("attack-pattern") {
            let value = name.trim_end_matches('"');
            if let Some((_, id)) = value.rsplit_once(" - ")
                && let Some(id) = attack_id(id)
            {
                push_tag(&mut self.attack, id);
            }
        }
        push_tag(&mut self.tags, name);
    }
}

fn import_event<S: FnMut(NewIndicator)>(
    ev: &Value,
    label: &str,
    collector: &mut Collector<'_, S>,
    context: &mut Vec<ContextObject>,
) {
    let source = ev
        .get("Orgc")
        .and_then(|o| str_of(o, "name"))
        .or_else(|| ev.get("Org").and_then(|o| str_of(o, "name")))
        .map(str::to_owned);
    let event_level = Level::read(ev, context);
    let info = str_of(ev, "info").map(str::trim).filter(|s| !s.is_empty());
    let base = EventBase {
        source,
        info: info.map(str::to_owned),
        level: event_level,
    };
    for (i, a) in array(ev, "Attribute").iter().enumerate() {
        let place = format!("{label} Attribute[{i}]");
        attribute(a, &place, &base, None, collector, context);
    }
    for (j, o) in array(ev, "Object").iter().enumerate() {
        let name = str_of(o, "name").unwrap_or("object");
        let oplace = format!("{label} Object[{j}] ({name})");
        let object = ObjectBase {
            level: Level::read(o, context),
            comment: str_of(o, "comment")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            deleted: truthy(o.get("deleted")) == Some(true),
        };
        for (k, a) in array(o, "Attribute").iter().enumerate() {
            let place = format!("{oplace} Attribute[{k}]");
            attribute(a, &place, &base, Some(&object), collector, context);
        }
    }
    for (i, _) in array(ev, "ShadowAttribute").iter().enumerate() {
        collector.report.skip(
            format!("{label} ShadowAttribute[{i}]"),
            "a proposal (ShadowAttribute), not accepted into the event",
        );
    }
}

struct EventBase {
    source: Option<String>,
    info: Option<String>,
    level: Level,
}

struct ObjectBase {
    level: Level,
    comment: Option<String>,
    deleted: bool,
}

fn attribute<S: FnMut(NewIndicator)>(
    a: &Value,
    place: &str,
    event: &EventBase,
    object: Option<&ObjectBase>,
    collector: &mut Collector<'_, S>,
    context: &mut Vec<ContextObject>,
) {
    for (i, _) in array(a, "ShadowAttribute").iter().enumerate() {
        collector.report.skip(
            format!("{place} ShadowAttribute[{i}]"),
            "a proposal (ShadowAttribute), not accepted into the event",
        );
    }
    if !a.is_object() {
        collector.report.skip(place, "not a JSON object");
        return;
    }
    let Some(ty) = str_of(a, "type") else {
        collector.report.skip(place, "an attribute without `type`");
        return;
    };
    let value = match a.get("value") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            collector
                .report
                .skip(place, format!("a `{ty}` attribute without a value"));
            return;
        }
    };
    if truthy(a.get("deleted")) == Some(true) {
        collector.report.skip(place, "deleted in MISP");
        return;
    }
    if object.is_some_and(|o| o.deleted) {
        collector
            .report
            .skip(place, "its object is deleted in MISP");
        return;
    }
    let kinds = match misp_type_kinds(ty, &value) {
        Ok(k) => k,
        Err(MispTypeError::NoKind(reason)) => {
            collector.report.not_matchable(place, reason);
            return;
        }
        Err(MispTypeError::Malformed(reason)) => {
            collector.report.skip(place, reason);
            return;
        }
    };
    let own = Level::read(a, context);
    let levels: Vec<&Level> = [Some(&own), object.map(|o| &o.level), Some(&event.level)]
        .into_iter()
        .flatten()
        .collect();

    let mut attribution: Attribution = collector.ctx.attribution();
    if let Some(source) = &event.source {
        attribution.source = source.clone();
    }
    if let Some(t) = levels.iter().find_map(|l| l.tlp) {
        attribution.tlp = t;
    }
    if levels.iter().find_map(|l| l.distribution) == Some(0) {
        attribution.tlp = attribution.tlp.max(Tlp::AmberStrict);
    }
    if let Some(c) = levels.iter().find_map(|l| l.confidence) {
        attribution.confidence = c;
    }
    for l in levels.iter().rev() {
        for t in &l.tags {
            push_tag(&mut attribution.tags, t.clone());
        }
        for id in &l.attack {
            push_tag(&mut attribution.attack, id.clone());
        }
    }
    if let Some(category) = str_of(a, "category") {
        push_tag(
            &mut attribution.tags,
            format!("misp:category=\"{category}\""),
        );
    }
    if truthy(a.get("to_ids")) == Some(false) {
        attribution.confidence /= 2;
        push_tag(&mut attribution.tags, "misp:to_ids=\"false\"");
    }
    if let Some(first_seen) = str_of(a, "first_seen") {
        match parse_time(first_seen) {
            Some(t) => attribution.valid_from = Some(t),
            None => collector.report.note(
                place,
                format!(
                    "first_seen `{}` is not an RFC 3339 time; ignored",
                    clip(first_seen, 60)
                ),
            ),
        }
    }
    attribution.reference = Some(
        str_of(a, "uuid")
            .map(str::to_owned)
            .unwrap_or_else(|| place.to_owned()),
    );
    let comment = str_of(a, "comment")
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let parts: Vec<&str> = [
        event.info.as_deref(),
        object.and_then(|o| o.comment.as_deref()),
        comment,
    ]
    .into_iter()
    .flatten()
    .collect();
    if !parts.is_empty() {
        attribution.description = Some(parts.join(" / "));
    }
    for (kind, v) in kinds {
        collector.offer(kind, &v, attribution.clone(), place);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_map_to_kinds() {
        let k = |t: &str, v: &str| {
            misp_type_kinds(t, v).map(|x| x.into_iter().map(|(k, _)| k).collect::<Vec<_>>())
        };
        assert_eq!(k("ip-dst", "10.0.0.1"), Ok(vec![Kind::Ipv4]));
        assert_eq!(k("ip-src", "2001:db8::1"), Ok(vec![Kind::Ipv6]));
        assert_eq!(k("ip-dst", "10.0.0.0/8"), Ok(vec![Kind::Cidr]));
        assert_eq!(k("ip-dst|port", "10.0.0.1|443"), Ok(vec![Kind::Ipv4]));
        assert_eq!(
            k("domain|ip", "a.example|10.0.0.1"),
            Ok(vec![Kind::Domain, Kind::Ipv4])
        );
        assert_eq!(k("hostname|port", "a.example|80"), Ok(vec![Kind::Domain]));
        assert_eq!(k("filename|sha256", "a|b|cc"), Ok(vec![Kind::Sha256]));
        assert_eq!(
            misp_type_kinds("malware-sample", "x.exe|7637beddacbeac59d44469b2b120b9e6").unwrap()[0]
                .1,
            "7637beddacbeac59d44469b2b120b9e6"
        );
        assert_eq!(k("ja3-fingerprint-md5", "x"), Ok(vec![Kind::Ja3]));
        assert_eq!(k("user-agent", "x"), Ok(vec![Kind::UserAgent]));
        assert!(
            k("link", "http://x")
                .unwrap_err()
                .to_string()
                .contains("link")
        );
        assert!(
            matches!(k("regkey|value", "x"), Err(MispTypeError::NoKind(r)) if r.contains("`regkey|value`"))
        );
        assert!(matches!(
            k("domain|ip", "nopipe"),
            Err(MispTypeError::Malformed(_))
        ));
    }
}
