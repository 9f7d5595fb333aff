//! The programs Linux hosts run, as their audit log records them.
//!
//! Every Linux host audits `execve` (`-a always,exit -F arch=b64 -S execve -k exec`),
//! so every program started leaves one audit event ([`crate::net::audit_execve`]) in
//! [`Stream::LinuxAudit`]. This module models what the background and the campaign
//! need to start programs the way a Debian server does: the host's accounts
//! ([`User`]: root 0, www-data 33, the organisation's people from 1001), login
//! sessions ([`Login`]: the login user the kernel keeps as `auid`, the session id,
//! the terminal), processes ([`Process`]) and the common sequences — a program forked
//! and started ([`spawn`]), a process replacing its image ([`exec`]), `sudo` and the
//! command it runs ([`sudo`]), and what an SSH login starts before the user types
//! anything ([`ssh_login`]: the message of the day's `uname`, the login shell, the
//! `id` of `/etc/profile`, `dircolors` of `~/.bashrc`) and on logout ([`logout`]).
//!
//! Every emitting function takes `until`: events that would end at or after it are
//! dropped (the background keeps to its hour; the campaign passes `i64::MAX`). The
//! records of one event are emitted a nanosecond apart, so that sorting by time
//! keeps auditd's order.

use rand::Rng;

use crate::emit::Stream;
use crate::generate::Ctx;
use crate::net::{Account, Execve, audit_execve};
use crate::world::World;

const MS: i64 = 1_000_000;

/// The most records one `execve` event has (`SYSCALL`, `EXECVE`, `CWD`, three `PATH`,
/// `PROCTITLE`) plus one: an event needs this many nanoseconds before `until`.
const EVENT_SPAN: i64 = 8;

/// The kinds of login that can start in the same minute on one host, for their
/// session ids ([`crate::net::AuditClock::session`]).
pub mod slot {
    pub const SYSSTAT: u32 = 0;
    pub const CRON_ROOT: u32 = 1;
    pub const CRON_WWW: u32 = 2;
    pub const SSH_ADMIN: u32 = 3;
    pub const SSH_INTRUDER: u32 = 4;
    pub const CRON_INTRUDER: u32 = 5;
}

/// A Linux account. Every account has a group of its own with the same number and
/// name (Debian's user private groups).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub name: String,
}

impl User {
    pub fn root() -> User {
        User {
            uid: 0,
            name: "root".to_string(),
        }
    }

    pub fn www_data() -> User {
        User {
            uid: 33,
            name: "www-data".to_string(),
        }
    }

    /// The home directory (`/root`, `/var/www`, `/home/NAME`).
    pub fn home(&self) -> String {
        match self.uid {
            0 => "/root".to_string(),
            33 => "/var/www".to_string(),
            _ => format!("/home/{}", self.name),
        }
    }

    fn account(&self) -> Account<'_> {
        Account {
            id: self.uid,
            name: &self.name,
        }
    }
}

/// The account `name` has on the organisation's Linux hosts: root is 0, www-data 33,
/// the organisation's users 1001 on in the order the scenario lists them, anyone
/// else 1000.
pub fn user(world: &World, name: &str) -> User {
    let uid = match name {
        "root" => 0,
        "www-data" => 33,
        _ => world
            .users
            .iter()
            .position(|u| u.name == name)
            .map_or(1_000, |i| 1_001u32.saturating_add(i as u32)),
    };
    User {
        uid,
        name: name.to_string(),
    }
}

/// A login: who logged in (the kernel's `auid`), the session id, the terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login {
    pub user: User,
    pub ses: u32,
    /// `pts0`; `None` for jobs without a terminal (cron).
    pub tty: Option<String>,
}

/// A process on a Linux host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    pub host: usize,
    pub pid: u32,
    pub ppid: u32,
    /// Real and effective user (they differ for a set-user-id program like `sudo`).
    pub user: User,
    pub euid: User,
    /// The login the process belongs to; `None` for services systemd starts.
    pub login: Option<Login>,
    pub cwd: String,
}

impl Process {
    /// A process of `user` in `login`, in the user's home directory.
    pub fn of(host: usize, pid: u32, ppid: u32, user: &User, login: Option<Login>) -> Process {
        Process {
            host,
            pid,
            ppid,
            user: user.clone(),
            euid: user.clone(),
            login,
            cwd: user.home(),
        }
    }

    /// A forked child: the same users, login and directory, a new pid.
    pub fn child(&self, pid: u32) -> Process {
        Process {
            pid,
            ppid: self.pid,
            ..self.clone()
        }
    }

    /// The process switched to `user` entirely (what `sudo` does for its command).
    pub fn switched_to(mut self, user: &User) -> Process {
        self.user = user.clone();
        self.euid = user.clone();
        self
    }
}

/// A new process id on a host. Linux hands them out in sequence; other processes
/// take some in between.
pub fn pid(ctx: &mut Ctx<'_>, host: usize) -> u32 {
    let Ctx { world, rng, .. } = ctx;
    let base = world
        .hosts
        .get_mut(host)
        .map(|h| h.next_pid(&mut **rng))
        .unwrap_or(2000);
    base + rng.random_range(0..4u32)
}

/// The session id of a login of kind `slot` (see [`slot`]) on a host at `time`.
pub fn session_id(ctx: &Ctx<'_>, host: usize, time: i64, slot: u32) -> u32 {
    ctx.world
        .hosts
        .get(host)
        .map_or(1, |h| h.audit.session(time, slot))
}

/// What the kernel runs for a file: the resolved image (Debian merges `/bin` into
/// `/usr/bin`; `sh` is `dash`; `php` is an alternative) and, for the shell scripts the
/// range runs, their interpreter.
fn image(path: &str) -> (String, Option<&'static str>) {
    let script = path.starts_with("/etc/cron.")
        || path.starts_with("/etc/update-motd.d/")
        || matches!(path, "/usr/lib/sysstat/debian-sa1" | "/usr/lib/sysstat/sa1");
    if script {
        return ("/usr/bin/dash".to_string(), Some("/bin/sh"));
    }
    let exe = match path {
        "/bin/sh" | "/usr/bin/sh" => "/usr/bin/dash".to_string(),
        "/usr/bin/php" => "/usr/bin/php8.2".to_string(),
        _ => match path
            .strip_prefix("/bin/")
            .or_else(|| path.strip_prefix("/sbin/"))
        {
            Some(rest) if path.starts_with("/bin/") => format!("/usr/bin/{rest}"),
            Some(rest) => format!("/usr/sbin/{rest}"),
            None => path.to_string(),
        },
    };
    (exe, None)
}

/// The owner of a program file: root, except for files under a home directory.
fn owner_of(path: &str, p: &Process) -> User {
    let home = p.user.home();
    if p.user.uid >= 1_000 && path.starts_with(&format!("{home}/")) {
        p.user.clone()
    } else {
        User::root()
    }
}

/// The audit event of `p` starting `path` with `argv` at `time` (the process keeps its
/// pid: a fork happened before, or the process replaces its own image). Dropped when
/// it would not end before `until`.
pub fn exec(ctx: &mut Ctx<'_>, time: i64, until: i64, p: &Process, path: &str, argv: &[&str]) {
    if time.saturating_add(EVENT_SPAN) >= until {
        return;
    }
    let Some(node) = ctx.world.hosts.get(p.host).map(|h| h.name.clone()) else {
        return;
    };
    // Provisional: the generator renumbers each host's events in time order.
    let serial = ctx.next_id();
    let (exe, interpreter) = image(path);
    let owner = owner_of(path, p);
    let lines = audit_execve(
        time,
        serial,
        &Execve {
            node: &node,
            pid: p.pid,
            ppid: p.ppid,
            auid: p.login.as_ref().map(|l| l.user.account()),
            uid: p.user.account(),
            gid: p.user.account(),
            euid: p.euid.account(),
            egid: p.user.account(),
            tty: p.login.as_ref().and_then(|l| l.tty.as_deref()),
            ses: p.login.as_ref().map(|l| l.ses),
            path,
            owner: owner.account(),
            exe: &exe,
            interpreter,
            argv,
            cwd: &p.cwd,
            key: "exec",
        },
    );
    for (k, line) in lines.into_iter().enumerate() {
        ctx.emit(time + k as i64, Stream::LinuxAudit, line);
    }
}

/// `parent` forks a child that starts `path`; returns the child.
pub fn spawn(
    ctx: &mut Ctx<'_>,
    time: i64,
    until: i64,
    parent: &Process,
    path: &str,
    argv: &[&str],
) -> Process {
    let pid = pid(ctx, parent.host);
    let child = parent.child(pid);
    exec(ctx, time, until, &child, path, argv);
    child
}

/// `sudo` typed in `shell`: `sudo` itself starts at `time` (set-user-id root), and at
/// `command_time` the command it runs as root (`command[0]` the resolved path, as
/// sudo logs it; argv[0] is the name the user typed), from sudo's monitor process
/// (`use_pty`). Returns the command's process.
pub fn sudo(
    ctx: &mut Ctx<'_>,
    time: i64,
    command_time: i64,
    until: i64,
    shell: &Process,
    command: &[&str],
) -> Process {
    let Some((&path, args)) = command.split_first() else {
        return shell.clone();
    };
    let name = path.rsplit('/').next().unwrap_or(path);
    let pid = pid(ctx, shell.host);
    let mut sudo = shell.child(pid);
    sudo.euid = User::root();
    let mut argv = vec!["sudo", name];
    argv.extend(args);
    exec(ctx, time, until, &sudo, "/usr/bin/sudo", &argv);
    let monitor = sudo.child(pid.wrapping_add(1));
    let cmd = monitor
        .child(pid.wrapping_add(2))
        .switched_to(&User::root());
    argv.remove(0);
    exec(ctx, command_time, until, &cmd, path, &argv);
    cmd
}

/// A random delay in `[lo_ms, hi_ms)` milliseconds, in nanoseconds.
fn ms(ctx: &mut Ctx<'_>, lo_ms: i64, hi_ms: i64) -> i64 {
    if hi_ms <= lo_ms {
        return lo_ms.max(0) * MS;
    }
    ctx.rng.random_range(lo_ms..hi_ms) * MS
}

/// What an SSH login to a Debian server starts, from `time` (the PAM session
/// opening) on: the message of the day (`pam_motd` runs `run-parts` over
/// `/etc/update-motd.d` as root in the new session, whose `10-uname` runs `uname`),
/// then the login shell (`-bash`), `/etc/profile`'s `id -u` and `~/.bashrc`'s
/// `dircolors -b`. `sshd` is the pid of the connection's sshd (as auth.log names it).
/// Returns the shell and the time it is ready for input.
pub fn ssh_login(
    ctx: &mut Ctx<'_>,
    time: i64,
    until: i64,
    host: usize,
    sshd: u32,
    login: &Login,
) -> (Process, i64) {
    let user = &login.user;
    let root = User::root();
    let pam = Process {
        host,
        pid: sshd,
        ppid: 1,
        user: root.clone(),
        euid: root.clone(),
        login: Some(Login {
            tty: None,
            ..login.clone()
        }),
        cwd: "/".to_string(),
    };
    let mut t = time.saturating_add(ms(ctx, 3, 15));
    let motd_command = "/usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin run-parts --lsbsysinit /etc/update-motd.d > /run/motd.dynamic.new";
    let shell = pam.child(sshd.wrapping_add(1));
    exec(
        ctx,
        t,
        until,
        &shell,
        "/bin/sh",
        &["sh", "-c", motd_command],
    );
    t = t.saturating_add(ms(ctx, 1, 3));
    exec(
        ctx,
        t,
        until,
        &shell,
        "/usr/bin/env",
        &[
            "/usr/bin/env",
            "-i",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "run-parts",
            "--lsbsysinit",
            "/etc/update-motd.d",
        ],
    );
    t = t.saturating_add(ms(ctx, 1, 3));
    exec(
        ctx,
        t,
        until,
        &shell,
        "/usr/bin/run-parts",
        &["run-parts", "--lsbsysinit", "/etc/update-motd.d"],
    );
    t = t.saturating_add(ms(ctx, 1, 4));
    let part = shell.child(sshd.wrapping_add(2));
    exec(
        ctx,
        t,
        until,
        &part,
        "/etc/update-motd.d/10-uname",
        &["/etc/update-motd.d/10-uname"],
    );
    t = t.saturating_add(ms(ctx, 1, 3));
    let uname = part.child(sshd.wrapping_add(3));
    exec(
        ctx,
        t,
        until,
        &uname,
        "/usr/bin/uname",
        &["uname", "-snrvm"],
    );
    // The session's own sshd, then the user's login shell.
    t = t.saturating_add(ms(ctx, 40, 220));
    let bash = Process::of(
        host,
        sshd.wrapping_add(5),
        sshd.wrapping_add(4),
        user,
        Some(login.clone()),
    );
    exec(ctx, t, until, &bash, "/bin/bash", &["-bash"]);
    t = t.saturating_add(ms(ctx, 3, 10));
    let id = bash.child(sshd.wrapping_add(6));
    exec(ctx, t, until, &id, "/usr/bin/id", &["id", "-u"]);
    t = t.saturating_add(ms(ctx, 2, 8));
    let dircolors = bash.child(sshd.wrapping_add(7));
    exec(
        ctx,
        t,
        until,
        &dircolors,
        "/usr/bin/dircolors",
        &["dircolors", "-b"],
    );
    let ready = t.saturating_add(ms(ctx, 5, 30));
    (bash, ready)
}

/// The login shell's exit: `~/.bash_logout` clears the console.
pub fn logout(ctx: &mut Ctx<'_>, time: i64, until: i64, shell: &Process) {
    spawn(
        ctx,
        time,
        until,
        shell,
        "/usr/bin/clear_console",
        &["clear_console", "-q"],
    );
}
