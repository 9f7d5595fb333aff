//! `watchfloor serve` as an operator runs it: options from a TOML file, a bad key in it
//! refused by name, and rule folders reloaded when a rule file is added — the pipeline
//! and the rule list switch to the new rules without a restart.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

struct Cleanup(PathBuf, Option<Child>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(child) = self.1.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn watchfloor(args: &[&str], data: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .expect("run watchfloor")
}

fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
}

/// `GET path` with a bearer token: status and body.
fn get(addr: SocketAddr, path: &str, token: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes())?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer)?;
    let status = answer
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("not HTTP"))?;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// The rule titles `GET /tenants/{id}/rules` lists (chunked bodies are read loosely:
/// titles are found as JSON strings).
fn rule_titles(addr: SocketAddr, tenant: &str, token: &str) -> Option<Vec<String>> {
    let (status, body) = get(addr, &format!("/api/v1/tenants/{tenant}/rules"), token).ok()?;
    if status != 200 {
        return None;
    }
    let mut titles: Vec<String> = body
        .split("\"title\":\"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(t, _)| t.to_owned()))
        .collect();
    titles.sort();
    Some(titles)
}

fn rule(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("rules")
        .join(name)
}

#[test]
fn serve_reads_its_config_file_and_reloads_changed_rules() {
    let dir = std::env::temp_dir().join(format!("watchfloor-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).expect("temp dir");
    let mut cleanup = Cleanup(dir.clone(), None);
    let data = dir.join("data");
    let out = watchfloor(&["admin", "create-tenant", "ops"], &data);
    assert!(out.status.success(), "{out:?}");
    let tenant = String::from_utf8_lossy(&out.stdout)
        .split_once("(id ")
        .and_then(|(_, rest)| rest.split_once(')'))
        .map(|(id, _)| id.to_owned())
        .expect("tenant id");
    let out = watchfloor(
        &[
            "admin",
            "create-token",
            "--tenant",
            "ops",
            "--role",
            "analyst",
            "--name",
            "t",
        ],
        &data,
    );
    assert!(out.status.success(), "{out:?}");
    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    std::fs::copy(rule("security_log_cleared.yml"), rules.join("a.yml")).expect("copy rule");

    // A key the file does not know is refused by name, exit status 2.
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "data = \"data\"\nlisten_on = \"127.0.0.1:1\"\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(["serve", "--config"])
        .arg(&bad)
        .output()
        .expect("run serve");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("listen_on"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Paths in the file are relative to the file's folder.
    let addr = free_port();
    let config = dir.join("watchfloor.toml");
    std::fs::write(
        &config,
        format!("data = \"data\"\nlisten = \"{addr}\"\nrules = [\"rules\"]\n"),
    )
    .expect("write config");
    let log = dir.join("serve.log");
    let child = Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(["serve", "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("run serve");
    cleanup.1 = Some(child);
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();

    let wait_for = |want: usize| {
        let started = Instant::now();
        loop {
            if let Some(titles) = rule_titles(addr, &tenant, &token)
                && titles.len() == want
            {
                return titles;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "never {want} rules; log:\n{}",
                log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let titles = wait_for(1);
    assert_eq!(titles, ["Security event log cleared"]);
    assert!(log_text().contains("1 rules"), "{}", log_text());
    // The server runs with two malloc arenas, in the process that was started.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let pid = cleanup
            .1
            .as_ref()
            .map(std::process::Child::id)
            .expect("child");
        let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("environ");
        assert!(
            environ
                .split(|&b| b == 0)
                .any(|v| v == b"MALLOC_ARENA_MAX=2"),
            "the server's environment lacks MALLOC_ARENA_MAX=2"
        );
    }

    // A rule file added to the folder is picked up without a restart.
    std::fs::copy(rule("lsass_memory_read.yml"), rules.join("b.yml")).expect("copy rule");
    let titles = wait_for(2);
    assert_eq!(
        titles,
        [
            "Process opened LSASS memory for reading",
            "Security event log cleared"
        ]
    );
    assert!(log_text().contains("rules changed"), "{}", log_text());
}
