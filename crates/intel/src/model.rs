//! The vocabulary of intelligence: what kind of value an indicator is, how it is
//! spelled once normalised, who said so and under which TLP.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use watchfloor_event::Timestamp;

/// What an indicator's value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Ipv4,
    Ipv6,
    /// An IPv4 or IPv6 network: matches every address inside it.
    Cidr,
    /// Matches the domain and every name below it (`evil.example` catches
    /// `a.b.evil.example`).
    Domain,
    Url,
    Email,
    Md5,
    Sha1,
    Sha256,
    UserAgent,
    Ja3,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::Ipv4,
        Kind::Ipv6,
        Kind::Cidr,
        Kind::Domain,
        Kind::Url,
        Kind::Email,
        Kind::Md5,
        Kind::Sha1,
        Kind::Sha256,
        Kind::UserAgent,
        Kind::Ja3,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Ipv4 => "ipv4",
            Kind::Ipv6 => "ipv6",
            Kind::Cidr => "cidr",
            Kind::Domain => "domain",
            Kind::Url => "url",
            Kind::Email => "email",
            Kind::Md5 => "md5",
            Kind::Sha1 => "sha1",
            Kind::Sha256 => "sha256",
            Kind::UserAgent => "user-agent",
            Kind::Ja3 => "ja3",
        }
    }

    /// Whether the kind is a file hash.
    pub fn is_hash(self) -> bool {
        matches!(self, Kind::Md5 | Kind::Sha1 | Kind::Sha256)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Kind, String> {
        let lower = s.trim().to_ascii_lowercase();
        let kind = match lower.as_str() {
            "ipv4" | "ip" | "ipv4-addr" => Kind::Ipv4,
            "ipv6" | "ipv6-addr" => Kind::Ipv6,
            "cidr" | "network" | "ip-range" => Kind::Cidr,
            "domain" | "domain-name" | "hostname" | "fqdn" => Kind::Domain,
            "url" | "uri" | "link" => Kind::Url,
            "email" | "email-addr" | "email-src" | "email-dst" => Kind::Email,
            "md5" => Kind::Md5,
            "sha1" | "sha-1" => Kind::Sha1,
            "sha256" | "sha-256" => Kind::Sha256,
            "user-agent" | "useragent" | "user_agent" => Kind::UserAgent,
            "ja3" | "ja3-fingerprint-md5" => Kind::Ja3,
            _ => {
                let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                return Err(format!(
                    "unknown indicator kind `{s}` (expected one of: {})",
                    names.join(", ")
                ));
            }
        };
        Ok(kind)
    }
}

/// Traffic Light Protocol 2.0: how far information may be shared. Ordered from the
/// most open to the most restricted, so `tlp <= allowed` decides whether it may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tlp {
    /// Anyone (TLP 1.0's WHITE).
    Clear,
    /// The community.
    Green,
    /// The recipient's organisation and its clients.
    Amber,
    /// The recipient's organisation only.
    AmberStrict,
    /// The named recipients only: never leaves the tenant.
    Red,
}

impl Tlp {
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "clear",
            Tlp::Green => "green",
            Tlp::Amber => "amber",
            Tlp::AmberStrict => "amber+strict",
            Tlp::Red => "red",
        }
    }

    /// Reads `clear`, `TLP:GREEN`, `tlp:amber+strict`, `white` (TLP 1.0), any case.
    pub fn parse(text: &str) -> Option<Tlp> {
        let t = text.trim().to_ascii_lowercase();
        let t = t.strip_prefix("tlp:").unwrap_or(&t).trim();
        Some(match t {
            "clear" | "white" => Tlp::Clear,
            "green" => Tlp::Green,
            "amber" => Tlp::Amber,
            "amber+strict" | "amber-strict" | "amber_strict" => Tlp::AmberStrict,
            "red" => Tlp::Red,
            _ => return None,
        })
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TLP:{}", self.as_str().to_ascii_uppercase())
    }
}

/// What one source says about an indicator.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Attribution {
    /// The feed, partner or file it came from.
    pub source: String,
    /// 0 to 100.
    pub confidence: u8,
    pub tlp: Tlp,
    /// When it starts and stops applying; an expired indicator stops matching.
    pub valid_from: Option<Timestamp>,
    pub valid_until: Option<Timestamp>,
    pub tags: Vec<String>,
    /// ATT&CK technique ids (`T1071.001`).
    pub attack: Vec<String>,
    /// The source's own id for it: a STIX id, a MISP attribute uuid, `file:line`.
    pub reference: Option<String>,
    pub description: Option<String>,
}

impl Attribution {
    /// An attribution from `source` with neutral defaults: confidence 50, TLP:AMBER
    /// (the cautious default for intelligence whose sharing level nobody stated), no
    /// validity bounds, tags or references.
    pub fn from_source(source: impl Into<String>) -> Attribution {
        Attribution {
            source: source.into(),
            confidence: 50,
            tlp: Tlp::Amber,
            valid_from: None,
            valid_until: None,
            tags: Vec::new(),
            attack: Vec::new(),
            reference: None,
            description: None,
        }
    }

    /// Whether it applies at `now`.
    pub fn is_valid_at(&self, now: Timestamp) -> bool {
        self.valid_from.is_none_or(|t| t <= now) && self.valid_until.is_none_or(|t| now < t)
    }
}

/// An indicator as an importer hands it over: a value not yet normalised, and one
/// source's attribution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewIndicator {
    pub kind: Kind,
    pub value: String,
    pub attribution: Attribution,
}

/// Why a value cannot be an indicator of its kind.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind} indicator: {reason}")]
pub struct NormalizeError {
    pub kind: Kind,
    pub reason: &'static str,
}

fn bad(kind: Kind, reason: &'static str) -> NormalizeError {
    NormalizeError { kind, reason }
}

/// The one spelling a value is stored and matched under: addresses in canonical form,
/// networks with their host bits cleared, names, e-mail addresses and hashes in lower
/// case, URLs with a lower-case scheme and host and without a fragment.
pub fn normalize(kind: Kind, raw: &str) -> Result<String, NormalizeError> {
    let v = raw.trim();
    if v.is_empty() {
        return Err(bad(kind, "empty"));
    }
    match kind {
        Kind::Ipv4 => v
            .parse::<Ipv4Addr>()
            .map(|a| a.to_string())
            .map_err(|_| bad(kind, "not an IPv4 address")),
        Kind::Ipv6 => v
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<Ipv6Addr>()
            .map(|a| a.to_string())
            .map_err(|_| bad(kind, "not an IPv6 address")),
        Kind::Cidr => normalize_cidr(v),
        Kind::Domain => normalize_domain(v),
        Kind::Url => normalize_url(v),
        Kind::Email => normalize_email(v),
        Kind::Md5 | Kind::Ja3 => hex_of(kind, v, 32),
        Kind::Sha1 => hex_of(kind, v, 40),
        Kind::Sha256 => hex_of(kind, v, 64),
        Kind::UserAgent => {
            if v.len() > 2048 {
                Err(bad(kind, "longer than 2048 bytes"))
            } else {
                Ok(v.to_owned())
            }
        }
    }
}

fn hex_of(kind: Kind, v: &str, len: usize) -> Result<String, NormalizeError> {
    if v.len() != len {
        return Err(bad(kind, "wrong length for this hash"));
    }
    if !v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(kind, "not hexadecimal"));
    }
    Ok(v.to_ascii_lowercase())
}

fn normalize_cidr(v: &str) -> Result<String, NormalizeError> {
    let kind = Kind::Cidr;
    let (addr, bits) = v.split_once('/').ok_or(bad(kind, "no /prefix length"))?;
    let bits: u8 = bits
        .trim()
        .parse()
        .map_err(|_| bad(kind, "the prefix length is not a number"))?;
    let addr: IpAddr = addr
        .trim()
        .parse()
        .map_err(|_| bad(kind, "not an IP address before the /"))?;
    match addr {
        IpAddr::V4(a) => {
            if bits > 32 {
                return Err(bad(kind, "an IPv4 prefix is at most 32 bits"));
            }
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            Ok(format!("{}/{bits}", Ipv4Addr::from(u32::from(a) & mask)))
        }
        IpAddr::V6(a) => {
            if bits > 128 {
                return Err(bad(kind, "an IPv6 prefix is at most 128 bits"));
            }
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(bits))
            };
            Ok(format!("{}/{bits}", Ipv6Addr::from(u128::from(a) & mask)))
        }
    }
}

fn normalize_domain(v: &str) -> Result<String, NormalizeError> {
    let kind = Kind::Domain;
    let d = v.trim_end_matches('.').to_lowercase();
    let d = d.strip_prefix("*.").unwrap_or(&d);
    if d.is_empty() || d.len() > 253 {
        return Err(bad(kind, "empty or longer than 253 characters"));
    }
    if d.parse::<IpAddr>().is_ok() {
        return Err(bad(kind, "an IP address, not a name"));
    }
    for label in d.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(bad(kind, "a label is empty or longer than 63 characters"));
        }
        if !label
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            return Err(bad(kind, "a label holds a character names cannot"));
        }
    }
    Ok(d.to_owned())
}

fn normalize_email(v: &str) -> Result<String, NormalizeError> {
    let kind = Kind::Email;
    let e = v
        .trim_start_matches("mailto:")
        .trim_matches(['<', '>'])
        .to_lowercase();
    let (local, domain) = e.rsplit_once('@').ok_or(bad(kind, "no @"))?;
    if local.is_empty() || local.chars().any(char::is_whitespace) {
        return Err(bad(kind, "empty or spaced local part"));
    }
    let domain = normalize_domain(domain).map_err(|_| bad(kind, "the domain is not valid"))?;
    Ok(format!("{local}@{domain}"))
}

fn normalize_url(v: &str) -> Result<String, NormalizeError> {
    let kind = Kind::Url;
    let v = v.split('#').next().unwrap_or(v);
    let (scheme, rest) = v.split_once("://").ok_or(bad(kind, "no scheme://"))?;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return Err(bad(kind, "not a URL scheme"));
    }
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(split);
    if authority.is_empty() || authority.chars().any(char::is_whitespace) {
        return Err(bad(kind, "no host"));
    }
    let authority = authority.to_lowercase();
    let tail = if tail.is_empty() { "/" } else { tail };
    Ok(format!(
        "{}://{authority}{tail}",
        scheme.to_ascii_lowercase()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_get_one_spelling() {
        let n = |k, v| normalize(k, v);
        assert_eq!(n(Kind::Ipv4, " 10.0.0.1 ").unwrap(), "10.0.0.1");
        assert!(n(Kind::Ipv4, "10.0.0.256").is_err());
        assert_eq!(n(Kind::Ipv6, "2001:DB8:0:0::1").unwrap(), "2001:db8::1");
        assert_eq!(n(Kind::Cidr, "10.1.2.3/8").unwrap(), "10.0.0.0/8");
        assert_eq!(n(Kind::Cidr, "2001:db8::1/32").unwrap(), "2001:db8::/32");
        assert!(n(Kind::Cidr, "10.0.0.0/33").is_err());
        assert_eq!(n(Kind::Domain, "Evil.Example.").unwrap(), "evil.example");
        assert_eq!(n(Kind::Domain, "*.evil.example").unwrap(), "evil.example");
        assert!(n(Kind::Domain, "10.0.0.1").is_err());
        assert!(n(Kind::Domain, "bad domain.example").is_err());
        assert_eq!(
            n(Kind::Url, "HTTP://Evil.Example/Path?q=A#frag").unwrap(),
            "http://evil.example/Path?q=A"
        );
        assert_eq!(
            n(Kind::Url, "https://evil.example").unwrap(),
            "https://evil.example/"
        );
        assert!(n(Kind::Url, "evil.example/path").is_err());
        assert_eq!(
            n(Kind::Email, "Bob@Evil.Example").unwrap(),
            "bob@evil.example"
        );
        assert!(n(Kind::Email, "nobody").is_err());
        assert_eq!(
            n(Kind::Md5, "D41D8CD98F00B204E9800998ECF8427E").unwrap(),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert!(n(Kind::Sha1, "d41d8cd98f00b204e9800998ecf8427e").is_err());
        assert!(n(Kind::Sha256, &"g".repeat(64)).is_err());
    }

    #[test]
    fn tlp_orders_and_parses() {
        assert!(Tlp::Clear < Tlp::Green && Tlp::Green < Tlp::Amber);
        assert!(Tlp::Amber < Tlp::AmberStrict && Tlp::AmberStrict < Tlp::Red);
        assert_eq!(Tlp::parse("TLP:WHITE"), Some(Tlp::Clear));
        assert_eq!(Tlp::parse("tlp:amber+strict"), Some(Tlp::AmberStrict));
        assert_eq!(Tlp::parse("purple"), None);
        assert_eq!(Tlp::AmberStrict.to_string(), "TLP:AMBER+STRICT");
    }

    #[test]
    fn validity_bounds() {
        let mut a = Attribution::from_source("feed");
        a.valid_from = Some(Timestamp(10));
        a.valid_until = Some(Timestamp(20));
        assert!(!a.is_valid_at(Timestamp(9)));
        assert!(a.is_valid_at(Timestamp(10)));
        assert!(!a.is_valid_at(Timestamp(20)));
    }
}
