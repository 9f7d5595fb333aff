//! The watch-floor HTTP API — JSON under `/api/v1` over tenants, users, tokens, the audit
//! log, ingest, alerts, incidents, suppressions, rules and events — and the live
//! pipeline and syslog listeners that feed it.
//!
//! Three ideas hold it together:
//!
//! - **The route table is data.** [`routes()`] lists every route with its method, path,
//!   the access it requires and a summary; the router ([`app`]) and the OpenAPI document
//!   (`GET /api/v1/openapi.json`) are both built from it, and the tenant-isolation test
//!   walks it, so a route cannot be added without declaring its access or escape the test.
//! - **Access is checked once, by the table.** A guard in front of every non-public
//!   route authenticates the caller ([`Auth`]) and asks the store's
//!   [`watchfloor_store::Access`] about the tenant in the path before the handler runs.
//! - **One error mapping.** Every failure is an [`AppError`], turned into a status and a
//!   `{"error": {"code", "message"}}` body in one place; internal causes are logged,
//!   never sent.
//!
//! Browsers authenticate with the session cookie set at login (unsafe methods need the
//! CSRF token); programs with `Authorization: Bearer` (see [`auth`]). Behind the API runs
//! the live pipeline ([`live`]): stored records in, alerts and incidents out.

pub mod auth;
mod cases;
mod error;
mod handlers;
mod ingest;
pub mod live;
pub mod metrics;
mod routes;
mod search;
mod stream;
pub mod syslog;
mod tuning;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use watchfloor_store::{Store, StoreError};

pub use auth::Auth;
pub use error::AppError;
pub use routes::{API_PREFIX, AccessKind, HttpMethod, Operation, RouteSpec, openapi, routes};

/// The largest request body accepted (larger ones get 413), except on ingest.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub use ingest::{MAX_INFLATED_BYTES, MAX_INGEST_BODY_BYTES, MAX_INGEST_RECORDS};

/// What every handler shares: the store, the live sessions, and (when the pipeline
/// runs) its handle and the rules it runs.
#[derive(Clone, Debug)]
pub struct AppState {
    store: Arc<Store>,
    sessions: Arc<auth::Sessions>,
    live: Option<live::LiveHandle>,
    rules: Option<SharedRules>,
    metrics: Arc<metrics::ServerMetrics>,
}

/// The rules the pipeline runs, replaced when the rule folders change.
pub type SharedRules = Arc<std::sync::RwLock<Arc<watchfloor_pipeline::live::RuleBook>>>;

impl AppState {
    /// State over `store` with sessions of [`auth::SESSION_TTL`].
    pub fn new(store: Arc<Store>) -> AppState {
        AppState::with_session_ttl(store, auth::SESSION_TTL)
    }

    /// State whose sessions last `ttl` (for tests of expiry).
    pub fn with_session_ttl(store: Arc<Store>, ttl: Duration) -> AppState {
        AppState {
            store,
            sessions: Arc::new(auth::Sessions::new(ttl)),
            live: None,
            rules: None,
            metrics: Arc::new(metrics::ServerMetrics::default()),
        }
    }

    /// The same state, with the running pipeline and its rules.
    pub fn with_live(mut self, live: live::LiveHandle, rules: SharedRules) -> AppState {
        self.live = Some(live);
        self.rules = Some(rules);
        self
    }

    /// The HTTP side's counters (the syslog listeners' go in too).
    pub fn metrics(&self) -> &Arc<metrics::ServerMetrics> {
        &self.metrics
    }

    /// Passes a command to the pipeline, if one runs.
    pub(crate) fn tell(&self, command: live::Command) {
        if let Some(live) = &self.live {
            live.send(command);
        }
    }

    /// The rules the pipeline runs now, if it runs.
    pub(crate) fn rule_book(&self) -> Option<Arc<watchfloor_pipeline::live::RuleBook>> {
        let rules = self.rules.as_ref()?;
        let book = rules
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Some(Arc::clone(&book))
    }

    /// Tells the pipeline that records are waiting.
    pub(crate) fn wake_pipeline(&self) {
        if let Some(live) = &self.live {
            live.wake();
        }
    }

    /// Runs a store operation on the blocking pool: SQLite and argon2 block, and must
    /// not stall the async worker threads.
    pub(crate) async fn run<T, F>(&self, op: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || op(&store))
            .await
            .map_err(AppError::internal)?
            .map_err(AppError::from)
    }
}

/// The API's router: every route of [`routes()`], bodies limited to [`MAX_BODY_BYTES`]
/// (ingest reads its own body, up to [`MAX_INGEST_BODY_BYTES`]), unknown paths answered
/// 404 in the error shape.
pub fn app(state: AppState) -> Router {
    routes::router(&state)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn not_found() -> AppError {
    AppError::NotFound("route".to_owned())
}

/// Serves the API on `addr` until `shutdown` completes, then finishes the requests in
/// flight. Client addresses reach the audit log as each change's source.
pub async fn serve(
    store: Arc<Store>,
    addr: SocketAddr,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    serve_on(listener, store, shutdown).await
}

/// [`serve`] on a listener already bound (to learn the port of `127.0.0.1:0` first).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    store: Arc<Store>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_app(listener, AppState::new(store), shutdown).await
}

/// Serves the API with `state` (the store and, when it runs, the live pipeline) on a
/// bound listener until `shutdown` completes.
pub async fn serve_app(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service = app(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}
