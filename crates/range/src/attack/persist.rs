//! Persistence: a scheduled task (`schtasks /create`, Security 4698, the task's runs
//! under the Schedule service), a service (`sc create`, the service key written by
//! `services.exe`, System 7045, the service starting) and a Run key (`reg add`,
//! Sysmon 13). On Linux, a cron job (the crontab edit, and for each run the `CRON`
//! session auth.log records and the audit log's `execve` of cron's shell and the
//! payload) and a systemd unit installed with sudo (`tee`, `chmod`, `systemctl`, then
//! systemd starting the payload), the sudo commands in auth.log and the audit log.

use rand::Rng;

use super::{
    Ctx, Env, MINUTE, MS, SEC, SYSTEM, SYSTEM_LOGON, actor, file_name, host_name, host_os, on_host,
    payload_path, shell, sid, start, system_proc,
};
use crate::emit::Stream;
use crate::linux::{self, Login, slot};
use crate::scenario::Os;
use crate::windows;

/// The implant path a persistence step installs: its `payload`, else the foothold's
/// implant, else a default in the account's profile.
fn persisted_payload(env: &Env<'_>, host: usize, account: &str) -> String {
    if let Some(p) = env
        .step
        .params
        .get("payload")
        .filter(|p| !p.trim().is_empty())
    {
        return p.clone();
    }
    match env.state.footholds.get(&host) {
        Some(f) => f.implant.image.clone(),
        None => payload_path(env, account),
    }
}

pub(super) fn scheduled_task(ctx: &mut Ctx<'_>, env: &mut Env<'_>) {
    let host = env.r.target;
    if host_os(ctx, host) == Os::Linux {
        return cron_job(ctx, env);
    }
    let a = actor(ctx, env, host, false);
    let task = env.param("task", "Update Check").to_string();
    let payload = persisted_payload(env, host, &a.account);
    let every: u32 = env.number("every", 30u32).clamp(1, 1_439);
    let command =
        format!("schtasks /create /sc minute /mo {every} /tn \"{task}\" /tr \"{payload}\" /f");
    env.later(ctx, 0, 1_000);
    shell(
        ctx,
        env,
        host,
        &a,
        "C:\\Windows\\System32\\schtasks.exe",
        &command,
        &command,
    );
    // The Task Scheduler registers it and writes the task file.
    let schedule = system_proc(ctx, env.state, host, "schedule");
    let t = env.later(ctx, 60, 400);
    let task_path = format!("\\{task}");
    let account = a.account.clone();
    on_host(ctx, host, t, Stream::Security, |h| {
        windows::task_created(t, h, &account, &task_path, &payload, "")
    });
    let file = format!("C:\\Windows\\System32\\Tasks\\{task}");
    let t = env.later(ctx, 5, 60);
    on_host(ctx, host, t, Stream::Sysmon, |h| {
        windows::file_create(t, h, &schedule, &file)
    });
    // The task runs every `every` minutes from the next minute on, as long as the
    // scenario lasts.
    let period = i64::from(every) * MINUTE;
    let mut run = (t / MINUTE + 1) * MINUTE + i64::from(every) * MINUTE;
    let end = env.scenario_end();
    let runs: usize = env.number("runs", 200usize).min(500);
    let user_logon = a.logon_id.clone();
    for _ in 0..runs {
        if run >= end {
            break;
        }
        let at = run + ctx.rng.random_range(0..900) * 1_000_000;
        start(
            ctx,
            host,
            at,
            &schedule,
            &user_logon,
            &payload,
            &payload,
            "Medium",
            &account,
            "C:\\Windows\\system32\\",
        );
        run += period;
    }
}

/// A crontab entry for the account, added from the intruder's shell
/// (`(crontab -l; echo …) | crontab -`): each run opens and closes a `CRON` PAM
/// session, in which cron's `/bin/sh -c` starts the payload.
fn cron_job(ctx: &mut Ctx<'_>, env: &mut Env<'_>) {
    let host = env.r.target;
    let name = host_name(ctx, host);
    let user = env.user_name(ctx).unwrap_or_else(|| "root".to_string());
    let account = linux::user(ctx.world, &user);
    let uid = account.uid;
    let every: u32 = env.number("every", 30u32).clamp(1, 1_439);
    let default_payload = if account.uid == 0 {
        "/usr/local/bin/dbus-helper".to_string()
    } else {
        format!("{}/.local/bin/dbus-helper", account.home())
    };
    let payload = env.param("payload", &default_payload).to_string();
    let job = format!("{payload} >/dev/null 2>&1");
    // The edit: the old table listed, the new one installed.
    let shell = super::linux_shell(ctx, env, host, &user);
    let t = env.later(ctx, 1_000, 6_000);
    let subshell = shell.child(linux::pid(ctx, host));
    linux::spawn(
        ctx,
        t,
        i64::MAX,
        &subshell,
        "/usr/bin/crontab",
        &["crontab", "-l"],
    );
    let t = env.later(ctx, 2, 9);
    linux::spawn(
        ctx,
        t,
        i64::MAX,
        &shell,
        "/usr/bin/crontab",
        &["crontab", "-"],
    );
    let period = i64::from(every) * MINUTE;
    let end = env.scenario_end();
    let mut run = (env.t / MINUTE + 1) * MINUTE;
    let daemon = 400 + ctx.rng.random_range(0..300u32);
    for _ in 0..env.number("runs", 200usize).min(500) {
        if run >= end {
            break;
        }
        let pid = ctx.rng.random_range(2_000..60_000u32);
        let open =
            format!("pam_unix(cron:session): session opened for user {user}(uid={uid}) by (uid=0)");
        ctx.emit(
            run,
            Stream::LinuxAuth,
            crate::net::auth_line(run, &name, "CRON", pid, &open),
        );
        let close = run + ctx.rng.random_range(1..4) * SEC;
        let login = Login {
            user: account.clone(),
            ses: linux::session_id(ctx, host, run, slot::CRON_INTRUDER),
            tty: None,
        };
        let cron = linux::Process::of(host, pid, daemon, &account, Some(login));
        let sh = cron.child(pid.wrapping_add(1));
        let t = run + ctx.rng.random_range(2..12) * MS;
        linux::exec(ctx, t, close, &sh, "/bin/sh", &["/bin/sh", "-c", &job]);
        let t = t + ctx.rng.random_range(1..4) * MS;
        linux::exec(ctx, t, close, &sh, &payload, &[payload.as_str()]);
        ctx.emit(
            close,
            Stream::LinuxAuth,
            crate::net::auth_line(
                close,
                &name,
                "CRON",
                pid,
                &format!("pam_unix(cron:session): session closed for user {user}"),
            ),
        );
        run += period;
    }
}

/// The uid a Linux host gives an account (root 0, the organisation's users from 1001).
pub(super) fn linux_uid(ctx: &Ctx<'_>, user: &str) -> u32 {
    linux::user(ctx.world, user).uid
}

/// `sudo` typed in the intruder's shell: auth.log's command line and the PAM session
/// around it, closed when the command has run for about `run_ms` milliseconds, and
/// the audit log's `execve` of sudo and of the command. `command[0]` is the
/// command's path. Returns when the command started.
pub(super) fn sudo(
    ctx: &mut Ctx<'_>,
    env: &mut Env<'_>,
    user: &str,
    command: &[&str],
    run_ms: i64,
) -> i64 {
    let host = env.r.target;
    let name = host_name(ctx, host);
    let uid = linux_uid(ctx, user);
    let shell = super::linux_shell(ctx, env, host, user);
    let pwd = shell.cwd.clone();
    let before = env.t;
    let t = env.later(ctx, 2_000, 20_000);
    // sudo starts when the command is typed, asks for the password and logs the command.
    let typed = (t - ctx.rng.random_range(300..2_500) * MS).max(before);
    let text = command.join(" ");
    let line = |t: i64, msg: &str| format!("{} {name} sudo: {msg}", crate::emit::syslog_time(t));
    ctx.emit(
        t,
        Stream::LinuxAuth,
        line(
            t,
            &format!("{user} : TTY=pts/0 ; PWD={pwd} ; USER=root ; COMMAND={text}"),
        ),
    );
    let started = t;
    let t = t + 1_000_000;
    ctx.emit(
        t,
        Stream::LinuxAuth,
        line(
            t,
            &format!(
                "pam_unix(sudo:session): session opened for user root(uid=0) by {user}(uid={uid})"
            ),
        ),
    );
    linux::sudo(ctx, typed, t.saturating_add(MS), i64::MAX, &shell, command);
    let ran = run_ms.max(0);
    let t = env.later(ctx, ran + 20, ran + ran / 10 + 400);
    ctx.emit(
        t,
        Stream::LinuxAuth,
        line(t, "pam_unix(sudo:session): session closed for user root"),
    );
    started
}

pub(super) fn service_install(ctx: &mut Ctx<'_>, env: &mut Env<'_>) {
    let host = env.r.target;
    let name = env.param("service", "WinSvcHost").to_string();
    if host_os(ctx, host) == Os::Linux {
        let user = env.user_name(ctx).unwrap_or_else(|| "root".to_string());
        let payload = env
            .param("payload", "/usr/local/bin/dbus-helper")
            .to_string();
        let unit = name.to_ascii_lowercase();
        let file = format!("/etc/systemd/system/{unit}.service");
        let service = format!("{unit}.service");
        sudo(ctx, env, &user, &["/usr/bin/tee", &file], 15_000);
        sudo(ctx, env, &user, &["/usr/bin/chmod", "+x", &payload], 10);
        sudo(
            ctx,
            env,
            &user,
            &["/usr/bin/systemctl", "daemon-reload"],
            400,
        );
        let enabled = sudo(
            ctx,
            env,
            &user,
            &["/usr/bin/systemctl", "enable", "--now", &service],
            900,
        );
        // systemd starts the service: the payload, outside any login.
        let pid = linux::pid(ctx, host);
        let root = linux::User::root();
        let mut service = linux::Process::of(host, pid, 1, &root, None);
        service.cwd = "/".to_string();
        let t = enabled.saturating_add(ctx.rng.random_range(150..700) * MS);
        linux::exec(ctx, t, i64::MAX, &service, &payload, &[payload.as_str()]);
        return;
    }
    let a = actor(ctx, env, host, true);
    let payload = persisted_payload(env, host, &a.account);
    let create = format!("sc create {name} binPath= \"{payload}\" start= auto");
    shell(
        ctx,
        env,
        host,
        &a,
        "C:\\Windows\\System32\\sc.exe",
        &create.replacen("sc ", "sc.exe ", 1),
        &create,
    );
    let services = ctx
        .world
        .hosts
        .get(host)
        .map(|h| h.services.clone())
        .unwrap_or_else(|| super::orphan("services.exe", "", SYSTEM));
    let t = env.later(ctx, 20, 200);
    let key = format!("HKLM\\System\\CurrentControlSet\\Services\\{name}\\ImagePath");
    on_host(ctx, host, t, Stream::Sysmon, |h| {
        windows::registry_set(t, h, &services, &key, &payload)
    });
    let t = env.later(ctx, 5, 50);
    on_host(ctx, host, t, Stream::System, |h| {
        windows::service_installed_as(t, h, &name, &payload, "auto start", "LocalSystem")
    });
    // Started right away.
    let start_cmd = format!("sc start {name}");
    env.later(ctx, 2_000, 8_000);
    shell(
        ctx,
        env,
        host,
        &a,
        "C:\\Windows\\System32\\sc.exe",
        &start_cmd.replacen("sc ", "sc.exe ", 1),
        &start_cmd,
    );
    let t = env.later(ctx, 50, 400);
    start(
        ctx,
        host,
        t,
        &services,
        SYSTEM_LOGON,
        &payload,
        &payload,
        "System",
        SYSTEM,
        "C:\\Windows\\system32\\",
    );
}

pub(super) fn run_key(ctx: &mut Ctx<'_>, env: &mut Env<'_>) {
    let host = env.r.target;
    if host_os(ctx, host) == Os::Linux {
        return;
    }
    let a = actor(ctx, env, host, false);
    let payload = persisted_payload(env, host, &a.account);
    let default_name = file_name(&payload)
        .trim_end_matches(".exe")
        .trim_end_matches(".EXE")
        .to_string();
    let name = env.param("name", &default_name).to_string();
    let command = format!(
        "reg add HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run /v \"{name}\" /t REG_SZ /d \"{payload}\" /f"
    );
    let (_, reg) = shell(
        ctx,
        env,
        host,
        &a,
        "C:\\Windows\\System32\\reg.exe",
        &command,
        &command,
    );
    let user_sid = sid(&ctx.world.netbios, &a.account);
    let key = format!("HKU\\{user_sid}\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\{name}");
    let t = env.later(ctx, 5, 60);
    on_host(ctx, host, t, Stream::Sysmon, |h| {
        windows::registry_set(t, h, &reg, &key, &payload)
    });
}
