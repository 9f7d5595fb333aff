//! The watch-floor HTTP API — JSON under `/api/v1` over tenants, users, tokens, the audit
//! log, ingest, alerts, incidents, suppressions, rules, events and threat intelligence
//! (import, indicators, retro-hunts), TAXII 2.1 for partners under `/api/v1/taxii2/`
//! ([`taxii`]) — and the live pipeline and syslog listeners that feed it.
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

mod assets_api;
pub mod auth;
mod cases;
mod error;
mod handlers;
mod ingest;
mod intel_api;
mod intel_export;
pub mod live;
pub mod metrics;
pub mod retro;
mod routes;
mod search;
mod stream;
pub mod syslog;
pub mod taxii;
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
pub use intel_api::{FeedImport, import_stix_feed};
pub use routes::{API_PREFIX, AccessKind, HttpMethod, Operation, RouteSpec, openapi, routes};

/// The largest request body accepted (larger ones get 413), except on ingest.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub use ingest::{
    INGEST_BODY_IDLE_TIMEOUT, INGEST_BODY_TIMEOUT, MAX_BACKLOG, MAX_INFLATED_BYTES,
    MAX_INGEST_BODY_BYTES, MAX_INGEST_RECORDS,
};

/// How long a client may take to send a request's head (request line and headers),
/// and how long an idle keep-alive connection waits for its next request; then the
/// connection is closed without an answer. Bounds what a client that connects and
/// sends slowly, or nothing, can hold.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Once shutdown begins, how long requests in flight (and open event streams) may run
/// before their connections are closed.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The server's time limits on slow clients; [`Default`] gives [`HEADER_READ_TIMEOUT`],
/// [`INGEST_BODY_TIMEOUT`] and [`INGEST_BODY_IDLE_TIMEOUT`]. Tests shorten them
/// ([`AppState::with_timeouts`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// See [`HEADER_READ_TIMEOUT`]; applies to connections served by [`serve_app`].
    pub header_read: Duration,
    /// The longest an ingest body may take to arrive, first byte to last (408).
    pub ingest_body: Duration,
    /// The longest an ingest body may go without a byte arriving (408).
    pub ingest_body_idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            header_read: HEADER_READ_TIMEOUT,
            ingest_body: INGEST_BODY_TIMEOUT,
            ingest_body_idle: INGEST_BODY_IDLE_TIMEOUT,
        }
    }
}

/// What every handler shares: the store, the live sessions, and (when the pipeline
/// runs) its handle and the rules it runs.
#[derive(Clone, Debug)]
pub struct AppState {
    store: Arc<Store>,
    sessions: Arc<auth::Sessions>,
    live: Option<live::LiveHandle>,
    rules: Option<SharedRules>,
    metrics: Arc<metrics::ServerMetrics>,
    timeouts: Timeouts,
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
            timeouts: Timeouts::default(),
        }
    }

    /// The same state with other time limits on slow clients (for tests).
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> AppState {
        self.timeouts = timeouts;
        self
    }

    /// The time limits on slow clients.
    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
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

    /// Whether a pipeline runs behind the API.
    pub(crate) fn has_pipeline(&self) -> bool {
        self.live.is_some()
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
///
/// Each connection is HTTP/1.1 (keep-alive), closed when a request's head takes longer
/// than the state's [`Timeouts::header_read`] to arrive (an idle keep-alive connection
/// included), so a client that connects and sends nothing, or trickles its headers,
/// holds a connection no longer than that. When `shutdown` completes the listener
/// closes, idle connections close, and requests in flight get up to
/// [`SHUTDOWN_GRACE`] to finish; then the function returns.
pub async fn serve_app(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};

    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(state.timeouts.header_read);
    let router = app(state);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
        };
        let router = router.clone();
        let service =
            hyper::service::service_fn(move |request| serve_request(router.clone(), peer, request));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            // A connection's end (the peer left, a timeout, a malformed request) is
            // the client's business, not the server's.
            let _ = connection.await;
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        eprintln!(
            "watchfloor-server: requests still running {} s after shutdown began were cut off",
            SHUTDOWN_GRACE.as_secs()
        );
    }
    Ok(())
}

/// One request through the router, with the client's address for the audit log.
async fn serve_request(
    mut router: Router,
    peer: SocketAddr,
    mut request: axum::http::Request<hyper::body::Incoming>,
) -> Result<axum::response::Response, std::convert::Infallible> {
    use tower_service::Service;

    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(peer));
    let request = request.map(axum::body::Body::new);
    std::future::poll_fn(|cx| Service::<axum::extract::Request>::poll_ready(&mut router, cx))
        .await?;
    router.call(request).await
}

/// After a failed `accept`: errors of one connection (it was reset before it was
/// taken) are skipped; others (out of file descriptors) are logged and waited out, so
/// the loop does not spin.
async fn accept_failed(e: &std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset
    ) {
        return;
    }
    eprintln!("watchfloor-server: accept failed: {e}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
