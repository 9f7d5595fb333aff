//! Decoding files on a pool of worker threads, each with its own decoder state, and
//! merging what they found in the order of the file list.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use watchfloor_decode::{
    DecodeContext, DecodeError, DecodeErrorKind, FileDecoder, Sink, StreamReport,
};
use watchfloor_event::{Event, FieldCache, FieldTable, LogSource, Timestamp};

use super::HuntConfig;
use super::progress::Progress;
use watchfloor_pipeline::beacon::{BeaconConfig, BeaconFields, Connection};
use watchfloor_pipeline::cloud_creds::{CloudCall, CloudCredFields};
use watchfloor_pipeline::detect::{CorrelationInput, DetectionRow, Detector};
use watchfloor_pipeline::dns_tunnel::{DnsFields, DnsQuery, DnsTunnelConfig};
use watchfloor_pipeline::intel_match::{IntelMatcher, IntelScratch};
use watchfloor_pipeline::remote_exec::{
    NetworkLogon, Observation, PROCESSES_LISTED, RemoteExecFields, SessionKey, SessionProcess,
};
use watchfloor_pipeline::web_scan::{MissRequest, WebScanConfig, WebScanFields};
use watchfloor_sigma::engine::Engine;

/// One decoded stream (a file or an archive member) and what was in it.
#[derive(Debug)]
pub struct StreamResult {
    pub report: StreamReport,
    /// Events per logsource, keyed `product/category/service`.
    pub logsources: BTreeMap<String, u64>,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

/// Everything the workers found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub streams: Vec<StreamResult>,
    /// The first errors, up to the number to show; the counts are in the reports.
    pub errors: Vec<DecodeError>,
    /// Rule matches (with the rule's engine index) and indicator matches (with
    /// `INDICATOR_ROW`), in file and record order.
    pub detections: Vec<(u32, DetectionRow)>,
    /// Matches of rules that correlations use, for the correlation pass.
    pub correlation_inputs: Vec<CorrelationInput>,
    /// Outgoing connections, for beacon analysis (when asked for), up to the
    /// analysis's bound; those past it are counted.
    pub connections: Vec<Connection>,
    pub connections_dropped: u64,
    /// Web server requests answered `4xx`, for web scan analysis (with the web attack
    /// analysis), up to its bound; those past it are counted.
    pub misses: Vec<MissRequest>,
    pub misses_dropped: u64,
    /// Network logons and the processes of non-system sessions (a few per session),
    /// for remote execution analysis, up to its bound; those past it are counted.
    pub remote: RemoteSessions,
    pub remote_dropped: u64,
    /// DNS queries for long names, for DNS tunnelling analysis, up to its bound; those
    /// past it are counted.
    pub queries: Vec<DnsQuery>,
    pub queries_dropped: u64,
    /// CloudTrail calls from public addresses by instance sessions and people, for
    /// stolen instance credentials, up to its bound; those past it are counted.
    pub cloud_calls: Vec<CloudCall>,
    pub cloud_calls_dropped: u64,
}

/// Most CloudTrail calls a hunt collects.
pub const MAX_CLOUD_CALLS: usize = 1_000_000;

/// Most network logons and session processes a hunt collects.
pub const MAX_REMOTE_ITEMS: usize = 2_000_000;

/// What remote execution analysis needs of a run.
#[derive(Debug, Default)]
pub struct RemoteSessions {
    pub logons: Vec<NetworkLogon>,
    pub processes: Vec<SessionProcess>,
}

impl Outcome {
    pub fn events(&self) -> u64 {
        self.streams.iter().map(|s| s.report.events).sum()
    }
    pub fn bytes(&self) -> u64 {
        self.streams.iter().map(|s| s.report.bytes).sum()
    }
    pub fn decode_errors(&self) -> u64 {
        self.streams.iter().map(|s| s.report.errors).sum()
    }
    pub fn unsupported(&self) -> u64 {
        self.streams
            .iter()
            .filter(|s| s.report.format.is_none())
            .count() as u64
    }
}

/// Decodes `files` on `config.threads` threads, evaluating `engine` and matching
/// `intel` on every event when given.
pub fn decode_all(
    files: &[PathBuf],
    config: &HuntConfig,
    table: &Arc<FieldTable>,
    engine: Option<&Engine>,
    correlated: &[bool],
    intel: Option<&IntelMatcher>,
    progress: &Progress,
) -> Outcome {
    // Events without a time are matched against the indicators valid now.
    let now = Timestamp::now();
    let next = AtomicUsize::new(0);
    let threads = config.threads.min(files.len()).max(1);
    let beacon_fields = config.beacons.then(|| BeaconFields::new(table));
    let beacon_fields = beacon_fields.as_ref();
    let room = AtomicUsize::new(BeaconConfig::default().max_connections);
    let dropped = AtomicU64::new(0);
    let budget = (&room, &dropped);
    let scan_fields = (engine.is_some() && config.web_attacks).then(|| WebScanFields::new(table));
    let scan_fields = scan_fields.as_ref();
    let scan_room = AtomicUsize::new(WebScanConfig::default().max_requests);
    let scan_dropped = AtomicU64::new(0);
    let scan_budget = (&scan_room, &scan_dropped);
    let remote_fields = engine.is_some().then(|| RemoteExecFields::new(table));
    let remote_fields = remote_fields.as_ref();
    let remote_room = AtomicUsize::new(MAX_REMOTE_ITEMS);
    let remote_dropped = AtomicU64::new(0);
    let remote_budget = (&remote_room, &remote_dropped);
    let dns_fields = engine.is_some().then(|| DnsFields::new(table));
    let dns_fields = dns_fields.as_ref();
    let dns_room = AtomicUsize::new(DnsTunnelConfig::default().max_queries);
    let dns_dropped = AtomicU64::new(0);
    let dns_budget = (&dns_room, &dns_dropped);
    let cloud_fields = engine.is_some().then(|| CloudCredFields::new(table));
    let cloud_fields = cloud_fields.as_ref();
    let cloud_room = AtomicUsize::new(MAX_CLOUD_CALLS);
    let cloud_dropped = AtomicU64::new(0);
    let cloud_budget = (&cloud_room, &cloud_dropped);
    let mut per_file: Vec<Option<FileResult>> = Vec::new();
    per_file.resize_with(files.len(), || None);
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let table = table.clone();
                let next = &next;
                scope.spawn(move || {
                    let ctx = DecodeContext::new(FieldCache::new(table.clone()));
                    let mut decoder = FileDecoder::new(ctx, config.input_format);
                    let mut detector = engine.map(|e| {
                        Detector::new(e, correlated, table).with_web_analysis(config.web_attacks)
                    });
                    let mut scratch = IntelScratch::default();
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = files.get(index) else { break };
                        let mut sink =
                            HuntSink::new(progress, config.max_errors_shown, detector.as_mut());
                        sink.intel = intel.map(|m| (m, &mut scratch, now));
                        sink.beacon = beacon_fields.map(|f| (f, budget));
                        sink.web_scan = scan_fields.map(|f| (f, scan_budget));
                        sink.remote = remote_fields.map(|f| (f, remote_budget));
                        sink.dns = dns_fields.map(|f| (f, dns_budget));
                        sink.cloud = cloud_fields.map(|f| (f, cloud_budget));
                        let reports = decoder.decode_path(path, &mut sink);
                        progress.file_done();
                        done.push((index, sink.finish(reports)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect::<Vec<_>>()
    });
    for (index, result) in results {
        per_file[index] = Some(result);
    }
    let mut outcome = Outcome {
        connections_dropped: dropped.load(Ordering::Relaxed),
        misses_dropped: scan_dropped.load(Ordering::Relaxed),
        remote_dropped: remote_dropped.load(Ordering::Relaxed),
        queries_dropped: dns_dropped.load(Ordering::Relaxed),
        cloud_calls_dropped: cloud_dropped.load(Ordering::Relaxed),
        ..Outcome::default()
    };
    for file in per_file.into_iter().flatten() {
        outcome.streams.extend(file.streams);
        outcome.detections.extend(file.detections);
        outcome.correlation_inputs.extend(file.correlation_inputs);
        outcome.connections.extend(file.connections);
        outcome.misses.extend(file.misses);
        outcome.remote.logons.extend(file.remote.logons);
        outcome.remote.processes.extend(file.remote.processes);
        outcome.queries.extend(file.queries);
        outcome.cloud_calls.extend(file.cloud_calls);
        let room = config.max_errors_shown.saturating_sub(outcome.errors.len());
        outcome.errors.extend(file.errors.into_iter().take(room));
    }
    outcome
}

#[derive(Default)]
struct StreamStats {
    logsources: HashMap<LogSource, u64>,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

/// What one file gave.
struct FileResult {
    streams: Vec<StreamResult>,
    errors: Vec<DecodeError>,
    detections: Vec<(u32, DetectionRow)>,
    correlation_inputs: Vec<CorrelationInput>,
    connections: Vec<Connection>,
    misses: Vec<MissRequest>,
    remote: RemoteSessions,
    queries: Vec<DnsQuery>,
    cloud_calls: Vec<CloudCall>,
}

/// Shared room left for collected items, and the count of those dropped past it.
type Budget<'e> = (&'e AtomicUsize, &'e AtomicU64);

/// Takes one unit of `budget`: whether there was room (if not, the drop is counted).
fn take(budget: Budget<'_>) -> bool {
    let (room, dropped) = budget;
    let taken = room
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok();
    if !taken {
        dropped.fetch_add(1, Ordering::Relaxed);
    }
    taken
}

/// Per-file sink: counts events by stream and logsource, keeps the first errors, runs
/// the rules.
struct HuntSink<'p, 'd, 'e> {
    progress: &'p Progress,
    detector: Option<&'d mut Detector<'e>>,
    /// The indicator matcher, this thread's buffers, and the time undated events are
    /// matched at.
    intel: Option<(&'e IntelMatcher, &'d mut IntelScratch, Timestamp)>,
    /// Set when connections are collected for beacon analysis: the fields, the room
    /// left for connections (shared by the workers) and those dropped past it.
    beacon: Option<(&'e BeaconFields, Budget<'e>)>,
    connections: Vec<Connection>,
    /// Set when requests are collected for web scan analysis, with its budget.
    web_scan: Option<(&'e WebScanFields, Budget<'e>)>,
    misses: Vec<MissRequest>,
    /// Set when logons and session processes are collected for remote execution
    /// analysis, with its budget.
    remote: Option<(&'e RemoteExecFields, Budget<'e>)>,
    logons: Vec<NetworkLogon>,
    /// Each session's first processes (twice the listed number: Sysmon and the
    /// Security log may both record each).
    session_processes: HashMap<SessionKey, Vec<SessionProcess>>,
    /// Set when DNS queries are collected for tunnelling analysis, with its budget.
    dns: Option<(&'e DnsFields, Budget<'e>)>,
    queries: Vec<DnsQuery>,
    /// Set when CloudTrail calls are collected, with its budget.
    cloud: Option<(&'e CloudCredFields, Budget<'e>)>,
    cloud_calls: Vec<CloudCall>,
    detections: Vec<(u32, DetectionRow)>,
    correlation_inputs: Vec<CorrelationInput>,
    streams: HashMap<Arc<str>, StreamStats>,
    errors: Vec<DecodeError>,
    keep_errors: usize,
    unflushed: u64,
}

impl<'p, 'd, 'e> HuntSink<'p, 'd, 'e> {
    fn new(
        progress: &'p Progress,
        keep_errors: usize,
        detector: Option<&'d mut Detector<'e>>,
    ) -> Self {
        HuntSink {
            progress,
            detector,
            intel: None,
            beacon: None,
            connections: Vec::new(),
            web_scan: None,
            misses: Vec::new(),
            remote: None,
            logons: Vec::new(),
            session_processes: HashMap::new(),
            dns: None,
            queries: Vec::new(),
            cloud: None,
            cloud_calls: Vec::new(),
            detections: Vec::new(),
            correlation_inputs: Vec::new(),
            streams: HashMap::new(),
            errors: Vec::new(),
            keep_errors,
            unflushed: 0,
        }
    }

    fn finish(mut self, reports: Vec<StreamReport>) -> FileResult {
        self.flush();
        let streams = reports
            .into_iter()
            .map(|report| {
                let stats = self.streams.remove(&report.name).unwrap_or_default();
                StreamResult {
                    report,
                    logsources: stats
                        .logsources
                        .into_iter()
                        .map(|(ls, n)| (ls.to_string(), n))
                        .collect(),
                    first: stats.first,
                    last: stats.last,
                }
            })
            .collect();
        FileResult {
            streams,
            errors: self.errors,
            detections: self.detections,
            correlation_inputs: self.correlation_inputs,
            connections: self.connections,
            misses: self.misses,
            remote: RemoteSessions {
                logons: self.logons,
                processes: self.session_processes.into_values().flatten().collect(),
            },
            queries: self.queries,
            cloud_calls: self.cloud_calls,
        }
    }

    fn flush(&mut self) {
        self.progress
            .events
            .fetch_add(self.unflushed, Ordering::Relaxed);
        self.unflushed = 0;
    }
}

impl Sink for HuntSink<'_, '_, '_> {
    fn event(&mut self, ev: &Event) {
        if let Some(detector) = self.detector.as_mut() {
            detector.detect(ev, &mut self.detections, &mut self.correlation_inputs);
        }
        if let Some((matcher, scratch, now)) = self.intel.as_mut() {
            matcher.detect(ev, *now, scratch, &mut self.detections);
        }
        if let Some((fields, budget)) = self.beacon
            && ev.time != Timestamp::default()
            && let Some(connection) = fields.connection(ev)
            && take(budget)
        {
            self.connections.push(connection);
        }
        if let Some((fields, budget)) = self.web_scan
            && ev.time != Timestamp::default()
            && let Some(miss) = fields.request(ev)
            && take(budget)
        {
            self.misses.push(miss);
        }
        if let Some((fields, budget)) = self.cloud
            && let Some(call) = fields.call(ev)
            && take(budget)
        {
            self.cloud_calls.push(call);
        }
        if let Some((fields, budget)) = self.dns
            && ev.time != Timestamp::default()
            && let Some(query) = fields.query(ev)
            && take(budget)
        {
            self.queries.push(query);
        }
        if let Some((fields, budget)) = self.remote
            && ev.time != Timestamp::default()
            && let Some(obs) = fields.observe(ev)
        {
            match obs {
                Observation::Logon(logon) => {
                    if take(budget) {
                        self.logons.push(logon);
                    }
                }
                Observation::Process(p) => {
                    let listed = self.session_processes.get(&p.key).map_or(0, Vec::len);
                    if listed < 2 * PROCESSES_LISTED && take(budget) {
                        self.session_processes
                            .entry(p.key.clone())
                            .or_default()
                            .push(p);
                    }
                }
            }
        }
        let stats = match self.streams.get_mut(&ev.source.name) {
            Some(s) => s,
            None => self.streams.entry(ev.source.name.clone()).or_default(),
        };
        match stats.logsources.get_mut(&ev.logsource) {
            Some(n) => *n += 1,
            None => {
                stats.logsources.insert(ev.logsource.clone(), 1);
            }
        }
        if ev.time != Timestamp::default() {
            stats.first = Some(stats.first.map_or(ev.time, |t| t.min(ev.time)));
            stats.last = Some(stats.last.map_or(ev.time, |t| t.max(ev.time)));
        }
        self.unflushed += 1;
        if self.unflushed >= 4096 {
            self.flush();
        }
    }

    fn error(&mut self, err: DecodeError) {
        if self.errors.len() < self.keep_errors
            || matches!(err.kind, DecodeErrorKind::Unsupported(_))
        {
            self.errors.push(err);
        }
    }
}
