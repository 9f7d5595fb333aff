//! Exporters: a tenant's indicators out as STIX 2.1 bundles and MISP events, with TLP
//! enforced.
//!
//! Every exporter is pure: it takes the indicators (`intel.iter()`, or any subset of
//! them), an [`ExportPolicy`] and its format's options, and hands back the document as
//! a `serde_json::Value` and an [`ExportReport`]. Nothing is written anywhere here.
//!
//! The policy is applied attribution by attribution, the same way for every format:
//!
//! - An attribution goes out only if its TLP is at most the recipient's allowed level,
//!   and TLP:RED never goes out, whatever that level says: the ceiling is `allowed`
//!   clamped to TLP:AMBER+STRICT ([`ExportPolicy::ceiling`]).
//! - An attribution whose validity has ended at `now` stays home unless
//!   `include_expired` is set.
//! - An indicator goes out with the attributions left; with none left it does not go
//!   out, and the report says whether TLP stopped it (some attribution still valid was
//!   above the ceiling) or only its age did.
//! - What a format cannot say (a JA3 fingerprint in STIX) is reported as not
//!   representable.
//!
//! - [`stix`] writes a STIX 2.1 bundle: one `indicator` per indicator and source, with
//!   the TLP 2.0 marking definitions, an `identity` per source and for the producer,
//!   and the caller's context objects (malware, threat actors, attack patterns,
//!   relationships) that pass the same policy.
//! - [`misp`] writes a MISP event: one attribute per indicator, tagged with its TLP.
//! - [`incident`] shares the tenant's incidents (STIX `incident`s with their techniques,
//!   sightings of their external observables; or one MISP event each), under the same
//!   ceiling.

pub mod incident;
pub mod misp;
pub mod stix;

use std::collections::BTreeSet;

use serde::Serialize;
use uuid::Uuid;
use watchfloor_event::Timestamp;

use crate::import::{MAX_DETAILS, Skipped};
use crate::model::{Kind, Tlp};
use crate::store::{AttributionRef, IndicatorView};

/// What may leave, for one recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExportPolicy {
    /// The highest TLP the recipient may receive. TLP:RED is treated as
    /// TLP:AMBER+STRICT: it never leaves the tenant.
    pub allowed: Tlp,
    /// Whether attributions whose validity has ended go out too.
    pub include_expired: bool,
    /// The time expiry is judged at.
    pub now: Timestamp,
}

impl ExportPolicy {
    /// A policy that sends what is valid at `now` up to `allowed`.
    pub fn new(allowed: Tlp, now: Timestamp) -> ExportPolicy {
        ExportPolicy {
            allowed,
            include_expired: false,
            now,
        }
    }

    /// The highest TLP that goes out: `allowed`, but never TLP:RED.
    pub fn ceiling(&self) -> Tlp {
        self.allowed.min(Tlp::AmberStrict)
    }

    /// Whether something marked `tlp` may go out.
    pub fn permits(&self, tlp: Tlp) -> bool {
        tlp <= self.ceiling()
    }
}

/// What an export sent, held back and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    /// The highest TLP that was allowed out (the policy's ceiling).
    pub ceiling: Tlp,
    /// Indicators that went out (with at least one attribution).
    pub exported: u64,
    /// Objects written for them: STIX `indicator`s (one per indicator and source) or
    /// MISP attributes (one per indicator).
    pub objects: u64,
    /// Indicators held back because of TLP: some attribution still valid (or any, with
    /// `include_expired`) was above the ceiling, and none could go.
    pub withheld_by_tlp: u64,
    /// Indicators held back only because every attribution allowed by TLP had ended.
    pub withheld_expired: u64,
    /// Attributions left out for TLP, whether or not their indicator went out.
    pub attributions_withheld_by_tlp: u64,
    /// Attributions left out because they had ended.
    pub attributions_withheld_expired: u64,
    /// Indicators the format cannot express (a JA3 fingerprint in STIX).
    pub not_representable: u64,
    /// Context objects (STIX only) that went out.
    pub context_exported: u64,
    /// Context objects held back because of their TLP marking.
    pub context_withheld_by_tlp: u64,
    /// Context objects not exported for another reason: not a STIX 2.1 object, a type
    /// this exporter does not share, a relationship to something that did not go out.
    pub context_not_exported: u64,
    /// The TLP levels the document carries.
    pub tlps: BTreeSet<Tlp>,
    /// The first [`MAX_DETAILS`] things held back, and why.
    pub withheld: Vec<Skipped>,
    /// Held back things beyond the first [`MAX_DETAILS`].
    pub withheld_omitted: u64,
}

impl ExportReport {
    pub fn new(policy: &ExportPolicy) -> ExportReport {
        ExportReport {
            ceiling: policy.ceiling(),
            exported: 0,
            objects: 0,
            withheld_by_tlp: 0,
            withheld_expired: 0,
            attributions_withheld_by_tlp: 0,
            attributions_withheld_expired: 0,
            not_representable: 0,
            context_exported: 0,
            context_withheld_by_tlp: 0,
            context_not_exported: 0,
            tlps: BTreeSet::new(),
            withheld: Vec::new(),
            withheld_omitted: 0,
        }
    }

    fn detail(&mut self, place: impl Into<String>, reason: impl Into<String>) {
        if self.withheld.len() < MAX_DETAILS {
            self.withheld.push(Skipped {
                place: place.into(),
                reason: reason.into(),
            });
        } else {
            self.withheld_omitted += 1;
        }
    }

    fn not_representable(&mut self, view: &IndicatorView<'_>, reason: &str) {
        self.not_representable += 1;
        self.detail(place_of(view), reason);
    }
}

fn place_of(view: &IndicatorView<'_>) -> String {
    format!("{} {}", view.kind, clip(view.value, 120))
}

fn clip(text: &str, max: usize) -> String {
    let mut out: String = text.chars().take(max).collect();
    if text.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

/// The attributions of `view` that the policy lets out, or `None` (counted in the
/// report) when none does.
pub(crate) fn select<'a>(
    view: &IndicatorView<'a>,
    policy: &ExportPolicy,
    report: &mut ExportReport,
) -> Option<Vec<AttributionRef<'a>>> {
    let mut out = Vec::new();
    let (mut by_tlp, mut expired, mut tlp_was_the_reason) = (0u64, 0u64, false);
    for a in view.attributions() {
        let ended = a.valid_until.is_some_and(|u| u <= policy.now);
        let expired_out = ended && !policy.include_expired;
        if !policy.permits(a.tlp) {
            by_tlp += 1;
            tlp_was_the_reason |= !expired_out;
        } else if expired_out {
            expired += 1;
        } else {
            out.push(a);
        }
    }
    report.attributions_withheld_by_tlp += by_tlp;
    report.attributions_withheld_expired += expired;
    if !out.is_empty() {
        return Some(out);
    }
    if tlp_was_the_reason || expired == 0 {
        report.withheld_by_tlp += 1;
        report.detail(
            place_of(view),
            format!(
                "every attribution is above {} ({by_tlp} withheld by TLP, {expired} expired)",
                report.ceiling
            ),
        );
    } else {
        report.withheld_expired += 1;
        report.detail(
            place_of(view),
            format!("every attribution allowed by TLP has ended ({expired} expired)"),
        );
    }
    None
}

/// What one source says of one indicator, its attributions folded together: the
/// strictest TLP, the highest confidence, the widest validity, every tag and ATT&CK id.
#[derive(Clone, Debug)]
pub(crate) struct SourceGroup<'a> {
    pub source: &'a str,
    pub tlp: Tlp,
    pub confidence: u8,
    /// `None`: unbounded.
    pub valid_from: Option<Timestamp>,
    pub valid_until: Option<Timestamp>,
    /// Without TLP tags (the marking says that).
    pub tags: Vec<&'a str>,
    pub attack: Vec<&'a str>,
    pub description: Option<&'a str>,
    pub references: Vec<&'a str>,
}

/// The attributions grouped by source, in the order the sources first reported.
pub(crate) fn by_source<'a>(attributions: &[AttributionRef<'a>]) -> Vec<SourceGroup<'a>> {
    let mut groups: Vec<SourceGroup<'a>> = Vec::new();
    for a in attributions {
        let g = match groups.iter_mut().position(|g| g.source == a.source) {
            Some(i) => {
                let g = &mut groups[i];
                g.tlp = g.tlp.max(a.tlp);
                g.confidence = g.confidence.max(a.confidence);
                g.valid_from = g.valid_from.zip(a.valid_from).map(|(x, y)| x.min(y));
                g.valid_until = g.valid_until.zip(a.valid_until).map(|(x, y)| x.max(y));
                if g.description.is_none() {
                    g.description = a.description;
                }
                g
            }
            None => {
                groups.push(SourceGroup {
                    source: a.source,
                    tlp: a.tlp,
                    confidence: a.confidence,
                    valid_from: a.valid_from,
                    valid_until: a.valid_until,
                    tags: Vec::new(),
                    attack: Vec::new(),
                    description: a.description,
                    references: Vec::new(),
                });
                groups.last_mut().expect("just pushed")
            }
        };
        for t in a.tags.iter().map(|t| t.trim()) {
            if !t.is_empty() && !is_tlp_tag(t) && !g.tags.contains(&t) {
                g.tags.push(t);
            }
        }
        for id in a.attack.iter() {
            if !g.attack.contains(&&**id) {
                g.attack.push(id);
            }
        }
        if let Some(r) = a.reference
            && !g.references.contains(&r)
        {
            g.references.push(r);
        }
    }
    groups
}

/// A tag that states a TLP (`tlp:amber`): never copied into an export, where the
/// marking alone says the TLP.
fn is_tlp_tag(tag: &str) -> bool {
    tag.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("tlp:"))
}

/// The namespace of the ids exporters derive (a fixed random UUID).
const NAMESPACE: Uuid = Uuid::from_u128(0x6d1f_0a4e_93c2_4b7e_a5d8_2c61_f0b9_7e14);

/// A UUIDv5 of `parts` under watchfloor's namespace, each part length-prefixed so that
/// no two lists of parts give the same name.
pub(crate) fn derived_uuid(parts: &[&str]) -> Uuid {
    let mut name = Vec::new();
    for p in parts {
        name.extend_from_slice(p.len().to_string().as_bytes());
        name.push(b':');
        name.extend_from_slice(p.as_bytes());
    }
    Uuid::new_v5(&NAMESPACE, &name)
}

/// The id an exported object of `kind` and `value` from `source` gets, the same on
/// every export.
pub(crate) fn indicator_uuid(kind: Kind, value: &str, source: &str) -> Uuid {
    derived_uuid(&["indicator", kind.as_str(), value, source])
}

/// RFC 3339 in UTC with milliseconds (`2024-05-01T12:00:00.000Z`), as STIX wants.
pub(crate) fn rfc3339_millis(t: Timestamp) -> String {
    let ts =
        jiff::Timestamp::from_nanosecond(i128::from(t.0)).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    format!("{ts:.3}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn red_never_goes_out() {
        let p = ExportPolicy::new(Tlp::Red, Timestamp(0));
        assert_eq!(p.ceiling(), Tlp::AmberStrict);
        assert!(!p.permits(Tlp::Red));
        assert!(p.permits(Tlp::AmberStrict));
        let p = ExportPolicy::new(Tlp::Green, Timestamp(0));
        assert!(p.permits(Tlp::Clear) && p.permits(Tlp::Green));
        assert!(!p.permits(Tlp::Amber));
    }

    #[test]
    fn times_have_milliseconds() {
        assert_eq!(rfc3339_millis(Timestamp(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_millis(Timestamp(1_399_539_600_123_456_789)),
            "2014-05-08T09:00:00.123Z"
        );
    }

    #[test]
    fn derived_ids_are_stable_and_unambiguous() {
        let a = derived_uuid(&["ab", "c"]);
        assert_eq!(a, derived_uuid(&["ab", "c"]));
        assert_ne!(a, derived_uuid(&["a", "bc"]));
        assert_eq!(a.get_version_num(), 5);
    }

    #[test]
    fn tlp_tags_are_recognised() {
        assert!(is_tlp_tag("TLP:AMBER"));
        assert!(is_tlp_tag("tlp:clear"));
        assert!(!is_tlp_tag("tl"));
        assert!(!is_tlp_tag("misp:tlp"));
    }
}
