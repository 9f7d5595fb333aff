//! [`DecisionLog`]: why an alert or incident is what it is. Every stage of the analysis
//! engine appends the decision it took (created, merged, suppressed, enriched, scored,
//! grouped, linked, escalated) with the time and a sentence for people; the same log
//! serializes to JSON.

use serde::Serialize;
use watchfloor_event::Timestamp;

use crate::time::{rfc3339, serialize_time};

/// What kind of decision an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Created,
    Merged,
    Suppressed,
    Enriched,
    Scored,
    Pending,
    Opened,
    Grouped,
    Linked,
    Escalated,
}

impl DecisionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Created => "created",
            DecisionKind::Merged => "merged",
            DecisionKind::Suppressed => "suppressed",
            DecisionKind::Enriched => "enriched",
            DecisionKind::Scored => "scored",
            DecisionKind::Pending => "pending",
            DecisionKind::Opened => "opened",
            DecisionKind::Grouped => "grouped",
            DecisionKind::Linked => "linked",
            DecisionKind::Escalated => "escalated",
        }
    }
}

/// One decision.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    #[serde(serialize_with = "serialize_time")]
    pub time: Timestamp,
    pub kind: DecisionKind,
    pub reason: String,
}

/// The decisions about one alert or incident, oldest first. Bounded: repeated merges of
/// a storm would otherwise grow it without end, so past [`DecisionLog::CAPACITY`]
/// entries only the count of further decisions per kind is kept.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DecisionLog {
    pub entries: Vec<Decision>,
    /// Decisions not kept individually, by kind.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub omitted: Vec<(DecisionKind, u64)>,
}

impl DecisionLog {
    pub const CAPACITY: usize = 48;

    pub fn push(&mut self, time: Timestamp, kind: DecisionKind, reason: impl Into<String>) {
        if self.entries.len() < Self::CAPACITY {
            self.entries.push(Decision {
                time,
                kind,
                reason: reason.into(),
            });
            return;
        }
        match self.omitted.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => self.omitted.push((kind, 1)),
        }
    }

    /// Appends another log's entries (an incident absorbing another).
    pub fn absorb(&mut self, other: &DecisionLog) {
        for d in &other.entries {
            self.push(d.time, d.kind, d.reason.clone());
        }
        for &(kind, n) in &other.omitted {
            match self.omitted.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, m)) => *m += n,
                None => self.omitted.push((kind, n)),
            }
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len() + self.omitted.iter().map(|(_, n)| *n as usize).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One line per decision, for people.
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .entries
            .iter()
            .map(|d| format!("{} {:<10} {}", rfc3339(d.time), d.kind.as_str(), d.reason))
            .collect();
        for (kind, n) in &self.omitted {
            out.push(format!("… {n} more {} decisions not listed", kind.as_str()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_with_counts() {
        let mut log = DecisionLog::default();
        for i in 0..100 {
            log.push(Timestamp(i), DecisionKind::Merged, "same fingerprint");
        }
        assert_eq!(log.entries.len(), DecisionLog::CAPACITY);
        assert_eq!(log.len(), 100);
        assert!(
            log.lines()
                .last()
                .is_some_and(|l| l.contains("52 more merged"))
        );
        let json = serde_json::to_string(&log).unwrap_or_default();
        assert!(json.contains("\"kind\":\"merged\""), "{json}");
    }
}
