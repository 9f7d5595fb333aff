//! `watchfloor serve` polling a TAXII collection: server A holds indicators in its
//! tenant's collection, server B is configured with a `[[taxii]]` feed of it (through
//! A's discovery URL, every second) and a second feed with a wrong token. B's tenant
//! gains A's indicators, polls that bring nothing import nothing, what A adds later
//! arrives alone, a restarted B resumes from its saved mark, and the refused feed is
//! logged by URL and collection without its token while the server goes on. Over
//! HTTPS (a TLS proxy in front of A, its certificate from a CA made by the test),
//! `intel pull` and `serve` pull with the CA given, and refuse an untrusted certificate
//! or one for another name.

mod tls;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use watchfloor_store::TenantId;

/// How long a step may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(60);
/// The wrong token of the refused feed (must never reach the log).
const BAD_TOKEN: &str = "wf_0123456789abcdef-not-a-token";

/// Servers started by the test, killed and their folder removed at the end.
struct Cleanup(PathBuf, Vec<Child>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for child in &mut self.1 {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(args)
        .output()
        .expect("run watchfloor")
}

fn watchfloor(args: &[&str]) -> String {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Creates tenant `name` and an analyst token for it in `data`: (tenant id, token).
fn tenant_and_token(data: &Path, name: &str) -> (u32, String) {
    let d = data.to_str().expect("path");
    let out = watchfloor(&["admin", "create-tenant", name, "--data", d]);
    let id = out
        .split_once("(id ")
        .and_then(|(_, rest)| rest.split_once(')'))
        .and_then(|(id, _)| id.parse().ok())
        .expect("tenant id");
    let token = watchfloor(&[
        "admin",
        "create-token",
        "--tenant",
        name,
        "--role",
        "analyst",
        "--name",
        "t",
        "--data",
        d,
    ])
    .trim()
    .to_owned();
    (id, token)
}

fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
}

fn serve(args: &[&str], log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .arg("serve")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log"))
        .spawn()
        .expect("run serve")
}

/// A body sent as `Transfer-Encoding: chunked`, joined.
fn unchunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// One request with a bearer token: status and body.
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("not HTTP"))?;
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Ok((
        status,
        if chunked {
            unchunk(body)
        } else {
            body.to_owned()
        },
    ))
}

/// `GET path` answered 200, as JSON (`None` while the server is not up).
fn get_json(addr: SocketAddr, path: &str, token: &str) -> Option<Value> {
    match http(addr, "GET", path, token, "") {
        Ok((200, body)) => serde_json::from_str(&body).ok(),
        _ => None,
    }
}

fn wait_for<T>(what: &str, log: &Path, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "never {what}; log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Imports a plain list into A's tenant.
fn import_into_a(addr: SocketAddr, tenant: u32, token: &str, list: &str) {
    let path = format!("/api/v1/tenants/{tenant}/intel/import?format=list&source=cert&tlp=green");
    let (status, body) = http(addr, "POST", &path, token, list).expect("import");
    assert_eq!(status, 200, "{body}");
}

/// B's indicator values, sorted.
fn values(addr: SocketAddr, tenant: u32, token: &str) -> Option<Vec<String>> {
    let page = get_json(
        addr,
        &format!("/api/v1/tenants/{tenant}/intel/indicators?limit=100"),
        token,
    )?;
    let mut v: Vec<String> = page["items"]
        .as_array()?
        .iter()
        .filter_map(|i| i["value"].as_str().map(str::to_owned))
        .collect();
    v.sort();
    Some(v)
}

/// The details of B's `intel.import` audit records, oldest first.
fn imports(addr: SocketAddr, tenant: u32, token: &str) -> Vec<String> {
    let page = get_json(
        addr,
        &format!("/api/v1/tenants/{tenant}/audit?limit=500"),
        token,
    )
    .expect("audit");
    let mut details: Vec<String> = page["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["action"] == "intel.import")
        .filter_map(|e| e["detail"].as_str().map(str::to_owned))
        .collect();
    details.reverse();
    details
}

/// Waits until the log, past `from` bytes, has a line holding both `a` and `b`;
/// returns the log's length then.
fn wait_line(log: &Path, from: usize, a: &str, b: &str) -> usize {
    wait_for(&format!("a line with `{a}` and `{b}`"), log, || {
        let text = std::fs::read_to_string(log).ok()?;
        let tail = text.get(from..)?;
        tail.lines()
            .any(|l| l.contains(a) && l.contains(b))
            .then_some(text.len())
    })
}

fn log_len(log: &Path) -> usize {
    std::fs::read_to_string(log).map_or(0, |t| t.len())
}

#[test]
fn serve_polls_a_taxii_collection_into_a_tenant_and_resumes_after_a_restart() {
    let dir = std::env::temp_dir().join(format!("watchfloor-taxii-poll-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut cleanup = Cleanup(dir.clone(), Vec::new());

    // Server A: a tenant with two indicators in its collection.
    let (a_data, b_data) = (dir.join("a"), dir.join("b"));
    let (alpha, a_token) = tenant_and_token(&a_data, "alpha");
    let a_addr = free_port();
    let a_log = dir.join("a.log");
    cleanup.1.push(serve(
        &[
            "--data",
            a_data.to_str().expect("path"),
            "--listen",
            &a_addr.to_string(),
        ],
        &a_log,
    ));
    wait_for("server A up", &a_log, || {
        get_json(
            a_addr,
            &format!("/api/v1/tenants/{alpha}/intel/stats"),
            &a_token,
        )
    });
    import_into_a(a_addr, alpha, &a_token, "198.51.100.1\nevil.example\n");

    // Server B: its tenant polls A's collection through A's discovery URL every
    // second, and another feed with a wrong token at A's API root.
    let (bravo, b_token) = tenant_and_token(&b_data, "bravo");
    std::fs::write(dir.join("a.token"), format!("{a_token}\n")).expect("token file");
    std::fs::write(dir.join("bad.token"), BAD_TOKEN).expect("token file");
    let collection = watchfloor_server::taxii::collection_id(TenantId(alpha));
    let b_addr = free_port();
    let config = dir.join("b.toml");
    std::fs::write(
        &config,
        format!(
            "data = \"b\"\nlisten = \"{b_addr}\"\n\n\
             [[taxii]]\ntenant = \"bravo\"\nurl = \"http://{a_addr}/api/v1/taxii2/\"\n\
             collection = \"{collection}\"\nevery_seconds = 1\ntoken_file = \"a.token\"\n\
             source = \"partner-a\"\n\n\
             [[taxii]]\ntenant = {bravo}\nurl = \"http://{a_addr}/api/v1/taxii2/{alpha}/\"\n\
             collection = \"{collection}\"\nevery_seconds = 1\ntoken_file = \"bad.token\"\n"
        ),
    )
    .expect("config");
    let good = format!("TAXII feed http://{a_addr}/api/v1/taxii2/ collection {collection}");
    let bad = format!("TAXII feed http://{a_addr}/api/v1/taxii2/{alpha}/ collection {collection}");
    let b_log = dir.join("b.log");
    let start_b = |log: &Path| serve(&["--config", config.to_str().expect("path")], log);
    cleanup.1.push(start_b(&b_log));

    let want = |items: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = items.iter().map(|s| (*s).to_owned()).collect();
        v.sort();
        v
    };
    wait_for("A's indicators in B", &b_log, || {
        values(b_addr, bravo, &b_token).filter(|v| *v == want(&["198.51.100.1", "evil.example"]))
    });
    let first = imports(b_addr, bravo, &b_token);
    assert_eq!(first.len(), 1, "{first:?}");
    assert!(first[0].contains(&good), "{first:?}");
    assert!(
        first[0].contains("partner-a") && first[0].contains("2 taken"),
        "{first:?}"
    );

    // The next polls bring nothing and import nothing.
    let at = log_len(&b_log);
    wait_line(&b_log, at, &good, "nothing new");
    let at = log_len(&b_log);
    wait_line(&b_log, at, &good, "nothing new");
    assert_eq!(imports(b_addr, bravo, &b_token).len(), 1);
    assert_eq!(
        values(b_addr, bravo, &b_token),
        Some(want(&["198.51.100.1", "evil.example"]))
    );

    // What A adds later arrives alone.
    import_into_a(a_addr, alpha, &a_token, "later.example\n");
    wait_for("the later indicator in B", &b_log, || {
        values(b_addr, bravo, &b_token).filter(|v| v.len() == 3)
    });
    let second = imports(b_addr, bravo, &b_token);
    assert_eq!(second.len(), 2, "{second:?}");
    assert!(second[1].contains("1 taken"), "{second:?}");

    // The refused feed is logged by URL and collection, never its token, and the
    // server goes on serving.
    let log = std::fs::read_to_string(&b_log).unwrap_or_default();
    assert!(
        log.lines().any(|l| l.contains(&bad) && l.contains("401")),
        "{log}"
    );
    assert!(!log.contains(BAD_TOKEN) && !log.contains(&a_token), "{log}");

    // A restarted B resumes from its saved mark: nothing is imported again.
    let marks: Vec<PathBuf> = std::fs::read_dir(&b_data)
        .expect("data")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("taxii-{bravo}-")) && n.ends_with(".state"))
        })
        .collect();
    assert_eq!(marks.len(), 1, "{marks:?}");
    if let Some(mut b) = cleanup.1.pop() {
        let _ = b.kill();
        let _ = b.wait();
    }
    let b_log2 = dir.join("b2.log");
    cleanup.1.push(start_b(&b_log2));
    let restarted = wait_line(&b_log2, 0, &good, "tenant");
    let log = std::fs::read_to_string(&b_log2).unwrap_or_default();
    assert!(
        log.lines()
            .any(|l| l.contains(&good) && l.contains("from 20") && !l.contains("beginning")),
        "{log}"
    );
    wait_line(&b_log2, restarted, &good, "nothing new");
    assert_eq!(imports(b_addr, bravo, &b_token).len(), 2);
    import_into_a(a_addr, alpha, &a_token, "after-restart.example\n");
    wait_for(
        "the indicator added after the restart in B",
        &b_log2,
        || values(b_addr, bravo, &b_token).filter(|v| v.len() == 4),
    );
    let third = imports(b_addr, bravo, &b_token);
    assert_eq!(third.len(), 3, "{third:?}");
    assert!(third[2].contains("1 taken"), "{third:?}");
}

#[test]
fn intel_pull_and_serve_reach_a_taxii_server_over_https() {
    let dir = std::env::temp_dir().join(format!("watchfloor-taxii-https-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut cleanup = Cleanup(dir.clone(), Vec::new());

    // Server A over plain HTTP, reached through TLS proxies: one with a certificate for
    // 127.0.0.1, one with a certificate for another name.
    let a_data = dir.join("a");
    let (alpha, a_token) = tenant_and_token(&a_data, "alpha");
    let a_addr = free_port();
    let a_log = dir.join("a.log");
    let a_path = a_data.to_str().expect("path");
    cleanup.1.push(serve(
        &["--data", a_path, "--listen", &a_addr.to_string()],
        &a_log,
    ));
    wait_for("server A up", &a_log, || {
        get_json(
            a_addr,
            &format!("/api/v1/tenants/{alpha}/intel/stats"),
            &a_token,
        )
    });
    import_into_a(a_addr, alpha, &a_token, "198.51.100.2\nsecure.example\n");
    let ours = tls::pki(&dir, "ca.pem", &["127.0.0.1"]);
    let elsewhere = tls::pki(&dir, "other-ca.pem", &["other.example"]);
    let (https_a, wrong_a) = (tls::proxy(&ours, a_addr), tls::proxy(&elsewhere, a_addr));
    let collection = watchfloor_server::taxii::collection_id(TenantId(alpha));
    let ca = ours.ca_pem.to_str().expect("path");

    // `intel pull` with the CA: a bundle of A's indicators.
    let root = format!("https://{https_a}/api/v1/taxii2/{alpha}/");
    let bundle = dir.join("bundle.json");
    let pull = |root: &str, ca: Option<&str>| {
        let mut args = vec![
            "intel",
            "pull",
            root,
            "--collection",
            &collection,
            "--token",
            &a_token,
            "--out",
            bundle.to_str().expect("path"),
        ];
        args.extend(ca.map(|c| ["--ca-file", c]).into_iter().flatten());
        run(&args)
    };
    let out = pull(&root, Some(ca));
    assert!(out.status.success(), "{out:?}");
    let pulled = std::fs::read_to_string(&bundle).expect("bundle");
    assert!(
        pulled.contains("198.51.100.2") && pulled.contains("secure.example"),
        "{pulled}"
    );

    // Without it the certificate is not trusted; another name is refused even with its
    // CA. The messages name the URL, never the token.
    let out = pull(&root, None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&root) && stderr.contains("not trusted") && !stderr.contains(&a_token),
        "{stderr}"
    );
    let wrong_root = format!("https://{wrong_a}/api/v1/taxii2/{alpha}/");
    let out = pull(&wrong_root, elsewhere.ca_pem.to_str());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&wrong_root) && stderr.contains("name mismatch"),
        "{stderr}"
    );

    // `serve`: a feed through A's https discovery URL with the CA, and one whose
    // certificate is for another name.
    let b_data = dir.join("b");
    let (bravo, b_token) = tenant_and_token(&b_data, "bravo");
    std::fs::write(dir.join("a.token"), format!("{a_token}\n")).expect("token file");
    let b_addr = free_port();
    let config = dir.join("b.toml");
    std::fs::write(
        &config,
        format!(
            "data = \"b\"\nlisten = \"{b_addr}\"\n\n\
             [[taxii]]\ntenant = \"bravo\"\nurl = \"https://{https_a}/api/v1/taxii2/\"\n\
             collection = \"{collection}\"\nevery_seconds = 1\ntoken_file = \"a.token\"\n\
             ca_file = \"ca.pem\"\n\n\
             [[taxii]]\ntenant = \"bravo\"\nurl = \"{wrong_root}\"\n\
             collection = \"{collection}\"\nevery_seconds = 1\ntoken_file = \"a.token\"\n\
             ca_file = \"other-ca.pem\"\n"
        ),
    )
    .expect("config");
    let b_log = dir.join("b.log");
    cleanup
        .1
        .push(serve(&["--config", config.to_str().expect("path")], &b_log));
    wait_for("A's indicators in B over https", &b_log, || {
        values(b_addr, bravo, &b_token)
            .filter(|v| *v == ["198.51.100.2".to_owned(), "secure.example".to_owned()])
    });
    let refused = format!("TAXII feed {wrong_root} collection {collection}");
    wait_line(&b_log, 0, &refused, "name mismatch");
    let log = std::fs::read_to_string(&b_log).unwrap_or_default();
    assert!(!log.contains(&a_token), "{log}");
}
