//! The analysis engine: turns a flood of detections into a few explained incidents.
//!
//! Pure logic: time is passed in (event time), no IO, deterministic for a given input
//! order. The path of a detection: [`detection::Detection`] → fingerprint and dedupe into
//! an [`alert::Alert`] (or a suppression record) → enrichment (assets, ATT&CK names) →
//! score and entity risk → grouping into [`incident::Incident`]s. Every decision is
//! written to a [`explain::DecisionLog`].

pub mod alert;
pub mod assets;
pub mod attack;
pub mod detection;
pub mod engine;
pub mod explain;
pub mod incident;
pub mod risk;
pub mod suppress;
pub mod time;
pub mod warninglist;

pub use engine::{Changes, Outcome, Triage, TriageConfig, TriageError, TriageMemory, TriageStats};
