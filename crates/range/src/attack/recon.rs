//! Reconnaissance of a public server from the actor's address: an Nmap SYN scan with
//! service detection and default scripts, and a Nikto web scan. The scan probes leave
//! Zeek conn records (one per port, with the packet history of a half-open probe), the
//! firewall's denies and accepts and ET Open scan alerts; the web requests leave what
//! `web` requests leave.

use std::collections::BTreeSet;

use rand::Rng;
use rand::seq::SliceRandom;

use super::web::{Req, Site, session, site};
use super::{Ctx, Env, MS, SEC, alert, firewall, zeek_conn};
use crate::emit::Stream;
use crate::net::{self, Flow, Signature};
use crate::scenario::{Os, Role};

/// Well-known ports Nmap's default scan always covers, most common first.
const COMMON_PORTS: [u16; 60] = [
    80, 23, 443, 21, 22, 25, 3389, 110, 445, 139, 143, 53, 135, 3306, 8080, 1723, 111, 995, 993,
    5900, 1025, 587, 8888, 199, 1720, 465, 548, 113, 81, 6001, 10000, 514, 5060, 179, 1026, 2000,
    8443, 8000, 32768, 554, 26, 1433, 49152, 2001, 515, 8008, 49154, 1027, 5666, 646, 5000, 5631,
    631, 49153, 8081, 2049, 88, 79, 5800, 106,
];

/// ET Open scan signatures for probes of a port.
fn scan_signature(port: u16) -> Option<Signature<'static>> {
    let (sid, text) = match port {
        3306 => (2_010_937, "ET SCAN Suspicious inbound to mySQL port 3306"),
        1433 => (2_010_935, "ET SCAN Suspicious inbound to MSSQL port 1433"),
        1521 => (
            2_010_936,
            "ET SCAN Suspicious inbound to Oracle SQL port 1521",
        ),
        5432 => (
            2_010_939,
            "ET SCAN Suspicious inbound to PostgreSQL port 5432",
        ),
        5800 => (2_002_910, "ET SCAN Potential VNC Scan 5800-5820"),
        5900 => (2_002_911, "ET SCAN Potential VNC Scan 5900-5920"),
        _ => return None,
    };
    Some(Signature {
        sid,
        text,
        category: "Potentially Bad Traffic",
        severity: 2,
    })
}

/// `nmap -sS -sV -sC` against the target's public face: host discovery, a SYN probe
/// of every port (one source port, random order), service detection and default
/// scripts against the open ones.
pub(super) fn port_scan(ctx: &mut Ctx<'_>, env: &mut Env<'_>) {
    let target = env.r.target;
    let site = site(ctx, env);
    let actor = env.actor_ip().to_string();
    let os = ctx.world.hosts.get(target).map_or(Os::Linux, |h| h.os);
    let role = ctx.world.hosts.get(target).map(|h| h.role);
    let default_open = match (role, os) {
        (Some(Role::WebServer), _) => "22,80,443",
        (Some(Role::MailServer), _) => "22,25,587,993",
        (_, Os::Windows) => "135,139,445,3389",
        (_, Os::Linux) => "22",
    };
    let open: BTreeSet<u16> = env
        .param("open", default_open)
        .split([',', ' '])
        .filter_map(|p| p.trim().parse().ok())
        .collect();
    let count: usize = env.number("ports", 1000usize).clamp(10, 5000);
    let mut ports: Vec<u16> = COMMON_PORTS.iter().copied().take(count).collect();
    let mut seen: BTreeSet<u16> = ports.iter().copied().collect();
    seen.extend(open.iter().copied());
    ports.extend(open.iter().copied().filter(|p| !COMMON_PORTS.contains(p)));
    while ports.len() < count {
        let p = ctx.rng.random_range(1..10_000u16);
        if seen.insert(p) {
            ports.push(p);
        }
    }
    ports.shuffle(ctx.rng);

    // Host discovery: ICMP echo, then the scan proper.
    let t = env.later(ctx, 0, 500);
    let ping = Flow {
        src: &actor,
        sport: 8,
        dst: &site.ip,
        dport: 0,
        proto: "icmp",
        orig_bytes: 8,
        resp_bytes: 8,
        state: "OTH",
        duration: 0.001,
    };
    let uid = ctx.uid();
    let line = scan_conn(t, &uid, &ping, "");
    ctx.emit(t, Stream::ZeekConn, line);
    firewall(ctx, t, &ping, true);
    let scan_for = env.duration("for", 150 * SEC).min(24 * 3_600 * SEC);
    let step = (scan_for / ports.len().max(1) as i64).max(MS);
    let sport = ctx.ephemeral_port();
    let mut t = env.later(ctx, 300, 1_500);
    let mut flagged = false;
    for port in &ports {
        t += ctx.rng.random_range(step / 2..=step + step / 2);
        let is_open = open.contains(port);
        let flow = Flow {
            src: &actor,
            sport,
            dst: &site.ip,
            dport: *port,
            proto: "tcp",
            orig_bytes: 0,
            resp_bytes: 0,
            state: if is_open { "RSTO" } else { "S0" },
            duration: if is_open { 0.000_3 } else { 0.0 },
        };
        let uid = ctx.uid();
        let line = scan_conn(t, &uid, &flow, if is_open { "ShR" } else { "S" });
        ctx.emit(t, Stream::ZeekConn, line);
        firewall(ctx, t, &flow, is_open);
        if !flagged {
            flagged = true;
            let sig = Signature {
                sid: 2_009_582,
                text: "ET SCAN NMAP -sS window 1024",
                category: "Attempted Information Leak",
                severity: 2,
            };
            alert(ctx, t, &flow, &sig, None);
        }
        if let Some(sig) = scan_signature(*port) {
            alert(ctx, t, &flow, &sig, None);
        }
    }
    env.t = t;
    if !env.flag("version_scan", true) {
        return;
    }
    // Service detection and default scripts against the open ports.
    let nse = "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)";
    for port in &open {
        match port {
            80 | 8080 | 8000 | 443 | 8443 => {
                let site = Site {
                    ip: site.ip.clone(),
                    port: *port,
                    host: site.ip.clone(),
                };
                let nse_sig = Signature {
                    sid: 2_024_364,
                    text: "ET SCAN Possible Nmap User-Agent Observed",
                    category: "Web Application Attack",
                    severity: 1,
                };
                let probes = vec![
                    (Req::get("/".into(), "-", 200, 11_204), vec![]),
                    (
                        Req::get("/nice%20ports%2C/Tri%6Eity.txt%2ebak".into(), "-", 404, 196),
                        vec![],
                    ),
                    (
                        Req::get("/".into(), nse, 200, 11_204),
                        vec![nse_sig.clone()],
                    ),
                    (Req::get("/robots.txt".into(), nse, 200, 68), vec![]),
                    (Req::get("/favicon.ico".into(), nse, 200, 1_150), vec![]),
                    (
                        Req {
                            method: "OPTIONS",
                            ..Req::get("/".into(), nse, 200, 0)
                        },
                        vec![],
                    ),
                    (Req::get("/.git/HEAD".into(), nse, 404, 196), vec![]),
                ];
                if *port == 443 || *port == 8443 {
                    // Encrypted: only the connection shows.
                    let sport = ctx.ephemeral_port();
                    let t = env.later(ctx, 200, 3_000);
                    let flow = Flow {
                        src: &actor,
                        sport,
                        dst: &site.ip,
                        dport: *port,
                        proto: "tcp",
                        orig_bytes: 517,
                        resp_bytes: 4_180,
                        state: "SF",
                        duration: 0.41,
                    };
                    zeek_conn(ctx, t, &flow);
                    firewall(ctx, t, &flow, true);
                } else {
                    session(ctx, env, &site, &probes, (100, 900));
                }
            }
            22 => {
                for _ in 0..2 {
                    let sport = ctx.ephemeral_port();
                    let t = env.later(ctx, 200, 2_500);
                    let flow = Flow {
                        src: &actor,
                        sport,
                        dst: &site.ip,
                        dport: 22,
                        proto: "tcp",
                        orig_bytes: 1_450,
                        resp_bytes: 1_980,
                        state: "SF",
                        duration: 0.27,
                    };
                    zeek_conn(ctx, t, &flow);
                    firewall(ctx, t, &flow, true);
                    if os == Os::Linux {
                        let pid = ctx.rng.random_range(20_000..60_000u32);
                        let host = super::host_name(ctx, target);
                        let line = net::auth_line(
                            t + 300 * MS,
                            &host,
                            "sshd",
                            pid,
                            &format!("Connection closed by {actor} port {sport} [preauth]"),
                        );
                        ctx.emit(t + 300 * MS, Stream::LinuxAuth, line);
                    }
                }
            }
            _ => {
                let sport = ctx.ephemeral_port();
                let t = env.later(ctx, 200, 2_500);
                let flow = Flow {
                    src: &actor,
                    sport,
                    dst: &site.ip,
                    dport: *port,
                    proto: "tcp",
                    orig_bytes: 0,
                    resp_bytes: 312,
                    state: "SF",
                    duration: 5.1,
                };
                zeek_conn(ctx, t, &flow);
                firewall(ctx, t, &flow, true);
            }
        }
    }
}

/// A Zeek conn record with the packet history a SYN scan leaves (`S` unanswered,
/// `ShR` answered and reset by the scanner; none for ICMP).
fn scan_conn(t: i64, uid: &str, f: &Flow<'_>, history: &str) -> String {
    let line = net::zeek_conn(t, uid, f);
    match serde_json::from_str::<serde_json::Value>(&line) {
        Ok(mut v) => {
            if let Some(o) = v.as_object_mut()
                && history.is_empty()
            {
                o.remove("history");
                o.insert("orig_pkts".into(), 1.into());
                o.insert("resp_pkts".into(), 1.into());
            } else if let Some(o) = v.as_object_mut() {
                o.insert("history".into(), history.into());
                o.insert(
                    "orig_pkts".into(),
                    if history == "S" { 1 } else { 2 }.into(),
                );
                o.insert(
                    "resp_pkts".into(),
                    if history == "S" { 0 } else { 1 }.into(),
                );
                o.insert(
                    "orig_ip_bytes".into(),
                    if history == "S" { 44 } else { 84 }.into(),
                );
                o.insert(
                    "resp_ip_bytes".into(),
                    if history == "S" { 0 } else { 44 }.into(),
                );
            }
            v.to_string()
        }
        Err(_) => line,
    }
}

/// Paths Nikto's database probes, with the answer a typical site gives.
const NIKTO_PROBES: [(&str, &str, u16); 48] = [
    ("GET", "/robots.txt", 200),
    ("GET", "/.git/config", 404),
    ("GET", "/.git/HEAD", 404),
    ("GET", "/.env", 404),
    ("GET", "/wp-admin/", 404),
    ("GET", "/wp-login.php", 404),
    ("GET", "/phpmyadmin/", 404),
    ("GET", "/phpMyAdmin/", 404),
    ("GET", "/server-status", 403),
    ("GET", "/server-info", 404),
    ("GET", "/cgi-bin/test.cgi", 404),
    ("GET", "/cgi-bin/printenv", 404),
    ("GET", "/cgi-bin/test-cgi", 404),
    ("GET", "/.htaccess", 403),
    ("GET", "/.htpasswd", 403),
    ("GET", "/web.config", 404),
    ("GET", "/crossdomain.xml", 404),
    ("GET", "/clientaccesspolicy.xml", 404),
    ("GET", "/icons/README", 200),
    ("GET", "/admin/", 404),
    ("GET", "/backup/", 404),
    ("GET", "/config.php.bak", 404),
    ("GET", "/xmlrpc.php", 404),
    ("GET", "/info.php", 404),
    ("GET", "/phpinfo.php", 404),
    ("GET", "/test.php", 404),
    ("GET", "/.DS_Store", 404),
    ("GET", "/.svn/entries", 404),
    ("GET", "/backup.zip", 404),
    ("GET", "/db.sql", 404),
    ("GET", "/admin.php", 404),
    ("GET", "/login.php", 200),
    ("GET", "/install.php", 404),
    ("GET", "/uploads/", 403),
    ("GET", "/includes/", 403),
    ("GET", "/manager/html", 404),
    ("GET", "/jmx-console/", 404),
    ("GET", "/solr/admin/", 404),
    ("GET", "/_vti_bin/", 404),
    ("GET", "/CFIDE/administrator/", 404),
    ("GET", "/awstats/awstats.pl", 404),
    ("GET", "/shell.php", 404),
    ("GET", "/c99.php", 404),
    ("GET", "/?=PHPB8B5F2A0-3C92-11d3-A3A9-4C7B08C10000", 200),
    (
        "GET",
        "/index.php?=PHPE9568F36-D428-11d2-A769-00AA001ACF42",
        200,
    ),
    ("OPTIONS", "/", 200),
    ("TRACE", "/", 405),
    ("PROPFIND", "/", 405),
];

/// Directories and extensions Nikto combines into further probes.
const NIKTO_DIRS: [&str; 12] = [
    "/admin", "/backup", "/old", "/test", "/cgi-bin", "/scripts", "/db", "/data", "/config",
    "/logs", "/tmp", "/files",
];
const NIKTO_FILES: [&str; 10] = [
    "/index.php.bak",
    "/config.inc",
    "/database.yml",
    "/dump.sql",
    "/.bash_history",
    "/web.tar.gz",
    "/site.zip",
    "/passwd",
    "/install.log",
    "/README",
];

/// A Nikto run: its default user agent with the test number, random file names to
/// learn the 404 behaviour, then its database of probes, mostly answered 404.
pub(super) fn web_scan(ctx: &mut Ctx<'_>, env: &mut Env<'_>) {
    let site = site(ctx, env);
    let total: usize = env.number("requests", 400usize).clamp(20, 5_000);
    let version = env.param("version", "2.1.6").to_string();
    let mut probes: Vec<(String, String, u16)> = Vec::with_capacity(total);
    probes.push(("GET".into(), "/".into(), 200));
    for ext in [".html", ".php", ".asp", ".cgi", ".pl", ".jsp", ".aspx"] {
        let name = super::random_text(
            ctx,
            8,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        );
        probes.push(("GET".into(), format!("/{name}{ext}"), 404));
    }
    for (m, p, s) in NIKTO_PROBES {
        probes.push((m.into(), p.into(), s));
    }
    'fill: for dir in NIKTO_DIRS {
        for file in NIKTO_FILES {
            if probes.len() >= total {
                break 'fill;
            }
            probes.push(("GET".into(), format!("{dir}{file}"), 404));
        }
    }
    while probes.len() < total {
        let n = probes.len();
        let word = super::random_text(ctx, 6, b"abcdefghijklmnopqrstuvwxyz");
        probes.push(("GET".into(), format!("/{word}{}.php", n % 97), 404));
    }
    probes.truncate(total);

    let nikto_sig = Signature {
        sid: 2_002_677,
        text: "ET SCAN Nikto Web App Scan in Progress",
        category: "Web Application Attack",
        severity: 1,
    };
    let agents: Vec<String> = (0..probes.len())
        .map(|i| {
            let test = match i {
                0 => "Port Check".to_string(),
                1..=7 => "getinfo".to_string(),
                _ => format!("{:06}", 1 + i * 7),
            };
            format!("Mozilla/5.00 (Nikto/{version}) (Evasions:None) (Test:{test})")
        })
        .collect();
    // Nikto keeps connections alive: a few dozen requests per connection.
    let mut i = 0;
    while i < probes.len() {
        let n = ctx.rng.random_range(15..40usize);
        let batch: Vec<(Req<'_>, Vec<Signature<'_>>)> = probes
            .iter()
            .zip(agents.iter())
            .enumerate()
            .skip(i)
            .take(n)
            .map(|(k, ((method, uri, status), ua))| {
                let bytes = match status {
                    200 if uri == "/" => 11_204,
                    200 => 1_000 + (k as u64 * 37) % 2_000,
                    403 => 199,
                    405 => 229,
                    _ => 196,
                };
                let mut sigs = Vec::new();
                if k % 50 == 8 {
                    sigs.push(nikto_sig.clone());
                }
                if uri.ends_with(".htaccess") {
                    sigs.push(Signature {
                        sid: 2_101_129,
                        text: "GPL WEB_SERVER .htaccess access",
                        category: "Attempted Information Leak",
                        severity: 2,
                    });
                }
                if uri.ends_with("/printenv") {
                    sigs.push(Signature {
                        sid: 2_101_877,
                        text: "GPL WEB_SERVER printenv access",
                        category: "Attempted Recon",
                        severity: 2,
                    });
                }
                (
                    Req {
                        method: method.as_str(),
                        uri: uri.clone(),
                        user_agent: ua.as_str(),
                        referrer: "",
                        status: *status,
                        bytes,
                        content_type: "text/html",
                    },
                    sigs,
                )
            })
            .collect();
        i += batch.len().max(1);
        session(ctx, env, &site, &batch, (40, 400));
    }
}
