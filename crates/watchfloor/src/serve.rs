//! `watchfloor serve`: the whole watch floor in one process — the HTTP API, syslog
//! listeners, the live pipeline (decode → rules and correlations → analysis engine →
//! store), a rule-folder watcher that reloads rules when they change, and the retention
//! job — over the store in `DATA/watchfloor.db`, until Ctrl-C or SIGTERM.
//!
//! Options come from flags, or from a TOML file (`--config`) whose keys are the flags'
//! names; a flag given on the command line wins over the file. It listens on loopback by
//! default; there is no TLS yet, so a non-loopback address gets a warning. TAXII 2.1
//! collections configured as feeds (`[[taxii]]`, `--taxii`) are polled into their
//! tenants' indicators on their intervals ([`crate::taxii_poll`]).

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use watchfloor_event::FieldTable;
use watchfloor_pipeline::live::RuleBook;
use watchfloor_server::live::{Command, Live, LiveConfig, LiveHandle};
use watchfloor_server::syslog::{SyslogCounters, SyslogListener};
use watchfloor_server::{AppState, SharedRules};
use watchfloor_store::{Store, Timestamp};

use crate::admin::open_store;
use crate::cli::{ServeArgs, UsageError};
use crate::hunt::TriageFiles;
use crate::taxii_poll::{FeedConfig, FeedSpec, parse_flag};

/// Where the API listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// How often rule folders are checked for changes.
const RULE_POLL: Duration = Duration::from_secs(5);
/// Rows deleted per retention transaction.
const RETENTION_CHUNK: usize = 10_000;

/// Everything `serve` runs with, resolved from flags and the configuration file.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub data: PathBuf,
    pub listen: SocketAddr,
    /// Rule files or folders; empty: the rules shipped in the binary.
    pub rules: Vec<PathBuf>,
    pub syslog: Vec<SyslogListener>,
    /// TAXII collections polled into tenants' indicators.
    pub taxii: Vec<FeedSpec>,
    pub triage_files: TriageFiles,
    pub retention_interval: Duration,
}

/// The configuration file: the flags' names as keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    data: Option<PathBuf>,
    listen: Option<String>,
    #[serde(default)]
    rules: Vec<PathBuf>,
    #[serde(default)]
    syslog: Vec<String>,
    #[serde(default)]
    attack: Vec<PathBuf>,
    assets: Option<PathBuf>,
    warninglists: Option<PathBuf>,
    triage_config: Option<PathBuf>,
    retention_interval_secs: Option<u64>,
    #[serde(default)]
    taxii: Vec<FeedConfig>,
}

impl ServeOptions {
    /// Flags over the configuration file over the defaults; paths in the file are taken
    /// relative to the file's folder.
    pub fn from_args(args: ServeArgs) -> anyhow::Result<ServeOptions> {
        let (file, base) = match &args.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
                let file: ConfigFile = toml::from_str(&text)
                    .map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
                let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
                (file, base)
            }
            None => (ConfigFile::default(), PathBuf::new()),
        };
        let rel = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let data = args
            .data
            .or_else(|| file.data.map(&rel))
            .ok_or_else(|| UsageError("--data DIR is required (or `data` in --config)".into()))?;
        let listen = match (args.listen, file.listen) {
            (Some(a), _) => a,
            (None, Some(text)) => text
                .parse()
                .map_err(|e| UsageError(format!("listen `{text}`: {e}")))?,
            (None, None) => DEFAULT_LISTEN.parse().context("default address")?,
        };
        let pick = |flag: Vec<PathBuf>, from_file: Vec<PathBuf>| {
            if flag.is_empty() {
                from_file.into_iter().map(&rel).collect()
            } else {
                flag
            }
        };
        let rules = pick(args.rules, file.rules);
        let syslog_specs = if args.syslog.is_empty() {
            file.syslog
        } else {
            args.syslog
        };
        let syslog = syslog_specs
            .iter()
            .map(|s| {
                s.parse::<SyslogListener>()
                    .map_err(|e| UsageError(format!("--syslog {s}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let taxii = if args.taxii.is_empty() {
            file.taxii
                .into_iter()
                .map(|f| f.check(&base))
                .collect::<Result<Vec<_>, _>>()?
        } else {
            let here = PathBuf::new();
            args.taxii
                .iter()
                .map(|t| parse_flag(t).and_then(|f| f.check(&here)))
                .collect::<Result<Vec<_>, _>>()?
        };
        let triage_files = TriageFiles {
            attack: pick(args.attack, file.attack),
            assets: args.assets.or(file.assets.map(&rel)),
            warninglists: args.warninglists.or(file.warninglists.map(&rel)),
            suppressions: None,
            config: args.triage_config.or(file.triage_config.map(&rel)),
        };
        let secs = args
            .retention_interval_secs
            .or(file.retention_interval_secs)
            .unwrap_or(3600)
            .max(1);
        for path in rules.iter().chain(&triage_files.attack) {
            if !path.exists() {
                return Err(
                    UsageError(format!("no such file or folder: {}", path.display())).into(),
                );
            }
        }
        Ok(ServeOptions {
            data,
            listen,
            rules,
            syslog,
            taxii,
            triage_files,
            retention_interval: Duration::from_secs(secs),
        })
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let options = ServeOptions::from_args(args)?;
    std::fs::create_dir_all(&options.data)
        .with_context(|| format!("creating {}", options.data.display()))?;
    let store = Arc::new(open_store(&options.data)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(
        options,
        store,
        |bound, _| {
            eprintln!("watchfloor: serving http://{bound}/api/v1 (Ctrl-C to stop)");
        },
        shutdown_signal(),
    ))
}

/// Loads the rule book: the given files and folders, or the bundled rules.
pub fn load_book(paths: &[PathBuf]) -> RuleBook {
    if paths.is_empty() {
        return RuleBook::from_sources(crate::bundled::RULES);
    }
    let table = FieldTable::new();
    let loaded = crate::rules::load_rules(paths, &table, &Default::default());
    let errors = loaded.failed();
    if errors > 0 {
        eprintln!(
            "warning: {errors} rule documents failed to load (`watchfloor rules check` lists them)"
        );
    }
    RuleBook::new(loaded, table)
}

/// Runs everything until `shutdown` completes; `ready` is called once the API listens,
/// with its address and the pipeline's handle.
pub async fn serve(
    options: ServeOptions,
    store: Arc<Store>,
    ready: impl FnOnce(SocketAddr, &LiveHandle),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let book = Arc::new(load_book(&options.rules));
    eprintln!(
        "watchfloor: {} rules and {} correlations{}",
        book.engine().rules().len(),
        book.correlations().len(),
        if options.rules.is_empty() {
            " (shipped with the binary; --rules for others)"
        } else {
            ""
        }
    );
    let feeds = crate::taxii_poll::resolve_feeds(&options.taxii, &store)?;
    let template = crate::hunt::triage_engine(&options.triage_files)?;
    let factory = Arc::new(move || template.clone());
    let mut config = LiveConfig::new(Arc::clone(&book), factory);
    config.checkpoint_dir = Some(options.data.clone());
    let live = Live::start(Arc::clone(&store), config).context("starting the pipeline")?;
    let handle = live.handle();
    let shared_rules: SharedRules = Arc::new(RwLock::new(Arc::clone(&book)));
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = (!options.rules.is_empty()).then(|| {
        spawn_rule_watcher(
            options.rules.clone(),
            Arc::clone(&shared_rules),
            handle.clone(),
            Arc::clone(&stop),
        )
    });

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let state = AppState::new(Arc::clone(&store)).with_live(handle.clone(), shared_rules);
    let counters = Arc::new(SyslogCounters::default());
    let _ = state.metrics().syslog.set(Arc::clone(&counters));
    let mut tasks = Vec::new();
    for spec in &options.syslog {
        let bound = watchfloor_server::syslog::bind(spec)
            .await
            .with_context(|| format!("syslog listener {spec}"))?;
        eprintln!(
            "watchfloor: syslog {} on {} → tenant {}",
            bound.transport(),
            bound.local_addr(),
            spec.tenant.0
        );
        let run = bound.with_live(handle.clone()).run(
            Arc::clone(&store),
            Arc::clone(&counters),
            stopped(),
        );
        tasks.push(tokio::spawn(async move {
            if let Err(e) = run.await {
                eprintln!("watchfloor: syslog listener: {e}");
            }
        }));
    }
    tasks.push(tokio::spawn(retention(
        Arc::clone(&store),
        options.retention_interval,
        stopped(),
    )));
    for feed in feeds {
        tasks.push(tokio::spawn(crate::taxii_poll::run_feed(
            feed,
            Arc::clone(&store),
            handle.clone(),
            options.data.clone(),
            stopped(),
        )));
    }

    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("listening on {}", options.listen))?;
    let bound = listener.local_addr().context("reading the bound address")?;
    if !bound.ip().is_loopback() {
        eprintln!(
            "warning: listening on {bound}, beyond this machine, without TLS; \
             put a TLS-terminating proxy in front"
        );
    }
    ready(bound, &handle);
    let http = watchfloor_server::serve_app(listener, state, shutdown).await;
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = task.await;
    }
    stop.store(true, Ordering::SeqCst);
    if let Some(w) = watcher {
        let _ = w.join();
    }
    live.stop();
    http.context("serving")
}

/// Deletes what is older than each tenant's retention, now and every `every`.
async fn retention(store: Arc<Store>, every: Duration, stopped: impl Future<Output = ()>) {
    tokio::pin!(stopped);
    loop {
        let s = Arc::clone(&store);
        let report = tokio::task::spawn_blocking(move || {
            s.enforce_retention(Timestamp::now(), RETENTION_CHUNK)
        })
        .await;
        match report {
            Ok(Ok(r)) if r.total() > 0 => {
                eprintln!("watchfloor: retention deleted {} rows", r.total())
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => eprintln!("watchfloor: retention: {e}"),
            Err(e) => eprintln!("watchfloor: retention: {e}"),
        }
        tokio::select! {
            () = &mut stopped => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

/// A summary of the rule files under `paths` (names, sizes, modification times): it
/// changes when a rule file is added, removed or edited.
fn rules_fingerprint(paths: &[PathBuf]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for file in watchfloor_pipeline::rules::rule_files(paths) {
        file.hash(&mut h);
        if let Ok(meta) = std::fs::metadata(&file) {
            meta.len().hash(&mut h);
            if let Ok(t) = meta.modified() {
                t.hash(&mut h);
            }
        }
    }
    h.finish()
}

/// Reloads the rules when their files change and hands them to the pipeline.
fn spawn_rule_watcher(
    paths: Vec<PathBuf>,
    shared: SharedRules,
    live: LiveHandle,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut last = rules_fingerprint(&paths);
        while !stop.load(Ordering::SeqCst) {
            let mut waited = Duration::ZERO;
            while waited < RULE_POLL && !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(100));
                waited += Duration::from_millis(100);
            }
            let now = rules_fingerprint(&paths);
            if now == last {
                continue;
            }
            last = now;
            let book = Arc::new(load_book(&paths));
            eprintln!(
                "watchfloor: rules changed: {} rules and {} correlations reloaded",
                book.engine().rules().len(),
                book.correlations().len()
            );
            *shared
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::clone(&book);
            live.send(Command::ReplaceRules(book));
        }
    })
}

/// Completes on Ctrl-C or, on Unix, SIGTERM. If a handler cannot be installed, that
/// signal is simply not awaited (the process can still be stopped the default way).
pub async fn shutdown_signal() {
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
