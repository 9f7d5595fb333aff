//! The exporters: TLP enforcement on hand-made intelligence, and round trips of the
//! shared public corpora (`../shared/corpora/threat-intel`, or `$WATCHFLOOR_CORPORA`)
//! through export, the STIX 2.1 JSON schemas and import. Corpus tests print a note and
//! pass when the corpora are absent, unless `WATCHFLOOR_REQUIRE_CORPORA` is set.

mod common;
use common::{json_files, read, threat_intel};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{Value, json};
use watchfloor_event::Timestamp;
use watchfloor_intel::export::misp::{MispOptions, export_misp_event};
use watchfloor_intel::export::stix::{StixOptions, export_stix, tlp2_marking_id};
use watchfloor_intel::export::{ExportPolicy, ExportReport};
use watchfloor_intel::import::misp::import_misp_event;
use watchfloor_intel::import::stix::{TLP_MARKING_DEFINITIONS, import_stix};
use watchfloor_intel::import::{ImportContext, Imported};
use watchfloor_intel::{Attribution, Intel, Kind, NewIndicator, Tlp};

// ---------------------------------------------------------------------------------
// Helpers

fn time(text: &str) -> Timestamp {
    let ts: jiff::Timestamp = text.parse().unwrap();
    Timestamp(ts.as_nanosecond() as i64)
}

fn now() -> Timestamp {
    time("2024-06-01T00:00:00Z")
}

fn load(imported: &Imported, at: Timestamp) -> Intel {
    let mut intel = Intel::default();
    for i in &imported.indicators {
        intel.add(i.clone(), at).unwrap();
    }
    intel
}

fn options() -> StixOptions {
    StixOptions::new("Watchfloor Tenant", time("2024-01-01T00:00:00Z"))
}

/// Everything that may leave: up to TLP:AMBER+STRICT, expired or not.
fn everything() -> ExportPolicy {
    ExportPolicy {
        allowed: Tlp::AmberStrict,
        include_expired: true,
        now: now(),
    }
}

fn objects(bundle: &Value) -> &[Value] {
    bundle["objects"].as_array().expect("a bundle's objects")
}

fn strs(v: &Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// (kind, value, source) -> the strictest TLP said of it.
type Said = BTreeMap<(Kind, String, String), Tlp>;

/// What the policy should let out of `intel`, folded per source as the STIX exporter
/// does; `stix` leaves out what STIX cannot say (JA3).
fn expected(intel: &Intel, policy: &ExportPolicy, stix: bool) -> Said {
    let mut out = Said::new();
    for view in intel.iter() {
        if stix && view.kind == Kind::Ja3 {
            continue;
        }
        for a in view.attributions() {
            let ended = a.valid_until.is_some_and(|u| u <= policy.now);
            if !policy.permits(a.tlp) || (ended && !policy.include_expired) {
                continue;
            }
            let key = (view.kind, view.value.to_owned(), a.source.to_owned());
            let tlp = out.entry(key).or_insert(a.tlp);
            *tlp = (*tlp).max(a.tlp);
        }
    }
    out
}

fn said(intel: &Intel) -> Said {
    let mut out = Said::new();
    for view in intel.iter() {
        for a in view.attributions() {
            let key = (view.kind, view.value.to_owned(), a.source.to_owned());
            let tlp = out.entry(key).or_insert(a.tlp);
            *tlp = (*tlp).max(a.tlp);
        }
    }
    out
}

fn assert_report_balanced(r: &ExportReport, intel: &Intel, what: &str) {
    assert_eq!(
        r.exported + r.withheld_by_tlp + r.withheld_expired + r.not_representable,
        intel.len() as u64,
        "{what}: {r:#?}"
    );
}

// ---------------------------------------------------------------------------------
// The STIX 2.1 JSON schemas, read from the corpus

const SCHEMA_BASE: &str =
    "raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/";

/// Resolves the schemas' `$ref`s (`http://raw.githubusercontent.com/.../schemas/...`)
/// to the files on disk; refuses anything else, so no test fetches over the network.
struct LocalSchemas {
    root: PathBuf,
}

impl jsonschema::Retrieve for LocalSchemas {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let text = uri.as_str();
        let rest = text
            .strip_prefix("http://")
            .or_else(|| text.strip_prefix("https://"))
            .and_then(|t| t.strip_prefix(SCHEMA_BASE))
            .ok_or_else(|| format!("not a local STIX schema: {text}"))?;
        let path = self.root.join(rest);
        Ok(serde_json::from_str(&std::fs::read_to_string(&path)?)?)
    }
}

struct Schemas {
    bundle: jsonschema::Validator,
    /// Per object type (`indicator`, `relationship`, `ipv4-addr`, `marking-definition`),
    /// so a failure names the object.
    by_type: HashMap<String, jsonschema::Validator>,
}

fn compile(root: &Path, file: &Path) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&read(file)).unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .with_retriever(LocalSchemas {
            root: root.to_path_buf(),
        })
        .build(&schema)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

fn schemas(ti: &Path) -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let root = ti.join("stix2-json-schemas/schemas");
        let head = read(&root.join("common/bundle.json"));
        assert!(
            head.contains("https://json-schema.org/draft/2020-12/schema"),
            "the STIX schemas are expected in draft 2020-12"
        );
        let mut by_type = HashMap::new();
        for dir in ["sdos", "sros", "observables"] {
            for f in json_files(&root.join(dir)) {
                let name = f.file_stem().unwrap().to_string_lossy().into_owned();
                by_type.insert(name, compile(&root, &f));
            }
        }
        let marking = root.join("common/marking-definition.json");
        by_type.insert("marking-definition".into(), compile(&root, &marking));
        Schemas {
            bundle: compile(&root, &root.join("common/bundle.json")),
            by_type,
        }
    })
}

fn assert_valid_stix(ti: &Path, bundle: &Value, what: &str) {
    let s = schemas(ti);
    let mut problems = Vec::new();
    for o in objects(bundle) {
        let ty = o["type"].as_str().unwrap_or_default();
        if let Some(v) = s.by_type.get(ty) {
            for e in v.iter_errors(o) {
                problems.push(format!("{}: {e} at {}", o["id"], e.instance_path()));
            }
        }
    }
    // The bundle schema predates the `incident` stub: it lists no `incident` schema,
    // and its branch for other objects asks for exactly one of the core and the
    // cyber-observable core schemas, which every SDO with a `name` and `created`
    // satisfies both of. Incidents are checked against their own schema (above); the
    // envelope is checked without them.
    let mut envelope = bundle.clone();
    if let Some(list) = envelope["objects"].as_array_mut() {
        list.retain(|o| o["type"] != "incident");
    }
    for e in s.bundle.iter_errors(&envelope) {
        problems.push(format!("bundle: {e} at {}", e.instance_path()));
    }
    assert!(
        problems.is_empty(),
        "{what}: the bundle does not validate:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_schemas_reject_what_is_not_stix() {
    let Some(ti) = threat_intel() else { return };
    let s = schemas(&ti);
    let mut bad = json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--00000000-0000-4000-8000-000000000001",
        "created": "2024-01-01T00:00:00Z",
        "modified": "2024-01-01T00:00:00.000Z",
        "pattern": "[ipv4-addr:value = '10.0.0.1']",
        "pattern_type": "stix",
        "valid_from": "2024-01-01T00:00:00Z",
    });
    // `created` without milliseconds.
    assert!(!s.by_type["indicator"].is_valid(&bad));
    bad["created"] = json!("2024-01-01T00:00:00.000Z");
    assert!(s.by_type["indicator"].is_valid(&bad));
    bad["labels"] = json!([]);
    assert!(!s.by_type["indicator"].is_valid(&bad));
    let bundle = json!({"type": "bundle", "id": "bundle--1", "objects": []});
    assert!(!s.bundle.is_valid(&bundle));
}

// ---------------------------------------------------------------------------------
// Round trips of the corpora

/// Exports everything `imported` gave (with its context), checks the bundle against the
/// schemas, re-imports it and compares what comes back. Returns the bundle.
fn stix_round_trip(ti: &Path, imported: &Imported, what: &str) -> Value {
    let intel = load(imported, now());
    let policy = everything();
    let export = export_stix(intel.iter(), &imported.context, &policy, &options());
    assert_report_balanced(&export.report, &intel, what);
    assert_valid_stix(ti, &export.bundle, what);
    let again = export_stix(intel.iter(), &imported.context, &policy, &options());
    assert_eq!(again.bundle, export.bundle, "{what}: a re-export differs");

    let text = serde_json::to_string_pretty(&export.bundle).unwrap();
    let back = import_stix(&text, &ImportContext::new("re-import"));
    assert!(
        back.report.skipped.is_empty() && back.report.not_matchable.is_empty(),
        "{what}: {}",
        back.report
    );
    let reloaded = load(&back, now());
    assert_eq!(
        said(&reloaded),
        expected(&intel, &policy, true),
        "{what}: the re-import differs"
    );

    // The re-imported store exports under the same indicator ids.
    let ids = |b: &Value| -> BTreeSet<String> {
        objects(b)
            .iter()
            .filter(|o| o["type"] == "indicator")
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let re = export_stix(reloaded.iter(), &[], &policy, &options());
    assert_eq!(ids(&re.bundle), ids(&export.bundle), "{what}");
    export.bundle
}

#[test]
fn every_stix_example_exports_valid_and_round_trips() {
    let Some(ti) = threat_intel() else { return };
    let files = json_files(&ti.join("stix2-json-schemas/examples"));
    assert!(files.len() >= 8, "{files:?}");
    let mut indicators = 0;
    let mut context = 0;
    for f in &files {
        let imported = import_stix(&read(f), &ImportContext::new("example"));
        let bundle = stix_round_trip(&ti, &imported, &f.display().to_string());
        indicators += objects(&bundle)
            .iter()
            .filter(|o| o["type"] == "indicator")
            .count();
        context += objects(&bundle)
            .iter()
            .filter(|o| {
                !matches!(
                    o["type"].as_str(),
                    Some("indicator" | "identity" | "marking-definition")
                )
            })
            .count();
    }
    // The examples hold dozens of matchable indicators and their context.
    assert!(indicators >= 20, "{indicators}");
    assert!(context >= 20, "{context}");
}

#[test]
fn poisonivy_keeps_its_context() {
    let Some(ti) = threat_intel() else { return };
    let f = ti.join("stix2-json-schemas/examples/threat-reports/poisonivy.json");
    let imported = import_stix(&read(&f), &ImportContext::new("example"));
    let bundle = stix_round_trip(&ti, &imported, "poisonivy");
    let types: BTreeSet<&str> = objects(&bundle)
        .iter()
        .filter_map(|o| o["type"].as_str())
        .collect();
    for t in [
        "malware",
        "campaign",
        "attack-pattern",
        "relationship",
        "indicator",
    ] {
        assert!(types.contains(t), "{types:?}");
    }
    // Reports list objects by id: never exported.
    assert!(!types.contains("report"));
    // The author keeps the identity it was imported with: one identity per name.
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for o in objects(&bundle).iter().filter(|o| o["type"] == "identity") {
        *names.entry(o["name"].as_str().unwrap()).or_default() += 1;
    }
    assert!(names.values().all(|n| *n == 1), "{names:?}");
    // Relationships point at what the bundle holds.
    let ids: BTreeSet<&str> = objects(&bundle)
        .iter()
        .filter_map(|o| o["id"].as_str())
        .collect();
    for o in objects(&bundle)
        .iter()
        .filter(|o| o["type"] == "relationship")
    {
        for end in ["source_ref", "target_ref"] {
            let r = o[end].as_str().unwrap();
            assert!(
                ids.contains(r),
                "{} refers to {r}, not in the bundle",
                o["id"]
            );
        }
    }
}

fn pymisp_events(ti: &Path) -> Vec<(PathBuf, Imported)> {
    let files = json_files(&ti.join("pymisp-test-events/tests"));
    assert!(files.len() >= 20);
    files
        .into_iter()
        .map(|f| {
            let imported = import_misp_event(&read(&f), &ImportContext::new("pymisp"));
            (f, imported)
        })
        .filter(|(_, i)| !i.indicators.is_empty())
        .collect()
}

#[test]
fn every_pymisp_event_exports_to_valid_stix_and_round_trips() {
    let Some(ti) = threat_intel() else { return };
    let events = pymisp_events(&ti);
    assert!(events.len() >= 6, "{}", events.len());
    for (f, imported) in &events {
        stix_round_trip(&ti, imported, &f.display().to_string());
    }
}

#[test]
fn every_pymisp_event_round_trips_through_misp() {
    let Some(ti) = threat_intel() else { return };
    for (f, imported) in pymisp_events(&ti) {
        let what = f.display().to_string();
        let intel = load(&imported, now());
        let policy = everything();
        let options = MispOptions::new("Watchfloor Tenant", "shared indicators");
        let export = export_misp_event(intel.iter(), &imported.context, &policy, &options);
        assert_report_balanced(&export.report, &intel, &what);
        assert_eq!(
            export_misp_event(intel.iter(), &imported.context, &policy, &options).event,
            export.event,
            "{what}: a re-export differs"
        );
        let text = serde_json::to_string(&export.event).unwrap();
        let back = import_misp_event(&text, &ImportContext::new("re-import"));
        assert!(back.report.skipped.is_empty(), "{what}: {}", back.report);
        let reloaded = load(&back, now());

        // The same values, from the exporting organisation, with the strictest TLP
        // that went out (TLP:AMBER comes back as AMBER+STRICT: see export::misp).
        let mut want: BTreeMap<(Kind, String), Tlp> = BTreeMap::new();
        for ((kind, value, _), tlp) in expected(&intel, &policy, false) {
            let t = want.entry((kind, value)).or_insert(tlp);
            *t = (*t).max(tlp);
        }
        let mut got: BTreeMap<(Kind, String), Tlp> = BTreeMap::new();
        for ((kind, value, source), tlp) in said(&reloaded) {
            assert_eq!(source, "Watchfloor Tenant", "{what}");
            got.insert((kind, value), tlp);
        }
        let want: BTreeMap<_, _> = want
            .into_iter()
            .map(|(k, t)| (k, if t == Tlp::Amber { Tlp::AmberStrict } else { t }))
            .collect();
        assert_eq!(got, want, "{what}");
    }
}

// ---------------------------------------------------------------------------------
// TLP, on hand-made intelligence

const ALL_MARKINGS_ABOVE_GREEN: &[Tlp] = &[Tlp::Amber, Tlp::AmberStrict, Tlp::Red];

/// A bundle with every TLP level, in TLP 1.0 and 2.0 markings, two sources, an expired
/// indicator, and context objects of several levels.
fn mixed_bundle() -> String {
    let tlp1_green = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";
    let t2 = tlp2_marking_id;
    let id = |ty: &str, n: u32| format!("{ty}--00000000-0000-4000-8000-{n:012}");
    let indicator = |n: u32, pattern: &str, author: u32, marking: &str, extra: Value| {
        let mut o = json!({
            "type": "indicator",
            "spec_version": "2.1",
            "id": id("indicator", n),
            "created_by_ref": id("identity", author),
            "created": "2024-01-01T00:00:00.000Z",
            "modified": "2024-01-01T00:00:00.000Z",
            "pattern": pattern,
            "pattern_type": "stix",
            "valid_from": "2024-01-01T00:00:00Z",
            "object_marking_refs": [marking],
        });
        for (k, v) in extra.as_object().unwrap() {
            o[k] = v.clone();
        }
        o
    };
    let sdo = |ty: &str, n: u32, name: &str, marking: Option<&str>| {
        let mut o = json!({
            "type": ty,
            "spec_version": "2.1",
            "id": id(ty, n),
            "created": "2024-01-01T00:00:00.000Z",
            "modified": "2024-01-01T00:00:00.000Z",
            "name": name,
        });
        if ty == "malware" {
            o["is_family"] = json!(true);
        }
        if let Some(m) = marking {
            o["object_marking_refs"] = json!([m]);
        }
        o
    };
    let rel = |n: u32, src: String, dst: String, marking: &str| {
        json!({
            "type": "relationship",
            "spec_version": "2.1",
            "id": id("relationship", n),
            "created": "2024-01-01T00:00:00.000Z",
            "modified": "2024-01-01T00:00:00.000Z",
            "relationship_type": "indicates",
            "source_ref": src,
            "target_ref": dst,
            "object_marking_refs": [marking],
        })
    };
    let none = json!({});
    let objects = vec![
        sdo("identity", 1, "Partner A", None),
        sdo("identity", 2, "Partner B", None),
        indicator(
            1,
            "[ipv4-addr:value = '198.51.100.1']",
            1,
            t2(Tlp::Clear),
            none.clone(),
        ),
        indicator(
            2,
            "[domain-name:value = 'green.example']",
            1,
            tlp1_green,
            json!({"labels": ["tlp:amber", "c2"], "external_references": [{"source_name": "mitre-attack", "external_id": "T1071.001"}]}),
        ),
        indicator(
            3,
            "[url:value = 'http://amber.example/x']",
            1,
            t2(Tlp::Amber),
            none.clone(),
        ),
        indicator(
            4,
            "[file:hashes.'SHA-256' = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa']",
            2,
            t2(Tlp::AmberStrict),
            none.clone(),
        ),
        indicator(
            5,
            "[ipv4-addr:value = '203.0.113.66']",
            2,
            t2(Tlp::Red),
            json!({"description": "red secret"}),
        ),
        indicator(
            6,
            "[domain-name:value = 'shared.example']",
            1,
            t2(Tlp::Green),
            none.clone(),
        ),
        indicator(
            7,
            "[domain-name:value = 'shared.example']",
            2,
            t2(Tlp::Red),
            json!({"description": "red secret too"}),
        ),
        indicator(
            8,
            "[domain-name:value = 'expired.example']",
            1,
            t2(Tlp::Green),
            json!({"valid_until": "2024-02-01T00:00:00Z"}),
        ),
        sdo("threat-actor", 1, "Green Actor", Some(t2(Tlp::Green))),
        sdo("malware", 1, "Amber Malware", Some(t2(Tlp::Amber))),
        sdo("malware", 2, "Red Malware", Some(t2(Tlp::Red))),
        sdo("attack-pattern", 1, "Unmarked Pattern", None),
        rel(1, id("indicator", 2), id("threat-actor", 1), t2(Tlp::Green)),
        rel(2, id("indicator", 2), id("malware", 1), t2(Tlp::Green)),
        rel(3, id("indicator", 5), id("threat-actor", 1), t2(Tlp::Green)),
        rel(4, id("indicator", 6), id("threat-actor", 1), t2(Tlp::Clear)),
    ];
    serde_json::to_string(&json!({
        "type": "bundle",
        "id": "bundle--00000000-0000-4000-8000-000000000000",
        "objects": objects,
    }))
    .unwrap()
}

fn mixed() -> (Imported, Intel) {
    let imported = import_stix(&mixed_bundle(), &ImportContext::new("mixed"));
    assert!(imported.report.skipped.is_empty(), "{}", imported.report);
    let mut intel = load(&imported, now());
    // A JA3 fingerprint: MISP can say it, STIX cannot.
    let mut a = Attribution::from_source("Partner A");
    a.tlp = Tlp::Green;
    intel
        .add(
            NewIndicator {
                kind: Kind::Ja3,
                value: "e7d705a3286e19ea42f587b344ee6865".into(),
                attribution: a,
            },
            now(),
        )
        .unwrap();
    (imported, intel)
}

/// Every TLP marking an object carries, TLP 1.0 or 2.0.
fn tlps_marked(o: &Value) -> Vec<Tlp> {
    strs(o, "object_marking_refs")
        .iter()
        .filter_map(|m| {
            TLP_MARKING_DEFINITIONS
                .iter()
                .find(|(id, _)| id == m)
                .map(|(_, t)| *t)
        })
        .collect()
}

fn indicator_values(bundle: &Value) -> BTreeSet<String> {
    objects(bundle)
        .iter()
        .filter(|o| o["type"] == "indicator")
        .map(|o| {
            let p = o["pattern"].as_str().unwrap();
            let (_, value) = p.split_once(" = '").unwrap();
            value.trim_end_matches("']").to_owned()
        })
        .collect()
}

#[test]
fn green_recipients_get_nothing_amber_or_red() {
    let (imported, intel) = mixed();
    let policy = ExportPolicy::new(Tlp::Green, now());
    let export = export_stix(intel.iter(), &imported.context, &policy, &options());
    let bundle = &export.bundle;
    let text = serde_json::to_string(bundle).unwrap();

    for o in objects(bundle) {
        if o["type"] == "marking-definition" {
            let id = o["id"].as_str().unwrap();
            for t in ALL_MARKINGS_ABOVE_GREEN {
                assert_ne!(id, tlp2_marking_id(*t), "{o}");
            }
            continue;
        }
        let marked = tlps_marked(o);
        assert_eq!(marked.len(), 1, "one TLP marking on {o}");
        assert!(marked[0] <= Tlp::Green, "{o}");
    }
    for t in ALL_MARKINGS_ABOVE_GREEN {
        assert!(!text.contains(tlp2_marking_id(*t)), "{t}");
    }
    for secret in [
        "amber.example",
        "aaaaaaaaaaaaaaaa",
        "203.0.113.66",
        "red secret",
        "Amber Malware",
        "Red Malware",
        "Unmarked Pattern",
        "expired.example",
        "tlp:amber",
    ] {
        assert!(!text.contains(secret), "`{secret}` leaked:\n{text}");
    }
    assert_eq!(
        indicator_values(bundle),
        ["198.51.100.1", "green.example", "shared.example"]
            .map(String::from)
            .into()
    );
    // shared.example goes out from Partner A only.
    let shared: Vec<&Value> = objects(bundle)
        .iter()
        .filter(|o| {
            o["pattern"]
                .as_str()
                .is_some_and(|p| p.contains("shared.example"))
        })
        .collect();
    assert_eq!(shared.len(), 1);
    let partner_a = objects(bundle)
        .iter()
        .find(|o| o["type"] == "identity" && o["name"] == "Partner A")
        .unwrap();
    assert_eq!(shared[0]["created_by_ref"], partner_a["id"]);
    assert!(
        !text.contains("Partner B"),
        "a source whose word stays home is not named"
    );

    // The relationship to the green actor goes out, rewritten to the exported
    // indicators; those to withheld objects do not.
    let rels: Vec<&Value> = objects(bundle)
        .iter()
        .filter(|o| o["type"] == "relationship")
        .collect();
    assert_eq!(rels.len(), 2, "{rels:#?}");
    let ids: BTreeSet<&str> = objects(bundle)
        .iter()
        .filter_map(|o| o["id"].as_str())
        .collect();
    for r in &rels {
        assert!(ids.contains(r["source_ref"].as_str().unwrap()), "{r}");
        assert!(ids.contains(r["target_ref"].as_str().unwrap()), "{r}");
    }

    let r = &export.report;
    assert_eq!(r.exported, 3);
    assert_eq!(r.withheld_by_tlp, 3, "amber, amber+strict, red: {r:#?}");
    assert_eq!(r.withheld_expired, 1);
    assert_eq!(r.not_representable, 1, "the JA3");
    // The amber and red malware, and the unmarked (so TLP:AMBER) attack pattern and
    // source identities.
    assert_eq!(r.context_withheld_by_tlp, 5, "{r:#?}");
    assert_eq!(r.tlps, [Tlp::Clear, Tlp::Green].into());
    assert_report_balanced(r, &intel, "green");
    // The attack id of green.example survives; its TLP label does not.
    let green = objects(bundle)
        .iter()
        .find(|o| {
            o["pattern"]
                .as_str()
                .is_some_and(|p| p.contains("green.example"))
        })
        .unwrap();
    assert_eq!(green["labels"], json!(["c2", "threat-actor:Green Actor"]));
    assert_eq!(green["external_references"][0]["external_id"], "T1071.001");

    if let Some(ti) = threat_intel() {
        assert_valid_stix(&ti, bundle, "green export");
    }
}

#[test]
fn red_never_leaves_even_when_allowed() {
    let (imported, intel) = mixed();
    let policy = ExportPolicy::new(Tlp::Red, now());
    let export = export_stix(intel.iter(), &imported.context, &policy, &options());
    let text = serde_json::to_string(&export.bundle).unwrap();
    assert!(!text.contains(tlp2_marking_id(Tlp::Red)));
    assert!(!text.contains("203.0.113.66") && !text.contains("red secret"));
    assert!(!text.contains("Red Malware"));
    for o in objects(&export.bundle) {
        assert!(tlps_marked(o).iter().all(|t| *t < Tlp::Red), "{o}");
    }
    // Everything up to AMBER+STRICT goes out, the unmarked pattern at TLP:AMBER.
    assert!(text.contains(tlp2_marking_id(Tlp::AmberStrict)));
    assert_eq!(
        indicator_values(&export.bundle),
        [
            "198.51.100.1",
            "green.example",
            "http://amber.example/x",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "shared.example",
        ]
        .map(String::from)
        .into()
    );
    assert!(text.contains("Amber Malware") && text.contains("Unmarked Pattern"));
    assert_eq!(export.report.ceiling, Tlp::AmberStrict);
    assert_eq!(export.report.withheld_by_tlp, 1, "{:#?}", export.report);
    if let Some(ti) = threat_intel() {
        assert_valid_stix(&ti, &export.bundle, "red export");
    }

    // And the same through MISP.
    let misp = export_misp_event(
        intel.iter(),
        &imported.context,
        &policy,
        &MispOptions::new("Watchfloor Tenant", "mixed"),
    );
    let text = serde_json::to_string(&misp.event).unwrap();
    assert!(!text.contains("203.0.113.66") && !text.contains("tlp:red"));
    let amber = misp.event["Event"]["Attribute"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["value"] == "http://amber.example/x")
        .unwrap();
    assert_eq!(amber["Tag"][0]["name"], "tlp:amber");
    assert_eq!(
        amber["distribution"], "0",
        "AMBER stays in the organisation"
    );
    assert_eq!(
        misp.event["Event"]["Tag"],
        json!([{"name": "tlp:amber+strict"}])
    );
}

#[test]
fn expired_indicators_go_only_when_asked() {
    let (imported, intel) = mixed();
    let mut policy = ExportPolicy::new(Tlp::Green, now());
    policy.include_expired = true;
    let export = export_stix(intel.iter(), &imported.context, &policy, &options());
    let expired = objects(&export.bundle)
        .iter()
        .find(|o| {
            o["pattern"]
                .as_str()
                .is_some_and(|p| p.contains("expired.example"))
        })
        .expect("the expired indicator goes out when asked");
    assert_eq!(expired["valid_until"], "2024-02-01T00:00:00.000Z");
    assert_eq!(export.report.withheld_expired, 0);
}

#[test]
fn green_misp_events_hold_nothing_amber_or_red() {
    let (imported, intel) = mixed();
    let policy = ExportPolicy::new(Tlp::Green, now());
    let options = MispOptions::new("Watchfloor Tenant", "mixed");
    let export = export_misp_event(intel.iter(), &imported.context, &policy, &options);
    let event = &export.event["Event"];
    let text = serde_json::to_string(&export.event).unwrap();
    for secret in [
        "tlp:amber",
        "tlp:red",
        "amber.example",
        "203.0.113.66",
        "red secret",
    ] {
        assert!(!text.contains(secret), "`{secret}` leaked:\n{text}");
    }
    assert_eq!(event["Tag"], json!([{"name": "tlp:green"}]));
    assert_eq!(event["distribution"], "1");
    let values: BTreeSet<&str> = event["Attribute"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        values,
        [
            "198.51.100.1",
            "green.example",
            "shared.example",
            "e7d705a3286e19ea42f587b344ee6865"
        ]
        .into()
    );
    let ja3 = event["Attribute"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == "ja3-fingerprint-md5")
        .unwrap();
    assert_eq!(ja3["Tag"][0]["name"], "tlp:green");
    assert_eq!(export.report.exported, 4);
    assert_report_balanced(&export.report, &intel, "misp green");

    // It reads back as the same values.
    let back = import_misp_event(&text, &ImportContext::new("re-import"));
    let got: BTreeSet<String> = back.indicators.iter().map(|i| i.value.clone()).collect();
    assert_eq!(got, values.iter().map(|v| v.to_string()).collect());
}

#[test]
fn exports_are_deterministic() {
    let (imported, intel) = mixed();
    let policy = ExportPolicy::new(Tlp::Amber, now());
    let a = export_stix(intel.iter(), &imported.context, &policy, &options());
    let b = export_stix(intel.iter(), &imported.context, &policy, &options());
    assert_eq!(a.bundle, b.bundle);
    // A store built again, later, gives the same ids.
    let later = load(&imported, time("2024-07-01T00:00:00Z"));
    let c = export_stix(later.iter(), &imported.context, &policy, &options());
    let ids = |b: &Value| -> Vec<String> {
        objects(b)
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .filter(|id| !id.starts_with("bundle--"))
            .collect()
    };
    assert_eq!(ids(&a.bundle), ids(&c.bundle));
}

fn shared_incident(key: &str, tlp: Tlp) -> watchfloor_intel::export::incident::SharedIncident {
    use watchfloor_intel::export::incident::{SharedIncident, Technique};
    SharedIncident {
        key: key.to_owned(),
        name: format!("Incident {key}: credential access"),
        description: Some("Beaconing, then LSASS read on two workstations.".into()),
        severity: "high".into(),
        first_seen: time("2024-05-01T10:00:00Z"),
        last_seen: time("2024-05-02T10:00:00Z"),
        stages: vec!["execution/persistence".into(), "credential access".into()],
        techniques: vec![
            Technique {
                id: "T1003.001".into(),
                name: Some("LSASS Memory".into()),
            },
            Technique {
                id: "T1059.001".into(),
                name: None,
            },
        ],
        observables: [
            "203.0.114.77",
            "10.0.0.5",
            "WS-ACCT-07",
            "c2.evil-example.net",
            "fs01.acme.example",
            "44d88612fea8a8f36de82e1278abb02f",
        ]
        .map(str::to_owned)
        .to_vec(),
        tlp,
        closed: false,
    }
}

#[test]
fn shared_incidents_validate_and_keep_internal_values_home() {
    use watchfloor_intel::export::incident::add_incidents_stix;
    let Some(ti) = threat_intel() else { return };
    let (_, intel) = mixed();
    let policy = ExportPolicy::new(Tlp::Amber, now());
    let mut export = export_stix(intel.iter(), &[], &policy, &options());
    let before = objects(&export.bundle).len();
    let incidents = [
        shared_incident("tenant-1/incident-42", Tlp::Green),
        shared_incident("tenant-1/incident-43", Tlp::Amber),
        shared_incident("tenant-1/incident-44", Tlp::Red),
    ];
    let report = add_incidents_stix(
        &mut export,
        &incidents,
        &policy,
        &options(),
        &["acme.example"],
    );
    assert_valid_stix(&ti, &export.bundle, "indicators and incidents");
    assert_eq!((report.exported, report.withheld_by_tlp), (2, 1));
    assert_eq!((report.observables, report.observables_internal), (6, 6));
    let all = objects(&export.bundle);
    let of_type = |t: &str| all.iter().filter(|o| o["type"] == t).count();
    assert_eq!(of_type("incident"), 2);
    assert_eq!(of_type("attack-pattern"), 2, "shared by both incidents");
    assert_eq!(of_type("sighting"), 6);
    assert!(all.len() > before);
    let text = export.bundle.to_string();
    for internal in ["10.0.0.5", "WS-ACCT-07", "acme.example", "incident-44"] {
        assert!(!text.contains(internal), "{internal} left the tenant");
    }
    assert!(text.contains("c2.evil-example.net") && text.contains("203.0.114.77"));
    // Every reference points into the bundle.
    let ids: BTreeSet<&str> = all.iter().filter_map(|o| o["id"].as_str()).collect();
    for o in all {
        for key in [
            "source_ref",
            "target_ref",
            "sighting_of_ref",
            "created_by_ref",
        ] {
            if let Some(r) = o[key].as_str() {
                assert!(
                    ids.contains(r),
                    "{key} {r} of {} is not in the bundle",
                    o["id"]
                );
            }
        }
        for r in strs(o, "object_marking_refs") {
            assert!(ids.contains(r.as_str()), "marking {r} is not in the bundle");
        }
    }
    // A GREEN recipient gets the GREEN incident only.
    let green = ExportPolicy::new(Tlp::Green, now());
    let mut export = export_stix(intel.iter(), &[], &green, &options());
    let report = add_incidents_stix(&mut export, &incidents, &green, &options(), &[]);
    assert_eq!((report.exported, report.withheld_by_tlp), (1, 2));
    for o in objects(&export.bundle) {
        for tlp in tlps_marked(o) {
            assert!(tlp <= Tlp::Green, "{tlp:?} in {}", o["id"]);
        }
    }
    // The same incidents shared again make the same objects.
    let mut again = export_stix(intel.iter(), &[], &green, &options());
    add_incidents_stix(&mut again, &incidents, &green, &options(), &[]);
    assert_eq!(again.bundle, export.bundle);
}

#[test]
fn shared_incidents_as_misp_events_import_back() {
    use watchfloor_intel::export::incident::{IncidentReport, incident_misp_event};
    let mut report = IncidentReport::default();
    let green = ExportPolicy::new(Tlp::Green, now());
    let amber = shared_incident("tenant-1/incident-43", Tlp::Amber);
    assert_eq!(
        incident_misp_event(&amber, &green, "SOC", &[], &mut report),
        None
    );
    let event = incident_misp_event(
        &shared_incident("tenant-1/incident-42", Tlp::Green),
        &green,
        "SOC",
        &["acme.example"],
        &mut report,
    )
    .expect("green goes to green");
    assert_eq!((report.exported, report.withheld_by_tlp), (1, 1));
    let text = event.to_string();
    assert!(!text.contains("10.0.0.5") && !text.contains("acme.example"));
    let imported = import_misp_event(&text, &ImportContext::new("partner"));
    assert!(imported.report.skipped.is_empty(), "{:?}", imported.report);
    let mut values: Vec<(Kind, String)> = imported
        .indicators
        .iter()
        .map(|i| (i.kind, i.value.clone()))
        .collect();
    values.sort();
    assert_eq!(
        values,
        [
            (Kind::Ipv4, "203.0.114.77".to_owned()),
            (Kind::Domain, "c2.evil-example.net".to_owned()),
            (Kind::Md5, "44d88612fea8a8f36de82e1278abb02f".to_owned()),
        ]
    );
    for i in &imported.indicators {
        assert_eq!(i.attribution.tlp, Tlp::Green);
        assert!(
            i.attribution.attack.contains(&"T1003.001".to_owned()),
            "{:?}",
            i.attribution.attack
        );
    }
}
