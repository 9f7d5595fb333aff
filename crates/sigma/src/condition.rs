//! Parser of Sigma detection conditions (Sigma specification v2.1, "Condition").
//!
//! Grammar (least to most binding):
//!
//! ```text
//! or_expr   := and_expr ( "or" and_expr )*
//! and_expr  := not_expr ( "and" not_expr )*
//! not_expr  := "not"* primary
//! primary   := "(" or_expr ")"
//!            | ( "1" | "any" | "all" ) "of" ( "them" | pattern )
//!            | identifier
//! ```
//!
//! Keywords (`and`, `or`, `not`, `of`, `them`, `any`, `all`) are case-insensitive;
//! `any` and `all` are keywords only when followed by `of`. Identifiers are made of
//! letters, digits, `_`, `-` and `.`; patterns may also contain `*`.
//!
//! The parser never panics and its recursion is bounded: parentheses and `not`
//! together may nest at most [`MAX_DEPTH`] levels. The legacy Sigma v1 aggregation
//! syntax (`selection | count() by x > 5`) is rejected with a dedicated message.

use std::fmt;

/// Maximum nesting of parentheses and `not` operators in a condition.
pub const MAX_DEPTH: usize = 64;

/// A parsed condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// A search identifier (`selection`).
    Search(String),
    Not(Box<Condition>),
    And(Vec<Condition>),
    Or(Vec<Condition>),
    /// `1 of X` / `any of X`
    OneOf(Selector),
    /// `all of X`
    AllOf(Selector),
}

/// What `1 of` / `all of` apply to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// `them`: every search identifier of the rule except those starting with `_`.
    Them,
    /// A name pattern with `*` wildcards (`selection_*`), matched against identifiers.
    Pattern(String),
}

/// A syntax error in a condition.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at column {column})")]
pub struct ConditionError {
    /// 1-based character column in the condition text (a newline counts as one
    /// character; the end of the text is `chars().count() + 1`).
    pub column: usize,
    pub message: String,
}

impl ConditionError {
    fn new(column: usize, message: impl Into<String>) -> Self {
        ConditionError {
            column,
            message: message.into(),
        }
    }
}

/// Parses a condition string.
pub fn parse_condition(text: &str) -> Result<Condition, ConditionError> {
    let (tokens, end_column) = tokenize(text)?;
    if tokens.is_empty() {
        return Err(ConditionError::new(1, "empty condition"));
    }
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
        end_column,
    };
    let condition = parser.parse_or()?;
    match parser.peek() {
        None => Ok(condition),
        Some(token) => Err(parser.unexpected_after_operand(token, false)),
    }
}

impl Selector {
    /// Whether `identifier` is selected: for [`Selector::Them`], every identifier not
    /// starting with `_`; for a pattern, a case-sensitive match where `*` stands for
    /// any number of characters.
    pub fn matches(&self, identifier: &str) -> bool {
        match self {
            Selector::Them => !identifier.starts_with('_'),
            Selector::Pattern(pattern) => glob_match(pattern, identifier),
        }
    }
}

impl Condition {
    /// Expands OneOf/AllOf against the rule's search identifiers into Or/And of Search
    /// (OneOf them → Or of all non-underscore names; a pattern matching nothing is an
    /// error), and checks every Search name exists. Returns the expanded condition or
    /// an error message naming the unknown identifier/pattern.
    ///
    /// A selector matching a single identifier expands to that `Search` alone; nested
    /// `And`/`Or` produced by the expansion are flattened.
    pub fn resolve(&self, identifiers: &[&str]) -> Result<Condition, String> {
        match self {
            Condition::Search(name) => {
                if identifiers.contains(&name.as_str()) {
                    Ok(self.clone())
                } else {
                    Err(format!(
                        "unknown search identifier `{name}` (defined: {})",
                        defined_list(identifiers)
                    ))
                }
            }
            Condition::Not(inner) => Ok(Condition::Not(Box::new(inner.resolve(identifiers)?))),
            Condition::And(items) => Ok(combine(
                Kind::And,
                items
                    .iter()
                    .map(|item| item.resolve(identifiers))
                    .collect::<Result<_, _>>()?,
            )),
            Condition::Or(items) => Ok(combine(
                Kind::Or,
                items
                    .iter()
                    .map(|item| item.resolve(identifiers))
                    .collect::<Result<_, _>>()?,
            )),
            Condition::OneOf(selector) => expand(Kind::Or, "1 of", selector, identifiers),
            Condition::AllOf(selector) => expand(Kind::And, "all of", selector, identifiers),
        }
    }

    /// Every search identifier referenced (after resolve), in order of first
    /// appearance and without duplicates. `1 of`/`all of` selectors of an unresolved
    /// condition contribute nothing.
    pub fn identifiers(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        // Explicit stack (children pushed in reverse) so hand-built deep trees are fine.
        let mut stack: Vec<&Condition> = vec![self];
        while let Some(condition) = stack.pop() {
            match condition {
                Condition::Search(name) => {
                    if !out.contains(&name.as_str()) {
                        out.push(name);
                    }
                }
                Condition::Not(inner) => stack.push(inner),
                Condition::And(items) | Condition::Or(items) => stack.extend(items.iter().rev()),
                Condition::OneOf(_) | Condition::AllOf(_) => {}
            }
        }
        out
    }
}

/// Canonical form: every `And`/`Or` is parenthesised, `not` is written before its
/// operand, `1 of` / `all of` are written as such (`any of` becomes `1 of`).
/// The output of a parsed condition re-parses to the same condition.
impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::Search(name) => f.write_str(name),
            Condition::Not(inner) => {
                f.write_str("not ")?;
                write_operand(f, inner)
            }
            Condition::And(items) => write_joined(f, items, " and "),
            Condition::Or(items) => write_joined(f, items, " or "),
            Condition::OneOf(selector) => write!(f, "1 of {selector}"),
            Condition::AllOf(selector) => write!(f, "all of {selector}"),
        }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::Them => f.write_str("them"),
            Selector::Pattern(pattern) => f.write_str(pattern),
        }
    }
}

/// The operands of a top-level `and`/`or` without enclosing parentheses (so printing
/// never nests deeper than the parsed text did), compound operands parenthesised.
fn write_joined(f: &mut fmt::Formatter<'_>, items: &[Condition], separator: &str) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(separator)?;
        }
        write_operand(f, item)?;
    }
    Ok(())
}

fn write_operand(f: &mut fmt::Formatter<'_>, c: &Condition) -> fmt::Result {
    match c {
        Condition::And(_) | Condition::Or(_) => write!(f, "({c})"),
        _ => write!(f, "{c}"),
    }
}

// ---------------------------------------------------------------------------
// Resolution helpers

#[derive(Clone, Copy)]
enum Kind {
    And,
    Or,
}

/// Builds an `And`/`Or` of `items`, flattening nested operators of the same kind;
/// a single item is returned as is.
fn combine(kind: Kind, items: Vec<Condition>) -> Condition {
    let mut items = items;
    if items.len() == 1
        && let Some(item) = items.pop()
    {
        return item;
    }
    let mut flat = Vec::with_capacity(items.len());
    for item in items {
        match (kind, item) {
            (Kind::And, Condition::And(inner)) | (Kind::Or, Condition::Or(inner)) => {
                flat.extend(inner)
            }
            (_, other) => flat.push(other),
        }
    }
    match kind {
        Kind::And => Condition::And(flat),
        Kind::Or => Condition::Or(flat),
    }
}

fn expand(
    kind: Kind,
    quantifier: &str,
    selector: &Selector,
    identifiers: &[&str],
) -> Result<Condition, String> {
    let mut matched: Vec<&str> = Vec::new();
    for &identifier in identifiers {
        if selector.matches(identifier) && !matched.contains(&identifier) {
            matched.push(identifier);
        }
    }
    if matched.is_empty() {
        let note = match selector {
            Selector::Them => " (identifiers starting with `_` are excluded from `them`)",
            Selector::Pattern(_) => "",
        };
        return Err(format!(
            "`{quantifier} {selector}` matches no search identifier{note} (defined: {})",
            defined_list(identifiers)
        ));
    }
    Ok(combine(
        kind,
        matched
            .into_iter()
            .map(|name| Condition::Search(name.to_owned()))
            .collect(),
    ))
}

fn defined_list(identifiers: &[&str]) -> String {
    if identifiers.is_empty() {
        "none".to_owned()
    } else {
        identifiers.join(", ")
    }
}

/// `*`-only glob match, iterative (no backtracking recursion).
fn glob_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0usize, 0usize);
    // Position of the last `*` seen in the pattern and the text position it resumes at.
    let mut star: Option<(usize, usize)> = None;
    while let Some(&c) = text.get(t) {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&pc) if pc == c => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

// ---------------------------------------------------------------------------
// Tokenizer

#[derive(Clone, Debug, PartialEq, Eq)]
enum TokenKind {
    LParen,
    RParen,
    Word(String),
}

#[derive(Clone, Debug)]
struct Token {
    kind: TokenKind,
    column: usize,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '*')
}

/// Splits `text` into tokens; also returns the column just past the end.
fn tokenize(text: &str) -> Result<(Vec<Token>, usize), ConditionError> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().enumerate().peekable();
    let end_column = text.chars().count() + 1;
    while let Some((index, c)) = chars.next() {
        let column = index + 1;
        match c {
            c if c.is_whitespace() => {}
            '(' => tokens.push(Token {
                kind: TokenKind::LParen,
                column,
            }),
            ')' => tokens.push(Token {
                kind: TokenKind::RParen,
                column,
            }),
            '|' => {
                return Err(ConditionError::new(
                    column,
                    "the `|` aggregation syntax of Sigma v1 (e.g. `selection | count() by x > 5`) \
                     is not supported; use a correlation rule",
                ));
            }
            c if is_word_char(c) => {
                let mut word = String::new();
                word.push(c);
                while let Some(&(_, next)) = chars.peek() {
                    if !is_word_char(next) {
                        break;
                    }
                    word.push(next);
                    chars.next();
                }
                tokens.push(Token {
                    kind: TokenKind::Word(word),
                    column,
                });
            }
            other => {
                return Err(ConditionError::new(
                    column,
                    format!("unexpected character `{}`", other.escape_debug()),
                ));
            }
        }
    }
    Ok((tokens, end_column))
}

// ---------------------------------------------------------------------------
// Parser

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Current nesting of parentheses and `not`.
    depth: usize,
    end_column: usize,
}

/// Whether `word` is `keyword`, case-insensitively.
fn is_kw(word: &str, keyword: &str) -> bool {
    word.eq_ignore_ascii_case(keyword)
}

/// Words that can never be a search identifier.
fn reserved(word: &str) -> bool {
    ["and", "or", "not", "of", "them"]
        .iter()
        .any(|keyword| is_kw(word, keyword))
}

fn describe(token: &Token) -> String {
    match &token.kind {
        TokenKind::LParen => "`(`".to_owned(),
        TokenKind::RParen => "`)`".to_owned(),
        TokenKind::Word(word) if reserved(word) => format!("keyword `{word}`"),
        TokenKind::Word(word) => format!("`{word}`"),
    }
}

const OPERAND: &str = "a search identifier, `not`, `(`, `1 of`, `any of` or `all of`";

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_word(&self, offset: usize) -> Option<&str> {
        match self.tokens.get(self.pos + offset) {
            Some(Token {
                kind: TokenKind::Word(word),
                ..
            }) => Some(word),
            _ => None,
        }
    }

    fn at_keyword(&self, keyword: &str) -> Option<usize> {
        match self.peek() {
            Some(Token {
                kind: TokenKind::Word(word),
                column,
            }) if is_kw(word, keyword) => Some(*column),
            _ => None,
        }
    }

    /// Error for a token found where `and`, `or` (or `)` inside parentheses) was expected.
    fn unexpected_after_operand(&self, token: &Token, in_parens: bool) -> ConditionError {
        if token.kind == TokenKind::RParen && !in_parens {
            return ConditionError::new(token.column, "unmatched `)`");
        }
        let expected = if in_parens {
            "`and`, `or` or `)`"
        } else {
            "`and` or `or`"
        };
        let hint = match &token.kind {
            TokenKind::Word(word) if is_kw(word, "not") => " (did you mean `and not`?)",
            _ => "",
        };
        ConditionError::new(
            token.column,
            format!("expected {expected}, found {}{hint}", describe(token)),
        )
    }

    fn enter(&mut self, column: usize) -> Result<(), ConditionError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ConditionError::new(
                column,
                format!(
                    "condition nested too deeply (more than {MAX_DEPTH} levels of parentheses and `not`)"
                ),
            ));
        }
        Ok(())
    }

    fn parse_or(&mut self) -> Result<Condition, ConditionError> {
        let mut items = vec![self.parse_and(None)?];
        while self.at_keyword("or").is_some() {
            self.pos += 1;
            items.push(self.parse_and(Some("or"))?);
        }
        Ok(combine(Kind::Or, items))
    }

    fn parse_and(&mut self, after: Option<&str>) -> Result<Condition, ConditionError> {
        let mut items = vec![self.parse_not(after)?];
        while self.at_keyword("and").is_some() {
            self.pos += 1;
            items.push(self.parse_not(Some("and"))?);
        }
        Ok(combine(Kind::And, items))
    }

    fn parse_not(&mut self, after: Option<&str>) -> Result<Condition, ConditionError> {
        let mut count = 0usize;
        let mut after = after;
        while let Some(column) = self.at_keyword("not") {
            self.enter(column)?;
            self.pos += 1;
            count += 1;
            after = Some("not");
        }
        let mut condition = self.parse_primary(after)?;
        for _ in 0..count {
            condition = Condition::Not(Box::new(condition));
        }
        self.depth -= count;
        Ok(condition)
    }

    fn expected_operand(&self, after: Option<&str>, found: Option<&Token>) -> ConditionError {
        let after = after.map(|op| format!(" after `{op}`")).unwrap_or_default();
        match found {
            None => ConditionError::new(
                self.end_column,
                format!("expected {OPERAND}{after}, found end of condition"),
            ),
            Some(token) => ConditionError::new(
                token.column,
                format!("expected {OPERAND}{after}, found {}", describe(token)),
            ),
        }
    }

    fn parse_primary(&mut self, after: Option<&str>) -> Result<Condition, ConditionError> {
        let Some(token) = self.peek().cloned() else {
            return Err(self.expected_operand(after, None));
        };
        match &token.kind {
            TokenKind::LParen => {
                self.enter(token.column)?;
                self.pos += 1;
                if let Some(close) = self.peek()
                    && close.kind == TokenKind::RParen
                {
                    return Err(ConditionError::new(close.column, "empty parentheses"));
                }
                let inner = self.parse_or()?;
                match self.peek() {
                    Some(Token {
                        kind: TokenKind::RParen,
                        ..
                    }) => {
                        self.pos += 1;
                        self.depth -= 1;
                        Ok(inner)
                    }
                    Some(other) => Err(self.unexpected_after_operand(other, true)),
                    None => Err(ConditionError::new(token.column, "unclosed `(`")),
                }
            }
            TokenKind::RParen => Err(self.expected_operand(after, Some(&token))),
            TokenKind::Word(word) => {
                if self.peek_word(1).is_some_and(|next| is_kw(next, "of")) {
                    return self.parse_quantified(word, token.column);
                }
                if is_kw(word, "and") || is_kw(word, "or") {
                    return Err(self.expected_operand(after, Some(&token)));
                }
                if is_kw(word, "of") {
                    return Err(ConditionError::new(
                        token.column,
                        "`of` must follow `1`, `any` or `all`",
                    ));
                }
                if is_kw(word, "them") {
                    return Err(ConditionError::new(
                        token.column,
                        "`them` is only allowed after `1 of`, `any of` or `all of`",
                    ));
                }
                if word.contains('*') {
                    return Err(ConditionError::new(
                        token.column,
                        format!(
                            "wildcard pattern `{word}` is only allowed after `1 of`, `any of` or `all of`"
                        ),
                    ));
                }
                self.pos += 1;
                Ok(Condition::Search(word.clone()))
            }
        }
    }

    /// `quantifier of selector`; the current token is `quantifier`, the next is `of`.
    fn parse_quantified(
        &mut self,
        quantifier: &str,
        column: usize,
    ) -> Result<Condition, ConditionError> {
        let all = if quantifier == "1" || is_kw(quantifier, "any") {
            false
        } else if is_kw(quantifier, "all") {
            true
        } else {
            return Err(ConditionError::new(
                column,
                format!(
                    "unsupported quantifier `{quantifier} of`: only `1 of`, `any of` and `all of` are supported"
                ),
            ));
        };
        self.pos += 2;
        let keyword = if all { "all of" } else { "1 of" };
        let selector = match self.peek() {
            Some(Token {
                kind: TokenKind::Word(word),
                column,
            }) => {
                if is_kw(word, "them") {
                    Selector::Them
                } else if reserved(word) {
                    return Err(ConditionError::new(
                        *column,
                        format!(
                            "expected `them` or a search identifier pattern after `{keyword}`, found keyword `{word}`"
                        ),
                    ));
                } else {
                    Selector::Pattern(word.clone())
                }
            }
            Some(other) => {
                return Err(ConditionError::new(
                    other.column,
                    format!(
                        "expected `them` or a search identifier pattern after `{keyword}`, found {}",
                        describe(other)
                    ),
                ));
            }
            None => {
                return Err(ConditionError::new(
                    self.end_column,
                    format!(
                        "expected `them` or a search identifier pattern after `{keyword}`, found end of condition"
                    ),
                ));
            }
        };
        self.pos += 1;
        Ok(if all {
            Condition::AllOf(selector)
        } else {
            Condition::OneOf(selector)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(name: &str) -> Condition {
        Condition::Search(name.to_owned())
    }
    fn not(c: Condition) -> Condition {
        Condition::Not(Box::new(c))
    }
    fn pat(p: &str) -> Selector {
        Selector::Pattern(p.to_owned())
    }
    fn parse(text: &str) -> Condition {
        parse_condition(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }
    fn err(text: &str) -> ConditionError {
        match parse_condition(text) {
            Ok(c) => panic!("{text:?} parsed as {c:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn condition_precedence() {
        assert_eq!(
            parse("a or b and not c"),
            Condition::Or(vec![s("a"), Condition::And(vec![s("b"), not(s("c"))])])
        );
        assert_eq!(
            parse("a and b or c and d"),
            Condition::Or(vec![
                Condition::And(vec![s("a"), s("b")]),
                Condition::And(vec![s("c"), s("d")])
            ])
        );
        assert_eq!(
            parse("not a and b"),
            Condition::And(vec![not(s("a")), s("b")])
        );
        assert_eq!(
            parse("a or b or c"),
            Condition::Or(vec![s("a"), s("b"), s("c")])
        );
        assert_eq!(parse("not not a"), not(not(s("a"))));
        assert_eq!(parse("selection"), s("selection"));
    }

    #[test]
    fn condition_parentheses() {
        assert_eq!(
            parse("(a or b) and c"),
            Condition::And(vec![Condition::Or(vec![s("a"), s("b")]), s("c")])
        );
        assert_eq!(
            parse("a and (b and c)"),
            Condition::And(vec![s("a"), s("b"), s("c")])
        );
        assert_eq!(
            parse("((a or b)) or (c)"),
            Condition::Or(vec![s("a"), s("b"), s("c")])
        );
        assert_eq!(
            parse("not (a or b)"),
            not(Condition::Or(vec![s("a"), s("b")]))
        );
        assert_eq!(
            parse(
                "selection_img and ((all of selection_group_* and not filter_group_add) or all of selection_accounts_*)"
            ),
            Condition::And(vec![
                s("selection_img"),
                Condition::Or(vec![
                    Condition::And(vec![
                        Condition::AllOf(pat("selection_group_*")),
                        not(s("filter_group_add"))
                    ]),
                    Condition::AllOf(pat("selection_accounts_*"))
                ])
            ])
        );
        // Multi-line text (YAML plain scalar spanning lines).
        assert_eq!(
            parse("a and\n(\n  b\n  or c\n)"),
            Condition::And(vec![s("a"), Condition::Or(vec![s("b"), s("c")])])
        );
    }

    #[test]
    fn condition_quantifiers() {
        assert_eq!(
            parse("1 of selection_*"),
            Condition::OneOf(pat("selection_*"))
        );
        assert_eq!(
            parse("any of selection_*"),
            Condition::OneOf(pat("selection_*"))
        );
        assert_eq!(parse("all of them"), Condition::AllOf(Selector::Them));
        assert_eq!(parse("1 of them"), Condition::OneOf(Selector::Them));
        assert_eq!(
            parse("not 1 of filter*"),
            not(Condition::OneOf(pat("filter*")))
        );
        assert_eq!(
            parse("1 of selection* and not 1 of filter*"),
            Condition::And(vec![
                Condition::OneOf(pat("selection*")),
                not(Condition::OneOf(pat("filter*")))
            ])
        );
        // `all`/`any` without `of` are plain identifiers.
        assert_eq!(
            parse("all and any"),
            Condition::And(vec![s("all"), s("any")])
        );
        assert_eq!(parse("1"), s("1"));
    }

    #[test]
    fn condition_keywords_case_insensitive() {
        assert_eq!(
            parse("A OR B And NOT c"),
            Condition::Or(vec![s("A"), Condition::And(vec![s("B"), not(s("c"))])])
        );
        assert_eq!(parse("ALL OF THEM"), Condition::AllOf(Selector::Them));
        assert_eq!(parse("Any Of sel*"), Condition::OneOf(pat("sel*")));
        assert_eq!(
            parse("Not 1 oF Them"),
            not(Condition::OneOf(Selector::Them))
        );
    }

    #[test]
    fn condition_identifier_characters() {
        assert_eq!(
            parse("sel-1.a_b and x"),
            Condition::And(vec![s("sel-1.a_b"), s("x")])
        );
        assert_eq!(parse("1 of sel.*-x"), Condition::OneOf(pat("sel.*-x")));
    }

    #[test]
    fn condition_errors_with_columns() {
        let e = err("");
        assert_eq!((e.column, e.message.as_str()), (1, "empty condition"));
        assert_eq!(err("   ").column, 1);

        let e = err("(a and b");
        assert_eq!(e.column, 1);
        assert!(e.message.contains("unclosed"), "{e}");
        let e = err("a and (b or (c)");
        assert_eq!(e.column, 7);
        assert!(e.message.contains("unclosed"), "{e}");

        let e = err("a and b)");
        assert_eq!((e.column, e.message.as_str()), (8, "unmatched `)`"));

        let e = err("a and");
        assert_eq!(e.column, 6);
        assert!(e.message.contains("after `and`"), "{e}");
        assert!(e.message.contains("end of condition"), "{e}");
        let e = err("a or not");
        assert_eq!(e.column, 9);
        let e = err("a and or b");
        assert_eq!(e.column, 7);
        assert!(e.message.contains("keyword `or`"), "{e}");
        let e = err("and a");
        assert_eq!(e.column, 1);
        let e = err("(a and ) or b");
        assert_eq!(e.column, 8);

        let e = err("a b");
        assert_eq!(e.column, 3);
        assert!(e.message.contains("expected `and` or `or`"), "{e}");
        let e = err("(a b)");
        assert_eq!(e.column, 4);
        assert!(e.message.contains("`)`"), "{e}");
        let e = err("a not b");
        assert_eq!(e.column, 3);
        assert!(e.message.contains("and not"), "{e}");

        let e = err("a and ()");
        assert_eq!((e.column, e.message.as_str()), (8, "empty parentheses"));

        let e = err("selection | count() by src_ip > 5");
        assert_eq!(e.column, 11);
        assert!(e.message.contains("Sigma v1"), "{e}");
        assert!(e.message.contains("correlation rule"), "{e}");
        assert!(e.to_string().ends_with("(at column 11)"), "{e}");
        let e = err("sel1 | near sel2");
        assert_eq!(e.column, 6);
        assert!(e.message.contains("aggregation"), "{e}");

        let e = err("a and b = 3");
        assert_eq!(e.column, 9);
        assert!(e.message.contains("unexpected character `=`"), "{e}");
        // Columns count characters, not bytes.
        let e = err("ä and é #");
        assert_eq!(e.column, 9);

        let e = err("2 of sel*");
        assert_eq!(e.column, 1);
        assert!(e.message.contains("unsupported quantifier"), "{e}");
        let e = err("1 of");
        assert_eq!(e.column, 5);
        let e = err("all of (a)");
        assert_eq!(e.column, 8);
        let e = err("1 of and");
        assert_eq!(e.column, 6);
        let e = err("sel* and a");
        assert_eq!(e.column, 1);
        assert!(e.message.contains("wildcard"), "{e}");
        let e = err("a and them");
        assert_eq!(e.column, 7);
        let e = err("a and of");
        assert_eq!(e.column, 7);
    }

    #[test]
    fn condition_depth_is_bounded() {
        let ok = format!("{}a{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert_eq!(parse(&ok), s("a"));
        let deep = format!(
            "{}a{}",
            "(".repeat(MAX_DEPTH + 1),
            ")".repeat(MAX_DEPTH + 1)
        );
        let e = err(&deep);
        assert_eq!(e.column, MAX_DEPTH + 1);
        assert!(e.message.contains("nested too deeply"), "{e}");
        // Huge inputs return errors, not stack overflows.
        assert!(parse_condition(&"(".repeat(1_000_000)).is_err());
        assert!(parse_condition(&"not ".repeat(1_000_000)).is_err());
        let mut nots = "not ".repeat(MAX_DEPTH);
        nots.push('a');
        assert!(parse_condition(&nots).is_ok());
        // Long flat chains are fine.
        let chain = vec!["a"; 100_000].join(" and ");
        match parse(&chain) {
            Condition::And(items) => assert_eq!(items.len(), 100_000),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn condition_display() {
        assert_eq!(parse("a or b and not c").to_string(), "a or (b and not c)");
        assert_eq!(
            parse("any of sel* and not (x or all of them)").to_string(),
            "1 of sel* and not (x or all of them)"
        );
        assert_eq!(parse("selection").to_string(), "selection");
        // At the nesting limit, printing adds no level the parser would reject.
        let deep = format!("{}a or b", "not ".repeat(MAX_DEPTH));
        let c = parse(&deep);
        assert_eq!(parse_condition(&c.to_string()), Ok(c));
    }

    #[test]
    fn condition_selector_matches() {
        assert!(Selector::Them.matches("selection"));
        assert!(!Selector::Them.matches("_helper"));
        assert!(pat("selection_*").matches("selection_img"));
        assert!(pat("selection_*").matches("selection_"));
        assert!(!pat("selection_*").matches("selection"));
        assert!(pat("*").matches("anything"));
        assert!(pat("*_main_*").matches("filter_main_x"));
        assert!(pat("a*b*c").matches("aXbYbZc"));
        assert!(!pat("a*b*c").matches("aXbYbZ"));
        assert!(pat("exact").matches("exact"));
        assert!(!pat("exact").matches("Exact"));
        assert!(!pat("exact").matches("exactly"));
        assert!(pat("**").matches(""));
        assert!(!pat("a").matches(""));
    }

    #[test]
    fn condition_resolve_expands() {
        let ids = [
            "selection_a",
            "selection_b",
            "filter_main",
            "filter_opt",
            "_helper",
        ];
        assert_eq!(
            parse("all of selection_* and not 1 of filter_*")
                .resolve(&ids)
                .unwrap(),
            Condition::And(vec![
                s("selection_a"),
                s("selection_b"),
                not(Condition::Or(vec![s("filter_main"), s("filter_opt")]))
            ])
        );
        // `them` excludes `_`-prefixed names; a pattern can still name them.
        assert_eq!(
            parse("1 of them").resolve(&ids).unwrap(),
            Condition::Or(vec![
                s("selection_a"),
                s("selection_b"),
                s("filter_main"),
                s("filter_opt")
            ])
        );
        assert_eq!(parse("1 of _h*").resolve(&ids).unwrap(), s("_helper"));
        assert_eq!(
            parse("all of them").resolve(&ids).unwrap().identifiers(),
            vec!["selection_a", "selection_b", "filter_main", "filter_opt"]
        );
        // A single match collapses to the identifier itself.
        assert_eq!(
            parse("1 of filter_m*").resolve(&ids).unwrap(),
            s("filter_main")
        );
        // Nested Or from expansion is flattened into the enclosing Or.
        assert_eq!(
            parse("1 of selection_* or _helper").resolve(&ids).unwrap(),
            Condition::Or(vec![s("selection_a"), s("selection_b"), s("_helper")])
        );
    }

    #[test]
    fn condition_resolve_errors() {
        let ids = ["selection", "filter"];
        let e = parse("selection and not filtr").resolve(&ids).unwrap_err();
        assert!(e.contains("unknown search identifier `filtr`"), "{e}");
        let e = parse("selection and not 1 of filter_*")
            .resolve(&ids)
            .unwrap_err();
        assert!(
            e.contains("`1 of filter_*` matches no search identifier"),
            "{e}"
        );
        let e = parse("all of them").resolve(&["_only"]).unwrap_err();
        assert!(e.contains("`all of them`"), "{e}");
        assert!(e.contains("excluded"), "{e}");
    }

    #[test]
    fn condition_identifiers() {
        let c = parse("a and (b or not a) and 1 of x*");
        assert_eq!(c.identifiers(), vec!["a", "b"]);
        let r = c.resolve(&["a", "b", "x1", "x2"]).unwrap();
        assert_eq!(r.identifiers(), vec!["a", "b", "x1", "x2"]);
    }

    // -- property tests -------------------------------------------------------

    fn identifier() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9_.-]{1,8}".prop_filter("keyword", |w| !reserved(w))
    }

    fn selector() -> impl Strategy<Value = Selector> {
        prop_oneof![
            Just(Selector::Them),
            "[a-zA-Z0-9_.*-]{1,8}"
                .prop_filter("keyword", |w| !reserved(w))
                .prop_map(Selector::Pattern),
        ]
    }

    fn condition() -> impl Strategy<Value = Condition> {
        let leaf = prop_oneof![
            3 => identifier().prop_map(Condition::Search),
            1 => selector().prop_map(Condition::OneOf),
            1 => selector().prop_map(Condition::AllOf),
        ];
        leaf.prop_recursive(6, 48, 4, |inner| {
            prop_oneof![
                inner.clone().prop_map(|c| Condition::Not(Box::new(c))),
                prop::collection::vec(inner.clone(), 2..5).prop_map(Condition::And),
                prop::collection::vec(inner, 2..5).prop_map(Condition::Or),
            ]
        })
    }

    /// The form the parser produces: nested And/Or of the same kind flattened.
    fn normalize(c: Condition) -> Condition {
        match c {
            Condition::Not(inner) => Condition::Not(Box::new(normalize(*inner))),
            Condition::And(items) => combine(Kind::And, items.into_iter().map(normalize).collect()),
            Condition::Or(items) => combine(Kind::Or, items.into_iter().map(normalize).collect()),
            other => other,
        }
    }

    fn token_soup() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            Just("("),
            Just(")"),
            Just("and"),
            Just("OR"),
            Just("not"),
            Just("1"),
            Just("any"),
            Just("all"),
            Just("of"),
            Just("them"),
            Just("sel"),
            Just("sel_*"),
            Just("_x"),
            Just("|"),
        ];
        prop::collection::vec(token, 0..24).prop_map(|tokens| tokens.join(" "))
    }

    proptest! {
        #[test]
        fn condition_parse_never_panics(text in any::<String>()) {
            let _ = parse_condition(&text);
        }

        #[test]
        fn condition_parse_never_panics_on_token_soup(text in token_soup()) {
            if let Ok(c) = parse_condition(&text) {
                // Whatever parses is stable through Display.
                prop_assert_eq!(parse_condition(&c.to_string()), Ok(c.clone()));
                let _ = c.resolve(&["sel", "sel_a", "_x"]);
            }
        }

        #[test]
        fn condition_error_column_in_range(text in "[ a-z()|*=1]{0,30}") {
            if let Err(e) = parse_condition(&text) {
                prop_assert!(e.column >= 1 && e.column <= text.chars().count() + 1);
            }
        }

        #[test]
        fn condition_display_round_trips(c in condition()) {
            let expected = normalize(c);
            let text = expected.to_string();
            prop_assert_eq!(parse_condition(&text), Ok(expected), "text: {}", text);
        }

        #[test]
        fn condition_resolve_matches_selector(c in condition()) {
            let ids = ["a", "b_1", "b_2", "_c", "sel"];
            if let Ok(resolved) = c.resolve(&ids) {
                for name in resolved.identifiers() {
                    prop_assert!(ids.contains(&name));
                }
            }
        }
    }

    // -- SigmaHQ corpus -------------------------------------------------------

    /// Removes a YAML comment (` #...`) from a line; crude (ignores quoting).
    fn strip_comment(line: &str) -> &str {
        if line.trim_start().starts_with('#') {
            return "";
        }
        match line.find(" #") {
            Some(i) => line.get(..i).unwrap_or(line),
            None => line,
        }
    }

    fn unquote(value: &str) -> &str {
        let value = value.trim();
        for quote in ['\'', '"'] {
            if let Some(inner) = value
                .strip_prefix(quote)
                .and_then(|v| v.strip_suffix(quote))
            {
                return inner;
            }
        }
        value
    }

    fn indent(line: &str) -> usize {
        line.len() - line.trim_start().len()
    }

    /// Crude extraction of the `condition:` values and the detection keys of one
    /// YAML document.
    fn extract(doc: &str) -> (Vec<String>, Vec<String>) {
        let lines: Vec<&str> = doc.lines().collect();
        let mut conditions = Vec::new();
        let mut keys = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let own_indent = indent(line);
            if trimmed.starts_with("detection:") {
                let mut child_indent = None;
                for next in lines.iter().skip(i + 1) {
                    if next.trim().is_empty() || next.trim_start().starts_with('#') {
                        continue;
                    }
                    let level = indent(next);
                    if level <= own_indent {
                        break;
                    }
                    let level_of_children = *child_indent.get_or_insert(level);
                    if level == level_of_children
                        && let Some((key, _)) = next.trim().split_once(':')
                    {
                        let key = unquote(key);
                        if key != "condition" && key != "timeframe" {
                            keys.push(key.to_owned());
                        }
                    }
                }
            }
            let Some(rest) = trimmed.strip_prefix("condition:") else {
                continue;
            };
            let rest = strip_comment(rest).trim();
            if !rest.is_empty() && !rest.starts_with('|') && !rest.starts_with('>') {
                conditions.push(unquote(rest).to_owned());
                continue;
            }
            // Block scalar, multi-line plain scalar or list.
            let mut block: Vec<&str> = Vec::new();
            for next in lines.iter().skip(i + 1) {
                if next.trim().is_empty() {
                    continue;
                }
                if indent(next) <= own_indent && !next.trim_start().starts_with("- ") {
                    break;
                }
                if indent(next) < own_indent {
                    break;
                }
                block.push(strip_comment(next).trim());
            }
            if block.first().is_some_and(|l| l.starts_with("- ")) {
                for item in &block {
                    if let Some(value) = item.strip_prefix("- ") {
                        conditions.push(unquote(value).to_owned());
                    } else if let Some(last) = conditions.last_mut() {
                        last.push(' ');
                        last.push_str(item);
                    }
                }
            } else {
                conditions.push(block.join(" "));
            }
        }
        (conditions, keys)
    }

    fn yaml_files(root: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        let mut dirs = vec![root.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
                    files.push(path);
                }
            }
        }
        files.sort();
        files
    }

    /// Every `condition:` of the SigmaHQ rule repository parses and resolves against
    /// the rule's (crudely extracted) detection keys. Set `SIGMAHQ_DIR` to override
    /// the default checkout location.
    #[test]
    #[ignore = "needs the SigmaHQ corpus checkout"]
    fn condition_sigmahq_corpus_parses() {
        let base = std::env::var("SIGMAHQ_DIR")
            .unwrap_or_else(|_| "/work/shared/corpora/detection/sigmahq-sigma".to_owned());
        let base = std::path::Path::new(&base);
        let roots: Vec<_> = std::fs::read_dir(base)
            .unwrap_or_else(|e| panic!("{}: {e}", base.display()))
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| {
                path.is_dir()
                    && path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("rules"))
            })
            .collect();
        let (mut files, mut conditions, mut resolved) = (0usize, 0usize, 0usize);
        let mut failures = Vec::new();
        for root in roots {
            for path in yaml_files(&root) {
                let Ok(text) = std::fs::read_to_string(&path) else {
                    continue;
                };
                files += 1;
                for doc in text.split("\n---") {
                    let (conds, keys) = extract(doc);
                    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                    for cond in conds {
                        conditions += 1;
                        match parse_condition(&cond) {
                            Ok(c) => match c.resolve(&keys) {
                                Ok(_) => resolved += 1,
                                Err(e) => failures
                                    .push(format!("{}: resolve {cond:?}: {e}", path.display())),
                            },
                            Err(e) => failures.push(format!("{}: {cond:?}: {e}", path.display())),
                        }
                    }
                }
            }
        }
        eprintln!(
            "SigmaHQ: {files} YAML files, {conditions} conditions parsed, {resolved} resolved"
        );
        assert!(conditions > 1000, "only {conditions} conditions found");
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
