//! The organisation seen from the internet: shoppers and crawlers on the public web
//! site (access-log lines, Zeek conn per connection, Zeek http for the plain-HTTP
//! redirect, the firewall's allow line, now and then a Suricata flow), mail in and out
//! over SMTP, and the internet's background radiation: connection attempts the firewall
//! denies, and a few SSH logins for invalid users on the exposed Linux servers, one try
//! each from many addresses, never a burst from one.

use std::fmt::Write as _;

use rand::Rng;

use super::catalog::{
    BINGBOT, CATEGORIES, GOOGLEBOT, SCANNED_PORTS, SCANNER_USERS, SEARCH_TERMS, VISITOR_AGENTS,
};
use super::org::{Org, Srv};
use super::{
    Clock, MS, SEC, between, chance, linux_pid, pick, pick_weighted, poisson, public_ip, size,
    span_start,
};
use crate::emit::Stream;
use crate::generate::Ctx;
use crate::net::{self, Flow, Http};
use crate::scenario::Role;

pub(super) fn hour(ctx: &mut Ctx<'_>, org: &Org, c: &Clock) {
    if let (Some(web), Some(site)) = (&org.web, &org.website) {
        let visitors = poisson(
            ctx.rng,
            c.rates.site_visitors_per_hour * c.site * c.fraction,
        );
        for _ in 0..visitors {
            visitor(ctx, org, c, web, site);
        }
    }
    mail(ctx, org, c);
    denied_noise(ctx, org, c);
    for srv in &org.linux {
        let exposed = ctx
            .world
            .hosts
            .get(srv.index)
            .is_some_and(|h| matches!(h.role, Role::WebServer | Role::MailServer));
        if exposed {
            ssh_noise(ctx, org, c, srv);
        }
    }
}

/// A request of a visit: method, target, status, content type, body size.
struct Hit {
    method: &'static str,
    uri: String,
    status: u16,
    content_type: &'static str,
    bytes: u64,
}

fn page(rng: &mut impl Rng, first: bool) -> String {
    let mut uri = String::with_capacity(32);
    let roll = rng.random_range(0..100u32);
    let roll = if first { roll / 2 } else { roll };
    let _ = match roll {
        0..20 => write!(uri, "/"),
        20..50 => write!(uri, "/product.php?id={}", rng.random_range(1..240u32)),
        50..65 => write!(
            uri,
            "/products?category={}",
            CATEGORIES
                .get(rng.random_range(0..CATEGORIES.len().max(1)))
                .copied()
                .unwrap_or("tents")
        ),
        65..72 => write!(uri, "/products"),
        72..82 => write!(
            uri,
            "/search?q={}",
            SEARCH_TERMS
                .get(rng.random_range(0..SEARCH_TERMS.len().max(1)))
                .copied()
                .unwrap_or("tent")
        ),
        82..90 => write!(uri, "/cart"),
        90..94 => write!(uri, "/about"),
        94..97 => write!(uri, "/contact"),
        _ => write!(uri, "/news"),
    };
    uri
}

fn html(uri: String, status: u16, rng: &mut impl Rng) -> Hit {
    Hit {
        method: "GET",
        uri,
        status,
        content_type: "text/html",
        bytes: if status == 200 {
            18_000 + u64::from(rng.next_u32() % 40_000)
        } else {
            0
        },
    }
}

/// The requests of one visit, in order.
fn visit_hits(rng: &mut impl Rng, bot: bool, ios: bool) -> Vec<Hit> {
    let mut hits = Vec::with_capacity(16);
    if bot {
        if rng.random_bool(0.5) {
            hits.push(Hit {
                method: "GET",
                uri: "/robots.txt".into(),
                status: 200,
                content_type: "text/plain",
                bytes: 214,
            });
        }
        if rng.random_bool(0.2) {
            hits.push(Hit {
                method: "GET",
                uri: "/sitemap.xml".into(),
                status: 200,
                content_type: "application/xml",
                bytes: 18_450,
            });
        }
        for _ in 0..rng.random_range(2..7u32) {
            let uri = page(rng, false);
            let status = if rng.random_bool(0.03) { 404 } else { 200 };
            hits.push(html(uri, status, rng));
        }
        return hits;
    }
    let returning = rng.random_bool(0.3);
    let pages = 1 + rng.random_range(0..8u32).min(rng.random_range(0..8u32));
    for i in 0..pages {
        let uri = page(rng, i == 0);
        if uri == "/cart" && rng.random_bool(0.5) {
            hits.push(Hit {
                method: "POST",
                uri: "/cart/add".into(),
                status: 302,
                content_type: "text/html",
                bytes: 0,
            });
        }
        let status = if rng.random_bool(0.015) {
            404
        } else if returning && rng.random_bool(0.3) {
            304
        } else {
            200
        };
        let product = uri
            .strip_prefix("/product.php?id=")
            .and_then(|n| n.parse::<u32>().ok());
        hits.push(html(uri, status, rng));
        if i == 0 {
            for (asset, ct, bytes) in [
                ("/static/app.css", "text/css", 24_310u64),
                ("/static/app.js", "application/javascript", 88_602),
                ("/static/img/logo.png", "image/png", 6_120),
                ("/favicon.ico", "image/x-icon", 5_430),
            ] {
                let cached = returning && rng.random_bool(0.8);
                hits.push(Hit {
                    method: "GET",
                    uri: asset.into(),
                    status: if cached { 304 } else { 200 },
                    content_type: ct,
                    bytes: if cached { 0 } else { bytes },
                });
            }
            if ios && rng.random_bool(0.6) {
                hits.push(Hit {
                    method: "GET",
                    uri: "/apple-touch-icon.png".into(),
                    status: 404,
                    content_type: "text/html",
                    bytes: 1_245,
                });
            }
        }
        if let Some(id) = product {
            hits.push(Hit {
                method: "GET",
                uri: format!("/static/img/products/{id}.jpg"),
                status: 200,
                content_type: "image/jpeg",
                bytes: 40_000 + u64::from(rng.next_u32() % 80_000),
            });
        }
    }
    if rng.random_bool(0.05) {
        hits.push(Hit {
            method: "GET",
            uri: "/login".into(),
            status: 200,
            content_type: "text/html",
            bytes: 9_870,
        });
        hits.push(Hit {
            method: "POST",
            uri: "/login".into(),
            status: 302,
            content_type: "text/html",
            bytes: 0,
        });
        hits.push(Hit {
            method: "GET",
            uri: "/account".into(),
            status: 200,
            content_type: "text/html",
            bytes: 14_200,
        });
    }
    hits
}

/// Addresses the big crawlers really come from.
fn crawler_ip(rng: &mut impl Rng, google: bool) -> String {
    if google {
        format!(
            "66.249.{}.{}",
            rng.random_range(64..80u32),
            rng.random_range(1..255u32)
        )
    } else if rng.random_bool(0.5) {
        format!("157.55.39.{}", rng.random_range(1..255u32))
    } else {
        format!("40.77.167.{}", rng.random_range(1..255u32))
    }
}

fn visitor(ctx: &mut Ctx<'_>, org: &Org, c: &Clock, web: &Srv, site: &str) {
    let bot = chance(ctx.rng, 0.07);
    let google = chance(ctx.rng, 0.65);
    let (ip, ua) = if bot {
        (
            crawler_ip(ctx.rng, google),
            if google { GOOGLEBOT } else { BINGBOT },
        )
    } else {
        let ua = pick_weighted(ctx.rng, VISITOR_AGENTS, |a| a.1)
            .map(|a| a.0)
            .unwrap_or(super::catalog::UA_CHROME);
        (public_ip(ctx.rng), ua)
    };
    let ios = ua.contains("iPhone") || ua.contains("iPad");
    let hits = visit_hits(ctx.rng, bot, ios);
    let pages = hits
        .iter()
        .filter(|h| h.content_type == "text/html")
        .count() as i64;
    let span = pages * 35 * SEC;
    let last = c.end - 1;
    let mut t = span_start(ctx.rng, c.start, c.end, span + 30 * SEC);
    // Some arrive over plain HTTP and are sent to HTTPS.
    if !bot && chance(ctx.rng, 0.1) {
        let port = ctx.ephemeral_port();
        let uid = ctx.uid();
        let h = Http {
            client: &ip,
            cport: port,
            server: &web.ip,
            sport: 80,
            method: "GET",
            host: site,
            uri: "/",
            user_agent: ua,
            referrer: "",
            status: 301,
            request_bytes: 0,
            response_bytes: 162,
            content_type: "text/html",
        };
        ctx.emit(t, Stream::WebAccess, net::site_access_line(t, &h));
        ctx.emit(t, Stream::ZeekHttp, net::zeek_http(t, &uid, &h));
        let flow = Flow {
            src: &ip,
            sport: port,
            dst: &web.ip,
            dport: 80,
            proto: "tcp",
            orig_bytes: 420,
            resp_bytes: 412,
            state: "SF",
            duration: 0.08,
        };
        ctx.emit(t, Stream::ZeekConn, net::zeek_conn(t, &uid, &flow));
        if let Some(fw) = &org.firewall {
            ctx.emit(
                t,
                Stream::Firewall,
                net::firewall_cef(t, &fw.name, &flow, true),
            );
        }
        t = (t + between(ctx.rng, 80 * MS, 400 * MS)).min(last);
    }
    let start = t;
    let port = ctx.ephemeral_port();
    let external = if bot {
        ""
    } else {
        match between(ctx.rng, 0, 10) {
            0..4 => "https://www.google.com/",
            4 => "https://www.bing.com/",
            5 => "https://www.instagram.com/",
            _ => "",
        }
    };
    let mut referrer = String::new();
    let (mut up, mut down) = (0u64, 0u64);
    for hit in &hits {
        let html = hit.content_type == "text/html";
        let refer = if referrer.is_empty() {
            external
        } else {
            referrer.as_str()
        };
        let h = Http {
            client: &ip,
            cport: port,
            server: &web.ip,
            sport: 443,
            method: hit.method,
            host: site,
            uri: &hit.uri,
            user_agent: ua,
            referrer: refer,
            status: hit.status,
            request_bytes: if hit.method == "POST" { 120 } else { 0 },
            response_bytes: hit.bytes,
            content_type: hit.content_type,
        };
        let tt = t.min(last);
        ctx.emit(tt, Stream::WebAccess, net::site_access_line(tt, &h));
        up += 450 + hit.uri.len() as u64;
        down += hit.bytes + 300;
        if html && hit.status < 400 && hit.method == "GET" {
            referrer.clear();
            let _ = write!(referrer, "https://{site}{}", hit.uri);
            t += between(ctx.rng, 4 * SEC, 70 * SEC);
        } else {
            t += between(ctx.rng, 20 * MS, 400 * MS);
        }
    }
    let uid = ctx.uid();
    let flow = Flow {
        src: &ip,
        sport: port,
        dst: &web.ip,
        dport: 443,
        proto: "tcp",
        orig_bytes: up,
        resp_bytes: down,
        state: "SF",
        duration: (t - start) as f64 / 1e9 + between(ctx.rng, 1, 60) as f64,
    };
    ctx.emit(start, Stream::ZeekConn, net::zeek_conn(start, &uid, &flow));
    if let Some(fw) = &org.firewall {
        ctx.emit(
            start,
            Stream::Firewall,
            net::firewall_cef(start, &fw.name, &flow, true),
        );
    }
    if chance(ctx.rng, 0.12) {
        let id = ctx.next_id();
        ctx.emit(
            start,
            Stream::Suricata,
            net::suricata_flow(start, id, &flow, "tls"),
        );
    }
}

/// SMTP: other organisations' servers delivering to the mail server, and the mail
/// server delivering out; busier in office hours, never silent.
fn mail(ctx: &mut Ctx<'_>, org: &Org, c: &Clock) {
    let Some(mx) = &org.mail else {
        return;
    };
    let office = c.shape * c.day_scale;
    let inbound = poisson(ctx.rng, 12.0 * (0.25 + 0.75 * office) * c.fraction);
    let outbound = poisson(ctx.rng, 7.0 * office * c.fraction);
    for i in 0..inbound + outbound {
        let t = between(ctx.rng, c.start, c.end);
        let other = public_ip(ctx.rng);
        let port = ctx.ephemeral_port();
        let uid = ctx.uid();
        let body = size(ctx.rng, 28_000, 1.2);
        let reply = between(ctx.rng, 700, 2_200) as u64;
        let incoming = i < inbound;
        let (src, dst, orig, resp) = if incoming {
            (other.as_str(), mx.ip.as_str(), body, reply)
        } else {
            (mx.ip.as_str(), other.as_str(), body, reply)
        };
        let flow = Flow {
            src,
            sport: port,
            dst,
            dport: 25,
            proto: "tcp",
            orig_bytes: orig,
            resp_bytes: resp,
            state: "SF",
            duration: between(ctx.rng, 300, 6_000) as f64 / 1e3,
        };
        ctx.emit(t, Stream::ZeekConn, net::zeek_conn(t, &uid, &flow));
        if let Some(fw) = &org.firewall {
            ctx.emit(
                t,
                Stream::Firewall,
                net::firewall_cef(t, &fw.name, &flow, true),
            );
        }
        if chance(ctx.rng, 0.06) {
            let id = ctx.next_id();
            ctx.emit(
                t,
                Stream::Suricata,
                net::suricata_flow(t, id, &flow, "smtp"),
            );
        }
    }
}

/// Scanners knocking on the public address; the firewall drops them. One port per
/// source, as the background radiation looks.
fn denied_noise(ctx: &mut Ctx<'_>, org: &Org, c: &Clock) {
    let Some(fw) = &org.firewall else {
        return;
    };
    for _ in 0..poisson(ctx.rng, 10.0 * c.fraction) {
        let t = between(ctx.rng, c.start, c.end);
        let src = public_ip(ctx.rng);
        let dport = pick(ctx.rng, SCANNED_PORTS).copied().unwrap_or(23);
        let sport = if chance(ctx.rng, 0.5) {
            ctx.ephemeral_port()
        } else {
            between(ctx.rng, 1_024, 65_000) as u16
        };
        let flow = Flow {
            src: &src,
            sport,
            dst: &org.public_ip,
            dport,
            proto: "tcp",
            orig_bytes: 0,
            resp_bytes: 0,
            state: "S0",
            duration: 0.0,
        };
        ctx.emit(
            t,
            Stream::Firewall,
            net::firewall_cef(t, &fw.name, &flow, false),
        );
    }
}

/// A few SSH login attempts for invalid users (or root) from random addresses: one
/// attempt each, spread over the hour.
fn ssh_noise(ctx: &mut Ctx<'_>, org: &Org, c: &Clock, srv: &Srv) {
    let last = c.end - 1;
    for _ in 0..poisson(ctx.rng, 1.5 * c.fraction) {
        let t = between(ctx.rng, c.start, c.end);
        let ip = public_ip(ctx.rng);
        let port = ctx.ephemeral_port();
        let pid = linux_pid(ctx, srv.index);
        let root = chance(ctx.rng, 0.3);
        let user = if root {
            "root"
        } else {
            pick(ctx.rng, SCANNER_USERS).copied().unwrap_or("admin")
        };
        let t1 = (t + between(ctx.rng, 500 * MS, 3 * SEC)).min(last);
        let t2 = (t1 + between(ctx.rng, 50 * MS, 600 * MS)).min(last);
        let host = srv.name.as_str();
        let lines = if root {
            [
                (
                    t1,
                    format!(
                        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user=root"
                    ),
                ),
                (
                    t1,
                    format!("Failed password for root from {ip} port {port} ssh2"),
                ),
                (
                    t2,
                    format!(
                        "Connection closed by authenticating user root {ip} port {port} [preauth]"
                    ),
                ),
            ]
        } else {
            [
                (t, format!("Invalid user {user} from {ip} port {port}")),
                (
                    t1,
                    format!("Failed password for invalid user {user} from {ip} port {port} ssh2"),
                ),
                (
                    t2,
                    format!("Connection closed by invalid user {user} {ip} port {port} [preauth]"),
                ),
            ]
        };
        for (tl, msg) in &lines {
            ctx.emit(
                *tl,
                Stream::LinuxAuth,
                net::auth_line(*tl, host, "sshd", pid, msg),
            );
        }
        let uid = ctx.uid();
        let flow = Flow {
            src: &ip,
            sport: port,
            dst: &srv.ip,
            dport: 22,
            proto: "tcp",
            orig_bytes: between(ctx.rng, 1_200, 2_600) as u64,
            resp_bytes: between(ctx.rng, 1_500, 3_200) as u64,
            state: "SF",
            duration: (t2 - t) as f64 / 1e9,
        };
        ctx.emit(t, Stream::ZeekConn, net::zeek_conn(t, &uid, &flow));
        if let Some(fw) = &org.firewall {
            ctx.emit(
                t,
                Stream::Firewall,
                net::firewall_cef(t, &fw.name, &flow, true),
            );
        }
    }
}
