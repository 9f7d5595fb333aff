//! Workstation users: the morning logon (Security 4624 type 2, 4672 for admins, the
//! Kerberos logon at the domain controller, user Group Policy) and the applications
//! started with it, the evening logoff, and in between the hour's work: unlocks,
//! visits to the file server, desktop applications under the user's `explorer.exe`
//! (Office documents with their owner files and MRU entries, browser tabs, Teams,
//! notepad, calc, folder windows; for IT admins a few console commands), DNS lookups
//! and web browsing (see `browsing`) and, for admins, admin work on the servers (see
//! `servers`). Outside working hours the same happens at the night factor, with a
//! browser started for the occasion.

use super::browsing::{self, Apps};
use super::catalog::{UA_CHROME, UA_EDGE, documents};
use super::org::{CHROME, DayPlan, Dept, EDGE, Org, Person, day_plan};
use super::{
    Clock, HOUR, MIN, MS, SEC, between, chance, launch, logon_id, pick, pick_weighted, poisson,
    servers, win,
};
use crate::emit::Stream;
use crate::generate::Ctx;
use crate::windows;
use crate::world::Proc;

pub(super) fn hour(ctx: &mut Ctx<'_>, org: &Org, c: &Clock) {
    for p in &org.users {
        person(ctx, org, c, p);
    }
}

fn is_weekend(day: i64) -> bool {
    let weekday = (day + 4).rem_euclid(7);
    weekday == 0 || weekday == 6
}

/// How much a person present on `day` does relative to a weekday, so that the expected
/// weekend volume is the weekend factor.
fn presence_scale(c: &Clock, day: i64) -> f64 {
    if !is_weekend(day) {
        1.0
    } else if c.weekend_presence > 0.0 {
        c.weekend_factor / c.weekend_presence
    } else {
        0.0
    }
}

fn person(ctx: &mut Ctx<'_>, org: &Org, c: &Clock, p: &Person) {
    let mut at_work = false;
    for day in [c.day - 1, c.day] {
        let Some(plan) = day_plan(
            ctx.world,
            org,
            p,
            day,
            c.work,
            c.work_len,
            c.weekend_presence,
        ) else {
            continue;
        };
        if plan.arrive >= c.end || plan.leave <= c.start {
            continue;
        }
        at_work = true;
        if c.contains(plan.arrive) {
            arrive(ctx, org, c, p, &plan);
        }
        let from = c.start.max(plan.arrive + 10 * MIN);
        let to = c.end.min(plan.leave - 2 * MIN);
        if to > from {
            let weight = (to - from) as f64 / HOUR as f64 * c.shape * presence_scale(c, day);
            let svchost = svchost_of(ctx, p);
            let apps = Apps {
                browser: Some(&plan.browser.1),
                outlook: Some(&plan.outlook.1),
                teams: Some(&plan.teams.1),
                svchost: &svchost,
            };
            work(ctx, org, c, p, &apps, from, to, weight);
        }
        if c.contains(plan.leave) {
            win(ctx, plan.leave, Stream::Security, p.ws, |h| {
                windows::logoff(plan.leave, h, &p.qualified, &p.logon_id, 2)
            });
        }
    }
    if !at_work && !c.in_work {
        let scale = if c.weekend { c.weekend_factor } else { 1.0 };
        let weight = c.fraction * c.shape * scale;
        let svchost = svchost_of(ctx, p);
        let apps = Apps {
            browser: None,
            outlook: None,
            teams: None,
            svchost: &svchost,
        };
        work(ctx, org, c, p, &apps, c.start, c.end, weight);
    }
}

fn svchost_of(ctx: &Ctx<'_>, p: &Person) -> Proc {
    ctx.world
        .hosts
        .get(p.ws)
        .map(|h| h.svchost.clone())
        .unwrap_or_else(|| p.explorer.clone())
}

/// The morning: logon, Group Policy, the day's applications.
fn arrive(ctx: &mut Ctx<'_>, org: &Org, c: &Clock, p: &Person, plan: &DayPlan) {
    let t = plan.arrive;
    win(ctx, t, Stream::Security, p.ws, |h| {
        windows::logon(
            t,
            h,
            &p.qualified,
            2,
            "127.0.0.1",
            &p.ws_name,
            &p.logon_id,
            "Negotiate",
        )
    });
    if p.admin {
        win(ctx, t, Stream::Security, p.ws, |h| {
            windows::special_privileges(t, h, &p.qualified, &p.logon_id)
        });
    }
    let tk = c.clamp(t - between(ctx.rng, 50 * MS, 400 * MS));
    servers::dc_logon(ctx, org, c, &p.qualified, &p.ws_ip, tk);
    let tg = c.clamp(t + between(ctx.rng, 15 * SEC, 40 * SEC));
    win(ctx, tg, Stream::System, p.ws, |h| {
        super::system::group_policy(tg, h, org, true)
    });
    for (ts, app) in [&plan.onedrive, &plan.teams, &plan.outlook, &plan.browser] {
        if c.contains(*ts) {
            win(ctx, *ts, Stream::Sysmon, p.ws, |h| {
                windows::process_create(*ts, h, app, &p.explorer, &p.logon_id)
            });
        }
    }
    for (ts, app, name) in [
        (plan.outlook.0, &plan.outlook.1, "outlook.office365.com"),
        (plan.teams.0, &plan.teams.1, "teams.microsoft.com"),
    ] {
        let tl = ts + between(ctx.rng, SEC, 4 * SEC);
        if c.contains(tl) {
            browsing::lookup(ctx, org, p, app, tl, name, &super::name_ip(name));
        }
    }
    let tf = t + between(ctx.rng, 20 * SEC, 90 * SEC);
    if c.contains(tf) {
        servers::share_session(ctx, org, c, p, tf, c.end);
    }
}

/// The hour's work between `from` and `to`, `weight` full working hours' worth.
#[allow(clippy::too_many_arguments)]
fn work(
    ctx: &mut Ctx<'_>,
    org: &Org,
    c: &Clock,
    p: &Person,
    apps: &Apps<'_>,
    from: i64,
    to: i64,
    weight: f64,
) {
    if weight <= 0.0 || to <= from {
        return;
    }
    let r = &c.rates;
    let per_day = if c.work_len > 0.0 { c.work_len } else { 10.0 };
    let mut processes = poisson(ctx.rng, r.processes_per_user_hour * weight);
    let dns = poisson(ctx.rng, r.dns_per_user_hour * weight);
    let mut web = poisson(ctx.rng, r.web_per_user_hour * weight);
    let unlocks = poisson(ctx.rng, r.logons_per_user_day / per_day * weight);
    let shares = poisson(ctx.rng, r.logons_per_user_day / per_day * weight);
    let dc = poisson(ctx.rng, 2.0 * weight);
    let admin_tasks = if p.admin {
        let admins = org.admins().count().max(1) as f64;
        poisson(ctx.rng, r.admin_tasks_per_day / admins / per_day * weight)
    } else {
        0
    };
    let ua = if p.chrome { UA_CHROME } else { UA_EDGE };
    // Outside the working day the browser is started when needed.
    let hourly;
    let mut started = from;
    let browser = match apps.browser {
        Some(b) => Some(b),
        None if web + dns + processes > 0 => {
            let (image, cmd) = if p.chrome {
                (CHROME, format!("\"{CHROME}\" "))
            } else {
                (EDGE, format!("\"{EDGE}\" --profile-directory=Default"))
            };
            started = between(ctx.rng, from, from + (to - from) / 2);
            hourly = launch(
                ctx,
                started,
                p.ws,
                &p.explorer,
                image,
                &cmd,
                &p.qualified,
                &p.logon_id,
            );
            hourly.as_ref()
        }
        None => None,
    };
    let from = if apps.browser.is_none() {
        (started + 5 * SEC).min(to - 1)
    } else {
        from
    };
    let mut lookups = dns;
    if let Some(b) = browser {
        while web > 0 {
            let n = (1 + poisson(ctx.rng, 1.8)).min(web);
            web -= n;
            let t = between(ctx.rng, from, to);
            browsing::visit(ctx, org, p, b, ua, None, t, to, n);
            lookups = lookups.saturating_sub(1);
        }
    }
    let apps = Apps {
        browser,
        outlook: apps.outlook,
        teams: apps.teams,
        svchost: apps.svchost,
    };
    for _ in 0..lookups {
        let t = between(ctx.rng, from, to);
        browsing::background_lookup(ctx, org, p, &apps, t);
    }
    while processes > 0 {
        let t = between(ctx.rng, from, to);
        let made = desktop(ctx, org, p, &apps, t, to);
        processes = processes.saturating_sub(made.max(1));
    }
    for _ in 0..unlocks {
        let t = between(ctx.rng, from, to);
        let id = logon_id(ctx.rng);
        win(ctx, t, Stream::Security, p.ws, |h| {
            windows::logon(
                t,
                h,
                &p.qualified,
                7,
                "127.0.0.1",
                &p.ws_name,
                &id,
                "Negotiate",
            )
        });
        let t2 = (t + between(ctx.rng, 100 * MS, 2 * SEC)).min(to - 1);
        win(ctx, t2, Stream::Security, p.ws, |h| {
            windows::logoff(t2, h, &p.qualified, &id, 7)
        });
    }
    for _ in 0..shares {
        let t = between(ctx.rng, from, to);
        servers::share_session(ctx, org, c, p, t, to);
    }
    for _ in 0..dc {
        let t = between(ctx.rng, from, to);
        servers::dc_logon(ctx, org, c, &p.qualified, &p.ws_ip, t);
    }
    for _ in 0..admin_tasks {
        servers::admin_task(ctx, org, c, p, from, to);
    }
}

/// Windows FILETIME of a time, as Office writes it in MRU entries.
fn filetime(t: i64) -> u64 {
    u64::try_from(t / 100).unwrap_or(0) + 116_444_736_000_000_000
}

/// What a person does on the desktop at `t`; returns how many processes started.
fn desktop(ctx: &mut Ctx<'_>, org: &Org, p: &Person, apps: &Apps<'_>, t: i64, to: i64) -> u32 {
    #[derive(Clone, Copy)]
    enum Act {
        Document,
        Tab,
        Teams,
        Calc,
        Snip,
        Folder,
        Notes,
        Console,
        Link,
    }
    const ACTS: &[(Act, u32)] = &[
        (Act::Document, 40),
        (Act::Tab, 26),
        (Act::Teams, 6),
        (Act::Calc, 4),
        (Act::Snip, 4),
        (Act::Folder, 9),
        (Act::Notes, 3),
        (Act::Console, 8),
        (Act::Link, 5),
    ];
    let Some((act, _)) = pick_weighted(ctx.rng, ACTS, |a| a.1).copied() else {
        return 1;
    };
    let last = to - 1;
    let user = p.qualified.as_str();
    let logon = p.logon_id.as_str();
    let docs = format!("C:\\Users\\{}\\Documents", p.name);
    match act {
        Act::Document => open_document(ctx, p, &docs, t, last),
        Act::Tab => {
            let Some(b) = apps.browser else {
                return 1;
            };
            let kind = if chance(ctx.rng, 0.85) {
                "--type=renderer --lang=en-US --device-scale-factor=1 --num-raster-threads=4 --enable-main-frame-before-activation"
            } else {
                "--type=utility --utility-sub-type=network.mojom.NetworkService --lang=en-US --service-sandbox-type=none"
            };
            let cmd = format!(
                "\"{}\" {kind} --renderer-client-id={} --mojo-platform-channel-handle={} --field-trial-handle=1956,i,{},{},262144 /prefetch:1",
                b.image,
                between(ctx.rng, 5, 400),
                between(ctx.rng, 2000, 9000),
                between(ctx.rng, 1_000_000_000, 9_000_000_000),
                between(ctx.rng, 1_000_000_000, 9_000_000_000)
            );
            launch(ctx, t, p.ws, b, &b.image, &cmd, user, logon);
            1
        }
        Act::Teams => {
            let Some(teams) = apps.teams else {
                return 1;
            };
            let image = "C:\\Program Files (x86)\\Microsoft\\EdgeWebView\\Application\\122.0.2365.92\\msedgewebview2.exe";
            let cmd = format!(
                "\"{image}\" --embedded-browser-webview=1 --webview-exe-name=ms-teams.exe --user-data-dir=\"C:\\Users\\{}\\AppData\\Local\\Packages\\MSTeams_8wekyb3d8bbwe\\LocalCache\\Microsoft\\MSTeams\\EBWebView\" --noerrdialogs",
                p.name
            );
            launch(ctx, t, p.ws, teams, image, &cmd, user, logon);
            1
        }
        Act::Calc => {
            let image = "C:\\Windows\\System32\\calc.exe";
            launch(
                ctx,
                t,
                p.ws,
                &p.explorer,
                image,
                "\"C:\\Windows\\System32\\calc.exe\" ",
                user,
                logon,
            );
            1
        }
        Act::Snip => {
            let image = "C:\\Windows\\System32\\SnippingTool.exe";
            launch(
                ctx,
                t,
                p.ws,
                &p.explorer,
                image,
                "\"C:\\Windows\\system32\\SnippingTool.exe\" ",
                user,
                logon,
            );
            1
        }
        Act::Folder => {
            let sub = match p.dept {
                Dept::Accounting => "Invoices",
                Dept::Sales => "Quotes",
                Dept::It => "Inventory",
                Dept::General => "Projects",
            };
            let cmd = format!("\"C:\\Windows\\explorer.exe\" /e,\"{docs}\\{sub}\"");
            launch(
                ctx,
                t,
                p.ws,
                &p.explorer,
                "C:\\Windows\\explorer.exe",
                &cmd,
                user,
                logon,
            );
            1
        }
        Act::Notes => {
            let image = "C:\\Windows\\System32\\notepad.exe";
            let cmd = format!("\"C:\\Windows\\system32\\NOTEPAD.EXE\" {docs}\\notes.txt");
            launch(ctx, t, p.ws, &p.explorer, image, &cmd, user, logon);
            1
        }
        Act::Link => {
            // A link clicked in a mail: the browser is asked to open it.
            let (Some(b), Some(page)) = (apps.browser, browsing::choose_page(ctx, org)) else {
                return 1;
            };
            let parent = apps.outlook.unwrap_or(&p.explorer);
            let cmd = format!(
                "\"{}\" --single-argument http://{}{}",
                b.image, page.host, page.path
            );
            launch(ctx, t, p.ws, parent, &b.image, &cmd, user, logon);
            let tv = (t + between(ctx.rng, 300 * MS, 2 * SEC)).min(last);
            let ua = if p.chrome { UA_CHROME } else { UA_EDGE };
            let n = 1 + poisson(ctx.rng, 1.5);
            browsing::visit(ctx, org, p, b, ua, Some(page), tv, to, n);
            1
        }
        Act::Console if p.admin => console(ctx, p, t, last),
        Act::Console => open_document(ctx, p, &docs, t, last),
    }
}

/// Opens one of the person's documents with its application: the process, Office's
/// owner file (`~$…`) and recent-file shortcut, the MRU registry entry, and Explorer's
/// RecentDocs.
fn open_document(ctx: &mut Ctx<'_>, p: &Person, docs: &str, t: i64, last: i64) -> u32 {
    let Some(name) = pick(ctx.rng, documents(p.dept)).copied() else {
        return 1;
    };
    let ext = name.rsplit('.').next().unwrap_or("");
    let (image, app) = match ext {
        "docx" => (
            "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
            Some("Word"),
        ),
        "xlsx" => (
            "C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE",
            Some("Excel"),
        ),
        "pptx" => (
            "C:\\Program Files\\Microsoft Office\\root\\Office16\\POWERPNT.EXE",
            Some("PowerPoint"),
        ),
        _ => ("C:\\Windows\\System32\\notepad.exe", None),
    };
    let path = format!("{docs}\\{name}");
    let cmd = match app {
        Some("Word") => format!("\"{image}\" /n \"{path}\" /o \"\""),
        Some(_) => format!("\"{image}\" \"{path}\""),
        None => format!("\"C:\\Windows\\system32\\NOTEPAD.EXE\" {path}"),
    };
    let Some(proc_) = launch(
        ctx,
        t,
        p.ws,
        &p.explorer,
        image,
        &cmd,
        &p.qualified,
        &p.logon_id,
    ) else {
        return 1;
    };
    let Some(app) = app else {
        return 1;
    };
    // Word's owner file drops the first two characters of long names.
    let owner = if app == "Word" && name.chars().count() > 10 {
        let rest: String = name.chars().skip(2).collect();
        format!("{docs}\\~${rest}")
    } else {
        format!("{docs}\\~${name}")
    };
    let t1 = (t + between(ctx.rng, 800 * MS, 4 * SEC)).min(last);
    win(ctx, t1, Stream::Sysmon, p.ws, |h| {
        windows::file_create(t1, h, &proc_, &owner)
    });
    if chance(ctx.rng, 0.5) {
        let lnk = format!(
            "C:\\Users\\{}\\AppData\\Roaming\\Microsoft\\Office\\Recent\\{name}.LNK",
            p.name
        );
        let t2 = (t1 + between(ctx.rng, 50 * MS, 900 * MS)).min(last);
        win(ctx, t2, Stream::Sysmon, p.ws, |h| {
            windows::file_create(t2, h, &proc_, &lnk)
        });
    }
    if chance(ctx.rng, 0.7) {
        let key = format!(
            "{}\\SOFTWARE\\Microsoft\\Office\\16.0\\{app}\\User MRU\\ADAL_{}\\File MRU\\Item 1",
            p.hive,
            crate::world::file_hash(&p.qualified, 32)
        );
        let value = format!("[F00000000][T{:016X}][O00000000]*{path}", filetime(t1));
        let t3 = (t1 + between(ctx.rng, 100 * MS, 2 * SEC)).min(last);
        win(ctx, t3, Stream::Sysmon, p.ws, |h| {
            windows::registry_set(t3, h, &proc_, &key, &value)
        });
    }
    if chance(ctx.rng, 0.4) {
        let key = format!(
            "{}\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Explorer\\RecentDocs\\.{ext}\\MRUListEx",
            p.hive
        );
        let t4 = (t1 + between(ctx.rng, 100 * MS, 2 * SEC)).min(last);
        win(ctx, t4, Stream::Sysmon, p.ws, |h| {
            windows::registry_set(t4, h, &p.explorer, &key, "Binary Data")
        });
    }
    1
}

/// An IT admin's console work on their own workstation.
fn console(ctx: &mut Ctx<'_>, p: &Person, t: i64, last: i64) -> u32 {
    let user = p.qualified.as_str();
    let logon = p.logon_id.as_str();
    let cmd_exe = "C:\\Windows\\System32\\cmd.exe";
    let fs = ctx
        .world
        .hosts
        .iter()
        .find(|h| h.role == crate::scenario::Role::FileServer)
        .map(|h| h.fqdn.clone())
        .unwrap_or_else(|| "fileserver".to_string());
    let roll = between(ctx.rng, 0, 100);
    let child_at = (t + between(ctx.rng, 30 * MS, 300 * MS)).min(last);
    if roll < 65 {
        let (line, image, child) = match between(ctx.rng, 0, 4) {
            0 => (
                "ipconfig /all",
                "C:\\Windows\\System32\\ipconfig.exe",
                "ipconfig  /all".to_string(),
            ),
            1 => (
                "net use",
                "C:\\Windows\\System32\\net.exe",
                "net  use".to_string(),
            ),
            2 => (
                "gpupdate /force",
                "C:\\Windows\\System32\\gpupdate.exe",
                "gpupdate  /force".to_string(),
            ),
            _ => (
                "ping -n 4 fs",
                "C:\\Windows\\System32\\PING.EXE",
                format!("ping  -n 4 {fs}"),
            ),
        };
        let cmd = if line.starts_with("ping") {
            format!("\"{cmd_exe}\" /c ping -n 4 {fs}")
        } else {
            format!("\"{cmd_exe}\" /c {line}")
        };
        let Some(shell) = launch(ctx, t, p.ws, &p.explorer, cmd_exe, &cmd, user, logon) else {
            return 1;
        };
        launch(ctx, child_at, p.ws, &shell, image, &child, user, logon);
        2
    } else if roll < 85 {
        let ps = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe";
        let share = fs.split('.').next().unwrap_or("fileserver").to_string();
        let cmd = format!("\"{ps}\" -Command \"Get-ChildItem -Path \\\\{share}\\IT\\Inventory\"");
        launch(ctx, t, p.ws, &p.explorer, ps, &cmd, user, logon);
        1
    } else {
        let mmc = "C:\\Windows\\System32\\mmc.exe";
        let cmd = "\"C:\\Windows\\system32\\mmc.exe\" \"C:\\Windows\\system32\\dsa.msc\" ";
        launch(ctx, t, p.ws, &p.explorer, mmc, cmd, user, logon);
        1
    }
}
