//! Attacks on HTTP itself and tools that announce themselves: line breaks smuggled into
//! a parameter (response splitting, header injection), cookies set from a parameter or a
//! session id planted through a link (session fixation), and scanner user agents.

use std::sync::LazyLock;

use regex::Regex;

static HEADER_INJECTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[\r\n]+\s*(?:[a-z][\w-]{1,40}\s*:\s*\S|http/\d|<\w)").expect("valid pattern")
});

/// Why `value` (a decoded parameter) starts a new header or response, if it does.
pub fn header_injection(value: &str) -> Option<String> {
    if !value.contains(['\r', '\n']) {
        return None;
    }
    HEADER_INJECTION
        .find(value)
        .map(|_| "line break followed by a header or a response".to_string())
}

static COOKIE_SETTING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)\.cookie\s*=[^;]*;\s*(?:expires|domain|path)\s*=|http-equiv\s*=\s*['"]?set-cookie|\bset-cookie\s*:"#,
    )
    .expect("valid pattern")
});

/// Parameter names that carry a session id in a URL.
const SESSION_NAMES: &[&str] = &[
    "jsessionid",
    "phpsessid",
    "sessionid",
    "session_id",
    "aspsessionid",
    "asp.net_sessionid",
    "cfid",
    "cftoken",
];

/// Whether `name` is a session cookie's name: the known ones, and any name that says
/// so (`laravel_session`, `_flask_session`, `next-auth.session-token`, `connect.sid`).
fn is_session_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    SESSION_NAMES
        .iter()
        .any(|s| lower == *s || (s.len() > 6 && lower.starts_with(s)))
        || lower.ends_with(".sid")
        || [
            "_session",
            "session_",
            "session-token",
            "sessionid",
            "sess_id",
        ]
        .iter()
        .any(|s| lower.contains(s))
}

/// Why a parameter value sets a cookie, if it does.
pub fn cookie_setting(value: &str) -> Option<String> {
    if !value.to_ascii_lowercase().contains("cookie") {
        return None;
    }
    COOKIE_SETTING
        .find(value)
        .map(|_| "sets a cookie from a parameter".to_string())
}

/// Why a query parameter named `name` plants a session id, if it does: a session id in
/// the query string of a request that did not come from the site itself (no referring
/// page, or one on another host). Applications that keep sessions in URLs link to
/// themselves, so their own requests carry their own site as referer.
pub fn planted_session(name: &str, referer: Option<&str>, host: Option<&str>) -> Option<String> {
    if !is_session_name(name) {
        return None;
    }
    let Some(referer_host) = referer.and_then(url_host) else {
        return Some(format!(
            "session id `{name}` in a link with no referring page"
        ));
    };
    let own_site = host
        .and_then(|h| h.split(':').next())
        .map(str::to_ascii_lowercase)
        .is_some_and(|h| referer_host == h || referer_host.ends_with(&format!(".{h}")));
    (!own_site).then(|| format!("session id `{name}` in a link from `{referer_host}`"))
}

fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?.split(':').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Tools that name themselves in their user agent: vulnerability scanners, injection
/// and brute-force tools, directory busters, mass scanners.
static SCANNERS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)\b(?:sqlmap|nikto|nmap\s+scripting\s+engine|nmap|masscan|zgrab|zmap|acunetix|netsparker|",
        r"invicti|nessus|openvas|w3af|wpscan|joomscan|droopescan|dirbuster|gobuster|dirb|ffuf|",
        r"feroxbuster|nuclei|wfuzz|hydra|havij|arachni|skipfish|whatweb|zmeu|jaeles|commix|",
        r"xsstrike|paros|webinspect|appscan|burp\s*collaborator|metasploit|morfeus|",
        r"struts-pwn|jorgee|brutus|sqlninja|bsqlbf|pangolin|absinthe|mysqloit|",
        r"nsauditor|webshag|webvulnscan|owasp\s+zap|fimap|blind[-\s]?elephant|",
        r"httprint|internet\s+ninja|crimescanner|w3af\.org|libwhisker|",
        r"cgichk|nasl|qualys|detectify|teh\s+forest\s+lobster|masscan-ng|",
        r"interactsh|l9explore|l9tcpid|censysinspect|expanse)\b",
    ))
    .expect("valid pattern")
});

/// Why `agent` is a scanner or attack tool, if it is: the name it gives.
pub fn scanner(agent: &str) -> Option<String> {
    SCANNERS
        .find(agent)
        .map(|m| format!("user agent names `{}`", m.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_injection_needs_a_line_break_and_a_header() {
        assert!(header_injection("x\r\nSet-Cookie: a=b").is_some());
        assert!(header_injection("x\n\nHTTP/1.1 200 OK").is_some());
        assert_eq!(header_injection("line one\nline two"), None);
        assert_eq!(header_injection("plain"), None);
    }

    #[test]
    fn cookies_set_from_parameters() {
        assert!(cookie_setting("<script>document.cookie=\"s=1; path=/\"</script>").is_some());
        assert!(
            cookie_setting("<meta http-equiv=\"Set-Cookie\" content=\"sessionid=x\">").is_some()
        );
        assert_eq!(cookie_setting("cookie policy"), None);
    }

    #[test]
    fn session_ids_from_foreign_links() {
        let from = |r| planted_session("jsessionid", Some(r), Some("shop.example"));
        assert!(from("http://evil.example/x").is_some());
        assert_eq!(from("https://shop.example/cart"), None);
        assert_eq!(from("https://www.shop.example/cart"), None);
        assert_eq!(
            planted_session("page", Some("http://evil/"), Some("a")),
            None
        );
        assert_eq!(planted_session("sid", None, Some("a")), None);
    }

    #[test]
    fn scanners_by_name() {
        assert!(scanner("sqlmap/1.7.2#stable (https://sqlmap.org)").is_some());
        assert!(scanner("Mozilla/5.00 (Nikto/2.1.6) (Evasions:None)").is_some());
        assert!(scanner("Mozilla/5.0 zgrab/0.x").is_some());
        assert_eq!(
            scanner("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"),
            None
        );
        assert_eq!(scanner("curl/8.0"), None);
    }
}
