//! Web attack analysis on web server logs and on the requests network sensors see
//! going to internal servers: [`WebAttackFields`] rebuilds the request a `webserver`
//! event records (method, target, the headers and body the log kept) and
//! runs [`watchfloor_webattack::analyze`] on it, one [`DetectionRow`] per attack class
//! found. Rule ids are `web-attack/<class>` (`web-attack/sqli`…); the matched values say
//! where the payload was, the decoded payload, and why it is one.

use std::borrow::Cow;

use watchfloor_decode::time::format_rfc3339;
use watchfloor_decode::web_json::split_request_line;
use watchfloor_event::{Event, FieldId, FieldTable, Value};
use watchfloor_webattack::{Analyzer, AttackClass, Request};

use crate::detect::{DetectionRow, MAX_EVENT_TEXT};
use crate::entities::EntityFields;

/// Prefix of the rule id of every web attack detection.
pub const WEB_ATTACK_RULE_PREFIX: &str = "web-attack/";

/// The row index [`crate::detect::Detector`] gives web attack detections (they have no
/// rule in the engine).
pub const WEB_ATTACK_ROW: u32 = u32::MAX - 1;

/// The field ids of the request's parts, resolved once.
pub struct WebAttackFields {
    method: Vec<FieldId>,
    target: Vec<FieldId>,
    stem: Vec<FieldId>,
    query: Vec<FieldId>,
    request_line: FieldId,
    headers: Vec<(&'static str, Vec<FieldId>)>,
    body: Vec<FieldId>,
    /// Remembers the verdicts on repeated paths and headers.
    analyzer: Analyzer,
    /// The server's address in a sensor's HTTP event (`dst_ip`).
    server_ip: FieldId,
}

/// Whether `ev` records a request to one of the organisation's web servers: a web
/// server's own log (category `webserver`), or an HTTP request a network sensor (Zeek,
/// Suricata) saw going to an internal address. Requests the organisation's users send
/// out, through a proxy or seen on the wire, are not judged: the sites they visit put
/// all sorts of things in their URLs.
pub fn is_request_to_own_server(ev: &Event, server_ip: FieldId) -> bool {
    match ev.logsource.category() {
        Some("webserver") => true,
        Some("proxy") => {
            matches!(ev.logsource.product(), Some("zeek" | "suricata"))
                && text(ev, std::slice::from_ref(&server_ip)).is_some_and(|ip| {
                    ip.parse::<std::net::IpAddr>().is_ok() && !crate::entities::is_public(ip)
                })
        }
        _ => false,
    }
}

fn ids(table: &FieldTable, names: &[&str]) -> Vec<FieldId> {
    names.iter().map(|n| table.intern(n)).collect()
}

impl WebAttackFields {
    pub fn new(table: &FieldTable) -> Self {
        WebAttackFields {
            method: ids(table, &["cs-method", "http.request.method", "method"]),
            target: ids(table, &["cs-uri", "url.original", "c-uri"]),
            stem: ids(table, &["cs-uri-stem", "url.path"]),
            query: ids(table, &["cs-uri-query", "url.query"]),
            request_line: table.intern("request"),
            headers: vec![
                (
                    "User-Agent",
                    ids(
                        table,
                        &["cs-user-agent", "c-useragent", "user_agent.original"],
                    ),
                ),
                (
                    "Referer",
                    ids(
                        table,
                        &["cs-referer", "cs-referrer", "http.request.referrer"],
                    ),
                ),
                ("Cookie", ids(table, &["cs-cookie", "cs(Cookie)"])),
                ("Host", ids(table, &["cs-host", "url.domain"])),
                (
                    "X-Forwarded-For",
                    ids(table, &["x-forwarded-for", "http_x_forwarded_for"]),
                ),
                (
                    "Content-Type",
                    ids(table, &["cs-content-type", "http.request.mime_type"]),
                ),
            ],
            body: ids(
                table,
                &["http.request.body.content", "request_body", "cs-body"],
            ),
            analyzer: Analyzer::new(),
            server_ip: table.intern("dst_ip"),
        }
    }

    /// The web attack detections of `ev`, if it records a request to one of the
    /// organisation's web servers ([`is_request_to_own_server`]).
    pub fn detect(
        &mut self,
        ev: &Event,
        entities: &EntityFields,
        out: &mut Vec<(u32, DetectionRow)>,
    ) {
        if !is_request_to_own_server(ev, self.server_ip) {
            return;
        }
        let method = text(ev, &self.method).map(unescape_log);
        let target = self.target(ev);
        let headers: Vec<(&'static str, Cow<'_, str>)> = self
            .headers
            .iter()
            .filter_map(|(name, ids)| Some((*name, unescape_log(text(ev, ids)?))))
            .filter(|(_, v)| v != "-")
            .collect();
        let body = text(ev, &self.body).map(unescape_log);
        if target.is_none() && body.is_none() && headers.is_empty() {
            return;
        }
        let request = Request {
            method: method.as_deref(),
            target: target.as_deref(),
            headers: headers.iter().map(|(n, v)| (*n, v.as_ref())).collect(),
            body: body.as_deref(),
        };
        let findings = self.analyzer.analyze(&request);
        if findings.is_empty() {
            return;
        }
        let mut base_entities = entities.extract(ev);
        base_entities.normalize();
        let host = entities.host(ev);
        let raw = ev.raw();
        let raw = &raw[..raw.len().min(MAX_EVENT_TEXT)];
        let event = String::from_utf8_lossy(raw).into_owned();
        for finding in findings {
            let class = finding.class;
            out.push((
                WEB_ATTACK_ROW,
                DetectionRow {
                    time: (ev.time.0 != 0).then(|| format_rfc3339(ev.time)),
                    rule_id: Some(rule_id(class)),
                    rule_title: class.title().to_string(),
                    level: class.level(),
                    tags: class.tags().iter().map(|t| (*t).to_string()).collect(),
                    host: host.clone(),
                    source: ev.source.name.to_string(),
                    record: ev.source.record,
                    matched: vec![
                        ("location".to_string(), finding.location.to_string()),
                        ("payload".to_string(), finding.evidence),
                        ("reason".to_string(), finding.reason),
                    ],
                    event: event.clone(),
                    entities: base_entities.clone(),
                    indicator: None,
                    time_ns: ev.time.0,
                },
            ));
        }
    }

    /// The request target: the logged URI, else stem and query, else the middle of a
    /// request line too malformed for the decoder to split.
    fn target<'e>(&self, ev: &'e Event) -> Option<Cow<'e, str>> {
        if let Some(t) = text(ev, &self.target) {
            return Some(unescape_log(t));
        }
        if let Some(stem) = text(ev, &self.stem) {
            return Some(match text(ev, &self.query) {
                Some(q) => Cow::Owned(format!("{}?{}", unescape_log(stem), unescape_log(q))),
                None => unescape_log(stem),
            });
        }
        let line = text(ev, std::slice::from_ref(&self.request_line))?;
        let line = unescape_log(line);
        let (_, inner) = split_request_line(&line)?;
        let inner = inner.to_string();
        Some(Cow::Owned(inner))
    }
}

/// The rule id of web attack detections of `class`.
pub fn rule_id(class: AttackClass) -> String {
    format!("{WEB_ATTACK_RULE_PREFIX}{}", class.slug())
}

fn text<'e>(ev: &'e Event, ids: &[FieldId]) -> Option<&'e str> {
    ids.iter().find_map(|&id| match ev.get(id)? {
        Value::Str(s) if !s.is_empty() => Some(s),
        _ => None,
    })
}

/// Undoes the escapes Apache and nginx write into quoted log fields (`\"`, `\\`,
/// `\xHH`), so the analyzer sees what the client sent.
fn unescape_log(s: &str) -> Cow<'_, str> {
    if !s.contains('\\') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            match b.get(i + 1) {
                Some(&c @ (b'"' | b'\\')) => {
                    out.push(c);
                    i += 2;
                    continue;
                }
                Some(b'x') => {
                    if let Some(byte) = b
                        .get(i + 2..i + 4)
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                    {
                        out.push(byte);
                        i += 4;
                        continue;
                    }
                }
                _ => {}
            }
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use watchfloor_decode::access_log::AccessLogDecoder;
    use watchfloor_decode::{DecodeContext, LineDecoder};
    use watchfloor_event::FieldCache;

    fn rows(line: &str) -> Vec<DetectionRow> {
        let table = FieldTable::new();
        let mut ctx = DecodeContext::new(FieldCache::new(table.clone()));
        let mut decoder = AccessLogDecoder::new();
        let mut ev = Event::new();
        assert!(
            decoder
                .decode_line(&mut ctx, line, &mut ev)
                .expect("decodes")
        );
        ev.set_raw(line.as_bytes());
        let mut fields = WebAttackFields::new(&table);
        let entities = EntityFields::new(&table);
        let mut out = Vec::new();
        fields.detect(&ev, &entities, &mut out);
        out.into_iter().map(|(_, r)| r).collect()
    }

    #[test]
    fn an_access_log_line_with_sql_injection() {
        let found = rows(
            r#"203.0.113.9 - - [10/Oct/2024:13:55:36 +0000] "GET /item.php?id=1%27%20UNION%20SELECT%20user,pass%20FROM%20users--%20 HTTP/1.1" 200 512 "-" "Mozilla/5.0""#,
        );
        assert_eq!(found.len(), 1);
        let row = &found[0];
        assert_eq!(row.rule_id.as_deref(), Some("web-attack/sqli"));
        assert_eq!(row.level, "high");
        assert!(row.tags.contains(&"attack.t1190".to_string()));
        assert_eq!(
            row.matched[0],
            ("location".into(), "query parameter `id`".into())
        );
        assert!(row.matched[1].1.contains("UNION SELECT"));
        assert_eq!(row.entities.src_ip.as_deref(), Some("203.0.113.9"));
    }

    #[test]
    fn logged_escapes_are_undone_before_analysis() {
        let found = rows(
            r#"198.51.100.7 - - [10/Oct/2024:13:55:36 +0000] "GET /?q=\x22><script>alert(1)</script> HTTP/1.1" 200 5 "-" "sqlmap/1.7""#,
        );
        let ids: Vec<_> = found.iter().filter_map(|r| r.rule_id.as_deref()).collect();
        assert_eq!(ids, ["web-attack/xss", "web-attack/scanner"]);
    }

    #[test]
    fn a_malformed_request_line_is_still_read() {
        let found = rows(
            r#"198.51.100.7 - - [10/Oct/2024:13:55:36 +0000] "GET /cgi-bin/x?a=1 ; cat /etc/passwd HTTP/1.1" 400 0 "-" "-""#,
        );
        let ids: Vec<_> = found.iter().filter_map(|r| r.rule_id.as_deref()).collect();
        assert!(ids.contains(&"web-attack/command-injection"), "{ids:?}");
    }

    #[test]
    fn ordinary_traffic_gives_nothing() {
        assert!(rows(r#"192.0.2.1 - - [10/Oct/2024:13:55:36 +0000] "GET /index.html?lang=en HTTP/1.1" 200 2326 "https://example.com/" "Mozilla/5.0 (X11; Linux x86_64)""#).is_empty());
    }

    #[test]
    fn sensors_requests_count_only_towards_internal_servers() {
        use watchfloor_decode::json::JsonDecoder;
        let decode = |line: &str| {
            let table = FieldTable::new();
            let mut ctx = DecodeContext::new(FieldCache::new(table.clone()));
            let mut ev = Event::new();
            JsonDecoder::new(None)
                .decode_object(&mut ctx, line.as_bytes(), &mut ev)
                .expect("decodes");
            ev.set_raw(line.as_bytes());
            let mut fields = WebAttackFields::new(&table);
            let entities = EntityFields::new(&table);
            let mut out = Vec::new();
            fields.detect(&ev, &entities, &mut out);
            out.into_iter()
                .filter_map(|(_, r)| r.rule_id)
                .collect::<Vec<_>>()
        };
        let eve = |dest: &str| {
            format!(
                r#"{{"timestamp":"2026-03-02T10:00:00.000000+0000","flow_id":1,"event_type":"http","src_ip":"203.0.113.9","dest_ip":"{dest}","http":{{"hostname":"shop","url":"/item.php?id=1%27%20UNION%20SELECT%20pass%20FROM%20users--","http_method":"GET","http_user_agent":"Mozilla/5.0"}}}}"#
            )
        };
        assert_eq!(decode(&eve("10.1.2.3")), ["web-attack/sqli"]);
        assert!(decode(&eve("93.184.216.34")).is_empty());
    }

    #[test]
    fn unescaping() {
        assert_eq!(unescape_log(r#"a\"b\\c\x41\xZZ"#), r#"a"b\cA\xZZ"#);
        assert_eq!(
            split_request_line("GET /a b HTTP/1.0"),
            Some(("GET", "/a b"))
        );
        assert_eq!(split_request_line("\\x16\\x03"), None);
    }
}
