//! Apache / nginx access logs: [`AccessLogDecoder`] for the Common and Combined Log
//! Formats, optionally prefixed by a virtual host (`%v:%p`, Apache's `vhost_combined`),
//! with any fields after the user agent ignored (nginx `$http_x_forwarded_for`, timing…).
//!
//! ```text
//! [vhost[:port] ]client ident user [dd/Mon/yyyy:hh:mm:ss ±hhmm] "request" status bytes ["referer" "user-agent"] [extra…]
//! ```
//!
//! Quoted fields end at the first `"` not escaped by a backslash (Apache writes `\"` and
//! `\\`, nginx `\x22`); their content is kept **as logged**, escapes included, because
//! detection rules are written against the logged text. A request line that is not
//! `METHOD TARGET[ HTTP/x]` — `-`, TLS handshakes sent to a plain-HTTP port
//! (`\x16\x03\x01…`), scanner junk — still gives an event with everything else and the
//! line in `request`, since such requests are attacks worth seeing.
//!
//! # Fields (Sigma `webserver` taxonomy)
//!
//! | field | value |
//! |---|---|
//! | `c-ip` | client address as logged (an IP, or a name with `HostnameLookups`) |
//! | `cs-username` | the authenticated user, omitted when `-` |
//! | `cs-host` | the virtual host, when the line has one (its port, if given, in `s-port`, an integer) |
//! | `request` | the raw request line, always |
//! | `cs-method` | request method (only for a well-formed request line, as the next four) |
//! | `cs-uri` | the full request target (`/a/b.php?x=1`) |
//! | `cs-uri-stem` | the target up to `?` |
//! | `cs-uri-query` | the target after `?`, omitted when there is no `?` |
//! | `cs-version` | `HTTP/1.1` etc., omitted for HTTP/0.9-style `GET /` |
//! | `sc-status` | status code, integer (omitted when `-`) |
//! | `sc-bytes` | response bytes, integer (omitted when `-`) |
//! | `cs-referer` | the referer as logged (`-` included), Combined format only |
//! | `cs-user-agent` | the user agent as logged (`-` included), Combined format only |
//!
//! The timestamp goes to the event time (not to `date`/`time` fields); the `ident` field
//! is not kept.
//!
//! # Logsource
//!
//! `category: webserver`; product and service unset, since the line does not say whether
//! Apache, nginx or another server wrote it.

use watchfloor_event::{Event, LogSource, Timestamp, Value};

use crate::syslog::{civil, month_from_abbr, parse_digits, parse_offset, snippet};
use crate::{DecodeContext, DecodeErrorKind, LineDecoder};

const FORMAT: &str = "access log";

/// Decoder of access-log lines; see the module documentation for fields and rules.
/// Stateless: every field is a slice of the line.
#[derive(Debug, Default, Clone)]
pub struct AccessLogDecoder {
    /// Keeps construction to `new()`/`default()`, leaving room for state.
    _private: (),
}

impl AccessLogDecoder {
    pub fn new() -> Self {
        Self::default()
    }
}

impl LineDecoder for AccessLogDecoder {
    fn decode_line(
        &mut self,
        ctx: &mut DecodeContext,
        line: &str,
        ev: &mut Event,
    ) -> Result<bool, DecodeErrorKind> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            return Ok(false);
        }
        let syntax = |reason: String| DecodeErrorKind::syntax(FORMAT, reason);
        let (head, after) = line
            .split_once(" [")
            .ok_or_else(|| syntax("no ` [date]` field".into()))?;
        let who = parse_who(head.trim_start()).ok_or_else(|| {
            syntax(format!(
                "expected `client ident user` before the date, found `{}`",
                snippet(head, 40)
            ))
        })?;
        let (date, rest) = after
            .split_once(']')
            .ok_or_else(|| syntax("`[date` is never closed by `]`".into()))?;
        let time = parse_clf_date(date).ok_or_else(|| {
            syntax(format!(
                "date `{}` is not `dd/Mon/yyyy:hh:mm:ss ±hhmm`",
                snippet(date, 40)
            ))
        })?;
        let rest = rest
            .strip_prefix(" \"")
            .ok_or_else(|| syntax("expected ` \"request\"` after the date".into()))?;
        let (request, rest) =
            split_request(rest).ok_or_else(|| syntax("request is never closed by `\"`".into()))?;
        let rest = rest
            .strip_prefix(' ')
            .ok_or_else(|| syntax("expected ` status bytes` after the request".into()))?;
        let (status, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        let (bytes, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        let status = number_or_dash(status)
            .ok_or_else(|| syntax(format!("status `{}` is not a number", snippet(status, 20))))?;
        let bytes = number_or_dash(bytes).ok_or_else(|| {
            syntax(format!(
                "response size `{}` is not a number or `-`",
                snippet(bytes, 20)
            ))
        })?;
        let (referer, rest) = match rest.strip_prefix('"').and_then(split_quoted) {
            Some((referer, rest)) => (Some(referer), rest),
            None => (None, rest),
        };
        let agent = referer
            .and_then(|_| rest.strip_prefix(" \""))
            .and_then(split_quoted)
            .map(|(agent, _)| agent);

        ev.time = time;
        ev.logsource = LogSource::new(None, Some("webserver"), None);
        ctx.put_str(ev, "c-ip", who.client);
        if who.user != "-" && !who.user.is_empty() {
            ctx.put_str(ev, "cs-username", who.user);
        }
        if let Some(vhost) = who.vhost {
            let (host, port) = split_host_port(vhost);
            ctx.put_str(ev, "cs-host", host);
            if let Some(port) = port {
                ctx.put(ev, "s-port", Value::Int(port));
            }
        }
        ctx.put_str(ev, "request", request);
        if let Some(req) = parse_request(request) {
            ctx.put_str(ev, "cs-method", req.method);
            ctx.put_str(ev, "cs-uri", req.target);
            let (stem, query) = match req.target.split_once('?') {
                Some((stem, query)) => (stem, Some(query)),
                None => (req.target, None),
            };
            ctx.put_str(ev, "cs-uri-stem", stem);
            if let Some(query) = query {
                ctx.put_str(ev, "cs-uri-query", query);
            }
            if let Some(version) = req.version {
                ctx.put_str(ev, "cs-version", version);
            }
        }
        if let Some(status) = status {
            ctx.put(ev, "sc-status", Value::Int(status));
        }
        if let Some(bytes) = bytes {
            ctx.put(ev, "sc-bytes", Value::Int(bytes));
        }
        if let Some(referer) = referer {
            ctx.put_str(ev, "cs-referer", referer);
        }
        if let Some(agent) = agent {
            ctx.put_str(ev, "cs-user-agent", agent);
        }
        Ok(true)
    }
}

struct Who<'a> {
    vhost: Option<&'a str>,
    client: &'a str,
    user: &'a str,
}

/// `client ident user` or `vhost client ident user`; with more words, the user is
/// everything after the ident.
fn parse_who(head: &str) -> Option<Who<'_>> {
    let (first, rest) = head.split_once(' ')?;
    let (second, rest) = rest.split_once(' ')?;
    if first.is_empty() || second.is_empty() || rest.is_empty() {
        return None;
    }
    match rest.split_once(' ') {
        None => Some(Who {
            vhost: None,
            client: first,
            user: rest,
        }),
        Some((_ident, user)) if !user.is_empty() => Some(Who {
            vhost: Some(first),
            client: second,
            user,
        }),
        Some(_) => None,
    }
}

/// `host:port` → host and port; IPv6 literals keep their colons (`[::1]:80`).
fn split_host_port(vhost: &str) -> (&str, Option<i64>) {
    match vhost.rsplit_once(':') {
        Some((host, port)) if (!host.contains(':') || host.ends_with(']')) && !host.is_empty() => {
            match port.parse::<u16>() {
                Ok(p) => (host, Some(i64::from(p))),
                Err(_) => (vhost, None),
            }
        }
        _ => (vhost, None),
    }
}

/// The request field (its opening `"` consumed) and what follows it. Some servers log
/// attacker input raw, quotes included (`GET /x?q="><script>… HTTP/1.1`), so when the
/// first closing quote is not followed by ` status`, a later one that is ends the field.
fn split_request(s: &str) -> Option<(&str, &str)> {
    let (request, rest) = split_quoted(s)?;
    if status_follows(rest) {
        return Some((request, rest));
    }
    let mut from = request.len() + 1;
    while let Some(off) = s
        .get(from..)
        .and_then(|t| memchr::memchr(b'"', t.as_bytes()))
    {
        let at = from + off;
        let after = s.get(at + 1..)?;
        if status_follows(after) {
            return Some((s.get(..at)?, after));
        }
        from = at + 1;
    }
    Some((request, rest))
}

/// Whether `rest` starts with ` NNN` or ` -` (the status field).
fn status_follows(rest: &str) -> bool {
    let Some(rest) = rest.strip_prefix(' ') else {
        return false;
    };
    let status = rest.split(' ').next().unwrap_or("");
    status == "-" || (status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit()))
}

/// The content of a quoted field whose opening `"` is already consumed, and what follows
/// the closing `"`.
fn split_quoted(s: &str) -> Option<(&str, &str)> {
    let b = s.as_bytes();
    let mut i = 0;
    loop {
        match b.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some((s.get(..i)?, s.get(i + 1..)?)),
            _ => i += 1,
        }
    }
}

/// `Some(Some(n))` for a number, `Some(None)` for `-`, `None` for anything else.
fn number_or_dash(s: &str) -> Option<Option<i64>> {
    if s == "-" {
        return Some(None);
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok().map(Some)
}

struct Request<'a> {
    method: &'a str,
    target: &'a str,
    version: Option<&'a str>,
}

/// `METHOD TARGET[ HTTP/x.y]`; `None` for anything else.
fn parse_request(request: &str) -> Option<Request<'_>> {
    let (method, rest) = request.split_once(' ')?;
    let method_ok = (1..=32).contains(&method.len())
        && method
            .bytes()
            .all(|b| b.is_ascii_alphabetic() || b == b'-' || b == b'_');
    if !method_ok {
        return None;
    }
    let (target, version) = match rest.rsplit_once(' ') {
        Some((target, version)) if version.starts_with("HTTP/") => (target, Some(version)),
        _ => (rest, None),
    };
    (!target.is_empty()).then_some(Request {
        method,
        target,
        version,
    })
}

/// `dd/Mon/yyyy:hh:mm:ss ±hhmm`.
fn parse_clf_date(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.get(2) != Some(&b'/')
        || b.get(6) != Some(&b'/')
        || b.get(11) != Some(&b':')
        || b.get(14) != Some(&b':')
        || b.get(17) != Some(&b':')
        || b.get(20) != Some(&b' ')
    {
        return None;
    }
    let num = |at: usize, len: usize| parse_digits(b.get(at..at + len)?);
    let offset = parse_offset(s.get(21..)?)?;
    civil(
        num(7, 4)?,
        month_from_abbr(b.get(3..6)?)?,
        num(0, 2)?,
        num(12, 2)?,
        num(15, 2)?,
        num(18, 2)?,
        0,
        offset,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{assert_blank_and_syntax_errors, ctx, decode_in, get, s, try_decode};
    use crate::time::format_rfc3339;

    fn decode(line: &str) -> (DecodeContext, Event) {
        decode_in(AccessLogDecoder::new(), ctx(), line)
    }

    #[test]
    fn combined() {
        let (mut c, ev) = decode(
            r#"1.2.3.4 - frank [10/Oct/2000:13:55:36 -0700] "GET /a/b.php?x=1&y=%27 HTTP/1.1" 200 2326 "http://ref/" "Mozilla/5.0 (X11; \"quoted\")""#,
        );
        assert_eq!(format_rfc3339(ev.time), "2000-10-10T20:55:36Z");
        assert_eq!(ev.logsource.to_string(), "-/webserver/-");
        assert_eq!(s(&mut c, &ev, "c-ip"), Some("1.2.3.4"));
        assert_eq!(s(&mut c, &ev, "cs-username"), Some("frank"));
        assert_eq!(s(&mut c, &ev, "cs-method"), Some("GET"));
        assert_eq!(s(&mut c, &ev, "cs-uri"), Some("/a/b.php?x=1&y=%27"));
        assert_eq!(s(&mut c, &ev, "cs-uri-stem"), Some("/a/b.php"));
        assert_eq!(s(&mut c, &ev, "cs-uri-query"), Some("x=1&y=%27"));
        assert_eq!(s(&mut c, &ev, "cs-version"), Some("HTTP/1.1"));
        assert_eq!(
            s(&mut c, &ev, "request"),
            Some("GET /a/b.php?x=1&y=%27 HTTP/1.1")
        );
        assert_eq!(get(&mut c, &ev, "sc-status"), Some(Value::Int(200)));
        assert_eq!(get(&mut c, &ev, "sc-bytes"), Some(Value::Int(2326)));
        assert_eq!(s(&mut c, &ev, "cs-referer"), Some("http://ref/"));
        assert_eq!(
            s(&mut c, &ev, "cs-user-agent"),
            Some(r#"Mozilla/5.0 (X11; \"quoted\")"#)
        );
        assert_eq!(get(&mut c, &ev, "cs-host"), None);
    }

    #[test]
    fn common_vhost_and_extras() {
        let (mut c, ev) =
            decode(r#"127.0.0.1 - - [01/Jan/2024:00:00:00 +0000] "HEAD / HTTP/1.0" 304 -"#);
        assert_eq!(get(&mut c, &ev, "cs-username"), None);
        assert_eq!(get(&mut c, &ev, "sc-bytes"), None);
        assert_eq!(get(&mut c, &ev, "cs-uri-query"), None);
        assert_eq!(get(&mut c, &ev, "cs-referer"), None);
        assert_eq!(get(&mut c, &ev, "cs-user-agent"), None);

        let (mut c, ev) = decode(
            r#"www.example.com:443 203.0.113.9 - - [05/Mar/2024:08:09:10 +0100] "POST /login HTTP/2.0" 401 12 "-" "curl/8.0" "10.0.0.1" rt=0.003"#,
        );
        assert_eq!(s(&mut c, &ev, "cs-host"), Some("www.example.com"));
        assert_eq!(get(&mut c, &ev, "s-port"), Some(Value::Int(443)));
        assert_eq!(s(&mut c, &ev, "c-ip"), Some("203.0.113.9"));
        assert_eq!(s(&mut c, &ev, "cs-referer"), Some("-"));
        assert_eq!(s(&mut c, &ev, "cs-user-agent"), Some("curl/8.0"));
        assert_eq!(format_rfc3339(ev.time), "2024-03-05T07:09:10Z");
    }

    #[test]
    fn malformed_requests_still_decode() {
        for (line, request) in [
            (
                r#"198.51.100.1 - - [10/Oct/2000:13:55:36 +0000] "-" 400 0 "-" "-""#,
                "-",
            ),
            (
                r#"198.51.100.1 - - [10/Oct/2000:13:55:36 +0000] "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" 400 157 "-" "-""#,
                r"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
            ),
            (
                r#"198.51.100.1 - - [10/Oct/2000:13:55:36 +0000] "" 408 -"#,
                "",
            ),
            (
                r#"198.51.100.1 - - [10/Oct/2000:13:55:36 +0000] "GET /a b c HTTP/1.1" 400 1"#,
                "GET /a b c HTTP/1.1",
            ),
        ] {
            let (mut c, ev) = decode(line);
            assert_eq!(s(&mut c, &ev, "request"), Some(request));
            assert!(get(&mut c, &ev, "sc-status").is_some());
        }
        let (mut c, ev) =
            decode(r#"198.51.100.1 - - [10/Oct/2000:13:55:36 +0000] "-" 400 0 "-" "-""#);
        assert_eq!(get(&mut c, &ev, "cs-method"), None);
        let (mut c, ev) =
            decode(r#"198.51.100.1 - - [10/Oct/2000:13:55:36 +0000] "GET /a b c HTTP/1.1" 400 1"#);
        assert_eq!(s(&mut c, &ev, "cs-uri"), Some("/a b c"));
        let (mut c, ev) = decode(r#"::1 - - [10/Oct/2000:13:55:36 +0000] "GET /x?" 200 1"#);
        assert_eq!(s(&mut c, &ev, "cs-uri-query"), Some(""));
        assert_eq!(get(&mut c, &ev, "cs-version"), None);
    }

    #[test]
    fn raw_quotes_inside_the_request() {
        let (mut c, ev) = decode(
            r#"192.168.105.64 - - [11/Jul/2018:10:30:59 +0300] "GET /WebID/IISWebAgentIF.dll?postdata="><script>foo</script> HTTP/1.1" 404 997"#,
        );
        assert_eq!(s(&mut c, &ev, "cs-method"), Some("GET"));
        assert_eq!(
            s(&mut c, &ev, "cs-uri-query"),
            Some(r#"postdata="><script>foo</script>"#)
        );
        assert_eq!(get(&mut c, &ev, "sc-status"), Some(Value::Int(404)));
    }

    #[test]
    fn errors_and_blank() {
        assert_blank_and_syntax_errors(
            AccessLogDecoder::new(),
            ctx(),
            " \t",
            "access log",
            &[
                "just text",
                r#"1.2.3.4 [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1"#,
                r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700 "GET / HTTP/1.1" 200 1"#,
                r#"1.2.3.4 - - [10/Foo/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1"#,
                r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] GET / 200 1"#,
                r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1 200 1"#,
                r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" OK 1"#,
                r#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 lots"#,
            ],
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];

        proptest! {
            #[test]
            fn never_panics(line in any::<String>()) {
                let _ = try_decode(&mut AccessLogDecoder::new(), &mut ctx(), &line);
            }

            #[test]
            fn never_panics_access_like(
                line in r#"[0-9. -]{0,12}\[[0-9]{2}/[A-Z][a-z]{2}/[0-9:+ -]{0,22}\] ?"[ -~]{0,20}"?[ 0-9"\\-]{0,20}"#
            ) {
                let _ = try_decode(&mut AccessLogDecoder::new(), &mut ctx(), &line);
            }

            #[test]
            fn round_trip(
                vhost in proptest::option::of(("[a-z0-9.-]{1,20}", proptest::option::of(any::<u16>()))),
                ip in any::<std::net::IpAddr>(),
                user in proptest::option::of("[a-zA-Z0-9_.@]{1,12}"),
                (year, month, day) in (1970u32..2100, 1u32..=12, 1u32..=28),
                (hh, mm, ss) in (0u32..24, 0u32..60, 0u32..60),
                offset_min in -(12 * 60)..=(14 * 60i32),
                method in "[A-Z]{3,7}",
                stem in "/[a-zA-Z0-9/._~%-]{0,30}",
                query in proptest::option::of("[a-zA-Z0-9=&%+._-]{0,30}"),
                version in proptest::option::of("HTTP/(1\\.0|1\\.1|2\\.0)"),
                status in 100i64..600,
                bytes in proptest::option::of(0i64..10_000_000_000),
                agents in proptest::option::of(("[ !#-\\[\\]-~]{0,40}", "[ !#-\\[\\]-~]{0,60}")),
                extra in "( [ -~]{0,20})?",
            ) {
                let mut target = stem.clone();
                if let Some(q) = &query {
                    target.push('?');
                    target.push_str(q);
                }
                let mut request = format!("{method} {target}");
                if let Some(v) = &version {
                    request.push(' ');
                    request.push_str(v);
                }
                let mut line = String::new();
                if let Some((host, port)) = &vhost {
                    line.push_str(host);
                    if let Some(p) = port {
                        line.push_str(&format!(":{p}"));
                    }
                    line.push(' ');
                }
                let sign = if offset_min < 0 { '-' } else { '+' };
                let abs = offset_min.abs();
                line.push_str(&format!(
                    "{ip} - {} [{day:02}/{}/{year}:{hh:02}:{mm:02}:{ss:02} {sign}{:02}{:02}] \"{request}\" {status} {}",
                    user.as_deref().unwrap_or("-"),
                    MONTHS[month as usize - 1],
                    abs / 60,
                    abs % 60,
                    bytes.map_or("-".to_string(), |b| b.to_string()),
                ));
                if let Some((referer, agent)) = &agents {
                    line.push_str(&format!(" \"{referer}\" \"{agent}\"{extra}"));
                }

                let mut c = ctx();
                let (result, ev) = try_decode(&mut AccessLogDecoder::new(), &mut c, &line);
                prop_assert_eq!(result, Ok(true));
                let ip = ip.to_string();
                prop_assert_eq!(s(&mut c, &ev, "c-ip"), Some(ip.as_str()));
                prop_assert_eq!(s(&mut c, &ev, "cs-username"), user.as_deref());
                prop_assert_eq!(s(&mut c, &ev, "cs-host"), vhost.as_ref().map(|(h, _)| h.as_str()));
                prop_assert_eq!(
                    get(&mut c, &ev, "s-port"),
                    vhost.as_ref().and_then(|(_, p)| p.map(|p| Value::Int(i64::from(p))))
                );
                prop_assert_eq!(s(&mut c, &ev, "request"), Some(request.as_str()));
                prop_assert_eq!(s(&mut c, &ev, "cs-method"), Some(method.as_str()));
                prop_assert_eq!(s(&mut c, &ev, "cs-uri"), Some(target.as_str()));
                prop_assert_eq!(s(&mut c, &ev, "cs-uri-stem"), Some(stem.as_str()));
                prop_assert_eq!(s(&mut c, &ev, "cs-uri-query"), query.as_deref());
                prop_assert_eq!(s(&mut c, &ev, "cs-version"), version.as_deref());
                prop_assert_eq!(get(&mut c, &ev, "sc-status"), Some(Value::Int(status)));
                prop_assert_eq!(get(&mut c, &ev, "sc-bytes"), bytes.map(Value::Int));
                prop_assert_eq!(s(&mut c, &ev, "cs-referer"), agents.as_ref().map(|(r, _)| r.as_str()));
                prop_assert_eq!(s(&mut c, &ev, "cs-user-agent"), agents.as_ref().map(|(_, a)| a.as_str()));
                let expected = civil(year, month, day, hh, mm, ss, 0, offset_min * 60).unwrap();
                prop_assert_eq!(ev.time, expected);
                prop_assert_eq!(ev.logsource.category(), Some("webserver"));
            }
        }
    }
}
