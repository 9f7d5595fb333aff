//! STIX 2.1 bundles of indicators, under TLP.
//!
//! What a bundle holds, in this order:
//!
//! - the producer's `identity` (`identity_class: organization`, marked TLP:CLEAR);
//! - the TLP 2.0 `marking-definition`s the bundle uses, exactly as OASIS publishes them
//!   (the `extension-definition--60a3c5c5-...` property extension), see
//!   [`tlp2_marking_definition`];
//! - one `identity` per source whose word goes out, `created_by_ref` the producer and
//!   marked with the most open TLP of the indicators naming it (it is disclosed to
//!   whoever may read those); a source the context holds an identity of (the author
//!   of an imported bundle) keeps that identity instead, when it may go out;
//! - one `indicator` per indicator and source, `created_by_ref` the source's identity
//!   (so the recipient, and our own importer, see who said it), with a deterministic
//!   id (UUIDv5 of kind, value and source: a re-export gives the same ids), the
//!   pattern of [`indicator_pattern`], `valid_from` (the earliest of the source's
//!   attributions, else when the store first saw it), `valid_until`, `confidence`,
//!   `labels` (the tags, without TLP tags), `external_references` for ATT&CK ids,
//!   `description`, and the TLP 2.0 marking of the strictest attribution that went out;
//! - the caller's context objects that pass the same policy (see [`export_stix`]).
//!
//! JA3 fingerprints have no standard STIX object: they are reported as not
//! representable rather than written under a custom property nobody reads.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};
use watchfloor_event::Timestamp;

use super::{
    ExportPolicy, ExportReport, SourceGroup, by_source, derived_uuid, indicator_uuid,
    rfc3339_millis, select,
};
use crate::import::ContextObject;
use crate::import::stix::{TLP_MARKING_DEFINITIONS, TLP2_EXTENSION, marking_tlp};
use crate::model::{Kind, Tlp};
use crate::store::IndicatorView;

/// Who makes the bundle, and how context objects without a TLP marking are treated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StixOptions {
    /// The producer's name: its `identity` creates the source identities.
    pub producer: String,
    /// The `created` (and `modified`) of the identities the bundle makes. Fixed by the
    /// caller (the tenant's creation time, say) so that re-exports are identical.
    pub identities_created: Timestamp,
    /// The TLP of a context object that carries no TLP marking: TLP:AMBER unless the
    /// caller knows better, the same cautious default as
    /// [`crate::Attribution::from_source`].
    pub unmarked_context: Tlp,
}

impl StixOptions {
    pub fn new(producer: impl Into<String>, identities_created: Timestamp) -> StixOptions {
        StixOptions {
            producer: producer.into(),
            identities_created,
            unmarked_context: Tlp::Amber,
        }
    }
}

/// A bundle and the account of what went into it.
#[derive(Clone, Debug, PartialEq)]
pub struct StixExport {
    pub bundle: Value,
    pub report: ExportReport,
}

/// The OASIS TLP 2.0 marking-definition id of a level.
pub fn tlp2_marking_id(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
    }
}

/// The TLP 2.0 `marking-definition` of a level, as OASIS publishes it
/// (cti-stix-common-objects, `extension-definition-specifications/tlp-2.0`).
pub fn tlp2_marking_definition(tlp: Tlp) -> Value {
    let mut extension = Map::new();
    extension.insert(
        TLP2_EXTENSION.to_owned(),
        json!({"extension_type": "property-extension", "tlp_2_0": tlp.as_str()}),
    );
    json!({
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": tlp2_marking_id(tlp),
        "created": "2022-10-01T00:00:00.000Z",
        "name": tlp.to_string(),
        "extensions": extension,
    })
}

/// The STIX pattern matching `value` (normalised) of `kind`, or `None` for a kind
/// standard STIX cannot express (JA3). A network is `ISSUBSET` its CIDR block: any
/// address inside it matches, as the indicator means.
pub fn indicator_pattern(kind: Kind, value: &str) -> Option<String> {
    let (path, op) = match kind {
        Kind::Ipv4 => ("ipv4-addr:value", "="),
        Kind::Ipv6 => ("ipv6-addr:value", "="),
        Kind::Cidr if value.contains(':') => ("ipv6-addr:value", "ISSUBSET"),
        Kind::Cidr => ("ipv4-addr:value", "ISSUBSET"),
        Kind::Domain => ("domain-name:value", "="),
        Kind::Url => ("url:value", "="),
        Kind::Email => ("email-addr:value", "="),
        Kind::Md5 => ("file:hashes.MD5", "="),
        Kind::Sha1 => ("file:hashes.'SHA-1'", "="),
        Kind::Sha256 => ("file:hashes.'SHA-256'", "="),
        Kind::UserAgent => (
            "network-traffic:extensions.'http-request-ext'.request_header.'User-Agent'",
            "=",
        ),
        Kind::Ja3 => return None,
    };
    Some(format!("[{path} {op} '{}']", escape_literal(value)))
}

/// A STIX pattern string literal's body: `\` and `'` escaped.
fn escape_literal(value: &str) -> String {
    value.replace('\\', "\\\\").replace('\'', "\\'")
}

/// The id of the `identity` the bundle makes for a source or producer name.
pub fn identity_id(name: &str) -> String {
    format!("identity--{}", derived_uuid(&["identity", name]))
}

/// The id of the `indicator` for `kind` and `value` (normalised) from `source`: the
/// same on every export.
pub fn indicator_id(kind: Kind, value: &str, source: &str) -> String {
    format!("indicator--{}", indicator_uuid(kind, value, source))
}

/// Writes a STIX 2.1 bundle of `indicators` (`intel.iter()` for all of them) and of
/// the `context` objects that pass the policy.
///
/// Context objects (as the STIX importer keeps them) go out when they are STIX 2.1
/// objects whose TLP (from `object_marking_refs` and `granular_markings`, the TLP 1.0
/// and 2.0 definitions or TLP marking definitions among the context; none:
/// [`StixOptions::unmarked_context`]) is within the ceiling, and:
///
/// - relationships only when both ends go out; an end that was an imported indicator
///   is rewritten to the exported indicators that came from it (one relationship per
///   pair, with a derived id, when there are several);
/// - identities and non-TLP marking definitions only when something that goes out
///   refers to them;
/// - never reports, groupings, notes, opinions, observed data and sightings (their
///   lists of refs would name what was withheld), nor TLP marking definitions (the
///   bundle carries the TLP 2.0 ones);
///
/// and their TLP markings are replaced by the TLP 2.0 marking of their level.
pub fn export_stix<'a>(
    indicators: impl IntoIterator<Item = IndicatorView<'a>>,
    context: &[ContextObject],
    policy: &ExportPolicy,
    options: &StixOptions,
) -> StixExport {
    let mut report = ExportReport::new(policy);
    let producer = identity_id(&options.producer);
    let identities_created = rfc3339_millis(options.identities_created);
    let levels = ContextLevels::new(context, options.unmarked_context);
    let withheld_names = withheld_names(context, &levels, policy);

    // A source the context has an identity for (the author, as imported) keeps that
    // identity, if it may go out; the others get one made from their name.
    let mut authors: HashMap<&str, &str> = HashMap::new();
    for c in context {
        if c.kind == "identity"
            && c.id.starts_with("identity--")
            && str_of(&c.json, "id") == Some(c.id.as_str())
            && str_of(&c.json, "spec_version") == Some("2.1")
            && c.json.get("revoked").and_then(Value::as_bool) != Some(true)
            && policy.permits(levels.of(&c.json))
            && let Some(name) = c.name.as_deref()
        {
            authors.entry(name).or_insert(c.id.as_str());
        }
    }
    let mut authors_used: HashSet<&str> = HashSet::new();
    // Sources without an identity in the context -> the most open TLP of the
    // indicators naming them.
    let mut sources: Vec<(&str, Tlp)> = Vec::new();
    let mut indicator_objects = Vec::new();
    // An imported object's id (its attribution's reference) -> the exported ids.
    let mut exported_from: HashMap<String, Vec<String>> = HashMap::new();
    for view in indicators {
        let Some(attributions) = select(&view, policy, &mut report) else {
            continue;
        };
        let Some(pattern) = indicator_pattern(view.kind, view.value) else {
            report.not_representable(
                &view,
                "STIX 2.1 has no standard object for a JA3 fingerprint",
            );
            continue;
        };
        report.exported += 1;
        for mut g in by_source(&attributions) {
            g.tags.retain(|t| !withheld_names.contains(*t));
            let id = indicator_id(view.kind, view.value, g.source);
            for r in &g.references {
                exported_from
                    .entry((*r).to_owned())
                    .or_default()
                    .push(id.clone());
            }
            let author = match authors.get(g.source) {
                Some(&known) => {
                    authors_used.insert(known);
                    known.to_owned()
                }
                None => {
                    match sources.iter_mut().find(|(s, _)| *s == g.source) {
                        Some((_, tlp)) => *tlp = (*tlp).min(g.tlp),
                        None => sources.push((g.source, g.tlp)),
                    }
                    identity_id(g.source)
                }
            };
            report.tlps.insert(g.tlp);
            indicator_objects.push(indicator_object(&view, &g, &id, &author, &pattern));
            report.objects += 1;
        }
    }

    let context_objects = select_context(
        context,
        &levels,
        &exported_from,
        &authors_used,
        policy,
        &mut report,
    );

    let mut objects = Vec::new();
    report.tlps.insert(Tlp::Clear);
    objects.push(json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": producer,
        "created": identities_created,
        "modified": identities_created,
        "name": options.producer,
        "identity_class": "organization",
        "object_marking_refs": [tlp2_marking_id(Tlp::Clear)],
    }));
    for &tlp in &report.tlps {
        objects.push(tlp2_marking_definition(tlp));
    }
    for (name, tlp) in &sources {
        let id = identity_id(name);
        if id == producer {
            continue;
        }
        objects.push(json!({
            "type": "identity",
            "spec_version": "2.1",
            "id": id,
            "created_by_ref": producer,
            "created": identities_created,
            "modified": identities_created,
            "name": name,
            "identity_class": "unspecified",
            "object_marking_refs": [tlp2_marking_id(*tlp)],
        }));
    }
    objects.extend(indicator_objects);
    objects.extend(context_objects);

    let mut parts = vec!["bundle"];
    for o in &objects {
        parts.push(o.get("id").and_then(Value::as_str).unwrap_or_default());
        parts.push(
            o.get("modified")
                .and_then(Value::as_str)
                .unwrap_or_default(),
        );
    }
    let bundle = json!({
        "type": "bundle",
        "id": format!("bundle--{}", derived_uuid(&parts)),
        "objects": objects,
    });
    StixExport { bundle, report }
}

fn indicator_object(
    view: &IndicatorView<'_>,
    g: &SourceGroup<'_>,
    id: &str,
    author: &str,
    pattern: &str,
) -> Value {
    let created = view.first_seen;
    let modified = view.last_seen.max(created);
    let mut valid_from = g.valid_from.unwrap_or(created);
    if let Some(until) = g.valid_until {
        // STIX wants `valid_until` after `valid_from`.
        valid_from = valid_from.min(Timestamp(until.0.saturating_sub(1_000_000)));
    }
    let mut o = Map::new();
    let mut put = |k: &str, v: Value| {
        o.insert(k.to_owned(), v);
    };
    put("type", json!("indicator"));
    put("spec_version", json!("2.1"));
    put("id", json!(id));
    put("created_by_ref", json!(author));
    put("created", json!(rfc3339_millis(created)));
    put("modified", json!(rfc3339_millis(modified)));
    put("pattern", json!(pattern));
    put("pattern_type", json!("stix"));
    put("pattern_version", json!("2.1"));
    put("valid_from", json!(rfc3339_millis(valid_from)));
    if let Some(until) = g.valid_until {
        put("valid_until", json!(rfc3339_millis(until)));
    }
    put("confidence", json!(g.confidence.min(100)));
    if !g.tags.is_empty() {
        put("labels", json!(g.tags));
    }
    if let Some(d) = g.description.map(str::trim).filter(|d| !d.is_empty()) {
        put("description", json!(d));
    }
    if !g.attack.is_empty() {
        let refs: Vec<Value> = g.attack.iter().map(|id| attack_reference(id)).collect();
        put("external_references", Value::Array(refs));
    }
    put("object_marking_refs", json!([tlp2_marking_id(g.tlp)]));
    Value::Object(o)
}

/// An ATT&CK technique (`T1071`, `T1071.001`) as an external reference.
pub(crate) fn attack_reference(id: &str) -> Value {
    let path = id.replace('.', "/");
    json!({
        "source_name": "mitre-attack",
        "external_id": id,
        "url": format!("https://attack.mitre.org/techniques/{path}/"),
    })
}

/// Cyber-observable types: STIX 2.1 lets them go without `spec_version`.
const OBSERVABLE_TYPES: &[&str] = &[
    "artifact",
    "autonomous-system",
    "directory",
    "domain-name",
    "email-addr",
    "email-message",
    "file",
    "ipv4-addr",
    "ipv6-addr",
    "mac-addr",
    "mutex",
    "network-traffic",
    "process",
    "software",
    "url",
    "user-account",
    "windows-registry-key",
    "x509-certificate",
];

/// Why a context object of this type is never exported, if it is not.
fn never_shared(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "report" | "grouping" | "note" | "opinion" => {
            "it lists objects by id, and the list would name withheld ones"
        }
        "observed-data" | "sighting" => {
            "what the source observed is shared as indicators, not as observations"
        }
        "indicator" => "indicators are exported from the store",
        "language-content" => "translations are not shared",
        _ => return None,
    })
}

fn str_of<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

fn strs_of<'v>(v: &'v Value, key: &str) -> Vec<&'v str> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The TLP of context objects: from their TLP 1.0 and 2.0 markings or the TLP marking
/// definitions among the context, else the caller's default.
struct ContextLevels<'c> {
    /// The context's own TLP marking definitions.
    custom: HashMap<&'c str, Tlp>,
    unmarked: Tlp,
}

impl<'c> ContextLevels<'c> {
    fn new(context: &'c [ContextObject], unmarked: Tlp) -> ContextLevels<'c> {
        let custom = context
            .iter()
            .filter(|c| c.kind == "marking-definition")
            .filter_map(|c| marking_tlp(&c.json).map(|t| (c.id.as_str(), t)))
            .collect();
        ContextLevels { custom, unmarked }
    }

    /// The TLP a marking id names, if it is a TLP marking.
    fn marking(&self, id: &str) -> Option<Tlp> {
        TLP_MARKING_DEFINITIONS
            .iter()
            .find(|(d, _)| *d == id)
            .map(|(_, t)| *t)
            .or_else(|| self.custom.get(id).copied())
    }

    /// The strictest TLP among an object's object and granular markings.
    fn of(&self, v: &Value) -> Tlp {
        let mut refs = strs_of(v, "object_marking_refs");
        for g in v
            .get("granular_markings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            refs.extend(str_of(g, "marking_ref"));
        }
        refs.into_iter()
            .filter_map(|m| self.marking(m))
            .max()
            .unwrap_or(self.unmarked)
    }
}

/// The tags naming context objects the policy withholds. The importer tags an
/// indicator with the names of what it `indicates` (`malware:Name`) under the
/// indicator's own TLP; a name whose object is withheld is withheld with it.
fn withheld_names(
    context: &[ContextObject],
    levels: &ContextLevels<'_>,
    policy: &ExportPolicy,
) -> HashSet<String> {
    context
        .iter()
        .filter(|c| !policy.permits(levels.of(&c.json)))
        .filter_map(|c| c.name.as_ref().map(|n| format!("{}:{n}", c.kind)))
        .collect()
}

/// [`withheld_names`] for exporters that do not otherwise read the context.
pub(crate) fn withheld_context_names(
    context: &[ContextObject],
    unmarked: Tlp,
    policy: &ExportPolicy,
) -> HashSet<String> {
    withheld_names(context, &ContextLevels::new(context, unmarked), policy)
}

/// A context object that may go out, before its refs are looked at.
struct Candidate<'c> {
    object: &'c ContextObject,
    tlp: Tlp,
    /// Identities and non-TLP markings: out only when referred to.
    on_demand: bool,
}

fn select_context(
    context: &[ContextObject],
    levels: &ContextLevels<'_>,
    exported_from: &HashMap<String, Vec<String>>,
    authors: &HashSet<&str>,
    policy: &ExportPolicy,
    report: &mut ExportReport,
) -> Vec<Value> {
    fn not_exported(report: &mut ExportReport, c: &ContextObject, why: &str) {
        report.context_not_exported += 1;
        report.detail(format!("{} {}", c.kind, c.id), why);
    }

    // Which objects may go out at all.
    let mut candidates: Vec<Candidate<'_>> = Vec::new();
    for c in context {
        let v = &c.json;
        let stix_type = str_of(v, "type");
        if !c.id.contains("--")
            || stix_type != Some(c.kind.as_str())
            || str_of(v, "id") != Some(&c.id)
        {
            not_exported(report, c, "not a STIX object");
            continue;
        }
        if let Some(why) = never_shared(&c.kind) {
            not_exported(report, c, why);
            continue;
        }
        if c.kind == "marking-definition" && levels.custom.contains_key(c.id.as_str()) {
            not_exported(
                report,
                c,
                "a TLP marking: the bundle carries the TLP 2.0 definitions",
            );
            continue;
        }
        let observable = OBSERVABLE_TYPES.contains(&c.kind.as_str());
        if str_of(v, "spec_version") != Some("2.1") && !observable {
            not_exported(report, c, "not a STIX 2.1 object");
            continue;
        }
        if v.get("revoked").and_then(Value::as_bool) == Some(true) {
            not_exported(report, c, "revoked");
            continue;
        }
        let tlp = levels.of(v);
        if !policy.permits(tlp) {
            report.context_withheld_by_tlp += 1;
            report.detail(
                format!("{} {}", c.kind, c.id),
                format!("marked {tlp}, above {}", report.ceiling),
            );
            continue;
        }
        candidates.push(Candidate {
            object: c,
            tlp,
            on_demand: matches!(c.kind.as_str(), "identity" | "marking-definition"),
        });
    }
    let available: HashMap<&str, usize> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (c.object.id.as_str(), i))
        .collect();

    // Relationships: both ends must go out; ends that were imported indicators become
    // the exported indicators that came from them.
    let mut out: Vec<Option<Vec<Value>>> = vec![None; candidates.len()];
    let mut wanted: Vec<bool> = candidates
        .iter()
        .map(|c| !c.on_demand || authors.contains(c.object.id.as_str()))
        .collect();
    let resolve = |r: &str| -> Vec<String> {
        match available.get(r) {
            Some(&i) if candidates[i].object.kind != "relationship" => vec![r.to_owned()],
            Some(_) => Vec::new(),
            None => exported_from.get(r).cloned().unwrap_or_default(),
        }
    };
    for (i, c) in candidates.iter().enumerate() {
        if c.object.kind != "relationship" {
            continue;
        }
        wanted[i] = false;
        let v = &c.object.json;
        let (Some(src), Some(dst)) = (str_of(v, "source_ref"), str_of(v, "target_ref")) else {
            continue;
        };
        let (sources, targets) = (resolve(src), resolve(dst));
        if sources.is_empty() || targets.is_empty() {
            continue;
        }
        for r in [src, dst] {
            if let Some(&j) = available.get(r) {
                wanted[j] = true;
            }
        }
        let mut copies = Vec::new();
        for s in &sources {
            for t in &targets {
                let mut o = v.clone();
                if s != src || t != dst {
                    let id = derived_uuid(&["relationship", &c.object.id, s, t]);
                    o["id"] = json!(format!("relationship--{id}"));
                    o["source_ref"] = json!(s);
                    o["target_ref"] = json!(t);
                }
                copies.push(o);
            }
        }
        out[i] = Some(copies);
        wanted[i] = true;
    }

    // What goes out brings the identities and markings it refers to.
    let mut work: Vec<usize> = (0..candidates.len()).filter(|&i| wanted[i]).collect();
    while let Some(i) = work.pop() {
        let v = &candidates[i].object.json;
        let mut refs: Vec<&str> = strs_of(v, "object_marking_refs");
        refs.extend(str_of(v, "created_by_ref"));
        for r in refs {
            if let Some(&j) = available.get(r)
                && !wanted[j]
            {
                wanted[j] = true;
                work.push(j);
            }
        }
    }

    let mut objects = Vec::new();
    for (i, c) in candidates.iter().enumerate() {
        if !wanted[i] {
            let why = match c.object.kind.as_str() {
                "relationship" => "a relationship to something that does not go out",
                _ => "nothing that goes out refers to it",
            };
            not_exported(report, c.object, why);
            continue;
        }
        let copies = out[i].take().unwrap_or_else(|| vec![c.object.json.clone()]);
        report.context_exported += 1;
        for mut o in copies {
            if c.object.kind != "marking-definition" {
                set_tlp_marking(&mut o, c.tlp, levels);
                report.tlps.insert(c.tlp);
            }
            objects.push(o);
        }
    }
    objects
}

/// Replaces an object's TLP markings (TLP 1.0, 2.0 or the bundle's own) by the TLP 2.0
/// marking of `tlp`, keeping its other markings.
fn set_tlp_marking(o: &mut Value, tlp: Tlp, levels: &ContextLevels<'_>) {
    let mut refs: Vec<Value> = strs_of(o, "object_marking_refs")
        .into_iter()
        .filter(|m| levels.marking(m).is_none())
        .map(|m| json!(m))
        .collect();
    refs.push(json!(tlp2_marking_id(tlp)));
    if let Some(map) = o.as_object_mut() {
        map.insert("object_marking_refs".to_owned(), Value::Array(refs));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_per_kind() {
        let p = |k, v| indicator_pattern(k, v).unwrap();
        assert_eq!(p(Kind::Ipv4, "10.0.0.1"), "[ipv4-addr:value = '10.0.0.1']");
        assert_eq!(
            p(Kind::Cidr, "10.0.0.0/8"),
            "[ipv4-addr:value ISSUBSET '10.0.0.0/8']"
        );
        assert_eq!(
            p(Kind::Cidr, "2001:db8::/32"),
            "[ipv6-addr:value ISSUBSET '2001:db8::/32']"
        );
        assert_eq!(p(Kind::Sha1, "ab"), "[file:hashes.'SHA-1' = 'ab']");
        assert_eq!(
            p(Kind::UserAgent, r"it's a \ agent"),
            r"[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = 'it\'s a \\ agent']"
        );
        assert_eq!(indicator_pattern(Kind::Ja3, "00"), None);
    }

    #[test]
    fn every_pattern_parses_back_to_its_value() {
        use crate::import::pattern;
        let values = [
            (Kind::Ipv4, "10.0.0.1"),
            (Kind::Ipv6, "2001:db8::1"),
            (Kind::Cidr, "10.0.0.0/8"),
            (Kind::Domain, "evil.example"),
            (Kind::Url, "http://evil.example/it's\\here"),
            (Kind::Email, "o'brien@evil.example"),
            (Kind::Md5, "d41d8cd98f00b204e9800998ecf8427e"),
            (Kind::UserAgent, "Mozilla/5.0 ('quoted') \\"),
        ];
        for (kind, value) in values {
            let text = indicator_pattern(kind, value).unwrap();
            let parsed = pattern::parse(&text).unwrap();
            let x = pattern::extract(&parsed, &text);
            assert_eq!(x.terms.len(), 1, "{text}");
            assert_eq!((x.terms[0].kind, x.terms[0].value.as_str()), (kind, value));
        }
    }

    #[test]
    fn tlp2_markings_are_the_oasis_ones() {
        for (id, tlp) in &TLP_MARKING_DEFINITIONS[4..] {
            assert_eq!(tlp2_marking_id(*tlp), *id);
            let m = tlp2_marking_definition(*tlp);
            assert_eq!(marking_tlp(&m), Some(*tlp));
        }
        let m = tlp2_marking_definition(Tlp::AmberStrict);
        assert_eq!(m["name"], "TLP:AMBER+STRICT");
        assert_eq!(m["extensions"][TLP2_EXTENSION]["tlp_2_0"], "amber+strict");
    }
}
