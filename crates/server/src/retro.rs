//! Retro-hunt hits as detections: what a retro-hunt hands the pipeline, and what the
//! pipeline answers.
//!
//! The retro-hunt handler ([`crate::intel_api`]) scans a tenant's stored records for its
//! indicators. Each (record, indicator) pair it finds is offered to a [`RetroQueue`],
//! which asks the store where the pair stands ([`Store::indicator_hit_states`]) once per
//! scanned batch, and keeps only the pairs that never became a detection:
//!
//! - a pair already taken — matched live when the record was processed, or by an
//!   earlier retro-hunt — is left (`already_taken`), so hunting twice never counts a
//!   hit twice: the store keeps every pair that became a detection, live or retro,
//!   committed with the alerts it made;
//! - a record the pipeline has not processed yet is left to it (`unprocessed`): it
//!   matches the record live, with the indicators it reloaded after the import;
//! - at most [`MAX_RETRO_DETECTIONS`] pairs go per hunt; the rest are counted
//!   (`not_queued`) and a later hunt takes them, since what was taken is known.
//!
//! The kept hits go to the pipeline thread as one [`RetroJob`]
//! ([`crate::live::Command::RetroHunt`]). There they become indicator detections at
//! their records' times (`watchfloor_pipeline::retro`), marked as a retro-hunt's, go
//! through the tenant's analysis engine, and the alerts and incidents they changed are
//! committed with the pairs in one transaction, as a batch is (announcements, metrics
//! and the alert list see them). The pipeline checks the pairs again before it takes
//! them, so two hunts at once, or a hunt racing live matching, still count a pair once.
//! The handler waits up to [`RETRO_WAIT`] for the pipeline's [`RetroReport`].

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::oneshot;
use watchfloor_intel::{IndicatorId, Intel};
use watchfloor_pipeline::intel_match::HitSummary;
use watchfloor_pipeline::retro::RetroHit;
use watchfloor_store::{
    HitState, IndicatorHitRow, ScanRecord, Store, StoreError, TenantId, Timestamp,
};

use crate::AppState;
use crate::live::Command;

/// The most detections one retro-hunt hands the pipeline.
pub const MAX_RETRO_DETECTIONS: usize = 10_000;
/// How long a retro-hunt answer waits for the pipeline to store its detections.
pub const RETRO_WAIT: Duration = Duration::from_secs(30);

/// A retro-hunt's hits for the pipeline thread.
#[derive(Debug)]
pub struct RetroJob {
    pub tenant: TenantId,
    pub hits: Vec<RetroHit>,
    /// Where the report goes (`None` in it: the pipeline could not store the
    /// detections; nothing of them was kept, so a new hunt takes them again).
    pub reply: Option<oneshot::Sender<Option<RetroReport>>>,
}

/// What the pipeline did with a [`RetroJob`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RetroReport {
    /// Hits received.
    pub received: u64,
    /// Taken through the analysis engine as detections.
    pub detections: u64,
    /// Of those, held back by a suppression or a warninglist.
    pub suppressed: u64,
    /// Of those, older than the analysis engine's horizon before its latest time: their
    /// alerts are stored, but the engine forgets them at its next sweep (a later repeat
    /// makes a new alert).
    pub past_horizon: u64,
    /// Left: taken meanwhile (live, or by another hunt).
    pub already_taken: u64,
    /// Left: the record is waiting for the pipeline, which matches it live.
    pub unprocessed: u64,
    /// Left: the record is gone (retention).
    pub no_record: u64,
    pub alerts_changed: u64,
    pub incidents_changed: u64,
}

impl RetroReport {
    /// Counts a stored pair's state: `true` when it is to be taken.
    pub(crate) fn sort(&mut self, state: HitState) -> bool {
        match state {
            HitState::New => return true,
            HitState::Taken => self.already_taken += 1,
            HitState::Unprocessed => self.unprocessed += 1,
            HitState::NoRecord => self.no_record += 1,
        }
        false
    }
}

/// The hits of one retro-hunt on their way to the pipeline (see the module
/// documentation).
#[derive(Debug, Default)]
pub(crate) struct RetroQueue {
    /// The indicators' summaries, made once each.
    summaries: HashMap<IndicatorId, Option<HitSummary>>,
    /// Offered since the last [`RetroQueue::settle`].
    offered: Vec<RetroHit>,
    /// To send.
    pub queued: Vec<RetroHit>,
    /// Left, and why.
    pub left: RetroReport,
    /// Left for the bound.
    pub not_queued: u64,
}

impl RetroQueue {
    /// Offers one hit of indicator `id` (store id `indicator`) on `record`, whose text
    /// matched as `matched`; `at` is when the hunt runs (whose valid attributions the
    /// detection carries, as the scan matched with them).
    pub fn offer(
        &mut self,
        intel: &Intel,
        id: IndicatorId,
        indicator: i64,
        record: &ScanRecord,
        matched: &str,
        at: Timestamp,
    ) {
        let Some(view) = intel.get(id) else { return };
        let summary = self
            .summaries
            .entry(id)
            .or_insert_with(|| HitSummary::of(&view, at));
        let Some(summary) = summary.clone() else {
            return;
        };
        self.offered.push(RetroHit {
            record: record.id,
            indicator,
            time: record.time,
            host: record.host.clone(),
            user: record.user.clone(),
            kind: view.kind,
            value: view.value.to_owned(),
            matched: matched.to_owned(),
            summary,
        });
    }

    /// Asks the store about the hits offered since the last call and keeps the new ones
    /// (up to [`MAX_RETRO_DETECTIONS`] in all).
    pub fn settle(&mut self, store: &Store, tenant: TenantId) -> Result<(), StoreError> {
        if self.offered.is_empty() {
            return Ok(());
        }
        let offered = std::mem::take(&mut self.offered);
        let pairs: Vec<IndicatorHitRow> = offered.iter().map(pair_of).collect();
        let states = store.indicator_hit_states(tenant, &pairs)?;
        for (hit, state) in offered.into_iter().zip(states) {
            if !self.left.sort(state) {
                continue;
            }
            if self.queued.len() < MAX_RETRO_DETECTIONS {
                self.queued.push(hit);
            } else {
                self.not_queued += 1;
            }
        }
        Ok(())
    }
}

/// The store's pair of a hit.
pub(crate) fn pair_of(hit: &RetroHit) -> IndicatorHitRow {
    IndicatorHitRow {
        record: hit.record,
        indicator: hit.indicator,
    }
}

/// What became of a retro-hunt's hits as detections, in its answer.
#[derive(Debug, Serialize)]
pub(crate) struct Detections {
    /// `stored` (the pipeline committed them; `pipeline` says how), `pending` (it did
    /// not answer within [`RETRO_WAIT`]; it still takes them), `failed` (it could not
    /// store them; a new hunt takes them again), `none` (nothing to send), or
    /// `no_pipeline` (no pipeline runs: hits are not turned into alerts).
    status: &'static str,
    /// Hits sent to the pipeline.
    pub queued: usize,
    /// Hits left before sending: already taken (live or by an earlier hunt), records
    /// not processed yet (the pipeline matches them live).
    already_taken: u64,
    unprocessed: u64,
    /// New hits past [`MAX_RETRO_DETECTIONS`], left for a later hunt.
    not_queued: u64,
    max_queued: usize,
    pipeline: Option<RetroReport>,
}

/// Hands the queued hits to the pipeline and waits (up to [`RETRO_WAIT`]) for its
/// report.
pub(crate) async fn send_detections(
    state: &AppState,
    tenant: TenantId,
    queue: RetroQueue,
    alerting: bool,
) -> Detections {
    let mut d = Detections {
        status: if alerting { "none" } else { "no_pipeline" },
        queued: queue.queued.len(),
        already_taken: queue.left.already_taken,
        unprocessed: queue.left.unprocessed,
        not_queued: queue.not_queued,
        max_queued: MAX_RETRO_DETECTIONS,
        pipeline: None,
    };
    if queue.queued.is_empty() {
        return d;
    }
    let (reply, answer) = tokio::sync::oneshot::channel();
    state.tell(Command::RetroHunt(RetroJob {
        tenant,
        hits: queue.queued,
        reply: Some(reply),
    }));
    d.status = match tokio::time::timeout(RETRO_WAIT, answer).await {
        Ok(Ok(Some(report))) => {
            d.pipeline = Some(report);
            "stored"
        }
        Ok(Ok(None)) => "failed",
        // The pipeline stopped (shutdown) before it answered.
        Ok(Err(_)) => "failed",
        Err(_) => "pending",
    };
    d
}
