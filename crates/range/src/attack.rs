//! Campaign steps (being written).

use crate::generate::{Ctx, ResolvedStep};
use crate::scenario::{Scenario, Step};

/// State carried from step to step (implants, dropped files, sessions).
#[derive(Debug, Default)]
pub struct CampaignState {}

/// Generates the records of one step, starting at `r.time`.
pub fn play(
    ctx: &mut Ctx<'_>,
    s: &Scenario,
    step: &Step,
    r: &ResolvedStep,
    state: &mut CampaignState,
) {
    let _ = (ctx, s, step, r, state);
}
