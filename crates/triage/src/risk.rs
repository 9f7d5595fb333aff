//! Risk-based alerting: a risk per entity that accumulates with each new alert's score
//! and decays with a half-life, so many small signals on one host add up while old ones
//! fade.

use std::collections::HashMap;

use watchfloor_event::{TenantId, Timestamp};

/// Entity risks of every tenant.
#[derive(Clone, Debug)]
pub struct RiskBook {
    half_life: i64,
    risks: HashMap<(TenantId, String), (f64, Timestamp)>,
}

impl RiskBook {
    /// `half_life` in nanoseconds (at least one).
    pub fn new(half_life: i64) -> Self {
        RiskBook {
            half_life: half_life.max(1),
            risks: HashMap::new(),
        }
    }

    fn decayed(&self, risk: f64, since: Timestamp, at: Timestamp) -> f64 {
        let elapsed = at.0.saturating_sub(since.0);
        if elapsed <= 0 {
            return risk;
        }
        risk * 0.5f64.powf(elapsed as f64 / self.half_life as f64)
    }

    /// The entity's risk at `at`.
    pub fn risk(&self, tenant: TenantId, entity: &str, at: Timestamp) -> f64 {
        self.risks
            .get(&(tenant, entity.to_string()))
            .map_or(0.0, |&(r, t)| self.decayed(r, t, at))
    }

    /// Adds `score` at `at`; returns the new risk. An addition older than the last one
    /// (out of order) adds without decaying what is there.
    pub fn add(&mut self, tenant: TenantId, entity: &str, score: f64, at: Timestamp) -> f64 {
        let current = self.risk(tenant, entity, at);
        let slot = self
            .risks
            .entry((tenant, entity.to_string()))
            .or_insert((0.0, at));
        let time = slot.1.max(at);
        *slot = (current + score, time);
        slot.0
    }

    /// Forgets the entities whose risk at `at` has decayed below `epsilon`.
    pub fn prune(&mut self, at: Timestamp, epsilon: f64) {
        let half_life = self.half_life;
        self.risks.retain(|_, &mut (r, t)| {
            let elapsed = at.0.saturating_sub(t.0);
            elapsed <= 0 || r * 0.5f64.powf(elapsed as f64 / half_life as f64) >= epsilon
        });
    }

    pub fn len(&self) -> usize {
        self.risks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.risks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::HOUR;

    #[test]
    fn accumulates_and_decays() {
        let t = TenantId(0);
        let mut book = RiskBook::new(24 * HOUR);
        assert_eq!(book.add(t, "ws01", 20.0, Timestamp(0)), 20.0);
        assert_eq!(book.add(t, "ws01", 20.0, Timestamp(0)), 40.0);
        let later = book.risk(t, "ws01", Timestamp(24 * HOUR));
        assert!((later - 20.0).abs() < 1e-9, "{later}");
        let much_later = book.risk(t, "ws01", Timestamp(240 * HOUR));
        assert!(much_later < 0.1, "{much_later}");
        assert_eq!(
            book.risk(TenantId(1), "ws01", Timestamp(0)),
            0.0,
            "tenants apart"
        );
        // Out of order: no negative decay.
        let r = book.add(t, "ws02", 10.0, Timestamp(10 * HOUR));
        assert_eq!(book.add(t, "ws02", 10.0, Timestamp(5 * HOUR)), r + 10.0);
    }
}
