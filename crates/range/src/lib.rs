//! The cyber range: a simulated company's telemetry with attack campaigns played
//! through it and ground truth for every record, for training analysts and for
//! measuring the detection and analysis engines.
//!
//! A [`scenario::Scenario`] (YAML) describes the organisation, its background activity
//! and the campaign; [`generate`] turns it, for a seed, into [`emit::Emitted`] records in
//! the formats the decoders read, each labelled benign or with its campaign step;
//! [`score`] compares detections against those labels; [`inventory`] writes the
//! organisation's asset inventory for the analysis engine. [`linux`] models the programs
//! Linux hosts start, which their audit logs record, for the background and the
//! campaign alike.

pub mod attack;
pub mod background;
pub mod emit;
pub mod generate;
pub mod grade;
pub mod inventory;
pub mod linux;
pub mod net;
pub mod scenario;
pub mod score;
pub mod windows;
pub mod world;
