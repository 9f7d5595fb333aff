//! The watch-floor HTTP API: JSON under `/api/v1` over the store's tenants, users, API
//! tokens and audit log.
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
//! Sessions in this slice are short-lived bearer tokens held in memory (see [`auth`]);
//! cookie sessions with CSRF protection for the console come later.

pub mod auth;
mod error;
mod handlers;
mod ingest;
mod routes;

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

/// What every handler shares: the store and the live sessions.
#[derive(Clone, Debug)]
pub struct AppState {
    store: Arc<Store>,
    sessions: Arc<auth::Sessions>,
}

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
    let service = app(AppState::new(store)).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}
