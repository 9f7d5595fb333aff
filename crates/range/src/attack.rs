//! Campaign steps: what each [`Action`] leaves in the logs when an intruder does it.
//!
//! This module owns the dispatch from a step to its generator, the [`CampaignState`]
//! carried from step to step (the intruder's process tree per host, what they know),
//! and the small helpers every generator shares: who acts on a host, starting a
//! process with its Sysmon record, the network records of one connection, reading
//! step parameters. The techniques themselves live in the submodules, one per part of
//! the kill chain: `recon` (port and web scans), `web` (exploits of a public web
//! server), `phishing`, `persist`, `c2` (beaconing and exfiltration), `creds`
//! (UAC bypass and LSASS, brute force), `lateral` and `cleanup` (collection, log
//! clearing, file deletion).
//!
//! Every record is built from what the real technique leaves: Sysmon and Security
//! events with the fields Windows writes, Zeek and Suricata records as the sensors
//! write them, access and auth log lines in the daemons' own words, and on Linux the
//! audit log's `execve` events of every program the intruder starts (through
//! [`crate::linux`], from the intruder's shell kept in the [`CampaignState`]).
//! Nothing here picks a string because a rule looks for it.

mod c2;
mod cleanup;
mod creds;
mod lateral;
mod persist;
mod phishing;
mod recon;
mod web;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use rand::Rng;

use crate::emit::Stream;
use crate::generate::{Ctx, ResolvedStep};
use crate::linux::{self, Login, slot};
use crate::net::{self, Flow, Signature};
use crate::scenario::{Action, Os, Role, Scenario, Step};
use crate::windows;
use crate::world::{HostState, Proc};

const MS: i64 = 1_000_000;
const SEC: i64 = 1_000 * MS;
const MINUTE: i64 = 60 * SEC;
const HOUR: i64 = 60 * MINUTE;

const SYSTEM: &str = "NT AUTHORITY\\SYSTEM";
const SYSTEM_LOGON: &str = "0x3E7";
const CMD: &str = "C:\\Windows\\System32\\cmd.exe";
const POWERSHELL: &str = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe";

/// The intruder's hold on one host: the process they act through.
#[derive(Clone, Debug)]
pub struct Foothold {
    /// The implant (or the shell a lateral movement opened).
    pub implant: Proc,
    /// The same implant running elevated, once the intruder has elevated.
    pub elevated: Option<Proc>,
    /// `CORP\mtanaka`.
    pub account: String,
    /// Logon id of the implant's session.
    pub logon_id: String,
    /// Logon id of the elevated token.
    pub elevated_logon_id: String,
}

/// State carried from step to step (implants, dropped files, sessions).
#[derive(Debug, Default)]
pub struct CampaignState {
    /// Host index → the intruder's foothold there.
    footholds: BTreeMap<usize, Foothold>,
    /// Long-running system processes the steps need (`lsass.exe`, the Schedule
    /// service host), created on first use: (host, image) → process.
    system_procs: BTreeMap<(usize, &'static str), Proc>,
    /// Passwords the intruder holds, by qualified account.
    passwords: BTreeMap<String, String>,
    /// (Host index, account) → the intruder's shell on a Linux host (the parent of
    /// the commands they type there).
    shells: BTreeMap<(usize, String), linux::Process>,
}

impl CampaignState {
    /// The intruder's foothold on a host, if any.
    pub fn foothold(&self, host: usize) -> Option<&Foothold> {
        self.footholds.get(&host)
    }
}

/// Generates the records of one step, starting at `r.time`.
pub fn play(
    ctx: &mut Ctx<'_>,
    s: &Scenario,
    step: &Step,
    r: &ResolvedStep,
    state: &mut CampaignState,
) {
    let mut env = Env {
        s,
        step,
        r,
        state,
        t: r.time,
    };
    match step.action {
        Action::PortScan => recon::port_scan(ctx, &mut env),
        Action::WebScan => recon::web_scan(ctx, &mut env),
        Action::SqlInjection => web::sql_injection(ctx, &mut env),
        Action::PathTraversal => web::path_traversal(ctx, &mut env),
        Action::Log4Shell => web::log4shell(ctx, &mut env),
        Action::PhishingAttachment => phishing::attachment(ctx, &mut env),
        Action::ScheduledTask => persist::scheduled_task(ctx, &mut env),
        Action::ServiceInstall => persist::service_install(ctx, &mut env),
        Action::RunKey => persist::run_key(ctx, &mut env),
        Action::Beacon => c2::beacon(ctx, &mut env),
        Action::Exfiltrate => c2::exfiltrate(ctx, &mut env),
        Action::LsassDump => creds::lsass_dump(ctx, &mut env),
        Action::BruteForce => creds::brute_force(ctx, &mut env),
        Action::LateralSmb => lateral::smb(ctx, &mut env),
        Action::LateralWmi => lateral::wmi(ctx, &mut env),
        Action::LateralRdp => lateral::rdp(ctx, &mut env),
        Action::Collect => cleanup::collect(ctx, &mut env),
        Action::ClearLogs => cleanup::clear_logs(ctx, &mut env),
        Action::DeleteFiles => cleanup::delete_files(ctx, &mut env),
    }
}

/// One step being played: the scenario, the step, the campaign state and the step's
/// clock (`t`, never earlier than the step's start).
struct Env<'a> {
    s: &'a Scenario,
    step: &'a Step,
    r: &'a ResolvedStep,
    state: &'a mut CampaignState,
    t: i64,
}

impl Env<'_> {
    /// A string parameter, or `default`.
    fn param<'p>(&'p self, key: &str, default: &'p str) -> &'p str {
        self.step
            .params
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
            .unwrap_or(default)
    }

    /// A numeric parameter, or `default` when absent or unreadable.
    fn number<T: std::str::FromStr>(&self, key: &str, default: T) -> T {
        self.step
            .params
            .get(key)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(default)
    }

    /// A duration parameter (`20h`, `5m`), in nanoseconds.
    fn duration(&self, key: &str, default: i64) -> i64 {
        self.step
            .params
            .get(key)
            .and_then(|v| crate::scenario::parse_duration(v))
            .filter(|d| *d > 0)
            .unwrap_or(default)
    }

    /// A yes/no parameter.
    fn flag(&self, key: &str, default: bool) -> bool {
        match self
            .step
            .params
            .get(key)
            .map(|v| v.trim().to_ascii_lowercase())
        {
            Some(v) if matches!(v.as_str(), "true" | "yes" | "1" | "on") => true,
            Some(v) if matches!(v.as_str(), "false" | "no" | "0" | "off") => false,
            _ => default,
        }
    }

    /// Moves the clock on by a random delay in `[lo_ms, hi_ms]` milliseconds and
    /// returns the new time.
    fn later(&mut self, ctx: &mut Ctx<'_>, lo_ms: i64, hi_ms: i64) -> i64 {
        let (lo, hi) = (lo_ms.max(0), hi_ms.max(lo_ms.max(0)));
        self.t = self
            .t
            .saturating_add(ctx.rng.random_range(lo..=hi).saturating_mul(MS));
        self.t
    }

    /// When the scenario ends (records after it are dropped by the generator).
    fn scenario_end(&self) -> i64 {
        let start = self.s.start_nanos().unwrap_or(self.r.time);
        let length = crate::scenario::parse_duration(&self.s.duration).unwrap_or(0);
        start.saturating_add(length).max(self.r.time)
    }

    /// The actor's address (where attacks and command and control come from).
    fn actor_ip(&self) -> &str {
        &self.s.campaign.actor.ip
    }

    /// Where stolen data goes.
    fn exfil_ip(&self) -> &str {
        self.s
            .campaign
            .actor
            .exfil_ip
            .as_deref()
            .unwrap_or(&self.s.campaign.actor.ip)
    }

    /// The qualified account the step acts as (`CORP\admin.suzuki`), if it names one.
    fn account(&self, ctx: &Ctx<'_>) -> Option<String> {
        if let Some(u) = self.r.user.and_then(|u| ctx.world.users.get(u)) {
            return Some(u.qualified.clone());
        }
        let name = self.step.user.as_deref()?;
        let name = if name.eq_ignore_ascii_case("administrator") {
            "Administrator"
        } else {
            name
        };
        Some(format!("{}\\{name}", ctx.world.netbios))
    }

    /// The short account name (`admin.suzuki`), if the step names one.
    fn user_name(&self, ctx: &Ctx<'_>) -> Option<String> {
        self.account(ctx)
            .map(|a| windows::split_account(&a).1.to_string())
    }
}

/// The organisation's infrastructure a step's traffic passes through.
struct Infra {
    firewall: String,
    dns_ip: String,
    proxy_ip: Option<String>,
}

fn infra(ctx: &Ctx<'_>) -> Infra {
    let w = &*ctx.world;
    let ip_of = |role: Role| w.with_role(role).next().and_then(|i| w.hosts.get(i));
    Infra {
        firewall: ip_of(Role::Firewall)
            .map(|h| h.name.clone())
            .unwrap_or_else(|| "fw01".to_string()),
        dns_ip: ip_of(Role::DnsServer)
            .or_else(|| ip_of(Role::DomainController))
            .map(|h| h.ip.clone())
            .unwrap_or_else(|| "10.0.0.53".to_string()),
        proxy_ip: ip_of(Role::Proxy).map(|h| h.ip.clone()),
    }
}

/// Emits a record built from a host, if the host exists.
fn on_host(
    ctx: &mut Ctx<'_>,
    host: usize,
    t: i64,
    stream: Stream,
    build: impl FnOnce(&HostState) -> String,
) {
    let Some(h) = ctx.world.hosts.get(host) else {
        return;
    };
    let line = build(h);
    ctx.emit(t, stream, line);
}

fn host_ip(ctx: &Ctx<'_>, host: usize) -> String {
    ctx.world
        .hosts
        .get(host)
        .map(|h| h.ip.clone())
        .unwrap_or_else(|| "0.0.0.0".to_string())
}

fn host_name(ctx: &Ctx<'_>, host: usize) -> String {
    ctx.world
        .hosts
        .get(host)
        .map(|h| h.name.clone())
        .unwrap_or_default()
}

fn host_os(ctx: &Ctx<'_>, host: usize) -> Os {
    ctx.world.hosts.get(host).map_or(Os::Linux, |h| h.os)
}

/// A process on a host that does not exist (never emitted).
fn orphan(image: &str, command_line: &str, user: &str) -> Proc {
    Proc {
        guid: String::new(),
        pid: 0,
        image: image.to_string(),
        command_line: command_line.to_string(),
        user: user.to_string(),
        integrity: "Medium",
        current_directory: String::new(),
    }
}

/// A new process on `host` (not yet announced).
fn new_proc(
    ctx: &mut Ctx<'_>,
    host: usize,
    image: &str,
    command_line: &str,
    user: &str,
    integrity: &'static str,
) -> Proc {
    match ctx.world.hosts.get_mut(host) {
        Some(h) => h.spawn(ctx.rng, image, command_line, user, integrity),
        None => orphan(image, command_line, user),
    }
}

/// Starts a process under `parent` and emits its Sysmon 1.
#[allow(clippy::too_many_arguments)]
fn start(
    ctx: &mut Ctx<'_>,
    host: usize,
    t: i64,
    parent: &Proc,
    logon_id: &str,
    image: &str,
    command_line: &str,
    integrity: &'static str,
    user: &str,
    cwd: &str,
) -> Proc {
    let mut p = new_proc(ctx, host, image, command_line, user, integrity);
    if !cwd.is_empty() {
        p.current_directory = cwd.to_string();
    }
    on_host(ctx, host, t, Stream::Sysmon, |h| {
        windows::process_create(t, h, &p, parent, logon_id)
    });
    p
}

/// A long-running system process of a host (`lsass.exe`, the Schedule service's
/// `svchost.exe`), created once and never announced: it started at boot.
fn system_proc(
    ctx: &mut Ctx<'_>,
    state: &mut CampaignState,
    host: usize,
    key: &'static str,
) -> Proc {
    if let Some(p) = state.system_procs.get(&(host, key)) {
        return p.clone();
    }
    let (image, command_line) = match key {
        "lsass" => (
            "C:\\Windows\\system32\\lsass.exe",
            "C:\\Windows\\system32\\lsass.exe",
        ),
        "schedule" => (
            "C:\\Windows\\System32\\svchost.exe",
            "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule",
        ),
        "dcomlaunch" => (
            "C:\\Windows\\System32\\svchost.exe",
            "C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p",
        ),
        "winlogon" => ("C:\\Windows\\System32\\winlogon.exe", "winlogon.exe"),
        "termservice" => (
            "C:\\Windows\\System32\\svchost.exe",
            "C:\\Windows\\System32\\svchost.exe -k termsvcs -s TermService",
        ),
        _ => (
            "C:\\Windows\\System32\\svchost.exe",
            "C:\\Windows\\system32\\svchost.exe -k netsvcs -p",
        ),
    };
    let mut p = new_proc(ctx, host, image, command_line, SYSTEM, "System");
    // Started during boot: low process ids.
    p.pid = 540 + 4 * ctx.rng.random_range(0..120u32);
    state.system_procs.insert((host, key), p.clone());
    p
}

/// Who acts on a Windows host in this step: the foothold's implant (elevated when
/// `elevated` and the intruder has elevated), or, without a foothold, a command
/// shell the account opens in its session (`explorer.exe` → `cmd.exe`).
struct Actor {
    proc: Proc,
    logon_id: String,
    account: String,
}

fn actor(ctx: &mut Ctx<'_>, env: &mut Env<'_>, host: usize, elevated: bool) -> Actor {
    if let Some(f) = env.state.footholds.get(&host) {
        return match (&f.elevated, elevated) {
            (Some(p), true) => Actor {
                proc: p.clone(),
                logon_id: f.elevated_logon_id.clone(),
                account: f.account.clone(),
            },
            _ => Actor {
                proc: f.implant.clone(),
                logon_id: f.logon_id.clone(),
                account: f.account.clone(),
            },
        };
    }
    // No implant here: the account at its own keyboard (or a SYSTEM shell).
    let account = env.account(ctx);
    let user = env.r.user.and_then(|u| ctx.world.users.get(u)).cloned();
    let (parent, logon_id, account) = match (user, account) {
        (Some(u), _) if u.workstation == host => (u.explorer, u.logon_id, u.qualified),
        (_, Some(a)) => {
            let svc = ctx
                .world
                .hosts
                .get(host)
                .map(|h| h.services.clone())
                .unwrap_or_else(|| orphan("services.exe", "", SYSTEM));
            (svc, logon_id(ctx), a)
        }
        (_, None) => {
            let svc = ctx
                .world
                .hosts
                .get(host)
                .map(|h| h.services.clone())
                .unwrap_or_else(|| orphan("services.exe", "", SYSTEM));
            (svc, SYSTEM_LOGON.to_string(), SYSTEM.to_string())
        }
    };
    let integrity = if account == SYSTEM {
        "System"
    } else if elevated {
        "High"
    } else {
        "Medium"
    };
    let t = env.t;
    let shell = start(
        ctx,
        host,
        t,
        &parent,
        &logon_id,
        CMD,
        "\"C:\\Windows\\system32\\cmd.exe\" ",
        integrity,
        &account,
        &profile_dir(&account),
    );
    env.later(ctx, 2_000, 9_000);
    Actor {
        proc: shell,
        logon_id,
        account,
    }
}

/// The intruder's shell on a Linux host as `user`: the login shell of their SSH
/// login, else the shell of a login the range did not see (a session of now).
fn linux_shell(ctx: &mut Ctx<'_>, env: &mut Env<'_>, host: usize, user: &str) -> linux::Process {
    if let Some(p) = env.state.shells.get(&(host, user.to_string())) {
        return p.clone();
    }
    let account = linux::user(ctx.world, user);
    let pid = linux::pid(ctx, host);
    let login = Login {
        user: account.clone(),
        ses: linux::session_id(ctx, host, env.t, slot::SSH_INTRUDER),
        tty: Some("pts0".to_string()),
    };
    let shell = linux::Process::of(host, pid, pid.wrapping_sub(1), &account, Some(login));
    env.state
        .shells
        .insert((host, user.to_string()), shell.clone());
    shell
}

/// Runs `command` the way an implant's `shell` command does: `cmd.exe /C command`
/// under the actor, then the tool itself under that `cmd.exe`. Returns the tool's
/// process (or the `cmd.exe` when the command is a shell built-in: `image` empty).
fn shell(
    ctx: &mut Ctx<'_>,
    env: &mut Env<'_>,
    host: usize,
    a: &Actor,
    image: &str,
    tool_command: &str,
    cmd_command: &str,
) -> (Proc, Proc) {
    let t = env.t;
    let cmd_line = format!("C:\\Windows\\system32\\cmd.exe /C {cmd_command}");
    let cwd = a.proc.current_directory.clone();
    let cmd = start(
        ctx,
        host,
        t,
        &a.proc,
        &a.logon_id,
        CMD,
        &cmd_line,
        a.proc.integrity,
        &a.account,
        &cwd,
    );
    if image.is_empty() {
        return (cmd.clone(), cmd);
    }
    let t = env.later(ctx, 15, 120);
    let tool = start(
        ctx,
        host,
        t,
        &cmd,
        &a.logon_id,
        image,
        tool_command,
        a.proc.integrity,
        &a.account,
        &cwd,
    );
    (cmd, tool)
}

/// Seconds (of a transfer, a session) as nanoseconds, bounded to a few decades so
/// that adding them to a time cannot overflow.
fn nanos(seconds: f64) -> i64 {
    if seconds.is_nan() {
        return 0;
    }
    (seconds.clamp(0.0, 1e9) * 1e9) as i64
}

/// A fresh logon id (`0x1A2B3C4`).
fn logon_id(ctx: &mut Ctx<'_>) -> String {
    format!("0x{:X}", ctx.rng.random_range(0x100_0000..0x7FF_FFFFu32))
}

/// The profile folder of an account (`C:\Users\mtanaka\`).
fn profile_dir(account: &str) -> String {
    if account.starts_with("NT AUTHORITY") {
        return "C:\\Windows\\system32\\".to_string();
    }
    format!("C:\\Users\\{}\\", windows::split_account(account).1)
}

/// A domain account's SID, stable for the organisation and name.
fn sid(netbios: &str, account: &str) -> String {
    let (_, name) = windows::split_account(account);
    if account.starts_with("NT AUTHORITY") {
        return "S-1-5-18".to_string();
    }
    let seed = fnv(&netbios.to_ascii_lowercase());
    let rid = if name.eq_ignore_ascii_case("administrator") {
        500
    } else {
        1100 + (fnv(&name.to_ascii_lowercase()) % 3000)
    };
    format!(
        "S-1-5-21-{}-{}-{}-{rid}",
        1_000_000_000 + seed % 3_000_000_000,
        1_000_000_000 + (seed >> 20) % 3_000_000_000,
        1_000_000_000 + (seed >> 40) % 3_000_000_000
    )
}

fn fnv(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Suricata flow ids are large 51-bit numbers.
fn flow_id(ctx: &mut Ctx<'_>) -> u64 {
    ctx.next_id().wrapping_mul(0x9E37_79B9_7F4A_7C15) & 0x7_FFFF_FFFF_FFFF
}

/// Emits a Zeek conn record for `f` and returns its uid.
fn zeek_conn(ctx: &mut Ctx<'_>, t: i64, f: &Flow<'_>) -> String {
    let uid = ctx.uid();
    let line = net::zeek_conn(t, &uid, f);
    ctx.emit(t, Stream::ZeekConn, line);
    uid
}

/// Emits the perimeter firewall's record of `f`.
fn firewall(ctx: &mut Ctx<'_>, t: i64, f: &Flow<'_>, allowed: bool) {
    let fw = infra(ctx).firewall;
    let line = net::firewall_cef(t, &fw, f, allowed);
    ctx.emit(t, Stream::Firewall, line);
}

/// Emits a Suricata alert on `f`.
fn alert(
    ctx: &mut Ctx<'_>,
    t: i64,
    f: &Flow<'_>,
    sig: &Signature<'_>,
    http: Option<&net::Http<'_>>,
) {
    let id = flow_id(ctx);
    let line = net::suricata_alert(t, id, f, sig, http);
    ctx.emit(t, Stream::Suricata, line);
}

/// A DNS lookup of `name` by `client` through the organisation's resolver, as Zeek
/// sees it, answered with `answers`.
fn zeek_lookup(ctx: &mut Ctx<'_>, t: i64, client: &str, name: &str, answers: &[&str]) {
    let dns = infra(ctx).dns_ip;
    let uid = ctx.uid();
    let port = ctx.ephemeral_port();
    let line = net::zeek_dns(t, &uid, client, &dns, port, name, "A", answers);
    ctx.emit(t, Stream::ZeekDns, line);
}

/// The combined-format line of a forward proxy for a `CONNECT host:port` tunnel.
#[allow(clippy::too_many_arguments)]
fn proxy_connect(
    ctx: &mut Ctx<'_>,
    t: i64,
    client: &str,
    user: &str,
    target: &str,
    user_agent: &str,
    bytes: u64,
) {
    let h = net::Http {
        client,
        cport: 0,
        server: "",
        sport: 0,
        method: "CONNECT",
        host: target,
        uri: target,
        user_agent,
        referrer: "",
        status: 200,
        request_bytes: 0,
        response_bytes: bytes,
        content_type: "-",
    };
    let line = net::access_line(t, &h, user, false);
    ctx.emit(t, Stream::Proxy, line);
}

/// Standard base64 (with padding).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                let k = ((n >> shift) & 63) as usize;
                out.push(ALPHABET.get(k).map_or('A', |c| char::from(*c)));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// PowerShell's `-EncodedCommand` form of a script: base64 of UTF-16LE.
fn encoded_command(script: &str) -> String {
    let bytes: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    base64(&bytes)
}

/// Percent-encodes everything but unreserved characters, as sqlmap and most tools
/// send query values.
fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `n` random characters from `alphabet`.
fn random_text(ctx: &mut Ctx<'_>, n: usize, alphabet: &[u8]) -> String {
    (0..n)
        .map(|_| {
            let i = ctx.rng.random_range(0..alphabet.len().max(1));
            alphabet.get(i).map_or('x', |c| char::from(*c))
        })
        .collect()
}

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// The implant's image on a host: the `payload` parameter of this step, else the
/// first later step on the same host that names one, else a name in the account's
/// roaming profile.
fn payload_path(env: &Env<'_>, account: &str) -> String {
    if let Some(p) = env
        .step
        .params
        .get("payload")
        .filter(|p| !p.trim().is_empty())
    {
        return p.clone();
    }
    let later = env
        .s
        .campaign
        .steps
        .iter()
        .skip(env.r.index + 1)
        .filter(|st| st.target.eq_ignore_ascii_case(&env.step.target))
        .find_map(|st| st.params.get("payload"));
    if let Some(p) = later {
        return p.clone();
    }
    format!("{}AppData\\Roaming\\msupdate.exe", profile_dir(account))
}

/// The file name part of a Windows or Unix path.
fn file_name(path: &str) -> &str {
    path.rsplit(['\\', '/']).next().unwrap_or(path)
}

/// A password the intruder holds for `account` (recovered from LSASS or guessed),
/// the same for the whole campaign.
fn password(ctx: &mut Ctx<'_>, state: &mut CampaignState, account: &str) -> String {
    if let Some(p) = state.passwords.get(account) {
        return p.clone();
    }
    const WORDS: [&str; 6] = ["Spring", "Summer", "Autumn", "Winter", "Welcome", "Company"];
    let word = WORDS
        .get(ctx.rng.random_range(0..WORDS.len()))
        .copied()
        .unwrap_or("Welcome");
    let p = format!(
        "{word}{}{}",
        ctx.rng.random_range(2019..2027u32),
        ["!", "#", "$", "@"]
            .get(ctx.rng.random_range(0..4usize))
            .copied()
            .unwrap_or("!")
    );
    state.passwords.insert(account.to_string(), p.clone());
    p
}

/// An outbound HTTPS connection of `host` to `dst_ip` for `name`: Sysmon 3 of the
/// process (on Windows), Zeek conn, the firewall's allow and, for Windows hosts, the
/// `CONNECT name:443` line of the organisation's intercepting proxy.
struct Tls<'a> {
    host: usize,
    process: Option<&'a Proc>,
    /// The proxy's authenticated user (`-` when none).
    user: &'a str,
    dst_ip: &'a str,
    /// The name the client asked for (SNI, `CONNECT` target).
    name: &'a str,
    user_agent: &'a str,
    sent: u64,
    received: u64,
    duration: f64,
}

fn tls_out(ctx: &mut Ctx<'_>, t: i64, c: &Tls<'_>) {
    let src = host_ip(ctx, c.host);
    let sport = ctx.ephemeral_port();
    if let Some(p) = c.process
        && host_os(ctx, c.host) == Os::Windows
    {
        on_host(ctx, c.host, t, Stream::Sysmon, |h| {
            windows::network_connect(t, h, p, "tcp", (&src, sport), (c.dst_ip, 443), "", true)
        });
    }
    let flow = Flow {
        src: &src,
        sport,
        dst: c.dst_ip,
        dport: 443,
        proto: "tcp",
        orig_bytes: c.sent,
        resp_bytes: c.received,
        state: "SF",
        duration: c.duration,
    };
    zeek_conn(ctx, t, &flow);
    firewall(ctx, t, &flow, true);
    // Office and server networks go out through the proxy; the DMZ goes direct.
    if infra(ctx).proxy_ip.is_some() && host_os(ctx, c.host) == Os::Windows {
        let end = t.saturating_add(nanos(c.duration));
        let target = format!("{}:443", c.name);
        proxy_connect(
            ctx,
            end,
            &src,
            c.user,
            &target,
            c.user_agent,
            c.sent + c.received,
        );
    }
}

/// A name lookup by a process on `host`: Sysmon 22 (Windows) and the Zeek dns record of
/// the query to the organisation's resolver.
fn lookup(ctx: &mut Ctx<'_>, host: usize, t: i64, process: Option<&Proc>, name: &str, ip: &str) {
    if let Some(p) = process
        && host_os(ctx, host) == Os::Windows
    {
        let results = format!("::ffff:{ip};");
        on_host(ctx, host, t, Stream::Sysmon, |h| {
            windows::dns_query(t, h, p, name, &results)
        });
    }
    let client = host_ip(ctx, host);
    zeek_lookup(ctx, t, &client, name, &[ip]);
}
