//! `watchfloor range play` against the real server, run in-process on a loopback port
//! over a store in a temporary folder.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use watchfloor_range::emit::Stream;
use watchfloor_range::scenario::Scenario;
use watchfloor_store::{Origin, Role, Store, TenantId, Timestamp};

mod tls;

const SCENARIO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../scenarios/web-sqli-customer-theft.yml"
);
/// The shortest span that still holds every step of the campaign (it ends at 4h50m).
const DURATION: &str = "5h";

struct Server {
    runtime: tokio::runtime::Runtime,
    addr: SocketAddr,
    store: Arc<Store>,
    _dir: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn origin() -> Origin {
    Origin::system("test", Timestamp::now())
}

fn server(name: &str) -> Server {
    let dir = std::env::temp_dir().join(format!("watchfloor-play-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = Arc::new(Store::open(dir.join("watchfloor.db")).expect("store"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    runtime.spawn(watchfloor_server::serve_on(
        listener,
        Arc::clone(&store),
        std::future::pending(),
    ));
    Server {
        runtime,
        addr,
        store,
        _dir: TempDir(dir),
    }
}

fn tenant_and_token(store: &Store, name: &str, role: Role) -> (TenantId, String) {
    let tenant = store.create_tenant(name, &origin()).expect("tenant").id;
    let token = store
        .create_token(tenant, role, "range", None, &origin())
        .expect("token");
    (tenant, token.secret.expose().to_owned())
}

fn play(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(["range", "play", SCENARIO])
        .args(args)
        .env_remove("WATCHFLOOR_TOKEN")
        .output()
        .expect("run watchfloor")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_code(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// The numbers of the summary line: `sent N records (M malicious)`.
fn sent(stdout: &str) -> (u64, u64) {
    let rest = stdout
        .split_once("sent ")
        .map(|(_, r)| r)
        .unwrap_or_else(|| panic!("no summary in {stdout}"));
    let mut words = rest.split_whitespace();
    let records = words.next().and_then(|w| w.parse().ok());
    let malicious = words
        .nth(1)
        .and_then(|w| w.trim_start_matches('(').parse().ok());
    match (records, malicious) {
        (Some(r), Some(m)) => (r, m),
        _ => panic!("cannot read the summary in {stdout}"),
    }
}

/// What the scenario generates: every record as (format hint, line), sorted, and how
/// many are malicious.
fn scenario() -> Scenario {
    let text = std::fs::read_to_string(SCENARIO).expect("scenario");
    let mut scenario = Scenario::from_yaml(SCENARIO, &text).expect("parses");
    scenario.duration = DURATION.to_owned();
    scenario
}

fn generated() -> (Vec<(String, Vec<u8>)>, u64) {
    let scenario = scenario();
    let hint = |s: Stream| match s {
        Stream::LinuxAuth => "syslog",
        Stream::Firewall => "cef",
        Stream::WebAccess | Stream::Proxy => "access",
        Stream::LinuxAudit => "auditd",
        _ => "json",
    };
    let mut records = Vec::new();
    let mut malicious = 0;
    watchfloor_range::generate::run(&scenario, scenario.seed, |batch| {
        for r in batch {
            records.push((hint(r.stream).to_owned(), r.line.clone().into_bytes()));
            malicious += u64::from(r.label.is_some());
        }
        Ok(())
    })
    .expect("generates");
    records.sort();
    (records, malicious)
}

fn stored(store: &Store, tenant: TenantId) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = store
            .pending_records(tenant, after, 10_000)
            .expect("records");
        let Some(last) = page.last() else { break };
        after = last.id;
        out.extend(
            page.into_iter()
                .map(|r| (r.format_hint.unwrap_or_default(), r.line)),
        );
    }
    out.sort();
    out
}

#[test]
fn plays_every_record_into_the_store() {
    let server = server("all");
    let (tenant, token) = tenant_and_token(&server.store, "Acme", Role::Analyst);
    let url = format!("http://{}", server.addr);
    let tenant_arg = tenant.0.to_string();
    let out = play(&[
        "--to",
        &url,
        "--token",
        &token,
        "--tenant",
        &tenant_arg,
        "--speed",
        "0",
        "--duration",
        DURATION,
    ]);
    assert_code(&out, 0);
    let (records, malicious) = sent(&text(&out.stdout));
    let (expected, expected_malicious) = generated();
    assert_eq!(records, expected.len() as u64);
    assert_eq!(malicious, expected_malicious);
    assert!(malicious > 0, "the campaign is inside {DURATION}");
    assert_eq!(
        server.store.count_records(tenant).expect("count"),
        records,
        "stdout:\n{}",
        text(&out.stdout)
    );
    // Every record arrived once, as generated, with the format hint of its stream.
    assert!(stored(&server.store, tenant) == expected);
    // The organisation's asset inventory went first.
    let hosts = scenario().organisation.hosts.len() as u64;
    let inventory = server
        .store
        .asset_inventory(tenant)
        .expect("read")
        .expect("the inventory was sent");
    assert_eq!(inventory.assets, hosts);
    assert!(inventory.body.contains("shop.kaede.example"));
    assert!(
        text(&out.stdout).contains(&format!("asset inventory: {hosts} assets")),
        "{}",
        text(&out.stdout)
    );
    for stream in [&out.stdout, &out.stderr] {
        assert!(!text(stream).contains(&token), "the token was printed");
    }

    // Paced: 5 simulated hours at 36,000x take at least half a second; the token from
    // the environment, the URL as `serve` prints it.
    let (paced, paced_token) = tenant_and_token(&server.store, "Paced", Role::Analyst);
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(["range", "play", SCENARIO, "--to"])
        .arg(format!("http://{}/api/v1", server.addr))
        .args(["--tenant", &paced.0.to_string()])
        .args(["--speed", "36000", "--duration", DURATION, "--no-assets"])
        .env("WATCHFLOOR_TOKEN", &paced_token)
        .output()
        .expect("run watchfloor");
    assert_code(&out, 0);
    assert!(started.elapsed() >= Duration::from_millis(450));
    assert_eq!(sent(&text(&out.stdout)).0, records);
    assert_eq!(server.store.count_records(paced).expect("count"), records);
    assert_eq!(server.store.asset_inventory(paced).expect("read"), None);
    server.runtime.shutdown_timeout(Duration::from_secs(5));
}

#[test]
fn refusals_are_clear_errors() {
    let server = server("refused");
    let (tenant, _token) = tenant_and_token(&server.store, "Acme", Role::Analyst);
    let (_, customer) = tenant_and_token(&server.store, "Other", Role::Customer);
    let url = format!("http://{}", server.addr);
    let tenant_arg = tenant.0.to_string();
    let common = ["--speed", "0", "--duration", DURATION];

    let bad = format!("wf_{}", "0".repeat(64));
    let out = play(
        &[
            &["--to", &url, "--token", &bad, "--tenant", &tenant_arg],
            &common[..],
        ]
        .concat(),
    );
    assert_code(&out, 1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("401") && stderr.contains("--token"),
        "{stderr}"
    );
    assert!(stderr.contains("unauthenticated"), "{stderr}");
    assert!(!stderr.contains(&bad), "the token was printed: {stderr}");

    // Another tenant's token.
    let out = play(
        &[
            &["--to", &url, "--token", &customer, "--tenant", &tenant_arg],
            &common[..],
        ]
        .concat(),
    );
    assert_code(&out, 1);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("403"), "{stderr}");
    assert_eq!(server.store.count_records(tenant).expect("count"), 0);

    // Nothing listening.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed_url = format!("http://{}", closed.local_addr().expect("address"));
    drop(closed);
    let out = play(&[&["--to", &closed_url, "--token", &bad], &common[..]].concat());
    assert_code(&out, 1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("cannot connect") && stderr.contains(&closed_url),
        "{stderr}"
    );

    // Another scheme, a bad speed: usage errors.
    let out = play(&[&["--to", "ftp://127.0.0.1:1", "--token", &bad], &common[..]].concat());
    assert_code(&out, 2);
    assert!(
        text(&out.stderr).contains("https://"),
        "{}",
        text(&out.stderr)
    );
    let out = play(&["--to", &url, "--token", &bad, "--speed", "-1"]);
    assert_code(&out, 2);
    server.runtime.shutdown_timeout(Duration::from_secs(5));
}

#[test]
fn plays_over_https_to_a_trusted_certificate_only() {
    let server = server("https");
    let (tenant, token) = tenant_and_token(&server.store, "Acme", Role::Analyst);
    let dir = server._dir.0.clone();
    let ours = tls::pki(&dir, "ca.pem", &["127.0.0.1"]);
    let elsewhere = tls::pki(&dir, "other-ca.pem", &["other.example"]);
    let tenant_arg = tenant.0.to_string();
    let ca = ours.ca_pem.to_str().expect("path").to_owned();
    let common = [
        "--token",
        token.as_str(),
        "--tenant",
        tenant_arg.as_str(),
        "--speed",
        "0",
        "--duration",
        DURATION,
    ];

    // A certificate for another name, even from a trusted CA, is refused before
    // anything is sent.
    let wrong = format!("https://{}", tls::proxy(&elsewhere, server.addr));
    let other_ca = elsewhere.ca_pem.to_str().expect("path").to_owned();
    let out = play(&[&["--to", &wrong, "--ca-file", &other_ca], &common[..]].concat());
    assert_code(&out, 1);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("certificate"), "{stderr}");
    // Without the CA file the private CA is not trusted.
    let https = format!("https://{}", tls::proxy(&ours, server.addr));
    let out = play(&[&["--to", &https], &common[..]].concat());
    assert_code(&out, 1);
    assert!(
        text(&out.stderr).contains("certificate"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(server.store.count_records(tenant).expect("count"), 0);

    let out = play(&[&["--to", &https, "--ca-file", &ca], &common[..]].concat());
    assert_code(&out, 0);
    let (records, _) = sent(&text(&out.stdout));
    assert_eq!(records, generated().0.len() as u64);
    assert_eq!(server.store.count_records(tenant).expect("count"), records);
    server.runtime.shutdown_timeout(Duration::from_secs(5));
}
