//! Tests of the background generator: volumes and the daily rhythm, determinism, the
//! shape of every record, and that nothing benign looks like an attack.

use std::collections::BTreeMap;

use crate::emit::{Emitted, Stream};
use crate::generate::{self, Ctx};
use crate::scenario::Scenario;
use crate::world::{World, rng_for};

const HOUR: i64 = 3_600_000_000_000;

fn scenario(file: &str) -> Scenario {
    let path = format!("{}/../../scenarios/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("scenario file");
    Scenario::from_yaml(&path, &text).expect("scenario parses")
}

fn phishing() -> Scenario {
    scenario("phishing-to-file-server-theft.yml")
}

/// The benign records of a run.
fn benign(s: &Scenario, seed: u64) -> Vec<Emitted> {
    let mut all = Vec::new();
    generate::run(s, seed, |records| {
        all.extend(records.iter().filter(|r| r.label.is_none()).cloned());
        Ok(())
    })
    .expect("generation runs");
    all
}

fn per_stream(records: &[Emitted]) -> BTreeMap<Stream, usize> {
    let mut m = BTreeMap::new();
    for r in records {
        *m.entry(r.stream).or_insert(0) += 1;
    }
    m
}

#[test]
fn two_weekdays_have_sane_volumes_per_stream() {
    let s = phishing();
    let records = benign(&s, s.seed);
    let counts = per_stream(&records);
    let expect: &[(Stream, usize, usize)] = &[
        (Stream::Sysmon, 3_000, 15_000),
        (Stream::Security, 700, 5_000),
        (Stream::System, 250, 2_000),
        (Stream::LinuxAuth, 2_500, 8_000),
        (Stream::Firewall, 1_500, 7_000),
        (Stream::ZeekConn, 2_500, 12_000),
        (Stream::ZeekDns, 1_200, 5_000),
        (Stream::ZeekHttp, 700, 4_000),
        (Stream::Suricata, 50, 800),
        (Stream::WebAccess, 5_000, 20_000),
        (Stream::Proxy, 700, 4_000),
        // Five Linux servers' cron jobs around the clock, and the admins' logins.
        (Stream::LinuxAudit, 30_000, 70_000),
    ];
    for (stream, lo, hi) in expect {
        let n = counts.get(stream).copied().unwrap_or(0);
        assert!(
            (*lo..=*hi).contains(&n),
            "{stream:?}: {n} records, expected {lo}..={hi} ({counts:?})"
        );
    }
    // 15k–40k a working day, besides the audit log.
    let office = records
        .iter()
        .filter(|r| r.stream != Stream::LinuxAudit)
        .count();
    assert!(
        (30_000..=80_000).contains(&office),
        "{office} records in two days"
    );
}

#[test]
fn working_hours_are_busier_than_the_small_hours() {
    let s = phishing();
    let records = benign(&s, s.seed);
    let mut by_hour = [0usize; 24];
    // The audit log is mostly the servers' cron jobs, which keep the clock.
    for r in records.iter().filter(|r| r.stream != Stream::LinuxAudit) {
        if let Some(n) = by_hour.get_mut((r.time.rem_euclid(24 * HOUR) / HOUR) as usize) {
            *n += 1;
        }
    }
    let day: usize = by_hour[10..17].iter().sum::<usize>() / 7;
    let three_am = by_hour[3];
    assert!(
        day >= 3 * three_am,
        "daytime {day}/h vs 3 a.m. {three_am}/h ({by_hour:?})"
    );
}

#[test]
fn weekends_are_quieter() {
    let mut monday = phishing();
    monday.duration = "1d".into();
    monday.campaign.steps.clear();
    let mut saturday = monday.clone();
    saturday.start = "2026-03-07T00:00:00Z".into();
    let weekday = per_stream(&benign(&monday, 7));
    let weekend = per_stream(&benign(&saturday, 7));
    // The audit log is mostly the servers' cron jobs, which know no weekend.
    let total = |m: &BTreeMap<Stream, usize>| {
        m.iter()
            .filter(|(s, _)| **s != Stream::LinuxAudit)
            .map(|(_, n)| n)
            .sum::<usize>()
    };
    assert!(
        total(&weekend) * 10 < total(&weekday) * 7,
        "weekend {weekend:?} vs weekday {weekday:?}"
    );
    let proxy = |m: &BTreeMap<Stream, usize>| m.get(&Stream::Proxy).copied().unwrap_or(0);
    assert!(
        proxy(&weekend) * 3 < proxy(&weekday),
        "weekend browsing {} vs weekday {}",
        proxy(&weekend),
        proxy(&weekday)
    );
}

#[test]
fn same_seed_same_lines_other_seed_other_lines() {
    let mut s = phishing();
    s.duration = "30h".into();
    let a = benign(&s, 42);
    let b = benign(&s, 42);
    let c = benign(&s, 43);
    assert_eq!(a.len(), b.len());
    assert!(a == b, "same seed must give identical records");
    let lines = |v: &[Emitted]| v.iter().map(|r| r.line.clone()).collect::<Vec<_>>();
    assert_ne!(lines(&a), lines(&c));
}

#[test]
fn windows_lines_are_windows_events() {
    let s = phishing();
    for r in benign(&s, s.seed) {
        if !matches!(r.stream, Stream::Sysmon | Stream::Security | Stream::System) {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&r.line).expect("JSON");
        assert!(
            v.get("Channel").and_then(|c| c.as_str()).is_some(),
            "{}",
            r.line
        );
        assert!(
            v.get("EventID").and_then(|c| c.as_u64()).is_some(),
            "{}",
            r.line
        );
        assert!(
            v.get("Computer").and_then(|c| c.as_str()).is_some(),
            "{}",
            r.line
        );
    }
}

/// `client - user [date] "METHOD target HTTP/1.1" status bytes "referrer" "agent"`.
fn combined_shape(line: &str) -> Option<(&str, &str, u16)> {
    let (client, rest) = line.split_once(" - ")?;
    client.parse::<std::net::Ipv4Addr>().ok()?;
    let (user, rest) = rest.split_once(" [")?;
    if user.is_empty() || user.contains(' ') {
        return None;
    }
    let (date, rest) = rest.split_once("] \"")?;
    if date.len() != 26 || !date.ends_with(" +0000") {
        return None;
    }
    let (request, rest) = rest.split_once("\" ")?;
    let mut parts = request.split(' ');
    let method = parts.next()?;
    let target = parts.next()?;
    if parts.next()? != "HTTP/1.1" || parts.next().is_some() {
        return None;
    }
    if !matches!(method, "GET" | "POST" | "HEAD") {
        return None;
    }
    let mut fields = rest.splitn(3, ' ');
    let status: u16 = fields.next()?.parse().ok()?;
    fields.next()?.parse::<u64>().ok()?;
    let tail = fields.next()?;
    let (referrer, agent) = tail
        .strip_prefix('"')?
        .strip_suffix('"')?
        .split_once("\" \"")?;
    if referrer.contains('"') || agent.contains('"') || agent.is_empty() {
        return None;
    }
    Some((user, target, status))
}

#[test]
fn access_logs_have_the_combined_shape_and_the_proxy_no_vhost() {
    let s = phishing();
    let records = benign(&s, s.seed);
    let mut statuses = BTreeMap::new();
    for r in &records {
        match r.stream {
            Stream::WebAccess => {
                // vhost_combined: the site and port, then the combined format.
                let (vhost, line) = r.line.split_once(' ').unwrap();
                assert!(
                    vhost == "www.tanaka-trading.example:443"
                        || vhost == "www.tanaka-trading.example:80",
                    "{}",
                    r.line
                );
                let (user, target, status) =
                    combined_shape(line).unwrap_or_else(|| panic!("shape: {}", r.line));
                assert_eq!(user, "-");
                assert!(target.starts_with('/'), "{}", r.line);
                *statuses.entry(status).or_insert(0usize) += 1;
            }
            Stream::Proxy => {
                let (user, target, _) =
                    combined_shape(&r.line).unwrap_or_else(|| panic!("shape: {}", r.line));
                assert_ne!(user, "-", "{}", r.line);
                assert!(target.starts_with("http://"), "{}", r.line);
            }
            _ => {}
        }
    }
    let total: usize = statuses.values().sum();
    let ok = statuses.get(&200).copied().unwrap_or(0) + statuses.get(&304).copied().unwrap_or(0);
    assert!(ok * 10 > total * 8, "mostly 200/304: {statuses:?}");
    assert!(
        statuses.get(&404).copied().unwrap_or(0) > 0,
        "some 404: {statuses:?}"
    );
}

const FORBIDDEN: &[&str] = &[
    "-enc ",
    "-encodedcommand",
    "frombase64string",
    "-w hidden",
    "-windowstyle hidden",
    "bypass",
    "downloadstring",
    "downloadfile",
    "invoke-expression",
    "iex(",
    "-urlcache",
    "certutil",
    "bitsadmin",
    "mshta",
    "regsvr32",
    "rundll32",
    "whoami",
    "vssadmin",
    "shadowcopy delete",
    "wbadmin",
    "wevtutil",
    "mimikatz",
    "sekurlsa",
    "lsass",
    "procdump",
    "comsvcs",
    "../",
    "..\\",
    "%2e%2e",
    "${jndi",
    "union select",
    "select * from",
    "information_schema",
    "' or ",
    "or 1=1",
    "sleep(",
    "<script",
    "/etc/passwd",
    "sqlmap",
    "nikto",
    "masscan",
    "python-requests",
    "curl/",
    "schtasks",
    "\\currentversion\\run",
    "psexec",
    "7z.exe",
    ".docm",
    ".xlsm",
];

#[test]
fn nothing_benign_looks_like_an_attack() {
    for file in [
        "phishing-to-file-server-theft.yml",
        "web-sqli-customer-theft.yml",
    ] {
        let s = scenario(file);
        let actor_ips = [s.campaign.actor.ip.clone()];
        for r in benign(&s, s.seed) {
            // Zeek uids are random letters; look at everything else.
            let line = match r.line.split_once("\"uid\":\"") {
                Some((a, b)) => format!("{a}{}", b.get(18..).unwrap_or("")),
                None => r.line.clone(),
            };
            let lower = line.to_ascii_lowercase();
            for bad in FORBIDDEN {
                assert!(
                    !lower.contains(bad),
                    "`{bad}` in {:?}: {}",
                    r.stream,
                    r.line
                );
            }
            for ip in &actor_ips {
                assert!(!r.line.contains(ip.as_str()), "actor address in {}", r.line);
            }
        }
    }
}

#[test]
fn internet_ssh_noise_never_looks_like_brute_force() {
    let s = scenario("web-sqli-customer-theft.yml");
    let records = benign(&s, s.seed);
    let failures: Vec<(i64, &str, &str)> = records
        .iter()
        .filter(|r| r.stream == Stream::LinuxAuth && r.line.contains("Failed password"))
        .filter_map(|r| {
            let host = r.line.get(16..)?.split(' ').next()?;
            let ip = r.line.split(" from ").nth(1)?.split(' ').next()?;
            Some((r.time, host, ip))
        })
        .collect();
    assert!(!failures.is_empty(), "some internet noise");
    let mut per_ip: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, _, ip) in &failures {
        *per_ip.entry(ip).or_insert(0) += 1;
    }
    assert!(per_ip.values().all(|n| *n <= 2), "{per_ip:?}");
    // No host sees 5 failures within 5 minutes.
    for (i, (t, host, _)) in failures.iter().enumerate() {
        let burst = failures[i..]
            .iter()
            .take_while(|(u, _, _)| *u < t + 5 * 60_000_000_000)
            .filter(|(_, h, _)| h == host)
            .count();
        assert!(burst < 5, "{burst} failures on {host} within 5 minutes");
    }
}

#[test]
fn records_stay_inside_their_hour_even_when_hours_are_odd() {
    let s = phishing();
    let mut world = World::new(&s, 5);
    let mut counter = 0u64;
    let base = s.start_nanos().expect("start");
    let spans = [
        (base, base + 20 * 60_000_000_000),
        (base + 8 * HOUR + HOUR / 2, base + 9 * HOUR + HOUR / 2),
        (base + 9 * HOUR, base + 10 * HOUR),
        (base + 17 * HOUR, base + 18 * HOUR),
        (base + 2 * HOUR, base + 3 * HOUR),
        (base + 5 * HOUR, base + 5 * HOUR + 1),
        (base + 6 * HOUR, base + 6 * HOUR),
    ];
    for (i, (start, end)) in spans.into_iter().enumerate() {
        let mut out = Vec::new();
        let mut rng = rng_for(5, 10 + i as u64);
        let mut ctx = Ctx {
            world: &mut world,
            rng: &mut rng,
            out: &mut out,
            label: None,
            counter: &mut counter,
        };
        super::hour(&mut ctx, &s, start, end);
        for r in &out {
            assert!(
                start <= r.time && r.time < end,
                "{} outside [{start}, {end}): {}",
                r.time,
                r.line
            );
            assert!(r.label.is_none());
        }
    }
}

#[test]
fn odd_background_settings_do_not_break_generation() {
    let mut s = phishing();
    s.duration = "3h".into();
    s.campaign.steps.clear();
    s.background.work_hours = [30, 2];
    s.background.night_factor = f64::NAN;
    s.background.weekend_factor = -3.0;
    s.background.processes_per_user_hour = f64::INFINITY;
    s.background.dns_per_user_hour = -5.0;
    s.background.web_per_user_hour = 1e300;
    s.background.site_visitors_per_hour = f64::NAN;
    s.background.backup_hour = 200;
    s.background.admin_tasks_per_day = 0.0;
    let records = benign(&s, 1);
    assert!(!records.is_empty());
    s.duration = "2d".into();
    s.background.work_hours = [22, 6];
    s.background.web_per_user_hour = 5.0;
    s.background.processes_per_user_hour = 5.0;
    s.background.night_factor = 0.5;
    assert!(!benign(&s, 1).is_empty());
}

#[test]
fn the_web_shop_scenario_has_its_own_life() {
    let s = scenario("web-sqli-customer-theft.yml");
    let records = benign(&s, s.seed);
    let counts = per_stream(&records);
    // 120 visitors an hour at the busiest, several requests each.
    let web = counts.get(&Stream::WebAccess).copied().unwrap_or(0);
    assert!((15_000..=60_000).contains(&web), "{counts:?}");
    assert!(records.iter().any(|r| {
        r.stream == Stream::LinuxAuth
            && r.line
                .contains("sudo:  webadmin : TTY=pts/0 ; PWD=/home/webadmin ; USER=root ; COMMAND=")
    }));
    assert!(records.iter().any(|r| {
        r.line
            .contains("Accepted publickey for webadmin from 10.20.1.103")
    }));
    assert!(
        records
            .iter()
            .any(|r| r.line.contains("\"Computer\":\"PC-01.kaede.example\""))
    );
    assert!(records.iter().any(|r| r.line.contains("Googlebot")));
    // The audit log: the shop's cron job as www-data, and the admin's logins with
    // their sudo commands, in the sessions auth.log names.
    let audit: Vec<&str> = records
        .iter()
        .filter(|r| r.stream == Stream::LinuxAudit)
        .map(|r| r.line.as_str())
        .collect();
    assert!(audit.iter().all(|l| l.starts_with("node=")));
    assert!(
        audit
            .iter()
            .any(|l| l.starts_with("node=WEB01 type=SYSCALL ")
                && l.contains(" uid=33 ")
                && l.contains(" comm=\"php\" exe=\"/usr/bin/php8.2\" "))
    );
    let sudo: Vec<&str> = audit
        .iter()
        .copied()
        .filter(|l| l.contains(" type=SYSCALL ") && l.contains(" comm=\"sudo\" "))
        .collect();
    assert!(!sudo.is_empty());
    for l in &sudo {
        let ses = l
            .split(" ses=")
            .nth(1)
            .and_then(|s| s.split(' ').next())
            .unwrap_or("?");
        assert!(
            records.iter().any(|r| r.stream == Stream::LinuxAuth
                && r.line
                    .ends_with(&format!("New session {ses} of user webadmin."))),
            "no login for session {ses}"
        );
    }
}

#[test]
fn the_day_has_its_landmarks() {
    let s = phishing();
    let records = benign(&s, s.seed);
    let has = |needle: &str| records.iter().any(|r| r.line.contains(needle));
    // Morning logon with special privileges for the admin, logoff in the evening.
    assert!(has("\"EventID\":4672"));
    assert!(has("\"LogonType\":2"));
    assert!(
        records
            .iter()
            .any(|r| r.line.contains("\"EventID\":4634") && r.line.contains("\"LogonType\":2"))
    );
    // File server shares, the DC's machine accounts, RDP from the IT workstation.
    assert!(has("\"ShareName\":\"\\\\\\\\*\\\\Accounting\""));
    assert!(has("\"TargetUserName\":\"FS01$\""));
    assert!(has("\"LogonType\":10"));
    // The nightly backup's big internal flow.
    assert!(records.iter().any(|r| r.stream == Stream::ZeekConn
        && r.line.contains("\"id.resp_h\":\"10.10.10.250\"")
        && r.time.rem_euclid(24 * HOUR) / HOUR == 2));
    // Browser tabs, Office owner files and MRU entries, downloads.
    assert!(has("--type=renderer"));
    assert!(has("Documents\\\\~$"));
    assert!(has("File MRU"));
    assert!(has("\\\\Downloads\\\\"));
    // Cron, DNS through the DNS server, the proxy's outside leg from the public address.
    assert!(has("CRON["));
    assert!(has("\"id.resp_h\":\"10.10.10.53\""));
    assert!(has("\"id.orig_h\":\"198.51.100.10\""));
}

#[test]
fn evening_weights_average_one_outside_work() {
    for (first, len) in [(8u8, 10u8), (22, 8), (0, 12), (9, 1)] {
        let mut sum = 0.0;
        for h in 0..24u8 {
            if (h + 24 - first) % 24 >= len {
                sum += super::evening_weight(h, first, len);
            }
        }
        let mean = sum / f64::from(24 - len);
        assert!((mean - 1.0).abs() < 1e-9, "{first}+{len}: {mean}");
    }
}

#[test]
#[ignore = "timing; run with --release -- --ignored --nocapture"]
fn throughput() {
    let mut s = phishing();
    s.duration = "7d".into();
    let dir = std::env::temp_dir().join("watchfloor-range-background-throughput");
    let t = std::time::Instant::now();
    let summary = generate::write(&s, s.seed, &dir).expect("writes");
    let el = t.elapsed();
    println!(
        "{} records written in {el:?}: {:.0} records/s",
        summary.events,
        summary.events as f64 / el.as_secs_f64()
    );
    for (file, n) in &summary.per_stream {
        println!("{file}: {n}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
