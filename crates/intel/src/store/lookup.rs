//! Matching one value: which indicators does it hit?
//!
//! The value is normalised the way [`normalize`] would (on the stack, for ASCII
//! values; anything else goes through `normalize` itself), then looked up in the
//! index of each kind it can be: addresses exactly and inside networks, names and
//! every parent name, URLs exactly and their host as a name or address, e-mail
//! addresses exactly and their domain as a name, hashes by length, user agents exactly.

use std::borrow::Cow;
use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use watchfloor_event::Timestamp;

use super::{IndicatorId, Intel, label_bit};
use crate::model::{Kind, normalize};

/// One indicator a value matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Match {
    pub id: IndicatorId,
    /// The indicator's kind (a network for an address inside a `cidr` indicator, a
    /// domain for a URL whose host is under a `domain` indicator).
    pub kind: Kind,
    /// Byte range, in the value or text looked at, of the part that matched: the whole
    /// value, or the host of a URL, the domain of an e-mail address, a word of a text.
    pub start: usize,
    pub end: usize,
}

impl Match {
    /// The part of `input` (the value or text that was looked at) that matched.
    pub fn matched<'a>(&self, input: &'a str) -> &'a str {
        input.get(self.start..self.end).unwrap_or("")
    }
}

/// Longest domain name `normalize` accepts, plus room for a `*.` prefix.
pub(super) const DOMAIN_BUF_LEN: usize = 256;
const URL_BUF: usize = 512;

impl Intel {
    /// Appends to `out` every indicator, valid at `now`, that `value` matches.
    ///
    /// `hint` says what the value is when the field tells (a destination address, a
    /// query name, a URL, a `Hashes` entry, a user agent); `Some(Kind::Cidr)` is read
    /// like an address, `Some(Kind::Md5 | Kind::Sha1 | Kind::Sha256)` as a file hash of
    /// any of the three lengths, and a value hinted as a domain that is an address is
    /// looked up as one. With `None` the value is tried as everything it can be (an
    /// address, a URL, an e-mail address, a domain name, a hash of its length, a user
    /// agent) and each indicator is reported once.
    pub fn lookup(&self, hint: Option<Kind>, value: &str, now: Timestamp, out: &mut Vec<Match>) {
        let v = value.trim();
        if v.is_empty() {
            return;
        }
        let at = v.as_ptr() as usize - value.as_ptr() as usize;
        let now = now.0;
        let cx = &mut Cx { now, out, at };
        match hint {
            Some(Kind::Ipv4 | Kind::Ipv6 | Kind::Cidr) => {
                if let Some(ip) = parse_ip(v) {
                    self.match_ip(ip, 0, v.len(), cx);
                }
            }
            Some(Kind::Domain) => self.match_host(v, 0, cx),
            Some(Kind::Url) => self.match_url(v, true, cx),
            Some(Kind::Email) => self.match_email(v, true, cx),
            Some(Kind::Md5 | Kind::Sha1 | Kind::Sha256) => self.match_hash(v, false, 0, cx),
            Some(Kind::Ja3) => {
                if v.len() == 32 {
                    self.match_hash_as(Kind::Ja3, v, 0, cx);
                }
            }
            Some(Kind::UserAgent) => self.match_user_agent(v, cx),
            None => {
                let base = cx.out.len();
                if let Some(ip) = parse_ip(v) {
                    self.match_ip(ip, 0, v.len(), cx);
                } else {
                    if scheme_separator(v.as_bytes()).is_some() {
                        self.match_url(v, true, cx);
                    }
                    if v.contains('@') {
                        self.match_email(v, true, cx);
                    }
                    self.match_domain_str(v, 0, cx);
                    self.match_hash(v, true, 0, cx);
                }
                self.match_user_agent(v, cx);
                dedup(cx.out, base);
            }
        }
    }

    /// Pushes `id`, an indicator of `kind`, if one of its attributions applies now.
    #[inline]
    pub(super) fn hit(&self, id: u32, kind: Kind, start: usize, end: usize, cx: &mut Cx<'_>) {
        if self.is_always(id) || self.is_live(self.record(id), cx.now) {
            cx.out.push(Match {
                id: IndicatorId(id),
                kind,
                start: cx.at + start,
                end: cx.at + end,
            });
        }
    }

    /// An address: the address itself, the networks holding it, and for an IPv4
    /// address written as IPv6 (`::ffff:a.b.c.d`) the same for the IPv4 address.
    pub(super) fn match_ip(&self, ip: IpAddr, start: usize, end: usize, cx: &mut Cx<'_>) {
        match ip {
            IpAddr::V4(a) => self.match_v4(u32::from(a), start, end, cx),
            IpAddr::V6(a) => {
                let n = u128::from(a);
                if let Some(&id) = self.ipv6.get(&n) {
                    self.hit(id, Kind::Ipv6, start, end, cx);
                }
                self.cidr6
                    .lookup(n, |id| self.hit(id, Kind::Cidr, start, end, cx));
                if let Some(v4) = a.to_ipv4_mapped() {
                    self.match_v4(u32::from(v4), start, end, cx);
                }
            }
        }
    }

    #[inline]
    pub(super) fn match_v4(&self, a: u32, start: usize, end: usize, cx: &mut Cx<'_>) {
        if !self.v4_filter.may_contain(super::filter::v4_key(a)) {
            return;
        }
        if let Some(id) = self.ipv4.get(self.fingerprints.ipv4(a)) {
            self.hit(id, Kind::Ipv4, start, end, cx);
        }
        self.cidr4
            .lookup(a, |id| self.hit(id, Kind::Cidr, start, end, cx));
    }

    /// A host name or address (`v[..]` starts at byte `start` of what `cx` refers to).
    fn match_host(&self, v: &str, start: usize, cx: &mut Cx<'_>) {
        match parse_ip(v) {
            Some(ip) => self.match_ip(ip, start, start + v.len(), cx),
            None => self.match_domain_str(v, start, cx),
        }
    }

    fn match_domain_str(&self, v: &str, start: usize, cx: &mut Cx<'_>) {
        if self.strings[super::table_of(Kind::Domain)].is_empty() {
            return;
        }
        let mut buf = [0u8; DOMAIN_BUF_LEN];
        if let Some(key) = domain_key(v, &mut buf) {
            self.match_domain(&key, start, start + v.len(), cx);
        }
    }

    /// A normalised domain name: itself and every parent name.
    pub(super) fn match_domain(&self, key: &[u8], start: usize, end: usize, cx: &mut Cx<'_>) {
        let mut labels = 1 + key.iter().filter(|&&b| b == b'.').count();
        // Every indicator of two or more labels that could match ends in the same two
        // labels as `key`; the filter knows whether any does.
        let longer = self.domain_filter.is_on()
            && !super::filter::last_two_labels(key).is_some_and(|two| {
                let key = super::filter::hash_key(self.hasher.hash_one(two));
                self.domain_filter.may_contain(key)
            });
        let mut from = 0;
        loop {
            if self.domain_labels & label_bit(labels) != 0
                && (labels == 1 || !longer)
                && let Some(id) = self.probe(Kind::Domain, &key[from..])
            {
                self.hit(id, Kind::Domain, start, end, cx);
            }
            match key[from..].iter().position(|&b| b == b'.') {
                Some(dot) => {
                    from += dot + 1;
                    labels -= 1;
                }
                None => break,
            }
        }
    }

    /// A URL: exactly, and (with `host`) its host as a name or address.
    pub(super) fn match_url(&self, v: &str, host: bool, cx: &mut Cx<'_>) {
        let Some(parts) = url_parts(v) else { return };
        if !self.strings[super::table_of(Kind::Url)].is_empty() {
            let found = if parts.authority(v).is_ascii() {
                let need = parts.normalized_len();
                let mut stack = [0u8; URL_BUF];
                let mut heap = Vec::new();
                let buf: &mut [u8] = if need <= URL_BUF {
                    &mut stack[..need]
                } else {
                    heap.resize(need, 0);
                    &mut heap
                };
                parts.write_normalized(v, buf);
                self.probe(Kind::Url, buf)
            } else {
                // Rare: let `normalize` lower-case a non-ASCII host.
                normalize(Kind::Url, v)
                    .ok()
                    .and_then(|s| self.probe(Kind::Url, s.as_bytes()))
            };
            if let Some(id) = found {
                self.hit(id, Kind::Url, 0, v.len(), cx);
            }
        }
        if host {
            let (hs, he) = parts.host;
            self.match_host(&v[hs..he], hs, cx);
        }
    }

    /// An e-mail address: exactly, and (with `domain`) its domain as a name.
    pub(super) fn match_email(&self, v: &str, domain: bool, cx: &mut Cx<'_>) {
        let emails = !self.strings[super::table_of(Kind::Email)].is_empty();
        let domains = domain && !self.strings[super::table_of(Kind::Domain)].is_empty();
        if !emails && !domains {
            return;
        }
        if !v.is_ascii() {
            // Rare: let `normalize` do it.
            let Ok(e) = normalize(Kind::Email, v) else {
                return;
            };
            if emails && let Some(id) = self.probe(Kind::Email, e.as_bytes()) {
                self.hit(id, Kind::Email, 0, v.len(), cx);
            }
            if domains && let Some((_, d)) = e.rsplit_once('@') {
                self.match_domain(d.as_bytes(), 0, v.len(), cx);
            }
            return;
        }
        // As `normalize`: strip `mailto:` and angle brackets, split at the last `@`.
        let mut s = v;
        while let Some(rest) = s.strip_prefix("mailto:") {
            s = rest;
        }
        let s = s.trim_matches(['<', '>']);
        let Some(at) = s.rfind('@') else { return };
        let (local, dom) = (&s[..at], &s[at + 1..]);
        if local.is_empty() || local.bytes().any(|b| (b as char).is_whitespace()) {
            return;
        }
        let mut dbuf = [0u8; DOMAIN_BUF_LEN];
        let Some(dkey) = domain_key(dom, &mut dbuf) else {
            return;
        };
        let offset = |part: &str| part.as_ptr() as usize - v.as_ptr() as usize;
        if emails {
            let need = local.len() + 1 + dkey.len();
            let mut stack = [0u8; URL_BUF];
            let mut heap = Vec::new();
            let buf: &mut [u8] = if need <= URL_BUF {
                &mut stack[..need]
            } else {
                heap.resize(need, 0);
                &mut heap
            };
            for (d, s) in buf.iter_mut().zip(local.bytes()) {
                *d = s.to_ascii_lowercase();
            }
            buf[local.len()] = b'@';
            buf[local.len() + 1..].copy_from_slice(&dkey);
            if let Some(id) = self.probe(Kind::Email, buf) {
                self.hit(id, Kind::Email, offset(local), offset(dom) + dom.len(), cx);
            }
        }
        if domains {
            self.match_domain(&dkey, offset(dom), offset(dom) + dom.len(), cx);
        }
    }

    /// A hash, by its length: 32 hex digits an MD5 (and, with `ja3`, a JA3
    /// fingerprint), 40 a SHA-1, 64 a SHA-256.
    pub(super) fn match_hash(&self, v: &str, ja3: bool, start: usize, cx: &mut Cx<'_>) {
        match v.len() {
            32 => {
                self.match_hash_as(Kind::Md5, v, start, cx);
                if ja3 {
                    self.match_hash_as(Kind::Ja3, v, start, cx);
                }
            }
            40 => self.match_hash_as(Kind::Sha1, v, start, cx),
            64 => self.match_hash_as(Kind::Sha256, v, start, cx),
            _ => {}
        }
    }

    pub(super) fn match_hash_as(&self, kind: Kind, v: &str, start: usize, cx: &mut Cx<'_>) {
        if self.strings[super::table_of(kind)].is_empty() || v.len() > 64 {
            return;
        }
        let mut buf = [0u8; 64];
        let key = &mut buf[..v.len()];
        // Without a branch per byte: hex digits and letters alternate at random.
        let mut bad = false;
        for (d, s) in key.iter_mut().zip(v.bytes()) {
            let c = HEX_LOWER[s as usize];
            bad |= c == 0;
            *d = c;
        }
        if bad {
            return;
        }
        if let Some(id) = self.probe(kind, key) {
            self.hit(id, kind, start, start + v.len(), cx);
        }
    }

    fn match_user_agent(&self, v: &str, cx: &mut Cx<'_>) {
        if v.len() <= 2048
            && let Some(id) = self.probe(Kind::UserAgent, v.as_bytes())
        {
            self.hit(id, Kind::UserAgent, 0, v.len(), cx);
        }
    }
}

/// Where matches go, the time they must be valid at, and where the value being
/// looked at starts in what the caller handed over.
pub(super) struct Cx<'o> {
    pub(super) now: i64,
    pub(super) out: &'o mut Vec<Match>,
    pub(super) at: usize,
}

/// Keeps the first match of each indicator among `out[base..]`.
pub(super) fn dedup(out: &mut Vec<Match>, base: usize) {
    let mut i = base;
    while i < out.len() {
        if out[base..i].iter().any(|m| m.id == out[i].id) {
            out.remove(i);
        } else {
            i += 1;
        }
    }
}

/// An address as `normalize` reads one: IPv4, or IPv6 with or without brackets.
pub(super) fn parse_ip(v: &str) -> Option<IpAddr> {
    let b = v.as_bytes();
    let first = *b.first()?;
    if first.is_ascii_digit()
        && b.len() <= 15
        && let Some(a) = parse_v4(b)
    {
        return Some(IpAddr::V4(Ipv4Addr::from(a)));
    }
    if b.contains(&b':') {
        return v
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<Ipv6Addr>()
            .ok()
            .map(IpAddr::V6);
    }
    None
}

/// Dotted-quad IPv4 exactly as the standard library reads it: four decimal numbers
/// up to 255, no leading zeros.
#[inline]
pub(super) fn parse_v4(b: &[u8]) -> Option<u32> {
    let mut addr = 0u32;
    let mut octets = 0;
    let mut i = 0;
    while i <= b.len() {
        let start = i;
        let mut n = 0u32;
        while i < b.len() && b[i].is_ascii_digit() {
            n = n * 10 + u32::from(b[i] - b'0');
            i += 1;
            if i - start > 3 {
                return None;
            }
        }
        let digits = i - start;
        if digits == 0 || n > 255 || (digits > 1 && b[start] == b'0') {
            return None;
        }
        addr = (addr << 8) | n;
        octets += 1;
        if i == b.len() {
            break;
        }
        if b[i] != b'.' || octets == 4 {
            return None;
        }
        i += 1;
    }
    (octets == 4).then_some(addr)
}

/// A domain name normalised as `normalize` does (trailing dots and a `*.` prefix
/// dropped, lower case, labels checked, addresses refused).
pub(super) fn domain_key<'b>(v: &str, buf: &'b mut [u8; DOMAIN_BUF_LEN]) -> Option<Cow<'b, [u8]>> {
    if !v.is_ascii() {
        return normalize(Kind::Domain, v)
            .ok()
            .map(|s| Cow::Owned(s.into_bytes()));
    }
    let b = v.as_bytes();
    let mut end = b.len();
    while end > 0 && b[end - 1] == b'.' {
        end -= 1;
    }
    let b = &b[..end];
    let b = b.strip_prefix(b"*.").unwrap_or(b);
    if b.is_empty() || b.len() > 253 {
        return None;
    }
    let key = &mut buf[..b.len()];
    let mut label_start = 0;
    let mut letters = false;
    for (i, (d, &s)) in key.iter_mut().zip(b).enumerate() {
        let c = NAME_BYTE[s as usize];
        match c {
            0 => return None,
            b'.' => {
                if i == label_start || i - label_start > 63 {
                    return None;
                }
                label_start = i + 1;
            }
            _ => letters |= !c.is_ascii_digit(),
        }
        *d = c;
    }
    let last = b.len() - label_start;
    if last == 0 || last > 63 || (!letters && parse_v4(key).is_some()) {
        return None;
    }
    Some(Cow::Borrowed(key))
}

/// Hex digits in lower case; 0 for every other byte.
static HEX_LOWER: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        if c.is_ascii_hexdigit() {
            t[i] = c.to_ascii_lowercase();
        }
        i += 1;
    }
    t
};

/// What each byte of a domain name becomes: itself in lower case, or 0 where names
/// cannot hold it.
static NAME_BYTE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        if c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.' {
            t[i] = c.to_ascii_lowercase();
        }
        i += 1;
    }
    t
};

/// Where the pieces of a URL lie, as `normalize` splits one.
pub(super) struct UrlParts {
    /// End of the part before any `#`.
    end: usize,
    scheme_end: usize,
    /// The authority (`user@host:port`) and the host inside it.
    authority: (usize, usize),
    pub(super) host: (usize, usize),
}

impl UrlParts {
    fn authority<'a>(&self, v: &'a str) -> &'a str {
        &v[self.authority.0..self.authority.1]
    }

    fn normalized_len(&self) -> usize {
        let tail = self.end - self.authority.1;
        self.scheme_end + 3 + (self.authority.1 - self.authority.0) + tail.max(1)
    }

    /// Writes `scheme://authority/tail` lower-casing scheme and authority; `buf` has
    /// exactly [`Self::normalized_len`] bytes.
    fn write_normalized(&self, v: &str, buf: &mut [u8]) {
        let b = v.as_bytes();
        let (s, (a0, a1)) = (self.scheme_end, self.authority);
        for (d, c) in buf[..s].iter_mut().zip(&b[..s]) {
            *d = c.to_ascii_lowercase();
        }
        buf[s..s + 3].copy_from_slice(b"://");
        let at = s + 3;
        for (d, c) in buf[at..at + a1 - a0].iter_mut().zip(&b[a0..a1]) {
            *d = c.to_ascii_lowercase();
        }
        let at = at + a1 - a0;
        if a1 == self.end {
            buf[at] = b'/';
        } else {
            buf[at..].copy_from_slice(&b[a1..self.end]);
        }
    }
}

/// Where the first `://` is.
pub(super) fn scheme_separator(b: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b':', b).find(|&at| b[at + 1..].starts_with(b"//"))
}

/// Splits `v` (already trimmed) like `normalize(Kind::Url, ..)`; `None` when that
/// would refuse it.
pub(super) fn url_parts(v: &str) -> Option<UrlParts> {
    let b = v.as_bytes();
    let end = memchr::memchr(b'#', b).unwrap_or(b.len());
    let u = &b[..end];
    let scheme_end = scheme_separator(u)?;
    let scheme = &u[..scheme_end];
    if scheme.is_empty()
        || !scheme
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
    {
        return None;
    }
    let a0 = scheme_end + 3;
    let a1 = memchr::memchr2(b'/', b'?', &u[a0..]).map_or(end, |i| a0 + i);
    if a0 == a1 {
        return None;
    }
    // One pass over the authority: no white space; where its last `@` and `:` are.
    let (mut at, mut colon, mut odd) = (None, None, 0u8);
    for (i, &c) in u[a0..a1].iter().enumerate() {
        match c {
            b'@' => at = Some(i),
            b':' => colon = Some(i),
            _ => {}
        }
        odd |= c & 0x80 | u8::from(c <= b' ');
    }
    if odd != 0 {
        let authority = &v[a0..a1];
        if authority.chars().any(char::is_whitespace) {
            return None;
        }
    }
    // The host: after any `user@`, without a `:port`, without IPv6 brackets.
    let h0 = at.map_or(a0, |i| a0 + i + 1);
    let h = &u[h0..a1];
    let host = if let Some(inner) = h.strip_prefix(b"[") {
        let close = memchr::memchr(b']', inner).unwrap_or(inner.len());
        (h0 + 1, h0 + 1 + close)
    } else {
        match colon.map(|c| a0 + c).filter(|&c| c >= h0) {
            Some(c) if u[c + 1..a1].iter().all(u8::is_ascii_digit) => (h0, c),
            _ => (h0, a1),
        }
    };
    Some(UrlParts {
        end,
        scheme_end,
        authority: (a0, a1),
        host,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_parser_agrees_with_std() {
        for s in [
            "1.2.3.4",
            "255.255.255.255",
            "0.0.0.0",
            "256.1.1.1",
            "01.2.3.4",
            "1.2.3",
            "1.2.3.4.5",
            "1..2.3",
            "1.2.3.4.",
            ".1.2.3.4",
            "1.2.3.04",
            "1000.1.1.1",
            "1.2.3.a",
            "",
            "10.0.0.0",
        ] {
            assert_eq!(
                parse_v4(s.as_bytes()),
                s.parse::<Ipv4Addr>().ok().map(u32::from),
                "{s}"
            );
        }
    }

    #[test]
    fn domain_keys_agree_with_normalize() {
        for s in [
            "Evil.Example.",
            "*.evil.example",
            "evil..example",
            "1.2.3.4",
            "1.2.3.4.5",
            "a_b.example",
            "-x.example",
            "bad domain.example",
            "",
            ".",
            "*.",
            "x",
        ] {
            let mut buf = [0u8; DOMAIN_BUF_LEN];
            let mine = domain_key(s, &mut buf).map(|k| String::from_utf8(k.into_owned()).unwrap());
            let theirs = if s.trim() == s {
                normalize(Kind::Domain, s).ok()
            } else {
                None
            };
            assert_eq!(mine, theirs, "{s:?}");
        }
    }

    fn url_host(url: &str) -> Option<&str> {
        let p = url_parts(url)?;
        Some(&url[p.host.0..p.host.1])
    }

    #[test]
    fn url_hosts() {
        assert_eq!(url_host("http://evil.example/x"), Some("evil.example"));
        assert_eq!(
            url_host("http://u:p@evil.example:8080/x"),
            Some("evil.example")
        );
        assert_eq!(url_host("http://[2001:db8::1]:443/"), Some("2001:db8::1"));
        assert_eq!(url_host("http://203.0.113.5?q"), Some("203.0.113.5"));
        assert_eq!(url_host("evil.example/x"), None);
    }
}
