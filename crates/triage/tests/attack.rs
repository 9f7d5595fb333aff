//! The ATT&CK catalog on hand-written STIX and on the shared corpora (the CTI
//! one-object-per-file layout and a single ICS bundle), and the tactic spellings.

use std::path::{Path, PathBuf};

use watchfloor_triage::attack::{AttackCatalog, AttackError, Stage, parse_sigma_tags};

const CORPORA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpora");

/// The corpus folder below `threat-intel`, or `None` (with a note) when absent.
fn threat_intel(sub: &str) -> Option<PathBuf> {
    let path = Path::new(CORPORA).join("threat-intel").join(sub);
    if path.exists() {
        Some(path)
    } else {
        println!("skipped: corpus {} is absent", path.display());
        None
    }
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn every_enterprise_tactic_maps_to_its_stage() {
    let expected = [
        (
            "reconnaissance",
            "TA0043",
            "Reconnaissance",
            Stage::Reconnaissance,
        ),
        (
            "resource-development",
            "TA0042",
            "Resource Development",
            Stage::Reconnaissance,
        ),
        (
            "initial-access",
            "TA0001",
            "Initial Access",
            Stage::Intrusion,
        ),
        ("execution", "TA0002", "Execution", Stage::Execution),
        ("persistence", "TA0003", "Persistence", Stage::Execution),
        (
            "privilege-escalation",
            "TA0004",
            "Privilege Escalation",
            Stage::PrivilegeEscalation,
        ),
        (
            "defense-evasion",
            "TA0005",
            "Defense Evasion",
            Stage::DefenseEvasion,
        ),
        (
            "credential-access",
            "TA0006",
            "Credential Access",
            Stage::CredentialAccess,
        ),
        ("discovery", "TA0007", "Discovery", Stage::Discovery),
        (
            "lateral-movement",
            "TA0008",
            "Lateral Movement",
            Stage::LateralMovement,
        ),
        ("collection", "TA0009", "Collection", Stage::Collection),
        (
            "command-and-control",
            "TA0011",
            "Command and Control",
            Stage::CommandAndControl,
        ),
        (
            "exfiltration",
            "TA0010",
            "Exfiltration",
            Stage::Exfiltration,
        ),
        ("impact", "TA0040", "Impact", Stage::Impact),
    ];
    for (shortname, id, display, stage) in expected {
        let sigma = shortname.replace('-', "_");
        let spellings = [
            shortname.to_owned(),
            shortname.to_uppercase(),
            sigma.clone(),
            format!("attack.{sigma}"),
            format!("attack.{shortname}"),
            format!("ATTACK.{}", sigma.to_uppercase()),
            display.to_owned(),
            format!("  {display}  "),
            id.to_owned(),
            id.to_lowercase(),
        ];
        for spelling in &spellings {
            assert_eq!(Stage::from_tactic(spelling), Some(stage), "{spelling:?}");
        }
    }
    for unknown in [
        "",
        "attack.",
        "lateral",
        "t1059",
        "TA9999",
        "attack.g0016",
        "défense",
    ] {
        assert_eq!(Stage::from_tactic(unknown), None, "{unknown:?}");
    }
}

#[test]
fn stages_are_in_kill_chain_order_with_labels() {
    let mut sorted = Stage::ALL;
    sorted.sort();
    assert_eq!(sorted, Stage::ALL);
    assert_eq!(Stage::ALL.first(), Some(&Stage::Reconnaissance));
    assert_eq!(Stage::ALL.last(), Some(&Stage::Impact));
    assert!(Stage::Intrusion < Stage::LateralMovement);
    assert_eq!(Stage::Execution.label(), "execution/persistence");
    assert_eq!(Stage::CommandAndControl.label(), "command and control");
    assert_eq!(
        serde_json::to_string(&Stage::PrivilegeEscalation)
            .ok()
            .as_deref(),
        Some("\"privilege-escalation\"")
    );
    let back: Result<Stage, _> = serde_json::from_str("\"command-and-control\"");
    assert_eq!(back.ok(), Some(Stage::CommandAndControl));
}

#[test]
fn ics_tactics_map_too() {
    assert_eq!(Stage::from_tactic("evasion"), Some(Stage::DefenseEvasion));
    assert_eq!(
        Stage::from_tactic("inhibit-response-function"),
        Some(Stage::Impact)
    );
    assert_eq!(
        Stage::from_tactic("Impair Process Control"),
        Some(Stage::Impact)
    );
    assert_eq!(Stage::from_tactic("TA0108"), Some(Stage::Intrusion));
}

#[test]
fn sigma_tags_split_into_techniques_tactics_and_stages() {
    let tags = [
        "attack.execution",
        "attack.t1059.001",
        "attack.T1059.001",
        "attack.defense_evasion",
        "attack.defense-evasion",
        "attack.t1027",
        "attack.g0016",
        "attack.s0002",
        "cve.2021-44228",
        "detection.threat-hunting",
        "car.2013-05-002",
        "attack.initial_access",
        "tlp.white",
    ];
    let info = parse_sigma_tags(&tags);
    assert_eq!(info.techniques, ["T1059.001", "T1027"]);
    assert_eq!(
        info.tactics,
        ["execution", "defense-evasion", "initial-access"]
    );
    assert_eq!(
        info.stages,
        [Stage::Intrusion, Stage::Execution, Stage::DefenseEvasion]
    );

    let owned: Vec<String> = vec!["ATTACK.CREDENTIAL_ACCESS".into(), "Attack.T1003.001".into()];
    let info = parse_sigma_tags(&owned);
    assert_eq!(info.techniques, ["T1003.001"]);
    assert_eq!(info.tactics, ["credential-access"]);
    assert_eq!(info.stages, [Stage::CredentialAccess]);

    assert_eq!(parse_sigma_tags::<&str>(&[]), Default::default());
}

const HAND_BUNDLE: &str = r#"{
  "type": "bundle", "id": "bundle--1", "spec_version": "2.1",
  "objects": [
    {"type": "relationship", "id": "relationship--1", "relationship_type": "mitigates",
     "source_ref": "course-of-action--m", "target_ref": "attack-pattern--parent"},
    {"type": "relationship", "id": "relationship--2", "relationship_type": "uses",
     "source_ref": "malware--x", "target_ref": "attack-pattern--parent"},
    {"type": "attack-pattern", "id": "attack-pattern--parent", "name": "Parent",
     "external_references": [{"source_name": "capec", "external_id": "CAPEC-1"},
                             {"source_name": "mitre-attack", "external_id": "T7000"}],
     "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "discovery"},
                           {"kill_chain_name": "lockheed", "phase_name": "weaponization"},
                           {"kill_chain_name": "mitre-attack", "phase_name": "persistence"}]},
    {"type": "attack-pattern", "id": "attack-pattern--child", "name": "Child",
     "revoked": true,
     "external_references": [{"source_name": "mitre-attack", "external_id": "t7000.001"}],
     "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "impact"}]},
    {"type": "course-of-action", "id": "course-of-action--m", "name": "Do Things",
     "external_references": [{"source_name": "mitre-attack", "external_id": "M9000"}]},
    {"type": "course-of-action", "id": "course-of-action--old", "name": "Old Style",
     "external_references": [{"source_name": "mitre-attack", "external_id": "T7000"}]},
    {"type": "malware", "id": "malware--x", "name": "X"},
    42
  ]
}"#;

#[test]
fn hand_written_bundle_resolves_late_references() {
    let mut catalog = AttackCatalog::default();
    assert!(catalog.is_empty());
    let stats = catalog.add_stix_json(HAND_BUNDLE).expect("valid bundle");
    assert_eq!(stats.techniques, 2);
    assert_eq!(stats.mitigations, 1);
    assert_eq!(stats.relationships, 1);
    assert_eq!(stats.tactics, 0);
    assert_eq!(stats.skipped, 4, "uses, old-style mitigation, malware, 42");
    assert_eq!(catalog.technique_count(), 2);

    let parent = catalog.technique("t7000").expect("T7000 loaded");
    assert_eq!(parent.name, "Parent");
    assert_eq!(parent.tactics, ["discovery", "persistence"]);
    assert!(!parent.deprecated);
    let child = catalog.technique("T7000.001").expect("child loaded");
    assert_eq!(child.id, "T7000.001");
    assert!(child.deprecated, "revoked counts as deprecated");

    assert_eq!(
        catalog.stages_of("T7000"),
        [Stage::Execution, Stage::Discovery]
    );
    assert_eq!(
        catalog.stages_of("T7000.001"),
        [Stage::Impact],
        "own tactics win"
    );
    assert_eq!(
        catalog.stages_of("T7000.002"),
        [Stage::Execution, Stage::Discovery]
    );
    assert!(catalog.stages_of("T9999.999").is_empty());
    assert!(catalog.stages_of("").is_empty());
    assert!(catalog.stages_of(".").is_empty());

    let names = |id: &str| -> Vec<String> {
        catalog
            .mitigations_of(id)
            .iter()
            .map(|m| m.id.clone())
            .collect()
    };
    assert_eq!(names("T7000"), ["M9000"]);
    assert_eq!(names("t7000.001"), ["M9000"], "falls back to the parent");
    assert!(names("T9999").is_empty());
    assert_eq!(
        catalog.mitigation("m9000").map(|m| m.name.as_str()),
        Some("Do Things")
    );
    assert!(catalog.mitigation("T7000").is_none());
}

#[test]
fn single_objects_in_any_order_across_calls() {
    let mut catalog = AttackCatalog::default();
    let relationship = r#"{"type":"relationship","relationship_type":"mitigates",
        "source_ref":"course-of-action--a","target_ref":"attack-pattern--a"}"#;
    let duplicate_relationship = relationship;
    let technique = r#"{"type":"attack-pattern","id":"attack-pattern--a","name":"A",
        "external_references":[{"source_name":"mitre-attack","external_id":"T1234"}],
        "kill_chain_phases":[{"kill_chain_name":"mitre-attack","phase_name":"collection"}]}"#;
    let mitigation = r#"{"type":"course-of-action","id":"course-of-action--a","name":"Z",
        "external_references":[{"source_name":"mitre-attack","external_id":"M1000"}]}"#;
    let tactic = r#"{"type":"x-mitre-tactic","id":"x-mitre-tactic--c","name":"Collection",
        "x_mitre_shortname":"collection",
        "external_references":[{"source_name":"mitre-attack","external_id":"TA0009"}]}"#;
    for text in [
        relationship,
        duplicate_relationship,
        technique,
        mitigation,
        tactic,
    ] {
        catalog.add_stix_json(text).expect("valid object");
    }
    let mitigations = catalog.mitigations_of("T1234");
    assert_eq!(mitigations.len(), 1, "deduplicated");
    assert_eq!(mitigations.first().map(|m| m.name.as_str()), Some("Z"));
    assert_eq!(catalog.stages_of("t1234"), [Stage::Collection]);
    assert_eq!(
        catalog.tactic("TA0009").map(|t| t.name.as_str()),
        Some("Collection")
    );
    assert_eq!(
        catalog.tactic("Collection").map(|t| t.id.as_str()),
        Some("TA0009")
    );
    assert!(!catalog.is_empty());
}

#[test]
fn malformed_json_is_an_error_with_position() {
    let mut catalog = AttackCatalog::default();
    match catalog.add_stix_json("{\n  \"type\": \"bundle\",\n  \"objects\": [,]\n}") {
        Err(AttackError::Json { line, column, .. }) => {
            assert_eq!(line, 3);
            assert!(column > 0);
        }
        other => panic!("expected a JSON error, got {other:?}"),
    }
    assert!(matches!(
        catalog.add_stix_json("[1, 2]"),
        Err(AttackError::NotStix(_))
    ));
    assert!(matches!(
        catalog.add_stix_json(r#"{"type":"bundle","objects":{}}"#),
        Err(AttackError::NotStix(_))
    ));
    assert!(matches!(
        catalog.add_stix_json(""),
        Err(AttackError::Json { .. })
    ));
    let message = catalog
        .add_stix_json("{\"type\": ")
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(message.contains("line 1"), "{message}");
    assert!(catalog.is_empty(), "nothing loaded from bad input");
}

#[test]
fn enterprise_per_object_layout() {
    let Some(root) = threat_intel("mitre-cti-enterprise/enterprise-attack") else {
        return;
    };
    let mut catalog = AttackCatalog::default();
    let mut totals = [0usize; 5];
    let mut files = 0;
    for folder in ["attack-pattern", "x-mitre-tactic", "course-of-action"] {
        for path in json_files(&root.join(folder)) {
            let text = std::fs::read_to_string(&path).expect("readable corpus file");
            let stats = catalog
                .add_stix_json(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            files += 1;
            totals[0] += stats.techniques;
            totals[1] += stats.tactics;
            totals[2] += stats.mitigations;
            totals[3] += stats.relationships;
            totals[4] += stats.skipped;
        }
    }
    println!(
        "enterprise: {files} files, {} techniques, {} tactics, {} mitigations, \
         {} relationships, {} skipped; catalog holds {} techniques",
        totals[0],
        totals[1],
        totals[2],
        totals[3],
        totals[4],
        catalog.technique_count()
    );
    assert!(catalog.technique_count() > 600);
    assert_eq!(catalog.tactic_count(), 14);
    assert!(catalog.mitigation_count() >= 40);

    let powershell = catalog.technique("t1059.001").expect("T1059.001 present");
    assert_eq!(powershell.name, "PowerShell");
    assert_eq!(powershell.tactics, ["execution"]);
    assert!(!powershell.deprecated);
    assert_eq!(catalog.stages_of("T1059.001"), [Stage::Execution]);
    assert_eq!(catalog.stages_of("T1003.001"), [Stage::CredentialAccess]);
    assert_eq!(
        catalog.technique("T1003.001").map(|t| t.name.as_str()),
        Some("LSASS Memory")
    );
    assert!(catalog.stages_of("T1078").contains(&Stage::Intrusion));
    assert!(catalog.stages_of("T9999.999").is_empty());
    assert!(
        catalog.stages_of("T1059.999").contains(&Stage::Execution),
        "parent fallback"
    );

    for (shortname, id) in [
        ("credential-access", "TA0006"),
        ("command-and-control", "TA0011"),
    ] {
        let tactic = catalog.tactic(shortname).expect("tactic loaded");
        assert_eq!(tactic.id, id);
        assert_eq!(
            catalog.tactic(id).map(|t| t.shortname.as_str()),
            Some(shortname)
        );
    }
    for tactic in [
        "reconnaissance",
        "resource_development",
        "impact",
        "Defense Evasion",
    ] {
        assert!(catalog.tactic(tactic).is_some(), "{tactic}");
    }
    let name = catalog.mitigation("M1026").map(|m| m.name.as_str());
    assert_eq!(name, Some("Privileged Account Management"));
    // No relationships loaded from these folders, so no mitigations resolve yet.
    assert!(catalog.mitigations_of("T1003.001").is_empty());
}

#[test]
fn ics_single_bundle() {
    let Some(path) = threat_intel("mitre-attack-stix-data/ics-attack/ics-attack.json") else {
        return;
    };
    let text = std::fs::read_to_string(&path).expect("readable corpus file");
    let mut catalog = AttackCatalog::default();
    let stats = catalog.add_stix_json(&text).expect("the ICS bundle parses");
    println!(
        "ics: {} techniques, {} tactics, {} mitigations, {} relationships, {} skipped",
        stats.techniques, stats.tactics, stats.mitigations, stats.relationships, stats.skipped
    );
    assert!(stats.techniques > 50);
    assert_eq!(stats.tactics, 12);
    assert!(stats.mitigations > 0);
    assert!(stats.relationships > 100);
    assert!(stats.skipped > 0);
    let with_mitigations = ["T0800", "T0812", "T0866", "T0886"]
        .iter()
        .filter(|id| !catalog.mitigations_of(id).is_empty())
        .count();
    assert!(with_mitigations > 0);
    assert!(catalog.tactic("TA0106").is_some());
    assert!(!catalog.stages_of("T0800").is_empty());
    let sorted = catalog.mitigations_of("T0866");
    assert!(
        sorted
            .windows(2)
            .all(|w| matches!(w, [a, b] if a.id < b.id))
    );
}
