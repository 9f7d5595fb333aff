//! SQL injection and cross-site scripting: libinjection's tokenizers first (the same
//! analysis ModSecurity's CRS relies on), then patterns for the payloads they let
//! through (time-based blind injection, schema probing, event-handler markup).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::LazyLock;

use regex::Regex;

/// Whether `value` could hold SQL or markup at all: plain words, numbers and
/// identifiers cannot, and are most of what parameters carry.
fn is_plain(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b',' | b'@'))
}

static SQL_PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (r"\bunion\b[\s\S]{0,40}?\bselect\b", "UNION SELECT"),
        (
            r"\b(?:sleep|benchmark|pg_sleep|dbms_lock\.sleep|dbms_pipe\.receive_message)\s*\(",
            "time-based blind function",
        ),
        (r"\bwaitfor\s+(?:delay|time)\s+'", "WAITFOR DELAY"),
        (
            r"\b(?:information_schema|sysobjects|syscolumns|mysql\.user|pg_catalog|pg_shadow|sqlite_master|all_tables|user_tables|msysaccessobjects)\b",
            "schema probing",
        ),
        (r"@@(?:version|datadir|hostname|basedir|servername)\b", "server variable"),
        (
            r"\b(?:xp_cmdshell|sp_executesql|sp_oacreate|sp_makewebtask|utl_http|utl_inaddr|load_file\s*\(|into\s+(?:out|dump)file\b|extractvalue\s*\(|updatexml\s*\()",
            "dangerous SQL function",
        ),
        (
            r#"['"`]\s*\)*\s*(?:or|and|xor|\|\||&&)\s+\(*\s*['"\d(]"#,
            "quote closed before a boolean",
        ),
        (
            r#"['"`]\s*\)*\s*(?:or|and)\s+\w+\s*(?:=|<|>|like\b|between\b|is\b)"#,
            "quote closed before a comparison",
        ),
        (
            r"['`]\s*\)*\s*(?:--|#|/\*|;\s*\w)",
            "quote closed before a comment or statement",
        ),
        (
            r";\s*(?:drop|delete|insert|update|create|alter|exec(?:ute)?|shutdown|truncate|declare|select)\s+",
            "stacked query",
        ),
        (r"\border\s+by\s+\d+\s*(?:--|#|/\*)", "ORDER BY column probing"),
        (r"/\*!\d*\s*\w", "MySQL versioned comment"),
        (
            r#"['"]\s*(?:::\s*jsonb?\b|(?:@>|<@|->>?|#>>?|\?\||\?&)\s*['"])"#,
            "JSON operator after a quote",
        ),
        (
            r"\b(?:or|and)\s+\d+\s*(?:=|<|>|<=|>=|<>|!=)\s*\d+\s*(?:--|#|/\*|$)",
            "tautology",
        ),
    ]
    .into_iter()
    .map(|(p, why)| (Regex::new(&format!("(?i){p}")).expect("valid pattern"), why))
    .collect()
});

/// Why `value` is SQL injection, if it is.
pub fn sql_injection(value: &str) -> Option<String> {
    if value.len() < 2 || is_plain(value) {
        return None;
    }
    let fingerprint = catch_unwind(AssertUnwindSafe(|| {
        let result = libinjectionrs::detect_sqli(value.as_bytes());
        result.is_injection().then(|| {
            result
                .fingerprint
                .map(|f| f.to_string())
                .unwrap_or_default()
        })
    }))
    .ok()
    .flatten();
    if let Some(fingerprint) = fingerprint {
        return Some(format!("libinjection SQL fingerprint `{fingerprint}`"));
    }
    SQL_PATTERNS
        .iter()
        .find(|(re, _)| re.is_match(value))
        .map(|(_, why)| (*why).to_string())
}

static XSS_PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (
            r"<\s*/?\s*(?:script|iframe|frame|frameset|object|embed|applet|svg|math|meta|base|isindex|xss|vmlframe|import)\b",
            "script-capable element",
        ),
        (
            r#"(?:<[^>]*|['"\s/]|^)on(?:error|load|unload|mouse\w+|focus\w*|blur|click|dblclick|key\w+|submit|change|input|invalid|toggle|begin|end|repeat|animation\w+|transition\w+|pointer\w+|wheel|scroll|drag\w*|drop|copy|paste|cut|play|playing|pause|show|start|finish|abort|resize|select|search|beforeunload|hashchange|message|popstate|pageshow|pagehide|readystatechange|touch\w+|auxclick|contextmenu|loadstart|error)\s*="#,
            "event handler attribute",
        ),
        (r"(?:java|vb|live)script\s*:", "script URL"),
        (r"data\s*:\s*text/html", "HTML data URL"),
        (r"\bexpression\s*\(", "CSS expression"),
        (
            r"\bdocument\s*\.\s*(?:cookie|domain|write|location)\b",
            "document access",
        ),
        (r"\b(?:alert|prompt|confirm)\s*(?:\(|`)", "dialog call"),
        (r"\bstring\s*\.\s*fromcharcode\s*\(", "String.fromCharCode"),
        (r"<[^>]+\bstyle\s*=[^>]*(?:expression|url\s*\(\s*javascript)", "style with script"),
    ]
    .into_iter()
    .map(|(p, why)| (Regex::new(&format!("(?i){p}")).expect("valid pattern"), why))
    .collect()
});

/// Why `value` is cross-site scripting, if it is.
pub fn cross_site_scripting(value: &str) -> Option<String> {
    if value.len() < 4 || is_plain(value) {
        return None;
    }
    // Browsers ignore tabs and line breaks inside `javascript:` and attribute names.
    let compact: std::borrow::Cow<'_, str> = if value.contains(['\t', '\n', '\r']) {
        value.replace(['\t', '\n', '\r'], "").into()
    } else {
        value.into()
    };
    if let Some((_, why)) = XSS_PATTERNS.iter().find(|(re, _)| re.is_match(&compact)) {
        return Some((*why).to_string());
    }
    let xss = catch_unwind(AssertUnwindSafe(|| {
        libinjectionrs::detect_xss(value.as_bytes()).is_injection()
    }))
    .unwrap_or(false);
    xss.then(|| "libinjection HTML/script context".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_injection_payloads() {
        for p in [
            "1' OR '1'='1",
            "1 union all select null,version()--",
            "admin'--",
            "1;DROP TABLE users",
            "1 AND SLEEP(5)",
            "'; WAITFOR DELAY '0:0:5'--",
            "1 and 1=1",
            "x' and extractvalue(1,concat(0x7e,@@version))--",
            "-1' or username like '%adm",
            "OR '{\"b\":2}'::jsonb <@ '{\"a\":1}'",
        ] {
            assert!(sql_injection(p).is_some(), "missed {p}");
        }
    }

    #[test]
    fn ordinary_values_are_not_sql_injection() {
        for v in [
            "42",
            "john.doe@example.com",
            "O'Reilly",
            "rock 'n' roll",
            "select your size",
            "Tom and Jerry",
            "2024-01-01",
            "it's fine, isn't it",
            "a-b_c",
        ] {
            assert_eq!(sql_injection(v), None, "flagged {v}");
        }
    }

    #[test]
    fn xss_payloads() {
        for p in [
            "<script>alert(1)</script>",
            "\"><img src=x onerror=alert(1)>",
            "<svg/onload=alert(1)>",
            "javascript:alert(document.cookie)",
            "java\tscript:alert(1)",
            "<body onload=prompt`1`>",
            "<iframe src=//evil>",
        ] {
            assert!(cross_site_scripting(p).is_some(), "missed {p}");
        }
    }

    #[test]
    fn ordinary_values_are_not_xss() {
        for v in [
            "hello world",
            "a < b and c > d",
            "online",
            "x=1",
            "Fish & Chips",
        ] {
            assert_eq!(cross_site_scripting(v), None, "flagged {v}");
        }
    }
}
