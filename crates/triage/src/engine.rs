//! [`Triage`]: the analysis pipeline. Each detection is, in order: checked against the
//! tenant's suppression rules and (for indicator hits) the warninglists; folded into an
//! existing alert with the same fingerprint inside the dedupe window, or made a new alert
//! that is enriched (asset, ATT&CK), scored and added to its entities' risk; then grouped
//! into an incident — joined to the incident an entity key links it to, or opening one
//! when the entity's risk or the alert's score crosses the threshold, or left pending on
//! its entity until then. Every step writes its reason to the decision logs.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::Serialize;
use watchfloor_event::{TenantId, Timestamp};

use crate::alert::{Alert, AssetContext, FingerprintConfig, TechniqueRef, fingerprint_id};
use crate::assets::Assets;
use crate::attack::{AttackCatalog, Stage, parse_sigma_tags};
use crate::detection::{Detection, Level, Origin, account_name};
use crate::explain::{DecisionKind, DecisionLog};
use crate::incident::{Incident, Incidents, Key, StageStep, Window};
use crate::risk::RiskBook;
use crate::suppress::{Expr, SuppressedBy, SuppressedRecord, Suppressions};
use crate::time::{HOUR, human_duration};
use crate::warninglist::Warninglists;

/// Errors of the analysis engine's operations.
#[derive(Debug, thiserror::Error)]
pub enum TriageError {
    #[error("no alert {0} in this tenant")]
    NoSuchAlert(u64),
}

/// Tunables, with the defaults a SOC would start from.
#[derive(Clone, Debug)]
pub struct TriageConfig {
    /// A repeat within this long after an alert's last occurrence folds into it.
    pub dedupe_window: i64,
    pub samples_per_alert: usize,
    pub fingerprint: FingerprintConfig,
    /// An entity key links an alert to an incident seen with it at most this long ago.
    pub incident_gap: i64,
    /// An incident takes alerts for at most this long after its first one; later
    /// activity of its entities starts a new incident.
    pub incident_max_span: i64,
    /// Entity risk (or a single alert's score) from which an incident opens.
    pub open_threshold: f64,
    pub risk_half_life: i64,
    /// Alerts kept pending per entity before an incident opens (the oldest go first).
    pub max_pending: usize,
}

impl Default for TriageConfig {
    fn default() -> Self {
        TriageConfig {
            dedupe_window: 24 * HOUR,
            samples_per_alert: 3,
            fingerprint: FingerprintConfig::default(),
            // Two days: an intruder who works office hours is back the next day at
            // about the hour they left, which a 24-hour gap would split.
            incident_gap: 48 * HOUR,
            incident_max_span: 7 * 24 * HOUR,
            open_threshold: 40.0,
            risk_half_life: 24 * HOUR,
            max_pending: 64,
        }
    }
}

/// What happened to one detection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    NewAlert(u64),
    Merged(u64),
    Suppressed,
}

/// Counters over everything observed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TriageStats {
    pub detections: u64,
    pub alerts: u64,
    pub incidents: u64,
    pub suppressed: u64,
    /// Alerts not (yet) in any incident.
    pub pending_alerts: u64,
}

/// The analysis engine's state for all tenants.
#[derive(Clone, Debug)]
pub struct Triage {
    config: TriageConfig,
    catalog: AttackCatalog,
    assets: Assets,
    warninglists: Warninglists,
    suppressions: Suppressions,
    /// Alerts still in memory, by id: those that can still change (see
    /// [`Triage::evict`]).
    alerts: HashMap<u64, Alert>,
    /// The last alert id given (ids are never reused, even after eviction).
    last_alert: u64,
    by_fingerprint: HashMap<String, u64>,
    suppressed: Vec<SuppressedRecord>,
    risk: RiskBook,
    incidents: Incidents,
    /// Alerts waiting for their entity's incident, per (tenant, primary key).
    pending: HashMap<(TenantId, Key), Vec<u64>>,
    detections: u64,
    /// The engine's time: the latest event time of any detection observed.
    latest: Option<Timestamp>,
    /// Data time before which [`Triage::evict`] has nothing to do.
    next_sweep: Option<Timestamp>,
    /// Alerts and incidents changed since the last [`Triage::take_changes`], when
    /// tracking is on (a live pipeline stores exactly what changed).
    changes: Option<Changes>,
}

/// The ids of the alerts and incidents that changed, each once, in increasing order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub alerts: Vec<u64>,
    pub incidents: Vec<u64>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty() && self.incidents.is_empty()
    }
}

/// Share of an alert's score each repeat adds to its entity's risk, and the cap on one
/// alert's total contribution (in multiples of its score).
const REPEAT_RISK_SHARE: f64 = 0.25;
const REPEAT_RISK_CAP: f64 = 2.0;

/// Entity risk below which [`Triage::evict`] forgets the entity (it would count for
/// nothing against any threshold).
const RISK_EPSILON: f64 = 1e-3;

/// Sizes of what the engine holds in memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TriageMemory {
    pub alerts: usize,
    pub fingerprints: usize,
    pub incidents: usize,
    pub incident_keys: usize,
    /// Alert ids waiting on their entity's incident.
    pub pending: usize,
    pub risks: usize,
}

/// Whether a risk or score reaches a threshold as the decision log shows it (to one
/// decimal): two low alerts a second apart make 40.0 against 40 and open, rather than
/// miss it by the decay of that second.
fn reaches(value: f64, threshold: f64) -> bool {
    (value * 10.0).round() >= (threshold * 10.0).round()
}

/// Base score of a level before asset criticality and confidence.
pub fn level_score(level: Level) -> f64 {
    match level {
        Level::Informational => 5.0,
        Level::Low => 20.0,
        Level::Medium => 45.0,
        Level::High => 70.0,
        Level::Critical => 90.0,
    }
}

/// Accounts that act on every host and would link everything: never a grouping key.
fn is_shared_account(user: &str) -> bool {
    let u = user
        .rsplit(['\\', '@'])
        .next()
        .unwrap_or(user)
        .to_ascii_lowercase();
    u.ends_with('$')
        || matches!(
            u.as_str(),
            "system"
                | "local service"
                | "localservice"
                | "network service"
                | "networkservice"
                | "anonymous logon"
                | "root"
                | "-"
        )
        || user.to_ascii_lowercase().starts_with("nt authority")
        || user.to_ascii_lowercase().starts_with("window manager")
        || user.to_ascii_lowercase().starts_with("font driver host")
}

/// Addresses that identify nothing across hosts (private, loopback, link-local,
/// unspecified).
fn is_local_address(ip: &str) -> bool {
    match ip.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => {
            a.is_private()
                || a.is_loopback()
                || a.is_link_local()
                || a.is_unspecified()
                || a.is_broadcast()
        }
        Ok(IpAddr::V6(a)) => {
            a.is_loopback()
                || a.is_unspecified()
                || (a.segments()[0] & 0xfe00) == 0xfc00
                || (a.segments()[0] & 0xffc0) == 0xfe80
        }
        Err(_) => false,
    }
}

impl Triage {
    pub fn new(config: TriageConfig) -> Self {
        Triage {
            risk: RiskBook::new(config.risk_half_life),
            config,
            catalog: AttackCatalog::default(),
            assets: Assets::default(),
            warninglists: Warninglists::default(),
            suppressions: Suppressions::default(),
            alerts: HashMap::new(),
            last_alert: 0,
            by_fingerprint: HashMap::new(),
            suppressed: Vec::new(),
            incidents: Incidents::default(),
            pending: HashMap::new(),
            detections: 0,
            latest: None,
            next_sweep: None,
            changes: None,
        }
    }

    /// Starts recording which alerts and incidents change, for [`Triage::take_changes`].
    pub fn track_changes(&mut self) {
        self.changes.get_or_insert_with(Changes::default);
    }

    /// What changed since the last call (empty when tracking is off).
    pub fn take_changes(&mut self) -> Changes {
        let Some(c) = self.changes.as_mut() else {
            return Changes::default();
        };
        let mut out = std::mem::take(c);
        out.alerts.sort_unstable();
        out.alerts.dedup();
        out.incidents.sort_unstable();
        out.incidents.dedup();
        out
    }

    fn touch_alert(&mut self, id: u64) {
        if let Some(c) = self.changes.as_mut() {
            c.alerts.push(id);
        }
    }

    fn touch_incident(&mut self, id: u64) {
        if let Some(c) = self.changes.as_mut() {
            c.incidents.push(id);
        }
    }

    pub fn set_catalog(&mut self, catalog: AttackCatalog) {
        self.catalog = catalog;
    }

    pub fn set_assets(&mut self, assets: Assets) {
        self.assets = assets;
    }

    pub fn set_warninglists(&mut self, lists: Warninglists) {
        self.warninglists = lists;
    }

    pub fn suppressions(&self) -> &Suppressions {
        &self.suppressions
    }

    pub fn suppressions_mut(&mut self) -> &mut Suppressions {
        &mut self.suppressions
    }

    /// The alerts in memory, in id order (after [`Triage::evict`], only those that can
    /// still change).
    pub fn alerts(&self) -> Vec<&Alert> {
        let mut all: Vec<&Alert> = self.alerts.values().collect();
        all.sort_unstable_by_key(|a| a.id);
        all
    }

    /// Alert `id`, unless it was never made or was evicted.
    pub fn alert(&self, id: u64) -> Option<&Alert> {
        self.alerts.get(&id)
    }

    /// The engine's time: the latest event time among the detections observed.
    pub fn latest(&self) -> Option<Timestamp> {
        self.latest
    }

    /// How long an alert stays in memory after its last occurrence: past both the
    /// dedupe window and the incident gap, nothing can fold into, group or link it.
    pub fn horizon(&self) -> i64 {
        self.config
            .dedupe_window
            .max(self.config.incident_gap)
            .max(0)
    }

    /// What the engine holds in memory (sizes of its maps), for bounds and metrics.
    pub fn memory(&self) -> TriageMemory {
        TriageMemory {
            alerts: self.alerts.len(),
            fingerprints: self.by_fingerprint.len(),
            incidents: self.incidents.len(),
            incident_keys: self.incidents.keys_len(),
            pending: self.pending.values().map(Vec::len).sum(),
            risks: self.risk.len(),
        }
    }

    /// Forgets what can no longer change at engine time `now`: alerts last seen more
    /// than [`Triage::horizon`] before it (with their fingerprints, so a repeat makes a
    /// new alert with a new id; the store keeps the old one), incidents whose live
    /// incident was last seen before then (with their entity keys), pending entries
    /// of forgotten alerts and entity risks decayed to nothing. Nothing is logged:
    /// this is memory only. Cheap to call after every batch: it sweeps only once the
    /// oldest alert kept may be past the horizon, and at most every sixteenth of the
    /// horizon of data time. Returns the alerts forgotten.
    pub fn evict(&mut self, now: Timestamp) -> usize {
        if self.next_sweep.is_some_and(|next| now < next) {
            return 0;
        }
        let span = self.horizon();
        let horizon = Timestamp(now.0.saturating_sub(span));
        let mut oldest: Option<Timestamp> = None;
        let mut gone = Vec::new();
        for a in self.alerts.values() {
            if a.last_seen < horizon {
                gone.push(a.id);
            } else {
                oldest = Some(oldest.map_or(a.last_seen, |o| o.min(a.last_seen)));
            }
        }
        for id in &gone {
            self.alerts.remove(id);
        }
        if !gone.is_empty() {
            let alerts = &self.alerts;
            self.by_fingerprint.retain(|_, id| alerts.contains_key(id));
            self.pending.retain(|_, list| {
                list.retain(|id| alerts.contains_key(id));
                !list.is_empty()
            });
            self.alerts.shrink_to(self.alerts.len() * 2);
            self.by_fingerprint.shrink_to(self.by_fingerprint.len() * 2);
        }
        self.incidents.evict(horizon);
        self.risk.prune(now, RISK_EPSILON);
        let step = (span / 16).max(1);
        let due = oldest.map_or(i64::MIN, |o| o.0.saturating_add(span).saturating_add(1));
        self.next_sweep = Some(Timestamp(due.max(now.0.saturating_add(step))));
        gone.len()
    }

    /// Live incidents (those linked into another are folded there).
    pub fn incidents(&self) -> impl Iterator<Item = &Incident> {
        self.incidents.all()
    }

    pub fn incident(&self, id: u64) -> Option<&Incident> {
        self.incidents.get(self.incidents.resolve(id))
    }

    /// Incident `id` itself, even when it was linked into another (its `merged_into`
    /// says where it lives on); [`Triage::incident`] follows the link instead.
    pub fn incident_as_recorded(&self, id: u64) -> Option<&Incident> {
        self.incidents.get(id)
    }

    pub fn suppressed(&self) -> &[SuppressedRecord] {
        &self.suppressed
    }

    /// Takes the suppression records kept so far, leaving none: a live pipeline hands
    /// them on instead of keeping every one in memory.
    pub fn take_suppressed(&mut self) -> Vec<SuppressedRecord> {
        std::mem::take(&mut self.suppressed)
    }

    pub fn stats(&self) -> TriageStats {
        TriageStats {
            detections: self.detections,
            alerts: self.last_alert,
            incidents: self.incidents.all().count() as u64,
            suppressed: self.suppressed.len() as u64,
            pending_alerts: self
                .alerts
                .values()
                .filter(|a| a.incident.is_none())
                .count() as u64,
        }
    }

    /// Creates a suppression from an alert in one call: its rule and the attributes of
    /// its fingerprint, scoped to the alert's tenant. Later detections with that
    /// fingerprint are suppressed until `expires` (never, for `None`).
    pub fn suppress_alert(
        &mut self,
        tenant: TenantId,
        alert_id: u64,
        owner: &str,
        reason: &str,
        now: Timestamp,
        expires: Option<Timestamp>,
    ) -> Result<u64, TriageError> {
        let alert = self
            .alert(alert_id)
            .filter(|a| a.tenant == tenant)
            .ok_or(TriageError::NoSuchAlert(alert_id))?;
        let fields = self
            .config
            .fingerprint
            .by_rule
            .iter()
            .find(|(r, _)| r.eq_ignore_ascii_case(&alert.rule_id))
            .map_or(&self.config.fingerprint.fields, |(_, f)| f);
        let probe = Detection {
            tenant,
            rule_id: alert.rule_id.clone(),
            title: alert.title.clone(),
            level: alert.level,
            origin: alert.origin,
            entities: alert.entities.clone(),
            fields: alert
                .samples
                .first()
                .map(|s| s.fields.clone())
                .unwrap_or_default(),
            ..Default::default()
        };
        let mut pairs: Vec<(String, String)> = vec![("rule".into(), alert.rule_id.clone())];
        for f in fields {
            if let Some(v) = probe.attribute(f) {
                pairs.push((f.clone(), v.to_string()));
            }
        }
        let refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(a, v)| (a.as_str(), v.as_str()))
            .collect();
        let id = self
            .suppressions
            .add(tenant, Expr::equals(&refs), owner, reason, now, expires);
        if let Some(a) = self.alerts.get_mut(&alert_id) {
            a.log.push(
                now,
                DecisionKind::Suppressed,
                format!("suppression {id} created from this alert by {owner}: {reason}"),
            );
        }
        self.touch_alert(alert_id);
        Ok(id)
    }

    /// Takes one detection through the pipeline.
    pub fn observe(&mut self, mut d: Detection) -> Outcome {
        self.detections += 1;
        self.latest = Some(self.latest.map_or(d.time, |t| t.max(d.time)));
        d.entities.normalize();
        let renamed = self.canonicalise_host(&mut d);
        if let Some(by) = self.suppressed_by(&mut d, renamed.as_deref()) {
            self.record_suppressed(&d, by);
            return Outcome::Suppressed;
        }
        if d.origin == Origin::Indicator
            && let Some(list) = self.warninglists.matches(&d.rule_id)
        {
            let by = SuppressedBy::Warninglist {
                list: list.to_string(),
                value: d.rule_id.clone(),
            };
            self.record_suppressed(&d, by);
            return Outcome::Suppressed;
        }
        let key = self.config.fingerprint.key(&d);
        if let Some(&id) = self.by_fingerprint.get(&key)
            && let Some(alert) = self.alerts.get_mut(&id)
            && d.time.0.saturating_sub(alert.last_seen.0) <= self.config.dedupe_window
        {
            alert.count += 1;
            alert.first_seen = alert.first_seen.min(d.time);
            alert.last_seen = alert.last_seen.max(d.time);
            if alert.samples.len() < self.config.samples_per_alert {
                alert.samples.push(Alert::sample(&d));
            }
            alert.log.push(
                d.time,
                DecisionKind::Merged,
                format!(
                    "repeat #{} merged: same fingerprint {} within {} of the last",
                    alert.count,
                    alert.fingerprint,
                    human_duration(self.config.dedupe_window)
                ),
            );
            // Risk-based alerting: a repeat adds a quarter of the alert's score to its
            // entity's risk, up to twice the score per alert, so persistent activity
            // counts. Repeats open an incident only together with another alert of the
            // entity: one noisy rule alone never does (its first occurrence may, if its
            // score reaches the threshold).
            let extra = (alert.score * REPEAT_RISK_SHARE)
                .min(alert.score * REPEAT_RISK_CAP - alert.risk_contributed)
                .max(0.0);
            alert.risk_contributed += extra;
            let pending = alert.incident.is_none();
            let incident = alert.incident;
            if pending && extra > 0.0 {
                let keys = self.keys_of(id);
                if let Some(k) = keys.first() {
                    let risk = self.risk.add(d.tenant, &key_text(k), extra, d.time);
                    let others_waiting =
                        self.pending
                            .get(&(d.tenant, k.clone()))
                            .is_some_and(|waiting| {
                                waiting
                                    .iter()
                                    .any(|&w| w != id && self.waits_recently(w, d.time))
                            });
                    if others_waiting {
                        self.open_or_wait(id, &keys, risk, d.time, false);
                    }
                }
            }
            if let Some(inc) = incident {
                let live = self.incidents.resolve(inc);
                let mut growing = false;
                if let Some(i) = self.incidents.get_mut(live) {
                    i.detections += 1;
                    i.last_seen = i.last_seen.max(d.time);
                    growing =
                        d.time.0.saturating_sub(i.first_seen.0) <= self.config.incident_max_span;
                }
                // The repeat stays with its incident; an outgrown one does not take
                // back its entities from the incident that continues it.
                if growing {
                    let keys = self.keys_of(id);
                    self.incidents.remember(d.tenant, &keys, live, d.time);
                }
                self.touch_incident(live);
            }
            self.touch_alert(id);
            return Outcome::Merged(id);
        }
        let id = self.new_alert(d, &key, renamed);
        self.by_fingerprint.insert(key, id);
        self.touch_alert(id);
        self.group(id);
        Outcome::NewAlert(id)
    }

    fn record_suppressed(&mut self, d: &Detection, by: SuppressedBy) {
        self.suppressed.push(SuppressedRecord {
            time: d.time,
            rule_id: d.rule_id.clone(),
            title: d.title.clone(),
            host: d.entities.host.clone(),
            reference: d.reference.clone(),
            by,
        });
    }

    /// The suppression rule that holds `d` back, if any: one written for the host's
    /// inventory name or for the name the detection carried (`original`) alike.
    fn suppressed_by(&mut self, d: &mut Detection, original: Option<&str>) -> Option<SuppressedBy> {
        let by = |rule: &crate::suppress::Suppression| SuppressedBy::Suppression {
            id: rule.id,
            reason: rule.reason.clone(),
            owner: rule.owner.clone(),
        };
        if let Some(rule) = self.suppressions.check(d) {
            return Some(by(rule));
        }
        // The name the detection carried, in the inventory name's place for one check.
        let canonical = d.entities.host.replace(original?.to_owned());
        let found = self.suppressions.check(d).map(by);
        d.entities.host = canonical;
        found
    }

    /// Names the detection's host as the asset inventory does, so one machine is one
    /// entity whichever name a log gives it (`WEB01`, `web01.corp.example`, the site
    /// its access log names); returns the name the detection carried when it changed.
    fn canonicalise_host(&self, d: &mut Detection) -> Option<String> {
        if self.assets.is_empty() {
            return None;
        }
        let host = d.entities.host.as_deref()?;
        let canonical = self.assets.canonical_host(host)?;
        if canonical == host {
            return None;
        }
        d.entities.host.replace(canonical)
    }

    fn new_alert(&mut self, d: Detection, key: &str, renamed: Option<String>) -> u64 {
        self.last_alert += 1;
        let id = self.last_alert;
        let mut log = DecisionLog::default();
        let fingerprint = fingerprint_id(key);
        log.push(
            d.time,
            DecisionKind::Created,
            format!(
                "new alert for {} {} (fingerprint {fingerprint}: rule{})",
                match d.origin {
                    Origin::Rule => "rule",
                    Origin::Correlation => "correlation",
                    Origin::Indicator => "indicator",
                },
                d.title,
                self.fingerprint_fields_text(&d)
            ),
        );
        if let (Some(from), Some(host)) = (renamed, &d.entities.host) {
            log.push(
                d.time,
                DecisionKind::Enriched,
                format!("host {from} is {host} in the asset inventory"),
            );
        }
        // ATT&CK enrichment: techniques from the tags with their names, stages from the
        // tactic tags, else from the techniques' tactics in the catalog.
        let tags = parse_sigma_tags(&d.tags);
        let techniques: Vec<TechniqueRef> = tags
            .techniques
            .iter()
            .map(|t| TechniqueRef {
                id: t.clone(),
                name: self.catalog.technique(t).map(|x| x.name.clone()),
            })
            .collect();
        let mut stages = tags.stages.clone();
        if stages.is_empty() {
            for t in &tags.techniques {
                stages.extend(self.catalog.stages_of(t));
            }
        }
        stages.sort();
        stages.dedup();
        let mut mitigations: Vec<String> = tags
            .techniques
            .iter()
            .flat_map(|t| self.catalog.mitigations_of(t))
            .map(|m| format!("{} {}", m.id, m.name))
            .collect();
        mitigations.sort();
        mitigations.dedup();
        if !techniques.is_empty() || !stages.is_empty() {
            let names: Vec<String> = techniques
                .iter()
                .map(|t| match &t.name {
                    Some(n) => format!("{} {n}", t.id),
                    None => t.id.clone(),
                })
                .collect();
            let stage_names: Vec<&str> = stages.iter().map(|s| s.label()).collect();
            log.push(
                d.time,
                DecisionKind::Enriched,
                format!(
                    "ATT&CK: techniques [{}], stages [{}], {} mitigations",
                    names.join(", "),
                    stage_names.join(", "),
                    mitigations.len()
                ),
            );
        }
        let asset = self.asset_context(&d);
        if let Some(a) = &asset {
            log.push(
                d.time,
                DecisionKind::Enriched,
                format!(
                    "asset {}: criticality {:?}, owner {}",
                    a.asset,
                    a.criticality,
                    a.owner.as_deref().unwrap_or("unknown")
                ),
            );
        }
        let criticality = asset.as_ref().map(|a| a.criticality).unwrap_or_default();
        let confidence = if d.confidence > 0.0 {
            d.confidence.min(1.0)
        } else {
            1.0
        };
        let base = level_score(d.level);
        let score = base * criticality.multiplier() * confidence;
        log.push(
            d.time,
            DecisionKind::Scored,
            format!(
                "score {score:.1} = level {} ({base}) × asset criticality {:?} ({}) × confidence {confidence:.2}",
                d.level.as_str(),
                criticality,
                criticality.multiplier()
            ),
        );
        self.alerts.insert(
            id,
            Alert {
                id,
                tenant: d.tenant,
                fingerprint,
                rule_id: d.rule_id.clone(),
                title: d.title.clone(),
                level: d.level,
                origin: d.origin,
                tags: d.tags.clone(),
                techniques,
                stages,
                mitigations,
                entities: d.entities.clone(),
                asset,
                count: 1,
                first_seen: d.time,
                last_seen: d.time,
                samples: vec![Alert::sample(&d)],
                score,
                incident: None,
                log,
                risk_contributed: 0.0,
            },
        );
        id
    }

    fn fingerprint_fields_text(&self, d: &Detection) -> String {
        let fields = self
            .config
            .fingerprint
            .by_rule
            .iter()
            .find(|(r, _)| r.eq_ignore_ascii_case(&d.rule_id))
            .map_or(&self.config.fingerprint.fields, |(_, f)| f);
        fields
            .iter()
            .map(|f| format!(" + {f}={}", d.attribute(f).unwrap_or("-")))
            .collect()
    }

    fn asset_context(&self, d: &Detection) -> Option<AssetContext> {
        let e = &d.entities;
        let found = e
            .host
            .as_deref()
            .and_then(|h| self.assets.by_host(h))
            .or_else(|| e.src_ip.as_deref().and_then(|ip| self.assets.by_ip(ip)))
            .or_else(|| e.dst_ip.as_deref().and_then(|ip| self.assets.by_ip(ip)))?;
        Some(AssetContext {
            asset: found
                .name
                .clone()
                .or_else(|| found.ips.first().map(ToString::to_string))
                .unwrap_or_default(),
            owner: found.owner.clone(),
            criticality: found.criticality,
            tags: found.tags.clone(),
        })
    }

    /// The entity keys of an alert: its primary entity first (host, else source
    /// address, else user), then the user, and the linking keys (indicators that are
    /// on no warninglist and not local addresses; processes; for a lateral movement,
    /// the inventory's machine at its source address).
    fn keys_of(&self, id: u64) -> Vec<Key> {
        let Some(a) = self.alert(id) else {
            return Vec::new();
        };
        let e = &a.entities;
        let mut keys = Vec::new();
        let user = e.user.as_deref().filter(|u| !is_shared_account(u));
        if let Some(h) = &e.host {
            keys.push(Key::Host(h.clone()));
        } else if let Some(ip) = &e.src_ip {
            keys.push(Key::Address(ip.to_ascii_lowercase()));
        } else if let Some(u) = user {
            keys.push(Key::User(account_name(u)));
        }
        if let Some(u) = user {
            let k = Key::User(account_name(u));
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        for i in &e.indicators {
            if !is_local_address(i) && self.warninglists.matches(i).is_none() {
                keys.push(Key::Indicator(i.clone()));
            }
        }
        for p in [&e.process, &e.parent_process].into_iter().flatten() {
            keys.push(Key::Process(p.to_ascii_lowercase()));
        }
        // A lateral movement from a machine of the inventory continues that machine's
        // story: the alert finds its incident too.
        if a.stages.contains(&Stage::LateralMovement)
            && let Some(ip) = e.src_ip.as_deref().filter(|ip| is_local_address(ip))
            && let Some(source) = self.assets.canonical_host(ip)
            && e.host.as_deref() != Some(source.as_str())
        {
            keys.push(Key::Source(source));
        }
        keys
    }

    fn group(&mut self, id: u64) {
        let keys = self.keys_of(id);
        let Some(alert) = self.alert(id) else {
            return;
        };
        // Informational rules tag events for context (the Sigma specification says no
        // case should come of them): they stay alerts and never join, link or open
        // incidents, so a logoff seen on the domain controller cannot tie every
        // user's workstation together.
        if alert.level == Level::Informational {
            let time = alert.time();
            if let Some(a) = self.alerts.get_mut(&id) {
                a.log.push(
                    time,
                    DecisionKind::Pending,
                    "not grouped: informational rules give context, not incidents",
                );
            }
            return;
        }
        let (tenant, time, score) = (alert.tenant, alert.time(), alert.score);
        let window = Window {
            gap: self.config.incident_gap,
            max_span: self.config.incident_max_span,
        };
        let found = self.incidents.find(tenant, &keys, time, window);
        let primary = keys.first().cloned();
        if let Some((target, why)) = found.incidents.first().cloned() {
            self.join(target, id, &why.describe());
            for (other, key) in found.incidents.iter().skip(1) {
                self.incidents.merge(target, *other, time, &key.describe());
                self.touch_incident(*other);
                self.retarget_alerts(*other, target);
            }
            self.incidents.remember(tenant, &keys, target, time);
            self.refresh(target, time);
            return;
        }
        let risk = match &primary {
            Some(k) => self.risk.add(tenant, &key_text(k), score, time),
            None => score,
        };
        let max_span = self.config.incident_max_span;
        if let Some(a) = self.alerts.get_mut(&id) {
            a.risk_contributed = score;
            if let Some(old) = found.outgrown {
                let max_span = human_duration(max_span);
                a.log.push(
                    time,
                    DecisionKind::Pending,
                    format!(
                        "not joined to incident {old}: it has taken alerts for {max_span} since its first, the most an incident spans"
                    ),
                );
            }
        }
        self.open_or_wait(id, &keys, risk, time, true);
    }

    /// Whether alert `w` still waits for an incident and was seen within the incident
    /// gap before `time`.
    fn waits_recently(&self, w: u64, time: Timestamp) -> bool {
        self.alert(w).is_some_and(|a| {
            a.incident.is_none() && time.0.saturating_sub(a.last_seen.0) <= self.config.incident_gap
        })
    }

    /// Opens an incident for a pending alert whose entity's risk (or own score) reached
    /// the threshold, taking the entity's waiting alerts along; otherwise keeps it
    /// waiting. `first`: the alert is new (not a repeat), so it is queued and logged.
    fn open_or_wait(&mut self, id: u64, keys: &[Key], risk: f64, time: Timestamp, first: bool) {
        let Some(alert) = self.alert(id) else {
            return;
        };
        if alert.level == Level::Informational {
            return;
        }
        let (tenant, score) = (alert.tenant, alert.score);
        let primary = keys.first().cloned();
        let threshold = self.config.open_threshold;
        if !reaches(risk, threshold) && !reaches(score, threshold) {
            if !first {
                return;
            }
            let entity = primary.as_ref().map_or("no entity".into(), key_text);
            if let Some(a) = self.alerts.get_mut(&id) {
                a.log.push(
                    time,
                    DecisionKind::Pending,
                    format!(
                        "no incident yet: risk of {entity} is {risk:.1}, below the threshold {threshold}"
                    ),
                );
            }
            if let Some(k) = primary {
                let list = self.pending.entry((tenant, k)).or_default();
                list.push(id);
                if list.len() > self.config.max_pending {
                    list.remove(0);
                }
            }
            return;
        }
        let entity = primary.as_ref().map_or("no entity".into(), key_text);
        let incident = self.incidents.open(
            tenant,
            time,
            &primary.as_ref().map_or_else(String::new, key_value),
        );
        let reason = if reaches(score, threshold) {
            format!(
                "opened: alert score {score:.1} reaches the threshold {}",
                self.config.open_threshold
            )
        } else {
            format!(
                "opened: risk of {entity} reached {risk:.1} (threshold {})",
                self.config.open_threshold
            )
        };
        if let Some(i) = self.incidents.get_mut(incident) {
            i.log.push(time, DecisionKind::Opened, reason);
        }
        // Earlier alerts of the entity that waited below the threshold join first.
        if let Some(k) = &primary
            && let Some(waiting) = self.pending.remove(&(tenant, k.clone()))
        {
            for w in waiting.into_iter().filter(|&w| w != id) {
                if self.waits_recently(w, time) {
                    self.join(incident, w, "waited on the same entity below the threshold");
                    let wk = self.keys_of(w);
                    let wt = self.alert(w).map_or(time, Alert::time);
                    self.incidents.remember(tenant, &wk, incident, wt);
                }
            }
        }
        self.join(incident, id, &format!("{entity} crossed the threshold"));
        self.incidents.remember(tenant, keys, incident, time);
        self.refresh(incident, time);
    }

    fn retarget_alerts(&mut self, from: u64, to: u64) {
        let mut moved = Vec::new();
        for a in self.alerts.values_mut() {
            if a.incident == Some(from) {
                a.incident = Some(to);
                moved.push(a.id);
            }
        }
        for id in moved {
            self.touch_alert(id);
        }
        self.touch_incident(to);
    }

    /// Adds an alert to an incident with the reason.
    fn join(&mut self, incident: u64, alert_id: u64, why: &str) {
        let Some(alert) = self.alerts.get_mut(&alert_id) else {
            return;
        };
        let already = alert.incident == Some(incident);
        alert.incident = Some(incident);
        if let Some(c) = self.changes.as_mut() {
            c.alerts.push(alert_id);
            c.incidents.push(incident);
        }
        let time = alert.time();
        alert.log.push(
            time,
            DecisionKind::Grouped,
            format!("joined incident {incident}: {why}"),
        );
        let alert = alert.clone();
        let Some(inc) = self.incidents.get_mut(incident) else {
            return;
        };
        if !already {
            inc.alerts.push(alert_id);
            inc.detections += alert.count;
            inc.score += alert.score;
            inc.note_alert(alert.level, alert.score, alert_id, &alert.title);
        }
        inc.first_seen = inc.first_seen.min(alert.first_seen);
        inc.last_seen = inc.last_seen.max(alert.last_seen);
        let e = &alert.entities;
        if let Some(h) = &e.host {
            inc.hosts.push(h.clone());
        }
        // One spelling per account (`CORP\\bob` and `bob` are one user).
        if let Some(u) = &e.user
            && !inc.users.iter().any(|x| account_name(x) == account_name(u))
        {
            inc.users.push(u.clone());
        }
        inc.indicators.extend(e.indicators.iter().cloned());
        for v in [&mut inc.hosts, &mut inc.users, &mut inc.indicators] {
            v.sort();
            v.dedup();
        }
        inc.log.push(
            time,
            DecisionKind::Grouped,
            format!(
                "alert {alert_id} ({}, {}) joined: {why}",
                alert.title,
                alert.level.as_str()
            ),
        );
        for &stage in &alert.stages {
            match inc.stages.iter_mut().find(|s| s.stage == stage) {
                Some(s) if s.first_seen > alert.first_seen => {
                    s.first_seen = alert.first_seen;
                    s.alert = alert_id;
                }
                Some(_) => {}
                None => inc.stages.push(StageStep {
                    stage,
                    label: stage.label(),
                    first_seen: alert.first_seen,
                    alert: alert_id,
                }),
            }
        }
        inc.stages.sort_by_key(|s| s.stage);
    }

    /// Recomputes severity and title after a change, logging an escalation.
    fn refresh(&mut self, incident: u64, at: Timestamp) {
        self.touch_incident(incident);
        let Some(inc) = self.incidents.get(incident) else {
            return;
        };
        let max_level = inc.max_level;
        // The title is kept with the incident: the alert may be evicted by now.
        let top = inc.top_title.clone();
        let entity = Some(&inc.entity)
            .filter(|e| !e.is_empty())
            .or(inc.hosts.first())
            .or(inc.users.first())
            .or(inc.indicators.first())
            .cloned()
            .unwrap_or_else(|| "unknown entity".into());
        let stages = inc.stages.len();
        let latest: Option<Stage> = inc.stages.last().map(|s| s.stage);
        let severity = Incident::severity_for(max_level, stages);
        let Some(inc) = self.incidents.get_mut(incident) else {
            return;
        };
        inc.title = match latest {
            Some(s) => format!("{entity}: {} — {top}", s.label()),
            None => format!("{entity}: {top}"),
        };
        if severity != inc.severity {
            let before = inc.severity;
            inc.severity = severity;
            if inc.alerts.len() > 1 || before > Level::Informational {
                inc.log.push(
                    at,
                    DecisionKind::Escalated,
                    format!(
                        "severity {} → {}: highest alert level {}, {stages} stages ({})",
                        before.as_str(),
                        severity.as_str(),
                        max_level.as_str(),
                        inc.stage_chain()
                    ),
                );
            }
        }
    }
}

/// The entity a key names, without its kind.
fn key_value(k: &Key) -> String {
    match k {
        Key::Host(v)
        | Key::User(v)
        | Key::Address(v)
        | Key::Indicator(v)
        | Key::Process(v)
        | Key::Source(v) => v.clone(),
    }
}

fn key_text(k: &Key) -> String {
    match k {
        Key::Host(h) => format!("host {h}"),
        Key::User(u) => format!("user {u}"),
        Key::Address(a) => format!("address {a}"),
        Key::Indicator(i) => format!("indicator {i}"),
        Key::Process(p) => format!("process {p}"),
        Key::Source(h) => format!("source host {h}"),
    }
}

impl Alert {
    /// The time an alert stands for when grouping: its first occurrence.
    pub fn time(&self) -> Timestamp {
        self.first_seen
    }
}
