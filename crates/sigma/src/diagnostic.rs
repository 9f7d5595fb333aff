//! Diagnostics of the rule loader and compiler: a stable code, a severity, the place
//! (file, line, column) and a message.

use std::fmt;
use std::sync::Arc;

/// How bad a diagnostic is: an error means the rule (or file) was not loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Warning,
    Error,
}

/// Stable diagnostic codes. Their meaning never changes; new ones are appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// The file is not valid YAML.
    YamlSyntax,
    /// A document is not a mapping, or a required key is missing or of the wrong type.
    RuleStructure,
    /// The `detection` section is malformed.
    DetectionStructure,
    /// The condition does not parse.
    ConditionSyntax,
    /// The condition names a search that does not exist, or a pattern that matches none.
    UnknownSearch,
    /// A modifier chain or value is invalid.
    Modifier,
    /// The Sigma v1 `| count() by …` aggregation syntax.
    LegacyAggregation,
    /// A `%placeholder%` without a value list; the rule is skipped.
    UnresolvedPlaceholder,
    /// A correlation rule is malformed or refers to unknown rules.
    Correlation,
    /// A filter rule is malformed or refers to unknown rules.
    Filter,
    /// The same rule id appears twice.
    DuplicateId,
}

impl Code {
    /// The code as printed: `S` followed by a number.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::YamlSyntax => "S001",
            Code::RuleStructure => "S002",
            Code::DetectionStructure => "S003",
            Code::ConditionSyntax => "S004",
            Code::UnknownSearch => "S005",
            Code::Modifier => "S006",
            Code::LegacyAggregation => "S007",
            Code::UnresolvedPlaceholder => "S008",
            Code::Correlation => "S009",
            Code::Filter => "S010",
            Code::DuplicateId => "S011",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding about a rule file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub file: Arc<str>,
    /// 1-based line; 0 when unknown.
    pub line: usize,
    /// 1-based column; 0 when unknown.
    pub column: usize,
    pub message: String,
}

impl Diagnostic {
    pub fn error(code: Code, file: &Arc<str>, at: Pos, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            file: file.clone(),
            line: at.line,
            column: at.column,
            message: message.into(),
        }
    }

    pub fn warning(code: Code, file: &Arc<str>, at: Pos, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, file, at, message)
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    /// `file:line:column: error[S004]: message`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {severity}[{}]: {}",
            self.file, self.line, self.column, self.code, self.message
        )
    }
}

/// A 1-based position in a rule file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}
