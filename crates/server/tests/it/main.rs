//! API tests: every request goes through the router with `oneshot`, no socket.

mod api;
mod ingest;
mod isolation;
mod support;
