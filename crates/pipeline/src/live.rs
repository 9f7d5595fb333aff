//! The live processor: one per tenant, fed batches of stored raw records.
//!
//! A batch goes through every stage `hunt` runs, but incrementally: records are decoded
//! (grouped by their format hint; a record without one is recognised from its bytes),
//! each event is evaluated by the rules, base-rule matches that correlations use are fed
//! to the correlation engine at once, and every detection of the batch, in event-time
//! order, goes through the analysis engine. What comes out is what the store must write:
//! each record's metadata (event time, host, user, or why it produced no event) and the
//! ids of the alerts and incidents that changed.
//!
//! Invariants:
//! - every record given produces exactly one [`RecordMeta`], in the order given;
//! - nothing here reads a clock or a file: an event without a time takes its record's
//!   receipt time (for its metadata, its detections and the correlation windows alike),
//!   and a time without a year (RFC 3164 syslog) the year of its batch's receipt, so the
//!   analysis engine's windows run on data time and a replay gives the same results;
//! - a rule disabled for the tenant produces no detection (its matches are counted as
//!   `disabled`), but still feeds correlations, which reference rules by id whatever
//!   their reporting;
//! - with indicators set ([`Processor::set_intel`]), every decoded event is also matched
//!   against them ([`crate::intel_match`]), at its event time (or its record's receipt
//!   time), and the hits go through the analysis engine with the rule detections; each
//!   (record, indicator) pair is reported ([`BatchOutcome::indicator_hits`]) so a later
//!   retro-hunt does not count it twice;
//! - a retro-hunt's hits ([`Processor::retro`]) go through the same analysis engine as
//!   indicator detections at their records' times, between batches;
//! - every outgoing connection to an outside destination goes through the tenant's
//!   beacon analysis ([`crate::beacon::BeaconTracker`], bounded), which reports a
//!   regular caller once as a `beacon-analysis` detection with the batch's others;
//!   and web scan analysis ([`crate::web_scan::WebScanTracker`], bounded), which reports
//!   a client's burst of requests for missing pages once as a `web-scan` detection;
//!   every network logon and process start goes through remote execution analysis
//!   ([`crate::remote_exec::RemoteExecTracker`], bounded), which reports a process
//!   started inside a remote caller's network logon once per session as a
//!   `remote-execution` detection; and every DNS query through DNS tunnelling analysis
//!   ([`crate::dns_tunnel::DnsTunnelTracker`], bounded), which reports a machine's burst
//!   of encoded names under one rarely asked domain once as a `dns-tunnel` detection;
//!   and every CloudTrail call through [`crate::cloud_creds::CloudCredTracker`]
//!   (bounded), which reports an instance's role credentials used from an address
//!   people work from.

use std::collections::{HashMap, HashSet};
use std::io::Cursor;
use std::sync::Arc;

use watchfloor_decode::time::year_of;
use watchfloor_decode::{DecodeContext, DecodeError, FileDecoder, Format, Sink};
use watchfloor_event::{Event, FieldCache, FieldTable, TenantId, Timestamp};
use watchfloor_intel::{Intel, Kind};
use watchfloor_sigma::correlation::CorrelationEngine;
use watchfloor_sigma::diagnostic::Diagnostic;
use watchfloor_sigma::engine::Engine;
use watchfloor_sigma::rule::Correlation;
use watchfloor_triage::suppress::SuppressedBy;
use watchfloor_triage::{Changes, Outcome, Triage};

use crate::beacon::{BeaconConfig, BeaconFields, BeaconTracker};
use crate::cloud_creds::{CloudCredFields, CloudCredTracker};
use crate::correlate;
use crate::detect::{CorrelationInput, DetectionRow, Detector};
use crate::dns_tunnel::{DnsFields, DnsTunnelConfig, DnsTunnelTracker};
use crate::entities::EntityFields;
use crate::intel_match::{INDICATOR_ROW, IntelMatcher, IntelScratch};
use crate::remote_exec::{Observation, RemoteExecConfig, RemoteExecFields, RemoteExecTracker};
use crate::retro::{RetroCounts, RetroHit};
use crate::rules::LoadedRules;
use crate::web_scan::{WebScanConfig, WebScanFields, WebScanTracker};

/// Compiled rules and correlations, shared by every tenant's processor.
pub struct RuleBook {
    engine: Engine,
    table: Arc<FieldTable>,
    correlations: Vec<Correlation>,
    /// Rule id or name → compiled rule indices, to resolve correlation references.
    by_key: HashMap<String, Vec<u32>>,
    /// What loading said about the rules (errors and warnings).
    pub diagnostics: Vec<Diagnostic>,
    /// Rule files read.
    pub files: usize,
}

impl std::fmt::Debug for RuleBook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleBook")
            .field("rules", &self.engine.rules().len())
            .field("correlations", &self.correlations.len())
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl RuleBook {
    /// The book over rules loaded against `table`.
    pub fn new(loaded: LoadedRules, table: Arc<FieldTable>) -> RuleBook {
        let mut by_key: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, rule) in loaded.rules.iter().enumerate() {
            for key in [rule.meta.id.as_deref(), rule.meta.name.as_deref()]
                .into_iter()
                .flatten()
            {
                by_key.entry(key.to_string()).or_default().push(i as u32);
            }
        }
        RuleBook {
            engine: Engine::new(loaded.rules),
            table,
            correlations: loaded.set.correlations,
            by_key,
            diagnostics: loaded.diagnostics,
            files: loaded.files,
        }
    }

    /// A book from rule texts (name, YAML): the rules shipped in the binary, tests.
    pub fn from_sources(sources: &[(&str, &str)]) -> RuleBook {
        let table = FieldTable::new();
        let loaded = crate::rules::load_sources(sources, &table, &Default::default());
        RuleBook::new(loaded, table)
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn table(&self) -> &Arc<FieldTable> {
        &self.table
    }

    pub fn correlations(&self) -> &[Correlation] {
        &self.correlations
    }

    /// A fresh correlation engine (none when there are no correlations) and, per
    /// compiled rule, whether a correlation uses it.
    fn correlation_engine(&self) -> (Option<CorrelationEngine>, Vec<bool>) {
        if self.correlations.is_empty() {
            return (None, Vec::new());
        }
        let resolve = |r: &str| self.by_key.get(r).cloned().unwrap_or_default();
        let (engine, _diagnostics) = CorrelationEngine::new(
            &self.correlations,
            &resolve,
            &self.table,
            Default::default(),
        );
        let correlated = (0..self.engine.rules().len() as u32)
            .map(|r| engine.uses_rule(r))
            .collect();
        (Some(engine), correlated)
    }
}

/// One stored raw record, as the processor reads it.
#[derive(Clone, Copy, Debug)]
pub struct RawRecord<'a> {
    pub id: i64,
    pub received_at: Timestamp,
    /// The format the sender named (`json`, `syslog`, `cef`, …), if any.
    pub format_hint: Option<&'a str>,
    pub line: &'a [u8],
}

/// What processing learned about one record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordMeta {
    pub id: i64,
    pub event_time: Option<Timestamp>,
    pub host: Option<String>,
    pub user: Option<String>,
    /// Why the record produced no event, or what was wrong with it.
    pub error: Option<String>,
}

/// The result of one batch.
#[derive(Clone, Debug, Default)]
pub struct BatchOutcome {
    /// One per record, in the order given.
    pub records: Vec<RecordMeta>,
    pub events: u64,
    pub decode_errors: u64,
    /// Detections taken through the analysis engine (rule, correlation and indicator
    /// matches).
    pub detections: u64,
    /// Of `detections`, indicator matches.
    pub indicator_matches: u64,
    /// Matches of rules disabled for the tenant.
    pub disabled: u64,
    pub suppressed: u64,
    /// Hits per suppression id (the analysis engine's ids).
    pub suppression_hits: Vec<(u64, u64)>,
    /// Alerts and incidents that changed (the analysis engine's ids).
    pub changes: Changes,
    /// Correlation groups and entries dropped by the correlation bounds.
    pub evicted: u64,
    /// Which record matched which indicator (each indicator once per record), so that
    /// a retro-hunt can leave what live matching already took.
    pub indicator_hits: Vec<RecordHit>,
}

/// One record's event matched one indicator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordHit {
    /// The stored record's id.
    pub record: i64,
    pub kind: Kind,
    /// The indicator's normalised value.
    pub value: String,
}

/// A tenant's live state: decoders, correlation windows and the analysis engine.
pub struct Processor {
    tenant: TenantId,
    book: Arc<RuleBook>,
    decoders: HashMap<Option<Format>, FileDecoder>,
    correlation: Option<CorrelationEngine>,
    correlated: Vec<bool>,
    triage: Triage,
    disabled: HashSet<String>,
    entity_fields: EntityFields,
    /// The tenant's indicators, and the matcher over them for the book's field table.
    intel: Option<Arc<Intel>>,
    intel_matcher: Option<IntelMatcher>,
    intel_scratch: IntelScratch,
    /// Beacon analysis over the tenant's connections, batch after batch.
    beacon_fields: BeaconFields,
    beacons: BeaconTracker,
    /// Web scan analysis over the tenant's web server logs, batch after batch.
    scan_fields: WebScanFields,
    scans: WebScanTracker,
    remote_fields: RemoteExecFields,
    remote: RemoteExecTracker,
    dns_fields: DnsFields,
    dns: DnsTunnelTracker,
    cloud_fields: CloudCredFields,
    cloud: CloudCredTracker,
    buffer: Vec<u8>,
}

impl std::fmt::Debug for Processor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Processor")
            .field("tenant", &self.tenant)
            .field("book", &self.book)
            .field("disabled", &self.disabled.len())
            .finish_non_exhaustive()
    }
}

/// The decoder format a hint names: `None` means recognise the format from the bytes.
pub fn hint_format(hint: Option<&str>) -> Result<Option<Format>, String> {
    match hint {
        None => Ok(None),
        Some(h) => h.parse::<Format>().map(Some),
    }
}

impl Processor {
    /// A processor for `tenant` over `book`, taking detections through `triage` (which
    /// is switched to tracking its changes).
    pub fn new(tenant: TenantId, book: Arc<RuleBook>, mut triage: Triage) -> Processor {
        triage.track_changes();
        let (correlation, correlated) = book.correlation_engine();
        let entity_fields = EntityFields::new(book.table());
        let beacon_fields = BeaconFields::new(book.table());
        let scan_fields = WebScanFields::new(book.table());
        let remote_fields = RemoteExecFields::new(book.table());
        let dns_fields = DnsFields::new(book.table());
        let cloud_fields = CloudCredFields::new(book.table());
        Processor {
            tenant,
            book,
            decoders: HashMap::new(),
            correlation,
            correlated,
            triage,
            disabled: HashSet::new(),
            entity_fields,
            intel: None,
            intel_matcher: None,
            intel_scratch: IntelScratch::default(),
            beacon_fields,
            beacons: BeaconTracker::new(BeaconConfig::default()),
            scan_fields,
            scans: WebScanTracker::new(WebScanConfig::default()),
            remote_fields,
            remote: RemoteExecTracker::new(RemoteExecConfig::default()),
            dns_fields,
            dns: DnsTunnelTracker::new(DnsTunnelConfig::default()),
            cloud_fields,
            cloud: CloudCredTracker::new(),
            buffer: Vec::new(),
        }
    }

    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    pub fn triage(&self) -> &Triage {
        &self.triage
    }

    pub fn triage_mut(&mut self) -> &mut Triage {
        &mut self.triage
    }

    pub fn book(&self) -> &Arc<RuleBook> {
        &self.book
    }

    /// Rules (by id, or title for rules without one) whose matches are dropped.
    pub fn set_disabled(&mut self, rules: impl IntoIterator<Item = String>) {
        self.disabled = rules.into_iter().collect();
    }

    /// Swaps in reloaded rules. Correlation windows start empty: their state refers to
    /// the old rules.
    pub fn replace_rules(&mut self, book: Arc<RuleBook>) {
        let (correlation, correlated) = book.correlation_engine();
        self.entity_fields = EntityFields::new(book.table());
        self.decoders.clear();
        self.correlation = correlation;
        self.correlated = correlated;
        self.book = book;
        // The matcher resolved its field names in the old book's table.
        self.set_intel(self.intel.clone());
    }

    /// The indicators every event of the following batches is matched against (`None`:
    /// no indicator matching). Matching reads the store through the `Arc`, so a new
    /// version of the tenant's indicators is swapped in by calling this again.
    pub fn set_intel(&mut self, intel: Option<Arc<Intel>>) {
        self.intel_matcher = intel
            .as_ref()
            .map(|i| IntelMatcher::new(Arc::clone(i), Arc::clone(self.book.table())));
        self.intel = intel;
    }

    /// The indicators set by [`Processor::set_intel`].
    pub fn intel(&self) -> Option<&Arc<Intel>> {
        self.intel.as_ref()
    }

    /// The correlation windows, serialised (empty without correlations).
    pub fn correlation_checkpoint(&self) -> Vec<u8> {
        self.correlation
            .as_ref()
            .map(CorrelationEngine::checkpoint)
            .unwrap_or_default()
    }

    /// Restores windows saved by [`Processor::correlation_checkpoint`] over the same
    /// rules; on error the windows stay empty.
    pub fn restore_correlation(&mut self, data: &[u8]) -> Result<(), String> {
        match self.correlation.as_mut() {
            Some(c) if !data.is_empty() => c.restore(data),
            _ => Ok(()),
        }
    }

    /// Correlation groups and entries dropped by the bounds since the correlation
    /// windows started (at creation, or at the last rule reload).
    pub fn correlation_evicted(&self) -> u64 {
        self.correlation
            .as_ref()
            .map_or(0, CorrelationEngine::evicted)
    }

    /// Processes one batch.
    ///
    /// First the analysis engine forgets what can no longer change
    /// ([`Triage::evict`], at its own time): done here, before the batch rather than
    /// after it, so that every alert and incident the previous batch changed was still
    /// in memory when its caller stored them.
    pub fn process(&mut self, records: &[RawRecord<'_>]) -> BatchOutcome {
        if let Some(now) = self.triage.latest() {
            self.triage.evict(now);
        }
        let evicted_before = self.correlation_evicted();
        let mut out = BatchOutcome {
            records: records
                .iter()
                .map(|r| RecordMeta {
                    id: r.id,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let mut rows: Vec<(u32, DetectionRow)> = Vec::new();
        let mut start = 0;
        while start < records.len() {
            let hint = records[start].format_hint;
            let end = records[start..]
                .iter()
                .position(|r| r.format_hint != hint)
                .map_or(records.len(), |n| start + n);
            self.decode_group(&records[start..end], start, &mut out, &mut rows);
            start = end;
        }
        self.analyse(rows, &mut out);
        out.evicted = self.correlation_evicted().saturating_sub(evicted_before);
        out
    }

    fn decode_group(
        &mut self,
        group: &[RawRecord<'_>],
        offset: usize,
        out: &mut BatchOutcome,
        rows: &mut Vec<(u32, DetectionRow)>,
    ) {
        let format = match hint_format(group[0].format_hint) {
            Ok(f) => f,
            Err(why) => {
                for meta in &mut out.records[offset..offset + group.len()] {
                    meta.error = Some(why.clone());
                }
                out.decode_errors += group.len() as u64;
                return;
            }
        };
        // One record per line: a line break inside a record (an octet-counted syslog
        // message may hold one) becomes a space so the numbering stays one-to-one.
        self.buffer.clear();
        for r in group {
            self.buffer
                .extend(r.line.iter().map(|&b| if b == b'\n' { b' ' } else { b }));
            self.buffer.push(b'\n');
        }
        let table = self.book.table().clone();
        let tenant = self.tenant;
        let decoder = self.decoders.entry(format).or_insert_with(|| {
            let mut ctx = DecodeContext::new(FieldCache::new(table));
            ctx.tenant = tenant;
            FileDecoder::new(ctx, format)
        });
        // No clock (the context's is when the decoder was made, maybe days ago): an
        // event without a time gets none here and its record's receipt time in the
        // sink, and a time without a year takes the year the batch was received.
        decoder.ctx.ingest_time = Timestamp(0);
        decoder.ctx.default_year = year_of(group[0].received_at);
        let mut detector = Detector::new(
            self.book.engine(),
            &self.correlated,
            self.book.table().clone(),
        );
        let mut sink = GroupSink {
            group,
            metas: &mut out.records[offset..offset + group.len()],
            detector: &mut detector,
            entity_fields: &self.entity_fields,
            correlation: self.correlation.as_mut(),
            correlations: self.book.correlations(),
            intel: self
                .intel_matcher
                .as_ref()
                .map(|m| (m, &mut self.intel_scratch)),
            beacon: (&self.beacon_fields, &mut self.beacons),
            web_scan: (&self.scan_fields, &mut self.scans),
            remote: (&self.remote_fields, &mut self.remote),
            dns: (&self.dns_fields, &mut self.dns),
            cloud: (&self.cloud_fields, &mut self.cloud),
            rows,
            indicator_hits: &mut out.indicator_hits,
            keep: Vec::new(),
            matches: Vec::new(),
            events: 0,
            errors: 0,
        };
        let name: Arc<str> = Arc::from("ingest");
        decoder.decode_stream(name, Cursor::new(&self.buffer[..]), &mut sink);
        out.events += sink.events;
        out.decode_errors += sink.errors;
    }

    /// Takes a retro-hunt's hits through the analysis engine as detections
    /// ([`RetroHit::to_row`]), at their records' times, as a batch's detections go: what
    /// comes back holds the counts and the alerts and incidents that changed (no
    /// records). Nothing is evicted first, so every alert they made or joined is still
    /// in memory when the caller stores it, however old.
    pub fn retro(&mut self, hits: &[RetroHit]) -> (BatchOutcome, RetroCounts) {
        let horizon_start = self
            .triage
            .latest()
            .map(|t| t.0.saturating_sub(self.triage.horizon()));
        let past_horizon = hits
            .iter()
            .filter(|h| horizon_start.is_some_and(|start| h.time.0 < start))
            .count() as u64;
        let rows = hits.iter().map(|h| (INDICATOR_ROW, h.to_row())).collect();
        let mut out = BatchOutcome::default();
        self.analyse(rows, &mut out);
        let counts = RetroCounts {
            detections: out.detections,
            suppressed: out.suppressed,
            past_horizon,
        };
        (out, counts)
    }

    fn analyse(&mut self, mut rows: Vec<(u32, DetectionRow)>, out: &mut BatchOutcome) {
        rows.sort_by_key(|(_, r)| r.time_ns);
        let mut hits: HashMap<u64, u64> = HashMap::new();
        for (_, row) in rows {
            let id = row.rule_id.as_deref().unwrap_or(&row.rule_title);
            if row.indicator.is_none() && self.disabled.contains(id) {
                out.disabled += 1;
                continue;
            }
            out.detections += 1;
            out.indicator_matches += u64::from(row.indicator.is_some());
            if self.triage.observe(row.to_detection(self.tenant)) == Outcome::Suppressed {
                out.suppressed += 1;
            }
        }
        for rec in self.triage.take_suppressed() {
            if let SuppressedBy::Suppression { id, .. } = rec.by {
                *hits.entry(id).or_default() += 1;
            }
        }
        out.suppression_hits = hits.into_iter().collect();
        out.suppression_hits.sort_unstable();
        out.changes = self.triage.take_changes();
    }
}

/// Receives one group's events: fills the records' metadata, runs the rules and
/// the correlations.
struct GroupSink<'a, 'e> {
    group: &'a [RawRecord<'a>],
    metas: &'a mut [RecordMeta],
    detector: &'a mut Detector<'e>,
    entity_fields: &'a EntityFields,
    correlation: Option<&'a mut CorrelationEngine>,
    correlations: &'a [Correlation],
    intel: Option<(&'a IntelMatcher, &'a mut IntelScratch)>,
    beacon: (&'a BeaconFields, &'a mut BeaconTracker),
    web_scan: (&'a WebScanFields, &'a mut WebScanTracker),
    remote: (&'a RemoteExecFields, &'a mut RemoteExecTracker),
    dns: (&'a DnsFields, &'a mut DnsTunnelTracker),
    cloud: (&'a CloudCredFields, &'a mut CloudCredTracker),
    rows: &'a mut Vec<(u32, DetectionRow)>,
    indicator_hits: &'a mut Vec<RecordHit>,
    keep: Vec<CorrelationInput>,
    matches: Vec<watchfloor_sigma::correlation::CorrelationMatch>,
    events: u64,
    errors: u64,
}

impl GroupSink<'_, '_> {
    /// The record an event or error of line `number` (1-based) belongs to.
    fn index(&self, number: u64) -> Option<usize> {
        let i = usize::try_from(number).ok()?.checked_sub(1)?;
        (i < self.group.len()).then_some(i)
    }
}

impl Sink for GroupSink<'_, '_> {
    fn event(&mut self, ev: &Event) {
        let Some(i) = self.index(ev.source.record) else {
            return;
        };
        self.events += 1;
        let received = self.group[i].received_at;
        let entities = self.entity_fields.extract(ev);
        let meta = &mut self.metas[i];
        meta.event_time = Some(if ev.time.0 != 0 { ev.time } else { received });
        meta.host = entities.host;
        meta.user = entities.user;
        let first = self.rows.len();
        self.detector.detect(ev, self.rows, &mut self.keep);
        for (_, row) in &mut self.rows[first..] {
            if row.time_ns == 0 {
                row.time_ns = received.0;
            }
        }
        // Correlation windows run on the same time as the detections.
        for (_, kept) in &mut self.keep {
            if kept.time.0 == 0 {
                kept.time = received;
            }
        }
        if let Some(corr) = self.correlation.as_deref_mut() {
            let mut i = first;
            while i < self.rows.len() {
                if corr.reports_base_rule(self.rows[i].0) {
                    i += 1;
                } else {
                    self.rows.remove(i);
                }
            }
            for (rule, kept) in self.keep.drain(..) {
                corr.observe(rule, &kept, &mut self.matches);
            }
            for m in self.matches.drain(..) {
                if !corr.reports_correlation(m.correlation) {
                    continue;
                }
                if let Some(row) = self
                    .correlations
                    .get(m.correlation)
                    .and_then(|c| correlate::row(&m, c))
                {
                    self.rows.push((u32::MAX, row));
                }
            }
        } else {
            self.keep.clear();
        }
        if let Some((matcher, scratch)) = self.intel.as_mut() {
            let first = self.rows.len();
            matcher.detect(ev, received, scratch, self.rows);
            let record = self.group[i].id;
            for (_, row) in &mut self.rows[first..] {
                if row.time_ns == 0 {
                    row.time_ns = received.0;
                }
                if let Some(hit) = &row.indicator {
                    self.indicator_hits.push(RecordHit {
                        record,
                        kind: hit.kind,
                        value: hit.value.clone(),
                    });
                }
            }
        }
        let (fields, tracker) = &mut self.beacon;
        if let Some(mut call) = fields.connection(ev) {
            if call.time_ns == 0 {
                call.time_ns = received.0;
            }
            if let Some(beacon) = tracker.observe(&call) {
                self.rows.push((u32::MAX, beacon.row()));
            }
        }
        let (fields, tracker) = &mut self.web_scan;
        if let Some(mut miss) = fields.request(ev) {
            if miss.time_ns == 0 {
                miss.time_ns = received.0;
            }
            if let Some(scan) = tracker.observe(&miss) {
                self.rows.push((u32::MAX, scan.row()));
            }
        }
        let (fields, tracker) = &mut self.dns;
        if let Some(mut query) = fields.query(ev) {
            if query.time_ns == 0 {
                query.time_ns = received.0;
            }
            if let Some(tunnel) = tracker.observe(&query) {
                self.rows.push((u32::MAX, tunnel.row()));
            }
        }
        let (fields, tracker) = &mut self.cloud;
        if let Some(mut call) = fields.call(ev) {
            if call.time_ns == 0 {
                call.time_ns = received.0;
            }
            for found in tracker.observe(&call) {
                self.rows.push((u32::MAX, found.row()));
            }
        }
        let (fields, tracker) = &mut self.remote;
        if let Some(mut obs) = fields.observe(ev) {
            match &mut obs {
                Observation::Logon(l) if l.time_ns == 0 => l.time_ns = received.0,
                Observation::Process(p) if p.time_ns == 0 => p.time_ns = received.0,
                _ => {}
            }
            for exec in tracker.observe(obs) {
                self.rows.push((u32::MAX, exec.row()));
            }
        }
    }

    fn error(&mut self, err: DecodeError) {
        self.errors += 1;
        if let Some(i) = self.index(err.record) {
            let text = err.kind.to_string();
            let meta = &mut self.metas[i];
            match &mut meta.error {
                Some(e) => {
                    e.push_str("; ");
                    e.push_str(&text);
                }
                None => meta.error = Some(text),
            }
        }
    }
}

/// Decodes single stored records again, to test a field of their event: event search
/// by `field = value` reads the raw records the store kept.
pub struct RecordDecoder {
    table: Arc<FieldTable>,
    decoders: HashMap<Option<Format>, FileDecoder>,
}

impl std::fmt::Debug for RecordDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordDecoder").finish_non_exhaustive()
    }
}

impl Default for RecordDecoder {
    fn default() -> Self {
        RecordDecoder {
            table: FieldTable::new(),
            decoders: HashMap::new(),
        }
    }
}

impl RecordDecoder {
    /// The text of field `name` (its Sigma name or its name in the source) in the event
    /// the record holds; `None` when the record holds no event or no such field.
    pub fn field(&mut self, hint: Option<&str>, line: &[u8], name: &str) -> Option<String> {
        let format = hint_format(hint).ok()?;
        let table = Arc::clone(&self.table);
        let decoder = self.decoders.entry(format).or_insert_with(|| {
            FileDecoder::new(DecodeContext::new(FieldCache::new(table)), format)
        });
        let mut sink = watchfloor_decode::Collect::default();
        let text: Vec<u8> = line
            .iter()
            .map(|&b| if b == b'\n' { b' ' } else { b })
            .collect();
        decoder.decode_stream(Arc::from("search"), Cursor::new(text), &mut sink);
        let ev = sink.events.first()?;
        let id = self.table.lookup(name)?;
        if let Some(v) = ev.get(id) {
            return Some(v.to_string());
        }
        ev.fields()
            .find(|(entry, _)| entry.path == id)
            .map(|(_, v)| v.to_string())
    }
}
