//! [`Alert`]: a deduplicated detection. Repeats of the same fingerprint (rule + entity +
//! chosen fields) within the dedupe window fold into one alert with a count, first and
//! last seen, and a few sample events.

use serde::Serialize;
use watchfloor_event::{TenantId, Timestamp};

use crate::attack::Stage;
use crate::detection::{Detection, Entities, Level, Origin};
use crate::explain::DecisionLog;
use crate::time::serialize_time;

/// A technique an alert is tagged with, and its name where the catalog knows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TechniqueRef {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// What the asset inventory says about the alert's host or address.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AssetContext {
    pub asset: String,
    pub owner: Option<String>,
    pub criticality: crate::assets::Criticality,
    pub tags: Vec<String>,
}

/// One occurrence kept as an example.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sample {
    #[serde(serialize_with = "serialize_time")]
    pub time: Timestamp,
    pub reference: String,
    pub fields: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    pub id: u64,
    #[serde(serialize_with = "crate::time::serialize_tenant")]
    pub tenant: TenantId,
    /// Stable across runs: a hash of the fingerprint's parts.
    pub fingerprint: String,
    pub rule_id: String,
    pub title: String,
    pub level: Level,
    pub origin: Origin,
    pub tags: Vec<String>,
    pub techniques: Vec<TechniqueRef>,
    pub stages: Vec<Stage>,
    /// Mitigations of the techniques (`M1038 Execution Prevention`).
    pub mitigations: Vec<String>,
    pub entities: Entities,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset: Option<AssetContext>,
    pub count: u64,
    #[serde(serialize_with = "serialize_time")]
    pub first_seen: Timestamp,
    #[serde(serialize_with = "serialize_time")]
    pub last_seen: Timestamp,
    pub samples: Vec<Sample>,
    pub score: f64,
    pub incident: Option<u64>,
    pub log: DecisionLog,
    /// What this alert and its repeats added to its entity's risk.
    pub risk_contributed: f64,
}

impl Alert {
    pub(crate) fn sample(d: &Detection) -> Sample {
        Sample {
            time: d.time,
            reference: d.reference.clone(),
            fields: d.fields.clone(),
        }
    }
}

/// Which detection attributes make up a fingerprint, besides the rule.
#[derive(Clone, Debug)]
pub struct FingerprintConfig {
    pub fields: Vec<String>,
    /// Per rule id: the attributes to use instead.
    pub by_rule: Vec<(String, Vec<String>)>,
}

impl Default for FingerprintConfig {
    fn default() -> Self {
        FingerprintConfig {
            fields: vec!["host".into(), "user".into()],
            by_rule: Vec::new(),
        }
    }
}

impl FingerprintConfig {
    /// The fingerprint key of a detection: tenant, rule and the chosen attributes.
    pub fn key(&self, d: &Detection) -> String {
        let fields = self
            .by_rule
            .iter()
            .find(|(r, _)| r.eq_ignore_ascii_case(&d.rule_id))
            .map_or(&self.fields, |(_, f)| f);
        let mut key = format!("{}\u{1f}{}", d.tenant.0, d.rule_id);
        for f in fields {
            key.push('\u{1f}');
            key.push_str(f);
            key.push('=');
            let value = d.attribute(f).unwrap_or("");
            if f.eq_ignore_ascii_case("user") {
                key.push_str(&crate::detection::account_name(value));
            } else {
                key.push_str(&value.to_lowercase());
            }
        }
        key
    }
}

/// FNV-1a, 64 bits: a stable short id for a fingerprint key.
pub fn fingerprint_id(key: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints() {
        let mut a = Detection {
            rule_id: "r".into(),
            ..Default::default()
        };
        a.entities.host = Some("ws01".into());
        let mut b = a.clone();
        b.fields = vec![("CommandLine".into(), "other".into())];
        let cfg = FingerprintConfig::default();
        assert_eq!(cfg.key(&a), cfg.key(&b));
        b.entities.host = Some("ws02".into());
        assert_ne!(cfg.key(&a), cfg.key(&b));
        let per_rule = FingerprintConfig {
            by_rule: vec![("r".into(), vec!["CommandLine".into()])],
            ..Default::default()
        };
        assert_eq!(per_rule.key(&a), "0\u{1f}r\u{1f}CommandLine=");
        assert_eq!(fingerprint_id("x"), fingerprint_id("x"));
        assert_eq!(fingerprint_id("x").len(), 16);
    }
}
