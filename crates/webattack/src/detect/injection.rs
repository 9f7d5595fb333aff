//! SQL injection and cross-site scripting: libinjection's tokenizers first (the same
//! analysis ModSecurity's CRS relies on), then patterns for the payloads they let
//! through (time-based blind injection, schema probing, event-handler markup).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::LazyLock;

use super::PatternSet;

/// Whether `value` could hold SQL or markup at all: plain words, numbers and
/// identifiers cannot, and are most of what parameters carry.
fn is_plain(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b',' | b'@'))
}

static SQL_PATTERNS: LazyLock<PatternSet> = LazyLock::new(|| {
    PatternSet::new(&[
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
        (
            r"@@(?:version|datadir|hostname|basedir|servername)\b",
            "server variable",
        ),
        (
            r"\b(?:xp_cmdshell|sp_executesql|sp_oacreate|sp_makewebtask|utl_http|utl_inaddr|load_file\s*\(|into\s+(?:out|dump)file\b|extractvalue\s*\(|updatexml\s*\(|(?:lo_get|lo_import|lo_export|pg_read_file|pg_read_binary_file|pg_ls_dir|dblink_exec)\s*\(|execute\s+immediate\b|copy\s+\w+\s+(?:from|to)\s+program\b)",
            "dangerous SQL function",
        ),
        (
            r#"['"`]\s*\)*\s*(?:(?:or|and|xor)\b|\|\||&&)\s*\(*\s*['"\d(]"#,
            "quote closed before a boolean",
        ),
        (
            r#"['"`]\s*\)*\s*(?:or|and)\s*\(?\s*\w+\s*(?:=|<|>|like\b|between\b|is\b|glob\b|regexp\b|rlike\b)"#,
            "quote closed before a comparison",
        ),
        (
            r"['`]\s*\)*\s*(?:--|#|/\*|;\s*(?:$|#|--|/\*|(?:select|insert|update|delete|drop|create|alter|exec|execute|declare|shutdown|truncate|waitfor|union|set|if|begin|grant|call)\b))",
            "quote closed before a comment or statement",
        ),
        (
            r";\s*(?:drop|delete|insert|update|create|alter|exec(?:ute)?|shutdown|truncate|declare|select)(?:\s+|\[|\()",
            "stacked query",
        ),
        (
            r"\border\s+by\s+\d+\s*(?:--|#|/\*)",
            "ORDER BY column probing",
        ),
        (r"/\*!\d*\s*\w", "MySQL versioned comment"),
        (
            r#"['"]\s*(?:::\s*jsonb?\b|(?:@>|<@|->>?|#>>?|\?\||\?&)\s*['"])"#,
            "JSON operator after a quote",
        ),
        (
            r"(?:\)|\b[a-z_]\w*)\s*::\s*(?:int|integer|bigint|numeric|bool|boolean|jsonb?|regclass)\b",
            "PostgreSQL type cast",
        ),
        (
            r"\bcreate\s+(?:or\s+replace\s+)?(?:function|procedure|trigger)\s+\w",
            "CREATE FUNCTION",
        ),
        (
            r"\[\s*\$(?:ne|eq|gt|gte|lt|lte|in|nin|regex|where|exists|expr|or|and|not|nor|elemmatch|size|type|all)\s*\]|\$where\b|^\s*\$(?:ne|eq|gt|gte|lt|lte|in|nin|regex|exists|expr|or|and|not|nor|elemmatch)\s*$",
            "NoSQL query operator",
        ),
        (
            r"\b(?:or|and)\s+\d+\s*(?:=|<|>|<=|>=|<>|!=)\s*\d+\s*(?:--|#|/\*|$)",
            "tautology",
        ),
    ])
});

/// Words without which text holds no SQL that quotes, operators or comments do not
/// already announce.
const SQL_WORDS: &[&str] = &[
    "union",
    "select",
    "or",
    "and",
    "xor",
    "not",
    "sleep",
    "benchmark",
    "waitfor",
    "having",
    "order",
    "group",
    "exec",
    "execute",
    "drop",
    "insert",
    "update",
    "delete",
    "declare",
    "procedure",
    "shutdown",
    "like",
    "between",
    "into",
    "case",
    "when",
    "null",
    "limit",
    "rlike",
    "regexp",
    "div",
    "mod",
    "is",
    "in",
    "from",
    "where",
];

/// Whether `value` is worth handing to libinjection's tokenizer: it has a quote, an
/// operator or comment, or an SQL word. A header (`strict`) needs a quote or a
/// comment, since user agents are full of parentheses, semicolons and `like`.
fn sql_candidate(value: &str, strict: bool) -> bool {
    let b = value.as_bytes();
    if b.iter().any(|c| matches!(c, b'\'' | b'"' | b'`')) {
        return true;
    }
    let comment = value.contains("--") || value.contains("/*") || b.contains(&b'#');
    if strict || comment {
        return comment;
    }
    if b.iter()
        .any(|c| matches!(c, b'=' | b';' | b'(' | b'<' | b'>' | b'|' | b'&'))
    {
        return true;
    }
    value
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .any(|word| SQL_WORDS.iter().any(|w| w.eq_ignore_ascii_case(word)))
}

/// SQL words that ordinary prose does not use.
const STRONG_SQL_WORDS: &[&str] = &[
    "select",
    "union",
    "insert",
    "update",
    "delete",
    "drop",
    "sleep",
    "benchmark",
    "waitfor",
    "having",
    "exec",
    "execute",
    "declare",
    "concat",
    "char",
    "chr",
    "ascii",
    "substring",
    "substr",
    "null",
    "xor",
    "rlike",
    "regexp",
    "information_schema",
    "procedure",
    "shutdown",
    "truncate",
    "cast",
    "convert",
    "version",
    "database",
    "schema",
    "limit",
    "offset",
    "md5",
    "hex",
    "unhex",
    "load_file",
    "outfile",
    "dumpfile",
];

/// Whether `value` has what makes libinjection's verdict trustworthy: a quote, a
/// comment, a statement separator, a comparison, or an SQL word prose does not use.
/// Its tokenizer alone reads sentences with parentheses (`One quarter (24%) of people…`)
/// as function calls.
fn sql_evidence(value: &str) -> bool {
    let b = value.as_bytes();
    if b.iter()
        .any(|c| matches!(c, b'\'' | b'"' | b'`' | b';' | b'=' | b'<' | b'>' | b'#'))
        || value.contains("--")
        || value.contains("/*")
    {
        return true;
    }
    value
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .any(|word| {
            STRONG_SQL_WORDS
                .iter()
                .any(|w| w.eq_ignore_ascii_case(word))
        })
}

/// Why `value` is SQL injection, if it is. `header` says it came from a request header,
/// where only quoted or commented payloads are tokenized.
pub fn sql_injection(value: &str, header: bool) -> Option<String> {
    if value.len() < 2 || is_plain(value) {
        return None;
    }
    if let Some(why) = SQL_PATTERNS.first(value) {
        return Some(why.to_string());
    }
    if !sql_candidate(value, header) || !sql_evidence(value) {
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
    fingerprint.map(|f| format!("libinjection SQL fingerprint `{f}`"))
}

static XSS_PATTERNS: LazyLock<PatternSet> = LazyLock::new(|| {
    PatternSet::new(&[
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
        (
            r"\b(?:settimeout|setinterval)\s*\(|\bnew\s+function\s*\(",
            "script evaluation call",
        ),
        (
            r"-moz-binding\s*:|\bbehavior\s*:\s*url\s*\(",
            "CSS script binding",
        ),
        (
            r"<[^>]+\bstyle\s*=[^>]*(?:expression|url\s*\(\s*javascript)",
            "style with script",
        ),
    ])
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
    if let Some(why) = XSS_PATTERNS.first(&compact) {
        return Some(why.to_string());
    }
    // Markup needs an angle bracket or a quote to break out of text or an attribute;
    // without them (`style=color:red`) the HTML tokenizer only sees attribute syntax.
    if !value.contains(['<', '>', '"', '\'', '`']) {
        return None;
    }
    // XML declarations and processing instructions (`<?xml …?>`) are data, not markup
    // a browser runs.
    let without_pi = strip_processing_instructions(value);
    let xss = catch_unwind(AssertUnwindSafe(|| {
        libinjectionrs::detect_xss(without_pi.as_bytes()).is_injection()
    }))
    .unwrap_or(false);
    xss.then(|| "libinjection HTML/script context".to_string())
}

/// `value` without `<?name …?>` processing instructions other than PHP's.
fn strip_processing_instructions(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.contains("<?") {
        return value.into();
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find("<?") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let is_php = after.len() >= 3 && after.as_bytes()[..3].eq_ignore_ascii_case(b"php");
        match after.find("?>") {
            Some(end) if !is_php => rest = &after[end + 2..],
            _ => {
                out.push_str("<?");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.into()
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
            "'or(glob 1)--",
            "admin@x' and password glob password;",
            "';",
            "unistr(password)::int",
            "lo_get(16400)",
            "u_id[$ne]",
            "$exists",
            ";truncate[xx",
            "EXECUTE IMMEDIATE \"x\"",
        ] {
            assert!(sql_injection(p, false).is_some(), "missed {p}");
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
            "std::string",
            "the creator of functions",
            "price: $10",
            "see [1]",
            "One quarter (24%) of people have had an affair, according to results",
            "Left (WA, RR), following wood edge south for 1/2 mile",
            "while (foo) is bar.",
            "my name is 'foo'; and I work on CRS.",
        ] {
            assert_eq!(sql_injection(v, false), None, "flagged {v}");
        }
    }

    #[test]
    fn headers_are_tokenized_only_with_quotes_or_comments() {
        let agent = "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko)";
        assert_eq!(sql_injection(agent, true), None);
        assert!(sql_injection("x' or sleep(5)#", true).is_some());
        assert!(!sql_candidate("red shoes", false));
        assert!(sql_candidate("1 or 1", false));
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
            "x\";setTimeout(name, 1)//",
            "-moz-binding:url(http://e/x.xml#xss)",
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
            "style=color:red;background:white",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
            "<?xml version=\"1.0\"?><order><id>12345</id></order>",
        ] {
            assert_eq!(cross_site_scripting(v), None, "flagged {v}");
        }
    }
}
