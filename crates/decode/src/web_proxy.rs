//! HTTP requests seen on the wire as Sigma's `proxy` category.
//!
//! Sigma's `proxy` rules (user agents of tools and malware, downloads from odd top-level
//! domains, C2 URL patterns) are written for a web proxy's log. A network sensor records
//! the same requests: Zeek's `http` log and Suricata's `http` events. Those events get
//! category `proxy` and the proxy field names beside their own:
//!
//! | proxy name | Zeek | Suricata |
//! |---|---|---|
//! | `c-uri` | `uri` | `http.url` |
//! | `c-uri-stem`, `c-uri-query`, `c-uri-extension` | from `uri` | from `http.url` |
//! | `cs-host`, `r-dns` | `host` | `http.hostname` |
//! | `cs-method` | `method` | `http.http_method` |
//! | `c-useragent` | `user_agent` | `http.http_user_agent` |
//! | `cs-referrer` | `referrer` | `http.http_refer` |
//! | `sc-status` | `status_code` | `http.status` |
//! | `cs-version` | `version` | `http.protocol` |
//! | `c-ip`, `dst_ip` | `id.orig_h`, `id.resp_h` | `src_ip`, `dest_ip` |
//!
//! A name the event already has is never overwritten.

use watchfloor_event::{Event, FieldId};

use crate::DecodeContext;

/// The Sigma category given to HTTP requests seen on the wire.
pub const CATEGORY: &str = "proxy";

/// (proxy name, Zeek name, Suricata name).
const RENAMES: &[(&str, &str, &str)] = &[
    ("c-uri", "uri", "http.url"),
    ("cs-host", "host", "http.hostname"),
    ("r-dns", "host", "http.hostname"),
    ("cs-method", "method", "http.http_method"),
    ("c-useragent", "user_agent", "http.http_user_agent"),
    ("cs-referrer", "referrer", "http.http_refer"),
    ("sc-status", "status_code", "http.status"),
    ("cs-version", "version", "http.protocol"),
    ("c-ip", "id.orig_h", "src_ip"),
    ("dst_ip", "id.resp_h", "dest_ip"),
];

/// Which sensor wrote the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sensor {
    Zeek,
    Suricata,
}

/// Field ids of the proxy names, resolved once.
#[derive(Debug, Clone)]
pub(crate) struct ProxyNames {
    /// (proxy name, Zeek name, Suricata name).
    renames: Vec<(FieldId, FieldId, FieldId)>,
    uri: FieldId,
    stem: FieldId,
    query: FieldId,
    extension: FieldId,
}

impl ProxyNames {
    pub(crate) fn new(ctx: &mut DecodeContext) -> Self {
        let renames = RENAMES
            .iter()
            .map(|(proxy, zeek, suricata)| (ctx.id(proxy), ctx.id(zeek), ctx.id(suricata)))
            .collect();
        ProxyNames {
            renames,
            uri: ctx.id("c-uri"),
            stem: ctx.id("c-uri-stem"),
            query: ctx.id("c-uri-query"),
            extension: ctx.id("c-uri-extension"),
        }
    }

    /// Adds the proxy names of an HTTP request event from `sensor`.
    pub(crate) fn apply(&self, sensor: Sensor, ev: &mut Event) {
        for &(proxy, zeek, suricata) in &self.renames {
            if ev.get(proxy).is_none() {
                ev.alias(
                    match sensor {
                        Sensor::Zeek => zeek,
                        Sensor::Suricata => suricata,
                    },
                    proxy,
                );
            }
        }
        let Some(uri) = ev.get(self.uri).and_then(|v| v.as_str()).map(str::to_owned) else {
            return;
        };
        let stem = add_stem_and_query(ev, &uri, self.stem, self.query);
        if let Some(extension) = extension(stem)
            && ev.get(self.extension).is_none()
        {
            ev.push_str(self.extension, self.extension, extension);
        }
    }
}

/// The host a request goes to: `CONNECT host:port`'s host, or an absolute URL's
/// (`http://user@host:8080/x` gives `host`); `None` for a path-only target.
pub fn request_host<'a>(method: &str, target: &'a str) -> Option<&'a str> {
    let authority = if method.eq_ignore_ascii_case("CONNECT") {
        target
    } else {
        let rest = target.split_once("://")?.1;
        rest.split(['/', '?', '#']).next()?
    };
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then_some(host)
}

/// A request target's path (`stem`) and query (after `?`, without it). An absolute
/// URL (`http://host/path`) keeps its scheme and host in the stem, as proxies log it.
pub(crate) fn split_uri(uri: &str) -> (&str, Option<&str>) {
    let uri = uri.split('#').next().unwrap_or(uri);
    match uri.split_once('?') {
        Some((stem, query)) => (stem, Some(query)),
        None => (uri, None),
    }
}

/// Adds the stem and the query of request target `uri` under `stem_id` and `query_id`
/// where the event has none; returns the stem.
pub(crate) fn add_stem_and_query<'u>(
    ev: &mut Event,
    uri: &'u str,
    stem_id: FieldId,
    query_id: FieldId,
) -> &'u str {
    let (stem, query) = split_uri(uri);
    if ev.get(stem_id).is_none() {
        ev.push_str(stem_id, stem_id, stem);
    }
    if let Some(query) = query
        && ev.get(query_id).is_none()
    {
        ev.push_str(query_id, query_id, query);
    }
    stem
}

/// The extension of a path's last segment (`exe` for `/a/b.exe`), if it has one.
pub(crate) fn extension(stem: &str) -> Option<&str> {
    let path = stem.split_once("://").map_or(stem, |(_, rest)| {
        rest.find('/').map_or("", |at| &rest[at..])
    });
    let segment = path.rsplit('/').next()?;
    let (name, ext) = segment.rsplit_once('.')?;
    (!name.is_empty() && !ext.is_empty()).then_some(ext)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_hosts() {
        assert_eq!(
            request_host("CONNECT", "c2.example:443"),
            Some("c2.example")
        );
        assert_eq!(
            request_host("GET", "http://bob@x.example:8080/a?b"),
            Some("x.example")
        );
        assert_eq!(
            request_host("GET", "http://[2001:db8::1]/"),
            Some("2001:db8::1")
        );
        assert_eq!(request_host("GET", "/index.html"), None);
    }

    #[test]
    fn uri_parts() {
        assert_eq!(
            split_uri("/a/b.exe?x=1&y=2#f"),
            ("/a/b.exe", Some("x=1&y=2"))
        );
        assert_eq!(split_uri("/index.html"), ("/index.html", None));
        assert_eq!(extension("/a/b.exe"), Some("exe"));
        assert_eq!(extension("/a/.hidden"), None);
        assert_eq!(extension("/a.d/b"), None);
        assert_eq!(extension("/"), None);
        assert_eq!(extension("http://evil.example/x/payload.ps1"), Some("ps1"));
        assert_eq!(extension("http://evil.example"), None);
    }
}
