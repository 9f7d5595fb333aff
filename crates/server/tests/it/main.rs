//! API tests: every request goes through the router with `oneshot`, no socket (but
//! `bad_input`'s slow clients, which need the real server on a loopback port).

mod api;
mod assets;
mod bad_input;
mod ingest;
mod intel;
mod intel_export;
mod isolation;
mod live;
mod retro;
mod support;
