//! The request as a log shows it ([`Request`]) and the places in it a payload can hide
//! ([`Part`]): the path, each query and form parameter (name and value), the cookies,
//! the headers worth inspecting, and a body that is neither form nor JSON as a whole.

use std::borrow::Cow;
use std::fmt;

use crate::normalize::decode_value;

/// An HTTP request as far as a log records it. Access logs give the method, the target
/// and two headers; WAF and application logs may add every header and the body.
#[derive(Debug, Clone, Default)]
pub struct Request<'a> {
    pub method: Option<&'a str>,
    /// The request target as sent: path, then `?` and the query, if any.
    pub target: Option<&'a str>,
    /// Headers by name (any case); a log that keeps only some gives only those.
    pub headers: Vec<(&'a str, &'a str)>,
    /// The request body, when the log has it.
    pub body: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// The first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

/// Where in a request a value sits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Location {
    Path,
    QueryName,
    Query(String),
    BodyName,
    Body(String),
    /// A body that is not a form: the whole of it.
    RawBody,
    /// An XML body, whole: its markup is the format, not a payload.
    XmlBody,
    Cookie(String),
    Header(String),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Path => f.write_str("path"),
            Location::QueryName => f.write_str("query parameter name"),
            Location::Query(n) => write!(f, "query parameter `{n}`"),
            Location::BodyName => f.write_str("body parameter name"),
            Location::Body(n) => write!(f, "body parameter `{n}`"),
            Location::RawBody => f.write_str("body"),
            Location::XmlBody => f.write_str("XML body"),
            Location::Cookie(n) => write!(f, "cookie `{n}`"),
            Location::Header(n) => write!(f, "header `{n}`"),
        }
    }
}

impl Location {
    /// Whether the value came from the client's parameters (path, query, body, cookies)
    /// rather than a header: the injection classes look there first.
    pub fn is_parameter(&self) -> bool {
        !matches!(self, Location::Header(_))
    }
}

/// One decoded value and where it was.
#[derive(Debug, Clone)]
pub struct Part<'a> {
    pub location: Location,
    pub value: Cow<'a, str>,
}

/// Headers whose values are inspected: those a client sets freely and servers or
/// applications read. Others (Accept, Content-Length…) carry protocol, not payloads.
const INSPECTED_HEADERS: &[&str] = &[
    "user-agent",
    "referer",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-real-ip",
    "x-api-version",
    "x-client-ip",
    "true-client-ip",
    "x-originating-ip",
    "forwarded",
    "origin",
    "authorization",
    "accept-language",
    "x-requested-with",
];

/// Most parameters looked at in one request, so a crafted request with thousands of
/// parameters costs a bounded amount.
const MAX_PARTS: usize = 256;

/// Bodies longer than this are inspected up to it.
pub const MAX_BODY: usize = 64 << 10;

/// Splits `request` into the parts a payload can hide in, each decoded.
pub fn parts<'a>(request: &Request<'a>) -> Vec<Part<'a>> {
    let mut out = Vec::new();
    if let Some(target) = request.target {
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (target, None),
        };
        // An absolute-form target (`http://host/path`) is inspected from its path.
        let path = strip_authority(path);
        out.push(Part {
            location: Location::Path,
            value: decode_value(path, false),
        });
        if let Some(query) = query {
            form_pairs(query, &mut out, Location::Query, Location::QueryName);
        }
    }
    for (name, value) in &request.headers {
        if out.len() >= MAX_PARTS {
            break;
        }
        if name.eq_ignore_ascii_case("cookie") {
            cookies(value, &mut out);
        } else if INSPECTED_HEADERS
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
        {
            out.push(Part {
                location: Location::Header(name.to_ascii_lowercase()),
                value: decode_value(value, false),
            });
        }
    }
    if let Some(body) = request.body {
        let body = truncate(body, MAX_BODY);
        let content_type = request
            .header("content-type")
            .unwrap_or("")
            .to_ascii_lowercase();
        body_parts(body, &content_type, &mut out);
    }
    out.truncate(MAX_PARTS);
    out
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn strip_authority(path: &str) -> &str {
    for scheme in ["http://", "https://"] {
        if path.len() > scheme.len()
            && path
                .get(..scheme.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(scheme))
        {
            let rest = &path[scheme.len()..];
            return rest.find('/').map_or("/", |i| &rest[i..]);
        }
    }
    path
}

fn form_pairs<'a>(
    text: &'a str,
    out: &mut Vec<Part<'a>>,
    value_at: fn(String) -> Location,
    name_at: Location,
) {
    for pair in text.split('&') {
        if out.len() >= MAX_PARTS {
            return;
        }
        if pair.is_empty() {
            continue;
        }
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode_value(name, true);
        if !name.is_empty() {
            out.push(Part {
                location: name_at.clone(),
                value: name.clone(),
            });
        }
        if !value.is_empty() {
            out.push(Part {
                location: value_at(clip_name(&name)),
                value: decode_value(value, true),
            });
        }
    }
}

/// A parameter name as a location label: at most 64 characters.
fn clip_name(name: &str) -> String {
    name.chars().take(64).collect()
}

fn cookies<'a>(header: &'a str, out: &mut Vec<Part<'a>>) {
    for pair in header.split(';') {
        let pair = pair.trim();
        if pair.is_empty() {
            continue;
        }
        let (name, value) = pair.split_once('=').unwrap_or(("", pair));
        out.push(Part {
            location: Location::Cookie(clip_name(name.trim())),
            value: decode_value(value, false),
        });
    }
}

fn body_parts<'a>(body: &'a str, content_type: &str, out: &mut Vec<Part<'a>>) {
    let trimmed = body.trim_start();
    if (content_type.contains("json") || trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(value) = serde_json::from_str::<serde_json::Value>(body)
    {
        json_strings(&value, "", out, 0);
        return;
    }
    if let Some(boundary) = multipart_boundary(content_type, body) {
        multipart(body, &boundary, out);
        return;
    }
    if content_type.contains("xml") || trimmed.starts_with("<?xml") {
        xml_parts(body, out);
        return;
    }
    let form_like = content_type.contains("x-www-form-urlencoded")
        || (content_type.is_empty() && body.contains('=') && !body.contains('\n'));
    if form_like {
        form_pairs(body, out, Location::Body, Location::BodyName);
    } else {
        // Percent-encoded text without spaces was written by a form encoder: its `+`
        // are spaces.
        let encoded = body.contains('%') && !body.contains(char::is_whitespace);
        out.push(Part {
            location: Location::RawBody,
            value: decode_value(body, encoded),
        });
    }
}

/// The boundary of a multipart body: from the content type, or, when the log kept no
/// headers, from a first line that opens a part (`--` and a token).
fn multipart_boundary(content_type: &str, body: &str) -> Option<String> {
    if let Some(at) = content_type.find("boundary=") {
        let b = content_type[at + "boundary=".len()..]
            .split(';')
            .next()?
            .trim()
            .trim_matches('"');
        // The content type was lowercased; the body keeps the boundary's case.
        let first = body.lines().next().unwrap_or("");
        if let Some(real) = first.trim().strip_prefix("--")
            && real.eq_ignore_ascii_case(b)
        {
            return Some(real.to_string());
        }
        return (!b.is_empty()).then(|| b.to_string());
    }
    let first = body.trim_start().lines().next()?.trim();
    let token = first.strip_prefix("--")?;
    let looks_like_part = !token.is_empty()
        && !token.contains(' ')
        && body.to_ascii_lowercase().contains("content-disposition");
    looks_like_part.then(|| token.to_string())
}

/// The parts of a multipart body: each field's name, file name and content.
fn multipart<'a>(body: &'a str, boundary: &str, out: &mut Vec<Part<'a>>) {
    let delimiter = format!("--{boundary}");
    for section in body.split(delimiter.as_str()).skip(1) {
        if out.len() >= MAX_PARTS || section.starts_with("--") {
            break;
        }
        let section = section
            .strip_prefix("\r\n")
            .or_else(|| section.strip_prefix('\n'))
            .unwrap_or(section);
        let (head, content) = section
            .split_once("\r\n\r\n")
            .or_else(|| section.split_once("\n\n"))
            .unwrap_or(("", section));
        let mut name = String::new();
        for line in head.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            if !key.trim().eq_ignore_ascii_case("content-disposition") {
                continue;
            }
            if let Some(n) = disposition_param(value, "name") {
                name = clip_name(&n);
            }
            if let Some(file) = disposition_param(value, "filename") {
                out.push(Part {
                    location: Location::Body(format!("{name} (file name)")),
                    value: Cow::Owned(decode_value(&file, false).into_owned()),
                });
            }
        }
        if !name.is_empty() {
            out.push(Part {
                location: Location::BodyName,
                value: Cow::Owned(name.clone()),
            });
        }
        let content = content
            .strip_suffix("\r\n")
            .or_else(|| content.strip_suffix('\n'))
            .unwrap_or(content);
        if !content.is_empty() {
            out.push(Part {
                location: Location::Body(name),
                value: decode_value(content, false),
            });
        }
    }
}

/// `name="value"` (or unquoted) in a Content-Disposition header value.
fn disposition_param(header: &str, key: &str) -> Option<String> {
    for param in header.split(';').skip(1) {
        let (k, v) = param.split_once('=')?;
        if k.trim().eq_ignore_ascii_case(key) {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            return Some(v.to_string());
        }
    }
    None
}

/// An XML body: whole (for the classes that look for code or files in it), and each
/// text node and attribute value on its own (for those that look for markup or SQL).
fn xml_parts<'a>(body: &'a str, out: &mut Vec<Part<'a>>) {
    out.push(Part {
        location: Location::XmlBody,
        value: Cow::Borrowed(body),
    });
    let mut rest = body;
    while out.len() < MAX_PARTS {
        let Some(open) = rest.find('<') else { break };
        let text = rest[..open].trim();
        if !text.is_empty() {
            out.push(Part {
                location: Location::Body("xml text".into()),
                value: Cow::Owned(decode_value(text, false).into_owned()),
            });
        }
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        let tag = &rest[open..open + close];
        for quoted in tag.split('"').skip(1).step_by(2) {
            if !quoted.is_empty() && out.len() < MAX_PARTS {
                out.push(Part {
                    location: Location::Body("xml attribute".into()),
                    value: Cow::Owned(decode_value(quoted, false).into_owned()),
                });
            }
        }
        rest = &rest[open + close + 1..];
    }
}

/// Every string (and key) in a JSON body, as body parameters named by their path.
fn json_strings(value: &serde_json::Value, path: &str, out: &mut Vec<Part<'_>>, depth: usize) {
    if out.len() >= MAX_PARTS || depth > 32 {
        return;
    }
    match value {
        serde_json::Value::String(s) => out.push(Part {
            location: Location::Body(clip_name(path)),
            value: Cow::Owned(decode_value(s, false).into_owned()),
        }),
        serde_json::Value::Array(items) => {
            for item in items {
                json_strings(item, path, out, depth + 1);
            }
        }
        serde_json::Value::Object(map) => {
            for (key, item) in map {
                out.push(Part {
                    location: Location::BodyName,
                    value: Cow::Owned(key.clone()),
                });
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                json_strings(item, &child, out, depth + 1);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(r: &Request<'_>) -> Vec<(String, String)> {
        parts(r)
            .into_iter()
            .map(|p| (p.location.to_string(), p.value.into_owned()))
            .collect()
    }

    #[test]
    fn target_splits_into_path_and_decoded_parameters() {
        let r = Request {
            target: Some("/a%20b/x.php?id=1%27+or+1&flag&=v"),
            ..Request::default()
        };
        assert_eq!(
            values(&r),
            vec![
                ("path".into(), "/a b/x.php".into()),
                ("query parameter name".into(), "id".into()),
                ("query parameter `id`".into(), "1' or 1".into()),
                ("query parameter name".into(), "flag".into()),
                ("query parameter ``".into(), "v".into()),
            ]
        );
    }

    #[test]
    fn absolute_targets_are_read_from_their_path() {
        let r = Request {
            target: Some("http://example.com/../etc/passwd"),
            ..Request::default()
        };
        assert_eq!(values(&r)[0].1, "/../etc/passwd");
    }

    #[test]
    fn cookies_inspected_headers_and_bodies_become_parts() {
        let r = Request {
            method: Some("POST"),
            target: Some("/login"),
            headers: vec![
                ("Cookie", "sid=abc; theme=%3Cscript%3E"),
                ("User-Agent", "sqlmap/1.7"),
                ("Accept", "*/*"),
                ("Content-Type", "application/json"),
            ],
            body: Some(r#"{"user":{"name":"x' or 1=1--"},"tags":["a"]}"#),
        };
        let v = values(&r);
        assert!(v.contains(&("cookie `theme`".into(), "<script>".into())));
        assert!(v.contains(&("header `user-agent`".into(), "sqlmap/1.7".into())));
        assert!(!v.iter().any(|(l, _)| l.contains("accept")));
        assert!(v.contains(&("body parameter `user.name`".into(), "x' or 1=1--".into())));
        assert!(v.contains(&("body parameter `tags`".into(), "a".into())));
    }

    #[test]
    fn form_and_raw_bodies() {
        let form = Request {
            body: Some("a=1&b=%3Cx%3E"),
            ..Request::default()
        };
        assert!(values(&form).contains(&("body parameter `b`".into(), "<x>".into())));
        let raw = Request {
            headers: vec![("Content-Type", "text/plain")],
            body: Some("a &lt;y&gt; b"),
            ..Request::default()
        };
        assert_eq!(values(&raw), vec![("body".into(), "a <y> b".into())]);
        let xml = Request {
            headers: vec![("Content-Type", "text/xml")],
            body: Some(r#"<a k="v1">t &lt;s&gt;</a>"#),
            ..Request::default()
        };
        assert_eq!(
            values(&xml),
            vec![
                ("XML body".into(), r#"<a k="v1">t &lt;s&gt;</a>"#.into()),
                ("body parameter `xml attribute`".into(), "v1".into()),
                ("body parameter `xml text`".into(), "t <s>".into()),
            ]
        );
    }

    #[test]
    fn multipart_bodies_split_into_fields() {
        let body = "-----------------------------26500\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../shell.php\"\r\nContent-Type: application/octet-stream\r\n\r\n<?php echo 1; ?>\r\n-----------------------------26500\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n-----------------------------26500--\r\n";
        for content_type in [
            "multipart/form-data; boundary=---------------------------26500",
            "",
        ] {
            let r = Request {
                headers: vec![("Content-Type", content_type)],
                body: Some(body),
                ..Request::default()
            };
            assert_eq!(
                values(&r),
                vec![
                    (
                        "body parameter `file (file name)`".into(),
                        "../shell.php".into()
                    ),
                    ("body parameter name".into(), "file".into()),
                    ("body parameter `file`".into(), "<?php echo 1; ?>".into()),
                    ("body parameter name".into(), "note".into()),
                    ("body parameter `note`".into(), "hello".into()),
                ],
                "{content_type}"
            );
        }
    }

    #[test]
    fn parts_are_bounded() {
        let query = "a=1&".repeat(10_000);
        let target = format!("/?{query}");
        let r = Request {
            target: Some(&target),
            ..Request::default()
        };
        assert_eq!(parts(&r).len(), MAX_PARTS);
    }
}
