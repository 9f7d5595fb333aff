//! Windows Security auditing events that stand in for Sysmon events.
//!
//! Hosts without Sysmon still audit process creation (Security 4688), the connections
//! the Windows Filtering Platform permits (Security 5156) and, where a key's audit list
//! asks for it, registry values written and deleted (Security 4657). Sigma's
//! `process_creation`, `network_connection` and `registry_*` rules are written with
//! Sysmon's field names, so a decoder gives
//! these events the Sysmon names whose meaning they carry ([`StandIn::aliases`] and
//! [`StandIn::derived`]). Some Sysmon fields have no counterpart at all
//! ([`StandIn::absent`]: hashes, the original file name, the destination host name). A
//! rule that needs one of those to rule an event *out* (a filter) cannot be judged on a
//! stand-in: the missing value would turn into a match. The Sigma engine applies such a
//! rule to Sysmon events only.
//!
//! This table is shared by the decoders (which add the names) and the rule compiler
//! (which reads `absent`), so the two cannot disagree.

/// One Security event standing in for a Sysmon event category.
#[derive(Debug)]
pub struct StandIn {
    /// The Security event id.
    pub event_id: i64,
    /// The Sigma categories it may be given; the first unless the decoder knows better
    /// (a 4657 that deletes a value is `registry_delete`).
    pub categories: &'static [&'static str],
    /// (Security name, Sysmon name): the same value, reachable by the Sysmon name.
    pub aliases: &'static [(&'static str, &'static str)],
    /// Sysmon names a decoder computes from other fields (the value is rewritten, not
    /// only renamed: a device path to a drive letter, a SID to an integrity level).
    pub derived: &'static [&'static str],
    /// Sysmon names of the category that the Security event has no value for.
    pub absent: &'static [&'static str],
}

/// Security 4688, a process created.
pub const PROCESS_CREATION: StandIn = StandIn {
    event_id: 4688,
    categories: &["process_creation"],
    aliases: &[
        ("NewProcessName", "Image"),
        ("ParentProcessName", "ParentImage"),
        // 4688's `ProcessId` is the creator's: Sysmon's `ParentProcessId`.
        ("ProcessId", "ParentProcessId"),
    ],
    // `User` and `LogonId`: the new process's account (the target account when 4688
    // names one, else the creator's), `DOMAIN\name` as Sysmon writes it.
    // `IntegrityLevel`: from the `MandatoryLabel` SID.
    derived: &["User", "LogonId", "IntegrityLevel"],
    absent: &[
        "OriginalFileName",
        "Hashes",
        "Imphash",
        "md5",
        "sha1",
        "sha256",
        "Description",
        "Product",
        "Company",
        "FileVersion",
        "ParentCommandLine",
        "ParentUser",
        "CurrentDirectory",
        "ProcessGuid",
        "ParentProcessGuid",
        "LogonGuid",
        "TerminalSessionId",
        // 4688 has a `ProcessId`, but it is the parent's.
        "ProcessId",
    ],
};

/// Security 5156, a connection the Windows Filtering Platform permitted.
pub const NETWORK_CONNECTION: StandIn = StandIn {
    event_id: 5156,
    categories: &["network_connection"],
    aliases: &[
        ("SourceAddress", "SourceIp"),
        ("DestAddress", "DestinationIp"),
        ("DestPort", "DestinationPort"),
    ],
    // `Image`: the application's device path (`\device\harddiskvolume2\…`) with the
    // volume written as the system drive, `C:\…`. `Initiated`: `true` for outbound
    // connections (`Direction` `%%14593`), `false` for inbound.
    derived: &["Image", "Initiated"],
    absent: &[
        "User",
        "ProcessGuid",
        // 5156 numbers the protocol (6, 17); Sysmon names it (tcp, udp).
        "Protocol",
        "SourceHostname",
        "DestinationHostname",
        "SourcePortName",
        "DestinationPortName",
        "SourceIsIpv6",
        "DestinationIsIpv6",
        "CommandLine",
        "ParentImage",
    ],
};

/// Security 4657, a registry value created, modified or deleted.
pub const REGISTRY_VALUE: StandIn = StandIn {
    event_id: 4657,
    categories: &["registry_set", "registry_delete"],
    aliases: &[("ProcessName", "Image")],
    // `TargetObject`: the key (`\REGISTRY\MACHINE` written `HKLM`, `\REGISTRY\USER`
    // `HKU`, `ControlSet00n` `CurrentControlSet`, as Sysmon writes them) and the value
    // name. `Details`: the new value as Sysmon writes it (`DWORD (0x00000004)`).
    // `EventType`: `SetValue` or `DeleteValue`. `User`: the subject account.
    derived: &["TargetObject", "Details", "EventType", "User"],
    absent: &["ProcessGuid", "NewName"],
};

/// Every stand-in.
pub const STAND_INS: &[&StandIn] = &[&PROCESS_CREATION, &NETWORK_CONNECTION, &REGISTRY_VALUE];

/// The stand-in for Security event `event_id`, if it is one.
pub fn by_event_id(event_id: i64) -> Option<&'static StandIn> {
    STAND_INS.iter().copied().find(|s| s.event_id == event_id)
}

/// The stand-in given Sigma category `category`, if any.
pub fn by_category(category: &str) -> Option<&'static StandIn> {
    STAND_INS.iter().copied().find(|s| {
        s.categories
            .iter()
            .any(|c| c.eq_ignore_ascii_case(category))
    })
}

impl StandIn {
    /// Whether the event cannot give Sysmon field `name` (compared case-insensitively).
    pub fn lacks(&self, name: &str) -> bool {
        self.absent.iter().any(|a| a.eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_name_is_both_given_and_absent() {
        for s in STAND_INS {
            for name in s.aliases.iter().map(|(_, to)| to).chain(s.derived) {
                assert!(!s.lacks(name), "{} both gives and lacks {name}", s.event_id);
            }
        }
    }

    #[test]
    fn found_by_id_and_category() {
        assert_eq!(
            by_event_id(4688).map(|s| s.categories[0]),
            Some("process_creation")
        );
        assert_eq!(
            by_category("Network_Connection").map(|s| s.event_id),
            Some(5156)
        );
        assert!(by_event_id(4624).is_none());
        assert!(NETWORK_CONNECTION.lacks("destinationhostname"));
        assert!(!NETWORK_CONNECTION.lacks("DestinationIp"));
    }
}
