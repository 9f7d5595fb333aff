//! Collection and covering tracks: a password-protected archive of a folder (7-Zip or
//! RAR on Windows, `tar` under sudo on Linux), clearing event logs with `wevtutil cl`
//! (Security 1102, System 104) or removing log files, and deleting files (`del`,
//! SDelete, `shred`), with the Sysmon 23 each Windows deletion leaves.

use rand::Rng;

use super::{Ctx, Env, MINUTE, SEC, actor, host_os, on_host, random_text, shell, sid};
use crate::emit::Stream;
use crate::scenario::Os;
use crate::windows;

/// Splits a file list on `;`, `|` or newlines when it has them, else on whitespace.
fn file_list(text: &str) -> Vec<String> {
    let parts: Vec<&str> = if text.contains([';', '|', '\n']) {
        text.split([';', '|', '\n']).collect()
    } else {
        text.split_whitespace().collect()
    };
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

fn quoted(path: &str) -> String {
    if path.contains(' ') {
        format!("\"{path}\"")
    } else {
        path.to_string()
    }
}

pub(super) fn collect(ctx: &mut Ctx<'_>, env: &mut Env<'_>) {
    let host = env.r.target;
    if host_os(ctx, host) == Os::Linux {
        let folder = env.param("folder", "/var/www").to_string();
        let archive = env.param("archive", "/tmp/data.tgz").to_string();
        let user = env.user_name(ctx).unwrap_or_else(|| "root".to_string());
        let minutes: i64 = env.number("minutes", 2i64).clamp(0, 240);
        super::persist::sudo(
            ctx,
            env,
            &user,
            &["/usr/bin/tar", "czf", &archive, &folder],
            minutes * 60_000,
        );
        return;
    }
    let folder = env
        .param("folder", "C:\\Users\\Public\\Documents")
        .trim_end_matches('\\')
        .to_string();
    let archive = env.param("archive", "C:\\ProgramData\\data.7z").to_string();
    let secret_default = random_text(
        ctx,
        12,
        b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789",
    );
    let secret = env.param("password", &secret_default).to_string();
    let lower = archive.to_ascii_lowercase();
    let rar = env.param("tool", if lower.ends_with(".rar") { "rar" } else { "7z" }) == "rar";
    let a = actor(ctx, env, host, true);
    // A look at what is there first.
    let listing = format!("dir /s /b {}", quoted(&folder));
    shell(ctx, env, host, &a, "", &listing, &listing);
    env.later(ctx, 20_000, 120_000);
    let (image, args) = if rar {
        (
            "C:\\Program Files\\WinRAR\\Rar.exe",
            format!(
                "a -r -hp{secret} {} {}\\*",
                quoted(&archive),
                quoted(&folder)
            ),
        )
    } else {
        let kind = if lower.ends_with(".zip") {
            "-tzip".to_string()
        } else {
            "-t7z -mhe=on".to_string()
        };
        (
            "C:\\Program Files\\7-Zip\\7z.exe",
            format!(
                "a {kind} -p{secret} {} {}\\*",
                quoted(&archive),
                quoted(&folder)
            ),
        )
    };
    let command = format!("\"{image}\" {args}");
    let (_, tool) = shell(ctx, env, host, &a, image, &command, &command);
    let t = env.later(ctx, 100, 600);
    on_host(ctx, host, t, Stream::Sysmon, |h| {
        windows::file_create(t, h, &tool, &archive)
    });
    // Packing a share takes minutes.
    let minutes: i64 = env.number("minutes", 6i64).clamp(1, 240);
    env.t += minutes * MINUTE + ctx.rng.random_range(0..60) * SEC;
}

pub(super) fn clear_logs(ctx: &mut Ctx<'_>, env: &mut Env<'_>) {
    let host = env.r.target;
    if host_os(ctx, host) == Os::Linux {
        let files = file_list(env.param("logs", "/var/log/auth.log /var/log/syslog"));
        let user = env.user_name(ctx).unwrap_or_else(|| "root".to_string());
        let mut command = vec!["/usr/bin/rm", "-f"];
        command.extend(files.iter().map(String::as_str));
        super::persist::sudo(ctx, env, &user, &command, 5);
        return;
    }
    let logs: Vec<String> = env
        .param("logs", "Security System")
        .split([' ', ',', ';'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    super::creds::elevate(ctx, env, host);
    let a = actor(ctx, env, host, true);
    for log in logs {
        let command = format!("wevtutil cl {}", quoted(&log));
        shell(
            ctx,
            env,
            host,
            &a,
            "C:\\Windows\\System32\\wevtutil.exe",
            &command,
            &command,
        );
        let t = env.later(ctx, 40, 400);
        let account = a.account.clone();
        if log.eq_ignore_ascii_case("security") {
            on_host(ctx, host, t, Stream::Security, |h| {
                windows::security_log_cleared(t, h, &account)
            });
        } else {
            on_host(ctx, host, t, Stream::System, |h| {
                windows::system_log_cleared(t, h, &account, &log)
            });
        }
        env.later(ctx, 800, 4_000);
    }
}

pub(super) fn delete_files(ctx: &mut Ctx<'_>, env: &mut Env<'_>) {
    let host = env.r.target;
    if host_os(ctx, host) == Os::Linux {
        let files = file_list(env.param("files", "/tmp/data.tgz"));
        let user = env.user_name(ctx).unwrap_or_else(|| "root".to_string());
        let mut command = match env.param("tool", "shred") {
            "rm" => vec!["/usr/bin/rm", "-f"],
            _ => vec!["/usr/bin/shred", "-u", "-z"],
        };
        command.extend(files.iter().map(String::as_str));
        super::persist::sudo(ctx, env, &user, &command, 1_500 * files.len() as i64);
        return;
    }
    let default_files = env
        .state
        .footholds
        .get(&host)
        .map(|f| f.implant.image.clone())
        .unwrap_or_default();
    let files = file_list(env.param("files", &default_files));
    if files.is_empty() {
        return;
    }
    let a = actor(ctx, env, host, true);
    if env.param("tool", "del") == "sdelete" {
        let exe = "C:\\ProgramData\\sdelete64.exe";
        for (i, file) in files.iter().enumerate() {
            let command = format!("{exe} -accepteula -p 3 {}", quoted(file));
            let (_, tool) = shell(ctx, env, host, &a, exe, &command, &command);
            if i == 0 {
                let key = format!(
                    "HKU\\{}\\Software\\Sysinternals\\SDelete\\EulaAccepted",
                    sid(&ctx.world.netbios, &a.account)
                );
                let t = env.later(ctx, 5, 40);
                on_host(ctx, host, t, Stream::Sysmon, |h| {
                    windows::registry_set(t, h, &tool, &key, "DWORD (0x00000001)")
                });
            }
            // SDelete renames the file before deleting it.
            let folder = file.rsplit_once('\\').map_or("", |(d, _)| d);
            let renamed = format!("{folder}\\ZZZZZZZZZZZZ.ZZZ");
            let t = env.later(ctx, 300, 3_000);
            on_host(ctx, host, t, Stream::Sysmon, |h| {
                windows::file_delete(t, h, &tool, &renamed)
            });
            env.later(ctx, 500, 3_000);
        }
        return;
    }
    let command = format!(
        "del /f /q {}",
        files
            .iter()
            .map(|f| quoted(f))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let (cmd, _) = shell(ctx, env, host, &a, "", &command, &command);
    for file in &files {
        let t = env.later(ctx, 2, 30);
        on_host(ctx, host, t, Stream::Sysmon, |h| {
            windows::file_delete(t, h, &cmd, file)
        });
    }
}
