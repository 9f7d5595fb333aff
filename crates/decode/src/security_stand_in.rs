//! Sysmon names for the Security events that stand in for Sysmon's: process creation
//! (4688), permitted connections (5156) and registry values written or deleted (4657). Which names, and which ones such an event
//! cannot give, is [`watchfloor_event::windows_audit`]'s table; this module computes the
//! values. A name the event already has is never overwritten.

use watchfloor_event::windows_audit::{self, StandIn};
use watchfloor_event::{Event, FieldId};

use crate::DecodeContext;

/// Field ids the stand-in names are read from and written to, resolved once.
#[derive(Debug)]
pub(crate) struct StandInNames {
    process_aliases: Vec<(FieldId, FieldId)>,
    network_aliases: Vec<(FieldId, FieldId)>,
    registry_aliases: Vec<(FieldId, FieldId)>,
    subject: Account,
    target: Account,
    mandatory_label: FieldId,
    application: FieldId,
    direction: FieldId,
    user: FieldId,
    logon_id: FieldId,
    integrity_level: FieldId,
    image: FieldId,
    initiated: FieldId,
    object_name: FieldId,
    object_value_name: FieldId,
    operation_type: FieldId,
    new_value_type: FieldId,
    new_value: FieldId,
    target_object: FieldId,
    details: FieldId,
    event_type: FieldId,
}

/// The fields naming one account of a 4688 event.
#[derive(Debug, Clone, Copy)]
struct Account {
    sid: FieldId,
    name: FieldId,
    domain: FieldId,
    logon_id: FieldId,
}

impl Account {
    fn resolve(ctx: &mut DecodeContext, prefix: &str) -> Self {
        Account {
            sid: ctx.id(&format!("{prefix}UserSid")),
            name: ctx.id(&format!("{prefix}UserName")),
            domain: ctx.id(&format!("{prefix}DomainName")),
            logon_id: ctx.id(&format!("{prefix}LogonId")),
        }
    }

    /// `DOMAIN\name` as Sysmon writes a process's user; `None` when the event names no
    /// account here (`-`, or the null SID 4688 gives a target that is the subject).
    fn user(&self, ev: &Event) -> Option<String> {
        let sid = text(ev, self.sid);
        if sid.as_deref() == Some("S-1-0-0") {
            return None;
        }
        if let Some(well_known) = sid.as_deref().and_then(service_account) {
            return Some(well_known.to_string());
        }
        let name = text(ev, self.name).filter(|n| !n.is_empty() && n != "-")?;
        Some(
            match text(ev, self.domain).filter(|d| !d.is_empty() && d != "-") {
                Some(domain) => format!("{domain}\\{name}"),
                None => name,
            },
        )
    }
}

/// The names Sysmon gives the built-in service accounts, by SID.
fn service_account(sid: &str) -> Option<&'static str> {
    match sid {
        "S-1-5-18" => Some("NT AUTHORITY\\SYSTEM"),
        "S-1-5-19" => Some("NT AUTHORITY\\LOCAL SERVICE"),
        "S-1-5-20" => Some("NT AUTHORITY\\NETWORK SERVICE"),
        _ => None,
    }
}

/// Sysmon's integrity level for a mandatory-label SID.
fn integrity_level(label: &str) -> Option<&'static str> {
    match label.trim().to_ascii_uppercase().as_str() {
        "S-1-16-0" => Some("Untrusted"),
        "S-1-16-4096" => Some("Low"),
        "S-1-16-8192" => Some("Medium"),
        "S-1-16-12288" => Some("High"),
        "S-1-16-16384" => Some("System"),
        _ => None,
    }
}

/// A device path (`\device\harddiskvolume2\windows\…`) with its volume written as the
/// system drive (`C:\windows\…`); other values (`System`) unchanged.
pub(crate) fn drive_path(application: &str) -> String {
    const DEVICE: &str = "\\device\\harddiskvolume";
    let head = application.get(..DEVICE.len());
    if head.is_some_and(|h| h.eq_ignore_ascii_case(DEVICE)) {
        let rest = &application[DEVICE.len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && rest[digits..].starts_with('\\') {
            return format!("C:{}", &rest[digits..]);
        }
    }
    application.to_string()
}

/// Sysmon's `Initiated` for a 5156 `Direction` (raw `%%14593` or rendered `Outbound`).
fn initiated(direction: &str) -> Option<&'static str> {
    match direction.trim() {
        "%%14593" => Some("true"),
        "%%14592" => Some("false"),
        d if d.eq_ignore_ascii_case("outbound") => Some("true"),
        d if d.eq_ignore_ascii_case("inbound") => Some("false"),
        _ => None,
    }
}

/// A field's first value as text (numbers written out).
fn text(ev: &Event, id: FieldId) -> Option<String> {
    ev.get(id).map(|v| match v.as_str() {
        Some(s) => s.to_string(),
        None => v.to_string(),
    })
}

impl StandInNames {
    pub(crate) fn new(ctx: &mut DecodeContext) -> Self {
        let mut aliases = |s: &StandIn| -> Vec<(FieldId, FieldId)> {
            s.aliases
                .iter()
                .map(|(from, to)| (ctx.id(from), ctx.id(to)))
                .collect()
        };
        let process_aliases = aliases(&windows_audit::PROCESS_CREATION);
        let network_aliases = aliases(&windows_audit::NETWORK_CONNECTION);
        let registry_aliases = aliases(&windows_audit::REGISTRY_VALUE);
        StandInNames {
            process_aliases,
            network_aliases,
            registry_aliases,
            subject: Account::resolve(ctx, "Subject"),
            target: Account::resolve(ctx, "Target"),
            mandatory_label: ctx.id("MandatoryLabel"),
            application: ctx.id("Application"),
            direction: ctx.id("Direction"),
            user: ctx.id("User"),
            logon_id: ctx.id("LogonId"),
            integrity_level: ctx.id("IntegrityLevel"),
            image: ctx.id("Image"),
            initiated: ctx.id("Initiated"),
            object_name: ctx.id("ObjectName"),
            object_value_name: ctx.id("ObjectValueName"),
            operation_type: ctx.id("OperationType"),
            new_value_type: ctx.id("NewValueType"),
            new_value: ctx.id("NewValue"),
            target_object: ctx.id("TargetObject"),
            details: ctx.id("Details"),
            event_type: ctx.id("EventType"),
        }
    }

    /// Adds the Sysmon names of Security event `event_id`, if it is a stand-in.
    /// Returns the event's category when it is not the stand-in's first one.
    pub(crate) fn apply(&self, event_id: i64, ev: &mut Event) -> Option<&'static str> {
        if event_id == windows_audit::PROCESS_CREATION.event_id {
            self.process_creation(ev);
        } else if event_id == windows_audit::NETWORK_CONNECTION.event_id {
            self.network_connection(ev);
        } else if event_id == windows_audit::REGISTRY_VALUE.event_id {
            return self.registry_value(ev);
        }
        None
    }

    fn process_creation(&self, ev: &mut Event) {
        alias_missing(ev, &self.process_aliases);
        // The new process runs as the target account when 4688 names one.
        let account = match self.target.user(ev) {
            Some(user) => Some((user, self.target.logon_id)),
            None => self.subject.user(ev).map(|u| (u, self.subject.logon_id)),
        };
        if let Some((user, logon_field)) = account {
            set_missing(ev, self.user, &user);
            if let Some(logon) = text(ev, logon_field) {
                set_missing(ev, self.logon_id, &logon);
            }
        }
        if let Some(level) = text(ev, self.mandatory_label)
            .as_deref()
            .and_then(integrity_level)
        {
            set_missing(ev, self.integrity_level, level);
        }
    }

    fn network_connection(&self, ev: &mut Event) {
        alias_missing(ev, &self.network_aliases);
        if let Some(app) = text(ev, self.application) {
            set_missing(ev, self.image, &drive_path(&app));
        }
        if let Some(init) = text(ev, self.direction).as_deref().and_then(initiated) {
            set_missing(ev, self.initiated, init);
        }
    }

    fn registry_value(&self, ev: &mut Event) -> Option<&'static str> {
        alias_missing(ev, &self.registry_aliases);
        if let Some(key) = text(ev, self.object_name) {
            let mut target = sysmon_key(&key);
            if let Some(value) = text(ev, self.object_value_name).filter(|v| v != "-") {
                target.push('\\');
                target.push_str(&value);
            }
            set_missing(ev, self.target_object, &target);
        }
        if let Some(value) = text(ev, self.new_value).filter(|v| v != "-") {
            let kind = text(ev, self.new_value_type).unwrap_or_default();
            set_missing(ev, self.details, &sysmon_details(&kind, &value));
        }
        if let Some(user) = self.subject.user(ev) {
            set_missing(ev, self.user, &user);
        }
        let deleted = match text(ev, self.operation_type).as_deref().map(str::trim) {
            Some("%%1904" | "%%1905") => false,
            Some("%%1906") => true,
            Some(rendered) => rendered.to_ascii_lowercase().contains("deleted"),
            None => false,
        };
        let event_type = if deleted { "DeleteValue" } else { "SetValue" };
        set_missing(ev, self.event_type, event_type);
        deleted.then_some("registry_delete")
    }
}

/// A registry key as Sysmon writes it: `\REGISTRY\MACHINE` as `HKLM`, `\REGISTRY\USER`
/// as `HKU`, and the numbered control set as `CurrentControlSet`.
pub(crate) fn sysmon_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut rest = key;
    for (native, short) in [("\\REGISTRY\\MACHINE", "HKLM"), ("\\REGISTRY\\USER", "HKU")] {
        if let Some(head) = key.get(..native.len())
            && head.eq_ignore_ascii_case(native)
        {
            out.push_str(short);
            rest = &key[native.len()..];
            break;
        }
    }
    const CONTROL_SET: &str = "\\SYSTEM\\ControlSet";
    if !out.is_empty()
        && let Some(head) = rest.get(..CONTROL_SET.len())
        && head.eq_ignore_ascii_case(CONTROL_SET)
    {
        let after = &rest[CONTROL_SET.len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && (after[digits..].is_empty() || after[digits..].starts_with('\\')) {
            out.push_str("\\SYSTEM\\CurrentControlSet");
            out.push_str(&after[digits..]);
            return out;
        }
    }
    out.push_str(rest);
    out
}

/// A new registry value as Sysmon's `Details` writes it, from 4657's type (raw `%%1876`
/// or rendered `REG_DWORD`) and value.
pub(crate) fn sysmon_details(kind: &str, value: &str) -> String {
    let number = || {
        let v = value.trim();
        match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => v.parse::<u64>().ok(),
        }
    };
    match kind.trim() {
        "%%1876" | "REG_DWORD" => match number().and_then(|n| u32::try_from(n).ok()) {
            Some(n) => format!("DWORD (0x{n:08x})"),
            None => value.to_string(),
        },
        "%%1883" | "REG_QWORD" => match number() {
            Some(n) => format!("QWORD (0x{:08x}-0x{:08x})", n >> 32, n & 0xffff_ffff),
            None => value.to_string(),
        },
        "%%1875" | "REG_BINARY" => "Binary Data".to_string(),
        _ => value.to_string(),
    }
}

fn alias_missing(ev: &mut Event, aliases: &[(FieldId, FieldId)]) {
    for &(from, to) in aliases {
        if ev.get(to).is_none() {
            ev.alias(from, to);
        }
    }
}

fn set_missing(ev: &mut Event, name: FieldId, value: &str) {
    if ev.get(name).is_none() {
        ev.push_str(name, name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_paths_take_the_system_drive() {
        assert_eq!(
            drive_path("\\device\\harddiskvolume2\\windows\\system32\\svchost.exe"),
            "C:\\windows\\system32\\svchost.exe"
        );
        assert_eq!(drive_path("\\Device\\HarddiskVolume14\\x.exe"), "C:\\x.exe");
        assert_eq!(drive_path("System"), "System");
        assert_eq!(
            drive_path("\\device\\harddiskvolume\\x"),
            "\\device\\harddiskvolume\\x"
        );
        assert_eq!(drive_path("\\device\\mup\\srv\\x"), "\\device\\mup\\srv\\x");
    }

    #[test]
    fn registry_keys_and_values_as_sysmon_writes_them() {
        assert_eq!(
            sysmon_key("\\REGISTRY\\MACHINE\\SYSTEM\\ControlSet001\\Services\\EventLog"),
            "HKLM\\SYSTEM\\CurrentControlSet\\Services\\EventLog"
        );
        assert_eq!(
            sysmon_key("\\REGISTRY\\USER\\S-1-5-21-1\\Software\\Run"),
            "HKU\\S-1-5-21-1\\Software\\Run"
        );
        assert_eq!(
            sysmon_key("\\REGISTRY\\MACHINE\\SOFTWARE\\ControlSet001"),
            "HKLM\\SOFTWARE\\ControlSet001"
        );
        assert_eq!(sysmon_key("HKLM\\x"), "HKLM\\x");
        assert_eq!(sysmon_details("%%1876", "4"), "DWORD (0x00000004)");
        assert_eq!(sysmon_details("REG_DWORD", "0x10"), "DWORD (0x00000010)");
        assert_eq!(
            sysmon_details("%%1883", "0x1D63ED21D4ADB0A"),
            "QWORD (0x01d63ed2-0x1d4adb0a)"
        );
        assert_eq!(sysmon_details("%%1873", "C:\\evil.exe"), "C:\\evil.exe");
        assert_eq!(sysmon_details("%%1876", "many"), "many");
    }

    #[test]
    fn directions_and_levels() {
        assert_eq!(initiated("%%14593"), Some("true"));
        assert_eq!(initiated("Inbound"), Some("false"));
        assert_eq!(initiated("%%14610"), None);
        assert_eq!(integrity_level("S-1-16-12288"), Some("High"));
        assert_eq!(integrity_level("S-1-16-8448"), None);
    }
}
