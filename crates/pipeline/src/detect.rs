//! Rule evaluation: a [`Detector`] runs the shared engine over events and turns each
//! match into a [`DetectionRow`] with the entities it is about. `hunt` runs one per
//! worker thread; the live pipeline one per batch.

use std::sync::Arc;

use serde::Serialize;
use watchfloor_decode::time::format_rfc3339;
use watchfloor_event::{Event, FieldTable};
use watchfloor_event::{TenantId, Timestamp};
use watchfloor_triage::detection::{Detection, Entities, Level, Origin};

use crate::entities::EntityFields;
use crate::intel_match::IndicatorHit;
use crate::web_attack::WebAttackFields;
use watchfloor_sigma::engine::{Engine, Scratch};

/// One rule, correlation or indicator match, as `hunt` reports it and the analysis
/// engine takes it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DetectionRow {
    pub time: Option<String>,
    pub rule_id: Option<String>,
    pub rule_title: String,
    pub level: &'static str,
    pub tags: Vec<String>,
    pub host: Option<String>,
    pub source: String,
    pub record: u64,
    /// The fields the matching searches tested, with the event's values.
    pub matched: Vec<(String, String)>,
    /// The event as decoded from (for EVTX, the record rendered as JSON).
    pub event: String,
    /// Who and what the detection is about, for the analysis engine.
    pub entities: Entities,
    /// For an indicator match ([`crate::intel_match`]): the indicator and its sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicator: Option<IndicatorHit>,
    /// Event time in nanoseconds (0 when unknown), for ordering.
    #[serde(skip)]
    pub time_ns: i64,
}

impl DetectionRow {
    /// The analysis engine's view of this row, for `tenant`.
    pub fn to_detection(&self, tenant: TenantId) -> Detection {
        Detection {
            tenant,
            time: Timestamp(self.time_ns),
            rule_id: self
                .rule_id
                .clone()
                .unwrap_or_else(|| self.rule_title.clone()),
            title: self.rule_title.clone(),
            level: Level::parse(self.level).unwrap_or_default(),
            origin: if self.indicator.is_some() {
                Origin::Indicator
            } else if self.source == "correlation" {
                Origin::Correlation
            } else {
                Origin::Rule
            },
            tags: self.tags.clone(),
            // An indicator is as trustworthy as its sources say; a rule fully.
            confidence: self
                .indicator
                .as_ref()
                .map_or(1.0, |i| f64::from(i.confidence.max(1)) / 100.0),
            entities: self.entities.clone(),
            fields: self.matched.clone(),
            reference: format!("{}:{}", self.source, self.record),
        }
    }
}

/// Largest raw event text copied into a detection.
pub(crate) const MAX_EVENT_TEXT: usize = 16 << 10;

/// A base-rule match kept for the correlation pass: the rule and a copy of its event.
pub type CorrelationInput = (u32, Event);

/// One worker's detection state over the shared engine.
pub struct Detector<'e> {
    engine: &'e Engine,
    /// `correlated[rule]`: whether a correlation uses the rule, so its matches are kept.
    correlated: &'e [bool],
    table: Arc<FieldTable>,
    scratch: Scratch,
    matches: Vec<u32>,
    entity_fields: EntityFields,
    /// Web attack analysis of web server logs; on unless turned off.
    web: Option<WebAttackFields>,
}

impl<'e> Detector<'e> {
    pub fn new(engine: &'e Engine, correlated: &'e [bool], table: Arc<FieldTable>) -> Self {
        let entity_fields = EntityFields::new(&table);
        let web = Some(WebAttackFields::new(&table));
        Detector {
            engine,
            correlated,
            table,
            scratch: Scratch::default(),
            matches: Vec::new(),
            entity_fields,
            web,
        }
    }

    /// Turns web attack analysis ([`crate::web_attack`]) on or off.
    pub fn with_web_analysis(mut self, on: bool) -> Self {
        self.web = on.then(|| WebAttackFields::new(&self.table));
        self
    }

    /// Evaluates `ev`, appending a row per matching rule.
    pub fn detect(
        &mut self,
        ev: &Event,
        out: &mut Vec<(u32, DetectionRow)>,
        keep: &mut Vec<CorrelationInput>,
    ) {
        self.matches.clear();
        self.engine
            .evaluate(ev, &mut self.scratch, &mut self.matches);
        if let Some(web) = &mut self.web {
            web.detect(ev, &self.entity_fields, out);
        }
        for &index in &self.matches {
            let Some(rule) = self.engine.rule(index) else {
                continue;
            };
            if self
                .correlated
                .get(index as usize)
                .copied()
                .unwrap_or(false)
            {
                keep.push((index, ev.clone()));
            }
            let matched: Vec<(String, String)> = rule
                .matched_fields(ev)
                .into_iter()
                .filter_map(|id| {
                    let name = self.table.name(id)?;
                    let value = ev.get(id)?;
                    Some((name.to_string(), value.to_string()))
                })
                .collect();
            let mut entities = self.entity_fields.extract(ev);
            // Public addresses inside the matched values (a command line's upload URL,
            // a request's callback) are observables that link incidents too.
            let mut found = Vec::new();
            for (_, value) in &matched {
                crate::entities::public_ipv4s_in(value, &mut found);
            }
            if !found.is_empty() {
                entities.indicators.extend(found);
                entities.normalize();
            }
            let host = self.entity_fields.host(ev);
            let raw = ev.raw();
            let raw = &raw[..raw.len().min(MAX_EVENT_TEXT)];
            out.push((
                index,
                DetectionRow {
                    time: (ev.time.0 != 0).then(|| format_rfc3339(ev.time)),
                    rule_id: rule.meta.id.clone(),
                    rule_title: rule.meta.title.clone(),
                    level: rule.meta.level.as_str(),
                    tags: rule.meta.tags.clone(),
                    host,
                    source: ev.source.name.to_string(),
                    record: ev.source.record,
                    matched,
                    event: String::from_utf8_lossy(raw).into_owned(),
                    entities,
                    indicator: None,
                    time_ns: ev.time.0,
                },
            ));
        }
    }
}
