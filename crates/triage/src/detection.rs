//! [`Detection`]: what a detection engine (a Sigma rule, a correlation, an intelligence
//! indicator) hands to the analysis engine, with the entities it is about.

use serde::Serialize;
use watchfloor_event::{TenantId, Timestamp};

use crate::time::serialize_time;

/// Severity as the rule states it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Informational,
    Low,
    #[default]
    Medium,
    High,
    Critical,
}

impl Level {
    /// Reads a Sigma level (`informational`, `info`, `low`, …); `None` when unknown.
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "informational" | "info" => Level::Informational,
            "low" => Level::Low,
            "medium" => Level::Medium,
            "high" => Level::High,
            "critical" => Level::Critical,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }

    /// The level one step up (critical stays critical).
    pub fn raised(self) -> Level {
        match self {
            Level::Informational => Level::Low,
            Level::Low => Level::Medium,
            Level::Medium => Level::High,
            Level::High | Level::Critical => Level::Critical,
        }
    }
}

/// Which engine produced a detection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    #[default]
    Rule,
    Correlation,
    Indicator,
}

/// The things a detection is about. Empty strings are never stored (see
/// [`Entities::normalize`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Entities {
    pub host: Option<String>,
    pub user: Option<String>,
    pub src_ip: Option<String>,
    pub dst_ip: Option<String>,
    /// The acting process (a process GUID where the source has one, else host:pid).
    pub process: Option<String>,
    pub parent_process: Option<String>,
    pub image: Option<String>,
    /// Observables that may link incidents across hosts: external addresses, domains,
    /// URLs, hashes.
    pub indicators: Vec<String>,
}

impl Entities {
    /// Drops empty and placeholder values (`-`, `N/A`), lower-cases host names and
    /// indicators, sorts and deduplicates indicators.
    pub fn normalize(&mut self) {
        for slot in [
            &mut self.host,
            &mut self.user,
            &mut self.src_ip,
            &mut self.dst_ip,
            &mut self.process,
            &mut self.parent_process,
            &mut self.image,
        ] {
            if slot.as_deref().is_some_and(is_placeholder) {
                *slot = None;
            }
        }
        if let Some(h) = &mut self.host {
            *h = h.to_ascii_lowercase();
        }
        self.indicators.retain(|i| !is_placeholder(i));
        for i in &mut self.indicators {
            *i = i.to_ascii_lowercase();
        }
        self.indicators.sort();
        self.indicators.dedup();
    }
}

/// The account a user name stands for, for grouping and fingerprints: lower-case,
/// without a `DOMAIN\` prefix or an `@domain` suffix (`THESHIRE\pgustavo`,
/// `pgustavo` and `PGustavo@theshire.local` are one account).
pub fn account_name(user: &str) -> String {
    let u = user.trim();
    let u = u.rsplit('\\').next().unwrap_or(u);
    let u = u.split('@').next().unwrap_or(u);
    u.to_lowercase()
}

fn is_placeholder(s: &str) -> bool {
    let t = s.trim();
    t.is_empty() || t == "-" || t.eq_ignore_ascii_case("n/a") || t.eq_ignore_ascii_case("null")
}

/// One detection.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Detection {
    #[serde(serialize_with = "crate::time::serialize_tenant")]
    pub tenant: TenantId,
    #[serde(serialize_with = "serialize_time")]
    pub time: Timestamp,
    /// The rule's id (or its title when it has none), the correlation's id, or the
    /// indicator's value.
    pub rule_id: String,
    pub title: String,
    pub level: Level,
    pub origin: Origin,
    /// Sigma tags (`attack.t1059.001`, `attack.execution`, …).
    pub tags: Vec<String>,
    /// 0.0–1.0: how much the source trusts the detection (1.0 for rules).
    pub confidence: f64,
    pub entities: Entities,
    /// The fields the rule matched, with the event's values.
    pub fields: Vec<(String, String)>,
    /// Where the event is: `file:record`, an event id.
    pub reference: String,
}

impl Detection {
    /// The value of a named attribute, for suppression expressions and fingerprints:
    /// `rule`, `title`, `level`, `origin`, `host`, `user`, `src_ip`, `dst_ip`, `process`,
    /// `parent_process`, `image`, or a matched field by name (case-insensitive).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        let e = &self.entities;
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "rule" | "rule_id" => Some(&self.rule_id),
            "title" => Some(&self.title),
            "level" => Some(self.level.as_str()),
            "origin" => Some(match self.origin {
                Origin::Rule => "rule",
                Origin::Correlation => "correlation",
                Origin::Indicator => "indicator",
            }),
            "host" => e.host.as_deref(),
            "user" => e.user.as_deref(),
            "src_ip" => e.src_ip.as_deref(),
            "dst_ip" => e.dst_ip.as_deref(),
            "process" => e.process.as_deref(),
            "parent_process" => e.parent_process.as_deref(),
            "image" => e.image.as_deref(),
            _ => self
                .fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_attributes() {
        assert_eq!(Level::parse("Info"), Some(Level::Informational));
        assert_eq!(Level::parse("bogus"), None);
        assert_eq!(Level::High.raised(), Level::Critical);
        let mut d = Detection {
            rule_id: "r1".into(),
            fields: vec![("CommandLine".into(), "whoami".into())],
            ..Default::default()
        };
        d.entities.host = Some("WS01".into());
        d.entities.user = Some("-".into());
        d.entities.indicators = vec!["B.example".into(), "a.example".into(), "".into()];
        d.entities.normalize();
        assert_eq!(d.attribute("host"), Some("ws01"));
        assert_eq!(d.attribute("user"), None);
        assert_eq!(d.attribute("commandline"), Some("whoami"));
        assert_eq!(d.attribute("rule"), Some("r1"));
        assert_eq!(d.entities.indicators, vec!["a.example", "b.example"]);
        assert_eq!(account_name("THESHIRE\\PGustavo"), "pgustavo");
        assert_eq!(account_name("pgustavo@theshire.local"), "pgustavo");
        assert_eq!(account_name("pgustavo"), "pgustavo");
    }
}
