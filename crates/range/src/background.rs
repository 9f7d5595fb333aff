//! Benign background activity: the working life of the simulated organisation, one
//! hour at a time. This module owns the daily rhythm ([`Clock`]: how busy an hour is
//! for the office and for the public web site), the per-hour view of who plays which
//! role ([`org::Org`]), and the small random draws every generator shares. The
//! generators live in the submodules: `users` (workstation sessions and desktop
//! applications), `browsing` (DNS and web through the proxy), `system` (Windows
//! housekeeping on every Windows host), `servers` (domain controller, file server,
//! backup, admin work, the Linux servers' cron jobs, with the audit log's record of
//! every program they start) and `internet` (web-site visitors, mail, perimeter
//! noise).
//!
//! Everything is drawn from the hour's `ctx.rng`, except what must agree between the
//! hours of one day (when a person arrives and leaves, the applications they start in
//! the morning): that comes from a stream derived from the seeded world and the date
//! (`org::day_plan`), so it is just as deterministic.

mod browsing;
mod catalog;
mod internet;
mod org;
mod servers;
mod system;
mod users;

#[cfg(test)]
mod tests;

use std::net::Ipv4Addr;

use rand::Rng;

use crate::emit::Stream;
use crate::generate::Ctx;
use crate::scenario::{Background, Scenario};
use crate::world::{HostState, Proc};

const MS: i64 = 1_000_000;
const SEC: i64 = 1_000 * MS;
const MIN: i64 = 60 * SEC;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

/// The logon id of the SYSTEM account.
const SYSTEM_LOGON: &str = "0x3E7";
const SYSTEM: &str = "NT AUTHORITY\\SYSTEM";

/// Generates the benign records of `[start, end)`.
pub fn hour(ctx: &mut Ctx<'_>, s: &Scenario, start: i64, end: i64) {
    if end <= start {
        return;
    }
    let clock = Clock::new(&s.background, start, end);
    let org = org::Org::new(ctx.world, s);
    users::hour(ctx, &org, &clock);
    system::hour(ctx, &org, &clock);
    servers::hour(ctx, &org, &clock);
    internet::hour(ctx, &org, &clock);
}

/// Background volumes, made safe to draw from (finite, not negative, bounded).
#[derive(Clone, Debug)]
struct Rates {
    logons_per_user_day: f64,
    processes_per_user_hour: f64,
    dns_per_user_hour: f64,
    web_per_user_hour: f64,
    site_visitors_per_hour: f64,
    admin_tasks_per_day: f64,
}

fn rate(x: f64) -> f64 {
    if x.is_finite() {
        x.clamp(0.0, 10_000.0)
    } else {
        0.0
    }
}

fn share(x: f64) -> f64 {
    if x.is_finite() {
        x.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Where an hour sits in the day and the week, and how busy it is.
#[derive(Clone, Debug)]
struct Clock {
    start: i64,
    end: i64,
    /// The share of a full hour `[start, end)` covers.
    fraction: f64,
    /// Hour of the day (UTC = local here) at `start`.
    hour: u8,
    /// Days since the epoch.
    day: i64,
    weekend: bool,
    /// Working hours `[first, last]` as hours of the day, when there are any.
    work: Option<(u8, u8)>,
    /// Length of the working day in hours.
    work_len: f64,
    in_work: bool,
    /// Office activity now relative to a full working hour (lunch dips; outside work
    /// `night_factor` on average, more in the evening than before dawn), before the
    /// weekend.
    shape: f64,
    /// What a weekend does to the expected office volume (1 on weekdays).
    day_scale: f64,
    /// The weekend factor, and the chance a person comes in on a weekend day.
    weekend_factor: f64,
    weekend_presence: f64,
    /// Public web-site traffic relative to its busiest hour.
    site: f64,
    backup_hour: u8,
    rates: Rates,
}

/// Visitors to a public shop by hour of the day: quiet before dawn, busiest in the
/// evening.
const SITE_CURVE: [f64; 24] = [
    0.45, 0.3, 0.22, 0.18, 0.16, 0.2, 0.3, 0.45, 0.6, 0.7, 0.8, 0.85, 0.95, 0.9, 0.85, 0.85, 0.9,
    0.95, 1.0, 1.0, 1.0, 0.95, 0.8, 0.6,
];

/// How the out-of-hours share spreads over the night: most of it in the hours next to
/// the working day (early starts, overtime), little before dawn; the weights average 1
/// over the hours outside work, so the night factor keeps its meaning.
fn evening_weight(hour: u8, first: u8, work_len: u8) -> f64 {
    if work_len == 0 || work_len >= 24 {
        return 1.0;
    }
    let raw = |h: u8| {
        let before = (first + 24 - h) % 24;
        let after = (h + 24 - (first + work_len - 1) % 24) % 24;
        match before.min(after) {
            1 => 3.0,
            2 => 2.0,
            3 => 1.2,
            _ => 0.3,
        }
    };
    let mut sum = 0.0;
    for h in 0..24u8 {
        if (h + 24 - first) % 24 >= work_len {
            sum += raw(h);
        }
    }
    let outside = f64::from(24 - work_len);
    if sum > 0.0 {
        raw(hour) * outside / sum
    } else {
        1.0
    }
}

impl Clock {
    fn new(bg: &Background, start: i64, end: i64) -> Clock {
        let len = end.saturating_sub(start).clamp(0, HOUR);
        let day = start.div_euclid(DAY);
        let hour = u8::try_from(start.rem_euclid(DAY) / HOUR).unwrap_or(0);
        // 1970-01-01 was a Thursday; 0 = Sunday.
        let weekday = (day + 4).rem_euclid(7);
        let weekend = weekday == 0 || weekday == 6;
        let [first, stop] = bg.work_hours;
        let (first, stop) = (first.min(24), stop.min(24));
        let work_len = if first < stop {
            stop - first
        } else if first > stop {
            24 - first + stop
        } else {
            0
        };
        let work = (work_len > 0).then(|| (first % 24, (first + work_len - 1) % 24));
        let in_work = work_len > 0 && (hour + 24 - first % 24) % 24 < work_len;
        let night_factor = share(bg.night_factor);
        let shape = if in_work {
            let lunch = (first + work_len / 2) % 24;
            if work_len >= 6 && hour == lunch {
                0.6
            } else {
                1.0
            }
        } else {
            night_factor * evening_weight(hour, first % 24, work_len)
        };
        let weekend_factor = share(bg.weekend_factor);
        let day_scale = if weekend { weekend_factor } else { 1.0 };
        Clock {
            start,
            end,
            fraction: len as f64 / HOUR as f64,
            hour,
            day,
            weekend,
            work,
            work_len: f64::from(work_len),
            in_work,
            shape,
            day_scale,
            weekend_factor,
            weekend_presence: (2.0 * weekend_factor).min(1.0),
            site: SITE_CURVE.get(usize::from(hour)).copied().unwrap_or(0.5),
            backup_hour: bg.backup_hour,
            rates: Rates {
                logons_per_user_day: rate(bg.logons_per_user_day),
                processes_per_user_hour: rate(bg.processes_per_user_hour),
                dns_per_user_hour: rate(bg.dns_per_user_hour),
                web_per_user_hour: rate(bg.web_per_user_hour),
                site_visitors_per_hour: rate(bg.site_visitors_per_hour),
                admin_tasks_per_day: rate(bg.admin_tasks_per_day),
            },
        }
    }

    fn contains(&self, t: i64) -> bool {
        self.start <= t && t < self.end
    }

    /// `t` moved inside the hour.
    fn clamp(&self, t: i64) -> i64 {
        t.min(self.end - 1).max(self.start)
    }
}

// ---- random draws -------------------------------------------------------------

/// A Poisson-distributed count with mean `lambda` (normal approximation for large
/// means); 0 for a mean that is not a positive finite number.
fn poisson(rng: &mut impl Rng, lambda: f64) -> u32 {
    if !lambda.is_finite() || lambda <= 0.0 {
        return 0;
    }
    let lambda = lambda.min(100_000.0);
    if lambda < 30.0 {
        let limit = (-lambda).exp();
        let mut p = 1.0f64;
        let mut k = 0u32;
        while k < 1_000 {
            p *= rng.random::<f64>();
            if p <= limit {
                break;
            }
            k += 1;
        }
        k
    } else {
        let x = lambda + gauss(rng) * lambda.sqrt();
        x.round().clamp(0.0, 1_000_000.0) as u32
    }
}

/// A standard normal draw (Box–Muller).
fn gauss(rng: &mut impl Rng) -> f64 {
    let u1 = rng.random::<f64>().max(1e-12);
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A number in `[0, n)`, 0 when `n` is 0.
fn below(rng: &mut impl Rng, n: u64) -> u64 {
    if n == 0 { 0 } else { rng.random_range(0..n) }
}

/// A number in `[lo, hi)`, `lo` when the range is empty.
fn between(rng: &mut impl Rng, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        lo
    } else {
        rng.random_range(lo..hi)
    }
}

fn chance(rng: &mut impl Rng, p: f64) -> bool {
    rng.random::<f64>() < p
}

fn pick<'a, T>(rng: &mut impl Rng, items: &'a [T]) -> Option<&'a T> {
    items.get(below(rng, items.len() as u64) as usize)
}

/// One of `items`, each as likely as its weight.
fn pick_weighted<'a, T>(
    rng: &mut impl Rng,
    items: &'a [T],
    weight: impl Fn(&T) -> u32,
) -> Option<&'a T> {
    let total: u64 = items.iter().map(|i| u64::from(weight(i))).sum();
    let mut x = below(rng, total);
    for item in items {
        let w = u64::from(weight(item));
        if x < w {
            return Some(item);
        }
        x -= w;
    }
    items.first()
}

/// A size around `median` with a log-normal spread.
fn size(rng: &mut impl Rng, median: u64, spread: f64) -> u64 {
    let x = median as f64 * (gauss(rng) * spread).exp();
    x.clamp(1.0, 1e13) as u64
}

/// A start time in `[lo, hi)` that leaves `span` before `hi` when it can.
fn span_start(rng: &mut impl Rng, lo: i64, hi: i64, span: i64) -> i64 {
    between(rng, lo, (hi - span).max(lo + 1))
}

/// A Windows logon id (`0x3E7A21`).
fn logon_id(rng: &mut impl Rng) -> String {
    format!("0x{:X}", rng.random_range(0x10_0000..0x0FFF_FFFFu32))
}

fn is_public(a: u32) -> bool {
    let [o0, o1, o2, o3] = a.to_be_bytes();
    !(o0 == 0
        || o0 == 10
        || o0 == 127
        || o0 >= 224
        || (o0 == 100 && (o1 & 0xC0) == 64)
        || (o0 == 169 && o1 == 254)
        || (o0 == 172 && (o1 & 0xF0) == 16)
        || (o0 == 192 && o1 == 168)
        || (o0 == 192 && o1 == 0 && (o2 == 0 || o2 == 2))
        || (o0 == 198 && (o1 & 0xFE) == 18)
        || (o0 == 198 && o1 == 51 && o2 == 100)
        || (o0 == 203 && o1 == 0 && o2 == 113)
        || o3 == 0
        || o3 == 255)
}

/// A random public address, outside the private, loopback, multicast and TEST-NET
/// ranges (the scenario's own and the attacker's addresses live in TEST-NET).
fn public_ip(rng: &mut impl Rng) -> String {
    for _ in 0..64 {
        let a = rng.next_u32();
        if is_public(a) {
            return Ipv4Addr::from(a).to_string();
        }
    }
    "81.2.69.160".to_string()
}

fn fnv(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b.to_ascii_lowercase());
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The stable public address a domain resolves to in the simulation.
fn name_ip(name: &str) -> String {
    let mut h = fnv(name);
    for _ in 0..64 {
        let a = (h >> 16) as u32;
        if is_public(a) {
            return Ipv4Addr::from(a).to_string();
        }
        h = h.rotate_left(23).wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0x9E37_79B9;
    }
    "93.184.215.14".to_string()
}

// ---- emitting -----------------------------------------------------------------

/// A new process on host `host` (no record).
fn spawn(
    ctx: &mut Ctx<'_>,
    host: usize,
    image: &str,
    command_line: &str,
    user: &str,
    integrity: &'static str,
) -> Option<Proc> {
    let Ctx { world, rng, .. } = ctx;
    world
        .hosts
        .get_mut(host)
        .map(|h| h.spawn(&mut **rng, image, command_line, user, integrity))
}

/// Emits a Windows record of host `host`, built by `f`.
fn win(
    ctx: &mut Ctx<'_>,
    t: i64,
    stream: Stream,
    host: usize,
    f: impl FnOnce(&HostState) -> String,
) {
    if let Some(h) = ctx.world.hosts.get(host) {
        let line = f(h);
        ctx.emit(t, stream, line);
    }
}

/// A new process with its Sysmon 1 record.
#[allow(clippy::too_many_arguments)]
fn launch(
    ctx: &mut Ctx<'_>,
    t: i64,
    host: usize,
    parent: &Proc,
    image: &str,
    command_line: &str,
    user: &str,
    logon: &str,
) -> Option<Proc> {
    let integrity = if user == SYSTEM { "System" } else { "Medium" };
    let p = spawn(ctx, host, image, command_line, user, integrity)?;
    win(ctx, t, Stream::Sysmon, host, |h| {
        crate::windows::process_create(t, h, &p, parent, logon)
    });
    Some(p)
}

/// A Linux process id on `host` (not the multiples of 4 Windows hands out).
fn linux_pid(ctx: &mut Ctx<'_>, host: usize) -> u32 {
    crate::linux::pid(ctx, host)
}
