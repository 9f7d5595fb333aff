//! The live pipeline: one thread that keeps every tenant's stored records moving
//! through decode → rules and correlations → analysis engine → store.
//!
//! The store is the queue. Ingest (HTTP, syslog) appends raw records and acknowledges
//! them once they are on disk; this thread takes each tenant's unprocessed records in
//! batches, runs them through the tenant's [`Processor`], and commits in one transaction
//! the records' metadata (marking them processed) with every alert and incident that
//! changed. A crash between the two loses nothing: the records are still unprocessed and
//! are taken again on restart.
//!
//! Invariants:
//! - only this thread writes pipeline results, so per-tenant state needs no locks;
//! - alert and incident ids are the analysis engine's ids plus the tenant's highest
//!   stored id when its processor started, so ids never repeat across restarts (a
//!   restart starts new alerts: dedupe and risk state live in memory);
//! - correlation windows are checkpointed to `correlation-<tenant>.bin` in the data
//!   folder every [`CHECKPOINT_EVERY`] and at stop, and restored at start;
//! - every new or escalated incident is announced on the broadcast channel that the
//!   server-sent events route and `watchfloor demo` listen to;
//! - an incident linked into another is closed once, by the system, with the reason
//!   naming the other (the store keeps its row; its alerts now name the other);
//! - each tenant's processor runs with the tenant's indicators from the store, loaded
//!   when it starts and again on [`Command::ReloadIntel`] (after an import); the
//!   sightings the pipeline counts on them are written back to the store at most every
//!   [`SIGHTINGS_EVERY`] and at stop;
//! - each tenant's analysis engine runs with the tenant's asset inventory from the
//!   store, loaded when it starts and again on [`Command::ReloadAssets`] (a tenant never
//!   given one keeps the engine's own, `serve --assets`);
//! - a retro-hunt's hits ([`Command::RetroHunt`]) go through the tenant's analysis
//!   engine between batches and are committed like a batch (no records marked), with
//!   the (record, indicator) pairs they took; live batches commit the pairs they
//!   matched too, so no pair is taken twice (see [`crate::retro`]);
//! - counters count committed batches only, so when the metrics say a record was
//!   processed, its alerts and incidents are in the store; a batch the store refuses
//!   drops its tenant's state, which is built again from the store (as on a restart)
//!   and takes the records again.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use tokio::sync::broadcast;
use watchfloor_intel::{IndicatorId, Intel};
use watchfloor_pipeline::live::{BatchOutcome, Processor, RawRecord, RuleBook};
use watchfloor_pipeline::retro::RetroHit;
use watchfloor_store::{
    AlertRow, BatchCommit, IncidentChange, IncidentRow, IncidentStatus, IndicatorHitRow, Origin,
    ProcessedRecord, Sighting, Store, StoreError, TenantId, Timestamp,
};
use watchfloor_triage::Triage;
use watchfloor_triage::assets::Assets;
use watchfloor_triage::detection::Level;
use watchfloor_triage::suppress::Expr;

use crate::retro::{RetroJob, RetroReport, pair_of};

/// Records taken per batch.
pub const BATCH_RECORDS: u32 = 5_000;
/// How often correlation windows are saved.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(10);
/// How often the indicators' sightings are written back to the store.
pub const SIGHTINGS_EVERY: Duration = Duration::from_secs(10);
/// How long the thread sleeps when no tenant has work (ingest wakes it sooner).
const IDLE_WAIT: Duration = Duration::from_millis(200);
/// How often the backlog gauge is counted again in the store (between counts it is
/// kept by what ingest reports appended and what the pipeline commits).
pub const BACKLOG_RECOUNT_EVERY: Duration = Duration::from_secs(30);

/// Builds a tenant's analysis engine with its context (ATT&CK, assets, warninglists).
pub type TriageFactory = Arc<dyn Fn() -> Triage + Send + Sync>;

/// What the pipeline runs with.
#[derive(Clone)]
pub struct LiveConfig {
    pub rules: Arc<RuleBook>,
    pub triage: TriageFactory,
    /// Where correlation checkpoints go; none: not saved.
    pub checkpoint_dir: Option<PathBuf>,
    pub batch: u32,
}

impl std::fmt::Debug for LiveConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveConfig")
            .field("rules", &self.rules)
            .field("checkpoint_dir", &self.checkpoint_dir)
            .field("batch", &self.batch)
            .finish_non_exhaustive()
    }
}

impl LiveConfig {
    pub fn new(rules: Arc<RuleBook>, triage: TriageFactory) -> LiveConfig {
        LiveConfig {
            rules,
            triage,
            checkpoint_dir: None,
            batch: BATCH_RECORDS,
        }
    }
}

/// Counters of the pipeline since it started, exported as metrics.
#[derive(Debug, Default)]
pub struct LiveMetrics {
    pub records: AtomicU64,
    pub events: AtomicU64,
    pub decode_errors: AtomicU64,
    pub detections: AtomicU64,
    pub suppressed: AtomicU64,
    pub disabled: AtomicU64,
    pub batches: AtomicU64,
    pub alerts_changed: AtomicU64,
    pub incidents_changed: AtomicU64,
    pub store_errors: AtomicU64,
    /// Correlation groups and entries dropped for room, over all tenants.
    pub evicted: AtomicU64,
    /// Unprocessed records in the store: counted at start and every
    /// [`BACKLOG_RECOUNT_EVERY`], kept in between by what ingest reports appended
    /// ([`LiveHandle::note_appended`]) and what the pipeline commits.
    pub backlog: AtomicU64,
    pub rule_reloads: AtomicU64,
    /// Retro-hunt hits taken as detections (counted in `detections` too).
    pub retro_detections: AtomicU64,
    /// Of those, older than the analysis engine's horizon when taken.
    pub retro_past_horizon: AtomicU64,
}

/// A new or changed incident, as announced to listeners.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct IncidentNotice {
    pub tenant: u32,
    pub id: u64,
    /// `opened`, `escalated` or `updated`.
    pub change: &'static str,
    pub title: String,
    pub severity: &'static str,
    pub stage_chain: String,
    pub alerts: usize,
    pub hosts: Vec<String>,
}

/// Something for the pipeline thread to do between batches.
#[derive(Debug)]
pub enum Command {
    /// The tenant's suppressions changed in the store.
    ReloadSuppressions(TenantId),
    /// The tenant's rule switches changed in the store.
    ReloadRuleSettings(TenantId),
    /// The rule folders changed: use these rules from now on.
    ReplaceRules(Arc<RuleBook>),
    /// The tenant's indicators changed in the store.
    ReloadIntel(TenantId),
    /// The tenant's asset inventory changed in the store.
    ReloadAssets(TenantId),
    /// A retro-hunt's hits, to take through the tenant's analysis engine as detections
    /// (see [`crate::retro`]).
    RetroHunt(RetroJob),
}

#[derive(Debug)]
struct Shared {
    stop: AtomicBool,
    wake: Mutex<bool>,
    wakeup: Condvar,
    commands: Mutex<Vec<Command>>,
    metrics: LiveMetrics,
    notices: broadcast::Sender<IncidentNotice>,
}

/// A handle on the running pipeline, cheap to clone, for the API.
#[derive(Clone, Debug)]
pub struct LiveHandle {
    shared: Arc<Shared>,
}

impl LiveHandle {
    /// Tells the pipeline new records are waiting.
    pub fn wake(&self) {
        *self
            .shared
            .wake
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = true;
        self.shared.wakeup.notify_one();
    }

    pub fn send(&self, command: Command) {
        self.shared
            .commands
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(command);
        self.wake();
    }

    pub fn metrics(&self) -> &LiveMetrics {
        &self.shared.metrics
    }

    /// Tells the pipeline `n` records were appended to the store, for its backlog
    /// gauge (ingest calls it after each successful append).
    pub fn note_appended(&self, n: u64) {
        self.shared.metrics.backlog.fetch_add(n, Ordering::Relaxed);
    }

    /// Announcements of new and changed incidents from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<IncidentNotice> {
        self.shared.notices.subscribe()
    }
}

/// The running pipeline; stopping it (or dropping it) saves the checkpoints and joins
/// the thread.
#[derive(Debug)]
pub struct Live {
    handle: LiveHandle,
    thread: Option<JoinHandle<()>>,
}

impl Live {
    /// Starts the pipeline thread over `store`.
    pub fn start(store: Arc<Store>, config: LiveConfig) -> std::io::Result<Live> {
        let (notices, _) = broadcast::channel(1024);
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            wake: Mutex::new(false),
            wakeup: Condvar::new(),
            commands: Mutex::new(Vec::new()),
            metrics: LiveMetrics::default(),
            notices,
        });
        let handle = LiveHandle {
            shared: Arc::clone(&shared),
        };
        let thread = std::thread::Builder::new()
            .name("watchfloor-pipeline".into())
            .spawn(move || Worker::new(store, config, shared).run())?;
        Ok(Live {
            handle,
            thread: Some(thread),
        })
    }

    pub fn handle(&self) -> LiveHandle {
        self.handle.clone()
    }

    /// Finishes the batch in hand, saves the checkpoints and stops.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.handle.shared.stop.store(true, Ordering::SeqCst);
        self.handle.wake();
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            eprintln!("watchfloor: the pipeline thread panicked");
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// One tenant's live state.
struct TenantState {
    processor: Processor,
    alert_base: u64,
    incident_base: u64,
    /// The store's record id up to which records were taken.
    cursor: i64,
    /// The analysis engine's suppression id → the store's.
    suppressions: HashMap<u64, i64>,
    /// Last announced severity per incident (engine id).
    announced: HashMap<u64, Level>,
    /// Incidents linked into another (engine ids), closed once when that happened.
    merged: HashSet<u64>,
    saved: Instant,
    /// The indicators the processor matches, and their sightings already written to
    /// the store.
    intel: Option<Arc<Intel>>,
    /// The store id of each of those indicators.
    intel_ids: HashMap<IndicatorId, i64>,
    sightings_written: HashMap<IndicatorId, u32>,
    /// Indicators matched since the sightings were last written.
    sightings_due: bool,
    /// When they were last written (none yet: the first are written at once).
    sightings_saved: Option<Instant>,
}

struct Worker {
    store: Arc<Store>,
    config: LiveConfig,
    shared: Arc<Shared>,
    tenants: HashMap<TenantId, TenantState>,
    /// When the backlog was last counted in the store (none yet: at the first round).
    counted: Option<Instant>,
}

impl Worker {
    fn new(store: Arc<Store>, config: LiveConfig, shared: Arc<Shared>) -> Worker {
        Worker {
            store,
            config,
            shared,
            tenants: HashMap::new(),
            counted: None,
        }
    }

    fn run(mut self) {
        while !self.shared.stop.load(Ordering::SeqCst) {
            self.apply_commands();
            let worked = match self.round() {
                Ok(worked) => worked,
                Err(e) => {
                    eprintln!("watchfloor: pipeline: {e}");
                    self.shared
                        .metrics
                        .store_errors
                        .fetch_add(1, Ordering::Relaxed);
                    false
                }
            };
            self.save_checkpoints(false);
            if !worked {
                self.idle();
            }
        }
        self.save_checkpoints(true);
    }

    fn idle(&self) {
        let guard = self
            .shared
            .wake
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (mut guard, _) = self
            .shared
            .wakeup
            .wait_timeout_while(guard, IDLE_WAIT, |woken| !*woken)
            .unwrap_or_else(PoisonError::into_inner);
        *guard = false;
    }

    fn apply_commands(&mut self) {
        let commands = std::mem::take(
            &mut *self
                .shared
                .commands
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for command in commands {
            let result = match command {
                Command::ReloadSuppressions(t) => self.reload_suppressions(t),
                Command::ReloadRuleSettings(t) => self.reload_rule_settings(t),
                Command::ReloadIntel(t) => self.reload_intel(t),
                Command::ReloadAssets(t) => self.reload_assets(t),
                Command::RetroHunt(job) => self.retro_hunt(job),
                Command::ReplaceRules(book) => {
                    self.config.rules = Arc::clone(&book);
                    for state in self.tenants.values_mut() {
                        state.processor.replace_rules(Arc::clone(&book));
                    }
                    self.shared
                        .metrics
                        .rule_reloads
                        .fetch_add(1, Ordering::Relaxed);
                    Ok(())
                }
            };
            if let Err(e) = result {
                eprintln!("watchfloor: pipeline: {e}");
            }
        }
    }

    /// One batch for every tenant with work. Returns whether any record was taken.
    fn round(&mut self) -> Result<bool, StoreError> {
        let pending = self.store.tenants_with_pending()?;
        let mut worked = false;
        for tenant in pending {
            if self.shared.stop.load(Ordering::SeqCst) {
                break;
            }
            worked |= self.batch(tenant)?;
        }
        // Counting the pending records scans their index (tens of milliseconds at a
        // million): done rarely, the gauge is kept in between by ingest's appends and
        // the committed batches. A count racing an append may count it twice until the
        // next count; never for longer.
        if self
            .counted
            .is_none_or(|t| t.elapsed() >= BACKLOG_RECOUNT_EVERY)
        {
            let backlog = self.store.pending_total()?;
            self.counted = Some(Instant::now());
            self.shared
                .metrics
                .backlog
                .store(backlog, Ordering::Relaxed);
        }
        Ok(worked)
    }

    fn state(&mut self, tenant: TenantId) -> Result<&mut TenantState, StoreError> {
        if !self.tenants.contains_key(&tenant) {
            let (alert_base, incident_base) = self.store.id_bases(tenant)?;
            let mut processor = Processor::new(
                tenant,
                Arc::clone(&self.config.rules),
                (self.config.triage)(),
            );
            if let Some(path) = self.checkpoint_path(tenant)
                && let Ok(data) = std::fs::read(&path)
                && let Err(e) = processor.restore_correlation(&data)
            {
                eprintln!(
                    "watchfloor: {}: correlation checkpoint not restored: {e}",
                    path.display()
                );
            }
            self.tenants.insert(
                tenant,
                TenantState {
                    processor,
                    alert_base,
                    incident_base,
                    cursor: 0,
                    suppressions: HashMap::new(),
                    announced: HashMap::new(),
                    merged: HashSet::new(),
                    saved: Instant::now(),
                    intel: None,
                    intel_ids: HashMap::new(),
                    sightings_written: HashMap::new(),
                    sightings_due: false,
                    sightings_saved: None,
                },
            );
            // A tenant runs with its suppressions, rule switches and indicators or not
            // at all.
            let loaded = self
                .reload_suppressions(tenant)
                .and_then(|()| self.reload_rule_settings(tenant))
                .and_then(|()| self.reload_intel(tenant))
                .and_then(|()| self.reload_assets(tenant));
            if let Err(e) = loaded {
                self.tenants.remove(&tenant);
                return Err(e);
            }
        }
        self.tenants
            .get_mut(&tenant)
            .ok_or(StoreError::Corrupt("tenant state vanished"))
    }

    fn reload_suppressions(&mut self, tenant: TenantId) -> Result<(), StoreError> {
        let Some(state) = self.tenants.get_mut(&tenant) else {
            return Ok(());
        };
        let stored = self.store.suppressions(tenant, false)?;
        let triage = state.processor.triage_mut();
        for id in state.suppressions.keys() {
            triage.suppressions_mut().remove(tenant, *id);
        }
        state.suppressions.clear();
        for s in stored {
            match Expr::parse(&s.expr) {
                Ok(expr) => {
                    let id = triage.suppressions_mut().add(
                        tenant,
                        expr,
                        &s.owner,
                        &s.reason,
                        s.created_at,
                        s.expires_at,
                    );
                    state.suppressions.insert(id, s.id);
                }
                Err(e) => eprintln!(
                    "watchfloor: tenant {}: suppression {} not applied: {e}",
                    tenant.0, s.id
                ),
            }
        }
        Ok(())
    }

    /// Gives the tenant's analysis engine its asset inventory from the store. A tenant
    /// that was never given one keeps the engine's own (`serve --assets`, else none);
    /// once given, the tenant's takes its place. Rows the parser refuses were reported
    /// when the inventory was given; the rest apply.
    fn reload_assets(&mut self, tenant: TenantId) -> Result<(), StoreError> {
        let Some(state) = self.tenants.get_mut(&tenant) else {
            return Ok(());
        };
        let Some(inventory) = self.store.asset_inventory(tenant)? else {
            return Ok(());
        };
        let assets: Assets = crate::assets_api::parse(inventory.format, &inventory.body)
            .map(|(assets, _)| assets)
            .unwrap_or_default();
        state.processor.triage_mut().set_assets(assets);
        Ok(())
    }

    fn reload_rule_settings(&mut self, tenant: TenantId) -> Result<(), StoreError> {
        let Some(state) = self.tenants.get_mut(&tenant) else {
            return Ok(());
        };
        let disabled = self.store.disabled_rules(tenant)?;
        state.processor.set_disabled(disabled);
        Ok(())
    }

    /// Loads the tenant's indicators from the store into its processor (none: matching
    /// off), after writing the sightings counted on the ones it had.
    fn reload_intel(&mut self, tenant: TenantId) -> Result<(), StoreError> {
        if !self.tenants.contains_key(&tenant) {
            return Ok(());
        }
        self.write_sightings(tenant, true);
        let (intel, ids) = match crate::intel_api::pipeline_intel(&self.store, tenant)? {
            Some(loaded) => (Some(Arc::new(loaded.intel)), loaded.ids),
            None => (None, HashMap::new()),
        };
        let Some(state) = self.tenants.get_mut(&tenant) else {
            return Ok(());
        };
        install_intel(&mut state.processor, intel.clone());
        state.intel = intel;
        state.intel_ids = ids;
        state.sightings_written.clear();
        state.sightings_due = false;
        Ok(())
    }

    /// Takes a retro-hunt's hits through the tenant's analysis engine and answers the
    /// job with what was done (`None`: nothing could be stored).
    fn retro_hunt(&mut self, job: RetroJob) -> Result<(), StoreError> {
        let RetroJob {
            tenant,
            hits,
            reply,
        } = job;
        let result = self.take_retro_hits(tenant, hits);
        if let Some(reply) = reply {
            // The asker may have stopped waiting; the detections are stored anyway.
            let _ = reply.send(result.as_ref().ok().cloned());
        }
        result.map(|_| ())
    }

    /// Leaves the hits taken meanwhile (live, or by another hunt) and those on records
    /// not processed yet, takes the rest through the analysis engine, and commits the
    /// alerts and incidents they changed with the pairs, as a batch is committed.
    fn take_retro_hits(
        &mut self,
        tenant: TenantId,
        hits: Vec<RetroHit>,
    ) -> Result<RetroReport, StoreError> {
        let store = Arc::clone(&self.store);
        let pairs: Vec<IndicatorHitRow> = hits.iter().map(pair_of).collect();
        let states = store.indicator_hit_states(tenant, &pairs)?;
        let mut report = RetroReport {
            received: hits.len() as u64,
            ..RetroReport::default()
        };
        let mut seen = HashSet::new();
        let mut fresh = Vec::new();
        for (hit, state) in hits.into_iter().zip(states) {
            if report.sort(state) {
                if seen.insert(pair_of(&hit)) {
                    fresh.push(hit);
                } else {
                    report.already_taken += 1;
                }
            }
        }
        if fresh.is_empty() {
            return Ok(report);
        }
        let state = self.state(tenant)?;
        let (outcome, counts) = state.processor.retro(&fresh);
        let mut commit = commit_of(state, &outcome);
        commit.indicator_hits = fresh.iter().map(pair_of).collect();
        let notices = notices_of(state, &outcome, tenant);
        let merged = newly_merged(state, &outcome);
        if let Err(e) = store.commit_batch(tenant, &commit, Timestamp::now()) {
            // As for a batch: the engine has taken what the store has not, so start the
            // tenant again from the store.
            self.tenants.remove(&tenant);
            return Err(e);
        }
        self.close_merged(tenant, &merged);
        let m = &self.shared.metrics;
        m.detections.fetch_add(counts.detections, Ordering::Relaxed);
        m.suppressed.fetch_add(counts.suppressed, Ordering::Relaxed);
        m.retro_detections
            .fetch_add(counts.detections, Ordering::Relaxed);
        m.retro_past_horizon
            .fetch_add(counts.past_horizon, Ordering::Relaxed);
        m.alerts_changed
            .fetch_add(commit.alerts.len() as u64, Ordering::Relaxed);
        m.incidents_changed
            .fetch_add(commit.incidents.len() as u64, Ordering::Relaxed);
        for notice in notices {
            let _ = self.shared.notices.send(notice);
        }
        report.detections = counts.detections;
        report.suppressed = counts.suppressed;
        report.past_horizon = counts.past_horizon;
        report.alerts_changed = commit.alerts.len() as u64;
        report.incidents_changed = commit.incidents.len() as u64;
        Ok(report)
    }

    /// Writes the sightings the pipeline counted on the tenant's indicators since they
    /// were last written: when some were matched, every [`SIGHTINGS_EVERY`] (or now, if
    /// `now`). A failure is logged and retried next time.
    fn write_sightings(&mut self, tenant: TenantId, now: bool) {
        let Some(state) = self.tenants.get_mut(&tenant) else {
            return;
        };
        let recent = state
            .sightings_saved
            .is_some_and(|t| t.elapsed() < SIGHTINGS_EVERY);
        if !state.sightings_due || (!now && recent) {
            return;
        }
        let Some(intel) = state.intel.clone() else {
            return;
        };
        let mut sightings = Vec::new();
        let mut counted = Vec::new();
        for view in intel.iter() {
            let written = state.sightings_written.get(&view.id).copied().unwrap_or(0);
            if view.sightings > written {
                sightings.push(Sighting {
                    kind: view.kind.as_str().to_owned(),
                    value: view.value.to_owned(),
                    count: u64::from(view.sightings - written),
                    last_seen: view.last_seen,
                });
                counted.push((view.id, view.sightings));
            }
        }
        state.sightings_saved = Some(Instant::now());
        match self.store.bump_sightings(tenant, &sightings) {
            Ok(_) => {
                state.sightings_written.extend(counted);
                state.sightings_due = false;
            }
            Err(e) => {
                eprintln!(
                    "watchfloor: tenant {}: writing indicator sightings: {e}",
                    tenant.0
                );
                self.shared
                    .metrics
                    .store_errors
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn batch(&mut self, tenant: TenantId) -> Result<bool, StoreError> {
        let limit = self.config.batch;
        let store = Arc::clone(&self.store);
        let state = self.state(tenant)?;
        let records = store.pending_records(tenant, state.cursor, limit)?;
        let Some(last) = records.last() else {
            return Ok(false);
        };
        state.cursor = last.id;
        let raw: Vec<RawRecord<'_>> = records
            .iter()
            .map(|r| RawRecord {
                id: r.id,
                received_at: r.received_at,
                format_hint: r.format_hint.as_deref(),
                line: &r.line,
            })
            .collect();
        let outcome = state.processor.process(&raw);
        let commit = commit_of(state, &outcome);
        let notices = notices_of(state, &outcome, tenant);
        let merged = newly_merged(state, &outcome);
        if let Err(e) = store.commit_batch(tenant, &commit, Timestamp::now()) {
            // The processor has taken these records in but the store has not: start the
            // tenant again from the store, as after a restart, so they are taken again
            // (the cursor is past them) and counted once.
            self.tenants.remove(&tenant);
            return Err(e);
        }
        self.close_merged(tenant, &merged);
        if outcome.indicator_matches > 0
            && let Some(state) = self.tenants.get_mut(&tenant)
        {
            state.sightings_due = true;
        }
        count(&self.shared.metrics, records.len(), &outcome, &commit);
        let done = records.len() as u64;
        let _ =
            self.shared
                .metrics
                .backlog
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                    Some(b.saturating_sub(done))
                });
        for notice in notices {
            // No listener is fine: announcements are for whoever is watching.
            let _ = self.shared.notices.send(notice);
        }
        Ok(true)
    }

    /// Closes the stored incidents a batch linked into others (store ids: the incident
    /// and where it lives on), so that the open list holds each case once. The store
    /// keeps a linked incident's row (its alerts now name the other one); closing it is
    /// audited as the system's, with the reason naming where it went.
    fn close_merged(&self, tenant: TenantId, merged: &[(u64, u64)]) {
        for &(id, into) in merged {
            let origin = Origin::system("pipeline", Timestamp::now());
            let close = IncidentChange::Close {
                reason: format!("linked into incident {into}"),
            };
            let result = self.store.get_incident(tenant, id).and_then(|i| {
                if i.status == IncidentStatus::Open {
                    self.store.update_incident(tenant, id, &close, &origin)?;
                }
                Ok(())
            });
            if let Err(e) = result {
                eprintln!(
                    "watchfloor: tenant {}: closing linked incident {id}: {e}",
                    tenant.0
                );
                self.shared
                    .metrics
                    .store_errors
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn checkpoint_path(&self, tenant: TenantId) -> Option<PathBuf> {
        let dir = self.config.checkpoint_dir.as_ref()?;
        Some(dir.join(format!("correlation-{}.bin", tenant.0)))
    }

    fn save_checkpoints(&mut self, all: bool) {
        let due: Vec<TenantId> = self
            .tenants
            .iter()
            .filter(|(_, s)| s.sightings_due)
            .map(|(t, _)| *t)
            .collect();
        for tenant in due {
            self.write_sightings(tenant, all);
        }
        let Some(dir) = self.config.checkpoint_dir.clone() else {
            return;
        };
        for (tenant, state) in &mut self.tenants {
            if !all && state.saved.elapsed() < CHECKPOINT_EVERY {
                continue;
            }
            state.saved = Instant::now();
            let data = state.processor.correlation_checkpoint();
            if data.is_empty() {
                continue;
            }
            let path = dir.join(format!("correlation-{}.bin", tenant.0));
            if let Err(e) = write_atomically(&path, &data) {
                eprintln!("watchfloor: saving {}: {e}", path.display());
            }
        }
    }
}

/// Gives a tenant's processor its indicators (`None`: no indicator matching).
fn install_intel(processor: &mut Processor, intel: Option<Arc<Intel>>) {
    processor.set_intel(intel);
}

/// Adds a committed batch to the counters; only once it is in the store, so that
/// counters never run ahead of what the API shows.
fn count(m: &LiveMetrics, records: usize, outcome: &BatchOutcome, commit: &BatchCommit) {
    m.records.fetch_add(records as u64, Ordering::Relaxed);
    m.events.fetch_add(outcome.events, Ordering::Relaxed);
    m.decode_errors
        .fetch_add(outcome.decode_errors, Ordering::Relaxed);
    m.detections
        .fetch_add(outcome.detections, Ordering::Relaxed);
    m.suppressed
        .fetch_add(outcome.suppressed, Ordering::Relaxed);
    m.disabled.fetch_add(outcome.disabled, Ordering::Relaxed);
    m.evicted.fetch_add(outcome.evicted, Ordering::Relaxed);
    m.batches.fetch_add(1, Ordering::Relaxed);
    m.alerts_changed
        .fetch_add(commit.alerts.len() as u64, Ordering::Relaxed);
    m.incidents_changed
        .fetch_add(commit.incidents.len() as u64, Ordering::Relaxed);
}

fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("bin.tmp");
    std::fs::write(&tmp, data)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn level_rank(level: Level) -> i64 {
    match level {
        Level::Informational => 0,
        Level::Low => 1,
        Level::Medium => 2,
        Level::High => 3,
        Level::Critical => 4,
    }
}

/// Rewrites the engine's ids in a serialised alert or incident to the stored ids.
fn shift(value: &mut Value, key: &str, base: u64) {
    if let Some(v) = value.get_mut(key) {
        match v {
            Value::Number(n) => {
                if let Some(id) = n.as_u64() {
                    *v = Value::from(id + base);
                }
            }
            Value::Array(items) => {
                for item in items {
                    if let Some(id) = item.as_u64() {
                        *item = Value::from(id + base);
                    }
                }
            }
            _ => {}
        }
    }
}

fn commit_of(state: &TenantState, outcome: &BatchOutcome) -> BatchCommit {
    let triage = state.processor.triage();
    let (ab, ib) = (state.alert_base, state.incident_base);
    let processed = outcome
        .records
        .iter()
        .map(|m| ProcessedRecord {
            id: m.id,
            event_time: m.event_time,
            host: m.host.clone(),
            user: m.user.clone(),
            error: m.error.clone(),
        })
        .collect();
    let alerts = outcome
        .changes
        .alerts
        .iter()
        .filter_map(|&id| triage.alert(id))
        .map(|a| {
            let mut doc = serde_json::to_value(a).unwrap_or(Value::Null);
            shift(&mut doc, "id", ab);
            shift(&mut doc, "incident", ib);
            AlertRow {
                id: a.id + ab,
                rule_id: a.rule_id.clone(),
                title: a.title.clone(),
                level: a.level.as_str().to_string(),
                level_rank: level_rank(a.level),
                score: a.score,
                host: a.entities.host.clone(),
                user: a.entities.user.clone(),
                count: a.count,
                first_seen: a.first_seen,
                last_seen: a.last_seen,
                incident_id: a.incident.map(|i| i + ib),
                doc: doc.to_string(),
            }
        })
        .collect();
    let incidents = outcome
        .changes
        .incidents
        .iter()
        .filter_map(|&id| triage.incident_as_recorded(id))
        .map(|i| {
            let mut doc = serde_json::to_value(i).unwrap_or(Value::Null);
            shift(&mut doc, "id", ib);
            shift(&mut doc, "merged_into", ib);
            shift(&mut doc, "alerts", ab);
            if let Some(Value::Array(stages)) = doc.get_mut("stages") {
                for s in stages {
                    shift(s, "alert", ab);
                }
            }
            if let Value::Object(map) = &mut doc {
                map.insert("stage_chain".into(), Value::from(i.stage_chain()));
            }
            IncidentRow {
                id: i.id + ib,
                title: i.title.clone(),
                severity: i.severity.as_str().to_string(),
                severity_rank: level_rank(i.severity),
                score: i.score,
                entity: i.entity.clone(),
                stage_chain: i.stage_chain(),
                first_seen: i.first_seen,
                last_seen: i.last_seen,
                alert_count: i.alerts.len() as u64,
                detections: i.detections,
                doc: doc.to_string(),
            }
        })
        .collect();
    let suppression_hits = outcome
        .suppression_hits
        .iter()
        .filter_map(|(id, n)| Some((*state.suppressions.get(id)?, *n)))
        .collect();
    // Which record matched which indicator, by the indicators' store ids.
    let indicator_hits = match &state.intel {
        Some(intel) => outcome
            .indicator_hits
            .iter()
            .filter_map(|h| {
                let id = intel.find(h.kind, &h.value)?;
                Some(IndicatorHitRow {
                    record: h.record,
                    indicator: *state.intel_ids.get(&id)?,
                })
            })
            .collect(),
        None => Vec::new(),
    };
    BatchCommit {
        records: processed,
        alerts,
        incidents,
        suppression_hits,
        indicator_hits,
    }
}

/// The incidents a batch linked into another for the first time, as store ids (the
/// incident, where it lives on).
fn newly_merged(state: &mut TenantState, outcome: &BatchOutcome) -> Vec<(u64, u64)> {
    let triage = state.processor.triage();
    let mut out = Vec::new();
    for &id in &outcome.changes.incidents {
        let Some(into) = triage.incident_as_recorded(id).and_then(|i| i.merged_into) else {
            continue;
        };
        if state.merged.insert(id) {
            out.push((id + state.incident_base, into + state.incident_base));
        }
    }
    out
}

/// Announcements for the incidents a batch opened or escalated (and updated).
fn notices_of(
    state: &mut TenantState,
    outcome: &BatchOutcome,
    tenant: TenantId,
) -> Vec<IncidentNotice> {
    let triage = state.processor.triage();
    let mut out = Vec::new();
    for &id in &outcome.changes.incidents {
        let Some(i) = triage.incident_as_recorded(id) else {
            continue;
        };
        if i.merged_into.is_some() {
            state.announced.remove(&id);
            continue;
        }
        let change = match state.announced.insert(id, i.severity) {
            None => "opened",
            Some(before) if i.severity > before => "escalated",
            Some(_) => "updated",
        };
        out.push(IncidentNotice {
            tenant: tenant.0,
            id: id + state.incident_base,
            change,
            title: i.title.clone(),
            severity: i.severity.as_str(),
            stage_chain: i.stage_chain(),
            alerts: i.alerts.len(),
            hosts: i.hosts.clone(),
        });
    }
    out
}
