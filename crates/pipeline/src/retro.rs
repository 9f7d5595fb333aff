//! Retro-hunt hits as detections: a hit found by scanning a stored record's text for a
//! tenant's indicators becomes the same kind of [`DetectionRow`] live matching makes
//! ([`crate::intel_match`]): rule id the indicator's value, the same title and level
//! from its sources, `Origin::Indicator` for the analysis engine, at the record's own
//! time. It is marked as a retro-hunt's: the tag [`RETRO_HUNT_TAG`], and the source
//! [`RETRO_HUNT_SOURCE`] with the stored record's id as its reference
//! (`retro-hunt:<record id>`, shown in the alert's samples).
//!
//! The record is not decoded again: the detection is about the record's stored host and
//! user and the indicator, which is what alerts are fingerprinted on and incidents
//! linked by.

use serde::Serialize;
use watchfloor_decode::time::format_rfc3339;
use watchfloor_event::Timestamp;
use watchfloor_intel::Kind;
use watchfloor_triage::detection::Entities;

use crate::detect::DetectionRow;
use crate::intel_match::{HitSummary, IndicatorHit, indicator_level, indicator_title};

/// The tag every retro-hunt detection carries.
pub const RETRO_HUNT_TAG: &str = "retro-hunt";
/// The source named in a retro-hunt detection's reference.
pub const RETRO_HUNT_SOURCE: &str = "retro-hunt";
/// The field a retro-hunt hit names: the whole stored record was scanned.
pub const RETRO_HUNT_FIELD: &str = "record";
/// The longest matched text a hit carries, in characters.
const MAX_MATCHED_CHARS: usize = 300;

/// One indicator found in one stored record by a retro-hunt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetroHit {
    /// The stored record's id.
    pub record: i64,
    /// The indicator's id in the store.
    pub indicator: i64,
    /// The record's time: its event time, or its receipt time when it has none.
    pub time: Timestamp,
    pub host: Option<String>,
    pub user: Option<String>,
    pub kind: Kind,
    /// The indicator's normalised value.
    pub value: String,
    /// The part of the record's text that matched.
    pub matched: String,
    /// What the indicator's sources say, as live hits carry it.
    pub summary: HitSummary,
}

/// What taking retro-hunt hits through the analysis engine did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RetroCounts {
    /// Detections taken through the analysis engine.
    pub detections: u64,
    /// Of those, held back by a suppression or a warninglist.
    pub suppressed: u64,
    /// Of those, older than the engine's horizon before its latest time: each still
    /// became (or joined) an alert that is stored, but the engine forgets it at its
    /// next sweep, so a later repeat makes a new alert rather than counting on it.
    pub past_horizon: u64,
}

impl RetroHit {
    /// The detection row for this hit.
    pub fn to_row(&self) -> DetectionRow {
        let matched: String = self.matched.chars().take(MAX_MATCHED_CHARS).collect();
        let mut tags = self.summary.tags.clone();
        if !tags.iter().any(|t| t == RETRO_HUNT_TAG) {
            tags.push(RETRO_HUNT_TAG.to_owned());
        }
        let mut entities = Entities {
            host: self.host.clone(),
            user: self.user.clone(),
            indicators: vec![self.value.clone()],
            ..Entities::default()
        };
        entities.normalize();
        DetectionRow {
            time: (self.time.0 != 0).then(|| format_rfc3339(self.time)),
            rule_id: Some(self.value.clone()),
            rule_title: indicator_title(self.kind, &self.value, &self.summary),
            level: indicator_level(self.summary.confidence),
            tags,
            host: self.host.clone(),
            source: RETRO_HUNT_SOURCE.to_owned(),
            record: u64::try_from(self.record).unwrap_or(0),
            matched: vec![(RETRO_HUNT_FIELD.to_owned(), matched.clone())],
            event: String::new(),
            entities,
            indicator: Some(IndicatorHit {
                kind: self.kind,
                value: self.value.clone(),
                field: RETRO_HUNT_FIELD.to_owned(),
                matched,
                sources: self.summary.sources.clone(),
                confidence: self.summary.confidence,
                tlp: self.summary.tlp,
            }),
            time_ns: self.time.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use watchfloor_event::TenantId;
    use watchfloor_intel::Tlp;
    use watchfloor_triage::detection::Origin;

    #[test]
    fn a_hit_becomes_an_indicator_detection_marked_as_a_retro_hunts() {
        let hit = RetroHit {
            record: 42,
            indicator: 7,
            time: Timestamp(1_700_000_000_000_000_000),
            host: Some("web01".into()),
            user: None,
            kind: Kind::Domain,
            value: "evil.example".into(),
            matched: "cdn.evil.example".into(),
            summary: HitSummary {
                sources: vec!["feed".into()],
                confidence: 85,
                tlp: Tlp::Amber,
                tags: vec!["attack.t1071.001".into()],
            },
        };
        let row = hit.to_row();
        assert_eq!(
            row.rule_title,
            "Indicator match: domain evil.example (source feed, TLP:AMBER)"
        );
        assert_eq!(row.level, "high");
        assert_eq!(row.tags, vec!["attack.t1071.001", RETRO_HUNT_TAG]);
        let d = row.to_detection(TenantId(3));
        assert_eq!(d.origin, Origin::Indicator);
        assert_eq!(d.rule_id, "evil.example");
        assert_eq!(d.time, hit.time);
        assert_eq!(d.reference, "retro-hunt:42");
        assert_eq!(d.entities.host.as_deref(), Some("web01"));
        assert_eq!(d.entities.indicators, vec!["evil.example"]);
    }
}
