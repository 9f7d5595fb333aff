//! The servers' side of the day: Kerberos network logons at the domain controller,
//! sessions on the file server (logon, share access, SMB flow, logoff), the nightly
//! backup of the shares to an internal storage box, admins' work on servers (RDP with
//! consoles and PowerShell on Windows, SSH with sudo on Linux), and the Linux servers'
//! cron jobs every few minutes. On Linux, the programs each of these starts (the
//! cron job's shell and commands, the SSH login's message of the day and shell, sudo
//! and the command it runs) also leave their `execve` events in the audit log.

use rand::Rng;

use super::catalog::{
    DC_CONSOLES, FS_CONSOLES, SERVER_POWERSHELL, department_share, sudo_commands,
};
use super::org::{Org, Person, Srv};
use super::{
    Clock, HOUR, MIN, MS, SEC, SYSTEM, SYSTEM_LOGON, between, chance, launch, linux_pid, logon_id,
    pick, size, span_start, spawn, win,
};
use crate::emit::{Stream, syslog_time};
use crate::generate::Ctx;
use crate::linux::{self, Login, Process, User, slot};
use crate::net::{self, Flow};
use crate::scenario::Role;
use crate::windows;

pub(super) fn hour(ctx: &mut Ctx<'_>, org: &Org, c: &Clock) {
    backup(ctx, org, c);
    for srv in &org.linux {
        cron(ctx, org, c, srv);
    }
}

/// A Kerberos network logon at the domain controller, and its logoff seconds later.
pub(super) fn dc_logon(ctx: &mut Ctx<'_>, org: &Org, c: &Clock, account: &str, ip: &str, t: i64) {
    let Some(dc) = &org.dc else {
        return;
    };
    let id = logon_id(ctx.rng);
    win(ctx, t, Stream::Security, dc.index, |h| {
        windows::logon(t, h, account, 3, ip, "-", &id, "Kerberos")
    });
    let t2 = c.clamp(t + between(ctx.rng, 200 * MS, 8 * SEC));
    win(ctx, t2, Stream::Security, dc.index, |h| {
        windows::logoff(t2, h, account, &id, 3)
    });
}

/// A visit to the file server from the person's workstation, ending before `to`.
pub(super) fn share_session(ctx: &mut Ctx<'_>, org: &Org, c: &Clock, p: &Person, t: i64, to: i64) {
    let Some(fs) = &org.fs else {
        return;
    };
    let last = to.min(c.end) - 1;
    let id = logon_id(ctx.rng);
    win(ctx, t, Stream::Security, fs.index, |h| {
        windows::logon(t, h, &p.qualified, 3, &p.ws_ip, &p.ws_name, &id, "Kerberos")
    });
    let (dept_share, dept_path) = department_share(p.dept);
    let mut ta = t;
    for i in 0..1 + (ctx.rng.random::<u32>() % 3) {
        let (share, path) = if i == 1 && dept_share != "\\\\*\\Shares" {
            ("\\\\*\\Shares", "D:\\Shares")
        } else {
            (dept_share, dept_path)
        };
        ta = (ta + between(ctx.rng, 5 * MS, 90 * SEC)).min(last);
        win(ctx, ta, Stream::Security, fs.index, |h| {
            windows::share_access(ta, h, &p.qualified, &p.ws_ip, share, path)
        });
    }
    let port = ctx.ephemeral_port();
    let uid = ctx.uid();
    let out = (ta + between(ctx.rng, MIN, 20 * MIN)).min(last);
    let flow = Flow {
        src: &p.ws_ip,
        sport: port,
        dst: &fs.ip,
        dport: 445,
        proto: "tcp",
        orig_bytes: size(ctx.rng, 40_000, 1.0),
        resp_bytes: size(ctx.rng, 600_000, 1.5),
        state: "SF",
        duration: (out - t) as f64 / 1e9,
    };
    let tc = (t - between(ctx.rng, 2 * MS, 30 * MS)).max(c.start);
    ctx.emit(tc, Stream::ZeekConn, net::zeek_conn(tc, &uid, &flow));
    win(ctx, out, Stream::Security, fs.index, |h| {
        windows::logoff(out, h, &p.qualified, &id, 3)
    });
}

/// One admin task of `p` on a server: RDP to a Windows server, SSH to a Linux one.
pub(super) fn admin_task(ctx: &mut Ctx<'_>, org: &Org, c: &Clock, p: &Person, from: i64, to: i64) {
    let mut targets: Vec<&Srv> = Vec::new();
    targets.extend(org.dc.iter());
    targets.extend(org.fs.iter());
    targets.extend(org.linux.iter());
    let Some(target) = pick(ctx.rng, &targets).copied() else {
        return;
    };
    let Some((os, role)) = ctx.world.hosts.get(target.index).map(|h| (h.os, h.role)) else {
        return;
    };
    match os {
        crate::scenario::Os::Windows => rdp(ctx, org, c, p, target, role, from, to),
        crate::scenario::Os::Linux => ssh(ctx, c, p, target, role, from, to),
    }
}

#[allow(clippy::too_many_arguments)]
fn rdp(
    ctx: &mut Ctx<'_>,
    org: &Org,
    c: &Clock,
    p: &Person,
    target: &Srv,
    role: Role,
    from: i64,
    to: i64,
) {
    let _ = org;
    let span = between(ctx.rng, 4 * MIN, 20 * MIN);
    let t0 = span_start(ctx.rng, from, to, span);
    let last = to.min(c.end) - 1;
    let end = (t0 + span).min(last);
    let user = p.qualified.as_str();
    let mstsc_cmd = format!("\"C:\\Windows\\system32\\mstsc.exe\" /v:{}", target.fqdn);
    let Some(mstsc) = launch(
        ctx,
        t0,
        p.ws,
        &p.explorer,
        "C:\\Windows\\System32\\mstsc.exe",
        &mstsc_cmd,
        user,
        &p.logon_id,
    ) else {
        return;
    };
    let port = ctx.ephemeral_port();
    let t1 = (t0 + between(ctx.rng, 400 * MS, 2 * SEC)).min(last);
    win(ctx, t1, Stream::Sysmon, p.ws, |h| {
        windows::network_connect(
            t1,
            h,
            &mstsc,
            "tcp",
            (&p.ws_ip, port),
            (&target.ip, 3389),
            &target.fqdn,
            true,
        )
    });
    let uid = ctx.uid();
    let flow = Flow {
        src: &p.ws_ip,
        sport: port,
        dst: &target.ip,
        dport: 3389,
        proto: "tcp",
        orig_bytes: size(ctx.rng, 900_000, 0.6),
        resp_bytes: size(ctx.rng, 6_000_000, 0.8),
        state: "SF",
        duration: (end - t1) as f64 / 1e9,
    };
    ctx.emit(t1, Stream::ZeekConn, net::zeek_conn(t1, &uid, &flow));
    let id = logon_id(ctx.rng);
    let tl = (t1 + between(ctx.rng, SEC, 4 * SEC)).min(last);
    win(ctx, tl, Stream::Security, target.index, |h| {
        windows::logon(tl, h, user, 10, &p.ws_ip, &p.ws_name, &id, "Negotiate")
    });
    win(ctx, tl, Stream::Security, target.index, |h| {
        windows::special_privileges(tl, h, user, &id)
    });
    let svchost = ctx.world.hosts.get(target.index).map(|h| h.svchost.clone());
    let Some(svchost) = svchost else {
        return;
    };
    let Some(winlogon) = spawn(
        ctx,
        target.index,
        "C:\\Windows\\System32\\winlogon.exe",
        "winlogon.exe",
        SYSTEM,
        "System",
    ) else {
        return;
    };
    let mut t = (tl + between(ctx.rng, 300 * MS, 2 * SEC)).min(last);
    let Some(userinit) = launch(
        ctx,
        t,
        target.index,
        &winlogon,
        "C:\\Windows\\System32\\userinit.exe",
        "C:\\Windows\\system32\\userinit.exe",
        user,
        &id,
    ) else {
        return;
    };
    t = (t + between(ctx.rng, 300 * MS, 2 * SEC)).min(last);
    let Some(explorer) = launch(
        ctx,
        t,
        target.index,
        &userinit,
        "C:\\Windows\\explorer.exe",
        "C:\\Windows\\Explorer.EXE",
        user,
        &id,
    ) else {
        return;
    };
    launch(
        ctx,
        t,
        target.index,
        &svchost,
        "C:\\Windows\\System32\\rdpclip.exe",
        "rdpclip",
        user,
        &id,
    );
    let tools = 1 + ctx.rng.random::<u32>() % 3;
    for _ in 0..tools {
        t = (t + between(ctx.rng, 20 * SEC, 4 * MIN)).min(end);
        if chance(ctx.rng, 0.55) {
            let consoles = if role == Role::DomainController {
                DC_CONSOLES
            } else {
                FS_CONSOLES
            };
            let msc = pick(ctx.rng, consoles).copied().unwrap_or("eventvwr.msc");
            let cmd =
                format!("\"C:\\Windows\\system32\\mmc.exe\" \"C:\\Windows\\system32\\{msc}\" ");
            launch(
                ctx,
                t,
                target.index,
                &explorer,
                "C:\\Windows\\System32\\mmc.exe",
                &cmd,
                user,
                &id,
            );
        } else {
            let ps = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe";
            let cmdlet = pick(ctx.rng, SERVER_POWERSHELL)
                .copied()
                .unwrap_or("Get-Service");
            let cmd = format!("\"{ps}\" -Command \"{cmdlet}\"");
            launch(ctx, t, target.index, &explorer, ps, &cmd, user, &id);
        }
    }
    win(ctx, end, Stream::Security, target.index, |h| {
        windows::logoff(end, h, user, &id, 10)
    });
}

/// A syslog line without a process id (`sudo: …`).
fn plain_line(t: i64, host: &str, program: &str, message: &str) -> String {
    format!("{} {host} {program}: {message}", syslog_time(t))
}

/// The base64-looking fingerprint of a person's SSH key.
fn key_fingerprint(user: &str) -> String {
    const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut h = super::fnv(user) | 1;
    (0..43)
        .map(|_| {
            h ^= h << 13;
            h ^= h >> 7;
            h ^= h << 17;
            B64.get((h % 64) as usize).copied().unwrap_or(b'A') as char
        })
        .collect()
}

fn ssh(ctx: &mut Ctx<'_>, c: &Clock, p: &Person, target: &Srv, role: Role, from: i64, to: i64) {
    let span = between(ctx.rng, 2 * MIN, 15 * MIN);
    let t0 = span_start(ctx.rng, from, to, span);
    let last = to.min(c.end) - 1;
    let end = (t0 + span).min(last);
    let pid = linux_pid(ctx, target.index);
    let port = ctx.ephemeral_port();
    let user = p.name.as_str();
    let host = target.name.as_str();
    let session = linux::session_id(ctx, target.index, t0, slot::SSH_ADMIN);
    let logind = 500 + (super::fnv(host) % 400) as u32;
    let mut lines: Vec<(i64, String)> = Vec::with_capacity(16);
    let at = |t: i64| t.min(last);
    lines.push((
        t0,
        net::auth_line(
            t0,
            host,
            "sshd",
            pid,
            &format!(
                "Accepted publickey for {user} from {} port {port} ssh2: ED25519 SHA256:{}",
                p.ws_ip,
                key_fingerprint(&p.name)
            ),
        ),
    ));
    let t1 = at(t0 + between(ctx.rng, 5 * MS, 40 * MS));
    lines.push((
        t1,
        net::auth_line(
            t1,
            host,
            "sshd",
            pid,
            &format!("pam_unix(sshd:session): session opened for user {user} by (uid=0)"),
        ),
    ));
    lines.push((
        t1,
        net::auth_line(
            t1,
            host,
            "systemd-logind",
            logind,
            &format!("New session {session} of user {user}."),
        ),
    ));
    // The programs of the session, for the audit log.
    let until = to.min(c.end);
    let login = Login {
        user: linux::user(ctx.world, user),
        ses: session,
        tty: Some("pts0".to_string()),
    };
    let (shell, ready) = linux::ssh_login(ctx, t1, until, target.index, pid, &login);
    let mut last_exec = ready;
    let commands = sudo_commands(role);
    let mut t = t1;
    for _ in 0..1 + ctx.rng.random::<u32>() % 3 {
        t = at(t + between(ctx.rng, 10 * SEC, 3 * MIN));
        let Some(cmd) = pick(ctx.rng, commands) else {
            break;
        };
        // sudo starts as the command is typed; it logs the command and runs it.
        let typed = (t - between(ctx.rng, 20 * MS, 1_500 * MS)).max(last_exec + MS);
        let ran = t + between(ctx.rng, 2 * MS, 6 * MS);
        let argv: Vec<&str> = cmd.split_whitespace().collect();
        linux::sudo(ctx, typed, ran, until, &shell, &argv);
        last_exec = ran;
        lines.push((
            t,
            plain_line(
                t,
                host,
                "sudo",
                &format!(" {user} : TTY=pts/0 ; PWD=/home/{user} ; USER=root ; COMMAND={cmd}"),
            ),
        ));
        lines.push((
            t,
            plain_line(
                t,
                host,
                "sudo",
                &format!("pam_unix(sudo:session): session opened for user root by {user}(uid=0)"),
            ),
        ));
        let tc = at(t + between(ctx.rng, 200 * MS, 6 * SEC));
        lines.push((
            tc,
            plain_line(
                tc,
                host,
                "sudo",
                "pam_unix(sudo:session): session closed for user root",
            ),
        ));
    }
    let te = end.max(t);
    let te = at(te);
    let bye = (te - between(ctx.rng, 5 * MS, 40 * MS)).max(last_exec + MS);
    linux::logout(ctx, bye, until, &shell);
    lines.push((
        te,
        net::auth_line(
            te,
            host,
            "sshd",
            pid,
            &format!(
                "Received disconnect from {} port {port}:11: disconnected by user",
                p.ws_ip
            ),
        ),
    ));
    lines.push((
        te,
        net::auth_line(
            te,
            host,
            "sshd",
            pid,
            &format!("Disconnected from user {user} {} port {port}", p.ws_ip),
        ),
    ));
    lines.push((
        te,
        net::auth_line(
            te,
            host,
            "sshd",
            pid,
            &format!("pam_unix(sshd:session): session closed for user {user}"),
        ),
    ));
    lines.push((
        te,
        net::auth_line(
            te,
            host,
            "systemd-logind",
            logind,
            &format!("Session {session} logged out. Waiting for processes to exit."),
        ),
    ));
    for (t, line) in lines {
        ctx.emit(t, Stream::LinuxAuth, line);
    }
    let uid = ctx.uid();
    let flow = Flow {
        src: &p.ws_ip,
        sport: port,
        dst: &target.ip,
        dport: 22,
        proto: "tcp",
        orig_bytes: size(ctx.rng, 12_000, 0.7),
        resp_bytes: size(ctx.rng, 60_000, 0.8),
        state: "SF",
        duration: (te - t0) as f64 / 1e9,
    };
    let tc = (t0 - between(ctx.rng, 30 * MS, 200 * MS)).max(c.start);
    ctx.emit(tc, Stream::ZeekConn, net::zeek_conn(tc, &uid, &flow));
}

/// Cron on a Linux server: sysstat every ten minutes, the hourly run-parts, the daily
/// jobs at 06:25, and the shop's own job every five minutes on the web server.
fn cron(ctx: &mut Ctx<'_>, org: &Org, c: &Clock, srv: &Srv) {
    let _ = org;
    let web = ctx
        .world
        .hosts
        .get(srv.index)
        .is_some_and(|h| h.role == Role::WebServer);
    let mut t = c.start.div_euclid(MIN) * MIN;
    if t < c.start {
        t += MIN;
    }
    while t < c.end {
        let minute = t.rem_euclid(HOUR) / MIN;
        let hour = t.rem_euclid(24 * HOUR) / HOUR;
        if minute % 10 == 5 {
            cron_session(ctx, c, srv, t, Job::Sysstat, SEC);
        }
        if minute == 17 {
            cron_session(ctx, c, srv, t, Job::Hourly, 2 * SEC);
        }
        if hour == 6 && minute == 25 {
            cron_session(ctx, c, srv, t, Job::Daily, 40 * SEC);
        }
        if web && minute % 5 == 0 {
            cron_session(ctx, c, srv, t, Job::Shop, 3 * SEC);
        }
        t += MIN;
    }
}

/// The cron jobs of a Linux server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Job {
    /// sysstat's collector (`/etc/cron.d/sysstat`), as root.
    Sysstat,
    /// `/etc/crontab`'s hourly run-parts (an empty `/etc/cron.hourly`).
    Hourly,
    /// `/etc/crontab`'s daily run-parts: Debian's daily scripts, each of which leaves
    /// the work to its systemd timer and exits.
    Daily,
    /// The web shop's own job in www-data's crontab.
    Shop,
}

/// The daily scripts of a Debian server.
const CRON_DAILY: [&str; 4] = [
    "/etc/cron.daily/apt-compat",
    "/etc/cron.daily/dpkg",
    "/etc/cron.daily/logrotate",
    "/etc/cron.daily/man-db",
];

fn cron_session(ctx: &mut Ctx<'_>, c: &Clock, srv: &Srv, t: i64, job: Job, length: i64) {
    let user = if job == Job::Shop { "www-data" } else { "root" };
    let pid = linux_pid(ctx, srv.index);
    let open = c.clamp(t + between(ctx.rng, MS, 60 * MS));
    let close = c.clamp(open + between(ctx.rng, length / 4, length.max(2)));
    cron_programs(ctx, srv, pid, job, open, close);
    ctx.emit(
        open,
        Stream::LinuxAuth,
        net::auth_line(
            open,
            &srv.name,
            "CRON",
            pid,
            &format!("pam_unix(cron:session): session opened for user {user} by (uid=0)"),
        ),
    );
    ctx.emit(
        close,
        Stream::LinuxAuth,
        net::auth_line(
            close,
            &srv.name,
            "CRON",
            pid,
            &format!("pam_unix(cron:session): session closed for user {user}"),
        ),
    );
}

/// What a cron job runs, between its PAM session's opening and closing: the cron
/// child (`CRON[pid]` in auth.log) starts `/bin/sh -c` with the job's line, and the
/// shell replaces itself with the job's last command.
fn cron_programs(ctx: &mut Ctx<'_>, srv: &Srv, cron_pid: u32, job: Job, open: i64, close: i64) {
    let (user, slot) = match job {
        Job::Sysstat => (User::root(), slot::SYSSTAT),
        Job::Hourly | Job::Daily => (User::root(), slot::CRON_ROOT),
        Job::Shop => (User::www_data(), slot::CRON_WWW),
    };
    let login = Login {
        user: user.clone(),
        ses: linux::session_id(ctx, srv.index, open, slot),
        tty: None,
    };
    let cron = Process::of(srv.index, cron_pid, cron_daemon(srv), &user, Some(login));
    let mut sh = cron.child(cron_pid.wrapping_add(1));
    let line = match job {
        Job::Sysstat => "command -v debian-sa1 > /dev/null && debian-sa1 1 1",
        Job::Hourly => "cd / && run-parts --report /etc/cron.hourly",
        Job::Daily => {
            "test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }"
        }
        Job::Shop => "php /var/www/shop/cron.php > /dev/null 2>&1",
    };
    let mut t = open + between(ctx.rng, 2 * MS, 12 * MS);
    linux::exec(ctx, t, close, &sh, "/bin/sh", &["/bin/sh", "-c", line]);
    t += between(ctx.rng, MS, 4 * MS);
    match job {
        Job::Sysstat => {
            let sysstat = [
                ("/usr/lib/sysstat/debian-sa1", vec!["debian-sa1", "1", "1"]),
                (
                    "/usr/lib/sysstat/sa1",
                    vec!["/usr/lib/sysstat/sa1", "1", "1"],
                ),
                (
                    "/usr/lib/sysstat/sadc",
                    vec![
                        "/usr/lib/sysstat/sadc",
                        "-F",
                        "-L",
                        "-S",
                        "DISK",
                        "1",
                        "1",
                        "/var/log/sysstat",
                    ],
                ),
            ];
            for (path, argv) in &sysstat {
                linux::exec(ctx, t, close, &sh, path, argv);
                t += between(ctx.rng, MS, 5 * MS);
            }
        }
        Job::Hourly | Job::Daily => {
            sh.cwd = "/".to_string();
            let folder = if job == Job::Hourly {
                "/etc/cron.hourly"
            } else {
                "/etc/cron.daily"
            };
            linux::exec(
                ctx,
                t,
                close,
                &sh,
                "/bin/run-parts",
                &["run-parts", "--report", folder],
            );
            if job == Job::Daily {
                for script in CRON_DAILY {
                    t += between(ctx.rng, 2 * MS, 30 * MS);
                    linux::spawn(ctx, t, close, &sh, script, &[script]);
                }
            }
        }
        Job::Shop => {
            linux::exec(
                ctx,
                t,
                close,
                &sh,
                "/usr/bin/php",
                &["php", "/var/www/shop/cron.php"],
            );
        }
    }
}

/// The pid of a server's cron daemon, started at boot.
fn cron_daemon(srv: &Srv) -> u32 {
    400 + (super::fnv(&srv.name) % 300) as u32
}

/// The nightly backup: the backup service account logs on, the agent starts, a shadow
/// copy is taken, and the shares stream to the storage box.
fn backup(ctx: &mut Ctx<'_>, org: &Org, c: &Clock) {
    if c.hour != c.backup_hour {
        return;
    }
    let Some(fs) = &org.fs else {
        return;
    };
    let Some(services) = ctx.world.hosts.get(fs.index).map(|h| h.services.clone()) else {
        return;
    };
    let last = c.end - 1;
    let t0 = (c.start + between(ctx.rng, 30 * SEC, 4 * MIN)).min(last);
    let account = format!("{}\\svc-backup", org.netbios);
    let id = logon_id(ctx.rng);
    win(ctx, t0, Stream::Security, fs.index, |h| {
        windows::logon(t0, h, &account, 5, "-", "-", &id, "Negotiate")
    });
    let image = "C:\\Program Files\\Backup Agent\\backup-agent.exe";
    let cmd = format!(
        "\"{image}\" --job \"Nightly shares\" --source D:\\Shares --target \\\\{}\\backup\\{}",
        org.backup_ip, fs.name
    );
    let ta = (t0 + between(ctx.rng, 200 * MS, 2 * SEC)).min(last);
    let Some(agent) = launch(ctx, ta, fs.index, &services, image, &cmd, &account, &id) else {
        return;
    };
    let tv = (ta + between(ctx.rng, 2 * SEC, 10 * SEC)).min(last);
    launch(
        ctx,
        tv,
        fs.index,
        &services,
        "C:\\Windows\\System32\\VSSVC.exe",
        "C:\\Windows\\system32\\vssvc.exe",
        SYSTEM,
        SYSTEM_LOGON,
    );
    win(ctx, tv, Stream::System, fs.index, |h| {
        super::system::service_state(tv, h, "Volume Shadow Copy", "running")
    });
    let port = ctx.ephemeral_port();
    let tc = (tv + between(ctx.rng, 10 * SEC, 40 * SEC)).min(last);
    win(ctx, tc, Stream::Sysmon, fs.index, |h| {
        windows::network_connect(
            tc,
            h,
            &agent,
            "tcp",
            (&fs.ip, port),
            (&org.backup_ip, 445),
            "-",
            true,
        )
    });
    let uid = ctx.uid();
    let flow = Flow {
        src: &fs.ip,
        sport: port,
        dst: &org.backup_ip,
        dport: 445,
        proto: "tcp",
        orig_bytes: size(ctx.rng, 38_000_000_000, 0.25),
        resp_bytes: size(ctx.rng, 9_000_000, 0.3),
        state: "SF",
        duration: between(ctx.rng, 1_500, 3_300) as f64,
    };
    ctx.emit(tc, Stream::ZeekConn, net::zeek_conn(tc, &uid, &flow));
    let done = (tc + between(ctx.rng, 25 * MIN, 50 * MIN)).min(last);
    win(ctx, done, Stream::System, fs.index, |h| {
        super::system::service_state(done, h, "Volume Shadow Copy", "stopped")
    });
    win(ctx, done, Stream::Security, fs.index, |h| {
        windows::logoff(done, h, &account, &id, 5)
    });
}
