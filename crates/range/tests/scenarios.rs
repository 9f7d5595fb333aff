//! The scenarios that ship with the product parse and validate, and bad scenarios are
//! rejected with the place named.

use std::path::Path;

use watchfloor_range::scenario::Scenario;

fn shipped() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yml") {
            out.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
    out.sort();
    out
}

#[test]
fn shipped_scenarios_are_valid() {
    let all = shipped();
    assert!(all.len() >= 2);
    for (file, text) in all {
        let s = Scenario::from_yaml(&file, &text).unwrap_or_else(|e| panic!("{e}"));
        assert!(!s.campaign.steps.is_empty(), "{file}");
    }
}

#[test]
fn bad_scenarios_name_the_place() {
    let (file, text) = shipped().remove(0);
    let broken = text.replacen("target: WS-ACCT-07", "target: NOPE", 1);
    let e = Scenario::from_yaml(&file, &broken).unwrap_err().to_string();
    assert!(e.contains("campaign.steps[0]") && e.contains("NOPE"), "{e}");
    let unknown = text.replacen("seed:", "sede:", 1);
    let e = Scenario::from_yaml(&file, &unknown)
        .unwrap_err()
        .to_string();
    assert!(e.contains("sede"), "{e}");
    let e = Scenario::from_yaml("x.yml", "name: [")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("x.yml"), "{e}");
}

/// The schema in the documentation is the one the code derives (regenerate with
/// `watchfloor range schema > docs/range-scenario.schema.json`).
#[test]
fn documented_schema_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/range-scenario.schema.json");
    let documented: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(documented, watchfloor_range::scenario::schema());
}
