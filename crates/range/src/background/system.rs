//! Windows housekeeping on every Windows host, day and night: Task Scheduler jobs
//! (`taskhostw.exe`, Defender idle tasks, WMI providers), services started on demand
//! (Sysmon 1 under `services.exe` with System 7036 running/stopped), the Group Policy
//! background refresh (System 1502 with the machine account's Kerberos logon at the
//! domain controller), Windows Update scans and Defender intelligence updates (System
//! 19), and the nightly maintenance window (scheduled scan, defrag, telemetry).

use serde_json::json;

use super::catalog::{MAINTENANCE, SERVICES, TASKS};
use super::org::{Org, Srv};
use super::{
    Clock, MIN, MS, SEC, SYSTEM, SYSTEM_LOGON, between, chance, launch, pick, poisson, servers, win,
};
use crate::emit::Stream;
use crate::generate::Ctx;
use crate::scenario::Role;
use crate::windows;
use crate::world::HostState;

/// The hour of the nightly maintenance window.
const MAINTENANCE_HOUR: u8 = 3;

pub(super) fn hour(ctx: &mut Ctx<'_>, org: &Org, c: &Clock) {
    for srv in &org.windows {
        host_hour(ctx, org, c, srv);
    }
}

/// System 7036: a service entered a state (`running`, `stopped`).
pub(super) fn service_state(t: i64, h: &HostState, service: &str, state: &str) -> String {
    windows::event(
        t,
        h,
        "System",
        "Service Control Manager",
        7036,
        vec![("param1", json!(service)), ("param2", json!(state))],
    )
}

/// System 1502 (computer) or 1501 (user): Group Policy processed.
pub(super) fn group_policy(t: i64, h: &HostState, org: &Org, user: bool) -> String {
    let dc = org
        .dc
        .as_ref()
        .map(|d| format!("\\\\{}", d.fqdn))
        .unwrap_or_else(|| format!("\\\\{}", org.domain));
    windows::event(
        t,
        h,
        "System",
        "Microsoft-Windows-GroupPolicy",
        if user { 1501 } else { 1502 },
        vec![
            ("SupportInfo1", json!("1")),
            ("SupportInfo2", json!(if user { "5002" } else { "5001" })),
            ("ProcessingMode", json!("0")),
            (
                "ProcessingTimeInMilliseconds",
                json!(300 + (t / MS).rem_euclid(2_700)),
            ),
            ("DCName", json!(dc)),
            (
                "NumberOfGroupPolicyObjects",
                json!(if user { "2" } else { "4" }),
            ),
        ],
    )
}

/// System 19: Windows Update installed an update.
fn update_installed(t: i64, h: &HostState, version: i64) -> String {
    windows::event(
        t,
        h,
        "System",
        "Microsoft-Windows-WindowsUpdateClient",
        19,
        vec![
            (
                "updateTitle",
                json!(format!(
                    "Security Intelligence Update for Microsoft Defender Antivirus - KB2267602 (Version 1.425.{version}.0) - Current Channel (Broad)"
                )),
            ),
            (
                "updateGuid",
                json!("{8be5a6a5-2e2b-4b1c-8d0f-1f5c5a8d3e21}"),
            ),
            ("updateRevisionNumber", json!(200)),
            (
                "serviceGuid",
                json!("{7971f918-a847-4430-9279-4a52d1efe18d}"),
            ),
        ],
    )
}

fn host_hour(ctx: &mut Ctx<'_>, org: &Org, c: &Clock, srv: &Srv) {
    let Some((svchost, services, role)) = ctx
        .world
        .hosts
        .get(srv.index)
        .map(|h| (h.svchost.clone(), h.services.clone(), h.role))
    else {
        return;
    };
    let last = c.end - 1;
    let busy = if role == Role::Workstation && !c.in_work {
        0.6
    } else {
        1.0
    };
    for _ in 0..poisson(ctx.rng, 1.3 * busy * c.fraction) {
        let t = between(ctx.rng, c.start, c.end);
        if let Some((image, cmd)) = pick(ctx.rng, TASKS).copied() {
            launch(
                ctx,
                t,
                srv.index,
                &svchost,
                image,
                cmd,
                SYSTEM,
                SYSTEM_LOGON,
            );
        }
    }
    for _ in 0..poisson(ctx.rng, 0.5 * busy * c.fraction) {
        let t = between(ctx.rng, c.start, c.end);
        let Some((name, image, cmd)) = pick(ctx.rng, SERVICES).copied() else {
            continue;
        };
        launch(
            ctx,
            t,
            srv.index,
            &services,
            image,
            cmd,
            SYSTEM,
            SYSTEM_LOGON,
        );
        let t1 = (t + between(ctx.rng, 20 * MS, 600 * MS)).min(last);
        win(ctx, t1, Stream::System, srv.index, |h| {
            service_state(t1, h, name, "running")
        });
        let t2 = (t1 + between(ctx.rng, MIN, 15 * MIN)).min(last);
        win(ctx, t2, Stream::System, srv.index, |h| {
            service_state(t2, h, name, "stopped")
        });
    }
    // Group Policy refreshes every 90 minutes or so; each needs a ticket from the DC.
    if chance(ctx.rng, 0.67 * c.fraction) {
        let t = between(ctx.rng, c.start, c.end);
        let account = format!("{}\\{}$", org.netbios, srv.name);
        servers::dc_logon(ctx, org, c, &account, &srv.ip, t);
        let tg = (t + between(ctx.rng, 500 * MS, 3 * SEC)).min(last);
        win(ctx, tg, Stream::System, srv.index, |h| {
            group_policy(tg, h, org, false)
        });
    }
    for _ in 0..poisson(ctx.rng, 0.6 * c.fraction) {
        let t = between(ctx.rng, c.start, c.end);
        let account = format!("{}\\{}$", org.netbios, srv.name);
        servers::dc_logon(ctx, org, c, &account, &srv.ip, t);
    }
    // Windows Update scans a few times a day; Defender intelligence comes with them.
    if chance(ctx.rng, 0.15 * c.fraction) {
        let t = between(ctx.rng, c.start, c.end);
        let t1 = (t + between(ctx.rng, 100 * MS, SEC)).min(last);
        win(ctx, t, Stream::System, srv.index, |h| {
            service_state(t, h, "Windows Update", "running")
        });
        launch(
            ctx,
            t1,
            srv.index,
            &svchost,
            "C:\\Windows\\System32\\usoclient.exe",
            "C:\\Windows\\system32\\usoclient.exe StartScan",
            SYSTEM,
            SYSTEM_LOGON,
        );
        if chance(ctx.rng, 0.5) {
            let t2 = (t1 + between(ctx.rng, 20 * SEC, 4 * MIN)).min(last);
            launch(
                ctx,
                t2,
                srv.index,
                &svchost,
                "C:\\Windows\\System32\\wuauclt.exe",
                "\"C:\\Windows\\system32\\wuauclt.exe\" /RunHandlerComServer",
                SYSTEM,
                SYSTEM_LOGON,
            );
            let t3 = (t2 + between(ctx.rng, 30 * SEC, 5 * MIN)).min(last);
            let version = 400 + (c.day.rem_euclid(365)) * 2 + i64::from(c.hour >= 12);
            win(ctx, t3, Stream::System, srv.index, |h| {
                update_installed(t3, h, version)
            });
        }
        // Now and then a Defender platform update restarts the engine.
        if chance(ctx.rng, 0.08) {
            let t5 = (t1 + between(ctx.rng, 2 * MIN, 6 * MIN)).min(last);
            let engine = "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.25010.11-0\\MsMpEng.exe";
            win(ctx, t5, Stream::System, srv.index, |h| {
                service_state(t5, h, "Microsoft Defender Antivirus Service", "stopped")
            });
            launch(
                ctx,
                t5,
                srv.index,
                &services,
                engine,
                &format!("\"{engine}\""),
                SYSTEM,
                SYSTEM_LOGON,
            );
            win(ctx, t5, Stream::System, srv.index, |h| {
                service_state(t5, h, "Microsoft Defender Antivirus Service", "running")
            });
        }
        let t4 = (t1 + between(ctx.rng, 6 * MIN, 20 * MIN)).min(last);
        win(ctx, t4, Stream::System, srv.index, |h| {
            service_state(t4, h, "Windows Update", "stopped")
        });
    }
    if c.hour == MAINTENANCE_HOUR {
        for (image, cmd) in MAINTENANCE {
            if chance(ctx.rng, 0.7) {
                let t = between(ctx.rng, c.start, c.end);
                launch(
                    ctx,
                    t,
                    srv.index,
                    &svchost,
                    image,
                    cmd,
                    SYSTEM,
                    SYSTEM_LOGON,
                );
            }
        }
    }
}
