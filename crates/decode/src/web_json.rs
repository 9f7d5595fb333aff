//! Web server requests logged as JSON: Elastic Common Schema (`http.request.method`,
//! `url.original`, `source.ip`, `user_agent.original`…) and nginx's or Apache's own
//! JSON formats (`request_method`, `request_uri`, `remote_addr`, `status`,
//! `http_user_agent`…). [`WebJsonNames::recognise`] says whether an object is one;
//! [`WebJsonNames::apply`] adds Sigma's `webserver` names, the originals staying
//! reachable:
//!
//! | Sigma name | from |
//! |---|---|
//! | `cs-method` | `http.request.method`, `request_method` |
//! | `cs-uri` | `url.original`, `request_uri` |
//! | `cs-uri-stem` | `url.path`, `uri`, else `cs-uri` up to `?` |
//! | `cs-uri-query` | `url.query`, `args`, `query_string`, else `cs-uri` after `?` |
//! | `c-ip` | `source.ip`, `client.ip`, `source.address`, `remote_addr`, `client_ip` |
//! | `sc-status` | `http.response.status_code`, `status` |
//! | `cs-user-agent` | `user_agent.original`, `http_user_agent`, `user_agent` |
//! | `cs-referer` | `http.request.referrer`, `http_referer`, `referer`, `referrer` |
//! | `cs-host` | `url.domain`, `http_host`, `server_name`, `host` (text) |
//! | `sc-bytes` | `http.response.body.bytes`, `body_bytes_sent`, `bytes_sent` |
//! | `cs-username` | `user.name`, `remote_user` |
//!
//! A `request` field holding the request line (`GET /a?b HTTP/1.1`) gives the method
//! and target when no other field does.

use watchfloor_event::{Event, FieldId, Value};

use crate::DecodeContext;
use crate::web_proxy::add_stem_and_query;

/// (Sigma name, the names it is read from, in order of preference).
const RENAMES: &[(&str, &[&str])] = &[
    ("cs-method", &["http.request.method", "request_method"]),
    ("cs-uri", &["url.original", "request_uri"]),
    ("cs-uri-stem", &["url.path", "uri"]),
    ("cs-uri-query", &["url.query", "args", "query_string"]),
    (
        "c-ip",
        &[
            "source.ip",
            "client.ip",
            "source.address",
            "remote_addr",
            "client_ip",
        ],
    ),
    ("sc-status", &["http.response.status_code", "status"]),
    (
        "cs-user-agent",
        &["user_agent.original", "http_user_agent", "user_agent"],
    ),
    (
        "cs-referer",
        &[
            "http.request.referrer",
            "http_referer",
            "referer",
            "referrer",
        ],
    ),
    (
        "cs-host",
        &["url.domain", "http_host", "server_name", "host"],
    ),
    (
        "sc-bytes",
        &["http.response.body.bytes", "body_bytes_sent", "bytes_sent"],
    ),
    ("cs-username", &["user.name", "remote_user"]),
];

/// Field ids of the names above, resolved once.
#[derive(Debug, Clone)]
pub(crate) struct WebJsonNames {
    renames: Vec<(FieldId, Vec<FieldId>)>,
    method: FieldId,
    uri: FieldId,
    stem: FieldId,
    query: FieldId,
    status: FieldId,
    request_line: FieldId,
    /// Fields that name a request's method or target, in either schema.
    methods: Vec<FieldId>,
    targets: Vec<FieldId>,
    statuses: Vec<FieldId>,
}

impl WebJsonNames {
    pub(crate) fn new(ctx: &mut DecodeContext) -> Self {
        let renames: Vec<(FieldId, Vec<FieldId>)> = RENAMES
            .iter()
            .map(|(to, from)| (ctx.id(to), from.iter().map(|f| ctx.id(f)).collect()))
            .collect();
        let from = |name: &str| {
            RENAMES
                .iter()
                .position(|(to, _)| *to == name)
                .map(|i| renames[i].1.clone())
                .unwrap_or_default()
        };
        let mut targets = from("cs-uri");
        targets.extend(from("cs-uri-stem"));
        WebJsonNames {
            methods: from("cs-method"),
            targets,
            statuses: from("sc-status"),
            method: ctx.id("cs-method"),
            uri: ctx.id("cs-uri"),
            stem: ctx.id("cs-uri-stem"),
            query: ctx.id("cs-uri-query"),
            status: ctx.id("sc-status"),
            request_line: ctx.id("request"),
            renames,
        }
    }

    /// Whether `ev` is a web server's request: a method and a target, or a request line
    /// and a status.
    pub(crate) fn recognise(&self, ev: &Event) -> bool {
        let has = |ids: &[FieldId]| ids.iter().any(|&id| ev.get(id).is_some());
        (has(&self.methods) && has(&self.targets))
            || (has(&self.statuses)
                && ev
                    .get(self.request_line)
                    .and_then(|v| v.as_str())
                    .is_some_and(|line| split_request_line(line).is_some()))
    }

    /// Adds the Sigma `webserver` names to a recognised event.
    pub(crate) fn apply(&self, ev: &mut Event) {
        for (to, from) in &self.renames {
            if ev.get(*to).is_some() {
                continue;
            }
            for &source in from {
                let text_or_number = ev
                    .get(source)
                    .is_some_and(|v| v.as_str().is_some() || v.as_i64().is_some());
                if text_or_number && ev.alias(source, *to) {
                    break;
                }
            }
        }
        if (ev.get(self.method).is_none() || ev.get(self.uri).is_none())
            && let Some(line) = ev.get(self.request_line).and_then(|v| v.as_str())
            && let Some((method, target)) = split_request_line(line)
        {
            let (method, target) = (method.to_owned(), target.to_owned());
            if ev.get(self.method).is_none() {
                ev.push_str(self.method, self.method, &method);
            }
            if ev.get(self.uri).is_none() {
                ev.push_str(self.uri, self.uri, &target);
            }
        }
        if let Some(uri) = ev.get(self.uri).and_then(|v| v.as_str()).map(str::to_owned) {
            add_stem_and_query(ev, &uri, self.stem, self.query);
        }
        // A status logged as text ("404") is compared as a number by Sigma's rules.
        if let Some(code) = ev
            .get(self.status)
            .and_then(|v| v.as_str())
            .and_then(|s| s.trim().parse::<i64>().ok())
        {
            ev.set(self.status, Value::Int(code));
        }
    }
}

/// The method and target of a request line `METHOD TARGET[ HTTP/x]`, the target kept
/// whole even when it holds spaces (attack tools send them unencoded). The method must
/// be upper-case letters, so prose is not read as a request.
pub fn split_request_line(line: &str) -> Option<(&str, &str)> {
    let (method, rest) = line.trim().split_once(' ')?;
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let rest = rest.trim_start();
    let target = match rest.rsplit_once(' ') {
        Some((t, v)) if v.starts_with("HTTP/") => t,
        _ => rest,
    };
    (!target.is_empty()).then_some((method, target))
}

#[cfg(test)]
mod tests {
    use crate::json::JsonFlavour;
    use crate::test_support::{get, s};
    use crate::time::format_rfc3339;
    use watchfloor_event::{Event, Value};

    fn decode(line: &str) -> (crate::DecodeContext, Event, JsonFlavour) {
        crate::test_support::decode_json(None, line)
    }

    #[test]
    fn elastic_common_schema_requests() {
        let (mut c, ev, flavour) = decode(
            r#"{"@timestamp":"2026-03-02T10:00:00Z","source":{"ip":"203.0.113.7"},"http":{"request":{"method":"GET","referrer":"https://a.example/"},"response":{"status_code":404}},"url":{"original":"/item.php?id=1%27","path":"/item.php","query":"id=1%27","domain":"shop.example"},"user_agent":{"original":"sqlmap/1.7"}}"#,
        );
        assert_eq!(flavour, JsonFlavour::WebAccess);
        assert_eq!(ev.logsource.to_string(), "-/webserver/-");
        assert_eq!(format_rfc3339(ev.time), "2026-03-02T10:00:00Z");
        for (name, value) in [
            ("cs-method", "GET"),
            ("cs-uri", "/item.php?id=1%27"),
            ("cs-uri-stem", "/item.php"),
            ("cs-uri-query", "id=1%27"),
            ("c-ip", "203.0.113.7"),
            ("cs-user-agent", "sqlmap/1.7"),
            ("cs-referer", "https://a.example/"),
            ("cs-host", "shop.example"),
        ] {
            assert_eq!(s(&mut c, &ev, name), Some(value), "{name}");
        }
        assert_eq!(get(&mut c, &ev, "sc-status"), Some(Value::Int(404)));
        assert_eq!(s(&mut c, &ev, "url.original"), Some("/item.php?id=1%27"));
    }

    #[test]
    fn nginx_json_requests_with_text_status_and_a_request_line() {
        let (mut c, ev, flavour) = decode(
            r#"{"time_iso8601":"2026-03-02T10:00:00+00:00","remote_addr":"198.51.100.4","request":"POST /login?next=%2F HTTP/1.1","status":"302","http_user_agent":"curl/8.0","http_referer":"-","body_bytes_sent":"0"}"#,
        );
        assert_eq!(flavour, JsonFlavour::WebAccess);
        assert_eq!(format_rfc3339(ev.time), "2026-03-02T10:00:00Z");
        assert_eq!(s(&mut c, &ev, "cs-method"), Some("POST"));
        assert_eq!(s(&mut c, &ev, "cs-uri-stem"), Some("/login"));
        assert_eq!(s(&mut c, &ev, "cs-uri-query"), Some("next=%2F"));
        assert_eq!(s(&mut c, &ev, "c-ip"), Some("198.51.100.4"));
        assert_eq!(get(&mut c, &ev, "sc-status"), Some(Value::Int(302)));
        assert_eq!(s(&mut c, &ev, "status"), Some("302"));
    }

    #[test]
    fn other_json_is_not_a_web_request() {
        for line in [
            r#"{"status":"ok","request":"refresh cache"}"#,
            r#"{"method":"GET","host":"a"}"#,
            r#"{"user":{"name":"bob"},"status":404}"#,
        ] {
            let (_, ev, flavour) = decode(line);
            assert_eq!(flavour, JsonFlavour::Generic, "{line}");
            assert_eq!(ev.logsource.category(), None);
        }
    }
}
