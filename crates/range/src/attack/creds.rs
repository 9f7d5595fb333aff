//! Credential access: dumping LSASS with comsvcs.dll's `MiniDump` export (after a
//! fodhelper UAC bypass when the implant runs unelevated), and password guessing
//! against SSH (auth.log) or RDP/SMB (Security 4625/4624) from the actor's address;
//! a successful SSH guess goes on to the login's programs and the intruder's first
//! look around (`id`, `uname -a`, `cat /etc/passwd`, `sudo -l`) in the audit log.

use rand::Rng;

use super::{
    Ctx, Env, HOUR, MINUTE, MS, SEC, Tls, actor, alert, firewall, host_ip, host_name, host_os,
    logon_id, on_host, random_text, shell, sid, start, system_proc, tls_out, zeek_conn,
};
use crate::emit::Stream;
use crate::linux::{self, Login, slot};
use crate::net::{self, Flow, Signature};
use crate::scenario::Os;
use crate::windows;

/// Elevates the host's implant with the fodhelper.exe UAC bypass: the
/// `ms-settings` shell handler in HKCU points at the implant, fodhelper (auto-elevating)
/// starts it with a full token. Nothing happens when the implant is already elevated
/// or there is no implant.
pub(super) fn elevate(ctx: &mut Ctx<'_>, env: &mut Env<'_>, host: usize) {
    let Some(f) = env.state.footholds.get(&host).cloned() else {
        return;
    };
    if f.elevated.is_some() {
        return;
    }
    if f.implant.integrity != "Medium" {
        if let Some(fh) = env.state.footholds.get_mut(&host) {
            fh.elevated = Some(fh.implant.clone());
            fh.elevated_logon_id = fh.logon_id.clone();
        }
        return;
    }
    let a = actor(ctx, env, host, false);
    let payload = f.implant.image.clone();
    let key = "HKCU\\Software\\Classes\\ms-settings\\Shell\\Open\\command";
    let classes = format!(
        "HKU\\{}_Classes\\ms-settings\\Shell\\Open\\command",
        sid(&ctx.world.netbios, &f.account)
    );
    let set_default = format!("reg add {key} /ve /d \"{payload}\" /f");
    let (_, reg) = shell(
        ctx,
        env,
        host,
        &a,
        "C:\\Windows\\System32\\reg.exe",
        &set_default,
        &set_default,
    );
    let t = env.later(ctx, 5, 40);
    let target = format!("{classes}\\(Default)");
    on_host(ctx, host, t, Stream::Sysmon, |h| {
        windows::registry_set(t, h, &reg, &target, &payload)
    });
    env.later(ctx, 800, 3_000);
    let set_delegate = format!("reg add {key} /v DelegateExecute /t REG_SZ /f");
    let (_, reg) = shell(
        ctx,
        env,
        host,
        &a,
        "C:\\Windows\\System32\\reg.exe",
        &set_delegate,
        &set_delegate,
    );
    let t = env.later(ctx, 5, 40);
    let target = format!("{classes}\\DelegateExecute");
    on_host(ctx, host, t, Stream::Sysmon, |h| {
        windows::registry_set(t, h, &reg, &target, "(Empty)")
    });
    env.later(ctx, 800, 3_000);
    let (_, fodhelper) = shell(
        ctx,
        env,
        host,
        &a,
        "C:\\Windows\\System32\\fodhelper.exe",
        "\"C:\\Windows\\system32\\fodhelper.exe\" ",
        "C:\\Windows\\System32\\fodhelper.exe",
    );
    let elevated_logon = logon_id(ctx);
    let t = env.later(ctx, 300, 1_200);
    let cwd = f.implant.current_directory.clone();
    let elevated = start(
        ctx,
        host,
        t,
        &fodhelper,
        &elevated_logon,
        &payload,
        &format!("\"{payload}\" "),
        "High",
        &f.account,
        &cwd,
    );
    env.later(ctx, 3_000, 12_000);
    let cleanup = "reg delete HKCU\\Software\\Classes\\ms-settings /f";
    shell(
        ctx,
        env,
        host,
        &a,
        "C:\\Windows\\System32\\reg.exe",
        cleanup,
        cleanup,
    );
    if let Some(fh) = env.state.footholds.get_mut(&host) {
        fh.elevated = Some(elevated);
        fh.elevated_logon_id = elevated_logon;
    }
}

/// A Sysmon `CallTrace` through the given modules (`dll+offset|…`).
fn call_trace(ctx: &mut Ctx<'_>, modules: &[&str]) -> String {
    modules
        .iter()
        .map(|m| format!("{m}+{:x}", ctx.rng.random_range(0x1000..0x9ffffu32)))
        .collect::<Vec<_>>()
        .join("|")
}

pub(super) fn lsass_dump(ctx: &mut Ctx<'_>, env: &mut Env<'_>) {
    let host = env.r.target;
    if host_os(ctx, host) != Os::Windows {
        return;
    }
    elevate(ctx, env, host);
    env.later(ctx, 20_000, 90_000);
    let a = actor(ctx, env, host, true);
    let lsass = system_proc(ctx, env.state, host, "lsass");
    // Find LSASS's process id.
    let find = "tasklist /fi \"imagename eq lsass.exe\"";
    shell(
        ctx,
        env,
        host,
        &a,
        "C:\\Windows\\System32\\tasklist.exe",
        find,
        find,
    );
    env.later(ctx, 5_000, 30_000);
    let dump_default = format!(
        "C:\\Windows\\Temp\\{}.dmp",
        random_text(ctx, 6, b"abcdefghijklmnopqrstuvwxyz")
    );
    let dump = env.param("dump", &dump_default).to_string();
    let command = format!(
        "rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump {} {dump} full",
        lsass.pid
    );
    let (_, rundll) = shell(
        ctx,
        env,
        host,
        &a,
        "C:\\Windows\\System32\\rundll32.exe",
        &command,
        &command,
    );
    let open_trace = call_trace(
        ctx,
        &[
            "C:\\Windows\\SYSTEM32\\ntdll.dll",
            "C:\\Windows\\System32\\KERNELBASE.dll",
            "C:\\Windows\\System32\\comsvcs.dll",
            "C:\\Windows\\System32\\rundll32.exe",
            "C:\\Windows\\System32\\rundll32.exe",
            "C:\\Windows\\System32\\KERNEL32.DLL",
            "C:\\Windows\\SYSTEM32\\ntdll.dll",
        ],
    );
    let t = env.later(ctx, 30, 90);
    on_host(ctx, host, t, Stream::Sysmon, |h| {
        windows::process_access(t, h, &rundll, &lsass, "0x1410", &open_trace)
    });
    let t = env.later(ctx, 0, 5);
    on_host(ctx, host, t, Stream::Sysmon, |h| {
        windows::file_create(t, h, &rundll, &dump)
    });
    let dump_trace = call_trace(
        ctx,
        &[
            "C:\\Windows\\SYSTEM32\\ntdll.dll",
            "C:\\Windows\\SYSTEM32\\ntdll.dll",
            "C:\\Windows\\System32\\KERNEL32.DLL",
            "C:\\Windows\\System32\\KERNEL32.DLL",
            "C:\\Windows\\SYSTEM32\\dbgcore.DLL",
            "C:\\Windows\\SYSTEM32\\dbgcore.DLL",
            "C:\\Windows\\SYSTEM32\\dbgcore.DLL",
            "C:\\Windows\\SYSTEM32\\dbgcore.DLL",
            "C:\\Windows\\SYSTEM32\\dbgcore.DLL",
            "C:\\Windows\\System32\\comsvcs.dll",
            "C:\\Windows\\System32\\rundll32.exe",
            "C:\\Windows\\System32\\rundll32.exe",
            "C:\\Windows\\System32\\KERNEL32.DLL",
            "C:\\Windows\\SYSTEM32\\ntdll.dll",
        ],
    );
    let t = env.later(ctx, 20, 60);
    on_host(ctx, host, t, Stream::Sysmon, |h| {
        windows::process_access(t, h, &rundll, &lsass, "0x1FFFFF", &dump_trace)
    });
    // The dump goes out over the C2 channel, then is deleted.
    env.later(ctx, 3_000, 15_000);
    let size: u64 = env.number("dump_bytes", 48_000_000u64).min(100_000_000_000);
    let domain = env.s.campaign.actor.domain.clone();
    let actor_ip = env.actor_ip().to_string();
    let proxy_user = windows::split_account(&a.account).1.to_string();
    let duration = 1.0 + size as f64 / 6_000_000.0;
    let t = env.t;
    tls_out(
        ctx,
        t,
        &Tls {
            host,
            process: Some(&a.proc),
            user: &proxy_user,
            dst_ip: &actor_ip,
            name: &domain,
            user_agent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Trident/7.0; rv:11.0) like Gecko",
            sent: size + size / 50,
            received: 4_210,
            duration,
        },
    );
    env.t = env.t.saturating_add(super::nanos(duration));
    env.later(ctx, 5_000, 40_000);
    let delete = format!("del {dump}");
    let (cmd, _) = shell(ctx, env, host, &a, "", &delete, &delete);
    let t = env.later(ctx, 5, 40);
    on_host(ctx, host, t, Stream::Sysmon, |h| {
        windows::file_delete(t, h, &cmd, &dump)
    });
}

pub(super) fn brute_force(ctx: &mut Ctx<'_>, env: &mut Env<'_>) {
    let host = env.r.target;
    match host_os(ctx, host) {
        Os::Linux => ssh_guessing(ctx, env),
        Os::Windows => windows_guessing(ctx, env),
    }
}

/// Hydra-style SSH guessing: parallel connections of up to three attempts each, the
/// sshd and PAM lines each leaves, then the accepted login and its session.
fn ssh_guessing(ctx: &mut Ctx<'_>, env: &mut Env<'_>) {
    let host = env.r.target;
    let name = host_name(ctx, host);
    let server = host_ip(ctx, host);
    let actor = env.actor_ip().to_string();
    let user = env.user_name(ctx).unwrap_or_else(|| "root".to_string());
    let uid = super::persist::linux_uid(ctx, &user);
    let attempts: usize = env.number("attempts", 40usize).clamp(1, 5_000);
    let succeed = env.flag("succeed", false);
    let mut done = 0;
    let mut connections = 0;
    let scan = Signature {
        sid: 2_001_219,
        text: "ET SCAN Potential SSH Scan",
        category: "Attempted Information Leak",
        severity: 2,
    };
    let libssh = Signature {
        sid: 2_006_546,
        text: "ET SCAN LibSSH Based Frequent SSH Connections Likely BruteForce Attack",
        category: "Attempted Administrator Privilege Gain",
        severity: 1,
    };
    let mut last_alert: Option<i64> = None;
    let line = |t: i64, pid: u32, msg: &str| net::auth_line(t, &name, "sshd", pid, msg);
    while done < attempts {
        let tries = ctx.rng.random_range(1..=3usize).min(attempts - done);
        let pid = ctx.rng.random_range(2_000..60_000u32);
        let sport = ctx.ephemeral_port();
        let start = env.later(ctx, 600, 4_500);
        let mut t = start + ctx.rng.random_range(150..400) * MS;
        for k in 0..tries {
            if k == 0 {
                ctx.emit(
                    t,
                    Stream::LinuxAuth,
                    line(
                        t,
                        pid,
                        &format!(
                            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={actor}  user={user}"
                        ),
                    ),
                );
            }
            t += ctx.rng.random_range(1_500..2_600) * MS;
            ctx.emit(
                t,
                Stream::LinuxAuth,
                line(
                    t,
                    pid,
                    &format!("Failed password for {user} from {actor} port {sport} ssh2"),
                ),
            );
            done += 1;
        }
        if tries > 1 {
            ctx.emit(
                t,
                Stream::LinuxAuth,
                line(
                    t,
                    pid,
                    &format!(
                        "PAM {} more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost={actor}  user={user}",
                        tries - 1
                    ),
                ),
            );
        }
        t += ctx.rng.random_range(20..200) * MS;
        ctx.emit(
            t,
            Stream::LinuxAuth,
            line(
                t,
                pid,
                &format!(
                    "Connection closed by authenticating user {user} {actor} port {sport} [preauth]"
                ),
            ),
        );
        let flow = Flow {
            src: &actor,
            sport,
            dst: &server,
            dport: 22,
            proto: "tcp",
            orig_bytes: 1_500 + 600 * tries as u64,
            resp_bytes: 2_100 + 300 * tries as u64,
            state: "SF",
            duration: (t - start) as f64 / 1e9,
        };
        zeek_conn(ctx, start, &flow);
        firewall(ctx, start, &flow, true);
        connections += 1;
        if connections >= 5 && last_alert.is_none_or(|l| start - l >= 120 * SEC) {
            alert(ctx, start, &flow, &scan, None);
            if last_alert.is_none() {
                alert(ctx, start, &flow, &libssh, None);
            }
            last_alert = Some(start);
        }
    }
    if !succeed {
        return;
    }
    let pid = ctx.rng.random_range(2_000..60_000u32);
    let sport = ctx.ephemeral_port();
    let start = env.later(ctx, 2_000, 9_000);
    let t = start + ctx.rng.random_range(1_500..2_600) * MS;
    ctx.emit(
        t,
        Stream::LinuxAuth,
        line(
            t,
            pid,
            &format!("Accepted password for {user} from {actor} port {sport} ssh2"),
        ),
    );
    ctx.emit(
        t,
        Stream::LinuxAuth,
        line(
            t,
            pid,
            &format!(
                "pam_unix(sshd:session): session opened for user {user}(uid={uid}) by (uid=0)"
            ),
        ),
    );
    let session = linux::session_id(ctx, host, t, slot::SSH_INTRUDER);
    let logind = ctx.rng.random_range(500..1_500u32);
    ctx.emit(
        t,
        Stream::LinuxAuth,
        net::auth_line(
            t,
            &name,
            "systemd-logind",
            logind,
            &format!("New session {session} of user {user}."),
        ),
    );
    let length = env.duration("session", 45 * MINUTE).min(12 * HOUR);
    let flow = Flow {
        src: &actor,
        sport,
        dst: &server,
        dport: 22,
        proto: "tcp",
        orig_bytes: 38_000,
        resp_bytes: 214_000,
        state: "SF",
        duration: length as f64 / 1e9,
    };
    zeek_conn(ctx, start, &flow);
    firewall(ctx, start, &flow, true);
    // The login's programs, then a look around: who am I, what is this host, who
    // else has an account, what may I run as root.
    let account = linux::user(ctx.world, &user);
    let home = account.home();
    let login = Login {
        user: account,
        ses: session,
        tty: Some("pts0".to_string()),
    };
    let (shell, ready) = linux::ssh_login(ctx, t, i64::MAX, host, pid, &login);
    env.state.shells.insert((host, user.clone()), shell.clone());
    let mut tc = ready;
    let looks: [(&str, &[&str]); 3] = [
        ("/usr/bin/id", &["id"]),
        ("/usr/bin/uname", &["uname", "-a"]),
        ("/usr/bin/cat", &["cat", "/etc/passwd"]),
    ];
    for (path, argv) in looks {
        tc = tc.saturating_add(ctx.rng.random_range(2_000..9_000) * MS);
        linux::spawn(ctx, tc, i64::MAX, &shell, path, argv);
    }
    // `sudo -l` asks for the password, then logs the listing.
    tc = tc.saturating_add(ctx.rng.random_range(3_000..10_000) * MS);
    let mut sudo = shell.child(linux::pid(ctx, host));
    sudo.euid = linux::User::root();
    linux::exec(ctx, tc, i64::MAX, &sudo, "/usr/bin/sudo", &["sudo", "-l"]);
    let listed = tc.saturating_add(ctx.rng.random_range(2_000..6_000) * MS);
    ctx.emit(
        listed,
        Stream::LinuxAuth,
        format!(
            "{} {name} sudo: {user} : TTY=pts/0 ; PWD={home} ; USER=root ; COMMAND=list",
            crate::emit::syslog_time(listed)
        ),
    );
    env.t = listed;
}

/// Password guessing against RDP (NLA: network logons) or SMB: a 4625 per attempt,
/// then the 4624 of the guess that works.
fn windows_guessing(ctx: &mut Ctx<'_>, env: &mut Env<'_>) {
    let host = env.r.target;
    let server = host_ip(ctx, host);
    let actor = env.actor_ip().to_string();
    let account = env
        .account(ctx)
        .unwrap_or_else(|| format!("{}\\Administrator", ctx.world.netbios));
    let attempts: usize = env.number("attempts", 40usize).clamp(1, 5_000);
    let succeed = env.flag("succeed", false);
    let port: u16 = match env.param("service", "rdp") {
        "smb" => 445,
        _ => 3389,
    };
    let workstation = env.param("workstation", "kali").to_string();
    for _ in 0..attempts {
        let start = env.later(ctx, 700, 3_500);
        let sport = ctx.ephemeral_port();
        let flow = Flow {
            src: &actor,
            sport,
            dst: &server,
            dport: port,
            proto: "tcp",
            orig_bytes: 2_900,
            resp_bytes: 3_400,
            state: "SF",
            duration: 0.9,
        };
        zeek_conn(ctx, start, &flow);
        firewall(ctx, start, &flow, true);
        let t = start + ctx.rng.random_range(300..800) * MS;
        on_host(ctx, host, t, Stream::Security, |h| {
            windows::logon_failed(t, h, &account, 3, &actor, &workstation)
        });
    }
    if !succeed {
        return;
    }
    let start = env.later(ctx, 1_000, 5_000);
    let sport = ctx.ephemeral_port();
    let flow = Flow {
        src: &actor,
        sport,
        dst: &server,
        dport: port,
        proto: "tcp",
        orig_bytes: 180_000,
        resp_bytes: 2_400_000,
        state: "SF",
        duration: 1_800.0,
    };
    zeek_conn(ctx, start, &flow);
    firewall(ctx, start, &flow, true);
    let id = logon_id(ctx);
    let t = start + ctx.rng.random_range(300..800) * MS;
    on_host(ctx, host, t, Stream::Security, |h| {
        windows::logon(t, h, &account, 3, &actor, &workstation, &id, "NTLM")
    });
    env.t = t;
}
