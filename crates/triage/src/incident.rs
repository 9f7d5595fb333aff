//! [`Incident`]: alerts grouped by entity (host, user) and time window, linked across
//! hosts by shared indicators and by process ancestry, with the kill-chain stages reached
//! and a severity that rises as the attack progresses.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use watchfloor_event::{TenantId, Timestamp};

use crate::attack::Stage;
use crate::detection::Level;
use crate::explain::{DecisionKind, DecisionLog};
use crate::time::serialize_time;

/// The first time a stage was reached in an incident, and by which alert.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StageStep {
    pub stage: Stage,
    pub label: &'static str,
    #[serde(serialize_with = "serialize_time")]
    pub first_seen: Timestamp,
    pub alert: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Incident {
    pub id: u64,
    /// The entity it opened on (a host, address or user).
    pub entity: String,
    #[serde(serialize_with = "crate::time::serialize_tenant")]
    pub tenant: TenantId,
    pub title: String,
    pub severity: Level,
    /// Sum of the scores of its alerts.
    pub score: f64,
    #[serde(serialize_with = "serialize_time")]
    pub first_seen: Timestamp,
    #[serde(serialize_with = "serialize_time")]
    pub last_seen: Timestamp,
    pub hosts: Vec<String>,
    pub users: Vec<String>,
    pub indicators: Vec<String>,
    pub alerts: Vec<u64>,
    /// Detections folded into its alerts.
    pub detections: u64,
    /// Stages in kill-chain order.
    pub stages: Vec<StageStep>,
    pub log: DecisionLog,
    /// Set when this incident was linked into another and lives on there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<u64>,
    /// The highest level among its alerts, and its highest-scoring alert (score, id),
    /// kept as alerts join so updates cost O(1).
    #[serde(skip)]
    pub(crate) max_level: Level,
    #[serde(skip)]
    pub(crate) top_alert: Option<(f64, u64)>,
    /// The title of `top_alert` (kept here: the alert may be evicted from memory).
    #[serde(skip)]
    pub(crate) top_title: String,
}

impl Incident {
    /// Records a joining alert's level and score.
    pub(crate) fn note_alert(&mut self, level: Level, score: f64, id: u64, title: &str) {
        self.max_level = self.max_level.max(level);
        let better = match self.top_alert {
            None => true,
            Some((s, i)) => score > s || (score == s && id < i),
        };
        if better {
            self.top_alert = Some((score, id));
            title.clone_into(&mut self.top_title);
        }
    }
}

impl Incident {
    /// The stage chain for people: `execution/persistence → defense evasion`.
    pub fn stage_chain(&self) -> String {
        self.stages
            .iter()
            .map(|s| s.label)
            .collect::<Vec<_>>()
            .join(" → ")
    }

    /// Severity from the alerts' highest level, raised one step at three stages and
    /// again at five: an attack that progresses is more urgent than any of its parts.
    pub(crate) fn severity_for(max_level: Level, stages: usize) -> Level {
        let mut s = max_level;
        if stages >= 3 {
            s = s.raised();
        }
        if stages >= 5 {
            s = s.raised();
        }
        s
    }
}

/// How an alert relates to the open incidents: the entity keys it carries.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    Host(String),
    User(String),
    Address(String),
    Indicator(String),
    Process(String),
    /// The machine a lateral movement came from: finds that host's incident, and is
    /// never remembered (the alert's own host is its entity).
    Source(String),
}

impl Key {
    pub fn describe(&self) -> String {
        match self {
            Key::Host(h) => format!("same host {h}"),
            Key::User(u) => format!("same user {u}"),
            Key::Address(a) => format!("same address {a}"),
            Key::Indicator(i) => format!("shared indicator {i}"),
            Key::Process(p) => format!("process ancestry ({p})"),
            Key::Source(h) => format!("lateral movement from host {h}"),
        }
    }
}

/// How far an alert's entities reach back for an incident to join.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    /// The longest quiet time between an entity's alert and its incident.
    pub gap: i64,
    /// The longest an incident grows after its first alert.
    pub max_span: i64,
}

/// The incidents an alert's entities lead to.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// Incidents to join, each with the key that found it; oldest first.
    pub incidents: Vec<(u64, Key)>,
    /// An incident the keys lead to that has run longer than the window allows.
    pub outgrown: Option<u64>,
}

/// The incidents of every tenant and the index from entity keys to the incident last
/// seen with them.
#[derive(Clone, Debug, Default)]
pub struct Incidents {
    /// The incidents in memory, by id (in id order, for listings).
    list: BTreeMap<u64, Incident>,
    /// The last id given (ids are never reused, even after eviction).
    last_id: u64,
    keys: HashMap<(TenantId, Key), (u64, Timestamp)>,
}

impl Incidents {
    pub fn all(&self) -> impl Iterator<Item = &Incident> {
        self.list.values().filter(|i| i.merged_into.is_none())
    }

    pub fn get(&self, id: u64) -> Option<&Incident> {
        self.list.get(&id)
    }

    pub(crate) fn get_mut(&mut self, id: u64) -> Option<&mut Incident> {
        self.list.get_mut(&id)
    }

    /// Incidents in memory, linked ones included.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Entity keys remembered.
    pub fn keys_len(&self) -> usize {
        self.keys.len()
    }

    /// Forgets the entity keys last seen before `horizon` and the incidents last seen
    /// before it: live ones (nothing joined them within the horizon) and linked ones
    /// (which never change once linked). A key or link that named a forgotten linked
    /// incident names where it lived on instead. Returns the incidents forgotten.
    pub(crate) fn evict(&mut self, horizon: Timestamp) -> usize {
        self.keys.retain(|_, (_, last)| *last >= horizon);
        let stale: HashMap<u64, u64> = self
            .list
            .values()
            .filter(|i| i.last_seen < horizon)
            .map(|i| (i.id, self.resolve(i.id)))
            .collect();
        if stale.is_empty() {
            return 0;
        }
        for id in stale.keys() {
            self.list.remove(id);
        }
        for i in self.list.values_mut() {
            if let Some(into) = i.merged_into
                && let Some(&live) = stale.get(&into)
            {
                i.merged_into = Some(live);
            }
        }
        let list = &self.list;
        self.keys.retain(|_, (id, _)| {
            if let Some(&live) = stale.get(id) {
                *id = live;
            }
            list.contains_key(id)
        });
        self.keys.shrink_to(self.keys.len() * 2);
        stale.len()
    }

    /// Follows links to the incident that lives on.
    pub fn resolve(&self, mut id: u64) -> u64 {
        for _ in 0..=self.list.len() {
            match self.get(id).and_then(|i| i.merged_into) {
                Some(next) => id = next,
                None => break,
            }
        }
        id
    }

    /// Incidents seen with any of `keys` within `window.gap` of `at`, each with the key
    /// that found it; distinct, oldest first. An incident whose first alert is more than
    /// `window.max_span` before `at` takes no more: it comes back as `outgrown`.
    pub(crate) fn find(
        &self,
        tenant: TenantId,
        keys: &[Key],
        at: Timestamp,
        window: Window,
    ) -> Found {
        let mut found = Found::default();
        for k in keys {
            let lookup = match k {
                Key::Source(h) => Key::Host(h.clone()),
                other => other.clone(),
            };
            if let Some(&(id, last)) = self.keys.get(&(tenant, lookup))
                && at.0.saturating_sub(last.0) <= window.gap
                && last.0.saturating_sub(at.0) <= window.gap
            {
                let id = self.resolve(id);
                let outgrown = self
                    .get(id)
                    .is_some_and(|i| at.0.saturating_sub(i.first_seen.0) > window.max_span);
                if outgrown {
                    found.outgrown.get_or_insert(id);
                } else if !found.incidents.iter().any(|(i, _)| *i == id) {
                    found.incidents.push((id, k.clone()));
                }
            }
        }
        found.incidents.sort_by_key(|(id, _)| *id);
        found
    }

    pub(crate) fn remember(&mut self, tenant: TenantId, keys: &[Key], id: u64, at: Timestamp) {
        for k in keys.iter().filter(|k| !matches!(k, Key::Source(_))) {
            let slot = self.keys.entry((tenant, k.clone())).or_insert((id, at));
            slot.0 = id;
            slot.1 = slot.1.max(at);
        }
    }

    pub(crate) fn open(&mut self, tenant: TenantId, at: Timestamp, entity: &str) -> u64 {
        self.last_id += 1;
        let id = self.last_id;
        self.list.insert(
            id,
            Incident {
                id,
                entity: entity.to_string(),
                tenant,
                title: String::new(),
                severity: Level::Informational,
                score: 0.0,
                first_seen: at,
                last_seen: at,
                hosts: Vec::new(),
                users: Vec::new(),
                indicators: Vec::new(),
                alerts: Vec::new(),
                detections: 0,
                stages: Vec::new(),
                log: DecisionLog::default(),
                merged_into: None,
                max_level: Level::Informational,
                top_alert: None,
                top_title: String::new(),
            },
        );
        id
    }

    /// Moves everything of `from` into `into` (both live) and leaves a link behind.
    pub(crate) fn merge(&mut self, into: u64, from: u64, at: Timestamp, why: &str) {
        if into == from {
            return;
        }
        let Some(src) = self.get_mut(from) else {
            return;
        };
        src.merged_into = Some(into);
        src.log.push(
            at,
            DecisionKind::Linked,
            format!("linked into incident {into}: {why}"),
        );
        let src = src.clone();
        let Some(dst) = self.get_mut(into) else {
            return;
        };
        dst.alerts.extend(&src.alerts);
        dst.alerts.sort_unstable();
        dst.alerts.dedup();
        if let Some((score, id)) = src.top_alert {
            dst.note_alert(src.max_level, score, id, &src.top_title);
        }
        dst.detections += src.detections;
        dst.score += src.score;
        dst.first_seen = dst.first_seen.min(src.first_seen);
        dst.last_seen = dst.last_seen.max(src.last_seen);
        for u in &src.users {
            let name = crate::detection::account_name(u);
            if !dst
                .users
                .iter()
                .any(|x| crate::detection::account_name(x) == name)
            {
                dst.users.push(u.clone());
            }
        }
        for (d, s) in [
            (&mut dst.hosts, &src.hosts),
            (&mut dst.indicators, &src.indicators),
        ] {
            d.extend(s.iter().cloned());
            d.sort();
            d.dedup();
        }
        for step in &src.stages {
            match dst.stages.iter_mut().find(|s| s.stage == step.stage) {
                Some(s) if s.first_seen > step.first_seen => *s = step.clone(),
                Some(_) => {}
                None => dst.stages.push(step.clone()),
            }
        }
        dst.stages.sort_by_key(|s| s.stage);
        dst.log.push(
            at,
            DecisionKind::Linked,
            format!(
                "absorbed incident {from} ({} alerts): {why}",
                src.alerts.len()
            ),
        );
        dst.log.absorb(&src.log);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_rises_with_stages() {
        assert_eq!(Incident::severity_for(Level::Medium, 1), Level::Medium);
        assert_eq!(Incident::severity_for(Level::Medium, 3), Level::High);
        assert_eq!(Incident::severity_for(Level::Medium, 5), Level::Critical);
        assert_eq!(Incident::severity_for(Level::High, 6), Level::Critical);
    }

    #[test]
    fn keys_expire_after_the_gap_and_links_resolve() {
        let t = TenantId(0);
        let mut inc = Incidents::default();
        let a = inc.open(t, Timestamp(0), "ws01");
        let b = inc.open(t, Timestamp(0), "ws02");
        let host = Key::Host("ws01".into());
        let window = Window {
            gap: 50,
            max_span: 1000,
        };
        inc.remember(t, std::slice::from_ref(&host), a, Timestamp(100));
        let find = |inc: &Incidents, tenant, at| {
            inc.find(tenant, std::slice::from_ref(&host), Timestamp(at), window)
        };
        assert_eq!(find(&inc, t, 150).incidents.len(), 1);
        assert!(find(&inc, t, 151).incidents.is_empty());
        assert!(find(&inc, TenantId(1), 100).incidents.is_empty());
        inc.merge(b, a, Timestamp(120), "shared indicator");
        assert_eq!(inc.resolve(a), b);
        assert_eq!(find(&inc, t, 120).incidents[0].0, b);
        assert_eq!(inc.all().count(), 1);
    }

    #[test]
    fn an_incident_stops_growing_after_its_span() {
        let t = TenantId(0);
        let mut inc = Incidents::default();
        let a = inc.open(t, Timestamp(0), "ws01");
        let host = Key::Host("ws01".into());
        let window = Window {
            gap: 50,
            max_span: 200,
        };
        inc.remember(t, std::slice::from_ref(&host), a, Timestamp(0));
        // Activity every 40 keeps the key fresh, but past 200 after the incident's first
        // alert the incident takes nothing more.
        for at in (40..=200).step_by(40) {
            let found = inc.find(t, std::slice::from_ref(&host), Timestamp(at), window);
            assert_eq!(found.incidents.len(), 1, "at {at}");
            inc.remember(t, std::slice::from_ref(&host), a, Timestamp(at));
        }
        let found = inc.find(t, std::slice::from_ref(&host), Timestamp(240), window);
        assert!(found.incidents.is_empty());
        assert_eq!(found.outgrown, Some(a));
    }
}
