//! Sigma rules: loading with diagnostics, compiling into matchers, and evaluating them
//! against events through [`watchfloor_event::FieldAccess`]. The crate never sees a file
//! format.
