//! `watchfloor range play`: generates a scenario and sends its records, paced in
//! simulated time, to a running server's ingest endpoint over HTTP.
//!
//! The generator runs on its own thread and cuts the records (in time order) into
//! batches, per stream and per window of simulated time worth one wall-clock second,
//! at most one simulated hour so the streams stay in step when the speed is high or
//! 0 (and at most [`MAX_BATCH_RECORDS`] records and [`MAX_BATCH_BYTES`] bytes); the
//! calling thread sends them one by one on a current-thread tokio runtime, waiting so
//! that no record leaves before its simulated time, scaled by the speed, has passed
//! since the start of play. Each stream goes in the form the ingest endpoint reads it
//! ([`ingest_form`]): the JSON streams as NDJSON, the others as text lines with a
//! `?format=` hint naming the decoder.
//!
//! Backpressure and failures: 429 and 503 wait `Retry-After` (default 1 s) and send the
//! same batch again; other 5xx answers and broken connections are retried a few times
//! with growing pauses; any other answer stops the play with the server's
//! `{"error": {"code", "message"}}`. A batch retried after a broken connection may have
//! been stored already, so a flaky network can duplicate records; a 5xx answer stores
//! nothing (the server appends a batch all or none).
//!
//! `http://` and `https://` (the feed client's TLS: rustls, the server's certificate
//! always verified against the built-in roots and `--ca-file`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Request, StatusCode, Uri};

use crate::feed_client::FeedClient;
use watchfloor_decode::Format;
use watchfloor_event::TenantId;
use watchfloor_range::emit::{Emitted, Stream, iso_millis};
use watchfloor_range::generate::{self, GenerateError};
use watchfloor_range::scenario::{Scenario, parse_duration};

use crate::cli::UsageError;

/// The most records one batch holds.
pub const MAX_BATCH_RECORDS: usize = 5_000;
/// The most bytes one batch body holds (the server takes up to 16 MiB); a single
/// longer record still goes, alone.
pub const MAX_BATCH_BYTES: usize = 8 * 1024 * 1024;
/// The longest span of simulated time one batch covers: one hour.
pub const MAX_WINDOW_NANOS: i64 = 3_600_000_000_000;
/// Default speed: simulated seconds per wall-clock second (one simulated hour a second).
pub const DEFAULT_SPEED: f64 = 3600.0;

/// Pauses after failed attempts (5xx, broken connections) before giving up.
const SERVER_ERROR_RETRIES: u32 = 4;
/// The longest one batch waits on 429/503 answers in all before the play gives up.
const MAX_BUSY_WAIT: Duration = Duration::from_secs(300);
/// The longest one `Retry-After` is honoured for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// The longest one request may take, answer included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Batches the generator may run ahead of the sender.
const QUEUE: usize = 8;
/// The most of an answer's body read (error bodies are small).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// `watchfloor range play`.
#[derive(Debug, clap::Args)]
pub struct RangePlayArgs {
    /// The scenario (YAML).
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,
    /// The server's base URL (`http://127.0.0.1:8080` or `https://soc.example`; a
    /// trailing `/api/v1` is accepted). Over https the server's certificate is always
    /// verified: against the built-in roots and `--ca-file`.
    #[arg(long = "to", value_name = "URL")]
    pub to: String,
    /// PEM file of CA certificates to trust besides the built-in roots, for a server
    /// behind a private CA.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// An API token that may write to the tenant (`wf_…`); default: the
    /// WATCHFLOOR_TOKEN environment variable, which keeps it out of process listings.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// The tenant id to ingest into (`POST /api/v1/tenants/ID/ingest`); without it the
    /// token's own tenant (`POST /api/v1/ingest`).
    #[arg(long, value_name = "ID")]
    pub tenant: Option<u32>,
    /// Random seed (default: the scenario's).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Simulated seconds per wall-clock second (3600: an hour a second); 0 sends as
    /// fast as the server takes it.
    #[arg(long, value_name = "X", default_value_t = DEFAULT_SPEED)]
    pub speed: f64,
    /// Simulate this long instead of the scenario's duration (`7d`; steps after the end
    /// are an error).
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Do not give the tenant the organisation's asset inventory first (it is sent, as
    /// `range run` writes it to `assets.csv`, when `--tenant` names the tenant).
    #[arg(long)]
    pub no_assets: bool,
}

/// Where records go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `http://HOST:PORT`, optionally with a path prefix or a trailing `/api/v1`.
    pub base_url: String,
    /// An API token (or session token) that may write to the tenant.
    pub token: String,
    /// The tenant; `None`: the token's own (`POST /api/v1/ingest`).
    pub tenant: Option<TenantId>,
    /// CA certificates trusted besides the built-in roots (https only).
    pub ca_file: Option<PathBuf>,
    /// Replace the tenant's asset inventory with the organisation's before playing
    /// (needs `tenant`).
    pub send_assets: bool,
}

/// How far a play has come, reported after every batch the server accepted.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// The scenario's start and end, nanoseconds since the epoch.
    pub sim_start: i64,
    pub sim_end: i64,
    /// The time of the latest record sent.
    pub sim_time: i64,
    /// Records the server accepted so far, and how many of them are labelled malicious.
    pub records: u64,
    pub malicious: u64,
    /// Batches accepted, and requests sent again (429/503, 5xx, broken connections).
    pub batches: u64,
    pub retries: u64,
    /// Wall-clock time since the first batch was due.
    pub elapsed: Duration,
}

impl Progress {
    /// The share of the simulated span sent so far, 0 to 1.
    pub fn done(&self) -> f64 {
        let span = self.sim_end.saturating_sub(self.sim_start).max(1) as f64;
        (self.sim_time.saturating_sub(self.sim_start) as f64 / span).clamp(0.0, 1.0)
    }

    /// Records per wall-clock second so far.
    pub fn rate(&self) -> f64 {
        self.records as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The totals of a finished play.
#[derive(Clone, Debug, PartialEq)]
pub struct PlaySummary {
    /// Records the server accepted, and how many of them are labelled malicious.
    pub records: u64,
    pub malicious: u64,
    /// Batches accepted, and requests sent again.
    pub batches: u64,
    pub retries: u64,
    /// Wall-clock time of the play.
    pub elapsed: Duration,
    /// Records accepted per stream, for the streams that had any, in [`Stream::ALL`]
    /// order.
    pub per_stream: Vec<(Stream, u64)>,
    /// Assets of the organisation's inventory the server took, when it was sent.
    pub assets: Option<u64>,
}

/// How one stream is sent to the ingest endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IngestForm {
    /// `application/x-ndjson` or `text/plain`.
    pub content_type: &'static str,
    /// The `?format=` hint for text lines (a [`Format::name`]).
    pub format: Option<&'static str>,
}

const NDJSON: IngestForm = IngestForm {
    content_type: "application/x-ndjson",
    format: None,
};

fn lines(format: Format) -> IngestForm {
    IngestForm {
        content_type: "text/plain; charset=utf-8",
        format: Some(format.name()),
    }
}

/// The form each stream is ingested in.
pub fn ingest_form(stream: Stream) -> IngestForm {
    match stream {
        Stream::Sysmon
        | Stream::Security
        | Stream::System
        | Stream::ZeekConn
        | Stream::ZeekDns
        | Stream::ZeekHttp
        | Stream::Suricata => NDJSON,
        Stream::LinuxAuth => lines(Format::Syslog),
        Stream::Firewall => lines(Format::Cef),
        Stream::WebAccess | Stream::Proxy => lines(Format::AccessLog),
        Stream::LinuxAudit => lines(Format::Auditd),
    }
}

/// A base URL checked and normalised to `http[s]://AUTHORITY[/prefix]` (no trailing
/// slash, a trailing `/api/v1` removed).
pub fn normalise_base_url(url: &str) -> Result<String, UsageError> {
    let text = url.trim();
    let uri: Uri = text
        .parse()
        .map_err(|_| UsageError(format!("--to `{text}` is not a URL (http://HOST:PORT)")))?;
    let scheme = match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("http") => "http",
        Some(s) if s.eq_ignore_ascii_case("https") => "https",
        _ => {
            return Err(UsageError(format!(
                "--to `{text}` must be an http:// or https:// URL (http://HOST:PORT)"
            )));
        }
    };
    let authority = uri
        .authority()
        .ok_or_else(|| UsageError(format!("--to `{text}` has no host (http://HOST:PORT)")))?;
    if uri.query().is_some() {
        return Err(UsageError(format!(
            "--to `{text}`: give the server's base URL, without a query"
        )));
    }
    let path = uri.path().trim_end_matches('/');
    let path = path.strip_suffix("/api/v1").unwrap_or(path);
    Ok(format!("{scheme}://{authority}{path}"))
}

/// The ingest URL for a normalised base: per tenant, or the token's own tenant.
pub fn ingest_url(base: &str, tenant: Option<TenantId>, format: Option<&str>) -> String {
    let mut url = match tenant {
        Some(t) => format!("{base}/api/v1/tenants/{}/ingest", t.0),
        None => format!("{base}/api/v1/ingest"),
    };
    if let Some(f) = format {
        url.push_str("?format=");
        url.push_str(f);
    }
    url
}

/// The simulated nanoseconds one batch may span at `speed`: one wall-clock second's
/// worth, at most [`MAX_WINDOW_NANOS`] (which is also the window when unpaced, speed 0).
pub fn window_nanos(speed: f64) -> i64 {
    if speed > 0.0 {
        // `as` saturates, so a huge speed gives the largest window.
        ((speed * 1e9) as i64).clamp(1, MAX_WINDOW_NANOS)
    } else {
        MAX_WINDOW_NANOS
    }
}

/// How long after the start of play a record of simulated time `time` may be sent
/// (`None`: at once, for speed 0). Records before `t0` are due at the start.
pub fn send_offset(t0: i64, time: i64, speed: f64) -> Option<Duration> {
    if speed.is_nan() || speed <= 0.0 {
        return None;
    }
    let sim_secs = time.saturating_sub(t0).max(0) as f64 / 1e9;
    Some(Duration::try_from_secs_f64(sim_secs / speed).unwrap_or(Duration::MAX))
}

/// One request's worth of records of one stream, newline-terminated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub stream: Stream,
    pub body: Vec<u8>,
    pub records: usize,
    pub malicious: u64,
    /// The latest record time in the batch (nanoseconds since the epoch).
    pub last_time: i64,
}

impl Batch {
    fn new(stream: Stream) -> Batch {
        Batch {
            stream,
            body: Vec::new(),
            records: 0,
            malicious: 0,
            last_time: i64::MIN,
        }
    }
}

/// Cuts records (fed in time order) into [`Batch`]es: one open batch per stream,
/// closed when it reaches the record or byte limit, and all of them closed when a
/// record falls into the next window of simulated time.
#[derive(Debug)]
pub struct Batcher {
    t0: i64,
    window: Option<i64>,
    max_records: usize,
    max_bytes: usize,
    current: Option<i64>,
    open: [Option<Batch>; Stream::ALL.len()],
}

impl Batcher {
    /// Windows of `window` nanoseconds counted from `t0` (`None`: no windows).
    pub fn new(t0: i64, window: Option<i64>, max_records: usize, max_bytes: usize) -> Batcher {
        Batcher {
            t0,
            window: window.map(|w| w.max(1)),
            max_records: max_records.max(1),
            max_bytes,
            current: None,
            open: std::array::from_fn(|_| None),
        }
    }

    /// Adds a record; batches it closes go to `ready`.
    pub fn push(&mut self, record: &Emitted, ready: &mut Vec<Batch>) {
        if let Some(w) = self.window {
            let k = record.time.saturating_sub(self.t0).div_euclid(w);
            if self.current.is_some_and(|c| c != k) {
                self.finish(ready);
            }
            self.current = Some(k);
        }
        let slot = &mut self.open[stream_index(record.stream)];
        let size = record.line.len() + 1;
        if slot
            .as_ref()
            .is_some_and(|b| b.records > 0 && b.body.len() + size > self.max_bytes)
        {
            ready.extend(slot.take());
        }
        let batch = slot.get_or_insert_with(|| Batch::new(record.stream));
        batch.body.extend_from_slice(record.line.as_bytes());
        batch.body.push(b'\n');
        batch.records += 1;
        batch.malicious += u64::from(record.label.is_some());
        batch.last_time = batch.last_time.max(record.time);
        if batch.records >= self.max_records {
            ready.extend(slot.take());
        }
    }

    /// Closes every open batch, in [`Stream::ALL`] order.
    pub fn finish(&mut self, ready: &mut Vec<Batch>) {
        ready.extend(self.open.iter_mut().filter_map(Option::take));
    }
}

fn stream_index(stream: Stream) -> usize {
    Stream::ALL.iter().position(|s| *s == stream).unwrap_or(0)
}

/// How long to wait on a 429/503 answer: its `Retry-After` in seconds (default 1,
/// at most [`MAX_RETRY_AFTER`]; an HTTP date counts as the default).
pub fn retry_after(value: Option<&str>) -> Duration {
    value
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(1), |s| {
            Duration::from_secs(s).min(MAX_RETRY_AFTER)
        })
}

/// The pause before retry `attempt` (1-based) after a 5xx answer or a broken
/// connection: 0.5 s, 1 s, 2 s, 4 s, … at most 8 s.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(500u64 << attempt.saturating_sub(1).min(4)).min(Duration::from_secs(8))
}

/// What to do with an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    /// 429 or 503: wait `Retry-After` and send again.
    Busy,
    /// Another 5xx: retry a few times.
    ServerError,
    /// Anything else: stop.
    Refused,
}

pub fn verdict(status: StatusCode) -> Verdict {
    if status.is_success() {
        Verdict::Accepted
    } else if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
        Verdict::Busy
    } else if status.is_server_error() {
        Verdict::ServerError
    } else {
        Verdict::Refused
    }
}

/// A server answer for people: status, and the `{"error": {"code", "message"}}` of the
/// body when it has one (else the start of the body).
pub fn describe_answer(status: StatusCode, body: &[u8]) -> String {
    let error = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            let e = v.get("error")?;
            Some((
                e.get("code")?.as_str()?.to_owned(),
                e.get("message")?.as_str()?.to_owned(),
            ))
        });
    match error {
        Some((code, message)) => format!("the server answered {status} ({code}): {message}"),
        None => {
            let text = String::from_utf8_lossy(body);
            let text: String = text.trim().chars().take(200).collect();
            if text.is_empty() {
                format!("the server answered {status}")
            } else {
                format!("the server answered {status}: {text}")
            }
        }
    }
}

/// Plays `scenario` (seeded with `seed`) into `target`: `speed` simulated seconds per
/// wall-clock second, 0 for as fast as the server takes it. `progress` hears of every
/// accepted batch. Blocks until done; call it from a thread outside any async runtime
/// (it runs its own).
pub fn play(
    scenario: &Scenario,
    seed: u64,
    target: &Target,
    speed: f64,
    progress: &mut dyn FnMut(&Progress),
) -> anyhow::Result<PlaySummary> {
    if !(speed.is_finite() && speed >= 0.0) {
        return Err(UsageError(format!("--speed must be a number ≥ 0, not {speed}")).into());
    }
    let sim_start = scenario
        .start_nanos()
        .ok_or_else(|| UsageError(format!("scenario: bad start `{}`", scenario.start)))?;
    let sim_end = parse_duration(&scenario.duration)
        .map(|d| sim_start.saturating_add(d))
        .ok_or_else(|| UsageError(format!("scenario: bad duration `{}`", scenario.duration)))?;
    let sender = Sender::new(target)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    // An empty batch checks the address, token and tenant before anything is generated.
    runtime.block_on(sender.check())?;
    let assets = match (target.send_assets, target.tenant) {
        (true, Some(tenant)) => Some(runtime.block_on(
            sender.send_inventory(tenant, watchfloor_range::inventory::assets_csv(scenario)),
        )?),
        _ => None,
    };

    let window = window_nanos(speed);
    let mut state = Progress {
        sim_start,
        sim_end,
        sim_time: sim_start,
        records: 0,
        malicious: 0,
        batches: 0,
        retries: 0,
        elapsed: Duration::ZERO,
    };
    let mut per_stream = [0u64; Stream::ALL.len()];
    let started = Instant::now();
    std::thread::scope(|scope| {
        let (tx, rx) = crossbeam_channel::bounded::<Batch>(QUEUE);
        let generator = scope.spawn(move || batches(scenario, seed, sim_start, Some(window), &tx));
        let mut sent = Ok(());
        while let Ok(batch) = rx.recv() {
            let Batch {
                stream,
                body,
                records,
                malicious,
                last_time,
            } = batch;
            let sending = async {
                if let Some(offset) = send_offset(sim_start, last_time, speed) {
                    tokio::time::sleep(offset.saturating_sub(started.elapsed())).await;
                }
                sender.send(stream, Bytes::from(body), records).await
            };
            let retries = match runtime.block_on(sending) {
                Ok(retries) => retries,
                Err(e) => {
                    sent = Err(e);
                    break;
                }
            };
            let p = &mut state;
            p.records += records as u64;
            p.malicious += malicious;
            p.batches += 1;
            p.retries += retries;
            p.sim_time = p.sim_time.max(last_time);
            p.elapsed = started.elapsed();
            per_stream[stream_index(stream)] += records as u64;
            progress(p);
        }
        // Stops the generator (its next send fails) if sending stopped early.
        drop(rx);
        let generated = generator.join();
        sent?;
        match generated {
            Ok(result) => result.map_err(|e| anyhow::anyhow!("generating {}: {e}", scenario.name)),
            Err(_) => Err(anyhow::anyhow!(
                "generating {}: the generator panicked",
                scenario.name
            )),
        }
    })?;
    Ok(PlaySummary {
        records: state.records,
        malicious: state.malicious,
        batches: state.batches,
        retries: state.retries,
        elapsed: started.elapsed(),
        per_stream: Stream::ALL
            .iter()
            .zip(per_stream)
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| (*s, n))
            .collect(),
        assets,
    })
}

/// Generates the scenario into batches on `tx` until done or the receiver is gone.
fn batches(
    scenario: &Scenario,
    seed: u64,
    t0: i64,
    window: Option<i64>,
    tx: &crossbeam_channel::Sender<Batch>,
) -> Result<(), GenerateError> {
    let stopped = || GenerateError::Scenario("the sender stopped".to_owned());
    let mut batcher = Batcher::new(t0, window, MAX_BATCH_RECORDS, MAX_BATCH_BYTES);
    let mut ready = Vec::new();
    generate::run(scenario, seed, |records| {
        for record in records {
            batcher.push(record, &mut ready);
        }
        ready
            .drain(..)
            .try_for_each(|b| tx.send(b).map_err(|_| stopped()))
    })?;
    batcher.finish(&mut ready);
    ready
        .drain(..)
        .try_for_each(|b| tx.send(b).map_err(|_| stopped()))
}

/// The HTTP side: one client (keep-alive), the base URL and the credentials.
struct Sender {
    client: FeedClient,
    base: String,
    tenant: Option<TenantId>,
    authorization: HeaderValue,
}

/// A request's answer.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Sender {
    fn new(target: &Target) -> Result<Sender, UsageError> {
        let base = normalise_base_url(&target.base_url)?;
        let token = target.token.trim();
        if token.is_empty() {
            return Err(UsageError(
                "a token is needed: --token or WATCHFLOOR_TOKEN".to_owned(),
            ));
        }
        let mut authorization = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| UsageError("the token holds characters a header cannot carry".into()))?;
        authorization.set_sensitive(true);
        Ok(Sender {
            client: crate::feed_client::client(target.ca_file.as_deref())
                .map_err(|e| UsageError(format!("{e:#}")))?,
            base,
            tenant: target.tenant,
            authorization,
        })
    }

    /// Sends an empty NDJSON batch: the server checks the token and tenant and stores
    /// nothing.
    async fn check(&self) -> anyhow::Result<()> {
        let url = ingest_url(&self.base, self.tenant, None);
        let answer = self
            .post(&url, NDJSON.content_type, Bytes::new())
            .await
            .map_err(|e| self.transport_error(&url, &e))?;
        match verdict(answer.status) {
            Verdict::Accepted => Ok(()),
            _ => Err(self.refusal(&url, &answer)),
        }
    }

    /// Sends one batch until the server accepts it; returns how many requests were
    /// sent again.
    async fn send(&self, stream: Stream, body: Bytes, records: usize) -> anyhow::Result<u64> {
        let form = ingest_form(stream);
        let url = ingest_url(&self.base, self.tenant, form.format);
        let mut retries = 0u64;
        let mut failures = 0u32;
        let mut busy = Duration::ZERO;
        loop {
            let pause = match self.post(&url, form.content_type, body.clone()).await {
                Ok(answer) => match verdict(answer.status) {
                    Verdict::Accepted => {
                        check_accepted(&answer.body, records)
                            .with_context(|| format!("POST {url}"))?;
                        return Ok(retries);
                    }
                    Verdict::Busy => {
                        let wait = retry_after(
                            answer
                                .headers
                                .get(header::RETRY_AFTER)
                                .and_then(|v| v.to_str().ok()),
                        );
                        busy += wait;
                        if busy > MAX_BUSY_WAIT {
                            return Err(self.refusal(&url, &answer).context(format!(
                                "still busy after {}s of waiting",
                                MAX_BUSY_WAIT.as_secs()
                            )));
                        }
                        wait
                    }
                    Verdict::ServerError => {
                        failures += 1;
                        if failures > SERVER_ERROR_RETRIES {
                            return Err(self.refusal(&url, &answer));
                        }
                        backoff(failures)
                    }
                    Verdict::Refused => return Err(self.refusal(&url, &answer)),
                },
                Err(e) => {
                    failures += 1;
                    if failures > SERVER_ERROR_RETRIES {
                        return Err(self.transport_error(&url, &e));
                    }
                    backoff(failures)
                }
            };
            retries += 1;
            tokio::time::sleep(pause).await;
        }
    }

    /// Replaces the tenant's asset inventory with `csv`; returns the assets the server
    /// took.
    async fn send_inventory(&self, tenant: TenantId, csv: String) -> anyhow::Result<u64> {
        let url = format!(
            "{}/api/v1/tenants/{}/assets?format=csv",
            self.base, tenant.0
        );
        let answer = self
            .post(&url, "text/csv", Bytes::from(csv))
            .await
            .map_err(|e| self.transport_error(&url, &e))?;
        if !answer.status.is_success() {
            return Err(self
                .refusal(&url, &answer)
                .context("sending the organisation's asset inventory (--no-assets skips it)"));
        }
        let value: serde_json::Value = serde_json::from_slice(&answer.body)
            .with_context(|| format!("POST {url}: the answer is not JSON"))?;
        value["assets"]
            .as_u64()
            .ok_or_else(|| anyhow::anyhow!("POST {url}: the answer does not count the assets"))
    }

    async fn post(&self, url: &str, content_type: &str, body: Bytes) -> Result<Answer, PostError> {
        let request = Request::post(url)
            .header(header::AUTHORIZATION, self.authorization.clone())
            .header(header::CONTENT_TYPE, content_type)
            .body(Full::new(body))
            .map_err(|e| PostError::Other(e.to_string()))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(PostError::from)?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| PostError::Other(format!("reading the answer: {e}")))?
                .to_bytes();
            Ok(Answer {
                status: parts.status,
                headers: parts.headers,
                body,
            })
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .unwrap_or(Err(PostError::Timeout))
    }

    /// The error for an answer that stops the play, with a hint for the usual causes.
    fn refusal(&self, url: &str, answer: &Answer) -> anyhow::Error {
        let mut text = format!(
            "POST {url}: {}",
            describe_answer(answer.status, &answer.body)
        );
        let hint = match answer.status {
            StatusCode::UNAUTHORIZED => Some("check --token (a `wf_…` API token)".to_owned()),
            StatusCode::FORBIDDEN => Some(match self.tenant {
                Some(t) => format!("the token may not write to tenant {}", t.0),
                None => "the token may not write to its tenant".to_owned(),
            }),
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED if self.tenant.is_none() => {
                Some("this server may not have POST /api/v1/ingest yet: pass --tenant".into())
            }
            _ => None,
        };
        if let Some(hint) = hint {
            text.push_str("; ");
            text.push_str(&hint);
        }
        anyhow::anyhow!(text)
    }

    fn transport_error(&self, url: &str, error: &PostError) -> anyhow::Error {
        match error {
            PostError::Connect(why) => anyhow::anyhow!(
                "cannot connect to the server at {}: {why} (is `watchfloor serve` running there?)",
                self.base
            ),
            PostError::Timeout => anyhow::anyhow!(
                "POST {url}: no answer within {}s",
                REQUEST_TIMEOUT.as_secs()
            ),
            PostError::Other(why) => anyhow::anyhow!("POST {url}: {why}"),
        }
    }
}

/// Why a request got no answer.
#[derive(Debug)]
enum PostError {
    /// The connection could not be made (refused, unreachable, unknown host).
    Connect(String),
    Timeout,
    Other(String),
}

impl From<hyper_util::client::legacy::Error> for PostError {
    fn from(e: hyper_util::client::legacy::Error) -> PostError {
        let why = if is_tls(&e) {
            crate::feed_client::describe(&e)
        } else {
            root_cause(&e)
        };
        if e.is_connect() {
            PostError::Connect(why)
        } else {
            PostError::Other(why)
        }
    }
}

/// Whether a TLS error is among the causes (a certificate refused, a handshake failed).
fn is_tls(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        // An I/O error's `source` skips the error it wraps; look at that one too.
        cause = match c
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => c.source(),
        };
    }
    false
}

/// The innermost cause of an error, which names what went wrong at the socket
/// (`Connection refused (os error 111)`).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let io_kind = cause
        .downcast_ref::<std::io::Error>()
        .map(std::io::Error::kind);
    match io_kind {
        Some(std::io::ErrorKind::ConnectionRefused) => "connection refused".to_owned(),
        _ => cause.to_string(),
    }
}

/// Checks a 2xx answer's `accepted` count against the batch (a mismatch means records
/// were lost or split).
fn check_accepted(body: &[u8], sent: usize) -> anyhow::Result<()> {
    let accepted = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("accepted")?.as_u64());
    match accepted {
        Some(n) if n == sent as u64 => Ok(()),
        Some(n) => Err(anyhow::anyhow!(
            "the server accepted {n} of the {sent} records sent"
        )),
        None => Err(anyhow::anyhow!(
            "the server's answer does not say how many records it accepted"
        )),
    }
}

/// `watchfloor range play`: loads the scenario, plays it, prints progress on standard
/// error and the totals on standard output.
pub fn run(args: RangePlayArgs) -> anyhow::Result<()> {
    let scenario = load_scenario(&args)?;
    let seed = args.seed.unwrap_or(scenario.seed);
    let token = match args.token {
        Some(t) => t,
        None => std::env::var("WATCHFLOOR_TOKEN")
            .map_err(|_| UsageError("a token is needed: --token or WATCHFLOOR_TOKEN".to_owned()))?,
    };
    let target = Target {
        base_url: args.to.clone(),
        token,
        tenant: args.tenant.map(TenantId),
        ca_file: args.ca_file.clone(),
        send_assets: !args.no_assets,
    };
    let base = normalise_base_url(&target.base_url)?;
    let shown = ingest_url(&base, target.tenant, None);
    let pace = if args.speed > 0.0 {
        format!("{}x", args.speed)
    } else {
        "as fast as possible".to_owned()
    };
    eprintln!(
        "playing {} (seed {seed}, {} from {}) into {shown}, {pace}",
        scenario.name, scenario.duration, scenario.start
    );
    let mut printer = ProgressPrinter::default();
    let summary = play(&scenario, seed, &target, args.speed, &mut |p| {
        if printer.due(p) {
            eprintln!(
                "  {}  {:>3.0}%  {:>9} records  {:>7} malicious  {:>8.0} records/s",
                iso_millis(p.sim_time),
                p.done() * 100.0,
                p.records,
                p.malicious,
                p.rate()
            );
        }
    })?;
    let secs = summary.elapsed.as_secs_f64();
    println!(
        "{}: seed {seed}, sent {} records ({} malicious) in {} batches, {} retries, {:.2}s \
         ({:.0} records/s) → {shown}",
        scenario.name,
        summary.records,
        summary.malicious,
        summary.batches,
        summary.retries,
        secs,
        summary.records as f64 / secs.max(1e-9),
    );
    for (stream, n) in &summary.per_stream {
        println!("  {n:>9}  {}", stream.file_name());
    }
    match summary.assets {
        Some(n) => println!("  asset inventory: {n} assets"),
        None if args.no_assets => {}
        None => println!("  asset inventory: not sent (it needs --tenant)"),
    }
    Ok(())
}

fn load_scenario(args: &RangePlayArgs) -> anyhow::Result<Scenario> {
    let text = std::fs::read_to_string(&args.scenario)
        .map_err(|e| UsageError(format!("{}: {e}", args.scenario.display())))?;
    let name = args.scenario.display().to_string();
    let mut scenario = Scenario::from_yaml(&name, &text).map_err(|e| UsageError(e.to_string()))?;
    if let Some(d) = &args.duration {
        scenario.duration = d.clone();
        scenario
            .check(&name)
            .map_err(|e| UsageError(format!("--duration {d}: {e}")))?;
    }
    Ok(scenario)
}

/// Decides when a progress line is printed: when a new simulated hour is reached and
/// half a second has passed since the last line, or every three seconds regardless.
#[derive(Debug, Default)]
struct ProgressPrinter {
    last: Option<(i64, Duration)>,
}

impl ProgressPrinter {
    const HOUR: i64 = 3_600_000_000_000;

    fn due(&mut self, p: &Progress) -> bool {
        let hour = p.sim_time.div_euclid(Self::HOUR);
        let due = match self.last {
            None => true,
            Some((last_hour, at)) => {
                let since = p.elapsed.saturating_sub(at);
                (hour != last_hour && since >= Duration::from_millis(500))
                    || since >= Duration::from_secs(3)
            }
        };
        if due {
            self.last = Some((hour, p.elapsed));
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr as _;

    use super::*;

    const HOUR: i64 = 3_600_000_000_000;
    const T0: i64 = 1_776_038_400_000_000_000; // 2026-04-13T00:00:00Z

    fn record(time: i64, stream: Stream, line: &str, malicious: bool) -> Emitted {
        Emitted {
            time,
            stream,
            line: line.to_owned(),
            label: malicious.then(|| watchfloor_range::emit::Label {
                step: "s".to_owned(),
                action: "a",
                technique: "T1190".to_owned(),
                stage: watchfloor_triage::attack::Stage::Intrusion,
            }),
        }
    }

    fn cut(batcher: &mut Batcher, records: &[Emitted]) -> Vec<Batch> {
        let mut ready = Vec::new();
        for r in records {
            batcher.push(r, &mut ready);
        }
        batcher.finish(&mut ready);
        ready
    }

    #[test]
    fn every_stream_has_a_form_the_endpoint_reads() {
        for stream in Stream::ALL {
            let form = ingest_form(stream);
            match form.format {
                None => assert_eq!(form.content_type, "application/x-ndjson", "{stream:?}"),
                Some(name) => {
                    assert!(form.content_type.starts_with("text/plain"), "{stream:?}");
                    let format = Format::from_str(name).ok();
                    assert!(
                        format.is_some_and(|f| f != Format::Evtx && f != Format::Json),
                        "{stream:?}: {name}"
                    );
                }
            }
        }
        assert_eq!(ingest_form(Stream::LinuxAuth).format, Some("syslog"));
        assert_eq!(ingest_form(Stream::Firewall).format, Some("cef"));
        assert_eq!(ingest_form(Stream::WebAccess).format, Some("access"));
        assert_eq!(ingest_form(Stream::Proxy).format, Some("access"));
        assert_eq!(ingest_form(Stream::LinuxAudit).format, Some("auditd"));
        assert_eq!(ingest_form(Stream::ZeekConn), NDJSON);
    }

    #[test]
    fn ndjson_streams_are_json_lines() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scenarios/web-sqli-customer-theft.yml"
        );
        let text = std::fs::read_to_string(path).expect("scenario");
        let mut scenario = Scenario::from_yaml(path, &text).expect("parses");
        scenario.duration = "5h".to_owned();
        let mut seen = [false; Stream::ALL.len()];
        generate::run(&scenario, 7, |records| {
            for r in records {
                seen[stream_index(r.stream)] = true;
                assert!(
                    !r.line.contains('\n'),
                    "{:?}: a line with a newline",
                    r.stream
                );
                if ingest_form(r.stream) == NDJSON {
                    let v: Result<serde_json::Value, _> = serde_json::from_str(&r.line);
                    assert!(v.is_ok(), "{:?}: {}", r.stream, r.line);
                }
            }
            Ok(())
        })
        .expect("generates");
        assert!(seen.iter().filter(|s| **s).count() >= 10, "{seen:?}");
    }

    #[test]
    fn base_urls_are_checked_and_normalised() {
        let ok = |u: &str| normalise_base_url(u).map_err(|e| e.0);
        assert_eq!(
            ok("http://127.0.0.1:8080"),
            Ok("http://127.0.0.1:8080".into())
        );
        assert_eq!(ok("http://h:1/"), Ok("http://h:1".into()));
        assert_eq!(ok(" http://h:1/api/v1/ "), Ok("http://h:1".into()));
        assert_eq!(ok("http://h/wf/api/v1"), Ok("http://h/wf".into()));
        assert_eq!(
            ok("HTTPS://soc.example:8443/api/v1"),
            Ok("https://soc.example:8443".into())
        );
        for bad in [
            "127.0.0.1:8080",
            "ftp://h",
            "http://h:1/?x=1",
            "",
            "not a url",
        ] {
            assert!(ok(bad).is_err(), "{bad}");
        }
        let base = "http://h:1";
        assert_eq!(
            ingest_url(base, Some(TenantId(7)), Some("cef")),
            "http://h:1/api/v1/tenants/7/ingest?format=cef"
        );
        assert_eq!(ingest_url(base, None, None), "http://h:1/api/v1/ingest");
    }

    #[test]
    fn pacing_maps_simulated_time_to_wall_time() {
        assert_eq!(
            send_offset(T0, T0 + HOUR, 3600.0),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            send_offset(T0, T0 + 90 * 1_000_000_000, 60.0),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(send_offset(T0, T0 - HOUR, 3600.0), Some(Duration::ZERO));
        assert_eq!(send_offset(T0, T0 + HOUR, 0.0), None);
        assert_eq!(send_offset(T0, i64::MAX, 1e-300), Some(Duration::MAX));
        assert_eq!(window_nanos(3600.0), HOUR);
        assert_eq!(window_nanos(1.0), 1_000_000_000);
        assert_eq!(window_nanos(0.5), 500_000_000);
        assert_eq!(window_nanos(1e-12), 1);
        assert_eq!(window_nanos(86_400.0), HOUR);
        assert_eq!(window_nanos(1e30), HOUR);
        assert_eq!(window_nanos(0.0), HOUR);
    }

    #[test]
    fn batches_follow_windows_and_streams() {
        let mut batcher = Batcher::new(T0, Some(window_nanos(3600.0)), 100, 1 << 20);
        let records = [
            record(T0 + 1, Stream::Sysmon, "{}", false),
            record(T0 + 2, Stream::Firewall, "CEF:0|a", true),
            record(T0 + 3, Stream::Sysmon, "{\"a\":1}", true),
            record(T0 + HOUR, Stream::Sysmon, "{}", false),
            record(T0 + 3 * HOUR + 5, Stream::Firewall, "CEF:0|b", false),
        ];
        let batches = cut(&mut batcher, &records);
        let shape: Vec<_> = batches
            .iter()
            .map(|b| (b.stream, b.records, b.malicious, b.last_time - T0))
            .collect();
        assert_eq!(
            shape,
            vec![
                (Stream::Sysmon, 2, 1, 3),
                (Stream::Firewall, 1, 1, 2),
                (Stream::Sysmon, 1, 0, HOUR),
                (Stream::Firewall, 1, 0, 3 * HOUR + 5),
            ]
        );
        assert_eq!(batches[0].body, b"{}\n{\"a\":1}\n");
    }

    #[test]
    fn batches_are_cut_by_count_and_size() {
        let records: Vec<_> = (0..7)
            .map(|i| record(T0 + i, Stream::WebAccess, "0123456789", false))
            .collect();
        // No windows: only the limits.
        let sizes = |max_records, max_bytes| {
            let mut batcher = Batcher::new(T0, None, max_records, max_bytes);
            cut(&mut batcher, &records)
                .iter()
                .map(|b| b.records)
                .collect::<Vec<_>>()
        };
        assert_eq!(sizes(3, 1 << 20), vec![3, 3, 1]);
        assert_eq!(sizes(100, 1 << 20), vec![7]);
        // 11 bytes a record: two fit in 22, not three.
        assert_eq!(sizes(100, 22), vec![2, 2, 2, 1]);
        // A record bigger than the limit goes alone.
        assert_eq!(sizes(100, 5), vec![1; 7]);
        let total: usize = {
            let mut batcher = Batcher::new(T0, None, MAX_BATCH_RECORDS, MAX_BATCH_BYTES);
            cut(&mut batcher, &records)
                .iter()
                .map(|b| b.body.len())
                .sum()
        };
        assert_eq!(total, 7 * 11);
    }

    #[test]
    fn answers_are_classified_and_described() {
        assert_eq!(verdict(StatusCode::ACCEPTED), Verdict::Accepted);
        assert_eq!(verdict(StatusCode::TOO_MANY_REQUESTS), Verdict::Busy);
        assert_eq!(verdict(StatusCode::SERVICE_UNAVAILABLE), Verdict::Busy);
        assert_eq!(verdict(StatusCode::BAD_GATEWAY), Verdict::ServerError);
        assert_eq!(verdict(StatusCode::UNAUTHORIZED), Verdict::Refused);
        assert_eq!(verdict(StatusCode::PAYLOAD_TOO_LARGE), Verdict::Refused);
        assert_eq!(retry_after(None), Duration::from_secs(1));
        assert_eq!(retry_after(Some(" 7 ")), Duration::from_secs(7));
        assert_eq!(retry_after(Some("3600")), MAX_RETRY_AFTER);
        assert_eq!(
            retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            Duration::from_secs(1)
        );
        let pauses: Vec<_> = (1..=6).map(|a| backoff(a).as_millis()).collect();
        assert_eq!(pauses, vec![500, 1000, 2000, 4000, 8000, 8000]);
        let body = br#"{"error":{"code":"unauthenticated","message":"invalid credentials"}}"#;
        assert_eq!(
            describe_answer(StatusCode::UNAUTHORIZED, body),
            "the server answered 401 Unauthorized (unauthenticated): invalid credentials"
        );
        assert_eq!(
            describe_answer(StatusCode::BAD_GATEWAY, b"  upstream down\n"),
            "the server answered 502 Bad Gateway: upstream down"
        );
        assert!(check_accepted(br#"{"accepted":3,"first_id":1}"#, 3).is_ok());
        assert!(check_accepted(br#"{"accepted":2,"first_id":1}"#, 3).is_err());
        assert!(check_accepted(b"ok", 3).is_err());
    }

    #[test]
    fn progress_lines_per_hour_or_every_few_seconds() {
        let mut printer = ProgressPrinter::default();
        let at = |hour: i64, millis: u64| Progress {
            sim_start: T0,
            sim_end: T0 + 10 * HOUR,
            sim_time: T0 + hour * HOUR,
            records: 1,
            malicious: 0,
            batches: 1,
            retries: 0,
            elapsed: Duration::from_millis(millis),
        };
        assert!(printer.due(&at(0, 0)));
        assert!(!printer.due(&at(0, 1000)));
        assert!(printer.due(&at(1, 1000)));
        assert!(!printer.due(&at(2, 1200)));
        assert!(printer.due(&at(2, 4000)));
        assert!(!printer.due(&at(2, 5000)));
        assert!(printer.due(&at(2, 7000)));
    }
}
