//! `watchfloor serve`: runs the HTTP API over the store in `DIR/watchfloor.db` until
//! Ctrl-C or SIGTERM, then lets the requests in flight finish.
//!
//! It listens on loopback by default; there is no TLS yet, so a non-loopback address
//! gets a warning.

use std::sync::Arc;

use anyhow::Context;

use crate::admin::open_store;
use crate::cli::ServeArgs;

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let store = Arc::new(open_store(&args.data)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let bound = listener.local_addr().context("reading the bound address")?;
        if !bound.ip().is_loopback() {
            eprintln!(
                "warning: listening on {bound}, beyond this machine, without TLS; \
                 put a TLS-terminating proxy in front"
            );
        }
        eprintln!("watchfloor: serving http://{bound}/api/v1 (Ctrl-C to stop)");
        watchfloor_server::serve_on(listener, store, shutdown_signal())
            .await
            .context("serving")
    })
}

/// Completes on Ctrl-C or, on Unix, SIGTERM. If a handler cannot be installed, that
/// signal is simply not awaited (the process can still be stopped the default way).
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    eprintln!("watchfloor: shutting down");
}
