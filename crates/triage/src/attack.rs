//! The MITRE ATT&CK catalog and the kill-chain stages triage reasons with.
//!
//! [`AttackCatalog`] is filled from STIX 2.x JSON text (a whole bundle, or the
//! one-object-per-file layout of the CTI repository, in any order): techniques, tactics,
//! mitigations and the `mitigates` relationships between them. Objects are kept by STIX
//! id and relationships are resolved only when asked, so a relationship may arrive before
//! the objects it joins. [`Stage`] is the coarse kill chain incidents are ordered by;
//! [`Stage::from_tactic`] maps every ATT&CK tactic spelling onto it and
//! [`parse_sigma_tags`] reads the `attack.*` tags of a Sigma rule. Technique ids newer
//! than the loaded data are never an error: they simply have no stages or mitigations.

use std::collections::hash_map::Entry;

use foldhash::HashMap;
use serde_json::Value;

/// A coarse kill-chain stage; the derived order is the order of an intrusion.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    Reconnaissance,
    Intrusion,
    Execution,
    PrivilegeEscalation,
    DefenseEvasion,
    CredentialAccess,
    Discovery,
    LateralMovement,
    Collection,
    CommandAndControl,
    Exfiltration,
    Impact,
}

/// One known ATT&CK tactic: its shortname, its id and the stage it belongs to.
struct KnownTactic {
    shortname: &'static str,
    id: &'static str,
    stage: Stage,
}

const fn known(shortname: &'static str, id: &'static str, stage: Stage) -> KnownTactic {
    KnownTactic {
        shortname,
        id,
        stage,
    }
}

/// The enterprise tactics, then the ICS ones (whose shortnames partly repeat them).
const KNOWN_TACTICS: [KnownTactic; 28] = [
    known("reconnaissance", "TA0043", Stage::Reconnaissance),
    known("resource-development", "TA0042", Stage::Reconnaissance),
    known("initial-access", "TA0001", Stage::Intrusion),
    known("execution", "TA0002", Stage::Execution),
    known("persistence", "TA0003", Stage::Execution),
    known("privilege-escalation", "TA0004", Stage::PrivilegeEscalation),
    known("defense-evasion", "TA0005", Stage::DefenseEvasion),
    // ATT&CK v18 split Defense Evasion in two: Stealth keeps TA0005, Defense
    // Impairment (disabling logging, security tools, firewalls) is TA0112. Both are the
    // kill chain's defense-evasion stage.
    known("stealth", "TA0005", Stage::DefenseEvasion),
    known("defense-impairment", "TA0112", Stage::DefenseEvasion),
    known("credential-access", "TA0006", Stage::CredentialAccess),
    known("discovery", "TA0007", Stage::Discovery),
    known("lateral-movement", "TA0008", Stage::LateralMovement),
    known("collection", "TA0009", Stage::Collection),
    known("command-and-control", "TA0011", Stage::CommandAndControl),
    known("exfiltration", "TA0010", Stage::Exfiltration),
    known("impact", "TA0040", Stage::Impact),
    // ATT&CK for ICS.
    known("collection", "TA0100", Stage::Collection),
    known("command-and-control", "TA0101", Stage::CommandAndControl),
    known("discovery", "TA0102", Stage::Discovery),
    known("evasion", "TA0103", Stage::DefenseEvasion),
    known("execution", "TA0104", Stage::Execution),
    known("impact", "TA0105", Stage::Impact),
    known("impair-process-control", "TA0106", Stage::Impact),
    known("inhibit-response-function", "TA0107", Stage::Impact),
    known("initial-access", "TA0108", Stage::Intrusion),
    known("lateral-movement", "TA0109", Stage::LateralMovement),
    known("persistence", "TA0110", Stage::Execution),
    known("privilege-escalation", "TA0111", Stage::PrivilegeEscalation),
];

/// Finds a tactic by any of its spellings (see [`Stage::from_tactic`]).
fn known_tactic(tactic: &str) -> Option<&'static KnownTactic> {
    let kebab = kebab_tactic(tactic);
    KNOWN_TACTICS
        .iter()
        .find(|t| t.shortname == kebab || t.id.eq_ignore_ascii_case(&kebab))
}

/// A tactic spelling as a lower-case kebab shortname: "attack.defense_evasion",
/// "Defense Evasion" → "defense-evasion".
fn kebab_tactic(tactic: &str) -> String {
    let lower = tactic.trim().to_ascii_lowercase();
    let bare = lower.strip_prefix("attack.").unwrap_or(&lower);
    bare.split(|c: char| c == '_' || c == '-' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

impl Stage {
    /// Every stage, in kill-chain order (the order of `Ord`).
    pub const ALL: [Stage; 12] = [
        Stage::Reconnaissance,
        Stage::Intrusion,
        Stage::Execution,
        Stage::PrivilegeEscalation,
        Stage::DefenseEvasion,
        Stage::CredentialAccess,
        Stage::Discovery,
        Stage::LateralMovement,
        Stage::Collection,
        Stage::CommandAndControl,
        Stage::Exfiltration,
        Stage::Impact,
    ];

    /// ATT&CK tactic → stage. Accepts shortnames ("defense-evasion"), Sigma spellings
    /// ("defense_evasion", "attack.defense-evasion"), display names ("Defense Evasion"),
    /// tactic ids ("TA0005"), case-insensitive.
    ///
    /// reconnaissance and resource-development → Reconnaissance; initial-access →
    /// Intrusion; execution and persistence → Execution; defense-evasion and the two
    /// tactics ATT&CK v18 split it into, stealth and defense-impairment →
    /// DefenseEvasion; the other enterprise tactics to the stage of the same name. The ICS tactics map likewise (evasion → DefenseEvasion,
    /// impair-process-control and inhibit-response-function → Impact).
    pub fn from_tactic(tactic: &str) -> Option<Stage> {
        known_tactic(tactic).map(|t| t.stage)
    }

    /// A short human label ("execution/persistence", "command and control").
    pub fn label(self) -> &'static str {
        match self {
            Stage::Reconnaissance => "reconnaissance",
            Stage::Intrusion => "intrusion",
            Stage::Execution => "execution/persistence",
            Stage::PrivilegeEscalation => "privilege escalation",
            Stage::DefenseEvasion => "defense evasion",
            Stage::CredentialAccess => "credential access",
            Stage::Discovery => "discovery",
            Stage::LateralMovement => "lateral movement",
            Stage::Collection => "collection",
            Stage::CommandAndControl => "command and control",
            Stage::Exfiltration => "exfiltration",
            Stage::Impact => "impact",
        }
    }
}

/// An ATT&CK technique or sub-technique.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Technique {
    /// Upper-case ATT&CK id, "T1059.001".
    pub id: String,
    pub name: String,
    /// Tactic shortnames, e.g. "execution".
    pub tactics: Vec<String>,
    /// Deprecated or revoked in the loaded data.
    pub deprecated: bool,
}

/// An ATT&CK tactic.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Tactic {
    /// "TA0002".
    pub id: String,
    /// "execution".
    pub shortname: String,
    /// "Execution".
    pub name: String,
}

/// An ATT&CK mitigation (a STIX course-of-action with an `M…` id).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Mitigation {
    /// "M1038".
    pub id: String,
    pub name: String,
}

/// What one [`AttackCatalog::add_stix_json`] call took.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddStats {
    pub techniques: usize,
    pub tactics: usize,
    pub mitigations: usize,
    pub relationships: usize,
    /// Objects of other types, or of a known type but unusable (no ATT&CK id).
    pub skipped: usize,
}

/// Why a STIX text could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AttackError {
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Json {
        message: String,
        line: usize,
        column: usize,
    },
    #[error("not STIX: {0}")]
    NotStix(String),
}

/// ATT&CK techniques, tactics and mitigations, with the mitigates relationships.
#[derive(Debug, Default, Clone)]
pub struct AttackCatalog {
    /// By upper-case ATT&CK id.
    techniques: HashMap<String, Technique>,
    /// ATT&CK id → the STIX ids that carry it (relationships name STIX ids).
    technique_stix: HashMap<String, Vec<String>>,
    /// By upper-case tactic id.
    tactics: HashMap<String, Tactic>,
    /// Lower-case shortname → tactic id (the lowest id when domains share a shortname).
    tactic_by_shortname: HashMap<String, String>,
    /// By upper-case mitigation id.
    mitigations: HashMap<String, Mitigation>,
    /// Course-of-action STIX id → mitigation id.
    mitigation_stix: HashMap<String, String>,
    /// Attack-pattern STIX id → course-of-action STIX ids that mitigate it.
    mitigated_by: HashMap<String, Vec<String>>,
}

/// The `mitre-attack` external id of an object (also the ICS and mobile source names).
fn attack_id(obj: &Value) -> Option<&str> {
    obj.get("external_references")?
        .as_array()?
        .iter()
        .filter(|r| {
            r.get("source_name")
                .and_then(Value::as_str)
                .is_some_and(is_attack_source)
        })
        .find_map(|r| r.get("external_id").and_then(Value::as_str))
        .map(str::trim)
        .filter(|id| !id.is_empty())
}

fn is_attack_source(name: &str) -> bool {
    matches!(
        name,
        "mitre-attack" | "mitre-ics-attack" | "mitre-mobile-attack"
    )
}

fn str_field<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

fn bool_field(obj: &Value, key: &str) -> bool {
    obj.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// An ATT&CK id as stored: trimmed, upper-case.
fn normalise_id(id: &str) -> String {
    id.trim().to_ascii_uppercase()
}

impl AttackCatalog {
    /// An empty catalog.
    pub fn new() -> AttackCatalog {
        AttackCatalog::default()
    }

    /// Adds the objects of one STIX 2.x JSON text: a bundle
    /// (`{"type":"bundle","objects":[...]}`) or a single object.
    ///
    /// Reads attack-pattern (ATT&CK external id, kill-chain phases, deprecated/revoked),
    /// x-mitre-tactic, course-of-action (those with an `M…` id) and `mitigates`
    /// relationships; everything else is counted in [`AddStats::skipped`]. Objects and
    /// relationships may arrive in any order across calls.
    pub fn add_stix_json(&mut self, text: &str) -> Result<AddStats, AttackError> {
        let root: Value = serde_json::from_str(text).map_err(|e| AttackError::Json {
            message: e.to_string(),
            line: e.line(),
            column: e.column(),
        })?;
        let Some(kind) = str_field(&root, "type") else {
            return Err(AttackError::NotStix(
                "the top level is not an object with a \"type\"".to_owned(),
            ));
        };
        let mut stats = AddStats::default();
        if kind == "bundle" {
            let Some(objects) = root.get("objects") else {
                return Ok(stats);
            };
            let Some(objects) = objects.as_array() else {
                return Err(AttackError::NotStix(
                    "the bundle's \"objects\" is not an array".to_owned(),
                ));
            };
            for obj in objects {
                self.add_object(obj, &mut stats);
            }
        } else {
            self.add_object(&root, &mut stats);
        }
        Ok(stats)
    }

    fn add_object(&mut self, obj: &Value, stats: &mut AddStats) {
        let taken = match str_field(obj, "type") {
            Some("attack-pattern") => self.add_technique(obj),
            Some("x-mitre-tactic") => self.add_tactic(obj),
            Some("course-of-action") => self.add_mitigation(obj),
            Some("relationship") => self.add_relationship(obj),
            _ => None,
        };
        match taken {
            Some(Taken::Technique) => stats.techniques += 1,
            Some(Taken::Tactic) => stats.tactics += 1,
            Some(Taken::Mitigation) => stats.mitigations += 1,
            Some(Taken::Relationship) => stats.relationships += 1,
            None => stats.skipped += 1,
        }
    }

    fn add_technique(&mut self, obj: &Value) -> Option<Taken> {
        let stix_id = str_field(obj, "id")?;
        let id = normalise_id(attack_id(obj)?);
        let mut tactics: Vec<String> = Vec::new();
        for phase in obj
            .get("kill_chain_phases")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let chain = str_field(phase, "kill_chain_name").unwrap_or_default();
            if !matches!(
                chain,
                "mitre-attack" | "mitre-ics-attack" | "mitre-mobile-attack"
            ) {
                continue;
            }
            if let Some(name) = str_field(phase, "phase_name") {
                let name = name.trim().to_ascii_lowercase();
                if !name.is_empty() && !tactics.contains(&name) {
                    tactics.push(name);
                }
            }
        }
        let technique = Technique {
            name: str_field(obj, "name").unwrap_or_default().trim().to_owned(),
            tactics,
            deprecated: bool_field(obj, "x_mitre_deprecated") || bool_field(obj, "revoked"),
            id: id.clone(),
        };
        match self.techniques.entry(id.clone()) {
            Entry::Vacant(slot) => {
                slot.insert(technique);
            }
            // A current definition is not replaced by a deprecated one of the same id.
            Entry::Occupied(mut slot) => {
                if !technique.deprecated || slot.get().deprecated {
                    slot.insert(technique);
                }
            }
        }
        let stix_ids = self.technique_stix.entry(id).or_default();
        if !stix_ids.iter().any(|s| s == stix_id) {
            stix_ids.push(stix_id.to_owned());
        }
        Some(Taken::Technique)
    }

    fn add_tactic(&mut self, obj: &Value) -> Option<Taken> {
        let id = normalise_id(attack_id(obj)?);
        let name = str_field(obj, "name").unwrap_or_default().trim().to_owned();
        let shortname = match str_field(obj, "x_mitre_shortname") {
            Some(s) => s.trim().to_ascii_lowercase(),
            None => name.to_ascii_lowercase().replace(' ', "-"),
        };
        match self.tactic_by_shortname.entry(shortname.clone()) {
            Entry::Vacant(slot) => {
                slot.insert(id.clone());
            }
            Entry::Occupied(mut slot) => {
                if id < *slot.get() {
                    slot.insert(id.clone());
                }
            }
        }
        self.tactics.insert(
            id.clone(),
            Tactic {
                id,
                shortname,
                name,
            },
        );
        Some(Taken::Tactic)
    }

    fn add_mitigation(&mut self, obj: &Value) -> Option<Taken> {
        let stix_id = str_field(obj, "id")?;
        let id = normalise_id(attack_id(obj)?);
        if !id.starts_with('M') {
            return None;
        }
        let name = str_field(obj, "name").unwrap_or_default().trim().to_owned();
        self.mitigation_stix.insert(stix_id.to_owned(), id.clone());
        self.mitigations.insert(id.clone(), Mitigation { id, name });
        Some(Taken::Mitigation)
    }

    fn add_relationship(&mut self, obj: &Value) -> Option<Taken> {
        if str_field(obj, "relationship_type") != Some("mitigates")
            || bool_field(obj, "revoked")
            || bool_field(obj, "x_mitre_deprecated")
        {
            return None;
        }
        let source = str_field(obj, "source_ref")?;
        let target = str_field(obj, "target_ref")?;
        let sources = self.mitigated_by.entry(target.to_owned()).or_default();
        if !sources.iter().any(|s| s == source) {
            sources.push(source.to_owned());
        }
        Some(Taken::Relationship)
    }

    /// A technique by ATT&CK id, case-insensitive ("t1059.001").
    pub fn technique(&self, id: &str) -> Option<&Technique> {
        self.techniques.get(&normalise_id(id))
    }

    /// A tactic by shortname ("credential-access"; also "credential_access" or the
    /// display name "Credential Access") or id ("TA0006"), case-insensitive.
    pub fn tactic(&self, shortname_or_id: &str) -> Option<&Tactic> {
        let id = normalise_id(shortname_or_id);
        if let Some(tactic) = self.tactics.get(&id) {
            return Some(tactic);
        }
        let id = self
            .tactic_by_shortname
            .get(&kebab_tactic(shortname_or_id))?;
        self.tactics.get(id)
    }

    /// A mitigation by id, case-insensitive ("m1038").
    pub fn mitigation(&self, id: &str) -> Option<&Mitigation> {
        self.mitigations.get(&normalise_id(id))
    }

    /// The mitigations of a technique, sorted by id and deduplicated; a sub-technique
    /// without mitigations of its own gets its parent's.
    pub fn mitigations_of(&self, technique_id: &str) -> Vec<&Mitigation> {
        let id = normalise_id(technique_id);
        let own = self.own_mitigations(&id);
        if !own.is_empty() {
            return own;
        }
        match parent_id(&id) {
            Some(parent) => self.own_mitigations(parent),
            None => own,
        }
    }

    fn own_mitigations(&self, id: &str) -> Vec<&Mitigation> {
        let mut found: Vec<&Mitigation> = self
            .technique_stix
            .get(id)
            .into_iter()
            .flatten()
            .filter_map(|stix| self.mitigated_by.get(stix))
            .flatten()
            .filter_map(|source| self.mitigation_stix.get(source))
            .filter_map(|mitigation_id| self.mitigations.get(mitigation_id))
            .collect();
        found.sort_by(|a, b| a.id.cmp(&b.id));
        found.dedup_by(|a, b| a.id == b.id);
        found
    }

    /// The stages of a technique through its tactics, sorted and deduplicated. A
    /// sub-technique unknown to the catalog falls back to its parent (T1059.001 →
    /// T1059); an unknown id gives no stages.
    pub fn stages_of(&self, technique_id: &str) -> Vec<Stage> {
        let id = normalise_id(technique_id);
        let technique = self
            .techniques
            .get(&id)
            .or_else(|| parent_id(&id).and_then(|parent| self.techniques.get(parent)));
        let mut stages: Vec<Stage> = technique
            .into_iter()
            .flat_map(|t| t.tactics.iter())
            .filter_map(|tactic| Stage::from_tactic(tactic))
            .collect();
        stages.sort_unstable();
        stages.dedup();
        stages
    }

    /// How many techniques (with sub-techniques, deprecated ones included) are loaded.
    pub fn technique_count(&self) -> usize {
        self.techniques.len()
    }

    /// How many tactics are loaded.
    pub fn tactic_count(&self) -> usize {
        self.tactics.len()
    }

    /// How many mitigations are loaded.
    pub fn mitigation_count(&self) -> usize {
        self.mitigations.len()
    }

    /// True when nothing at all has been loaded.
    pub fn is_empty(&self) -> bool {
        self.techniques.is_empty() && self.tactics.is_empty() && self.mitigations.is_empty()
    }
}

enum Taken {
    Technique,
    Tactic,
    Mitigation,
    Relationship,
}

/// "T1059.001" → "T1059"; `None` for an id without a sub-technique part.
fn parent_id(id: &str) -> Option<&str> {
    id.split_once('.')
        .map(|(parent, _)| parent)
        .filter(|p| !p.is_empty())
}

/// What the ATT&CK tags of a Sigma rule say.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TagInfo {
    /// Upper-case technique ids, "T1059.001", in tag order without repeats.
    pub techniques: Vec<String>,
    /// Kebab-case tactic shortnames, in tag order without repeats.
    pub tactics: Vec<String>,
    /// The stages of the tactic tags, sorted and deduplicated.
    pub stages: Vec<Stage>,
}

/// Parses Sigma tags: "attack.t1059.001" → technique, "attack.execution" /
/// "attack.defense_evasion" / "attack.defense-evasion" → tactic; groups and software
/// ("attack.g0016", "attack.s0002") and other namespaces (cve.*, detection.*, car.*) are
/// ignored. Case-insensitive.
pub fn parse_sigma_tags<S: AsRef<str>>(tags: &[S]) -> TagInfo {
    let mut info = TagInfo::default();
    for tag in tags {
        let tag = tag.as_ref().trim();
        let Some(prefix) = tag.get(..7) else {
            continue;
        };
        if !prefix.eq_ignore_ascii_case("attack.") {
            continue;
        }
        let rest = tag.get(7..).unwrap_or_default();
        if let Some(technique) = technique_tag(rest) {
            if !info.techniques.contains(&technique) {
                info.techniques.push(technique);
            }
        } else if let Some(tactic) = known_tactic(rest) {
            if !info.tactics.iter().any(|t| t == tactic.shortname) {
                info.tactics.push(tactic.shortname.to_owned());
            }
            if !info.stages.contains(&tactic.stage) {
                info.stages.push(tactic.stage);
            }
        }
    }
    info.stages.sort_unstable();
    info
}

/// "t1059.001" → "T1059.001": a T, four digits, optionally a dot and three digits.
fn technique_tag(rest: &str) -> Option<String> {
    let bytes = rest.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let well_formed = matches!(bytes.first(), Some(b't' | b'T'))
        && digits(1..5)
        && match bytes.len() {
            5 => true,
            9 => bytes.get(5) == Some(&b'.') && digits(6..9),
            _ => false,
        };
    well_formed.then(|| rest.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn technique_tags_need_the_exact_shape() {
        assert_eq!(technique_tag("t1059"), Some("T1059".to_owned()));
        assert_eq!(technique_tag("T1059.001"), Some("T1059.001".to_owned()));
        for bad in [
            "t105",
            "t1059.01",
            "t1059x001",
            "g0016",
            "s0002",
            "t10590",
            "",
        ] {
            assert_eq!(technique_tag(bad), None, "{bad}");
        }
    }

    #[test]
    fn parent_of_sub_technique() {
        assert_eq!(parent_id("T1059.001"), Some("T1059"));
        assert_eq!(parent_id("T1059"), None);
        assert_eq!(parent_id(".001"), None);
    }

    #[test]
    fn the_tactics_defense_evasion_was_split_into_are_its_stage() {
        let info = parse_sigma_tags(&[
            "attack.stealth",
            "attack.t1202",
            "attack.defense-impairment",
            "attack.t1686.003",
        ]);
        assert_eq!(info.stages, vec![Stage::DefenseEvasion]);
        assert_eq!(info.tactics, vec!["stealth", "defense-impairment"]);
        assert_eq!(info.techniques, vec!["T1202", "T1686.003"]);
        for spelling in ["Defense Impairment", "TA0112", "stealth", "TA0005"] {
            assert_eq!(
                Stage::from_tactic(spelling),
                Some(Stage::DefenseEvasion),
                "{spelling}"
            );
        }
    }

    #[test]
    fn non_ascii_tags_do_not_panic() {
        let info = parse_sigma_tags(&["attack\u{e9}.t1059", "att\u{e9}ck.x", "\u{e9}"]);
        assert_eq!(info, TagInfo::default());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in ".{0,64}", tags in proptest::collection::vec(".{0,24}", 0..6)) {
            let _ = Stage::from_tactic(&text);
            let _ = parse_sigma_tags(&tags);
            let mut catalog = AttackCatalog::default();
            let _ = catalog.add_stix_json(&text);
            let _ = catalog.stages_of(&text);
            let _ = catalog.mitigations_of(&text);
            let _ = catalog.tactic(&text);
        }
    }
}
