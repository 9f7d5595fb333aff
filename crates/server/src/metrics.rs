//! `GET /metrics`: the server's counters in the Prometheus text format — ingest (HTTP
//! and syslog), the pipeline (records, events, detections, suppressed, alerts and
//! incidents written, evicted, errors, backlog) and the process's resident memory.
//! Totals over all tenants only: no tenant's name or data appears, so the route needs no
//! credentials.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::AppState;
use crate::syslog::SyslogCounters;

/// Counters kept by the HTTP side.
#[derive(Debug, Default)]
pub struct ServerMetrics {
    pub ingest_records: AtomicU64,
    pub ingest_batches: AtomicU64,
    /// Batches refused with 429 because the pipeline was behind.
    pub ingest_busy: AtomicU64,
    /// Batches refused as malformed or too large.
    pub ingest_rejected: AtomicU64,
    /// The syslog listeners' counters, when they run.
    pub syslog: std::sync::OnceLock<Arc<SyslogCounters>>,
}

fn line(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    let _ = writeln!(out, "{name} {value}");
}

/// The resident set size of this process, in bytes, where the system tells it.
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kb * 1024)
}

pub(crate) async fn render(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    let m = &state.metrics;
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    line(
        &mut out,
        "watchfloor_ingest_records_total",
        "counter",
        "Records accepted over HTTP.",
        get(&m.ingest_records),
    );
    line(
        &mut out,
        "watchfloor_ingest_batches_total",
        "counter",
        "Batches accepted over HTTP.",
        get(&m.ingest_batches),
    );
    line(
        &mut out,
        "watchfloor_ingest_busy_total",
        "counter",
        "Batches refused with 429 while the pipeline was behind.",
        get(&m.ingest_busy),
    );
    line(
        &mut out,
        "watchfloor_ingest_rejected_total",
        "counter",
        "Batches refused as malformed or too large.",
        get(&m.ingest_rejected),
    );
    if let Some(s) = m.syslog.get() {
        line(
            &mut out,
            "watchfloor_syslog_records_total",
            "counter",
            "Records received over syslog.",
            get(&s.records),
        );
        line(
            &mut out,
            "watchfloor_syslog_errors_total",
            "counter",
            "Syslog frames refused or lost.",
            get(&s.errors),
        );
        line(
            &mut out,
            "watchfloor_syslog_connections_total",
            "counter",
            "Syslog TCP connections accepted.",
            get(&s.connections),
        );
    }
    if let Some(live) = &state.live {
        let l = live.metrics();
        line(
            &mut out,
            "watchfloor_pipeline_records_total",
            "counter",
            "Records the pipeline processed.",
            get(&l.records),
        );
        line(
            &mut out,
            "watchfloor_pipeline_events_total",
            "counter",
            "Events decoded.",
            get(&l.events),
        );
        line(
            &mut out,
            "watchfloor_pipeline_decode_errors_total",
            "counter",
            "Records that failed to decode.",
            get(&l.decode_errors),
        );
        line(
            &mut out,
            "watchfloor_pipeline_detections_total",
            "counter",
            "Rule and correlation detections.",
            get(&l.detections),
        );
        line(
            &mut out,
            "watchfloor_pipeline_suppressed_total",
            "counter",
            "Detections suppressed.",
            get(&l.suppressed),
        );
        line(
            &mut out,
            "watchfloor_pipeline_disabled_total",
            "counter",
            "Matches of rules disabled for their tenant.",
            get(&l.disabled),
        );
        line(
            &mut out,
            "watchfloor_pipeline_alerts_changed_total",
            "counter",
            "Alerts written (new or changed).",
            get(&l.alerts_changed),
        );
        line(
            &mut out,
            "watchfloor_pipeline_incidents_changed_total",
            "counter",
            "Incidents written (new or changed).",
            get(&l.incidents_changed),
        );
        line(
            &mut out,
            "watchfloor_pipeline_evicted_total",
            "counter",
            "Correlation groups and entries dropped for room.",
            get(&l.evicted),
        );
        line(
            &mut out,
            "watchfloor_pipeline_errors_total",
            "counter",
            "Pipeline store errors.",
            get(&l.store_errors),
        );
        line(
            &mut out,
            "watchfloor_pipeline_batches_total",
            "counter",
            "Batches processed.",
            get(&l.batches),
        );
        line(
            &mut out,
            "watchfloor_pipeline_rule_reloads_total",
            "counter",
            "Rule reloads.",
            get(&l.rule_reloads),
        );
        line(
            &mut out,
            "watchfloor_pipeline_retro_detections_total",
            "counter",
            "Retro-hunt hits taken as detections.",
            get(&l.retro_detections),
        );
        line(
            &mut out,
            "watchfloor_pipeline_retro_past_horizon_total",
            "counter",
            "Retro-hunt detections older than the analysis engine's horizon.",
            get(&l.retro_past_horizon),
        );
        line(
            &mut out,
            "watchfloor_pipeline_backlog",
            "gauge",
            "Records stored and not yet processed (the queue depth).",
            get(&l.backlog),
        );
    }
    if let Some(rss) = rss_bytes() {
        line(
            &mut out,
            "watchfloor_resident_memory_bytes",
            "gauge",
            "Resident memory of the process.",
            rss,
        );
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}
