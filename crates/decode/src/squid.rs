//! Squid's native access log: [`SquidDecoder`].
//!
//! ```text
//! 1286536309.450    300 192.168.0.224 TCP_MISS/200 507 GET http://example.com/a.exe bob DIRECT/93.184.216.34 application/octet-stream
//! ```
//!
//! Time (Unix seconds with milliseconds), elapsed milliseconds, client address, the
//! cache result and HTTP status, bytes sent to the client, method, URL, user (`-` when
//! none), the hierarchy code and the server it went to, and the content type. The
//! fields take Sigma's `proxy` names, so the `proxy` rules meet them; logsource
//! category `proxy`, product `squid`:
//!
//! | field | value |
//! |---|---|
//! | `c-ip` | client address |
//! | `sc-status` | HTTP status (integer) |
//! | `cache_result` | `TCP_MISS`, `TCP_DENIED`, … |
//! | `sc-bytes` | bytes to the client (integer) |
//! | `cs-method` | method |
//! | `c-uri` | the URL as logged; `CONNECT` gives `host:port` |
//! | `c-uri-stem`, `c-uri-query`, `c-uri-extension` | the URL's parts ([`crate::web_proxy`]) |
//! | `cs-host`, `r-dns` | the URL's host |
//! | `cs-username` | the user, when logged |
//! | `hierarchy`, `dst_ip` | the hierarchy code and the server's address (when an address) |
//! | `content_type` | the reply's content type |
//! | `elapsed_ms` | elapsed milliseconds (integer) |
//!
//! A line that does not have this shape is a syntax error naming what is missing.

use std::net::IpAddr;

use watchfloor_event::{Event, LogSource, Value};

use crate::time::parse_epoch;
use crate::web_proxy;
use crate::{DecodeContext, DecodeErrorKind, LineDecoder};

const FORMAT: &str = "squid";

/// Decoder of Squid native access-log lines. Stateless.
#[derive(Debug, Default, Clone)]
pub struct SquidDecoder {
    _private: (),
}

impl SquidDecoder {
    pub fn new() -> Self {
        Self::default()
    }
}

/// Whether `line` has the shape of a Squid native access-log line: epoch time with
/// milliseconds, elapsed time, client, `RESULT/status`.
pub fn looks_like_squid(line: &[u8]) -> bool {
    let Ok(line) = std::str::from_utf8(line) else {
        return false;
    };
    let mut words = line.split_ascii_whitespace();
    let (Some(time), Some(elapsed), Some(_client), Some(result)) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return false;
    };
    let epoch = time
        .split_once('.')
        .is_some_and(|(s, ms)| s.len() >= 9 && all_digits(s) && all_digits(ms));
    let status = result.split_once('/').is_some_and(|(code, status)| {
        code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
            && !code.is_empty()
            && all_digits(status)
    });
    epoch && all_digits(elapsed) && status
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

impl LineDecoder for SquidDecoder {
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
        let mut words = line.split_ascii_whitespace();
        let mut next = |what: &str| {
            words
                .next()
                .ok_or_else(|| DecodeErrorKind::syntax(FORMAT, format!("no {what}")))
        };
        let time = next("time")?;
        let elapsed = next("elapsed time")?;
        let client = next("client address")?;
        let result = next("result code")?;
        let bytes = next("byte count")?;
        let method = next("method")?;
        let url = next("URL")?;
        let user = next("user").unwrap_or("-");
        let hierarchy = next("hierarchy").unwrap_or("-");
        let content_type = next("content type").unwrap_or("-");

        ev.time = parse_epoch(time).ok_or_else(|| {
            DecodeErrorKind::syntax(FORMAT, format!("time `{time}` is not Unix seconds"))
        })?;
        let (cache_result, status) = result.split_once('/').ok_or_else(|| {
            DecodeErrorKind::syntax(FORMAT, format!("result `{result}` is not CODE/status"))
        })?;
        ctx.put_str(ev, "c-ip", client);
        ctx.put_str(ev, "cache_result", cache_result);
        put_int(ctx, ev, "sc-status", status);
        put_int(ctx, ev, "sc-bytes", bytes);
        put_int(ctx, ev, "elapsed_ms", elapsed);
        ctx.put_str(ev, "cs-method", method);
        ctx.put_str(ev, "c-uri", url);
        if let Some(host) = web_proxy::request_host(method, url) {
            ctx.put_str(ev, "cs-host", host);
            ctx.put_str(ev, "r-dns", host);
        }
        let (stem, query) = web_proxy::split_uri(url);
        ctx.put_str(ev, "c-uri-stem", stem);
        if let Some(query) = query {
            ctx.put_str(ev, "c-uri-query", query);
        }
        if let Some(ext) = web_proxy::extension(stem) {
            ctx.put_str(ev, "c-uri-extension", ext);
        }
        if user != "-" {
            ctx.put_str(ev, "cs-username", user);
        }
        if hierarchy != "-" {
            ctx.put_str(ev, "hierarchy", hierarchy);
            if let Some((_, server)) = hierarchy.split_once('/')
                && server.parse::<IpAddr>().is_ok()
            {
                ctx.put_str(ev, "dst_ip", server);
            }
        }
        if content_type != "-" {
            ctx.put_str(ev, "content_type", content_type);
        }
        ev.logsource = LogSource::new(Some("squid"), Some(web_proxy::CATEGORY), None);
        Ok(true)
    }
}

fn put_int(ctx: &mut DecodeContext, ev: &mut Event, name: &str, text: &str) {
    match text.parse::<i64>() {
        Ok(n) => ctx.put(ev, name, Value::Int(n)),
        Err(_) => ctx.put_str(ev, name, text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::ctx;

    fn decode(line: &str) -> (DecodeContext, Event) {
        let mut c = ctx();
        let mut ev = Event::new();
        assert!(
            SquidDecoder::new()
                .decode_line(&mut c, line, &mut ev)
                .unwrap()
        );
        (c, ev)
    }

    fn text(c: &mut DecodeContext, ev: &Event, name: &str) -> Option<String> {
        ev.get(c.id(name)).map(|v| v.to_string())
    }

    #[test]
    fn a_download_through_the_proxy() {
        let (mut c, ev) = decode(
            "1286536309.450    300 192.168.0.224 TCP_MISS/200 507 GET http://updates.hopto.org:8080/x/a.exe?v=2 bob DIRECT/93.184.216.34 application/octet-stream",
        );
        assert_eq!(ev.logsource.to_string(), "squid/proxy/-");
        assert_eq!(ev.time.0, 1_286_536_309_450_000_000);
        for (name, want) in [
            ("c-ip", "192.168.0.224"),
            ("cache_result", "TCP_MISS"),
            ("sc-status", "200"),
            ("sc-bytes", "507"),
            ("cs-method", "GET"),
            ("cs-host", "updates.hopto.org"),
            ("c-uri-stem", "http://updates.hopto.org:8080/x/a.exe"),
            ("c-uri-query", "v=2"),
            ("c-uri-extension", "exe"),
            ("cs-username", "bob"),
            ("dst_ip", "93.184.216.34"),
            ("content_type", "application/octet-stream"),
        ] {
            assert_eq!(text(&mut c, &ev, name).as_deref(), Some(want), "{name}");
        }
        assert_eq!(ev.get(c.id("sc-status")), Some(Value::Int(200)));
    }

    #[test]
    fn a_tunnel_and_a_denial() {
        let (mut c, ev) = decode(
            "1700000000.001 12 10.0.0.5 TCP_TUNNEL/200 3900 CONNECT c2.example.net:443 - HIER_DIRECT/203.0.113.9 -",
        );
        assert_eq!(
            text(&mut c, &ev, "cs-host").as_deref(),
            Some("c2.example.net")
        );
        assert_eq!(text(&mut c, &ev, "cs-username"), None);
        assert_eq!(text(&mut c, &ev, "content_type"), None);
        let (mut c, ev) = decode(
            "1700000000.002 0 10.0.0.5 TCP_DENIED/403 3900 GET http://[2001:db8::1]/ - NONE/- text/html",
        );
        assert_eq!(text(&mut c, &ev, "cs-host").as_deref(), Some("2001:db8::1"));
        assert_eq!(text(&mut c, &ev, "dst_ip"), None);
    }

    #[test]
    fn recognised_and_refused() {
        assert!(looks_like_squid(
            b"1286536309.450    300 192.168.0.224 TCP_MISS/200 507 GET http://x/ - DIRECT/1.2.3.4 text/html"
        ));
        assert!(!looks_like_squid(
            b"Mar  3 10:01:02 host sshd[4242]: message"
        ));
        assert!(!looks_like_squid(
            b"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 2326"
        ));
        let mut c = ctx();
        let mut ev = Event::new();
        let err = SquidDecoder::new()
            .decode_line(
                &mut c,
                "1286536309.450 300 192.168.0.224 TCP_MISS/200",
                &mut ev,
            )
            .unwrap_err();
        assert!(err.to_string().contains("no byte count"), "{err}");
        let err = SquidDecoder::new()
            .decode_line(
                &mut c,
                "12x.450 300 1.2.3.4 TCP_MISS/200 5 GET http://x/",
                &mut ev,
            )
            .unwrap_err();
        assert!(err.to_string().contains("not Unix seconds"), "{err}");
    }
}
