//! Suppression: tenant-scoped rules that keep known-benign detections away from analysts,
//! and the record of every detection they kept away.
//!
//! A rule is an AND of conditions over detection attributes (see
//! [`crate::detection::Detection::attribute`]), written as text:
//! `rule = 5d6f… and host = ws01 and user ~ 'svc_*' and src_ip in 10.0.0.0/8 and
//! CommandLine contains backup`. Operators: `=` (case-insensitive equality), `!=`, `~`
//! (glob with `*` and `?`), `contains`, `in` (an IPv4 or IPv6 network). An absent
//! attribute satisfies only `!=`. Rules expire (or not: an allowlist entry), count their
//! hits, and name their owner and reason. Nothing is dropped silently: each suppressed
//! detection becomes a [`SuppressedRecord`] naming what suppressed it.

use std::net::IpAddr;

use regex::{Regex, RegexBuilder};
use serde::Serialize;
use watchfloor_event::{TenantId, Timestamp};

use crate::detection::Detection;
use crate::time::{rfc3339, serialize_time};

/// A malformed suppression expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    #[error("empty suppression expression")]
    Empty,
    #[error("condition {index} (`{text}`): {reason}")]
    Condition {
        index: usize,
        text: String,
        reason: String,
    },
    #[error("unterminated quote in `{0}`")]
    Quote(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Equals,
    NotEquals,
    Glob,
    Contains,
    InNetwork,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Equals => "=",
            Op::NotEquals => "!=",
            Op::Glob => "~",
            Op::Contains => "contains",
            Op::InNetwork => "in",
        }
    }
}

/// One `attribute op value` condition.
#[derive(Clone, Debug)]
pub struct Condition {
    pub attribute: String,
    pub op: Op,
    pub value: String,
    glob: Option<Regex>,
    network: Option<(IpAddr, u8)>,
}

impl Condition {
    fn holds(&self, d: &Detection) -> bool {
        let Some(v) = d.attribute(&self.attribute) else {
            return self.op == Op::NotEquals;
        };
        match self.op {
            Op::Equals => v.eq_ignore_ascii_case(&self.value),
            Op::NotEquals => !v.eq_ignore_ascii_case(&self.value),
            Op::Glob => self.glob.as_ref().is_some_and(|re| re.is_match(v)),
            Op::Contains => v.to_lowercase().contains(&self.value.to_lowercase()),
            Op::InNetwork => match (self.network, v.trim().parse::<IpAddr>()) {
                (Some((net, bits)), Ok(ip)) => in_network(ip, net, bits),
                _ => false,
            },
        }
    }
}

/// An AND of conditions.
#[derive(Clone, Debug)]
pub struct Expr {
    conditions: Vec<Condition>,
}

impl Expr {
    pub fn parse(text: &str) -> Result<Expr, ExprError> {
        let parts = split_and(text)?;
        if parts.iter().all(|p| p.trim().is_empty()) {
            return Err(ExprError::Empty);
        }
        let mut conditions = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            let fail = |reason: &str| ExprError::Condition {
                index: i + 1,
                text: part.trim().to_string(),
                reason: reason.to_string(),
            };
            conditions.push(parse_condition(part).map_err(|r| fail(&r))?);
        }
        Ok(Expr { conditions })
    }

    /// Equality on every given attribute (the conditions of a suppression made from an
    /// alert).
    pub fn equals(pairs: &[(&str, &str)]) -> Expr {
        Expr {
            conditions: pairs
                .iter()
                .map(|(a, v)| Condition {
                    attribute: (*a).to_string(),
                    op: Op::Equals,
                    value: (*v).to_string(),
                    glob: None,
                    network: None,
                })
                .collect(),
        }
    }

    pub fn matches(&self, d: &Detection) -> bool {
        self.conditions.iter().all(|c| c.holds(d))
    }

    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }
}

impl std::fmt::Display for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, c) in self.conditions.iter().enumerate() {
            if i > 0 {
                f.write_str(" and ")?;
            }
            let quoted = c.value.contains(' ') || c.value.is_empty();
            if quoted {
                write!(f, "{} {} '{}'", c.attribute, c.op.symbol(), c.value)?;
            } else {
                write!(f, "{} {} {}", c.attribute, c.op.symbol(), c.value)?;
            }
        }
        Ok(())
    }
}

/// Splits on ` and ` (any case) outside quotes.
fn split_and(text: &str) -> Result<Vec<String>, ExprError> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut words = text.split_inclusive(char::is_whitespace).peekable();
    while let Some(word) = words.next() {
        for c in word.chars() {
            match quote {
                Some(q) if c == q => quote = None,
                None if c == '\'' || c == '"' => quote = Some(c),
                _ => {}
            }
        }
        if quote.is_none() && word.trim().eq_ignore_ascii_case("and") && !current.trim().is_empty()
        {
            parts.push(std::mem::take(&mut current));
            continue;
        }
        current.push_str(word);
        let _ = words.peek();
    }
    if quote.is_some() {
        return Err(ExprError::Quote(text.to_string()));
    }
    parts.push(current);
    Ok(parts)
}

fn parse_condition(part: &str) -> Result<Condition, String> {
    let part = part.trim();
    let attr_end = part
        .find(|c: char| c.is_whitespace() || "=!~".contains(c))
        .ok_or("expected `attribute operator value`")?;
    let attribute = &part[..attr_end];
    if attribute.is_empty() {
        return Err("missing attribute name".into());
    }
    let rest = part[attr_end..].trim_start();
    let (op, value) = if let Some(v) = rest.strip_prefix("!=") {
        (Op::NotEquals, v)
    } else if let Some(v) = rest.strip_prefix("==") {
        (Op::Equals, v)
    } else if let Some(v) = rest.strip_prefix('=') {
        (Op::Equals, v)
    } else if let Some(v) = rest.strip_prefix('~') {
        (Op::Glob, v)
    } else if let Some(v) = strip_word(rest, "contains") {
        (Op::Contains, v)
    } else if let Some(v) = strip_word(rest, "in") {
        (Op::InNetwork, v)
    } else {
        return Err("unknown operator (use =, !=, ~, contains, in)".into());
    };
    let value = unquote(value.trim());
    let mut c = Condition {
        attribute: attribute.to_string(),
        op,
        value: value.to_string(),
        glob: None,
        network: None,
    };
    match op {
        Op::Glob => {
            c.glob = Some(glob_regex(value).map_err(|e| format!("bad pattern: {e}"))?);
        }
        Op::InNetwork => {
            c.network = Some(parse_network(value).ok_or("expected a network such as 10.0.0.0/8")?);
        }
        _ => {}
    }
    Ok(c)
}

fn strip_word<'a>(s: &'a str, word: &str) -> Option<&'a str> {
    let head = s.get(..word.len())?;
    let rest = &s[word.len()..];
    (head.eq_ignore_ascii_case(word) && rest.starts_with(char::is_whitespace)).then_some(rest)
}

fn unquote(v: &str) -> &str {
    for q in ['\'', '"'] {
        if let Some(inner) = v.strip_prefix(q).and_then(|x| x.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

fn glob_regex(glob: &str) -> Result<Regex, regex::Error> {
    let mut re = String::from("^");
    for c in glob.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    RegexBuilder::new(&re)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
}

fn parse_network(text: &str) -> Option<(IpAddr, u8)> {
    let (addr, bits) = match text.split_once('/') {
        Some((a, b)) => (a.parse::<IpAddr>().ok()?, b.parse::<u8>().ok()?),
        None => {
            let a = text.parse::<IpAddr>().ok()?;
            (a, if a.is_ipv4() { 32 } else { 128 })
        }
    };
    let max = if addr.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some((addr, bits))
}

fn in_network(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// A suppression rule of one tenant.
#[derive(Clone, Debug, Serialize)]
pub struct Suppression {
    pub id: u64,
    #[serde(serialize_with = "crate::time::serialize_tenant")]
    pub tenant: TenantId,
    #[serde(serialize_with = "serialize_expr")]
    pub expr: Expr,
    pub owner: String,
    pub reason: String,
    #[serde(serialize_with = "serialize_time")]
    pub created: Timestamp,
    /// `None`: never expires (an allowlist entry).
    #[serde(serialize_with = "serialize_opt_time")]
    pub expires: Option<Timestamp>,
    pub hits: u64,
}

fn serialize_expr<S: serde::Serializer>(e: &Expr, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&e.to_string())
}

fn serialize_opt_time<S: serde::Serializer>(
    t: &Option<Timestamp>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&rfc3339(*t)),
        None => s.serialize_none(),
    }
}

impl Suppression {
    /// Whether the rule applies to a detection of `time` (expiry is exclusive).
    pub fn is_active(&self, time: Timestamp) -> bool {
        self.expires.is_none_or(|e| time < e)
    }

    pub fn is_allowlist(&self) -> bool {
        self.expires.is_none()
    }
}

/// What kept a detection away from the alert queue.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum SuppressedBy {
    Suppression {
        id: u64,
        reason: String,
        owner: String,
    },
    Warninglist {
        list: String,
        value: String,
    },
}

/// One suppressed detection.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SuppressedRecord {
    #[serde(serialize_with = "serialize_time")]
    pub time: Timestamp,
    pub rule_id: String,
    pub title: String,
    pub host: Option<String>,
    pub reference: String,
    #[serde(flatten)]
    pub by: SuppressedBy,
}

/// The suppression rules of every tenant.
#[derive(Clone, Debug, Default)]
pub struct Suppressions {
    rules: Vec<Suppression>,
    next_id: u64,
}

impl Suppressions {
    /// Adds a rule; returns its id.
    pub fn add(
        &mut self,
        tenant: TenantId,
        expr: Expr,
        owner: &str,
        reason: &str,
        created: Timestamp,
        expires: Option<Timestamp>,
    ) -> u64 {
        self.next_id += 1;
        self.rules.push(Suppression {
            id: self.next_id,
            tenant,
            expr,
            owner: owner.to_string(),
            reason: reason.to_string(),
            created,
            expires,
            hits: 0,
        });
        self.next_id
    }

    pub fn remove(&mut self, tenant: TenantId, id: u64) -> bool {
        let before = self.rules.len();
        self.rules.retain(|r| !(r.id == id && r.tenant == tenant));
        self.rules.len() != before
    }

    /// The first active rule of the detection's tenant that matches it; counts the hit.
    pub fn check(&mut self, d: &Detection) -> Option<&Suppression> {
        let rule = self
            .rules
            .iter_mut()
            .find(|r| r.tenant == d.tenant && r.is_active(d.time) && r.expr.matches(d))?;
        rule.hits += 1;
        Some(rule)
    }

    /// The rules of one tenant (never another's).
    pub fn of_tenant(&self, tenant: TenantId) -> impl Iterator<Item = &Suppression> {
        self.rules.iter().filter(move |r| r.tenant == tenant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(host: &str, user: &str, ip: &str) -> Detection {
        let mut d = Detection {
            rule_id: "rule-1".into(),
            title: "Whoami".into(),
            fields: vec![("CommandLine".into(), "C:\\backup\\run.cmd /quiet".into())],
            ..Default::default()
        };
        d.entities.host = Some(host.into());
        d.entities.user = Some(user.into());
        d.entities.src_ip = Some(ip.into());
        d
    }

    #[test]
    fn expressions() {
        let d = det("ws01", "CORP\\svc_backup", "10.1.2.3");
        let yes = [
            "host = WS01",
            "rule = rule-1 and user ~ '*\\svc_*'",
            "src_ip in 10.0.0.0/8",
            "CommandLine contains BACKUP",
            "user != admin",
            "missing != x",
            "title = 'Whoami'",
        ];
        for e in yes {
            assert!(Expr::parse(e).unwrap().matches(&d), "{e}");
        }
        let no = [
            "host = ws02",
            "src_ip in 192.168.0.0/16",
            "user ~ admin*",
            "missing = x",
        ];
        for e in no {
            assert!(!Expr::parse(e).unwrap().matches(&d), "{e}");
        }
        assert_eq!(
            Expr::parse("host = a and user ~ 'b c'")
                .unwrap()
                .to_string(),
            "host = a and user ~ 'b c'"
        );
    }

    #[test]
    fn bad_expressions_name_the_condition() {
        assert_eq!(Expr::parse("  ").unwrap_err(), ExprError::Empty);
        let e = Expr::parse("host = a and user").unwrap_err();
        assert!(matches!(e, ExprError::Condition { index: 2, .. }), "{e}");
        assert!(matches!(
            Expr::parse("src_ip in banana").unwrap_err(),
            ExprError::Condition { index: 1, .. }
        ));
        assert!(matches!(
            Expr::parse("host = 'a").unwrap_err(),
            ExprError::Quote(_)
        ));
    }

    #[test]
    fn expiry_tenancy_and_hits() {
        let mut s = Suppressions::default();
        let id = s.add(
            TenantId(1),
            Expr::parse("host = ws01").unwrap(),
            "alice",
            "patch window",
            Timestamp(0),
            Some(Timestamp(100)),
        );
        let mut d = det("ws01", "u", "10.0.0.1");
        d.tenant = TenantId(1);
        d.time = Timestamp(50);
        assert_eq!(s.check(&d).map(|r| r.id), Some(id));
        d.time = Timestamp(100);
        assert!(s.check(&d).is_none(), "expired at 100");
        d.tenant = TenantId(2);
        d.time = Timestamp(50);
        assert!(s.check(&d).is_none(), "another tenant's rule never applies");
        assert_eq!(s.of_tenant(TenantId(1)).map(|r| r.hits).sum::<u64>(), 1);
        assert!(s.remove(TenantId(1), id));
    }
}
