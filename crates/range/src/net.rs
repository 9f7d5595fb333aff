//! Network and server telemetry lines: Zeek conn/dns/http (JSON), Suricata EVE, the
//! perimeter firewall (CEF), web and proxy access logs (combined format) and Linux auth
//! syslog, with the fields the real sensors write.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_zeek_shaped_and_distinct() {
        let a = zeek_uid(1);
        assert_eq!(a.len(), 18);
        assert!(a.starts_with('C'));
        assert_ne!(a, zeek_uid(2));
    }
}
