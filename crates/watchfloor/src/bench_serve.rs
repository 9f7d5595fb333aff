//! `watchfloor bench serve`: the server end to end on this machine, with SQLite.
//!
//! It starts the whole server in-process ([`crate::serve::serve`]: API, live pipeline,
//! retention) on a fresh data folder with one tenant and an API token, then for
//! `--duration` seconds:
//!
//! - `--clients` threads POST NDJSON batches of `--batch` Windows records (Sysmon and
//!   Security, generated once by the range from a bundled scenario and replayed in
//!   loops, every date in them moved forward by the pool's span each loop so event time
//!   keeps advancing) to `/api/v1/tenants/{id}/ingest`, each sending its next batch as
//!   soon as the last one is answered, waiting `Retry-After` on 429;
//! - one thread sends `GET /api/v1/tenants/{id}/alerts?limit=50` open-loop at
//!   `--query-rate` requests/s: requests are scheduled at fixed intervals whatever the
//!   answers do, and latency runs from the scheduled time to the end of the answer's
//!   body, so a stalled server or client shows as latency, not as fewer requests;
//! - every `--sample-secs` the process's resident memory (`VmRSS`, `VmHWM`) and the
//!   counters (accepted, processed by the pipeline, backlog) are sampled and printed.
//!
//! Accepted means stored (the 202 of ingest); processed means taken through decode,
//! rules and the analysis engine and committed (the pipeline's `records` counter). The
//! rate is sustained only if the backlog stays bounded; a run whose backlog keeps
//! growing says so, and its sustained figure is the processed rate. After the run the
//! backlog is drained (at most `--drain-secs`) with no ingest competing, which gives the
//! pipeline's own capacity.
//!
//! Everything runs in one process on one machine, so the clients' and the prober's CPU
//! comes out of the server's; the CPU time of each thread group is reported so that the
//! share is visible. Memory is the whole process's, the replay pool included.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use watchfloor_range::emit::Stream;
use watchfloor_range::generate;
use watchfloor_range::scenario::Scenario;
use watchfloor_server::MAX_BACKLOG;
use watchfloor_server::live::LiveHandle;
use watchfloor_store::{Origin, Role, TenantId, Timestamp};

use crate::bundled::SCENARIOS;
use crate::cli::UsageError;
use crate::serve::{ServeOptions, serve};

/// The targets of the server issue.
const TARGET_EVENTS_PER_SEC: f64 = 50_000.0;
const TARGET_P99_MS: f64 = 50.0;
const TARGET_QUERY_RATE: f64 = 500.0;
/// RSS counts as flat when the last sample is within this share of the first sample
/// taken after warm-up.
const FLAT_RSS_SHARE: f64 = 0.10;
/// The longest a probe may take before it counts as timed out.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// The most alert-list requests in flight; a request due while this many are waiting is
/// not sent and counts as shed, at the timeout, so a stalled server cannot make the
/// prober's own memory grow without bound.
const MAX_OUTSTANDING_PROBES: u64 = 512;
/// The longest an ingest request may take.
const INGEST_TIMEOUT: Duration = Duration::from_secs(120);

/// `watchfloor bench serve`.
#[derive(Debug, clap::Args)]
pub struct BenchServeArgs {
    /// Sigma rule files or folders the pipeline runs (repeatable); without any, the
    /// rules shipped in the binary.
    #[arg(long, value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Seconds of ingest (600 to see whether memory stays flat over ten minutes).
    #[arg(long, default_value_t = 60.0, value_name = "SECS")]
    pub duration: f64,
    /// Ingest client threads, each sending one batch at a time.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub clients: usize,
    /// Records per ingest request.
    #[arg(long, default_value_t = 5_000, value_name = "N")]
    pub batch: usize,
    /// Alert-list requests per second, scheduled open-loop (0: none).
    #[arg(long, default_value_t = 500.0, value_name = "RATE")]
    pub query_rate: f64,
    /// The bundled scenario whose Windows records are replayed
    /// (`phishing-to-file-server-theft`, `web-sqli-customer-theft`) or a scenario file.
    #[arg(long, default_value = "phishing-to-file-server-theft")]
    pub scenario: String,
    /// Simulated days generated once into the replay pool; each loop moves the dates
    /// forward by this many days (a multiple of 7 keeps weekdays).
    #[arg(long, default_value_t = 7, value_name = "DAYS")]
    pub pool_days: u32,
    /// Seconds between memory and counter samples.
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    pub sample_secs: f64,
    /// After the run, wait at most this long for the pipeline to empty the backlog
    /// (0: do not wait).
    #[arg(long, default_value_t = 120.0, value_name = "SECS")]
    pub drain_secs: f64,
    /// The data folder (must not exist; removed afterwards unless --keep-data);
    /// default: a new folder under the system's temporary folder.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Keep the data folder afterwards.
    #[arg(long)]
    pub keep_data: bool,
    /// Write the figures as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

// ---------------------------------------------------------------------------------
// The replay pool: batches of records whose dates are moved forward each loop.

/// One request's worth of records, with where the dates in it are.
#[derive(Debug)]
struct Template {
    body: Vec<u8>,
    records: usize,
    /// (byte offset of a `YYYY-MM-DD` date inside `body`, its day number).
    dates: Vec<(usize, i64)>,
}

#[derive(Debug)]
struct Pool {
    templates: Vec<Template>,
    records: usize,
    bytes: usize,
    /// Days every date moves per loop.
    shift_days: i64,
}

impl Pool {
    /// The body of batch `index` (loop `index / templates`), its record count.
    fn batch(&self, index: u64) -> (Bytes, usize) {
        let n = self.templates.len() as u64;
        let (round, at) = (index / n, (index % n) as usize);
        let template = &self.templates[at];
        let mut body = template.body.clone();
        let shift = self.shift_days.saturating_mul(round as i64);
        if shift != 0 {
            for &(offset, day) in &template.dates {
                if let Some(slot) = body.get_mut(offset..offset + 10) {
                    slot.copy_from_slice(&format_date(day + shift));
                }
            }
        }
        (Bytes::from(body), template.records)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (days since 1970-01-01).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `YYYY-MM-DD` of a day number (years 0 to 9999).
fn format_date(day: i64) -> [u8; 10] {
    let (y, m, d) = civil_from_days(day);
    let mut out = *b"0000-00-00";
    let digits = |n: i64, into: &mut [u8]| {
        let mut n = n.clamp(0, 9999);
        for slot in into.iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    digits(y, &mut out[0..4]);
    digits(m, &mut out[5..7]);
    digits(d, &mut out[8..10]);
    out
}

/// The dates that open a JSON string in `line` (`"YYYY-MM-DDT…` or `"YYYY-MM-DD …`,
/// as `@timestamp`, `UtcTime` and `CreationUtcTime` are written): (offset of the date,
/// day number).
fn find_dates(line: &[u8]) -> Vec<(usize, i64)> {
    let digit = |b: u8| b.is_ascii_digit();
    let num = |s: &[u8]| {
        s.iter()
            .fold(0i64, |n, b| n * 10 + i64::from(b.saturating_sub(b'0')))
    };
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(quote) = line[at..].iter().position(|&b| b == b'"') {
        let start = at + quote + 1;
        at = start;
        let Some(s) = line.get(start..start + 11) else {
            break;
        };
        let shaped = s[..4].iter().all(|&b| digit(b))
            && s[4] == b'-'
            && digit(s[5])
            && digit(s[6])
            && s[7] == b'-'
            && digit(s[8])
            && digit(s[9])
            && (s[10] == b'T' || s[10] == b' ');
        if !shaped {
            continue;
        }
        let (y, m, d) = (num(&s[0..4]), num(&s[5..7]), num(&s[8..10]));
        if (1..=12).contains(&m) && (1..=31).contains(&d) {
            out.push((start, days_from_civil(y, m, d)));
        }
    }
    out
}

fn load_scenario(name: &str, days: u32) -> anyhow::Result<Scenario> {
    let text = match SCENARIOS
        .iter()
        .find(|(n, _)| n.trim_end_matches(".yml") == name.trim_end_matches(".yml"))
    {
        Some((_, text)) => (*text).to_owned(),
        None => std::fs::read_to_string(name).map_err(|e| {
            UsageError(format!(
                "--scenario {name}: not a bundled scenario nor a readable file: {e}"
            ))
        })?,
    };
    let mut scenario = Scenario::from_yaml(name, &text).map_err(|e| UsageError(e.to_string()))?;
    scenario.duration = format!("{days}d");
    scenario
        .check(name)
        .map_err(|e| UsageError(format!("--pool-days {days}: {e}")))?;
    Ok(scenario)
}

/// Generates the scenario's Sysmon and Security records once and cuts them into
/// request templates of `batch` records.
fn build_pool(scenario: &Scenario, days: u32, batch: usize) -> anyhow::Result<Pool> {
    let mut templates = Vec::new();
    let mut current = Template {
        body: Vec::new(),
        records: 0,
        dates: Vec::new(),
    };
    let (mut records, mut bytes) = (0usize, 0usize);
    generate::run(scenario, scenario.seed, |hour| {
        for r in hour {
            if !matches!(r.stream, Stream::Sysmon | Stream::Security) {
                continue;
            }
            let base = current.body.len();
            current.dates.extend(
                find_dates(r.line.as_bytes())
                    .into_iter()
                    .map(|(offset, day)| (base + offset, day)),
            );
            current.body.extend_from_slice(r.line.as_bytes());
            current.body.push(b'\n');
            current.records += 1;
            records += 1;
            bytes += r.line.len() + 1;
            if current.records >= batch {
                templates.push(std::mem::replace(
                    &mut current,
                    Template {
                        body: Vec::new(),
                        records: 0,
                        dates: Vec::new(),
                    },
                ));
            }
        }
        Ok(())
    })
    .map_err(|e| anyhow::anyhow!("generating {}: {e}", scenario.name))?;
    if current.records > 0 {
        templates.push(current);
    }
    if templates.is_empty() {
        anyhow::bail!("{} has no Sysmon or Security records", scenario.name);
    }
    Ok(Pool {
        templates,
        records,
        bytes,
        shift_days: i64::from(days),
    })
}

// ---------------------------------------------------------------------------------
// Process figures.

/// `VmRSS` and `VmHWM` of this process, in KiB.
fn memory_kb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// User + system CPU seconds in a `/proc/.../stat` line.
fn stat_cpu_secs(stat: &str) -> Option<f64> {
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5); `after` starts at field 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / 100.0)
}

/// CPU seconds the calling thread has used.
fn own_cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/thread-self/stat")
        .ok()
        .and_then(|s| stat_cpu_secs(&s))
        .unwrap_or(0.0)
}

/// CPU seconds so far: the whole process, and each live thread by name.
fn cpu_snapshot() -> (f64, BTreeMap<u64, (String, f64)>) {
    let total = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| stat_cpu_secs(&s))
        .unwrap_or(0.0);
    let mut threads = BTreeMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
        for entry in dir.flatten() {
            let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
            let cpu = std::fs::read_to_string(entry.path().join("stat"))
                .ok()
                .and_then(|s| stat_cpu_secs(&s))
                .unwrap_or(0.0);
            threads.insert(tid, (comm.trim().to_owned(), cpu));
        }
    }
    (total, threads)
}

/// The group a thread's CPU time is reported under.
fn thread_group(name: &str) -> &'static str {
    if name.starts_with("watchfloor-pipe") {
        "pipeline thread"
    } else if name.starts_with("bench-client") {
        "bench ingest clients"
    } else if name.starts_with("bench-prober") {
        "bench query prober"
    } else if name.starts_with("bench-") {
        "bench driver"
    } else {
        "server (HTTP, ingest, queries, SQLite)"
    }
}

/// CPU seconds per group between two snapshots: the pipeline thread (alive
/// throughout), the bench's own threads (which report their own time as they end, in
/// `bench`), and the rest of the process, which is the server's.
fn cpu_by_group(
    before: &(f64, BTreeMap<u64, (String, f64)>),
    after: &(f64, BTreeMap<u64, (String, f64)>),
    bench: &BTreeMap<&'static str, f64>,
) -> (f64, BTreeMap<&'static str, f64>) {
    let total = after.0 - before.0;
    let mut groups = bench.clone();
    for (tid, (name, cpu)) in &after.1 {
        let group = thread_group(name);
        if group == "pipeline thread" || group == "bench driver" {
            let start = before.1.get(tid).map_or(0.0, |(_, c)| *c);
            *groups.entry(group).or_default() += cpu - start;
        }
    }
    let named: f64 = groups.values().sum();
    groups.insert(
        "server (HTTP, ingest, queries, SQLite)",
        (total - named).max(0.0),
    );
    (total, groups)
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------
// Figures.

#[derive(Clone, Debug, Serialize)]
struct Sample {
    t_s: f64,
    rss_mb: f64,
    hwm_mb: f64,
    accepted: u64,
    processed: u64,
    backlog: u64,
    /// Alert-list latency over the interval since the previous sample.
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    /// Database and WAL size.
    db_mb: f64,
}

#[derive(Clone, Debug, Default, Serialize)]
struct Latency {
    target_rate: f64,
    /// Requests scheduled, and answered 200.
    scheduled: u64,
    ok: u64,
    /// Answers other than 200 (or broken connections); requests with no answer within
    /// the timeout; requests not sent because too many were waiting. Timeouts and shed
    /// requests count in the percentiles at the timeout.
    errors: u64,
    timeouts: u64,
    shed: u64,
    achieved_rate: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
    max_ms: f64,
}

#[derive(Clone, Debug, Serialize)]
struct Figures {
    command: String,
    rules: Vec<String>,
    rule_count: usize,
    scenario: String,
    pool_records: usize,
    pool_mb: f64,
    clients: usize,
    batch: usize,
    duration_s: f64,
    accepted: u64,
    accepted_per_s: f64,
    processed: u64,
    processed_per_s: f64,
    backlog_end: u64,
    sustained: bool,
    sustained_per_s: f64,
    sustained_note: String,
    busy_answers: u64,
    ingest_errors: u64,
    first_ingest_error: Option<String>,
    ingest_latency_mean_ms: f64,
    events: u64,
    detections: u64,
    alerts_changed: u64,
    incidents_changed: u64,
    alerts_stored: Option<u64>,
    /// More alerts than the list counts (`alerts_stored` is a lower bound).
    alerts_stored_at_least: bool,
    /// The size of one answer of the alert list (50 alerts) at the end.
    alert_page_kb: Option<f64>,
    drain_s: Option<f64>,
    drained_records: u64,
    drain_per_s: Option<f64>,
    backlog_after_drain: u64,
    rss_peak_mb: f64,
    rss_end_mb: f64,
    rss_flat: Option<bool>,
    rss_growth_mb_per_min: Option<f64>,
    samples: Vec<Sample>,
    latency: Latency,
    cpu_total_s: f64,
    cpu_s_by_thread_group: BTreeMap<&'static str, f64>,
    db_mb_end: f64,
    targets: Vec<Target>,
}

#[derive(Clone, Debug, Serialize)]
struct Target {
    what: &'static str,
    met: Option<bool>,
    detail: String,
}

/// The `q` quantile of sorted values (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

// ---------------------------------------------------------------------------------
// The run.

/// What the client threads and the prober share with the driver.
#[derive(Debug, Default)]
struct Counters {
    next_batch: AtomicU64,
    accepted: AtomicU64,
    busy: AtomicU64,
    errors: AtomicU64,
    ingest_requests: AtomicU64,
    ingest_micros: AtomicU64,
    first_error: Mutex<Option<String>>,
    /// (scheduled at, seconds since start; latency in ms; answered 200).
    probes: Mutex<Vec<(f64, f64, bool)>>,
    timeouts: AtomicU64,
    shed: AtomicU64,
    /// CPU seconds of the bench's own threads, each added as it ends.
    bench_cpu: Mutex<BTreeMap<&'static str, f64>>,
}

impl Counters {
    fn add_cpu(&self, group: &'static str, secs: f64) {
        *self
            .bench_cpu
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(group)
            .or_default() += secs;
    }

    fn error(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self
            .first_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if first.is_none() {
            *first = Some(what);
        }
    }
}

struct Setup {
    tenant: TenantId,
    authorization: HeaderValue,
}

pub fn run(args: BenchServeArgs) -> anyhow::Result<()> {
    if !(args.duration.is_finite() && args.duration > 0.0) {
        return Err(UsageError("--duration must be a positive number of seconds".into()).into());
    }
    if args.clients == 0 || args.batch == 0 || args.pool_days == 0 {
        return Err(
            UsageError("--clients, --batch and --pool-days must be at least 1".into()).into(),
        );
    }
    if !(args.query_rate.is_finite() && args.query_rate >= 0.0) {
        return Err(UsageError("--query-rate must be a number ≥ 0".into()).into());
    }
    if !(args.sample_secs.is_finite() && args.sample_secs > 0.0) {
        return Err(UsageError("--sample-secs must be positive".into()).into());
    }
    for path in &args.rules {
        if !path.exists() {
            return Err(UsageError(format!("no such file or folder: {}", path.display())).into());
        }
    }
    let scenario = load_scenario(&args.scenario, args.pool_days)?;
    let started = Instant::now();
    let pool = build_pool(&scenario, args.pool_days, args.batch)?;
    eprintln!(
        "bench serve: replay pool of {} Sysmon and Security records ({:.1} MB, {} days of {}) in {} batches, made in {:.1}s",
        pool.records,
        pool.bytes as f64 / 1e6,
        args.pool_days,
        scenario.name,
        pool.templates.len(),
        started.elapsed().as_secs_f64()
    );
    let dir = match &args.data {
        Some(d) if d.exists() => {
            return Err(UsageError(format!(
                "--data {}: must not exist (the benchmark starts from an empty store)",
                d.display()
            ))
            .into());
        }
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("watchfloor-bench-serve-{}", std::process::id())),
    };
    let result = run_in(&args, &scenario, pool, &dir);
    if args.keep_data {
        eprintln!("bench serve: data kept in {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let mut figures = result?;
    // Counted after the run, so that a second copy of the rules is not in the figures.
    figures.rule_count = crate::serve::load_book(&args.rules).engine().rules().len();
    print_summary(&figures);
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&figures)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn run_in(
    args: &BenchServeArgs,
    scenario: &Scenario,
    pool: Pool,
    dir: &Path,
) -> anyhow::Result<Figures> {
    let store = Arc::new(crate::admin::open_store(dir)?);
    let origin = Origin::system("bench", Timestamp::now());
    let tenant = store.create_tenant("Bench Corp", &origin)?.id;
    let token = store.create_token(tenant, Role::Analyst, "bench", None, &origin)?;
    let mut authorization = HeaderValue::from_str(&format!("Bearer {}", token.secret.expose()))
        .context("the token as a header")?;
    authorization.set_sensitive(true);
    let setup = Arc::new(Setup {
        tenant,
        authorization,
    });
    let options = ServeOptions {
        data: dir.to_path_buf(),
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        rules: args.rules.clone(),
        syslog: Vec::new(),
        taxii: Vec::new(),
        triage_files: Default::default(),
        // Once at start; the run is shorter than this.
        retention_interval: Duration::from_secs(24 * 3600),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let outcome: Arc<Mutex<Option<anyhow::Result<Figures>>>> = Arc::new(Mutex::new(None));
    let pool = Arc::new(pool);
    let plan = Plan {
        duration: Duration::from_secs_f64(args.duration),
        clients: args.clients,
        batch: args.batch,
        query_rate: args.query_rate,
        sample_every: Duration::from_secs_f64(args.sample_secs),
        drain: Duration::from_secs_f64(args.drain_secs.max(0.0)),
        dir: dir.to_path_buf(),
    };
    let mut head = Figures {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        rules: args.rules.iter().map(|p| p.display().to_string()).collect(),
        scenario: scenario.name.clone(),
        pool_records: pool.records,
        pool_mb: pool.bytes as f64 / 1e6,
        clients: args.clients,
        batch: args.batch,
        ..Figures::empty()
    };
    if head.rules.is_empty() {
        head.rules.push("(bundled)".to_owned());
    }
    let ready_outcome = Arc::clone(&outcome);
    let ready = move |bound: SocketAddr, live: &LiveHandle| {
        let live = live.clone();
        let spawned = std::thread::Builder::new()
            .name("bench-driver".into())
            .spawn(move || {
                let figures = drive(&plan, bound, &setup, &pool, &live, head);
                *ready_outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(figures);
                let _ = done_tx.send(());
            });
        if let Err(e) = spawned {
            eprintln!("bench serve: cannot start the driver thread: {e}");
        }
    };
    let shutdown = async move {
        let _ = done_rx.await;
    };
    runtime.block_on(serve(options, Arc::clone(&store), ready, shutdown))?;
    drop(runtime);
    let taken = outcome
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    taken.unwrap_or_else(|| Err(anyhow::anyhow!("the benchmark did not run")))
}

impl Figures {
    fn empty() -> Figures {
        Figures {
            command: String::new(),
            rules: Vec::new(),
            rule_count: 0,
            scenario: String::new(),
            pool_records: 0,
            pool_mb: 0.0,
            clients: 0,
            batch: 0,
            duration_s: 0.0,
            accepted: 0,
            accepted_per_s: 0.0,
            processed: 0,
            processed_per_s: 0.0,
            backlog_end: 0,
            sustained: false,
            sustained_per_s: 0.0,
            sustained_note: String::new(),
            busy_answers: 0,
            ingest_errors: 0,
            first_ingest_error: None,
            ingest_latency_mean_ms: 0.0,
            events: 0,
            detections: 0,
            alerts_changed: 0,
            incidents_changed: 0,
            alerts_stored: None,
            alerts_stored_at_least: false,
            alert_page_kb: None,
            drain_s: None,
            drained_records: 0,
            drain_per_s: None,
            backlog_after_drain: 0,
            rss_peak_mb: 0.0,
            rss_end_mb: 0.0,
            rss_flat: None,
            rss_growth_mb_per_min: None,
            samples: Vec::new(),
            latency: Latency::default(),
            cpu_total_s: 0.0,
            cpu_s_by_thread_group: BTreeMap::new(),
            db_mb_end: 0.0,
            targets: Vec::new(),
        }
    }
}

struct Plan {
    duration: Duration,
    clients: usize,
    batch: usize,
    query_rate: f64,
    sample_every: Duration,
    drain: Duration,
    dir: PathBuf,
}

fn new_client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

fn current_thread_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting a client runtime")
}

/// One ingest client: sends batches until `deadline`.
fn ingest_client(
    url: &str,
    setup: &Setup,
    pool: &Pool,
    counters: &Counters,
    deadline: Instant,
) -> anyhow::Result<()> {
    let runtime = current_thread_runtime()?;
    let client = new_client();
    runtime.block_on(async {
        while Instant::now() < deadline {
            let index = counters.next_batch.fetch_add(1, Ordering::Relaxed);
            let (body, records) = pool.batch(index);
            loop {
                let request = Request::post(url)
                    .header(header::AUTHORIZATION, setup.authorization.clone())
                    .header(header::CONTENT_TYPE, "application/x-ndjson")
                    .body(Full::new(body.clone()))
                    .context("building a request")?;
                let sent = Instant::now();
                let answer = tokio::time::timeout(INGEST_TIMEOUT, async {
                    let response = client.request(request).await?;
                    let status = response.status();
                    let retry = response
                        .headers()
                        .get(header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok());
                    let body = response.into_body().collect().await?.to_bytes();
                    Ok::<_, Box<dyn std::error::Error + Send + Sync>>((status, retry, body))
                })
                .await;
                counters.ingest_requests.fetch_add(1, Ordering::Relaxed);
                counters
                    .ingest_micros
                    .fetch_add(sent.elapsed().as_micros() as u64, Ordering::Relaxed);
                match answer {
                    Ok(Ok((status, _, _))) if status == StatusCode::ACCEPTED => {
                        counters
                            .accepted
                            .fetch_add(records as u64, Ordering::Relaxed);
                        break;
                    }
                    Ok(Ok((status, retry, _)))
                        if status == StatusCode::TOO_MANY_REQUESTS
                            || status == StatusCode::SERVICE_UNAVAILABLE =>
                    {
                        counters.busy.fetch_add(1, Ordering::Relaxed);
                        let wait = Duration::from_secs(retry.unwrap_or(1).clamp(1, 10));
                        if Instant::now() + wait >= deadline {
                            return Ok(());
                        }
                        tokio::time::sleep(wait).await;
                    }
                    Ok(Ok((status, _, body))) => {
                        let text: String =
                            String::from_utf8_lossy(&body).chars().take(200).collect();
                        counters.error(format!("{status}: {text}"));
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        break;
                    }
                    Ok(Err(e)) => {
                        counters.error(e.to_string());
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        break;
                    }
                    Err(_) => {
                        counters.error(format!("no answer within {}s", INGEST_TIMEOUT.as_secs()));
                        break;
                    }
                }
                if Instant::now() >= deadline {
                    return Ok(());
                }
            }
        }
        Ok(())
    })
}

/// The open-loop prober: a request every `1 / rate` seconds from `start` to `deadline`,
/// each measured from its scheduled time to the end of its answer.
fn prober(
    url: &str,
    setup: &Setup,
    rate: f64,
    counters: &Arc<Counters>,
    start: Instant,
    deadline: Instant,
) -> anyhow::Result<()> {
    let runtime = current_thread_runtime()?;
    let client = new_client();
    let period = Duration::from_secs_f64(1.0 / rate);
    runtime.block_on(async {
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::from_std(start), period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        let outstanding = Arc::new(AtomicU64::new(0));
        loop {
            let scheduled = ticks.tick().await.into_std();
            if scheduled >= deadline {
                break;
            }
            if outstanding.load(Ordering::Relaxed) >= MAX_OUTSTANDING_PROBES {
                counters.shed.fetch_add(1, Ordering::Relaxed);
                let at = scheduled.duration_since(start).as_secs_f64();
                counters
                    .probes
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push((at, PROBE_TIMEOUT.as_secs_f64() * 1e3, false));
                continue;
            }
            let request = Request::get(url)
                .header(header::AUTHORIZATION, setup.authorization.clone())
                .body(Full::new(Bytes::new()))
                .context("building a request")?;
            let client = client.clone();
            let counters = Arc::clone(counters);
            let outstanding = Arc::clone(&outstanding);
            outstanding.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let answer = tokio::time::timeout(PROBE_TIMEOUT, async {
                    let response = client.request(request).await.ok()?;
                    let status = response.status();
                    response.into_body().collect().await.ok()?;
                    Some(status)
                })
                .await;
                let latency = scheduled.elapsed().as_secs_f64() * 1e3;
                let at = scheduled.duration_since(start).as_secs_f64();
                let entry = match answer {
                    Ok(Some(status)) => (at, latency, status == StatusCode::OK),
                    Ok(None) => (at, latency, false),
                    Err(_) => {
                        counters.timeouts.fetch_add(1, Ordering::Relaxed);
                        (at, PROBE_TIMEOUT.as_secs_f64() * 1e3, false)
                    }
                };
                counters
                    .probes
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(entry);
                outstanding.fetch_sub(1, Ordering::Relaxed);
            });
        }
        // Let the requests in flight finish (each has its timeout).
        let wait_until = Instant::now() + PROBE_TIMEOUT + Duration::from_secs(1);
        while outstanding.load(Ordering::Relaxed) > 0 && Instant::now() < wait_until {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    })
}

/// The latencies scheduled in `[from, to)` seconds, sorted, and how many failed.
fn window(probes: &[(f64, f64, bool)], from: f64, to: f64) -> (Vec<f64>, u64) {
    let mut v: Vec<f64> = Vec::new();
    let mut failed = 0;
    for &(at, ms, ok) in probes {
        if at >= from && at < to {
            v.push(ms);
            failed += u64::from(!ok);
        }
    }
    v.sort_by(f64::total_cmp);
    (v, failed)
}

fn drive(
    plan: &Plan,
    bound: SocketAddr,
    setup: &Arc<Setup>,
    pool: &Arc<Pool>,
    live: &LiveHandle,
    mut fig: Figures,
) -> anyhow::Result<Figures> {
    let base = format!("http://{bound}/api/v1/tenants/{}", setup.tenant.0);
    let ingest_url = format!("{base}/ingest");
    let alerts_url = format!("{base}/alerts?limit=50");
    let counters = Arc::new(Counters::default());
    let m = live.metrics();
    let processed0 = m.records.load(Ordering::Relaxed);
    let cpu0 = cpu_snapshot();
    let start = Instant::now();
    let deadline = start + plan.duration;
    eprintln!(
        "bench serve: {} clients × {} records/request → {ingest_url}; {} GET …/alerts?limit=50 per second; {:.0}s",
        plan.clients,
        plan.batch,
        plan.query_rate,
        plan.duration.as_secs_f64()
    );
    eprintln!(
        "  {:>6}  {:>8}  {:>8}  {:>11}  {:>11}  {:>9}  {:>8}  {:>8}  {:>8}",
        "t (s)",
        "RSS MB",
        "HWM MB",
        "accepted",
        "processed",
        "backlog",
        "p50 ms",
        "p99 ms",
        "db MB"
    );
    let mut samples: Vec<Sample> = Vec::new();
    let mut last_sample_t = 0.0f64;
    let take_sample = |samples: &mut Vec<Sample>, last: &mut f64| {
        let t = start.elapsed().as_secs_f64();
        let (rss, hwm) = memory_kb();
        let (p50, p99) = {
            let probes = counters
                .probes
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let (v, _) = window(&probes, *last, t);
            if v.is_empty() {
                (None, None)
            } else {
                (Some(quantile(&v, 0.5)), Some(quantile(&v, 0.99)))
            }
        };
        let s = Sample {
            t_s: t,
            rss_mb: rss as f64 / 1024.0,
            hwm_mb: hwm as f64 / 1024.0,
            accepted: counters.accepted.load(Ordering::Relaxed),
            processed: m.records.load(Ordering::Relaxed) - processed0,
            backlog: m.backlog.load(Ordering::Relaxed),
            p50_ms: p50,
            p99_ms: p99,
            db_mb: dir_bytes(&plan.dir) as f64 / 1e6,
        };
        let opt = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1}"));
        eprintln!(
            "  {:>6.1}  {:>8.1}  {:>8.1}  {:>11}  {:>11}  {:>9}  {:>8}  {:>8}  {:>8.0}",
            s.t_s,
            s.rss_mb,
            s.hwm_mb,
            s.accepted,
            s.processed,
            s.backlog,
            opt(s.p50_ms),
            opt(s.p99_ms),
            s.db_mb
        );
        *last = t;
        samples.push(s);
    };
    take_sample(&mut samples, &mut last_sample_t);
    let run: anyhow::Result<()> = std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for i in 0..plan.clients {
            let (url, setup, pool, counters) = (&ingest_url, &**setup, &**pool, &*counters);
            handles.push(
                std::thread::Builder::new()
                    .name(format!("bench-client-{i}"))
                    .spawn_scoped(scope, move || {
                        let result = ingest_client(url, setup, pool, counters, deadline);
                        counters.add_cpu("bench ingest clients", own_cpu_secs());
                        result
                    })?,
            );
        }
        if plan.query_rate > 0.0 {
            let (url, setup, counters) = (&alerts_url, &**setup, &counters);
            let rate = plan.query_rate;
            handles.push(
                std::thread::Builder::new()
                    .name("bench-prober".into())
                    .spawn_scoped(scope, move || {
                        let result = prober(url, setup, rate, counters, start, deadline);
                        counters.add_cpu("bench query prober", own_cpu_secs());
                        result
                    })?,
            );
        }
        let mut next = start + plan.sample_every;
        while Instant::now() < deadline {
            let until = next.min(deadline);
            std::thread::sleep(until.saturating_duration_since(Instant::now()));
            if Instant::now() >= next {
                take_sample(&mut samples, &mut last_sample_t);
                next += plan.sample_every;
            }
        }
        let mut result = Ok(());
        for h in handles {
            match h.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => result = Err(e),
                Err(_) => result = Err(anyhow::anyhow!("a client thread panicked")),
            }
        }
        result
    });
    run?;
    let elapsed = plan.duration.as_secs_f64();
    let cpu1 = cpu_snapshot();
    // The end of the run: what was accepted and processed in `duration`.
    let accepted = counters.accepted.load(Ordering::Relaxed);
    let processed = m.records.load(Ordering::Relaxed) - processed0;
    take_sample(&mut samples, &mut last_sample_t);
    let backlog_end = samples.last().map_or(0, |s| s.backlog);

    // Drain: the pipeline alone, no ingest competing.
    let (mut drain_s, mut drained, mut drain_per_s) = (None, 0, None);
    let mut backlog_after = backlog_end;
    if !plan.drain.is_zero() && backlog_end > 0 {
        let before = m.records.load(Ordering::Relaxed);
        let t0 = Instant::now();
        let mut quiet = 0;
        while t0.elapsed() < plan.drain {
            std::thread::sleep(Duration::from_millis(100));
            backlog_after = m.backlog.load(Ordering::Relaxed);
            quiet = if backlog_after == 0 { quiet + 1 } else { 0 };
            if quiet >= 3 {
                break;
            }
        }
        drained = m.records.load(Ordering::Relaxed) - before;
        let secs = t0.elapsed().as_secs_f64();
        drain_s = Some(secs);
        drain_per_s = Some(drained as f64 / secs.max(1e-9));
        eprintln!(
            "bench serve: drained {drained} records in {secs:.1}s ({:.0}/s), backlog now {backlog_after}",
            drained as f64 / secs.max(1e-9)
        );
    }
    // One last look at the alerts list: how many there are, how big a page is.
    let last_page = current_thread_runtime().ok().and_then(|rt| {
        rt.block_on(async {
            let request = Request::get(&alerts_url)
                .header(header::AUTHORIZATION, setup.authorization.clone())
                .body(Full::new(Bytes::new()))
                .ok()?;
            let response = new_client().request(request).await.ok()?;
            let body = response.into_body().collect().await.ok()?.to_bytes();
            let page = serde_json::from_slice::<serde_json::Value>(&body).ok()?;
            let total = page.get("total")?.as_u64()?;
            let capped = page
                .get("total_capped")
                .and_then(serde_json::Value::as_bool);
            Some(((total, capped == Some(true)), body.len()))
        })
    });

    let probes = std::mem::take(
        &mut *counters
            .probes
            .lock()
            .unwrap_or_else(PoisonError::into_inner),
    );
    let (all, failed) = window(&probes, 0.0, f64::INFINITY);
    let latency = Latency {
        target_rate: plan.query_rate,
        scheduled: all.len() as u64,
        ok: all.len() as u64 - failed,
        errors: failed.saturating_sub(
            counters.timeouts.load(Ordering::Relaxed) + counters.shed.load(Ordering::Relaxed),
        ),
        timeouts: counters.timeouts.load(Ordering::Relaxed),
        shed: counters.shed.load(Ordering::Relaxed),
        achieved_rate: all.len() as f64 / elapsed,
        p50_ms: quantile(&all, 0.5),
        p90_ms: quantile(&all, 0.9),
        p99_ms: quantile(&all, 0.99),
        p999_ms: quantile(&all, 0.999),
        max_ms: all.last().copied().unwrap_or(0.0),
    };
    let bench_cpu = counters
        .bench_cpu
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let (cpu_total, cpu_groups) = cpu_by_group(&cpu0, &cpu1, &bench_cpu);

    // Sustained: the backlog at the end is no more than what is in flight, or it did
    // not grow over the second half of the run, or it sits at the server's cap (ingest
    // refused with 429 until the pipeline caught up: then the pipeline set the pace,
    // and the backlog cannot grow past the cap by more than what is in flight). Either
    // way the sustained rate is the processed rate.
    let in_flight = (plan.clients as u64 + 1) * plan.batch as u64 * 2;
    let mid = samples
        .iter()
        .find(|s| s.t_s >= elapsed / 2.0)
        .map_or(0, |s| s.backlog);
    let grew = backlog_end.saturating_sub(mid);
    let busy = counters.busy.load(Ordering::Relaxed);
    let accepted_per_s = accepted as f64 / elapsed;
    let processed_per_s = processed as f64 / elapsed;
    let behind = backlog_end as f64 / processed_per_s.max(1e-9);
    let (sustained, sustained_note) = if backlog_end <= in_flight {
        (
            true,
            format!("sustained: backlog {backlog_end} at the end (no more than in flight)"),
        )
    } else if busy > 0 && (grew <= in_flight || backlog_end + in_flight >= MAX_BACKLOG) {
        (
            true,
            format!(
                "paced by the pipeline: the backlog sat at the server's cap ({backlog_end}, \
                 ≈ {behind:.0} s of processing behind ingest) and {busy} requests were refused \
                 with 429; the sustained rate is the processed rate"
            ),
        )
    } else if grew <= in_flight {
        (
            true,
            format!(
                "steady with a standing backlog of {backlog_end} (≈ {behind:.0} s of processing)"
            ),
        )
    } else {
        (
            false,
            format!(
                "NOT sustained: the backlog grew to {backlog_end} ({:.0} records/s over the \
                 second half): ingest accepted faster than the pipeline processed; the \
                 sustained rate is the processed rate",
                grew as f64 / (elapsed / 2.0)
            ),
        )
    };
    let (rss_end, hwm_end) = memory_kb();
    // Flatness: from the first sample after warm-up (a sixth of the run, at most 60 s)
    // to the last one.
    let warm = (elapsed / 6.0).min(60.0);
    let after_warm: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.t_s >= warm && s.t_s <= elapsed + 1.0)
        .collect();
    let (rss_flat, rss_growth) = match (after_warm.first(), after_warm.last()) {
        (Some(a), Some(b)) if b.t_s - a.t_s >= 1.0 => {
            let growth = (b.rss_mb - a.rss_mb) / ((b.t_s - a.t_s) / 60.0);
            (
                Some(b.rss_mb <= a.rss_mb * (1.0 + FLAT_RSS_SHARE)),
                Some(growth),
            )
        }
        _ => (None, None),
    };

    fig.duration_s = elapsed;
    fig.accepted = accepted;
    fig.accepted_per_s = accepted_per_s;
    fig.processed = processed;
    fig.processed_per_s = processed_per_s;
    fig.backlog_end = backlog_end;
    fig.sustained = sustained;
    fig.sustained_per_s = processed_per_s;
    fig.sustained_note = sustained_note;
    fig.busy_answers = counters.busy.load(Ordering::Relaxed);
    fig.ingest_errors = counters.errors.load(Ordering::Relaxed);
    fig.first_ingest_error = counters
        .first_error
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let requests = counters.ingest_requests.load(Ordering::Relaxed).max(1);
    fig.ingest_latency_mean_ms =
        counters.ingest_micros.load(Ordering::Relaxed) as f64 / requests as f64 / 1e3;
    fig.events = m.events.load(Ordering::Relaxed);
    fig.detections = m.detections.load(Ordering::Relaxed);
    fig.alerts_changed = m.alerts_changed.load(Ordering::Relaxed);
    fig.incidents_changed = m.incidents_changed.load(Ordering::Relaxed);
    fig.alerts_stored = last_page.map(|((n, _), _)| n);
    fig.alerts_stored_at_least = last_page.is_some_and(|((_, capped), _)| capped);
    fig.alert_page_kb = last_page.map(|(_, bytes)| bytes as f64 / 1024.0);
    fig.drain_s = drain_s;
    fig.drained_records = drained;
    fig.drain_per_s = drain_per_s;
    fig.backlog_after_drain = backlog_after;
    fig.rss_peak_mb = hwm_end as f64 / 1024.0;
    fig.rss_end_mb = rss_end as f64 / 1024.0;
    fig.rss_flat = rss_flat;
    fig.rss_growth_mb_per_min = rss_growth;
    fig.latency = latency;
    fig.cpu_total_s = cpu_total;
    fig.cpu_s_by_thread_group = cpu_groups;
    fig.db_mb_end = dir_bytes(&plan.dir) as f64 / 1e6;
    fig.samples = samples;
    fig.targets = targets(&fig);
    Ok(fig)
}

fn targets(f: &Figures) -> Vec<Target> {
    let l = &f.latency;
    let rate_ok = l.achieved_rate >= l.target_rate * 0.99 && l.target_rate >= TARGET_QUERY_RATE;
    vec![
        Target {
            what: "≥ 50,000 events/s sustained end to end",
            met: Some(f.sustained && f.sustained_per_s >= TARGET_EVENTS_PER_SEC),
            detail: format!(
                "{:.0} events/s processed ({}), {:.0}/s accepted",
                f.sustained_per_s,
                if f.sustained {
                    "sustained"
                } else {
                    "backlog growing"
                },
                f.accepted_per_s
            ),
        },
        Target {
            what: "RSS flat over 10 minutes",
            met: if f.duration_s >= 599.0 {
                f.rss_flat
            } else {
                None
            },
            detail: match (f.rss_flat, f.rss_growth_mb_per_min) {
                (Some(flat), Some(g)) => format!(
                    "{} after warm-up ({g:+.1} MB/min){}",
                    if flat { "flat" } else { "growing" },
                    if f.duration_s < 599.0 {
                        "; run too short to judge the 10-minute target"
                    } else {
                        ""
                    }
                ),
                _ => "not enough samples".to_owned(),
            },
        },
        Target {
            what: "alert list p99 < 50 ms at 500 requests/s",
            met: if l.target_rate >= TARGET_QUERY_RATE {
                Some(rate_ok && l.p99_ms < TARGET_P99_MS && l.errors + l.timeouts + l.shed == 0)
            } else {
                None
            },
            detail: format!(
                "p99 {:.1} ms at {:.0} requests/s ({} errors, {} timeouts, {} shed)",
                l.p99_ms, l.achieved_rate, l.errors, l.timeouts, l.shed
            ),
        },
    ]
}

fn print_summary(f: &Figures) {
    let l = &f.latency;
    println!("== watchfloor bench serve");
    println!(
        "rules        {} ({} rules); {} Sysmon+Security records of `{}` replayed ({:.1} MB pool)",
        f.rules.join(", "),
        f.rule_count,
        f.pool_records,
        f.scenario,
        f.pool_mb
    );
    println!(
        "load         {} clients × {} records/request for {:.0}s; alert list at {:.0}/s",
        f.clients, f.batch, f.duration_s, l.target_rate
    );
    println!(
        "ingest       accepted {} ({:.0}/s), mean request {:.0} ms, {} busy (429), {} errors{}",
        f.accepted,
        f.accepted_per_s,
        f.ingest_latency_mean_ms,
        f.busy_answers,
        f.ingest_errors,
        f.first_ingest_error
            .as_ref()
            .map_or(String::new(), |e| format!(" (first: {e})"))
    );
    println!(
        "pipeline     processed {} ({:.0}/s), backlog at the end {}; {}",
        f.processed, f.processed_per_s, f.backlog_end, f.sustained_note
    );
    if let (Some(s), Some(r)) = (f.drain_s, f.drain_per_s) {
        println!(
            "drain        {} records in {s:.1}s afterwards, no ingest ({r:.0}/s); backlog left {}",
            f.drained_records, f.backlog_after_drain
        );
    }
    println!(
        "results      {} events, {} detections, {} alert and {} incident changes, {} alerts stored \
         (a page of 50: {})",
        f.events,
        f.detections,
        f.alerts_changed,
        f.incidents_changed,
        f.alerts_stored
            .map_or("?".to_owned(), |n| if f.alerts_stored_at_least {
                format!("≥ {n}")
            } else {
                n.to_string()
            }),
        f.alert_page_kb
            .map_or("?".to_owned(), |kb| format!("{kb:.0} KB"))
    );
    let series: Vec<String> = f
        .samples
        .iter()
        .map(|s| format!("{:.0}s {:.0}", s.t_s, s.rss_mb))
        .collect();
    println!("RSS MB       {}", series.join(" · "));
    println!(
        "memory       peak {:.1} MB, end {:.1} MB{}",
        f.rss_peak_mb,
        f.rss_end_mb,
        f.rss_growth_mb_per_min
            .map_or(String::new(), |g| format!(", {g:+.1} MB/min after warm-up"))
    );
    println!(
        "alert list   {} requests ({:.0}/s): p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, p99.9 {:.1} ms, max {:.1} ms; {} errors, {} timeouts, {} shed",
        l.scheduled,
        l.achieved_rate,
        l.p50_ms,
        l.p90_ms,
        l.p99_ms,
        l.p999_ms,
        l.max_ms,
        l.errors,
        l.timeouts,
        l.shed
    );
    let cpu: Vec<String> = f
        .cpu_s_by_thread_group
        .iter()
        .map(|(k, v)| format!("{k} {v:.1}"))
        .collect();
    println!(
        "CPU s        {:.1} in all ({:.2} cores): {}",
        f.cpu_total_s,
        f.cpu_total_s / f.duration_s.max(1e-9),
        cpu.join(", ")
    );
    println!(
        "disk         {:.0} MB of database and WAL at the end",
        f.db_mb_end
    );
    println!("targets");
    for t in &f.targets {
        let verdict = match t.met {
            Some(true) => "met",
            Some(false) => "NOT met",
            None => "not judged",
        };
        println!("  {:<42} {verdict:<10} {}", t.what, t.detail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
        for day in [-1000, 0, 59, 60, 365, 20_000, 20_513, 30_000, 2_000_000] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day, "{y}-{m}-{d}");
        }
        assert_eq!(&format_date(days_from_civil(2026, 3, 2)), b"2026-03-02");
        assert_eq!(&format_date(days_from_civil(2026, 3, 2) + 7), b"2026-03-09");
        assert_eq!(
            &format_date(days_from_civil(2028, 2, 28) + 1),
            b"2028-02-29"
        );
    }

    #[test]
    fn dates_opening_strings_are_found_and_moved() {
        let line = br#"{"@timestamp":"2026-03-02T00:04:11.832Z","UtcTime":"2026-03-02 00:04:11.832","File":"2026-03-02.log","N":"2026-13-01 x"}"#;
        let dates = find_dates(line);
        assert_eq!(
            dates.iter().map(|(o, _)| *o).collect::<Vec<_>>(),
            vec![15, 52]
        );
        let body = [&line[..], b"\n"].concat();
        let pool = Pool {
            templates: vec![Template {
                body,
                records: 1,
                dates,
            }],
            records: 1,
            bytes: line.len() + 1,
            shift_days: 7,
        };
        let (first, _) = pool.batch(0);
        assert_eq!(&first[..], &[&line[..], b"\n"].concat()[..]);
        let (third, n) = pool.batch(2);
        assert_eq!(n, 1);
        let text = String::from_utf8_lossy(&third);
        assert!(
            text.contains(r#""@timestamp":"2026-03-16T00:04:11.832Z""#),
            "{text}"
        );
        assert!(
            text.contains(r#""UtcTime":"2026-03-16 00:04:11.832""#),
            "{text}"
        );
        assert!(text.contains(r#""File":"2026-03-02.log""#), "{text}");
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), 50.0);
        assert_eq!(quantile(&v, 0.99), 99.0);
        assert_eq!(quantile(&v, 1.0), 100.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
        assert_eq!(quantile(&[3.0], 0.99), 3.0);
    }

    #[test]
    fn cpu_seconds_from_stat_lines() {
        let line = "1234 (watchfloor pipe) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        assert_eq!(stat_cpu_secs(line), Some(3.0));
        assert_eq!(thread_group("watchfloor-pipe"), "pipeline thread");
        assert_eq!(
            thread_group("tokio-runtime-w"),
            "server (HTTP, ingest, queries, SQLite)"
        );
    }
}
