//! Network and server telemetry lines: Zeek conn/dns/http (JSON), Suricata EVE, the
//! perimeter firewall (CEF), web and proxy access logs (combined format), Linux auth
//! syslog and the Linux audit log (the records auditd writes for one `execve`, with
//! the [`AuditClock`] that numbers a host's events), with the fields the real sensors
//! write.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::emit::{clf_time, epoch_secs, iso_millis, syslog_time};

/// A connection 5-tuple with its byte counts.
#[derive(Clone, Debug)]
pub struct Flow<'a> {
    pub src: &'a str,
    pub sport: u16,
    pub dst: &'a str,
    pub dport: u16,
    pub proto: &'a str,
    /// Bytes sent by the originator and by the responder.
    pub orig_bytes: u64,
    pub resp_bytes: u64,
    /// Zeek's `conn_state` (`SF`, `S0`, `REJ`, …).
    pub state: &'a str,
    pub duration: f64,
}

/// A Zeek connection UID (`C` + 17 base62 characters), from a number.
pub fn zeek_uid(n: u64) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut x = n ^ 0x9E37_79B9_7F4A_7C15;
    let mut s = String::from("C");
    for _ in 0..17 {
        s.push(ALPHABET[(x % 62) as usize] as char);
        x = (x / 62) ^ x.rotate_left(17).wrapping_mul(0x2545_F491_4F6C_DD1D);
    }
    s
}

fn service_of(port: u16) -> Value {
    match port {
        53 => json!("dns"),
        80 | 8080 | 3128 => json!("http"),
        443 => json!("ssl"),
        445 | 139 => json!("smb"),
        22 => json!("ssh"),
        25 | 587 => json!("smtp"),
        3389 => json!("rdp"),
        88 => json!("krb"),
        389 => json!("ldap"),
        135 => json!("dce_rpc"),
        _ => Value::Null,
    }
}

/// Zeek conn.log record.
pub fn zeek_conn(time: i64, uid: &str, f: &Flow<'_>) -> String {
    let mut m = json!({
        "_path": "conn",
        "ts": epoch_secs(time),
        "uid": uid,
        "id.orig_h": f.src,
        "id.orig_p": f.sport,
        "id.resp_h": f.dst,
        "id.resp_p": f.dport,
        "proto": f.proto,
        "duration": f.duration,
        "orig_bytes": f.orig_bytes,
        "resp_bytes": f.resp_bytes,
        "conn_state": f.state,
        "local_orig": f.src.starts_with("10.") || f.src.starts_with("192.168.") || f.src.starts_with("172."),
        "missed_bytes": 0,
        "history": match f.state { "S0" => "S", "REJ" => "Sr", "RSTO" => "ShADdR", _ => "ShADadFf" },
        "orig_pkts": 2 + f.orig_bytes / 1200,
        "resp_pkts": if f.state == "S0" { 0 } else { 1 + f.resp_bytes / 1200 },
    });
    if let (Some(obj), s) = (m.as_object_mut(), service_of(f.dport))
        && !s.is_null()
        && f.state == "SF"
    {
        obj.insert("service".into(), s);
    }
    m.to_string()
}

/// Zeek dns.log record.
#[allow(clippy::too_many_arguments)]
pub fn zeek_dns(
    time: i64,
    uid: &str,
    client: &str,
    server: &str,
    port: u16,
    query: &str,
    qtype: &str,
    answers: &[&str],
) -> String {
    json!({
        "_path": "dns",
        "ts": epoch_secs(time),
        "uid": uid,
        "id.orig_h": client,
        "id.orig_p": port,
        "id.resp_h": server,
        "id.resp_p": 53,
        "proto": "udp",
        "trans_id": port.wrapping_mul(7919),
        "query": query,
        "qclass": 1,
        "qclass_name": "C_INTERNET",
        "qtype": if qtype == "AAAA" { 28 } else if qtype == "TXT" { 16 } else { 1 },
        "qtype_name": qtype,
        "rcode": if answers.is_empty() { 3 } else { 0 },
        "rcode_name": if answers.is_empty() { "NXDOMAIN" } else { "NOERROR" },
        "AA": false, "TC": false, "RD": true, "RA": true, "Z": 0,
        "answers": answers,
        "TTLs": answers.iter().map(|_| 300.0).collect::<Vec<f64>>(),
        "rejected": false,
    })
    .to_string()
}

/// One HTTP exchange, for Zeek http.log, Suricata http events and access logs.
#[derive(Clone, Debug)]
pub struct Http<'a> {
    pub client: &'a str,
    pub cport: u16,
    pub server: &'a str,
    pub sport: u16,
    pub method: &'a str,
    pub host: &'a str,
    /// Path and query as sent (`/index.php?id=1`).
    pub uri: &'a str,
    pub user_agent: &'a str,
    pub referrer: &'a str,
    pub status: u16,
    pub request_bytes: u64,
    pub response_bytes: u64,
    pub content_type: &'a str,
}

/// Zeek http.log record.
pub fn zeek_http(time: i64, uid: &str, h: &Http<'_>) -> String {
    json!({
        "_path": "http",
        "ts": epoch_secs(time),
        "uid": uid,
        "id.orig_h": h.client,
        "id.orig_p": h.cport,
        "id.resp_h": h.server,
        "id.resp_p": h.sport,
        "trans_depth": 1,
        "method": h.method,
        "host": h.host,
        "uri": h.uri,
        "referrer": h.referrer,
        "version": "1.1",
        "user_agent": h.user_agent,
        "request_body_len": h.request_bytes,
        "response_body_len": h.response_bytes,
        "status_code": h.status,
        "status_msg": status_text(h.status),
        "tags": [],
        "resp_mime_types": [h.content_type],
    })
    .to_string()
}

fn status_text(code: u16) -> &'static str {
    match code {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "-",
    }
}

/// The web server's access log line, Apache's `vhost_combined`: the virtual host
/// (`%v:%p`, the site's name and port) before the combined format.
pub fn site_access_line(time: i64, h: &Http<'_>) -> String {
    format!("{}:{} {}", h.host, h.sport, access_line(time, h, "", false))
}

/// The combined access log line of a web server or proxy. A proxy logs the absolute
/// URL (`http://host/path`) as the request target.
pub fn access_line(time: i64, h: &Http<'_>, user: &str, proxy: bool) -> String {
    let target = if proxy {
        format!("http://{}{}", h.host, h.uri)
    } else {
        h.uri.to_string()
    };
    format!(
        "{} - {} [{}] \"{} {} HTTP/1.1\" {} {} \"{}\" \"{}\"",
        h.client,
        if user.is_empty() { "-" } else { user },
        clf_time(time),
        h.method,
        target,
        h.status,
        h.response_bytes,
        if h.referrer.is_empty() {
            "-"
        } else {
            h.referrer
        },
        h.user_agent
    )
}

/// A Suricata alert, as the ET Open signatures name them.
#[derive(Clone, Debug)]
pub struct Signature<'a> {
    pub sid: u64,
    pub text: &'a str,
    pub category: &'a str,
    pub severity: u8,
}

/// Suricata EVE `alert` event.
pub fn suricata_alert(
    time: i64,
    flow_id: u64,
    f: &Flow<'_>,
    sig: &Signature<'_>,
    http: Option<&Http<'_>>,
) -> String {
    let mut v = json!({
        "timestamp": iso_millis(time).replace('Z', "+0000"),
        "flow_id": flow_id,
        "in_iface": "eth1",
        "event_type": "alert",
        "src_ip": f.src,
        "src_port": f.sport,
        "dest_ip": f.dst,
        "dest_port": f.dport,
        "proto": f.proto.to_ascii_uppercase(),
        "alert": {
            "action": "allowed",
            "gid": 1,
            "signature_id": sig.sid,
            "rev": 3,
            "signature": sig.text,
            "category": sig.category,
            "severity": sig.severity,
        },
    });
    if let (Some(h), Some(obj)) = (http, v.as_object_mut()) {
        obj.insert("app_proto".into(), json!("http"));
        obj.insert(
            "http".into(),
            json!({
                "hostname": h.host,
                "url": h.uri,
                "http_user_agent": h.user_agent,
                "http_method": h.method,
                "protocol": "HTTP/1.1",
                "status": h.status,
                "length": h.response_bytes,
            }),
        );
    }
    v.to_string()
}

/// Suricata EVE `flow` event.
pub fn suricata_flow(time: i64, flow_id: u64, f: &Flow<'_>, app_proto: &str) -> String {
    json!({
        "timestamp": iso_millis(time).replace('Z', "+0000"),
        "flow_id": flow_id,
        "event_type": "flow",
        "src_ip": f.src,
        "src_port": f.sport,
        "dest_ip": f.dst,
        "dest_port": f.dport,
        "proto": f.proto.to_ascii_uppercase(),
        "app_proto": app_proto,
        "flow": {
            "pkts_toserver": 2 + f.orig_bytes / 1200,
            "pkts_toclient": 1 + f.resp_bytes / 1200,
            "bytes_toserver": f.orig_bytes,
            "bytes_toclient": f.resp_bytes,
            "start": iso_millis(time).replace('Z', "+0000"),
            "end": iso_millis(time + (f.duration * 1e9) as i64).replace('Z', "+0000"),
            "age": f.duration as u64,
            "state": if f.state == "SF" { "closed" } else { "new" },
            "reason": "timeout",
            "alerted": false,
        },
    })
    .to_string()
}

/// The perimeter firewall's CEF line for a connection it allowed or denied.
pub fn firewall_cef(time: i64, firewall: &str, f: &Flow<'_>, allowed: bool) -> String {
    let (sig, name, sev) = if allowed {
        ("100", "traffic allowed", 3)
    } else {
        ("200", "traffic denied", 5)
    };
    format!(
        "{} {} CEF:0|Watchfloor Range|Perimeter Firewall|1.0|{sig}|{name}|{sev}|rt={} src={} spt={} dst={} dpt={} proto={} act={} out={} in={} deviceDirection={}",
        syslog_time(time),
        firewall,
        time / 1_000_000,
        f.src,
        f.sport,
        f.dst,
        f.dport,
        f.proto.to_ascii_uppercase(),
        if allowed { "accept" } else { "deny" },
        f.orig_bytes,
        f.resp_bytes,
        if f.src.starts_with("10.") || f.src.starts_with("192.168.") || f.src.starts_with("172.") {
            1
        } else {
            0
        },
    )
}

/// A Linux auth syslog line (`sshd[1234]: …`).
pub fn auth_line(time: i64, host: &str, program: &str, pid: u32, message: &str) -> String {
    format!("{} {host} {program}[{pid}]: {message}", syslog_time(time))
}

// ---- Linux audit ----------------------------------------------------------------

/// The audit numbering of one Linux host: when it booted, from which the kernel's
/// session ids follow, and the serial of its last event (`msg=audit(…:SERIAL)`).
///
/// The generator does not produce a host's events in time order (a campaign step
/// plays before the background of its hour, and some steps reach days ahead), so the
/// builders write a provisional number and [`crate::generate`] hands out the serials
/// with [`AuditClock::serial`] as it writes each hour's records in time order: they
/// grow by one an event, and at least two a second besides (the records of what the
/// range does not model, PAM and service events), from the boot on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditClock {
    /// Nanoseconds since the epoch.
    boot: i64,
    serial: u64,
}

impl AuditClock {
    /// A host that booted at `boot` (nanoseconds since the epoch).
    pub fn new(boot: i64) -> AuditClock {
        AuditClock { boot, serial: 0 }
    }

    /// The serial of the host's next event, at `time` (called in time order).
    pub fn serial(&mut self, time: i64) -> u64 {
        let floor = time.saturating_sub(self.boot).max(0) / 500_000_000;
        self.serial = self.serial.saturating_add(1).max(floor.unsigned_abs());
        self.serial
    }

    /// The kernel's session id of a login at `time`. Session ids grow with uptime,
    /// eight a minute: `slot` (0–7) tells the kinds of login apart that can start in
    /// the same minute (cron jobs, an admin's SSH login, …), so they never share one.
    pub fn session(&self, time: i64, slot: u32) -> u32 {
        let minutes = time.saturating_sub(self.boot).max(0) / 60_000_000_000;
        let id = minutes
            .unsigned_abs()
            .wrapping_mul(8)
            .wrapping_add(u64::from(slot % 8) + 1);
        // 4294967295 means "no session"; stay below it.
        (id % 0xFFFF_FFF0) as u32
    }
}

/// The `node=` name of a host: its name with blanks and `=` made `-`.
pub fn audit_node(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_whitespace() || c == '=' {
                '-'
            } else {
                c
            }
        })
        .collect()
}

/// Replaces the serial of an audit line (`node=N type=T msg=audit(S.MS:SERIAL): …`)
/// with what `serial` makes of the line's node and old serial; `None` (and the line
/// unchanged) when the line has no node or no serial.
pub fn renumber_audit_line(line: &mut String, serial: impl FnOnce(&str, u64) -> u64) -> Option<()> {
    let node = line.strip_prefix("node=")?.split(' ').next()?.to_string();
    let open = line.find(" msg=audit(")? + " msg=audit(".len();
    let colon = open + line.get(open..)?.find(':')?;
    let close = colon + line.get(colon..)?.find(')')?;
    let old: u64 = line.get(colon + 1..close)?.parse().ok()?;
    let new = serial(&node, old);
    line.replace_range(colon + 1..close, &new.to_string());
    Some(())
}

/// A Linux account as audit records carry it: the number the kernel writes and the
/// name auditd's `ENRICHED` log format resolves it to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Account<'a> {
    pub id: u32,
    pub name: &'a str,
}

/// One successful `execve` on x86_64, as the kernel audits it under the rule
/// `-a always,exit -F arch=b64 -S execve -k exec`.
#[derive(Clone, Debug)]
pub struct Execve<'a> {
    /// The host's short name, written as the `node=` prefix (`name_format = HOSTNAME`,
    /// as hosts shipping to a central collector are set up).
    pub node: &'a str,
    pub pid: u32,
    pub ppid: u32,
    /// The login user (`auid`), `None` outside any login (services started by
    /// systemd): `4294967295`, resolved as `unset`.
    pub auid: Option<Account<'a>>,
    pub uid: Account<'a>,
    pub gid: Account<'a>,
    /// Effective ids; the saved and file-system ids equal them.
    pub euid: Account<'a>,
    pub egid: Account<'a>,
    /// The terminal without its slash (`pts0`), `None` for `(none)`.
    pub tty: Option<&'a str>,
    /// The kernel's session id, `None` for `4294967295`.
    pub ses: Option<u32>,
    /// The file handed to `execve` (`PATH` item 0; its base name becomes `comm`).
    pub path: &'a str,
    /// Who owns that file.
    pub owner: Account<'a>,
    /// The image that runs (`exe`): the resolved file, or a script's interpreter.
    pub exe: &'a str,
    /// For a script, the interpreter its `#!` line names (`/bin/sh`). The kernel then
    /// runs the interpreter with the script's path in place of the caller's argv[0],
    /// and that is the argv the `EXECVE` and `PROCTITLE` records show.
    pub interpreter: Option<&'a str>,
    /// The argv the caller passed (argv[0] first).
    pub argv: &'a [&'a str],
    pub cwd: &'a str,
    /// The audit rule's key; empty for `(null)`.
    pub key: &'a str,
}

/// How auditd writes a string that may hold anything: in double quotes when it is
/// plain, else as upper-case hex without quotes (when it holds a space, a double
/// quote, a control byte or a byte outside ASCII).
pub fn audit_string(text: &[u8]) -> String {
    if text
        .iter()
        .any(|&b| b == b'"' || !(0x21..=0x7e).contains(&b))
    {
        let mut s = String::with_capacity(text.len() * 2);
        for b in text {
            let _ = write!(s, "{b:02X}");
        }
        s
    } else {
        format!("\"{}\"", String::from_utf8_lossy(text))
    }
}

/// `msg=audit(SECONDS.MILLIS:SERIAL)`'s inside.
fn audit_stamp(time: i64, serial: u64) -> String {
    let secs = time.div_euclid(1_000_000_000);
    let ms = time.rem_euclid(1_000_000_000) / 1_000_000;
    format!("{secs}.{ms:03}:{serial}")
}

/// The kernel's `comm`: the executed file's base name, at most 15 bytes.
fn comm_of(path: &str) -> &str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut end = name.len().min(15);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name.get(..end).unwrap_or(name)
}

/// A stable 64-bit mix of a text and a number (inodes, pointer values).
fn mix(text: &str, n: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^ (h >> 29)
}

/// The dynamic loader every program on the host is linked against.
const LOADER: &str = "/lib64/ld-linux-x86-64.so.2";

/// The records auditd writes for one `execve`, in its order: `SYSCALL`, `EXECVE`,
/// `CWD`, one `PATH` per file the kernel opened (the executed file, a script's
/// interpreter, the loader) and `PROCTITLE`, all sharing `msg=audit(TIME:SERIAL)`
/// (the time to the millisecond),
/// in the `ENRICHED` log format (the default of auditd 3): `SYSCALL` and `PATH` end
/// with the resolved names after a `0x1d` byte.
pub fn audit_execve(time: i64, serial: u64, e: &Execve<'_>) -> Vec<String> {
    let node = audit_node(e.node);
    let stamp = audit_stamp(time, serial);
    let head = |kind: &str| {
        if node.is_empty() {
            format!("type={kind} msg=audit({stamp}): ")
        } else {
            format!("node={node} type={kind} msg=audit({stamp}): ")
        }
    };
    // The argv the new image gets.
    let mut args: Vec<&str> = Vec::with_capacity(e.argv.len() + 2);
    match e.interpreter {
        Some(interpreter) => {
            args.push(interpreter);
            args.push(e.path);
            args.extend(e.argv.iter().skip(1));
        }
        None => args.extend(e.argv),
    }
    if args.is_empty() {
        args.push(e.path);
    }
    let root = Account {
        id: 0,
        name: "root",
    };
    let mut files: Vec<(&str, Account<'_>, &str)> = vec![(e.path, e.owner, file_mode(e.path))];
    if let Some(interpreter) = e.interpreter {
        files.push((interpreter, root, "0100755"));
    }
    files.push((LOADER, root, "0100755"));

    let unset = Account {
        id: u32::MAX,
        name: "unset",
    };
    let auid = e.auid.unwrap_or(unset);
    let h = mix(e.path, serial ^ (u64::from(e.pid) << 32));
    let heap = 0x5500_0000_0000u64 + (h & 0x0FFF_FFFF_FFF0);
    let mut lines = Vec::with_capacity(4 + files.len());
    let mut syscall = head("SYSCALL");
    let _ = write!(
        syscall,
        "arch=c000003e syscall=59 success=yes exit=0 a0={:x} a1={:x} a2={:x} a3={:x} items={} ppid={} pid={} auid={} uid={} gid={} euid={} suid={} fsuid={} egid={} sgid={} fsgid={} tty={} ses={} comm={} exe={} key={}",
        heap,
        heap + 0x1000 + ((h >> 40) & 0xFF0),
        heap + 0x2000 + ((h >> 48) & 0xFF0),
        (h >> 56) & 0x1f,
        files.len(),
        e.ppid,
        e.pid,
        auid.id,
        e.uid.id,
        e.gid.id,
        e.euid.id,
        e.euid.id,
        e.euid.id,
        e.egid.id,
        e.egid.id,
        e.egid.id,
        e.tty.unwrap_or("(none)"),
        e.ses.unwrap_or(u32::MAX),
        audit_string(comm_of(e.path).as_bytes()),
        audit_string(e.exe.as_bytes()),
        if e.key.is_empty() {
            "(null)".to_string()
        } else {
            audit_string(e.key.as_bytes())
        },
    );
    let name = |a: Account<'_>| audit_string(a.name.as_bytes());
    let _ = write!(
        syscall,
        "\u{1d}ARCH=x86_64 SYSCALL=execve AUID={} UID={} GID={} EUID={} SUID={} FSUID={} EGID={} SGID={} FSGID={}",
        name(auid),
        name(e.uid),
        name(e.gid),
        name(e.euid),
        name(e.euid),
        name(e.euid),
        name(e.egid),
        name(e.egid),
        name(e.egid),
    );
    lines.push(syscall);
    let mut execve = head("EXECVE");
    let _ = write!(execve, "argc={}", args.len());
    for (i, a) in args.iter().enumerate() {
        let _ = write!(execve, " a{i}={}", audit_string(a.as_bytes()));
    }
    lines.push(execve);
    lines.push(format!(
        "{}cwd={}",
        head("CWD"),
        audit_string(e.cwd.as_bytes())
    ));
    for (item, (file, owner, mode)) in files.iter().enumerate() {
        let inode = 100 + mix(file, u64::from(owner.id)) % 3_900_000;
        lines.push(format!(
            "{}item={item} name={} inode={inode} dev=fe:01 mode={mode} ouid={} ogid={} rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0\u{1d}OUID={} OGID={}",
            head("PATH"),
            audit_string(file.as_bytes()),
            owner.id,
            owner.id,
            name(*owner),
            name(*owner),
        ));
    }
    // The kernel reads at most 128 bytes of the new argv, NUL-separated.
    let mut title: Vec<u8> = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            title.push(0);
        }
        title.extend_from_slice(a.as_bytes());
    }
    title.truncate(128);
    lines.push(format!(
        "{}proctitle={}",
        head("PROCTITLE"),
        audit_string(&title)
    ));
    lines
}

/// The mode the file of a program has: `sudo` is set-user-id root.
fn file_mode(path: &str) -> &'static str {
    match path.rsplit('/').next() {
        Some("sudo" | "su" | "passwd" | "mount" | "umount" | "newgrp" | "chsh" | "chfn") => {
            "0104755"
        }
        _ => "0100755",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Account<'static> {
        Account {
            id: 1001,
            name: "alice",
        }
    }

    const ROOT: Account<'static> = Account {
        id: 0,
        name: "root",
    };

    fn execve<'a>(argv: &'a [&'a str]) -> Execve<'a> {
        Execve {
            node: "WEB01",
            pid: 2168,
            ppid: 2001,
            auid: Some(alice()),
            uid: alice(),
            gid: alice(),
            euid: alice(),
            egid: alice(),
            tty: Some("pts0"),
            ses: Some(104),
            path: "/usr/bin/dd",
            owner: ROOT,
            exe: "/usr/bin/dd",
            interpreter: None,
            argv,
            cwd: "/home/alice",
            key: "exec",
        }
    }

    #[test]
    fn an_execve_event_has_auditds_records() {
        // 2020-11-10T08:19:44.965Z
        let t = 1_604_996_384_965_123_456;
        let lines = audit_execve(
            t,
            93_777,
            &execve(&["dd", "if=/dev/zero", "bs=1", "count=1"]),
        );
        assert_eq!(lines.len(), 6);
        let stamp = "msg=audit(1604996384.965:93777): ";
        assert!(lines.iter().all(|l| l.starts_with("node=WEB01 type=")));
        assert!(lines.iter().all(|l| l.contains(stamp)));
        let (raw, enriched) = lines[0].split_once('\u{1d}').unwrap();
        assert!(raw.starts_with("node=WEB01 type=SYSCALL msg=audit(1604996384.965:93777): arch=c000003e syscall=59 success=yes exit=0 a0="));
        assert!(raw.ends_with(" items=2 ppid=2001 pid=2168 auid=1001 uid=1001 gid=1001 euid=1001 suid=1001 fsuid=1001 egid=1001 sgid=1001 fsgid=1001 tty=pts0 ses=104 comm=\"dd\" exe=\"/usr/bin/dd\" key=\"exec\""), "{raw}");
        assert_eq!(
            enriched,
            "ARCH=x86_64 SYSCALL=execve AUID=\"alice\" UID=\"alice\" GID=\"alice\" EUID=\"alice\" SUID=\"alice\" FSUID=\"alice\" EGID=\"alice\" SGID=\"alice\" FSGID=\"alice\""
        );
        assert_eq!(
            lines[1],
            format!(
                "node=WEB01 type=EXECVE {stamp}argc=4 a0=\"dd\" a1=\"if=/dev/zero\" a2=\"bs=1\" a3=\"count=1\""
            )
        );
        assert_eq!(
            lines[2],
            format!("node=WEB01 type=CWD {stamp}cwd=\"/home/alice\"")
        );
        assert!(lines[3].starts_with(&format!(
            "node=WEB01 type=PATH {stamp}item=0 name=\"/usr/bin/dd\" inode="
        )));
        assert!(lines[3].contains(" dev=fe:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0\u{1d}OUID=\"root\" OGID=\"root\""));
        assert!(lines[4].contains("item=1 name=\"/lib64/ld-linux-x86-64.so.2\""));
        // The OTRF sample's proctitle of the same command.
        assert_eq!(
            lines[5],
            format!(
                "node=WEB01 type=PROCTITLE {stamp}proctitle=64640069663D2F6465762F7A65726F0062733D3100636F756E743D31"
            )
        );
        // Same input, same lines; another serial, other pointers.
        assert_eq!(
            lines,
            audit_execve(
                t,
                93_777,
                &execve(&["dd", "if=/dev/zero", "bs=1", "count=1"])
            )
        );
        assert_ne!(
            lines[0],
            audit_execve(
                t,
                93_778,
                &execve(&["dd", "if=/dev/zero", "bs=1", "count=1"])
            )[0]
        );
    }

    #[test]
    fn strings_are_quoted_when_plain_and_hex_otherwise() {
        assert_eq!(audit_string(b"/usr/bin/id"), "\"/usr/bin/id\"");
        assert_eq!(audit_string(b""), "\"\"");
        assert_eq!(audit_string(b"it's"), "\"it's\"");
        assert_eq!(audit_string(b"id -a"), "6964202D61");
        assert_eq!(audit_string(b"say \"x\""), "73617920227822");
        assert_eq!(audit_string(b"a\tb"), "610962");
        assert_eq!(audit_string("é".as_bytes()), "C3A9");
        assert_eq!(audit_string(b"~"), "\"~\"");
        assert_eq!(audit_string(&[0x7f]), "7F");
    }

    #[test]
    fn scripts_name_their_interpreter_and_special_users_resolve() {
        let mut e = execve(&["debian-sa1", "1", "1"]);
        e.path = "/usr/lib/sysstat/debian-sa1";
        e.exe = "/usr/bin/dash";
        e.interpreter = Some("/bin/sh");
        e.auid = None;
        e.tty = None;
        e.ses = None;
        e.node = "";
        let lines = audit_execve(0, 1, &e);
        assert_eq!(lines.len(), 7);
        assert!(
            lines
                .iter()
                .all(|l| l.starts_with("type=") && l.contains("msg=audit(0.000:1): "))
        );
        assert!(lines[0].contains(" items=3 "));
        assert!(lines[0].contains(" auid=4294967295 "));
        assert!(
            lines[0]
                .contains(" tty=(none) ses=4294967295 comm=\"debian-sa1\" exe=\"/usr/bin/dash\" ")
        );
        assert!(lines[0].contains("AUID=\"unset\""));
        assert!(lines[1].ends_with(
            "argc=4 a0=\"/bin/sh\" a1=\"/usr/lib/sysstat/debian-sa1\" a2=\"1\" a3=\"1\""
        ));
        assert!(lines[3].contains("item=0 name=\"/usr/lib/sysstat/debian-sa1\""));
        assert!(lines[4].contains("item=1 name=\"/bin/sh\""));
        assert!(lines[5].contains("item=2 name=\"/lib64/ld-linux-x86-64.so.2\""));

        // sudo is set-user-id root; a long comm is cut at 15 bytes; a lone argument
        // gives a quoted proctitle; an empty key is (null).
        let mut e = execve(&["sudo"]);
        e.path = "/usr/bin/sudo";
        e.euid = ROOT;
        e.key = "";
        let lines = audit_execve(-1, 2, &e);
        assert!(lines[0].contains("msg=audit(-1.999:2)"));
        assert!(lines[0].contains(" euid=0 suid=0 fsuid=0 egid=1001 "));
        assert!(lines[0].contains(" key=(null)\u{1d}"));
        assert!(lines[3].contains(" mode=0104755 "));
        assert!(lines[5].ends_with("proctitle=\"sudo\""));
        let mut e = execve(&[]);
        e.path = "/usr/local/bin/a-rather-long-program-name";
        let lines = audit_execve(0, 3, &e);
        assert!(lines[0].contains(" comm=\"a-rather-long-p\" "));
        assert!(lines[1].ends_with("argc=1 a0=\"/usr/local/bin/a-rather-long-program-name\""));
    }

    #[test]
    fn proctitle_is_cut_at_128_bytes() {
        let long = "x".repeat(200);
        let lines = audit_execve(0, 1, &execve(&["echo", &long]));
        let hex = lines[5].rsplit("proctitle=").next().unwrap();
        assert_eq!(hex.len(), 256);
        assert!(hex.starts_with("6563686F0078"));
        assert!(lines[1].contains(&format!("a1=\"{long}\"")));
    }

    #[test]
    fn serials_rise_and_sessions_follow_uptime() {
        let boot = 1_000 * 60_000_000_000;
        let mut c = AuditClock::new(boot);
        // Six days up: at least two a second, then one an event.
        let t = boot + 6 * 86_400_000_000_000;
        let first = c.serial(t);
        assert_eq!(first, 6 * 86_400 * 2);
        assert_eq!(c.serial(t), first + 1);
        assert_eq!(c.serial(t + 1_000), first + 2);
        assert_eq!(c.serial(t + 60_000_000_000), first + 120);
        // Before the boot (nonsense input): still rising.
        assert_eq!(c.serial(i64::MIN), first + 121);
        let a = c.session(t, 0);
        assert_ne!(a, c.session(t, 1));
        assert!(c.session(t + 60_000_000_000, 0) > c.session(t, 7));
        assert!(c.session(i64::MAX, 3) < u32::MAX);

        let mut line = "node=WEB01 type=CWD msg=audit(1604996384.965:93777): cwd=\"/\"".to_string();
        let seen = renumber_audit_line(&mut line, |node, old| {
            assert_eq!((node, old), ("WEB01", 93_777));
            5
        });
        assert!(seen.is_some());
        assert_eq!(
            line,
            "node=WEB01 type=CWD msg=audit(1604996384.965:5): cwd=\"/\""
        );
        let mut plain = "type=CWD msg=audit(1.000:7): cwd=\"/\"".to_string();
        assert!(renumber_audit_line(&mut plain, |_, _| 1).is_none());
        assert_eq!(audit_node("web 01=x"), "web-01-x");
    }

    #[test]
    fn uids_are_zeek_shaped_and_distinct() {
        let a = zeek_uid(1);
        assert_eq!(a.len(), 18);
        assert!(a.starts_with('C'));
        assert_ne!(a, zeek_uid(2));
    }
}
