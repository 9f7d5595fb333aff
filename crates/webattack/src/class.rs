//! The attack classes a request can carry, with what a detection of each says: a stable
//! id, a title, a Sigma level and ATT&CK tags.

use std::fmt;

/// What kind of attack a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttackClass {
    SqlInjection,
    CrossSiteScripting,
    PathTraversal,
    /// Reading files the server must never serve: OS files, credentials, repositories.
    SensitiveFileAccess,
    RemoteFileInclusion,
    /// Making the server fetch from itself, its network or a metadata service.
    ServerSideRequestForgery,
    CommandInjection,
    PhpInjection,
    /// JNDI lookups (Log4Shell), OGNL and SpEL expressions, serialized Java objects.
    JavaInjection,
    /// Template expressions and server-side JavaScript.
    CodeInjection,
    /// CR/LF in a parameter: response splitting and header injection.
    HeaderInjection,
    SessionFixation,
    /// A client that names itself as an attack or scanning tool.
    ScannerTool,
}

impl AttackClass {
    pub const ALL: [AttackClass; 13] = [
        AttackClass::SqlInjection,
        AttackClass::CrossSiteScripting,
        AttackClass::PathTraversal,
        AttackClass::SensitiveFileAccess,
        AttackClass::RemoteFileInclusion,
        AttackClass::ServerSideRequestForgery,
        AttackClass::CommandInjection,
        AttackClass::PhpInjection,
        AttackClass::JavaInjection,
        AttackClass::CodeInjection,
        AttackClass::HeaderInjection,
        AttackClass::SessionFixation,
        AttackClass::ScannerTool,
    ];

    /// Short stable name (`sqli`, `xss`…), the suffix of the detection's rule id.
    pub fn slug(self) -> &'static str {
        match self {
            AttackClass::SqlInjection => "sqli",
            AttackClass::CrossSiteScripting => "xss",
            AttackClass::PathTraversal => "path-traversal",
            AttackClass::SensitiveFileAccess => "sensitive-file",
            AttackClass::RemoteFileInclusion => "rfi",
            AttackClass::ServerSideRequestForgery => "ssrf",
            AttackClass::CommandInjection => "command-injection",
            AttackClass::PhpInjection => "php-injection",
            AttackClass::JavaInjection => "java-injection",
            AttackClass::CodeInjection => "code-injection",
            AttackClass::HeaderInjection => "header-injection",
            AttackClass::SessionFixation => "session-fixation",
            AttackClass::ScannerTool => "scanner",
        }
    }

    /// The class for a slug, the inverse of [`AttackClass::slug`].
    pub fn from_slug(slug: &str) -> Option<AttackClass> {
        AttackClass::ALL.into_iter().find(|c| c.slug() == slug)
    }

    pub fn title(self) -> &'static str {
        match self {
            AttackClass::SqlInjection => "Web attack: SQL injection",
            AttackClass::CrossSiteScripting => "Web attack: cross-site scripting",
            AttackClass::PathTraversal => "Web attack: path traversal",
            AttackClass::SensitiveFileAccess => "Web attack: sensitive file access",
            AttackClass::RemoteFileInclusion => "Web attack: remote file inclusion",
            AttackClass::ServerSideRequestForgery => "Web attack: server-side request forgery",
            AttackClass::CommandInjection => "Web attack: OS command injection",
            AttackClass::PhpInjection => "Web attack: PHP code injection",
            AttackClass::JavaInjection => "Web attack: Java / JNDI injection",
            AttackClass::CodeInjection => "Web attack: template or script injection",
            AttackClass::HeaderInjection => "Web attack: HTTP header injection",
            AttackClass::SessionFixation => "Web attack: session fixation",
            AttackClass::ScannerTool => "Web scanner or attack tool",
        }
    }

    /// Sigma level: code execution on the server is high, attacks on its users and
    /// protocol tricks medium, a scanner's name low.
    pub fn level(self) -> &'static str {
        match self {
            AttackClass::SqlInjection
            | AttackClass::SensitiveFileAccess
            | AttackClass::RemoteFileInclusion
            | AttackClass::ServerSideRequestForgery
            | AttackClass::CommandInjection
            | AttackClass::PhpInjection
            | AttackClass::JavaInjection
            | AttackClass::CodeInjection => "high",
            AttackClass::CrossSiteScripting
            | AttackClass::PathTraversal
            | AttackClass::HeaderInjection
            | AttackClass::SessionFixation => "medium",
            AttackClass::ScannerTool => "low",
        }
    }

    /// ATT&CK tags in Sigma's form.
    pub fn tags(self) -> &'static [&'static str] {
        match self {
            AttackClass::ScannerTool => &["attack.reconnaissance", "attack.t1595.002"],
            AttackClass::CommandInjection | AttackClass::CodeInjection => &[
                "attack.initial-access",
                "attack.t1190",
                "attack.execution",
                "attack.t1059",
            ],
            _ => &["attack.initial-access", "attack.t1190"],
        }
    }
}

impl fmt::Display for AttackClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.slug())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_unique_and_round_trip() {
        for class in AttackClass::ALL {
            assert_eq!(AttackClass::from_slug(class.slug()), Some(class));
            assert!(class.tags().iter().all(|t| t.starts_with("attack.")));
        }
        let mut slugs: Vec<_> = AttackClass::ALL.iter().map(|c| c.slug()).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), AttackClass::ALL.len());
    }
}
