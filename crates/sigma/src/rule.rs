//! The rule model: what a Sigma document says, before compilation.

use std::sync::Arc;

use crate::diagnostic::Pos;
use crate::field_test::RuleValue;

/// Sigma rule levels, in rising order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Informational,
    Low,
    #[default]
    Medium,
    High,
    Critical,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.to_ascii_lowercase().as_str() {
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
}

/// The `logsource` of a rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RuleLogSource {
    pub product: Option<String>,
    pub category: Option<String>,
    pub service: Option<String>,
}

/// One `field|modifiers: values` item of a search, or a keyword list (`field` None).
#[derive(Clone, Debug, PartialEq)]
pub struct FieldItem {
    pub field: Option<String>,
    pub modifiers: Vec<String>,
    pub values: Vec<RuleValue>,
    pub pos: Pos,
}

/// A named search of the `detection` section: an OR of AND-groups of items. A map is
/// one group; a list of maps is several; a list of plain values is one keyword item.
#[derive(Clone, Debug, PartialEq)]
pub struct Search {
    pub name: String,
    pub groups: Vec<Vec<FieldItem>>,
    pub pos: Pos,
}

/// The `detection` section.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Detection {
    pub searches: Vec<Search>,
    /// One or more conditions (a list means OR of them).
    pub conditions: Vec<(String, Pos)>,
}

/// Descriptive metadata shared by every kind of Sigma document.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Meta {
    pub id: Option<String>,
    pub name: Option<String>,
    pub title: String,
    pub description: Option<String>,
    pub status: Option<String>,
    pub level: Level,
    pub tags: Vec<String>,
    pub author: Option<String>,
    pub references: Vec<String>,
    pub falsepositives: Vec<String>,
    pub file: Arc<str>,
    pub pos: Pos,
}

/// A detection rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    pub meta: Meta,
    pub logsource: RuleLogSource,
    pub detection: Detection,
}

/// A filter document: extra conditions that exclude matches of the rules it names.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    pub meta: Meta,
    pub rules: Vec<String>,
    pub logsource: RuleLogSource,
    pub detection: Detection,
}

/// The kinds of correlation the specification defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CorrelationKind {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
    ValueSum,
    ValueAvg,
    ValuePercentile,
}

impl CorrelationKind {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "event_count" => CorrelationKind::EventCount,
            "value_count" => CorrelationKind::ValueCount,
            "temporal" => CorrelationKind::Temporal,
            "temporal_ordered" => CorrelationKind::TemporalOrdered,
            "value_sum" => CorrelationKind::ValueSum,
            "value_avg" => CorrelationKind::ValueAvg,
            "value_percentile" => CorrelationKind::ValuePercentile,
            _ => return None,
        })
    }
}

/// A comparison in a correlation condition (`gte: 10`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Comparison {
    Gt(f64),
    Gte(f64),
    Lt(f64),
    Lte(f64),
    Eq(f64),
    Neq(f64),
}

/// A correlation rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Correlation {
    pub meta: Meta,
    pub kind: CorrelationKind,
    /// The rules correlated, by id or name.
    pub rules: Vec<String>,
    pub group_by: Vec<String>,
    /// Window length in nanoseconds.
    pub timespan_ns: i64,
    /// Thresholds, all of which must hold (absent for temporal types: all rules seen).
    pub condition: Vec<Comparison>,
    /// The field a value_* condition reads.
    pub condition_field: Option<String>,
    /// The percentile of `value_percentile` (from the condition's `percentile`).
    pub percentile: Option<f64>,
    /// `aliases`: alias name → (rule id or name → field).
    pub aliases: Vec<(String, Vec<(String, String)>)>,
    /// Whether the correlated rules also report their own matches.
    pub generate: bool,
}

/// Everything a set of rule files holds.
#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    pub filters: Vec<Filter>,
    pub correlations: Vec<Correlation>,
}
