//! Reading the CRS regression tests (go-ftw YAML): every stage of every test becomes a
//! [`Case`] — the request it sends and whether CRS expects it to be caught (some rule
//! id in `expect_ids`) or expects it to pass (`no_expect_ids` only).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct TestFile {
    #[serde(default)]
    tests: Vec<Test>,
}

#[derive(Debug, Deserialize)]
struct Test {
    #[serde(default)]
    test_id: Option<serde_json::Value>,
    #[serde(default)]
    stages: Vec<Stage>,
}

#[derive(Debug, Deserialize)]
struct Stage {
    #[serde(default)]
    input: Option<Input>,
    #[serde(default)]
    output: Option<Output>,
}

#[derive(Debug, Default, Deserialize)]
struct Input {
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    uri: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    data: Option<serde_json::Value>,
    #[serde(default)]
    encoded_request: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Output {
    #[serde(default)]
    log: Option<Log>,
}

#[derive(Debug, Default, Deserialize)]
struct Log {
    #[serde(default)]
    expect_ids: Vec<u64>,
    #[serde(default)]
    no_expect_ids: Vec<u64>,
}

/// What CRS says a case is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    /// Some CRS rule must fire: an attack (or, in the protocol families, a malformed
    /// request).
    Attack,
    /// The listed rules must not fire: a benign request that looks like an attack.
    Benign,
}

/// One request of the regression suite.
#[derive(Debug, Clone)]
pub struct Case {
    /// The test folder, e.g. `REQUEST-942-APPLICATION-ATTACK-SQLI`.
    pub family: String,
    /// `942100-1` (file stem and test id) for reports.
    pub name: String,
    pub expectation: Expectation,
    pub method: String,
    pub uri: String,
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// Headers an access log either records (Referer, User-Agent) or whose content carries
/// no payload in the suite's requests.
const PLAIN_HEADERS: &[&str] = &[
    "host",
    "user-agent",
    "referer",
    "accept",
    "accept-encoding",
    "accept-language",
    "connection",
    "content-length",
    "content-type",
    "cache-control",
    "proxy-connection",
    "keep-alive",
];

impl Case {
    /// Whether everything the request carries is in its access-log line: no body and
    /// no header but the plain ones.
    pub fn fits_access_log(&self) -> bool {
        self.body.as_deref().is_none_or(|b| b.trim().is_empty())
            && self
                .headers
                .iter()
                .all(|(n, _)| PLAIN_HEADERS.iter().any(|p| p.eq_ignore_ascii_case(n)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What reading the suite gave: the cases, and the files that could not be read.
#[derive(Debug, Default)]
pub struct Suite {
    pub cases: Vec<Case>,
    pub errors: Vec<String>,
}

/// Reads every `*.yaml` under `root`, in path order.
pub fn read_suite(root: &Path) -> Suite {
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let mut suite = Suite::default();
    for path in files {
        let family = path
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = path
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                suite.errors.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        let file: TestFile = match serde_saphyr::from_str(&text) {
            Ok(f) => f,
            Err(e) => {
                suite.errors.push(format!("{}: {e}", path.display()));
                continue;
            }
        };
        for (n, test) in file.tests.into_iter().enumerate() {
            let id = match &test.test_id {
                Some(serde_json::Value::Number(v)) => v.to_string(),
                Some(serde_json::Value::String(s)) => s.clone(),
                _ => (n + 1).to_string(),
            };
            for (s, stage) in test.stages.into_iter().enumerate() {
                let name = if s == 0 {
                    format!("{stem}-{id}")
                } else {
                    format!("{stem}-{id}.{s}")
                };
                if let Some(case) = case_of(&family, name, stage) {
                    suite.cases.push(case);
                }
            }
        }
    }
    suite
}

fn case_of(family: &str, name: String, stage: Stage) -> Option<Case> {
    let input = stage.input?;
    let log = stage.output.and_then(|o| o.log).unwrap_or_default();
    let expectation = if !log.expect_ids.is_empty() {
        Expectation::Attack
    } else if !log.no_expect_ids.is_empty() {
        Expectation::Benign
    } else {
        return None;
    };
    if let Some(encoded) = &input.encoded_request {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()?;
        let raw = String::from_utf8_lossy(&raw).into_owned();
        return raw_request(family, name, expectation, &raw);
    }
    let headers = input
        .headers
        .into_iter()
        .map(|(n, v)| {
            let v = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (n, v)
        })
        .collect();
    let body = match input.data {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Array(lines)) => Some(
            lines
                .iter()
                .map(|l| l.as_str().map_or_else(|| l.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join("\r\n"),
        ),
        Some(serde_json::Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    Some(Case {
        family: family.to_string(),
        name,
        expectation,
        method: input.method.unwrap_or_else(|| "GET".into()),
        uri: input.uri.unwrap_or_else(|| "/".into()),
        version: input.version.unwrap_or_else(|| "HTTP/1.1".into()),
        headers,
        body,
    })
}

/// A case given as the raw bytes of its request.
fn raw_request(family: &str, name: String, expectation: Expectation, raw: &str) -> Option<Case> {
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .or_else(|| raw.split_once("\n\n"))
        .unwrap_or((raw, ""));
    let mut lines = head.lines();
    let line = lines.next()?;
    let mut words = line.split(' ');
    let method = words.next()?.to_string();
    let rest: Vec<&str> = words.collect();
    let (uri, version) = match rest.split_last() {
        Some((v, uri)) if v.starts_with("HTTP/") => (uri.join(" "), (*v).to_string()),
        _ => (rest.join(" "), String::new()),
    };
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Some(Case {
        family: family.to_string(),
        name,
        expectation,
        method,
        uri,
        version,
        headers,
        body: (!body.is_empty()).then(|| body.to_string()),
    })
}

/// The case as an Apache combined access-log line: what a web server in front of the
/// application would have written. Quotes, backslashes and bytes outside printable
/// ASCII are escaped as Apache escapes them.
pub fn access_log_line(case: &Case) -> String {
    let request = if case.version.is_empty() {
        format!("{} {}", case.method, case.uri)
    } else {
        format!("{} {} {}", case.method, case.uri, case.version)
    };
    format!(
        "192.0.2.10 - - [28/Nov/2026:10:00:00 +0000] \"{}\" 200 0 \"{}\" \"{}\"",
        apache_escape(&request),
        apache_escape(case.header("Referer").unwrap_or("-")),
        apache_escape(case.header("User-Agent").unwrap_or("-")),
    )
}

fn apache_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_ftw_tests_become_cases() {
        let dir = std::env::temp_dir().join(format!("wf-crs-{}", std::process::id()));
        let family = dir.join("REQUEST-942-APPLICATION-ATTACK-SQLI");
        std::fs::create_dir_all(&family).expect("temp dir");
        std::fs::write(
            family.join("942100.yaml"),
            r#"
rule_id: 942100
tests:
  - test_id: 1
    stages:
      - input:
          headers:
            User-Agent: "OWASP CRS test agent"
            Host: localhost
          method: POST
          uri: "/post"
          data: "var=1234 OR 1=1"
        output:
          log:
            expect_ids: [942100]
  - test_id: 2
    stages:
      - input:
          encoded_request: "R0VUIC8/YT0iYiBIVFRQLzEuMQ0KSG9zdDogeA0KDQo="
        output:
          log:
            no_expect_ids: [942100]
  - test_id: 3
    stages:
      - input:
          uri: "/"
        output:
          status: 200
"#,
        )
        .expect("write");
        let suite = read_suite(&dir);
        std::fs::remove_dir_all(&dir).ok();
        assert!(suite.errors.is_empty(), "{:?}", suite.errors);
        assert_eq!(suite.cases.len(), 2);
        let a = &suite.cases[0];
        assert_eq!(a.name, "942100-1");
        assert_eq!(a.expectation, Expectation::Attack);
        assert_eq!(a.body.as_deref(), Some("var=1234 OR 1=1"));
        let b = &suite.cases[1];
        assert_eq!(b.expectation, Expectation::Benign);
        assert_eq!((b.method.as_str(), b.uri.as_str()), ("GET", "/?a=\"b"));
        assert_eq!(b.header("host"), Some("x"));
        assert_eq!(
            access_log_line(b),
            r#"192.0.2.10 - - [28/Nov/2026:10:00:00 +0000] "GET /?a=\"b HTTP/1.1" 200 0 "-" "-""#
        );
    }
}
