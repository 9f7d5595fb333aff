//! Windows events as flat JSON lines (the shape NXLog, Winlogbeat and the OTRF exports
//! write, which the JSON decoder reads as Windows): Sysmon, Security and System records
//! with the fields the real events carry.

use serde_json::{Map, Value, json};

use crate::emit::{iso_millis, sysmon_time};
use crate::world::{HostState, Proc, hashes};

pub const SYSMON: &str = "Microsoft-Windows-Sysmon/Operational";
const SYSMON_PROVIDER: &str = "Microsoft-Windows-Sysmon";
const SECURITY_PROVIDER: &str = "Microsoft-Windows-Security-Auditing";

/// One flat Windows event: the system fields, then `fields`.
pub fn event(
    time: i64,
    host: &HostState,
    channel: &str,
    provider: &str,
    event_id: u32,
    fields: Vec<(&str, Value)>,
) -> String {
    let mut m = Map::new();
    m.insert("@timestamp".into(), json!(iso_millis(time)));
    m.insert("Hostname".into(), json!(host.fqdn));
    m.insert("Computer".into(), json!(host.fqdn));
    m.insert("Channel".into(), json!(channel));
    m.insert("Provider_Name".into(), json!(provider));
    m.insert("EventID".into(), json!(event_id));
    for (k, v) in fields {
        m.insert(k.to_string(), v);
    }
    Value::Object(m).to_string()
}

fn sysmon(time: i64, host: &HostState, id: u32, mut fields: Vec<(&str, Value)>) -> String {
    fields.insert(0, ("UtcTime", json!(sysmon_time(time))));
    fields.insert(0, ("RuleName", json!("-")));
    event(time, host, SYSMON, SYSMON_PROVIDER, id, fields)
}

/// Version resource fields of an image: (OriginalFileName, Company, Product,
/// Description), as the real files carry them; an unknown file under `\Windows\` is
/// Microsoft's, anything else has no version resource (`-`), as a dropped implant.
fn version_info(image: &str) -> (String, &'static str, &'static str, &'static str) {
    let file = image.rsplit('\\').next().unwrap_or(image).to_string();
    let lower = file.to_ascii_lowercase();
    const MS: &str = "Microsoft Corporation";
    const WINDOWS: &str = "Microsoft® Windows® Operating System";
    const OFFICE: &str = "Microsoft Office";
    const SYSINTERNALS: &str = "Sysinternals - www.sysinternals.com";
    let known: Option<(&str, &str, &str, &str)> = match lower.as_str() {
        "powershell.exe" => Some(("PowerShell.EXE", MS, WINDOWS, "Windows PowerShell")),
        "cmd.exe" => Some(("Cmd.Exe", MS, WINDOWS, "Windows Command Processor")),
        "rundll32.exe" => Some((
            "RUNDLL32.EXE",
            MS,
            WINDOWS,
            "Windows host process (Rundll32)",
        )),
        "schtasks.exe" => Some((
            "schtasks.exe",
            MS,
            WINDOWS,
            "Task Scheduler Configuration Tool",
        )),
        "reg.exe" => Some(("reg.exe", MS, WINDOWS, "Registry Console Tool")),
        "wevtutil.exe" => Some(("wevtutil.exe", MS, WINDOWS, "Eventing Command Line Utility")),
        "winword.exe" => Some(("WinWord.exe", MS, OFFICE, "Microsoft Word")),
        "excel.exe" => Some(("Excel.exe", MS, OFFICE, "Microsoft Excel")),
        "powerpnt.exe" => Some(("POWERPNT.EXE", MS, OFFICE, "Microsoft PowerPoint")),
        "outlook.exe" => Some(("Outlook.exe", MS, OFFICE, "Microsoft Outlook")),
        "chrome.exe" => Some(("chrome.exe", "Google LLC", "Google Chrome", "Google Chrome")),
        "msedge.exe" => Some(("msedge.exe", MS, "Microsoft Edge", "Microsoft Edge")),
        "psexec.exe" | "psexec64.exe" => Some((
            "psexec.c",
            SYSINTERNALS,
            "Sysinternals PsExec",
            "Execute processes remotely",
        )),
        "psexesvc.exe" => Some((
            "psexesvc.exe",
            SYSINTERNALS,
            "Sysinternals PsExec",
            "PsExec Service",
        )),
        "sdelete.exe" | "sdelete64.exe" => Some((
            "sdelete.exe",
            SYSINTERNALS,
            "Sysinternals Sdelete",
            "Secure file delete",
        )),
        "curl.exe" => Some((
            "curl.exe",
            "curl, https://curl.se/",
            "The curl executable",
            "The curl executable",
        )),
        "rclone.exe" => Some((
            "rclone.exe",
            "https://rclone.org",
            "Rclone",
            "Rsync for cloud storage",
        )),
        "7z.exe" => Some(("7z.exe", "Igor Pavlov", "7-Zip", "7-Zip Console")),
        "rar.exe" => Some(("Rar.exe", "Alexander Roshal", "WinRAR", "Command line RAR")),
        _ => None,
    };
    if let Some((original, company, product, description)) = known {
        return (original.to_string(), company, product, description);
    }
    if image.to_ascii_lowercase().contains("\\windows\\") {
        (file, MS, WINDOWS, "-")
    } else {
        (file, "-", "-", "-")
    }
}

/// Sysmon 1: process creation.
pub fn process_create(
    time: i64,
    host: &HostState,
    p: &Proc,
    parent: &Proc,
    logon_id: &str,
) -> String {
    let (original, company, product, description) = version_info(&p.image);
    sysmon(
        time,
        host,
        1,
        vec![
            ("ProcessGuid", json!(p.guid)),
            ("ProcessId", json!(p.pid)),
            ("Image", json!(p.image)),
            ("FileVersion", json!("-")),
            ("Description", json!(description)),
            ("Product", json!(product)),
            ("Company", json!(company)),
            ("OriginalFileName", json!(original)),
            ("CommandLine", json!(p.command_line)),
            ("CurrentDirectory", json!(p.current_directory)),
            ("User", json!(p.user)),
            ("LogonId", json!(logon_id)),
            (
                "TerminalSessionId",
                json!(if p.user.starts_with("NT AUTHORITY") {
                    0
                } else {
                    1
                }),
            ),
            ("IntegrityLevel", json!(p.integrity)),
            ("Hashes", json!(hashes(&p.image))),
            ("ParentProcessGuid", json!(parent.guid)),
            ("ParentProcessId", json!(parent.pid)),
            ("ParentImage", json!(parent.image)),
            ("ParentCommandLine", json!(parent.command_line)),
            ("ParentUser", json!(parent.user)),
        ],
    )
}

/// Sysmon 3: network connection.
#[allow(clippy::too_many_arguments)]
pub fn network_connect(
    time: i64,
    host: &HostState,
    p: &Proc,
    protocol: &str,
    src: (&str, u16),
    dst: (&str, u16),
    dst_hostname: &str,
    initiated: bool,
) -> String {
    sysmon(
        time,
        host,
        3,
        vec![
            ("ProcessGuid", json!(p.guid)),
            ("ProcessId", json!(p.pid)),
            ("Image", json!(p.image)),
            ("User", json!(p.user)),
            ("Protocol", json!(protocol)),
            ("Initiated", json!(if initiated { "true" } else { "false" })),
            ("SourceIsIpv6", json!("false")),
            ("SourceIp", json!(src.0)),
            ("SourceHostname", json!(host.fqdn)),
            ("SourcePort", json!(src.1)),
            ("DestinationIsIpv6", json!("false")),
            ("DestinationIp", json!(dst.0)),
            ("DestinationHostname", json!(dst_hostname)),
            ("DestinationPort", json!(dst.1)),
        ],
    )
}

/// Sysmon 10: process access (e.g. a handle to LSASS).
pub fn process_access(
    time: i64,
    host: &HostState,
    source: &Proc,
    target: &Proc,
    granted: &str,
    call_trace: &str,
) -> String {
    sysmon(
        time,
        host,
        10,
        vec![
            ("SourceProcessGUID", json!(source.guid)),
            ("SourceProcessId", json!(source.pid)),
            ("SourceThreadId", json!(source.pid + 4)),
            ("SourceImage", json!(source.image)),
            ("TargetProcessGUID", json!(target.guid)),
            ("TargetProcessId", json!(target.pid)),
            ("TargetImage", json!(target.image)),
            ("GrantedAccess", json!(granted)),
            ("CallTrace", json!(call_trace)),
            ("SourceUser", json!(source.user)),
            ("TargetUser", json!(target.user)),
        ],
    )
}

/// Sysmon 11: file created.
pub fn file_create(time: i64, host: &HostState, p: &Proc, target: &str) -> String {
    sysmon(
        time,
        host,
        11,
        vec![
            ("ProcessGuid", json!(p.guid)),
            ("ProcessId", json!(p.pid)),
            ("Image", json!(p.image)),
            ("TargetFilename", json!(target)),
            ("CreationUtcTime", json!(sysmon_time(time))),
            ("User", json!(p.user)),
        ],
    )
}

/// Sysmon 13: registry value set.
pub fn registry_set(
    time: i64,
    host: &HostState,
    p: &Proc,
    target_object: &str,
    details: &str,
) -> String {
    sysmon(
        time,
        host,
        13,
        vec![
            ("EventType", json!("SetValue")),
            ("ProcessGuid", json!(p.guid)),
            ("ProcessId", json!(p.pid)),
            ("Image", json!(p.image)),
            ("TargetObject", json!(target_object)),
            ("Details", json!(details)),
            ("User", json!(p.user)),
        ],
    )
}

/// Sysmon 22: DNS query.
pub fn dns_query(time: i64, host: &HostState, p: &Proc, name: &str, results: &str) -> String {
    sysmon(
        time,
        host,
        22,
        vec![
            ("ProcessGuid", json!(p.guid)),
            ("ProcessId", json!(p.pid)),
            ("QueryName", json!(name)),
            ("QueryStatus", json!("0")),
            ("QueryResults", json!(results)),
            ("Image", json!(p.image)),
            ("User", json!(p.user)),
        ],
    )
}

/// Sysmon 23: file deleted (archived).
pub fn file_delete(time: i64, host: &HostState, p: &Proc, target: &str) -> String {
    sysmon(
        time,
        host,
        23,
        vec![
            ("ProcessGuid", json!(p.guid)),
            ("ProcessId", json!(p.pid)),
            ("Image", json!(p.image)),
            ("TargetFilename", json!(target)),
            ("Hashes", json!(hashes(target))),
            ("IsExecutable", json!("false")),
            ("Archived", json!("true")),
            ("User", json!(p.user)),
        ],
    )
}

fn security(time: i64, host: &HostState, id: u32, fields: Vec<(&str, Value)>) -> String {
    event(time, host, "Security", SECURITY_PROVIDER, id, fields)
}

/// An account on the security log: `(domain, name)`.
pub fn split_account(qualified: &str) -> (&str, &str) {
    qualified.split_once('\\').unwrap_or(("-", qualified))
}

/// Security 4624: an account logged on.
#[allow(clippy::too_many_arguments)]
pub fn logon(
    time: i64,
    host: &HostState,
    account: &str,
    logon_type: u8,
    source_ip: &str,
    workstation: &str,
    logon_id: &str,
    auth: &str,
) -> String {
    let (domain, name) = split_account(account);
    let process = if logon_type == 2 || logon_type == 10 {
        "C:\\Windows\\System32\\svchost.exe"
    } else {
        "-"
    };
    security(
        time,
        host,
        4624,
        vec![
            (
                "SubjectUserSid",
                json!(if logon_type == 3 {
                    "S-1-0-0"
                } else {
                    "S-1-5-18"
                }),
            ),
            (
                "SubjectUserName",
                json!(if logon_type == 3 {
                    "-".to_string()
                } else {
                    format!("{}$", host.name)
                }),
            ),
            ("SubjectDomainName", json!(domain)),
            ("TargetUserName", json!(name)),
            ("TargetDomainName", json!(domain)),
            ("TargetLogonId", json!(logon_id)),
            ("LogonType", json!(logon_type)),
            (
                "LogonProcessName",
                // As Windows writes it: interactive kinds through User32, services
                // through Advapi, network logons through their package.
                json!(match logon_type {
                    2 | 7 | 10 | 11 => "User32 ",
                    4 | 5 => "Advapi  ",
                    _ if auth == "NTLM" => "NtLmSsp ",
                    _ => "Kerberos",
                }),
            ),
            ("AuthenticationPackageName", json!(auth)),
            ("WorkstationName", json!(workstation)),
            ("LogonGuid", json!("{00000000-0000-0000-0000-000000000000}")),
            ("KeyLength", json!(0)),
            ("ProcessName", json!(process)),
            ("IpAddress", json!(source_ip)),
            ("IpPort", json!(if source_ip == "-" { "-" } else { "0" })),
            ("ElevatedToken", json!("%%1842")),
        ],
    )
}

/// Security 4625: a logon failed (bad password: status 0xC000006D, sub 0xC000006A).
pub fn logon_failed(
    time: i64,
    host: &HostState,
    account: &str,
    logon_type: u8,
    source_ip: &str,
    workstation: &str,
) -> String {
    let (domain, name) = split_account(account);
    security(
        time,
        host,
        4625,
        vec![
            ("SubjectUserSid", json!("S-1-0-0")),
            ("SubjectUserName", json!("-")),
            ("TargetUserName", json!(name)),
            ("TargetDomainName", json!(domain)),
            ("Status", json!("0xc000006d")),
            ("FailureReason", json!("%%2313")),
            ("SubStatus", json!("0xc000006a")),
            ("LogonType", json!(logon_type)),
            ("LogonProcessName", json!("NtLmSsp ")),
            ("AuthenticationPackageName", json!("NTLM")),
            ("WorkstationName", json!(workstation)),
            ("ProcessName", json!("-")),
            ("IpAddress", json!(source_ip)),
            ("IpPort", json!("0")),
        ],
    )
}

/// Security 4634: an account logged off.
pub fn logoff(
    time: i64,
    host: &HostState,
    account: &str,
    logon_id: &str,
    logon_type: u8,
) -> String {
    let (domain, name) = split_account(account);
    security(
        time,
        host,
        4634,
        vec![
            ("TargetUserName", json!(name)),
            ("TargetDomainName", json!(domain)),
            ("TargetLogonId", json!(logon_id)),
            ("LogonType", json!(logon_type)),
        ],
    )
}

/// Security 4672: special privileges assigned to a new logon.
pub fn special_privileges(time: i64, host: &HostState, account: &str, logon_id: &str) -> String {
    let (domain, name) = split_account(account);
    security(
        time,
        host,
        4672,
        vec![
            ("SubjectUserName", json!(name)),
            ("SubjectDomainName", json!(domain)),
            ("SubjectLogonId", json!(logon_id)),
            (
                "PrivilegeList",
                json!(
                    "SeSecurityPrivilege\n\t\t\tSeBackupPrivilege\n\t\t\tSeRestorePrivilege\n\t\t\tSeDebugPrivilege"
                ),
            ),
        ],
    )
}

/// Security 4698: a scheduled task was created.
pub fn task_created(
    time: i64,
    host: &HostState,
    account: &str,
    task: &str,
    command: &str,
    arguments: &str,
) -> String {
    let (domain, name) = split_account(account);
    let content = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-16\"?><Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\"><Triggers><TimeTrigger><Repetition><Interval>PT30M</Interval></Repetition><Enabled>true</Enabled></TimeTrigger></Triggers><Actions Context=\"Author\"><Exec><Command>{command}</Command><Arguments>{arguments}</Arguments></Exec></Actions></Task>"
    );
    security(
        time,
        host,
        4698,
        vec![
            ("SubjectUserName", json!(name)),
            ("SubjectDomainName", json!(domain)),
            ("TaskName", json!(task)),
            ("TaskContent", json!(content)),
        ],
    )
}

/// Security 5140: a network share was accessed.
pub fn share_access(
    time: i64,
    host: &HostState,
    account: &str,
    source_ip: &str,
    share: &str,
    path: &str,
) -> String {
    let (domain, name) = split_account(account);
    security(
        time,
        host,
        5140,
        vec![
            ("SubjectUserName", json!(name)),
            ("SubjectDomainName", json!(domain)),
            ("ObjectType", json!("File")),
            ("IpAddress", json!(source_ip)),
            ("IpPort", json!("49812")),
            ("ShareName", json!(share)),
            ("ShareLocalPath", json!(path)),
            ("AccessMask", json!("0x1")),
        ],
    )
}

/// Security 1102: the audit log was cleared.
pub fn security_log_cleared(time: i64, host: &HostState, account: &str) -> String {
    let (domain, name) = split_account(account);
    event(
        time,
        host,
        "Security",
        "Microsoft-Windows-Eventlog",
        1102,
        vec![
            ("SubjectUserName", json!(name)),
            ("SubjectDomainName", json!(domain)),
        ],
    )
}

/// System 104: an event log was cleared.
pub fn system_log_cleared(time: i64, host: &HostState, account: &str, channel: &str) -> String {
    let (domain, name) = split_account(account);
    event(
        time,
        host,
        "System",
        "Microsoft-Windows-Eventlog",
        104,
        vec![
            ("SubjectUserName", json!(name)),
            ("SubjectDomainName", json!(domain)),
            ("Channel", json!("System")),
            ("BackupPath", json!("")),
            ("param1", json!(channel)),
        ],
    )
}

/// System 7045: a service was installed.
pub fn service_installed(
    time: i64,
    host: &HostState,
    name: &str,
    image_path: &str,
    account: &str,
) -> String {
    event(
        time,
        host,
        "System",
        "Service Control Manager",
        7045,
        vec![
            ("ServiceName", json!(name)),
            ("ImagePath", json!(image_path)),
            ("ServiceType", json!("user mode service")),
            ("StartType", json!("demand start")),
            ("AccountName", json!(account)),
        ],
    )
}

/// System 7045 with the start type and account the service was created with
/// (`auto start`, `LocalSystem`).
pub fn service_installed_as(
    time: i64,
    host: &HostState,
    name: &str,
    image_path: &str,
    start_type: &str,
    account: &str,
) -> String {
    event(
        time,
        host,
        "System",
        "Service Control Manager",
        7045,
        vec![
            ("ServiceName", json!(name)),
            ("ImagePath", json!(image_path)),
            ("ServiceType", json!("user mode service")),
            ("StartType", json!(start_type)),
            ("AccountName", json!(account)),
        ],
    )
}

/// Security 4648: a logon was attempted using explicit credentials (`runas`, PsExec
/// `-u`, `net use /user:`), logged on the machine the credentials were typed on.
#[allow(clippy::too_many_arguments)]
pub fn explicit_logon(
    time: i64,
    host: &HostState,
    subject: &str,
    subject_logon_id: &str,
    target_account: &str,
    target_server: &str,
    process: &Proc,
    target_ip: &str,
) -> String {
    let (sdomain, sname) = split_account(subject);
    let (tdomain, tname) = split_account(target_account);
    security(
        time,
        host,
        4648,
        vec![
            ("SubjectUserName", json!(sname)),
            ("SubjectDomainName", json!(sdomain)),
            ("SubjectLogonId", json!(subject_logon_id)),
            ("LogonGuid", json!("{00000000-0000-0000-0000-000000000000}")),
            ("TargetUserName", json!(tname)),
            ("TargetDomainName", json!(tdomain)),
            (
                "TargetLogonGuid",
                json!("{00000000-0000-0000-0000-000000000000}"),
            ),
            ("TargetServerName", json!(target_server)),
            ("TargetInfo", json!(target_server)),
            ("ProcessId", json!(format!("0x{:x}", process.pid))),
            ("ProcessName", json!(process.image)),
            ("IpAddress", json!(target_ip)),
            ("IpPort", json!(445)),
        ],
    )
}

/// Sysmon 17: a named pipe was created.
pub fn pipe_created(time: i64, host: &HostState, p: &Proc, pipe: &str) -> String {
    sysmon(
        time,
        host,
        17,
        vec![
            ("EventType", json!("CreatePipe")),
            ("ProcessGuid", json!(p.guid)),
            ("ProcessId", json!(p.pid)),
            ("PipeName", json!(pipe)),
            ("Image", json!(p.image)),
            ("User", json!(p.user)),
        ],
    )
}
