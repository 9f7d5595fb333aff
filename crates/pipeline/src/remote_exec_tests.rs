use serde_json::json;

use super::*;

const HOST: &str = "WORKSTATION6.corp.local";

fn logon(time: &str, logon_type: i64, user: &str, logon_id: &str, ip: &str) -> serde_json::Value {
    json!({
        "Channel": "Security", "EventID": 4624, "Hostname": HOST, "@timestamp": time,
        "LogonType": logon_type, "TargetUserName": user, "TargetDomainName": "CORP",
        "TargetLogonId": logon_id, "IpAddress": ip, "WorkstationName": "-",
        "AuthenticationPackageName": "Kerberos",
    })
}

fn sysmon_process(
    time: &str,
    logon_id: &str,
    image: &str,
    parent: &str,
    cmd: &str,
) -> serde_json::Value {
    json!({
        "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Hostname": HOST,
        "@timestamp": time, "LogonId": logon_id, "Image": image, "ParentImage": parent,
        "CommandLine": cmd, "User": "CORP\\pedro", "ProcessGuid": format!("{{{time}}}"),
    })
}

fn security_process(time: &str, logon_id: &str, image: &str, parent: &str) -> serde_json::Value {
    json!({
        "Channel": "Security", "EventID": 4688, "Hostname": HOST, "@timestamp": time,
        "SubjectUserName": "WORKSTATION6$", "SubjectDomainName": "CORP", "SubjectLogonId": "0x3e7",
        "TargetUserName": "pedro", "TargetDomainName": "CORP", "TargetLogonId": logon_id,
        "NewProcessName": image, "ParentProcessName": parent,
    })
}

/// What the analysis reads from `lines`, decoded by the JSON decoder.
fn observe(lines: &[serde_json::Value]) -> Vec<Observation> {
    let table = FieldTable::new();
    let fields = RemoteExecFields::new(&table);
    let lines: Vec<String> = lines.iter().map(ToString::to_string).collect();
    let events = crate::test_support::decode_json_lines(&table, &lines);
    assert_eq!(events.len(), lines.len());
    events.iter().filter_map(|ev| fields.observe(ev)).collect()
}

fn join(lines: &[serde_json::Value]) -> Vec<RemoteExecution> {
    let (mut logons, mut processes) = (Vec::new(), Vec::new());
    for obs in observe(lines) {
        match obs {
            Observation::Logon(l) => logons.push(l),
            Observation::Process(p) => processes.push(p),
        }
    }
    find_remote_executions(logons, processes)
}

const EXCEL: &str = r"C:\Program Files\Microsoft Office\root\Office16\EXCEL.EXE";
const SVCHOST: &str = r"C:\Windows\System32\svchost.exe";

#[test]
fn excel_started_through_dcom_in_a_network_session_is_one_remote_execution() {
    let found = join(&[
        logon(
            "2020-09-18T19:00:22.765Z",
            3,
            "pedro",
            "0xceec42",
            "172.18.39.5",
        ),
        // The Security log and Sysmon both record Excel's start.
        security_process("2020-09-18T19:00:23.001Z", "0xceec42", EXCEL, SVCHOST),
        sysmon_process(
            "2020-09-18T19:00:23.010Z",
            "0xCEEC42",
            EXCEL,
            SVCHOST,
            "\"EXCEL.EXE\" /automation -Embedding",
        ),
        sysmon_process(
            "2020-09-18T19:00:40.000Z",
            "0xceec42",
            r"C:\Windows\System32\cmd.exe",
            EXCEL,
            "cmd.exe /c whoami",
        ),
    ]);
    assert_eq!(found.len(), 1);
    let exec = &found[0];
    assert_eq!(exec.processes.len(), 2, "Excel once, then cmd");
    assert_eq!(exec.logon.user, "CORP\\pedro");
    let row = exec.row();
    assert_eq!(row.rule_id.as_deref(), Some(REMOTE_EXEC_RULE_ID));
    assert_eq!(row.level, "medium");
    assert_eq!(
        row.tags,
        vec!["attack.lateral-movement", "attack.t1021.003"]
    );
    assert_eq!(
        row.entities.host.as_deref(),
        Some("workstation6.corp.local")
    );
    assert_eq!(row.entities.src_ip.as_deref(), Some("172.18.39.5"));
    assert!(
        row.entities.indicators.is_empty(),
        "a private address links nothing"
    );
    let matched: HashMap<_, _> = row.matched.iter().cloned().collect();
    assert_eq!(matched["from"], "172.18.39.5");
    assert_eq!(matched["logon_id"], "0xceec42");
    assert_eq!(matched["started_by"], "a DCOM object");
    assert_eq!(matched["processes"], "2");
    let event: serde_json::Value = serde_json::from_str(&row.event).unwrap();
    assert_eq!(event["processes"][1]["CommandLine"], "cmd.exe /c whoami");
}

#[test]
fn how_the_process_was_started_names_the_technique() {
    // PowerShell remoting's logons (Kerberos over HTTP) record no address.
    let cases = [
        (
            r"C:\Windows\System32\wbem\WmiPrvSE.exe",
            "cmd.exe /c ipconfig",
            "10.1.1.1",
            "attack.t1047",
        ),
        (
            r"C:\Windows\System32\wsmprovhost.exe",
            "powershell.exe",
            "-",
            "attack.t1021.006",
        ),
        (
            r"C:\Windows\System32\services.exe",
            "x.exe",
            "10.1.1.1",
            "attack.t1021",
        ),
    ];
    for (i, (parent, cmd, ip, tag)) in cases.into_iter().enumerate() {
        let id = format!("0x{:x}", 0x5000 + i);
        let found = join(&[
            logon("2024-01-01T10:00:00Z", 3, "admin", &id, ip),
            sysmon_process(
                "2024-01-01T10:00:01Z",
                &id,
                r"C:\Windows\System32\cmd.exe",
                parent,
                cmd,
            ),
        ]);
        assert_eq!(found.len(), 1, "{parent}");
        let row = found[0].row();
        assert_eq!(row.tags[1], tag, "{parent}");
        let from = &row.matched.iter().find(|(k, _)| k == "from").unwrap().1;
        assert_eq!(from, if ip == "-" { "(not recorded)" } else { ip });
    }
}

#[test]
fn local_machine_and_interactive_sessions_are_not_remote_execution() {
    let cmd = r"C:\Windows\System32\cmd.exe";
    let found = join(&[
        // A domain member's machine account.
        logon("2024-01-01T10:00:00Z", 3, "WS5$", "0x100", "10.0.0.5"),
        sysmon_process("2024-01-01T10:00:01Z", "0x100", cmd, SVCHOST, "a"),
        // From this machine itself.
        logon("2024-01-01T10:00:00Z", 3, "pedro", "0x200", "::1"),
        sysmon_process("2024-01-01T10:00:01Z", "0x200", cmd, SVCHOST, "b"),
        // An interactive logon (at the keyboard) and a remote desktop one.
        logon("2024-01-01T10:00:00Z", 2, "pedro", "0x300", "-"),
        sysmon_process("2024-01-01T10:00:01Z", "0x300", cmd, SVCHOST, "c"),
        logon("2024-01-01T10:00:00Z", 10, "pedro", "0x400", "10.0.0.7"),
        sysmon_process("2024-01-01T10:00:01Z", "0x400", cmd, SVCHOST, "d"),
        // A network logon that starts nothing (a share read) and processes of sessions
        // never seen, or of SYSTEM's.
        logon("2024-01-01T10:00:00Z", 3, "pedro", "0x500", "10.0.0.8"),
        sysmon_process("2024-01-01T10:00:01Z", "0x999", cmd, SVCHOST, "e"),
        sysmon_process("2024-01-01T10:00:01Z", "0x3e7", cmd, SVCHOST, "f"),
    ]);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn a_process_long_before_its_sessions_logon_is_not_its() {
    let found = join(&[
        sysmon_process("2024-01-01T09:00:00Z", "0x600", EXCEL, SVCHOST, "old"),
        logon("2024-01-01T10:00:00Z", 3, "pedro", "0x600", "10.0.0.9"),
        // A second later: the two logs' timestamps are rounded differently.
        sysmon_process("2024-01-01T09:59:59.500Z", "0x600", EXCEL, SVCHOST, "new"),
    ]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].processes.len(), 1);
    assert_eq!(found[0].processes[0].command_line.as_deref(), Some("new"));
}

#[test]
fn the_tracker_reports_a_session_once_whatever_the_order_of_the_logs() {
    let observations = observe(&[
        sysmon_process("2024-01-01T10:00:02Z", "0x700", EXCEL, SVCHOST, "first"),
        logon("2024-01-01T10:00:01Z", 3, "pedro", "0x700", "10.0.0.9"),
        sysmon_process("2024-01-01T10:00:03Z", "0x700", EXCEL, SVCHOST, "second"),
        logon("2024-01-01T10:05:00Z", 3, "pedro", "0x701", "10.0.0.9"),
        sysmon_process("2024-01-01T10:05:01Z", "0x701", EXCEL, SVCHOST, "third"),
    ]);
    let mut tracker = RemoteExecTracker::new(RemoteExecConfig::default());
    let reported: Vec<_> = observations
        .into_iter()
        .flat_map(|o| tracker.observe(o))
        .collect();
    assert_eq!(reported.len(), 2);
    assert_eq!(
        reported[0].processes[0].command_line.as_deref(),
        Some("first")
    );
    assert_eq!(
        reported[1].processes[0].command_line.as_deref(),
        Some("third")
    );
}

#[test]
fn the_tracker_is_bounded() {
    let cfg = RemoteExecConfig {
        max_logons: 10,
        max_pending: 5,
        ..RemoteExecConfig::default()
    };
    let mut tracker = RemoteExecTracker::new(cfg);
    let key = |i: u64| SessionKey {
        host: "ws".into(),
        logon_id: 0x10_000 + i,
    };
    for i in 0..1000u64 {
        let t = i as i64 * 3_600_000_000_000;
        tracker.observe(Observation::Logon(NetworkLogon {
            key: key(i),
            time_ns: t,
            user: "u".into(),
            source_ip: Some("10.0.0.1".into()),
            workstation: None,
            auth_package: None,
            source: Arc::from("s"),
            record: i,
        }));
        tracker.observe(Observation::Process(SessionProcess {
            key: key(i + 5000),
            time_ns: t,
            host: "ws".into(),
            image: None,
            command_line: None,
            parent_image: None,
            process_guid: None,
            parent_guid: None,
            source: Arc::from("s"),
            record: i,
        }));
        assert!(tracker.logons.len() <= 10);
        assert!(tracker.pending.len() <= 5);
    }
    assert!(tracker.forgotten > 0);
}

#[test]
fn logon_ids_are_read_in_hex_or_as_numbers() {
    assert_eq!(logon_id(Value::Str("0xCEEC42")), Some(0xceec42));
    assert_eq!(logon_id(Value::Str(" 13561922 ")), Some(13_561_922));
    assert_eq!(logon_id(Value::Int(999)), Some(999));
    assert_eq!(logon_id(Value::Str("0x0")), None);
    assert_eq!(logon_id(Value::Str("zz")), None);
    assert_eq!(short_name("WS6.Corp.Local"), "ws6");
}
