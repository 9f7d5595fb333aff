//! STIX 2.0 and 2.1: bundles (or single objects, or a bare array of objects) to
//! indicators and context objects.
//!
//! The bundle is read object by object in one pass (a reader can be a large file):
//! what an indicator's attribution needs from elsewhere in the bundle (its author's
//! identity, marking definitions, `indicates` relationships to attack patterns) may
//! come later, so indicators wait, as their few matchable values, until the end.
//!
//! - `indicator` with a STIX `pattern`: the values [`pattern::extract`] finds, each
//!   one indicator. Attribution: `source` = the `created_by_ref` identity's name, else
//!   that of a `report` holding it, else the import's source; `confidence` = STIX `confidence`, else the import's (50);
//!   `tlp` = the strictest TLP among `object_marking_refs` (the TLP 1.0 and 2.0
//!   definitions by id, [`TLP_MARKING_DEFINITIONS`], or `marking-definition` objects in
//!   the bundle with `definition_type: tlp` or the TLP 2.0 extension), else the
//!   import's; `valid_from`/`valid_until` (narrowed by a pattern's `START`/`STOP`);
//!   tags = `labels`, `indicator_types`, `kill_chain_phases` as `chain:phase`, and
//!   `type:name` of the malware, threat actors, intrusion sets, campaigns and tools it
//!   `indicates`; `attack` = ATT&CK ids (`T1071`, `T1071.001`) of the attack patterns it
//!   `indicates` and of its own external references; `reference` = the STIX id;
//!   `description` = name and description. Revoked indicators are skipped; other
//!   `pattern_type`s (sigma, yara, snort...) are not matchable.
//! - `observed-data`: its `ipv4-addr`, `ipv6-addr`, `domain-name`, `url`,
//!   `email-addr` and `file` (hashes) objects (`object_refs` in 2.1, inline `objects`
//!   in 2.0) become indicators too, tagged `observed`.
//! - Every other object (malware, threat actors, attack patterns, intrusion sets,
//!   relationships, identities, reports, markings, observables...) is kept as a
//!   [`ContextObject`].

use std::collections::HashMap;
use std::fmt;
use std::io::{BufReader, Read};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::pattern::{self, Term};
use super::{
    Collector, ContextObject, ImportContext, ImportError, ImportReport, Imported, SourceFormat,
    attack_id, clip, parse_time, push_tag, refine_ip_kind,
};
use crate::model::{Attribution, Kind, NewIndicator, Tlp};

/// The marking definitions STIX fixes by id: TLP 1.0 (STIX 2.1 section 7.2.1.4) and
/// TLP 2.0 (the OASIS extension `extension-definition--60a3c5c5-...`).
pub const TLP_MARKING_DEFINITIONS: &[(&str, Tlp)] = &[
    (
        "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
        Tlp::Clear,
    ),
    (
        "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
        Tlp::Green,
    ),
    (
        "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
        Tlp::Amber,
    ),
    (
        "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
        Tlp::Red,
    ),
    (
        "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
        Tlp::Clear,
    ),
    (
        "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        Tlp::Green,
    ),
    (
        "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
        Tlp::Amber,
    ),
    (
        "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
        Tlp::AmberStrict,
    ),
    (
        "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        Tlp::Red,
    ),
];

/// The TLP 2.0 marking extension's id.
pub const TLP2_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// Imports a STIX bundle, a single STIX object or a JSON array of objects.
pub fn import_stix(text: &str, ctx: &ImportContext<'_>) -> Imported {
    let mut de = serde_json::Deserializer::from_str(text);
    let mut state = State::new(ctx);
    // A `&str` has no IO to fail.
    let _ = read_document(&mut de, &mut state);
    state.finish()
}

/// Imports a STIX document from a reader, holding one object at a time (plus what the
/// indicators need at the end). Fails only when reading fails.
pub fn import_stix_reader(
    reader: impl Read,
    ctx: &ImportContext<'_>,
) -> Result<Imported, ImportError> {
    let mut de = serde_json::Deserializer::from_reader(BufReader::new(reader));
    let mut state = State::new(ctx);
    read_document(&mut de, &mut state)?;
    Ok(state.finish())
}

fn read_document<'de, R: serde_json::de::Read<'de>>(
    de: &mut serde_json::Deserializer<R>,
    state: &mut State<'_>,
) -> Result<(), ImportError> {
    let top = TopSeed { state: &mut *state }.deserialize(&mut *de);
    let top = match top {
        Ok(top) => top,
        Err(e) if e.is_io() => return Err(ImportError::Io(e.into())),
        Err(e) => {
            let rest = if state.seen > 0 {
                "; the objects after it were not read"
            } else {
                ""
            };
            state
                .report
                .skip("document", format!("invalid JSON or not STIX: {e}{rest}"));
            return Ok(());
        }
    };
    match top {
        Top::Streamed => {}
        Top::Object(map) => {
            if map.get("type").and_then(Value::as_str) == Some("bundle") {
                state
                    .report
                    .skip("document", "a bundle whose `objects` is not an array");
            } else if map.contains_key("type") {
                state.object(0, Value::Object(map));
            } else {
                state.report.skip(
                    "document",
                    "neither a STIX bundle (no `objects`) nor a STIX object (no `type`)",
                );
            }
        }
    }
    if let Err(e) = de.end() {
        state.report.note(
            "document",
            format!("ignored what follows the document: {e}"),
        );
    }
    Ok(())
}

enum Top {
    /// A bundle's `objects` or a top-level array, handed to the state one by one.
    Streamed,
    /// A single object, kept whole.
    Object(Map<String, Value>),
}

struct TopSeed<'s, 'c> {
    state: &'s mut State<'c>,
}

impl<'de> DeserializeSeed<'de> for TopSeed<'_, '_> {
    type Value = Top;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Top, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_, '_> {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a STIX bundle, a STIX object or an array of STIX objects")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let mut rest = Map::new();
        let mut streamed = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "objects" {
                match map.next_value_seed(ObjectsSeed {
                    state: &mut *self.state,
                })? {
                    Some(v) => {
                        rest.insert(key, v);
                    }
                    None => streamed = true,
                }
            } else {
                let v: Value = map.next_value()?;
                rest.insert(key, v);
            }
        }
        if streamed {
            Ok(Top::Streamed)
        } else {
            Ok(Top::Object(rest))
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Top, A::Error> {
        stream_objects(self.state, seq)?;
        Ok(Top::Streamed)
    }
}

/// A bundle's `objects`: an array streamed into the state (`None`), or, in a STIX 2.0
/// `observed-data` given alone, a map kept as a value.
struct ObjectsSeed<'s, 'c> {
    state: &'s mut State<'c>,
}

impl<'de> DeserializeSeed<'de> for ObjectsSeed<'_, '_> {
    type Value = Option<Value>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<Value>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ObjectsSeed<'_, '_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of STIX objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Option<Value>, A::Error> {
        stream_objects(self.state, seq)?;
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Option<Value>, A::Error> {
        use serde::Deserialize;
        Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
    }
}

fn stream_objects<'de, A: SeqAccess<'de>>(
    state: &mut State<'_>,
    mut seq: A,
) -> Result<(), A::Error> {
    let mut index = 0;
    while let Some(v) = seq.next_element::<Value>()? {
        state.object(index, v);
        index += 1;
    }
    Ok(())
}

/// An indicator waiting for the end of the bundle.
struct PendingIndicator {
    id: String,
    created_by: Option<String>,
    markings: Vec<String>,
    attribution: Attribution,
    terms: Vec<Term>,
}

/// An observed-data object waiting for the end of the bundle.
struct PendingObserved {
    id: String,
    created_by: Option<String>,
    markings: Vec<String>,
    attribution: Attribution,
    refs: Vec<String>,
    inline: Vec<(String, Vec<(Kind, String)>)>,
}

struct State<'c> {
    ctx: &'c ImportContext<'c>,
    report: ImportReport,
    seen: usize,
    identities: HashMap<String, String>,
    markings: HashMap<String, Tlp>,
    attack_ids: HashMap<String, Vec<String>>,
    /// Context object id → its tag (`malware:Name`) and its marking refs.
    names: HashMap<String, (String, Vec<String>)>,
    indicates: HashMap<String, Vec<String>>,
    /// Object id -> the `created_by_ref` of a report that holds it.
    report_authors: HashMap<String, String>,
    observables: HashMap<String, Vec<(Kind, String)>>,
    indicators: Vec<PendingIndicator>,
    observed: Vec<PendingObserved>,
    context: Vec<ContextObject>,
}

fn str_of<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

fn strings_of(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The TLP a marking-definition object states, if it is a TLP marking.
pub(crate) fn marking_tlp(v: &Value) -> Option<Tlp> {
    if str_of(v, "definition_type") == Some("tlp")
        && let Some(t) = v
            .get("definition")
            .and_then(|d| str_of(d, "tlp"))
            .and_then(Tlp::parse)
    {
        return Some(t);
    }
    if let Some(t) = v
        .get("extensions")
        .and_then(|e| e.get(TLP2_EXTENSION))
        .and_then(|x| str_of(x, "tlp_2_0"))
        .and_then(Tlp::parse)
    {
        return Some(t);
    }
    str_of(v, "name")
        .filter(|n| n.to_ascii_lowercase().starts_with("tlp:"))
        .and_then(Tlp::parse)
}

/// ATT&CK ids among an object's external references.
fn external_attack_ids(v: &Value) -> Vec<String> {
    let mut ids = Vec::new();
    for r in v
        .get("external_references")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(id) = str_of(r, "external_id").and_then(attack_id) {
            push_tag(&mut ids, id);
        }
    }
    ids
}

/// The matchable values of an observable (SCO).
fn observable_values(v: &Value) -> Vec<(Kind, String)> {
    let kind = match str_of(v, "type") {
        Some("ipv4-addr") => Kind::Ipv4,
        Some("ipv6-addr") => Kind::Ipv6,
        Some("domain-name") => Kind::Domain,
        Some("url") => Kind::Url,
        Some("email-addr") => Kind::Email,
        Some("file") => {
            let mut out = Vec::new();
            if let Some(hashes) = v.get("hashes").and_then(Value::as_object) {
                for (algorithm, value) in hashes {
                    let a: String = algorithm
                        .chars()
                        .filter(char::is_ascii_alphanumeric)
                        .collect::<String>()
                        .to_ascii_uppercase();
                    let kind = match a.as_str() {
                        "MD5" => Kind::Md5,
                        "SHA1" => Kind::Sha1,
                        "SHA256" => Kind::Sha256,
                        _ => continue,
                    };
                    if let Some(h) = value.as_str() {
                        out.push((kind, h.to_owned()));
                    }
                }
            }
            return out;
        }
        _ => return Vec::new(),
    };
    str_of(v, "value")
        .map(|value| vec![(refine_ip_kind(kind, value), value.to_owned())])
        .unwrap_or_default()
}

impl<'c> State<'c> {
    fn new(ctx: &'c ImportContext<'c>) -> State<'c> {
        State {
            ctx,
            report: ImportReport::new(ctx.base.source.clone(), SourceFormat::Stix),
            seen: 0,
            identities: HashMap::new(),
            markings: HashMap::new(),
            attack_ids: HashMap::new(),
            names: HashMap::new(),
            indicates: HashMap::new(),
            report_authors: HashMap::new(),
            observables: HashMap::new(),
            indicators: Vec::new(),
            observed: Vec::new(),
            context: Vec::new(),
        }
    }

    /// The attribution fields an SDO states itself (the rest waits for the end).
    fn own_attribution(&mut self, v: &Value, place: &str) -> Option<Attribution> {
        let mut a = self.ctx.attribution();
        if let Some(c) = v.get("confidence").and_then(Value::as_u64) {
            a.confidence = c.min(100) as u8;
        }
        for (key, slot) in [
            ("valid_from", &mut a.valid_from),
            ("valid_until", &mut a.valid_until),
        ] {
            if let Some(text) = v.get(key).filter(|t| !t.is_null()) {
                match text.as_str().and_then(parse_time) {
                    Some(t) => *slot = Some(t),
                    None => {
                        self.report.skip(
                            place,
                            format!(
                                "{key} {} is not an RFC 3339 time",
                                clip(&text.to_string(), 60)
                            ),
                        );
                        return None;
                    }
                }
            }
        }
        for tag in strings_of(v, "labels")
            .into_iter()
            .chain(strings_of(v, "indicator_types"))
        {
            push_tag(&mut a.tags, tag);
        }
        for phase in v
            .get("kill_chain_phases")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let (Some(chain), Some(name)) = (
                str_of(phase, "kill_chain_name"),
                str_of(phase, "phase_name"),
            ) {
                push_tag(&mut a.tags, format!("{chain}:{name}"));
            }
        }
        a.attack = external_attack_ids(v);
        let name = str_of(v, "name").map(str::trim).filter(|s| !s.is_empty());
        let description = str_of(v, "description")
            .map(str::trim)
            .filter(|s| !s.is_empty());
        a.description = match (name, description) {
            (Some(n), Some(d)) => Some(format!("{n}: {d}")),
            (Some(x), None) | (None, Some(x)) => Some(x.to_owned()),
            (None, None) => None,
        };
        Some(a)
    }

    fn object(&mut self, index: usize, v: Value) {
        self.seen += 1;
        let place = str_of(&v, "id")
            .map(str::to_owned)
            .unwrap_or_else(|| format!("objects[{index}]"));
        let Some(kind) = str_of(&v, "type").map(str::to_owned) else {
            self.report.skip(
                place,
                if v.is_object() {
                    "a STIX object without `type`"
                } else {
                    "not a JSON object"
                },
            );
            return;
        };
        match kind.as_str() {
            "indicator" => return self.indicator(&v, place),
            "identity" => {
                if let Some(name) = str_of(&v, "name") {
                    self.identities.insert(place.clone(), name.to_owned());
                }
            }
            "marking-definition" => {
                if let Some(t) = marking_tlp(&v) {
                    self.markings.insert(place.clone(), t);
                }
            }
            "attack-pattern" => {
                let ids = external_attack_ids(&v);
                if !ids.is_empty() {
                    self.attack_ids.insert(place.clone(), ids);
                }
            }
            "relationship" => {
                if str_of(&v, "relationship_type") == Some("indicates")
                    && let (Some(src), Some(dst)) =
                        (str_of(&v, "source_ref"), str_of(&v, "target_ref"))
                {
                    self.indicates
                        .entry(src.to_owned())
                        .or_default()
                        .push(dst.to_owned());
                }
            }
            "observed-data" => self.observed_data(&v, &place),
            "report" => {
                if let Some(author) = str_of(&v, "created_by_ref") {
                    for r in strings_of(&v, "object_refs") {
                        self.report_authors
                            .entry(r)
                            .or_insert_with(|| author.to_owned());
                    }
                }
            }
            _ => {}
        }
        if matches!(
            kind.as_str(),
            "malware" | "threat-actor" | "intrusion-set" | "campaign" | "tool" | "attack-pattern"
        ) && let Some(name) = str_of(&v, "name")
        {
            let markings = strings_of(&v, "object_marking_refs");
            self.names
                .insert(place.clone(), (format!("{kind}:{name}"), markings));
        }
        let values = observable_values(&v);
        if !values.is_empty() {
            self.observables.insert(place.clone(), values);
        }
        let name = str_of(&v, "name")
            .or_else(|| str_of(&v, "value"))
            .map(str::to_owned);
        self.context.push(ContextObject {
            id: place,
            kind,
            name,
            json: v,
        });
    }

    fn indicator(&mut self, v: &Value, place: String) {
        if v.get("revoked").and_then(Value::as_bool) == Some(true) {
            self.report.skip(place, "revoked");
            return;
        }
        if let Some(pt) = str_of(v, "pattern_type").filter(|p| *p != "stix") {
            self.report.not_matchable(
                place,
                format!("pattern_type `{pt}`: only STIX patterns are matched here"),
            );
            return;
        }
        let Some(text) = str_of(v, "pattern") else {
            self.report.skip(place, "an indicator without a `pattern`");
            return;
        };
        let parsed = match pattern::parse(text) {
            Ok(p) => p,
            Err(e) => {
                self.report
                    .skip(place, format!("broken pattern {e}: `{}`", clip(text, 200)));
                return;
            }
        };
        let Some(attribution) = self.own_attribution(v, &place) else {
            return;
        };
        let x = pattern::extract(&parsed, text);
        for u in &x.unmatchable {
            self.report.not_matchable(
                place.clone(),
                format!("`{}`: {}", clip(&u.fragment, 200), u.reason),
            );
        }
        for n in &x.notes {
            self.report.note(place.clone(), n.clone());
        }
        let mut ands: Vec<&(String, usize)> = Vec::new();
        for t in &x.terms {
            if let Some(a) = &t.anded
                && !ands.contains(&a)
            {
                ands.push(a);
            }
        }
        for (fragment, n) in ands {
            self.report.note(
                place.clone(),
                format!(
                    "`{}`: an AND of {n} equalities on one object, taken as {n} separate indicators",
                    clip(fragment, 200)
                ),
            );
        }
        self.indicators.push(PendingIndicator {
            id: place,
            created_by: str_of(v, "created_by_ref").map(str::to_owned),
            markings: strings_of(v, "object_marking_refs"),
            attribution,
            terms: x.terms,
        });
    }

    fn observed_data(&mut self, v: &Value, place: &str) {
        let Some(mut attribution) = self.own_attribution(v, place) else {
            return;
        };
        // An observation has no validity window of its own.
        attribution.valid_from = None;
        attribution.valid_until = None;
        push_tag(&mut attribution.tags, "observed");
        let mut description = format!("observed in {place}");
        if let (Some(first), Some(last)) = (str_of(v, "first_observed"), str_of(v, "last_observed"))
        {
            description.push_str(&format!(" from {first} to {last}"));
        }
        if let Some(n) = v.get("number_observed").and_then(Value::as_u64) {
            description.push_str(&format!(", {n} times"));
        }
        attribution.description = Some(description);
        let inline = v
            .get("objects")
            .and_then(Value::as_object)
            .map(|objects| {
                objects
                    .iter()
                    .map(|(k, o)| (k.clone(), observable_values(o)))
                    .filter(|(_, vals)| !vals.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        self.observed.push(PendingObserved {
            id: place.to_owned(),
            created_by: str_of(v, "created_by_ref").map(str::to_owned),
            markings: strings_of(v, "object_marking_refs"),
            attribution,
            refs: strings_of(v, "object_refs"),
            inline,
        });
    }

    /// The strictest TLP among marking refs, if any is a TLP marking.
    fn markings_tlp(&self, markings: &[String]) -> Option<Tlp> {
        markings
            .iter()
            .filter_map(|m| {
                TLP_MARKING_DEFINITIONS
                    .iter()
                    .find(|(id, _)| id == m)
                    .map(|(_, t)| *t)
                    .or_else(|| self.markings.get(m).copied())
            })
            .max()
    }

    /// Fills in what came from elsewhere in the bundle: the author (the object's
    /// `created_by_ref`, else that of a report holding it), the TLP.
    fn complete(
        &self,
        a: &mut Attribution,
        id: &str,
        created_by: Option<&String>,
        markings: &[String],
    ) {
        let author = created_by.or_else(|| self.report_authors.get(id));
        if let Some(name) = author.and_then(|id| self.identities.get(id)) {
            a.source = name.clone();
        }
        if let Some(t) = self.markings_tlp(markings) {
            a.tlp = t;
        }
    }

    fn finish(mut self) -> Imported {
        let mut indicators = Vec::new();
        let indicators_pending = std::mem::take(&mut self.indicators);
        let observed = std::mem::take(&mut self.observed);
        let report = std::mem::take(&mut self.report);
        let mut collector =
            Collector::with_report(self.ctx, report, |i: NewIndicator| indicators.push(i));
        for p in indicators_pending {
            let mut a = p.attribution;
            self.complete(&mut a, &p.id, p.created_by.as_ref(), &p.markings);
            for target in self.indicates.get(&p.id).into_iter().flatten() {
                for id in self.attack_ids.get(target).into_iter().flatten() {
                    push_tag(&mut a.attack, id.clone());
                }
                // The name of what it indicates goes along only when that object may
                // be shared as widely as the indicator itself (a GREEN indicator must
                // not carry the name of an AMBER malware).
                if let Some((name, markings)) = self.names.get(target)
                    && self.markings_tlp(markings).is_none_or(|t| t <= a.tlp)
                {
                    push_tag(&mut a.tags, name.clone());
                }
            }
            a.reference = Some(p.id.clone());
            for t in p.terms {
                let mut ta = a.clone();
                if let Some((start, stop)) = t.window {
                    ta.valid_from = Some(ta.valid_from.map_or(start, |f| f.max(start)));
                    ta.valid_until = Some(ta.valid_until.map_or(stop, |u| u.min(stop)));
                }
                if let Some((fragment, n)) = &t.anded {
                    let note = format!(
                        "one of {n} values ANDed in `{}`, matched on its own",
                        clip(fragment, 200)
                    );
                    ta.description = Some(match ta.description {
                        Some(d) => format!("{d} ({note})"),
                        None => note,
                    });
                }
                collector.offer(t.kind, &t.value, ta, &p.id);
            }
        }
        for o in observed {
            let mut a = o.attribution;
            self.complete(&mut a, &o.id, o.created_by.as_ref(), &o.markings);
            a.reference = Some(o.id.clone());
            for (key, values) in &o.inline {
                for (kind, value) in values {
                    collector.offer(*kind, value, a.clone(), &format!("{}.objects.{key}", o.id));
                }
            }
            for r in &o.refs {
                let place = format!("{} -> {r}", o.id);
                match self.observables.get(r) {
                    Some(values) => {
                        for (kind, value) in values {
                            collector.offer(*kind, value, a.clone(), &place);
                        }
                    }
                    None if is_matchable_observable_id(r) => {
                        collector
                            .report
                            .skip(place, format!("refers to {r}, which is not in the bundle"));
                    }
                    None => {}
                }
            }
        }
        let mut report = collector.report;
        report.context_objects = self.context.len() as u64;
        Imported {
            indicators,
            context: self.context,
            report,
        }
    }
}

fn is_matchable_observable_id(id: &str) -> bool {
    [
        "ipv4-addr--",
        "ipv6-addr--",
        "domain-name--",
        "url--",
        "email-addr--",
    ]
    .iter()
    .any(|p| id.starts_with(p))
}
