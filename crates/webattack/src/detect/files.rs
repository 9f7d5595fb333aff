//! Reaching files the server should not give out: path traversal (`../` in any of its
//! disguises, after decoding), requests for OS, credential and repository files, and
//! parameters that point an include at another server.

use std::sync::LazyLock;

use regex::Regex;

/// Why `value` climbs out of the directory it names, if it does. `value` is decoded.
pub fn path_traversal(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut i = 0;
    while let Some(at) = memchr_dotdot(&bytes[i..]) {
        let start = i + at;
        let before = start.checked_sub(1).map(|b| bytes[b]);
        // Dots beyond two (`.../`) are still a climb for some servers.
        let mut end = start + 2;
        while bytes.get(end) == Some(&b'.') {
            end += 1;
        }
        let after = bytes.get(end).copied();
        let bounded_before = matches!(
            before,
            None | Some(b'/' | b'\\' | b'=' | b';' | b':' | b' ')
        );
        let bounded_after = matches!(after, Some(b'/' | b'\\' | b';'));
        if bounded_before && bounded_after {
            return Some("`../` climbs out of the directory".to_string());
        }
        i = end;
    }
    None
}

fn memchr_dotdot(b: &[u8]) -> Option<usize> {
    b.windows(2).position(|w| w == b"..")
}

static SENSITIVE_FILES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?:^|[/\\=:])(?:",
        r"etc[/\\](?:passwd|shadow|group|gshadow|hosts|issue|motd|sudoers|crontab|fstab|hostname|resolv\.conf|ssh[/\\]|apache2?[/\\]|httpd[/\\]|nginx[/\\]|mysql[/\\]|security[/\\]|profile|environment|master\.passwd)",
        r"|proc[/\\](?:self|\d+|thread-self)[/\\](?:environ|cmdline|fd|maps|status|cwd|root|exe|mounts)",
        r"|proc[/\\](?:version|cpuinfo|meminfo|net[/\\]|interrupts|mounts|modules|kallsyms|partitions|sched_debug|config\.gz|swaps|devices)",
        r"|sys[/\\](?:class|kernel|devices|firmware|module|block|fs|power)\b",
        r"|etc[/\\](?:subuid|subgid|machine-id|os-release|pam\.d|sysctl\.conf|exports|inittab|ldap|krb5\.conf|krb5\.keytab|shells)",
        r"|(?:windows|winnt)[/\\](?:win\.ini|system\.ini|system32[/\\]|repair[/\\]|debug[/\\]|panther[/\\])",
        r"|boot\.ini|win\.ini",
        r"|\.ssh[/\\](?:id_\w+|authorized_keys|known_hosts)",
        r"|\.(?:bash|zsh|mysql|psql|php)_history",
        r"|\.htpasswd|\.htaccess|web\.config|wp-config\.php",
        r"|\.aws[/\\]credentials|\.docker[/\\]config\.json|\.kube[/\\]config",
        r"|\.(?:npmrc|pypirc|netrc|git-credentials|pgpass|my\.cnf|dockercfg|boto)$",
        r"|\.(?:vscode|idea|claude|cursor|continue|aider|gemini|codex|config[/\\]gcloud)[/\\]",
        r"|\.git[/\\](?:config|head|index|logs[/\\])|\.svn[/\\](?:entries|wc\.db)|\.hg[/\\]",
        r"|\.env(?:$|\.[a-z]+$)|\.ds_store$",
        r"|var[/\\]log[/\\]",
        r")",
    ))
    .expect("valid pattern")
});

static FILE_SCHEME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bfile\s*:\s*//").expect("valid pattern"));

/// Why `path` names a file no web client needs, if it does.
pub fn sensitive_path(path: &str) -> Option<String> {
    SENSITIVE_FILES.find(path).map(|m| {
        let name = m.as_str().trim_start_matches(['/', '\\', '=', ':']);
        format!("names `{name}`")
    })
}

static BACKUP_FILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\.(?:sql|bak|old|orig|swp|save|dump|backup)(?:\.(?:gz|zip|bz2|xz|tar|tgz|7z|rar))?$",
    )
    .expect("valid pattern")
});

/// Why the request path `path` asks for a file no web client needs, if it does: a
/// sensitive file, a hidden directory (other than `/.well-known/`), a backup or dump.
pub fn sensitive_request_path(path: &str) -> Option<String> {
    if let Some(found) = sensitive_path(path) {
        return Some(found);
    }
    for segment in path.split('/').skip(1) {
        let Some(name) = segment.strip_prefix('.') else {
            continue;
        };
        let hidden =
            !name.is_empty() && name != "well-known" && name.as_bytes()[0].is_ascii_alphanumeric();
        if hidden && path.contains(&format!("/{segment}/")) {
            return Some(format!("hidden directory `.{name}`"));
        }
    }
    BACKUP_FILE
        .find(path)
        .map(|m| format!("backup or dump file `*{}`", m.as_str()))
}

/// Files and programs an attacker names through shell wildcards (`/e??/pa[s]swd`,
/// `/???/b??h`) so that no filter sees the name.
const WILDCARD_TARGETS: &[&str] = &[
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/hosts",
    "/etc/issue",
    "/proc/self/environ",
    "/bin/sh",
    "/bin/bash",
    "/bin/nc",
    "/bin/cat",
    "/bin/busybox",
    "/usr/bin/wget",
    "/usr/bin/curl",
    "/usr/bin/nc",
    "/usr/bin/ncat",
    "/usr/bin/python",
    "/usr/bin/python3",
    "/usr/bin/perl",
    "/usr/bin/id",
    "/usr/bin/whoami",
    "/usr/bin/base64",
    "/usr/bin/uname",
    "/bin/uname",
    "/bin/ls",
    "/bin/dash",
    "/usr/bin/php",
    "/usr/bin/ruby",
    "/usr/bin/socat",
    "/usr/bin/bash",
];

static GLOB_PATH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:/[\w.?*\[\]!^-]+){2,}").expect("valid pattern"));

/// The target a wildcard path in `value` resolves to, if any.
fn wildcard_target(value: &str) -> Option<&'static str> {
    if !value.contains(['?', '*', '[']) {
        return None;
    }
    for m in GLOB_PATH.find_iter(value).take(8) {
        let glob = m.as_str();
        if !glob.contains(['?', '*', '[']) {
            continue;
        }
        let Some(re) = glob_regex(glob) else { continue };
        if let Some(target) = WILDCARD_TARGETS.iter().find(|t| re.is_match(t)) {
            return Some(target);
        }
    }
    None
}

/// A shell glob as an anchored regex: `?` one character, `*` any run, `[…]` a class;
/// none of them crosses a `/`.
fn glob_regex(glob: &str) -> Option<Regex> {
    let mut re = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '?' => re.push_str("[^/]"),
            '*' => re.push_str("[^/]*"),
            '[' => {
                let mut class = String::new();
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    class.push(d);
                }
                if class.is_empty() {
                    return None;
                }
                let class = class.replace('\\', "\\\\").replace('[', "\\[");
                let class = class
                    .strip_prefix('!')
                    .map_or(class.clone(), |c| format!("^{c}"));
                re.push('[');
                re.push_str(&class);
                re.push(']');
            }
            other => re.push_str(&regex::escape(&other.to_string())),
        }
    }
    re.push('$');
    Regex::new(&re).ok()
}

/// Why `value`, a parameter, asks for a file no web client needs, if it does.
pub fn sensitive_file(value: &str) -> Option<String> {
    if let Some(found) = sensitive_path(value) {
        return Some(found);
    }
    let unquoted = crate::normalize::shell_normalize(value);
    if unquoted != value
        && let Some(found) = sensitive_path(&unquoted)
    {
        return Some(format!("{found}, hidden by shell quoting"));
    }
    if let Some(target) = wildcard_target(value) {
        return Some(format!("wildcards that resolve to `{target}`"));
    }
    FILE_SCHEME
        .is_match(value)
        .then(|| "`file://` URL".to_string())
}

static REMOTE_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:https?|ftps?|sftp|smb|webdav)\s*:\s*//([^/?#\s]*)(.*)$")
        .expect("valid pattern")
});

/// Parameter names that applications pass to `include`-style calls.
const INCLUDE_NAMES: &[&str] = &[
    "file", "page", "include", "inc", "template", "tpl", "require", "doc", "document", "folder",
    "root", "path", "pg", "style", "pdf", "conf", "config", "dir", "module", "load", "read",
    "view", "content", "layout", "mod",
];

/// Why `value`, a parameter named `name`, points an include at another server.
pub fn remote_file_inclusion(name: &str, value: &str) -> Option<String> {
    let caps = REMOTE_URL.captures(value)?;
    let host = caps.get(1).map_or("", |m| m.as_str());
    let rest = caps.get(2).map_or("", |m| m.as_str());
    let host = host.rsplit('@').next().unwrap_or(host);
    let bare = host.split(':').next().unwrap_or(host);
    // An internal address is server-side request forgery, reported as such.
    if let Ok(ip) = bare.parse::<std::net::Ipv4Addr>() {
        let internal = ip.is_loopback() || ip.is_private() || ip.is_link_local();
        return (!internal).then(|| "URL to an IP address".to_string());
    }
    if rest.ends_with('?') || value.trim_end().ends_with('?') {
        return Some("URL ending in `?`, cutting off the rest of the include".to_string());
    }
    let lower = name.to_ascii_lowercase();
    INCLUDE_NAMES
        .iter()
        .any(|n| lower == *n || lower.ends_with(&format!("_{n}")))
        .then(|| format!("URL in the include-style parameter `{name}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_in_its_forms() {
        for p in [
            "../../etc/passwd",
            "..\\..\\boot.ini",
            "/a/../b",
            "x=..;/admin",
            "..../x",
        ] {
            assert!(path_traversal(p).is_some(), "missed {p}");
        }
        for v in ["a..b", "version 1..2", "/a/b.c", "...", "wait..."] {
            assert_eq!(path_traversal(v), None, "flagged {v}");
        }
    }

    #[test]
    fn sensitive_files() {
        for p in [
            "/etc/passwd",
            "../../../../etc/shadow",
            "c:\\windows\\win.ini",
            "/proc/self/environ",
            "/.git/config",
            "/.env",
            "file:///etc/hosts",
            "/home/u/.ssh/id_rsa",
            "cat /etc/pa[s]swd",
            "/?tc/pa??wd",
            "/???/b??h -c id",
            "/e't'c/pas\"s\"wd",
            "/.cursor/mcp.json",
            "/home/u/.npmrc",
            "/get/proc/interrupts",
            "/sys/class/net",
            "cat /etc/subuid",
            "/etc/[!q]asswd",
            "/usr/bin/[u]name -a",
        ] {
            assert!(sensitive_file(p).is_some(), "missed {p}");
        }
        for v in [
            "/index.php",
            "/environment/overview",
            "/etc",
            "/api/v1/hosts",
        ] {
            assert_eq!(sensitive_file(v), None, "flagged {v}");
        }
    }

    #[test]
    fn request_paths() {
        for p in [
            "/.roo/mcp.json",
            "/app/.idea/workspace.xml",
            "/backup.sql.zip",
            "/db.bak",
        ] {
            assert!(sensitive_request_path(p).is_some(), "missed {p}");
        }
        for p in [
            "/.well-known/security.txt",
            "/index.html",
            "/sql/intro",
            "/.hidden",
        ] {
            assert_eq!(sensitive_request_path(p), None, "flagged {p}");
        }
    }

    #[test]
    fn remote_includes() {
        assert!(remote_file_inclusion("x", "http://198.51.100.3/shell.txt").is_some());
        assert_eq!(
            remote_file_inclusion("x", "http://10.1.2.3/shell.txt"),
            None
        );
        assert!(remote_file_inclusion("x", "http://evil.example/shell.txt?").is_some());
        assert!(remote_file_inclusion("page", "https://evil.example/s.txt").is_some());
        assert_eq!(
            remote_file_inclusion("next", "https://example.com/home"),
            None
        );
        assert_eq!(remote_file_inclusion("page", "about"), None);
    }
}
