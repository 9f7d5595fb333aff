//! Benign background activity (being written).

use crate::generate::Ctx;
use crate::scenario::Scenario;

/// Generates the benign records of `[start, end)`.
pub fn hour(ctx: &mut Ctx<'_>, s: &Scenario, start: i64, end: i64) {
    let _ = (ctx, s, start, end);
}
