//! Windows logsource derivation, shared by the EVTX and the Windows-JSON decoders.
//!
//! Sigma names Windows logs by `service` (one per event channel: `security`, `sysmon`,
//! `powershell`, …) and, for Sysmon and PowerShell, by `category` from the event id
//! (`process_creation` for Sysmon 1, `ps_script` for PowerShell 4104, …).

use watchfloor_event::LogSource;
use watchfloor_event::windows_audit;

/// The Sigma `service` of a Windows event channel (case-insensitive), if Sigma names one.
pub fn service_for_channel(channel: &str) -> Option<&'static str> {
    const TABLE: &[(&str, &str)] = &[
        ("Security", "security"),
        ("System", "system"),
        ("Application", "application"),
        ("Microsoft-Windows-Sysmon/Operational", "sysmon"),
        ("Microsoft-Windows-PowerShell/Operational", "powershell"),
        ("PowerShellCore/Operational", "powershell"),
        ("Windows PowerShell", "powershell-classic"),
        (
            "Microsoft-Windows-TaskScheduler/Operational",
            "taskscheduler",
        ),
        ("Microsoft-Windows-WMI-Activity/Operational", "wmi"),
        (
            "Microsoft-Windows-Windows Defender/Operational",
            "windefend",
        ),
        ("Microsoft-Windows-DNS-Client/Operational", "dns-client"),
        ("DNS Server", "dns-server"),
        (
            "Microsoft-Windows-DNSServer/Analytical",
            "dns-server-analytic",
        ),
        ("Microsoft-Windows-Bits-Client/Operational", "bits-client"),
        (
            "Microsoft-Windows-CodeIntegrity/Operational",
            "codeintegrity-operational",
        ),
        (
            "Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",
            "terminalservices-localsessionmanager",
        ),
        (
            "Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",
            "firewall-as",
        ),
        ("Microsoft-Windows-NTLM/Operational", "ntlm"),
        ("Microsoft-Windows-AppLocker/EXE and DLL", "applocker"),
        ("Microsoft-Windows-AppLocker/MSI and Script", "applocker"),
        (
            "Microsoft-Windows-AppLocker/Packaged app-Deployment",
            "applocker",
        ),
        (
            "Microsoft-Windows-AppLocker/Packaged app-Execution",
            "applocker",
        ),
        (
            "Microsoft-Windows-Security-Mitigations/KernelMode",
            "security-mitigations",
        ),
        (
            "Microsoft-Windows-Security-Mitigations/UserMode",
            "security-mitigations",
        ),
        ("Microsoft-Windows-SmbClient/Security", "smbclient-security"),
        (
            "Microsoft-Windows-SmbClient/Connectivity",
            "smbclient-connectivity",
        ),
        (
            "Microsoft-Windows-SMBServer/Connectivity",
            "smbserver-connectivity",
        ),
        ("Microsoft-Windows-PrintService/Admin", "printservice-admin"),
        (
            "Microsoft-Windows-PrintService/Operational",
            "printservice-operational",
        ),
        ("Microsoft-Windows-Shell-Core/Operational", "shell-core"),
        ("OpenSSH/Operational", "openssh"),
        ("Microsoft-Windows-LSA/Operational", "lsa-server"),
        ("Microsoft-Windows-CAPI2/Operational", "capi2"),
        (
            "Microsoft-Windows-Diagnosis-Scripted/Operational",
            "diagnosis-scripted",
        ),
        (
            "Microsoft-Windows-DriverFrameworks-UserMode/Operational",
            "driver-framework",
        ),
        (
            "Microsoft-Windows-AppXDeploymentServer/Operational",
            "appxdeployment-server",
        ),
        (
            "Microsoft-Windows-AppxPackaging/Operational",
            "appxpackaging-om",
        ),
        (
            "Microsoft-Windows-AppModel-Runtime/Admin",
            "appmodel-runtime",
        ),
        (
            "Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational",
            "certificateservicesclient-lifecycle-system",
        ),
        ("Microsoft-Windows-LDAP-Client/Debug", "ldap"),
        ("MSExchange Management", "msexchange-management"),
        (
            "Microsoft-IIS-Configuration/Operational",
            "iis-configuration",
        ),
        ("Microsoft-ServiceBus-Client", "microsoft-servicebus-client"),
    ];
    TABLE
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(channel))
        .map(|&(_, service)| service)
}

/// The Sigma `category` of a Sysmon event id.
pub fn sysmon_category(event_id: i64) -> Option<&'static str> {
    Some(match event_id {
        1 => "process_creation",
        2 => "file_change",
        3 => "network_connection",
        4 | 16 => "sysmon_status",
        5 => "process_termination",
        6 => "driver_load",
        7 => "image_load",
        8 => "create_remote_thread",
        9 => "raw_access_thread",
        10 => "process_access",
        11 => "file_event",
        12..=14 => "registry_event",
        15 => "create_stream_hash",
        17 | 18 => "pipe_created",
        19..=21 => "wmi_event",
        22 => "dns_query",
        23 => "file_delete",
        24 => "clipboard_change",
        25 => "process_tampering",
        26 => "file_delete_detected",
        27 => "file_block_executable",
        28 => "file_block_shredding",
        29 => "file_executable_detected",
        255 => "sysmon_error",
        _ => return None,
    })
}

/// The Sigma `category` of a PowerShell event (by its `service` and id).
fn powershell_category(service: &str, event_id: i64) -> Option<&'static str> {
    match (service, event_id) {
        ("powershell", 4103) => Some("ps_module"),
        ("powershell", 4104) => Some("ps_script"),
        ("powershell-classic", 400) => Some("ps_classic_start"),
        ("powershell-classic", 600) => Some("ps_classic_provider_start"),
        ("powershell-classic", 800) => Some("ps_classic_script"),
        _ => None,
    }
}

/// The logsource of a Windows event from its channel, provider and event id.
pub fn logsource(
    channel: Option<&str>,
    provider: Option<&str>,
    event_id: Option<i64>,
) -> LogSource {
    // Sysmon for Linux renders its events as Windows events do: Sigma's linux rules.
    let linux_sysmon = channel.is_some_and(|c| c.eq_ignore_ascii_case("Linux-Sysmon/Operational"))
        || provider.is_some_and(|p| p.eq_ignore_ascii_case("Linux-Sysmon"));
    if linux_sysmon {
        let category = event_id.and_then(sysmon_category);
        return LogSource::new(Some("linux"), category, Some("sysmon"));
    }
    let mut service = channel.and_then(service_for_channel);
    if service.is_none() {
        // Forwarded or renamed channels: fall back on the provider.
        service = match provider {
            Some(p) if p.eq_ignore_ascii_case("Microsoft-Windows-Sysmon") => Some("sysmon"),
            Some(p) if p.eq_ignore_ascii_case("Microsoft-Windows-Security-Auditing") => {
                Some("security")
            }
            Some(p) if p.eq_ignore_ascii_case("Microsoft-Windows-PowerShell") => Some("powershell"),
            _ => None,
        };
    }
    let category = match (service, event_id) {
        (Some("sysmon"), Some(id)) => sysmon_category(id),
        // Process creation, connection and registry auditing stand in for Sysmon's events, under
        // Sysmon's names (`watchfloor_event::windows_audit`).
        (Some("security"), Some(id)) => windows_audit::by_event_id(id).map(|s| s.categories[0]),
        // Defender's detections: Sigma's `antivirus` rules.
        (Some("windefend"), Some(id)) => crate::antivirus::category(id),
        (Some(s), Some(id)) => powershell_category(s, id),
        _ => None,
    };
    LogSource::new(Some("windows"), category, service)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_and_categories() {
        let ls = logsource(Some("Microsoft-Windows-Sysmon/Operational"), None, Some(1));
        assert_eq!(ls.to_string(), "windows/process_creation/sysmon");
        let ls = logsource(Some("security"), None, Some(4624));
        assert_eq!(ls.to_string(), "windows/-/security");
        let ls = logsource(Some("Security"), None, Some(4688));
        assert_eq!(ls.to_string(), "windows/process_creation/security");
        let ls = logsource(Some("Security"), None, Some(5156));
        assert_eq!(ls.to_string(), "windows/network_connection/security");
        let ls = logsource(
            Some("Microsoft-Windows-Windows Defender/Operational"),
            None,
            Some(1116),
        );
        assert_eq!(ls.to_string(), "windows/antivirus/windefend");
        let ls = logsource(
            Some("Microsoft-Windows-Windows Defender/Operational"),
            None,
            Some(5007),
        );
        assert_eq!(ls.to_string(), "windows/-/windefend");
        let ls = logsource(
            Some("Microsoft-Windows-PowerShell/Operational"),
            None,
            Some(4104),
        );
        assert_eq!(ls.to_string(), "windows/ps_script/powershell");
        let ls = logsource(
            Some("ForwardedEvents"),
            Some("Microsoft-Windows-Sysmon"),
            Some(22),
        );
        assert_eq!(ls.to_string(), "windows/dns_query/sysmon");
        let ls = logsource(Some("Linux-Sysmon/Operational"), None, Some(1));
        assert_eq!(ls.to_string(), "linux/process_creation/sysmon");
        let ls = logsource(Some("Some/Custom"), None, Some(1));
        assert_eq!(ls.to_string(), "windows/-/-");
    }
}
