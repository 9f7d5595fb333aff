//! DNS and the web from workstations. A lookup leaves a Sysmon 22 record on the
//! workstation and a Zeek dns record (with its UDP flow) at the sensor in front of the
//! DNS server; a page visit goes through the proxy: Sysmon 3 from the browser to the
//! proxy's port 3128, one proxy access-log line per request (the workstation's address,
//! the user, absolute URLs), and for the outside leg Zeek http and conn records from the
//! organisation's public address, the firewall's allow line and now and then a
//! Suricata flow. Some visits download a file (Sysmon 11 in `Downloads`).

use super::catalog::{
    BROWSER_DOMAINS, DOWNLOADS, OFFICE_DOMAINS, OWN_SITE_PAGES, SITES, WINDOWS_DOMAINS,
};
use super::org::{Org, Person};
use super::{MS, SEC, between, chance, name_ip, pick, pick_weighted, size, win};
use crate::emit::Stream;
use crate::generate::Ctx;
use crate::net::{self, Flow, Http};
use crate::windows;
use crate::world::Proc;

/// The long-running processes a lookup can come from on a workstation.
pub(super) struct Apps<'a> {
    pub browser: Option<&'a Proc>,
    pub outlook: Option<&'a Proc>,
    pub teams: Option<&'a Proc>,
    pub svchost: &'a Proc,
}

/// A lookup of `name` by `by` on the person's workstation, answered with `answer`.
pub(super) fn lookup(
    ctx: &mut Ctx<'_>,
    org: &Org,
    p: &Person,
    by: &Proc,
    t: i64,
    name: &str,
    answer: &str,
) {
    let results = format!("::ffff:{answer};");
    win(ctx, t, Stream::Sysmon, p.ws, |h| {
        windows::dns_query(t, h, by, name, &results)
    });
    let Some(dns) = &org.dns else {
        return;
    };
    let port = ctx.ephemeral_port();
    let uid = ctx.uid();
    let ts = t + between(ctx.rng, 100_000, 2 * MS);
    ctx.emit(
        ts,
        Stream::ZeekDns,
        net::zeek_dns(ts, &uid, &p.ws_ip, &dns.ip, port, name, "A", &[answer]),
    );
    let flow = Flow {
        src: &p.ws_ip,
        sport: port,
        dst: &dns.ip,
        dport: 53,
        proto: "udp",
        orig_bytes: 28 + name.len() as u64,
        resp_bytes: 44 + name.len() as u64,
        state: "SF",
        duration: between(ctx.rng, 300, 40_000) as f64 / 1e6,
    };
    ctx.emit(ts, Stream::ZeekConn, net::zeek_conn(ts, &uid, &flow));
}

/// A lookup nobody browses to: browser housekeeping, Outlook and Teams, Windows
/// itself, or an internal server name.
pub(super) fn background_lookup(ctx: &mut Ctx<'_>, org: &Org, p: &Person, apps: &Apps<'_>, t: i64) {
    let roll = between(ctx.rng, 0, 100);
    let internal = [&org.fs, &org.dc, &org.mail, &org.proxy];
    let (by, name, answer) = if roll < 35 {
        let Some(name) = pick(ctx.rng, BROWSER_DOMAINS) else {
            return;
        };
        (apps.browser.unwrap_or(apps.svchost), *name, name_ip(name))
    } else if roll < 70 {
        let Some(name) = pick(ctx.rng, OFFICE_DOMAINS) else {
            return;
        };
        let by = if roll < 55 { apps.outlook } else { apps.teams };
        (by.unwrap_or(apps.svchost), *name, name_ip(name))
    } else if roll < 85 {
        let Some(name) = pick(ctx.rng, WINDOWS_DOMAINS) else {
            return;
        };
        (apps.svchost, *name, name_ip(name))
    } else {
        match pick(ctx.rng, &internal).and_then(|s| s.as_ref()) {
            Some(s) => (&p.explorer, s.fqdn.as_str(), s.ip.clone()),
            None => return,
        }
    };
    lookup(ctx, org, p, by, t, name, &answer);
}

/// A page to visit: the organisation's own site now and then, else a popular one.
pub(super) fn choose_page<'o>(ctx: &mut Ctx<'_>, org: &'o Org) -> Option<Page<'o>> {
    if let Some(w) = org.website.as_deref().filter(|_| chance(ctx.rng, 0.06)) {
        return Some(Page {
            host: w,
            path: pick(ctx.rng, OWN_SITE_PAGES).copied().unwrap_or("/"),
            assets: OWN_SITE_ASSETS,
        });
    }
    let site = pick_weighted(ctx.rng, SITES, |s| s.weight)?;
    Some(Page {
        host: site.host,
        path: pick(ctx.rng, site.pages).copied().unwrap_or("/"),
        assets: site.assets,
    })
}

const OWN_SITE_ASSETS: &[(&str, &str)] = &[
    ("/static/app.css", "text/css"),
    ("/static/img/logo.png", "image/png"),
];

/// A page and the assets it pulls in.
#[derive(Clone, Copy)]
pub(super) struct Page<'a> {
    pub host: &'a str,
    pub path: &'a str,
    pub assets: &'a [(&'a str, &'a str)],
}

/// One visit to a page through the proxy, `requests` requests long (the page, then its
/// assets), by `browser` with user agent `ua`, starting at `t` and ending before `to`;
/// `page` when the page is already chosen (a link opened from mail), else a likely one.
#[allow(clippy::too_many_arguments)]
pub(super) fn visit(
    ctx: &mut Ctx<'_>,
    org: &Org,
    p: &Person,
    browser: &Proc,
    ua: &str,
    page: Option<Page<'_>>,
    t: i64,
    to: i64,
    requests: u32,
) {
    let Some(Page {
        host,
        path: page,
        assets,
    }) = page.or_else(|| choose_page(ctx, org))
    else {
        return;
    };
    let ip = name_ip(host);
    lookup(ctx, org, p, browser, t, host, &ip);
    let Some(proxy) = &org.proxy else {
        return;
    };
    let last = to - 1;
    let t1 = (t + between(ctx.rng, 30 * MS, 400 * MS)).min(last);
    let cport = ctx.ephemeral_port();
    win(ctx, t1, Stream::Sysmon, p.ws, |h| {
        windows::network_connect(
            t1,
            h,
            browser,
            "tcp",
            (&p.ws_ip, cport),
            (&proxy.ip, 3128),
            &proxy.fqdn,
            true,
        )
    });
    let oport = ctx.ephemeral_port();
    let uid = ctx.uid();
    let referrer = format!("http://{host}{page}");
    let download = if chance(ctx.rng, 0.05) {
        pick(ctx.rng, DOWNLOADS).copied()
    } else {
        None
    };
    let download_uri = download.map(|(name, _)| format!("/files/{name}"));
    let mut tr = t1 + between(ctx.rng, 5 * MS, 80 * MS);
    let (mut up, mut down) = (0u64, 0u64);
    let total = requests.max(1) + u32::from(download.is_some());
    for i in 0..total {
        let tr_now = tr.min(last);
        let (uri, content_type, status, bytes, refer) = if i == 0 {
            let roll = between(ctx.rng, 0, 100);
            let (status, bytes) = match roll {
                0..90 => (200, size(ctx.rng, 48_000, 0.8)),
                90..96 => (304, 0),
                _ => (302, between(ctx.rng, 0, 400) as u64),
            };
            (page, "text/html", status, bytes, "")
        } else if let (true, Some((_, ct)), Some(uri)) =
            (i + 1 == total, download, download_uri.as_deref())
        {
            (uri, ct, 200, size(ctx.rng, 400_000, 1.0), referrer.as_str())
        } else {
            let (a, ct) = pick(ctx.rng, assets)
                .copied()
                .unwrap_or(("/favicon.ico", "image/x-icon"));
            let (status, bytes) = if chance(ctx.rng, 0.35) {
                (304, 0)
            } else if chance(ctx.rng, 0.01) {
                (404, 1_245)
            } else {
                (200, size(ctx.rng, 9_000, 1.0))
            };
            (a, ct, status, bytes, referrer.as_str())
        };
        let inside = Http {
            client: &p.ws_ip,
            cport,
            server: &proxy.ip,
            sport: 3128,
            method: "GET",
            host,
            uri,
            user_agent: ua,
            referrer: refer,
            status,
            request_bytes: 0,
            response_bytes: bytes,
            content_type,
        };
        ctx.emit(
            tr_now,
            Stream::Proxy,
            net::access_line(tr_now, &inside, &p.name, true),
        );
        let outside = Http {
            client: &org.public_ip,
            cport: oport,
            server: &ip,
            sport: 80,
            ..inside
        };
        ctx.emit(
            tr_now,
            Stream::ZeekHttp,
            net::zeek_http(tr_now, &uid, &outside),
        );
        up += 380 + uri.len() as u64 + ua.len() as u64;
        down += bytes + 250;
        tr += between(ctx.rng, 15 * MS, 700 * MS);
    }
    let tc = (t1 + 2 * MS).min(last);
    let flow = Flow {
        src: &org.public_ip,
        sport: oport,
        dst: &ip,
        dport: 80,
        proto: "tcp",
        orig_bytes: up,
        resp_bytes: down,
        state: "SF",
        duration: (tr - t1) as f64 / 1e9 + between(ctx.rng, 1, 15) as f64,
    };
    ctx.emit(tc, Stream::ZeekConn, net::zeek_conn(tc, &uid, &flow));
    if let Some(fw) = &org.firewall {
        let seen = Flow {
            src: &proxy.ip,
            ..flow.clone()
        };
        ctx.emit(
            tc,
            Stream::Firewall,
            net::firewall_cef(tc, &fw.name, &seen, true),
        );
    }
    if chance(ctx.rng, 0.04) {
        let id = ctx.next_id();
        ctx.emit(
            tc,
            Stream::Suricata,
            net::suricata_flow(tc, id, &flow, "http"),
        );
    }
    if let Some((name, _)) = download {
        let tf = tr.min(last);
        let partial = format!(
            "C:\\Users\\{}\\Downloads\\Unconfirmed {}.crdownload",
            p.name,
            between(ctx.rng, 100_000, 999_999)
        );
        win(ctx, tf, Stream::Sysmon, p.ws, |h| {
            windows::file_create(tf, h, browser, &partial)
        });
        let done = (tf + between(ctx.rng, 200 * MS, 3 * SEC)).min(last);
        let target = format!("C:\\Users\\{}\\Downloads\\{name}", p.name);
        win(ctx, done, Stream::Sysmon, p.ws, |h| {
            windows::file_create(done, h, browser, &target)
        });
    }
}
