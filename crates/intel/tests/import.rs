//! The importers, on hand-made documents and on the shared public corpora
//! (`../shared/corpora/threat-intel`, or `$WATCHFLOOR_CORPORA`). Corpus tests print a
//! note and pass when the corpora are absent, unless `WATCHFLOOR_REQUIRE_CORPORA` is
//! set (CI sets it, so it never passes by skipping).

mod common;
use common::{json_files, read, threat_intel};

use std::cell::Cell;
use std::collections::HashSet;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use watchfloor_event::Timestamp;
use watchfloor_intel::import::kev::import_kev;
use watchfloor_intel::import::lines::{
    Column, ColumnMapping, Header, KindSource, MAX_RECORD, import_csv_str, import_plain_list,
    import_plain_list_str,
};
use watchfloor_intel::import::misp::{import_misp_event, import_misp_feed};
use watchfloor_intel::import::stix::{import_stix, import_stix_reader};
use watchfloor_intel::import::{
    Allowlist, ImportContext, ImportError, ImportReport, Imported, import_json,
};
use watchfloor_intel::{Kind, NewIndicator, Tlp, normalize};

// ---------------------------------------------------------------------------------
// Helpers

fn ctx(source: &str) -> ImportContext<'static> {
    ImportContext::new(source)
}

fn assert_balanced(r: &ImportReport, what: &str) {
    assert!(
        r.is_balanced(),
        "{what}: taken {} + skipped {} + not matchable {} != candidates {}\n{r}",
        r.taken,
        r.skipped_count(),
        r.not_matchable_count(),
        r.candidates
    );
}

/// Taken values are normalised and stay the same when normalised again.
fn assert_normalised(indicators: &[NewIndicator]) {
    for i in indicators {
        assert_eq!(
            normalize(i.kind, &i.value).as_deref(),
            Ok(i.value.as_str()),
            "{i:?}"
        );
    }
}

fn values(imported: &Imported) -> Vec<(Kind, &str)> {
    imported
        .indicators
        .iter()
        .map(|i| (i.kind, i.value.as_str()))
        .collect()
}

fn find<'i>(imported: &'i Imported, value: &str) -> &'i NewIndicator {
    imported
        .indicators
        .iter()
        .find(|i| i.value == value)
        .unwrap_or_else(|| panic!("no indicator {value}\n{}", imported.report))
}

fn time(text: &str) -> Timestamp {
    let ts: jiff::Timestamp = text.parse().unwrap();
    Timestamp(ts.as_nanosecond() as i64)
}

// ---------------------------------------------------------------------------------
// STIX, corpus

#[test]
fn every_stix_example_imports_with_a_balanced_report() {
    let Some(ti) = threat_intel() else { return };
    let files = json_files(&ti.join("stix2-json-schemas/examples"));
    assert!(files.len() >= 8, "{files:?}");
    for f in &files {
        let imported = import_stix(&read(f), &ctx("example"));
        assert_balanced(&imported.report, &f.display().to_string());
        assert_normalised(&imported.indicators);
        assert!(
            imported
                .report
                .skipped
                .iter()
                .all(|s| s.place != "document"),
            "{}: {}",
            f.display(),
            imported.report
        );
        // The reader path gives the same.
        let streamed =
            import_stix_reader(std::fs::File::open(f).unwrap(), &ctx("example")).unwrap();
        assert_eq!(streamed.indicators, imported.indicators, "{}", f.display());
        assert_eq!(streamed.report, imported.report, "{}", f.display());
    }
}

#[test]
fn c2_ip_address_example() {
    let Some(ti) = threat_intel() else { return };
    let text = read(&ti.join("stix2-json-schemas/examples/indicator-for-c2-ip-address.json"));
    let imported = import_stix(&text, &ctx("indicator-for-c2-ip-address.json"));
    assert_eq!(values(&imported), [(Kind::Ipv4, "10.0.0.0")]);
    let a = &imported.indicators[0].attribution;
    assert_eq!(a.valid_from, Some(time("2014-05-08T09:00:00Z")));
    assert_eq!(a.valid_until, None);
    assert_eq!(a.source, "indicator-for-c2-ip-address.json");
    assert_eq!(a.confidence, 50);
    assert_eq!(a.tlp, Tlp::Amber);
    assert_eq!(
        a.reference.as_deref(),
        Some("indicator--33fe3b22-0201-47cf-85d0-97c02164528d")
    );
    assert_eq!(
        a.description.as_deref(),
        Some("IP Address for known C2 channel: Test description C2 channel.")
    );
    assert_eq!(a.tags, ["malicious-activity"]);
    let r = &imported.report;
    assert_eq!((r.candidates, r.taken), (1, 1));
}

#[test]
fn malicious_email_example_is_reported_not_matchable() {
    // Its two indicators are `email-message:subject MATCHES ...` and
    // `email-message:body_multipart[*].body_raw_ref.name MATCHES ...`: regular
    // expressions on an e-mail's subject and attachment name, no address or hash.
    let Some(ti) = threat_intel() else { return };
    let text = read(
        &ti.join("stix2-json-schemas/examples/malicious-email-indicator-with-attachment.json"),
    );
    let imported = import_stix(&text, &ctx("email"));
    assert!(imported.indicators.is_empty(), "{}", imported.report);
    let r = &imported.report;
    assert_eq!(r.candidates, 2);
    let places: Vec<&str> = r.not_matchable.iter().map(|s| s.place.as_str()).collect();
    assert_eq!(
        places,
        [
            "indicator--8cf9236f-1b96-493d-98be-0c1c1e8b62d7",
            "indicator--2e17f6fe-3a4d-438a-911a-e509ba1b9933"
        ]
    );
    assert!(r.not_matchable[0].reason.contains("MATCHES"), "{r}");
    assert!(
        r.not_matchable[1].reason.contains(
            r"`email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\.exe$'`"
        ),
        "{r}"
    );
    // The attack pattern, identity and relationships are kept for context.
    assert_eq!(r.context_objects, 4);
    assert!(
        imported
            .context
            .iter()
            .any(|c| c.kind == "attack-pattern" && c.name.as_deref() == Some("Phishing"))
    );
}

#[test]
fn c2_with_coa_example_resolves_identity_and_malware() {
    let Some(ti) = threat_intel() else { return };
    let text = read(&ti.join("stix2-json-schemas/examples/indicators-for-C2-with-COA.json"));
    let imported = import_stix(&text, &ctx("coa"));
    assert_eq!(
        values(&imported),
        [
            (Kind::Ipv4, "10.0.0.0"),
            (
                Kind::Sha256,
                "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c"
            )
        ]
    );
    for i in &imported.indicators {
        assert_eq!(
            i.attribution.source,
            "The MITRE Corporation - DHS Support Team"
        );
        assert!(
            i.attribution
                .tags
                .contains(&"malware:Poison Ivy".to_owned()),
            "{i:?}"
        );
    }
}

#[test]
fn threat_reports_give_networks_domains_hashes_and_say_what_they_leave() {
    let Some(ti) = threat_intel() else { return };
    let apt1 = import_stix(
        &read(&ti.join("stix2-json-schemas/examples/threat-reports/apt1.json")),
        &ctx("apt1"),
    );
    assert_eq!(find(&apt1, "223.166.0.0/15").kind, Kind::Cidr);
    assert_eq!(find(&apt1, "hugesoft.org").kind, Kind::Domain);
    assert_eq!(
        find(&apt1, "001dd76872d80801692ff942308c64e6").kind,
        Kind::Md5
    );
    assert_eq!(apt1.indicators.len(), 10);
    // Two x509 certificates: an AND of issuer and serial number.
    assert_eq!(apt1.report.not_matchable_count(), 2, "{}", apt1.report);
    assert!(
        apt1.report.not_matchable[0]
            .reason
            .contains("x509-certificate:issuer")
    );
    assert_eq!(apt1.report.context_objects, 64);

    let pivy = import_stix(
        &read(&ti.join("stix2-json-schemas/examples/threat-reports/poisonivy.json")),
        &ctx("poisonivy"),
    );
    assert_balanced(&pivy.report, "poisonivy");
    // An OR of domain and addresses gives each; the same address in several
    // indicators comes once per indicator (the store merges them).
    assert_eq!(find(&pivy, "www.webserver.dynssl.com").kind, Kind::Domain);
    assert!(
        pivy.indicators
            .iter()
            .filter(|i| i.value == "113.10.246.30")
            .count()
            >= 4
    );
    // `domain autuo.xicp.net` is not a domain: skipped, the rest of its OR taken.
    let bad = &pivy.report.skipped;
    assert_eq!(bad.len(), 1, "{}", pivy.report);
    assert!(
        bad[0].reason.contains("domain autuo.xicp.net"),
        "{}",
        pivy.report
    );
    find(&pivy, "60.10.1.115");
    // Two `file:name` indicators.
    assert_eq!(pivy.report.not_matchable_count(), 2, "{}", pivy.report);
    assert!(pivy.report.not_matchable[0].reason.contains("file:name"));
    // The indicators name no author; the report holding them does.
    assert!(
        pivy.indicators
            .iter()
            .all(|i| i.attribution.source == "FireEye, Inc.")
    );
    assert!(
        find(&pivy, "219.76.208.163")
            .attribution
            .tags
            .iter()
            .any(|t| t.starts_with("malware:"))
    );
    // APT1's report names no author: the import's source.
    assert!(
        apt1.indicators
            .iter()
            .all(|i| i.attribution.source == "apt1")
    );
}

#[test]
fn infrastructure_example_keeps_observables_as_context() {
    let Some(ti) = threat_intel() else { return };
    let imported = import_stix(
        &read(&ti.join("stix2-json-schemas/examples/infrastructure.json")),
        &ctx("infra"),
    );
    assert!(imported.indicators.is_empty());
    assert_eq!(imported.report.candidates, 0);
    assert_eq!(imported.report.context_objects, 10);
    assert!(
        imported
            .context
            .iter()
            .any(|c| c.kind == "ipv4-addr" && c.name.as_deref() == Some("198.51.100.3"))
    );
}

#[test]
fn single_object_with_a_tlp_red_marking() {
    let Some(ti) = threat_intel() else { return };
    let imported = import_stix(
        &read(&ti.join("stix2-json-schemas/examples/interop-objectmarking-test.json")),
        &ctx("one"),
    );
    assert_eq!(imported.report.context_objects, 1);
    assert_eq!(imported.context[0].kind, "campaign");
}

#[test]
fn stix_2_0_observed_data_from_misp() {
    let Some(ti) = threat_intel() else { return };
    let text = read(&ti.join("pymisp-test-events/tests/stix2.json"));
    let imported = import_json(&text, &ctx("misp-stix"));
    assert_eq!(values(&imported), [(Kind::Ipv4, "8.8.8.8")]);
    let a = &imported.indicators[0].attribution;
    assert!(a.tags.contains(&"observed".to_owned()), "{a:?}");
    assert_eq!(a.source, "ORGNAME");
    assert_eq!(
        a.reference.as_deref(),
        Some("observed-data--0853d51f-0fe7-4d35-b3cb-b96bdbc1f0ee")
    );
    assert!(
        a.description
            .as_deref()
            .unwrap()
            .contains("2021-08-24T10:53:13Z")
    );
}

// ---------------------------------------------------------------------------------
// STIX, hand-made

const BUNDLE: &str = r#"{
  "type": "bundle",
  "id": "bundle--1",
  "objects": [
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--broken",
     "pattern": "[ipv4-addr:value = '198.51.100.1'", "pattern_type": "stix",
     "valid_from": "2020-01-01T00:00:00Z"},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--good",
     "created_by_ref": "identity--acme", "confidence": 85,
     "name": "C2", "indicator_types": ["malicious-activity"],
     "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "command-and-control"}],
     "object_marking_refs": ["marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"],
     "pattern": "[domain-name:value = 'c2.evil.example' OR url:value = 'http://c2.evil.example/gate.php'] START t'2020-06-01T00:00:00Z' STOP t'2021-01-01T00:00:00Z'",
     "pattern_type": "stix", "valid_from": "2020-01-01T00:00:00Z", "valid_until": "2020-12-01T00:00:00Z"},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--hashes",
     "object_marking_refs": ["marking-definition--custom-green", "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"],
     "pattern": "[file:hashes.MD5 = 'D41D8CD98F00B204E9800998ECF8427E' AND file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']",
     "pattern_type": "stix", "valid_from": "2020-01-01T00:00:00Z"},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--revoked", "revoked": true,
     "pattern": "[ipv4-addr:value = '198.51.100.2']", "pattern_type": "stix", "valid_from": "2020-01-01T00:00:00Z"},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--yara",
     "pattern": "rule x { condition: true }", "pattern_type": "yara", "valid_from": "2020-01-01T00:00:00Z"},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--badtime",
     "pattern": "[ipv4-addr:value = '198.51.100.3']", "pattern_type": "stix", "valid_from": "last tuesday"},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--seq",
     "pattern": "[ipv4-addr:value = '198.51.100.4'] FOLLOWEDBY [domain-name:value = 'x.example']",
     "pattern_type": "stix", "valid_from": "2020-01-01T00:00:00Z"},
    {"type": "relationship", "id": "relationship--1", "relationship_type": "indicates",
     "source_ref": "indicator--good", "target_ref": "attack-pattern--c2"},
    {"type": "attack-pattern", "id": "attack-pattern--c2", "name": "Web Protocols",
     "external_references": [{"source_name": "mitre-attack", "external_id": "T1071.001"}]},
    {"type": "identity", "id": "identity--acme", "name": "ACME CERT", "identity_class": "organization"},
    {"type": "marking-definition", "id": "marking-definition--custom-green",
     "definition_type": "tlp", "definition": {"tlp": "amber"}},
    42
  ]
}"#;

#[test]
fn hand_made_bundle_reports_each_problem_and_imports_the_rest() {
    let imported = import_stix(BUNDLE, &ctx("hand-made.json"));
    let r = &imported.report;
    assert_balanced(r, "hand-made");
    // The broken pattern, with its position.
    let broken = r
        .skipped
        .iter()
        .find(|s| s.place == "indicator--broken")
        .unwrap();
    assert!(
        broken.reason.contains("at column 34: expected `]`"),
        "{}",
        broken.reason
    );
    let reason_of = |place: &str| {
        r.skipped
            .iter()
            .chain(&r.not_matchable)
            .find(|s| s.place == place)
            .map(|s| s.reason.as_str())
            .unwrap_or_else(|| panic!("{place} not reported\n{r}"))
    };
    assert_eq!(reason_of("indicator--revoked"), "revoked");
    assert!(reason_of("indicator--yara").contains("pattern_type `yara`"));
    assert!(reason_of("indicator--badtime").contains("valid_from"));
    assert!(reason_of("indicator--seq").contains("FOLLOWEDBY"));
    assert!(reason_of("objects[11]").contains("not a JSON object"));

    assert_eq!(
        values(&imported),
        [
            (Kind::Domain, "c2.evil.example"),
            (Kind::Url, "http://c2.evil.example/gate.php"),
            (Kind::Md5, "d41d8cd98f00b204e9800998ecf8427e"),
            (
                Kind::Sha256,
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            ),
        ]
    );
    let good = &imported.indicators[0].attribution;
    assert_eq!(good.source, "ACME CERT");
    assert_eq!(good.confidence, 85);
    assert_eq!(good.tlp, Tlp::AmberStrict);
    assert_eq!(good.attack, ["T1071.001"]);
    assert_eq!(
        good.tags,
        [
            "malicious-activity",
            "mitre-attack:command-and-control",
            "attack-pattern:Web Protocols"
        ]
    );
    // valid_from..valid_until narrowed by START..STOP.
    assert_eq!(good.valid_from, Some(time("2020-06-01T00:00:00Z")));
    assert_eq!(good.valid_until, Some(time("2020-12-01T00:00:00Z")));
    assert_eq!(good.reference.as_deref(), Some("indicator--good"));

    // The AND of two hashes of one file: each taken, and said so.
    let md5 = &imported.indicators[2].attribution;
    assert!(
        md5.description
            .as_deref()
            .unwrap()
            .contains("one of 2 values ANDed")
    );
    assert!(
        r.notes
            .iter()
            .any(|n| n.place == "indicator--hashes" && n.reason.contains("AND of 2 equalities"))
    );
    // Strictest of the bundle's own TLP marking (amber) and TLP:GREEN.
    assert_eq!(md5.tlp, Tlp::Amber);
    assert_eq!(r.context_objects, 4);
}

#[test]
fn invalid_json_keeps_what_came_before() {
    let text = r#"{"type": "bundle", "objects": [
        {"type": "indicator", "id": "indicator--a", "pattern": "[ipv4-addr:value = '198.51.100.1']", "valid_from": "2020-01-01T00:00:00Z"},
        {"type": "indicator", "id": "indicator--b", "pattern": "[ipv4-addr:value = '198.51.100.2']",, }
    ]}"#;
    let imported = import_stix(text, &ctx("cut.json"));
    assert_eq!(values(&imported), [(Kind::Ipv4, "198.51.100.1")]);
    let r = &imported.report;
    assert_balanced(r, "cut");
    assert_eq!(r.skipped[0].place, "document");
    assert!(r.skipped[0].reason.contains("line 3"), "{r}");
    assert!(r.skipped[0].reason.contains("not read"), "{r}");

    let nothing = import_stix("this is not json", &ctx("garbage"));
    assert_eq!(nothing.report.candidates, 1);
    assert!(nothing.report.skipped[0].reason.contains("invalid JSON"));
    let array = import_stix(
        r#"[{"type": "indicator", "id": "indicator--x", "pattern": "[url:value = 'http://a.example/']"}]"#,
        &ctx("array"),
    );
    assert_eq!(values(&array), [(Kind::Url, "http://a.example/")]);
}

#[test]
fn stix_reader_streams_a_large_bundle() {
    // 50,000 indicators through a reader, read object by object.
    let n = 50_000;
    let mut text = String::from(r#"{"type": "bundle", "id": "bundle--big", "objects": ["#);
    for i in 0..n {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!(
            r#"{{"type": "indicator", "id": "indicator--{i}", "pattern": "[ipv4-addr:value = '10.{}.{}.{}']", "valid_from": "2020-01-01T00:00:00Z"}}"#,
            i / 65536,
            (i / 256) % 256,
            i % 256
        ));
    }
    text.push_str("]}");
    let imported = import_stix_reader(text.as_bytes(), &ctx("big")).unwrap();
    assert_eq!(imported.report.taken, n);
    assert_eq!(imported.indicators[n as usize - 1].value, "10.0.195.79");
}

#[test]
fn allowlisted_values_are_skipped_with_the_list_name() {
    let allow = Allowlist::new(|kind, value| {
        (kind == Kind::Domain && value == "example.com").then(|| "test list".to_owned())
    });
    let context = ImportContext::new("x").with_allowlist(&allow);
    let imported = import_stix(
        r#"{"type": "indicator", "id": "indicator--x", "pattern": "[domain-name:value = 'Example.COM' OR domain-name:value = 'evil.example']"}"#,
        &context,
    );
    assert_eq!(values(&imported), [(Kind::Domain, "evil.example")]);
    assert!(
        imported.report.skipped[0]
            .reason
            .contains("warninglist `test list`")
    );
    assert_balanced(&imported.report, "allowlist");
}

// ---------------------------------------------------------------------------------
// MISP, corpus

#[test]
fn every_pymisp_test_file_imports_or_is_named() {
    let Some(ti) = threat_intel() else { return };
    let files = json_files(&ti.join("pymisp-test-events/tests"));
    assert!(files.len() >= 20);
    for f in &files {
        let text = read(f);
        for imported in [
            import_misp_event(&text, &ctx("pymisp")),
            import_json(&text, &ctx("pymisp")),
        ] {
            assert_balanced(&imported.report, &f.display().to_string());
            assert_normalised(&imported.indicators);
        }
    }
}

fn pymisp(ti: &Path, name: &str) -> Imported {
    let imported = import_misp_event(
        &read(&ti.join("pymisp-test-events/tests").join(name)),
        &ctx(name),
    );
    assert_balanced(&imported.report, name);
    imported
}

#[test]
fn misp_ransomware_event() {
    let Some(ti) = threat_intel() else { return };
    let imported = pymisp(&ti, "57c4445b-c548-4654-af0b-4be3950d210f.json");
    assert_eq!(
        values(&imported),
        [
            (Kind::Md5, "0749bae92ca336a02c83d126e04ec628"),
            (Kind::Sha1, "77b0c41b7d340b8a3d903f21347bbf06aa766b5b"),
            (
                Kind::Sha256,
                "b3c4ae251f8094fa15b510051835c657eaef2a6cea46075d3aec964b14a99f68"
            ),
        ]
    );
    let a = &imported.indicators[0].attribution;
    assert_eq!(a.source, "CIRCL");
    assert_eq!(a.tlp, Tlp::Clear, "tlp:white tag");
    assert_eq!(a.confidence, 50);
    assert_eq!(
        a.reference.as_deref(),
        Some("57c4448b-454c-4d17-90d1-4d2f950d210f")
    );
    assert!(
        a.tags
            .contains(&"ms-caro-malware:malware-type=\"Ransom\"".to_owned())
    );
    assert!(
        a.tags
            .contains(&"misp:category=\"Payload delivery\"".to_owned())
    );
    assert!(!a.tags.iter().any(|t| t.starts_with("tlp:")));
    assert_eq!(
        a.description.as_deref(),
        Some("Ransomware - Xorist / Imported via the Freetext Import Tool")
    );
    let r = &imported.report;
    assert_eq!((r.candidates, r.taken, r.skipped_count()), (9, 3, 0));
    let reasons: Vec<&str> = r.not_matchable.iter().map(|s| s.reason.as_str()).collect();
    assert!(reasons.iter().any(|s| s.contains("`link`")), "{r}");
    assert!(reasons.iter().any(|s| s.contains("`regkey|value`")), "{r}");
    assert!(reasons.iter().any(|s| s.contains("`filename`")), "{r}");
}

#[test]
fn misp_existing_event_with_objects_and_galaxies() {
    let Some(ti) = threat_intel() else { return };
    let imported = pymisp(&ti, "mispevent_testfiles/existing_event.json");
    let r = &imported.report;
    let count = |k| imported.indicators.iter().filter(|i| i.kind == k).count();
    assert_eq!(count(Kind::Sha1), 37);
    assert_eq!(count(Kind::Domain), 19);
    assert_eq!(count(Kind::Ipv4), 12);
    assert_eq!(r.taken, 68, "{r}");
    let a = &find(&imported, "68064fc152e23d56e541714af52651cb4ba81aaf").attribution;
    assert_eq!(a.source, "CIRCL");
    assert_eq!(a.tlp, Tlp::Clear);
    assert_eq!(
        a.description.as_deref(),
        Some("OSINT - Sednit update: How Fancy Bear Spent the Year / Win32/Sednit.AX")
    );
    assert!(
        a.tags
            .contains(&"misp-galaxy:threat-actor=\"Sofacy\"".to_owned())
    );
    assert_eq!(r.context_objects, 14, "galaxy clusters");
    assert!(
        imported
            .context
            .iter()
            .any(|c| c.name.as_deref() == Some("Sofacy"))
    );
}

#[test]
fn misp_small_events() {
    let Some(ti) = threat_intel() else { return };
    // to_ids false: half the confidence, tagged; distribution 0: AMBER+STRICT.
    let e = pymisp(&ti, "misp_event.json");
    assert_eq!(
        values(&e),
        [(Kind::Url, "http://fake.website.com/malware/is/here")]
    );
    let a = &e.indicators[0].attribution;
    assert_eq!(a.source, "ORGNAME");
    assert_eq!(a.confidence, 25);
    assert!(a.tags.contains(&"misp:to_ids=\"false\"".to_owned()));
    assert_eq!(a.tlp, Tlp::AmberStrict);
    assert_eq!(
        a.reference.as_deref(),
        Some("575c8598-f1f0-4c16-a94a-0612c0a83866")
    );

    let e = pymisp(&ti, "mispevent_testfiles/simple.json");
    assert_eq!(e.report.candidates, 0);
    assert!(e.indicators.is_empty());

    let e = pymisp(&ti, "mispevent_testfiles/def_param.json");
    assert_eq!(
        values(&e),
        [
            (Kind::Domain, "domain.example.com"),
            (Kind::Domain, "ns1.example.com"),
            (Kind::Domain, "ns2.example.com")
        ]
    );
    assert!(
        e.report.not_matchable[0]
            .reason
            .contains("`whois-registrar`")
    );

    let e = pymisp(&ti, "mispevent_testfiles/event_obj_attr_tag.json");
    assert_eq!(values(&e), [(Kind::Url, "https://www.circl.lu/")]);

    let e = pymisp(&ti, "mispevent_testfiles/malware_exist.json");
    assert_eq!(
        values(&e).iter().map(|v| v.0).collect::<Vec<_>>(),
        [Kind::Md5, Kind::Md5, Kind::Sha1, Kind::Sha256]
    );

    let e = pymisp(&ti, "mispevent_testfiles/attribute_del.json");
    assert_eq!(e.report.skipped[0].reason, "deleted in MISP");

    let e = pymisp(&ti, "mispevent_testfiles/proposals.json");
    assert_eq!(
        e.report
            .skipped
            .iter()
            .filter(|s| s.reason.contains("ShadowAttribute"))
            .count(),
        2
    );

    for (file, what) in [
        (
            "mispevent_testfiles/test_object_template/definition.json",
            "object template",
        ),
        (
            "mispevent_testfiles/overwrite_file/definition.json",
            "object template",
        ),
        ("mispevent_testfiles/galaxy.json", "galaxy"),
        ("stix2.json", "STIX bundle"),
        ("mispevent_testfiles/sighting.json", "not a MISP event"),
    ] {
        let e = pymisp(&ti, file);
        assert_eq!(e.report.skipped.len(), 1, "{file}");
        assert!(
            e.report.skipped[0].reason.contains(what),
            "{file}: {}",
            e.report
        );
    }
}

// ---------------------------------------------------------------------------------
// MISP, hand-made

const EVENT: &str = r#"{"Event": {
  "uuid": "e1", "info": "Phishing wave", "distribution": "3",
  "Orgc": {"name": "Partner CERT"},
  "Tag": [{"name": "tlp:green"}, {"name": "osint:certainty=\"75\""},
          {"name": "misp-galaxy:mitre-attack-pattern=\"Command and Scripting Interpreter - T1059\""}],
  "Attribute": [
    {"uuid": "a1", "type": "ip-dst", "value": "198.51.100.7", "to_ids": true,
     "first_seen": "2024-03-01T10:00:00.000000+00:00",
     "Tag": [{"name": "tlp:red"}]},
    {"uuid": "a2", "type": "domain|ip", "value": "evil.example|198.51.100.8", "to_ids": true},
    {"uuid": "a3", "type": "ip-src|port", "value": "2001:db8::1|443", "to_ids": "1"},
    {"uuid": "a4", "type": "ja3-fingerprint-md5", "value": "E7D705A3286E19EA42F587B344EE6865", "to_ids": true},
    {"uuid": "a5", "type": "md5", "value": "not-a-hash", "to_ids": true},
    {"uuid": "a6", "type": "mutex", "value": "Global\\x", "to_ids": true},
    {"uuid": "a7", "type": "ip-dst", "value": "10.0.0.0/8", "to_ids": true, "distribution": "0"}
  ],
  "Object": [{"name": "file", "distribution": "5", "deleted": true,
              "Attribute": [{"type": "sha1", "value": "da39a3ee5e6b4b0d3255bfef95601890afd80709"}]}]
}}"#;

#[test]
fn misp_tags_give_tlp_confidence_and_attack() {
    let e = import_misp_event(EVENT, &ctx("partner"));
    assert_balanced(&e.report, "event");
    assert_eq!(
        values(&e),
        [
            (Kind::Ipv4, "198.51.100.7"),
            (Kind::Domain, "evil.example"),
            (Kind::Ipv4, "198.51.100.8"),
            (Kind::Ipv6, "2001:db8::1"),
            (Kind::Ja3, "e7d705a3286e19ea42f587b344ee6865"),
            (Kind::Cidr, "10.0.0.0/8"),
        ]
    );
    let first = &e.indicators[0].attribution;
    assert_eq!(first.tlp, Tlp::Red, "the attribute's tag wins");
    assert_eq!(first.source, "Partner CERT");
    assert_eq!(first.confidence, 75);
    assert_eq!(first.attack, ["T1059"]);
    assert_eq!(first.valid_from, Some(time("2024-03-01T10:00:00Z")));
    assert_eq!(
        e.indicators[1].attribution.tlp,
        Tlp::Green,
        "the event's tag"
    );
    assert_eq!(
        e.indicators[5].attribution.tlp,
        Tlp::AmberStrict,
        "distribution 0"
    );
    let reasons: Vec<(&str, &str)> = e
        .report
        .skipped
        .iter()
        .map(|s| (s.place.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(reasons.len(), 2, "{}", e.report);
    assert_eq!(reasons[0].0, "event e1 Attribute[4]");
    assert!(reasons[0].1.contains("not a valid md5"), "{reasons:?}");
    assert_eq!(reasons[1].0, "event e1 Object[0] (file) Attribute[0]");
    assert!(reasons[1].1.contains("object is deleted"));
    assert_eq!(e.report.not_matchable[0].place, "event e1 Attribute[5]");
    assert!(e.report.not_matchable[0].reason.contains("`mutex`"));
}

#[test]
fn misp_feed_imports_each_event_and_reports_failures() {
    let manifest = r#"{
        "e1": {"info": "Phishing wave", "timestamp": "1700000000", "Orgc": {"name": "Partner CERT"}},
        "e2": {"info": "unreachable"},
        "e3": {"info": "broken"}
    }"#;
    let mut asked = Vec::new();
    let feed = import_misp_feed(
        manifest,
        |uuid| {
            asked.push(uuid.to_owned());
            match uuid {
                "e1" => Ok(EVENT.to_owned()),
                "e2" => Err("HTTP 404".to_owned()),
                _ => Ok("{\"Event\": [".to_owned()),
            }
        },
        &ctx("feed"),
    )
    .unwrap();
    assert_eq!(asked, ["e1", "e2", "e3"]);
    assert_eq!(feed.indicators.len(), 6);
    let r = &feed.report;
    assert_balanced(r, "feed");
    assert!(
        r.skipped
            .iter()
            .any(|s| s.place == "event e2" && s.reason.contains("HTTP 404"))
    );
    assert!(
        r.skipped
            .iter()
            .any(|s| s.place == "document" && s.reason.contains("invalid JSON"))
    );
    assert!(matches!(
        import_misp_feed("[]", |_| Ok(String::new()), &ctx("feed")),
        Err(ImportError::Document { .. })
    ));
}

// ---------------------------------------------------------------------------------
// CSV and plain lists

#[test]
fn csv_with_a_wrong_column_count_names_the_line() {
    let text = "\
indicator,type,tlp,confidence,tags
198.51.100.1,ip-dst,green,80,c2|botnet
evil.example,domain,,,
# a comment
bad.example,domain,amber
198.51.100.300,ipv4,,,

http://evil.example/x,url,TLP:RED,,
x.example,colour,,,
y.example,domain,purple,,
z.example,domain,,150,
\"q,example\",domain,,,
";
    let mut mapping = ColumnMapping::new("indicator", KindSource::Column("type".into()));
    mapping.tlp = Some("tlp".into());
    mapping.confidence = Some("confidence".into());
    mapping.tags = Some(Column::Name("tags".into()));
    mapping.tag_separator = '|';
    let imported = import_csv_str(text, &mapping, &ctx("feed.csv")).unwrap();
    let r = &imported.report;
    assert_balanced(r, "csv");
    assert_eq!(
        values(&imported),
        [
            (Kind::Ipv4, "198.51.100.1"),
            (Kind::Domain, "evil.example"),
            (Kind::Url, "http://evil.example/x"),
        ]
    );
    let a = &imported.indicators[0].attribution;
    assert_eq!((a.tlp, a.confidence), (Tlp::Green, 80));
    assert_eq!(a.tags, ["c2", "botnet"]);
    assert_eq!(a.reference.as_deref(), Some("feed.csv:2"));
    assert_eq!(imported.indicators[2].attribution.tlp, Tlp::Red);
    let skipped: Vec<(&str, &str)> = r
        .skipped
        .iter()
        .map(|s| (s.place.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(skipped.len(), 6, "{r}");
    assert_eq!(
        skipped[0],
        ("feed.csv:5", "3 columns, expected 5 (as in the header)")
    );
    assert_eq!(skipped[1].0, "feed.csv:6");
    assert!(skipped[1].1.contains("not a valid ipv4"));
    assert_eq!(skipped[2].0, "feed.csv:9");
    assert!(skipped[2].1.starts_with("unknown kind `colour`"));
    assert!(skipped[3].1.contains("unknown TLP `purple`"));
    assert!(skipped[4].1.contains("confidence `150`"));
    assert_eq!(skipped[5].0, "feed.csv:12");
    assert!(r.notes[0].reason.starts_with("read as the header"));
}

#[test]
fn csv_mapping_that_does_not_fit_fails_clearly() {
    let m = ColumnMapping::new("ioc", KindSource::Detect);
    match import_csv_str("value,kind\n1.2.3.4,ip\n", &m, &ctx("f.csv")) {
        Err(ImportError::Mapping(msg)) => assert!(msg.contains("no column named `ioc`"), "{msg}"),
        other => panic!("{other:?}"),
    }
    let m = ColumnMapping::new(3, KindSource::Detect);
    match import_csv_str("1.2.3.4,x\n", &m, &ctx("f.csv")) {
        Err(ImportError::Mapping(msg)) => {
            assert!(
                msg.contains("column 4 but the first record has 2 columns"),
                "{msg}"
            )
        }
        other => panic!("{other:?}"),
    }
    // No header: positions, the first record is data.
    let mut m = ColumnMapping::new(1, KindSource::Fixed(Kind::Sha256));
    m.delimiter = ';';
    m.header = Header::Absent;
    let text = format!("a;{}\nb;{}\n", "A".repeat(64), "b".repeat(63));
    let imported = import_csv_str(&text, &m, &ctx("h.csv")).unwrap();
    assert_eq!(imported.indicators.len(), 1);
    assert_eq!(imported.report.skipped[0].place, "h.csv:2");
    // Header detected: the first value cell is not an indicator.
    let m = ColumnMapping::new(0, KindSource::Detect);
    let imported = import_csv_str("url\nhttps://evil.example/a\n", &m, &ctx("d.csv")).unwrap();
    assert_eq!(values(&imported), [(Kind::Url, "https://evil.example/a")]);
}

#[test]
fn plain_lists_detect_kinds() {
    let text = "\
# blocklist
; spamhaus style
198.51.100.0/24 ; SBL123
2001:db8::2
evil.example # c2
0.0.0.0 ads.example
127.0.0.1 localhost
https://evil.example/payload
bob@evil.example
d41d8cd98f00b204e9800998ecf8427e
not a domain!
";
    let imported = import_plain_list_str(text, None, &ctx("list.txt"));
    assert_balanced(&imported.report, "plain");
    assert_eq!(
        values(&imported),
        [
            (Kind::Cidr, "198.51.100.0/24"),
            (Kind::Ipv6, "2001:db8::2"),
            (Kind::Domain, "evil.example"),
            (Kind::Domain, "ads.example"),
            (Kind::Url, "https://evil.example/payload"),
            (Kind::Email, "bob@evil.example"),
            (Kind::Md5, "d41d8cd98f00b204e9800998ecf8427e"),
        ]
    );
    let places: Vec<&str> = imported
        .report
        .skipped
        .iter()
        .map(|s| s.place.as_str())
        .collect();
    assert_eq!(places, ["list.txt:7", "list.txt:11"]);
    assert!(
        imported.report.skipped[1]
            .reason
            .contains("more than one value")
    );
    let imported = import_plain_list_str("localhost\nn/a\n", None, &ctx("words"));
    assert_eq!(imported.report.skipped_count(), 2);
    assert!(
        imported.report.skipped[0]
            .reason
            .contains("no kind of indicator")
    );
    // A fixed kind: every value must be one.
    let imported = import_plain_list_str("10.0.0.1\nevil.example\n", Some(Kind::Ipv4), &ctx("ips"));
    assert_eq!(imported.report.taken, 1);
    assert!(
        imported.report.skipped[0]
            .reason
            .contains("not a valid ipv4")
    );
}

/// Generates `lines` lines of a blocklist on the fly, counting the bytes handed out.
struct Generated {
    next_line: u64,
    lines: u64,
    pending: Vec<u8>,
    produced: Rc<Cell<u64>>,
}

impl Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pending.is_empty() {
            if self.next_line == self.lines {
                return Ok(0);
            }
            let i = self.next_line;
            self.next_line += 1;
            self.pending = if i % 1000 == 999 {
                b"not a value at all\n".to_vec()
            } else {
                format!("10.{}.{}.{}\n", i >> 16 & 255, i >> 8 & 255, i & 255).into_bytes()
            };
        }
        let n = out.len().min(self.pending.len());
        out[..n].copy_from_slice(&self.pending[..n]);
        self.pending.drain(..n);
        self.produced.set(self.produced.get() + n as u64);
        Ok(n)
    }
}

#[test]
fn a_large_feed_streams_line_by_line() {
    let lines = 200_000;
    let produced = Rc::new(Cell::new(0));
    let input = BufReader::with_capacity(
        8192,
        Generated {
            next_line: 0,
            lines,
            pending: Vec::new(),
            produced: produced.clone(),
        },
    );
    let mut first_seen_at = None;
    let mut taken = 0u64;
    let report = import_plain_list(input, None, &ctx("big.txt"), |i| {
        if first_seen_at.is_none() {
            first_seen_at = Some(produced.get());
        }
        assert_eq!(i.kind, Kind::Ipv4);
        taken += 1;
    })
    .unwrap();
    let total = produced.get();
    assert!(total > 2_000_000, "{total}");
    // The first indicator came out after a buffer's worth of input, not the whole feed.
    assert!(
        first_seen_at.unwrap() <= 8192,
        "{first_seen_at:?} of {total}"
    );
    assert_eq!(taken, 200_000 - 200);
    assert_eq!(report.taken, taken);
    assert_eq!(report.skipped_count(), 200);
    assert_eq!(report.skipped[0].place, "big.txt:1000");
    assert_balanced(&report, "big");
}

#[test]
fn an_overlong_line_is_skipped_and_reading_goes_on() {
    let mut text = String::from("198.51.100.1\n");
    text.push_str(&"a".repeat(MAX_RECORD * 20));
    text.push_str("\n198.51.100.2\n");
    let mut taken = Vec::new();
    let report = import_plain_list(
        BufReader::with_capacity(4096, text.as_bytes()),
        None,
        &ctx("long.txt"),
        |i| taken.push(i.value),
    )
    .unwrap();
    assert_eq!(taken, ["198.51.100.1", "198.51.100.2"]);
    assert_eq!(report.skipped[0].place, "long.txt:2");
    assert!(report.skipped[0].reason.contains("longer than"));
}

// ---------------------------------------------------------------------------------
// Warninglists and KEV, corpus

/// A hostname warninglist lookup, as the analysis engine does it: the value or any
/// name above it.
fn hostname_lists(ti: &Path) -> Vec<(String, HashSet<String>)> {
    let mut lists = Vec::new();
    for f in json_files(&ti.join("misp-warninglists/lists")) {
        let v: serde_json::Value = serde_json::from_str(&read(&f)).unwrap();
        if v["type"] != "hostname" {
            continue;
        }
        let entries = v["list"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e.as_str())
            .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
            .collect();
        lists.push((v["name"].as_str().unwrap().to_owned(), entries));
    }
    lists
}

#[test]
fn warninglists_as_an_allowlist() {
    let Some(ti) = threat_intel() else { return };
    let lists = hostname_lists(&ti);
    assert!(lists.len() >= 10);
    let allow = Allowlist::new(|kind, value| {
        if kind != Kind::Domain {
            return None;
        }
        let mut name = value;
        loop {
            if let Some((list, _)) = lists.iter().find(|(_, set)| set.contains(name)) {
                return Some(list.clone());
            }
            name = name.split_once('.')?.1;
        }
    });
    let context = ImportContext::new("list.txt").with_allowlist(&allow);
    let imported = import_plain_list_str(
        "api.ipify.org\nevil.example\nfoo.000webhostapp.com\n",
        None,
        &context,
    );
    assert_eq!(values(&imported), [(Kind::Domain, "evil.example")]);
    let r = &imported.report;
    assert_balanced(r, "allowlisted");
    assert!(
        r.skipped[0].reason.contains("findip") || r.skipped[0].reason.contains("source IP"),
        "{r}"
    );
    assert!(r.skipped[1].reason.contains("LOTS"), "{r}");
}

#[test]
fn kev_catalog_loads_every_entry() {
    let Some(ti) = threat_intel() else { return };
    let text = read(&ti.join("cisa-kev/known_exploited_vulnerabilities.json"));
    let count = serde_json::from_str::<serde_json::Value>(&text).unwrap()["count"]
        .as_u64()
        .unwrap();
    let kev = import_kev(&text, "cisa-kev");
    assert_eq!(kev.vulnerabilities.len() as u64, count);
    assert_eq!(kev.report.taken, count);
    assert_eq!(kev.report.skipped_count(), 0, "{}", kev.report);
    assert!(kev.report.notes.is_empty());
    assert_eq!(kev.catalog_version.as_deref(), Some("2025.08.25"));
    let log4shell = kev
        .vulnerabilities
        .iter()
        .find(|v| v.cve == "CVE-2021-44228")
        .unwrap();
    assert_eq!(log4shell.product, "Log4j2");
    assert_eq!(log4shell.known_ransomware, Some(true));
    assert_eq!(log4shell.date_added.to_string(), "2021-12-10");
    assert_eq!(
        log4shell.due_date.map(|d| d.to_string()).as_deref(),
        Some("2021-12-24")
    );
    assert_eq!(log4shell.cwes, ["CWE-20", "CWE-400", "CWE-502"]);
}

#[test]
fn bufread_is_enough() {
    // The streaming importers take any BufRead, a Cursor included.
    let cursor = io::Cursor::new(b"198.51.100.9\n".to_vec());
    let mut n = 0;
    let report = import_plain_list(cursor.take(1 << 20), None, &ctx("c"), |_| n += 1).unwrap();
    assert_eq!((n, report.taken), (1, 1));
    let _: &dyn BufRead = &io::empty();
}

// ---------------------------------------------------------------------------------
// Properties: no input panics, every report balances

mod properties {
    use proptest::prelude::*;
    use watchfloor_intel::import::lines::{ColumnMapping, KindSource, import_csv_str};
    use watchfloor_intel::import::misp::import_misp_event;
    use watchfloor_intel::import::pattern::{extract, parse};
    use watchfloor_intel::import::stix::import_stix;

    use super::ctx;

    proptest! {
        #[test]
        fn any_text_is_a_pattern_or_an_error(s in "\\PC{0,80}") {
            if let Ok(p) = parse(&s) {
                let _ = extract(&p, &s);
            }
        }

        #[test]
        fn pattern_like_text_is_a_pattern_or_an_error(
            s in "[\\[\\]()' =:a-z0-9.,*!<>\\\\-]{0,60}|\\[(ipv4-addr:value|file:hashes.MD5|domain-name:value) (=|IN|MATCHES|ISSUBSET) ('[a-z0-9./]{0,12}'|\\('a', 'b'\\))( (AND|OR) (url:value|file:name) = 'x')?\\]( (REPEATS 2 TIMES|WITHIN 5 SECONDS|AND \\[a:b = 1\\]))?"
        ) {
            let imported = import_stix(
                &serde_json::json!({"type": "indicator", "id": "indicator--p", "pattern": s}).to_string(),
                &ctx("prop"),
            );
            prop_assert!(imported.report.is_balanced(), "{}", imported.report);
            prop_assert!(imported.report.candidates >= 1);
        }

        #[test]
        fn csv_reports_balance(s in "[a-z0-9.,\"#\\n /:@;-]{0,300}") {
            let mapping = ColumnMapping::new(0, KindSource::Detect);
            if let Ok(imported) = import_csv_str(&s, &mapping, &ctx("prop.csv")) {
                prop_assert!(imported.report.is_balanced(), "{}", imported.report);
            }
        }

        #[test]
        fn misp_reports_balance(
            ty in "(ip-dst|domain|domain\\|ip|url|md5|filename\\|sha256|text|link|ip-src\\|port)",
            value in "[a-f0-9.|:/]{0,70}",
            to_ids in any::<bool>(),
        ) {
            let event = serde_json::json!({"Event": {"Attribute": [{"type": ty, "value": value, "to_ids": to_ids}]}});
            let imported = import_misp_event(&event.to_string(), &ctx("prop"));
            prop_assert!(imported.report.is_balanced(), "{}", imported.report);
        }
    }
}

/// The name of what an indicator `indicates` rides along as a tag only when that object
/// may be shared as widely as the indicator: a GREEN indicator must not carry the name
/// of an AMBER malware (exports would leak it).
#[test]
fn indicated_names_never_raise_what_an_indicator_reveals() {
    let green = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb";
    let amber = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421";
    let bundle = format!(
        r#"{{"type": "bundle", "id": "bundle--1", "objects": [
        {{"type": "indicator", "spec_version": "2.1", "id": "indicator--1",
          "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
          "pattern_type": "stix", "pattern": "[domain-name:value = 'a.example']",
          "valid_from": "2024-01-01T00:00:00Z", "object_marking_refs": ["{green}"]}},
        {{"type": "indicator", "spec_version": "2.1", "id": "indicator--2",
          "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
          "pattern_type": "stix", "pattern": "[domain-name:value = 'b.example']",
          "valid_from": "2024-01-01T00:00:00Z", "object_marking_refs": ["{amber}"]}},
        {{"type": "malware", "spec_version": "2.1", "id": "malware--1", "name": "Secret Kit",
          "is_family": true, "created": "2024-01-01T00:00:00.000Z",
          "modified": "2024-01-01T00:00:00.000Z", "object_marking_refs": ["{amber}"]}},
        {{"type": "relationship", "spec_version": "2.1", "id": "relationship--1",
          "relationship_type": "indicates", "source_ref": "indicator--1",
          "target_ref": "malware--1", "created": "2024-01-01T00:00:00.000Z",
          "modified": "2024-01-01T00:00:00.000Z"}},
        {{"type": "relationship", "spec_version": "2.1", "id": "relationship--2",
          "relationship_type": "indicates", "source_ref": "indicator--2",
          "target_ref": "malware--1", "created": "2024-01-01T00:00:00.000Z",
          "modified": "2024-01-01T00:00:00.000Z"}}
    ]}}"#
    );
    let got = import_stix(&bundle, &ctx("partner"));
    let tags_of = |value: &str| {
        let i = got
            .indicators
            .iter()
            .find(|i| i.value == value)
            .expect("imported");
        (i.attribution.tlp, i.attribution.tags.clone())
    };
    let (tlp, tags) = tags_of("a.example");
    assert_eq!(tlp, Tlp::Green);
    assert!(!tags.iter().any(|t| t.contains("Secret Kit")), "{tags:?}");
    let (tlp, tags) = tags_of("b.example");
    assert_eq!(tlp, Tlp::Amber);
    assert!(tags.iter().any(|t| t == "malware:Secret Kit"), "{tags:?}");
}
