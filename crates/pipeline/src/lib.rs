//! Events to incidents, shared by `hunt` and the server.
//!
//! - [`beacon`] finds machines calling an outside destination at regular intervals
//!   (command-and-control check-ins) in the connections the logs record;
//! - [`rules`] loads Sigma rule files into compiled rules and a correlation engine (the
//!   only module here that reads files);
//! - [`detect`] evaluates the rules on decoded events and turns each match into a
//!   [`detect::DetectionRow`] carrying the entities it is about ([`entities`]);
//! - [`correlate`] turns correlation matches into rows too;
//! - [`intel_match`] checks events against indicators (addresses, names, URLs, hashes,
//!   e-mail addresses, user agents, JA3) and turns each hit into a row too, with
//!   `Origin::Indicator` for the analysis engine;
//! - [`live`] is the server's per-tenant processor: a batch of stored raw records in,
//!   decoded, detected, correlated and taken through the analysis engine, and out what
//!   to store (each record's metadata, the alerts and incidents that changed). Pure: no
//!   IO, time comes from the events;
//! - [`web_attack`] and [`web_scan`] read web server requests for attacks and for
//!   scanning; [`remote_exec`] finds processes started inside a remote caller's network
//!   logon session (lateral movement); [`dns_tunnel`] finds bursts of encoded names
//!   under one rarely asked domain (tunnels and exfiltration over DNS);
//!   [`cloud_creds`] finds EC2 instance credentials used where a person works;
//! - [`retro`] turns a retro-hunt's hits on stored records into the same indicator
//!   rows, at the records' times, which [`live::Processor::retro`] takes through the
//!   tenant's analysis engine.

pub mod beacon;
pub mod cloud_creds;
pub mod correlate;
pub mod detect;
pub mod dns_tunnel;
pub mod entities;
pub mod intel_match;
pub mod live;
pub mod remote_exec;
pub mod retro;
pub mod rules;
#[cfg(test)]
mod test_support;
pub mod web_attack;
pub mod web_scan;
