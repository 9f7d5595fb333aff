//! `watchfloor demo` as a new user runs it: the server starts on a temporary store, the
//! bundled phishing scenario plays into it over HTTP, and the pipeline opens and
//! escalates incidents for the attacked hosts.

use std::process::Command;

#[test]
fn demo_serves_plays_the_scenario_and_announces_its_incidents() {
    let out = Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args([
            "demo",
            "--exit-when-done",
            "--speed",
            "0",
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .expect("run watchfloor demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for line in [
        "API:      http://127.0.0.1:",
        "Login:    analyst",
        "Token:    wf_",
    ] {
        assert!(stdout.contains(line), "missing `{line}`:\n{stdout}");
    }
    let played = stdout
        .lines()
        .find(|l| l.contains("Scenario played:"))
        .unwrap_or_else(|| panic!("no end of play:\n{stdout}\n{stderr}"));
    assert!(played.contains("everything processed"), "{played}");
    let records: u64 = played
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .expect("a record count");
    assert!(records > 50_000, "{played}");
    // The workstation where the attachment ran gets an incident that reaches credential
    // access; the file server, where the data was packed, gets one too.
    let incidents: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("[incident #"))
        .collect();
    let opened_on = |host: &str| {
        incidents
            .iter()
            .any(|l| l.contains("opened") && l.contains(host))
    };
    assert!(opened_on("ws-acct-07"), "{stdout}");
    assert!(opened_on("fs01"), "{stdout}");
    assert!(
        stdout.contains("credential access"),
        "no incident reached credential access:\n{stdout}"
    );
    assert!(
        incidents.iter().any(|l| l.contains("escalated")),
        "no escalation:\n{stdout}"
    );
}
