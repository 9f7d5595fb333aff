//! Finding indicators inside free text: a command line with a URL in it, a log message
//! naming an address, a Sysmon `Hashes` field.
//!
//! One pass over the bytes with a class table splits the text into words of
//! `[A-Za-z0-9._-]`; each word is looked at once, as a hash (32, 40 or 64 hex digits),
//! an IPv4 address or a domain name, by what it looks like. Three delimiters start
//! more: `://` a URL (its scheme before, up to the next space, quote or bracket), `@`
//! an e-mail address, and a short hex word followed by `:` (or a `::`) an IPv6
//! address. A URL's host and an e-mail's domain are words of their own, so they are
//! matched as names or addresses like any other word.
//!
//! What it does not look for: user agents (only whole fields, through `lookup`),
//! single-label names, names with non-ASCII letters, hashes glued to other letters.

use std::net::{IpAddr, Ipv6Addr};

use watchfloor_event::Timestamp;

use super::Intel;
use super::lookup::{Cx, DOMAIN_BUF_LEN, Match, dedup, domain_key, parse_v4};
use crate::model::Kind;

const WORD: u8 = 1;
const HEX: u8 = 2;
const URL_END: u8 = 4;
const LOCAL: u8 = 8;
const SCHEME: u8 = 16;

const fn classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        let mut k = 0;
        if c.is_ascii_alphanumeric() || c == b'.' || c == b'-' || c == b'_' {
            k |= WORD;
        }
        if c.is_ascii_hexdigit() {
            k |= HEX;
        }
        if c <= b' '
            || c == 0x7f
            || matches!(
                c,
                b'"' | b'\'' | b'<' | b'>' | b'`' | b'|' | b'^' | b'{' | b'}'
            )
            || c == b'\\'
        {
            k |= URL_END;
        }
        if c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-') {
            k |= LOCAL;
        }
        if c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-') {
            k |= SCHEME;
        }
        t[i] = k;
        i += 1;
    }
    t
}

static CLASS: [u8; 256] = classes();

#[inline]
fn is(c: u8, class: u8) -> bool {
    CLASS[c as usize] & class != 0
}

/// Longest IPv6 text (`ffff:...:255.255.255.255`).
const V6_MAX: usize = 45;

impl Intel {
    /// Appends to `out` every indicator, valid at `now`, found in `text`: each
    /// indicator once, at its first place in the text. See the module doc for what is
    /// looked for.
    pub fn scan_text(&self, text: &str, now: Timestamp, out: &mut Vec<Match>) {
        let base = out.len();
        let b = text.as_bytes();
        let cx = &mut Cx {
            now: now.0,
            out,
            at: 0,
        };
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if !is(c, WORD) {
                match c {
                    b':' if b[i + 1..].starts_with(b"//") => self.scan_url(text, i, cx),
                    b':' if b.get(i + 1) == Some(&b':') && (i == 0 || !is(b[i - 1], WORD)) => {
                        if let Some(end) = self.scan_v6(text, i, cx) {
                            i = end;
                            continue;
                        }
                    }
                    b'@' => self.scan_email(text, i, cx),
                    _ => {}
                }
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && is(b[i], WORD) {
                i += 1;
            }
            if i < b.len()
                && b[i] == b':'
                && i - start <= 4
                && b[start..i].iter().all(|&c| is(c, HEX))
                && let Some(end) = self.scan_v6(text, start, cx)
            {
                i = end;
                continue;
            }
            self.scan_word(text, start, i, cx);
        }
        dedup(cx.out, base);
    }

    fn scan_word(&self, text: &str, start: usize, end: usize, cx: &mut Cx<'_>) {
        let b = text.as_bytes();
        let (mut s, mut e) = (start, end);
        while s < e && matches!(b[s], b'.' | b'-') {
            s += 1;
        }
        while e > s && matches!(b[e - 1], b'.' | b'-') {
            e -= 1;
        }
        let w = &b[s..e];
        if w.is_empty() {
            return;
        }
        if matches!(w.len(), 32 | 40 | 64) && w.iter().all(|&c| is(c, HEX)) {
            self.match_hash(&text[s..e], true, s, cx);
            return;
        }
        if !w.contains(&b'.') {
            return;
        }
        if w[0].is_ascii_digit() && w.len() <= 15 {
            if let Some(a) = parse_v4(w) {
                self.match_v4(a, s, e, cx);
                return;
            }
            if w.iter().all(|&c| c.is_ascii_digit() || c == b'.') {
                return;
            }
        }
        if self.strings[super::table_of(Kind::Domain)].is_empty() {
            return;
        }
        let mut buf = [0u8; DOMAIN_BUF_LEN];
        if let Some(key) = domain_key(&text[s..e], &mut buf) {
            self.match_domain(&key, s, e, cx);
        }
    }

    /// A URL whose `://` is at `colon`.
    fn scan_url(&self, text: &str, colon: usize, cx: &mut Cx<'_>) {
        if self.strings[super::table_of(Kind::Url)].is_empty() {
            return;
        }
        let b = text.as_bytes();
        let mut s = colon;
        while s > 0 && is(b[s - 1], SCHEME) {
            s -= 1;
        }
        if s == colon {
            return;
        }
        let mut e = colon + 3;
        while e < b.len() && !is(b[e], URL_END) {
            e += 1;
        }
        while e > colon + 3
            && matches!(
                b[e - 1],
                b'.' | b',' | b';' | b':' | b'!' | b'?' | b')' | b']'
            )
        {
            e -= 1;
        }
        if e == colon + 3 {
            return;
        }
        cx.at = s;
        self.match_url(&text[s..e], false, cx);
        cx.at = 0;
    }

    /// An e-mail address whose `@` is at `at`.
    fn scan_email(&self, text: &str, at: usize, cx: &mut Cx<'_>) {
        if self.strings[super::table_of(Kind::Email)].is_empty() {
            return;
        }
        let b = text.as_bytes();
        let mut s = at;
        while s > 0 && at - s < 64 && is(b[s - 1], LOCAL) {
            s -= 1;
        }
        let mut e = at + 1;
        while e < b.len() && is(b[e], WORD) {
            e += 1;
        }
        while e > at + 1 && matches!(b[e - 1], b'.' | b'-') {
            e -= 1;
        }
        if s == at || e == at + 1 {
            return;
        }
        cx.at = s;
        self.match_email(&text[s..e], false, cx);
        cx.at = 0;
    }

    /// An IPv6 address starting at `start`; returns where it ends if it is one.
    fn scan_v6(&self, text: &str, start: usize, cx: &mut Cx<'_>) -> Option<usize> {
        let b = text.as_bytes();
        let mut e = start;
        let mut colons = 0;
        while e < b.len() && e - start < V6_MAX && (is(b[e], HEX) || b[e] == b':' || b[e] == b'.') {
            colons += usize::from(b[e] == b':');
            e += 1;
        }
        if e < b.len() && is(b[e], WORD) {
            return None;
        }
        while e > start && b[e - 1] == b'.' {
            e -= 1;
        }
        if colons < 2 {
            return None;
        }
        let a: Ipv6Addr = text[start..e].parse().ok()?;
        self.match_ip(IpAddr::V6(a), start, e, cx);
        Some(e)
    }
}
