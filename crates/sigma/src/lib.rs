//! Sigma rules: loading with diagnostics, compiling into matchers, and evaluating them
//! against events through [`watchfloor_event::FieldAccess`]. The crate never sees a file
//! format.
//!
//! The path of a rule: YAML text → [`load::load_str`] (the rule model of [`rule`], with
//! located [`diagnostic::Diagnostic`]s) → [`compile::compile`] (field ids, matchers,
//! condition tree, prefilter literals) → [`engine::Engine`] (indexed evaluation).

pub mod compile;
pub mod condition;
pub mod correlation;
pub mod diagnostic;
pub mod engine;
pub mod event_text;
pub mod field_test;
pub mod load;
pub mod logsource;
pub mod modifier;
pub mod pattern;
pub mod rule;
