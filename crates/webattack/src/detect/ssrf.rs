//! Server-side request forgery: a parameter that makes the server fetch from itself,
//! its private network or a cloud metadata service, or that writes an address in a
//! form no honest client uses (a decimal, hex or octal IPv4, which filters miss), or
//! that uses a scheme for talking to raw internal services (`gopher://`, `dict://`).

use std::net::{Ipv4Addr, Ipv6Addr};

/// Parameter names that carry a URL or host for the server to fetch.
const URL_NAMES: &[&str] = &[
    "url",
    "uri",
    "link",
    "src",
    "source",
    "dest",
    "destination",
    "redirect",
    "target",
    "host",
    "domain",
    "callback",
    "feed",
    "proxy",
    "endpoint",
    "fetch",
    "image",
    "img",
    "webhook",
    "server",
    "site",
    "next",
    "return",
    "returnurl",
    "continue",
];

/// Host names that reach the server itself or the cloud metadata service.
const INTERNAL_NAMES: &[&str] = &[
    "localhost",
    "localhost.localdomain",
    "localhost4",
    "localhost6",
    "ip6-localhost",
    "ip6-loopback",
    "metadata",
    "metadata.google.internal",
    "instance-data",
    "metadata.azure.com",
];

/// Why `value`, a parameter named `name`, makes the server request an internal
/// address, if it does.
pub fn server_side_request_forgery(name: &str, value: &str) -> Option<String> {
    let value = value.trim();
    let lower = value.to_ascii_lowercase();
    let (scheme, rest) = match lower.split_once("://") {
        Some((s, r)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            (Some(s), r)
        }
        _ => (None, lower.strip_prefix("//").unwrap_or(&lower)),
    };
    if let Some(s @ ("gopher" | "dict" | "tftp" | "ldap" | "jar" | "netdoc")) = scheme {
        return Some(format!("`{s}://` URL"));
    }
    let url_like = scheme.is_some()
        || lower.starts_with("//")
        || URL_NAMES
            .iter()
            .any(|n| name.eq_ignore_ascii_case(n) || name.to_ascii_lowercase().ends_with(n));
    if !url_like {
        return None;
    }
    let authority = rest.split(['/', '?', '#', '\\']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        host.split(':').next()?
    };
    if host.is_empty() {
        return None;
    }
    if INTERNAL_NAMES.contains(&host) {
        return Some(format!("URL to `{host}`"));
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return internal_v4(ip).then(|| format!("URL to the internal address {ip}"));
    }
    if let Ok(ip) = host.parse::<Ipv6Addr>() {
        let internal = ip.is_loopback()
            || ip.is_unspecified()
            || (ip.segments()[0] & 0xfe00) == 0xfc00
            || (ip.segments()[0] & 0xffc0) == 0xfe80
            || ip.to_ipv4_mapped().is_some_and(internal_v4);
        return internal.then(|| format!("URL to the internal address {ip}"));
    }
    if let Some(ip) = obfuscated_v4(host) {
        return Some(format!("address {host} written to evade filters ({ip})"));
    }
    if is_overlong_number(host) {
        return Some(format!("numeric host {host}, beyond any IPv4 address"));
    }
    // URL parsers disagree on which `@` ends the user part: any host after one counts.
    for after_at in rest.split('@').skip(1) {
        let candidate = after_at
            .split(['/', '?', '#', '\\', ' ', ':'])
            .next()
            .unwrap_or("");
        if let Ok(ip) = candidate.parse::<Ipv4Addr>()
            && internal_v4(ip)
        {
            return Some(format!("internal address {ip} after an `@`"));
        }
    }
    None
}

/// A host that is one number too large for IPv4 (`7147006462`, `0x41414141A9FEA9FE`):
/// parsers that wrap or truncate it reach an address no filter saw.
fn is_overlong_number(host: &str) -> bool {
    if let Some(hex) = host.strip_prefix("0x") {
        return hex.len() > 8 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    host.len() > 10 && host.len() <= 20 && host.bytes().all(|b| b.is_ascii_digit())
        || host.len() == 10
            && host.bytes().all(|b| b.is_ascii_digit())
            && host.parse::<u64>().is_ok_and(|n| n > u64::from(u32::MAX))
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified()
}

/// An IPv4 address written other than as four decimal numbers: one decimal or hex
/// integer (`2852039166`, `0xA9FEA9FE`), or dotted parts in hex or octal
/// (`0xA9.0xFE.0xA9.0xFE`, `0177.0.0.1`), or fewer than four parts (`127.1`).
fn obfuscated_v4(host: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = host.split('.').collect();
    if parts.is_empty() || parts.len() > 4 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let numbers: Vec<u64> = parts
        .iter()
        .map(|p| parse_c_number(p))
        .collect::<Option<_>>()?;
    let (last, head) = numbers.split_last()?;
    if head.iter().any(|&n| n > 255) {
        return None;
    }
    let room = 8 * (4 - head.len() as u32);
    if *last >= 1u64 << room {
        return None;
    }
    let mut value: u64 = 0;
    for (i, &n) in head.iter().enumerate() {
        value |= n << (24 - 8 * i as u32);
    }
    value |= last;
    let ip = Ipv4Addr::from(u32::try_from(value).ok()?);
    // Four plain decimal parts is the ordinary form, handled by the caller.
    let plain = parts.len() == 4 && parts.iter().all(|p| p == &"0" || !p.starts_with('0'));
    (!plain).then_some(ip)
}

/// A number as `inet_aton` reads it: `0x` hex, leading-zero octal, or decimal.
fn parse_c_number(s: &str) -> Option<u64> {
    if let Some(hex) = s.strip_prefix("0x") {
        return u64::from_str_radix(hex, 16).ok();
    }
    if s.len() > 1 && s.starts_with('0') {
        return u64::from_str_radix(&s[1..], 8).ok();
    }
    if s.len() > 10 {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_targets() {
        for (name, v) in [
            ("x", "http://169.254.169.254/latest/meta-data/"),
            ("x", "http://127.0.0.1:8080/admin"),
            ("x", "http://[::1]/"),
            ("x", "http://localhost/server-status"),
            ("url", "localhost/"),
            ("x", "http://2852039166/"),
            ("x", "http://0xA9FEA9FE/"),
            ("x", "http://0xA9.0xFE.0xA9.0xFE/"),
            ("x", "http://0177.0.0.1/"),
            ("x", "http://127.1/"),
            ("x", "gopher://10.0.0.1:6379/_INFO"),
            ("x", "http://user@192.168.1.1/"),
            ("x", "http://[::ffff:127.0.0.1]/"),
            ("x", "http://7147006462/"),
            ("x", "http://0x41414141A9FEA9FE/"),
            ("x", "xri://[0:0:0:0:0:ffff:169.254.169.254]"),
            (
                "x",
                "http://google.com:80 &@google.com:80# @127.88.23.245:22/",
            ),
        ] {
            assert!(server_side_request_forgery(name, v).is_some(), "missed {v}");
        }
    }

    #[test]
    fn ordinary_urls_and_values() {
        for (name, v) in [
            ("x", "https://example.com/page"),
            ("x", "http://93.184.216.34/"),
            ("url", "https://cdn.example.org/a.png"),
            ("page", "localhost"),
            ("version", "1.2.3"),
            ("id", "12345"),
            ("x", "http://1.2.3.4/"),
        ] {
            assert_eq!(server_side_request_forgery(name, v), None, "flagged {v}");
        }
    }
}
