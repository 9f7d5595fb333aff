//! `watchfloor demo`: the watch floor on a fresh machine, nothing else installed.
//!
//! It serves from a temporary data folder with a demo tenant, an administrator, an
//! analyst and a customer (random passwords, printed once), plays a bundled range
//! scenario into the HTTP ingest endpoint in accelerated time, and prints a line per
//! incident the pipeline opens or escalates, until Ctrl-C (or, with
//! `--exit-when-done`, once the scenario is played and processed).
//!
//! `watchfloor demo --offline` instead hunts the sample logs shipped in the binary with
//! the bundled rules, without a server.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use watchfloor_range::scenario::Scenario;
use watchfloor_server::live::LiveHandle;
use watchfloor_store::{NewUser, Origin, Password, Role, Store, TenantId, Timestamp};

use crate::bundled::{RULES, SAMPLES, SCENARIOS};
use crate::cli::{DemoArgs, OutputFormat, UsageError};
use crate::hunt::{self, HuntConfig};
use crate::play::{self, Target};
use crate::serve::{ServeOptions, serve, shutdown_signal};

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    if args.offline {
        return offline();
    }
    let scenario_text = match SCENARIOS
        .iter()
        .find(|(name, _)| name.trim_end_matches(".yml") == args.scenario.trim_end_matches(".yml"))
    {
        Some((_, text)) => (*text).to_owned(),
        None => std::fs::read_to_string(&args.scenario).map_err(|e| {
            let names: Vec<&str> = SCENARIOS
                .iter()
                .map(|(n, _)| n.trim_end_matches(".yml"))
                .collect();
            UsageError(format!(
                "--scenario {}: not a bundled scenario ({}) nor a readable file: {e}",
                args.scenario,
                names.join(", ")
            ))
        })?,
    };
    let scenario = Scenario::from_yaml(&args.scenario, &scenario_text)
        .map_err(|e| UsageError(e.to_string()))?;
    let dir = std::env::temp_dir().join(format!("watchfloor-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let result = run_server(&args, scenario, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The demo's people and the player's token.
struct Cast {
    tenant: TenantId,
    logins: Vec<(&'static str, &'static str, String)>,
    token: String,
}

fn random_password() -> anyhow::Result<String> {
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("random source: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn cast(store: &Store) -> anyhow::Result<Cast> {
    let origin = Origin::system("demo", Timestamp::now());
    let tenant = store.create_tenant("Demo Corp", &origin)?.id;
    let mut logins = Vec::new();
    for (login, role, what) in [
        ("admin", Role::Admin, "administrator"),
        ("analyst", Role::Analyst, "analyst of Demo Corp"),
        (
            "customer",
            Role::Customer,
            "Demo Corp's customer view (read-only)",
        ),
    ] {
        let password = random_password()?;
        let tenants = if role == Role::Admin {
            vec![]
        } else {
            vec![tenant]
        };
        store.create_user(
            &NewUser {
                login: login.to_owned(),
                display_name: login.to_owned(),
                role,
                tenants,
                password: Password::new(password.clone()),
            },
            &origin,
        )?;
        logins.push((login, what, password));
    }
    let token = store.create_token(tenant, Role::Analyst, "range player", None, &origin)?;
    Ok(Cast {
        tenant,
        logins,
        token: token.secret.expose().to_owned(),
    })
}

/// The demo's address: the one asked for, or any free loopback port when it is taken.
fn pick_listen(wanted: SocketAddr) -> SocketAddr {
    match std::net::TcpListener::bind(wanted) {
        Ok(_) => wanted,
        Err(_) => {
            eprintln!("watchfloor: {wanted} is in use; taking a free port");
            SocketAddr::from(([127, 0, 0, 1], 0))
        }
    }
}

fn run_server(args: &DemoArgs, scenario: Scenario, dir: &Path) -> anyhow::Result<()> {
    let store = Arc::new(crate::admin::open_store(dir)?);
    let cast = cast(&store)?;
    let options = ServeOptions {
        data: dir.to_path_buf(),
        listen: pick_listen(args.listen),
        rules: args.rules.clone(),
        syslog: Vec::new(),
        taxii: Vec::new(),
        triage_files: Default::default(),
        retention_interval: Duration::from_secs(3600),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let exit_when_done = args.exit_when_done;
    let speed = args.speed;
    let seed = args.seed.unwrap_or(scenario.seed);
    let cast = Arc::new(cast);
    let ready_cast = Arc::clone(&cast);
    let ready = move |bound: SocketAddr, live: &LiveHandle| {
        introduce(bound, &ready_cast, &scenario, speed);
        spawn_announcer(live.clone());
        let target = Target {
            base_url: format!("http://{bound}"),
            token: ready_cast.token.clone(),
            tenant: Some(ready_cast.tenant),
            ca_file: None,
            send_assets: true,
        };
        let live = live.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            match play::play(&scenario, seed, &target, speed, &mut |_| {}) {
                Ok(summary) => {
                    wait_processed(&live);
                    println!(
                        "\n== Scenario played: {} records ({} malicious) in {:.0} s; everything processed.",
                        summary.records,
                        summary.malicious,
                        started.elapsed().as_secs_f64()
                    );
                    println!(
                        "   Incidents: curl -s -H 'Authorization: Bearer {}' {}/api/v1/tenants/{}/incidents",
                        target.token, target.base_url, ready_cast.tenant.0
                    );
                }
                Err(e) => eprintln!("watchfloor: playing the scenario: {e:#}"),
            }
            if exit_when_done {
                let _ = done_tx.send(());
            } else {
                println!(
                    "   The server keeps running: Ctrl-C to stop (the data folder is removed)."
                );
            }
        });
    };
    let shutdown = async move {
        if exit_when_done {
            let _ = done_rx.await;
        } else {
            shutdown_signal().await;
        }
    };
    runtime.block_on(serve(options, store, ready, shutdown))
}

fn introduce(bound: SocketAddr, cast: &Cast, scenario: &Scenario, speed: f64) {
    println!("== watchfloor demo");
    println!("   API:      http://{bound}/api/v1   (OpenAPI: /api/v1/openapi.json)");
    println!("   Tenant:   Demo Corp (id {})", cast.tenant.0);
    for (login, what, password) in &cast.logins {
        println!("   Login:    {login:<9} / {password}   ({what})");
    }
    println!("   Token:    {}   (analyst, Demo Corp)", cast.token);
    let pace = if speed > 0.0 {
        format!("{speed:.0}× real time")
    } else {
        "as fast as possible".to_owned()
    };
    println!(
        "   Playing:  {} ({}), {pace}\n",
        scenario.name, scenario.duration
    );
    println!("== Incidents as the pipeline opens, escalates and advances them\n");
}

/// Prints a line per incident opened, escalated, or advanced to a new kill-chain stage.
fn spawn_announcer(live: LiveHandle) {
    let mut rx = live.subscribe();
    tokio::spawn(async move {
        let mut chains: std::collections::HashMap<(u32, u64), String> = Default::default();
        loop {
            match rx.recv().await {
                Ok(n) => {
                    let before = chains.insert((n.tenant, n.id), n.stage_chain.clone());
                    let change = match n.change {
                        "updated" if before.is_some_and(|b| b != n.stage_chain) => "advanced",
                        "updated" => continue,
                        other => other,
                    };
                    let stages = if n.stage_chain.is_empty() {
                        String::new()
                    } else {
                        format!("\n              stages: {}", n.stage_chain)
                    };
                    println!(
                        "[incident #{:<3} {:<9}] {:<8} {}  ({} alerts){stages}",
                        n.id,
                        change,
                        n.severity.to_uppercase(),
                        n.title,
                        n.alerts,
                    );
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            }
        }
    });
}

/// Waits until the pipeline has taken every stored record (at most two minutes).
fn wait_processed(live: &LiveHandle) {
    let deadline = Instant::now() + Duration::from_secs(120);
    let m = live.metrics();
    let mut quiet = 0;
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
        let idle = m.backlog.load(Ordering::Relaxed) == 0;
        quiet = if idle { quiet + 1 } else { 0 };
        if quiet >= 4 {
            return;
        }
    }
}

/// The offline demo: the sample logs and rules shipped in the binary, written to a
/// temporary folder and hunted: first what the logs hold, then what the rules find.
fn offline() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("watchfloor-demo-{}", std::process::id()));
    let logs = dir.join("logs");
    let rules = dir.join("rules");
    for (folder, files) in [(&logs, SAMPLES), (&rules, RULES)] {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("creating {}", folder.display()))?;
        for (name, body) in files {
            let path = folder.join(name);
            std::fs::write(&path, body).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    println!(
        "== What the bundled sample logs hold ({})\n",
        logs.display()
    );
    let result = hunt::run(config(&logs, None)).and_then(|()| {
        println!("\n== What the bundled rules find in them\n");
        hunt::run(config(&logs, Some(&rules)))
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn config(logs: &Path, rules: Option<&Path>) -> HuntConfig {
    HuntConfig {
        paths: vec![logs.to_path_buf()],
        rules: rules.map(Path::to_path_buf).into_iter().collect(),
        placeholders: None,
        input_format: None,
        output_format: OutputFormat::Table,
        output: None,
        summary_json: None,
        threads: 2,
        progress: false,
        max_errors_shown: 20,
        incidents: rules.is_some(),
        triage_files: Default::default(),
        intel: Vec::new(),
        beacons: false,
        web_attacks: true,
    }
}
